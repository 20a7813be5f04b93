/* SPDX-License-Identifier: MIT */
/*
 * Private helpers of the arithmetic families (shifts, multiply/divide, BCD,
 * bit operations, XADD/CMPXCHG): flag writers that keep the lazy-flag
 * encoding of iem_flags.h, and the "may this LOCKed operand use a host
 * atomic" test (IEM-DESIGN.md 8, docs/iem.md "LOCK").
 */
#ifndef IXVM_IEM_ARITH_H
#define IXVM_IEM_ARITH_H

#include "iem/iem_flags.h"
#include "iem/iem_mem.h"

/* Result-style flags: SF ZF PF from r (width w), CF and OF given, AF = 0
 * (what Intel P6+ produces for shifts and SHLD/SHRD, where AF is undefined). */
static inline void iem_arith_set_res(struct iem_cpu *c, uint32_t r, uint32_t cf, uint32_t of, unsigned w)
{
    c->lf_res = iem_sext(r, w);
    c->lf_aux = cf << 31 | (cf ^ of) << 30;
}

/* Change CF and OF only (rotates).  CF/OF live in aux bits 31/30, which no
 * other getter reads, so the rest of the encoding stays valid. */
static inline void iem_arith_set_cf_of(struct iem_cpu *c, uint32_t cf, uint32_t of)
{
    c->lf_aux = (c->lf_aux & 0x3fffffffu) | cf << 31 | (cf ^ of) << 30;
}

/* Change ZF only (CMPXCHG8B). */
static inline void iem_arith_set_zf(struct iem_cpu *c, uint32_t zf)
{
    uint32_t f = iem_lf_eflags(c);
    iem_lf_set_eflags(c, (f & ~CPUM_EFL_ZF) | (zf ? CPUM_EFL_ZF : 0));
}

/* EFLAGS-layout PF for the low byte of v. */
static inline uint32_t iem_arith_pf(uint32_t v)
{
    return __builtin_parity(v & 0xffu) ? 0 : CPUM_EFL_PF;
}

/* A LOCKed access through host pointer p of size bytes uses a host atomic
 * only when other vCPUs run concurrently (iem_config.multi_threaded) and the
 * operand is guest RAM (not the bounce buffer) and naturally aligned; else a
 * plain read-modify-write is exact: alone, or after iem_lock_split put the
 * instruction in an exclusive section. */
static inline bool iem_arith_atomic(const struct iem_cpu *c, const void *p, unsigned size)
{
    return c->multi_threaded && p != (const void *)c->bounce && ((uintptr_t)p & (size - 1u)) == 0;
}

#endif
