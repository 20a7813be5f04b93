/* SPDX-License-Identifier: MIT */
/*
 * The 0F 18-0F 1F reserved-NOP hint space (SDM Vol. 2B "NOP"): every form
 * executes as a NOP, never touches its memory operand (so an operand in
 * unmapped or faulting memory raises nothing), and ENDBR32 (F3 0F 1E FB),
 * emitted by current compilers, runs harmlessly.  LOCK on them is #UD.
 */
#include <criterion/criterion.h>

#include "ixvm/iem.h"

static struct iem_test *t;
static struct cpum_state *s;

static void setup(void)
{
    cr_assert_eq(iem_test_create(&t, 4), 0);
    s = iem_test_state(t);
}
static void teardown(void) { iem_test_destroy(t); }

TestSuite(iem_hintnop, .init = setup, .fini = teardown);

static int run32(const uint8_t *code, size_t len)
{
    cr_assert_eq(iem_test_write(t, 0x10000, code, len), 0);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    return iem_test_run(t, 1000);
}

Test(iem_hintnop, every_hint_opcode_is_a_nop)
{
    static const uint8_t code[] = {
        0xb8, 0x00, 0x00, 0x00, 0xf0,       /* mov eax, 0xf0000000 (beyond the 4 MiB of RAM) */
        0xf3, 0x0f, 0x1e, 0xfb,             /* endbr32 */
        0x0f, 0x18, 0x00,                   /* prefetchnta [eax] / hint nop */
        0x0f, 0x19, 0x08,                   /* hint nop [eax] */
        0x0f, 0x1a, 0xc1,                   /* hint nop ecx */
        0x0f, 0x1b, 0x40, 0x10,             /* hint nop [eax+0x10] */
        0x0f, 0x1c, 0x04, 0x24,             /* hint nop [esp] */
        0x0f, 0x1d, 0x80, 0, 0, 0, 0x80,    /* hint nop [eax+0x80000000] */
        0x0f, 0x1f, 0x44, 0x00, 0x00,       /* nop dword [eax+eax+0] (the multi-byte NOP) */
        0x0f, 0x1f, 0x78, 0x01,             /* 0F 1F /7 */
        0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, /* nop word [eax+eax*1+0] */
        0xf4,                               /* hlt */
    };
    cr_assert_eq(run32(code, sizeof(code)), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, 0x10000 + sizeof(code));
    cr_assert_eq(s->gpr[CPUM_EAX], 0xf0000000u);
    struct iem_xcpt_info x;
    iem_last_xcpt(iem_test_cpu(t), &x);
    cr_assert_eq(x.count, 0, "exception %u raised", x.vector);
}

Test(iem_hintnop, lock_prefix_is_ud)
{
    static const uint8_t code[] = { 0xf0, 0x0f, 0x1f, 0x00, 0xf4 };   /* lock nop [eax] */
    struct iem_xcpt_info x;
    (void)run32(code, sizeof(code));   /* halts in the harness's #UD handler */
    iem_last_xcpt(iem_test_cpu(t), &x);
    cr_assert_eq(x.count, 1);
    cr_assert_eq(x.vector, 6, "LOCK on a hint NOP must raise #UD, got vector %u", x.vector);
}
