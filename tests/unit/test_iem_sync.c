/* SPDX-License-Identifier: MIT */
/* What survives between iem_exec calls and what stops them: the TLB is kept
 * unless the owner changed translation state (CR0/CR3/CR4/EFER) or flushed
 * it, and interrupt-request forced actions (iem_config.ff_irq_mask) stop
 * the interpreter only while EFLAGS.IF=1 -- right after the instruction in
 * the STI shadow. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"

static struct iem_test *t;
static struct cpum_state *s;

static void setup(void)
{
    cr_assert_eq(iem_test_create(&t, 8), 0);
    s = iem_test_state(t);
}
static void teardown(void) { iem_test_destroy(t); }

TestSuite(iem_sync, .init = setup, .fini = teardown);

static void put(uint32_t pa, const void *p, size_t len) { cr_assert_eq(iem_test_write(t, pa, p, len), 0); }
static void put32(uint32_t pa, uint32_t v) { put(pa, &v, 4); }

#define PD 0x20000u
#define PT0 0x21000u
#define PT1 0x22000u
#define PAGE_A 0x30000u
#define PAGE_B 0x31000u
#define LIN 0x400000u

/* Paging on: 0-4 MiB identity, LIN -> PAGE_A (global when g). */
static void paging_setup(bool g)
{
    put32(PD, PT0 | 3);
    put32(PD + 4, PT1 | 3);
    for (uint32_t k = 0; k < 1024; k++)
        put32(PT0 + 4 * k, (k << 12) | 3);
    put32(PT1, PAGE_A | 3 | (g ? 0x100u : 0));
    put32(PAGE_A, 0xaaaa0001u);
    put32(PAGE_B, 0xbbbb0002u);
    s->cr3 = PD;
    s->cr0 |= CPUM_CR0_PG;
}

/* `l: mov eax, [LIN]; jmp l` at 0x10000; two instructions per iteration.
 * Written once: code written again would be decoded again, and the first
 * code mark on a page flushes every TLB (iem_exec.c iem_mark_code). */
static void put_read_loop(void)
{
    static const uint8_t code[] = { 0xa1, 0x00, 0x00, 0x40, 0x00, 0xeb, 0xf9 };
    put(0x10000, code, sizeof(code));
}
static uint32_t run_read(void)
{
    s->eip = 0x10000;
    s->gpr[CPUM_EAX] = 0;
    cr_assert_eq(iem_exec(iem_test_cpu(t), 2), 0);
    cr_assert_eq(s->eip, 0x10000u);
    return s->gpr[CPUM_EAX];
}

Test(iem_sync, tlb_kept_between_calls_until_state_changes)
{
    put_read_loop();
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    paging_setup(false);
    cr_assert_eq(run_read(), 0xaaaa0001u);
    /* The owner edits the PTE in memory: a real CPU keeps using its TLB
     * entry until a flush, and so does the interpreter across calls. */
    uint32_t pte = PAGE_B | 3;
    memcpy(iem_test_ram(t) + PT1, &pte, 4);
    cr_assert_eq(run_read(), 0xaaaa0001u, "TLB entry kept across iem_exec calls");
    iem_flush_tlb(iem_test_cpu(t));
    cr_assert_eq(run_read(), 0xbbbb0002u, "iem_flush_tlb drops it");
    pte = PAGE_A | 3;
    memcpy(iem_test_ram(t) + PT1, &pte, 4);
    s->cr4 |= CPUM_CR4_PSE;   /* any translation-state change by the owner flushes */
    cr_assert_eq(run_read(), 0xaaaa0001u, "a CR4 change by the owner flushes");
}

Test(iem_sync, global_entry_survives_guest_cr3_write)
{
    /* CR4.PGE set by the owner; the guest: mov eax,cr3; mov cr3,eax;
     * mov eax,[LIN]; hlt. */
    static const uint8_t code[] = { 0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8, 0xa1, 0x00, 0x00, 0x40, 0x00, 0xf4 };
    put(0x10100, code, sizeof(code));   /* same page as the read loop */
    put_read_loop();
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    paging_setup(true);
    s->cr4 |= 0x80u;   /* PGE */
    cr_assert_eq(run_read(), 0xaaaa0001u);
    put32(PT1, PAGE_B | 3 | 0x100u);
    s->eip = 0x10100;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_EAX], 0xaaaa0001u, "the global entry survives MOV CR3 (SDM 3A 4.10.2.4)");
}

/* A second interpreter on the harness's machine, with forced-action words. */
static struct iem_cpu *ff_cpu(_Atomic uint32_t *ff)
{
    struct iem_config cfg = { .state = s, .pgm = iem_test_pgm(t), .iom = iem_test_iom(t), .ff_cpu = ff,
                              .ff_mask = 0x3u, .ff_irq_mask = 0x2u };
    struct iem_cpu *c;
    cr_assert_eq(iem_create(&c, &cfg, NULL), 0);
    return c;
}

Test(iem_sync, interrupt_request_waits_for_if)
{
    /* mov ecx,1000; l: dec ecx; jnz l; sti; nop; nop; hlt */
    static const uint8_t code[] = { 0xb9, 0xe8, 0x03, 0x00, 0x00, 0x49, 0x75, 0xfd, 0xfb, 0x90, 0x90, 0xf4 };
    put(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    _Atomic uint32_t ff = 0x2u;   /* an interrupt request, IF=0 */
    struct iem_cpu *c = ff_cpu(&ff);
    cr_assert_eq(iem_exec(c, 100000), IXVM_INF_EM_RESCHEDULE);
    /* mov, 1000 x (dec, jnz), sti, and the nop in the STI shadow. */
    cr_assert_eq(iem_instructions(c), 1u + 2000u + 1u + 1u);
    cr_assert_eq(s->eip, 0x1000au, "stopped after the instruction in the STI shadow");
    cr_assert(iem_can_take_interrupt(c));
    iem_destroy(c);
}

Test(iem_sync, other_requests_stop_with_if_clear)
{
    static const uint8_t code[] = { 0x40, 0xeb, 0xfd };   /* inc eax; jmp $-3 */
    put(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    _Atomic uint32_t ff = 0x1u;
    struct iem_cpu *c = ff_cpu(&ff);
    cr_assert_eq(iem_exec(c, 100000), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(iem_instructions(c), 0u);
    ff = 0x4u;   /* not in the mask */
    cr_assert_eq(iem_exec(c, 1000), 0);
    cr_assert_eq(iem_instructions(c), 1000u);
    iem_destroy(c);
}
