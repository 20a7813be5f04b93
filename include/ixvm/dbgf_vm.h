/* SPDX-License-Identifier: MIT */
/*
 * The debug target over a running VM (src/core/dbgf_vm.c, docs/debugging.md):
 * a struct dbgf_target for the gdb stub and the monitor, implemented with
 * the VMM (all vCPUs held together in their EMTs, servicing rendezvous and
 * requests while held), the interpreter's debugger hooks (iem_dbgf.h:
 * breakpoints, watchpoints, single-step, trace) and PGM (memory through a
 * side-effect-free page walk).  Also the instruction/interrupt tracer, the
 * flight-recorder dumps and the `info registers|mem|tlb|flight` items.
 *
 * Threads: create/destroy on the loop thread after the interpreters are
 * attached (pc_create) and before vmm_destroy; the target's hooks from any
 * thread that is not an EMT of the VM (the loop).
 */
#ifndef IXVM_DBGF_VM_H
#define IXVM_DBGF_VM_H

#include <stdio.h>

#include "ixvm/dbgf_target.h"

struct vm;
struct pgm;
struct dbgf_vm;

/* Machine operations the frontend provides (all optional). */
struct dbgf_vm_hooks {
    int (*reset)(void *user);
    int (*power_off)(void *user);
    int (*screenshot)(void *user, const char *file);
    int (*sendkey)(void *user, const char *chord);
    int (*log_spec)(void *user, const char *spec, struct ixvm_errinfo *err);
    void *user;
};

struct dbgf_vm_opts {
    bool hold_at_start;          /* --wait-for-gdb: no instruction runs until cont/step */
    bool hold_on_triple;         /* a triple fault holds the VM for inspection (gdb) */
    FILE *trace_out;             /* instruction/interrupt trace lines; NULL: stderr */
    bool trace_insns, trace_intrs;
    struct dbgf_trace_filter filter;
    const struct dbgf_sym *sym;  /* symbols for trace and dumps (may be NULL) */
    FILE *dump_out;              /* flight-recorder dumps (triple fault, guru); NULL: stderr */
    uint32_t flight_depth;       /* per-instruction records kept while tracing (0: 256) */
};

int dbgf_vm_create(struct vm *vm, struct pgm *pgm, const struct dbgf_vm_opts *opts,
                   const struct dbgf_vm_hooks *hooks, struct dbgf_vm **out, struct ixvm_errinfo *err) IXVM_WUR;
/* Let the vCPUs go, detach from the interpreters, drop the info items. */
void dbgf_vm_destroy(struct dbgf_vm *dv);
const struct dbgf_target *dbgf_vm_target(struct dbgf_vm *dv);
/* The per-instruction flight recorder (filled while tracing). */
const struct dbgf_flight *dbgf_vm_flight(struct dbgf_vm *dv);
/* The VM is gone with this exit status: report DBGF_STOP_EXITED. */
void dbgf_vm_exited(struct dbgf_vm *dv, int status);
/* Print the flight recorder of cpu (the last blocks, disassembled). */
void dbgf_vm_flight_dump(struct dbgf_vm *dv, uint32_t cpu, const struct ixvm_printer *pr);

#endif
