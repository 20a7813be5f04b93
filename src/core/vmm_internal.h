/* SPDX-License-Identifier: MIT */
/*
 * Private state of the VMM core (vmm*.c, emt.c, ff.c, req.c, selftest.c):
 * the internals behind struct vm::in and struct vcpu::in.
 */
#ifndef IXVM_VMM_INTERNAL_H
#define IXVM_VMM_INTERNAL_H

#include <stdatomic.h>

#include "ixvm/stam.h"
#include "ixvm/vmm.h"

/* Guest instructions per exec call at most (time slices end it earlier). */
#define VMM_EXEC_BUDGET (1u << 20)

/*
 * How an EMT sleeps: a mutex + condvar and the Dekker flag `sleeping` (ff.h
 * explains the handshake).  Wakers set their condition (an FF bit, a
 * rendezvous generation, a request's done flag) with a seq_cst write first,
 * then look at `sleeping`.
 */
struct emt_waiter {
    uv_mutex_t lock;
    uv_cond_t cond;
    _Atomic int sleeping;           /* [EMT writes, any reads; seq_cst] */
    _Atomic uint32_t wake_vm_mask;  /* [EMT writes before sleeping; any reads] */
    _Atomic uint32_t wake_cpu_mask; /* [EMT writes before sleeping; any reads] */
    _Atomic bool wake_prio_req;     /* [EMT] also wake for a priority request */
    bool woken;                     /* [lock] */
};

/* A request queue: [0] priority, [1] normal; FIFO each. */
struct req_queue {
    uv_mutex_t lock;
    struct req *head[2], *tail[2];  /* [lock] */
    _Atomic uint32_t prio_count;    /* [lock writes; any reads] */
    struct stam_counter queued;     /* [lock] */
};

struct vmm_rv;

struct vcpu_int {
    uv_thread_t thread;             /* [const after create] */
    bool thread_started;            /* [loop thread] */
    struct emt_waiter w;
    struct req_queue q;
    _Atomic uint32_t em_state;      /* [EMT writes (or anyone while parked in a rendezvous); any reads] */
    struct vmm_rv *rv_cur;          /* [EMT] innermost rendezvous this EMT is inside */
    bool rv_in_callback;            /* [EMT] running a rendezvous callback now */
    struct stam_counter halts;      /* [EMT] */
    struct stam_counter wakeups;    /* [EMT] */
    struct stam_counter reqs;       /* [EMT] requests executed */
    struct stam_counter rv_joins;   /* [EMT] */
    struct stam_counter preempts;   /* [EMT] time-slice kicks seen */
    struct stam_counter sipi_ignored; /* [EMT] */
};

struct vmm_state_cb_ent {
    vmm_state_cb *cb;
    void *user;
};

struct vm_int {
    char name[64];                  /* [const] */
    struct cfg *cfg;                /* [const pointer] the VM's copy */
    struct stam *stam;
    struct ssm *ssm;
    struct dbgf_info_reg *info;
    const struct vmm_cpu_ops *ops;  /* [const after create] */
    bool use_preempt;               /* [const] VMM/UsePeriodicPreemptionTimers */
    uint32_t slice_ms;              /* [const] VMM/TimeSliceMs */

    /* The loop and its handles [loop thread]. */
    uv_loop_t loop;
    uv_timer_t preempt_timer;
    uv_async_t stop_async;
    bool loop_ready;

    struct vmm_component *comps;    /* [loop thread] core + extra components */
    size_t ncomps;
    size_t ninited;                 /* components whose init succeeded */

    bool sync_ready;                /* [loop thread] the locks below exist */

    /* State machine. */
    uv_mutex_t state_lock;
    _Atomic uint32_t state;         /* [state_lock writes; any reads] enum vmm_state */
    uv_mutex_t cb_lock;
    struct vmm_state_cb_ent *cbs;   /* [cb_lock] */
    size_t ncbs, capcbs;            /* [cb_lock] */
    char last_error[512];           /* [state_lock] */
    _Atomic bool terminate;         /* [loop thread writes; EMTs read] */

    struct req_queue any_q;         /* requests for any EMT */

    /* Rendezvous. */
    uv_mutex_t rv_lock;
    uv_cond_t rv_ext_cond;          /* non-EMT callers wait here */
    struct vmm_rv *rv_active;       /* [rv_lock] innermost active rendezvous */
    struct vmm_rv *rv_pending;      /* [rv_lock] queue of top-level ones, priority first */
    _Atomic uint64_t rv_gen;        /* [rv_lock writes; any reads] bumped on every change */
    struct stam_counter rv_calls;   /* [rv_lock] */
    struct stam_counter rv_nested;  /* [rv_lock] */
    struct stam_counter rv_ext;     /* [rv_lock] from non-EMT threads */
    struct stam_counter rv_prio;    /* [rv_lock] */
    struct stam_counter rv_deadlock; /* [rv_lock] */
    struct stam_counter rv_single;  /* [EMT 0] single-vCPU shortcut */

    /* First assertion on an EMT. */
    uv_mutex_t assert_lock;
    bool asserted;                  /* [assert_lock] */
    char assert_msg1[512];          /* [assert_lock] */
    char assert_msg2[1024];         /* [assert_lock] */
};

/* emt.c */
extern _Thread_local struct vcpu *emt_tls_cpu;
int emt_start(struct vcpu *vcpu) IXVM_WUR;
void emt_join(struct vcpu *vcpu);
int emt_waiter_init(struct emt_waiter *w) IXVM_WUR;
void emt_waiter_destroy(struct emt_waiter *w);
typedef bool emt_wait_pred(struct vcpu *vcpu, void *arg);
/* Sleep until an FF in the masks, pred, a poke, termination or the timeout
 * (0 = none).  Returns true when it actually blocked. */
bool emt_wait(struct vcpu *vcpu, uint32_t vm_mask, uint32_t cpu_mask, bool prio_req,
              emt_wait_pred *pred, void *arg, uint64_t timeout_ns);
void emt_set_cpu_state(struct vcpu *vcpu, enum vmm_cpu_state s);
void vmm_poke_all(struct vm *vm);
void emt_preempt_timer_cb(uv_timer_t *t);

/* req.c */
int req_queue_init(struct req_queue *q) IXVM_WUR;
void req_queue_destroy(struct req_queue *q);
void req_cancel_all(struct vm *vm);
bool req_prio_pending(struct vcpu *vcpu);

/* vmm_rendezvous.c */
void vmm_rv_cancel_all(struct vm *vm);

/* vmm_state.c */
int vmm_state_set(struct vm *vm, enum vmm_state to, struct ixvm_errinfo *err) IXVM_WUR;
void vmm_state_force(struct vm *vm, enum vmm_state to);
void vmm_set_last_error(struct vm *vm, const struct ixvm_errinfo *err);

/* vmm_info.c */
int vmm_info_register_all(struct vm *vm) IXVM_WUR;
int vmm_stats_register_all(struct vm *vm) IXVM_WUR;
int vmm_ssm_register(struct vm *vm) IXVM_WUR;

/* vmm_assert.c */
void vmm_guru(struct vm *vm, struct vcpu *vcpu, const char *what);

#endif
