/* SPDX-License-Identifier: MIT */
/*
 * The monitor console (docs/debugging.md, "Monitor commands").  The core
 * (fe_monitor.c) runs one command line against a dbgf_target and prints to
 * a printer; fe_monitor_io.c feeds it lines from a stream (libedit when the
 * stream is a terminal) or from unix-socket clients on the libuv loop.
 * The gdb stub's qRcmd ("monitor CMD" in gdb) calls fe_monitor_exec too.
 * One monitor is used by one thread at a time.
 */
#ifndef IXVM_FE_MONITOR_H
#define IXVM_FE_MONITOR_H

#include <stdio.h>

#include <uv.h>

#include "ixvm/dbgf.h"
#include "ixvm/dbgf_target.h"

/* fe_monitor_exec's status after "quit" (the caller ends the session). */
#define FE_MONITOR_QUIT 1

struct fe_monitor_cfg {
    const struct dbgf_target *tgt;   /* required; copied */
    struct dbgf_info_reg *info;      /* `info` items; NULL: none */
    const struct dbgf_sym *sym;      /* symbols for expressions/disassembly; may be NULL */
    const struct dbgf_flight *flight;/* `flight` dumps; may be NULL */
};

struct fe_monitor;

int fe_monitor_create(const struct fe_monitor_cfg *cfg, struct fe_monitor **out) IXVM_WUR;
void fe_monitor_destroy(struct fe_monitor *m);
/* Run one command line.  0, FE_MONITOR_QUIT, or a negative status (the
 * message has been printed to pr already).  Empty lines do nothing. */
int fe_monitor_exec(struct fe_monitor *m, const char *line, const struct ixvm_printer *pr);
/* Print a stop event the way the monitor reports it. */
void fe_monitor_print_stop(const struct dbgf_stop_event *ev, const struct ixvm_printer *pr);

/* Read lines from in (libedit line editing and history when in is a
 * terminal) until EOF or quit; output to out.  Returns FE_MONITOR_QUIT
 * after quit, 0 at EOF. */
int fe_monitor_run_stream(struct fe_monitor *m, FILE *in, FILE *out);

/* Serve the monitor on "unix:PATH" on the loop (several clients, one line
 * at a time each).  fe_monitor_server_close frees it via the loop. */
struct fe_monitor_server;
int fe_monitor_listen(struct fe_monitor *m, uv_loop_t *loop, const char *spec,
                      struct fe_monitor_server **out, struct ixvm_errinfo *err) IXVM_WUR;
void fe_monitor_server_close(struct fe_monitor_server *s);

#endif
