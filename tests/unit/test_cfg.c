/* SPDX-License-Identifier: MIT */
/*
 * CFG: every parse rule and error message (one table), getters, defaults,
 * cfg_is_set, --set assignments, clone, digest and `info config` output.
 * INI files are tested in test_cfg_ini.c.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/cfg.h"
#include "test_printer.h"

static struct cfg *new_cfg(void)
{
    struct cfg *cfg = NULL;
    cr_assert_eq(cfg_create(&cfg), 0);
    cr_assert_not_null(cfg);
    return cfg;
}

/* One row: set key to value; expect rc, message substring and the value read back. */
struct set_case {
    const char *key;
    const char *value;
    int rc;
    const char *msg;        /* substring of the error message (errors only) */
    int64_t want;           /* INT/SIZE/BOOL value read back on success */
};

static const struct set_case set_cases[] = {
    /* BOOL: every spelling, any case, surrounding blanks. */
    { "VMM/UsePeriodicPreemptionTimers", "true", 0, NULL, 1 },
    { "VMM/UsePeriodicPreemptionTimers", "false", 0, NULL, 0 },
    { "VMM/UsePeriodicPreemptionTimers", "YES", 0, NULL, 1 },
    { "VMM/UsePeriodicPreemptionTimers", "No", 0, NULL, 0 },
    { "VMM/UsePeriodicPreemptionTimers", "on", 0, NULL, 1 },
    { "VMM/UsePeriodicPreemptionTimers", "OFF", 0, NULL, 0 },
    { "VMM/UsePeriodicPreemptionTimers", "1", 0, NULL, 1 },
    { "VMM/UsePeriodicPreemptionTimers", "0", 0, NULL, 0 },
    { "VMM/UsePeriodicPreemptionTimers", " True ", 0, NULL, 1 },
    { "VMM/UsePeriodicPreemptionTimers", "maybe", IXVM_ERR_WRONG_TYPE,
      "VMM/UsePeriodicPreemptionTimers: 'maybe' is not a boolean", 0 },
    { "VMM/UsePeriodicPreemptionTimers", "2", IXVM_ERR_WRONG_TYPE, "'2' is not a boolean", 0 },
    { "VMM/UsePeriodicPreemptionTimers", "", IXVM_ERR_WRONG_TYPE, "'' is not a boolean", 0 },
    { "VMM/UsePeriodicPreemptionTimers", "truex", IXVM_ERR_WRONG_TYPE, "is not a boolean", 0 },
    /* INT: decimal, hex, signs, range. */
    { "CPU/Count", "4", 0, NULL, 4 },
    { "CPU/Count", "64", 0, NULL, 64 },
    { "CPU/Count", "1", 0, NULL, 1 },
    { "CPU/Count", "0x10", 0, NULL, 16 },
    { "CPU/Count", "0X1f", 0, NULL, 31 },
    { "CPU/Count", "010", 0, NULL, 10 },
    { "CPU/Count", "+8", 0, NULL, 8 },
    { "CPU/Count", " 2 ", 0, NULL, 2 },
    { "CPU/Count", "abc", IXVM_ERR_WRONG_TYPE, "CPU/Count: 'abc' is not an integer", 0 },
    { "CPU/Count", "", IXVM_ERR_WRONG_TYPE, "CPU/Count: '' is not an integer", 0 },
    { "CPU/Count", "4x", IXVM_ERR_WRONG_TYPE, "'4x' is not an integer", 0 },
    { "CPU/Count", "0x", IXVM_ERR_WRONG_TYPE, "'0x' is not an integer", 0 },
    { "CPU/Count", "1.5", IXVM_ERR_WRONG_TYPE, "is not an integer", 0 },
    { "CPU/Count", "--1", IXVM_ERR_WRONG_TYPE, "is not an integer", 0 },
    { "CPU/Count", "4M", IXVM_ERR_WRONG_TYPE, "is not an integer", 0 },
    { "CPU/Count", "65", IXVM_ERR_OUT_OF_RANGE, "CPU/Count: 65 is out of range (1..64)", 0 },
    { "CPU/Count", "0", IXVM_ERR_OUT_OF_RANGE, "CPU/Count: 0 is out of range (1..64)", 0 },
    { "CPU/Count", "-1", IXVM_ERR_OUT_OF_RANGE, "CPU/Count: -1 is out of range (1..64)", 0 },
    { "CPU/Count", "0x41", IXVM_ERR_OUT_OF_RANGE, "CPU/Count: 0x41 is out of range (1..64)", 0 },
    { "CPU/Count", "99999999999999999999999", IXVM_ERR_OUT_OF_RANGE,
      "99999999999999999999999 is out of range (1..64)", 0 },
    { "VMM/TimeSliceMs", "1000", 0, NULL, 1000 },
    { "VMM/TimeSliceMs", "1001", IXVM_ERR_OUT_OF_RANGE, "VMM/TimeSliceMs: 1001 is out of range (1..1000)", 0 },
    /* SIZE: bytes, K/M/G in KiB units, optional B / iB, any case, range. */
    { "Memory/Size", "256M", 0, NULL, 256ll << 20 },
    { "Memory/Size", "256m", 0, NULL, 256ll << 20 },
    { "Memory/Size", "256MB", 0, NULL, 256ll << 20 },
    { "Memory/Size", "256MiB", 0, NULL, 256ll << 20 },
    { "Memory/Size", "256mib", 0, NULL, 256ll << 20 },
    { "Memory/Size", "256 M", 0, NULL, 256ll << 20 },
    { "Memory/Size", "1G", 0, NULL, 1ll << 30 },
    { "Memory/Size", "2gb", 0, NULL, 2ll << 30 },
    { "Memory/Size", "3584M", 0, NULL, 3584ll << 20 },
    { "Memory/Size", "1048576", 0, NULL, 1048576 },
    { "Memory/Size", "1048576B", 0, NULL, 1048576 },
    { "Memory/Size", "2048K", 0, NULL, 2048ll << 10 },
    { "Memory/Size", "4096KiB", 0, NULL, 4096ll << 10 },
    { "Memory/Size", "0x4000000", 0, NULL, 0x4000000 },
    { "Memory/Size", "lots", IXVM_ERR_WRONG_TYPE, "Memory/Size: 'lots' is not a size", 0 },
    { "Memory/Size", "12X", IXVM_ERR_WRONG_TYPE, "Memory/Size: '12X' is not a size", 0 },
    { "Memory/Size", "12MX", IXVM_ERR_WRONG_TYPE, "'12MX' is not a size", 0 },
    { "Memory/Size", "12Mi", IXVM_ERR_WRONG_TYPE, "'12Mi' is not a size", 0 },
    { "Memory/Size", "-1M", IXVM_ERR_WRONG_TYPE, "'-1M' is not a size", 0 },
    { "Memory/Size", "M", IXVM_ERR_WRONG_TYPE, "'M' is not a size", 0 },
    { "Memory/Size", "512K", IXVM_ERR_OUT_OF_RANGE, "Memory/Size: 512K is out of range (1M..65024M)", 0 },
    { "Memory/Size", "64G", IXVM_ERR_OUT_OF_RANGE, "Memory/Size: 64G is out of range (1M..65024M)", 0 },
    { "Memory/Size", "99999999999G", IXVM_ERR_OUT_OF_RANGE, "is out of range", 0 },
    { "Log/BufferSize", "300", 0, NULL, 300 },
    { "Log/BufferSize", "255", IXVM_ERR_OUT_OF_RANGE, "Log/BufferSize: 255 is out of range (256..16M)", 0 },
    /* Unknown keys, with and without a suggestion. */
    { "Foo/Bar", "1", IXVM_ERR_UNKNOWN_KEY, "unknown configuration key 'Foo/Bar'", 0 },
    { "Memory/Sise", "1M", IXVM_ERR_UNKNOWN_KEY,
      "unknown configuration key 'Memory/Sise'; did you mean 'Memory/Size'?", 0 },
    { "memory/size", "1M", IXVM_ERR_UNKNOWN_KEY, "did you mean 'Memory/Size'?", 0 },
    { "CPU/Cont", "1", IXVM_ERR_UNKNOWN_KEY, "did you mean 'CPU/Count'?", 0 },
    { "CPU/Cores", "1", IXVM_ERR_UNKNOWN_KEY, "unknown configuration key 'CPU/Cores'", 0 },
    { "", "1", IXVM_ERR_UNKNOWN_KEY, "unknown configuration key ''", 0 },
};

Test(cfg, set_table)
{
    for (size_t i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
        const struct set_case *c = &set_cases[i];
        struct cfg *cfg = new_cfg();
        struct ixvm_errinfo err = { 0 };
        int rc = cfg_set(cfg, c->key, c->value, &err);
        cr_expect_eq(rc, c->rc, "row %zu: %s=%s: rc %d, want %d (%s)", i, c->key, c->value, rc,
                     c->rc, err.msg);
        if (c->rc < 0) {
            cr_expect_eq(err.rc, c->rc, "row %zu: errinfo rc", i);
            cr_expect_not_null(strstr(err.msg, c->msg), "row %zu: message '%s' lacks '%s'", i,
                               err.msg, c->msg);
            cr_expect_not(cfg_is_set(cfg, c->key), "row %zu: failed set marked the key", i);
        } else if (rc == 0) {
            int64_t v = -12345;
            bool b;
            if (cfg_get_int(cfg, c->key, &v) == IXVM_ERR_WRONG_TYPE) {
                cr_assert_eq(cfg_get_bool(cfg, c->key, &b), 0);
                v = b;
            }
            cr_expect_eq(v, c->want, "row %zu: %s=%s read back %lld, want %lld", i, c->key,
                         c->value, (long long)v, (long long)c->want);
            cr_expect(cfg_is_set(cfg, c->key), "row %zu: key not marked set", i);
        }
        cfg_destroy(cfg);
    }
}

Test(cfg, failed_set_keeps_old_value)
{
    struct cfg *cfg = new_cfg();
    cr_assert_eq(cfg_set(cfg, "CPU/Count", "4", NULL), 0);
    cr_assert_eq(cfg_set(cfg, "CPU/Count", "65", NULL), IXVM_ERR_OUT_OF_RANGE);
    cr_assert_eq(cfg_set(cfg, "CPU/Count", "x", NULL), IXVM_ERR_WRONG_TYPE);
    int64_t v;
    cr_assert_eq(cfg_get_int(cfg, "CPU/Count", &v), 0);
    cr_assert_eq(v, 4);
    cfg_destroy(cfg);
}

Test(cfg, defaults)
{
    struct cfg *cfg = new_cfg();
    int64_t v;
    bool b;
    const char *s;
    cr_assert_eq(cfg_get_int(cfg, "CPU/Count", &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(cfg_get_int(cfg, "Memory/Size", &v), 0);
    cr_assert_eq(v, 128 << 20);
    cr_assert_eq(cfg_get_int(cfg, "Log/BufferSize", &v), 0);
    cr_assert_eq(v, 64 << 10);
    cr_assert_eq(cfg_get_bool(cfg, "VMM/UsePeriodicPreemptionTimers", &b), 0);
    cr_assert(b);
    cr_assert_eq(cfg_get_str(cfg, "VMM/Name", &s), 0);
    cr_assert_str_eq(s, "ixvm");
    cr_assert_eq(cfg_get_str(cfg, "Log/Spec", &s), 0);
    cr_assert_str_eq(s, "");
    cr_assert_not(cfg_is_set(cfg, "CPU/Count"));
    cr_assert_not(cfg_is_set(cfg, "No/Such"));
    cr_assert_not(cfg_is_set(cfg, NULL));
    cfg_destroy(cfg);
}

Test(cfg, getter_misuse)
{
    struct cfg *cfg = new_cfg();
    int64_t v = 77;
    bool b = true;
    const char *s = "x";
    cr_assert_eq(cfg_get_int(cfg, "VMM/Name", &v), IXVM_ERR_WRONG_TYPE);
    cr_assert_eq(cfg_get_int(cfg, "VMM/UsePeriodicPreemptionTimers", &v), IXVM_ERR_WRONG_TYPE);
    cr_assert_eq(v, 77);
    cr_assert_eq(cfg_get_bool(cfg, "CPU/Count", &b), IXVM_ERR_WRONG_TYPE);
    cr_assert_eq(cfg_get_str(cfg, "Memory/Size", &s), IXVM_ERR_WRONG_TYPE);
    cr_assert_eq(cfg_get_int(cfg, "Cpu/Count", &v), IXVM_ERR_UNKNOWN_KEY);
    cr_assert_eq(cfg_get_bool(cfg, NULL, &b), IXVM_ERR_UNKNOWN_KEY);
    cr_assert_eq(cfg_get_str(cfg, "nope", &s), IXVM_ERR_UNKNOWN_KEY);
    cr_assert_str_eq(s, "x");
    cfg_destroy(cfg);
}

Test(cfg, strings_kept_verbatim)
{
    struct cfg *cfg = new_cfg();
    const char *s;
    cr_assert_eq(cfg_set(cfg, "VMM/Name", "  my vm = 1 ", NULL), 0);
    cr_assert_eq(cfg_get_str(cfg, "VMM/Name", &s), 0);
    cr_assert_str_eq(s, "  my vm = 1 ");
    cr_assert_eq(cfg_set(cfg, "VMM/Name", "", NULL), 0);
    cr_assert_eq(cfg_get_str(cfg, "VMM/Name", &s), 0);
    cr_assert_str_eq(s, "");
    cr_assert(cfg_is_set(cfg, "VMM/Name"));
    cfg_destroy(cfg);
}

Test(cfg, null_arguments)
{
    struct cfg *cfg = new_cfg();
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(cfg_set(cfg, NULL, "1", &err), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(cfg_set(cfg, "CPU/Count", NULL, &err), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(cfg_set_assignment(cfg, NULL, &err), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(cfg_load_ini(cfg, NULL, &err), IXVM_ERR_INVALID_PARAMETER);
    cfg_destroy(cfg);
    cfg_destroy(NULL);
}

Test(cfg, assignment)
{
    struct cfg *cfg = new_cfg();
    struct ixvm_errinfo err = { 0 };
    int64_t v;
    const char *s;
    cr_assert_eq(cfg_set_assignment(cfg, "CPU/Count=8", &err), 0);
    cr_assert_eq(cfg_get_int(cfg, "CPU/Count", &v), 0);
    cr_assert_eq(v, 8);
    cr_assert_eq(cfg_set_assignment(cfg, " Memory/Size = 1G ", &err), 0);
    cr_assert_eq(cfg_get_int(cfg, "Memory/Size", &v), 0);
    cr_assert_eq(v, 1 << 30);
    cr_assert_eq(cfg_set_assignment(cfg, "VMM/Name=a=b", &err), 0);
    cr_assert_eq(cfg_get_str(cfg, "VMM/Name", &s), 0);
    cr_assert_str_eq(s, "a=b");
    cr_assert_eq(cfg_set_assignment(cfg, "CPU/Count", &err), IXVM_ERR_SYNTAX);
    cr_assert_str_eq(err.msg, "'CPU/Count': expected KEY=VALUE");
    cr_assert_eq(cfg_set_assignment(cfg, "CPU/Count=abc", &err), IXVM_ERR_WRONG_TYPE);
    cr_assert_str_eq(err.msg, "CPU/Count: 'abc' is not an integer");
    cr_assert_eq(cfg_set_assignment(cfg, "Memory/Sise=1M", &err), IXVM_ERR_UNKNOWN_KEY);
    cr_assert_str_eq(err.msg, "unknown configuration key 'Memory/Sise'; did you mean 'Memory/Size'?");
    cfg_destroy(cfg);
}

Test(cfg, long_inputs_do_not_overflow)
{
    struct cfg *cfg = new_cfg();
    struct ixvm_errinfo err = { 0 };
    size_t n = 5000;
    char *big = malloc(n + 16);
    cr_assert_not_null(big);
    memset(big, 'A', n);
    big[n] = '\0';
    cr_assert_eq(cfg_set(cfg, big, "1", &err), IXVM_ERR_UNKNOWN_KEY);
    cr_assert_lt(strlen(err.msg), sizeof(err.msg));
    cr_assert_eq(cfg_set(cfg, "CPU/Count", big, &err), IXVM_ERR_WRONG_TYPE);
    cr_assert_eq(cfg_set(cfg, "VMM/Name", big, &err), 0);
    memcpy(big + n, "=1", 3);
    cr_assert_eq(cfg_set_assignment(cfg, big, &err), IXVM_ERR_UNKNOWN_KEY);
    free(big);
    cfg_destroy(cfg);
}

Test(cfg, clone_is_deep)
{
    struct cfg *cfg = new_cfg();
    cr_assert_eq(cfg_set(cfg, "VMM/Name", "first", NULL), 0);
    cr_assert_eq(cfg_set(cfg, "CPU/Count", "3", NULL), 0);
    struct cfg *copy = NULL;
    cr_assert_eq(cfg_clone(cfg, &copy), 0);
    cr_assert_eq(cfg_set(cfg, "VMM/Name", "second", NULL), 0);
    const char *s;
    int64_t v;
    cr_assert_eq(cfg_get_str(copy, "VMM/Name", &s), 0);
    cr_assert_str_eq(s, "first");
    cr_assert_eq(cfg_get_int(copy, "CPU/Count", &v), 0);
    cr_assert_eq(v, 3);
    cr_assert(cfg_is_set(copy, "CPU/Count"));
    cr_assert_not(cfg_is_set(copy, "Memory/Size"));
    cr_assert_eq(cfg_state_digest(copy), cfg_state_digest(cfg));
    cfg_destroy(cfg);
    cfg_destroy(copy);
}

/* FNV-1a 64 computed here independently over the documented byte stream. */
static uint64_t ref_fnv(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

Test(cfg, state_digest)
{
    struct cfg *a = new_cfg();
    struct cfg *b = new_cfg();
    /* Default state keys in table order: CPU/Count, Memory/Size (in bytes). */
    cr_assert_eq(cfg_state_digest(a), ref_fnv("CPU/Count=1\nMemory/Size=134217728\n"));
    /* Same value spelt differently: same digest. */
    cr_assert_eq(cfg_set(b, "Memory/Size", "134217728", NULL), 0);
    cr_assert_eq(cfg_state_digest(a), cfg_state_digest(b));
    /* Non-state keys do not count. */
    cr_assert_eq(cfg_set(b, "VMM/Name", "other", NULL), 0);
    cr_assert_eq(cfg_set(b, "VMM/TimeSliceMs", "20", NULL), 0);
    cr_assert_eq(cfg_state_digest(a), cfg_state_digest(b));
    /* State keys do. */
    cr_assert_eq(cfg_set(b, "CPU/Count", "2", NULL), 0);
    cr_assert_neq(cfg_state_digest(a), cfg_state_digest(b));
    cr_assert_eq(cfg_state_digest(b), ref_fnv("CPU/Count=2\nMemory/Size=134217728\n"));
    cfg_destroy(a);
    cfg_destroy(b);
}

static size_t key_count(void)
{
    return 0
#define CFG_KEY(...) + 1
#include "ixvm/cfg_keys.def"
#undef CFG_KEY
        ;
}

Test(cfg, print)
{
    struct cfg *cfg = new_cfg();
    cr_assert_eq(cfg_set(cfg, "CPU/Count", "2", NULL), 0);
    cr_assert_eq(cfg_set(cfg, "Memory/Size", "0x10000000", NULL), 0);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    cfg_print(cfg, &pr);
    cr_assert_not_null(cap.buf);
    /* One line per key. */
    size_t lines = 0;
    for (const char *p = cap.buf; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, key_count());
    cr_assert_not_null(strstr(cap.buf, "CPU/Count"));
    cr_assert_not_null(strstr(cap.buf, "= 2 "));
    cr_assert_not_null(strstr(cap.buf, "(default 1)"));
    cr_assert_not_null(strstr(cap.buf, "= 256M "));
    cr_assert_not_null(strstr(cap.buf, "(default 128M)"));
    cr_assert_not_null(strstr(cap.buf, "= \"ixvm\""));
    cr_assert_not_null(strstr(cap.buf, "= true "));
    cr_assert_not_null(strstr(cap.buf, "(default) "));
    cr_assert_not_null(strstr(cap.buf, "Number of vCPUs\n"));
    /* Aligned: every " = " and every "(default" sit in the same column. */
    long col_eq = -1, col_note = -1;
    for (char *line = cap.buf; *line;) {
        char *eq = strstr(line, " = ");
        char *note = strstr(line, "(default");
        cr_assert(eq && note);
        if (col_eq < 0) {
            col_eq = eq - line;
            col_note = note - line;
        }
        cr_assert_eq(eq - line, col_eq, "misaligned line: %.60s", line);
        cr_assert_eq(note - line, col_note, "misaligned line: %.60s", line);
        line = strchr(line, '\n') + 1;
    }
    free(cap.buf);
    cfg_destroy(cfg);
}
