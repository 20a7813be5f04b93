/* SPDX-License-Identifier: MIT */
/* Hardware task switches (SDM Vol. 3A chapter 7): JMP/CALL to a TSS and
 * through a task gate, INT n and exceptions through IDT task gates (error
 * code on the new task's stack), IRET with NT=1, busy bits, NT and the
 * previous-task link, CR0.TS, #TS/#GP/#NP error codes before and after the
 * commit point, 16-bit TSS, CR3/LDT loads, the T bit, DR7 local enables. */
#include "test_iem_pm.h"

TestSuite(iem_task, .init = pm_setup, .fini = pm_teardown);

#define OLD_TSS IEM_TEST_TSS          /* selector 0x38, busy */
#define TSS_B   0x3000u               /* selector 0x40 */
#define TSS_16  0x3100u               /* selector 0x50 */
#define TASK_B  0x20000u
#define B_ESP   0x70000u

/* A 32-bit TSS whose task runs flat ring 0 at eip. */
static void tss32_init(uint32_t base, uint32_t eip, uint32_t esp)
{
    memset(ram + base, 0, 0x68);
    wr32(base + 0x04, 0x1ff0);
    wr32(base + 0x08, IEM_TEST_SEL_DS32);
    wr32(base + 0x20, eip);
    wr32(base + 0x24, 0x2);
    wr32(base + 0x38, esp);
    wr32(base + 0x2c, 0x1111);   /* ECX */
    wr32(base + 0x34, 0xb0b0);   /* EBX */
    wr32(base + 0x4c, IEM_TEST_SEL_CS32);
    for (unsigned off = 0x48; off <= 0x5c; off += 4)
        if (off != 0x4c)
            wr32(base + off, IEM_TEST_SEL_DS32);
    wr16(base + 0x66, 0x68);
}

static void setup_b(const uint8_t *code, size_t n, const uint8_t *task, size_t tn)
{
    tss32_init(TSS_B, TASK_B, B_ESP);
    gdt_set(0x40, mkdesc(TSS_B, 0x67, 0x09, 0, 0));
    load(CODE, code, n);
    load(TASK_B, task, tn);
}

static const uint8_t hlt[] = { 0xf4 };
static const uint8_t iretd_task[] = { 0xcf };

Test(iem_task, jmp_to_tss)
{
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x40, 0x00 };   /* jmp 0x40:0 */
    setup_b(code, sizeof(code), hlt, 1);
    s->gpr[3] = 0x5a5a5a5a;
    s->eflags |= 0x1;            /* CF: saved in the old TSS */
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, TASK_B + 1);
    cr_assert_eq(s->tr.sel, 0x40);
    cr_assert_eq(s->tr.base, TSS_B);
    cr_assert_eq(s->gpr[3], 0xb0b0, "EBX from the new TSS");
    cr_assert_eq(s->gpr[1], 0x1111);
    cr_assert_eq(s->gpr[4], B_ESP);
    cr_assert(s->cr0 & CPUM_CR0_TS, "a task switch sets CR0.TS (7.3 step 10)");
    cr_assert_eq(s->eflags & CPUM_EFL_NT, 0, "JMP: NT clear in the new task");
    cr_assert_eq(gdt_type(0x38), 0x89, "JMP clears the old task's busy bit");
    cr_assert_eq(gdt_type(0x40), 0x8b, "the new TSS is busy");
    cr_assert_eq(rd32(OLD_TSS + 0x20), CODE + 7, "old TSS: EIP after the JMP");
    cr_assert_eq(rd32(OLD_TSS + 0x34), 0x5a5a5a5a, "old TSS: EBX");
    cr_assert_eq(rd32(OLD_TSS + 0x38), STACK, "old TSS: ESP");
    cr_assert_eq(rd32(OLD_TSS + 0x24) & 0x4001, 0x1, "old TSS: EFLAGS with CF");
    cr_assert_eq(rd16(OLD_TSS + 0x4c), IEM_TEST_SEL_CS32, "old TSS: CS");
    cr_assert_eq(rd16(TSS_B), 0, "JMP does not write the previous-task link");
}

Test(iem_task, call_tss_nt_link_and_iret_back)
{
    static const uint8_t code[] = { 0x9a, 0, 0, 0, 0, 0x40, 0x00, 0xf4 };   /* call 0x40:0; hlt */
    setup_b(code, sizeof(code), iretd_task, 1);
    s->gpr[3] = 0x12345678;
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->tr.sel, 0x40);
    cr_assert_eq(s->eip, TASK_B);
    cr_assert_eq(s->eflags & CPUM_EFL_NT, CPUM_EFL_NT, "CALL sets NT in the new task");
    cr_assert_eq(rd16(TSS_B), 0x38, "CALL writes the previous-task link");
    cr_assert_eq(gdt_type(0x38), 0x8b, "CALL: the caller stays busy");
    cr_assert_eq(gdt_type(0x40), 0x8b);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->tr.sel, 0x38, "IRET with NT=1 returns to the linked task");
    cr_assert_eq(s->eip, CODE + 8);
    cr_assert_eq(s->gpr[3], 0x12345678, "caller's registers back from its TSS");
    cr_assert_eq(s->eflags & CPUM_EFL_NT, 0);
    cr_assert_eq(gdt_type(0x40), 0x89, "IRET clears the nested task's busy bit");
    cr_assert_eq(gdt_type(0x38), 0x8b);
    cr_assert_eq(rd32(TSS_B + 0x24) & CPUM_EFL_NT, 0, "IRET saves the nested task with NT=0");
    cr_assert_eq(rd32(TSS_B + 0x20), TASK_B + 1, "nested task's EIP after the IRET");
}

Test(iem_task, call_through_task_gate)
{
    static const uint8_t code[] = { 0x9a, 0, 0, 0, 0, 0x4b, 0x00, 0xf4 };   /* call 0x4b:0; hlt */
    setup_b(code, sizeof(code), iretd_task, 1);
    gdt_set(0x48, mkgate(0x40, 0, 0x5, 3, 0));
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->tr.sel, 0x40, "task gate names the TSS");
    cr_assert_eq(rd16(TSS_B), 0x38);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, CODE + 8);
}

Test(iem_task, int_through_task_gate)
{
    static const uint8_t code[] = { 0xcd, 0x60, 0xf4 };   /* int 0x60; hlt */
    setup_b(code, sizeof(code), iretd_task, 1);
    idt_set(0x60, mkgate(0x40, 0, 0x5, 0, 0));
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->tr.sel, 0x40);
    cr_assert_eq(s->eflags & CPUM_EFL_NT, CPUM_EFL_NT, "task gate: NT set");
    cr_assert_eq(rd16(TSS_B), 0x38, "task gate: previous-task link");
    cr_assert_eq(rd32(OLD_TSS + 0x20), CODE + 2, "INT: return EIP saved in the old TSS");
    cr_assert_eq(s->gpr[4], B_ESP, "no error code for INT n");
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->tr.sel, 0x38);
    cr_assert_eq(s->eip, CODE + 3);
}

Test(iem_task, exception_task_gate_pushes_error_code)
{
    static const uint8_t code[] = { 0x66, 0xb8, 0x30, 0x12, 0x8e, 0xd8, 0xf4 };  /* mov ax,0x1230; mov ds,ax; hlt */
    setup_b(code, sizeof(code), hlt, 1);
    idt_set(13, mkgate(0x40, 0, 0x5, 0, 0));
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->tr.sel, 0x40, "#GP through a task gate runs the handler task");
    cr_assert_eq(s->eip, TASK_B + 1);
    struct iem_xcpt_info x = last();
    cr_assert_eq(x.vector, 13);
    cr_assert_eq(x.error, 0x1230);
    cr_assert_eq(s->gpr[4], B_ESP - 4, "only the error code on the new stack");
    cr_assert_eq(rd32(B_ESP - 4), 0x1230);
    cr_assert_eq(rd32(OLD_TSS + 0x20), CODE + 4, "faulting EIP saved in the old TSS");
    cr_assert_eq(rd32(OLD_TSS + 0x24) & CPUM_EFL_RF, CPUM_EFL_RF, "a fault saves RF=1");
}

Test(iem_task, jmp_busy_tss_gp)
{
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x38, 0x00 };   /* jmp 0x38:0 (busy, current) */
    load(CODE, code, sizeof(code));
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, HLT_EIP);
    cr_assert_eq(last().vector, 13);
    cr_assert_eq(rd32(STACK - 16), 0x38, "#GP(selector)");
    cr_assert_eq(rd32(STACK - 12), CODE, "fault on the JMP");
    cr_assert_eq(s->tr.sel, 0x38);
}

Test(iem_task, errors_before_commit)
{
    static const struct {
        uint64_t desc;
        unsigned sel, vec;
        uint32_t err;
        const char *what;
    } cases[] = {
        { 0, 0x40, 13, 0x40, "null descriptor: #GP(sel)" },
        { 1, 0x43, 13, 0x40, "TSS DPL 0 < RPL 3: #GP(sel)" },
        { 2, 0x40, 11, 0x40, "TSS not present: #NP(sel)" },
        { 3, 0x40, 10, 0x40, "TSS limit < 0x67: #TS(sel)" },
        { 4, 0x48, 13, 0x40, "task gate to a busy TSS: #GP(TSS sel)" },
        { 5, 0x48, 11, 0x48, "task gate not present: #NP(gate sel)" },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        iem_test_setup_flat32(t, CODE, STACK);
        s->gdtr.limit = 0xff;
        tss32_init(TSS_B, TASK_B, B_ESP);
        uint64_t tss = mkdesc(TSS_B, 0x67, 0x09, 0, 0);
        gdt_set(0x40, tss);
        gdt_set(0x48, mkgate(0x40, 0, 0x5, 0, 0));
        switch (cases[k].desc) {
        case 0: gdt_set(0x40, 0); break;
        case 1: break;
        case 2: gdt_set(0x40, tss & ~(1ull << 47)); break;
        case 3: gdt_set(0x40, mkdesc(TSS_B, 0x60, 0x09, 0, 0)); break;
        case 4: gdt_set(0x40, mkdesc(TSS_B, 0x67, 0x0b, 0, 0)); break;
        case 5: gdt_set(0x48, mkgate(0x40, 0, 0x5, 0, 0) & ~(1ull << 47)); break;
        }
        uint8_t code[] = { 0xea, 0, 0, 0, 0, (uint8_t)cases[k].sel, 0x00 };
        load(CODE, code, sizeof(code));
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s", cases[k].what);
        struct iem_xcpt_info x = last();
        cr_assert_eq(x.vector, cases[k].vec, "%s: vector %u", cases[k].what, x.vector);
        cr_assert_eq(x.error, cases[k].err, "%s: error %#x", cases[k].what, x.error);
        cr_assert_eq(rd32(STACK - 12), CODE, "%s: EIP of the JMP", cases[k].what);
        cr_assert_eq(s->tr.sel, 0x38, "%s: still the old task", cases[k].what);
        cr_assert_eq(gdt_type(0x38), 0x8b, "%s: old task still busy", cases[k].what);
    }
}

Test(iem_task, bad_fs_in_new_task_ts_after_commit)
{
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x40, 0x00 };
    setup_b(code, sizeof(code), hlt, 1);
    wr32(TSS_B + 0x58, 0x1230);   /* FS beyond the GDT limit */
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x = last();
    cr_assert_eq(x.vector, 10);
    cr_assert_eq(x.error, 0x1230, "#TS(FS selector)");
    cr_assert_eq(s->tr.sel, 0x40, "after the commit point: TR is the new task");
    cr_assert_eq(s->gpr[4], B_ESP - 16, "frame on the new task's stack");
    cr_assert_eq(rd32(B_ESP - 16), 0x1230);
    cr_assert_eq(rd32(B_ESP - 12), TASK_B, "EIP = the new task's first instruction");
    cr_assert_eq(rd32(B_ESP - 8), IEM_TEST_SEL_CS32);
    cr_assert_eq(s->seg[4].sel, 0x1230, "FS selector loaded, descriptor not");
    cr_assert(s->seg[4].attr & CPUM_SEG_ATTR_UNUSABLE);
    cr_assert_eq(gdt_type(0x38), 0x89);
}

Test(iem_task, new_task_cs_and_ss_checks)
{
    static const struct { uint32_t off, val; unsigned vec; uint32_t err; const char *what; } cases[] = {
        { 0x4c, IEM_TEST_SEL_DS32, 10, IEM_TEST_SEL_DS32, "CS is a data segment: #TS(CS)" },
        { 0x4c, IEM_TEST_SEL_CS32_R3 & ~3u, 10, 0x28, "CS DPL 3 with RPL 0: #TS(CS)" },
        { 0x50, 0, 10, 0, "null SS: #TS(0)" },
        { 0x50, IEM_TEST_SEL_DS32_R3, 10, 0x30, "SS RPL 3 != CPL 0: #TS(SS)" },
    };
    /* #TS goes to a handler task (the SDM's advice, 6.15 "Interrupt 10"): the
     * failed task's stack may be unusable. */
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        iem_test_setup_flat32(t, CODE, STACK);
        s->gdtr.limit = 0xff;
        static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x40, 0x00 };
        setup_b(code, sizeof(code), hlt, 1);
        wr32(TSS_B + cases[k].off, cases[k].val);
        tss32_init(0x3200, TASK_B, 0x60000);
        gdt_set(0x68, mkdesc(0x3200, 0x67, 0x09, 0, 0));
        idt_set(10, mkgate(0x68, 0, 0x5, 0, 0));
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s", cases[k].what);
        struct iem_xcpt_info x = last();
        cr_assert_eq(x.vector, cases[k].vec, "%s: vector %u", cases[k].what, x.vector);
        cr_assert_eq(x.error, cases[k].err, "%s: error %#x", cases[k].what, x.error);
        cr_assert_eq(s->tr.sel, 0x68, "%s: handler task runs", cases[k].what);
        cr_assert_eq(rd16(0x3200), 0x40, "%s: linked to the failed new task", cases[k].what);
        cr_assert_eq(rd32(0x60000 - 4), cases[k].err, "%s: error code on the handler stack", cases[k].what);
        cr_assert_eq(rd32(TSS_B + 0x20), TASK_B, "%s: failed task saved at its first instruction", cases[k].what);
    }
    /* DS: a DPL 0 data segment with RPL 3 (DPL < RPL) -> #TS(DS). */
    iem_test_setup_flat32(t, CODE, STACK);
    s->gdtr.limit = 0xff;
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x40, 0x00 };
    setup_b(code, sizeof(code), hlt, 1);
    wr32(TSS_B + 0x54, IEM_TEST_SEL_DS32 | 3);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 10);
    cr_assert_eq(last().error, IEM_TEST_SEL_DS32);
    /* DS not present: #NP(DS). */
    iem_test_setup_flat32(t, CODE, STACK);
    s->gdtr.limit = 0xff;
    setup_b(code, sizeof(code), hlt, 1);
    gdt_set(0x60, mkdesc(0, 0xfffff, 0x13, 0, 0xc) & ~(1ull << 47));
    wr32(TSS_B + 0x54, 0x60);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 11);
    cr_assert_eq(last().error, 0x60);
}

Test(iem_task, tss16)
{
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x50, 0x00, 0xf4 };   /* jmp 0x50:0; hlt */
    load(CODE, code, sizeof(code));
    memset(ram + TSS_16, 0, 44);
    wr16(TSS_16 + 14, 0x100);                 /* IP */
    wr16(TSS_16 + 16, 0x0002);                /* FLAGS */
    wr16(TSS_16 + 18, 0x1616);                /* AX */
    wr16(TSS_16 + 26, 0x7000);                /* SP */
    wr16(TSS_16 + 34, IEM_TEST_SEL_DS16);     /* ES */
    wr16(TSS_16 + 36, IEM_TEST_SEL_CS16);     /* CS */
    wr16(TSS_16 + 38, IEM_TEST_SEL_DS16);     /* SS */
    wr16(TSS_16 + 40, IEM_TEST_SEL_DS16);     /* DS */
    gdt_set(0x50, mkdesc(TSS_16, 43, 0x01, 0, 0));
    static const uint8_t back[] = { 0xea, 0x00, 0x00, 0x38, 0x00 };   /* jmp 0x38:0 (ptr16:16) */
    load(0x100, back, sizeof(back));
    s->gpr[0] = 0xabcd0000;
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->tr.sel, 0x50);
    cr_assert_eq(s->eip, 0x100);
    cr_assert_eq(s->gpr[0] & 0xffff, 0x1616, "AX from the 16-bit TSS");
    cr_assert_eq(s->gpr[4] & 0xffff, 0x7000);
    cr_assert_eq(s->seg[1].sel, IEM_TEST_SEL_CS16);
    cr_assert_eq(s->seg[1].attr & CPUM_SEG_ATTR_D, 0, "16-bit code");
    cr_assert_eq(gdt_type(0x50), 0x83, "16-bit TSS busy");
    cr_assert_eq(gdt_type(0x38), 0x89);
    cr_assert(s->tr.attr & 2u);
    /* Back to the 32-bit task: the 16-bit layout is saved. */
    s->gpr[0] = 0x4242;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->tr.sel, 0x38);
    cr_assert_eq(s->eip, CODE + 8, "resumed after the first JMP, at its HLT");
    cr_assert_eq(rd16(TSS_16 + 14), 0x105, "16-bit TSS: IP after the JMP");
    cr_assert_eq(rd16(TSS_16 + 18), 0x4242, "16-bit TSS: AX saved");
    cr_assert_eq(gdt_type(0x50), 0x81, "16-bit TSS not busy after JMP away");
}

Test(iem_task, t_bit_raises_db_in_new_task)
{
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x40, 0x00 };
    setup_b(code, sizeof(code), hlt, 1);
    wr16(TSS_B + 0x64, 1);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x = last();
    cr_assert_eq(x.vector, 1);
    cr_assert_eq(s->dr[6] & 0x8000u, 0x8000u, "DR6.BT");
    cr_assert_eq(rd32(B_ESP - 12), TASK_B, "before the new task's first instruction");
    cr_assert_eq(s->tr.sel, 0x40);
}

Test(iem_task, ldt_and_cr3_loaded)
{
    /* Paging: identity map 0-4 MiB twice, under two page directories. */
    const uint32_t pd0 = 0x100000, pd1 = 0x102000, pt = 0x101000;
    memset(ram + pd0, 0, 0x3000);
    for (uint32_t k = 0; k < 1024; k++)
        wr32(pt + k * 4, (k << 12) | 3);
    wr32(pd0, pt | 3);
    wr32(pd1, pt | 3);
    s->cr3 = pd0;
    s->cr0 |= CPUM_CR0_PG;
    /* LDT at 0x3400 with one data segment (base 0x5000) at index 1 -> selector 0x0c. */
    memset(ram + 0x3400, 0, 16);
    uint64_t ld = mkdesc(0x5000, 0xffff, 0x13, 0, 0x4);
    memcpy(ram + 0x3408, &ld, 8);
    gdt_set(0x58, mkdesc(0x3400, 15, 0x02, 0, 0));
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x40, 0x00 };
    static const uint8_t task[] = { 0x3e, 0xa1, 0x00, 0x01, 0x00, 0x00, 0xf4 };  /* mov eax, [ds:0x100]; hlt */
    setup_b(code, sizeof(code), task, sizeof(task));
    wr32(TSS_B + 0x1c, pd1);
    wr16(TSS_B + 0x60, 0x58);
    wr32(TSS_B + 0x54, 0x0c);
    wr32(0x5100, 0xfeedf00d);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->cr3, pd1, "CR3 from the new TSS");
    cr_assert_eq(s->ldtr.sel, 0x58);
    cr_assert_eq(s->ldtr.base, 0x3400);
    cr_assert_eq(s->seg[3].base, 0x5000, "DS from the new LDT");
    cr_assert_eq(s->gpr[0], 0xfeedf00d);
    /* A bad LDT selector (TI=1) is #TS(LDT) in the new task. */
    iem_test_setup_flat32(t, CODE, STACK);
    s->gdtr.limit = 0xff;
    setup_b(code, sizeof(code), task, sizeof(task));
    wr16(TSS_B + 0x60, 0x5c);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 10);
    cr_assert_eq(last().error, 0x5c & 0xfffc);
    cr_assert_eq(s->tr.sel, 0x40);
}

Test(iem_task, iret_to_non_busy_link_ts)
{
    static const uint8_t code[] = { 0xcf };   /* iretd with NT=1 */
    load(CODE, code, sizeof(code));
    tss32_init(TSS_B, TASK_B, B_ESP);
    gdt_set(0x40, mkdesc(TSS_B, 0x67, 0x09, 0, 0));   /* available, not busy */
    wr16(OLD_TSS, 0x40);
    s->eflags |= CPUM_EFL_NT;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 10);
    cr_assert_eq(last().error, 0x40, "#TS(link) for a TSS that is not busy");
    cr_assert_eq(rd32(STACK - 12), CODE);
    cr_assert_eq(s->tr.sel, 0x38);
}

Test(iem_task, dr7_local_enables_cleared)
{
    static const uint8_t code[] = { 0xea, 0, 0, 0, 0, 0x40, 0x00 };
    setup_b(code, sizeof(code), hlt, 1);
    s->dr[0] = 0xfff000;   /* never executed */
    s->dr[7] = 0x400 | 0x3;   /* L0 | G0 */
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->tr.sel, 0x40);
    cr_assert_eq(s->dr[7], 0x400 | 0x2, "L0 cleared, G0 kept (17.2.4)");
}
