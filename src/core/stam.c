/* SPDX-License-Identifier: MIT */
/*
 * STAM: the statistics registry.  Samples stay in their owners' structs; the
 * registry keeps (path, type, unit, description, pointer) rows in an array
 * sorted by path, so lookups are binary searches and listings come out in
 * order.  A mutex guards the array (registration, reset, listing); sample
 * updates never take it: they are the relaxed atomic load+store pairs in
 * stam.h, done by the sample's single writer.
 *
 * Text and JSON output live in stam_print.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stam_int.h"

/* Longest registered path, including the leading '/'. */
#define STAM_PATH_MAX 256

#define STAM_LOAD(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define STAM_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static const char *const stam_unit_names[] = {
    [STAM_UNIT_NONE] = "",           [STAM_UNIT_COUNT] = "count",
    [STAM_UNIT_BYTES] = "bytes",     [STAM_UNIT_CALLS] = "calls",
    [STAM_UNIT_OCCURRENCES] = "occurrences",
    [STAM_UNIT_TICKS] = "ticks",     [STAM_UNIT_NS] = "ns",
    [STAM_UNIT_NS_PER_CALL] = "ns/call", [STAM_UNIT_PCT] = "%",
    [STAM_UNIT_INSTR] = "instr",
};
_Static_assert(IXVM_ARRAY_SIZE(stam_unit_names) == STAM_UNIT_INSTR + 1, "unit name table");

static const char *const stam_type_names[] = {
    [STAM_TYPE_COUNTER] = "counter", [STAM_TYPE_PROFILE] = "profile", [STAM_TYPE_U32] = "u32",
    [STAM_TYPE_U64] = "u64",         [STAM_TYPE_CALLBACK] = "callback",
};
_Static_assert(IXVM_ARRAY_SIZE(stam_type_names) == STAM_TYPE_CALLBACK + 1, "type name table");

const char *stam_unit_name(enum stam_unit unit)
{
    return (size_t)unit < IXVM_ARRAY_SIZE(stam_unit_names) ? stam_unit_names[unit] : "?";
}

const char *stam_type_name(enum stam_type type)
{
    return (size_t)type < IXVM_ARRAY_SIZE(stam_type_names) ? stam_type_names[type] : "?";
}

/* ------------------------------------------------------------------------ */
/* Sample updates and reads                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Single writer: plain relaxed load+store pairs, no read-modify-write.  A
 * reset from another thread racing with an update may be lost; that is the
 * price of a lock-free hot path and harmless for statistics.
 */
void stam_profile_add(struct stam_profile *p, uint64_t ticks)
{
    uint64_t n = STAM_LOAD(&p->count);
    if (n == 0 || ticks < STAM_LOAD(&p->min))
        STAM_STORE(&p->min, ticks);
    if (n == 0 || ticks > STAM_LOAD(&p->max))
        STAM_STORE(&p->max, ticks);
    STAM_STORE(&p->total, STAM_LOAD(&p->total) + ticks);
    STAM_STORE(&p->count, n + 1);
}

void stam_sample_read(const struct stam_sample *s, struct stam_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    switch (s->type) {
    case STAM_TYPE_COUNTER:
        out->value = STAM_LOAD(&((struct stam_counter *)s->sample)->c);
        break;
    case STAM_TYPE_PROFILE: {
        struct stam_profile *p = s->sample;
        out->value = STAM_LOAD(&p->count);
        out->total = STAM_LOAD(&p->total);
        out->min = STAM_LOAD(&p->min);
        out->max = STAM_LOAD(&p->max);
        break;
    }
    case STAM_TYPE_U32:
        out->value = STAM_LOAD((uint32_t *)s->sample);
        break;
    case STAM_TYPE_U64:
        out->value = STAM_LOAD((uint64_t *)s->sample);
        break;
    case STAM_TYPE_CALLBACK:
        out->value = s->fn(s->user);
        break;
    }
}

/* Zero a counter or profile; other types are values owned elsewhere. */
static bool stam_sample_reset(struct stam_sample *s)
{
    if (s->type == STAM_TYPE_COUNTER) {
        STAM_STORE(&((struct stam_counter *)s->sample)->c, 0);
        return true;
    }
    if (s->type == STAM_TYPE_PROFILE) {
        struct stam_profile *p = s->sample;
        STAM_STORE(&p->count, 0);
        STAM_STORE(&p->total, 0);
        STAM_STORE(&p->min, 0);
        STAM_STORE(&p->max, 0);
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Patterns                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Match s against the glob [p, pend): '*' any run of characters (also '/'),
 * '?' exactly one.  Greedy with backtracking to the last '*' only, which is
 * enough for globs and linear in practice.
 */
static bool stam_glob(const char *p, const char *pend, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (p < pend && *p == '*') {
            star_p = ++p;
            star_s = s;
        } else if (p < pend && (*p == '?' || *p == *s)) {
            p++;
            s++;
        } else if (star_p) {
            p = star_p;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (p < pend && *p == '*')
        p++;
    return p == pend;
}

bool stam_pattern_match(const char *pattern, const char *path)
{
    if (!path)
        return false;
    if (!pattern || !*pattern)
        return true;
    for (const char *alt = pattern;;) {
        const char *bar = strchr(alt, '|');
        const char *end = bar ? bar : alt + strlen(alt);
        if (stam_glob(alt, end, path))
            return true;
        if (!bar)
            return false;
        alt = bar + 1;
    }
}

/* ------------------------------------------------------------------------ */
/* The registry                                                              */
/* ------------------------------------------------------------------------ */

int stam_create(struct stam **out)
{
    *out = NULL;
    struct stam *st = calloc(1, sizeof(*st));
    if (!st)
        return IXVM_ERR_NO_MEMORY;
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st);
        return IXVM_ERR_THREAD;
    }
    *out = st;
    return 0;
}

static void stam_sample_free(struct stam_sample *s)
{
    free(s->path);
    free(s->desc);
}

void stam_destroy(struct stam *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        stam_sample_free(&st->v[i]);
    free(st->v);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* Index of path, or of where it would be inserted; *found tells which. */
static size_t stam_find(const struct stam *st, const char *path, bool *found)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->v[mid].path, path);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* "/A/B": a leading '/', no empty component, no trailing '/', printable, no '*?|'. */
static bool stam_path_valid(const char *path)
{
    if (path[0] != '/' || path[1] == '\0')
        return false;
    for (const char *c = path; *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f || strchr("*?|", *c))
            return false;
        if (c[0] == '/' && (c[1] == '/' || c[1] == '\0'))
            return false;
    }
    return true;
}

static int stam_insert(struct stam *st, struct stam_sample *s)
{
    pthread_mutex_lock(&st->lock);
    bool found;
    size_t pos = stam_find(st, s->path, &found);
    int rc = 0;
    if (found) {
        rc = IXVM_ERR_ALREADY_EXISTS;
    } else if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        struct stam_sample *v = realloc(st->v, cap * sizeof(*v));
        if (v) {
            st->v = v;
            st->cap = cap;
        } else {
            rc = IXVM_ERR_NO_MEMORY;
        }
    }
    if (rc == 0) {
        memmove(&st->v[pos + 1], &st->v[pos], (st->n - pos) * sizeof(*st->v));
        st->v[pos] = *s;
        st->n++;
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Common part of the two register calls: format, validate, copy, insert. */
static int stam_register_v(struct stam *st, struct stam_sample *s, const char *desc,
                           const char *path_fmt, va_list ap)
{
    char path[STAM_PATH_MAX];
    int n = vsnprintf(path, sizeof(path), path_fmt, ap);
    if (n < 0 || (size_t)n >= sizeof(path) || !stam_path_valid(path))
        return IXVM_ERR_INVALID_PARAMETER;
    if ((size_t)s->unit >= IXVM_ARRAY_SIZE(stam_unit_names) ||
        (size_t)s->type >= IXVM_ARRAY_SIZE(stam_type_names))
        return IXVM_ERR_INVALID_PARAMETER;
    s->path = strdup(path);
    s->desc = strdup(desc ? desc : "");
    int rc = s->path && s->desc ? stam_insert(st, s) : IXVM_ERR_NO_MEMORY;
    if (rc < 0)
        stam_sample_free(s);
    return rc;
}

int stam_register(struct stam *st, void *sample, enum stam_type type, enum stam_unit unit,
                  const char *desc, const char *path_fmt, ...)
{
    if (!st || !sample || !path_fmt || type == STAM_TYPE_CALLBACK)
        return IXVM_ERR_INVALID_PARAMETER;
    struct stam_sample s = { .type = type, .unit = unit, .sample = sample };
    va_list ap;
    va_start(ap, path_fmt);
    int rc = stam_register_v(st, &s, desc, path_fmt, ap);
    va_end(ap);
    return rc;
}

int stam_register_callback(struct stam *st, uint64_t (*fn)(void *user), void *user,
                           enum stam_unit unit, const char *desc, const char *path_fmt, ...)
{
    if (!st || !fn || !path_fmt)
        return IXVM_ERR_INVALID_PARAMETER;
    struct stam_sample s = { .type = STAM_TYPE_CALLBACK, .unit = unit, .fn = fn, .user = user };
    va_list ap;
    va_start(ap, path_fmt);
    int rc = stam_register_v(st, &s, desc, path_fmt, ap);
    va_end(ap);
    return rc;
}

int stam_deregister(struct stam *st, const char *pattern)
{
    if (!st)
        return IXVM_ERR_INVALID_PARAMETER;
    pthread_mutex_lock(&st->lock);
    size_t kept = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (stam_pattern_match(pattern, st->v[i].path))
            stam_sample_free(&st->v[i]);
        else
            st->v[kept++] = st->v[i];
    }
    int removed = (int)(st->n - kept);
    st->n = kept;
    pthread_mutex_unlock(&st->lock);
    return removed;
}

int stam_reset(struct stam *st, const char *pattern)
{
    if (!st)
        return IXVM_ERR_INVALID_PARAMETER;
    int count = 0;
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; i < st->n; i++)
        if (stam_pattern_match(pattern, st->v[i].path) && stam_sample_reset(&st->v[i]))
            count++;
    pthread_mutex_unlock(&st->lock);
    return count;
}

int stam_get_value(struct stam *st, const char *path, uint64_t *out)
{
    if (!st || !path || !out)
        return IXVM_ERR_INVALID_PARAMETER;
    pthread_mutex_lock(&st->lock);
    bool found;
    size_t pos = stam_find(st, path, &found);
    int rc = IXVM_ERR_NOT_FOUND;
    if (found && st->v[pos].type == STAM_TYPE_PROFILE) {
        rc = IXVM_ERR_WRONG_TYPE;
    } else if (found) {
        struct stam_snapshot snap;
        stam_sample_read(&st->v[pos], &snap);
        *out = snap.value;
        rc = 0;
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}
