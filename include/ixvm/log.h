/* SPDX-License-Identifier: MIT */
/*
 * Logging, ring-0 style in user space (ARCHITECTURE.md "Logging").
 *
 * Two loggers: the debug logger (groups and levels chosen at run time with
 * IXVM_LOG / --log, compiled out above IXVM_LOG_MAX_LEVEL) and the release
 * logger (always on, low volume).  A thread that called log_thread_attach()
 * (every EMT) writes without locks or system calls into its own ring of
 * buffers; a flusher thread writes full buffers out in order.  When every
 * buffer of a thread is full, entries are dropped and counted, never
 * blocking.  Other threads write through a mutex-protected shared buffer set.
 *
 * Spec grammar (IXVM_LOG / --log): space-separated items, applied in order:
 *   [+|-]<group|all>[.<flags>]   flags: e l1 l2 l3 l4 l5 l6 f w, joined by '.'
 *   "all.e em.l2 -iem"  enables every group at level e, adds level 2 to em,
 *   disables iem.  A bare group name means group.e.
 * Destinations (IXVM_LOG_DEST / --log-file): "stderr", "file=PATH", or both
 * separated by a space.
 */
#ifndef IXVM_LOG_H
#define IXVM_LOG_H

#include <stdarg.h>

#include "ixvm/types.h"

enum log_group {
#define LOG_GROUP_X(id, name, desc) LOG_GROUP_##id,
#include "ixvm/log_groups.def"
#undef LOG_GROUP_X
    LOG_GROUP_COUNT
};

/* Level bits of a group's flag byte. */
enum log_level {
    LOG_LVL_E    = 1u << 0,
    LOG_LVL_L1   = 1u << 0,   /* l1 is the same as e */
    LOG_LVL_L2   = 1u << 1,
    LOG_LVL_L3   = 1u << 2,
    LOG_LVL_L4   = 1u << 3,
    LOG_LVL_L5   = 1u << 4,
    LOG_LVL_L6   = 1u << 5,
    LOG_LVL_FLOW = 1u << 6,
    LOG_LVL_WARN = 1u << 7,
};

#ifndef IXVM_LOG_MAX_LEVEL
#define IXVM_LOG_MAX_LEVEL 0xff   /* bits compiled in */
#endif

/* Per-group enabled-level bits; written only by log_set_spec(). */
extern uint8_t log_group_flags[LOG_GROUP_COUNT];

static inline bool log_is_enabled(unsigned group, unsigned level)
{
    return (IXVM_LOG_MAX_LEVEL & level) &&
           (__atomic_load_n(&log_group_flags[group], __ATOMIC_RELAXED) & level);
}

struct log_options {
    const char *spec;        /* NULL: IXVM_LOG from the environment */
    const char *dest;        /* NULL: IXVM_LOG_DEST, else stderr */
    const char *rel_file;    /* release log file, NULL: release entries go to stderr */
    unsigned bufs_per_thread;/* 0: default (8) */
    size_t buf_size;         /* 0: default (64 KiB) */
};

/* Start the loggers and the flusher thread.  Safe to call once per process
 * (further calls reconfigure and return 0). */
int log_init(const struct log_options *opt, struct ixvm_errinfo *err) IXVM_WUR;
/* Flush everything, report drops, stop the flusher. */
void log_term(void);

/* Apply a spec; an unknown group or flag is an error naming it. */
int log_set_spec(const char *spec, struct ixvm_errinfo *err) IXVM_WUR;
int log_set_dest(const char *dest, struct ixvm_errinfo *err) IXVM_WUR;
/* Write the current spec ("all.e em.l2 ...") into buf. */
void log_get_spec(char *buf, size_t size);

/*
 * Give the calling thread (an EMT) its own lock-free buffers.  id names the
 * thread in the output ("cpu0").  Returns 0 or an error.  Detach flushes.
 */
int log_thread_attach(const char *id) IXVM_WUR;
void log_thread_detach(void);

void log_printf(unsigned group, unsigned level, const char *fmt, ...) IXVM_PRINTF(3, 4);
void log_vprintf(unsigned group, unsigned level, const char *fmt, va_list ap);
void log_rel_printf(unsigned group, const char *fmt, ...) IXVM_PRINTF(2, 3);

/* Hand every pending buffer to the flusher and wait until written. */
void log_flush(void);
/* Entries dropped since start, over all threads (and per thread id). */
uint64_t log_dropped_total(void);
uint64_t log_written_total(void);

/* Per-thread counters of one stream (kept after detach, until log_term). */
struct log_thread_stats {
    uint64_t entries;    /* entries accepted into buffers (written by the flusher) */
    uint64_t dropped;    /* entries dropped because every buffer was full */
    uint64_t truncated;  /* entries cut to one buffer (also counted in entries) */
    uint64_t bytes;      /* bytes accepted */
};
/* Counters of the stream named id ("cpu3", "main" for non-attached
 * threads), or the sum over all when id is NULL.  IXVM_ERR_NOT_FOUND when no
 * stream has that name. */
int log_thread_stats(const char *id, struct log_thread_stats *out) IXVM_WUR;

/* Group table access (for `info log`, --help). */
const char *log_group_name(unsigned group);
const char *log_group_desc(unsigned group);

#ifndef LOG_GROUP
#define LOG_GROUP LOG_GROUP_DEFAULT
#endif

#define LOG_AT(lvl, ...)                                                    \
    do {                                                                     \
        if (IXVM_UNLIKELY(log_is_enabled(LOG_GROUP, (lvl))))                 \
            log_printf(LOG_GROUP, (lvl), __VA_ARGS__);                       \
    } while (0)
#define LOG(...)      LOG_AT(LOG_LVL_E, __VA_ARGS__)
#define LOG2(...)     LOG_AT(LOG_LVL_L2, __VA_ARGS__)
#define LOG3(...)     LOG_AT(LOG_LVL_L3, __VA_ARGS__)
#define LOG4(...)     LOG_AT(LOG_LVL_L4, __VA_ARGS__)
#define LOG5(...)     LOG_AT(LOG_LVL_L5, __VA_ARGS__)
#define LOG6(...)     LOG_AT(LOG_LVL_L6, __VA_ARGS__)
#define LOG_FLOW(...) LOG_AT(LOG_LVL_FLOW, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_REL(...)  log_rel_printf(LOG_GROUP, __VA_ARGS__)

#endif
