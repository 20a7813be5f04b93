/* SPDX-License-Identifier: MIT */
/*
 * Block backend: read/write through to the file, the lock against a second
 * opener, snapshot mode (file unchanged, overlay visible), error messages
 * for missing / too small / odd-sized images, range checks, and the cost
 * of synchronous I/O.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ixvm/blk.h"

static char g_dir[64];

static void setup(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/ixvm-blk-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(blk, .init = setup, .fini = teardown);

/* A file of size bytes whose byte i is (i * 7 + i / 512) & 0xff. */
static void make_file(const char *path, size_t size)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    for (size_t i = 0; i < size; i++)
        fputc((int)((i * 7 + i / 512) & 0xff), f);
    fclose(f);
}

static uint8_t pattern(size_t i) { return (uint8_t)((i * 7 + i / 512) & 0xff); }

static void path_of(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static void file_bytes(const char *path, uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

Test(blk, read_write_reaches_file)
{
    char p[128];
    path_of(p, sizeof(p), "d.img");
    make_file(p, 64 * 1024);
    struct blk *b;
    struct ixvm_errinfo err = { 0 };
    struct blk_opts o = { .path = p };
    cr_assert_eq(blk_open(&o, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(blk_size(b), 64 * 1024);
    uint8_t buf[1500];
    cr_assert_eq(blk_read(b, 1001, buf, sizeof(buf)), 0);     /* unaligned reads are fine */
    for (size_t i = 0; i < sizeof(buf); i++)
        cr_assert_eq(buf[i], pattern(1001 + i), "byte %zu", i);
    uint8_t w[1024];
    memset(w, 0xa5, sizeof(w));
    cr_assert_eq(blk_write(b, 2048, w, sizeof(w)), 0);
    cr_assert_eq(blk_flush(b), 0);
    uint8_t back[1024];
    file_bytes(p, 2048, back, sizeof(back));
    cr_assert_eq(memcmp(back, w, sizeof(w)), 0);
    /* misaligned write, out-of-range accesses */
    cr_assert_eq(blk_write(b, 100, w, 512), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(blk_write(b, 0, w, 100), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(blk_read(b, 64 * 1024 - 10, buf, 11), IXVM_ERR_OUT_OF_RANGE);
    cr_assert_eq(blk_read(b, UINT64_MAX - 5, buf, 11), IXVM_ERR_OUT_OF_RANGE);
    cr_assert_eq(blk_write(b, 64 * 1024, w, 512), IXVM_ERR_OUT_OF_RANGE);
    cr_assert_eq(blk_read(b, 64 * 1024, buf, 0), 0);
    blk_close(b);
}

Test(blk, lock_against_second_opener)
{
    char p[128];
    path_of(p, sizeof(p), "x.img");
    make_file(p, 4096);
    struct blk *a, *b2;
    struct ixvm_errinfo err = { 0 };
    struct blk_opts o = { .path = p };
    cr_assert_eq(blk_open(&o, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(blk_open(&o, &b2, &err), IXVM_ERR_BUSY);
    cr_assert_null(b2);
    char want[256];
    snprintf(want, sizeof(want), "disk '%s' is in use by another process", p);
    cr_assert_str_eq(err.msg, want);
    /* a read-only opener conflicts with a writer too */
    struct blk_opts ro = { .path = p, .read_only = true, .what = "cdrom" };
    cr_assert_eq(blk_open(&ro, &b2, &err), IXVM_ERR_BUSY);
    cr_assert(strstr(err.msg, "cdrom '") != NULL, "%s", err.msg);
    blk_close(a);
    /* after close: two readers share the image */
    struct blk *r1, *r2;
    cr_assert_eq(blk_open(&ro, &r1, &err), 0, "%s", err.msg);
    cr_assert_eq(blk_open(&ro, &r2, &err), 0, "%s", err.msg);
    cr_assert_eq(blk_open(&o, &a, &err), IXVM_ERR_BUSY);
    blk_close(r1);
    blk_close(r2);
    cr_assert_eq(blk_open(&o, &a, &err), 0, "%s", err.msg);
    blk_close(a);
}

Test(blk, lock_across_processes)
{
    char p[128];
    path_of(p, sizeof(p), "proc.img");
    make_file(p, 4096);
    struct blk *a;
    struct ixvm_errinfo err = { 0 };
    struct blk_opts o = { .path = p };
    cr_assert_eq(blk_open(&o, &a, &err), 0, "%s", err.msg);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct blk *b;
        struct ixvm_errinfo e2 = { 0 };
        int rc = blk_open(&o, &b, &e2);
        _exit(rc == IXVM_ERR_BUSY && strstr(e2.msg, "in use by another process") ? 0 : 1);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    blk_close(a);
}

Test(blk, read_only_refuses_writes)
{
    char p[128];
    path_of(p, sizeof(p), "cd.iso");
    make_file(p, 8192);
    struct blk *b;
    struct ixvm_errinfo err = { 0 };
    struct blk_opts o = { .path = p, .read_only = true };
    cr_assert_eq(blk_open(&o, &b, &err), 0, "%s", err.msg);
    uint8_t w[512] = { 1 };
    cr_assert(blk_is_read_only(b));
    cr_assert_eq(blk_write(b, 0, w, 512), IXVM_ERR_INVALID_STATE);
    cr_assert_eq(blk_flush(b), 0);
    blk_close(b);
}

Test(blk, snapshot_keeps_file_unchanged)
{
    char p[128];
    path_of(p, sizeof(p), "s.img");
    make_file(p, 256 * 1024);
    uint8_t before[256 * 1024];
    file_bytes(p, 0, before, sizeof(before));
    struct blk *b;
    struct ixvm_errinfo err = { 0 };
    struct blk_opts o = { .path = p, .snapshot = true };
    cr_assert_eq(blk_open(&o, &b, &err), 0, "%s", err.msg);
    cr_assert(blk_is_snapshot(b));
    /* writes scattered over many chunks, then overlapping rewrites */
    uint8_t w[512];
    for (unsigned i = 0; i < 200; i++) {
        memset(w, (int)(i + 1), sizeof(w));
        uint64_t sec = (i * 37u) % 512u;
        cr_assert_eq(blk_write(b, sec * 512, w, 512), 0);
    }
    uint8_t big[3 * 512];
    memset(big, 0xee, sizeof(big));
    cr_assert_eq(blk_write(b, 10 * 512, big, sizeof(big)), 0);
    cr_assert_eq(blk_flush(b), 0);
    /* expected view: the file patched with the same writes */
    static uint8_t expect[256 * 1024];
    memcpy(expect, before, sizeof(expect));
    for (unsigned i = 0; i < 200; i++)
        memset(expect + ((i * 37u) % 512u) * 512, (int)(i + 1), 512);
    memset(expect + 10 * 512, 0xee, sizeof(big));
    static uint8_t got[256 * 1024];
    cr_assert_eq(blk_read(b, 0, got, sizeof(got)), 0);
    cr_assert_eq(memcmp(got, expect, sizeof(got)), 0);
    /* an unaligned read across overlay and file sectors */
    cr_assert_eq(blk_read(b, 10 * 512 - 3, got, 700), 0);
    cr_assert_eq(memcmp(got, expect + 10 * 512 - 3, 700), 0);
    cr_assert_leq(blk_overlay_sectors(b), 512);
    cr_assert_geq(blk_overlay_sectors(b), 3);
    blk_close(b);
    uint8_t after[256 * 1024];
    file_bytes(p, 0, after, sizeof(after));
    cr_assert_eq(memcmp(before, after, sizeof(after)), 0, "snapshot mode modified the file");
}

Test(blk, open_errors_name_file_and_reason)
{
    char p[128];
    struct blk *b = (struct blk *)1;
    struct ixvm_errinfo err = { 0 };
    path_of(p, sizeof(p), "missing.img");
    struct blk_opts o = { .path = p };
    cr_assert_eq(blk_open(&o, &b, &err), IXVM_ERR_NOT_FOUND);
    cr_assert_null(b);
    cr_assert(strstr(err.msg, p) && strstr(err.msg, "No such file"), "%s", err.msg);

    path_of(p, sizeof(p), "small.img");
    make_file(p, 100);
    cr_assert_eq(blk_open(&o, &b, &err), IXVM_ERR_FILE_FORMAT);
    cr_assert(strstr(err.msg, p) && strstr(err.msg, "too small"), "%s", err.msg);

    path_of(p, sizeof(p), "odd.img");
    make_file(p, 1000);
    cr_assert_eq(blk_open(&o, &b, &err), IXVM_ERR_FILE_FORMAT);
    cr_assert(strstr(err.msg, p) && strstr(err.msg, "not a multiple of 512"), "%s", err.msg);

    cr_assert_eq(blk_open(&(struct blk_opts){ .path = g_dir }, &b, &err), IXVM_ERR_IO);
    cr_assert(strstr(err.msg, g_dir) != NULL, "%s", err.msg);

    path_of(p, sizeof(p), "noperm.img");
    make_file(p, 4096);
    cr_assert_eq(chmod(p, 0), 0);
    if (geteuid() != 0) {   /* root reads anything */
        cr_assert_eq(blk_open(&o, &b, &err), IXVM_ERR_IO);
        cr_assert(strstr(err.msg, "Permission denied") != NULL, "%s", err.msg);
    }
    cr_assert_eq(blk_open(&(struct blk_opts){ .path = "" }, &b, &err), IXVM_ERR_INVALID_PARAMETER);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The cost an EMT pays for synchronous I/O (page cache hot): reported,
 * and bounded loosely so a pathological regression fails. */
Test(blk, sync_io_cost)
{
    char p[128];
    path_of(p, sizeof(p), "perf.img");
    make_file(p, 4 << 20);
    struct blk *b;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(blk_open(&(struct blk_opts){ .path = p }, &b, &err), 0, "%s", err.msg);
    static uint8_t buf[128 * 1024];
    double t0 = now_s();
    for (unsigned i = 0; i < 256; i++)
        cr_assert_eq(blk_read(b, (uint64_t)(i % 32) * sizeof(buf), buf, sizeof(buf)), 0);
    double per_read = (now_s() - t0) / 256;
    t0 = now_s();
    for (unsigned i = 0; i < 256; i++)
        cr_assert_eq(blk_write(b, (uint64_t)(i % 32) * sizeof(buf), buf, sizeof(buf)), 0);
    double per_write = (now_s() - t0) / 256;
    cr_log_info("blk: 128 KiB read %.1f us, write %.1f us", per_read * 1e6, per_write * 1e6);
    fprintf(stderr, "blk: 128 KiB read %.1f us, write %.1f us\n", per_read * 1e6, per_write * 1e6);
    cr_assert_lt(per_read, 0.05);
    cr_assert_lt(per_write, 0.05);
    blk_close(b);
}
