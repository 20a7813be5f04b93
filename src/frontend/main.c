/* SPDX-License-Identifier: MIT */
/*
 * ixvm command line.  By default it builds the PC board (pc.h) and boots
 * its BIOS (SeaBIOS from the Debian package unless --bios says otherwise)
 * headless; --selftest runs the VMM selftest instead.  Options follow QEMU
 * where QEMU has one (-m, --smp, --bios, --debugcon, --serial, --display,
 * --no-reboot).  Configuration comes from --config/--set, logging from
 * --log.  Bad input exits with status 2 and one line naming the option and
 * the problem; --timeout expiry exits 124 (like timeout(1)); the guest's
 * isa-debug-exit gives (v << 1) | 1; a guest reset with --no-reboot gives 1.
 */
#define LOG_GROUP LOG_GROUP_FE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "ixvm/cfg.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"
#include "ixvm/stam.h"
#include "ixvm/vmm.h"

#ifndef IXVM_VERSION_STRING
#define IXVM_VERSION_STRING "0.1.0"   /* project(ixvm VERSION) in CMakeLists.txt */
#endif

#define CLI_EXIT_TIMEOUT 124

/* Where a console stream goes: stdout, a file, or nowhere. */
struct cli_out {
    FILE *f;
    bool close;
};

struct cli {
    bool selftest;
    bool no_reboot;
    const char *vcpus;
    const char *log_spec;
    const char *stats_json;
    const char *bios;
    const char *debugcon;
    const char *serial;
    double timeout;
    struct cfg *cfg;
};

static void cli_usage(FILE *f)
{
    fprintf(f,
            "usage: ixvm [options]\n"
            "Boots a PC (i440FX, SeaBIOS) headless unless --selftest is given.\n"
            "  -m, --memory SIZE       guest RAM (MiB unless K/M/G given; up to 3.5G; default 128M)\n"
            "  --smp N                 number of vCPUs (1..64)\n"
            "  --bios FILE             firmware image (default " PC_DEFAULT_BIOS ")\n"
            "  --debugcon DEST         debug console ports 0xE9 and 0x402: stdio, file:PATH or none\n"
            "  --serial DEST           COM1: stdio, file:PATH or none (default none)\n"
            "  --display none          no display (the only one for now)\n"
            "  --no-reboot             exit with status 1 instead of resetting the guest\n"
            "  --timeout SEC           stop after SEC seconds with exit status 124\n"
            "  --selftest              run the VMM selftest instead of a guest\n"
            "  --vcpus N               number of vCPUs for the selftest (default 4)\n"
            "  --set KEY=VALUE         set a configuration key (repeatable)\n"
            "  --config FILE.ini       load configuration from an INI file\n"
            "  --log SPEC              debug log groups and levels (as IXVM_LOG)\n"
            "  --stats-json FILE       write statistics as JSON at exit\n"
            "  --version               print the version\n"
            "  --help                  this text\n");
}

static int cli_fail(const char *opt, const char *why)
{
    fprintf(stderr, "ixvm: %s: %s\n", opt, why);
    return 2;
}

/* "--opt value" or "--opt=value"; NULL when the value is missing. */
static const char *cli_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static bool cli_is(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return !strncmp(arg, opt, n) && (arg[n] == '\0' || arg[n] == '=');
}

/* ---- option handlers (one per valued option) -------------------------------- */

typedef int cli_opt_fn(struct cli *cli, const char *opt, const char *v);

static int cli_int(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*end || errno || n < lo || n > hi) {
        char why[96];
        snprintf(why, sizeof(why), "'%s' is not a number in %ld..%ld", v, lo, hi);
        return cli_fail(opt, why);
    }
    *out = n;
    return 0;
}

static int cli_cfg(struct cli *cli, const char *opt, const char *key, const char *v)
{
    char kv[256];
    struct ixvm_errinfo err = { 0 };
    snprintf(kv, sizeof(kv), "%s=%s", key, v);
    return cfg_set_assignment(cli->cfg, kv, &err) < 0 ? cli_fail(opt, err.msg) : 0;
}

static int opt_vcpus(struct cli *cli, const char *opt, const char *v)
{
    long n;
    int rc = cli_int(opt, v, 1, IXVM_MAX_CPUS, &n);
    if (rc == 0)
        cli->vcpus = v;
    return rc;
}

static int opt_smp(struct cli *cli, const char *opt, const char *v)
{
    long n;
    int rc = cli_int(opt, v, 1, IXVM_MAX_CPUS, &n);
    return rc ? rc : cli_cfg(cli, opt, "CPU/Count", v);
}

static int opt_memory(struct cli *cli, const char *opt, const char *v)
{
    /* QEMU's -m counts MiB when no suffix is given. */
    char buf[64];
    size_t n = strlen(v);
    bool digits = n && n < sizeof(buf) - 2 && strspn(v, "0123456789") == n;
    snprintf(buf, sizeof(buf), "%s%s", v, digits ? "M" : "");
    return cli_cfg(cli, opt, "Memory/Size", buf);
}

static int opt_set(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    return cfg_set_assignment(cli->cfg, v, &err) < 0 ? cli_fail(opt, err.msg) : 0;
}

static int opt_config(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    return cfg_load_ini(cli->cfg, v, &err) < 0 ? cli_fail(opt, err.msg) : 0;
}

static bool cli_dest_ok(const char *v)
{
    return !strcmp(v, "stdio") || !strcmp(v, "none") || (!strncmp(v, "file:", 5) && v[5]);
}

static int opt_dest(struct cli *cli, const char *opt, const char *v)
{
    if (!cli_dest_ok(v)) {
        char why[160];
        snprintf(why, sizeof(why), "'%s' is not stdio, file:PATH or none", v);
        return cli_fail(opt, why);
    }
    if (!strcmp(opt, "--debugcon"))
        cli->debugcon = v;
    else
        cli->serial = v;
    return 0;
}

static int opt_display(struct cli *cli, const char *opt, const char *v)
{
    if (strcmp(v, "none")) {
        char why[96];
        snprintf(why, sizeof(why), "'%s' is not supported (only 'none' for now)", v);
        return cli_fail(opt, why);
    }
    return 0;
}

static int opt_timeout(struct cli *cli, const char *opt, const char *v)
{
    char *end;
    errno = 0;
    double t = strtod(v, &end);
    if (*end || errno || !(t > 0) || t > 1e7) {
        char why[96];
        snprintf(why, sizeof(why), "'%s' is not a positive number of seconds", v);
        return cli_fail(opt, why);
    }
    cli->timeout = t;
    return 0;
}

static int opt_bios(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    if (pc_check_bios(v, &err) < 0)
        return cli_fail(opt, err.msg);
    cli->bios = v;
    return 0;
}
static int opt_log(struct cli *cli, const char *opt, const char *v) { cli->log_spec = v; return 0; }
static int opt_stats(struct cli *cli, const char *opt, const char *v) { cli->stats_json = v; return 0; }

static const struct {
    const char *name;
    const char *alias;
    cli_opt_fn *fn;
} cli_valued[] = {
    { "--vcpus", NULL, opt_vcpus },     { "--smp", NULL, opt_smp },
    { "--memory", "-m", opt_memory },   { "--set", NULL, opt_set },
    { "--config", NULL, opt_config },   { "--log", NULL, opt_log },
    { "--stats-json", NULL, opt_stats }, { "--bios", NULL, opt_bios },
    { "--debugcon", NULL, opt_dest },   { "--serial", NULL, opt_dest },
    { "--display", NULL, opt_display }, { "--timeout", NULL, opt_timeout },
};

static int cli_parse(int argc, char **argv, struct cli *cli)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli_usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--version")) {
            printf("ixvm %s\n", IXVM_VERSION_STRING);
            exit(0);
        }
        if (!strcmp(a, "--selftest") || !strcmp(a, "--no-reboot")) {
            *(a[2] == 's' ? &cli->selftest : &cli->no_reboot) = true;
            continue;
        }
        int k = -1;
        const char *opt = NULL;
        for (size_t j = 0; j < IXVM_ARRAY_SIZE(cli_valued) && k < 0; j++) {
            if (cli_is(a, cli_valued[j].name))
                opt = cli_valued[j].name;
            else if (cli_valued[j].alias && cli_is(a, cli_valued[j].alias))
                opt = cli_valued[j].alias;
            if (opt)
                k = (int)j;
        }
        if (k < 0)
            return cli_fail(a, "unknown option (see --help)");
        const char *v = cli_value(argc, argv, &i, opt);
        if (!v || !*v)
            return cli_fail(opt, "missing value");
        int rc = cli_valued[k].fn(cli, opt, v);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- consoles ------------------------------------------------------------------ */

static int cli_out_open(const char *opt, const char *dest, struct cli_out *o)
{
    o->f = NULL;
    o->close = false;
    if (!dest || !strcmp(dest, "none"))
        return 0;
    if (!strcmp(dest, "stdio")) {
        o->f = stdout;
        return 0;
    }
    o->f = fopen(dest + 5, "w");
    if (!o->f) {
        char why[512];
        snprintf(why, sizeof(why), "cannot open '%s': %s", dest + 5, strerror(errno));
        return cli_fail(opt, why);
    }
    setvbuf(o->f, NULL, _IOLBF, 0);
    o->close = true;
    return 0;
}

static void cli_out_write(void *user, const uint8_t *buf, size_t len)
{
    struct cli_out *o = user;
    if (o->f && fwrite(buf, 1, len, o->f) != len)
        o->f = NULL;   /* a closed pipe: stop writing, keep running */
}

static void cli_out_close(struct cli_out *o)
{
    if (o->f)
        fflush(o->f);
    if (o->close && o->f)
        fclose(o->f);
    o->f = NULL;
}

/* ---- running the PC ---------------------------------------------------------------- */

struct cli_run {
    struct pc *pc;
    bool timed_out;
};

static void cli_timeout_cb(uv_timer_t *t)
{
    struct cli_run *r = t->data;
    r->timed_out = true;
    vmm_stop_loop(pc_vm(r->pc));
}

static void cli_timer_closed(uv_handle_t *h) { (void)h; }

static int cli_write_stats(struct vm *vm, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ixvm: --stats-json: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    int rc = stam_dump_json(vmm_stam(vm), NULL, f);
    fclose(f);
    return rc;
}

static int cli_run_pc(struct cli *cli, const char *stats)
{
    struct cli_out dbg, ser;
    int rc = cli_out_open("--debugcon", cli->debugcon, &dbg);
    if (rc)
        return rc;
    if ((rc = cli_out_open("--serial", cli->serial, &ser))) {
        cli_out_close(&dbg);
        return rc;
    }
    if (dbg.f == stdout || ser.f == stdout)
        setvbuf(stdout, NULL, _IOLBF, 0);
    struct pc_options po = {
        .bios_path = cli->bios,
        .debugcon = { dbg.f ? cli_out_write : NULL, &dbg },
        .serial = { ser.f ? cli_out_write : NULL, &ser },
        .no_reboot = cli->no_reboot,
        .boot_fail_wait_ms = -1,
    };
    struct ixvm_errinfo err = { 0 };
    struct cli_run run = { 0 };
    rc = pc_create(cli->cfg, &po, &run.pc, &err);
    if (rc < 0) {
        fprintf(stderr, "ixvm: %s\n", err.msg);
        cli_out_close(&dbg);
        cli_out_close(&ser);
        return 1;
    }
    struct vm *vm = pc_vm(run.pc);
    uv_timer_t timer;
    bool timer_on = cli->timeout > 0 && uv_timer_init(vmm_loop(vm), &timer) == 0;
    if (timer_on) {
        timer.data = &run;
        (void)uv_timer_start(&timer, cli_timeout_cb, (uint64_t)(cli->timeout * 1000.0 + 0.5), 0);
    }
    int status = 0;
    if (vmm_power_on(vm, &err) < 0) {
        fprintf(stderr, "ixvm: %s\n", err.msg);
        status = 1;
    } else {
        (void)vmm_run_loop(vm);
        const char *why = NULL;
        int st = pc_exit_status(run.pc, &why);
        if (run.timed_out && st < 0) {
            status = CLI_EXIT_TIMEOUT;
        } else if (vmm_get_state(vm) == VMM_STATE_GURU_MEDITATION) {
            const char *m1, *m2;
            vmm_get_assertion(vm, &m1, &m2);
            fprintf(stderr, "ixvm: the VM stopped in guru meditation%s%s\n", *m1 ? ": " : "", m1);
            status = 1;
        } else if (st >= 0) {
            status = st;
            if (st == 1 && cli->no_reboot && why)
                fprintf(stderr, "ixvm: %s; exiting\n", why);
        }
    }
    if (timer_on)
        uv_close((uv_handle_t *)&timer, cli_timer_closed);
    if (stats && *stats && cli_write_stats(vm, stats) < 0 && status == 0)
        status = 1;
    pc_destroy(run.pc);
    cli_out_close(&dbg);
    cli_out_close(&ser);
    return status;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    struct ixvm_errinfo err = { 0 };

    if (cfg_create(&cli.cfg) < 0) {
        fprintf(stderr, "ixvm: out of memory\n");
        return 1;
    }
    int rc = cli_parse(argc, argv, &cli);
    if (rc) {
        cfg_destroy(cli.cfg);
        return rc;
    }
    /* Selftest: --vcpus wins; else an explicit CPU/Count; else 4. */
    if (cli.selftest && (cli.vcpus || !cfg_is_set(cli.cfg, "CPU/Count"))) {
        char kv[32];
        snprintf(kv, sizeof(kv), "CPU/Count=%s", cli.vcpus ? cli.vcpus : "4");
        if (cfg_set_assignment(cli.cfg, kv, &err) < 0) {
            cfg_destroy(cli.cfg);
            return cli_fail("--vcpus", err.msg);
        }
    }
    const char *stats = cli.stats_json;
    if (!stats && cfg_get_str(cli.cfg, "Stats/JsonFile", &stats) < 0)
        stats = NULL;

    struct log_options lo = { .spec = cli.log_spec };
    if (log_init(&lo, &err) < 0) {
        cfg_destroy(cli.cfg);
        return cli_fail("--log", err.msg);
    }
    if (cli.selftest) {
        struct ixvm_printer pr = ixvm_printer_file(stdout);
        rc = vmm_selftest(cli.cfg, stats, &pr, &err);
        if (rc < 0)
            fprintf(stderr, "ixvm: selftest: %s\n", err.msg);
        rc = rc == 0 ? 0 : 1;
    } else {
        rc = cli_run_pc(&cli, stats);
    }
    log_term();
    cfg_destroy(cli.cfg);
    return rc;
}
