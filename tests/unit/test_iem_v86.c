/* SPDX-License-Identifier: MIT */
/* Virtual-8086 mode (SDM Vol. 3A chapter 20): IRET into V86 mode, real-mode
 * segment arithmetic at CPL 3, interrupts and exceptions to the ring-0
 * handler (9/10-dword frame, null data segments) and IRET back, the
 * IOPL-sensitive instructions, VME (VIF, PUSHF/POPF/IRET forms, the
 * interrupt redirection bitmap), PVI, CPUID/CR4 bits. */
#include "test_iem_pm.h"

TestSuite(iem_v86, .init = pm_setup, .fini = pm_teardown);

#define V86_CS  0x1000u     /* code at linear 0x10000 + IP */
#define V86_IP  0x100u
#define V86_SS  0x3000u
#define V86_SP  0x0800u
#define ESP0    0x1ff0u
#define EFL_VM  CPUM_EFL_VM
#define IOPL3   CPUM_EFL_IOPL

static uint16_t v86_word(uint32_t sp) { return rd16(V86_SS * 16 + sp); }

/* IRETD from ring 0 into V86 code at V86_CS:V86_IP (one step). */
static void enter_v86(const uint8_t *code, size_t n, uint32_t eflags, uint16_t es, uint16_t ds)
{
    static const uint8_t iretd[] = { 0xcf };
    load(CODE - 0x100, iretd, 1);
    load(V86_CS * 16 + V86_IP, code, n);
    const uint32_t f = STACK - 36;
    const uint32_t frame[9] = { V86_IP, V86_CS, eflags | 2u, V86_SP, V86_SS, es, ds, 0x5555, 0x6666 };
    memcpy(ram + f, frame, sizeof(frame));
    s->eip = CODE - 0x100;
    s->gpr[4] = f;
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->eflags & EFL_VM, EFL_VM, "IRET entered V86 mode");
}

Test(iem_v86, iret_enters_v86)
{
    static const uint8_t code[] = { 0xeb, 0xfe };
    enter_v86(code, sizeof(code), EFL_VM | IOPL3, 0x4321, 0x1234);
    cr_assert_eq(s->cpl, 3);
    cr_assert_eq(s->eip, V86_IP);
    cr_assert_eq(s->seg[1].sel, V86_CS);
    cr_assert_eq(s->seg[1].base, V86_CS * 16);
    cr_assert_eq(s->seg[2].base, V86_SS * 16);
    cr_assert_eq(s->seg[0].base, 0x43210, "ES = 0x4321 -> base 0x43210");
    cr_assert_eq(s->seg[3].base, 0x12340);
    cr_assert_eq(s->seg[4].sel, 0x5555);
    cr_assert_eq(s->seg[5].base, 0x66660);
    cr_assert_eq(s->seg[1].limit, 0xffff);
    cr_assert_eq(s->gpr[4], V86_SP);
    cr_assert_eq(iem_test_run(t, 5), 0);
    cr_assert_eq(s->eip, V86_IP, "V86 code runs (JMP $)");
}

Test(iem_v86, int_to_ring0_frame_and_iret_back)
{
    static const uint8_t code[] = { 0xcd, 0x52, 0x8c, 0xc0, 0xeb, 0xfe };   /* int 0x52; mov ax, es; jmp $ */
    enter_v86(code, sizeof(code), EFL_VM | IOPL3 | CPUM_EFL_IF, 0x4321, 0);
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->eip, IEM_TEST_XCPT_HLT, "IDT gate 0x52 (DPL3) handler");
    cr_assert_eq(s->cpl, 0);
    cr_assert_eq(s->eflags & (EFL_VM | CPUM_EFL_IF), 0, "VM and IF clear in the handler");
    cr_assert_eq(s->seg[2].sel, IEM_TEST_SEL_DS32, "SS from TSS.SS0");
    for (unsigned k = 0; k < 6; k++)
        if (k != 1 && k != 2) {
            cr_assert_eq(s->seg[k].sel, 0, "data segment %u null in the handler", k);
            cr_assert(s->seg[k].attr & CPUM_SEG_ATTR_UNUSABLE);
        }
    uint32_t esp = s->gpr[4];
    cr_assert_eq(esp, ESP0 - 36, "9-dword frame on the TSS.ESP0 stack");
    cr_assert_eq(rd32(esp), V86_IP + 2);
    cr_assert_eq(rd32(esp + 4), V86_CS);
    cr_assert_eq(rd32(esp + 8) & (EFL_VM | IOPL3 | CPUM_EFL_IF), EFL_VM | IOPL3 | CPUM_EFL_IF);
    cr_assert_eq(rd32(esp + 12), V86_SP);
    cr_assert_eq(rd32(esp + 16), V86_SS);
    cr_assert_eq(rd32(esp + 20), 0x4321, "ES");
    cr_assert_eq(rd32(esp + 24), 0, "DS");
    cr_assert_eq(rd32(esp + 28), 0x5555, "FS");
    cr_assert_eq(rd32(esp + 32), 0x6666, "GS");
    /* The handler returns with IRETD: ES DS FS GS come back from the frame. */
    static const uint8_t iretd[] = { 0xcf };
    load(0x30000, iretd, 1);
    s->eip = 0x30000;
    cr_assert_eq(iem_test_run(t, 4), 0);
    cr_assert_eq(s->eflags & EFL_VM, EFL_VM);
    cr_assert_eq(s->eip, V86_IP + 4);
    cr_assert_eq(s->gpr[0] & 0xffff, 0x4321, "IRET to V86 restored ES");
    cr_assert_eq(s->seg[4].sel, 0x5555);
    cr_assert_eq(s->gpr[4], V86_SP);
}

Test(iem_v86, iopl_sensitive_instructions_gp_at_iopl0)
{
    static const struct { uint8_t b[2]; size_t n; const char *what; } ins[] = {
        { { 0xfa }, 1, "CLI" }, { { 0xfb }, 1, "STI" }, { { 0x9c }, 1, "PUSHF" }, { { 0x9d }, 1, "POPF" },
        { { 0xcd, 0x52 }, 2, "INT n" }, { { 0xcf }, 1, "IRET" }, { { 0xf4 }, 1, "HLT (CPL 3)" },
    };
    for (size_t k = 0; k < sizeof(ins) / sizeof(ins[0]); k++) {
        iem_test_setup_flat32(t, CODE, STACK);
        enter_v86(ins[k].b, ins[k].n, EFL_VM | CPUM_EFL_IF, 0, 0);
        cr_assert_eq(iem_test_run(t, 5), IXVM_INF_EM_HALT, "%s", ins[k].what);
        struct iem_xcpt_info x = last();
        cr_assert_eq(x.vector, 13, "%s: #GP", ins[k].what);
        cr_assert_eq(x.error, 0, "%s: #GP(0)", ins[k].what);
        uint32_t esp = s->gpr[4];
        cr_assert_eq(esp, ESP0 - 40, "%s: error code + 9 dwords", ins[k].what);
        cr_assert_eq(rd32(esp + 4), V86_IP, "%s: EIP of the instruction", ins[k].what);
        cr_assert_eq(rd32(esp + 16), V86_SP, "%s: SP untouched", ins[k].what);
        cr_assert_eq(rd32(esp + 12) & CPUM_EFL_RF, CPUM_EFL_RF, "%s: fault pushes RF", ins[k].what);
    }
}

Test(iem_v86, iopl3_cli_sti_pushf_popf)
{
    static const uint8_t code[] = { 0xfa, 0x9c, 0xfb, 0x9c, 0x68, 0x02, 0x04, 0x9d, 0x9c, 0xeb, 0xfe };
    enter_v86(code, sizeof(code), EFL_VM | IOPL3 | CPUM_EFL_IF, 0, 0);
    cr_assert_eq(iem_test_run(t, 10), 0);
    cr_assert_eq(s->eip, V86_IP + 9);
    cr_assert_eq(v86_word(V86_SP - 2) & 0x3200, 0x3000, "CLI: IF=0, IOPL 3 in the image");
    cr_assert_eq(v86_word(V86_SP - 4) & 0x0200, 0x0200, "STI: IF=1");
    cr_assert_eq(v86_word(V86_SP - 4) & 0x0200, 0x0200);
    /* POPF 0x0402: DF set, IF cleared, IOPL unchanged (3) in V86 mode. */
    cr_assert_eq(s->eflags & (CPUM_EFL_DF | CPUM_EFL_IF | IOPL3 | EFL_VM), CPUM_EFL_DF | IOPL3 | EFL_VM);
    cr_assert_eq(v86_word(V86_SP - 6), (uint16_t)(0x0402 | 0x3000), "PUSHF after POPF");
}

Test(iem_v86, vme_virtual_interrupt_flag)
{
    static const uint8_t code[] = { 0xfa, 0x9c, 0xfb, 0x9c, 0xeb, 0xfe };   /* cli; pushf; sti; pushf */
    s->cr4 |= CPUM_CR4_VME;
    enter_v86(code, sizeof(code), EFL_VM | CPUM_EFL_IF | CPUM_EFL_VIF, 0, 0);
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->eflags & (CPUM_EFL_VIF | CPUM_EFL_IF), CPUM_EFL_IF, "CLI clears VIF only");
    cr_assert_eq(iem_test_run(t, 4), 0);
    cr_assert_eq(s->eip, V86_IP + 4);
    cr_assert_eq(last().count, 0, "no faults at IOPL 0 with VME");
    cr_assert_eq(v86_word(V86_SP - 2), 0x3002, "PUSHF: IF shows VIF=0, IOPL shows 3");
    cr_assert_eq(v86_word(V86_SP - 4), 0x3202, "PUSHF: IF shows VIF=1");
    cr_assert_eq(s->eflags & (CPUM_EFL_VIF | CPUM_EFL_IF | IOPL3), CPUM_EFL_VIF | CPUM_EFL_IF);
    /* POPF: the popped IF goes to VIF; IF and IOPL stay. */
    static const uint8_t popf[] = { 0x68, 0x00, 0x04, 0x9d, 0xeb, 0xfe };   /* push 0x0400; popf */
    iem_test_setup_flat32(t, CODE, STACK);
    s->cr4 |= CPUM_CR4_VME;
    enter_v86(popf, sizeof(popf), EFL_VM | CPUM_EFL_IF | CPUM_EFL_VIF, 0, 0);
    cr_assert_eq(iem_test_run(t, 3), 0);
    cr_assert_eq(s->eflags & (CPUM_EFL_VIF | CPUM_EFL_IF | CPUM_EFL_DF), CPUM_EFL_IF | CPUM_EFL_DF);
    cr_assert_eq(s->gpr[4], V86_SP);
}

Test(iem_v86, vme_faulting_forms)
{
    static const struct { uint8_t b[4]; size_t n; uint32_t efl; const char *what; } ins[] = {
        { { 0x66, 0x9c }, 2, 0, "PUSHFD (32-bit) with VME" },
        { { 0x66, 0x9d }, 2, 0, "POPFD (32-bit) with VME" },
        { { 0xfb }, 1, CPUM_EFL_VIP, "STI with VIP set" },
        { { 0x68, 0x00, 0x01, 0x9d }, 4, 0, "POPF with TF=1" },
        { { 0x68, 0x00, 0x02, 0x9d }, 4, CPUM_EFL_VIP, "POPF with IF=1 and VIP" },
        { { 0x66, 0xcf }, 2, 0, "IRETD with VME" },
    };
    for (size_t k = 0; k < sizeof(ins) / sizeof(ins[0]); k++) {
        iem_test_setup_flat32(t, CODE, STACK);
        s->cr4 |= CPUM_CR4_VME;
        enter_v86(ins[k].b, ins[k].n, EFL_VM | ins[k].efl, 0, 0);
        cr_assert_eq(iem_test_run(t, 5), IXVM_INF_EM_HALT, "%s", ins[k].what);
        cr_assert_eq(last().vector, 13, "%s", ins[k].what);
        cr_assert_eq(last().error, 0, "%s", ins[k].what);
        uint32_t esp = s->gpr[4];
        uint32_t ip = rd32(esp + 4);
        cr_assert(ip == V86_IP || ip == V86_IP + 3, "%s: EIP %#x", ins[k].what, ip);
    }
}

Test(iem_v86, vme_iret16_sets_vif)
{
    /* V86 stack: IP CS FLAGS (IF=1) -> the IRET goes to 1000:0200. */
    static const uint8_t code[] = { 0xcf };
    static const uint8_t there[] = { 0xeb, 0xfe };
    s->cr4 |= CPUM_CR4_VME;
    load(V86_CS * 16 + 0x200, there, 2);
    wr16(V86_SS * 16 + V86_SP, 0x200);
    wr16(V86_SS * 16 + V86_SP + 2, V86_CS);
    wr16(V86_SS * 16 + V86_SP + 4, 0x0202 | 0x0400);
    enter_v86(code, sizeof(code), EFL_VM, 0, 0);
    cr_assert_eq(iem_test_run(t, 2), 0);
    cr_assert_eq(s->eip, 0x200);
    cr_assert_eq(s->eflags & (CPUM_EFL_VIF | CPUM_EFL_IF | CPUM_EFL_DF | IOPL3), CPUM_EFL_VIF | CPUM_EFL_DF);
    cr_assert_eq(s->gpr[4], V86_SP + 6);
}

/* Redirection bitmap at TSS + 0x68, I/O map base 0x88 (SDM Vol. 3A Figure 20-5). */
static void redirection_tss(unsigned set_vec)
{
    memset(ram + IEM_TEST_TSS + 0x68, 0, 32);
    wr16(IEM_TEST_TSS + 0x66, 0x88);
    ram[IEM_TEST_TSS + 0x68 + set_vec / 8] |= (uint8_t)(1u << (set_vec % 8));
    s->tr.limit = 0x88;
    wr16(0x40 * 4, 0x0010);           /* V86 IVT[0x40] = 2000:0010 */
    wr16(0x40 * 4 + 2, 0x2000);
    static const uint8_t isr[] = { 0xeb, 0xfe };
    load(0x20010, isr, 2);
}

Test(iem_v86, vme_int_redirection)
{
    static const uint8_t code[] = { 0xcd, 0x40 };
    s->cr4 |= CPUM_CR4_VME;
    redirection_tss(0x41);
    enter_v86(code, sizeof(code), EFL_VM | CPUM_EFL_IF | CPUM_EFL_VIF | CPUM_EFL_TF, 0, 0);
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->seg[1].sel, 0x2000, "bit clear: the V86 IVT handler");
    cr_assert_eq(s->eip, 0x10);
    cr_assert_eq(s->eflags & EFL_VM, EFL_VM, "stays in V86 mode");
    cr_assert_eq(s->gpr[4], V86_SP - 6);
    cr_assert_eq(v86_word(V86_SP - 6), V86_IP + 2, "IP");
    cr_assert_eq(v86_word(V86_SP - 4), V86_CS, "CS");
    cr_assert_eq(v86_word(V86_SP - 2) & (IOPL3 | CPUM_EFL_IF | CPUM_EFL_TF), IOPL3 | CPUM_EFL_IF | CPUM_EFL_TF,
                 "FLAGS: IOPL 3, IF = VIF");
    cr_assert_eq(s->eflags & (CPUM_EFL_VIF | CPUM_EFL_IF | CPUM_EFL_TF), CPUM_EFL_IF, "VIF and TF cleared, IF kept");
    cr_assert_eq(last().count, 0, "no #DB: TF was cleared by the redirection");

    /* Bit set at IOPL 0: #GP(0). */
    static const uint8_t code41[] = { 0xcd, 0x41 };
    iem_test_setup_flat32(t, CODE, STACK);
    s->cr4 |= CPUM_CR4_VME;
    redirection_tss(0x41);
    enter_v86(code41, sizeof(code41), EFL_VM, 0, 0);
    cr_assert_eq(iem_test_run(t, 3), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 13);
    cr_assert_eq(last().error, 0);

    /* Bit set at IOPL 3: the protected-mode IDT (9-dword frame). */
    iem_test_setup_flat32(t, CODE, STACK);
    s->cr4 |= CPUM_CR4_VME;
    redirection_tss(0x41);
    enter_v86(code41, sizeof(code41), EFL_VM | IOPL3, 0, 0);
    cr_assert_eq(iem_test_run(t, 3), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 0x41);
    cr_assert_eq(s->gpr[4], ESP0 - 36);

    /* Bit clear at IOPL 3: V86 IVT, the real IF pushed and cleared. */
    iem_test_setup_flat32(t, CODE, STACK);
    s->cr4 |= CPUM_CR4_VME;
    redirection_tss(0x41);
    enter_v86(code, sizeof(code), EFL_VM | IOPL3 | CPUM_EFL_IF, 0, 0);
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->seg[1].sel, 0x2000);
    cr_assert_eq(v86_word(V86_SP - 2) & CPUM_EFL_IF, CPUM_EFL_IF);
    cr_assert_eq(s->eflags & CPUM_EFL_IF, 0);
}

Test(iem_v86, pvi_virtualizes_cli_sti_at_cpl3)
{
    static const uint8_t code[] = { 0xfa, 0xfb, 0xeb, 0xfe };   /* cli; sti; jmp $ */
    load(CODE, code, sizeof(code));
    to_ring3(CODE, STACK);
    s->cr4 |= CPUM_CR4_PVI;
    s->eflags |= CPUM_EFL_IF | CPUM_EFL_VIF;
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->eflags & (CPUM_EFL_IF | CPUM_EFL_VIF), CPUM_EFL_IF, "CLI cleared VIF only");
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->eflags & (CPUM_EFL_IF | CPUM_EFL_VIF), CPUM_EFL_IF | CPUM_EFL_VIF);
    cr_assert_eq(last().count, 0);
    /* Without PVI: #GP(0). */
    iem_test_setup_flat32(t, CODE, STACK);
    to_ring3(CODE, STACK);
    cr_assert_eq(iem_test_run(t, 3), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 13);
    cr_assert_eq(last().error, 0);
}

Test(iem_v86, cpuid_reports_vme_de_and_cr4_accepts_them)
{
    static const uint8_t code[] = { 0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x0b, 0x0f, 0x22, 0xe0,   /* cr4 |= VME|PVI|DE */
                                    0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2, 0xf4 };       /* cpuid(1); hlt */
    load(CODE, code, sizeof(code));
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, CODE + sizeof(code), "no #GP from MOV CR4");
    cr_assert_eq(s->cr4 & 0xb, 0xb);
    cr_assert_eq(s->gpr[2] & 0x6, 0x6, "CPUID.1:EDX VME and DE");
}

Test(iem_v86, iret_at_iopl3_works_like_real_mode)
{
    /* V86 stack: IP CS FLAGS -> 2000:0010, FLAGS with IOPL 0 and DF: IOPL stays 3. */
    static const uint8_t code[] = { 0xcf };
    static const uint8_t there[] = { 0xeb, 0xfe };
    load(0x20010, there, 2);
    wr16(V86_SS * 16 + V86_SP, 0x0010);
    wr16(V86_SS * 16 + V86_SP + 2, 0x2000);
    wr16(V86_SS * 16 + V86_SP + 4, 0x0402);
    enter_v86(code, sizeof(code), EFL_VM | IOPL3 | CPUM_EFL_IF, 0, 0);
    cr_assert_eq(iem_test_run(t, 2), 0);
    cr_assert_eq(s->seg[1].sel, 0x2000);
    cr_assert_eq(s->seg[1].base, 0x20000);
    cr_assert_eq(s->eip, 0x10);
    cr_assert_eq(s->gpr[4], V86_SP + 6);
    cr_assert_eq(s->eflags & (EFL_VM | IOPL3 | CPUM_EFL_IF | CPUM_EFL_DF), EFL_VM | IOPL3 | CPUM_EFL_DF,
                 "IF and DF from the image, IOPL and VM kept");
}

Test(iem_v86, exception_without_error_code)
{
    static const uint8_t code[] = { 0x0f, 0x0b };   /* ud2 */
    enter_v86(code, sizeof(code), EFL_VM | IOPL3, 0x1111, 0x2222);
    cr_assert_eq(iem_test_run(t, 3), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 6);
    uint32_t esp = s->gpr[4];
    cr_assert_eq(esp, ESP0 - 36);
    cr_assert_eq(rd32(esp), V86_IP, "#UD: EIP of the instruction");
    cr_assert_eq(rd32(esp + 20), 0x1111);
    cr_assert_eq(rd32(esp + 24), 0x2222);
    cr_assert_eq(s->eflags & EFL_VM, 0);
}
