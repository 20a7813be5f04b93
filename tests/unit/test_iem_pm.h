/* SPDX-License-Identifier: MIT */
/* Helpers shared by the protected-mode system tests (test_iem_task.c,
 * test_iem_gate.c, test_iem_v86.c, test_iem_dbg.c): a flat 32-bit harness
 * machine with room for more GDT entries, descriptor and gate builders. */
#ifndef TEST_IEM_PM_H
#define TEST_IEM_PM_H

#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"

static struct iem_test *t;
static struct cpum_state *s;
static uint8_t *ram;

#define CODE   0x10000u
#define STACK  0x80000u
#define HLT_EIP (IEM_TEST_XCPT_HLT + 1)   /* where every harness exception ends */

static void pm_setup(void)
{
    cr_assert_eq(iem_test_create(&t, 8), 0);
    s = iem_test_state(t);
    ram = iem_test_ram(t);
    iem_test_setup_flat32(t, CODE, STACK);
    s->gdtr.limit = 0xff;   /* 32 entries: the harness uses 0x00-0x38 */
}
static void pm_teardown(void) { iem_test_destroy(t); }

static inline void load(uint32_t pa, const uint8_t *code, size_t n) { cr_assert_eq(iem_test_write(t, pa, code, n), 0); }
static inline uint32_t rd32(uint32_t pa) { uint32_t v; memcpy(&v, ram + pa, 4); return v; }
static inline uint16_t rd16(uint32_t pa) { uint16_t v; memcpy(&v, ram + pa, 2); return v; }
static inline void wr32(uint32_t pa, uint32_t v) { memcpy(ram + pa, &v, 4); }
static inline void wr16(uint32_t pa, uint16_t v) { memcpy(ram + pa, &v, 2); }
static inline struct iem_xcpt_info last(void)
{
    struct iem_xcpt_info x;
    iem_last_xcpt(iem_test_cpu(t), &x);
    return x;
}

/* Segment descriptor: type includes S (0x10) for code/data; flags = G/D nibble (0xc, 0x4, 0). */
static inline uint64_t mkdesc(uint32_t base, uint32_t limit, unsigned type, unsigned dpl, unsigned flags)
{
    return (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) | ((uint64_t)type << 40) |
           ((uint64_t)dpl << 45) | (1ull << 47) | ((uint64_t)((limit >> 16) & 0xfu) << 48) |
           ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}
/* Gate: type 4/0xc call, 5 task, 6/0xe interrupt, 7/0xf trap. */
static inline uint64_t mkgate(uint16_t sel, uint32_t off, unsigned type, unsigned dpl, unsigned params)
{
    return (off & 0xffffu) | ((uint64_t)sel << 16) | ((uint64_t)(params & 0x1fu) << 32) | ((uint64_t)type << 40) |
           ((uint64_t)dpl << 45) | (1ull << 47) | ((uint64_t)(off >> 16) << 48);
}
static inline void gdt_set(unsigned sel, uint64_t d) { memcpy(ram + IEM_TEST_GDT + (sel & ~7u), &d, 8); }
static inline uint8_t gdt_type(unsigned sel) { return ram[IEM_TEST_GDT + (sel & ~7u) + 5]; }
static inline void idt_set(unsigned vec, uint64_t g) { memcpy(ram + IEM_TEST_IDT + vec * 8, &g, 8); }

/* Segment cache as a descriptor would load it (accessed). */
static inline void seg_load(unsigned sreg, uint16_t sel, uint64_t d)
{
    struct cpum_seg *g = &s->seg[sreg];
    g->sel = sel;
    g->base = (uint32_t)((d >> 16) & 0xffffffu) | (uint32_t)((d >> 56) << 24);
    uint32_t limit = (uint32_t)(d & 0xffffu) | (uint32_t)((d >> 32) & 0xf0000u);
    if (d & (1ull << 55))
        limit = (limit << 12) | 0xfffu;
    g->limit = limit;
    g->attr = ((uint32_t)(d >> 40) & 0xf0ffu) | 1u;
}

#define FLAT_CODE3 mkdesc(0, 0xfffff, 0x1b, 3, 0xc)
#define FLAT_DATA3 mkdesc(0, 0xfffff, 0x13, 3, 0xc)
#define FLAT_CODE0 mkdesc(0, 0xfffff, 0x1b, 0, 0xc)
#define FLAT_DATA0 mkdesc(0, 0xfffff, 0x13, 0, 0xc)

/* Switch the harness CPU to ring 3 (CS 0x2b, SS/DS/ES/FS/GS 0x33). */
static inline void to_ring3(uint32_t eip, uint32_t esp)
{
    for (unsigned k = 0; k < 6; k++)
        seg_load(k, IEM_TEST_SEL_DS32_R3, FLAT_DATA3);
    seg_load(1 /* CS */, IEM_TEST_SEL_CS32_R3, FLAT_CODE3);
    s->cpl = 3;
    s->eip = eip;
    s->gpr[4] = esp;
}

#endif
