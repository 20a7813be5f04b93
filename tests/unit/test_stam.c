/* SPDX-License-Identifier: MIT */
/*
 * STAM: registration and duplicates, counters and profiles, the pattern
 * table, reset and deregister by pattern, text output, JSON output parsed
 * back with cJSON, stam_get_value and the `info stats` handler.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/stam.h"
#include "test_printer.h"

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static struct stam *new_stam(void)
{
    struct stam *st = NULL;
    cr_assert_eq(stam_create(&st), 0);
    cr_assert_not_null(st);
    return st;
}

/* ------------------------------------------------------------------------ */

struct pattern_case {
    const char *pattern;
    const char *path;
    bool match;
};

static const struct pattern_case pattern_cases[] = {
    { NULL, "/IEM/CPU0/Instructions", true },
    { "", "/IEM/CPU0/Instructions", true },
    { "*", "/IEM/CPU0/Instructions", true },
    { "/IEM/CPU0/Instructions", "/IEM/CPU0/Instructions", true },
    { "/IEM/CPU0/Instruction", "/IEM/CPU0/Instructions", false },
    { "/IEM/CPU0/Instructionsx", "/IEM/CPU0/Instructions", false },
    { "/iem/cpu0/instructions", "/IEM/CPU0/Instructions", false },
    { "/IEM/*", "/IEM/CPU0/Instructions", true },          /* '*' crosses '/' */
    { "/IEM/*/Instructions", "/IEM/CPU0/Instructions", true },
    { "/IEM/*/Instructions", "/IEM/CPU0/Sub/Instructions", true },
    { "/IEM/*/Instructions", "/IEM/Instructions", false },
    { "*Instructions", "/IEM/CPU0/Instructions", true },
    { "*CPU1*", "/IEM/CPU0/Instructions", false },
    { "/IEM/CPU?/Instructions", "/IEM/CPU0/Instructions", true },
    { "/IEM/CPU?/Instructions", "/IEM/CPU10/Instructions", false },
    { "/IEM/CPU?" "?/Instructions", "/IEM/CPU10/Instructions", true },
    { "/IEM?CPU0/Instructions", "/IEM/CPU0/Instructions", true },   /* '?' matches '/' */
    { "/PIT/*|/IEM/*", "/IEM/CPU0/Instructions", true },
    { "/IEM/*|/PIT/*", "/PIT/Ticks", true },
    { "/PIT/*|/PIC/*", "/IEM/CPU0/Instructions", false },
    { "/A|/B|/IEM/CPU0/Instructions", "/IEM/CPU0/Instructions", true },
    { "/A||/B", "/B", true },
    { "/A||/B", "/C", false },
    { "**", "/x", true },
    { "/x*", "/x", true },
    { "/x*y*z", "/xaaybbz", true },
    { "/x*y*z", "/xaaybbzq", false },
    { "*a*a*a*a*b", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
    { "/IEM/CPU0/Instructions", NULL, false },
};

Test(stam, pattern_table)
{
    for (size_t i = 0; i < sizeof(pattern_cases) / sizeof(pattern_cases[0]); i++) {
        const struct pattern_case *c = &pattern_cases[i];
        cr_expect_eq(stam_pattern_match(c->pattern, c->path), c->match, "row %zu: '%s' vs '%s'", i,
                     c->pattern ? c->pattern : "(null)", c->path ? c->path : "(null)");
    }
}

/* ------------------------------------------------------------------------ */

Test(stam, register_and_duplicates)
{
    struct stam *st = new_stam();
    struct stam_counter c0 = { 0 }, c1 = { 0 };
    cr_assert_eq(stam_register(st, &c0, STAM_TYPE_COUNTER, STAM_UNIT_INSTR, "Instructions executed",
                               "/IEM/CPU%d/Instructions", 0), 0);
    cr_assert_eq(stam_register(st, &c1, STAM_TYPE_COUNTER, STAM_UNIT_INSTR, "Instructions executed",
                               "/IEM/CPU%d/Instructions", 1), 0);
    cr_assert_eq(stam_register(st, &c1, STAM_TYPE_COUNTER, STAM_UNIT_INSTR, "again",
                               "/IEM/CPU%d/Instructions", 1), IXVM_ERR_ALREADY_EXISTS);
    /* Bad input is refused, not crashed on. */
    static const char *const bad_paths[] = {
        "", "/", "IEM/x", "/IEM//x", "/IEM/", "/a b", "/a*", "/a?", "/a|b", "/tab\there",
    };
    for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
        cr_expect_eq(stam_register(st, &c0, STAM_TYPE_COUNTER, STAM_UNIT_COUNT, "x", "%s",
                                   bad_paths[i]), IXVM_ERR_INVALID_PARAMETER, "path '%s'",
                     bad_paths[i]);
    char longpath[400];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    cr_assert_eq(stam_register(st, &c0, STAM_TYPE_COUNTER, STAM_UNIT_COUNT, "x", "%s", longpath),
                 IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(stam_register(st, NULL, STAM_TYPE_COUNTER, STAM_UNIT_COUNT, "x", "/n"),
                 IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(stam_register(st, &c0, STAM_TYPE_CALLBACK, STAM_UNIT_COUNT, "x", "/cb"),
                 IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(stam_register(st, &c0, (enum stam_type)99, STAM_UNIT_COUNT, "x", "/t"),
                 IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(stam_register(st, &c0, STAM_TYPE_COUNTER, (enum stam_unit)99, "x", "/u"),
                 IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(stam_register_callback(st, NULL, NULL, STAM_UNIT_COUNT, "x", "/cb"),
                 IXVM_ERR_INVALID_PARAMETER);
    /* NULL description is allowed. */
    cr_assert_eq(stam_register(st, &c0, STAM_TYPE_COUNTER, STAM_UNIT_COUNT, NULL, "/nodesc"), 0);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    cr_assert_eq(stam_print(st, NULL, &pr), 3);
    free(cap.buf);
    stam_destroy(st);
    stam_destroy(NULL);
}

Test(stam, counters_and_values)
{
    struct stam *st = new_stam();
    struct stam_counter c = { 0 };
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    cr_assert_eq(stam_register(st, &c, STAM_TYPE_COUNTER, STAM_UNIT_COUNT, "c", "/c"), 0);
    cr_assert_eq(stam_register(st, &u32, STAM_TYPE_U32, STAM_UNIT_BYTES, "u32", "/u32"), 0);
    cr_assert_eq(stam_register(st, &u64, STAM_TYPE_U64, STAM_UNIT_NS, "u64", "/u64"), 0);
    for (int i = 0; i < 1000; i++)
        stam_counter_inc(&c);
    stam_counter_add(&c, 234);
    u32 = 0xfffffffeu;
    u64 = 0x123456789abcdef0ull;
    uint64_t v;
    cr_assert_eq(stam_get_value(st, "/c", &v), 0);
    cr_assert_eq(v, 1234);
    cr_assert_eq(stam_get_value(st, "/u32", &v), 0);
    cr_assert_eq(v, 0xfffffffeu);
    cr_assert_eq(stam_get_value(st, "/u64", &v), 0);
    cr_assert_eq(v, 0x123456789abcdef0ull);
    cr_assert_eq(stam_get_value(st, "/nope", &v), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(stam_get_value(st, "/C", &v), IXVM_ERR_NOT_FOUND);
    stam_destroy(st);
}

Test(stam, profile_add)
{
    struct stam_profile p = { 0 };
    stam_profile_add(&p, 50);
    cr_assert_eq(p.count, 1);
    cr_assert_eq(p.min, 50);
    cr_assert_eq(p.max, 50);
    stam_profile_add(&p, 10);
    stam_profile_add(&p, 90);
    stam_profile_add(&p, 30);
    cr_assert_eq(p.count, 4);
    cr_assert_eq(p.total, 180);
    cr_assert_eq(p.min, 10);
    cr_assert_eq(p.max, 90);
    stam_profile_add(&p, 0);
    cr_assert_eq(p.min, 0);
    cr_assert_eq(p.count, 5);
}

static uint64_t cb_value(void *user)
{
    return *(uint64_t *)user * 2;
}

Test(stam, callback_and_profile_get_value)
{
    struct stam *st = new_stam();
    uint64_t base = 21;
    struct stam_profile p = { 0 };
    cr_assert_eq(stam_register_callback(st, cb_value, &base, STAM_UNIT_COUNT, "doubled", "/cb/%s",
                                        "x"), 0);
    cr_assert_eq(stam_register(st, &p, STAM_TYPE_PROFILE, STAM_UNIT_NS, "prof", "/prof"), 0);
    uint64_t v;
    cr_assert_eq(stam_get_value(st, "/cb/x", &v), 0);
    cr_assert_eq(v, 42);
    base = 50;
    cr_assert_eq(stam_get_value(st, "/cb/x", &v), 0);
    cr_assert_eq(v, 100);
    cr_assert_eq(stam_get_value(st, "/prof", &v), IXVM_ERR_WRONG_TYPE);
    stam_destroy(st);
}

/* A small tree used by several tests. */
struct tree {
    struct stam *st;
    struct stam_counter instr[2];
    struct stam_counter pit_ticks;
    struct stam_profile halt;
    uint64_t value;
};

static void tree_init(struct tree *t)
{
    memset(t, 0, sizeof(*t));
    t->st = new_stam();
    for (int i = 0; i < 2; i++)
        cr_assert_eq(stam_register(t->st, &t->instr[i], STAM_TYPE_COUNTER, STAM_UNIT_INSTR,
                                   "Instructions executed", "/IEM/CPU%d/Instructions", i), 0);
    cr_assert_eq(stam_register(t->st, &t->pit_ticks, STAM_TYPE_COUNTER, STAM_UNIT_OCCURRENCES,
                               "PIT ticks", "/Devices/PIT/Ticks"), 0);
    cr_assert_eq(stam_register(t->st, &t->halt, STAM_TYPE_PROFILE, STAM_UNIT_NS, "Time halted",
                               "/PROF/CPU0/Halt"), 0);
    cr_assert_eq(stam_register(t->st, &t->value, STAM_TYPE_U64, STAM_UNIT_BYTES, "A value",
                               "/Devices/PIT/Value"), 0);
    stam_counter_add(&t->instr[0], 1000);
    stam_counter_add(&t->instr[1], 2000);
    stam_counter_add(&t->pit_ticks, 30);
    stam_profile_add(&t->halt, 100);
    stam_profile_add(&t->halt, 300);
    t->value = 77;
}

Test(stam, reset_by_pattern)
{
    struct tree t;
    tree_init(&t);
    cr_assert_eq(stam_reset(t.st, "/IEM/CPU1/*"), 1);
    cr_assert_eq(t.instr[0].c, 1000);
    cr_assert_eq(t.instr[1].c, 0);
    cr_assert_eq(t.pit_ticks.c, 30);
    /* U64 values are not touched; the counter beside it is. */
    cr_assert_eq(stam_reset(t.st, "/Devices/*"), 1);
    cr_assert_eq(t.pit_ticks.c, 0);
    cr_assert_eq(t.value, 77);
    cr_assert_eq(stam_reset(t.st, "/PROF/*|/IEM/CPU0/*"), 2);
    cr_assert_eq(t.halt.count, 0);
    cr_assert_eq(t.halt.total, 0);
    cr_assert_eq(t.halt.min, 0);
    cr_assert_eq(t.halt.max, 0);
    cr_assert_eq(t.instr[0].c, 0);
    /* After a reset a profile starts over, min included. */
    stam_profile_add(&t.halt, 500);
    cr_assert_eq(t.halt.min, 500);
    cr_assert_eq(stam_reset(t.st, "/none/*"), 0);
    stam_destroy(t.st);
}

Test(stam, deregister_by_pattern)
{
    struct tree t;
    tree_init(&t);
    cr_assert_eq(stam_deregister(t.st, "/Devices/PIT/*"), 2);
    uint64_t v;
    cr_assert_eq(stam_get_value(t.st, "/Devices/PIT/Ticks", &v), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(stam_get_value(t.st, "/IEM/CPU1/Instructions", &v), 0);
    cr_assert_eq(v, 2000);
    /* The path can be registered again afterwards. */
    cr_assert_eq(stam_register(t.st, &t.pit_ticks, STAM_TYPE_COUNTER, STAM_UNIT_COUNT, "again",
                               "/Devices/PIT/Ticks"), 0);
    cr_assert_eq(stam_deregister(t.st, "/nothing"), 0);
    cr_assert_eq(stam_deregister(t.st, NULL), 4);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    cr_assert_eq(stam_print(t.st, NULL, &pr), 0);
    cr_assert_null(cap.buf);
    stam_destroy(t.st);
}

Test(stam, text_output)
{
    struct tree t;
    tree_init(&t);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    cr_assert_eq(stam_print(t.st, NULL, &pr), 5);
    cr_assert_eq(count_lines(cap.buf), 5);
    /* Sorted by path. */
    const char *order[] = { "/Devices/PIT/Ticks", "/Devices/PIT/Value", "/IEM/CPU0/Instructions",
                            "/IEM/CPU1/Instructions", "/PROF/CPU0/Halt" };
    const char *line = cap.buf;
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(strncmp(line, order[i], strlen(order[i])), 0, "line %zu: %.40s", i, line);
        line = strchr(line, '\n') + 1;
    }
    /* Values, units, descriptions. */
    cr_assert_not_null(strstr(cap.buf, " 1000 instr"));
    cr_assert_not_null(strstr(cap.buf, " 2000 instr"));
    cr_assert_not_null(strstr(cap.buf, " 30 occurrences  PIT ticks\n"));
    cr_assert_not_null(strstr(cap.buf, " 77 bytes"));
    cr_assert_not_null(strstr(cap.buf, "Instructions executed\n"));
    /* The profile: count, avg, min, max, total in its unit. */
    cr_assert_not_null(strstr(cap.buf, " 2 calls"), "%s", cap.buf);
    cr_assert_not_null(strstr(cap.buf, "Time halted (avg 200 ns, min 100 ns, max 300 ns, total 400 ns)"),
                       "%s", cap.buf);
    /* Columns: the value column ends at the same place on every line. */
    long col = -1;
    for (line = cap.buf; *line; line = strchr(line, '\n') + 1) {
        const char *sp = strchr(line, ' ');
        while (*sp == ' ')
            sp++;
        const char *end = sp + strspn(sp, "0123456789");
        if (col < 0)
            col = end - line;
        cr_assert_eq(end - line, col, "misaligned: %.60s", line);
    }
    free(cap.buf);

    /* With a pattern only the matching lines come out. */
    struct capture cap2 = { 0 };
    struct ixvm_printer pr2 = { capture_print, &cap2 };
    cr_assert_eq(stam_print(t.st, "/IEM/*", &pr2), 2);
    cr_assert_eq(count_lines(cap2.buf), 2);
    cr_assert_null(strstr(cap2.buf, "PIT"));
    free(cap2.buf);
    stam_destroy(t.st);
}

/* Dump to a memory stream and parse back. */
static cJSON *dump_parse(struct stam *st, const char *pattern)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(stam_dump_json(st, pattern, f), 0);
    cr_assert_eq(fclose(f), 0);
    cJSON *root = cJSON_Parse(buf);
    cr_assert_not_null(root, "invalid JSON: %s", buf);
    free(buf);
    return root;
}

static uint64_t json_u64(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    cr_assert(cJSON_IsNumber(item), "no number '%s'", name);
    return (uint64_t)item->valuedouble;
}

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    cr_assert(cJSON_IsString(item), "no string '%s'", name);
    return item->valuestring;
}

Test(stam, json_output)
{
    struct tree t;
    tree_init(&t);
    cJSON *root = dump_parse(t.st, NULL);
    cr_assert_eq(cJSON_GetArraySize(root), 5);
    const cJSON *c0 = cJSON_GetObjectItemCaseSensitive(root, "/IEM/CPU0/Instructions");
    cr_assert_not_null(c0);
    cr_assert_str_eq(json_str(c0, "type"), "counter");
    cr_assert_str_eq(json_str(c0, "unit"), "instr");
    cr_assert_str_eq(json_str(c0, "desc"), "Instructions executed");
    cr_assert_eq(json_u64(c0, "value"), 1000);
    const cJSON *c1 = cJSON_GetObjectItemCaseSensitive(root, "/IEM/CPU1/Instructions");
    cr_assert_eq(json_u64(c1, "value"), 2000);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "/Devices/PIT/Value");
    cr_assert_str_eq(json_str(v, "type"), "u64");
    cr_assert_eq(json_u64(v, "value"), 77);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "/PROF/CPU0/Halt");
    cr_assert_str_eq(json_str(p, "type"), "profile");
    cr_assert_str_eq(json_str(p, "unit"), "ns");
    cr_assert_eq(json_u64(p, "count"), 2);
    cr_assert_eq(json_u64(p, "total"), 400);
    cr_assert_eq(json_u64(p, "min"), 100);
    cr_assert_eq(json_u64(p, "max"), 300);
    cr_assert_eq(json_u64(p, "avg"), 200);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(p, "value"));
    cJSON_Delete(root);

    root = dump_parse(t.st, "/Devices/*");
    cr_assert_eq(cJSON_GetArraySize(root), 2);
    cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(root, "/Devices/PIT/Ticks"));
    cJSON_Delete(root);
    root = dump_parse(t.st, "/none");
    cr_assert_eq(cJSON_GetArraySize(root), 0);
    cJSON_Delete(root);
    stam_destroy(t.st);
}

Test(stam, json_exact_large_values)
{
    struct stam *st = new_stam();
    uint64_t big = 18446744073709551557ull;     /* far beyond a double's 53 bits */
    cr_assert_eq(stam_register(st, &big, STAM_TYPE_U64, STAM_UNIT_COUNT, "big \"quoted\"", "/big"), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(stam_dump_json(st, NULL, f), 0);
    cr_assert_eq(fclose(f), 0);
    cr_assert_not_null(strstr(buf, "18446744073709551557"), "%s", buf);
    cJSON *root = cJSON_Parse(buf);
    cr_assert_not_null(root);
    cr_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(root, "/big"), "desc"),
                     "big \"quoted\"");
    cJSON_Delete(root);
    free(buf);
    stam_destroy(st);
}

Test(stam, json_write_error)
{
    struct stam *st = new_stam();
    FILE *f = fopen("/dev/full", "w");
    cr_assert_not_null(f);
    cr_assert_eq(stam_dump_json(st, NULL, f), IXVM_ERR_IO);
    fclose(f);
    stam_destroy(st);
}

Test(stam, info_handler)
{
    struct tree t;
    tree_init(&t);
    struct capture cap = { 0 };
    struct ixvm_printer pr = { capture_print, &cap };
    stam_info_handler(t.st, &pr, "  /IEM/CPU1/*  ");
    cr_assert_eq(count_lines(cap.buf), 1);
    cr_assert_not_null(strstr(cap.buf, "/IEM/CPU1/Instructions"));
    free(cap.buf);
    cap = (struct capture){ 0 };
    stam_info_handler(t.st, &pr, "");
    cr_assert_eq(count_lines(cap.buf), 5);
    free(cap.buf);
    cap = (struct capture){ 0 };
    stam_info_handler(t.st, &pr, NULL);
    cr_assert_eq(count_lines(cap.buf), 5);
    free(cap.buf);
    cap = (struct capture){ 0 };
    stam_info_handler(t.st, &pr, "/Nothing/*");
    cr_assert_str_eq(cap.buf, "no statistics match '/Nothing/*'\n");
    free(cap.buf);
    stam_destroy(t.st);
}
