/* SPDX-License-Identifier: MIT */
/* Helpers for the x87 tests (test_iem_fpu*.c): a byte emitter for guest
 * code with disp32 memory operands, the data area, the guest run, and the
 * host reference run with a given control word (the host x87 computes the
 * expected values with plain long double arithmetic). */
#ifndef TEST_IEM_FPU_H
#define TEST_IEM_FPU_H

#include <stdint.h>
#include <string.h>

#include "test_iem_harness.h"

#define CODE 0x10000u
#define DATA 0x20000u           /* data page, separate from the code page */
#define D_X   (DATA + 0x00)     /* operands */
#define D_Y   (DATA + 0x10)
#define D_CW  (DATA + 0x20)
#define D_R   (DATA + 0x30)     /* results */
#define D_SW  (DATA + 0x40)
#define D_R2  (DATA + 0x50)
#define D_SW2 (DATA + 0x60)
#define D_ENV (DATA + 0x100)    /* FNSAVE / FNSTENV images */
#define D_ENV2 (DATA + 0x200)

struct asmb {
    uint8_t b[512];
    size_t n;
};
static IXVM_UNUSED void emit(struct asmb *a, const uint8_t *p, size_t n)
{
    cr_assert(a->n + n <= sizeof(a->b));
    memcpy(a->b + a->n, p, n);
    a->n += n;
}
#define E(a, ...) emit((a), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))
/* op /reg with a [disp32] memory operand. */
static IXVM_UNUSED void em(struct asmb *a, uint8_t op, unsigned reg, uint32_t addr)
{
    E(a, op, (uint8_t)(reg << 3 | 5), (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16), (uint8_t)(addr >> 24));
}
#define FNINIT(a) E(a, 0xdb, 0xe3)
#define FLDCW(a, m) em(a, 0xd9, 5, m)
#define FNSTSW(a, m) em(a, 0xdd, 7, m)
#define FLD80(a, m) em(a, 0xdb, 5, m)
#define FSTP80(a, m) em(a, 0xdb, 7, m)
#define HLT(a) E(a, 0xf4)

/* Load the code at CODE in flat 32-bit mode with CR0.NE (and ET) set. */
static IXVM_UNUSED void fpu_load(const struct asmb *a)
{
    load(CODE, a->b, a->n);
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->cr0 |= CPUM_CR0_NE | CPUM_CR0_ET;
}
static IXVM_UNUSED void fpu_go(void)
{
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->cr0 |= CPUM_CR0_NE | CPUM_CR0_ET;
    cr_assert_eq(iem_test_run(t, 10000), IXVM_INF_EM_HALT);
}

static IXVM_UNUSED void put80(uint32_t pa, long double v) { memcpy(ram + pa, &v, 10); }
static IXVM_UNUSED long double get80(uint32_t pa)
{
    long double v = 0;
    memcpy(&v, ram + pa, 10);
    return v;
}
static IXVM_UNUSED int eq80(uint32_t pa, long double v) { return memcmp(ram + pa, &v, 10) == 0; }

/* The 80-bit value with this significand and sign/exponent word. */
static IXVM_UNUSED long double mk80(uint64_t mant, uint16_t se)
{
    long double v = 0;
    memcpy(&v, &mant, 8);
    memcpy((uint8_t *)&v + 8, &se, 2);
    return v;
}

/* Host reference: set the host control word (all exceptions masked), clear
 * the flags; fpu_host_end returns the exception flags and restores. */
static uint16_t fpu_host_saved;
static IXVM_UNUSED void fpu_host_begin(uint16_t cw)
{
    uint16_t ncw = (uint16_t)(cw | 0x3f);
    __asm__ volatile("fnstcw %0" : "=m"(fpu_host_saved) : : "memory");
    __asm__ volatile("fldcw %0\n\tfnclex" : : "m"(ncw) : "memory");
}
static IXVM_UNUSED uint16_t fpu_host_end(void)
{
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=m"(sw) : : "memory");
    __asm__ volatile("fnclex\n\tfldcw %0" : : "m"(fpu_host_saved) : "memory");
    return sw;
}

#endif
