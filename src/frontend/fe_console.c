/* SPDX-License-Identifier: MIT */
/*
 * Console capture (see fe_console.h).  Writers append to `in` under a mutex
 * held only for a memcpy; the loop swaps `in` with its own `out` buffer and
 * does all I/O without the lock.  Bytes are dropped only when `in` would
 * exceed max_pending (the loop stopped draining), and then counted, so the
 * capture is lossless whenever the loop keeps up.
 */
#include "frontend/fe_console.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct fe_console {
    pthread_mutex_t lock;
    char *in;                   /* [any, lock] */
    size_t in_len, in_cap;      /* [any, lock] */
    uint64_t dropped;           /* [any, lock] */
    size_t max_pending;
    void (*wake)(void *user);
    void *wake_user;

    char *out;                  /* [loop] the buffer being drained */
    size_t out_cap;             /* [loop] */
    FILE *capture;              /* [loop] */
    char *capture_path;
    FILE *stream;               /* [loop] */
    void (*before_stream)(void *user);
    void *stream_user;
    char partial[FE_CONSOLE_STREAM_LINE_MAX];   /* [loop] unfinished line not yet streamed */
    size_t partial_len;
    char cur[FE_CONSOLE_LINE_MAX];   /* [loop] the line being received */
    size_t cur_len;
    char last[FE_CONSOLE_LINE_MAX];  /* [loop] the last complete non-empty line */
    uint64_t total;             /* [loop] */
    struct ixvm_errinfo io_err; /* [loop] first capture error */
};

int fe_console_open(struct fe_console **out, const struct fe_console_opts *opts,
                    struct ixvm_errinfo *err)
{
    struct fe_console *c = calloc(1, sizeof(*c));
    if (!c)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "console: out of memory");
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return ixvm_errinfo_set(err, IXVM_ERR_THREAD, "console: cannot create a mutex");
    }
    c->max_pending = opts->max_pending ? opts->max_pending : FE_CONSOLE_MAX_PENDING_DEFAULT;
    c->wake = opts->wake;
    c->wake_user = opts->wake_user;
    c->stream = opts->stream;
    c->before_stream = opts->before_stream;
    c->stream_user = opts->stream_user;
    if (opts->capture_path) {
        c->capture_path = strdup(opts->capture_path);
        c->capture = c->capture_path ? fopen(opts->capture_path, "wb") : NULL;
        if (!c->capture) {
            int rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "console capture file %s: %s",
                                      opts->capture_path, strerror(errno));
            pthread_mutex_destroy(&c->lock);
            free(c->capture_path);
            free(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

void fe_console_write(struct fe_console *c, const void *data, size_t len)
{
    if (!c || len == 0)
        return;
    bool was_empty = false, stored = false;
    pthread_mutex_lock(&c->lock);
    if (c->in_len + len <= c->max_pending) {
        if (c->in_len + len > c->in_cap) {
            size_t cap = c->in_cap ? c->in_cap : 4096;
            while (cap < c->in_len + len)
                cap *= 2;
            char *p = realloc(c->in, cap);
            if (p) {
                c->in = p;
                c->in_cap = cap;
            }
        }
        if (c->in_len + len <= c->in_cap) {
            was_empty = c->in_len == 0;
            memcpy(c->in + c->in_len, data, len);
            c->in_len += len;
            stored = true;
        }
    }
    if (!stored)
        c->dropped += len;
    pthread_mutex_unlock(&c->lock);
    if (was_empty && c->wake)
        c->wake(c->wake_user);
}

static void fe_console_stream_out(struct fe_console *c, const char *data, size_t len)
{
    if (!c->stream || len == 0)
        return;
    if (c->before_stream)
        c->before_stream(c->stream_user);
    /* Errors on the stream (a closed pipe) do not stop the run; the capture
     * file is the record. */
    (void)fwrite(data, 1, len, c->stream);
}

/* Line-buffered streaming: complete lines go out at once, the rest waits
 * in `partial` (which is streamed when it fills up). */
static void fe_console_stream(struct fe_console *c, const char *data, size_t len)
{
    size_t head = len;
    while (head && data[head - 1] != '\n')
        head--;
    if (head) {
        fe_console_stream_out(c, c->partial, c->partial_len);
        c->partial_len = 0;
        fe_console_stream_out(c, data, head);
        data += head;
        len -= head;
    }
    while (len) {
        size_t room = sizeof(c->partial) - c->partial_len;
        size_t n = len < room ? len : room;
        memcpy(c->partial + c->partial_len, data, n);
        c->partial_len += n;
        data += n;
        len -= n;
        if (c->partial_len == sizeof(c->partial)) {
            fe_console_stream_out(c, c->partial, c->partial_len);
            c->partial_len = 0;
        }
    }
    if (c->stream)
        fflush(c->stream);
}

/* Track the last line for the status line (CR and NUL dropped, cut to fit). */
static void fe_console_track_lines(struct fe_console *c, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (ch == '\n') {
            if (c->cur_len) {
                memcpy(c->last, c->cur, c->cur_len);
                c->last[c->cur_len] = '\0';
            }
            c->cur_len = 0;
        } else if (ch != '\r' && ch != '\0' && c->cur_len < sizeof(c->cur) - 1) {
            c->cur[c->cur_len++] = ch;
        }
    }
    c->cur[c->cur_len] = '\0';
}

int64_t fe_console_drain(struct fe_console *c, fe_console_sink_fn sink, void *user)
{
    pthread_mutex_lock(&c->lock);
    char *buf = c->in;
    size_t len = c->in_len, cap = c->in_cap;
    c->in = c->out;
    c->in_cap = c->out_cap;
    c->in_len = 0;
    pthread_mutex_unlock(&c->lock);
    c->out = buf;
    c->out_cap = cap;
    if (len == 0)
        return 0;
    int rc = 0;
    if (c->capture && c->io_err.rc == 0) {
        if (fwrite(buf, 1, len, c->capture) != len || fflush(c->capture) != 0)
            rc = ixvm_errinfo_set(&c->io_err, IXVM_ERR_IO, "console capture file %s: %s",
                                  c->capture_path, strerror(errno));
    }
    fe_console_stream(c, buf, len);
    fe_console_track_lines(c, buf, len);
    c->total += len;
    if (sink)
        sink(user, buf, len);
    return rc < 0 ? rc : (int64_t)len;
}

void fe_console_flush_partial(struct fe_console *c)
{
    fe_console_stream_out(c, c->partial, c->partial_len);
    c->partial_len = 0;
    if (c->stream)
        fflush(c->stream);
}

int fe_console_close(struct fe_console *c, fe_console_sink_fn sink, void *user,
                     struct ixvm_errinfo *err)
{
    if (!c)
        return 0;
    (void)fe_console_drain(c, sink, user);
    fe_console_flush_partial(c);
    int rc = c->io_err.rc;
    if (rc < 0)
        ixvm_errinfo_set(err, rc, "%s", c->io_err.msg);
    if (c->capture && fclose(c->capture) != 0 && rc == 0)
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "console capture file %s: %s", c->capture_path,
                              strerror(errno));
    pthread_mutex_destroy(&c->lock);
    free(c->in);
    free(c->out);
    free(c->capture_path);
    free(c);
    return rc;
}

const char *fe_console_last_line(const struct fe_console *c)
{
    return c->last;
}

const char *fe_console_status_text(const struct fe_console *c)
{
    return c->cur_len ? c->cur : c->last;
}

uint64_t fe_console_total(const struct fe_console *c)
{
    return c->total;
}

uint64_t fe_console_dropped(struct fe_console *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t d = c->dropped;
    pthread_mutex_unlock(&c->lock);
    return d;
}

const char *fe_console_error(const struct fe_console *c)
{
    return c->io_err.rc ? c->io_err.msg : "";
}
