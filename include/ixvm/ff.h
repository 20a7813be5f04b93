/* SPDX-License-Identifier: MIT */
/*
 * Forced actions (FF): two atomic bit sets, struct vm::ff (global) and
 * struct vcpu::ff (per vCPU), that tell an EMT something needs its attention
 * between guest instructions (ARCHITECTURE.md "Forced actions").  Every bit,
 * name, mnemonic and group comes from the one table in ff.def.
 *
 * Memory ordering:
 *  - Setters use a seq_cst read-modify-write (atomic_fetch_or).  Data the flag
 *    announces (a queued request, a pending interrupt) is written before the
 *    set, so a reader that sees the bit with an acquire load also sees it.
 *  - Readers (is_set / is_any_set and the interpreter's hot check) use acquire
 *    loads; clear and test_and_clear use acq_rel RMWs.
 *  - Waking a sleeping EMT is race-free by a Dekker-style handshake on two
 *    seq_cst locations: the sleeper stores `sleeping = 1` and then loads the
 *    FF words; the setter RMWs the FF word and then loads `sleeping`.  In the
 *    single total order of seq_cst operations one of the two sees the other's
 *    write: either the sleeper sees the flag and does not block, or the setter
 *    sees the sleeper and signals it under the sleeper's mutex (the sleeper
 *    re-checks under that mutex before blocking, so the signal is not lost).
 *    A setter whose flag is outside the sleeper's wake mask, or that finds no
 *    sleeper, costs one RMW and one load: no lock, no system call.
 *
 * The interpreter's hot check is one load of each word, an AND, a branch:
 *   if ((atomic_load_explicit(&vcpu->ff, acquire) & VMCPU_FF_EXEC_BREAK_MASK) |
 *       (atomic_load_explicit(&vm->ff, acquire) & VM_FF_EXEC_BREAK_MASK)) ...
 */
#ifndef IXVM_FF_H
#define IXVM_FF_H

#include <stdatomic.h>

#include "ixvm/types.h"

/* The groups (X(name, "description")); the masks per scope are generated. */
#define IXVM_FF_GROUPS(X)                                                                    \
    X(EXTERNAL_SUSPENDED,   "wake an EMT of a suspended VM")                                 \
    X(EXTERNAL_HALTED,      "wake a halted vCPU")                                            \
    X(HIGH_PRIORITY_PRE,    "serviced first, before executing guest code")                   \
    X(HIGH_PRIORITY_POST,   "serviced right after returning from guest code")                \
    X(NORMAL_PRIORITY_POST, "serviced after guest code, before normal priority")             \
    X(NORMAL_PRIORITY,      "requests, queues, rendezvous")                                  \
    X(ALL_REMAINING,        "everything not serviced in the high-priority-pre pass")         \
    X(DBGF,                 "debugger")                                                      \
    X(REQUEST,              "request queues")                                                \
    X(UNHALT,               "leave the halted state (interrupts, unhalt)")                   \
    X(EXEC_BREAK,           "make the interpreter return to the EMT loop")

enum ff_group_id {
#define FF_GROUP_ID(name, desc) FF_GROUP_ID_##name,
    IXVM_FF_GROUPS(FF_GROUP_ID)
#undef FF_GROUP_ID
    FF_GROUP_COUNT
};
enum ff_group_bit {
#define FF_GROUP_BIT(name, desc) FFG_##name = 1 << FF_GROUP_ID_##name,
    IXVM_FF_GROUPS(FF_GROUP_BIT)
#undef FF_GROUP_BIT
};

#include "ixvm/ff.def"

/* Bit numbers and single-bit masks: VM_FF_REQUEST_BIT, VM_FF_REQUEST, ... */
enum ff_bits {
#define FF_BIT_ENUM(a, scope, name, bit, mn, groups) scope##_FF_##name##_BIT = (bit), scope##_FF_##name = 1 << (bit),
    IXVM_FF_TABLE(FF_BIT_ENUM, 0)
#undef FF_BIT_ENUM
};

/* Group masks per scope, computed from the table at compile time. */
#define FF_SCOPE_IS_VM_VM    1
#define FF_SCOPE_IS_VM_VMCPU 0
#define FF_TERM_VM(g, scope, name, bit, mn, groups) \
    | ((FF_SCOPE_IS_VM_##scope && ((groups) & (g))) ? (1u << (bit)) : 0u)
#define FF_TERM_VMCPU(g, scope, name, bit, mn, groups) \
    | ((!FF_SCOPE_IS_VM_##scope && ((groups) & (g))) ? (1u << (bit)) : 0u)
#define VM_FF_GROUP_MASK(g)    (0u IXVM_FF_TABLE(FF_TERM_VM, g))
#define VMCPU_FF_GROUP_MASK(g) (0u IXVM_FF_TABLE(FF_TERM_VMCPU, g))

#define VM_FF_EXTERNAL_SUSPENDED_MASK     VM_FF_GROUP_MASK(FFG_EXTERNAL_SUSPENDED)
#define VMCPU_FF_EXTERNAL_SUSPENDED_MASK  VMCPU_FF_GROUP_MASK(FFG_EXTERNAL_SUSPENDED)
#define VM_FF_EXTERNAL_HALTED_MASK        VM_FF_GROUP_MASK(FFG_EXTERNAL_HALTED)
#define VMCPU_FF_EXTERNAL_HALTED_MASK     VMCPU_FF_GROUP_MASK(FFG_EXTERNAL_HALTED)
#define VM_FF_HIGH_PRIORITY_PRE_MASK      VM_FF_GROUP_MASK(FFG_HIGH_PRIORITY_PRE)
#define VMCPU_FF_HIGH_PRIORITY_PRE_MASK   VMCPU_FF_GROUP_MASK(FFG_HIGH_PRIORITY_PRE)
#define VM_FF_HIGH_PRIORITY_POST_MASK     VM_FF_GROUP_MASK(FFG_HIGH_PRIORITY_POST)
#define VMCPU_FF_HIGH_PRIORITY_POST_MASK  VMCPU_FF_GROUP_MASK(FFG_HIGH_PRIORITY_POST)
#define VM_FF_NORMAL_PRIORITY_POST_MASK   VM_FF_GROUP_MASK(FFG_NORMAL_PRIORITY_POST)
#define VMCPU_FF_NORMAL_PRIORITY_POST_MASK VMCPU_FF_GROUP_MASK(FFG_NORMAL_PRIORITY_POST)
#define VM_FF_NORMAL_PRIORITY_MASK        VM_FF_GROUP_MASK(FFG_NORMAL_PRIORITY)
#define VMCPU_FF_NORMAL_PRIORITY_MASK     VMCPU_FF_GROUP_MASK(FFG_NORMAL_PRIORITY)
#define VM_FF_ALL_REMAINING_MASK          VM_FF_GROUP_MASK(FFG_ALL_REMAINING)
#define VMCPU_FF_ALL_REMAINING_MASK       VMCPU_FF_GROUP_MASK(FFG_ALL_REMAINING)
#define VM_FF_DBGF_MASK                   VM_FF_GROUP_MASK(FFG_DBGF)
#define VMCPU_FF_DBGF_MASK                VMCPU_FF_GROUP_MASK(FFG_DBGF)
#define VM_FF_REQUEST_MASK                VM_FF_GROUP_MASK(FFG_REQUEST)
#define VMCPU_FF_REQUEST_MASK             VMCPU_FF_GROUP_MASK(FFG_REQUEST)
#define VMCPU_FF_UNHALT_MASK              VMCPU_FF_GROUP_MASK(FFG_UNHALT)
#define VM_FF_EXEC_BREAK_MASK             VM_FF_GROUP_MASK(FFG_EXEC_BREAK)
#define VMCPU_FF_EXEC_BREAK_MASK          VMCPU_FF_GROUP_MASK(FFG_EXEC_BREAK)
#define VM_FF_ALL_MASK                    (0u IXVM_FF_TABLE(FF_TERM_VM, ~0))
#define VMCPU_FF_ALL_MASK                 (0u IXVM_FF_TABLE(FF_TERM_VMCPU, ~0))

struct vm;
struct vcpu;

/* Slow paths: wake sleeping EMTs whose wake mask contains a flag just set. */
void ff_vm_notify(struct vm *vm, uint32_t flags);
void ff_vcpu_notify(struct vcpu *vcpu, uint32_t flags);

/* Names: "REQUEST", mnemonic "REQ", NULL for a bit not in the table. */
const char *vm_ff_name(unsigned bit);
const char *vmcpu_ff_name(unsigned bit);
const char *vm_ff_mnemonic(unsigned bit);
const char *vmcpu_ff_mnemonic(unsigned bit);
const char *ff_group_name(unsigned group_id);
uint32_t vm_ff_group_mask(unsigned group_id);
uint32_t vmcpu_ff_group_mask(unsigned group_id);
/* Space-separated names of the bits in `flags` ("REQUEST EMT_RENDEZVOUS"). */
void vm_ff_format(uint32_t flags, char *buf, size_t size);
void vmcpu_ff_format(uint32_t flags, char *buf, size_t size);

/* The `info fflags` text (also registered as an info handler by the VMM). */
void ff_info_print(struct vm *vm, const struct ixvm_printer *pr);

#endif
