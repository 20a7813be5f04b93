/* SPDX-License-Identifier: MIT */
/*
 * The interpreter's debugger hooks (src/iem/iem_dbgf.c, docs/debugging.md
 * "How the debugger reaches the interpreter").  A `struct iem_dbgf` is shared
 * by every vCPU of a VM: the debugger's breakpoints and watchpoints (kept
 * here, never written into guest memory) and the trace switches.  The VM
 * adapter (src/core/dbgf_vm.c) creates it with hooks and attaches it to each
 * vCPU's interpreter on that vCPU's EMT.
 *
 * Cost: with nothing set, an attached vCPU pays one indirect call per
 * iem_exec (the `enter` hook, per time slice) and a NULL test per block
 * build.  Breakpoints are matched when a block is decoded (pages without
 * breakpoints cost nothing); watchpoints and tracing use the one-instruction
 * path of the guest debug registers (iem_dbg.c) while they are set.
 *
 * Threads: bp/watch/trace setters from any thread (the vCPUs pick a change
 * up at their next iem_exec entry: kick them out with a forced action);
 * hooks are called on the EMT of the vCPU concerned.
 */
#ifndef IXVM_IEM_DBGF_H
#define IXVM_IEM_DBGF_H

#include "ixvm/dbgf_target.h"
#include "ixvm/types.h"

struct iem_cpu;
struct pgm;

/* What the interpreter reports to the debugger. */
enum iem_dbgf_ev_kind {
    IEM_DBGF_EV_BREAK,    /* about to execute a breakpoint address (not executed) */
    IEM_DBGF_EV_WATCH,    /* the instruction just executed touched a watched range */
    IEM_DBGF_EV_STEP,     /* a debugger single-step completed */
    IEM_DBGF_EV_TRIPLE,   /* triple fault (the vCPU is in shutdown) */
};

struct iem_dbgf_event {
    enum iem_dbgf_ev_kind kind;
    enum dbgf_bp_type type;     /* BREAK: SW or HW_EXEC; WATCH: WRITE/READ/ACCESS */
    uint32_t addr;              /* BREAK: linear EIP; WATCH: the watched address */
};

/* What `enter` tells the vCPU to do. */
enum iem_dbgf_action {
    IEM_DBGF_RUN,     /* run normally */
    IEM_DBGF_STEP,    /* execute exactly one instruction, report STEP, ask again */
    IEM_DBGF_LEAVE,   /* return IXVM_INF_EM_RESCHEDULE (VM state change, teardown) */
};

struct iem_dbgf_hooks {
    /* [EMT] At every iem_exec entry and after every event: block while the
     * debugger holds the VM (servicing rendezvous and requests), then say
     * what to do.  *resumed: the vCPU was held (its first instruction then
     * runs even if a breakpoint sits on it). */
    enum iem_dbgf_action (*enter)(void *user, unsigned cpu, bool *resumed);
    /* [EMT] An event on cpu (the vCPU then calls enter). */
    void (*event)(void *user, unsigned cpu, const struct iem_dbgf_event *ev);
    /* [EMT] One record per instruction while instruction tracing is on
     * (state on entry to the instruction). */
    void (*trace)(void *user, unsigned cpu, const struct dbgf_trace_rec *r);
    /* [EMT] An interrupt or exception is being delivered (interrupt tracing):
     * vector, error code (has_err), kind "ext", "nmi", "soft", "xcpt" and the
     * CS:EIP it interrupts (for faults: the faulting instruction). */
    void (*intr)(void *user, unsigned cpu, unsigned vec, uint32_t err, bool has_err, const char *kind,
                 uint16_t cs, uint32_t eip);
    void *user;
};

struct iem_dbgf;

#define IEM_DBGF_MAX_BPS 256     /* software + hardware-exec breakpoints */
#define IEM_DBGF_MAX_HW 4        /* hardware breakpoints + watchpoints (DR0-DR3) */

int iem_dbgf_create(const struct iem_dbgf_hooks *hooks, struct iem_dbgf **out) IXVM_WUR;
void iem_dbgf_destroy(struct iem_dbgf *d);
/* [EMT of c] Attach (d NULL: detach).  Flushes c's decoded blocks. */
int iem_dbgf_attach(struct iem_cpu *c, struct iem_dbgf *d) IXVM_WUR;

/* Any thread.  Same semantics as dbgf_target_ops bp_set/bp_clear: setting an
 * existing one is not an error, clearing a missing one is NOT_FOUND, out of
 * hardware slots is BUSY, len 1/2/4/8 for watchpoints (the range is aligned
 * down to len, like DR7's LEN). */
int iem_dbgf_bp_set(struct iem_dbgf *d, enum dbgf_bp_type type, uint32_t lin, unsigned len) IXVM_WUR;
int iem_dbgf_bp_clear(struct iem_dbgf *d, enum dbgf_bp_type type, uint32_t lin, unsigned len) IXVM_WUR;
/* Is there a SW/HW_EXEC breakpoint at lin?  (type out; NULL ok) */
bool iem_dbgf_bp_find(struct iem_dbgf *d, uint32_t lin, enum dbgf_bp_type *type);
void iem_dbgf_set_trace(struct iem_dbgf *d, bool insns, bool intrs);

/*
 * Side-effect-free page walk (no A/D bit updates, no TLB fill) of the paging
 * context in s: 2-level with PSE, PAE; physical addresses above 4 GiB are
 * refused.  0 and *pa, or IXVM_ERR_NOT_FOUND when lin is not mapped.
 */
int iem_dbgf_translate(struct pgm *pgm, const struct cpum_state *s, uint32_t lin, uint64_t *pa) IXVM_WUR;

/* ---- flight recorder (always on; per executed block) ---------------------- */

#define IEM_FLIGHT_DEPTH 64u     /* blocks kept per vCPU (power of two) */

struct iem_flight_ent {
    uint32_t lin;      /* linear address of the block's first instruction */
    uint16_t n;        /* instructions the block held when entered */
    uint8_t mode;      /* enum cpum_mode */
};

/* Copy up to max of c's newest entries, oldest first; returns the count.
 * Call on c's EMT or while c is held by the debugger or stopped. */
unsigned iem_dbgf_flight(const struct iem_cpu *c, struct iem_flight_ent *out, unsigned max);

#endif
