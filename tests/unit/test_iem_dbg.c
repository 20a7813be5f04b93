/* SPDX-License-Identifier: MIT */
/* Debug registers and #DB (SDM Vol. 3A chapter 17, 18 in recent editions):
 * instruction breakpoints (fault, RF), DR7 enables, data write and
 * read/write breakpoints (trap, LEN alignment), I/O breakpoints (CR4.DE),
 * single-step (POPF timing, INT n and faults under TF), DR7.GD, DR4/DR5,
 * B0-B3 for a matching disabled breakpoint, RF pushed by faults. */
#include "test_iem_pm.h"

TestSuite(iem_dbg, .init = pm_setup, .fini = pm_teardown);

#define DB_HANDLER 0x30000u
#define DB_COUNT   0x4000u
#define DB_EIP(k)  (0x4010u + (k) * 4)
#define DB_DR6(k)  (0x4040u + (k) * 4)
#define DB_DR7(k)  (0x4070u + (k) * 4)
#define VAR        0x5000u

/* #DB handler: log EIP, DR6, DR7; clear DR6; set RF in the image; IRETD. */
static const uint8_t db_handler[] = {
    0x50, 0x51, 0x8b, 0x0d, 0x00, 0x40, 0x00, 0x00, 0x8b, 0x44, 0x24, 0x08, 0x89, 0x04, 0x8d, 0x10, 0x40,
    0x00, 0x00, 0x0f, 0x21, 0xf0, 0x89, 0x04, 0x8d, 0x40, 0x40, 0x00, 0x00, 0x0f, 0x21, 0xf8, 0x89, 0x04,
    0x8d, 0x70, 0x40, 0x00, 0x00, 0xff, 0x05, 0x00, 0x40, 0x00, 0x00, 0x31, 0xc0, 0x0f, 0x23, 0xf0, 0x81,
    0x4c, 0x24, 0x10, 0x00, 0x00, 0x01, 0x00, 0x59, 0x58, 0xcf };

static void db_setup(const uint8_t *code, size_t n)
{
    load(CODE, code, n);
    load(DB_HANDLER, db_handler, sizeof(db_handler));
    idt_set(1, mkgate(IEM_TEST_SEL_CS32, DB_HANDLER, 0xe, 0, 0));
    memset(ram + DB_COUNT, 0, 0x100);
    wr32(VAR, 0x12345678);
    s->dr[6] = 0xffff0ff0u;
    s->dr[7] = 0x400;
}
static uint32_t db_count(void) { return rd32(DB_COUNT); }

Test(iem_dbg, instruction_breakpoint_fault_and_rf)
{
    /* mov eax,1; mov dr7,eax; xor ecx,ecx; inc ecx (+10); xor eax,eax; mov dr7,eax; hlt */
    static const uint8_t code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x23, 0xf8, 0x31, 0xc9, 0x41,
                                    0x31, 0xc0, 0x0f, 0x23, 0xf8, 0xf4 };
    db_setup(code, sizeof(code));
    s->dr[0] = CODE + 10;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, CODE + sizeof(code));
    cr_assert_eq(db_count(), 1, "one #DB");
    cr_assert_eq(rd32(DB_EIP(0)), CODE + 10, "fault: EIP of the instruction");
    cr_assert_eq(rd32(DB_DR6(0)) & 0xe00f, 0x1, "DR6.B0 only");
    cr_assert_eq(s->gpr[1], 1, "RF let the instruction run exactly once");
    cr_assert_eq(s->eflags & CPUM_EFL_RF, 0, "RF cleared after that instruction");
}

Test(iem_dbg, dr7_enable_bits)
{
    static const uint8_t code[] = { 0x90, 0x90, 0x90, 0xf4 };
    db_setup(code, sizeof(code));
    s->dr[0] = CODE + 1;
    s->dr[1] = CODE + 2;
    s->dr[7] = 0x400 | (1u << 3);   /* G1 only */
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(db_count(), 1, "DR0 disabled, DR1 enabled");
    cr_assert_eq(rd32(DB_EIP(0)), CODE + 2);
    cr_assert_eq(rd32(DB_DR6(0)) & 0xf, 0x2, "B1");
}

/* mov eax,[VAR] (0); mov [VAR],eax (5); nop (10); mov word [VAR+2],5 (11); nop (20);
 * mov byte [VAR+4],1 (21); hlt (28) */
static const uint8_t data_code[] = { 0xa1, 0x00, 0x50, 0x00, 0x00, 0xa3, 0x00, 0x50, 0x00, 0x00, 0x90, 0x66,
                                     0xc7, 0x05, 0x02, 0x50, 0x00, 0x00, 0x05, 0x00, 0x90, 0xc6, 0x05, 0x04,
                                     0x50, 0x00, 0x00, 0x01, 0xf4 };

Test(iem_dbg, data_breakpoints)
{
    static const struct {
        uint32_t addr, dr7;
        unsigned n, count;
        uint32_t eips[3];
        const char *what;
    } cases[] = {
        { VAR, (1u << 2) | (1u << 20) | (3u << 22), 1, 2, { CODE + 10, CODE + 20 },
          "DR1 write, 4 bytes: the read does not match, the word write inside the range does" },
        { VAR, (1u << 4) | (3u << 24) | (3u << 26), 2, 3, { CODE + 5, CODE + 10, CODE + 20 },
          "DR2 read/write, 4 bytes: the read traps too" },
        { VAR + 1, (1u << 0) | (1u << 16) | (1u << 18), 0, 1, { CODE + 10 },
          "DR0 write, 2 bytes at VAR+1 (aligned down to VAR)" },
        { VAR + 4, (1u << 6) | (1u << 28) | (0u << 30), 3, 1, { CODE + 28 },
          "DR3 write, 1 byte at VAR+4" },
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        iem_test_setup_flat32(t, CODE, STACK);
        db_setup(data_code, sizeof(data_code));
        s->dr[cases[k].n] = cases[k].addr;
        s->dr[7] = 0x400 | cases[k].dr7;
        cr_assert_eq(iem_test_run(t, 200), IXVM_INF_EM_HALT, "%s", cases[k].what);
        cr_assert_eq(db_count(), cases[k].count, "%s: count %u", cases[k].what, db_count());
        for (unsigned j = 0; j < cases[k].count; j++) {
            cr_assert_eq(rd32(DB_EIP(j)), cases[k].eips[j], "%s: trap %u EIP %#x", cases[k].what, j,
                         rd32(DB_EIP(j)));
            cr_assert_eq(rd32(DB_DR6(j)) & 0xe00f, 1u << cases[k].n, "%s: DR6", cases[k].what);
        }
        cr_assert_eq(rd16(VAR + 2), 5, "%s: the stores completed", cases[k].what);
    }
}

Test(iem_dbg, io_breakpoint_needs_cr4_de)
{
    /* in al,0x7f; in al,0x7e (+2); nop (+4); out 0x7c,ax (+5); hlt */
    static const uint8_t code[] = { 0xe4, 0x7f, 0xe4, 0x7e, 0x90, 0x66, 0xe7, 0x7c, 0xf4 };
    db_setup(code, sizeof(code));
    s->cr4 |= CPUM_CR4_DE;
    s->dr[3] = 0x7e;
    s->dr[7] = 0x400 | (1u << 6) | (2u << 28);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(db_count(), 1, "only the matching port");
    cr_assert_eq(rd32(DB_EIP(0)), CODE + 4, "trap after the IN");
    cr_assert_eq(rd32(DB_DR6(0)) & 0xe00f, 0x8, "B3");
    /* 4-byte range 0x7c-0x7f: all three accesses match. */
    iem_test_setup_flat32(t, CODE, STACK);
    db_setup(code, sizeof(code));
    s->cr4 |= CPUM_CR4_DE;
    s->dr[3] = 0x7e;
    s->dr[7] = 0x400 | (1u << 6) | (2u << 28) | (3u << 30);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(db_count(), 3);
    /* Without CR4.DE, RW=10 is not an I/O breakpoint. */
    iem_test_setup_flat32(t, CODE, STACK);
    db_setup(code, sizeof(code));
    s->dr[3] = 0x7e;
    s->dr[7] = 0x400 | (1u << 6) | (2u << 28);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(db_count(), 0);
}

Test(iem_dbg, single_step)
{
    /* pushfd; pushfd; or dword [esp],0x100; popfd (+9); nop (+10); nop (+11); popfd (+12); hlt (+13) */
    static const uint8_t code[] = { 0x9c, 0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d, 0x90, 0x90,
                                    0x9d, 0xf4 };
    db_setup(code, sizeof(code));
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(db_count(), 3, "one trap per instruction with TF=1, none after the POPF that set it");
    cr_assert_eq(rd32(DB_EIP(0)), CODE + 11);
    cr_assert_eq(rd32(DB_EIP(1)), CODE + 12);
    cr_assert_eq(rd32(DB_EIP(2)), CODE + 13, "trap after the POPF that cleared TF");
    for (unsigned k = 0; k < 3; k++)
        cr_assert_eq(rd32(DB_DR6(k)) & 0xe00f, 0x4000, "DR6.BS");
    cr_assert_eq(s->eflags & CPUM_EFL_TF, 0);
}

Test(iem_dbg, single_step_int_and_fault)
{
    /* INT n clears TF: the handler runs without a #DB first. */
    static const uint8_t code[] = { 0xcd, 0x30, 0xf4 };
    db_setup(code, sizeof(code));
    s->eflags |= CPUM_EFL_TF;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, HLT_EIP);
    cr_assert_eq(last().vector, 0x30);
    cr_assert_eq(db_count(), 0, "no single-step trap for INT n");
    cr_assert_eq(rd32(STACK - 4) & CPUM_EFL_TF, CPUM_EFL_TF, "TF=1 in the pushed EFLAGS");
    /* A faulting instruction under TF: the fault, no trap. */
    static const uint8_t ud[] = { 0x0f, 0x0b };
    iem_test_setup_flat32(t, CODE, STACK);
    db_setup(ud, sizeof(ud));
    s->eflags |= CPUM_EFL_TF;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 6);
    cr_assert_eq(db_count(), 0);
    cr_assert_eq(rd32(STACK - 12), CODE, "#UD at the instruction");
    cr_assert_eq(rd32(STACK - 4) & (CPUM_EFL_TF | CPUM_EFL_RF), CPUM_EFL_TF | CPUM_EFL_RF,
                 "TF kept and RF set in the fault's EFLAGS image");
}

Test(iem_dbg, general_detect)
{
    static const uint8_t code[] = { 0x0f, 0x21, 0xc0, 0xf4 };   /* mov eax, dr0; hlt */
    db_setup(code, sizeof(code));
    s->dr[0] = 0xabcd;
    s->dr[7] = 0x400 | 0x2000;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(db_count(), 1);
    cr_assert_eq(rd32(DB_EIP(0)), CODE, "fault on the MOV DR");
    cr_assert_eq(rd32(DB_DR6(0)) & 0xe00f, 0x2000, "DR6.BD");
    cr_assert_eq(rd32(DB_DR7(0)) & 0x2000, 0, "GD cleared on entry to the handler");
    cr_assert_eq(s->gpr[0], 0xabcd, "the MOV ran after the handler");
}

Test(iem_dbg, dr4_dr5_alias_or_ud)
{
    static const uint8_t code[] = { 0x0f, 0x21, 0xe0, 0x0f, 0x21, 0xeb, 0xf4 };   /* mov eax,dr4; mov ebx,dr5 */
    db_setup(code, sizeof(code));
    s->dr[6] = 0xffff0ff1u;
    s->dr[7] = 0x400 | (1u << 1);
    s->dr[1] = 0xfff000;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[0], 0xffff0ff1u, "DR4 reads DR6");
    cr_assert_eq(s->gpr[3], 0x402u, "DR5 reads DR7");
    iem_test_setup_flat32(t, CODE, STACK);
    db_setup(code, sizeof(code));
    s->cr4 |= CPUM_CR4_DE;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 6, "CR4.DE: DR4 is #UD");
    cr_assert_eq(rd32(STACK - 12), CODE);
    /* MOV DR at CPL 3: #GP(0). */
    iem_test_setup_flat32(t, CODE, STACK);
    db_setup(code, sizeof(code));
    to_ring3(CODE, STACK);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 13);
    cr_assert_eq(last().error, 0);
}

Test(iem_dbg, mov_dr_masks_and_arming)
{
    /* mov eax, 0xffffffff; mov dr6, eax; mov dr7, eax ... via registers set directly. */
    static const uint8_t code[] = { 0x0f, 0x23, 0xf0, 0x0f, 0x23, 0xfb, 0x0f, 0x21, 0xf1, 0x0f, 0x21, 0xfa, 0xf4 };
    /* mov dr6,eax; mov dr7,ebx; mov ecx,dr6; mov edx,dr7; hlt */
    db_setup(code, sizeof(code));
    s->gpr[0] = 0xffffffffu;
    s->gpr[3] = 0x00000100u;   /* LE only: nothing armed */
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[1], 0xffffeff0u | 0xf | 0xe000u, "DR6: bit 12 reads 0");
    cr_assert_eq(s->gpr[2], 0x500u, "DR7: bit 10 reads 1");
    cr_assert_eq(db_count(), 0);
}

Test(iem_dbg, disabled_breakpoint_reported_with_single_step)
{
    static const uint8_t code[] = { 0x90, 0x90, 0xf4 };
    db_setup(code, sizeof(code));
    s->dr[0] = CODE;                 /* execute, disabled */
    s->dr[1] = 0xfff000;             /* enabled, never hit */
    s->dr[7] = 0x400 | (1u << 3);
    s->eflags |= CPUM_EFL_TF;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert(db_count() >= 1);
    cr_assert_eq(rd32(DB_EIP(0)), CODE + 1);
    cr_assert_eq(rd32(DB_DR6(0)) & 0xe00f, 0x4001, "BS and B0 of the matching disabled breakpoint");
}
