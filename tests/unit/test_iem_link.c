/* SPDX-License-Identifier: MIT */
/* Block linking (IEM-DESIGN.md 3, docs/iem.md "Dispatch"): linked blocks
 * keep the budget exact, see self-modifying code in a linked successor,
 * drop their links when CR3 changes the linear-to-physical mapping, and
 * report exceptions inside linked blocks precisely. */
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

TestSuite(iem_link, .init = setup, .fini = teardown);

static void put(uint32_t pa, const uint8_t *code, size_t len) { cr_assert_eq(iem_test_write(t, pa, code, len), 0); }

static void put32(uint32_t pa, uint32_t v) { cr_assert_eq(iem_test_write(t, pa, &v, 4), 0); }

/* jmp rel32 at physical pa, linear la (5 bytes), to linear `to`. */
static void put_jmp_la(uint32_t pa, uint32_t la, uint32_t to)
{
    uint8_t j[5] = { 0xe9 };
    uint32_t rel = to - (la + 5);
    memcpy(j + 1, &rel, 4);
    put(pa, j, 5);
}
static void put_jmp(uint32_t at, uint32_t to) { put_jmp_la(at, at, to); }

/* `inc eax; jmp $-3`: two-instruction blocks linked to themselves.  Every
 * budget, even or odd, must be met exactly. */
Test(iem_link, budget_exact_in_linked_loop)
{
    static const uint8_t code[] = { 0x40, 0xeb, 0xfd };
    put(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    static const int64_t budgets[] = { 1, 2, 3, 1001, 65536, 100001 };
    uint64_t total = 0;
    for (size_t k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++) {
        uint64_t i0 = iem_instructions(iem_test_cpu(t));
        cr_assert_eq(iem_exec(iem_test_cpu(t), budgets[k]), 0);
        cr_assert_eq(iem_instructions(iem_test_cpu(t)) - i0, (uint64_t)budgets[k]);
        total += (uint64_t)budgets[k];
        /* EAX counts the INCs: one per two instructions, rounded up. */
        cr_assert_eq(s->gpr[CPUM_EAX], (uint32_t)((total + 1) / 2));
        cr_assert_eq(s->eip, total % 2 ? 0x10001u : 0x10000u);
    }
}

/* Block B (page 0x10000) loads an immediate; block P (page 0x11000)
 * rewrites that immediate and jumps back.  B and P link to each other, so
 * every rewrite must be caught by the code-generation check on the link. */
Test(iem_link, smc_in_linked_successor)
{
    static const uint8_t b[] = {
        0xb8, 0x11, 0x11, 0x11, 0x11,   /* 10000: mov eax, 0x11111111 */
        0x01, 0xc6,                     /* 10005: add esi, eax */
        0x49,                           /* 10007: dec ecx */
        0x74, 0x05,                     /* 10008: jz 1000f */
    };
    static const uint8_t p[] = { 0x88, 0x0d, 0x01, 0x00, 0x01, 0x00 };   /* 11000: mov [0x10001], cl */
    put(0x10000, b, sizeof(b));
    put_jmp(0x1000a, 0x11000);
    put(0x1000f, (const uint8_t[]){ 0xf4 }, 1);
    put(0x11000, p, sizeof(p));
    put_jmp(0x11006, 0x10000);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->gpr[CPUM_ECX] = 50;
    cr_assert_eq(iem_test_run(t, 100000), IXVM_INF_EM_HALT);
    uint32_t want = 0x11111111u;
    for (uint32_t cx = 49; cx >= 1; cx--)
        want += 0x11111100u | cx;
    cr_assert_eq(s->gpr[CPUM_ESI], want, "esi %#x want %#x", s->gpr[CPUM_ESI], want);
    cr_assert_eq(s->eip, 0x10010);
}

/* A (identity-mapped) jumps to linear 0x400000, which the two page
 * directories map to different physical pages (MOV EAX,1 / MOV EAX,2).
 * The code after them switches CR3, so the link A -> successor must be
 * dropped every time. */
Test(iem_link, cr3_switch_drops_links)
{
    const uint32_t pd1 = 0x20000, pt_low = 0x21000, pt1 = 0x22000, pd2 = 0x23000, pt2 = 0x24000;
    for (uint32_t k = 0; k < 1024; k++)
        put32(pt_low + k * 4, (k << 12) | 3);
    put32(pt1, 0x30000 | 3);
    put32(pt2, 0x31000 | 3);
    put32(pd1, pt_low | 3);
    put32(pd1 + 4, pt1 | 3);
    put32(pd2, pt_low | 3);
    put32(pd2 + 4, pt2 | 3);
    put_jmp(0x10000, 0x400000);
    put(0x30000, (const uint8_t[]){ 0xb8, 1, 0, 0, 0 }, 5);
    put_jmp_la(0x30005, 0x400005, 0x10010);
    put(0x31000, (const uint8_t[]){ 0xb8, 2, 0, 0, 0 }, 5);
    put_jmp_la(0x31005, 0x400005, 0x10010);
    static const uint8_t back[] = {
        0x01, 0xc6,                     /* 10010: add esi, eax */
        0x0f, 0x20, 0xd8,               /* mov eax, cr3 */
        0x35, 0x00, 0x30, 0x00, 0x00,   /* xor eax, pd1 ^ pd2 */
        0x0f, 0x22, 0xd8,               /* mov cr3, eax */
        0x49,                           /* dec ecx */
        0x0f, 0x85, 0, 0, 0, 0,         /* jnz 10000 */
        0xf4,                           /* hlt */
    };
    put(0x10010, back, sizeof(back));
    put32(0x10010 + 16, 0x10000 - (0x10010 + 20));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->cr3 = pd1;
    s->cr0 |= 0x80000000u;
    s->gpr[CPUM_ECX] = 20;
    cr_assert_eq(iem_test_run(t, 100000), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_ESI], 10 * 1 + 10 * 2, "esi %u", s->gpr[CPUM_ESI]);
}

/* A fault inside a linked block reports the faulting EIP and retires
 * exactly the instructions before it. */
Test(iem_link, fault_in_linked_block_is_precise)
{
    static const uint8_t code[] = {
        0xb9, 0x0a, 0x00, 0x00, 0x00,   /* 10000: mov ecx, 10 */
        0x40,                           /* 10005: inc eax */
        0xeb, 0x00,                     /* 10006: jmp 10008 */
        0x49,                           /* 10008: dec ecx */
        0x75, 0xfa,                     /* 10009: jnz 10005 */
        0x0f, 0x0b,                     /* 1000b: ud2 */
    };
    put(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    uint64_t i0 = iem_instructions(iem_test_cpu(t));
    cr_assert_eq(iem_test_run(t, 100000), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x;
    iem_last_xcpt(iem_test_cpu(t), &x);
    cr_assert_eq(x.vector, 6);
    uint32_t frame_eip = 0;
    cr_assert_eq(iem_test_read(t, s->gpr[CPUM_ESP], &frame_eip, 4), 0);
    cr_assert_eq(frame_eip, 0x1000b);
    cr_assert_eq(s->gpr[CPUM_EAX], 10);
    /* 1 + 10 * 4 before the UD2, then the HLT of the exception handler. */
    cr_assert_eq(iem_instructions(iem_test_cpu(t)) - i0, 1 + 10 * 4 + 1);
}
