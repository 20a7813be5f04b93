/* SPDX-License-Identifier: MIT */
/* Shared helpers for the VMM tests: create a VM with N vCPUs. */
#ifndef TEST_VMM_HELPERS_H
#define TEST_VMM_HELPERS_H

#include <criterion/criterion.h>
#include <stdio.h>

#include "ixvm/cfg.h"
#include "ixvm/vmm.h"

static inline struct vm *tv_create(unsigned ncpus, const struct vmm_create_args *args, const char *extra_set)
{
    struct cfg *cfg;
    struct ixvm_errinfo err = { 0 };
    char kv[64];
    cr_assert_eq(cfg_create(&cfg), 0);
    snprintf(kv, sizeof(kv), "CPU/Count=%u", ncpus);
    cr_assert_eq(cfg_set_assignment(cfg, kv, &err), 0, "%s", err.msg);
    if (extra_set)
        cr_assert_eq(cfg_set_assignment(cfg, extra_set, &err), 0, "%s", err.msg);
    struct vm *vm = NULL;
    int rc = vmm_create(cfg, args, &vm, &err);
    cfg_destroy(cfg);
    cr_assert_eq(rc, 0, "vmm_create: %s", err.msg);
    return vm;
}

static inline struct vm *tv_create_on(unsigned ncpus)
{
    struct vm *vm = tv_create(ncpus, NULL, NULL);
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(vmm_power_on(vm, &err), 0, "%s", err.msg);
    return vm;
}

#endif
