/* SPDX-License-Identifier: MIT */
/* IEM system behaviour: paging (#PF error codes, CR2, A/D bits, NX),
 * exception delivery (ring switch, error codes, real-mode IVT), SMC,
 * real->protected mode switch, triple fault, interrupt injection and
 * shadows, forced actions, the x87 probe, CPUID, port I/O. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"
#include "ixvm/iom.h"
#include "test_iem_harness.h"

IEM_HARNESS_SUITE(iem_sys);

/* 32-bit paging: PD at 1 MiB, one PT identity-mapping 0-4 MiB as P|RW|US. */
#define PD 0x100000u
#define PT 0x101000u
static void paging_on(void)
{
    memset(ram + PD, 0, 0x2000);
    wr32(PD, PT | 7);
    for (uint32_t k = 0; k < 1024; k++)
        wr32(PT + k * 4, (k << 12) | 7);
    s->cr3 = PD;
    s->cr0 |= CPUM_CR0_PG | CPUM_CR0_WP;
}
#define PTE(la) (PT + ((la) >> 12) * 4)

Test(iem_sys, pf_not_present_write)
{
    static const uint8_t code[] = { 0xc7, 0x05, 0x00, 0x00, 0x20, 0x00, 1, 0, 0, 0, 0xf4 }; /* mov [0x200000], 1 */
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    paging_on();
    wr32(PTE(0x200000), 0);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x = last();
    cr_assert_eq(x.vector, 14);
    cr_assert_eq(x.error, 0x2);          /* not present, write, supervisor */
    cr_assert_eq(s->cr2, 0x200000);
    cr_assert_eq(rd32(0x80000 - 16), 0x2);      /* error code */
    cr_assert_eq(rd32(0x80000 - 12), 0x10000);  /* faulting EIP above the error code */
}

Test(iem_sys, pf_wp_readonly_and_ad_bits)
{
    static const uint8_t code[] = { 0x8b, 0x05, 0x00, 0x00, 0x20, 0x00,            /* mov eax, [0x200000] */
                                    0xc7, 0x05, 0x00, 0x00, 0x20, 0x00, 1, 0, 0, 0, /* mov [0x200000], 1 */
                                    0xf4 };
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    paging_on();
    wr32(PTE(0x200000), 0x200000 | 5);   /* present, read-only, user */
    wr32(0x200000, 0xdeadbeef);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[0], 0xdeadbeef);
    struct iem_xcpt_info x = last();
    cr_assert_eq(x.vector, 14);
    cr_assert_eq(x.error, 0x3);          /* protection, write, supervisor (CR0.WP) */
    cr_assert_eq(rd32(PTE(0x200000)) & 0x60, 0x20, "A set, D clear after a read and a failed write");
    cr_assert(rd32(PD) & 0x20);

    /* Writable page: the write sets D. */
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    paging_on();
    wr32(PTE(0x200000), 0x200000 | 7);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(rd32(PTE(0x200000)) & 0x60, 0x60);
    cr_assert_eq(rd32(0x200000), 1);
}

Test(iem_sys, pf_user_supervisor_page_and_ring_switch)
{
    static const uint8_t code[] = { 0x8b, 0x05, 0x00, 0x00, 0x20, 0x00, 0xf4 };   /* mov eax, [0x200000] */
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    paging_on();
    wr32(PTE(0x200000), 0x200000 | 3);   /* supervisor only */
    /* Drop to ring 3 (flat DPL3 segments of the harness GDT). */
    s->seg[1].sel = IEM_TEST_SEL_CS32_R3;
    s->seg[1].attr |= 3u << CPUM_SEG_ATTR_DPL_SHIFT;
    s->seg[2].sel = IEM_TEST_SEL_DS32_R3;
    s->seg[2].attr |= 3u << CPUM_SEG_ATTR_DPL_SHIFT;
    s->cpl = 3;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x = last();
    cr_assert_eq(x.vector, 14);
    cr_assert_eq(x.error, 0x5);          /* protection, read, user */
    /* Delivered on the TSS ring-0 stack with SS:ESP of ring 3 saved. */
    cr_assert_eq(s->cpl, 0);
    uint32_t esp0 = IEM_TEST_FREE - 0x10;
    cr_assert_eq(s->gpr[CPUM_ESP], esp0 - 24);
    cr_assert_eq(rd32(esp0 - 24), 0x5);                 /* error code */
    cr_assert_eq(rd32(esp0 - 20), 0x10000);             /* EIP */
    cr_assert_eq(rd32(esp0 - 16), IEM_TEST_SEL_CS32_R3);
    cr_assert_eq(rd32(esp0 - 8), 0x80000);              /* old ESP */
    cr_assert_eq(rd32(esp0 - 4), IEM_TEST_SEL_DS32_R3); /* old SS */
}

Test(iem_sys, pae_nx_fetch)
{
    /* PAE: PDPT at 0x102000, PD at 0x103000, PT at 0x104000 mapping 0-2 MiB;
     * the page at 0x30000 is NX; jumping there faults with I/D set. */
    static const uint8_t code[] = { 0xe9, 0xfb, 0xff, 0x01, 0x00 };   /* jmp 0x30000 */
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    memset(ram + 0x102000, 0, 0x3000);
    uint64_t e = 0x103000 | 1;
    memcpy(ram + 0x102000, &e, 8);
    e = 0x104000 | 7;
    memcpy(ram + 0x103000, &e, 8);
    for (uint64_t k = 0; k < 512; k++) {
        e = (k << 12) | 7 | (k == 0x30 ? (1ull << 63) : 0);
        memcpy(ram + 0x104000 + k * 8, &e, 8);
    }
    s->cr3 = 0x102000;
    s->cr4 = CPUM_CR4_PAE;
    s->msr.efer = CPUM_EFER_NXE;
    s->cr0 |= CPUM_CR0_PG;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x = last();
    cr_assert_eq(x.vector, 14);
    cr_assert_eq(x.error, 0x11);          /* protection + instruction fetch */
    cr_assert_eq(s->cr2, 0x30000);
}

Test(iem_sys, gp_bad_selector_error_code)
{
    static const uint8_t code[] = { 0x66, 0xb8, 0x78, 0x00, 0x8e, 0xd8, 0xf4 };   /* mov ax, 0x78; mov ds, ax */
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x = last();
    cr_assert_eq(x.vector, 13);
    cr_assert_eq(x.error, 0x78);
    cr_assert_eq(rd32(0x80000 - 12), 0x10004);   /* EIP of MOV DS, not of the next one */
}

Test(iem_sys, real_mode_int_and_iret)
{
    /* IVT[0x21] -> 0000:0600: mov ax, 0x4242; iret.  Main at 0000:0700: int 0x21; hlt. */
    static const uint8_t isr[] = { 0xb8, 0x42, 0x42, 0xcf };
    static const uint8_t code[] = { 0xcd, 0x21, 0xf4 };
    load(0x600, isr, sizeof(isr));
    load(0x700, code, sizeof(code));
    wr32(0x21 * 4, 0x00000600);
    iem_test_setup_real(t, 0, 0x700, 0, 0x7000);
    s->eflags |= CPUM_EFL_IF;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[0] & 0xffff, 0x4242);
    cr_assert_eq(s->eip, 0x703);
    cr_assert_eq(s->gpr[CPUM_ESP] & 0xffff, 0x7000);
    cr_assert(s->eflags & CPUM_EFL_IF, "IRET restored IF");
}

Test(iem_sys, smc_writes_next_instruction)
{
    static const uint8_t code[] = { 0xc6, 0x05, 0x08, 0x00, 0x01, 0x00, 0x42,   /* mov byte [0x10008], 0x42 */
                                    0xb0, 0x00,                                 /* mov al, 0 (imm patched) */
                                    0xf4 };
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[0] & 0xff, 0x42);
    /* Run again from the start: the cached block must be the new code. */
    s->gpr[0] = 0;
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    ram[0x10006] = 0x43;
    cr_assert_eq(iem_test_write(t, 0x10006, (const uint8_t[]){ 0x43 }, 1), 0);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[0] & 0xff, 0x43);
}

Test(iem_sys, real_to_protected_switch)
{
    iem_test_setup_flat32(t, 0, 0);   /* writes the harness GDT at IEM_TEST_GDT */
    static const uint8_t code[] = {
        0x0f, 0x01, 0x16, 0x00, 0x7e,                  /* lgdt [0x7e00] */
        0x0f, 0x20, 0xc0,                              /* mov eax, cr0 */
        0x0c, 0x01,                                    /* or al, 1 */
        0x0f, 0x22, 0xc0,                              /* mov cr0, eax */
        0x66, 0xea, 0x1a, 0x7c, 0x00, 0x00, 0x08, 0x00, /* jmp dword 0x08:0x7c1a */
        0x90,
        /* 0x7c16: padding */ 0x90, 0x90, 0x90, 0x90,
        /* 0x7c1a: 32-bit */
        0x66, 0xb8, 0x10, 0x00,                        /* mov ax, 0x10 */
        0x8e, 0xd8,                                    /* mov ds, ax */
        0xb8, 0x78, 0x56, 0x34, 0x12,                  /* mov eax, 0x12345678 */
        0xa3, 0x00, 0x90, 0x00, 0x00,                  /* mov [0x9000], eax */
        0xf4 };
    load(0x7c00, code, sizeof(code));
    uint8_t desc[6] = { 0x3f, 0, (uint8_t)IEM_TEST_GDT, (uint8_t)(IEM_TEST_GDT >> 8), 0, 0 };
    load(0x7e00, desc, 6);
    iem_test_setup_real(t, 0, 0x7c00, 0, 0x7000);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert(s->cr0 & CPUM_CR0_PE);
    cr_assert_eq(s->seg[1].sel, 0x08);
    cr_assert(s->seg[1].attr & CPUM_SEG_ATTR_D);
    cr_assert_eq(s->seg[3].sel, 0x10);
    cr_assert_eq(rd32(0x9000), 0x12345678);
}

Test(iem_sys, triple_fault_resets)
{
    static const uint8_t code[] = { 0x0f, 0x0b };   /* ud2 with an empty IDT */
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->idtr.limit = 0;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_RESET);
    cr_assert_eq(iem_exec(iem_test_cpu(t), 10), IXVM_INF_EM_RESET, "stays in shutdown");
}

Test(iem_sys, inject_interrupt_wakes_hlt)
{
    static const uint8_t code[] = { 0xfb, 0xf4, 0x40, 0xf4 };   /* sti; hlt; inc eax; hlt */
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    struct iem_cpu *c = iem_test_cpu(t);
    cr_assert_eq(iem_exec(c, 1), 0);                 /* sti */
    cr_assert(!iem_can_take_interrupt(c), "STI shadow");
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert(iem_can_take_interrupt(c));
    cr_assert_eq(iem_inject_interrupt(c, 0x30, false), 0);
    cr_assert(!iem_is_halted(c));
    cr_assert_eq(s->eip, IEM_TEST_XCPT_HLT);
    cr_assert_eq(rd32(0x80000 - 12), 0x10002);       /* return after the HLT */
    cr_assert_eq(last().vector, 0x30);
    cr_assert(!(s->eflags & CPUM_EFL_IF), "interrupt gate clears IF");
    cr_assert_eq(iem_inject_interrupt(c, 0x31, false), IXVM_ERR_INVALID_STATE);
    cr_assert_eq(iem_inject_interrupt(c, 0, true), 0);
    cr_assert(!iem_can_take_nmi(c));
}

Test(iem_sys, forced_action_stops)
{
    static const uint8_t code[] = { 0x40, 0xeb, 0xfd };
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    _Atomic uint32_t ffc = 0, ffv = 0;
    struct iem_config cfg = { .state = s, .pgm = iem_test_pgm(t), .iom = iem_test_iom(t), .ff_cpu = &ffc,
                              .ff_vm = &ffv, .ff_mask = 0x4 };
    struct iem_cpu *c;
    cr_assert_eq(iem_create(&c, &cfg, NULL), 0);
    cr_assert_eq(iem_exec(c, 1000), 0);
    cr_assert_eq(s->gpr[0], 500);
    ffv = 0x8;   /* not in the mask */
    cr_assert_eq(iem_exec(c, 10), 0);
    ffv = 0x4;
    cr_assert_eq(iem_exec(c, 1000), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(s->gpr[0], 505);
    iem_destroy(c);
}

static int port_in(void *d, uint16_t off, unsigned size, uint32_t *v) { *v = 0xc0de0000u | off | size << 8; (void)d; return 0; }
static int port_out(void *d, uint16_t off, uint32_t v, unsigned size) { *(uint32_t *)d = v + off + size; return 0; }

Test(iem_sys, cpuid_x87_probe_io)
{
    static const uint8_t code[] = {
        0x31, 0xc0, 0x0f, 0xa2,                          /* xor eax,eax; cpuid */
        0x89, 0x1d, 0x00, 0x90, 0x00, 0x00,              /* mov [0x9000], ebx */
        0x89, 0x15, 0x04, 0x90, 0x00, 0x00,              /* mov [0x9004], edx */
        0x89, 0x0d, 0x08, 0x90, 0x00, 0x00,              /* mov [0x9008], ecx */
        0xb8, 1, 0, 0, 0, 0x0f, 0xa2,                    /* mov eax,1; cpuid */
        0x89, 0x15, 0x10, 0x90, 0x00, 0x00,              /* mov [0x9010], edx */
        0xdb, 0xe3,                                      /* fninit */
        0x66, 0xc7, 0x05, 0x20, 0x90, 0, 0, 0x5a, 0x5a,  /* mov word [0x9020], 0x5a5a */
        0xdd, 0x3d, 0x20, 0x90, 0x00, 0x00,              /* fnstsw [0x9020] */
        0x66, 0xba, 0x00, 0x03,                          /* mov dx, 0x300 */
        0xed,                                            /* in eax, dx */
        0xa3, 0x30, 0x90, 0x00, 0x00,                    /* mov [0x9030], eax */
        0xe6, 0x02,                                      /* out 2, al */
        0xf4 };
    static const struct iom_port_ops ops = { port_in, port_out, 0 };
    uint32_t outv = 0;
    cr_assert_eq(iom_map_ports(iem_test_iom(t), 0x300, 4, &ops, &outv, "test"), 0);
    cr_assert_eq(iom_map_ports(iem_test_iom(t), 0x0, 4, &ops, &outv, "test0"), 0);
    load(0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(memcmp(ram + 0x9000, "GenuineIntel", 12), 0);
    uint32_t feat = rd32(0x9010);
    cr_assert_eq(feat & 1, 1, "FPU reported");
    cr_assert(feat & (1u << 15), "CMOV");
    cr_assert_eq(rd32(0x9020) & 0xffff, 0, "FNINIT; FNSTSW stores 0: the FPU answers, as CPUID says");
    cr_assert_eq(rd32(0x9030), 0xc0de0400u, "in: %#x", rd32(0x9030));
    cr_assert_eq(outv, 0x00u + 2 + 1, "OUT 2, AL: value 0x00 at offset 2, size 1");
}
