/* SPDX-License-Identifier: MIT */
/*
 * TM tests: the virtual clock (pause/resume, manual mode), timer ordering,
 * stop and re-arm, locks held during callbacks, the libuv-driven mode with
 * arming from another thread, and the saved-state unit.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "ixvm/ssm.h"
#include "ixvm/tm.h"

struct rec {
    struct tm_mgr *tm;
    uint64_t at[16];
    int ids[16];
    int n;
    int id;
    pthread_mutex_t *lock;
    bool lock_was_held;
    struct tm_timer *rearm;     /* re-arm this one from the callback */
    uint64_t rearm_delta;
};

struct cb_arg {
    struct rec *r;
    int id;
};

static void rec_cb(void *user)
{
    struct cb_arg *a = user;
    struct rec *r = a->r;
    if (r->lock)
        r->lock_was_held = pthread_mutex_trylock(r->lock) != 0;
    if (r->n < 16) {
        r->at[r->n] = tm_virtual_now(r->tm);
        r->ids[r->n] = a->id;
        r->n++;
    }
    if (r->rearm && r->n < 5)
        tm_timer_arm_rel_ns(r->rearm, r->rearm_delta);
}

Test(tm, manual_clock_starts_at_zero_and_advances)
{
    struct tm_mgr *tm;
    cr_assert_eq(tm_create(NULL, &tm), 0);
    cr_assert(tm_is_manual(tm));
    cr_assert_eq(tm_virtual_now(tm), 0);
    cr_assert_eq(tm_advance(tm, 1234), 0);
    cr_assert_eq(tm_virtual_now(tm), 1234);
    tm_set_virtual(tm, 5000);
    cr_assert_eq(tm_virtual_now(tm), 5000);
    cr_assert_eq(tm_set_manual(tm, false), IXVM_ERR_INVALID_STATE, "no loop: must stay manual");
    tm_destroy(tm);
}

Test(tm, timers_fire_in_deadline_order_at_their_deadline)
{
    struct tm_mgr *tm;
    cr_assert_eq(tm_create(NULL, &tm), 0);
    struct rec r = { .tm = tm };
    struct cb_arg a[3] = { { &r, 0 }, { &r, 1 }, { &r, 2 } };
    struct tm_timer *t[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tm_timer_create(tm, rec_cb, &a[i], NULL, "t", &t[i]), 0);
    tm_timer_arm_ns(t[0], 300);
    tm_timer_arm_ns(t[1], 100);
    tm_timer_arm_ns(t[2], 200);
    cr_assert_eq(tm_next_deadline(tm), 100);
    cr_assert_eq(tm_advance(tm, 250), 2);
    cr_assert_eq(r.n, 2);
    cr_assert_eq(r.ids[0], 1);
    cr_assert_eq(r.at[0], 100);
    cr_assert_eq(r.ids[1], 2);
    cr_assert_eq(r.at[1], 200);
    cr_assert_eq(tm_virtual_now(tm), 250);
    cr_assert(tm_timer_is_armed(t[0]));
    cr_assert(!tm_timer_is_armed(t[1]));
    cr_assert_eq(tm_advance(tm, 50), 1);
    cr_assert_eq(r.at[2], 300);
    cr_assert_eq(tm_next_deadline(tm), TM_DEADLINE_NONE);
    for (int i = 0; i < 3; i++)
        tm_timer_destroy(t[i]);
    tm_destroy(tm);
}

Test(tm, stop_and_rearm)
{
    struct tm_mgr *tm;
    cr_assert_eq(tm_create(NULL, &tm), 0);
    struct rec r = { .tm = tm };
    struct cb_arg a = { &r, 7 };
    struct tm_timer *t;
    cr_assert_eq(tm_timer_create(tm, rec_cb, &a, NULL, "t", &t), 0);
    tm_timer_arm_ns(t, 100);
    tm_timer_stop(t);
    cr_assert_eq(tm_timer_deadline(t), TM_DEADLINE_NONE);
    cr_assert_eq(tm_advance(tm, 1000), 0);
    cr_assert_eq(r.n, 0);
    tm_timer_arm_ns(t, 1500);
    tm_timer_arm_ns(t, 1200);   /* re-arm moves it */
    cr_assert_eq(tm_advance(tm, 1000), 1);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.at[0], 1200);
    /* Periodic re-arm from the callback: 4 more at +100 each. */
    r.rearm = t;
    r.rearm_delta = 100;
    tm_timer_arm_ns(t, 2100);
    cr_assert_eq(tm_advance(tm, 10000), 4);
    cr_assert_eq(r.n, 5);
    cr_assert_eq(r.at[4], 2400);
    tm_timer_destroy(t);
    tm_destroy(tm);
}

Test(tm, callback_runs_with_lock_held)
{
    struct tm_mgr *tm;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    cr_assert_eq(tm_create(NULL, &tm), 0);
    struct rec r = { .tm = tm, .lock = &lock };
    struct cb_arg a = { &r, 1 };
    struct tm_timer *t;
    cr_assert_eq(tm_timer_create(tm, rec_cb, &a, &lock, "t", &t), 0);
    tm_timer_arm_ns(t, 10);
    cr_assert_eq(tm_advance(tm, 10), 1);
    cr_assert(r.lock_was_held);
    cr_assert_eq(pthread_mutex_trylock(&lock), 0, "released after the callback");
    pthread_mutex_unlock(&lock);
    tm_timer_destroy(t);
    tm_destroy(tm);
}

Test(tm, ssm_round_trip_of_the_clock)
{
    struct tm_mgr *tm;
    struct ssm *ssm;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(tm_create(NULL, &tm), 0);
    cr_assert_eq(ssm_create(&ssm), 0);
    cr_assert_eq(tm_ssm_register(tm, ssm), 0);
    cr_assert_eq(tm_advance(tm, 987654321), 0);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(ssm_save_mem(ssm, 0, &buf, &len, &err), 0, "%s", err.msg);
    tm_set_virtual(tm, 5);
    cr_assert_eq(ssm_load_mem(ssm, buf, len, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(tm_virtual_now(tm), 987654321);
    free(buf);
    ssm_destroy(ssm);
    tm_destroy(tm);
}

/* ---- real clock on a libuv loop ---------------------------------------- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(tm, pause_freezes_the_clock)
{
    uv_loop_t loop;
    struct tm_mgr *tm;
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(tm_create(&loop, &tm), 0);
    cr_assert_eq(tm_set_manual(tm, false), 0);
    cr_assert_eq(tm_virtual_now(tm), 0, "paused at creation");
    tm_resume(tm);
    usleep(20000);
    uint64_t a = tm_virtual_now(tm);
    cr_assert_geq(a, 15000000, "ran ~20 ms: %llu", (unsigned long long)a);
    tm_pause(tm);
    uint64_t b = tm_virtual_now(tm);
    usleep(20000);
    cr_assert_eq(tm_virtual_now(tm), b, "stopped while paused");
    tm_resume(tm);
    uint64_t c = tm_virtual_now(tm);
    cr_assert_geq(c, b);
    cr_assert_lt(c - b, 5000000, "no jump over the pause");
    tm_destroy(tm);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

static void stop_loop_cb(uv_timer_t *h)
{
    uv_stop(h->loop);
}

struct loop_rec {
    struct tm_mgr *tm;
    uv_loop_t *loop;
    struct tm_timer *t;
    _Atomic int fired;
    uint64_t fired_at;
    uint64_t deadline;
};

static void loop_cb(void *user)
{
    struct loop_rec *r = user;
    r->fired_at = tm_virtual_now(r->tm);
    r->fired++;
    uv_stop(r->loop);
}

static void *arm_thread(void *arg)
{
    struct loop_rec *r = arg;
    usleep(5000);
    r->deadline = tm_virtual_now(r->tm) + 15000000;
    tm_timer_arm_ns(r->t, r->deadline);
    return NULL;
}

Test(tm, loop_fires_timer_armed_from_another_thread, .timeout = 10)
{
    uv_loop_t loop;
    struct loop_rec r = { .loop = &loop };
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(tm_create(&loop, &r.tm), 0);
    cr_assert_eq(tm_set_manual(r.tm, false), 0);
    cr_assert_eq(tm_timer_create(r.tm, loop_cb, &r, NULL, "x", &r.t), 0);
    tm_resume(r.tm);
    pthread_t th;
    uint64_t t0 = mono_ms();
    cr_assert_eq(pthread_create(&th, NULL, arm_thread, &r), 0);
    /* A keep-alive timer so the loop does not exit before the arm. */
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, stop_loop_cb, 5000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    uint64_t el = mono_ms() - t0;
    cr_assert_eq(r.fired, 1);
    cr_assert_geq(r.fired_at, r.deadline, "not early");
    cr_assert_lt(r.fired_at - r.deadline, 50000000, "late by %llu ns",
                 (unsigned long long)(r.fired_at - r.deadline));
    cr_assert_geq(el, 18, "waited for the deadline: %llu ms", (unsigned long long)el);
    uv_close((uv_handle_t *)&guard, NULL);
    tm_timer_destroy(r.t);
    tm_destroy(r.tm);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(tm, paused_clock_fires_nothing, .timeout = 10)
{
    uv_loop_t loop;
    struct loop_rec r = { .loop = &loop };
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(tm_create(&loop, &r.tm), 0);
    cr_assert_eq(tm_set_manual(r.tm, false), 0);
    cr_assert_eq(tm_timer_create(r.tm, loop_cb, &r, NULL, "x", &r.t), 0);
    tm_timer_arm_ns(r.t, 1000000);   /* 1 ms of virtual time, never reached */
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, stop_loop_cb, 30, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(r.fired, 0);
    tm_resume(r.tm);
    uv_timer_start(&guard, stop_loop_cb, 2000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(r.fired, 1);
    uv_close((uv_handle_t *)&guard, NULL);
    tm_timer_destroy(r.t);
    tm_destroy(r.tm);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
