/* SPDX-License-Identifier: MIT */
/*
 * STAM: statistics.  Samples live in their owner's struct (a vCPU's, a
 * device's) and are registered by path ("/IEM/CPU0/Instructions") with a
 * type, unit and description.  Each sample has one writer thread; updates
 * are relaxed atomic load+store pairs (no read-modify-write on the hot path),
 * readers see a consistent 64-bit value.
 *
 * Patterns (stam_reset, stam_print, info stats): shell-style '*' and '?',
 * where '*' also matches '/'; several patterns separated by '|'; NULL or ""
 * matches everything.
 */
#ifndef IXVM_STAM_H
#define IXVM_STAM_H

#include <stdio.h>

#include "ixvm/types.h"

enum stam_type {
    STAM_TYPE_COUNTER,     /* struct stam_counter */
    STAM_TYPE_PROFILE,     /* struct stam_profile */
    STAM_TYPE_U32,         /* uint32_t value, read as is (relaxed atomic load; */
    STAM_TYPE_U64,         /* uint64_t value, read as is  its writer stores with __atomic) */
    STAM_TYPE_CALLBACK,    /* uint64_t (*)(void *user) via stam_register_callback */
};

enum stam_unit {
    STAM_UNIT_NONE, STAM_UNIT_COUNT, STAM_UNIT_BYTES, STAM_UNIT_CALLS, STAM_UNIT_OCCURRENCES,
    STAM_UNIT_TICKS, STAM_UNIT_NS, STAM_UNIT_NS_PER_CALL, STAM_UNIT_PCT, STAM_UNIT_INSTR,
};

struct stam_counter { uint64_t c; };
struct stam_profile { uint64_t count, total, min, max; };

static inline void stam_counter_add(struct stam_counter *s, uint64_t n)
{
    __atomic_store_n(&s->c, __atomic_load_n(&s->c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
static inline void stam_counter_inc(struct stam_counter *s) { stam_counter_add(s, 1); }
/* Record one sample of `ticks` (single writer). */
void stam_profile_add(struct stam_profile *p, uint64_t ticks);

struct stam;

int stam_create(struct stam **out) IXVM_WUR;
void stam_destroy(struct stam *st);

/* Register a sample; path is printf-formatted.  Duplicate path: _ALREADY_EXISTS. */
int stam_register(struct stam *st, void *sample, enum stam_type type, enum stam_unit unit,
                  const char *desc, const char *path_fmt, ...) IXVM_PRINTF(6, 7) IXVM_WUR;
int stam_register_callback(struct stam *st, uint64_t (*fn)(void *user), void *user,
                           enum stam_unit unit, const char *desc, const char *path_fmt, ...)
    IXVM_PRINTF(6, 7) IXVM_WUR;
/* Remove every sample whose path matches pattern (owner going away).
 * Returns the number removed. */
int stam_deregister(struct stam *st, const char *pattern);

/* Reset matching counters and profiles to zero (values are not touched).
 * Returns the number reset. */
int stam_reset(struct stam *st, const char *pattern);
/* Text: one line per sample "path  value unit  description". Returns count printed. */
int stam_print(struct stam *st, const char *pattern, const struct ixvm_printer *pr);
/* JSON object {"path": {"type":..., "unit":..., "value"|"count"/"total"/"min"/"max"...}}. */
int stam_dump_json(struct stam *st, const char *pattern, FILE *out) IXVM_WUR;
/* Shell-style pattern match as described above. */
bool stam_pattern_match(const char *pattern, const char *path);
/* Read a counter/U32/U64/callback sample's value by exact path.
 * IXVM_ERR_NOT_FOUND for an unknown path, _WRONG_TYPE for a profile. */
int stam_get_value(struct stam *st, const char *path, uint64_t *out) IXVM_WUR;

/* The `info stats [PATTERN]` handler (a dbgf_info_fn); user is the struct stam *. */
void stam_info_handler(void *user, const struct ixvm_printer *pr, const char *args);

#endif
