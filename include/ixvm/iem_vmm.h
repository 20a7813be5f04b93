/* SPDX-License-Identifier: MIT */
/*
 * The glue between the VMM's EMT loop and the interpreter (src/iem/iem_vmm.c):
 * a `struct vmm_cpu_ops` that runs each vCPU with an iem_cpu created on its
 * own EMT, delivers external interrupts (INTERRUPT_PIC through the board's
 * interrupt-acknowledge callback, INTERRUPT_NMI), feeds RDTSC from TM's
 * virtual clock, turns triple faults and board events (VM_FF_RESET,
 * VM_FF_CHECK_VM_STATE) into EM statuses, and registers statistics.
 *
 * Usage (the board, pc.c): iem_vmm_create() before vmm_create(), pass
 * &iem_vmm_cpu_ops in vmm_create_args, iem_vmm_attach() from a component's
 * init_completed (creates the per-vCPU interpreters on their EMTs),
 * iem_vmm_detach() from its term hook, iem_vmm_destroy() after.
 */
#ifndef IXVM_IEM_VMM_H
#define IXVM_IEM_VMM_H

#include "ixvm/types.h"
#include "ixvm/vmm.h"

struct pgm;
struct iom;
struct tm_mgr;
struct iem_vmm;

/* Callbacks into the board.  All run on the EMT that needs them. */
struct iem_vmm_hooks {
    /* INTA cycle of the interrupt controller: the vector to deliver. */
    uint8_t (*intr_ack)(void *user);
    /* Current level of the controller's INT output (re-checked after the
     * guest ran with interrupts disabled). */
    bool (*intr_pending)(void *user);
    /* VM_FF_RESET (reset=true) or VM_FF_CHECK_VM_STATE was raised: return
     * 0 to go on, or IXVM_INF_EM_RESET / IXVM_INF_EM_OFF / _SUSPEND. */
    int (*vm_event)(void *user, struct vcpu *vcpu, bool reset);
    /* The vCPU triple-faulted: IXVM_INF_EM_RESET (PC behaviour) or
     * IXVM_INF_EM_OFF (--no-reboot). */
    int (*triple_fault)(void *user, struct vcpu *vcpu);
    void *user;
};

struct iem_vmm_config {
    struct pgm *pgm;
    struct iom *iom;
    struct tm_mgr *tm;            /* RDTSC clock; NULL: retired instructions */
    uint64_t tsc_hz;              /* guest TSC frequency (0: 1 GHz) */
    struct iem_vmm_hooks hooks;
};

extern const struct vmm_cpu_ops iem_vmm_cpu_ops;

int iem_vmm_create(const struct iem_vmm_config *cfg, struct iem_vmm **out, struct ixvm_errinfo *err) IXVM_WUR;
/* Create every vCPU's interpreter on its EMT and register its statistics
 * (/IEM/CPUn/..., /EM/CPUn/...).  Any thread but an EMT. */
int iem_vmm_attach(struct iem_vmm *g, struct vm *vm, struct ixvm_errinfo *err) IXVM_WUR;
/* Destroy them (on their EMTs) and drop their statistics. */
void iem_vmm_detach(struct iem_vmm *g, struct vm *vm);
void iem_vmm_destroy(struct iem_vmm *g);

/* The vCPU's interpreter (NULL before attach); tests and the debugger. */
struct iem_cpu *iem_vmm_cpu(struct vcpu *vcpu);

#endif
