/* SPDX-License-Identifier: MIT */
/*
 * Console capture: lossless capture file, line-buffered streaming, the last
 * line for the status line, sink order, the wake callback, drops when the
 * loop stalls, bad capture paths.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_console.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

struct sink {
    char buf[4096];
    size_t len;
    unsigned calls;
};

static void sink_fn(void *user, const char *data, size_t len)
{
    struct sink *s = user;
    cr_assert_leq(s->len + len, sizeof(s->buf));
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->calls++;
}

static int wakes;
static void wake_fn(void *user)
{
    (void)user;
    wakes++;
}

static int clears;
static void before_fn(void *user)
{
    (void)user;
    clears++;
}

Test(fe_console, capture_stream_lines)
{
    char cap[] = "/tmp/fe_console_cap_XXXXXX";
    int fd = mkstemp(cap);
    cr_assert_geq(fd, 0);
    close(fd);
    char *sbuf = NULL;
    size_t slen = 0;
    FILE *stream = open_memstream(&sbuf, &slen);
    struct fe_console *c = NULL;
    struct ixvm_errinfo e = { 0 };
    struct fe_console_opts o = { .capture_path = cap, .stream = stream, .wake = wake_fn,
                                 .before_stream = before_fn };
    cr_assert_eq(fe_console_open(&c, &o, &e), 0, "%s", e.msg);
    struct sink s = { 0 };
    wakes = 0;
    fe_console_write(c, "Boot", 4);
    fe_console_write(c, "ing\r\nstage 2\n\x00\xff\x1b[0m", 19);
    cr_assert_eq(wakes, 1, "woken once for a non-empty buffer");
    cr_assert_eq(fe_console_drain(c, sink_fn, &s), 23);
    cr_assert_eq(fe_console_drain(c, sink_fn, &s), 0);
    cr_assert_eq(s.calls, 1);
    cr_assert_str_eq(fe_console_last_line(c), "stage 2");
    fflush(stream);
    cr_assert_eq(slen, 17, "only complete lines streamed: %zu", slen);
    cr_assert_arr_eq(sbuf, "Booting\r\nstage 2\n", 17);
    fe_console_write(c, "login: ", 7);
    cr_assert_eq(fe_console_drain(c, sink_fn, &s), 7);
    cr_assert_str_eq(fe_console_status_text(c), "\xff\x1b[0mlogin: ", "the unfinished line, NUL left out");
    cr_assert_str_eq(fe_console_last_line(c), "stage 2");
    fflush(stream);
    cr_assert_eq(slen, 17);
    fe_console_flush_partial(c);
    fflush(stream);
    cr_assert_eq(slen, 17 + 6 + 7);
    cr_assert_eq(fe_console_total(c), 30);
    cr_assert_gt(clears, 0);
    fe_console_write(c, "tail", 4);
    cr_assert_eq(fe_console_close(c, sink_fn, &s, &e), 0, "%s", e.msg);
    fclose(stream);
    const char want[] = "Booting\r\nstage 2\n\x00\xff\x1b[0mlogin: tail";
    cr_assert_eq(s.len, sizeof(want) - 1);
    cr_assert_arr_eq(s.buf, want, sizeof(want) - 1);
    size_t flen = 0;
    char *file = slurp(cap, &flen);
    cr_assert_eq(flen, sizeof(want) - 1, "capture is lossless: %zu bytes", flen);
    cr_assert_arr_eq(file, want, flen);
    cr_assert_eq(slen, sizeof(want) - 1, "everything streamed by close");
    cr_assert_arr_eq(sbuf, want, slen);
    free(sbuf);
    unlink(cap);
}

Test(fe_console, long_line_streamed_in_pieces)
{
    char *sbuf = NULL;
    size_t slen = 0;
    FILE *stream = open_memstream(&sbuf, &slen);
    struct fe_console *c = NULL;
    struct fe_console_opts o = { .stream = stream };
    cr_assert_eq(fe_console_open(&c, &o, NULL), 0);
    static char big[FE_CONSOLE_STREAM_LINE_MAX + 100];
    memset(big, 'x', sizeof(big));
    fe_console_write(c, big, sizeof(big));
    cr_assert_eq(fe_console_drain(c, NULL, NULL), (int64_t)sizeof(big));
    fflush(stream);
    cr_assert_eq(slen, FE_CONSOLE_STREAM_LINE_MAX);
    cr_assert_eq(strlen(fe_console_status_text(c)), FE_CONSOLE_LINE_MAX - 1, "cut for the status");
    cr_assert_eq(fe_console_close(c, NULL, NULL, NULL), 0);
    fclose(stream);
    cr_assert_eq(slen, sizeof(big));
    free(sbuf);
}

Test(fe_console, drops_when_loop_stalls)
{
    struct fe_console *c = NULL;
    struct fe_console_opts o = { .max_pending = 100 };
    cr_assert_eq(fe_console_open(&c, &o, NULL), 0);
    char x[60];
    memset(x, 'a', sizeof(x));
    fe_console_write(c, x, 60);
    fe_console_write(c, x, 60);
    cr_assert_eq(fe_console_dropped(c), 60);
    cr_assert_eq(fe_console_drain(c, NULL, NULL), 60);
    fe_console_write(c, x, 60);
    cr_assert_eq(fe_console_drain(c, NULL, NULL), 60, "room again after a drain");
    cr_assert_eq(fe_console_dropped(c), 60);
    cr_assert_eq(fe_console_close(c, NULL, NULL, NULL), 0);
}

Test(fe_console, bad_capture_path)
{
    struct fe_console *c = NULL;
    struct ixvm_errinfo e = { 0 };
    struct fe_console_opts o = { .capture_path = "/nonexistent/dir/out.log" };
    cr_assert_eq(fe_console_open(&c, &o, &e), IXVM_ERR_IO);
    cr_assert(strstr(e.msg, "/nonexistent/dir/out.log") && strstr(e.msg, "No such file"), "%s", e.msg);
    cr_assert_eq(fe_console_close(NULL, NULL, NULL, NULL), 0);
}

Test(fe_console, capture_write_error_reported)
{
    if (access("/dev/full", W_OK) != 0)
        cr_assert_fail("/dev/full is needed for this test");
    struct fe_console *c = NULL;
    struct ixvm_errinfo e = { 0 };
    struct fe_console_opts o = { .capture_path = "/dev/full" };
    cr_assert_eq(fe_console_open(&c, &o, &e), 0, "%s", e.msg);
    fe_console_write(c, "hello\n", 6);
    cr_assert_eq(fe_console_drain(c, NULL, NULL), IXVM_ERR_IO);
    cr_assert(strstr(fe_console_error(c), "/dev/full"), "%s", fe_console_error(c));
    cr_assert_str_eq(fe_console_last_line(c), "hello", "still tracked");
    cr_assert_eq(fe_console_close(c, NULL, NULL, &e), IXVM_ERR_IO);
    cr_assert(strstr(e.msg, "No space left"), "%s", e.msg);
}
