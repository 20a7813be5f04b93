/* SPDX-License-Identifier: MIT */
/*
 * Lifecycle operations as rendezvous (see vmm.c for the pattern), saved
 * state save/load through a ONCE rendezvous, and INIT / startup IPIs as
 * requests executed on the target EMT.
 */
#define LOG_GROUP LOG_GROUP_VMM
#include <stddef.h>
#include <string.h>

#include "ixvm/cfg.h"
#include "ixvm/log.h"
#include "ixvm/ssm.h"
#include "vmm_internal.h"

struct lc_op;

/* One lifecycle operation: intermediate and final state, per-vCPU work,
 * and which component hook runs (offset of the member in vmm_component). */
struct lc_desc {
    const char *verb;
    enum vmm_state mid;
    enum vmm_state final;           /* VMM_STATE_COUNT: back to the state before */
    void (*per_cpu)(struct vcpu *vcpu);
    size_t hook;                    /* offsetof(struct vmm_component, <hook>) */
};

struct lc_op {
    const struct lc_desc *d;
    enum vmm_state prev;            /* [written by the first EMT, read by vCPU 0] */
    struct ixvm_errinfo err;
};

typedef void lc_hook_fn(struct vm *vm, void *user);

/* Power on / reset: vCPU 0 runs, the others wait for SIPI (as on a PC). */
static void lc_cpu_start(struct vcpu *vcpu)
{
    emt_set_cpu_state(vcpu, vcpu->id == 0 ? VMM_CPU_RUNNING : VMM_CPU_WAIT_SIPI);
}

static void lc_cpu_reset(struct vcpu *vcpu)
{
    cpum_reset_state(&vcpu->cpu, false);
    if (vcpu->vm->in->ops->reset)
        vcpu->vm->in->ops->reset(vcpu, false);
    /* Pending interrupts die with the reset; requests and debugger flags stay. */
    vmcpu_ff_clear(vcpu, VMCPU_FF_ALL_MASK & ~(VMCPU_FF_REQUEST | VMCPU_FF_DBGF));
    lc_cpu_start(vcpu);
}

static const struct lc_desc lc_power_on = { "power on", VMM_STATE_POWERING_ON, VMM_STATE_RUNNING, lc_cpu_start,
                                            offsetof(struct vmm_component, power_on) };
static const struct lc_desc lc_suspend = { "suspend", VMM_STATE_SUSPENDING, VMM_STATE_SUSPENDED, NULL,
                                           offsetof(struct vmm_component, suspend) };
static const struct lc_desc lc_resume = { "resume", VMM_STATE_RESUMING, VMM_STATE_RUNNING, NULL,
                                          offsetof(struct vmm_component, resume) };
static const struct lc_desc lc_reset = { "reset", VMM_STATE_RESETTING, VMM_STATE_COUNT, lc_cpu_reset,
                                         offsetof(struct vmm_component, reset) };
static const struct lc_desc lc_power_off = { "power off", VMM_STATE_POWERING_OFF, VMM_STATE_OFF, NULL,
                                             offsetof(struct vmm_component, power_off) };

static int lc_rv_cb(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct lc_op *op = user;
    const struct lc_desc *d = op->d;

    if (vcpu->id == vm->ncpus - 1) {
        op->prev = vmm_get_state(vm);
        int rc = vmm_state_set(vm, d->mid, NULL);
        if (rc < 0)
            return ixvm_errinfo_set(&op->err, rc, "cannot %s VM '%s': it is %s (invalid transition %s -> %s)",
                                    d->verb, vm->in->name, vmm_state_name(op->prev), vmm_state_name(op->prev),
                                    vmm_state_name(d->mid));
    }
    if (d->per_cpu)
        d->per_cpu(vcpu);
    if (vcpu->id != 0)
        return 0;
    for (size_t i = 0; i < vm->in->ncomps; i++) {
        const struct vmm_component *c = &vm->in->comps[i];
        lc_hook_fn *hook = *(lc_hook_fn *const *)((const char *)c + d->hook);
        if (hook)
            hook(vm, c->user);
    }
    enum vmm_state final = d->final == VMM_STATE_COUNT ? op->prev : d->final;
    return vmm_state_set(vm, final, &op->err);
}

static int vmm_lifecycle(struct vm *vm, const struct lc_desc *d, struct ixvm_errinfo *err)
{
    if (!vm)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "cannot %s: no VM", d->verb);
    struct lc_op op = { .d = d };
    int rc = vmm_emt_rendezvous(vm, VMM_RV_TYPE_DESCENDING | VMM_RV_STOP_ON_ERROR, lc_rv_cb, &op);
    if (rc >= 0) {
        LOG_REL("VM '%s': %s done, state %s\n", vm->in->name, d->verb, vmm_state_name(vmm_get_state(vm)));
        return 0;
    }
    if (!op.err.msg[0])
        ixvm_errinfo_set(&op.err, rc, "cannot %s VM '%s': %s", d->verb, vm->in->name, ixvm_strerror(rc));
    vmm_set_last_error(vm, &op.err);
    LOG("%s\n", op.err.msg);
    if (err)
        *err = op.err;
    return rc;
}

int vmm_power_on(struct vm *vm, struct ixvm_errinfo *err) { return vmm_lifecycle(vm, &lc_power_on, err); }
int vmm_suspend(struct vm *vm, struct ixvm_errinfo *err) { return vmm_lifecycle(vm, &lc_suspend, err); }
int vmm_resume(struct vm *vm, struct ixvm_errinfo *err) { return vmm_lifecycle(vm, &lc_resume, err); }
int vmm_reset(struct vm *vm, struct ixvm_errinfo *err) { return vmm_lifecycle(vm, &lc_reset, err); }
int vmm_power_off(struct vm *vm, struct ixvm_errinfo *err) { return vmm_lifecycle(vm, &lc_power_off, err); }

/* ------------------------------------------------------------------------- */
/* Saved state                                                               */
/* ------------------------------------------------------------------------- */

struct ssm_op {
    const char *path;
    bool save;
    struct ixvm_errinfo err;
};

/* ONCE: every EMT is parked in the rendezvous while the units run. */
static int ssm_rv_cb(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct ssm_op *op = user;
    enum vmm_state prev = vmm_get_state(vm);
    enum vmm_state mid = op->save ? VMM_STATE_SAVING : VMM_STATE_LOADING;
    int rc = vmm_state_set(vm, mid, NULL);
    if (rc < 0)
        return ixvm_errinfo_set(&op->err, rc, "cannot %s VM '%s': it is %s (invalid transition %s -> %s)",
                                op->save ? "save" : "load", vm->in->name, vmm_state_name(prev),
                                vmm_state_name(prev), vmm_state_name(mid));
    uint64_t digest = cfg_state_digest(vm->in->cfg);
    if (op->save)
        rc = ssm_save(vm->in->ssm, op->path, digest, &op->err);
    else
        rc = ssm_load(vm->in->ssm, op->path, digest, &op->err);
    /* A refused load leaves the VM as it was (ssm guarantees the units). */
    int rc2 = vmm_state_set(vm, rc < 0 && !op->save ? prev : VMM_STATE_SUSPENDED, NULL);
    return rc < 0 ? rc : rc2;
}

static int vmm_ssm_op(struct vm *vm, struct ssm_op *op, struct ixvm_errinfo *err)
{
    int rc = vmm_emt_rendezvous(vm, VMM_RV_TYPE_ONCE, ssm_rv_cb, op);
    if (rc < 0) {
        if (!op->err.msg[0])
            ixvm_errinfo_set(&op->err, rc, "cannot %s '%s': %s", op->save ? "save to" : "load from", op->path,
                             ixvm_strerror(rc));
        vmm_set_last_error(vm, &op->err);
        if (err)
            *err = op->err;
    }
    return rc < 0 ? rc : 0;
}

int vmm_save(struct vm *vm, const char *path, struct ixvm_errinfo *err)
{
    if (!vm || !path || !*path)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "vmm_save: no VM or no file name");
    bool was_running = vmm_get_state(vm) == VMM_STATE_RUNNING;
    if (was_running) {
        int rc = vmm_suspend(vm, err);
        if (rc < 0)
            return rc;
    }
    struct ssm_op op = { .path = path, .save = true };
    int rc = vmm_ssm_op(vm, &op, err);
    if (was_running) {
        int rc2 = vmm_resume(vm, rc < 0 ? NULL : err);
        if (rc >= 0)
            rc = rc2;
    }
    return rc;
}

int vmm_load(struct vm *vm, const char *path, struct ixvm_errinfo *err)
{
    if (!vm || !path || !*path)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "vmm_load: no VM or no file name");
    struct ssm_op op = { .path = path, .save = false };
    return vmm_ssm_op(vm, &op, err);
}

/* ------------------------------------------------------------------------- */
/* INIT and startup IPIs                                                     */
/* ------------------------------------------------------------------------- */

static int vmm_init_ipi_req(struct vm *vm, struct vcpu *vcpu, void *user)
{
    cpum_reset_state(&vcpu->cpu, true);
    if (vm->in->ops->reset)
        vm->in->ops->reset(vcpu, true);
    vmcpu_ff_clear(vcpu, VMCPU_FF_INTERRUPT_APIC | VMCPU_FF_INTERRUPT_PIC | VMCPU_FF_INTERRUPT_NMI |
                             VMCPU_FF_INTERRUPT_SMI | VMCPU_FF_UNHALT | VMCPU_FF_UPDATE_APIC);
    emt_set_cpu_state(vcpu, VMM_CPU_WAIT_SIPI);
    LOG("INIT on vCPU %u: waiting for SIPI\n", vcpu->id);
    return 0;
}

static int vmm_sipi_req(struct vm *vm, struct vcpu *vcpu, void *user)
{
    uint8_t vector = (uint8_t)(uintptr_t)user;
    /* Active, halted and shutdown CPUs discard a SIPI (SDM Vol. 3A 10.6.1). */
    if (vmm_cpu_get_state(vcpu) != VMM_CPU_WAIT_SIPI) {
        stam_counter_inc(&vcpu->in->sipi_ignored);
        LOG("SIPI %#x on vCPU %u ignored: not waiting for SIPI\n", vector, vcpu->id);
        return 0;
    }
    cpum_sipi_state(&vcpu->cpu, vector);
    emt_set_cpu_state(vcpu, VMM_CPU_RUNNING);
    LOG("SIPI %#x on vCPU %u: starts at %04x:0000\n", vector, vcpu->id, vcpu->cpu.seg[CPUM_CS].sel);
    return 0;
}

int vmm_send_init(struct vcpu *vcpu)
{
    if (!vcpu)
        return IXVM_ERR_INVALID_PARAMETER;
    return req_call(vcpu->vm, vcpu->id, REQ_F_NO_WAIT, 0, vmm_init_ipi_req, NULL);
}

int vmm_send_startup_ipi(struct vcpu *vcpu, uint8_t vector)
{
    if (!vcpu)
        return IXVM_ERR_INVALID_PARAMETER;
    return req_call(vcpu->vm, vcpu->id, REQ_F_NO_WAIT, 0, vmm_sipi_req, (void *)(uintptr_t)vector);
}
