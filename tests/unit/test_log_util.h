/* SPDX-License-Identifier: MIT */
/* Helpers shared by the log tests: temporary files and reading them back. */
#ifndef IXVM_TEST_LOG_UTIL_H
#define IXVM_TEST_LOG_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ixvm/log.h"

struct tlog_dir {
    char dir[64];
    char dbg[128];   /* debug log path */
    char rel[128];   /* release log path */
    char dest[160];  /* "file=<dbg>" */
};

static inline void tlog_dir_make(struct tlog_dir *d)
{
    snprintf(d->dir, sizeof(d->dir), "/tmp/ixvm-logtest-XXXXXX");
    cr_assert_not_null(mkdtemp(d->dir));
    snprintf(d->dbg, sizeof(d->dbg), "%s/debug.log", d->dir);
    snprintf(d->rel, sizeof(d->rel), "%s/release.log", d->dir);
    snprintf(d->dest, sizeof(d->dest), "file=%s", d->dbg);
}

static inline void tlog_dir_remove(struct tlog_dir *d)
{
    unlink(d->dbg);
    unlink(d->rel);
    rmdir(d->dir);
}

/* Whole file as a NUL-terminated heap string ("" when it does not exist). */
static inline char *tlog_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static inline unsigned tlog_count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Start the logger on files in d with the given spec and geometry. */
static inline void tlog_start(struct tlog_dir *d, const char *spec, unsigned nbufs, size_t size)
{
    struct log_options o = { .spec = spec, .dest = d->dest, .rel_file = d->rel,
                             .bufs_per_thread = nbufs, .buf_size = size };
    struct ixvm_errinfo e = { 0 };
    int rc = log_init(&o, &e);
    cr_assert_eq(rc, 0, "log_init: %d %s", rc, e.msg);
}

#endif
