/* SPDX-License-Identifier: MIT */
/* Call gates and privilege transitions (SDM Vol. 3A 5.8.3-5.8.6): CALL
 * through a gate to ring 0 with the TSS stack switch and parameter copy
 * (32- and 16-bit gates), RETF imm16 back to ring 3 with the data-segment
 * nulling, same-privilege CALL/JMP through gates, conforming segments, and
 * the #GP/#NP/#TS/#SS cases with their error codes; IRET to ring 3. */
#include "test_iem_pm.h"

TestSuite(iem_gate, .init = pm_setup, .fini = pm_teardown);

#define HANDLER 0x30000u
#define ESP0    0x1ff0u      /* harness TSS.ESP0, SS0 = 0x10 */

static void gates(void)
{
    gdt_set(0x40, mkgate(IEM_TEST_SEL_CS32, HANDLER, 0xc, 3, 2));   /* DPL3 386 gate, 2 params */
    gdt_set(0x48, mkgate(IEM_TEST_SEL_CS32, HANDLER, 0xc, 0, 0));   /* DPL0 386 gate */
    gdt_set(0x50, mkdesc(0, 0xfffff, 0x1e, 0, 0xc));                /* conforming code, DPL0 */
    gdt_set(0x58, mkgate(IEM_TEST_SEL_CS32, 0x9000, 0x4, 3, 1));    /* DPL3 286 gate, 1 param */
}

static const uint8_t call_gate3[] = {
    0x68, 0x11, 0x11, 0x00, 0x00, 0x68, 0x22, 0x22, 0x00, 0x00,   /* push 0x1111; push 0x2222 */
    0x9a, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, 0xeb, 0xfe };       /* call 0x43:0; jmp $ */

Test(iem_gate, call_gate_to_ring0_copies_params)
{
    gates();
    static const uint8_t h[] = { 0xf4 };
    load(CODE, call_gate3, sizeof(call_gate3));
    load(HANDLER, h, 1);
    to_ring3(CODE, STACK);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, HANDLER + 1);
    cr_assert_eq(s->cpl, 0);
    cr_assert_eq(s->seg[1].sel, IEM_TEST_SEL_CS32);
    cr_assert_eq(s->seg[2].sel, IEM_TEST_SEL_DS32, "SS from TSS.SS0");
    uint32_t esp = s->gpr[4];
    cr_assert_eq(esp, ESP0 - 24, "CS:EIP, 2 params, SS:ESP");
    cr_assert_eq(rd32(esp), CODE + 17, "return EIP");
    cr_assert_eq(rd32(esp + 4), IEM_TEST_SEL_CS32_R3);
    cr_assert_eq(rd32(esp + 8), 0x2222, "parameter at the caller's [ESP]");
    cr_assert_eq(rd32(esp + 12), 0x1111);
    cr_assert_eq(rd32(esp + 16), STACK - 8, "caller ESP after its pushes");
    cr_assert_eq(rd32(esp + 20), IEM_TEST_SEL_DS32_R3);
}

Test(iem_gate, retf_imm_to_ring3_nulls_inner_data_segments)
{
    gates();
    static const uint8_t h[] = { 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0xca, 0x08, 0x00 };  /* mov ds,0x10; retf 8 */
    load(CODE, call_gate3, sizeof(call_gate3));
    load(HANDLER, h, sizeof(h));
    to_ring3(CODE, STACK);
    cr_assert_eq(iem_test_run(t, 20), 0);
    cr_assert_eq(s->eip, CODE + 17, "back at the JMP $ after the CALL");
    cr_assert_eq(s->cpl, 3);
    cr_assert_eq(s->seg[1].sel, IEM_TEST_SEL_CS32_R3);
    cr_assert_eq(s->seg[2].sel, IEM_TEST_SEL_DS32_R3);
    cr_assert_eq(s->gpr[4], STACK, "RETF 8 popped the parameters from the outer stack too");
    cr_assert_eq(s->seg[3].sel, 0, "DS held a DPL0 segment: nulled");
    cr_assert(s->seg[3].attr & CPUM_SEG_ATTR_UNUSABLE);
    cr_assert_eq(s->seg[0].sel, IEM_TEST_SEL_DS32_R3, "ES (DPL3) kept");
}

Test(iem_gate, call_gate_16bit)
{
    gates();
    static const uint8_t code[] = { 0x66, 0x68, 0x77, 0x77, 0x9a, 0, 0, 0, 0, 0x5b, 0x00, 0xeb, 0xfe };
    static const uint8_t h[] = { 0xf4 };
    load(CODE, code, sizeof(code));
    load(0x9000, h, 1);
    to_ring3(CODE, STACK);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, 0x9001);
    uint32_t esp = s->gpr[4];
    cr_assert_eq(esp, ESP0 - 10, "five words: IP CS param SP SS");
    cr_assert_eq(rd16(esp), (CODE + 11) & 0xffff, "16-bit IP");
    cr_assert_eq(rd16(esp + 2), IEM_TEST_SEL_CS32_R3);
    cr_assert_eq(rd16(esp + 4), 0x7777, "one word parameter");
    cr_assert_eq(rd16(esp + 6), (STACK - 2) & 0xffff);
    cr_assert_eq(rd16(esp + 8), IEM_TEST_SEL_DS32_R3);
}

Test(iem_gate, same_privilege_call_and_jmp)
{
    gates();
    static const uint8_t code[] = { 0x9a, 0, 0, 0, 0, 0x48, 0x00, 0xf4 };   /* call 0x48:0; hlt */
    static const uint8_t h[] = { 0xf4 };
    load(CODE, code, sizeof(code));
    load(HANDLER, h, 1);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, HANDLER + 1);
    cr_assert_eq(s->gpr[4], STACK - 8, "no stack switch at the same level");
    cr_assert_eq(rd32(STACK - 8), CODE + 7);
    cr_assert_eq(rd32(STACK - 4), IEM_TEST_SEL_CS32);
    iem_test_setup_flat32(t, CODE, STACK);
    s->gdtr.limit = 0xff;
    gates();
    static const uint8_t jmp[] = { 0xea, 0, 0, 0, 0, 0x48, 0x00 };
    load(CODE, jmp, sizeof(jmp));
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, HANDLER + 1);
    cr_assert_eq(s->gpr[4], STACK, "JMP through a gate pushes nothing");
}

Test(iem_gate, conforming_keeps_cpl)
{
    gates();
    static const uint8_t code[] = { 0x9a, 0x20, 0x00, 0x01, 0x00, 0x53, 0x00, 0xeb, 0xfe };  /* call 0x53:0x10020 */
    static const uint8_t f[] = { 0xeb, 0xfe };
    load(CODE, code, sizeof(code));
    load(CODE + 0x20, f, sizeof(f));
    to_ring3(CODE, STACK);
    cr_assert_eq(iem_test_run(t, 10), 0);
    cr_assert_eq(s->eip, CODE + 0x20);
    cr_assert_eq(s->seg[1].sel, 0x53, "CS.RPL = CPL 3");
    cr_assert_eq(s->cpl, 3);
    cr_assert_eq(s->gpr[4], STACK - 8, "no stack switch");
}

Test(iem_gate, faults_with_error_codes)
{
    static const struct {
        bool ring3;
        uint8_t sel, op;   /* op 0x9a call, 0xea jmp */
        int tweak;
        unsigned vec;
        uint32_t err;
        const char *what;
    } cases[] = {
        { true, 0x08, 0x9a, 0, 13, 0x08, "ring 3 far CALL to DPL0 non-conforming code: #GP(sel)" },
        { true, 0x4b, 0x9a, 0, 13, 0x48, "ring 3 CALL through a DPL0 gate: #GP(gate)" },
        { true, 0x43, 0xea, 0, 13, 0x08, "ring 3 JMP through a gate to ring 0: #GP(code sel)" },
        { true, 0x43, 0x9a, 1, 11, 0x40, "gate not present: #NP(gate)" },
        { true, 0x43, 0x9a, 2, 11, 0x60, "target code not present: #NP(code sel)" },
        { true, 0x43, 0x9a, 3, 13, 0x00, "null code selector in the gate: #GP(0)" },
        { true, 0x43, 0x9a, 4, 10, 0x30, "TSS.SS1 with DPL 3: #TS(SS)" },
        { true, 0x43, 0x9a, 5, 10, 0x00, "null TSS.SS1: #TS(0)" },
        { true, 0x43, 0x9a, 6, 12, 0x70, "no room on the new stack: #SS(SS)" },
        { true, 0x43, 0x9a, 7, 13, 0x10, "gate to a data segment: #GP(sel)" },
        { false, 0x43, 0x9a, 8, 13, 0x00, "gate offset beyond the code limit: #GP(0)" },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        iem_test_setup_flat32(t, CODE, STACK);
        s->gdtr.limit = 0xff;
        gates();
        switch (cases[k].tweak) {
        case 1: gdt_set(0x40, mkgate(IEM_TEST_SEL_CS32, HANDLER, 0xc, 3, 2) & ~(1ull << 47)); break;
        case 2:
            gdt_set(0x60, FLAT_CODE0 & ~(1ull << 47));
            gdt_set(0x40, mkgate(0x60, HANDLER, 0xc, 3, 2));
            break;
        case 3: gdt_set(0x40, mkgate(0, HANDLER, 0xc, 3, 2)); break;
        case 4: case 5: case 6:
            /* Ring 1 target: the faults' own delivery to ring 0 still works. */
            gdt_set(0x68, mkdesc(0, 0xfffff, 0x1b, 1, 0xc));
            gdt_set(0x70, mkdesc(0, 0xfffff, 0x13, 1, 0xc));
            gdt_set(0x40, mkgate(0x68, HANDLER, 0xc, 3, 2));
            wr32(IEM_TEST_TSS + 0x0c, cases[k].tweak == 6 ? 8 : 0x40000);   /* ESP1 */
            wr32(IEM_TEST_TSS + 0x10, cases[k].tweak == 4 ? IEM_TEST_SEL_DS32_R3 : cases[k].tweak == 5 ? 0 : 0x71);
            break;
        case 7: gdt_set(0x40, mkgate(IEM_TEST_SEL_DS32, HANDLER, 0xc, 3, 2)); break;
        case 8:
            gdt_set(0x60, mkdesc(0, 0xffff, 0x1b, 0, 0x4));
            gdt_set(0x40, mkgate(0x60, HANDLER, 0xc, 3, 2));
            break;
        default: break;
        }
        uint8_t code[] = { cases[k].op, 0, 0, 0, 0, cases[k].sel, 0x00 };
        load(CODE, code, sizeof(code));
        if (cases[k].ring3)
            to_ring3(CODE, STACK);
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s", cases[k].what);
        struct iem_xcpt_info x = last();
        cr_assert_eq(x.vector, cases[k].vec, "%s: vector %u", cases[k].what, x.vector);
        cr_assert_eq(x.error, cases[k].err, "%s: error %#x", cases[k].what, x.error);
        /* Frame from ring 3 on the TSS stack (or the ring-0 stack): error, EIP = the CALL. */
        uint32_t esp = s->gpr[4];
        cr_assert_eq(rd32(esp + 4), CODE, "%s: faulting EIP", cases[k].what);
        cr_assert_eq(rd32(esp + 8) & 3, cases[k].ring3 ? 3u : 0u, "%s: old CPL", cases[k].what);
    }
}

Test(iem_gate, iret_to_ring3_nulls_segments)
{
    static const uint8_t code[] = { 0x6a, 0x33, 0x68, 0xf0, 0xff, 0x07, 0x00, 0x68, 0x02, 0x02, 0x00, 0x00,
                                    0x6a, 0x2b, 0x68, 0x00, 0x01, 0x01, 0x00, 0xcf };
    static const uint8_t f[] = { 0xeb, 0xfe };
    load(CODE, code, sizeof(code));
    load(CODE + 0x100, f, sizeof(f));
    seg_load(0, IEM_TEST_SEL_DS32_R3, FLAT_DATA3);   /* ES: DPL3, kept */
    seg_load(4, IEM_TEST_SEL_CS32, FLAT_CODE0);      /* FS: DPL0 code (readable, non-conforming): nulled */
    cr_assert_eq(iem_test_run(t, 10), 0);
    cr_assert_eq(s->eip, CODE + 0x100);
    cr_assert_eq(s->cpl, 3);
    cr_assert_eq(s->gpr[4], 0x7fff0);
    cr_assert_eq(s->seg[2].sel, 0x33);
    cr_assert_eq(s->seg[3].sel, 0, "DS (DPL0 data) nulled");
    cr_assert_eq(s->seg[4].sel, 0, "FS (DPL0 code) nulled");
    cr_assert_eq(s->seg[0].sel, 0x33, "ES kept");
    cr_assert_eq(s->eflags & CPUM_EFL_IF, CPUM_EFL_IF);
}

Test(iem_gate, int_delivery_fault_reports_the_int_instruction)
{
    static const struct { uint8_t b[2]; size_t n; bool ring3; unsigned vec; uint32_t err; const char *what; } cases[] = {
        { { 0xcd, 0x40 }, 2, true, 13, 0x40 * 8 + 2, "INT 0x40 to a DPL0 gate from ring 3: #GP(vec*8+2)" },
        { { 0xcc }, 1, true, 13, 3 * 8 + 2, "INT3 to a DPL0 gate from ring 3: #GP(3*8+2)" },
        { { 0xcd, 0x41 }, 2, false, 11, 0x41 * 8 + 2, "INT 0x41 to a not-present gate: #NP(vec*8+2)" },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        iem_test_setup_flat32(t, CODE, STACK);
        idt_set(0x40, mkgate(IEM_TEST_SEL_CS32, IEM_TEST_XCPT_HLT, 0xe, 0, 0));
        idt_set(3, mkgate(IEM_TEST_SEL_CS32, IEM_TEST_XCPT_HLT, 0xe, 0, 0));
        idt_set(0x41, mkgate(IEM_TEST_SEL_CS32, IEM_TEST_XCPT_HLT, 0xe, 3, 0) & ~(1ull << 47));
        load(CODE, cases[k].b, cases[k].n);
        if (cases[k].ring3)
            to_ring3(CODE, STACK);
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s", cases[k].what);
        cr_assert_eq(last().vector, cases[k].vec, "%s", cases[k].what);
        cr_assert_eq(last().error, cases[k].err, "%s", cases[k].what);
        cr_assert_eq(rd32(s->gpr[4] + 4), CODE, "%s: EIP of the INT", cases[k].what);
    }
}
