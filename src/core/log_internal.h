/* SPDX-License-Identifier: MIT */
/*
 * Private state of the logging module, shared by log.c (configuration,
 * lifecycle, API) and log_ring.c (per-thread buffer rings and the flusher).
 *
 * A struct log_thread is one ring of buffers with exactly one producer at a
 * time (an attached EMT, or whichever thread holds shared_mtx for the shared
 * set) and one consumer (the flusher).  The producer advances `filled` when
 * it hands a buffer over; the flusher advances `done` when it has written a
 * buffer and made it reusable.  See docs/logging.md for the memory ordering.
 */
#ifndef IXVM_LOG_INTERNAL_H
#define IXVM_LOG_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <uv.h>

#include "ixvm/log.h"

#define LOG_ID_MAX        16          /* thread id incl. NUL ("cpu63") */
#define LOG_DEF_BUFS      8u
#define LOG_DEF_BUF_SIZE  (64u * 1024u)
#define LOG_MIN_BUF_SIZE  256u        /* room for a prefix and the truncation marker */
#define LOG_MAX_BUF_SIZE  (64u * 1024u * 1024u)
#define LOG_MAX_BUFS      256u
#define LOG_SHARED_ID     "main"      /* stream of every non-attached thread */

struct log_buf {
    char *data;                 /* [producer writes past used; flusher reads below used] */
    _Atomic size_t used;        /* [producer store-release; flusher load-acquire, resets when recycling] */
};

struct log_thread {
    struct log_thread *next;    /* set before the ring is published under list_mtx, then immutable */
    char id[LOG_ID_MAX];        /* immutable after creation */
    unsigned nbufs;             /* immutable */
    size_t buf_size;            /* immutable */
    struct log_buf *bufs;       /* immutable array, nbufs entries */
    bool attached;              /* [list_mtx] a thread currently produces into it */

    /* Producer-private: [owner EMT] or [shared_mtx] for the shared set. */
    alignas(64) uint64_t p_filled;   /* buffers handed over so far */
    uint64_t p_done;            /* last value of done seen */
    size_t p_used;              /* bytes used in the current buffer */
    _Atomic uint64_t filled;    /* [producer store-release; flusher load-acquire] */
    /* Statistics: single writer (the producer), relaxed; read by anyone. */
    _Atomic uint64_t entries;
    _Atomic uint64_t dropped;
    _Atomic uint64_t truncated;
    _Atomic uint64_t bytes;

    /* Flusher side. */
    alignas(64) _Atomic uint64_t done;   /* [flusher store-release; producer load-acquire] */
    uint64_t f_done;            /* [flusher] private copy of done */
    size_t f_off;               /* [flusher] bytes of buffer f_done already written */
    uint64_t f_reported;        /* [flusher] drops already reported */
};

struct log_state {
    _Atomic bool running;       /* [any, atomic] set by init, cleared by term */
    _Atomic uint32_t gen;       /* [any, atomic] bumped by term: stale TLS pointers */
    _Atomic uint64_t t0;        /* [any, atomic] uv_hrtime() at init */
    unsigned nbufs;             /* [cfg_lock] geometry for new attaches */
    size_t buf_size;            /* [cfg_lock] */

    uv_mutex_t list_mtx;
    struct log_thread *threads; /* [list_mtx] every ring, attached or not */
    uv_mutex_t shared_mtx;
    struct log_thread *shared;  /* set at init; producers hold shared_mtx */

    uv_mutex_t dest_mtx;
    int dbg_fd;                 /* [dest_mtx] debug file or -1 */
    bool dbg_stderr;            /* [dest_mtx] debug output also to stderr */
    _Atomic bool dbg_has_file;  /* [any, atomic] copy release entries to the debug file */
    uv_mutex_t rel_mtx;
    int rel_fd;                 /* [rel_mtx] release file or -1 (then stderr) */

    uv_thread_t flusher;        /* [cfg_lock] */
    uv_mutex_t wake_mtx;
    uv_cond_t wake_cond;        /* flusher waits for work */
    uv_cond_t done_cond;        /* log_flush() waits for the flusher */
    _Atomic int wake_pending;   /* [any, atomic] a hand-off since the flusher's last pass */
    bool stop;                  /* [wake_mtx] */
    uint64_t flush_req;         /* [wake_mtx] flush requests issued */
    uint64_t flush_done;        /* [wake_mtx] flush requests completed */
};

extern struct log_state log_g;

/* log_ring.c */
struct log_thread *log_ring_new(const char *id, unsigned nbufs, size_t buf_size);
void log_ring_free(struct log_thread *t);
void log_ring_put(struct log_thread *t, unsigned group, const char *fmt, va_list ap);
void log_ring_put_str(struct log_thread *t, unsigned group, const char *text);
int log_flusher_start(void) IXVM_WUR;
void log_flusher_stop(void);
void log_flusher_kick(void);

/* log.c */
int log_fmt_prefix(char *dst, size_t size, const char *id, unsigned group);
void log_out_debug(const char *data, size_t len);
void log_out_release(const char *line, size_t len);

#endif
