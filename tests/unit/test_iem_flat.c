/* SPDX-License-Identifier: MIT */
/* The flat-segment fast path of the segment check (iem_mem.h iem_lin,
 * IEM-DESIGN.md 6): in a flat 4 GiB segment every access that ends at or
 * below 4 GiB passes without the limit check, one that crosses the end
 * faults #GP(0) (#SS(0) through SS) exactly as the full check does, and a
 * segment that is not flat (base != 0, read-only, smaller limit) still gets
 * the full check. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"

static struct iem_test *t;
static struct cpum_state *s;

static void setup(void)
{
    cr_assert_eq(iem_test_create(&t, 4), 0);
    s = iem_test_state(t);
}
static void teardown(void) { iem_test_destroy(t); }

TestSuite(iem_flat, .init = setup, .fini = teardown);

/* mov eax, [ebx] (8b 03) / mov [ebx], eax (89 03) / mov al, [ebx] (8a 03) / mov eax, [esp+ebx] (8b 04 1c); hlt */
static int run(const uint8_t *code, size_t len, uint32_t ebx)
{
    cr_assert_eq(iem_test_write(t, 0x10000, code, len), 0);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->gpr[CPUM_EBX] = ebx;
    return iem_test_run(t, 100);
}

static unsigned last_vector(void)
{
    struct iem_xcpt_info x;
    iem_last_xcpt(iem_test_cpu(t), &x);
    return x.count ? x.vector : 0xffu;
}

Test(iem_flat, crossing_4g_faults)
{
    static const struct { uint8_t code[4]; unsigned len; uint32_t ebx; unsigned vec; } cases[] = {
        { { 0x8b, 0x03, 0xf4 }, 3, 0xfffffffcu, 0xff },   /* dword ending at 4 GiB: ok (reads all ones) */
        { { 0x8b, 0x03, 0xf4 }, 3, 0xfffffffdu, 13 },     /* crosses: #GP(0) */
        { { 0x8b, 0x03, 0xf4 }, 3, 0xffffffffu, 13 },
        { { 0x8a, 0x03, 0xf4 }, 3, 0xffffffffu, 0xff },   /* last byte: ok */
        { { 0x89, 0x03, 0xf4 }, 3, 0xfffffffeu, 13 },     /* store crossing: #GP(0) */
        { { 0x8b, 0x04, 0x1c, 0xf4 }, 4, 0xfffffffeu - 0x80000u, 12 },   /* via SS: #SS(0) */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        uint64_t before;
        struct iem_xcpt_info x0;
        iem_last_xcpt(iem_test_cpu(t), &x0);
        before = x0.count;
        cr_assert_eq(run(cases[k].code, cases[k].len, cases[k].ebx), IXVM_INF_EM_HALT, "case %zu", k);
        struct iem_xcpt_info x;
        iem_last_xcpt(iem_test_cpu(t), &x);
        if (cases[k].vec == 0xff) {
            cr_assert_eq(x.count, before, "case %zu: unexpected exception %u", k, x.vector);
        } else {
            cr_assert_eq(x.count, before + 1, "case %zu: no exception", k);
            cr_assert_eq(last_vector(), cases[k].vec, "case %zu: vector %u", k, last_vector());
            cr_assert_eq(x.error, 0);
        }
    }
}

/* A read-only flat data segment: reads take the fast path, writes fault. */
Test(iem_flat, read_only_segment_still_checks_writes)
{
    static const uint8_t code[] = { 0x8b, 0x03, 0x89, 0x03, 0xf4 };   /* mov eax,[ebx]; mov [ebx],eax; hlt */
    cr_assert_eq(iem_test_write(t, 0x10000, code, sizeof(code)), 0);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->gpr[CPUM_EBX] = 0x20000;
    s->seg[CPUM_DS].attr = (s->seg[CPUM_DS].attr & ~0xfu) | 0x1;   /* data, read-only, accessed */
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(last_vector(), 13);
    uint32_t eip = 0;
    cr_assert_eq(iem_test_read(t, s->gpr[CPUM_ESP] + 4, &eip, 4), 0);
    cr_assert_eq(eip, 0x10002);   /* the store faulted, the load ran */
}

/* A segment with a base is not flat: its limit still applies. */
Test(iem_flat, based_segment_keeps_limit)
{
    static const uint8_t code[] = { 0x8b, 0x03, 0xf4 };
    cr_assert_eq(iem_test_write(t, 0x10000, code, sizeof(code)), 0);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->seg[CPUM_DS].base = 0x1000;
    s->seg[CPUM_DS].limit = 0xfff;
    s->gpr[CPUM_EBX] = 0xffd;   /* dword at 0xffd..0x1000 crosses the limit */
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(last_vector(), 13);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->seg[CPUM_DS].base = 0x1000;
    s->seg[CPUM_DS].limit = 0xfff;
    s->gpr[CPUM_EBX] = 0xffc;
    uint32_t v = 0xa5a5a5a5u;
    cr_assert_eq(iem_test_write(t, 0x1ffc, &v, 4), 0);
    struct iem_xcpt_info x0, x1;
    iem_last_xcpt(iem_test_cpu(t), &x0);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    iem_last_xcpt(iem_test_cpu(t), &x1);
    cr_assert_eq(x1.count, x0.count);
    cr_assert_eq(s->gpr[CPUM_EAX], 0xa5a5a5a5u);
}
