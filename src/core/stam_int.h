/* SPDX-License-Identifier: MIT */
/*
 * STAM internals shared by stam.c (registry, patterns, values) and
 * stam_print.c (text, JSON, info handler).  Not for other modules.
 */
#ifndef IXVM_CORE_STAM_INT_H
#define IXVM_CORE_STAM_INT_H

#include <pthread.h>

#include "ixvm/stam.h"

/* One registered sample. */
struct stam_sample {
    char *path;
    char *desc;
    enum stam_type type;
    enum stam_unit unit;
    void *sample;                   /* owner's counter/profile/u32/u64 */
    uint64_t (*fn)(void *user);     /* STAM_TYPE_CALLBACK */
    void *user;
};

struct stam {
    pthread_mutex_t lock;           /* guards the array, never the sample updates */
    struct stam_sample *v;          /* [lock] sorted by path (strcmp) */
    size_t n, cap;                  /* [lock] */
};

/* A consistent-enough copy of a sample's value(s), read with relaxed loads. */
struct stam_snapshot {
    uint64_t value;                 /* counters, U32, U64, callbacks; count for profiles */
    uint64_t total, min, max;       /* profiles */
};

void stam_sample_read(const struct stam_sample *s, struct stam_snapshot *out);
const char *stam_unit_name(enum stam_unit unit);
const char *stam_type_name(enum stam_type type);

#endif
