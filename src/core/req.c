/* SPDX-License-Identifier: MIT */
/*
 * Requests: calls queued for one EMT, for any EMT, or for every EMT in turn
 * (ascending or descending).  Each vCPU has a queue and the VM has one for
 * "any"; each queue keeps priority requests ahead of normal ones (FIFO
 * within each) under a short mutex.  Queueing sets the REQUEST FF of the
 * target (the vCPU's, or the VM's for ANY), which wakes it.
 *
 * A request is reference counted (the queue/executing EMT holds one, a
 * waiter holds one), so a waiter that times out simply drops its reference:
 * the request still runs later and the last reference frees it.  An ALL
 * request is passed from EMT to EMT by the executing EMT; its status is the
 * merge of every callee's.  A waiter on an EMT keeps servicing its own
 * queues and rendezvous, so EMTs can wait on each other without deadlock.
 */
#define LOG_GROUP LOG_GROUP_REQ
#include <stdlib.h>

#include "ixvm/log.h"
#include "vmm_internal.h"

struct req {
    _Atomic uint32_t refs;
    struct vm *vm;                  /* [const] */
    vmm_req_fn *fn;                 /* [const] */
    void *user;                     /* [const] */
    uint32_t flags;                 /* [const] REQ_F_* */
    uint32_t target;                /* [const] cpu id, VMM_CPU_ANY/ALL/ALL_REV */
    uint32_t step;                  /* [executing EMT] ALL: how many EMTs ran it */
    int status;                     /* [executing EMT until done, then readers] */
    _Atomic int done;               /* [seq_cst] */
    _Atomic(struct vcpu *) waiter_emt; /* [seq_cst] an EMT waiting in req_wait */
    uv_mutex_t lock;                /* non-EMT waiters */
    uv_cond_t cond;
    struct req *next;               /* [queue lock] */
};

int req_queue_init(struct req_queue *q)
{
    if (uv_mutex_init(&q->lock))
        return IXVM_ERR_THREAD;
    q->head[0] = q->head[1] = q->tail[0] = q->tail[1] = NULL;
    atomic_init(&q->prio_count, 0);
    q->queued.c = 0;
    return 0;
}

void req_queue_destroy(struct req_queue *q)
{
    uv_mutex_destroy(&q->lock);
}

static void req_unref(struct req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1) {
        uv_cond_destroy(&r->cond);
        uv_mutex_destroy(&r->lock);
        free(r);
    }
}

void req_release(struct req *req)
{
    if (req)
        req_unref(req);
}

static struct req_queue *req_queue_of(struct vm *vm, uint32_t cpu)
{
    return cpu == VMM_CPU_ANY ? &vm->in->any_q : &vm->cpus[cpu].in->q;
}

/* The cpu an ALL request visits at `step`, or UINT32_MAX when finished. */
static uint32_t req_all_cpu(const struct req *r, uint32_t step)
{
    if (step >= r->vm->ncpus)
        return UINT32_MAX;
    return r->target == VMM_CPU_ALL ? step : r->vm->ncpus - 1 - step;
}

static void req_enqueue(struct vm *vm, struct req *r, uint32_t cpu)
{
    struct req_queue *q = req_queue_of(vm, cpu);
    unsigned lane = (r->flags & REQ_F_PRIORITY) ? 0 : 1;

    r->next = NULL;
    uv_mutex_lock(&q->lock);
    if (q->tail[lane])
        q->tail[lane]->next = r;
    else
        q->head[lane] = r;
    q->tail[lane] = r;
    if (!lane)
        atomic_fetch_add(&q->prio_count, 1);
    stam_counter_inc(&q->queued);
    /* Set under the lock so that a consumer's clear-when-empty (also under
     * the lock) can never hide this request. */
    if (cpu == VMM_CPU_ANY)
        vm_ff_set(vm, VM_FF_REQUEST);
    else
        vmcpu_ff_set(&vm->cpus[cpu], VMCPU_FF_REQUEST);
    uv_mutex_unlock(&q->lock);

    if (!lane) {
        /* EMTs waiting inside a rendezvous do not wake for the REQUEST FF,
         * only for priority requests: poke the sleepers (prio_count was
         * bumped seq_cst above; emt_wait checks it after `sleeping`). */
        for (uint32_t i = 0; i < vm->ncpus; i++)
            if (cpu == VMM_CPU_ANY || cpu == i)
                vmm_cpu_poke(&vm->cpus[i]);
    }
}

static struct req *req_dequeue(struct vm *vm, uint32_t cpu, bool priority_only)
{
    struct req_queue *q = req_queue_of(vm, cpu);
    struct req *r = NULL;

    uv_mutex_lock(&q->lock);
    for (unsigned lane = 0; lane < (priority_only ? 1u : 2u) && !r; lane++) {
        r = q->head[lane];
        if (!r)
            continue;
        q->head[lane] = r->next;
        if (!q->head[lane])
            q->tail[lane] = NULL;
        if (!lane)
            atomic_fetch_sub(&q->prio_count, 1);
    }
    if (!q->head[0] && !q->head[1]) {
        if (cpu == VMM_CPU_ANY)
            vm_ff_clear(vm, VM_FF_REQUEST);
        else
            vmcpu_ff_clear(&vm->cpus[cpu], VMCPU_FF_REQUEST);
    }
    uv_mutex_unlock(&q->lock);
    return r;
}

static void req_complete(struct req *r, int status)
{
    r->status = status;
    uv_mutex_lock(&r->lock);
    atomic_store(&r->done, 1);      /* seq_cst: pairs with the waiter's waiter_emt store */
    uv_cond_broadcast(&r->cond);
    uv_mutex_unlock(&r->lock);
    struct vcpu *w = atomic_load(&r->waiter_emt);
    if (w)
        vmm_cpu_poke(w);
    req_unref(r);
}

/* Run r on vcpu (its EMT); pass an ALL request on or complete it. */
static void req_execute(struct vcpu *vcpu, struct req *r)
{
    int rc = r->fn(vcpu->vm, vcpu, r->user);
    stam_counter_inc(&vcpu->in->reqs);
    int status = ixvm_status_merge(r->status, rc);
    if (r->target == VMM_CPU_ALL || r->target == VMM_CPU_ALL_REV) {
        uint32_t next = req_all_cpu(r, ++r->step);
        if (next != UINT32_MAX) {
            r->status = status;
            req_enqueue(vcpu->vm, r, next);
            return;
        }
    }
    req_complete(r, status);
}

int req_process(struct vcpu *vcpu, bool priority_only)
{
    struct vm *vm = vcpu->vm;
    int n = 0;
    /* Priority first from both queues, then normal ones; one at a time so a
     * priority request queued meanwhile overtakes the rest. */
    for (;;) {
        struct req *r = req_dequeue(vm, vcpu->id, true);
        if (!r)
            r = req_dequeue(vm, VMM_CPU_ANY, true);
        if (!r && !priority_only) {
            r = req_dequeue(vm, vcpu->id, false);
            if (!r)
                r = req_dequeue(vm, VMM_CPU_ANY, false);
        }
        if (!r)
            return n;
        req_execute(vcpu, r);
        n++;
    }
}

bool req_prio_pending(struct vcpu *vcpu)
{
    return atomic_load(&vcpu->in->q.prio_count) || atomic_load(&vcpu->vm->in->any_q.prio_count);
}

void req_cancel_all(struct vm *vm)
{
    for (uint32_t i = 0; i <= vm->ncpus; i++) {
        uint32_t cpu = i < vm->ncpus ? i : VMM_CPU_ANY;
        struct req *r;
        while ((r = req_dequeue(vm, cpu, false)) != NULL)
            req_complete(r, IXVM_ERR_CANCELLED);
    }
}

static bool req_wait_pred(struct vcpu *vcpu, void *arg)
{
    struct req *r = arg;
    return atomic_load(&r->done) != 0;
}

/* An EMT waiting for a request keeps servicing its own work. */
static int req_wait_emt(struct vcpu *self, struct req *r, uint32_t timeout_ms)
{
    struct vm *vm = self->vm;
    uint64_t deadline = timeout_ms == REQ_INDEFINITE ? 0 : uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    bool in_rv = self->in->rv_cur != NULL;

    atomic_store(&r->waiter_emt, self);
    while (!atomic_load(&r->done)) {
        if (atomic_load(&vm->in->terminate))
            return IXVM_ERR_CANCELLED;
        if (vm_ff_is_any_set(vm, VM_FF_EMT_RENDEZVOUS))
            vmm_rendezvous_ff(self);
        bool in_cb = self->in->rv_in_callback;
        self->in->rv_in_callback = false;   /* requests run here are not part of the callback */
        req_process(self, in_rv);
        self->in->rv_in_callback = in_cb;
        if (atomic_load(&r->done))
            break;
        uint64_t left = 0;
        if (deadline) {
            uint64_t now = uv_hrtime();
            if (now >= deadline)
                return IXVM_ERR_TIMEOUT;
            left = deadline - now;
        }
        emt_wait(self, in_rv ? 0 : VM_FF_REQUEST | VM_FF_EMT_RENDEZVOUS, in_rv ? 0 : VMCPU_FF_REQUEST, true,
                 req_wait_pred, r, left);
    }
    return r->status;
}

int req_wait(struct req *r, uint32_t timeout_ms)
{
    if (!r)
        return IXVM_ERR_INVALID_PARAMETER;
    struct vcpu *self = vmm_get_cpu(r->vm);
    if (self)
        return req_wait_emt(self, r, timeout_ms);

    uint64_t deadline = timeout_ms == REQ_INDEFINITE ? 0 : uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    uv_mutex_lock(&r->lock);
    while (!atomic_load(&r->done)) {
        if (!deadline) {
            uv_cond_wait(&r->cond, &r->lock);
            continue;
        }
        uint64_t now = uv_hrtime();
        if (now >= deadline)
            break;
        (void)uv_cond_timedwait(&r->cond, &r->lock, deadline - now);
    }
    uv_mutex_unlock(&r->lock);
    return atomic_load(&r->done) ? r->status : IXVM_ERR_TIMEOUT;
}

static int req_alloc(struct vm *vm, uint32_t target, uint32_t flags, vmm_req_fn *fn, void *user,
                     struct req **out)
{
    if (!vm || !fn || (flags & ~(REQ_F_NO_WAIT | REQ_F_PRIORITY)))
        return IXVM_ERR_INVALID_PARAMETER;
    if (target >= vm->ncpus && target != VMM_CPU_ANY && target != VMM_CPU_ALL && target != VMM_CPU_ALL_REV)
        return IXVM_ERR_INVALID_PARAMETER;
    struct req *r = calloc(1, sizeof(*r));
    if (!r)
        return IXVM_ERR_NO_MEMORY;
    if (uv_mutex_init(&r->lock)) {
        free(r);
        return IXVM_ERR_THREAD;
    }
    if (uv_cond_init(&r->cond)) {
        uv_mutex_destroy(&r->lock);
        free(r);
        return IXVM_ERR_THREAD;
    }
    atomic_init(&r->refs, 1);
    r->vm = vm;
    r->fn = fn;
    r->user = user;
    r->flags = flags;
    r->target = target;
    *out = r;
    return 0;
}

/* Queue r (holding one reference for the queue) or run it at once when the
 * caller is the target EMT. */
static void req_submit(struct vm *vm, struct req *r)
{
    struct vcpu *self = vmm_get_cpu(vm);
    if (self && (r->target == self->id || r->target == VMM_CPU_ANY)) {
        LOG2("req: direct call on EMT %u\n", self->id);
        req_execute(self, r);
        return;
    }
    uint32_t first = r->target;
    if (r->target == VMM_CPU_ALL || r->target == VMM_CPU_ALL_REV)
        first = req_all_cpu(r, 0);
    req_enqueue(vm, r, first);
}

int req_call_async(struct vm *vm, uint32_t target, uint32_t flags, vmm_req_fn *fn, void *user,
                   struct req **out)
{
    struct req *r;
    if (!out)
        return IXVM_ERR_INVALID_PARAMETER;
    int rc = req_alloc(vm, target, flags & ~REQ_F_NO_WAIT, fn, user, &r);
    if (rc < 0)
        return rc;
    atomic_fetch_add(&r->refs, 1);   /* the handle's reference */
    *out = r;
    req_submit(vm, r);
    return 0;
}

int req_call(struct vm *vm, uint32_t target, uint32_t flags, uint32_t timeout_ms, vmm_req_fn *fn, void *user)
{
    if (flags & REQ_F_NO_WAIT) {
        struct req *r;
        int rc = req_alloc(vm, target, flags & ~REQ_F_NO_WAIT, fn, user, &r);
        if (rc < 0)
            return rc;
        req_submit(vm, r);
        return 0;
    }
    struct req *h;
    int rc = req_call_async(vm, target, flags, fn, user, &h);
    if (rc < 0)
        return rc;
    rc = req_wait(h, timeout_ms);
    req_release(h);
    return rc;
}
