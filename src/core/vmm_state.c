/* SPDX-License-Identifier: MIT */
/*
 * The VM state machine: the transition table (every allowed from -> to
 * pair, nothing else), checked state changes that fail with
 * IXVM_ERR_INVALID_STATE naming both states, and the state-change callbacks
 * (called with the new and the old state, in registration order).
 */
#define LOG_GROUP LOG_GROUP_VMM
#include <stdlib.h>
#include <string.h>

#include "ixvm/log.h"
#include "vmm_internal.h"

struct vmm_transition {
    enum vmm_state from, to;
};

/* The reference's VMSTATE graph without live save/migration/teleport. */
static const struct vmm_transition vmm_transitions[] = {
#define T(from, to) { VMM_STATE_##from, VMM_STATE_##to },
    T(CREATING, CREATED)        T(CREATING, TERMINATED)
    T(CREATED, POWERING_ON)     T(CREATED, LOADING)         T(CREATED, DESTROYING)
    T(LOADING, SUSPENDED)       T(LOADING, CREATED)
    T(POWERING_ON, RUNNING)     T(POWERING_ON, POWERING_OFF)
    T(RUNNING, SUSPENDING)      T(RUNNING, RESETTING)       T(RUNNING, POWERING_OFF)
    T(RUNNING, GURU_MEDITATION)
    T(RESETTING, RUNNING)       T(RESETTING, SUSPENDED)     T(RESETTING, GURU_MEDITATION)
    T(SUSPENDING, SUSPENDED)    T(SUSPENDING, GURU_MEDITATION)
    T(SUSPENDED, RESUMING)      T(SUSPENDED, RESETTING)     T(SUSPENDED, POWERING_OFF)
    T(SUSPENDED, SAVING)        T(SUSPENDED, LOADING)       T(SUSPENDED, GURU_MEDITATION)
    T(RESUMING, RUNNING)        T(RESUMING, GURU_MEDITATION)
    T(SAVING, SUSPENDED)
    T(POWERING_OFF, OFF)
    T(GURU_MEDITATION, POWERING_OFF)
    T(OFF, DESTROYING)
    T(DESTROYING, TERMINATED)
#undef T
};

static const char *const vmm_state_names[] = {
#define VMM_STATE_NAME(name, runs) #name,
    VMM_STATES(VMM_STATE_NAME)
#undef VMM_STATE_NAME
};

const char *vmm_state_name(enum vmm_state s)
{
    return (unsigned)s < IXVM_ARRAY_SIZE(vmm_state_names) ? vmm_state_names[s] : "?";
}

enum vmm_state vmm_get_state(const struct vm *vm)
{
    return (enum vmm_state)atomic_load_explicit(&vm->in->state, memory_order_acquire);
}

bool vmm_state_transition_ok(enum vmm_state from, enum vmm_state to)
{
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(vmm_transitions); i++)
        if (vmm_transitions[i].from == from && vmm_transitions[i].to == to)
            return true;
    return false;
}

static void vmm_state_notify(struct vm *vm, enum vmm_state to, enum vmm_state from)
{
    /* Snapshot so callbacks may (de)register without deadlocking. */
    struct vmm_state_cb_ent local[16], *ents = local;
    uv_mutex_lock(&vm->in->cb_lock);
    size_t n = vm->in->ncbs;
    if (n > IXVM_ARRAY_SIZE(local))
        ents = malloc(n * sizeof(*ents));
    if (ents && n)
        memcpy(ents, vm->in->cbs, n * sizeof(*ents));
    uv_mutex_unlock(&vm->in->cb_lock);
    if (!ents)
        return;
    for (size_t i = 0; i < n; i++)
        ents[i].cb(vm, to, from, ents[i].user);
    if (ents != local)
        free(ents);
    if ((to == VMM_STATE_OFF || to == VMM_STATE_GURU_MEDITATION) && vm->in->loop_ready)
        uv_async_send(&vm->in->stop_async);
}

int vmm_state_set(struct vm *vm, enum vmm_state to, struct ixvm_errinfo *err)
{
    uv_mutex_lock(&vm->in->state_lock);
    enum vmm_state from = vmm_get_state(vm);
    if (!vmm_state_transition_ok(from, to)) {
        struct ixvm_errinfo e;
        ixvm_errinfo_set(&e, IXVM_ERR_INVALID_STATE, "VM '%s': invalid state transition %s -> %s", vm->in->name,
                         vmm_state_name(from), vmm_state_name(to));
        snprintf(vm->in->last_error, sizeof(vm->in->last_error), "%s", e.msg);
        uv_mutex_unlock(&vm->in->state_lock);
        if (err)
            *err = e;
        LOG("%s\n", e.msg);
        return IXVM_ERR_INVALID_STATE;
    }
    atomic_store_explicit(&vm->in->state, (uint32_t)to, memory_order_release);
    uv_mutex_unlock(&vm->in->state_lock);
    LOG("VM '%s': %s -> %s\n", vm->in->name, vmm_state_name(from), vmm_state_name(to));
    vmm_state_notify(vm, to, from);
    return 0;
}

/* Teardown paths that must get somewhere whatever the table says. */
void vmm_state_force(struct vm *vm, enum vmm_state to)
{
    uv_mutex_lock(&vm->in->state_lock);
    enum vmm_state from = vmm_get_state(vm);
    atomic_store_explicit(&vm->in->state, (uint32_t)to, memory_order_release);
    uv_mutex_unlock(&vm->in->state_lock);
    if (from != to)
        vmm_state_notify(vm, to, from);
}

void vmm_set_last_error(struct vm *vm, const struct ixvm_errinfo *err)
{
    uv_mutex_lock(&vm->in->state_lock);
    snprintf(vm->in->last_error, sizeof(vm->in->last_error), "%s", err->msg);
    uv_mutex_unlock(&vm->in->state_lock);
}

const char *vmm_last_error(struct vm *vm)
{
    return vm->in->last_error;
}

int vmm_state_cb_register(struct vm *vm, vmm_state_cb *cb, void *user)
{
    if (!vm || !cb)
        return IXVM_ERR_INVALID_PARAMETER;
    int rc = 0;
    uv_mutex_lock(&vm->in->cb_lock);
    if (vm->in->ncbs == vm->in->capcbs) {
        size_t cap = vm->in->capcbs ? vm->in->capcbs * 2 : 8;
        struct vmm_state_cb_ent *n = realloc(vm->in->cbs, cap * sizeof(*n));
        if (!n)
            rc = IXVM_ERR_NO_MEMORY;
        else {
            vm->in->cbs = n;
            vm->in->capcbs = cap;
        }
    }
    if (!rc)
        vm->in->cbs[vm->in->ncbs++] = (struct vmm_state_cb_ent){ cb, user };
    uv_mutex_unlock(&vm->in->cb_lock);
    return rc;
}

int vmm_state_cb_deregister(struct vm *vm, vmm_state_cb *cb, void *user)
{
    int rc = IXVM_ERR_NOT_FOUND;
    uv_mutex_lock(&vm->in->cb_lock);
    for (size_t i = 0; i < vm->in->ncbs; i++) {
        if (vm->in->cbs[i].cb == cb && vm->in->cbs[i].user == user) {
            memmove(&vm->in->cbs[i], &vm->in->cbs[i + 1], (vm->in->ncbs - i - 1) * sizeof(vm->in->cbs[0]));
            vm->in->ncbs--;
            rc = 0;
            break;
        }
    }
    uv_mutex_unlock(&vm->in->cb_lock);
    return rc;
}
