/* SPDX-License-Identifier: MIT */
/*
 * Differential tester, interpreter side: a struct diff_target that runs a
 * case in the IEM test harness (include/ixvm/iem.h "Test harness"): flat
 * 32-bit protected mode, the instruction and the data window at the same
 * guest addresses as on the host, exactly one instruction per case.
 */
#ifndef IXVM_TESTS_DIFF_IEM_H
#define IXVM_TESTS_DIFF_IEM_H

#include "diff_run.h"

/* Create the harness machine laid out like h; fills *t. */
int diff_iem_open(struct diff_target *t, const struct diff_host *h, struct ixvm_errinfo *err) IXVM_WUR;
void diff_iem_close(struct diff_target *t);

#endif
