/* SPDX-License-Identifier: MIT */
/*
 * Console capture under concurrent writers (also run under ThreadSanitizer:
 * the name has _stress).  Eight threads write numbered lines while the loop
 * thread drains; afterwards the capture must hold every line exactly once,
 * intact, and each thread's lines in order.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_console.h"

#define NTHREADS 8
#define NLINES 20000

static int writers_done;

struct writer {
    struct fe_console *c;
    int id;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char line[64];
    for (int i = 0; i < NLINES; i++) {
        int n = snprintf(line, sizeof(line), "T%d line %d end\n", w->id, i);
        fe_console_write(w->c, line, (size_t)n);
    }
    __atomic_add_fetch(&writers_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

Test(fe_console_stress, concurrent_writers_lossless, .timeout = 120)
{
    char cap[] = "/tmp/fe_console_stress_XXXXXX";
    int fd = mkstemp(cap);
    cr_assert_geq(fd, 0);
    close(fd);
    struct fe_console *c = NULL;
    struct ixvm_errinfo e = { 0 };
    struct fe_console_opts o = { .capture_path = cap };
    cr_assert_eq(fe_console_open(&c, &o, &e), 0, "%s", e.msg);
    pthread_t th[NTHREADS];
    struct writer w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct writer){ c, i };
        cr_assert_eq(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    uint64_t drained = 0;
    unsigned drains = 0;
    /* Drain while the writers run, as the loop would. */
    while (__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE) < NTHREADS) {
        int64_t n = fe_console_drain(c, NULL, NULL);
        cr_assert_geq(n, 0);
        drained += (uint64_t)n;
        drains++;
    }
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(pthread_join(th[i], NULL), 0);
    cr_assert_eq(fe_console_dropped(c), 0);
    cr_assert_eq(fe_console_close(c, NULL, NULL, &e), 0, "%s", e.msg);
    FILE *f = fopen(cap, "r");
    cr_assert_not_null(f);
    int next[NTHREADS] = { 0 };
    char line[128];
    long lines = 0;
    while (fgets(line, sizeof(line), f)) {
        int t = -1, n = -1;
        char end[8] = "";
        cr_assert_eq(sscanf(line, "T%d line %d %7s", &t, &n, end), 3, "torn line '%s'", line);
        cr_assert_str_eq(end, "end");
        cr_assert(t >= 0 && t < NTHREADS);
        cr_assert_eq(n, next[t], "thread %d: line %d after %d", t, n, next[t] - 1);
        next[t]++;
        lines++;
    }
    fclose(f);
    unlink(cap);
    cr_assert_eq(lines, (long)NTHREADS * NLINES);
    cr_log_info("%u drains while writing, %llu bytes", drains, (unsigned long long)drained);
}
