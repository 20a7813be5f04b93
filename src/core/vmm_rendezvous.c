/* SPDX-License-Identifier: MIT */
/*
 * EMT rendezvous (the reference's VMMR3EmtRendezvous semantics, our own
 * design): gather every EMT and run a callback on them -- ONCE (the last to
 * arrive runs it), ONE_BY_ONE (in arrival order), ALL_AT_ONCE, ASCENDING,
 * DESCENDING -- with STOP_ON_ERROR and PRIORITY.
 *
 * One VM-wide mutex guards the descriptors.  Top-level rendezvous wait in a
 * queue (priority ones first) and become active one at a time; activation
 * sets VM_FF_EMT_RENDEZVOUS, which is in every wake mask, so running,
 * halted, suspended and SIPI-waiting EMTs all join.  A callback of a
 * ONE_BY_ONE / ASCENDING / DESCENDING / ONCE rendezvous may start a nested
 * one (to VMM_RV_MAX_DEPTH): it becomes the active one and the EMTs waiting
 * for their turn in the parent join it first.  Every wait loop joins the
 * active rendezvous it has not entered yet and services priority requests,
 * so two EMTs calling at the same time both complete.  Non-EMT callers queue
 * their descriptor the same way and sleep on a condition variable (rather
 * than forwarding through a request: an EMT busy in a rendezvous wait could
 * not take such a request without deadlocking).  Descriptors live on the
 * caller's stack; the last EMT to leave releases it under the mutex.
 */
#define LOG_GROUP LOG_GROUP_VMM
#include <string.h>

#include "ixvm/log.h"
#include "vmm_internal.h"

struct vmm_rv {
    uint32_t flags;                 /* [const] VMM_RV_* */
    vmm_rv_fn *fn;                  /* [const] */
    void *user;                     /* [const] */
    struct vmm_rv *parent;          /* [const] enclosing rendezvous (nested) */
    uint32_t depth;                 /* [const] 1 for top level */
    struct vmm_rv *next;            /* [rv_lock] pending queue link */
    uint64_t entered_mask;          /* [rv_lock] bit per vCPU */
    uint32_t entered, done, returned, turn; /* [rv_lock] */
    uint32_t order[IXVM_MAX_CPUS];  /* [rv_lock] arrival order */
    int status;                     /* [rv_lock] merged callback statuses */
    bool released;                  /* [rv_lock] nobody touches it any more */
};

enum rv_step { RV_WAIT, RV_RUN, RV_SKIP };

static uint32_t rv_type(const struct vmm_rv *rv)
{
    return rv->flags & VMM_RV_TYPE_MASK;
}

static uint64_t rv_bit(const struct vcpu *vcpu)
{
    return 1ull << vcpu->id;
}

/* [rv_lock] Bump the generation; the caller pokes every EMT after unlocking. */
static void rv_changed(struct vm *vm)
{
    atomic_fetch_add(&vm->in->rv_gen, 1);
}

/* [rv_lock] Make the next pending top-level rendezvous active. */
static void rv_activate_next(struct vm *vm)
{
    struct vmm_rv *rv = vm->in->rv_pending;
    if (!rv || vm->in->rv_active)
        return;
    vm->in->rv_pending = rv->next;
    vm->in->rv_active = rv;
    vm_ff_set(vm, VM_FF_EMT_RENDEZVOUS);
    rv_changed(vm);
}

/* [rv_lock] Queue a top-level rendezvous: priority ones after the other
 * priority ones, ahead of every normal one. */
static void rv_enqueue(struct vm *vm, struct vmm_rv *rv)
{
    struct vmm_rv **pp = &vm->in->rv_pending;
    if (rv->flags & VMM_RV_PRIORITY) {
        while (*pp && ((*pp)->flags & VMM_RV_PRIORITY))
            pp = &(*pp)->next;
    } else {
        while (*pp)
            pp = &(*pp)->next;
    }
    rv->next = *pp;
    *pp = rv;
    rv_activate_next(vm);
}

/* [rv_lock] Everyone has left rv: hand the VM to the parent or the next one. */
static void rv_release(struct vm *vm, struct vmm_rv *rv)
{
    rv->released = true;
    vm->in->rv_active = rv->parent;
    if (!rv->parent)
        rv_activate_next(vm);
    rv_changed(vm);
    uv_cond_broadcast(&vm->in->rv_ext_cond);
}

/* [rv_lock] What vcpu does next in rv. */
static enum rv_step rv_next_step(const struct vm *vm, const struct vmm_rv *rv, const struct vcpu *vcpu)
{
    uint32_t n = vm->ncpus;
    if (rv->entered < n)
        return RV_WAIT;
    switch (rv_type(rv)) {
    case VMM_RV_TYPE_ONCE:
        return rv->order[n - 1] == vcpu->id && rv->done == 0 ? RV_RUN : RV_SKIP;
    case VMM_RV_TYPE_ALL_AT_ONCE:
        return RV_RUN;
    case VMM_RV_TYPE_ONE_BY_ONE:
        return rv->order[rv->turn] == vcpu->id ? RV_RUN : RV_WAIT;
    case VMM_RV_TYPE_ASCENDING:
        return rv->turn == vcpu->id ? RV_RUN : RV_WAIT;
    default: /* DESCENDING */
        return n - 1 - rv->turn == vcpu->id ? RV_RUN : RV_WAIT;
    }
}

/* [rv_lock] The active rendezvous vcpu has to join before anything else. */
static struct vmm_rv *rv_to_join(struct vm *vm, struct vcpu *vcpu)
{
    struct vmm_rv *act = vm->in->rv_active;
    return act && !(act->entered_mask & rv_bit(vcpu)) ? act : NULL;
}

static bool rv_wait_pred(struct vcpu *vcpu, void *arg)
{
    return atomic_load(&vcpu->vm->in->rv_gen) != *(const uint64_t *)arg;
}

static int rv_participate(struct vcpu *vcpu, struct vmm_rv *rv);

/* Informational statuses only: errors belong to the rendezvous caller. */
static int rv_merge_info(int acc, int rc)
{
    return rc > 0 ? ixvm_status_merge(acc, rc) : acc;
}

/*
 * One step of waiting: join a rendezvous we have not entered, else service
 * priority requests, else sleep until the generation moves.  `seen` is the
 * generation read under the lock together with the condition we wait on.
 */
static int rv_wait_step(struct vcpu *vcpu, struct vmm_rv *join, uint64_t seen)
{
    if (join)
        return rv_participate(vcpu, join);
    if (req_prio_pending(vcpu)) {
        bool in_cb = vcpu->in->rv_in_callback;
        vcpu->in->rv_in_callback = false;
        req_process(vcpu, true);
        vcpu->in->rv_in_callback = in_cb;
        return 0;
    }
    emt_wait(vcpu, 0, 0, true, rv_wait_pred, &seen, 0);
    return 0;
}

/* Enter rv, wait for our turn, run the callback, wait until all are done. */
static int rv_participate(struct vcpu *vcpu, struct vmm_rv *rv)
{
    struct vm *vm = vcpu->vm;
    struct vmm_rv *saved_cur = vcpu->in->rv_cur;
    bool saved_cb = vcpu->in->rv_in_callback;
    int infos = 0;
    enum rv_step step;

    vcpu->in->rv_cur = rv;
    vcpu->in->rv_in_callback = false;
    stam_counter_inc(&vcpu->in->rv_joins);

    bool poke = false;
    uv_mutex_lock(&vm->in->rv_lock);
    rv->entered_mask |= rv_bit(vcpu);
    rv->order[rv->entered++] = vcpu->id;
    if (rv->entered == vm->ncpus) {
        vm_ff_clear(vm, VM_FF_EMT_RENDEZVOUS);
        rv_changed(vm);
        poke = true;
    }
    for (;;) {
        step = rv_next_step(vm, rv, vcpu);
        if (step != RV_WAIT)
            break;
        struct vmm_rv *join = rv_to_join(vm, vcpu);
        uint64_t seen = atomic_load(&vm->in->rv_gen);
        uv_mutex_unlock(&vm->in->rv_lock);
        if (poke)
            vmm_poke_all(vm);
        poke = false;
        infos = rv_merge_info(infos, rv_wait_step(vcpu, join, seen));
        uv_mutex_lock(&vm->in->rv_lock);
    }

    if (step == RV_RUN) {
        bool skip = (rv->flags & VMM_RV_STOP_ON_ERROR) && rv->status < 0;
        uv_mutex_unlock(&vm->in->rv_lock);
        if (poke)
            vmm_poke_all(vm);   /* ALL_AT_ONCE: release the others first */
        int rc = 0;
        if (!skip) {
            vcpu->in->rv_in_callback = true;
            rc = rv->fn(vm, vcpu, rv->user);
            vcpu->in->rv_in_callback = false;
        }
        uv_mutex_lock(&vm->in->rv_lock);
        rv->status = ixvm_status_merge(rv->status, rc);
        rv->done++;
        rv->turn++;
        rv_changed(vm);
    }
    poke = true;

    /* Wait until every callback has run (ONCE: the one). */
    for (;;) {
        uint32_t need = rv_type(rv) == VMM_RV_TYPE_ONCE ? 1 : vm->ncpus;
        if (rv->done >= need)
            break;
        struct vmm_rv *join = rv_to_join(vm, vcpu);
        uint64_t seen = atomic_load(&vm->in->rv_gen);
        uv_mutex_unlock(&vm->in->rv_lock);
        if (poke)
            vmm_poke_all(vm);
        poke = false;
        infos = rv_merge_info(infos, rv_wait_step(vcpu, join, seen));
        uv_mutex_lock(&vm->in->rv_lock);
    }
    infos = rv_merge_info(infos, rv->status);
    /* Besides a pending done-change, only the release matters to waiters. */
    if (++rv->returned == vm->ncpus) {
        rv_release(vm, rv);
        poke = true;
    }
    uv_mutex_unlock(&vm->in->rv_lock);
    if (poke)
        vmm_poke_all(vm);

    vcpu->in->rv_cur = saved_cur;
    vcpu->in->rv_in_callback = saved_cb;
    return infos;
}

/* The calling EMT waits for its own rendezvous (joining whatever is active). */
static int rv_caller_wait(struct vcpu *vcpu, struct vmm_rv *rv)
{
    struct vm *vm = vcpu->vm;
    int infos = 0;

    uv_mutex_lock(&vm->in->rv_lock);
    while (!rv->released) {
        struct vmm_rv *join = rv_to_join(vm, vcpu);
        uint64_t seen = atomic_load(&vm->in->rv_gen);
        uv_mutex_unlock(&vm->in->rv_lock);
        infos = rv_merge_info(infos, rv_wait_step(vcpu, join, seen));
        uv_mutex_lock(&vm->in->rv_lock);
    }
    int status = rv->status;
    uv_mutex_unlock(&vm->in->rv_lock);
    return ixvm_status_merge(status, infos);
}

int vmm_rendezvous_ff(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    int infos = 0;
    for (;;) {
        uv_mutex_lock(&vm->in->rv_lock);
        struct vmm_rv *join = rv_to_join(vm, vcpu);
        uv_mutex_unlock(&vm->in->rv_lock);
        if (!join)
            return infos;
        infos = rv_merge_info(infos, rv_participate(vcpu, join));
    }
}

static void rv_init(struct vmm_rv *rv, uint32_t flags, vmm_rv_fn *fn, void *user, struct vmm_rv *parent)
{
    memset(rv, 0, sizeof(*rv));
    rv->flags = flags;
    rv->fn = fn;
    rv->user = user;
    rv->parent = parent;
    rv->depth = parent ? parent->depth + 1 : 1;
}

/* Recursion is allowed from a callback of a rendezvous type whose other
 * EMTs are parked waiting (not ALL_AT_ONCE), to VMM_RV_MAX_DEPTH. */
static int rv_check_recursion(struct vm *vm, struct vcpu *vcpu)
{
    struct vmm_rv *cur = vcpu->in->rv_cur;
    if (!cur)
        return 0;
    if (!vcpu->in->rv_in_callback || rv_type(cur) == VMM_RV_TYPE_ALL_AT_ONCE || cur->depth >= VMM_RV_MAX_DEPTH) {
        LOG_REL("rendezvous: refused recursion on EMT %u (depth %u, type %u, in callback %d)\n", vcpu->id,
                cur->depth, rv_type(cur), vcpu->in->rv_in_callback);
        return IXVM_ERR_DEADLOCK;
    }
    return 0;
}

/* One vCPU: call directly, with the same recursion rules. */
static int rv_single(struct vm *vm, struct vcpu *vcpu, uint32_t flags, vmm_rv_fn *fn, void *user)
{
    struct vmm_rv rv;
    rv_init(&rv, flags, fn, user, vcpu->in->rv_cur);
    struct vmm_rv *saved_cur = vcpu->in->rv_cur;
    bool saved_cb = vcpu->in->rv_in_callback;
    stam_counter_inc(&vm->in->rv_single);
    vcpu->in->rv_cur = &rv;
    vcpu->in->rv_in_callback = true;
    int rc = fn(vm, vcpu, user);
    vcpu->in->rv_cur = saved_cur;
    vcpu->in->rv_in_callback = saved_cb;
    return rc;
}

static int rv_validate(uint32_t flags, vmm_rv_fn *fn)
{
    uint32_t type = flags & VMM_RV_TYPE_MASK;
    if (!fn || (flags & ~VMM_RV_VALID_MASK) || type < VMM_RV_TYPE_ONCE || type > VMM_RV_TYPE_DESCENDING)
        return IXVM_ERR_INVALID_PARAMETER;
    /* As the reference: stopping on error needs callbacks that run in turn. */
    if ((flags & VMM_RV_STOP_ON_ERROR) && (type == VMM_RV_TYPE_ONCE || type == VMM_RV_TYPE_ALL_AT_ONCE))
        return IXVM_ERR_INVALID_PARAMETER;
    return 0;
}

int vmm_emt_rendezvous(struct vm *vm, uint32_t flags, vmm_rv_fn *fn, void *user)
{
    if (!vm)
        return IXVM_ERR_INVALID_PARAMETER;
    int rc = rv_validate(flags, fn);
    if (rc < 0)
        return rc;
    struct vcpu *self = vmm_get_cpu(vm);
    struct vmm_rv rv;

    if (self) {
        rc = rv_check_recursion(vm, self);
        if (rc < 0) {
            uv_mutex_lock(&vm->in->rv_lock);
            stam_counter_inc(&vm->in->rv_deadlock);
            uv_mutex_unlock(&vm->in->rv_lock);
            return rc;
        }
        if (vm->ncpus == 1)
            return rv_single(vm, self, flags, fn, user);
    }

    rv_init(&rv, flags, fn, user, self && self->in->rv_cur ? self->in->rv_cur : NULL);
    uv_mutex_lock(&vm->in->rv_lock);
    stam_counter_inc(&vm->in->rv_calls);
    if (flags & VMM_RV_PRIORITY)
        stam_counter_inc(&vm->in->rv_prio);
    if (rv.parent) {
        /* Nested: every other EMT is parked in the parent and joins at once. */
        stam_counter_inc(&vm->in->rv_nested);
        vm->in->rv_active = &rv;
        vm_ff_set(vm, VM_FF_EMT_RENDEZVOUS);
        rv_changed(vm);
    } else {
        if (!self)
            stam_counter_inc(&vm->in->rv_ext);
        rv_enqueue(vm, &rv);
    }
    uv_mutex_unlock(&vm->in->rv_lock);
    vmm_poke_all(vm);

    if (self)
        return rv_caller_wait(self, &rv);

    uv_mutex_lock(&vm->in->rv_lock);
    while (!rv.released)
        uv_cond_wait(&vm->in->rv_ext_cond, &vm->in->rv_lock);
    rc = rv.status;
    uv_mutex_unlock(&vm->in->rv_lock);
    return rc;
}

/* Destroy: fail rendezvous nobody will serve any more (EMTs are gone). */
void vmm_rv_cancel_all(struct vm *vm)
{
    uv_mutex_lock(&vm->in->rv_lock);
    while (vm->in->rv_pending || vm->in->rv_active) {
        struct vmm_rv *rv = vm->in->rv_active ? vm->in->rv_active : vm->in->rv_pending;
        if (rv == vm->in->rv_pending)
            vm->in->rv_pending = rv->next;
        rv->status = IXVM_ERR_CANCELLED;
        rv->released = true;
        vm->in->rv_active = rv == vm->in->rv_active ? rv->parent : vm->in->rv_active;
    }
    vm_ff_clear(vm, VM_FF_EMT_RENDEZVOUS);
    uv_cond_broadcast(&vm->in->rv_ext_cond);
    uv_mutex_unlock(&vm->in->rv_lock);
}
