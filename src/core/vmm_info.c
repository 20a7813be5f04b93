/* SPDX-License-Identifier: MIT */
/*
 * The VMM's statistics (/VMM/...), its info handlers (fflags, cpus, vmm,
 * stats, config) and its saved-state unit `vmm` (version 4, as the
 * reference's vmmR3Save/vmmR3Load: for every vCPU but 0 a bool "started",
 * then a UINT32_MAX terminator).
 */
#define LOG_GROUP LOG_GROUP_VMM
#include <stdio.h>

#include "ixvm/cfg.h"
#include "ixvm/dbgf.h"
#include "ixvm/log.h"
#include "ixvm/ssm.h"
#include "ixvm/stam.h"
#include "vmm_internal.h"

#define VMM_SSM_VERSION 4u

/* ------------------------------------------------------------------------- */
/* Statistics                                                                */
/* ------------------------------------------------------------------------- */

struct vmm_stat_desc {
    size_t off;             /* offset in struct vcpu_int */
    const char *name;
    const char *desc;
};

static const struct vmm_stat_desc vmm_cpu_stats[] = {
    { offsetof(struct vcpu_int, halts), "Halts", "Times the vCPU went to sleep halted" },
    { offsetof(struct vcpu_int, wakeups), "Wakeups", "Times a sleeping EMT woke up" },
    { offsetof(struct vcpu_int, reqs), "Requests", "Requests executed on this EMT" },
    { offsetof(struct vcpu_int, rv_joins), "RendezvousJoins", "Rendezvous this EMT took part in" },
    { offsetof(struct vcpu_int, preempts), "Preemptions", "Time-slice kicks seen" },
    { offsetof(struct vcpu_int, sipi_ignored), "SipiIgnored", "Startup IPIs discarded (not waiting for SIPI)" },
    { offsetof(struct vcpu_int, q.queued), "RequestsQueued", "Requests queued for this EMT" },
};

struct vmm_vm_stat_desc {
    size_t off;             /* offset in struct vm_int */
    const char *path;
    const char *desc;
};

static const struct vmm_vm_stat_desc vmm_vm_stats[] = {
    { offsetof(struct vm_int, rv_calls), "/VMM/Rendezvous/Calls", "Rendezvous started (SMP path)" },
    { offsetof(struct vm_int, rv_nested), "/VMM/Rendezvous/Nested", "Rendezvous started from a callback" },
    { offsetof(struct vm_int, rv_ext), "/VMM/Rendezvous/NonEmt", "Rendezvous from non-EMT threads" },
    { offsetof(struct vm_int, rv_prio), "/VMM/Rendezvous/Priority", "Priority rendezvous" },
    { offsetof(struct vm_int, rv_deadlock), "/VMM/Rendezvous/Deadlock", "Recursions refused with DEADLOCK" },
    { offsetof(struct vm_int, rv_single), "/VMM/Rendezvous/SingleCpu", "Single-vCPU direct calls" },
    { offsetof(struct vm_int, any_q.queued), "/VMM/Requests/AnyQueued", "Requests queued for any EMT" },
};

int vmm_stats_register_all(struct vm *vm)
{
    struct stam *st = vm->in->stam;
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(vmm_vm_stats); i++) {
        int rc = stam_register(st, (char *)vm->in + vmm_vm_stats[i].off, STAM_TYPE_COUNTER, STAM_UNIT_OCCURRENCES,
                               vmm_vm_stats[i].desc, "%s", vmm_vm_stats[i].path);
        if (rc < 0)
            return rc;
    }
    for (uint32_t c = 0; c < vm->ncpus; c++) {
        for (size_t i = 0; i < IXVM_ARRAY_SIZE(vmm_cpu_stats); i++) {
            int rc = stam_register(st, (char *)vm->cpus[c].in + vmm_cpu_stats[i].off, STAM_TYPE_COUNTER,
                                   STAM_UNIT_OCCURRENCES, vmm_cpu_stats[i].desc, "/VMM/CPU%u/%s", c,
                                   vmm_cpu_stats[i].name);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Info handlers                                                             */
/* ------------------------------------------------------------------------- */

static void vmm_info_fflags(void *user, const struct ixvm_printer *pr, const char *args)
{
    ff_info_print(user, pr);
}

static void vmm_info_cpus(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct vm *vm = user;
    for (uint32_t i = 0; i < vm->ncpus; i++) {
        const struct vcpu *c = &vm->cpus[i];
        /* The EMT owns cpu; this is a racy snapshot meant for humans. */
        ixvm_pr(pr, "CPU %u: %s, mode %s, CS:EIP %04x:%08x, FFs 0x%08x\n", i,
                vmm_cpu_state_name(vmm_cpu_get_state(c)), cpum_mode_name(cpum_mode(&c->cpu)),
                c->cpu.seg[CPUM_CS].sel, c->cpu.eip, atomic_load(&vm->cpus[i].ff));
    }
}

static void vmm_info_vmm(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct vm *vm = user;
    const char *m1, *m2;
    ixvm_pr(pr, "VM '%s': state %s, %u vCPU(s), cpu ops '%s'\n", vm->in->name,
            vmm_state_name(vmm_get_state(vm)), vm->ncpus, vm->in->ops->name);
    ixvm_pr(pr, "Periodic preemption timer: %s, time slice %u ms\n", vm->in->use_preempt ? "on" : "off",
            vm->in->slice_ms);
    vmm_get_assertion(vm, &m1, &m2);
    if (*m1)
        ixvm_pr(pr, "Assertion: %s%s", m1, m2);
    if (vm->in->last_error[0])
        ixvm_pr(pr, "Last error: %s\n", vm->in->last_error);
}

static void vmm_info_stats(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct vm *vm = user;
    stam_print(vm->in->stam, args, pr);
}

static void vmm_info_config(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct vm *vm = user;
    cfg_print(vm->in->cfg, pr);
}

struct vmm_info_desc {
    const char *name;
    const char *desc;
    dbgf_info_fn *fn;
};

static const struct vmm_info_desc vmm_infos[] = {
    { "fflags", "Forced-action flags, global and per vCPU", vmm_info_fflags },
    { "cpus", "vCPU states", vmm_info_cpus },
    { "vmm", "VM state, settings, assertion and last error", vmm_info_vmm },
    { "stats", "Statistics (argument: pattern)", vmm_info_stats },
    { "config", "The VM configuration", vmm_info_config },
};

int vmm_info_register_all(struct vm *vm)
{
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(vmm_infos); i++) {
        int rc = dbgf_info_register(vm->in->info, vmm_infos[i].name, vmm_infos[i].desc, vmm_infos[i].fn, vm);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Saved state                                                               */
/* ------------------------------------------------------------------------- */

static int vmm_ssm_save(void *user, struct ssm_handle *h)
{
    struct vm *vm = user;
    for (uint32_t i = 1; i < vm->ncpus; i++)
        ssm_put_bool(h, vmm_cpu_get_state(&vm->cpus[i]) != VMM_CPU_WAIT_SIPI);
    return ssm_put_u32(h, UINT32_MAX);
}

static int vmm_ssm_load(void *user, struct ssm_handle *h, uint32_t version)
{
    struct vm *vm = user;
    bool started[IXVM_MAX_CPUS] = { true };
    uint32_t term = 0;
    if (version != VMM_SSM_VERSION)
        return IXVM_ERR_UNSUPPORTED_VERSION;
    for (uint32_t i = 1; i < vm->ncpus; i++) {
        int rc = ssm_get_bool(h, &started[i]);
        if (rc < 0)
            return rc;
    }
    int rc = ssm_get_u32(h, &term);
    if (rc < 0)
        return rc;
    if (term != UINT32_MAX)
        return IXVM_ERR_FILE_FORMAT;
    /* Every EMT is parked in the load rendezvous: their state is ours now. */
    for (uint32_t i = 1; i < vm->ncpus; i++)
        emt_set_cpu_state(&vm->cpus[i], started[i] ? VMM_CPU_HALTED : VMM_CPU_WAIT_SIPI);
    return 0;
}

int vmm_ssm_register(struct vm *vm)
{
    const struct ssm_unit_desc d = {
        .name = "vmm", .instance = 0, .version = VMM_SSM_VERSION, .min_version = VMM_SSM_VERSION,
        .save = vmm_ssm_save, .load = vmm_ssm_load, .user = vm,
    };
    return ssm_register(vm->in->ssm, &d);
}
