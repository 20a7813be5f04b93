/* SPDX-License-Identifier: MIT */
/*
 * Logging under load (also run under ThreadSanitizer: the name has
 * _stress).  Eight EMTs flood the logger; afterwards the output is parsed
 * and, per thread, the entry numbers must be strictly increasing, every
 * line intact, the line count equal to the accepted-entries counter, and
 * accepted + dropped equal to the number logged; the release log's drop
 * reports must add up to the drop counters.
 */
#define LOG_GROUP LOG_GROUP_EM
#include "test_log_util.h"

#include <fcntl.h>
#include <sched.h>
#include <uv.h>

#define NTHREADS 8
#define NENTRIES 20000u
#define TAG(n)   ((n) ^ 0x5a5a1234u)   /* per-line integrity check */

struct flood {
    uv_barrier_t start;
    bool detach;
    bool paced;    /* yield now and then: the flusher keeps up, buffers recycle */
};

struct flood_arg {
    struct flood *f;
    int cpu;
    int rc;
};

static void flood_thread(void *p)
{
    struct flood_arg *a = p;
    char id[16];
    snprintf(id, sizeof(id), "cpu%d", a->cpu);
    a->rc = log_thread_attach(id);
    uv_barrier_wait(&a->f->start);
    if (a->rc)
        return;
    for (unsigned n = 0; n < NENTRIES; n++) {
        LOG("n=%u tag=%08x", n, TAG(n));
        if (a->f->paced && n % 8 == 7)
            sched_yield();
    }
    if (a->f->detach)
        log_thread_detach();
}

static void flood_run(bool detach, bool paced)
{
    struct flood f = { .detach = detach, .paced = paced };
    struct flood_arg args[NTHREADS];
    uv_thread_t th[NTHREADS];
    cr_assert_eq(uv_barrier_init(&f.start, NTHREADS), 0);
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (struct flood_arg){ &f, i, -1 };
        cr_assert_eq(uv_thread_create(&th[i], flood_thread, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        cr_assert_eq(uv_thread_join(&th[i]), 0);
        cr_assert_eq(args[i].rc, 0, "attach cpu%d", i);
    }
    uv_barrier_destroy(&f.start);
}

struct per_thread {
    long long last;        /* last entry number seen, -1 at first */
    uint64_t last_us;      /* its timestamp */
    uint64_t lines;
    uint64_t reported;     /* drops reported in the release log */
};

/* Check one debug-log line; lines of other streams (drop reports) pass. */
static void check_line(const char *line, struct per_thread *pt)
{
    unsigned h, m, s, us, n, tag;
    int cpu;
    if (sscanf(line, "%u:%u:%u.%u cpu%d em: n=%u tag=%x", &h, &m, &s, &us, &cpu, &n, &tag) != 7)
        return;
    cr_assert(cpu >= 0 && cpu < NTHREADS, "line: %s", line);
    struct per_thread *p = &pt[cpu];
    uint64_t t = ((uint64_t)h * 3600u + m * 60u + s) * 1000000u + us;
    cr_assert_gt((long long)n, p->last, "cpu%d: %u after %lld", cpu, n, p->last);
    cr_assert_geq(t, p->last_us, "cpu%d: time goes back at n=%u", cpu, n);
    cr_assert_eq(tag, TAG(n), "cpu%d: damaged line n=%u", cpu, n);
    p->last = n;
    p->last_us = t;
    p->lines++;
}

static void parse_debug(char *out, struct per_thread *pt)
{
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        check_line(line, pt);
}

static void parse_drop_reports(char *rel, struct per_thread *pt)
{
    for (char *save = NULL, *line = strtok_r(rel, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int cpu;
        unsigned long long k;
        if (sscanf(line, "%*s log: thread cpu%d dropped %llu entries", &cpu, &k) == 2) {
            cr_assert(cpu >= 0 && cpu < NTHREADS, "report: %s", line);
            pt[cpu].reported += k;
        }
    }
}

/* Flush, read counters, stop, then check files against counters. */
static void flood_verify(struct tlog_dir *d, bool expect_no_drops)
{
    struct log_thread_stats st[NTHREADS];
    log_flush();
    uint64_t dropped = 0, written = 0;
    for (int i = 0; i < NTHREADS; i++) {
        char id[16];
        snprintf(id, sizeof(id), "cpu%d", i);
        cr_assert_eq(log_thread_stats(id, &st[i]), 0);
        cr_assert_eq(st[i].entries + st[i].dropped, NENTRIES, "cpu%d: %llu written + %llu dropped",
                     i, (unsigned long long)st[i].entries, (unsigned long long)st[i].dropped);
        cr_assert_eq(st[i].truncated, 0);
        dropped += st[i].dropped;
        written += st[i].entries;
    }
    cr_assert_eq(log_dropped_total(), dropped);
    cr_assert_eq(log_written_total(), written);
    log_term();

    struct per_thread pt[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        pt[i] = (struct per_thread){ .last = -1 };
    char *out = tlog_read(d->dbg);
    char *rel = tlog_read(d->rel);
    parse_debug(out, pt);
    parse_drop_reports(rel, pt);
    for (int i = 0; i < NTHREADS; i++) {
        cr_assert_eq(pt[i].lines, st[i].entries, "cpu%d: %llu lines, %llu accepted", i,
                     (unsigned long long)pt[i].lines, (unsigned long long)st[i].entries);
        cr_assert_eq(pt[i].reported, st[i].dropped, "cpu%d: drops reported vs counted", i);
        if (expect_no_drops)
            cr_assert_eq(st[i].dropped, 0, "cpu%d dropped with big buffers", i);
    }
    cr_log_info("flood: %llu written, %llu dropped", (unsigned long long)written,
                (unsigned long long)dropped);
    free(out);
    free(rel);
    tlog_dir_remove(d);
}

Test(log_stress, flood_tiny_buffers_keeps_order_and_counts, .timeout = 300)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "all.e", 2, 512);
    flood_run(true, false);
    flood_verify(&d, false);
}

Test(log_stress, flood_still_attached_at_term, .timeout = 300)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "all.e", 3, 1024);
    flood_run(false, false);   /* threads exit attached; log_term must cope */
    flood_verify(&d, false);
}

Test(log_stress, flood_paced_tiny_buffers_recycles, .timeout = 300)
{
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "all.e", 2, 512);
    flood_run(true, true);
    flood_verify(&d, false);
}

Test(log_stress, large_buffers_drop_nothing, .timeout = 300)
{
    /* 16 x 64 KiB per thread holds all 20000 entries (~30 bytes each)
     * even if the flusher never got to run. */
    struct tlog_dir d;
    tlog_dir_make(&d);
    tlog_start(&d, "all.e", 16, 64 * 1024);
    flood_run(true, false);
    flood_verify(&d, true);
}

struct pipe_reader {
    int fd;
    size_t len;
};

static void pipe_drain(void *p)
{
    struct pipe_reader *r = p;
    char buf[4096];
    ssize_t n;
    while ((n = read(r->fd, buf, sizeof(buf))) > 0)
        r->len += (size_t)n;
}

Test(log_stress, blocked_destination_drops_and_never_blocks_the_emt, .timeout = 300)
{
    /* The flusher blocks on a pipe nobody reads (64 KiB), so the EMT must
     * run out of buffers, drop and carry on. */
    struct tlog_dir d;
    tlog_dir_make(&d);
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    snprintf(d.dest, sizeof(d.dest), "file=/dev/fd/%d", pfd[1]);
    tlog_start(&d, "all.e", 2, 512);
    close(pfd[1]);   /* log_term closes the logger's copy: then EOF */

    struct flood f = { .detach = false };
    struct flood_arg a = { &f, 0, -1 };
    uv_thread_t th;
    cr_assert_eq(uv_barrier_init(&f.start, 1), 0);
    cr_assert_eq(uv_thread_create(&th, flood_thread, &a), 0);
    cr_assert_eq(uv_thread_join(&th), 0);
    uv_barrier_destroy(&f.start);
    cr_assert_eq(a.rc, 0);

    struct pipe_reader r = { pfd[0], 0 };
    uv_thread_t rd;
    cr_assert_eq(uv_thread_create(&rd, pipe_drain, &r), 0);
    log_flush();
    struct log_thread_stats st;
    cr_assert_eq(log_thread_stats("cpu0", &st), 0);
    cr_assert_eq(st.entries + st.dropped, NENTRIES);
    cr_assert_gt(st.dropped, NENTRIES / 2, "dropped only %llu", (unsigned long long)st.dropped);
    log_term();
    cr_assert_eq(uv_thread_join(&rd), 0);
    close(pfd[0]);
    /* Everything accepted went through the pipe, plus the drop reports,
     * which the release log (holding nothing else here) has too. */
    char *rel = tlog_read(d.rel);
    cr_assert_eq(r.len, st.bytes + strlen(rel), "pipe %zu, accepted %llu, release log: %s", r.len,
                 (unsigned long long)st.bytes, rel);
    struct per_thread pt[NTHREADS] = { { 0 } };
    parse_drop_reports(rel, pt);
    cr_assert_eq(pt[0].reported, st.dropped);
    free(rel);
    tlog_dir_remove(&d);
}
