/* SPDX-License-Identifier: MIT */
/*
 * Assertions (include/ixvm/assert.h) and guru meditation.  Message 1 and 2
 * are first formatted into thread-local buffers; ixvm_assert_done() then,
 * on an EMT, copies the first report of the VM into its VM-wide buffers,
 * prints both to stderr and the release log, and stops the VM: the state
 * becomes GURU_MEDITATION and every vCPU gets TO_R3 so interpreters return
 * to the EMT loop, which runs no guest code outside RUNNING.  Nothing
 * aborts the process.
 */
#define LOG_GROUP LOG_GROUP_VMM
#include <stdarg.h>
#include <stdio.h>

#include "ixvm/log.h"
#include "vmm_internal.h"

static _Thread_local char assert_tls_msg1[512];
static _Thread_local char assert_tls_msg2[1024];

bool ixvm_assert_msg1(const char *expr, const char *file, unsigned line, const char *func)
{
    struct vcpu *vcpu = emt_tls_cpu;
    char who[32];
    if (vcpu)
        snprintf(who, sizeof(who), "vCPU %u", vcpu->id);
    else
        snprintf(who, sizeof(who), "non-EMT thread");
    snprintf(assert_tls_msg1, sizeof(assert_tls_msg1), "Assertion failed on %s: %s\nLocation: %s:%u %s()\n", who,
             expr, file, line, func);
    assert_tls_msg2[0] = '\0';
    return true;
}

void ixvm_assert_msg2(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(assert_tls_msg2, sizeof(assert_tls_msg2) - 1, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(assert_tls_msg2) - 1 && assert_tls_msg2[n - 1] != '\n') {
        assert_tls_msg2[n] = '\n';
        assert_tls_msg2[n + 1] = '\0';
    }
}

/* Stop the VM: guru meditation, and every interpreter back to the loop. */
void vmm_guru(struct vm *vm, struct vcpu *vcpu, const char *what)
{
    enum vmm_state s = vmm_get_state(vm);
    if (vmm_state_set(vm, VMM_STATE_GURU_MEDITATION, NULL) < 0)
        LOG_REL("guru meditation from state %s not possible; VM keeps its state\n", vmm_state_name(s));
    for (uint32_t i = 0; i < vm->ncpus; i++)
        vmcpu_ff_set(&vm->cpus[i], VMCPU_FF_TO_R3);
    fprintf(stderr, "ixvm: VM '%s' stopped (guru meditation) on vCPU %u: %s\n", vm->in->name,
            vcpu ? vcpu->id : 0, what);
    LOG_REL("!! guru meditation on vCPU %u: %s\n", vcpu ? vcpu->id : 0, what);
}

void ixvm_assert_done(void)
{
    struct vcpu *vcpu = emt_tls_cpu;
    fprintf(stderr, "ixvm: !!! %s%s", assert_tls_msg1, assert_tls_msg2);
    if (!vcpu)
        return;     /* off an EMT: report and carry on */
    struct vm *vm = vcpu->vm;
    uv_mutex_lock(&vm->in->assert_lock);
    bool first = !vm->in->asserted;
    if (first) {
        vm->in->asserted = true;
        snprintf(vm->in->assert_msg1, sizeof(vm->in->assert_msg1), "%s", assert_tls_msg1);
        snprintf(vm->in->assert_msg2, sizeof(vm->in->assert_msg2), "%s", assert_tls_msg2);
    }
    uv_mutex_unlock(&vm->in->assert_lock);
    LOG_REL("!!! %s%s", assert_tls_msg1, assert_tls_msg2);
    if (first && vm->in->ops->dump)
        vm->in->ops->dump(vcpu);
    if (first)
        vmm_guru(vm, vcpu, "internal assertion failed");
}

void vmm_get_assertion(struct vm *vm, const char **msg1, const char **msg2)
{
    /* Written once under the lock, never again: safe to hand out. */
    uv_mutex_lock(&vm->in->assert_lock);
    bool asserted = vm->in->asserted;
    uv_mutex_unlock(&vm->in->assert_lock);
    *msg1 = asserted ? vm->in->assert_msg1 : "";
    *msg2 = asserted ? vm->in->assert_msg2 : "";
}
