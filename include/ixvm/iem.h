/* SPDX-License-Identifier: MIT */
/*
 * IEM: the i686 interpreter (IEM-DESIGN.md, docs/iem.md).
 *
 * A `struct iem_cpu` runs one vCPU's architectural state (struct cpum_state)
 * against a physical memory map (pgm) and a port space (iom).  iem_exec()
 * decodes guest code into cached blocks and runs them until the instruction
 * budget is spent, a forced-action bit in the mask is raised (checked at
 * block boundaries), the vCPU halts, or it triple-faults.
 *
 * Threading contract: an iem_cpu is owned by ONE thread (its EMT); every
 * function here except iem_stats_register must be called on that thread.
 * While iem_exec runs, the cpum_state belongs to the interpreter; between
 * calls it is authoritative and may be read or changed by the owner (the
 * next iem_exec re-reads it: EFLAGS, EIP, segment caches, control
 * registers; the TLB and jump cache are flushed on entry when CR0, CR3,
 * CR4, EFER, A20 or PGM's TLB epoch changed since the last exit, so an
 * owner that edits page tables in guest memory calls iem_flush_tlb).  Other
 * threads influence a running vCPU only through the forced-action words
 * (atomic OR, then wake the EMT) and through guest memory (pgm_phys_write,
 * which invalidates decoded code).
 */
#ifndef IXVM_IEM_H
#define IXVM_IEM_H

#include "ixvm/cpum.h"
#include "ixvm/types.h"

struct pgm;
struct iom;
struct stam;
struct iem_cpu;

struct iem_config {
    struct cpum_state *state;          /* architectural state (owned by the caller) */
    struct pgm *pgm;
    struct iom *iom;
    _Atomic uint32_t *ff_cpu;          /* per-vCPU forced actions (may be NULL) */
    _Atomic uint32_t *ff_vm;           /* VM-wide forced actions (may be NULL) */
    uint32_t ff_mask;                  /* bits of (ff_cpu | ff_vm) that stop iem_exec */
    /* Bits of ff_mask that stop iem_exec only while EFLAGS.IF=1 (maskable
     * interrupt requests): with IF=0 the guest runs on, and the block that
     * sets IF (STI, POPF, IRET, task switch) ends so the check sees them. */
    uint32_t ff_irq_mask;
    unsigned cpu_id;                   /* CPUID initial APIC id, stats path */
    bool multi_threaded;               /* other vCPUs run concurrently: LOCK uses host atomics */
    /* Virtual clock for RDTSC (guest TSC = ticks + MSR tsc_offset); NULL:
     * the retired-instruction count is used. */
    uint64_t (*clock_ticks)(void *user);
    void *clock_user;
    /* multi_threaded: run fn(arg) on the calling thread while every other
     * vCPU waits outside guest code; 0 when fn ran, negative when the
     * others could not be stopped (fn not called).  A LOCKed operand the
     * host cannot update atomically (misaligned, page-crossing, MMIO)
     * executes in there (IEM-DESIGN.md 8).  NULL: such operands take a
     * plain read-modify-write, not atomic against other vCPUs. */
    int (*exclusive)(void *user, void (*fn)(void *arg), void *arg);
    void *exclusive_user;
    /* x87 FERR# for CR0.NE=0 (legacy, PC-style) error reporting (docs/iem.md
     * "x87 FPU"): called with true when a waiting FPU instruction finds an
     * unmasked exception pending, with false when the guest clears it
     * (FNINIT, FNCLEX, FLDCW, FLDENV, FRSTOR, FNSAVE).  The board routes it
     * to IRQ13; the instruction proceeds as with IGNNE# asserted.  NULL:
     * not reported.  With CR0.NE=1 the instruction raises #MF instead. */
    void (*fpu_ferr)(void *user, bool asserted);
    void *fpu_ferr_user;
};

int iem_create(struct iem_cpu **out, const struct iem_config *cfg, struct ixvm_errinfo *err) IXVM_WUR;
void iem_destroy(struct iem_cpu *c);

/*
 * Run up to `budget` instructions.  Returns 0 when the budget is spent,
 * IXVM_INF_EM_HALT after HLT (or when called while halted),
 * IXVM_INF_EM_RESCHEDULE when (ff_cpu | ff_vm) & ff_mask stopped it,
 * IXVM_INF_EM_RESET on a triple fault (the vCPU is then in shutdown:
 * the caller resets it), negative on an internal error.
 * While an interrupt shadow (STI, MOV SS, POP SS) is active, one instruction
 * runs before the forced actions are looked at.
 */
int iem_exec(struct iem_cpu *c, int64_t budget) IXVM_WUR;

/* IF=1, no STI/MOV SS shadow, not inside NMI...: a maskable interrupt may be
 * injected now. */
bool iem_can_take_interrupt(const struct iem_cpu *c);
/* NMI not blocked (no NMI handler running since the last IRET). */
bool iem_can_take_nmi(const struct iem_cpu *c);
/*
 * Deliver an external interrupt (vector from the PIC/APIC) or an NMI
 * (nmi=true, vector ignored: 2) now, through the IVT/IDT; wakes a halted
 * vCPU.  Returns 0, IXVM_INF_EM_RESET on a triple fault while delivering,
 * or IXVM_ERR_INVALID_STATE when interrupts can't be taken now.
 */
int iem_inject_interrupt(struct iem_cpu *c, uint8_t vector, bool nmi) IXVM_WUR;

/*
 * Drop the interpreter's own state for a RESET (init_only=false) or INIT:
 * decoded blocks, TLB, halted/shutdown, interrupt shadow, NMI blocking.
 * The architectural registers are reset by the caller first with
 * cpum_reset_state() (IEM does not link against the VMM).
 */
void iem_reset(struct iem_cpu *c, bool init_only);

bool iem_is_halted(const struct iem_cpu *c);
/* Flush the TLB and jump cache (after the owner changed paging state). */
void iem_flush_tlb(struct iem_cpu *c);
/* Retired instructions since creation. */
uint64_t iem_instructions(const struct iem_cpu *c);

/* The last exception or interrupt delivered (tests, debugger):
 * vector, error code (or 0), and how many were delivered so far. */
struct iem_xcpt_info {
    uint64_t count;
    uint8_t vector;
    bool has_error;
    uint32_t error;
    uint32_t cr2;
};
void iem_last_xcpt(const struct iem_cpu *c, struct iem_xcpt_info *out);

/* Register /IEM/CPU<n>/... statistics (may be called from any thread
 * before the vCPU runs). */
int iem_stats_register(struct iem_cpu *c, struct stam *st) IXVM_WUR;

/* "musttail" or "trampoline": the dispatch variant this build uses. */
const char *iem_dispatch_kind(void);

/*
 * ---- Test harness (docs/iem.md "Test harness") ----
 * A self-contained machine: RAM, an empty port space, a cpum_state and an
 * iem_cpu.  Stable API for unit tests, the differential tester and
 * benchmarks.  Flat 32-bit setup puts a GDT at IEM_TEST_GDT, an IDT at
 * IEM_TEST_IDT whose 256 interrupt gates all lead to a HLT at
 * IEM_TEST_XCPT_HLT, and a TSS at IEM_TEST_TSS; the bytes below
 * IEM_TEST_FREE are reserved for them.
 */
#define IEM_TEST_GDT      0x0800u
#define IEM_TEST_IDT      0x1000u   /* 256 gates, 2 KiB */
#define IEM_TEST_XCPT_HLT 0x1800u   /* every exception vector: HLT here */
#define IEM_TEST_TSS      0x1900u
#define IEM_TEST_FREE     0x2000u
/* Selectors of the flat setup. */
#define IEM_TEST_SEL_CS32 0x08
#define IEM_TEST_SEL_DS32 0x10
#define IEM_TEST_SEL_CS16 0x18
#define IEM_TEST_SEL_DS16 0x20
#define IEM_TEST_SEL_CS32_R3 0x2b
#define IEM_TEST_SEL_DS32_R3 0x33
#define IEM_TEST_SEL_TSS  0x38

struct iem_test;
int iem_test_create(struct iem_test **out, unsigned ram_mib) IXVM_WUR;
/* Likewise with ram_above_4g bytes of RAM at 4 GiB (pgm_create_split). */
int iem_test_create_split(struct iem_test **out, unsigned ram_mib, uint64_t ram_above_4g) IXVM_WUR;
void iem_test_destroy(struct iem_test *t);
struct cpum_state *iem_test_state(struct iem_test *t);
struct iem_cpu *iem_test_cpu(struct iem_test *t);
struct pgm *iem_test_pgm(struct iem_test *t);
struct iom *iem_test_iom(struct iem_test *t);
/* Host address of guest-physical 0 (RAM is contiguous). */
uint8_t *iem_test_ram(struct iem_test *t);
/* Copy bytes in/out of guest-physical memory (through pgm_phys_*, so
 * decoded code is invalidated). */
int iem_test_write(struct iem_test *t, gphys_t pa, const void *buf, size_t len) IXVM_WUR;
int iem_test_read(struct iem_test *t, gphys_t pa, void *buf, size_t len) IXVM_WUR;
/* Flat 32-bit protected mode, CPL 0, paging off, IF=0, all GPRs 0. */
void iem_test_setup_flat32(struct iem_test *t, uint32_t eip, uint32_t esp);
/* Real mode (CS:IP, SS:SP, DS=ES=FS=GS=0), IF=0, all GPRs 0. */
void iem_test_setup_real(struct iem_test *t, uint16_t cs, uint16_t ip, uint16_t ss, uint16_t sp);
/* iem_exec(max_instr) repeated until a non-zero status; returns it
 * (IXVM_INF_EM_HALT after HLT, 0 if max_instr ran out). */
int iem_test_run(struct iem_test *t, int64_t max_instr) IXVM_WUR;
/* Exactly one instruction (or one exception delivery). Returns iem_exec's status. */
int iem_test_step(struct iem_test *t) IXVM_WUR;

#endif
