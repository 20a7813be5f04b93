/* SPDX-License-Identifier: MIT */
/*
 * STAM output: aligned text for the monitor (`info stats`, `stats`) and a
 * JSON object for tools (Stats/JsonFile).  Both walk the registry under its
 * lock, so a sample cannot be deregistered while it is read; callback
 * samples therefore must not call back into STAM.
 *
 * Text columns: path, value, unit, description.  A profile shows its count
 * of calls in the value column and appends avg/min/max/total in its unit.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stam_int.h"

/* Column widths of the matching samples. */
struct stam_widths {
    int path, unit;
};

static void stam_measure(const struct stam *st, const char *pattern, struct stam_widths *w)
{
    w->path = w->unit = 0;
    for (size_t i = 0; i < st->n; i++) {
        const struct stam_sample *s = &st->v[i];
        if (!stam_pattern_match(pattern, s->path))
            continue;
        int lp = (int)strlen(s->path);
        const char *u = s->type == STAM_TYPE_PROFILE ? "calls" : stam_unit_name(s->unit);
        int lu = (int)strlen(u);
        w->path = lp > w->path ? lp : w->path;
        w->unit = lu > w->unit ? lu : w->unit;
    }
}

static void stam_print_one(const struct stam_sample *s, const struct stam_widths *w,
                           const struct ixvm_printer *pr)
{
    struct stam_snapshot v;
    stam_sample_read(s, &v);
    if (s->type != STAM_TYPE_PROFILE) {
        ixvm_pr(pr, "%-*s %14" PRIu64 " %-*s  %s\n", w->path, s->path, v.value, w->unit,
                stam_unit_name(s->unit), s->desc);
        return;
    }
    const char *u = stam_unit_name(s->unit);
    const char *sep = *u ? " " : "";
    uint64_t avg = v.value ? v.total / v.value : 0;
    ixvm_pr(pr,
            "%-*s %14" PRIu64 " %-*s  %s (avg %" PRIu64 "%s%s, min %" PRIu64 "%s%s, max %" PRIu64
            "%s%s, total %" PRIu64 "%s%s)\n",
            w->path, s->path, v.value, w->unit, "calls", s->desc, avg, sep, u, v.min, sep, u,
            v.max, sep, u, v.total, sep, u);
}

int stam_print(struct stam *st, const char *pattern, const struct ixvm_printer *pr)
{
    if (!st || !pr)
        return IXVM_ERR_INVALID_PARAMETER;
    int count = 0;
    pthread_mutex_lock(&st->lock);
    struct stam_widths w;
    stam_measure(st, pattern, &w);
    for (size_t i = 0; i < st->n; i++) {
        if (stam_pattern_match(pattern, st->v[i].path)) {
            stam_print_one(&st->v[i], &w, pr);
            count++;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return count;
}

/* Add a uint64 as a raw JSON number: exact beyond 2^53, where doubles are not. */
static bool stam_json_add_u64(cJSON *obj, const char *name, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return cJSON_AddRawToObject(obj, name, buf) != NULL;
}

static bool stam_json_add_sample(cJSON *root, const struct stam_sample *s)
{
    cJSON *o = cJSON_AddObjectToObject(root, s->path);
    if (!o || !cJSON_AddStringToObject(o, "type", stam_type_name(s->type)) ||
        !cJSON_AddStringToObject(o, "unit", stam_unit_name(s->unit)))
        return false;
    struct stam_snapshot v;
    stam_sample_read(s, &v);
    bool ok;
    if (s->type == STAM_TYPE_PROFILE)
        ok = stam_json_add_u64(o, "count", v.value) && stam_json_add_u64(o, "total", v.total) &&
             stam_json_add_u64(o, "min", v.min) && stam_json_add_u64(o, "max", v.max) &&
             stam_json_add_u64(o, "avg", v.value ? v.total / v.value : 0);
    else
        ok = stam_json_add_u64(o, "value", v.value);
    return ok && cJSON_AddStringToObject(o, "desc", s->desc);
}

/* Build the JSON tree of the matching samples; NULL when out of memory. */
static cJSON *stam_json_build(struct stam *st, const char *pattern)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    pthread_mutex_lock(&st->lock);
    for (size_t i = 0; ok && i < st->n; i++)
        if (stam_pattern_match(pattern, st->v[i].path))
            ok = stam_json_add_sample(root, &st->v[i]);
    pthread_mutex_unlock(&st->lock);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int stam_dump_json(struct stam *st, const char *pattern, FILE *out)
{
    if (!st || !out)
        return IXVM_ERR_INVALID_PARAMETER;
    cJSON *root = stam_json_build(st, pattern);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return IXVM_ERR_NO_MEMORY;
    int rc = fputs(text, out) == EOF || fputc('\n', out) == EOF ? IXVM_ERR_IO : 0;
    cJSON_free(text);
    if (rc == 0 && fflush(out) != 0)
        rc = IXVM_ERR_IO;
    return rc;
}

void stam_info_handler(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct stam *st = user;
    if (!pr)
        return;
    /* The pattern is the argument without surrounding blanks. */
    const char *a = args ? args : "";
    while (isspace((unsigned char)*a))
        a++;
    size_t len = strlen(a);
    while (len && isspace((unsigned char)a[len - 1]))
        len--;
    char *pattern = strndup(a, len);
    if (!pattern) {
        ixvm_pr(pr, "info stats: out of memory\n");
        return;
    }
    int n = stam_print(st, pattern, pr);
    if (n == 0)
        ixvm_pr(pr, "no statistics match '%s'\n", pattern);
    else if (n < 0)
        ixvm_pr(pr, "info stats: %s\n", ixvm_strerror(n));
    free(pattern);
}
