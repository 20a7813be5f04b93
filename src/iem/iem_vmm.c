/* SPDX-License-Identifier: MIT */
/*
 * IEM <-> VMM glue (include/ixvm/iem_vmm.h): the vmm_cpu_ops that run a vCPU
 * with the interpreter, in the manner of VirtualBox's EM in IEM-only mode.
 *
 * Interrupts: the board mirrors the PIC's INT pin into VMCPU_FF_INTERRUPT_PIC
 * of vCPU 0.  Before running guest code, an NMI is delivered if not blocked,
 * then, when iem_can_take_interrupt(), the board's INTA callback gives the
 * vector for iem_inject_interrupt().  INTERRUPT_PIC is in the interpreter's
 * ff_irq_mask: while the guest has interrupts off it runs on undisturbed and
 * stops right after the instruction that sets IF (STI, POPF, IRET).  A
 * halted vCPU with IF=0 sleeps until an NMI, INIT or reset, as on hardware:
 * the flag is parked (cleared) and the pin re-read once the vCPU runs again.
 *
 * Split locks: with several vCPUs, a LOCKed operand the host cannot update
 * atomically runs with every other EMT parked in a ONE_BY_ONE rendezvous
 * (the others' callbacks do nothing; each waits until all have run, so
 * none runs guest code while the requester's does).
 *
 * Threads: every function of a vCPU runs on its EMT (exec, reset); attach and
 * detach queue requests to all EMTs.
 */
#define LOG_GROUP LOG_GROUP_EM
#include <stdlib.h>

#include "ixvm/iem.h"
#include "ixvm/iem_dbgf.h"
#include "ixvm/iem_vmm.h"
#include "ixvm/log.h"
#include "ixvm/stam.h"
#include "ixvm/tm.h"

/* What stops the interpreter.  Only flags somebody services: the EMT loop
 * (rendezvous, requests, kicks) or this file (interrupts, TLB flush, board
 * events).  VMCPU and VM bits share one mask over (ff_cpu | ff_vm). */
#define IV_CPU_FF (VMCPU_FF_INTERRUPT_PIC | VMCPU_FF_INTERRUPT_NMI | VMCPU_FF_REQUEST | VMCPU_FF_PREEMPT | \
                   VMCPU_FF_TO_R3 | VMCPU_FF_TLB_FLUSH)
#define IV_VM_FF (VM_FF_EMT_RENDEZVOUS | VM_FF_REQUEST | VM_FF_RESET | VM_FF_CHECK_VM_STATE)
/* Flags without a meaning here (no APIC, no SMM, nothing waits on them). */
#define IV_CPU_FF_DROP (VMCPU_FF_UNHALT | VMCPU_FF_TIMER | VMCPU_FF_IEM | VMCPU_FF_IOM | VMCPU_FF_PDM_CRITSECT | \
                        VMCPU_FF_UPDATE_APIC | VMCPU_FF_INTERRUPT_APIC | VMCPU_FF_INTERRUPT_SMI)

struct iem_vmm {
    struct iem_vmm_config cfg;    /* [const] */
};

struct iem_vcpu {
    struct iem_vmm *g;            /* [const] */
    struct vcpu *vcpu;            /* [const] */
    struct iem_cpu *cpu;          /* [EMT] */
    bool pic_parked;              /* [EMT] INTERRUPT_PIC cleared while halted with IF=0 */
    struct stam_counter irqs;     /* [EMT] external interrupts delivered */
    struct stam_counter nmis;     /* [EMT] */
    struct stam_counter parked;   /* [EMT] halts with an interrupt masked by IF=0 */
    struct stam_counter excl;     /* [EMT] exclusive sections (split locks) */
    struct stam_counter triple;   /* [EMT] triple faults */
};

static uint64_t iv_clock(void *user)
{
    struct iem_vmm *g = user;
    uint64_t ns = tm_virtual_now(g->cfg.tm);
    uint64_t hz = g->cfg.tsc_hz ? g->cfg.tsc_hz : TM_NS_PER_SEC;
    return ns / TM_NS_PER_SEC * hz + ns % TM_NS_PER_SEC * hz / TM_NS_PER_SEC;
}

struct iem_cpu *iem_vmm_cpu(struct vcpu *vcpu)
{
    struct iem_vcpu *v = vcpu ? vcpu->iem : NULL;
    return v ? v->cpu : NULL;
}

/* ---- the CPU ops ----------------------------------------------------------- */

/*
 * The always-on flight recorder's last blocks, oldest first, into the
 * release log: where the guest went before a triple fault or an internal
 * assertion, even with no debugger option (the debugger's dump adds
 * disassembly, docs/debugging.md).
 */
static void iv_flight_to_log(struct iem_vcpu *v, const char *event)
{
    struct iem_flight_ent ent[IEM_FLIGHT_DEPTH];
    unsigned n = v->cpu ? iem_dbgf_flight(v->cpu, ent, IEM_FLIGHT_DEPTH) : 0;
    LOG_REL("vCPU %u: the last %u blocks before the %s (oldest first):", v->vcpu->id, n, event);
    for (unsigned k = 0; k < n; k++)
        LOG_REL("  %-6s lin %08x, %u instruction(s)", cpum_mode_name((enum cpum_mode)ent[k].mode), ent[k].lin,
                ent[k].n);
}

static int iv_triple_fault(struct iem_vcpu *v)
{
    stam_counter_inc(&v->triple);
    LOG_REL("vCPU %u: triple fault at %04x:%08x", v->vcpu->id, v->vcpu->cpu.seg[CPUM_CS].sel, v->vcpu->cpu.eip);
    iv_flight_to_log(v, "triple fault");
    const struct iem_vmm_hooks *h = &v->g->cfg.hooks;
    return h->triple_fault ? h->triple_fault(h->user, v->vcpu) : IXVM_INF_EM_RESET;
}

/* Board events and flags nobody else services; 0 or an EM status. */
static int iv_service(struct iem_vcpu *v)
{
    struct vcpu *vcpu = v->vcpu;
    struct vm *vm = vcpu->vm;
    if (vmcpu_ff_is_any_set(vcpu, IV_CPU_FF_DROP))
        vmcpu_ff_clear(vcpu, IV_CPU_FF_DROP);
    if (vmcpu_ff_test_and_clear(vcpu, VMCPU_FF_TLB_FLUSH))
        iem_flush_tlb(v->cpu);
    if (vm_ff_is_any_set(vm, VM_FF_RESET | VM_FF_CHECK_VM_STATE)) {
        bool reset = vm_ff_test_and_clear(vm, VM_FF_RESET);
        bool check = vm_ff_test_and_clear(vm, VM_FF_CHECK_VM_STATE);
        const struct iem_vmm_hooks *h = &v->g->cfg.hooks;
        if (reset || check) {
            int rc = h->vm_event ? h->vm_event(h->user, vcpu, reset) : (reset ? IXVM_INF_EM_RESET : 0);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Deliver a pending NMI, then a pending PIC interrupt if IF allows; park
 * the PIC flag when IF=0 keeps a halted vCPU asleep.  0 or IXVM_INF_EM_RESET. */
static int iv_deliver(struct iem_vcpu *v)
{
    struct vcpu *vcpu = v->vcpu;
    const struct iem_vmm_hooks *h = &v->g->cfg.hooks;
    if (vmcpu_ff_is_set(vcpu, VMCPU_FF_INTERRUPT_NMI) && iem_can_take_nmi(v->cpu)) {
        vmcpu_ff_clear(vcpu, VMCPU_FF_INTERRUPT_NMI);
        stam_counter_inc(&v->nmis);
        int rc = iem_inject_interrupt(v->cpu, 2, true);
        if (rc)
            return rc;
    }
    if (!vmcpu_ff_is_set(vcpu, VMCPU_FF_INTERRUPT_PIC))
        return 0;
    if (!iem_can_take_interrupt(v->cpu)) {
        /* Running: the interpreter ignores the flag until IF=1.  Halted
         * (IF=0): only NMI/INIT/reset wake it, so let the EMT sleep. */
        if (iem_is_halted(v->cpu)) {
            vmcpu_ff_clear(vcpu, VMCPU_FF_INTERRUPT_PIC);
            v->pic_parked = true;
            stam_counter_inc(&v->parked);
        }
        return 0;
    }
    /* INTA may lower the pin (the board then clears the flag itself). */
    uint8_t vec = h->intr_ack ? h->intr_ack(h->user) : 0;
    stam_counter_inc(&v->irqs);
    LOG3("vCPU %u: interrupt vector %#x", vcpu->id, vec);
    return iem_inject_interrupt(v->cpu, vec, false);
}

/* Running again after a parked halt: put the flag back if the pin is high. */
static void iv_unpark(struct iem_vcpu *v)
{
    if (!v->pic_parked)
        return;
    v->pic_parked = false;
    const struct iem_vmm_hooks *h = &v->g->cfg.hooks;
    if (h->intr_pending && h->intr_pending(h->user))
        vmcpu_ff_set(v->vcpu, VMCPU_FF_INTERRUPT_PIC);
}

/* Only interrupt flags stopped the interpreter: they are ours to handle. */
static bool iv_only_interrupts(const struct vcpu *vcpu)
{
    uint32_t cpu = atomic_load_explicit(&((struct vcpu *)vcpu)->ff, memory_order_acquire);
    return !(cpu & IV_CPU_FF & ~(VMCPU_FF_INTERRUPT_PIC | VMCPU_FF_INTERRUPT_NMI)) &&
           !vm_ff_is_any_set(vcpu->vm, IV_VM_FF);
}

static int iv_exec(struct vcpu *vcpu, uint64_t budget)
{
    struct iem_vcpu *v = vcpu->iem;
    if (!v || !v->cpu)
        return IXVM_ERR_INVALID_STATE;
    int64_t left = (int64_t)budget;
    for (;;) {
        int rc = iv_service(v);
        if (rc)
            return rc;
        rc = iv_deliver(v);
        if (rc == IXVM_INF_EM_RESET)
            return iv_triple_fault(v);
        if (rc < 0)
            return rc;
        if (iem_is_halted(v->cpu))
            return IXVM_INF_EM_HALT;
        iv_unpark(v);   /* woken (NMI, INIT): the pin may still be high */
        uint64_t before = iem_instructions(v->cpu);
        rc = iem_exec(v->cpu, left);
        left -= (int64_t)(iem_instructions(v->cpu) - before);
        if (rc == IXVM_INF_EM_RESET)
            return iv_triple_fault(v);
        if (rc == IXVM_INF_EM_RESCHEDULE && iv_only_interrupts(vcpu) && left > 0)
            continue;
        if (rc == IXVM_INF_EM_RESCHEDULE)
            return iv_service(v);
        if (rc != 0 || left <= 0)
            return rc;
    }
}

static void iv_reset(struct vcpu *vcpu, bool init_only)
{
    struct iem_vcpu *v = vcpu->iem;
    if (!v || !v->cpu)
        return;
    v->pic_parked = false;
    iem_reset(v->cpu, init_only);
}

/* vmm_cpu_ops.dump: after an internal assertion on this EMT. */
static void iv_dump(struct vcpu *vcpu)
{
    if (vcpu->iem)
        iv_flight_to_log(vcpu->iem, "assertion");
}

const struct vmm_cpu_ops iem_vmm_cpu_ops = { .name = "iem", .exec = iv_exec, .reset = iv_reset, .dump = iv_dump };

/* ---- exclusive sections (iem_config.exclusive) ------------------------------ */

struct iv_excl {
    struct iem_vcpu *v;
    void (*fn)(void *arg);
    void *arg;
    bool ran;
};

/* ONE_BY_ONE: callbacks run one at a time and every EMT waits until all
 * have run, so while the requester's runs the others are parked. */
static int iv_excl_cb(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct iv_excl *x = user;
    (void)vm;
    if (vcpu == x->v->vcpu) {
        x->fn(x->arg);
        x->ran = true;
    }
    return 0;
}

static int iv_exclusive(void *user, void (*fn)(void *arg), void *arg)
{
    struct iem_vcpu *v = user;
    struct iv_excl x = { .v = v, .fn = fn, .arg = arg };
    stam_counter_inc(&v->excl);
    int rc = vmm_emt_rendezvous(v->vcpu->vm, VMM_RV_TYPE_ONE_BY_ONE, iv_excl_cb, &x);
    if (!x.ran)
        return rc < 0 ? rc : IXVM_ERR_INVALID_STATE;
    return 0;
}

/* ---- creation ----------------------------------------------------------------- */

int iem_vmm_create(const struct iem_vmm_config *cfg, struct iem_vmm **out, struct ixvm_errinfo *err)
{
    *out = NULL;
    if (!cfg || !cfg->pgm || !cfg->iom)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "IEM glue: memory map and port space required");
    struct iem_vmm *g = calloc(1, sizeof(*g));
    if (!g)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "IEM glue: out of memory");
    g->cfg = *cfg;
    *out = g;
    return 0;
}

void iem_vmm_destroy(struct iem_vmm *g)
{
    free(g);
}

static int iv_register_stats(struct iem_vcpu *v, struct stam *st)
{
    unsigned id = v->vcpu->id;
    int rc = iem_stats_register(v->cpu, st);
    if (rc >= 0)
        rc = stam_register(st, &v->irqs, STAM_TYPE_COUNTER, STAM_UNIT_OCCURRENCES, "external interrupts delivered",
                           "/EM/CPU%u/Interrupts", id);
    if (rc >= 0)
        rc = stam_register(st, &v->nmis, STAM_TYPE_COUNTER, STAM_UNIT_OCCURRENCES, "NMIs delivered",
                           "/EM/CPU%u/NMIs", id);
    if (rc >= 0)
        rc = stam_register(st, &v->parked, STAM_TYPE_COUNTER, STAM_UNIT_OCCURRENCES,
                           "halts with a pending interrupt masked by IF=0", "/EM/CPU%u/ParkedHalts", id);
    if (rc >= 0)
        rc = stam_register(st, &v->excl, STAM_TYPE_COUNTER, STAM_UNIT_OCCURRENCES,
                           "exclusive sections (LOCKed split, misaligned or MMIO operands)",
                           "/EM/CPU%u/ExclusiveSections", id);
    if (rc >= 0)
        rc = stam_register(st, &v->triple, STAM_TYPE_COUNTER, STAM_UNIT_OCCURRENCES, "triple faults",
                           "/EM/CPU%u/TripleFaults", id);
    return rc;
}

/* Request on each EMT: its interpreter, owned by that thread. */
static int iv_attach_req(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct iem_vmm *g = user;
    if (vcpu->iem)
        return IXVM_ERR_ALREADY_EXISTS;
    struct iem_vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return IXVM_ERR_NO_MEMORY;
    v->g = g;
    v->vcpu = vcpu;
    struct iem_config ic = {
        .state = &vcpu->cpu,
        .pgm = g->cfg.pgm,
        .iom = g->cfg.iom,
        .ff_cpu = &vcpu->ff,
        .ff_vm = &vm->ff,
        .ff_mask = IV_CPU_FF | IV_VM_FF,
        .ff_irq_mask = VMCPU_FF_INTERRUPT_PIC,
        .cpu_id = vcpu->id,
        .multi_threaded = vm->ncpus > 1,
        .clock_ticks = g->cfg.tm ? iv_clock : NULL,
        .clock_user = g,
        .exclusive = iv_exclusive,
        .exclusive_user = v,
    };
    int rc = iem_create(&v->cpu, &ic, NULL);
    if (rc >= 0)
        rc = iv_register_stats(v, vmm_stam(vm));
    if (rc < 0) {
        iem_destroy(v->cpu);
        free(v);
        return rc;
    }
    vcpu->iem = v;
    return 0;
}

static int iv_detach_req(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct iem_vcpu *v = vcpu->iem;
    if (!v)
        return 0;
    vcpu->iem = NULL;
    iem_destroy(v->cpu);
    free(v);
    return 0;
}

int iem_vmm_attach(struct iem_vmm *g, struct vm *vm, struct ixvm_errinfo *err)
{
    int rc = req_call(vm, VMM_CPU_ALL, REQ_F_WAIT, REQ_INDEFINITE, iv_attach_req, g);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "IEM glue: cannot create the vCPUs' interpreters: %s", ixvm_strerror(rc));
    LOG_REL("IEM: %u vCPU interpreter(s) created (%s dispatch)", vm->ncpus, iem_dispatch_kind());
    return 0;
}

void iem_vmm_detach(struct iem_vmm *g, struct vm *vm)
{
    (void)stam_deregister(vmm_stam(vm), "/IEM/*");
    (void)stam_deregister(vmm_stam(vm), "/EM/*");
    if (req_call(vm, VMM_CPU_ALL, REQ_F_WAIT, REQ_INDEFINITE, iv_detach_req, g) < 0) {
        /* The EMTs are gone: nobody runs the interpreters any more. */
        for (uint32_t i = 0; i < vm->ncpus; i++)
            (void)iv_detach_req(vm, &vm->cpus[i], g);
    }
}
