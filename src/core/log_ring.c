/* SPDX-License-Identifier: MIT */
/*
 * Per-thread log buffer rings and the flusher thread.
 *
 * The producer formats an entry straight into its current buffer
 * (vsnprintf, no allocation, no lock, no system call), publishes the new
 * length with a release store, and when the buffer is full hands it over by
 * advancing `filled`.  The flusher writes handed-over buffers in order,
 * recycles them by advancing `done`, and on periodic and requested passes
 * also writes the committed prefix of each current buffer.  When every
 * buffer of a ring is with the flusher the entry is dropped and counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log_internal.h"

/* Hand a buffer over early when less than this is left: the next entry
 * would most likely not fit, and the flusher gets the data sooner. */
#define LOG_EAGER_ROOM      128u
/* Period of the flusher's partial passes (writes idle threads' entries). */
#define LOG_FLUSH_PERIOD_NS (200u * 1000u * 1000u)

static const char log_trunc_marker[] = " [...truncated]\n";

struct log_thread *log_ring_new(const char *id, unsigned nbufs, size_t buf_size)
{
    struct log_thread *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->bufs = calloc(nbufs, sizeof(*t->bufs));
    char *mem = malloc((size_t)nbufs * buf_size);
    if (!t->bufs || !mem) {
        free(mem);
        free(t->bufs);
        free(t);
        return NULL;
    }
    for (unsigned i = 0; i < nbufs; i++) {
        t->bufs[i].data = mem + (size_t)i * buf_size;
        atomic_init(&t->bufs[i].used, 0);
    }
    snprintf(t->id, sizeof(t->id), "%s", id);
    t->nbufs = nbufs;
    t->buf_size = buf_size;
    return t;
}

void log_ring_free(struct log_thread *t)
{
    if (!t)
        return;
    free(t->bufs[0].data);   /* one allocation for every buffer */
    free(t->bufs);
    free(t);
}

/* Single-writer counter bump: no read-modify-write needed. */
static void log_stat_add(_Atomic uint64_t *ctr, uint64_t n)
{
    atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* The producer's current buffer, or NULL when the flusher holds them all. */
static struct log_buf *log_ring_cur(struct log_thread *t)
{
    if (t->p_filled - t->p_done >= t->nbufs) {
        /* Acquire: the flusher finished reading the buffer and reset its
         * length before it advanced done (release). */
        t->p_done = atomic_load_explicit(&t->done, memory_order_acquire);
        if (t->p_filled - t->p_done >= t->nbufs)
            return NULL;
    }
    return &t->bufs[t->p_filled % t->nbufs];
}

static void log_ring_handoff(struct log_thread *t)
{
    t->p_filled++;
    t->p_used = 0;
    /* Release: the buffer's bytes and final length are visible to the
     * flusher once it sees the new filled count. */
    atomic_store_explicit(&t->filled, t->p_filled, memory_order_release);
    log_flusher_kick();
}

/*
 * Format one entry at dst (room bytes).  Returns its length, or 0 if it does
 * not fit; with may_truncate (the buffer is empty, so retrying elsewhere
 * cannot help) an oversized entry is cut and ends with a marker instead.
 */
static size_t log_fmt_entry(struct log_thread *t, char *dst, size_t room, unsigned group,
                            bool may_truncate, const char *fmt, va_list ap)
{
    int p = log_fmt_prefix(dst, room, t->id, group);
    if (p < 0 || (size_t)p + sizeof(log_trunc_marker) >= room)
        return 0;
    va_list cp;
    va_copy(cp, ap);
    int m = vsnprintf(dst + p, room - (size_t)p, fmt, cp);
    va_end(cp);
    if (m < 0)
        m = 0;                       /* encoding error: keep the prefix alone */
    size_t len = (size_t)p + (size_t)m;
    if (len >= room) {
        if (!may_truncate)
            return 0;
        size_t mlen = sizeof(log_trunc_marker) - 1;
        memcpy(dst + room - mlen, log_trunc_marker, mlen);
        log_stat_add(&t->truncated, 1);
        return room;
    }
    if (len == 0 || dst[len - 1] != '\n')
        dst[len++] = '\n';           /* replaces the NUL; len < room held */
    return len;
}

void log_ring_put(struct log_thread *t, unsigned group, const char *fmt, va_list ap)
{
    /* At most two tries: the current buffer, then a fresh one. */
    for (int attempt = 0; attempt < 2; attempt++) {
        struct log_buf *b = log_ring_cur(t);
        if (!b) {
            log_stat_add(&t->dropped, 1);
            return;
        }
        size_t room = t->buf_size - t->p_used;
        size_t len = log_fmt_entry(t, b->data + t->p_used, room, group, t->p_used == 0, fmt, ap);
        if (len) {
            t->p_used += len;
            atomic_store_explicit(&b->used, t->p_used, memory_order_release);
            log_stat_add(&t->entries, 1);
            log_stat_add(&t->bytes, len);
            if (t->buf_size - t->p_used < LOG_EAGER_ROOM)
                log_ring_handoff(t);
            return;
        }
        log_ring_handoff(t);
    }
    log_stat_add(&t->dropped, 1);    /* not reached: an empty buffer always takes it */
}

static void log_ring_put_fmt(struct log_thread *t, unsigned group, const char *fmt, ...)
    IXVM_PRINTF(3, 4);
static void log_ring_put_fmt(struct log_thread *t, unsigned group, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_ring_put(t, group, fmt, ap);
    va_end(ap);
}

void log_ring_put_str(struct log_thread *t, unsigned group, const char *text)
{
    log_ring_put_fmt(t, group, "%s", text);
}

/* ---------------------------------------------------------------------- */
/* Flusher                                                                 */

/* Write every handed-over buffer of t, and with partial the committed part
 * of its current buffer too.  Runs on the flusher only. */
static void log_ring_drain(struct log_thread *t, bool partial)
{
    uint64_t filled = atomic_load_explicit(&t->filled, memory_order_acquire);
    while (t->f_done != filled) {
        struct log_buf *b = &t->bufs[t->f_done % t->nbufs];
        size_t len = atomic_load_explicit(&b->used, memory_order_acquire);
        if (len > t->f_off)
            log_out_debug(b->data + t->f_off, len - t->f_off);
        t->f_off = 0;
        atomic_store_explicit(&b->used, 0, memory_order_relaxed);
        t->f_done++;
        /* Release: our reads of the buffer and the reset length happen
         * before the producer reuses it. */
        atomic_store_explicit(&t->done, t->f_done, memory_order_release);
    }
    if (!partial)
        return;
    /* The current buffer stays the producer's; only its committed prefix,
     * which the producer no longer touches, is read. */
    struct log_buf *b = &t->bufs[t->f_done % t->nbufs];
    size_t len = atomic_load_explicit(&b->used, memory_order_acquire);
    if (len > t->f_off) {
        log_out_debug(b->data + t->f_off, len - t->f_off);
        t->f_off = len;
    }
}

static void log_ring_report_drops(struct log_thread *t)
{
    uint64_t dropped = atomic_load_explicit(&t->dropped, memory_order_relaxed);
    if (dropped == t->f_reported)
        return;
    char line[128];
    uint64_t ns = uv_hrtime() - atomic_load_explicit(&log_g.t0, memory_order_relaxed);
    uint64_t us = ns / 1000u, s = us / 1000000u;
    int n = snprintf(line, sizeof(line), "%02u:%02u:%02u.%06u log: thread %s dropped %llu entries\n",
                     (unsigned)(s / 3600u), (unsigned)(s / 60u % 60u), (unsigned)(s % 60u),
                     (unsigned)(us % 1000000u), t->id,
                     (unsigned long long)(dropped - t->f_reported));
    t->f_reported = dropped;
    if (n <= 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    log_out_release(line, len);
    if (atomic_load_explicit(&log_g.dbg_has_file, memory_order_relaxed))
        log_out_debug(line, len);    /* the flusher is the debug writer: order is kept */
}

static void log_flusher_pass(bool partial)
{
    /* Rings are only ever pushed at the head and freed after the flusher
     * stopped, and a ring's next never changes: the list can be walked from
     * a snapshot of the head without holding the lock during slow writes.
     * A ring attached after the snapshot is picked up by the next pass. */
    uv_mutex_lock(&log_g.list_mtx);
    struct log_thread *head = log_g.threads;
    uv_mutex_unlock(&log_g.list_mtx);
    for (struct log_thread *t = head; t; t = t->next) {
        log_ring_drain(t, partial);
        if (partial)
            log_ring_report_drops(t);
    }
}

static void log_flusher_main(void *arg)
{
    (void)arg;
    for (;;) {
        bool timed_out = false;
        uv_mutex_lock(&log_g.wake_mtx);
        while (!atomic_load(&log_g.wake_pending) && !log_g.stop &&
               log_g.flush_req == log_g.flush_done) {
            if (uv_cond_timedwait(&log_g.wake_cond, &log_g.wake_mtx, LOG_FLUSH_PERIOD_NS) ==
                UV_ETIMEDOUT) {
                timed_out = true;
                break;
            }
        }
        bool stop = log_g.stop;
        uint64_t req = log_g.flush_req;
        bool want_flush = req != log_g.flush_done;
        uv_mutex_unlock(&log_g.wake_mtx);

        /* Clear before scanning: a hand-off after this point wakes us again. */
        atomic_exchange(&log_g.wake_pending, 0);
        log_flusher_pass(timed_out || want_flush || stop);

        if (want_flush || stop) {
            uv_mutex_lock(&log_g.wake_mtx);
            log_g.flush_done = req;
            uv_cond_broadcast(&log_g.done_cond);
            uv_mutex_unlock(&log_g.wake_mtx);
        }
        if (stop)
            return;
    }
}

void log_flusher_kick(void)
{
    /* Only the first hand-off since the flusher's last pass takes the
     * (briefly held) wake mutex; the others see the flag already set. */
    if (atomic_exchange(&log_g.wake_pending, 1))
        return;
    uv_mutex_lock(&log_g.wake_mtx);
    uv_cond_signal(&log_g.wake_cond);
    uv_mutex_unlock(&log_g.wake_mtx);
}

int log_flusher_start(void)
{
    log_g.stop = false;
    log_g.flush_req = log_g.flush_done = 0;
    atomic_store(&log_g.wake_pending, 0);
    if (uv_thread_create(&log_g.flusher, log_flusher_main, NULL) != 0)
        return IXVM_ERR_THREAD;
    return 0;
}

void log_flusher_stop(void)
{
    uv_mutex_lock(&log_g.wake_mtx);
    log_g.stop = true;
    uv_cond_signal(&log_g.wake_cond);
    uv_mutex_unlock(&log_g.wake_mtx);
    uv_thread_join(&log_g.flusher);
}

void log_flush(void)
{
    if (!atomic_load(&log_g.running))
        return;
    uv_mutex_lock(&log_g.wake_mtx);
    uint64_t my = ++log_g.flush_req;
    uv_cond_signal(&log_g.wake_cond);
    while (log_g.flush_done < my)
        uv_cond_wait(&log_g.done_cond, &log_g.wake_mtx);
    uv_mutex_unlock(&log_g.wake_mtx);
}
