/* SPDX-License-Identifier: MIT */
/*
 * Emulation threads: one uv_thread per vCPU that owns that vCPU's state and
 * runs the execution loop -- service forced actions by priority (rendezvous,
 * requests), then run the CPU through the registered ops, halt when it says
 * so.  Sleeping is a mutex + condvar per vCPU guarded by a Dekker flag (see
 * ff.h), so an idle vCPU costs nothing and a set flag in its wake mask wakes
 * it.  The periodic preemption timer (a uv_timer on the VM's loop) kicks
 * running vCPUs with VMCPU_FF_PREEMPT each time slice.
 */
#define LOG_GROUP LOG_GROUP_EMT
#include <stdio.h>

#include "ixvm/log.h"
#include "vmm_internal.h"

_Thread_local struct vcpu *emt_tls_cpu;

int emt_waiter_init(struct emt_waiter *w)
{
    if (uv_mutex_init(&w->lock))
        return IXVM_ERR_THREAD;
    if (uv_cond_init(&w->cond)) {
        uv_mutex_destroy(&w->lock);
        return IXVM_ERR_THREAD;
    }
    atomic_init(&w->sleeping, 0);
    atomic_init(&w->wake_vm_mask, 0);
    atomic_init(&w->wake_cpu_mask, 0);
    atomic_init(&w->wake_prio_req, false);
    w->woken = false;
    return 0;
}

void emt_waiter_destroy(struct emt_waiter *w)
{
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->lock);
}

static void emt_waiter_wake(struct emt_waiter *w)
{
    uv_mutex_lock(&w->lock);
    w->woken = true;
    uv_cond_signal(&w->cond);
    uv_mutex_unlock(&w->lock);
}

void vmm_cpu_poke(struct vcpu *vcpu)
{
    if (atomic_load(&vcpu->in->w.sleeping))
        emt_waiter_wake(&vcpu->in->w);
}

void vmm_poke_all(struct vm *vm)
{
    for (uint32_t i = 0; i < vm->ncpus; i++)
        vmm_cpu_poke(&vm->cpus[i]);
}

void ff_vcpu_notify(struct vcpu *vcpu, uint32_t flags)
{
    struct emt_waiter *w = &vcpu->in->w;
    /* seq_cst load pairs with the sleeper's seq_cst store (ff.h). */
    if (atomic_load(&w->sleeping) && (atomic_load_explicit(&w->wake_cpu_mask, memory_order_relaxed) & flags))
        emt_waiter_wake(w);
}

void ff_vm_notify(struct vm *vm, uint32_t flags)
{
    for (uint32_t i = 0; i < vm->ncpus; i++) {
        struct emt_waiter *w = &vm->cpus[i].in->w;
        if (atomic_load(&w->sleeping) && (atomic_load_explicit(&w->wake_vm_mask, memory_order_relaxed) & flags))
            emt_waiter_wake(w);
    }
}

static bool emt_wait_ready(struct vcpu *vcpu, uint32_t vm_mask, uint32_t cpu_mask, bool prio_req,
                           emt_wait_pred *pred, void *arg)
{
    struct vm *vm = vcpu->vm;
    if ((atomic_load(&vm->ff) & vm_mask) || (atomic_load(&vcpu->ff) & cpu_mask))
        return true;
    if (prio_req && req_prio_pending(vcpu))
        return true;
    if (atomic_load(&vm->in->terminate))
        return true;
    return pred && pred(vcpu, arg);
}

bool emt_wait(struct vcpu *vcpu, uint32_t vm_mask, uint32_t cpu_mask, bool prio_req,
              emt_wait_pred *pred, void *arg, uint64_t timeout_ns)
{
    struct emt_waiter *w = &vcpu->in->w;
    bool blocked = false;

    atomic_store_explicit(&w->wake_vm_mask, vm_mask, memory_order_relaxed);
    atomic_store_explicit(&w->wake_cpu_mask, cpu_mask, memory_order_relaxed);
    atomic_store_explicit(&w->wake_prio_req, prio_req, memory_order_relaxed);
    atomic_store(&w->sleeping, 1);  /* seq_cst: the Dekker store, before the checks */
    if (!emt_wait_ready(vcpu, vm_mask, cpu_mask, prio_req, pred, arg)) {
        uv_mutex_lock(&w->lock);
        while (!w->woken) {
            blocked = true;
            if (!timeout_ns) {
                uv_cond_wait(&w->cond, &w->lock);
            } else if (uv_cond_timedwait(&w->cond, &w->lock, timeout_ns) == UV_ETIMEDOUT) {
                break;
            }
        }
        w->woken = false;
        uv_mutex_unlock(&w->lock);
    }
    atomic_store(&w->sleeping, 0);
    return blocked;
}

void emt_set_cpu_state(struct vcpu *vcpu, enum vmm_cpu_state s)
{
    atomic_store_explicit(&vcpu->in->em_state, (uint32_t)s, memory_order_release);
}

enum vmm_cpu_state vmm_cpu_get_state(const struct vcpu *vcpu)
{
    return (enum vmm_cpu_state)atomic_load_explicit(&vcpu->in->em_state, memory_order_acquire);
}

const char *vmm_cpu_state_name(enum vmm_cpu_state s)
{
    static const char *const names[] = {
#define VMM_CPU_STATE_NAME(name, text) text,
        VMM_CPU_STATES(VMM_CPU_STATE_NAME)
#undef VMM_CPU_STATE_NAME
    };
    return (unsigned)s < IXVM_ARRAY_SIZE(names) ? names[s] : "?";
}

struct vcpu *vmm_get_cpu(struct vm *vm)
{
    struct vcpu *c = emt_tls_cpu;
    return c && c->vm == vm ? c : NULL;
}

bool vmm_is_emt(struct vm *vm)
{
    return vmm_get_cpu(vm) != NULL;
}

struct vcpu *vmm_get_cpu_by_id(struct vm *vm, uint32_t id)
{
    return id < vm->ncpus ? &vm->cpus[id] : NULL;
}

/*
 * Service the forced actions the EMT loop owns, highest priority first:
 * rendezvous, then requests (priority before normal inside req_process),
 * then the kicks whose only job was to get us back here.
 */
static void emt_service_ffs(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    for (int guard = 0; guard < 64; guard++) {
        if (vm_ff_is_any_set(vm, VM_FF_EMT_RENDEZVOUS)) {
            vmm_rendezvous_ff(vcpu);
            continue;
        }
        if (vmcpu_ff_is_any_set(vcpu, VMCPU_FF_REQUEST) || vm_ff_is_any_set(vm, VM_FF_REQUEST)) {
            if (req_process(vcpu, false) > 0)
                continue;
        }
        break;
    }
    if (vmcpu_ff_test_and_clear(vcpu, VMCPU_FF_PREEMPT))
        stam_counter_inc(&vcpu->in->preempts);
    vmcpu_ff_clear(vcpu, VMCPU_FF_TO_R3);
}

/* Act on what the CPU ops returned. */
static void emt_handle_exec_status(struct vcpu *vcpu, int rc)
{
    if (rc < 0) {
        char what[128];
        snprintf(what, sizeof(what), "CPU execution failed: %s (%d)", ixvm_strerror(rc), rc);
        vmm_guru(vcpu->vm, vcpu, what);
    } else if (rc == IXVM_INF_EM_HALT) {
        emt_set_cpu_state(vcpu, VMM_CPU_HALTED);
    } else if (rc == IXVM_INF_EM_WAIT_SIPI) {
        emt_set_cpu_state(vcpu, VMM_CPU_WAIT_SIPI);
    } else if (rc == IXVM_INF_EM_SUSPEND) {
        (void)vmm_suspend(vcpu->vm, NULL);
    } else if (rc == IXVM_INF_EM_RESET) {
        (void)vmm_reset(vcpu->vm, NULL);
    } else if (rc == IXVM_INF_EM_OFF || rc == IXVM_INF_EM_TERMINATE) {
        (void)vmm_power_off(vcpu->vm, NULL);
    }
}

/* HLT: sleep until an EXTERNAL_HALTED flag; an UNHALT-group flag resumes. */
static void emt_halted(struct vcpu *vcpu)
{
    if (vmcpu_ff_is_any_set(vcpu, VMCPU_FF_UNHALT_MASK)) {
        vmcpu_ff_clear(vcpu, VMCPU_FF_UNHALT);
        emt_set_cpu_state(vcpu, VMM_CPU_RUNNING);
        return;
    }
    stam_counter_inc(&vcpu->in->halts);
    if (emt_wait(vcpu, VM_FF_EXTERNAL_HALTED_MASK, VMCPU_FF_EXTERNAL_HALTED_MASK, false, NULL, NULL, 0))
        stam_counter_inc(&vcpu->in->wakeups);
}

static void emt_idle(struct vcpu *vcpu)
{
    if (emt_wait(vcpu, VM_FF_EXTERNAL_SUSPENDED_MASK, VMCPU_FF_EXTERNAL_SUSPENDED_MASK, false, NULL, NULL, 0))
        stam_counter_inc(&vcpu->in->wakeups);
}

static void emt_main(void *arg)
{
    struct vcpu *vcpu = arg;
    struct vm *vm = vcpu->vm;
    char id[16];

    emt_tls_cpu = vcpu;
    snprintf(id, sizeof(id), "cpu%u", vcpu->id);
    bool attached = log_thread_attach(id) == 0;
    LOG("EMT %u started\n", vcpu->id);

    while (!atomic_load(&vm->in->terminate)) {
        emt_service_ffs(vcpu);
        if (atomic_load(&vm->in->terminate))
            break;
        if (vmm_get_state(vm) != VMM_STATE_RUNNING) {
            emt_idle(vcpu);
            continue;
        }
        switch (vmm_cpu_get_state(vcpu)) {
        case VMM_CPU_RUNNING:
            emt_handle_exec_status(vcpu, vm->in->ops->exec(vcpu, VMM_EXEC_BUDGET));
            break;
        case VMM_CPU_HALTED:
            emt_halted(vcpu);
            break;
        case VMM_CPU_WAIT_SIPI:
            emt_idle(vcpu);
            break;
        }
    }
    LOG("EMT %u exits\n", vcpu->id);
    if (attached)
        log_thread_detach();
    emt_tls_cpu = NULL;
}

int emt_start(struct vcpu *vcpu)
{
    if (uv_thread_create(&vcpu->in->thread, emt_main, vcpu))
        return IXVM_ERR_THREAD;
    vcpu->in->thread_started = true;
    return 0;
}

void emt_join(struct vcpu *vcpu)
{
    if (vcpu->in->thread_started) {
        uv_thread_join(&vcpu->in->thread);
        vcpu->in->thread_started = false;
    }
}

/* Loop thread: each time slice, kick every vCPU that runs guest code. */
void emt_preempt_timer_cb(uv_timer_t *t)
{
    struct vm *vm = t->data;
    if (vmm_get_state(vm) != VMM_STATE_RUNNING)
        return;
    for (uint32_t i = 0; i < vm->ncpus; i++)
        if (vmm_cpu_get_state(&vm->cpus[i]) == VMM_CPU_RUNNING)
            vmcpu_ff_set(&vm->cpus[i], VMCPU_FF_PREEMPT);
}
