/* SPDX-License-Identifier: MIT */
/*
 * Private to dbgf_vm.c (the debug target over the VM) and dbgf_vm_info.c
 * (tracer, flight-recorder dumps, info items).
 */
#ifndef IXVM_DBGF_VM_INT_H
#define IXVM_DBGF_VM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "ixvm/dbgf_vm.h"
#include "ixvm/iem_dbgf.h"
#include "ixvm/vmm.h"

/* One vCPU as the debugger sees it. */
struct dv_cpu {
    struct dbgf_vm *dv;                /* [const] */
    uint32_t id;                       /* [const] */
    _Atomic int parked;                /* [EMT writes] held inside the enter hook */
    _Atomic int step_req;              /* [any] a single step was asked for */
    _Atomic uint32_t steps_taken;      /* [EMT writes] steps handed out */
    /* Tracer state.  [EMT] */
    struct dbgf_disas *disas;
    struct dbgf_trace_rec prev;
    bool have_prev;
};

struct dbgf_vm {
    struct vm *vm;                     /* [const] */
    struct pgm *pgm;                   /* [const] */
    struct dbgf_vm_opts o;             /* [const] */
    struct dbgf_vm_hooks h;            /* [const] */
    struct iem_dbgf *idbg;             /* [const] the interpreter's lists */
    struct dbgf_target tgt;            /* [const] */
    _Atomic bool hold;                 /* [any, atomic] the debugger holds every vCPU */
    _Atomic bool exited;               /* [any, atomic] the VM powered off */
    _Atomic bool trace_on;             /* [any, atomic] instruction trace wanted */
    pthread_mutex_t lock;              /* cb, cb_user; trace output */
    pthread_cond_t cond;               /* a vCPU parked */
    dbgf_stop_fn *cb;                  /* [lock] */
    void *cb_user;                     /* [lock] */
    struct dbgf_flight *flight;        /* per-instruction records while tracing */
    unsigned info_registered;          /* [loop] bit i: dv_infos[i] is ours */
    struct dv_cpu *cpus;               /* [const] array of vm->ncpus */
};

/* Send a stop event to the receiver (any thread). */
void dv_report(struct dbgf_vm *dv, const struct dbgf_stop_event *ev);
/* A consistent copy of cpu's registers (held: directly, else through a
 * request to its EMT). */
int dv_get_state(struct dbgf_vm *dv, uint32_t cpu, struct cpum_state *out);
/* Read linear memory of a state's paging context; bytes read or error. */
int dv_read_lin_state(struct dbgf_vm *dv, const struct cpum_state *s, glin_t addr, void *buf, size_t len);

/* dbgf_vm_info.c */
void dv_trace_hook(void *user, unsigned cpu, const struct dbgf_trace_rec *r);
void dv_intr_hook(void *user, unsigned cpu, unsigned vec, uint32_t err, bool has_err, const char *kind,
                  uint16_t cs, uint32_t eip);
int dv_info_register(struct dbgf_vm *dv);
void dv_info_deregister(struct dbgf_vm *dv);
void dv_dump_cpu(struct dbgf_vm *dv, uint32_t cpu, const char *why);

#endif
