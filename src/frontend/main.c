/* SPDX-License-Identifier: MIT */
/*
 * ixvm command line (minimal for now; the frontends issue extends it):
 * configuration from --config/--set, logging from --log, and the VMM
 * selftest, which is also what a bare `ixvm` runs until a guest exists.
 * Bad input exits with status 2 and one line naming the option and the
 * problem.
 */
#define LOG_GROUP LOG_GROUP_FE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/cfg.h"
#include "ixvm/log.h"
#include "ixvm/vmm.h"

#ifndef IXVM_VERSION_STRING
#define IXVM_VERSION_STRING "0.1.0"   /* project(ixvm VERSION) in CMakeLists.txt */
#endif

struct cli {
    bool selftest;
    const char *vcpus;
    const char *log_spec;
    const char *stats_json;
};

static void cli_usage(FILE *f)
{
    fprintf(f,
            "usage: ixvm [options]\n"
            "  --selftest          run the VMM selftest (the default for now)\n"
            "  --vcpus N           number of vCPUs for the selftest (default 4)\n"
            "  --set KEY=VALUE     set a configuration key (repeatable)\n"
            "  --config FILE.ini   load configuration from an INI file\n"
            "  --log SPEC          debug log groups and levels (as IXVM_LOG)\n"
            "  --stats-json FILE   write statistics as JSON at exit\n"
            "  --version           print the version\n"
            "  --help              this text\n");
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

static int cli_parse(int argc, char **argv, struct cli *cli, struct cfg *cfg)
{
    static const char *const valued[] = { "--vcpus", "--set", "--config", "--log", "--stats-json" };
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
        if (!strcmp(a, "--selftest")) {
            cli->selftest = true;
            continue;
        }
        const char *opt = NULL;
        for (size_t k = 0; k < IXVM_ARRAY_SIZE(valued) && !opt; k++)
            if (cli_is(a, valued[k]))
                opt = valued[k];
        if (!opt)
            return cli_fail(a, "unknown option (see --help)");
        const char *v = cli_value(argc, argv, &i, opt);
        if (!v || !*v)
            return cli_fail(opt, "missing value");
        struct ixvm_errinfo err = { 0 };
        if (!strcmp(opt, "--vcpus")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > IXVM_MAX_CPUS) {
                char why[96];
                snprintf(why, sizeof(why), "'%s' is not a number in 1..%d", v, IXVM_MAX_CPUS);
                return cli_fail(opt, why);
            }
            cli->vcpus = v;
        } else if (!strcmp(opt, "--set")) {
            if (cfg_set_assignment(cfg, v, &err) < 0)
                return cli_fail(opt, err.msg);
        } else if (!strcmp(opt, "--config")) {
            if (cfg_load_ini(cfg, v, &err) < 0)
                return cli_fail(opt, err.msg);
        } else if (!strcmp(opt, "--log")) {
            cli->log_spec = v;
        } else {
            cli->stats_json = v;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    struct cfg *cfg;
    struct ixvm_errinfo err = { 0 };

    if (cfg_create(&cfg) < 0) {
        fprintf(stderr, "ixvm: out of memory\n");
        return 1;
    }
    int rc = cli_parse(argc, argv, &cli, cfg);
    if (rc) {
        cfg_destroy(cfg);
        return rc;
    }
    /* --vcpus wins; else an explicit CPU/Count; else 4 for the selftest. */
    if (cli.vcpus || !cfg_is_set(cfg, "CPU/Count")) {
        char kv[32];
        snprintf(kv, sizeof(kv), "CPU/Count=%s", cli.vcpus ? cli.vcpus : "4");
        if (cfg_set_assignment(cfg, kv, &err) < 0) {
            cfg_destroy(cfg);
            return cli_fail("--vcpus", err.msg);
        }
    }
    const char *stats = cli.stats_json;
    if (!stats && cfg_get_str(cfg, "Stats/JsonFile", &stats) < 0)
        stats = NULL;

    struct log_options lo = { .spec = cli.log_spec };
    if (log_init(&lo, &err) < 0) {
        cfg_destroy(cfg);
        return cli_fail("--log", err.msg);
    }
    struct ixvm_printer pr = ixvm_printer_file(stdout);
    rc = vmm_selftest(cfg, stats, &pr, &err);
    if (rc < 0)
        fprintf(stderr, "ixvm: selftest: %s\n", err.msg);
    log_term();
    cfg_destroy(cfg);
    return rc == 0 ? 0 : 1;
}
