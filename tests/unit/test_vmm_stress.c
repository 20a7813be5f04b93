/* SPDX-License-Identifier: MIT */
/*
 * VMM stress (also run under ThreadSanitizer): 16 vCPUs, rendezvous of every
 * type from EMTs and from non-EMT threads at the same time, nested ones,
 * STOP_ON_ERROR with injected failures, and requests flying meanwhile.
 * Everything must complete (criterion's timeout is the watchdog) with exact
 * callback counts.  IXVM_STRESS_ITERS overrides the iteration count.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "test_vmm_helpers.h"

#define NCPUS 16

#ifdef IXVM_SANITIZED
#define DEFAULT_ITERS 150
#else
#define DEFAULT_ITERS 1500
#endif

static unsigned stress_iters(void)
{
    const char *s = getenv("IXVM_STRESS_ITERS");
    return s && atoi(s) > 0 ? (unsigned)atoi(s) : DEFAULT_ITERS;
}

struct stress {
    struct vm *vm;
    _Atomic uint64_t callbacks;     /* callbacks that ran */
    _Atomic uint64_t expected;      /* callbacks that should have run */
    _Atomic uint64_t rv_done;
    _Atomic uint64_t req_done;
    _Atomic uint64_t errors;        /* unexpected statuses */
};

static const uint32_t types[] = { VMM_RV_TYPE_ONCE, VMM_RV_TYPE_ONE_BY_ONE, VMM_RV_TYPE_ALL_AT_ONCE,
                                  VMM_RV_TYPE_ASCENDING, VMM_RV_TYPE_DESCENDING };

struct rv_job {
    struct stress *st;
    int fail_cpu;                   /* -1: none */
    bool nest;
};

static int cb_count(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct rv_job *j = user;
    atomic_fetch_add(&j->st->callbacks, 1);
    return (int)vcpu->id == j->fail_cpu ? IXVM_ERR_INJECTED : 0;
}

static int cb_nest(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct rv_job *j = user;
    atomic_fetch_add(&j->st->callbacks, 1);
    if (vcpu->id != 5)
        return 0;
    struct rv_job inner = { j->st, -1, false };
    atomic_fetch_add(&j->st->expected, NCPUS);
    int rc = vmm_emt_rendezvous(vm, VMM_RV_TYPE_ALL_AT_ONCE, cb_count, &inner);
    if (rc != 0)
        atomic_fetch_add(&j->st->errors, 1);
    return 0;
}

/* Run one rendezvous chosen by i and account for what must happen. */
static void do_one(struct stress *st, unsigned i)
{
    uint32_t type = types[i % IXVM_ARRAY_SIZE(types)];
    uint32_t flags = type | ((i / 7) % 3 == 0 ? VMM_RV_PRIORITY : 0);
    struct rv_job j = { st, -1, false };
    uint64_t expect = type == VMM_RV_TYPE_ONCE ? 1 : NCPUS;
    int want = 0;

    if (type == VMM_RV_TYPE_ASCENDING && i % 4 == 1) {
        /* STOP_ON_ERROR: vCPUs 0..fail run, the rest are skipped. */
        j.fail_cpu = (int)(i % NCPUS);
        flags |= VMM_RV_STOP_ON_ERROR;
        expect = (uint64_t)j.fail_cpu + 1;
        want = IXVM_ERR_INJECTED;
    } else if (type == VMM_RV_TYPE_DESCENDING && i % 4 == 2) {
        j.fail_cpu = (int)(i % NCPUS);
        want = IXVM_ERR_INJECTED;   /* without STOP_ON_ERROR all run, error returned */
    }
    atomic_fetch_add(&st->expected, expect);
    bool nest = type == VMM_RV_TYPE_ONE_BY_ONE && i % 5 == 3;
    int rc = vmm_emt_rendezvous(st->vm, flags, nest ? cb_nest : cb_count, &j);
    if (rc != want)
        atomic_fetch_add(&st->errors, 1);
    atomic_fetch_add(&st->rv_done, 1);
}

struct worker {
    struct stress *st;
    unsigned seed, iters;
};

static void non_emt_worker(void *arg)
{
    struct worker *w = arg;
    for (unsigned i = 0; i < w->iters; i++)
        do_one(w->st, w->seed + i);
}

struct emt_job {
    struct stress *st;
    unsigned seed, iters;
};

static int emt_worker(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct emt_job *j = user;
    for (unsigned i = 0; i < j->iters; i++)
        do_one(j->st, j->seed + i);
    return 0;
}

static int req_add(struct vm *vm, struct vcpu *vcpu, void *user)
{
    atomic_fetch_add(&((struct stress *)user)->req_done, 1);
    return 0;
}

static void req_worker(void *arg)
{
    struct worker *w = arg;
    for (unsigned i = 0; i < w->iters * 4; i++) {
        uint32_t target = i % 3 == 0 ? VMM_CPU_ANY : (w->seed + i) % NCPUS;
        uint32_t flags = i % 5 == 0 ? REQ_F_PRIORITY : 0;
        int rc = req_call(w->st->vm, target, flags, REQ_INDEFINITE, req_add, w->st);
        if (rc != 0)
            atomic_fetch_add(&w->st->errors, 1);
    }
}

Test(vmm_stress, mixed_rendezvous_and_requests, .timeout = 60)
{
    struct stress st = { 0 };
    unsigned iters = stress_iters();
    st.vm = tv_create_on(NCPUS);

    /* Two EMTs issue rendezvous in a loop (as async requests). */
    struct emt_job ej[2] = { { &st, 1000, iters }, { &st, 2000, iters } };
    struct req *eh[2];
    cr_assert_eq(req_call_async(st.vm, 3, 0, emt_worker, &ej[0], &eh[0]), 0);
    cr_assert_eq(req_call_async(st.vm, 12, 0, emt_worker, &ej[1], &eh[1]), 0);

    /* Two non-EMT threads issue rendezvous, one issues requests. */
    struct worker w[3] = { { &st, 0, iters }, { &st, 500, iters }, { &st, 7, iters } };
    uv_thread_t t[3];
    cr_assert_eq(uv_thread_create(&t[0], non_emt_worker, &w[0]), 0);
    cr_assert_eq(uv_thread_create(&t[1], non_emt_worker, &w[1]), 0);
    cr_assert_eq(uv_thread_create(&t[2], req_worker, &w[2]), 0);

    for (int i = 0; i < 3; i++)
        uv_thread_join(&t[i]);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(req_wait(eh[i], REQ_INDEFINITE), 0);
        req_release(eh[i]);
    }
    cr_assert_eq(atomic_load(&st.errors), 0, "unexpected statuses");
    cr_assert_eq(atomic_load(&st.rv_done), 4ull * iters);
    cr_assert_eq(atomic_load(&st.req_done), 4ull * iters);
    cr_assert_eq(atomic_load(&st.callbacks), atomic_load(&st.expected), "callbacks %llu expected %llu",
                 (unsigned long long)st.callbacks, (unsigned long long)st.expected);
    vmm_destroy(st.vm);
}
