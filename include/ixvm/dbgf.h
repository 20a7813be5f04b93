/* SPDX-License-Identifier: MIT */
/*
 * DBGF: the debugger facility.  For now: the registry of named `info`
 * handlers that modules register at init and the monitor, gdb's qRcmd and
 * --selftest call.  Output goes to a caller-given printer.
 *
 * Thread-safe.  A handler runs without the registry lock (it may call other
 * items or register new ones); dbgf_info_deregister waits until running
 * calls of that item return, so a handler must not deregister itself.
 * "help" is built in: `help` lists every item, `help NAME` describes one.
 */
#ifndef IXVM_DBGF_H
#define IXVM_DBGF_H

#include "ixvm/types.h"

typedef void dbgf_info_fn(void *user, const struct ixvm_printer *pr, const char *args);

struct dbgf_info_reg;

int dbgf_info_create(struct dbgf_info_reg **out) IXVM_WUR;
void dbgf_info_destroy(struct dbgf_info_reg *reg);

/* Name: [a-z0-9_]+.  Duplicate name: IXVM_ERR_ALREADY_EXISTS. */
int dbgf_info_register(struct dbgf_info_reg *reg, const char *name, const char *desc,
                       dbgf_info_fn *fn, void *user) IXVM_WUR;
int dbgf_info_deregister(struct dbgf_info_reg *reg, const char *name);
/* Run handler `name` with args (may be NULL).  Unknown: IXVM_ERR_NOT_FOUND
 * and a message "unknown info item 'x'" printed to pr. */
int dbgf_info_call(struct dbgf_info_reg *reg, const char *name, const char *args,
                   const struct ixvm_printer *pr);
/* Print "name  description" for every handler, sorted by name. */
void dbgf_info_list(struct dbgf_info_reg *reg, const struct ixvm_printer *pr);

#endif
