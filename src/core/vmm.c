/* SPDX-License-Identifier: MIT */
/*
 * VM creation and destruction, the component list and its init phases, and
 * the lifecycle operations.  Each lifecycle operation is a DESCENDING
 * rendezvous with STOP_ON_ERROR, as in the reference VMM: the first EMT to
 * run (the last vCPU) makes the checked transition to the intermediate
 * state (SUSPENDING, RESETTING...), every EMT does its per-vCPU part, and
 * vCPU 0, last, runs the component hooks in list order and enters the final
 * state.  A wrong state stops the rendezvous at the first EMT with
 * IXVM_ERR_INVALID_STATE naming both states.
 */
#define LOG_GROUP LOG_GROUP_VMM
#include <stdlib.h>
#include <string.h>

#include "ixvm/cfg.h"
#include "ixvm/dbgf.h"
#include "ixvm/log.h"
#include "ixvm/ssm.h"
#include "vmm_internal.h"

/* ------------------------------------------------------------------------- */
/* Default CPU ops: no interpreter yet, every vCPU halts.                    */
/* ------------------------------------------------------------------------- */

static int vmm_default_exec(struct vcpu *vcpu, uint64_t budget)
{
    return IXVM_INF_EM_HALT;
}

static const struct vmm_cpu_ops vmm_default_ops = { .name = "halt", .exec = vmm_default_exec };

/* ------------------------------------------------------------------------- */
/* Accessors                                                                 */
/* ------------------------------------------------------------------------- */

uv_loop_t *vmm_loop(struct vm *vm) { return &vm->in->loop; }
struct cfg *vmm_cfg(struct vm *vm) { return vm->in->cfg; }
struct stam *vmm_stam(struct vm *vm) { return vm->in->stam; }
struct ssm *vmm_ssm(struct vm *vm) { return vm->in->ssm; }
struct dbgf_info_reg *vmm_info_reg(struct vm *vm) { return vm->in->info; }
const char *vmm_name(const struct vm *vm) { return vm->in->name; }

static void vmm_stop_async_cb(uv_async_t *a)
{
    uv_stop(a->loop);
}

int vmm_run_loop(struct vm *vm)
{
    enum vmm_state s = vmm_get_state(vm);
    if (s == VMM_STATE_OFF || s == VMM_STATE_GURU_MEDITATION)
        return 0;
    uv_run(&vm->in->loop, UV_RUN_DEFAULT);
    return 0;
}

void vmm_stop_loop(struct vm *vm)
{
    uv_async_send(&vm->in->stop_async);
}

/* ------------------------------------------------------------------------- */
/* Creation                                                                  */
/* ------------------------------------------------------------------------- */

/* The core component: VMM statistics, info handlers, the `vmm` SSM unit. */
static int vmm_core_init(struct vm *vm, void *user)
{
    int rc = vmm_stats_register_all(vm);
    if (rc >= 0)
        rc = vmm_info_register_all(vm);
    if (rc >= 0)
        rc = vmm_ssm_register(vm);
    return rc;
}

static const struct vmm_component vmm_core_component = { .name = "vmm", .init = vmm_core_init };

static int vmm_read_config(struct vm *vm, const struct cfg *cfg, uint32_t *ncpus, struct ixvm_errinfo *err)
{
    int64_t n = 0, slice = 0;
    bool preempt = true;
    const char *name = NULL;
    int rc = cfg_clone(cfg, &vm->in->cfg);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "cannot copy the configuration: %s", ixvm_strerror(rc));
    if ((rc = cfg_get_int(cfg, "CPU/Count", &n)) < 0 ||
        (rc = cfg_get_int(cfg, "VMM/TimeSliceMs", &slice)) < 0 ||
        (rc = cfg_get_bool(cfg, "VMM/UsePeriodicPreemptionTimers", &preempt)) < 0 ||
        (rc = cfg_get_str(cfg, "VMM/Name", &name)) < 0)
        return ixvm_errinfo_set(err, rc, "cannot read the VMM configuration: %s", ixvm_strerror(rc));
    if (n < 1 || n > IXVM_MAX_CPUS)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "CPU/Count: %lld is outside 1..%d", (long long)n,
                                IXVM_MAX_CPUS);
    *ncpus = (uint32_t)n;
    vm->in->slice_ms = (uint32_t)(slice > 0 ? slice : 10);
    vm->in->use_preempt = preempt;
    snprintf(vm->in->name, sizeof(vm->in->name), "%s", name && *name ? name : "ixvm");
    return 0;
}

static int vmm_init_sync(struct vm *vm)
{
    struct vm_int *in = vm->in;
    if (uv_mutex_init(&in->state_lock) || uv_mutex_init(&in->cb_lock) || uv_mutex_init(&in->rv_lock) ||
        uv_mutex_init(&in->assert_lock) || uv_cond_init(&in->rv_ext_cond))
        return IXVM_ERR_THREAD;
    int rc = req_queue_init(&in->any_q);
    in->sync_ready = rc >= 0;
    return rc;
}

static int vmm_init_loop(struct vm *vm)
{
    struct vm_int *in = vm->in;
    if (uv_loop_init(&in->loop))
        return IXVM_ERR_GENERAL;
    if (uv_async_init(&in->loop, &in->stop_async, vmm_stop_async_cb) || uv_timer_init(&in->loop, &in->preempt_timer))
        return IXVM_ERR_GENERAL;
    in->preempt_timer.data = vm;
    in->loop_ready = true;
    /* The timer must not keep the loop alive on its own; the stop async does. */
    uv_unref((uv_handle_t *)&in->preempt_timer);
    if (in->use_preempt && uv_timer_start(&in->preempt_timer, emt_preempt_timer_cb, in->slice_ms, in->slice_ms))
        return IXVM_ERR_GENERAL;
    return 0;
}

static int vmm_init_cpus(struct vm *vm, uint32_t ncpus)
{
    vm->cpus = calloc(ncpus, sizeof(*vm->cpus));
    if (!vm->cpus)
        return IXVM_ERR_NO_MEMORY;
    vm->ncpus = ncpus;
    for (uint32_t i = 0; i < ncpus; i++) {
        struct vcpu *c = &vm->cpus[i];
        c->id = i;
        c->vm = vm;
        c->in = calloc(1, sizeof(*c->in));
        if (!c->in)
            return IXVM_ERR_NO_MEMORY;
        int rc = emt_waiter_init(&c->in->w);
        if (rc < 0)
            return rc;
        if ((rc = req_queue_init(&c->in->q)) < 0)
            return rc;
        cpum_reset_state(&c->cpu, false);
        atomic_init(&c->in->em_state, VMM_CPU_WAIT_SIPI);
    }
    return 0;
}

static int vmm_init_components(struct vm *vm, const struct vmm_create_args *args, struct ixvm_errinfo *err)
{
    size_t extra = args ? args->ncomponents : 0;
    vm->in->comps = calloc(1 + extra, sizeof(*vm->in->comps));
    if (!vm->in->comps)
        return IXVM_ERR_NO_MEMORY;
    vm->in->comps[0] = vmm_core_component;
    for (size_t i = 0; i < extra; i++)
        vm->in->comps[1 + i] = args->components[i];
    vm->in->ncomps = 1 + extra;

    for (size_t i = 0; i < vm->in->ncomps; i++) {
        const struct vmm_component *c = &vm->in->comps[i];
        int rc = c->init ? c->init(vm, c->user) : 0;
        if (rc < 0)
            return ixvm_errinfo_set(err, rc, "component '%s': init failed: %s", c->name, ixvm_strerror(rc));
        vm->in->ninited = i + 1;
    }
    for (int phase = 0; phase < VMM_INIT_PHASE_COUNT; phase++) {
        for (size_t i = 0; i < vm->in->ncomps; i++) {
            const struct vmm_component *c = &vm->in->comps[i];
            int rc = c->init_completed ? c->init_completed(vm, c->user, (enum vmm_init_phase)phase) : 0;
            if (rc < 0)
                return ixvm_errinfo_set(err, rc, "component '%s': init-completed (%s) failed: %s", c->name,
                                        phase == VMM_INIT_COMPLETED_RING3 ? "ring3" : "ring0", ixvm_strerror(rc));
        }
    }
    return 0;
}

static void vmm_free(struct vm *vm, bool announce);

int vmm_create(const struct cfg *cfg, const struct vmm_create_args *args, struct vm **out,
               struct ixvm_errinfo *err)
{
    if (!cfg || !out)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "vmm_create: no configuration or result pointer");
    *out = NULL;
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm || !(vm->in = calloc(1, sizeof(*vm->in)))) {
        free(vm);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "vmm_create: out of memory");
    }
    atomic_init(&vm->in->state, VMM_STATE_CREATING);
    vm->in->ops = args && args->cpu_ops ? args->cpu_ops : &vmm_default_ops;
    uint32_t ncpus = 0;
    int rc = vmm_read_config(vm, cfg, &ncpus, err);
    if (rc >= 0 && (rc = vmm_init_sync(vm)) < 0)
        ixvm_errinfo_set(err, rc, "vmm_create: cannot create locks");
    if (rc >= 0 && ((rc = stam_create(&vm->in->stam)) < 0 || (rc = dbgf_info_create(&vm->in->info)) < 0 ||
                    (rc = ssm_create(&vm->in->ssm)) < 0))
        ixvm_errinfo_set(err, rc, "vmm_create: cannot create the statistics/info/saved-state registries: %s",
                         ixvm_strerror(rc));
    if (rc >= 0 && (rc = vmm_init_cpus(vm, ncpus)) < 0)
        ixvm_errinfo_set(err, rc, "vmm_create: cannot set up %u vCPUs: %s", ncpus, ixvm_strerror(rc));
    if (rc >= 0 && (rc = vmm_init_loop(vm)) < 0)
        ixvm_errinfo_set(err, rc, "vmm_create: cannot set up the event loop");
    for (uint32_t i = 0; rc >= 0 && i < ncpus; i++)
        if ((rc = emt_start(&vm->cpus[i])) < 0)
            ixvm_errinfo_set(err, rc, "vmm_create: cannot start the EMT of vCPU %u", i);
    if (rc >= 0)
        rc = vmm_init_components(vm, args, err);
    if (rc >= 0)
        rc = vmm_state_set(vm, VMM_STATE_CREATED, err);
    if (rc < 0) {
        vmm_free(vm, false);
        return rc;
    }
    LOG_REL("VM '%s' created: %u vCPU(s), cpu ops '%s', preemption timer %s (%u ms)\n", vm->in->name, ncpus,
            vm->in->ops->name, vm->in->use_preempt ? "on" : "off", vm->in->slice_ms);
    *out = vm;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Destruction                                                               */
/* ------------------------------------------------------------------------- */

static void vmm_close_cb(uv_handle_t *h)
{
}

/* Works on a partly created VM too (every step checks what exists). */
static void vmm_free(struct vm *vm, bool announce)
{
    struct vm_int *in = vm->in;
    for (size_t i = in->ninited; i-- > 0;)
        if (in->comps[i].term)
            in->comps[i].term(vm, in->comps[i].user);
    in->ninited = 0;
    atomic_store(&in->terminate, true);
    for (uint32_t i = 0; vm->cpus && i < vm->ncpus; i++)
        if (vm->cpus[i].in)
            vmm_cpu_poke(&vm->cpus[i]);
    for (uint32_t i = 0; vm->cpus && i < vm->ncpus; i++)
        if (vm->cpus[i].in)
            emt_join(&vm->cpus[i]);
    if (in->sync_ready) {
        req_cancel_all(vm);
        vmm_rv_cancel_all(vm);
    }
    if (announce)
        vmm_state_force(vm, VMM_STATE_TERMINATED);
    if (in->loop_ready) {
        in->loop_ready = false;
        uv_close((uv_handle_t *)&in->stop_async, vmm_close_cb);
        uv_close((uv_handle_t *)&in->preempt_timer, vmm_close_cb);
        uv_run(&in->loop, UV_RUN_NOWAIT);
        uv_loop_close(&in->loop);
    }
    for (uint32_t i = 0; vm->cpus && i < vm->ncpus; i++) {
        if (!vm->cpus[i].in)
            continue;
        emt_waiter_destroy(&vm->cpus[i].in->w);
        req_queue_destroy(&vm->cpus[i].in->q);
        free(vm->cpus[i].in);
    }
    free(vm->cpus);
    if (in->sync_ready) {
        req_queue_destroy(&in->any_q);
        uv_cond_destroy(&in->rv_ext_cond);
        uv_mutex_destroy(&in->assert_lock);
        uv_mutex_destroy(&in->rv_lock);
        uv_mutex_destroy(&in->cb_lock);
        uv_mutex_destroy(&in->state_lock);
    }
    ssm_destroy(in->ssm);
    dbgf_info_destroy(in->info);
    stam_destroy(in->stam);
    cfg_destroy(in->cfg);
    free(in->comps);
    free(in->cbs);
    free(in);
    free(vm);
}

void vmm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    enum vmm_state s = vmm_get_state(vm);
    if (s != VMM_STATE_CREATED && s != VMM_STATE_OFF)
        (void)vmm_power_off(vm, NULL);
    if (vmm_state_set(vm, VMM_STATE_DESTROYING, NULL) < 0)
        vmm_state_force(vm, VMM_STATE_DESTROYING);
    LOG_REL("VM '%s' destroyed\n", vm->in->name);
    vmm_free(vm, true);
}
