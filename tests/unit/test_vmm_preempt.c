/* SPDX-License-Identifier: MIT */
/*
 * VMM/UsePeriodicPreemptionTimers: with the timer on, an EMT stuck in a long
 * guest loop (a CPU op that only returns when an EXEC_BREAK forced action
 * appears) is kicked back to its loop every time slice; with it off, only
 * events (here: the power-off rendezvous) bring it back.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <time.h>

#include "ixvm/ff.h"
#include "test_vmm_helpers.h"

static _Atomic unsigned spin_exits;

/* A guest that never halts: spin until an EXEC_BREAK FF is raised. */
static int spin_exec(struct vcpu *vcpu, uint64_t budget)
{
    (void)budget;
    while (!((atomic_load_explicit(&vcpu->ff, memory_order_acquire) & VMCPU_FF_EXEC_BREAK_MASK) |
             (atomic_load_explicit(&vcpu->vm->ff, memory_order_acquire) & VM_FF_EXEC_BREAK_MASK)))
        ;
    atomic_fetch_add(&spin_exits, 1);
    return 0;
}

static void spin_reset(struct vcpu *vcpu, bool init_only)
{
    (void)vcpu;
    (void)init_only;
}

static const struct vmm_cpu_ops spin_ops = { .name = "spin", .exec = spin_exec, .reset = spin_reset };

struct stopper {
    struct vm *vm;
    unsigned ms;
};

static void stopper_thread(void *arg)
{
    struct stopper *s = arg;
    struct timespec ts = { s->ms / 1000, (long)(s->ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    vmm_stop_loop(s->vm);
}

/* Run the VM's loop for ms milliseconds with one spinning vCPU; return the
 * number of times the spinner was made to return before power-off. */
static unsigned run_spinner(const char *preempt_setting, unsigned ms)
{
    struct vmm_create_args args = { .cpu_ops = &spin_ops };
    struct vm *vm = tv_create(1, &args, preempt_setting);
    struct ixvm_errinfo err = { 0 };
    atomic_store(&spin_exits, 0);
    cr_assert_eq(vmm_power_on(vm, &err), 0, "%s", err.msg);

    struct stopper s = { vm, ms };
    uv_thread_t t;
    cr_assert_eq(uv_thread_create(&t, stopper_thread, &s), 0);
    vmm_run_loop(vm);
    uv_thread_join(&t);
    unsigned kicks = atomic_load(&spin_exits);
    cr_assert_eq(vmm_power_off(vm, &err), 0, "%s", err.msg);
    vmm_destroy(vm);
    return kicks;
}

Test(vmm_preempt, timer_on_kicks_a_spinning_emt, .timeout = 30)
{
    /* 10 ms slices over 400 ms: expect dozens of kicks; demand a handful so a
     * loaded CI machine cannot make this flaky. */
    unsigned kicks = run_spinner("VMM/UsePeriodicPreemptionTimers=true", 400);
    cr_assert_geq(kicks, 5, "only %u time-slice kicks in 400 ms", kicks);
}

Test(vmm_preempt, timer_off_leaves_a_spinning_emt_alone, .timeout = 30)
{
    unsigned kicks = run_spinner("VMM/UsePeriodicPreemptionTimers=false", 300);
    cr_assert_eq(kicks, 0, "%u kicks with the preemption timer off", kicks);
}
