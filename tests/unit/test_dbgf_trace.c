/* SPDX-License-Identifier: MIT */
/*
 * DBGF trace: records from CPU state (mode detection), filters and their
 * parser, the trace-line format with changed registers, and the flight
 * recorder ring (order, wrap-around, dump text).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dbgf_target.h"

struct capture {
    char buf[16384];
    size_t len;
};

static void capture_print(void *user, const char *text)
{
    struct capture *c = user;
    size_t n = strlen(text);
    cr_assert_lt(c->len + n, sizeof(c->buf));
    memcpy(c->buf + c->len, text, n + 1);
    c->len += n;
}

static struct cpum_state prot32_state(void)
{
    struct cpum_state s;
    memset(&s, 0, sizeof(s));
    s.cr0 = CPUM_CR0_PE;
    s.seg[CPUM_CS] = (struct cpum_seg){ 0x08, 0, 0xffffffff, CPUM_SEG_ATTR_D | CPUM_SEG_ATTR_P | 0x1b };
    s.eip = 0x1000;
    s.eflags = 0x2;
    return s;
}

Test(dbgf_trace, mode_from_state)
{
    struct cpum_state s = prot32_state();
    struct dbgf_trace_rec r;
    dbgf_trace_rec_from_state(&r, &s);
    cr_expect_eq(r.mode, CPUM_MODE_PROT32);
    cr_expect_eq(dbgf_trace_rec_bits(&r), 32u);
    s.seg[CPUM_CS].attr &= ~CPUM_SEG_ATTR_D;
    dbgf_trace_rec_from_state(&r, &s);
    cr_expect_eq(r.mode, CPUM_MODE_PROT16);
    s.eflags |= CPUM_EFL_VM;
    dbgf_trace_rec_from_state(&r, &s);
    cr_expect_eq(r.mode, CPUM_MODE_V86);
    s.cr0 = 0;
    dbgf_trace_rec_from_state(&r, &s);
    cr_expect_eq(r.mode, CPUM_MODE_REAL);
    cr_expect_str_eq(dbgf_trace_mode_name(r.mode), "real");
    cr_expect_eq(dbgf_trace_rec_bits(&r), 16u);
}

Test(dbgf_trace, format_with_changed_registers)
{
    struct dbgf_disas *d;
    cr_assert_eq(dbgf_disas_create(NULL, &d), 0);
    struct cpum_state s = prot32_state();
    struct dbgf_trace_rec a, b;
    dbgf_trace_rec_from_state(&a, &s);
    memcpy(a.bytes, "\xb8\x05\x00\x00\x00", 5);
    a.len = 5;
    s.eip = 0x1005;
    s.gpr[CPUM_EAX] = 5;
    s.eflags = 0x46;
    dbgf_trace_rec_from_state(&b, &s);
    memcpy(b.bytes, "\x89\xc3", 2);
    b.len = 2;
    char line[512];
    int n = dbgf_trace_format(d, 0, &a, NULL, line, sizeof(line));
    cr_expect_str_eq(line, "cpu0 p32 0008:00001000 00001000: b8 05 00 00 00        mov eax, 5");
    cr_expect_eq(n, (int)strlen(line));
    dbgf_trace_format(d, 1, &b, &a, line, sizeof(line));
    cr_expect_str_eq(line, "cpu1 p32 0008:00001005 00001005: 89 c3                 mov ebx, eax ; eax=00000005 efl=00000046");
    /* Nothing changed: no register part. */
    dbgf_trace_format(d, 1, &b, &b, line, sizeof(line));
    cr_expect_null(strchr(line, ';'));
    /* Too small a buffer is an error, not an overflow. */
    char tiny[16];
    cr_expect_eq(dbgf_trace_format(d, 1, &b, &a, tiny, sizeof(tiny)), IXVM_ERR_BUFFER_OVERFLOW);
    dbgf_disas_destroy(d);
}

Test(dbgf_trace, real_mode_linear_address)
{
    struct dbgf_disas *d;
    cr_assert_eq(dbgf_disas_create(NULL, &d), 0);
    struct dbgf_trace_rec r;
    memset(&r, 0, sizeof(r));
    r.cs = 0xf000;
    r.cs_base = 0xf0000;
    r.eip = 0xfff0;
    r.mode = CPUM_MODE_REAL;
    memcpy(r.bytes, "\xea\x5b\xe0\x00\xf0", 5);
    r.len = 5;
    char line[256];
    dbgf_trace_format(d, 0, &r, NULL, line, sizeof(line));
    cr_expect_str_eq(line, "cpu0 real f000:0000fff0 000ffff0: ea 5b e0 00 f0        ljmp 0xf000:0xe05b");
    dbgf_disas_destroy(d);
}

Test(dbgf_trace, filters)
{
    struct dbgf_trace_filter f;
    struct ixvm_errinfo err = { 0 };
    dbgf_trace_filter_init(&f);
    struct cpum_state s = prot32_state();
    struct dbgf_trace_rec r;
    dbgf_trace_rec_from_state(&r, &s);
    cr_expect(dbgf_trace_filter_match(&f, 5, &r));
    cr_assert_eq(dbgf_trace_filter_parse(&f, "range=0x1000-0x1fff cpu=0,2", &err), 0);
    cr_expect(dbgf_trace_filter_match(&f, 0, &r));
    cr_expect_not(dbgf_trace_filter_match(&f, 1, &r));
    cr_expect(dbgf_trace_filter_match(&f, 2, &r));
    r.eip = 0x2000;
    cr_expect_not(dbgf_trace_filter_match(&f, 0, &r));
    r.eip = 0x1fff;
    cr_assert_eq(dbgf_trace_filter_parse(&f, "cpl=3", &err), 0);
    cr_expect_not(dbgf_trace_filter_match(&f, 0, &r));
    r.cpl = 3;
    cr_expect(dbgf_trace_filter_match(&f, 0, &r));
    cr_assert_eq(dbgf_trace_filter_parse(&f, "mode=p16", &err), 0);
    cr_expect_not(dbgf_trace_filter_match(&f, 0, &r));
    cr_assert_eq(dbgf_trace_filter_parse(&f, "all mode=p32", &err), 0);
    cr_expect(dbgf_trace_filter_match(&f, 7, &r));
    /* Errors name the item and leave the filter unchanged. */
    struct dbgf_trace_filter before = f;
    const char *bad[] = { "range=5-1", "cpl=4", "mode=long", "cpu=64", "bogus", "cpu=", "range=1",
                          "cpl=-1", "cpl=0x1ffffffffff" };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(bad); i++) {
        cr_expect_eq(dbgf_trace_filter_parse(&f, bad[i], &err), IXVM_ERR_SYNTAX, "%s", bad[i]);
        cr_expect_not_null(strstr(err.msg, bad[i]), "%s: %s", bad[i], err.msg);
        cr_expect_eq(memcmp(&f, &before, sizeof(f)), 0);
    }
}

Test(dbgf_trace, flight_recorder_ring)
{
    struct dbgf_flight *f;
    cr_assert_eq(dbgf_flight_create(2, 3, &f), 0);   /* rounded up to 4 */
    struct dbgf_trace_rec r;
    memset(&r, 0, sizeof(r));
    r.mode = CPUM_MODE_PROT32;
    r.bytes[0] = 0x40;   /* inc eax */
    r.len = 1;
    cr_expect_eq(dbgf_flight_count(f, 0), 0u);
    cr_expect_null(dbgf_flight_get(f, 0, 0));
    for (uint32_t i = 0; i < 10; i++) {
        r.eip = 0x100 + i;
        r.gpr[CPUM_EAX] = i;
        dbgf_flight_record(f, 0, &r);
    }
    dbgf_flight_record(f, 9, &r);   /* bad vCPU: ignored */
    cr_expect_eq(dbgf_flight_count(f, 0), 4u);
    cr_expect_eq(dbgf_flight_count(f, 1), 0u);
    for (uint32_t i = 0; i < 4; i++)
        cr_expect_eq(dbgf_flight_get(f, 0, i)->eip, 0x106 + i);
    cr_expect_null(dbgf_flight_get(f, 0, 4));

    struct dbgf_disas *d;
    cr_assert_eq(dbgf_disas_create(NULL, &d), 0);
    struct capture *c = calloc(1, sizeof(*c));
    struct ixvm_printer pr = { capture_print, c };
    dbgf_flight_dump(f, 0, d, &pr);
    cr_expect_str_eq(c->buf,
        "flight recorder cpu0: last 4 instructions, oldest first\n"
        "cpu0 p32 0000:00000106 00000106: 40                    inc eax\n"
        "cpu0 p32 0000:00000107 00000107: 40                    inc eax ; eax=00000007\n"
        "cpu0 p32 0000:00000108 00000108: 40                    inc eax ; eax=00000008\n"
        "cpu0 p32 0000:00000109 00000109: 40                    inc eax ; eax=00000009\n");
    free(c);
    dbgf_disas_destroy(d);
    dbgf_flight_destroy(f);
    cr_expect_eq(dbgf_flight_create(0, 4, &f), IXVM_ERR_INVALID_PARAMETER);
}

Test(dbgf_trace, names)
{
    cr_expect_str_eq(dbgf_stop_reason_name(DBGF_STOP_TRIPLE_FAULT), "triple-fault");
    cr_expect_str_eq(dbgf_stop_reason_name((enum dbgf_stop_reason)99), "?");
    cr_expect_str_eq(dbgf_bp_type_name(DBGF_BP_ACCESS), "awatch");
}
