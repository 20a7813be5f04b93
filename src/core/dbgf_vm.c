/* SPDX-License-Identifier: MIT */
/*
 * The debug target over the running VM (include/ixvm/dbgf_vm.h,
 * docs/debugging.md "The VM target").
 *
 * Stopping: `hold` is set and every vCPU gets VMCPU_FF_TO_R3, which ends
 * its interpreter run at the next block boundary; the interpreter's enter
 * hook (iem_dbgf.c, at every iem_exec entry, before any register is read)
 * then parks the EMT here.  A parked EMT keeps servicing rendezvous and
 * requests (so power off, reset, saved state and register reads work) and
 * sleeps with the EMT waiter (emt_wait) until `hold` drops or it is asked
 * to single-step.  Halted and wait-for-SIPI vCPUs do not run guest code, so
 * they count as stopped where they are; if they wake they park too.  All
 * vCPUs stop and resume together; a step runs only the stepped vCPU.
 *
 * Events (breakpoint, watchpoint, step, triple fault) come from the EMT
 * that saw them; a breakpoint or watchpoint holds every vCPU before it is
 * reported, and that vCPU parks right after (nothing else, not even an
 * interrupt delivery, runs on it in between).
 *
 * Threads: hooks of the target from any non-EMT thread; the enter/event
 * hooks on EMTs.  Register access only while held (set) or through a
 * request to the vCPU's EMT (get), so the state is always read at an
 * instruction boundary.
 */
#define LOG_GROUP LOG_GROUP_DBGF
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbgf_vm_int.h"
#include "ixvm/dbgf.h"
#include "ixvm/iem_vmm.h"
#include "ixvm/log.h"
#include "ixvm/pgm.h"
#include "vmm_internal.h"

/* How long a stop or a step may take before the caller gives up. */
#define DV_WAIT_MS 3000

/* ---- helpers ------------------------------------------------------------------- */

void dv_report(struct dbgf_vm *dv, const struct dbgf_stop_event *ev)
{
    pthread_mutex_lock(&dv->lock);
    if (dv->cb)
        dv->cb(dv->cb_user, ev);
    pthread_mutex_unlock(&dv->lock);
}

static bool dv_have_receiver(struct dbgf_vm *dv)
{
    pthread_mutex_lock(&dv->lock);
    bool r = dv->cb != NULL;
    pthread_mutex_unlock(&dv->lock);
    return r;
}

/* Is cpu not running guest code (parked, halted, waiting for SIPI, or the
 * VM is not running)? */
static bool dv_cpu_quiet(struct dbgf_vm *dv, uint32_t cpu)
{
    struct vcpu *v = &dv->vm->cpus[cpu];
    return atomic_load(&dv->cpus[cpu].parked) || vmm_cpu_get_state(v) != VMM_CPU_RUNNING ||
           vmm_get_state(dv->vm) != VMM_STATE_RUNNING;
}

static bool dv_all_quiet(struct dbgf_vm *dv)
{
    for (uint32_t i = 0; i < dv->vm->ncpus; i++)
        if (!dv_cpu_quiet(dv, i))
            return false;
    return true;
}

/* Wait (bounded) until pred holds; EMTs broadcast dv->cond when they park,
 * and halting is polled every 10 ms. */
static bool dv_wait(struct dbgf_vm *dv, bool (*pred)(struct dbgf_vm *, void *), void *arg)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t end = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec + DV_WAIT_MS * 1000000ull;
    pthread_mutex_lock(&dv->lock);
    bool ok;
    while (!(ok = pred(dv, arg))) {
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t t = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
        if (t >= end)
            break;
        t += 10000000ull;
        struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull) };
        pthread_cond_timedwait(&dv->cond, &dv->lock, &ts);
    }
    pthread_mutex_unlock(&dv->lock);
    return ok;
}

static bool dv_pred_all_quiet(struct dbgf_vm *dv, void *arg) { return dv_all_quiet(dv); }

/* Hold every vCPU: the running ones leave the interpreter at the next
 * block boundary and park. */
static void dv_hold_all(struct dbgf_vm *dv)
{
    atomic_store(&dv->hold, true);
    for (uint32_t i = 0; i < dv->vm->ncpus; i++)
        vmcpu_ff_set(&dv->vm->cpus[i], VMCPU_FF_TO_R3);
}

/* Kick the vCPUs so they re-read the breakpoint lists now. */
static void dv_kick_all(struct dbgf_vm *dv)
{
    for (uint32_t i = 0; i < dv->vm->ncpus; i++)
        vmcpu_ff_set(&dv->vm->cpus[i], VMCPU_FF_TO_R3);
}

/* ---- the interpreter's hooks (EMT) ------------------------------------------ */

static bool dv_park_pred(struct vcpu *vcpu, void *arg)
{
    struct dv_cpu *p = arg;
    return !atomic_load(&p->dv->hold) || atomic_load(&p->step_req);
}

static void dv_set_parked(struct dv_cpu *p, int v)
{
    pthread_mutex_lock(&p->dv->lock);
    atomic_store(&p->parked, v);
    pthread_cond_broadcast(&p->dv->cond);
    pthread_mutex_unlock(&p->dv->lock);
}

static enum iem_dbgf_action dv_enter(void *user, unsigned cpu, bool *resumed)
{
    struct dbgf_vm *dv = user;
    struct dv_cpu *p = &dv->cpus[cpu];
    struct vcpu *vcpu = &dv->vm->cpus[cpu];
    struct vm *vm = dv->vm;
    bool held = false;
    enum iem_dbgf_action a;
    for (;;) {
        if (atomic_load(&p->step_req)) {
            a = IEM_DBGF_STEP;
            break;
        }
        if (!atomic_load(&dv->hold)) {
            a = IEM_DBGF_RUN;
            break;
        }
        if (vmm_get_state(vm) != VMM_STATE_RUNNING || atomic_load(&vm->in->terminate)) {
            a = IEM_DBGF_LEAVE;
            break;
        }
        if (!held) {
            held = true;
            dv_set_parked(p, 1);
        }
        if (vm_ff_is_any_set(vm, VM_FF_EMT_RENDEZVOUS)) {
            vmm_rendezvous_ff(vcpu);
            continue;
        }
        if ((vmcpu_ff_is_any_set(vcpu, VMCPU_FF_REQUEST) || vm_ff_is_any_set(vm, VM_FF_REQUEST)) &&
            req_process(vcpu, false) > 0)
            continue;
        (void)emt_wait(vcpu, VM_FF_EMT_RENDEZVOUS | VM_FF_REQUEST, VMCPU_FF_REQUEST, false, dv_park_pred, p, 0);
    }
    if (a == IEM_DBGF_STEP) {
        /* Handing out the step and leaving the parked state is one step for
         * the waiter in dv_step (steps_taken first, parked after). */
        atomic_store(&p->step_req, 0);
        atomic_fetch_add(&p->steps_taken, 1);
        held = true;
    }
    if (atomic_load(&p->parked))
        dv_set_parked(p, 0);
    *resumed = held;
    return a;
}

static void dv_event(void *user, unsigned cpu, const struct iem_dbgf_event *ev)
{
    struct dbgf_vm *dv = user;
    struct dbgf_stop_event se = { .cpu = cpu, .bp_type = ev->type, .addr = ev->addr };
    switch (ev->kind) {
    case IEM_DBGF_EV_BREAK:
        se.reason = DBGF_STOP_BREAKPOINT;
        dv_hold_all(dv);
        break;
    case IEM_DBGF_EV_WATCH:
        se.reason = DBGF_STOP_WATCHPOINT;
        dv_hold_all(dv);
        break;
    case IEM_DBGF_EV_STEP:
        se.reason = DBGF_STOP_STEP;
        break;
    case IEM_DBGF_EV_TRIPLE:
        se.reason = DBGF_STOP_TRIPLE_FAULT;
        dv_dump_cpu(dv, cpu, "triple fault");
        if (!dv->o.hold_on_triple || !dv_have_receiver(dv))
            return;   /* nobody to inspect it: reset or exit as configured */
        dv_hold_all(dv);
        break;
    }
    dv_report(dv, &se);
}

/* ---- state access ----------------------------------------------------------- */

struct dv_state_req {
    struct cpum_state *s;
};

static int dv_get_state_req(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct dv_state_req *r = user;
    *r->s = vcpu->cpu;
    return 0;
}

static bool dv_held_quiet(struct dbgf_vm *dv)
{
    return atomic_load(&dv->hold) && (dv_all_quiet(dv) || dv_wait(dv, dv_pred_all_quiet, NULL));
}

int dv_get_state(struct dbgf_vm *dv, uint32_t cpu, struct cpum_state *out)
{
    if (cpu >= dv->vm->ncpus)
        return IXVM_ERR_INVALID_PARAMETER;
    if (dv_held_quiet(dv) || vmm_get_state(dv->vm) != VMM_STATE_RUNNING) {
        *out = dv->vm->cpus[cpu].cpu;   /* its EMT does not touch it now */
        return 0;
    }
    /* Running: a snapshot taken by its EMT at an instruction boundary. */
    struct cpum_state *tmp = malloc(sizeof(*tmp));
    if (!tmp)
        return IXVM_ERR_NO_MEMORY;
    struct dv_state_req r = { tmp };
    int rc = req_call(dv->vm, cpu, REQ_F_WAIT, DV_WAIT_MS, dv_get_state_req, &r);
    if (rc >= 0)
        *out = *tmp;
    if (rc != IXVM_ERR_TIMEOUT)
        free(tmp);   /* a timed-out request still runs later and writes tmp: leak it */
    return rc < 0 ? rc : 0;
}

static int dvt_get_regs(void *t, uint32_t cpu, struct cpum_state *out) { return dv_get_state(t, cpu, out); }

static int dvt_set_regs(void *t, uint32_t cpu, const struct cpum_state *in)
{
    struct dbgf_vm *dv = t;
    if (cpu >= dv->vm->ncpus)
        return IXVM_ERR_INVALID_PARAMETER;
    if (!dv_held_quiet(dv))
        return IXVM_ERR_INVALID_STATE;   /* only while stopped */
    /* The next iem_exec entry re-reads everything (segment caches, CRs). */
    dv->vm->cpus[cpu].cpu = *in;
    return 0;
}

/* Guest-physical pages the debugger may touch: RAM and ROM, never MMIO. */
static bool dv_plain_page(struct dbgf_vm *dv, gphys_t pa)
{
    enum pgm_page_kind k = pgm_page_kind(dv->pgm, pa);
    return k == PGM_PAGE_RAM || k == PGM_PAGE_ROM;
}

static int dv_phys_access(struct dbgf_vm *dv, gphys_t pa, void *buf, size_t len, bool write)
{
    size_t done = 0;
    while (done < len) {
        gphys_t a = pa + done;
        size_t n = 0x1000u - (size_t)(a & 0xfffu);
        if (n > len - done)
            n = len - done;
        if (a >= 0x100000000ull || !dv_plain_page(dv, a))
            break;
        int rc = write ? pgm_phys_write(dv->pgm, a, (const uint8_t *)buf + done, n)
                       : pgm_phys_read(dv->pgm, a, (uint8_t *)buf + done, n);
        if (rc < 0)
            break;
        done += n;
    }
    return (int)done;
}

static int dv_lin_access(struct dbgf_vm *dv, const struct cpum_state *s, glin_t addr, void *buf, size_t len,
                         bool write)
{
    size_t done = 0;
    while (done < len) {
        uint32_t la = (uint32_t)(addr + done);
        size_t n = 0x1000u - (la & 0xfffu);
        if (n > len - done)
            n = len - done;
        uint64_t pa;
        if (iem_dbgf_translate(dv->pgm, s, la, &pa) < 0)
            break;
        int got = dv_phys_access(dv, pa, (uint8_t *)buf + done, n, write);
        done += (size_t)got;
        if ((size_t)got < n)
            break;
    }
    return (int)done;
}

int dv_read_lin_state(struct dbgf_vm *dv, const struct cpum_state *s, glin_t addr, void *buf, size_t len)
{
    return dv_lin_access(dv, s, addr, buf, len, false);
}

static int dvt_rw_lin(struct dbgf_vm *dv, uint32_t cpu, glin_t addr, void *buf, size_t len, bool write)
{
    struct cpum_state *s = malloc(sizeof(*s));
    if (!s)
        return IXVM_ERR_NO_MEMORY;
    int rc = dv_get_state(dv, cpu, s);
    if (rc == 0)
        rc = dv_lin_access(dv, s, addr, buf, len, write);
    free(s);
    return rc;
}

static int dvt_read_lin(void *t, uint32_t cpu, glin_t addr, void *buf, size_t len)
{
    return dvt_rw_lin(t, cpu, addr, buf, len, false);
}

static int dvt_write_lin(void *t, uint32_t cpu, glin_t addr, const void *buf, size_t len)
{
    return dvt_rw_lin(t, cpu, addr, (void *)buf, len, true);
}

static int dvt_read_phys(void *t, gphys_t addr, void *buf, size_t len)
{
    return dv_phys_access(t, addr, buf, len, false);
}

static int dvt_write_phys(void *t, gphys_t addr, const void *buf, size_t len)
{
    return dv_phys_access(t, addr, (void *)buf, len, true);
}

/* ---- breakpoints, run control ------------------------------------------------- */

static int dvt_bp_set(void *t, enum dbgf_bp_type type, glin_t addr, unsigned len)
{
    struct dbgf_vm *dv = t;
    int rc = iem_dbgf_bp_set(dv->idbg, type, (uint32_t)addr, len);
    if (rc >= 0)
        dv_kick_all(dv);
    return rc;
}

static int dvt_bp_clear(void *t, enum dbgf_bp_type type, glin_t addr, unsigned len)
{
    struct dbgf_vm *dv = t;
    int rc = iem_dbgf_bp_clear(dv->idbg, type, (uint32_t)addr, len);
    if (rc >= 0)
        dv_kick_all(dv);
    return rc;
}

/* The vCPU to name in a SIGNAL stop: the first one held, else 0. */
static uint32_t dv_signal_cpu(struct dbgf_vm *dv)
{
    for (uint32_t i = 0; i < dv->vm->ncpus; i++)
        if (atomic_load(&dv->cpus[i].parked))
            return i;
    return 0;
}

static int dvt_stop(void *t)
{
    struct dbgf_vm *dv = t;
    if (atomic_load(&dv->exited)) {
        struct dbgf_stop_event ev = { .reason = DBGF_STOP_EXITED };
        dv_report(dv, &ev);
        return 0;
    }
    dv_hold_all(dv);
    if (!dv_wait(dv, dv_pred_all_quiet, NULL))
        LOG_REL("debugger: not every vCPU stopped within %u ms", DV_WAIT_MS);
    struct dbgf_stop_event ev = { .reason = DBGF_STOP_SIGNAL, .cpu = dv_signal_cpu(dv) };
    dv_report(dv, &ev);
    return 0;
}

static int dvt_cont(void *t)
{
    struct dbgf_vm *dv = t;
    if (atomic_load(&dv->exited))
        return IXVM_ERR_INVALID_STATE;
    atomic_store(&dv->hold, false);
    for (uint32_t i = 0; i < dv->vm->ncpus; i++)
        vmm_cpu_poke(&dv->vm->cpus[i]);
    return 0;
}

struct dv_step_wait {
    uint32_t cpu, target;
};

static bool dv_pred_step_done(struct dbgf_vm *dv, void *arg)
{
    const struct dv_step_wait *w = arg;
    const struct dv_cpu *p = &dv->cpus[w->cpu];
    return atomic_load(&p->steps_taken) == w->target && !atomic_load(&p->step_req) &&
           dv_cpu_quiet(dv, w->cpu);
}

static int dvt_step(void *t, uint32_t cpu)
{
    struct dbgf_vm *dv = t;
    if (cpu >= dv->vm->ncpus || atomic_load(&dv->exited))
        return IXVM_ERR_INVALID_PARAMETER;
    if (!atomic_load(&dv->hold))
        dv_hold_all(dv);
    (void)dv_wait(dv, dv_pred_all_quiet, NULL);
    struct dv_cpu *p = &dv->cpus[cpu];
    if (!atomic_load(&p->parked)) {
        /* Halted, waiting for SIPI or the VM is not running: no instruction
         * to execute (interrupts are not delivered for a step). */
        struct dbgf_stop_event ev = { .reason = DBGF_STOP_STEP, .cpu = cpu };
        dv_report(dv, &ev);
        return 0;
    }
    struct dv_step_wait w = { cpu, atomic_load(&p->steps_taken) + 1 };
    atomic_store(&p->step_req, 1);
    vmm_cpu_poke(&dv->vm->cpus[cpu]);
    /* Synchronous: the monitor's "step N" and register reads follow. */
    return dv_wait(dv, dv_pred_step_done, &w) ? 0 : IXVM_ERR_TIMEOUT;
}

static void dvt_set_stop_cb(void *t, dbgf_stop_fn *fn, void *user)
{
    struct dbgf_vm *dv = t;
    pthread_mutex_lock(&dv->lock);
    dv->cb = fn;
    dv->cb_user = user;
    pthread_mutex_unlock(&dv->lock);
}

static uint32_t dvt_cpu_count(void *t) { return ((struct dbgf_vm *)t)->vm->ncpus; }

static unsigned dvt_cpu_bits(void *t, uint32_t cpu)
{
    struct cpum_state s;
    if (dv_get_state(t, cpu, &s) < 0)
        return 32;
    bool pe = s.cr0 & CPUM_CR0_PE, v86 = s.eflags & CPUM_EFL_VM;
    return pe && !v86 && (s.seg[CPUM_CS].attr & CPUM_SEG_ATTR_D) ? 32 : 16;
}

static int dvt_reset(void *t)
{
    struct dbgf_vm *dv = t;
    if (dv->h.reset)
        return dv->h.reset(dv->h.user);
    struct ixvm_errinfo err = { 0 };
    return vmm_reset(dv->vm, &err);
}

static int dvt_power_off(void *t)
{
    struct dbgf_vm *dv = t;
    if (dv->h.power_off)
        return dv->h.power_off(dv->h.user);
    struct ixvm_errinfo err = { 0 };
    return vmm_power_off(dv->vm, &err);
}

static int dvt_screenshot(void *t, const char *file)
{
    struct dbgf_vm *dv = t;
    return dv->h.screenshot ? dv->h.screenshot(dv->h.user, file) : IXVM_ERR_NOT_SUPPORTED;
}

static int dvt_sendkey(void *t, const char *chord)
{
    struct dbgf_vm *dv = t;
    return dv->h.sendkey ? dv->h.sendkey(dv->h.user, chord) : IXVM_ERR_NOT_SUPPORTED;
}

static int dvt_trace_set(void *t, bool on)
{
    struct dbgf_vm *dv = t;
    atomic_store(&dv->trace_on, on);
    iem_dbgf_set_trace(dv->idbg, on, dv->o.trace_intrs);
    dv_kick_all(dv);
    return 0;
}

static int dvt_log_spec(void *t, const char *spec, struct ixvm_errinfo *err)
{
    struct dbgf_vm *dv = t;
    if (!dv->h.log_spec)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_SUPPORTED, "changing the log is not supported here");
    return dv->h.log_spec(dv->h.user, spec, err);
}

static const struct dbgf_target_ops dv_ops = {
    .cpu_count = dvt_cpu_count, .get_regs = dvt_get_regs, .set_regs = dvt_set_regs,
    .read_lin = dvt_read_lin, .write_lin = dvt_write_lin, .read_phys = dvt_read_phys,
    .write_phys = dvt_write_phys, .bp_set = dvt_bp_set, .bp_clear = dvt_bp_clear, .stop = dvt_stop,
    .cont = dvt_cont, .step = dvt_step, .set_stop_cb = dvt_set_stop_cb, .cpu_bits = dvt_cpu_bits,
    .reset = dvt_reset, .power_off = dvt_power_off, .screenshot = dvt_screenshot, .sendkey = dvt_sendkey,
    .trace_set = dvt_trace_set, .log_spec = dvt_log_spec,
};

/* ---- VM state changes -------------------------------------------------------- */

static void dv_state_cb(struct vm *vm, enum vmm_state ns, enum vmm_state os, void *user)
{
    struct dbgf_vm *dv = user;
    if (ns == VMM_STATE_GURU_MEDITATION) {
        struct vcpu *self = vmm_get_cpu(vm);
        if (self)
            dv_dump_cpu(dv, self->id, "guru meditation");
    }
}

void dbgf_vm_exited(struct dbgf_vm *dv, int status)
{
    if (atomic_exchange(&dv->exited, true))
        return;
    struct dbgf_stop_event ev = { .reason = DBGF_STOP_EXITED, .status = status };
    dv_report(dv, &ev);
}

/* ---- creation ----------------------------------------------------------------- */

static int dv_attach_req(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct iem_cpu *c = iem_vmm_cpu(vcpu);
    return c ? iem_dbgf_attach(c, user) : IXVM_ERR_INVALID_STATE;
}

int dbgf_vm_create(struct vm *vm, struct pgm *pgm, const struct dbgf_vm_opts *opts,
                   const struct dbgf_vm_hooks *hooks, struct dbgf_vm **out, struct ixvm_errinfo *err)
{
    *out = NULL;
    struct dbgf_vm *dv = calloc(1, sizeof(*dv));
    struct dv_cpu *cpus = calloc(vm->ncpus, sizeof(*cpus));
    if (!dv || !cpus) {
        free(dv);
        free(cpus);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "debugger: out of memory");
    }
    dv->vm = vm;
    dv->pgm = pgm;
    dv->cpus = cpus;
    if (opts)
        dv->o = *opts;
    else
        dbgf_trace_filter_init(&dv->o.filter);
    if (hooks)
        dv->h = *hooks;
    dv->tgt = (struct dbgf_target){ &dv_ops, dv };
    for (uint32_t i = 0; i < vm->ncpus; i++)
        cpus[i] = (struct dv_cpu){ .dv = dv, .id = i };
    pthread_mutex_init(&dv->lock, NULL);
    pthread_cond_init(&dv->cond, NULL);
    atomic_store(&dv->hold, dv->o.hold_at_start);
    struct iem_dbgf_hooks ih = { .enter = dv_enter, .event = dv_event, .trace = dv_trace_hook,
                                 .intr = dv_intr_hook, .user = dv };
    int rc = iem_dbgf_create(&ih, &dv->idbg);
    if (rc >= 0)
        rc = dbgf_flight_create(vm->ncpus, dv->o.flight_depth ? dv->o.flight_depth : 256, &dv->flight);
    if (rc >= 0) {
        atomic_store(&dv->trace_on, dv->o.trace_insns);
        iem_dbgf_set_trace(dv->idbg, dv->o.trace_insns, dv->o.trace_intrs);
        rc = req_call(vm, VMM_CPU_ALL, REQ_F_WAIT, REQ_INDEFINITE, dv_attach_req, dv->idbg);
    }
    if (rc >= 0)
        rc = vmm_state_cb_register(vm, dv_state_cb, dv);
    if (rc >= 0)
        rc = dv_info_register(dv);
    if (rc < 0) {
        dbgf_vm_destroy(dv);
        return ixvm_errinfo_set(err, rc, "debugger: cannot attach to the VM: %s", ixvm_strerror(rc));
    }
    *out = dv;
    return 0;
}

void dbgf_vm_destroy(struct dbgf_vm *dv)
{
    if (!dv)
        return;
    dvt_set_stop_cb(dv, NULL, NULL);
    dv_info_deregister(dv);
    (void)vmm_state_cb_deregister(dv->vm, dv_state_cb, dv);
    /* Let every vCPU go, then take the hooks away on each EMT. */
    atomic_store(&dv->hold, false);
    for (uint32_t i = 0; i < dv->vm->ncpus; i++)
        vmm_cpu_poke(&dv->vm->cpus[i]);
    if (dv->idbg && req_call(dv->vm, VMM_CPU_ALL, REQ_F_WAIT, REQ_INDEFINITE, dv_attach_req, NULL) < 0)
        LOG_REL("debugger: could not detach from every vCPU");
    for (uint32_t i = 0; i < dv->vm->ncpus; i++)
        dbgf_disas_destroy(dv->cpus[i].disas);
    dbgf_flight_destroy(dv->flight);
    iem_dbgf_destroy(dv->idbg);
    pthread_cond_destroy(&dv->cond);
    pthread_mutex_destroy(&dv->lock);
    free(dv->cpus);
    free(dv);
}

const struct dbgf_target *dbgf_vm_target(struct dbgf_vm *dv) { return &dv->tgt; }
const struct dbgf_flight *dbgf_vm_flight(struct dbgf_vm *dv) { return dv->flight; }
