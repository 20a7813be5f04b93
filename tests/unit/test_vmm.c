/* SPDX-License-Identifier: MIT */
/*
 * VMM core tests: lifecycle, init phases, forced actions and waking, info
 * fflags, requests, rendezvous of every type, STOP_ON_ERROR, nesting,
 * non-EMT callers, INIT/SIPI, assertions, the `vmm` SSM unit, idle CPU use.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ixvm/dbgf.h"
#include "ixvm/ssm.h"
#include "ixvm/stam.h"
#include "test_vmm_helpers.h"

/* ------------------------------------------------------------------ lifecycle */

struct cb_log {
    int n;
    enum vmm_state from[32], to[32];
};

static void cb_record(struct vm *vm, enum vmm_state to, enum vmm_state from, void *user)
{
    struct cb_log *l = user;
    if (l->n < 32) {
        l->from[l->n] = from;
        l->to[l->n] = to;
        l->n++;
    }
}

Test(vmm_lifecycle, valid_transitions_and_callbacks)
{
    struct vm *vm = tv_create(2, NULL, NULL);
    struct cb_log log = { 0 };
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_CREATED);
    cr_assert_eq(vmm_state_cb_register(vm, cb_record, &log), 0);
    cr_assert_eq(vmm_power_on(vm, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_RUNNING);
    cr_assert_eq(vmm_suspend(vm, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_SUSPENDED);
    cr_assert_eq(vmm_reset(vm, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_SUSPENDED, "reset keeps a suspended VM suspended");
    cr_assert_eq(vmm_resume(vm, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_reset(vm, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_RUNNING);
    cr_assert_eq(vmm_power_off(vm, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_OFF);

    static const enum vmm_state expect[][2] = {
        { VMM_STATE_CREATED, VMM_STATE_POWERING_ON }, { VMM_STATE_POWERING_ON, VMM_STATE_RUNNING },
        { VMM_STATE_RUNNING, VMM_STATE_SUSPENDING },  { VMM_STATE_SUSPENDING, VMM_STATE_SUSPENDED },
        { VMM_STATE_SUSPENDED, VMM_STATE_RESETTING }, { VMM_STATE_RESETTING, VMM_STATE_SUSPENDED },
        { VMM_STATE_SUSPENDED, VMM_STATE_RESUMING },  { VMM_STATE_RESUMING, VMM_STATE_RUNNING },
        { VMM_STATE_RUNNING, VMM_STATE_RESETTING },   { VMM_STATE_RESETTING, VMM_STATE_RUNNING },
        { VMM_STATE_RUNNING, VMM_STATE_POWERING_OFF }, { VMM_STATE_POWERING_OFF, VMM_STATE_OFF },
    };
    cr_assert_eq(log.n, (int)IXVM_ARRAY_SIZE(expect));
    for (int i = 0; i < log.n; i++) {
        cr_expect_eq(log.from[i], expect[i][0], "callback %d: from %s", i, vmm_state_name(log.from[i]));
        cr_expect_eq(log.to[i], expect[i][1], "callback %d: to %s", i, vmm_state_name(log.to[i]));
    }
    cr_assert_eq(vmm_state_cb_deregister(vm, cb_record, &log), 0);
    cr_assert_eq(vmm_state_cb_deregister(vm, cb_record, &log), IXVM_ERR_NOT_FOUND);
    vmm_destroy(vm);
    cr_assert_eq(log.n, (int)IXVM_ARRAY_SIZE(expect), "deregistered callback not called");
}

Test(vmm_lifecycle, invalid_transitions_name_both_states)
{
    struct vm *vm = tv_create(2, NULL, NULL);
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(vmm_suspend(vm, &err), IXVM_ERR_INVALID_STATE);
    cr_assert(strstr(err.msg, "CREATED") && strstr(err.msg, "SUSPENDING"), "message: %s", err.msg);
    cr_assert_eq(vmm_resume(vm, &err), IXVM_ERR_INVALID_STATE);
    cr_assert_eq(vmm_power_on(vm, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_power_on(vm, &err), IXVM_ERR_INVALID_STATE);
    cr_assert(strstr(err.msg, "RUNNING") && strstr(err.msg, "POWERING_ON"), "message: %s", err.msg);
    cr_assert_eq(vmm_resume(vm, &err), IXVM_ERR_INVALID_STATE);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_RUNNING, "failed transition changed nothing");
    cr_assert_eq(vmm_power_off(vm, &err), 0);
    cr_assert_eq(vmm_reset(vm, &err), IXVM_ERR_INVALID_STATE);
    cr_assert(strstr(vmm_last_error(vm), "OFF"), "%s", vmm_last_error(vm));
    cr_assert(!vmm_state_transition_ok(VMM_STATE_OFF, VMM_STATE_RUNNING));
    cr_assert(vmm_state_transition_ok(VMM_STATE_RUNNING, VMM_STATE_SUSPENDING));
    vmm_destroy(vm);
}

/* Components record the order of every hook. */
struct comp_trace {
    char buf[512];
};

static void trace(struct comp_trace *t, const char *s)
{
    strncat(t->buf, s, sizeof(t->buf) - strlen(t->buf) - 1);
}

#define COMP_HOOKS(ID)                                                                       \
    static int c##ID##_init(struct vm *vm, void *u) { trace(u, "i" #ID " "); return 0; }     \
    static int c##ID##_done(struct vm *vm, void *u, enum vmm_init_phase p)                   \
    { trace(u, p == VMM_INIT_COMPLETED_RING3 ? "r3_" #ID " " : "r0_" #ID " "); return 0; }   \
    static void c##ID##_on(struct vm *vm, void *u) { trace(u, "on" #ID " "); }               \
    static void c##ID##_off(struct vm *vm, void *u) { trace(u, "off" #ID " "); }             \
    static void c##ID##_term(struct vm *vm, void *u) { trace(u, "t" #ID " "); }
COMP_HOOKS(A)
COMP_HOOKS(B)

static int cfail_init(struct vm *vm, void *u)
{
    trace(u, "iF ");
    return IXVM_ERR_INJECTED;
}

Test(vmm_lifecycle, init_phase_order_and_term)
{
    struct comp_trace t = { "" };
    const struct vmm_component comps[] = {
        { .name = "A", .init = cA_init, .init_completed = cA_done, .power_on = cA_on, .power_off = cA_off,
          .term = cA_term, .user = &t },
        { .name = "B", .init = cB_init, .init_completed = cB_done, .power_on = cB_on, .power_off = cB_off,
          .term = cB_term, .user = &t },
    };
    struct vmm_create_args args = { comps, 2, NULL };
    struct vm *vm = tv_create(2, &args, NULL);
    cr_assert_str_eq(t.buf, "iA iB r3_A r3_B r0_A r0_B ");
    struct ixvm_errinfo err;
    cr_assert_eq(vmm_power_on(vm, &err), 0);
    vmm_destroy(vm);
    cr_assert_str_eq(t.buf, "iA iB r3_A r3_B r0_A r0_B onA onB offA offB tB tA ");

    /* A failing init terms what was inited, in reverse, and names the component. */
    struct comp_trace t2 = { "" };
    const struct vmm_component comps2[] = {
        { .name = "A", .init = cA_init, .term = cA_term, .user = &t2 },
        { .name = "F", .init = cfail_init, .term = cB_term, .user = &t2 },
    };
    struct cfg *cfg;
    cr_assert_eq(cfg_create(&cfg), 0);
    struct vmm_create_args args2 = { comps2, 2, NULL };
    struct vm *vm2 = NULL;
    cr_assert_eq(vmm_create(cfg, &args2, &vm2, &err), IXVM_ERR_INJECTED);
    cfg_destroy(cfg);
    cr_assert_null(vm2);
    cr_assert(strstr(err.msg, "'F'"), "%s", err.msg);
    cr_assert_str_eq(t2.buf, "iA iF tA ");
}

/* ------------------------------------------------------------------ FF */

Test(vmm_ff, set_clear_test_and_clear)
{
    struct vm *vm = tv_create(2, NULL, NULL);
    struct vcpu *c = &vm->cpus[1];
    cr_assert(!vm_ff_is_set(vm, VM_FF_PDM_DMA));
    vm_ff_set(vm, VM_FF_PDM_DMA | VM_FF_DBGF);
    cr_assert(vm_ff_is_set(vm, VM_FF_PDM_DMA | VM_FF_DBGF));
    cr_assert(vm_ff_is_any_set(vm, VM_FF_DBGF | VM_FF_RESET));
    cr_assert(vm_ff_test_and_clear(vm, VM_FF_DBGF));
    cr_assert(!vm_ff_test_and_clear(vm, VM_FF_DBGF));
    vm_ff_clear(vm, VM_FF_PDM_DMA);
    cr_assert(!vm_ff_is_any_set(vm, VM_FF_PDM_DMA | VM_FF_DBGF));

    vmcpu_ff_set(c, VMCPU_FF_IEM);
    cr_assert(vmcpu_ff_is_set(c, VMCPU_FF_IEM));
    cr_assert(!vmcpu_ff_is_set(&vm->cpus[0], VMCPU_FF_IEM));
    cr_assert(vmcpu_ff_test_and_clear(c, VMCPU_FF_IEM));
    cr_assert(!vmcpu_ff_is_any_set(c, VMCPU_FF_IEM));

    /* Table-derived names and groups. */
    cr_assert_str_eq(vm_ff_name(VM_FF_REQUEST_BIT), "REQUEST");
    cr_assert_str_eq(vmcpu_ff_mnemonic(VMCPU_FF_INTERRUPT_PIC_BIT), "PIC");
    cr_assert(VM_FF_EXTERNAL_HALTED_MASK & VM_FF_EMT_RENDEZVOUS);
    cr_assert(VM_FF_EXTERNAL_SUSPENDED_MASK & VM_FF_EMT_RENDEZVOUS);
    cr_assert(VMCPU_FF_EXTERNAL_HALTED_MASK & VMCPU_FF_INTERRUPT_APIC);
    cr_assert(!(VMCPU_FF_EXTERNAL_SUSPENDED_MASK & VMCPU_FF_INTERRUPT_APIC));
    cr_assert_eq(VM_FF_ALL_REMAINING_MASK & VM_FF_HIGH_PRIORITY_PRE_MASK & ~VM_FF_PGM_NO_MEMORY, 0u);
    char buf[128];
    vm_ff_format(VM_FF_REQUEST | VM_FF_EMT_RENDEZVOUS, buf, sizeof(buf));
    cr_assert_str_eq(buf, "REQUEST EMT_RENDEZVOUS");
    vmm_destroy(vm);
}

static int count_wakeups(struct vm *vm, unsigned cpu, uint64_t *out)
{
    char path[64];
    snprintf(path, sizeof(path), "/VMM/CPU%u/Wakeups", cpu);
    return stam_get_value(vmm_stam(vm), path, out);
}

Test(vmm_ff, set_from_other_thread_wakes_halted_emt)
{
    struct vm *vm = tv_create_on(2);
    /* vCPU 0 runs the default ops and halts; wait until it sleeps. */
    for (int i = 0; i < 2000 && vmm_cpu_get_state(&vm->cpus[0]) != VMM_CPU_HALTED; i++)
        usleep(1000);
    cr_assert_eq(vmm_cpu_get_state(&vm->cpus[0]), VMM_CPU_HALTED);
    usleep(20000);
    uint64_t before = 0, after = 0;
    cr_assert_eq(count_wakeups(vm, 0, &before), 0);
    vmcpu_ff_set(&vm->cpus[0], VMCPU_FF_INTERRUPT_PIC);
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(count_wakeups(vm, 0, &after), 0);
        if (after > before && !vmcpu_ff_is_set(&vm->cpus[0], VMCPU_FF_UNHALT))
            break;
        usleep(1000);
    }
    cr_assert_gt(after, before, "the halted EMT woke up");
    /* A flag outside the wake mask does not wake it. */
    vmcpu_ff_clear(&vm->cpus[0], VMCPU_FF_INTERRUPT_PIC);
    usleep(20000);
    cr_assert_eq(count_wakeups(vm, 0, &before), 0);
    vmcpu_ff_set(&vm->cpus[0], VMCPU_FF_TLB_FLUSH);
    usleep(50000);
    cr_assert_eq(count_wakeups(vm, 0, &after), 0);
    cr_assert_eq(after, before, "TLB_FLUSH is not in the halted wake mask");
    vmm_destroy(vm);
}

struct strbuf {
    char s[8192];
};

static void sb_print(void *user, const char *text)
{
    struct strbuf *b = user;
    strncat(b->s, text, sizeof(b->s) - strlen(b->s) - 1);
}

Test(vmm_ff, info_fflags_format)
{
    struct vm *vm = tv_create(2, NULL, NULL);
    struct strbuf b = { "" };
    struct ixvm_printer pr = { sb_print, &b };
    vm_ff_set(vm, VM_FF_PDM_DMA);
    vmcpu_ff_set(&vm->cpus[1], VMCPU_FF_INTERRUPT_PIC | VMCPU_FF_TLB_FLUSH);
    cr_assert_eq(dbgf_info_call(vmm_info_reg(vm), "fflags", NULL, &pr), 0);
    char expect[512];
    snprintf(expect, sizeof(expect),
             "Global FFs: 0x%08x\n    PDM_DMA\n    Pending groups: EXTERNAL_HALTED NORMAL_PRIORITY ALL_REMAINING "
             "EXEC_BREAK\nCPU 0 FFs: 0x00000000\nCPU 1 FFs: 0x%08x\n    INTERRUPT_PIC\n    TLB_FLUSH\n"
             "    Pending groups: EXTERNAL_HALTED HIGH_PRIORITY_PRE UNHALT EXEC_BREAK\n",
             (unsigned)VM_FF_PDM_DMA, (unsigned)(VMCPU_FF_INTERRUPT_PIC | VMCPU_FF_TLB_FLUSH));
    cr_assert_str_eq(b.s, expect);
    vm_ff_clear(vm, VM_FF_PDM_DMA);
    vmm_destroy(vm);
}

/* ------------------------------------------------------------------ requests */

struct req_rec {
    _Atomic int calls;
    _Atomic int order[16];
    _Atomic int n;
    int ret;
};

static int req_record(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct req_rec *r = user;
    cr_assert(vmm_get_cpu(vm) == vcpu, "runs on the vCPU's own EMT");
    int i = atomic_fetch_add(&r->n, 1);
    if (i < 16)
        r->order[i] = (int)vcpu->id;
    atomic_fetch_add(&r->calls, 1);
    return r->ret;
}

Test(vmm_req, each_target_kind)
{
    struct vm *vm = tv_create_on(4);
    struct req_rec r = { .ret = 0 };
    cr_assert_eq(req_call(vm, 2, REQ_F_WAIT, REQ_INDEFINITE, req_record, &r), 0);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.order[0], 2);

    struct req_rec a = { .ret = 0 };
    cr_assert_eq(req_call(vm, VMM_CPU_ANY, REQ_F_WAIT, REQ_INDEFINITE, req_record, &a), 0);
    cr_assert_eq(a.calls, 1);

    struct req_rec all = { .ret = 0 };
    cr_assert_eq(req_call(vm, VMM_CPU_ALL, REQ_F_WAIT, REQ_INDEFINITE, req_record, &all), 0);
    cr_assert_eq(all.n, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(all.order[i], i, "ascending");

    struct req_rec rev = { .ret = 0 };
    cr_assert_eq(req_call(vm, VMM_CPU_ALL_REV, REQ_F_PRIORITY, REQ_INDEFINITE, req_record, &rev), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(rev.order[i], 3 - i, "descending");

    cr_assert_eq(req_call(vm, 4, REQ_F_WAIT, 100, req_record, &r), IXVM_ERR_INVALID_PARAMETER);
    vmm_destroy(vm);
}

static int req_status_of_cpu(struct vm *vm, struct vcpu *vcpu, void *user)
{
    static const int st[4] = { 0, IXVM_INF_EM_RESCHEDULE, IXVM_INF_EM_HALT, 0 };
    (void)user;
    return st[vcpu->id];
}

static int req_fail_on_1(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return vcpu->id == 1 ? IXVM_ERR_INJECTED : IXVM_INF_EM_HALT;
}

Test(vmm_req, status_propagation_and_async)
{
    struct vm *vm = tv_create_on(4);
    cr_assert_eq(req_call(vm, VMM_CPU_ALL, 0, REQ_INDEFINITE, req_status_of_cpu, NULL), IXVM_INF_EM_HALT,
                 "lowest informational status wins");
    cr_assert_eq(req_call(vm, VMM_CPU_ALL, 0, REQ_INDEFINITE, req_fail_on_1, NULL), IXVM_ERR_INJECTED,
                 "an error beats informational statuses");

    struct req_rec r = { .ret = IXVM_INF_EM_RESCHEDULE };
    struct req *h[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(req_call_async(vm, (uint32_t)i, 0, req_record, &r, &h[i]), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(req_wait(h[i], REQ_INDEFINITE), IXVM_INF_EM_RESCHEDULE);
        req_release(h[i]);
    }
    cr_assert_eq(r.calls, 4);

    /* Fire and forget, then flush with a synchronous one (queue order). */
    struct req_rec f = { .ret = 0 };
    cr_assert_eq(req_call(vm, 3, REQ_F_NO_WAIT, 0, req_record, &f), 0);
    cr_assert_eq(req_call(vm, 3, 0, REQ_INDEFINITE, req_record, &f), 0);
    cr_assert_eq(f.calls, 2);
    vmm_destroy(vm);
}

static _Atomic int busy_release;
static _Atomic int late_ran;

static int req_busy(struct vm *vm, struct vcpu *vcpu, void *user)
{
    while (!atomic_load(&busy_release))
        usleep(1000);
    return 0;
}

static int req_late(struct vm *vm, struct vcpu *vcpu, void *user)
{
    atomic_fetch_add(&late_ran, 1);
    return 0;
}

Test(vmm_req, timeout_on_busy_emt_is_safe)
{
    struct vm *vm = tv_create_on(2);
    atomic_store(&busy_release, 0);
    atomic_store(&late_ran, 0);
    cr_assert_eq(req_call(vm, 1, REQ_F_NO_WAIT, 0, req_busy, NULL), 0);
    cr_assert_eq(req_call(vm, 1, 0, 50, req_late, NULL), IXVM_ERR_TIMEOUT);
    cr_assert_eq(atomic_load(&late_ran), 0);
    atomic_store(&busy_release, 1);
    /* The abandoned request still runs, after the busy one. */
    cr_assert_eq(req_call(vm, 1, 0, REQ_INDEFINITE, req_late, NULL), 0);
    cr_assert_eq(atomic_load(&late_ran), 2);
    vmm_destroy(vm);
}

/* An EMT calling itself runs at once; an EMT waiting on another keeps serving. */
static int req_self_inner(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return (int)vcpu->id + 1;
}

static int req_self_outer(struct vm *vm, struct vcpu *vcpu, void *user)
{
    int *out = user;
    out[0] = req_call(vm, vcpu->id, 0, 1000, req_self_inner, NULL);
    /* Cross-wait: ask the other EMT, which asks us back. */
    return 0;
}

static int req_ping_back(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return req_call(vm, 0, 0, 5000, req_self_inner, NULL);
}

static int req_ping(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return req_call(vm, 1, 0, 5000, req_ping_back, NULL);
}

Test(vmm_req, same_emt_and_cross_waits)
{
    struct vm *vm = tv_create_on(2);
    int out[1] = { -1 };
    cr_assert_eq(req_call(vm, 1, 0, 5000, req_self_outer, out), 0);
    cr_assert_eq(out[0], 2, "inner request ran directly on EMT 1");
    cr_assert_eq(req_call(vm, 0, 0, 5000, req_ping, NULL), 1, "EMT0 -> EMT1 -> EMT0 completes");
    vmm_destroy(vm);
}

/* ------------------------------------------------------------------ rendezvous */

struct rv_rec {
    _Atomic int n;
    _Atomic int inside;
    _Atomic int max_inside;
    int order[64];
    int fail_cpu;
    uint32_t nested_flags;
    int nested_rc[64];
    _Atomic int depth3_rc;
};

static int rv_record(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct rv_rec *r = user;
    int in = atomic_fetch_add(&r->inside, 1) + 1;
    int m = atomic_load(&r->max_inside);
    while (in > m && !atomic_compare_exchange_weak(&r->max_inside, &m, in))
        ;
    int i = atomic_fetch_add(&r->n, 1);
    r->order[i] = (int)vcpu->id;
    usleep(2000);
    atomic_fetch_sub(&r->inside, 1);
    return (int)vcpu->id == r->fail_cpu ? IXVM_ERR_INJECTED : 0;
}

static struct rv_rec *rv_run(struct vm *vm, uint32_t flags, int fail_cpu, int *rc)
{
    struct rv_rec *r = calloc(1, sizeof(*r));
    r->fail_cpu = fail_cpu;
    *rc = vmm_emt_rendezvous(vm, flags, rv_record, r);
    return r;
}

static int rv_from_emt(struct vm *vm, struct vcpu *vcpu, void *user)
{
    uint32_t flags = *(uint32_t *)user;
    struct rv_rec *r = calloc(1, sizeof(*r));
    r->fail_cpu = -1;
    int rc = vmm_emt_rendezvous(vm, flags, rv_record, r);
    int n = r->n;
    free(r);
    return rc < 0 ? rc : n;
}

Test(vmm_rv, types_ordering_and_counts)
{
    struct vm *vm = tv_create_on(4);
    int rc;
    struct rv_rec *r = rv_run(vm, VMM_RV_TYPE_ASCENDING, -1, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_eq(r->n, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(r->order[i], i);
    cr_assert_eq(r->max_inside, 1, "one at a time");
    free(r);

    r = rv_run(vm, VMM_RV_TYPE_DESCENDING, -1, &rc);
    cr_assert_eq(r->n, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(r->order[i], 3 - i);
    free(r);

    r = rv_run(vm, VMM_RV_TYPE_ONE_BY_ONE, -1, &rc);
    cr_assert_eq(r->n, 4);
    cr_assert_eq(r->max_inside, 1);
    int seen = 0;
    for (int i = 0; i < 4; i++)
        seen |= 1 << r->order[i];
    cr_assert_eq(seen, 0xf, "every vCPU once");
    free(r);

    r = rv_run(vm, VMM_RV_TYPE_ALL_AT_ONCE, -1, &rc);
    cr_assert_eq(r->n, 4);
    cr_assert_eq(r->max_inside, 4, "all at the same time (max %d)", r->max_inside);
    free(r);

    r = rv_run(vm, VMM_RV_TYPE_ONCE, -1, &rc);
    cr_assert_eq(r->n, 1, "exactly once");
    free(r);

    /* From an EMT as well. */
    uint32_t fl = VMM_RV_TYPE_ALL_AT_ONCE;
    cr_assert_eq(req_call(vm, 2, 0, 5000, rv_from_emt, &fl), 4);
    fl = VMM_RV_TYPE_ONCE;
    cr_assert_eq(req_call(vm, 1, 0, 5000, rv_from_emt, &fl), 1);

    cr_assert_eq(vmm_emt_rendezvous(vm, 0, rv_record, NULL), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(vmm_emt_rendezvous(vm, VMM_RV_TYPE_ALL_AT_ONCE | VMM_RV_STOP_ON_ERROR, rv_record, NULL),
                 IXVM_ERR_INVALID_PARAMETER);
    vmm_destroy(vm);
}

Test(vmm_rv, stop_on_error)
{
    struct vm *vm = tv_create_on(4);
    int rc;
    struct rv_rec *r = rv_run(vm, VMM_RV_TYPE_ASCENDING | VMM_RV_STOP_ON_ERROR, 1, &rc);
    cr_assert_eq(rc, IXVM_ERR_INJECTED);
    cr_assert_eq(r->n, 2, "vCPU 2 and 3 skipped");
    free(r);
    r = rv_run(vm, VMM_RV_TYPE_ASCENDING, 1, &rc);
    cr_assert_eq(rc, IXVM_ERR_INJECTED);
    cr_assert_eq(r->n, 4, "without the flag every callback runs");
    free(r);
    r = rv_run(vm, VMM_RV_TYPE_DESCENDING | VMM_RV_STOP_ON_ERROR, 2, &rc);
    cr_assert_eq(rc, IXVM_ERR_INJECTED);
    cr_assert_eq(r->n, 2, "3 and 2 ran, 1 and 0 skipped");
    free(r);
    vmm_destroy(vm);
}

static int rv_depth3(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return 0;
}

static int rv_depth2(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct rv_rec *r = user;
    int rc = vmm_emt_rendezvous(vm, VMM_RV_TYPE_ONCE, rv_depth3, NULL);
    atomic_store(&r->depth3_rc, rc);
    atomic_fetch_add(&r->n, 1);
    return 0;
}

static int rv_nesting(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct rv_rec *r = user;
    r->nested_rc[vcpu->id] = vmm_emt_rendezvous(vm, r->nested_flags, rv_depth2, r);
    return 0;
}

static void nested_case(unsigned ncpus)
{
    struct vm *vm = tv_create_on(ncpus);
    struct rv_rec *r = calloc(1, sizeof(*r));
    r->nested_flags = VMM_RV_TYPE_ALL_AT_ONCE;
    cr_assert_eq(vmm_emt_rendezvous(vm, VMM_RV_TYPE_ASCENDING, rv_nesting, r), 0);
    for (unsigned i = 0; i < ncpus; i++)
        cr_assert_eq(r->nested_rc[i], 0, "depth 2 from vCPU %u", i);
    cr_assert_eq(r->n, (int)(ncpus * ncpus), "each nested ALL_AT_ONCE ran on every vCPU");
    cr_assert_eq(atomic_load(&r->depth3_rc), IXVM_ERR_DEADLOCK, "depth 3 refused");

    /* Recursion from an ALL_AT_ONCE callback is refused. */
    memset(r, 0, sizeof(*r));
    r->nested_flags = VMM_RV_TYPE_ONCE;
    cr_assert_eq(vmm_emt_rendezvous(vm, VMM_RV_TYPE_ALL_AT_ONCE, rv_nesting, r), 0);
    for (unsigned i = 0; i < ncpus; i++)
        cr_assert_eq(r->nested_rc[i], IXVM_ERR_DEADLOCK);
    free(r);
    vmm_destroy(vm);
}

Test(vmm_rv, nested_depth)
{
    nested_case(4);
    nested_case(1);
}

struct rv_thread_arg {
    struct vm *vm;
    int rc;
    struct rv_rec *rec;
    uint32_t flags;
};

static void rv_thread(void *arg)
{
    struct rv_thread_arg *a = arg;
    a->rc = vmm_emt_rendezvous(a->vm, a->flags, rv_record, a->rec);
}

static int rv_two_callers(struct vm *vm, struct vcpu *vcpu, void *user)
{
    uint32_t flags = VMM_RV_TYPE_ONE_BY_ONE;
    return rv_from_emt(vm, vcpu, &flags);
}

Test(vmm_rv, concurrent_callers_emt_and_non_emt)
{
    struct vm *vm = tv_create_on(4);
    struct rv_thread_arg a[3];
    uv_thread_t t[3];
    for (int i = 0; i < 3; i++) {
        a[i] = (struct rv_thread_arg){ vm, -1, calloc(1, sizeof(struct rv_rec)),
                                       i == 1 ? VMM_RV_TYPE_ONCE | VMM_RV_PRIORITY : VMM_RV_TYPE_DESCENDING };
        a[i].rec->fail_cpu = -1;
        cr_assert_eq(uv_thread_create(&t[i], rv_thread, &a[i]), 0);
    }
    /* Two EMTs calling at the same time both complete. */
    struct req *h0, *h3;
    cr_assert_eq(req_call_async(vm, 0, 0, rv_two_callers, NULL, &h0), 0);
    cr_assert_eq(req_call_async(vm, 3, 0, rv_two_callers, NULL, &h3), 0);
    cr_assert_eq(req_wait(h0, 10000), 4);
    cr_assert_eq(req_wait(h3, 10000), 4);
    req_release(h0);
    req_release(h3);
    for (int i = 0; i < 3; i++) {
        uv_thread_join(&t[i]);
        cr_assert_eq(a[i].rc, 0);
        cr_assert_eq(a[i].rec->n, i == 1 ? 1 : 4);
        free(a[i].rec);
    }
    vmm_destroy(vm);
}

/* ------------------------------------------------------------------ INIT/SIPI */

static int noop(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return 0;
}

Test(vmm_cpu, init_sipi)
{
    struct vm *vm = tv_create_on(2);
    struct vcpu *ap = &vm->cpus[1];
    cr_assert_eq(vmm_cpu_get_state(ap), VMM_CPU_WAIT_SIPI, "APs wait for SIPI after power on");
    cr_assert_eq(vmm_send_startup_ipi(ap, 0x9a), 0);
    cr_assert_eq(req_call(vm, 1, 0, 5000, noop, NULL), 0);
    cr_assert_eq(ap->cpu.seg[CPUM_CS].sel, 0x9a00);
    cr_assert_eq(ap->cpu.seg[CPUM_CS].base, 0x9a000u);
    cr_assert_eq(ap->cpu.eip, 0);
    cr_assert_neq(vmm_cpu_get_state(ap), VMM_CPU_WAIT_SIPI);

    /* Not waiting: a second SIPI is ignored. */
    cr_assert_eq(vmm_send_startup_ipi(ap, 0x10), 0);
    cr_assert_eq(req_call(vm, 1, 0, 5000, noop, NULL), 0);
    cr_assert_eq(ap->cpu.seg[CPUM_CS].sel, 0x9a00);
    uint64_t ignored = 0;
    cr_assert_eq(stam_get_value(vmm_stam(vm), "/VMM/CPU1/SipiIgnored", &ignored), 0);
    cr_assert_eq(ignored, 1);

    /* INIT: back to the INIT state, waiting again; then a new SIPI works. */
    ap->cpu.msr.sysenter_cs = 0x1234;   /* no EMT races: it is parked below */
    cr_assert_eq(vmm_send_init(ap), 0);
    cr_assert_eq(req_call(vm, 1, 0, 5000, noop, NULL), 0);
    cr_assert_eq(vmm_cpu_get_state(ap), VMM_CPU_WAIT_SIPI);
    cr_assert_eq(ap->cpu.seg[CPUM_CS].sel, 0xf000);
    cr_assert_eq(ap->cpu.eip, 0xfff0);
    cr_assert_eq(ap->cpu.msr.sysenter_cs, 0x1234, "INIT keeps the MSRs");
    cr_assert_eq(vmm_send_startup_ipi(ap, 0x10), 0);
    cr_assert_eq(req_call(vm, 1, 0, 5000, noop, NULL), 0);
    cr_assert_eq(ap->cpu.seg[CPUM_CS].base, 0x10000u);
    vmm_destroy(vm);
}

/* ------------------------------------------------------------------ assertions */

static int rq_assert(struct vm *vm, struct vcpu *vcpu, void *user)
{
    int x = 41;
    IXVM_ASSERT_MSG_RETURN(x == 42, ("x=%d, expected 42", x), IXVM_ERR_ASSERTION);
    return 0;
}

Test(vmm_assert, captured_and_vm_stopped)
{
    struct vm *vm = tv_create_on(2);
    cr_assert_eq(req_call(vm, 1, 0, 5000, rq_assert, NULL), IXVM_ERR_ASSERTION);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_GURU_MEDITATION);
    const char *m1, *m2;
    vmm_get_assertion(vm, &m1, &m2);
    cr_assert(strstr(m1, "x == 42") && strstr(m1, "vCPU 1") && strstr(m1, "test_vmm.c") && strstr(m1, "rq_assert"),
              "msg1: %s", m1);
    cr_assert(strstr(m2, "x=41, expected 42"), "msg2: %s", m2);
    /* Off an EMT: reported, no state change, execution continues. */
    int y = 0;
    IXVM_ASSERT(y == 1);
    /* The VM still powers off and is destroyed cleanly. */
    struct ixvm_errinfo err;
    cr_assert_eq(vmm_power_off(vm, &err), 0, "%s", err.msg);
    vmm_destroy(vm);
}

/* The CPU ops' optional dump hook runs once, on the asserting EMT, before
 * the VM stops (IEM writes its flight recorder there). */
static _Atomic int dump_calls = 0;
static _Atomic uint32_t dump_cpu = 99;

static int halt_exec(struct vcpu *vcpu, uint64_t budget)
{
    (void)vcpu;
    (void)budget;
    return IXVM_INF_EM_HALT;
}

static void count_dump(struct vcpu *vcpu)
{
    atomic_fetch_add(&dump_calls, 1);
    atomic_store(&dump_cpu, vcpu->id);
}

Test(vmm_assert, cpu_dump_hook_runs_once_on_the_asserting_emt)
{
    static const struct vmm_cpu_ops ops = { .name = "dumping", .exec = halt_exec, .dump = count_dump };
    struct vmm_create_args args = { .cpu_ops = &ops };
    struct vm *vm = tv_create(2, &args, NULL);
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(vmm_power_on(vm, &err), 0, "%s", err.msg);
    cr_assert_eq(req_call(vm, 1, 0, 5000, rq_assert, NULL), IXVM_ERR_ASSERTION);
    cr_assert_eq(req_call(vm, 0, 0, 5000, rq_assert, NULL), IXVM_ERR_ASSERTION);   /* a second one */
    cr_assert_eq(atomic_load(&dump_calls), 1);
    cr_assert_eq(atomic_load(&dump_cpu), 1);
    cr_assert_eq(vmm_power_off(vm, &err), 0, "%s", err.msg);
    vmm_destroy(vm);
}

/* ------------------------------------------------------------------ SSM */

static int rq_start_ap(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return vmm_send_startup_ipi(&vm->cpus[2], 0x20);
}

static int save_v3(void *user, struct ssm_handle *h)
{
    for (int i = 0; i < 3; i++)
        ssm_put_bool(h, true);
    return ssm_put_u32(h, UINT32_MAX);
}

static int load_v3(void *user, struct ssm_handle *h, uint32_t version)
{
    return 0;
}

Test(vmm_ssm, round_trip_and_version_rejection)
{
    struct vm *vm = tv_create_on(4);
    struct ixvm_errinfo err = { 0 };
    char path[] = "/tmp/ixvm-test-vmm-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(req_call(vm, 0, 0, 5000, rq_start_ap, NULL), 0);
    cr_assert_eq(req_call(vm, 2, 0, 5000, noop, NULL), 0);
    cr_assert_neq(vmm_cpu_get_state(&vm->cpus[2]), VMM_CPU_WAIT_SIPI);
    cr_assert_eq(vmm_save(vm, path, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_RUNNING, "save of a running VM resumes it");
    cr_assert_eq(vmm_power_off(vm, &err), 0);
    vmm_destroy(vm);

    vm = tv_create(4, NULL, NULL);
    cr_assert_eq(vmm_load(vm, path, &err), 0, "%s", err.msg);
    cr_assert_eq(vmm_get_state(vm), VMM_STATE_SUSPENDED);
    cr_assert_eq(vmm_cpu_get_state(&vm->cpus[1]), VMM_CPU_WAIT_SIPI);
    cr_assert_neq(vmm_cpu_get_state(&vm->cpus[2]), VMM_CPU_WAIT_SIPI);
    cr_assert_eq(vmm_cpu_get_state(&vm->cpus[3]), VMM_CPU_WAIT_SIPI);
    cr_assert_eq(vmm_save(vm, path, &err), 0, "%s", err.msg);

    /* A `vmm` unit at version 3 is refused and the VM is untouched. */
    struct ssm *other;
    cr_assert_eq(ssm_create(&other), 0);
    const struct ssm_unit_desc d = { "vmm", 0, 3, 3, save_v3, load_v3, NULL };
    cr_assert_eq(ssm_register(other, &d), 0);
    uint8_t *img;
    size_t len;
    cr_assert_eq(ssm_save_mem(other, cfg_state_digest(vmm_cfg(vm)), &img, &len, &err), 0, "%s", err.msg);
    ssm_destroy(other);
    cr_assert_lt(ssm_load_mem(vmm_ssm(vm), img, len, cfg_state_digest(vmm_cfg(vm)), &err), 0);
    free(img);
    cr_assert_eq(vmm_cpu_get_state(&vm->cpus[1]), VMM_CPU_WAIT_SIPI);
    /* Load in the wrong state. */
    cr_assert_eq(vmm_resume(vm, &err), 0);
    cr_assert_eq(vmm_load(vm, path, &err), IXVM_ERR_INVALID_STATE);
    cr_assert(strstr(err.msg, "RUNNING") && strstr(err.msg, "LOADING"), "%s", err.msg);
    unlink(path);
    vmm_destroy(vm);
}

/* ------------------------------------------------------------------ idle CPU */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

Test(vmm_idle, eight_idle_vcpus_use_almost_no_cpu)
{
    struct vm *vm = tv_create_on(8);
    usleep(100000);
    double c0 = cpu_seconds();
    uint64_t t0 = uv_hrtime();
    usleep(1000000);
    double used = cpu_seconds() - c0;
    double wall = (double)(uv_hrtime() - t0) / 1e9;
    cr_assert_lt(used / wall, 0.02, "idle VM used %.1f%% of a core", 100.0 * used / wall);
    vmm_destroy(vm);
}

/* ------------------------------------------------------------------ info handlers */

Test(vmm_info, cpus_vmm_stats_config)
{
    struct vm *vm = tv_create_on(2);
    struct strbuf b = { "" };
    struct ixvm_printer pr = { sb_print, &b };
    cr_assert_eq(dbgf_info_call(vmm_info_reg(vm), "cpus", NULL, &pr), 0);
    cr_assert(strstr(b.s, "CPU 1: wait-for-SIPI, mode real, CS:EIP f000:0000fff0"), "%s", b.s);
    b.s[0] = '\0';
    cr_assert_eq(dbgf_info_call(vmm_info_reg(vm), "vmm", NULL, &pr), 0);
    cr_assert(strstr(b.s, "state RUNNING, 2 vCPU(s)"), "%s", b.s);
    b.s[0] = '\0';
    cr_assert_eq(dbgf_info_call(vmm_info_reg(vm), "stats", "/VMM/CPU1/*", &pr), 0);
    cr_assert(strstr(b.s, "/VMM/CPU1/Halts") && !strstr(b.s, "/VMM/CPU0/"), "%s", b.s);
    b.s[0] = '\0';
    cr_assert_eq(dbgf_info_call(vmm_info_reg(vm), "config", NULL, &pr), 0);
    cr_assert(strstr(b.s, "CPU/Count"), "%s", b.s);
    vmm_destroy(vm);
}
