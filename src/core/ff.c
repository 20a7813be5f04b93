/* SPDX-License-Identifier: MIT */
/*
 * Forced actions: names, mnemonics and group masks generated from ff.def,
 * and the `info fflags` report (global flags, then each vCPU's, with the
 * names of the set flags and the groups that have something pending).
 */
#include <stdio.h>
#include <string.h>

#include "vmm_internal.h"

/* The whole table; lookups are by (scope, bit) and not on any hot path. */
struct ff_entry {
    bool vm;
    unsigned bit;
    const char *name;
    const char *mnemonic;
};

#define FF_ENTRY(a, scope, name, bit, mn, groups) { FF_SCOPE_IS_VM_##scope, (bit), #name, mn },
static const struct ff_entry ff_table[] = { IXVM_FF_TABLE(FF_ENTRY, 0) };
#undef FF_ENTRY

static const struct ff_entry *ff_find(bool vm, unsigned bit)
{
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(ff_table); i++)
        if (ff_table[i].vm == vm && ff_table[i].bit == bit)
            return &ff_table[i];
    return NULL;
}

static const char *const ff_group_names[] = {
#define FF_GROUP_NAME(name, desc) #name,
    IXVM_FF_GROUPS(FF_GROUP_NAME)
#undef FF_GROUP_NAME
};

#define FF_GROUP_MASKS(name, desc) VM_FF_GROUP_MASK(FFG_##name),
static const uint32_t ff_vm_group_masks[] = { IXVM_FF_GROUPS(FF_GROUP_MASKS) };
#undef FF_GROUP_MASKS
#define FF_GROUP_MASKS(name, desc) VMCPU_FF_GROUP_MASK(FFG_##name),
static const uint32_t ff_vmcpu_group_masks[] = { IXVM_FF_GROUPS(FF_GROUP_MASKS) };
#undef FF_GROUP_MASKS

const char *vm_ff_name(unsigned bit)
{
    const struct ff_entry *e = ff_find(true, bit);
    return e ? e->name : NULL;
}
const char *vmcpu_ff_name(unsigned bit)
{
    const struct ff_entry *e = ff_find(false, bit);
    return e ? e->name : NULL;
}
const char *vm_ff_mnemonic(unsigned bit)
{
    const struct ff_entry *e = ff_find(true, bit);
    return e ? e->mnemonic : NULL;
}
const char *vmcpu_ff_mnemonic(unsigned bit)
{
    const struct ff_entry *e = ff_find(false, bit);
    return e ? e->mnemonic : NULL;
}
const char *ff_group_name(unsigned group_id)
{
    return group_id < FF_GROUP_COUNT ? ff_group_names[group_id] : NULL;
}
uint32_t vm_ff_group_mask(unsigned group_id)
{
    return group_id < FF_GROUP_COUNT ? ff_vm_group_masks[group_id] : 0;
}
uint32_t vmcpu_ff_group_mask(unsigned group_id)
{
    return group_id < FF_GROUP_COUNT ? ff_vmcpu_group_masks[group_id] : 0;
}

static void ff_format(bool vm, uint32_t flags, char *buf, size_t size)
{
    size_t off = 0;
    if (size)
        buf[0] = '\0';
    for (unsigned bit = 0; bit < 32 && size; bit++) {
        if (!(flags & (1u << bit)))
            continue;
        char unknown[16];
        const struct ff_entry *e = ff_find(vm, bit);
        const char *name = e ? e->name : NULL;
        if (!name) {
            snprintf(unknown, sizeof(unknown), "bit%u", bit);
            name = unknown;
        }
        int n = snprintf(buf + off, size - off, "%s%s", off ? " " : "", name);
        if (n < 0 || (size_t)n >= size - off)
            break;
        off += (size_t)n;
    }
}

void vm_ff_format(uint32_t flags, char *buf, size_t size)
{
    ff_format(true, flags, buf, size);
}
void vmcpu_ff_format(uint32_t flags, char *buf, size_t size)
{
    ff_format(false, flags, buf, size);
}

/* One block: "<title>: 0x%08x", the set flags one per line, pending groups. */
static void ff_info_block(const struct ixvm_printer *pr, const char *title, uint32_t flags,
                          bool vm, const uint32_t *group_masks)
{
    ixvm_pr(pr, "%s: 0x%08x\n", title, flags);
    for (unsigned bit = 0; bit < 32; bit++) {
        if (!(flags & (1u << bit)))
            continue;
        const struct ff_entry *e = ff_find(vm, bit);
        if (e)
            ixvm_pr(pr, "    %s\n", e->name);
        else
            ixvm_pr(pr, "    unknown bit %u\n", bit);
    }
    if (!flags)
        return;
    ixvm_pr(pr, "    Pending groups:");
    for (unsigned g = 0; g < FF_GROUP_COUNT; g++)
        if (flags & group_masks[g])
            ixvm_pr(pr, " %s", ff_group_names[g]);
    ixvm_pr(pr, "\n");
}

void ff_info_print(struct vm *vm, const struct ixvm_printer *pr)
{
    ff_info_block(pr, "Global FFs", atomic_load(&vm->ff), true, ff_vm_group_masks);
    for (uint32_t i = 0; i < vm->ncpus; i++) {
        char title[32];
        snprintf(title, sizeof(title), "CPU %u FFs", i);
        ff_info_block(pr, title, atomic_load(&vm->cpus[i].ff), false, ff_vmcpu_group_masks);
    }
}
