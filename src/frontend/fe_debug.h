/* SPDX-License-Identifier: MIT */
/*
 * The debugger options of the command line and their wiring to the running
 * VM (src/frontend/fe_debug.c, docs/debugging.md): --gdb, --wait-for-gdb,
 * --monitor, --trace, --trace-filter, --trace-interrupts, --symbols.
 * main.c's option rows call fe_debug_option(); fe_run() calls
 * fe_debug_start() once the board exists (before power-on) and
 * fe_debug_stop() when the run ends.  Loop thread only.
 */
#ifndef IXVM_FE_DEBUG_H
#define IXVM_FE_DEBUG_H

#include "ixvm/types.h"

struct fe_runner;
struct fe_run_opts;

#define FE_DEBUG_MAX_SYMS 16

struct fe_debug_opts {
    const char *gdb;               /* tcp::PORT, tcp:HOST:PORT, unix:PATH */
    bool wait_for_gdb;             /* vCPUs held at the first instruction until gdb continues */
    const char *monitor;           /* stdio or unix:PATH */
    const char *trace;             /* FILE ('-': stderr) */
    const char *trace_filter;      /* dbgf_trace_filter_parse syntax */
    bool trace_intrs;
    const char *symbols[FE_DEBUG_MAX_SYMS];   /* FILE.elf[@BIAS] */
    unsigned nsym;
};

/* One option (v NULL for the flags); the message names the problem. */
int fe_debug_option(struct fe_debug_opts *o, const char *opt, const char *v, struct ixvm_errinfo *err) IXVM_WUR;
/* After all options: combinations (--wait-for-gdb needs --gdb), and a
 * stdio monitor keeps stdin (COM1 is then not on the terminal unless
 * --serial says so).  Sets run->debug when any debugger option is given. */
int fe_debug_prepare(struct fe_debug_opts *o, struct fe_run_opts *run, struct ixvm_errinfo *err) IXVM_WUR;

/* fe_runner.c: the board exists, the guest has not run yet. */
int fe_debug_start(struct fe_runner *r, struct ixvm_errinfo *err) IXVM_WUR;
/* The run ended: tell gdb the exit status, close the servers, detach. */
void fe_debug_stop(struct fe_runner *r);

#endif
