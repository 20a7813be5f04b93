/* SPDX-License-Identifier: MIT */
/*
 * DBGF info registry under concurrency (also run under TSan): callers on
 * two threads run a slow handler while the main thread churns other
 * entries and finally deregisters the slow one.  Deregistering must wait
 * for running calls, and no call may start afterwards.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ixvm/dbgf.h"

struct slow {
    int running;                /* [any, atomic] calls inside the handler */
    int total;                  /* [any, atomic] */
    bool gone;                  /* [any, atomic] set once deregister returned */
    int late_calls;             /* [any, atomic] calls that started after gone */
};

static void slow_handler(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct slow *s = user;
    if (__atomic_load_n(&s->gone, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&s->late_calls, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&s->running, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&s->total, 1, __ATOMIC_SEQ_CST);
    struct timespec ts = { 0, 200000 };     /* 0.2 ms: long enough to overlap */
    nanosleep(&ts, NULL);
    ixvm_pr(pr, "slow %s\n", args);
    __atomic_sub_fetch(&s->running, 1, __ATOMIC_SEQ_CST);
}

static void noop_handler(void *user, const struct ixvm_printer *pr, const char *args)
{
}

static void discard(void *user, const char *text)
{
}

struct caller_arg {
    struct dbgf_info_reg *reg;
    bool stop;                  /* [any, atomic] */
    int not_found;              /* [caller] */
    int bad_rc;                 /* [caller] statuses other than 0 / NOT_FOUND */
};

static void *caller(void *p)
{
    struct caller_arg *a = p;
    struct ixvm_printer pr = { discard, NULL };
    while (!__atomic_load_n(&a->stop, __ATOMIC_SEQ_CST)) {
        /* Assertions belong to the main thread: count surprises here. */
        int rc = dbgf_info_call(a->reg, "slow", "x", &pr);
        if (rc == IXVM_ERR_NOT_FOUND)
            a->not_found++;
        else if (rc != 0)
            a->bad_rc++;
        rc = dbgf_info_call(a->reg, "churn3", NULL, &pr);
        if (rc != 0 && rc != IXVM_ERR_NOT_FOUND)
            a->bad_rc++;
    }
    return NULL;
}

Test(dbgf_stress, deregister_waits_for_running_calls)
{
    struct dbgf_info_reg *reg = NULL;
    cr_assert_eq(dbgf_info_create(&reg), 0);
    static struct slow s;
    memset(&s, 0, sizeof(s));
    cr_assert_eq(dbgf_info_register(reg, "slow", "slow handler", slow_handler, &s), 0);
    struct caller_arg args[2] = { { reg, false, 0, 0 }, { reg, false, 0, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, caller, &args[i]), 0);

    /* Churn other entries while calls run. */
    for (int round = 0; round < 300; round++) {
        for (int i = 0; i < 8; i++) {
            char name[16];
            snprintf(name, sizeof(name), "churn%d", i);
            cr_assert_eq(dbgf_info_register(reg, name, "c", noop_handler, NULL), 0);
        }
        for (int i = 0; i < 8; i++) {
            char name[16];
            snprintf(name, sizeof(name), "churn%d", i);
            cr_assert_eq(dbgf_info_deregister(reg, name), 0);
        }
    }
    /* Make sure the slow handler has really been running, then remove it. */
    while (__atomic_load_n(&s.total, __ATOMIC_SEQ_CST) < 20)
        sched_yield();
    /* Deregister while a call is inside the handler: it has to wait. */
    while (__atomic_load_n(&s.running, __ATOMIC_SEQ_CST) == 0)
        sched_yield();
    cr_assert_eq(dbgf_info_deregister(reg, "slow"), 0);
    cr_assert_eq(__atomic_load_n(&s.running, __ATOMIC_SEQ_CST), 0);
    __atomic_store_n(&s.gone, true, __ATOMIC_SEQ_CST);
    struct timespec ts = { 0, 20000000 };
    nanosleep(&ts, NULL);
    for (int i = 0; i < 2; i++) {
        __atomic_store_n(&args[i].stop, true, __ATOMIC_SEQ_CST);
        cr_assert_eq(pthread_join(th[i], NULL), 0);
    }
    cr_assert_eq(s.late_calls, 0);
    cr_assert_eq(args[0].bad_rc + args[1].bad_rc, 0);
    cr_assert_gt(args[0].not_found + args[1].not_found, 0);
    cr_log_info("%d slow calls", s.total);
    dbgf_info_destroy(reg);
}

