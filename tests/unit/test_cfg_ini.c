/* SPDX-License-Identifier: MIT */
/*
 * CFG INI files: sections, comments, every value type; failures name the
 * file and line and leave the tree untouched (all-or-nothing).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ixvm/cfg.h"

/* Write text to a fresh temp file; path receives its name. */
static void write_temp(char path[64], const char *text)
{
    strcpy(path, "/tmp/ixvm-cfg-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    cr_assert_eq(close(fd), 0);
}

static struct cfg *new_cfg(void)
{
    struct cfg *cfg = NULL;
    cr_assert_eq(cfg_create(&cfg), 0);
    return cfg;
}

Test(cfg_ini, load_success)
{
    char path[64];
    write_temp(path,
               "; a comment\n"
               "# another comment\n"
               "\n"
               "Stats/JsonFile = stats.json\n"
               "[CPU]\n"
               "Count = 4\n"
               "[Memory]\n"
               "  Size = 256M   ; inline comment\n"
               "[VMM]\n"
               "UsePeriodicPreemptionTimers = off\n"
               "Name = test vm\n"
               "TimeSliceMs=0x14\n"
               "[Log]\n"
               "BufferSize = 4KiB\n");
    struct cfg *cfg = new_cfg();
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(cfg_load_ini(cfg, path, &err), 0, "%s", err.msg);
    int64_t v;
    bool b;
    const char *s;
    cr_assert_eq(cfg_get_int(cfg, "CPU/Count", &v), 0);
    cr_assert_eq(v, 4);
    cr_assert_eq(cfg_get_int(cfg, "Memory/Size", &v), 0);
    cr_assert_eq(v, 256 << 20);
    cr_assert_eq(cfg_get_int(cfg, "VMM/TimeSliceMs", &v), 0);
    cr_assert_eq(v, 20);
    cr_assert_eq(cfg_get_int(cfg, "Log/BufferSize", &v), 0);
    cr_assert_eq(v, 4096);
    cr_assert_eq(cfg_get_bool(cfg, "VMM/UsePeriodicPreemptionTimers", &b), 0);
    cr_assert_not(b);
    cr_assert_eq(cfg_get_str(cfg, "VMM/Name", &s), 0);
    cr_assert_str_eq(s, "test vm");
    cr_assert_eq(cfg_get_str(cfg, "Stats/JsonFile", &s), 0);
    cr_assert_str_eq(s, "stats.json");
    cr_assert(cfg_is_set(cfg, "CPU/Count"));
    cr_assert_not(cfg_is_set(cfg, "Log/Spec"));
    cfg_destroy(cfg);
    unlink(path);
}

Test(cfg_ini, empty_file)
{
    char path[64];
    write_temp(path, "");
    struct cfg *cfg = new_cfg();
    uint64_t before = cfg_state_digest(cfg);
    cr_assert_eq(cfg_load_ini(cfg, path, NULL), 0);
    cr_assert_eq(cfg_state_digest(cfg), before);
    cr_assert_not(cfg_is_set(cfg, "CPU/Count"));
    cfg_destroy(cfg);
    unlink(path);
}

/* A bad file: status and the message after "<path>:". */
struct ini_fail_case {
    const char *text;
    int rc;
    const char *msg;
};

static const struct ini_fail_case fail_cases[] = {
    { "[CPU]\nCount = 4\n[Memory]\nSize = 1M\n[CPU]\nCount = abc\n", IXVM_ERR_WRONG_TYPE,
      "6: CPU/Count: 'abc' is not an integer" },
    { "[Memory]\nSise = 1M\n", IXVM_ERR_UNKNOWN_KEY,
      "2: unknown configuration key 'Memory/Sise'; did you mean 'Memory/Size'?" },
    { "[CPU]\nCount = 4\n[Nope]\nThing = 1\n", IXVM_ERR_UNKNOWN_KEY,
      "4: unknown configuration key 'Nope/Thing'" },
    { "[CPU]\nCount = 65\n", IXVM_ERR_OUT_OF_RANGE, "2: CPU/Count: 65 is out of range (1..64)" },
    { "[CPU]\nCount = 2\n[Memory\nSize = 1M\n", IXVM_ERR_SYNTAX, "3: syntax error" },
    { "[CPU]\nCount 2\n", IXVM_ERR_SYNTAX, "2: syntax error" },
    /* The first error in the file wins, whichever kind it is. */
    { "[CPU]\nCount = 2\njunk\nCount = x\n", IXVM_ERR_SYNTAX, "3: syntax error" },
    { "[CPU]\nCount = x\njunk\n", IXVM_ERR_WRONG_TYPE, "2: CPU/Count: 'x' is not an integer" },
    { "[CPU]\nCount = 2\n[Memory]\nSize = 1M\nSize = 5\n", IXVM_ERR_OUT_OF_RANGE,
      "5: Memory/Size: 5 is out of range (1M..65024M)" },
};

Test(cfg_ini, failures_name_line_and_apply_nothing)
{
    for (size_t i = 0; i < sizeof(fail_cases) / sizeof(fail_cases[0]); i++) {
        const struct ini_fail_case *c = &fail_cases[i];
        char path[64];
        write_temp(path, c->text);
        struct cfg *cfg = new_cfg();
        cr_assert_eq(cfg_set(cfg, "CPU/Count", "7", NULL), 0);
        uint64_t before = cfg_state_digest(cfg);
        struct ixvm_errinfo err = { 0 };
        int rc = cfg_load_ini(cfg, path, &err);
        cr_expect_eq(rc, c->rc, "case %zu: rc %d (%s)", i, rc, err.msg);
        char want[256];
        snprintf(want, sizeof(want), "%s:%s", path, c->msg);
        cr_expect_eq(strncmp(err.msg, want, strlen(want)), 0, "case %zu: '%s' does not start '%s'",
                     i, err.msg, want);
        /* Nothing from the file was applied. */
        int64_t v;
        cr_assert_eq(cfg_get_int(cfg, "CPU/Count", &v), 0);
        cr_expect_eq(v, 7, "case %zu: CPU/Count changed to %lld", i, (long long)v);
        cr_expect_eq(cfg_state_digest(cfg), before, "case %zu", i);
        cr_expect_not(cfg_is_set(cfg, "Memory/Size"), "case %zu", i);
        cfg_destroy(cfg);
        unlink(path);
    }
}

Test(cfg_ini, line_too_long)
{
    char path[64];
    size_t n = 1000;
    char *text = malloc(n + 64);
    cr_assert_not_null(text);
    strcpy(text, "[VMM]\nName = ");
    size_t off = strlen(text);
    memset(text + off, 'x', n);
    strcpy(text + off + n, "\n");
    write_temp(path, text);
    free(text);
    struct cfg *cfg = new_cfg();
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(cfg_load_ini(cfg, path, &err), IXVM_ERR_SYNTAX);
    char want[128];
    snprintf(want, sizeof(want), "%s:2: line too long", path);
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
    cr_assert_not(cfg_is_set(cfg, "VMM/Name"));
    cfg_destroy(cfg);
    unlink(path);
}

Test(cfg_ini, missing_file)
{
    struct cfg *cfg = new_cfg();
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(cfg_load_ini(cfg, "/tmp/ixvm-cfg-does-not-exist.ini", &err), IXVM_ERR_IO);
    cr_assert_eq(err.rc, IXVM_ERR_IO);
    cr_assert_str_eq(err.msg, "cannot open configuration file '/tmp/ixvm-cfg-does-not-exist.ini': "
                              "No such file or directory");
    cfg_destroy(cfg);
}

Test(cfg_ini, later_load_overrides)
{
    char p1[64], p2[64];
    write_temp(p1, "[CPU]\nCount = 2\n[Memory]\nSize = 64M\n");
    write_temp(p2, "[CPU]\nCount = 8\n");
    struct cfg *cfg = new_cfg();
    cr_assert_eq(cfg_load_ini(cfg, p1, NULL), 0);
    cr_assert_eq(cfg_load_ini(cfg, p2, NULL), 0);
    int64_t v;
    cr_assert_eq(cfg_get_int(cfg, "CPU/Count", &v), 0);
    cr_assert_eq(v, 8);
    cr_assert_eq(cfg_get_int(cfg, "Memory/Size", &v), 0);
    cr_assert_eq(v, 64 << 20);
    cfg_destroy(cfg);
    unlink(p1);
    unlink(p2);
}
