/* SPDX-License-Identifier: MIT */
/*
 * VMM core: the VM and its vCPUs, the lifecycle state machine, the emulation
 * threads (EMTs, one per vCPU) and the libuv loop the VM owns, forced actions
 * (ff.h), requests, EMT rendezvous, INIT/SIPI and assertions.  docs/vmm.md
 * explains the states, threads, FF groups, rendezvous and request semantics.
 *
 * Threads: vmm_create, vmm_destroy and vmm_run_loop run on the loop thread
 * (the thread that created the VM, normally main).  The lifecycle calls
 * (power on, suspend, resume, reset, power off, save, load), requests and
 * rendezvous may be called from any thread, EMTs included.
 */
#ifndef IXVM_VMM_H
#define IXVM_VMM_H

#include <stdatomic.h>

#include <uv.h>

#include "ixvm/cpum.h"
#include "ixvm/ff.h"
#include "ixvm/types.h"

struct cfg;
struct stam;
struct ssm;
struct dbgf_info_reg;
struct vm_int;
struct vcpu_int;

/* ------------------------------------------------------------------------- */
/* The VM and its vCPUs                                                      */
/* ------------------------------------------------------------------------- */

/* What a vCPU is doing (the reference's EMSTATE subset that matters here). */
#define VMM_CPU_STATES(X)                                     \
    X(WAIT_SIPI, "wait-for-SIPI")  /* AP after power on/INIT */ \
    X(RUNNING,   "running")                                   \
    X(HALTED,    "halted")         /* HLT, until an UNHALT-group FF */

enum vmm_cpu_state {
#define VMM_CPU_STATE_ENUM(name, text) VMM_CPU_##name,
    VMM_CPU_STATES(VMM_CPU_STATE_ENUM)
#undef VMM_CPU_STATE_ENUM
};

struct vcpu {
    _Atomic uint32_t ff;          /* [any, atomic] VMCPU_FF_* (keep first: hot check) */
    uint32_t id;                  /* [const] */
    struct vm *vm;                /* [const] */
    struct cpum_state cpu;        /* [EMT] architectural state */
    void *iem;                    /* [EMT] interpreter's per-vCPU state (cpu ops) */
    struct vcpu_int *in;          /* [VMM] internals (src/core/vmm_internal.h) */
};

struct vm {
    _Atomic uint32_t ff;          /* [any, atomic] VM_FF_* (keep first: hot check) */
    uint32_t ncpus;               /* [const] */
    struct vcpu *cpus;            /* [const] array of ncpus */
    struct vm_int *in;            /* [VMM] internals */
};

/* ------------------------------------------------------------------------- */
/* Forced-action API (memory ordering: see ff.h)                             */
/* ------------------------------------------------------------------------- */

static inline void vm_ff_set(struct vm *vm, uint32_t f)
{
    atomic_fetch_or_explicit(&vm->ff, f, memory_order_seq_cst);
    ff_vm_notify(vm, f);
}
static inline void vm_ff_clear(struct vm *vm, uint32_t f)
{
    atomic_fetch_and_explicit(&vm->ff, ~f, memory_order_acq_rel);
}
static inline bool vm_ff_is_set(const struct vm *vm, uint32_t f)
{
    return (atomic_load_explicit(&((struct vm *)vm)->ff, memory_order_acquire) & f) == f;
}
static inline bool vm_ff_is_any_set(const struct vm *vm, uint32_t mask)
{
    return (atomic_load_explicit(&((struct vm *)vm)->ff, memory_order_acquire) & mask) != 0;
}
/* Clear f and report whether it was set (one RMW). */
static inline bool vm_ff_test_and_clear(struct vm *vm, uint32_t f)
{
    return (atomic_fetch_and_explicit(&vm->ff, ~f, memory_order_acq_rel) & f) != 0;
}

static inline void vmcpu_ff_set(struct vcpu *vcpu, uint32_t f)
{
    atomic_fetch_or_explicit(&vcpu->ff, f, memory_order_seq_cst);
    ff_vcpu_notify(vcpu, f);
}
static inline void vmcpu_ff_clear(struct vcpu *vcpu, uint32_t f)
{
    atomic_fetch_and_explicit(&vcpu->ff, ~f, memory_order_acq_rel);
}
static inline bool vmcpu_ff_is_set(const struct vcpu *vcpu, uint32_t f)
{
    return (atomic_load_explicit(&((struct vcpu *)vcpu)->ff, memory_order_acquire) & f) == f;
}
static inline bool vmcpu_ff_is_any_set(const struct vcpu *vcpu, uint32_t mask)
{
    return (atomic_load_explicit(&((struct vcpu *)vcpu)->ff, memory_order_acquire) & mask) != 0;
}
static inline bool vmcpu_ff_test_and_clear(struct vcpu *vcpu, uint32_t f)
{
    return (atomic_fetch_and_explicit(&vcpu->ff, ~f, memory_order_acq_rel) & f) != 0;
}

/* ------------------------------------------------------------------------- */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------- */

/* The VM states (name, runs guest code).  Transitions: the table in
 * src/core/vmm_state.c and docs/vmm.md. */
#define VMM_STATES(X)            \
    X(CREATING,        false)    \
    X(CREATED,         false)    \
    X(LOADING,         false)    \
    X(POWERING_ON,     false)    \
    X(RUNNING,         true)     \
    X(RESETTING,       false)    \
    X(SUSPENDING,      false)    \
    X(SUSPENDED,       false)    \
    X(RESUMING,        false)    \
    X(SAVING,          false)    \
    X(POWERING_OFF,    false)    \
    X(OFF,             false)    \
    X(GURU_MEDITATION, false)    \
    X(DESTROYING,      false)    \
    X(TERMINATED,      false)

enum vmm_state {
#define VMM_STATE_ENUM(name, runs) VMM_STATE_##name,
    VMM_STATES(VMM_STATE_ENUM)
#undef VMM_STATE_ENUM
    VMM_STATE_COUNT
};

const char *vmm_state_name(enum vmm_state s);
enum vmm_state vmm_get_state(const struct vm *vm);
/* True when the table allows from -> to. */
bool vmm_state_transition_ok(enum vmm_state from, enum vmm_state to);

/* Init-completed phases, in the order every component sees them. */
enum vmm_init_phase { VMM_INIT_COMPLETED_RING3, VMM_INIT_COMPLETED_RING0, VMM_INIT_PHASE_COUNT };

/*
 * A component of the VM (a module, the board, the interpreter).  Every hook
 * is optional.  init runs in list order on the creating thread; then every
 * component sees init_completed(RING3), then every one sees
 * init_completed(RING0).  power_on, reset, suspend, resume and power_off run
 * on an EMT inside the lifecycle rendezvous (all other EMTs parked), in list
 * order; term runs in reverse order at destroy (or when a later init fails).
 */
struct vmm_component {
    const char *name;
    int (*init)(struct vm *vm, void *user);
    int (*init_completed)(struct vm *vm, void *user, enum vmm_init_phase phase);
    void (*power_on)(struct vm *vm, void *user);
    void (*reset)(struct vm *vm, void *user);
    void (*suspend)(struct vm *vm, void *user);
    void (*resume)(struct vm *vm, void *user);
    void (*power_off)(struct vm *vm, void *user);
    void (*term)(struct vm *vm, void *user);
    void *user;
};

/* Runs one vCPU; registered by the interpreter.  The default halts. */
struct vmm_cpu_ops {
    const char *name;
    /* Execute guest code for at most `budget` instructions or until an
     * EXEC_BREAK FF is set.  Returns 0 / IXVM_INF_EM_* (HALT, WAIT_SIPI,
     * RESCHEDULE, ...) / a negative error (the VM enters guru meditation). */
    int (*exec)(struct vcpu *vcpu, uint64_t budget);
    /* The VMM already put vcpu->cpu into the RESET/INIT state: drop caches. */
    void (*reset)(struct vcpu *vcpu, bool init_only);
    /* Optional, on the vCPU's EMT after its first internal assertion: write
     * what the CPU recently executed (flight recorder) to the release log. */
    void (*dump)(struct vcpu *vcpu);
};

struct vmm_create_args {
    const struct vmm_component *components;  /* extra components, after the core ones */
    size_t ncomponents;
    const struct vmm_cpu_ops *cpu_ops;       /* NULL: the default (halting) ops */
};

/* Create a VM from cfg (the VM keeps its own copy).  CPU/Count gives the
 * vCPU count.  The EMTs start and wait; the state is CREATED. */
int vmm_create(const struct cfg *cfg, const struct vmm_create_args *args, struct vm **out,
               struct ixvm_errinfo *err) IXVM_WUR;
/* Power off if needed, term the components in reverse, stop the EMTs, free. */
void vmm_destroy(struct vm *vm);

/* Lifecycle operations; a call in the wrong state returns
 * IXVM_ERR_INVALID_STATE and err names the current and the wanted state. */
int vmm_power_on(struct vm *vm, struct ixvm_errinfo *err) IXVM_WUR;
int vmm_suspend(struct vm *vm, struct ixvm_errinfo *err) IXVM_WUR;
int vmm_resume(struct vm *vm, struct ixvm_errinfo *err) IXVM_WUR;
int vmm_reset(struct vm *vm, struct ixvm_errinfo *err) IXVM_WUR;
int vmm_power_off(struct vm *vm, struct ixvm_errinfo *err) IXVM_WUR;
/* Save to / load from a file (ssm with cfg_state_digest).  Save works when
 * running (suspends around it) or suspended; load when created or
 * suspended, and leaves the VM suspended. */
int vmm_save(struct vm *vm, const char *path, struct ixvm_errinfo *err) IXVM_WUR;
int vmm_load(struct vm *vm, const char *path, struct ixvm_errinfo *err) IXVM_WUR;

typedef void vmm_state_cb(struct vm *vm, enum vmm_state new_state, enum vmm_state old_state, void *user);
/* Called on the thread making the change, in registration order. */
int vmm_state_cb_register(struct vm *vm, vmm_state_cb *cb, void *user) IXVM_WUR;
int vmm_state_cb_deregister(struct vm *vm, vmm_state_cb *cb, void *user);

/* The VM's libuv loop and helpers (loop thread only). */
uv_loop_t *vmm_loop(struct vm *vm);
/* Run the loop until the VM is off (or guru/destroyed) or vmm_stop_loop. */
int vmm_run_loop(struct vm *vm);
void vmm_stop_loop(struct vm *vm);         /* any thread */

/* Modules the VM owns. */
struct cfg *vmm_cfg(struct vm *vm);
struct stam *vmm_stam(struct vm *vm);
struct ssm *vmm_ssm(struct vm *vm);
struct dbgf_info_reg *vmm_info_reg(struct vm *vm);
const char *vmm_name(const struct vm *vm);

/* The calling thread's vCPU if it is an EMT of vm, else NULL. */
struct vcpu *vmm_get_cpu(struct vm *vm);
struct vcpu *vmm_get_cpu_by_id(struct vm *vm, uint32_t id);
bool vmm_is_emt(struct vm *vm);
enum vmm_cpu_state vmm_cpu_get_state(const struct vcpu *vcpu);
const char *vmm_cpu_state_name(enum vmm_cpu_state s);
/* Wake vcpu's EMT if it sleeps (it re-checks its flags). */
void vmm_cpu_poke(struct vcpu *vcpu);

/* ------------------------------------------------------------------------- */
/* Requests                                                                  */
/* ------------------------------------------------------------------------- */

#define VMM_CPU_ANY       0xffffffffu   /* whichever EMT gets there first */
#define VMM_CPU_ALL       0xfffffffeu   /* every EMT in turn, ascending */
#define VMM_CPU_ALL_REV   0xfffffffdu   /* every EMT in turn, descending */

#define REQ_F_WAIT      0x0u            /* wait for the result (default) */
#define REQ_F_NO_WAIT   0x1u            /* fire and forget */
#define REQ_F_PRIORITY  0x2u            /* before normal requests; also serviced inside rendezvous waits */

#define REQ_INDEFINITE  UINT32_MAX

typedef int vmm_req_fn(struct vm *vm, struct vcpu *vcpu, void *user);
struct req;

/*
 * Run fn(vm, vcpu, user) on the target EMT(s).  With REQ_F_WAIT returns the
 * callee's status (merged with ixvm_status_merge over all EMTs for ALL), or
 * IXVM_ERR_TIMEOUT after timeout_ms: the request is then abandoned safely (it
 * still runs later and frees itself; `user` must stay valid for it).  With
 * REQ_F_NO_WAIT returns 0 once queued.  A request for the calling EMT (or for
 * ANY from an EMT) runs at once.  A waiting EMT keeps servicing its own
 * requests and rendezvous, so EMTs may wait on each other.
 */
int req_call(struct vm *vm, uint32_t target, uint32_t flags, uint32_t timeout_ms,
             vmm_req_fn *fn, void *user) IXVM_WUR;
/* Queue and return a handle to wait on later (req_wait) and free (req_release). */
int req_call_async(struct vm *vm, uint32_t target, uint32_t flags, vmm_req_fn *fn, void *user,
                   struct req **out) IXVM_WUR;
/* Callee's status, or IXVM_ERR_TIMEOUT (the handle stays valid). */
int req_wait(struct req *req, uint32_t timeout_ms) IXVM_WUR;
void req_release(struct req *req);
/* Service the calling EMT's queues (the EMT loop does this on REQUEST FFs). */
int req_process(struct vcpu *vcpu, bool priority_only);

/* ------------------------------------------------------------------------- */
/* Rendezvous                                                                */
/* ------------------------------------------------------------------------- */

#define VMM_RV_TYPE_ONCE          1u    /* the last EMT to arrive runs fn once */
#define VMM_RV_TYPE_ONE_BY_ONE    2u    /* every EMT in turn, in arrival order */
#define VMM_RV_TYPE_ALL_AT_ONCE   3u    /* every EMT at the same time */
#define VMM_RV_TYPE_ASCENDING     4u    /* every EMT in turn, vCPU 0 first */
#define VMM_RV_TYPE_DESCENDING    5u    /* every EMT in turn, last vCPU first */
#define VMM_RV_TYPE_MASK          7u
#define VMM_RV_STOP_ON_ERROR      0x8u  /* after the first error the remaining callbacks are skipped */
#define VMM_RV_PRIORITY           0x10u /* goes ahead of pending normal rendezvous */
#define VMM_RV_VALID_MASK         0x1fu
#define VMM_RV_MAX_DEPTH          2     /* a rendezvous from a callback: one level deep */

typedef int vmm_rv_fn(struct vm *vm, struct vcpu *vcpu, void *user);

/*
 * Gather every EMT and run fn on them as the type says (semantics in
 * docs/vmm.md).  Any thread; a non-EMT caller is queued for the EMTs and
 * waits.  Returns the merged status (ixvm_status_merge over the callbacks).
 * IXVM_ERR_DEADLOCK for recursion from an ALL_AT_ONCE callback, deeper than
 * VMM_RV_MAX_DEPTH, or from inside a rendezvous wait.
 */
int vmm_emt_rendezvous(struct vm *vm, uint32_t flags, vmm_rv_fn *fn, void *user) IXVM_WUR;
/* Join a pending rendezvous (EMT loop, on VM_FF_EMT_RENDEZVOUS).  Returns
 * informational statuses only. */
int vmm_rendezvous_ff(struct vcpu *vcpu);

/* ------------------------------------------------------------------------- */
/* INIT / SIPI (requests executed on the target EMT)                         */
/* ------------------------------------------------------------------------- */

/*
 * Both queue a request for the target EMT and return at once (0 or a queueing
 * error), as IPIs are asynchronous; requests to one EMT run in order, so a
 * later synchronous request to the same vCPU sees the result.
 * vmm_send_init: reset vcpu to the INIT state (SDM Vol. 3A 9.1.1) and park it
 * in wait-for-SIPI.  vmm_send_startup_ipi: start a vCPU that waits for SIPI at
 * vector << 8 : 0000 (SDM Vol. 3A 8.4.4.1); ignored when it is not waiting.
 */
int vmm_send_init(struct vcpu *vcpu) IXVM_WUR;
int vmm_send_startup_ipi(struct vcpu *vcpu, uint8_t vector) IXVM_WUR;

/* ------------------------------------------------------------------------- */
/* Misc                                                                      */
/* ------------------------------------------------------------------------- */

/* First assertion captured on an EMT (empty strings when none). */
void vmm_get_assertion(struct vm *vm, const char **msg1, const char **msg2);
/* The text of the last lifecycle error. */
const char *vmm_last_error(struct vm *vm);

/*
 * `ixvm --selftest`: create a live VM from cfg (CPU/Count vCPUs) and exercise
 * rendezvous of every type, requests, FF wake-ups, INIT/SIPI, logging from
 * EMTs and a save/load round trip; print one line per failed check and the
 * verdict ("selftest: 9/9 checks passed (4 vCPUs) in 0.12 s") to pr.  With
 * stats_json, the VM's statistics are written there at the end.  Returns 0
 * when every check passed, 1 when one failed, a negative status when the VM
 * could not be set up (err says why).
 */
int vmm_selftest(const struct cfg *cfg, const char *stats_json, const struct ixvm_printer *pr,
                 struct ixvm_errinfo *err) IXVM_WUR;

#include "ixvm/assert.h"

#endif
