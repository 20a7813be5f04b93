/* SPDX-License-Identifier: MIT */
/*
 * TM: the virtual clock and its timers (include/ixvm/tm.h).
 *
 * The clock is (base_virt, base_mono, ticking) published through a seqlock:
 * virtual = base_virt + (CLOCK_MONOTONIC - base_mono) while ticking, else
 * base_virt.  Writers (pause, resume, manual advance, set) serialise on the
 * queue mutex.  Timers sit in one deadline-sorted list under that mutex (a
 * VM has a few dozen timers at most, so insertion is a short walk); the
 * loop keeps a single uv_timer on the head.  Each arm/stop bumps the
 * timer's generation, so an expiry taken off the queue is dropped if the
 * timer changed while the firing thread waited for the device lock.
 */
#define LOG_GROUP LOG_GROUP_TM
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ixvm/log.h"
#include "ixvm/ssm.h"
#include "ixvm/tm.h"

/* A callback re-arming itself in the past must not hang the loop. */
#define TM_MAX_FIRES_PER_RUN  4096
#define TM_MAX_FIRES_ADVANCE  (1u << 22)

struct tm_timer {
    struct tm_mgr *tm;
    tm_timer_fn *cb;
    void *user;
    pthread_mutex_t *lock;
    char name[32];
    uint64_t deadline;              /* [tm->mtx] */
    uint64_t gen;                   /* [tm->mtx] bumped by arm and stop */
    bool armed;                     /* [tm->mtx] */
    struct tm_timer *qnext;         /* [tm->mtx] deadline queue */
    struct tm_timer *anext, *aprev; /* [tm->mtx] every timer of the tm */
};

struct tm_mgr {
    uv_loop_t *loop;                /* NULL: manual only */
    uv_timer_t uvt;                 /* [loop] */
    uv_async_t wake;                /* [any] uv_async_send */
    int open_handles;               /* [loop] */
    pthread_mutex_t mtx;
    struct tm_timer *head;          /* [mtx] */
    struct tm_timer *all;           /* [mtx] */
    bool running;                   /* [mtx] tm_resume'd */
    bool manual;                    /* [mtx] */
    /* The clock, published by a seqlock (written under mtx). */
    _Atomic uint32_t seq;
    _Atomic int64_t base_virt;
    _Atomic int64_t base_mono;
    _Atomic bool ticking;           /* running && !manual */
    /* Highest value handed out: a reader that sampled the running clock
     * just before a pause must not see time go back afterwards. */
    _Atomic uint64_t high;
};

static int64_t tm_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * (int64_t)TM_NS_PER_SEC + ts.tv_nsec;
}

/* The raw clock from the seqlock-published state. */
static uint64_t tm_clock_raw(struct tm_mgr *m)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(&m->seq, memory_order_acquire);
        if (s & 1)
            continue;
        int64_t bv = atomic_load_explicit(&m->base_virt, memory_order_relaxed);
        int64_t bm = atomic_load_explicit(&m->base_mono, memory_order_relaxed);
        bool tk = atomic_load_explicit(&m->ticking, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&m->seq, memory_order_relaxed) != s)
            continue;
        if (!tk)
            return (uint64_t)bv;
        int64_t d = tm_mono_ns() - bm;
        return (uint64_t)(bv + (d > 0 ? d : 0));
    }
}

uint64_t tm_virtual_now(const struct tm_mgr *tm)
{
    struct tm_mgr *m = (struct tm_mgr *)tm;
    uint64_t v = tm_clock_raw(m);
    uint64_t hw = atomic_load_explicit(&m->high, memory_order_relaxed);
    while (v > hw) {
        if (atomic_compare_exchange_weak_explicit(&m->high, &hw, v, memory_order_relaxed,
                                                  memory_order_relaxed))
            return v;
    }
    return hw;
}

/* Publish a new clock state.  Caller holds mtx. */
static void tm_clock_publish(struct tm_mgr *tm, uint64_t virt, bool ticking)
{
    uint32_t s = atomic_load_explicit(&tm->seq, memory_order_relaxed);
    atomic_store_explicit(&tm->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&tm->base_virt, (int64_t)virt, memory_order_relaxed);
    atomic_store_explicit(&tm->base_mono, tm_mono_ns(), memory_order_relaxed);
    atomic_store_explicit(&tm->ticking, ticking, memory_order_relaxed);
    atomic_store_explicit(&tm->seq, s + 2, memory_order_release);
}

/* Ask the loop to re-arm its uv_timer (any thread). */
static void tm_kick(struct tm_mgr *tm)
{
    if (tm->loop)
        uv_async_send(&tm->wake);
}

/*
 * Take the first timer due at `now` off the queue and run it under its
 * lock.  Returns false when nothing is due.
 */
static bool tm_fire_next(struct tm_mgr *tm, uint64_t now)
{
    pthread_mutex_lock(&tm->mtx);
    struct tm_timer *t = tm->head;
    if (!t || t->deadline > now) {
        pthread_mutex_unlock(&tm->mtx);
        return false;
    }
    tm->head = t->qnext;
    t->qnext = NULL;
    t->armed = false;
    uint64_t gen = t->gen;
    pthread_mutex_unlock(&tm->mtx);

    if (t->lock)
        pthread_mutex_lock(t->lock);
    pthread_mutex_lock(&tm->mtx);
    bool still = t->gen == gen;   /* not re-armed or stopped meanwhile */
    pthread_mutex_unlock(&tm->mtx);
    if (still) {
        LOG3("timer '%s' fires at %llu", t->name, (unsigned long long)now);
        t->cb(t->user);
    }
    if (t->lock)
        pthread_mutex_unlock(t->lock);
    return true;
}

static void tm_uv_timer_cb(uv_timer_t *h);

/* [loop] Point the uv_timer at the head of the queue (ms granularity,
 * rounded up so the deadline has passed when it fires). */
static void tm_rearm_uv(struct tm_mgr *tm)
{
    pthread_mutex_lock(&tm->mtx);
    uint64_t d = tm->head ? tm->head->deadline : TM_DEADLINE_NONE;
    bool tick = tm->running && !tm->manual;
    pthread_mutex_unlock(&tm->mtx);
    if (!tick || d == TM_DEADLINE_NONE) {
        uv_timer_stop(&tm->uvt);
        return;
    }
    uint64_t now = tm_virtual_now(tm);
    uint64_t delta = d > now ? d - now : 0;
    uv_update_time(tm->loop);
    uv_timer_start(&tm->uvt, tm_uv_timer_cb, (delta + 999999) / 1000000, 0);
}

static void tm_uv_timer_cb(uv_timer_t *h)
{
    struct tm_mgr *tm = h->data;
    for (int i = 0; i < TM_MAX_FIRES_PER_RUN; i++)
        if (!tm_fire_next(tm, tm_virtual_now(tm)))
            break;
    tm_rearm_uv(tm);
}

static void tm_async_cb(uv_async_t *h)
{
    tm_rearm_uv(h->data);
}

int tm_create(uv_loop_t *loop, struct tm_mgr **out)
{
    struct tm_mgr *tm = calloc(1, sizeof(*tm));
    if (!tm)
        return IXVM_ERR_NO_MEMORY;
    if (pthread_mutex_init(&tm->mtx, NULL)) {
        free(tm);
        return IXVM_ERR_THREAD;
    }
    tm->loop = loop;
    tm->manual = loop == NULL;
    if (loop) {
        if (uv_timer_init(loop, &tm->uvt) || uv_async_init(loop, &tm->wake, tm_async_cb)) {
            LOG_REL("cannot initialise the TM's libuv handles");
            pthread_mutex_destroy(&tm->mtx);
            free(tm);
            return IXVM_ERR_GENERAL;
        }
        tm->uvt.data = tm;
        tm->wake.data = tm;
        tm->open_handles = 2;
    }
    pthread_mutex_lock(&tm->mtx);
    tm_clock_publish(tm, 0, false);
    pthread_mutex_unlock(&tm->mtx);
    *out = tm;
    return 0;
}

static void tm_free(struct tm_mgr *tm)
{
    pthread_mutex_destroy(&tm->mtx);
    free(tm);
}

static void tm_close_cb(uv_handle_t *h)
{
    struct tm_mgr *tm = h->data;
    if (--tm->open_handles == 0)
        tm_free(tm);
}

void tm_destroy(struct tm_mgr *tm)
{
    if (!tm)
        return;
    pthread_mutex_lock(&tm->mtx);
    struct tm_timer *t = tm->all;
    tm->all = NULL;
    tm->head = NULL;
    pthread_mutex_unlock(&tm->mtx);
    while (t) {
        struct tm_timer *n = t->anext;
        LOG("timer '%s' still exists at TM destruction", t->name);
        free(t);
        t = n;
    }
    if (!tm->loop) {
        tm_free(tm);
        return;
    }
    uv_close((uv_handle_t *)&tm->uvt, tm_close_cb);
    uv_close((uv_handle_t *)&tm->wake, tm_close_cb);
}

void tm_resume(struct tm_mgr *tm)
{
    pthread_mutex_lock(&tm->mtx);
    if (!tm->running) {
        tm->running = true;
        if (!tm->manual)
            tm_clock_publish(tm, tm_virtual_now(tm), true);
    }
    pthread_mutex_unlock(&tm->mtx);
    tm_kick(tm);
}

void tm_pause(struct tm_mgr *tm)
{
    pthread_mutex_lock(&tm->mtx);
    if (tm->running) {
        tm->running = false;
        if (!tm->manual)
            tm_clock_publish(tm, tm_virtual_now(tm), false);
    }
    pthread_mutex_unlock(&tm->mtx);
    tm_kick(tm);
}

bool tm_is_running(const struct tm_mgr *tm)
{
    struct tm_mgr *m = (struct tm_mgr *)tm;
    pthread_mutex_lock(&m->mtx);
    bool v = m->running;
    pthread_mutex_unlock(&m->mtx);
    return v;
}

void tm_set_virtual(struct tm_mgr *tm, uint64_t ns)
{
    pthread_mutex_lock(&tm->mtx);
    tm_clock_publish(tm, ns, tm->running && !tm->manual);
    atomic_store_explicit(&tm->high, ns, memory_order_relaxed);   /* may go back: a load */
    pthread_mutex_unlock(&tm->mtx);
    tm_kick(tm);
}

int tm_set_manual(struct tm_mgr *tm, bool manual)
{
    if (!manual && !tm->loop)
        return IXVM_ERR_INVALID_STATE;
    pthread_mutex_lock(&tm->mtx);
    tm->manual = manual;
    tm_clock_publish(tm, tm_virtual_now(tm), tm->running && !manual);
    pthread_mutex_unlock(&tm->mtx);
    tm_kick(tm);
    return 0;
}

bool tm_is_manual(const struct tm_mgr *tm)
{
    struct tm_mgr *m = (struct tm_mgr *)tm;
    pthread_mutex_lock(&m->mtx);
    bool v = m->manual;
    pthread_mutex_unlock(&m->mtx);
    return v;
}

int tm_advance(struct tm_mgr *tm, uint64_t ns)
{
    pthread_mutex_lock(&tm->mtx);
    if (!tm->manual) {
        pthread_mutex_unlock(&tm->mtx);
        return IXVM_ERR_INVALID_STATE;
    }
    uint64_t now = tm_virtual_now(tm);
    uint64_t target = ns > UINT64_MAX - now ? UINT64_MAX - 1 : now + ns;
    pthread_mutex_unlock(&tm->mtx);

    unsigned fired = 0;
    for (;;) {
        pthread_mutex_lock(&tm->mtx);
        uint64_t d = tm->head ? tm->head->deadline : TM_DEADLINE_NONE;
        if (d > target || fired >= TM_MAX_FIRES_ADVANCE) {
            if (fired >= TM_MAX_FIRES_ADVANCE)
                LOG_REL("tm_advance: %u callbacks without reaching the target; timer '%s' keeps re-arming",
                        fired, tm->head ? tm->head->name : "?");
            tm_clock_publish(tm, target, false);
            pthread_mutex_unlock(&tm->mtx);
            break;
        }
        if (d > tm_virtual_now(tm))
            tm_clock_publish(tm, d, false);
        pthread_mutex_unlock(&tm->mtx);
        if (tm_fire_next(tm, d))
            fired++;
    }
    return (int)fired;
}

/* Remove t from the deadline queue.  Caller holds mtx. */
static void tm_queue_unlink(struct tm_mgr *tm, struct tm_timer *t)
{
    for (struct tm_timer **pp = &tm->head; *pp; pp = &(*pp)->qnext)
        if (*pp == t) {
            *pp = t->qnext;
            t->qnext = NULL;
            return;
        }
}

int tm_timer_create(struct tm_mgr *tm, tm_timer_fn *cb, void *user, pthread_mutex_t *lock,
                    const char *name, struct tm_timer **out)
{
    if (!tm || !cb || !out)
        return IXVM_ERR_INVALID_PARAMETER;
    struct tm_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return IXVM_ERR_NO_MEMORY;
    t->tm = tm;
    t->cb = cb;
    t->user = user;
    t->lock = lock;
    t->deadline = TM_DEADLINE_NONE;
    snprintf(t->name, sizeof(t->name), "%s", name ? name : "?");
    pthread_mutex_lock(&tm->mtx);
    t->anext = tm->all;
    if (tm->all)
        tm->all->aprev = t;
    tm->all = t;
    pthread_mutex_unlock(&tm->mtx);
    *out = t;
    return 0;
}

void tm_timer_destroy(struct tm_timer *t)
{
    if (!t)
        return;
    struct tm_mgr *tm = t->tm;
    pthread_mutex_lock(&tm->mtx);
    if (t->armed)
        tm_queue_unlink(tm, t);
    if (t->aprev)
        t->aprev->anext = t->anext;
    else
        tm->all = t->anext;
    if (t->anext)
        t->anext->aprev = t->aprev;
    pthread_mutex_unlock(&tm->mtx);
    free(t);
}

void tm_timer_arm_ns(struct tm_timer *t, uint64_t deadline)
{
    struct tm_mgr *tm = t->tm;
    if (deadline == TM_DEADLINE_NONE)
        deadline--;
    pthread_mutex_lock(&tm->mtx);
    if (t->armed)
        tm_queue_unlink(tm, t);
    t->deadline = deadline;
    t->armed = true;
    t->gen++;
    struct tm_timer **pp = &tm->head;
    while (*pp && (*pp)->deadline <= deadline)
        pp = &(*pp)->qnext;
    t->qnext = *pp;
    *pp = t;
    bool new_head = tm->head == t;
    pthread_mutex_unlock(&tm->mtx);
    if (new_head)
        tm_kick(tm);
}

void tm_timer_arm_rel_ns(struct tm_timer *t, uint64_t delta)
{
    uint64_t now = tm_virtual_now(t->tm);
    tm_timer_arm_ns(t, delta > UINT64_MAX - 1 - now ? UINT64_MAX - 1 : now + delta);
}

void tm_timer_stop(struct tm_timer *t)
{
    struct tm_mgr *tm = t->tm;
    pthread_mutex_lock(&tm->mtx);
    if (t->armed)
        tm_queue_unlink(tm, t);
    t->armed = false;
    t->deadline = TM_DEADLINE_NONE;
    t->gen++;
    pthread_mutex_unlock(&tm->mtx);
    /* No kick: a uv_timer firing for nothing finds an empty head and re-arms. */
}

bool tm_timer_is_armed(const struct tm_timer *t)
{
    pthread_mutex_lock(&t->tm->mtx);
    bool v = t->armed;
    pthread_mutex_unlock(&t->tm->mtx);
    return v;
}

uint64_t tm_timer_deadline(const struct tm_timer *t)
{
    pthread_mutex_lock(&t->tm->mtx);
    uint64_t v = t->armed ? t->deadline : TM_DEADLINE_NONE;
    pthread_mutex_unlock(&t->tm->mtx);
    return v;
}

struct tm_mgr *tm_timer_tm(const struct tm_timer *t) { return t->tm; }

uint64_t tm_next_deadline(struct tm_mgr *tm)
{
    pthread_mutex_lock(&tm->mtx);
    uint64_t d = tm->head ? tm->head->deadline : TM_DEADLINE_NONE;
    pthread_mutex_unlock(&tm->mtx);
    return d;
}

/* ---- saved state: the clock value ---------------------------------------- */

static int tm_ssm_save(void *user, struct ssm_handle *h)
{
    return ssm_put_u64(h, tm_virtual_now(user));
}

static int tm_ssm_load(void *user, struct ssm_handle *h, uint32_t version)
{
    uint64_t v;
    int rc = ssm_get_u64(h, &v);
    if (rc < 0)
        return rc;
    tm_set_virtual(user, v);
    return 0;
}

int tm_ssm_register(struct tm_mgr *tm, struct ssm *ssm)
{
    struct ssm_unit_desc d = {
        .name = "tm", .instance = 0, .version = 1, .min_version = 1,
        .save = tm_ssm_save, .load = tm_ssm_load, .user = tm,
    };
    return ssm_register(ssm, &d);
}
