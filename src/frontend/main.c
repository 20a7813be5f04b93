/* SPDX-License-Identifier: MIT */
/*
 * ixvm command line.  The option table (cli_valued) is the one place
 * options are declared; main() turns them into configuration keys and a
 * struct fe_run_opts, and fe_run() (fe_runner.c) builds the PC board and
 * runs it in a window or headless (docs/frontend.md); --selftest runs the
 * VMM selftest instead.  Options follow QEMU where QEMU has one.  Every bad
 * input exits with status 2 and one line naming the option and the problem
 * before any guest code runs; the run's own statuses (124 timeout,
 * (v << 1) | 1 debug exit, 130/143 signals, ...) come from fe_verdict.
 */
#define LOG_GROUP LOG_GROUP_FE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "ixvm/cfg.h"
#include "ixvm/log.h"
#include "ixvm/loader.h"
#include "ixvm/pc.h"
#include "ixvm/stam.h"
#include "ixvm/vmm.h"
#include "frontend/fe_debug.h"
#include "frontend/fe_match.h"
#include "frontend/fe_runner.h"

#ifndef IXVM_VERSION_STRING
#define IXVM_VERSION_STRING "0.1.0"   /* project(ixvm VERSION) in CMakeLists.txt */
#endif

struct cli {
    bool selftest;
    const char *vcpus;
    const char *log_spec;
    const char *stats_json;
    struct cfg *cfg;
    struct fe_run_opts run;                 /* the run: display, consoles, runner */
    const char *drive_opt[PC_IDE_DRIVES];   /* the option that took hda..hdd */
    const char *screen_text;                /* --dump-screen-text FILE */
    struct fe_debug_opts debug;             /* --gdb, --monitor, --trace... (fe_debug.c) */
};

static void cli_usage(FILE *f)
{
    fprintf(f,
            "usage: ixvm [options] [DISK.img]\n"
            "Boots a PC (i440FX, SeaBIOS, VGA, PS/2, IDE) in a window when $DISPLAY is set,\n"
            "else headless with COM1 on the terminal (Ctrl-A x quits).\n"
            "\n"
            "Machine:\n"
            "  -m, --memory SIZE       guest RAM (MiB unless K/M/G given; up to 63.5G; default 128M)\n"
            "  --smp N                 number of vCPUs (1..64)\n"
            "  --bios FILE             firmware image (default " PC_DEFAULT_BIOS ")\n"
            "  --no-reboot             exit with status 1 instead of resetting the guest\n"
            "  --rtc base=utc|localtime|YYYY-MM-DD[THH:MM:SS]  the RTC's start time (as QEMU -rtc)\n"
            "\n"
            "Storage and boot:\n"
            "  --hda/--hdb/--hdc/--hdd FILE  raw disk image on IDE primary/secondary master/slave\n"
            "  --cdrom FILE            CD/DVD image in the CD-ROM drive (hdc)\n"
            "  --boot ORDER|menu       boot devices (c disk, d CD-ROM, a floppy, n network),\n"
            "                          or order=ORDER,menu=on|off,splash-time=MS (as QEMU -boot)\n"
            "  --snapshot              keep disk writes in memory; images stay unchanged\n"
            "  FILE                    a disk image alone is the hda image (as QEMU)\n"
            "\n"
            "Display and input:\n"
            "  --display sdl|none      a window (default when $DISPLAY is set) or headless\n"
            "  --full-screen           start the window full screen (Ctrl+Alt+F toggles)\n"
            "  --integer-scale         scale the screen by whole multiples only\n"
            "  window hotkeys: click grabs the mouse, Ctrl+Alt releases it; Ctrl+Alt+F full screen,\n"
            "  +P pause, +R reset, +S screenshot, +I status overlay, +Q quit\n"
            "\n"
            "Direct kernel boot (docs/kernel-boot.md):\n"
            "  --kernel FILE           boot a Linux bzImage or a multiboot kernel instead of a disk\n"
            "  --initrd FILE           Linux: the initrd; multiboot: modules 'file args,file args'\n"
            "  --append STR            the kernel command line\n"
            "\n"
            "Consoles:\n"
            "  --serial DEST           COM1, again for COM2-COM4: stdio (input too), file:PATH,\n"
            "                          tcp:HOST:PORT (a server on HOST), none; default stdio headless\n"
            "  --debugcon DEST         ports 0xE9 and 0x402: stdio, file:PATH, tcp:HOST:PORT, none\n"
            "  --console-log FILE      all serial + debugcon output, byte for byte\n"
            "  --quiet                 no status line, no console on stdout\n"
            "\n"
            "Headless runner (CI):\n"
            "  --timeout SEC           stop after SEC seconds, exit status 124\n"
            "  --expect REGEX          exit 0 when the console output matches (repeat: in order)\n"
            "  --fail-on REGEX         exit 1 when the console output matches (repeatable)\n"
            "  --send KEYS             type on the PS/2 keyboard: 'root\\n', '<ctrl-alt-delete>'\n"
            "  --input-script FILE     expect/send/sendkey/sleep steps, one per line\n"
            "  --screenshot FILE.png   save the screen when the run ends (whatever the verdict)\n"
            "  --junit FILE.xml        JUnit report with the verdict and the console output\n"
            "  --name NAME             the JUnit test case name (default ixvm)\n"
            "  exit status: 0 pass, 1 fail-on/failure, 2 bad usage, 124 timeout,\n"
            "  (v << 1) | 1 after the guest wrote v to isa-debug-exit, 130/143 SIGINT/SIGTERM\n"
            "\n"
            "Debugging (docs/debugging.md):\n"
            "  --gdb tcp::PORT|tcp:HOST:PORT|unix:PATH  gdb remote stub (PORT 0: a free one, printed)\n"
            "  --wait-for-gdb          hold the vCPUs at the first instruction until gdb continues\n"
            "  --monitor stdio|unix:PATH  monitor console (help lists its commands)\n"
            "  --trace FILE            one line per executed instruction ('-': stderr)\n"
            "  --trace-filter SPEC     range=LO-HI cpl=N mode=real|p16|p32|v86 cpu=N[,N]\n"
            "  --trace-interrupts      log every interrupt and exception (vector, error code)\n"
            "  --symbols FILE.elf[@BIAS]  symbols for traces, disassembly, monitor (repeatable)\n"
            "\n"
            "Configuration and diagnostics:\n"
            "  --set KEY=VALUE         set a configuration key (repeatable)\n"
            "  --config FILE.ini       load configuration from an INI file\n"
            "  --log SPEC              debug log groups and levels (as IXVM_LOG)\n"
            "  --stats-json FILE       write statistics as JSON at exit\n"
            "  --dump-screen-text FILE the VGA text screen, rewritten as it changes\n"
            "  --selftest, --vcpus N   run the VMM selftest instead of a guest\n"
            "  --version, --help\n"
            "\n"
            "Examples:\n"
            "  window:    ixvm --hda demo.img\n"
            "  CI:        ixvm --display none --timeout 60 --expect 'login:' --send 'root\\n' \\\n"
            "                  --expect '# ' --fail-on 'Kernel panic' --junit out.xml --screenshot end.png disk.img\n"
            "  terminal:  ixvm --display none --serial stdio disk.img\n"
            "  debugging: ixvm --debugcon stdio --log '+iem.e' --stats-json stats.json disk.img\n");
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

/* An error whose message may already start with the option's name. */
static int cli_fail_err(const char *opt, const struct ixvm_errinfo *err)
{
    if (!strncmp(err->msg, opt, strlen(opt))) {
        fprintf(stderr, "ixvm: %s\n", err->msg);
        return 2;
    }
    return cli_fail(opt, err->msg);
}

static int opt_dest(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    if (fe_dest_check(v, true, &err) < 0)
        return cli_fail(opt, err.msg);
    if (!strncmp(v, "file:", 5) && fe_path_check_writable(v + 5, &err) < 0)
        return cli_fail(opt, err.msg);
    /* A TCP endpoint or an input terminal serves one port only. */
    for (unsigned i = 0; i <= cli->run.nserial; i++) {
        const char *o = i < cli->run.nserial ? cli->run.serial[i] : cli->run.debugcon;
        if (o && !strncmp(v, "tcp:", 4) && !strcmp(o, v))
            return cli_fail(opt, "this TCP endpoint is already used by another port");
    }
    if (fe_dest_probe(v, &err) < 0)
        return cli_fail(opt, err.msg);
    if (!strcmp(opt, "--debugcon")) {
        cli->run.debugcon = v;
        return 0;
    }
    if (cli->run.nserial >= FE_SERIAL_PORTS)
        return cli_fail(opt, "at most 4 serial ports (COM1-COM4)");
    cli->run.serial[cli->run.nserial++] = v;
    return 0;
}

static int opt_display(struct cli *cli, const char *opt, const char *v)
{
    if (!strcmp(v, "none") || !strcmp(v, "sdl")) {
        cli->run.display = v[0] == 'n' ? FE_DISPLAY_NONE : FE_DISPLAY_SDL;
        return 0;
    }
    char why[96];
    snprintf(why, sizeof(why), "'%s' is not sdl or none", v);
    return cli_fail(opt, why);
}

static int opt_step(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    enum fe_step_kind k = !strcmp(opt, "--expect") ? FE_STEP_EXPECT : FE_STEP_SEND;
    return fe_script_add(&cli->run.script, k, v, opt, &err) < 0 ? cli_fail_err(opt, &err) : 0;
}

static int opt_input_script(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    return fe_script_load(&cli->run.script, v, &err) < 0 ? cli_fail_err(opt, &err) : 0;
}

static int opt_fail_on(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    struct fe_match m;
    if (cli->run.nfail >= FE_MAX_FAIL_ON)
        return cli_fail(opt, "at most 16 patterns");
    if (fe_match_init(&m, v, 0, &err) < 0)
        return cli_fail_err(opt, &err);
    fe_match_fini(&m);
    cli->run.fail_on[cli->run.nfail++] = v;
    return 0;
}

/* Output files: checked now so a typo fails before the guest runs. */
static int opt_out_file(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    if (fe_path_check_writable(v, &err) < 0)
        return cli_fail(opt, err.msg);
    const char **dst = !strcmp(opt, "--screenshot") ? &cli->run.screenshot
                     : !strcmp(opt, "--junit")      ? &cli->run.junit
                     : !strcmp(opt, "--console-log") ? &cli->run.console_log
                                                     : &cli->stats_json;
    *dst = v;
    return 0;
}

static int opt_name(struct cli *cli, const char *opt, const char *v) { cli->run.name = v; return 0; }

/* Options without a value (CLI_FLAG rows): v is NULL. */
static int opt_flag(struct cli *cli, const char *opt, const char *v)
{
    bool *flags[] = { &cli->selftest, &cli->run.no_reboot, &cli->run.quiet, &cli->run.full_screen,
                      &cli->run.integer_scale };
    static const char *const names[] = { "--selftest", "--no-reboot", "--quiet", "--full-screen",
                                         "--integer-scale" };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(names); i++)
        if (!strcmp(opt, names[i]))
            *flags[i] = true;
    /* Debugger flags (fe_debug.c). */
    struct ixvm_errinfo err = { 0 };
    if (!strcmp(opt, "--wait-for-gdb") || !strcmp(opt, "--trace-interrupts"))
        return fe_debug_option(&cli->debug, opt, NULL, &err) < 0 ? cli_fail(opt, err.msg) : 0;
    return 0;
}

/* Debugger options with a value (fe_debug.c checks them). */
static int opt_debug(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    return fe_debug_option(&cli->debug, opt, v, &err) < 0 ? cli_fail_err(opt, &err) : 0;
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
    cli->run.timeout = t;
    return 0;
}

static int opt_bios(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    if (pc_check_bios(v, &err) < 0)
        return cli_fail(opt, err.msg);
    cli->run.bios = v;
    return 0;
}
static int opt_log(struct cli *cli, const char *opt, const char *v) { cli->log_spec = v; return 0; }

/* ---- storage and boot: QEMU's options mapped to IDE/..., Boot/... keys ---- */

static const struct {
    const char *opt;
    const char *key;
    unsigned slot;   /* hda..hdd = 0..3 */
    bool cdrom;
} cli_drives[] = {
    { "--hda", "IDE/Hda", 0, false }, { "--hdb", "IDE/Hdb", 1, false }, { "--hdc", "IDE/Hdc", 2, false },
    { "--hdd", "IDE/Hdd", 3, false }, { "--cdrom", "IDE/Cdrom", 2, true },
};

static int cli_cfg_set(struct cli *cli, const char *opt, const char *key, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    return cfg_set(cli->cfg, key, v, &err) < 0 ? cli_fail(opt, err.msg) : 0;
}

/* One device per slot: a second one names both options. */
static int cli_drive(struct cli *cli, unsigned k, const char *opt, const char *v)
{
    unsigned slot = cli_drives[k].slot;
    if (cli->drive_opt[slot]) {
        char why[160];
        snprintf(why, sizeof(why), "hd%c is already used by %s", 'a' + slot, cli->drive_opt[slot]);
        return cli_fail(opt, why);
    }
    struct ixvm_errinfo err = { 0 };
    if (pc_check_drive(v, cli_drives[k].cdrom, &err) < 0)
        return cli_fail(opt, err.msg);
    cli->drive_opt[slot] = opt;
    return cli_cfg_set(cli, opt, cli_drives[k].key, v);
}

static int opt_drive(struct cli *cli, const char *opt, const char *v)
{
    for (unsigned k = 0; k < IXVM_ARRAY_SIZE(cli_drives); k++)
        if (!strcmp(cli_drives[k].opt, opt))
            return cli_drive(cli, k, opt, v);
    return cli_fail(opt, "not a drive option");
}

static int cli_boot_order(struct cli *cli, const char *opt, const char *order)
{
    struct ixvm_errinfo err = { 0 };
    if (pc_check_boot_order(order, &err) < 0)
        return cli_fail(opt, err.msg);
    return cli_cfg_set(cli, opt, "Boot/Order", order);
}

/* QEMU -rtc base=...: the RTC/Base key, checked by the board's parser. */
static int opt_rtc(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    bool localtime;
    int64_t epoch;
    if (strncmp(v, "base=", 5))
        return cli_fail(opt, "expected base=utc|localtime|YYYY-MM-DD[THH:MM:SS]");
    if (pc_parse_rtc_base(v + 5, &localtime, &epoch, &err) < 0)
        return cli_fail(opt, err.msg);
    return cli_cfg_set(cli, opt, "RTC/Base", v + 5);
}

/* QEMU -boot: "d", "menu", or order=cd,menu=on,splash-time=MS. */
static int opt_boot(struct cli *cli, const char *opt, const char *v)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", v);
    int rc = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "menu") || !strcmp(t, "menu=on") || !strcmp(t, "menu=off"))
            rc = cli_cfg_set(cli, opt, "Boot/Menu", strcmp(t, "menu=off") ? "true" : "false");
        else if (!strncmp(t, "order=", 6))
            rc = cli_boot_order(cli, opt, t + 6);
        else if (!strncmp(t, "splash-time=", 12))
            rc = cli_cfg_set(cli, opt, "Boot/MenuTimeout", t + 12);
        else if (!strchr(t, '='))
            rc = cli_boot_order(cli, opt, t);
        else {
            char why[192];
            snprintf(why, sizeof(why), "'%s' is not ORDER, menu=on|off, order=ORDER or splash-time=MS", t);
            rc = cli_fail(opt, why);
        }
    }
    return rc;
}

static int opt_screen_text(struct cli *cli, const char *opt, const char *v) { cli->screen_text = v; return 0; }

/* Drive and boot keys that came from --set/--config rather than the options
 * above: check them now so bad input exits 2 naming the key. */
static int cli_check_storage(struct cli *cli)
{
    struct ixvm_errinfo err = { 0 };
    const char *v = NULL;
    for (unsigned k = 0; k < IXVM_ARRAY_SIZE(cli_drives); k++) {
        const char *key = cli_drives[k].key;
        if (cli->drive_opt[cli_drives[k].slot] || cfg_get_str(cli->cfg, key, &v) < 0 || !v || !*v)
            continue;
        if (pc_check_drive(v, cli_drives[k].cdrom, &err) < 0)
            return cli_fail(key, err.msg);
    }
    const char *cd = NULL, *hdc = NULL;
    if (cfg_get_str(cli->cfg, "IDE/Cdrom", &cd) >= 0 && cfg_get_str(cli->cfg, "IDE/Hdc", &hdc) >= 0 && *cd && *hdc)
        return cli_fail("IDE/Cdrom", "IDE/Cdrom and IDE/Hdc both use the secondary master (hdc)");
    if (cfg_get_str(cli->cfg, "Boot/Order", &v) >= 0 && pc_check_boot_order(v, &err) < 0)
        return cli_fail("Boot/Order", err.msg);
    bool rtc_localtime;
    int64_t rtc_epoch;
    if (cfg_get_str(cli->cfg, "RTC/Base", &v) >= 0 && pc_parse_rtc_base(v, &rtc_localtime, &rtc_epoch, &err) < 0)
        return cli_fail("RTC/Base", err.msg);
    return 0;
}

/* Direct kernel boot (QEMU -kernel/-initrd/-append): the Kernel/... keys,
 * read by the board (loader.h); files are checked here so bad input exits 2. */
static int opt_kernel(struct cli *cli, const char *opt, const char *v)
{
    struct ixvm_errinfo err = { 0 };
    if (strcmp(opt, "--append") && (!strcmp(opt, "--kernel") ? loader_check_kernel(v, &err)
                                                              : loader_check_initrd(v, &err)) < 0)
        return cli_fail(opt, err.msg);
    const char *key = !strcmp(opt, "--kernel") ? "Kernel/Path" : !strcmp(opt, "--initrd") ? "Kernel/Initrd"
                                                                                          : "Kernel/Cmdline";
    return cli_cfg_set(cli, opt, key, v);
}

/* Rows whose handler is opt_flag take no value. */
static const struct {
    const char *name;
    const char *alias;
    cli_opt_fn *fn;
} cli_valued[] = {
    { "--vcpus", NULL, opt_vcpus },     { "--smp", NULL, opt_smp },
    { "--memory", "-m", opt_memory },   { "--set", NULL, opt_set },
    { "--config", NULL, opt_config },   { "--log", NULL, opt_log },
    { "--stats-json", NULL, opt_out_file }, { "--bios", NULL, opt_bios },
    { "--debugcon", NULL, opt_dest },   { "--serial", NULL, opt_dest },
    { "--display", NULL, opt_display }, { "--timeout", NULL, opt_timeout },
    { "--expect", NULL, opt_step },     { "--send", NULL, opt_step },
    { "--fail-on", NULL, opt_fail_on }, { "--input-script", NULL, opt_input_script },
    { "--screenshot", NULL, opt_out_file }, { "--junit", NULL, opt_out_file },
    { "--console-log", NULL, opt_out_file }, { "--name", NULL, opt_name },
    { "--selftest", NULL, opt_flag },   { "--no-reboot", NULL, opt_flag },
    { "--quiet", "-q", opt_flag },      { "--full-screen", NULL, opt_flag },
    { "--integer-scale", NULL, opt_flag },
    { "--hda", NULL, opt_drive },       { "--hdb", NULL, opt_drive },
    { "--hdc", NULL, opt_drive },       { "--hdd", NULL, opt_drive },
    { "--cdrom", NULL, opt_drive },     { "--boot", NULL, opt_boot },
    { "--rtc", NULL, opt_rtc },
    /* Debug: the VGA text screen, rewritten as it changes and at exit. */
    { "--dump-screen-text", NULL, opt_screen_text },
    { "--kernel", NULL, opt_kernel },   { "--initrd", NULL, opt_kernel },
    { "--append", NULL, opt_kernel },
    /* Debugger (docs/debugging.md). */
    { "--gdb", NULL, opt_debug },       { "--wait-for-gdb", NULL, opt_flag },
    { "--monitor", NULL, opt_debug },   { "--trace", NULL, opt_debug },
    { "--trace-filter", NULL, opt_debug }, { "--trace-interrupts", NULL, opt_flag },
    { "--symbols", NULL, opt_debug },
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
        if (!strcmp(a, "--snapshot") || a[0] != '-') {
            /* A bare file is the hda image, as in QEMU. */
            int rc = a[0] != '-' ? cli_drive(cli, 0, a, a) : cli_cfg_set(cli, a, "IDE/Snapshot", "true");
            if (rc)
                return rc;
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
        if (cli_valued[k].fn == opt_flag) {
            if (strcmp(a, opt))
                return cli_fail(opt, "takes no value");
            (void)cli_valued[k].fn(cli, opt, NULL);
            continue;
        }
        const char *v = cli_value(argc, argv, &i, opt);
        if (!v || !*v)
            return cli_fail(opt, "missing value");
        int rc = cli_valued[k].fn(cli, opt, v);
        if (rc)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    struct ixvm_errinfo err = { 0 };
    fe_run_opts_init(&cli.run);

    if (cfg_create(&cli.cfg) < 0) {
        fprintf(stderr, "ixvm: out of memory\n");
        return 1;
    }
    int rc = cli_parse(argc, argv, &cli);
    if (!rc && !cli.selftest)
        rc = cli_check_storage(&cli);
    if (!rc && !cli.selftest && fe_debug_prepare(&cli.debug, &cli.run, &err) < 0)
        rc = cli_fail("--wait-for-gdb", err.msg);
    if (rc) {
        fe_run_opts_fini(&cli.run);
        cfg_destroy(cli.cfg);
        return rc;
    }
    /* Selftest: --vcpus wins; else an explicit CPU/Count; else 4. */
    if (cli.selftest && (cli.vcpus || !cfg_is_set(cli.cfg, "CPU/Count"))) {
        char kv[32];
        snprintf(kv, sizeof(kv), "CPU/Count=%s", cli.vcpus ? cli.vcpus : "4");
        if (cfg_set_assignment(cli.cfg, kv, &err) < 0) {
            fe_run_opts_fini(&cli.run);
            cfg_destroy(cli.cfg);
            return cli_fail("--vcpus", err.msg);
        }
    }
    const char *stats = cli.stats_json;
    if (!stats && cfg_get_str(cli.cfg, "Stats/JsonFile", &stats) < 0)
        stats = NULL;

    struct log_options lo = { .spec = cli.log_spec };
    if (log_init(&lo, &err) < 0) {
        fe_run_opts_fini(&cli.run);
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
        cli.run.stats_json = stats && *stats ? stats : NULL;
        cli.run.screen_text = cli.screen_text;
        rc = fe_run(cli.cfg, &cli.run);
    }
    log_term();
    fe_run_opts_fini(&cli.run);
    cfg_destroy(cli.cfg);
    return rc;
}
