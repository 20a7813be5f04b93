/* SPDX-License-Identifier: MIT */
/* The interpreter's debugger hooks (src/iem/iem_dbgf.c): breakpoints kept
 * outside guest memory and matched at block build (stop before, resume runs
 * the instruction once), write/read watchpoints reported after the
 * instruction, debugger single-step, the breakpoint list semantics, the
 * side-effect-free page walk and the flight recorder.  The enter hook here
 * never blocks: while "held" it makes iem_exec return. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"
#include "ixvm/iem_dbgf.h"
#include "ixvm/pgm.h"

#define CODE 0x10000u
#define VAR 0x3000u

static struct iem_test *t;
static struct cpum_state *s;
static struct iem_dbgf *d;

static struct {
    bool hold, resume_next;
    int steps;
    int nev;
    struct iem_dbgf_event ev[8];
    uint32_t ev_eip[8];
} h;

static enum iem_dbgf_action t_enter(void *user, unsigned cpu, bool *resumed)
{
    if (h.steps > 0) {
        h.steps--;
        *resumed = true;
        return IEM_DBGF_STEP;
    }
    if (h.hold)
        return IEM_DBGF_LEAVE;
    *resumed = h.resume_next;
    h.resume_next = false;
    return IEM_DBGF_RUN;
}

static void t_event(void *user, unsigned cpu, const struct iem_dbgf_event *ev)
{
    if (h.nev < 8) {
        h.ev_eip[h.nev] = s->eip;
        h.ev[h.nev++] = *ev;
    }
    h.hold = true;
}

/* mov eax,1; mov ebx,2; add eax,ebx; mov [VAR],eax; mov ecx,[VAR]; hlt */
static const uint8_t prog[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, 0x02, 0x00, 0x00, 0x00, 0x01, 0xd8,
                                0xa3, 0x00, 0x30, 0x00, 0x00, 0x8b, 0x0d, 0x00, 0x30, 0x00, 0x00, 0xf4 };
#define EIP_ADD (CODE + 10)
#define EIP_STORE (CODE + 12)
#define EIP_LOAD (CODE + 17)
#define EIP_HLT (CODE + 23)

static void setup(void)
{
    memset(&h, 0, sizeof(h));
    cr_assert_eq(iem_test_create(&t, 4), 0);
    cr_assert_eq(iem_test_write(t, CODE, prog, sizeof(prog)), 0);
    iem_test_setup_flat32(t, CODE, 0x80000);
    s = iem_test_state(t);
    struct iem_dbgf_hooks hk = { .enter = t_enter, .event = t_event };
    cr_assert_eq(iem_dbgf_create(&hk, &d), 0);
    cr_assert_eq(iem_dbgf_attach(iem_test_cpu(t), d), 0);
}

static void teardown(void)
{
    cr_assert_eq(iem_dbgf_attach(iem_test_cpu(t), NULL), 0);
    iem_dbgf_destroy(d);
    iem_test_destroy(t);
}

TestSuite(iem_dbgf, .init = setup, .fini = teardown);

static int run(void) { return iem_exec(iem_test_cpu(t), 1000); }

/* Continue after a stop: the instruction at EIP runs even if it is a breakpoint. */
static int resume(void)
{
    h.hold = false;
    h.resume_next = true;
    return run();
}

Test(iem_dbgf, breakpoint_stops_before_and_resume_runs_it_once)
{
    uint8_t before[sizeof(prog)];
    cr_assert_eq(iem_test_read(t, CODE, before, sizeof(before)), 0);
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_SW, EIP_ADD, 1), 0);
    cr_assert_eq(run(), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(h.nev, 1);
    cr_assert_eq(h.ev[0].kind, IEM_DBGF_EV_BREAK);
    cr_assert_eq(h.ev[0].type, DBGF_BP_SW);
    cr_assert_eq(h.ev[0].addr, EIP_ADD);
    cr_assert_eq(s->eip, EIP_ADD, "stopped at %#x", s->eip);
    cr_assert_eq(s->gpr[CPUM_EAX], 1);
    cr_assert_eq(s->gpr[CPUM_EBX], 2, "the instructions before it ran");
    uint8_t after[sizeof(prog)];
    cr_assert_eq(iem_test_read(t, CODE, after, sizeof(after)), 0);
    cr_assert_arr_eq(before, after, sizeof(prog), "guest memory untouched");
    cr_assert_eq(resume(), IXVM_INF_EM_HALT);
    cr_assert_eq(h.nev, 1);
    cr_assert_eq(s->gpr[CPUM_EAX], 3);
    cr_assert_eq(s->gpr[CPUM_ECX], 3);
}

Test(iem_dbgf, breakpoint_at_block_start_and_after_clear)
{
    /* A loop: dec ecx; jnz back; hlt.  The breakpoint on dec hits every round. */
    static const uint8_t loop[] = { 0xb9, 0x03, 0x00, 0x00, 0x00, 0x49, 0x75, 0xfd, 0xf4 };
    cr_assert_eq(iem_test_write(t, CODE, loop, sizeof(loop)), 0);
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_HW_EXEC, CODE + 5, 1), 0);
    cr_assert_eq(run(), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(s->gpr[CPUM_ECX], 3);
    cr_assert_eq(h.ev[0].type, DBGF_BP_HW_EXEC);
    cr_assert_eq(resume(), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(s->eip, CODE + 5);
    cr_assert_eq(s->gpr[CPUM_ECX], 2, "one round ran");
    cr_assert_eq(iem_dbgf_bp_clear(d, DBGF_BP_HW_EXEC, CODE + 5, 1), 0);
    cr_assert_eq(resume(), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_ECX], 0);
    cr_assert_eq(h.nev, 2);
}

Test(iem_dbgf, write_watchpoint_after_the_store)
{
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_WRITE, VAR, 4), 0);
    cr_assert_eq(run(), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(h.nev, 1);
    cr_assert_eq(h.ev[0].kind, IEM_DBGF_EV_WATCH);
    cr_assert_eq(h.ev[0].type, DBGF_BP_WRITE);
    cr_assert_eq(h.ev[0].addr, VAR);
    cr_assert_eq(s->eip, EIP_LOAD, "reported after the store: %#x", s->eip);
    uint32_t v;
    cr_assert_eq(iem_test_read(t, VAR, &v, 4), 0);
    cr_assert_eq(v, 3);
    cr_assert_eq(resume(), IXVM_INF_EM_HALT, "the read does not fire a write watchpoint");
    cr_assert_eq(h.nev, 1);
}

Test(iem_dbgf, read_watchpoint_only_on_reads)
{
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_READ, VAR + 2, 1), 0);
    cr_assert_eq(run(), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(h.ev[0].type, DBGF_BP_READ);
    cr_assert_eq(s->eip, EIP_HLT, "after the load, not after the store");
    cr_assert_eq(s->gpr[CPUM_ECX], 3);
}

Test(iem_dbgf, single_step_runs_one_instruction_each)
{
    h.steps = 2;
    cr_assert_eq(run(), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(h.nev, 2);
    cr_assert_eq(h.ev[0].kind, IEM_DBGF_EV_STEP);
    cr_assert_eq(h.ev_eip[0], CODE + 5);
    cr_assert_eq(h.ev_eip[1], CODE + 10);
    cr_assert_eq(s->gpr[CPUM_EBX], 2);
    cr_assert_eq(s->gpr[CPUM_EAX], 1);
}

Test(iem_dbgf, list_semantics)
{
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_SW, 0x1000, 1), 0);
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_SW, 0x1000, 1), 0, "again: not an error");
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_WRITE, 0x2000, 3), IXVM_ERR_INVALID_PARAMETER);
    for (unsigned k = 0; k < IEM_DBGF_MAX_HW; k++)
        cr_assert_eq(iem_dbgf_bp_set(d, k & 1 ? DBGF_BP_ACCESS : DBGF_BP_HW_EXEC, 0x2000 + 8 * k, k & 1 ? 8 : 1), 0);
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_WRITE, 0x4000, 4), IXVM_ERR_BUSY, "DR0-DR3 are used up");
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_SW, 0x1001, 1), 0, "software ones are not limited to 4");
    cr_assert_eq(iem_dbgf_bp_clear(d, DBGF_BP_SW, 0x1002, 1), IXVM_ERR_NOT_FOUND);
    enum dbgf_bp_type ty;
    cr_assert(iem_dbgf_bp_find(d, 0x2000, &ty));
    cr_assert_eq(ty, DBGF_BP_HW_EXEC);
    cr_assert(!iem_dbgf_bp_find(d, 0x2008, &ty), "a watchpoint is not a breakpoint");
}

Test(iem_dbgf, page_walk_without_side_effects)
{
    uint8_t *ram = iem_test_ram(t);
    struct cpum_state st = *s;
    uint32_t pd = 0x20000, pt = 0x21000;
    memset(ram + pd, 0, 0x2000);
    uint32_t pde0 = pt | 0x3, pde2 = 0x00000083u;   /* PT; a 4 MiB page at 0 (PSE), else a PT at 0 */
    uint32_t pte = 0x5000 | 0x3;                            /* lin 0x1000 -> 0x5000, A/D clear */
    memcpy(ram + pd, &pde0, 4);
    memcpy(ram + pd + 2 * 4, &pde2, 4);
    memcpy(ram + pt + 4, &pte, 4);
    memset(ram + 0x12 * 4, 0, 4);   /* without PSE: entry 0x12 of the "table" at 0: not present */
    st.cr3 = pd;
    st.cr0 |= CPUM_CR0_PG | CPUM_CR0_PE;
    uint64_t pa;
    cr_assert_eq(iem_dbgf_translate(iem_test_pgm(t), &st, 0x1234, &pa), 0);
    cr_assert_eq(pa, 0x5234);
    cr_assert_eq(iem_dbgf_translate(iem_test_pgm(t), &st, 0x2000, &pa), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(iem_dbgf_translate(iem_test_pgm(t), &st, 0x00812345, &pa), IXVM_ERR_NOT_FOUND, "PSE off");
    st.cr4 |= CPUM_CR4_PSE;
    cr_assert_eq(iem_dbgf_translate(iem_test_pgm(t), &st, 0x00812345, &pa), 0);
    cr_assert_eq(pa, 0x00012345);
    uint32_t e;
    memcpy(&e, ram + pt + 4, 4);
    cr_assert_eq(e, pte, "no accessed/dirty bits set");
    memcpy(&e, ram + pd, 4);
    cr_assert_eq(e, pde0);
    st.cr0 &= ~CPUM_CR0_PG;
    cr_assert_eq(iem_dbgf_translate(iem_test_pgm(t), &st, 0x00812345, &pa), 0);
    cr_assert_eq(pa, 0x00812345, "paging off: linear = physical");
}

Test(iem_dbgf, flight_recorder_keeps_the_last_blocks)
{
    cr_assert_eq(iem_dbgf_bp_set(d, DBGF_BP_SW, EIP_ADD, 1), 0);
    cr_assert_eq(run(), IXVM_INF_EM_RESCHEDULE);
    cr_assert_eq(resume(), IXVM_INF_EM_HALT);
    struct iem_flight_ent e[IEM_FLIGHT_DEPTH];
    unsigned n = iem_dbgf_flight(iem_test_cpu(t), e, IEM_FLIGHT_DEPTH);
    cr_assert_geq(n, 2);
    /* The block up to the breakpoint, then the breakpoint's own block(s). */
    cr_assert_eq(e[0].lin, CODE);
    cr_assert_eq(e[0].n, 2, "the first block ends before the breakpoint");
    cr_assert_eq(e[0].mode, CPUM_MODE_PROT32);
    cr_assert_eq(e[n - 1].lin, EIP_ADD + 2, "the last block entered: after the breakpoint one");
}
