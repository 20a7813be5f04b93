/* SPDX-License-Identifier: MIT */
/*
 * `ixvm --selftest`: a live VM with N vCPUs put through the VMM core's
 * services -- rendezvous of every type (from a non-EMT thread and from an
 * EMT, nested), requests to each target kind, sync and async, an FF set
 * from another thread waking a halted EMT, INIT/SIPI, logging from EMTs,
 * lifecycle transitions and a save/load round trip -- each check verifying
 * values, then a one-line verdict.
 */
#define LOG_GROUP LOG_GROUP_VMM
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ixvm/cfg.h"
#include "ixvm/log.h"
#include "ixvm/stam.h"
#include "vmm_internal.h"

struct st_ctx {
    struct vm *vm;
    const struct ixvm_printer *pr;
    _Atomic int n;
    int order[IXVM_MAX_CPUS];
};

typedef bool st_check_fn(struct st_ctx *c, char *why, size_t size);

static int st_rv_cb(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct st_ctx *c = user;
    int i = atomic_fetch_add(&c->n, 1);
    if (i < IXVM_MAX_CPUS)
        c->order[i] = (int)vcpu->id;
    return 0;
}

/* Run one rendezvous type and check count and order. */
static bool st_rv_type(struct st_ctx *c, uint32_t type, char *why, size_t size)
{
    uint32_t n = c->vm->ncpus;
    atomic_store(&c->n, 0);
    int rc = vmm_emt_rendezvous(c->vm, type, st_rv_cb, c);
    uint32_t want = type == VMM_RV_TYPE_ONCE ? 1 : n;
    if (rc != 0 || (uint32_t)atomic_load(&c->n) != want) {
        snprintf(why, size, "type %u: status %d, %d callbacks (want %u)", type, rc, atomic_load(&c->n), want);
        return false;
    }
    for (uint32_t i = 0; i < n && type != VMM_RV_TYPE_ONCE; i++) {
        int expect = type == VMM_RV_TYPE_ASCENDING ? (int)i : type == VMM_RV_TYPE_DESCENDING ? (int)(n - 1 - i) : -1;
        if (expect >= 0 && c->order[i] != expect) {
            snprintf(why, size, "type %u: callback %u ran on vCPU %d, want %d", type, i, c->order[i], expect);
            return false;
        }
    }
    return true;
}

static bool st_check_rendezvous(struct st_ctx *c, char *why, size_t size)
{
    for (uint32_t t = VMM_RV_TYPE_ONCE; t <= VMM_RV_TYPE_DESCENDING; t++)
        if (!st_rv_type(c, t, why, size))
            return false;
    return true;
}

static int st_inner(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return vmm_emt_rendezvous(vm, VMM_RV_TYPE_ONCE, st_rv_cb, user) == IXVM_ERR_DEADLOCK ? 0 : IXVM_ERR_GENERAL;
}

static int st_outer(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return vcpu->id == 0 ? vmm_emt_rendezvous(vm, VMM_RV_TYPE_ONE_BY_ONE, st_inner, user) : 0;
}

static int st_rv_on_emt(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return vmm_emt_rendezvous(vm, VMM_RV_TYPE_ASCENDING, st_outer, user);
}

static bool st_check_rv_nested(struct st_ctx *c, char *why, size_t size)
{
    int rc = req_call(c->vm, c->vm->ncpus - 1, 0, 10000, st_rv_on_emt, c);
    if (rc != 0)
        snprintf(why, size, "rendezvous from an EMT with nesting: status %d (%s)", rc, ixvm_strerror(rc));
    return rc == 0;
}

static int st_req_cb(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return st_rv_cb(vm, vcpu, user) == 0 && vmm_get_cpu(vm) == vcpu ? (int)vcpu->id + 1 : IXVM_ERR_NOT_EMT;
}

static bool st_check_requests_sync(struct st_ctx *c, char *why, size_t size)
{
    uint32_t last = c->vm->ncpus - 1;
    atomic_store(&c->n, 0);
    int rc1 = req_call(c->vm, last, 0, 5000, st_req_cb, c);
    int rc2 = req_call(c->vm, VMM_CPU_ANY, 0, 5000, st_req_cb, c);
    atomic_store(&c->n, 0);
    int rc3 = req_call(c->vm, VMM_CPU_ALL, 0, 5000, st_req_cb, c);
    bool ok = rc1 == (int)last + 1 && rc2 > 0 && rc3 > 0 && (uint32_t)atomic_load(&c->n) == c->vm->ncpus;
    for (uint32_t i = 0; ok && i < c->vm->ncpus; i++)
        ok = c->order[i] == (int)i;
    if (!ok)
        snprintf(why, size, "specific %d, any %d, all %d (%d calls)", rc1, rc2, rc3, atomic_load(&c->n));
    return ok;
}

static bool st_check_requests_async(struct st_ctx *c, char *why, size_t size)
{
    struct req *h[IXVM_MAX_CPUS];
    atomic_store(&c->n, 0);
    bool ok = true;
    for (uint32_t i = 0; i < c->vm->ncpus; i++)
        if (req_call_async(c->vm, i, i % 2 ? REQ_F_PRIORITY : 0, st_req_cb, c, &h[i]) < 0)
            h[i] = NULL;
    for (uint32_t i = 0; i < c->vm->ncpus; i++) {
        ok = ok && h[i] && req_wait(h[i], 5000) == (int)i + 1;
        req_release(h[i]);
    }
    ok = ok && req_call(c->vm, 0, REQ_F_NO_WAIT, 0, st_req_cb, c) == 0;
    ok = ok && req_call(c->vm, 0, 0, 5000, st_req_cb, c) == 1;   /* flushes the no-wait one */
    ok = ok && (uint32_t)atomic_load(&c->n) == c->vm->ncpus + 2;
    if (!ok)
        snprintf(why, size, "async/no-wait requests: %d calls, want %u", atomic_load(&c->n), c->vm->ncpus + 2);
    return ok;
}

static bool st_wait_until(bool (*cond)(struct vcpu *), struct vcpu *v)
{
    for (int i = 0; i < 2000; i++) {
        if (cond(v))
            return true;
        usleep(1000);
    }
    return false;
}

static bool st_is_halted(struct vcpu *v)
{
    return vmm_cpu_get_state(v) == VMM_CPU_HALTED;
}

static bool st_check_ff_wake(struct st_ctx *c, char *why, size_t size)
{
    struct vcpu *v = &c->vm->cpus[0];
    uint64_t before = 0, after = 0;
    if (!st_wait_until(st_is_halted, v)) {
        snprintf(why, size, "vCPU 0 never halted");
        return false;
    }
    usleep(10000);
    if (stam_get_value(vmm_stam(c->vm), "/VMM/CPU0/Wakeups", &before) < 0)
        return snprintf(why, size, "no /VMM/CPU0/Wakeups"), false;
    vmcpu_ff_set(v, VMCPU_FF_UNHALT);
    for (int i = 0; i < 2000 && after <= before; i++) {
        usleep(1000);
        if (stam_get_value(vmm_stam(c->vm), "/VMM/CPU0/Wakeups", &after) < 0)
            break;
    }
    if (after <= before)
        snprintf(why, size, "setting UNHALT did not wake the halted EMT");
    return after > before;
}

static int st_noop(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return 0;
}

static bool st_check_init_sipi(struct st_ctx *c, char *why, size_t size)
{
    struct vcpu *v = &c->vm->cpus[c->vm->ncpus - 1];
    if (vmm_send_init(v) < 0 || req_call(c->vm, v->id, 0, 5000, st_noop, NULL) < 0 ||
        vmm_cpu_get_state(v) != VMM_CPU_WAIT_SIPI || v->cpu.eip != 0xfff0)
        return snprintf(why, size, "INIT did not park vCPU %u in wait-for-SIPI", v->id), false;
    if (vmm_send_startup_ipi(v, 0x9f) < 0 || req_call(c->vm, v->id, 0, 5000, st_noop, NULL) < 0 ||
        v->cpu.seg[CPUM_CS].sel != 0x9f00 || v->cpu.seg[CPUM_CS].base != 0x9f000 || v->cpu.eip != 0)
        return snprintf(why, size, "SIPI 0x9f did not start vCPU %u at 9f00:0000", v->id), false;
    return true;
}

static int st_log_cb(struct vm *vm, struct vcpu *vcpu, void *user)
{
    LOG("selftest: hello from EMT %u\n", vcpu->id);
    return 0;
}

/* EMTs write debug entries into their own rings; a flush must count them.
 * The vmm group is switched on at level e for the check if it was off. */
static bool st_check_logging(struct st_ctx *c, char *why, size_t size)
{
    bool was_on = log_is_enabled(LOG_GROUP_VMM, LOG_LVL_E);
    if (!was_on && log_set_spec("+vmm.e", NULL) < 0)
        return snprintf(why, size, "cannot enable the vmm log group"), false;
    log_flush();
    uint64_t before = log_written_total();
    int rc = vmm_emt_rendezvous(c->vm, VMM_RV_TYPE_ALL_AT_ONCE, st_log_cb, c);
    log_flush();
    uint64_t after = log_written_total();
    if (!was_on && log_set_spec("-vmm.e", NULL) < 0)
        rc = IXVM_ERR_GENERAL;
    bool ok = rc == 0 && after >= before + c->vm->ncpus;
    if (!ok)
        snprintf(why, size, "EMT log entries: %llu written (want %u more), status %d",
                 (unsigned long long)(after - before), c->vm->ncpus, rc);
    return ok;
}

static bool st_check_lifecycle(struct st_ctx *c, char *why, size_t size)
{
    struct ixvm_errinfo err = { 0 };
    bool ok = vmm_suspend(c->vm, &err) == 0 && vmm_suspend(c->vm, &err) == IXVM_ERR_INVALID_STATE &&
              vmm_reset(c->vm, &err) == 0 && vmm_get_state(c->vm) == VMM_STATE_SUSPENDED &&
              vmm_resume(c->vm, &err) == 0 && vmm_get_state(c->vm) == VMM_STATE_RUNNING;
    if (!ok)
        snprintf(why, size, "suspend/reset/resume: %s", err.msg);
    return ok;
}

static bool st_check_save_load(struct st_ctx *c, char *why, size_t size)
{
    char path[] = "/tmp/ixvm-selftest-XXXXXX";
    struct ixvm_errinfo err = { 0 };
    int fd = mkstemp(path);
    if (fd < 0)
        return snprintf(why, size, "cannot create a temporary file"), false;
    close(fd);
    enum vmm_cpu_state ap = vmm_cpu_get_state(&c->vm->cpus[c->vm->ncpus - 1]);
    bool ok = vmm_save(c->vm, path, &err) == 0 && vmm_suspend(c->vm, &err) == 0 &&
              vmm_load(c->vm, path, &err) == 0 && vmm_get_state(c->vm) == VMM_STATE_SUSPENDED &&
              (c->vm->ncpus == 1 || (vmm_cpu_get_state(&c->vm->cpus[c->vm->ncpus - 1]) != VMM_CPU_WAIT_SIPI) ==
                                         (ap != VMM_CPU_WAIT_SIPI)) &&
              vmm_resume(c->vm, &err) == 0;
    if (!ok)
        snprintf(why, size, "save/load round trip: %s", err.msg[0] ? err.msg : "state mismatch");
    unlink(path);
    return ok;
}

struct st_check {
    const char *name;
    st_check_fn *fn;
};

static const struct st_check st_checks[] = {
    { "rendezvous types", st_check_rendezvous },
    { "rendezvous from EMT, nested", st_check_rv_nested },
    { "requests specific/any/all", st_check_requests_sync },
    { "requests async/no-wait", st_check_requests_async },
    { "FF wakes a halted EMT", st_check_ff_wake },
    { "INIT/SIPI", st_check_init_sipi },
    { "logging from EMTs", st_check_logging },
    { "lifecycle", st_check_lifecycle },
    { "save/load round trip", st_check_save_load },
};

static void st_write_stats(struct vm *vm, const char *path, const struct ixvm_printer *pr)
{
    FILE *f = fopen(path, "w");
    if (!f || stam_dump_json(vmm_stam(vm), NULL, f) < 0)
        ixvm_pr(pr, "selftest: cannot write statistics to '%s'\n", path);
    if (f)
        fclose(f);
}

int vmm_selftest(const struct cfg *cfg, const char *stats_json, const struct ixvm_printer *pr,
                 struct ixvm_errinfo *err)
{
    uint64_t t0 = uv_hrtime();
    struct st_ctx c = { .pr = pr };
    int rc = vmm_create(cfg, NULL, &c.vm, err);
    if (rc < 0)
        return rc;
    if ((rc = vmm_power_on(c.vm, err)) < 0) {
        vmm_destroy(c.vm);
        return rc;
    }
    unsigned passed = 0;
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(st_checks); i++) {
        char why[256] = "";
        if (st_checks[i].fn(&c, why, sizeof(why)))
            passed++;
        else
            ixvm_pr(pr, "selftest: FAILED %s: %s\n", st_checks[i].name, why);
    }
    if (stats_json && *stats_json)
        st_write_stats(c.vm, stats_json, pr);
    uint32_t ncpus = c.vm->ncpus;
    vmm_destroy(c.vm);
    ixvm_pr(pr, "selftest: %u/%zu checks passed (%u vCPU%s) in %.2f s\n", passed, IXVM_ARRAY_SIZE(st_checks), ncpus,
            ncpus == 1 ? "" : "s", (double)(uv_hrtime() - t0) / 1e9);
    return passed == IXVM_ARRAY_SIZE(st_checks) ? 0 : 1;
}
