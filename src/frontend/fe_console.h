/* SPDX-License-Identifier: MIT */
/*
 * Console capture: the bytes the guest writes to its serial port and debug
 * console.  Device callbacks on any thread (EMTs) append with
 * fe_console_write() (a short mutex and a memcpy, never I/O); the loop
 * thread calls fe_console_drain(), which writes the bytes losslessly to the
 * capture file, streams complete lines to a FILE * (stdout), remembers the
 * last line for the status line and hands each chunk to a sink (the
 * expect/fail-on runner).
 */
#ifndef IXVM_FE_CONSOLE_H
#define IXVM_FE_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

#include "ixvm/types.h"

#define FE_CONSOLE_MAX_PENDING_DEFAULT (64u << 20)
#define FE_CONSOLE_LINE_MAX 256      /* kept for the status line */
#define FE_CONSOLE_STREAM_LINE_MAX 4096  /* a longer line is streamed in pieces */

struct fe_console_opts {
    const char *capture_path;   /* NULL: no capture file */
    FILE *stream;               /* NULL: nothing streamed (--quiet) */
    /* Called on the writer's thread when data arrives in an empty buffer
     * (main.c: uv_async_send to wake the loop).  May be NULL. */
    void (*wake)(void *user);
    void *wake_user;
    /* Called on the loop thread before text goes to `stream` (the status
     * line clears itself).  May be NULL. */
    void (*before_stream)(void *user);
    void *stream_user;
    /* Bytes buffered between drains before new ones are dropped and
     * counted (only when the loop stalls); 0: 64 MiB. */
    size_t max_pending;
};

/* Receives every drained chunk, in order. */
typedef void (*fe_console_sink_fn)(void *user, const char *data, size_t len);

struct fe_console;

int fe_console_open(struct fe_console **out, const struct fe_console_opts *opts,
                    struct ixvm_errinfo *err) IXVM_WUR;
/* Append guest output.  Any thread; never blocks on I/O. */
void fe_console_write(struct fe_console *c, const void *data, size_t len);
/* Loop thread: move buffered output to the file, the stream and the sink.
 * Returns the number of bytes drained (>= 0) or IXVM_ERR_IO when the
 * capture file could not be written (fe_console_error() has the reason;
 * later drains keep streaming). */
int64_t fe_console_drain(struct fe_console *c, fe_console_sink_fn sink, void *user);
/* Loop thread: stream the unfinished line now (a prompt without newline). */
void fe_console_flush_partial(struct fe_console *c);
/* Drain, flush everything, close the capture file and free.  Returns 0 or
 * the first capture-file error (err gets the message).  c may be NULL. */
int fe_console_close(struct fe_console *c, fe_console_sink_fn sink, void *user,
                     struct ixvm_errinfo *err);

/* Loop thread accessors. */
const char *fe_console_last_line(const struct fe_console *c);  /* last complete line */
const char *fe_console_status_text(const struct fe_console *c); /* unfinished line, else last */
uint64_t fe_console_total(const struct fe_console *c);          /* bytes drained */
uint64_t fe_console_dropped(struct fe_console *c);              /* bytes dropped (any thread) */
const char *fe_console_error(const struct fe_console *c);       /* "" when none */

#endif
