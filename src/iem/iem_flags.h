/* SPDX-License-Identifier: MIT */
/*
 * Lazy EFLAGS (IEM-DESIGN.md 4).  Arithmetic stores two words:
 *   lf_res  the result sign-extended to 64 bits (ZF = res == 0, SF = sign),
 *   lf_aux  bit 31 CF, bit 30 CF^OF, bit 3 AF, bits 8-15 parity delta byte,
 *           bit 16 sign delta.
 * The carry-out vector of an add (a&b | (a|b)&~r) or borrow-out vector of a
 * subtract (~a&b | (~a|b)&r) gives CF (bit w-1), OF (bit w-1 ^ bit w-2) and
 * AF (bit 3) exactly.  Arbitrary flag values (POPF, SAHF, IRET) are encoded
 * with the two delta fields, so every getter is branch-free.
 */
#ifndef IXVM_IEM_FLAGS_H
#define IXVM_IEM_FLAGS_H

#include "iem/iem_internal.h"

#define IEM_LF_CF_BIT 31
#define IEM_LF_PO_BIT 30

static inline int64_t iem_sext(uint32_t v, unsigned w)
{
    return w == 8 ? (int64_t)(int8_t)v : w == 16 ? (int64_t)(int16_t)v : (int64_t)(int32_t)v;
}
static inline uint32_t iem_wmask(unsigned w) { return w == 32 ? 0xffffffffu : (1u << w) - 1; }

/* Pack a carry/borrow-out vector of width w into aux. */
static inline uint32_t iem_lf_aux_from_cv(uint32_t cv, unsigned w)
{
    return ((cv << (32 - w)) & 0xc0000000u) | (cv & 8u);
}

static inline uint32_t iem_cf(const struct iem_cpu *c) { return c->lf_aux >> 31; }
static inline uint32_t iem_of(const struct iem_cpu *c) { return ((c->lf_aux >> 31) ^ (c->lf_aux >> 30)) & 1u; }
static inline uint32_t iem_af(const struct iem_cpu *c) { return (c->lf_aux >> 3) & 1u; }
static inline uint32_t iem_zf(const struct iem_cpu *c) { return c->lf_res == 0; }
static inline uint32_t iem_sf(const struct iem_cpu *c)
{
    return (uint32_t)(((uint64_t)c->lf_res >> 63) ^ (c->lf_aux >> 16)) & 1u;
}
static inline uint32_t iem_pf(const struct iem_cpu *c)
{
    return !__builtin_parity((uint8_t)((uint64_t)c->lf_res ^ (c->lf_aux >> 8)));
}

/* Status flags as EFLAGS bits. */
static inline uint32_t iem_lf_eflags(const struct iem_cpu *c)
{
    return iem_cf(c) | iem_pf(c) << 2 | iem_af(c) << 4 | iem_zf(c) << 6 | iem_sf(c) << 7 | iem_of(c) << 11;
}

/* Encode arbitrary status flags f (EFLAGS layout) into the lazy words. */
static inline void iem_lf_set_eflags(struct iem_cpu *c, uint32_t f)
{
    uint32_t cf = f & 1u, pf = (f >> 2) & 1u, af = (f >> 4) & 1u, zf = (f >> 6) & 1u;
    uint32_t sf = (f >> 7) & 1u, of = (f >> 11) & 1u;
    c->lf_res = zf ? 0 : 1;
    c->lf_aux = cf << 31 | (cf ^ of) << 30 | af << 3 | (pf ^ zf) << 8 | sf << 16;
}

/* Set CF only, keeping the other status flags (CLC/STC/CMC, BT, shifts by 0...). */
static inline void iem_lf_set_cf(struct iem_cpu *c, uint32_t cf)
{
    uint32_t f = iem_lf_eflags(c);
    iem_lf_set_eflags(c, (f & ~1u) | (cf & 1u));
}

/* ---- ALU primitives: width w is a compile-time constant at every call ---- */
static inline uint32_t iem_alu_add(struct iem_cpu *c, uint32_t a, uint32_t b, uint32_t cin, unsigned w)
{
    uint32_t m = iem_wmask(w);
    uint32_t r = (a + b + cin) & m;
    uint32_t cv = (a & b) | ((a | b) & ~r);
    c->lf_res = iem_sext(r, w);
    c->lf_aux = iem_lf_aux_from_cv(cv, w);
    return r;
}
static inline uint32_t iem_alu_sub(struct iem_cpu *c, uint32_t a, uint32_t b, uint32_t bin, unsigned w)
{
    uint32_t m = iem_wmask(w);
    uint32_t r = (a - b - bin) & m;
    uint32_t bv = (~a & b) | ((~a | b) & r);
    c->lf_res = iem_sext(r, w);
    c->lf_aux = iem_lf_aux_from_cv(bv, w);
    return r;
}
static inline uint32_t iem_alu_logic(struct iem_cpu *c, uint32_t r, unsigned w)
{
    c->lf_res = iem_sext(r, w);
    c->lf_aux = 0;   /* CF = OF = 0, AF = 0 (undefined; P6 clears it) */
    return r;
}
/* INC/DEC: like ADD/SUB 1 but CF is kept. */
static inline uint32_t iem_alu_incdec(struct iem_cpu *c, uint32_t a, bool dec, unsigned w)
{
    uint32_t cf = c->lf_aux >> 31;
    uint32_t r = dec ? iem_alu_sub(c, a, 1, 0, w) : iem_alu_add(c, a, 1, 0, w);
    uint32_t of = ((c->lf_aux >> 31) ^ (c->lf_aux >> 30)) & 1u;
    c->lf_aux = cf << 31 | (cf ^ of) << 30 | (c->lf_aux & 8u);
    return r;
}

#define IEM_ALU_ADD(c, a, b, w) iem_alu_add(c, a, b, 0, w)
#define IEM_ALU_OR(c, a, b, w)  iem_alu_logic(c, (a) | (b), w)
#define IEM_ALU_ADC(c, a, b, w) iem_alu_add(c, a, b, iem_cf(c), w)
#define IEM_ALU_SBB(c, a, b, w) iem_alu_sub(c, a, b, iem_cf(c), w)
#define IEM_ALU_AND(c, a, b, w) iem_alu_logic(c, (a) & (b), w)
#define IEM_ALU_SUB(c, a, b, w) iem_alu_sub(c, a, b, 0, w)
#define IEM_ALU_XOR(c, a, b, w) iem_alu_logic(c, (a) ^ (b), w)
#define IEM_ALU_CMP(c, a, b, w) iem_alu_sub(c, a, b, 0, w)
#define IEM_ALU_TEST(c, a, b, w) iem_alu_logic(c, (a) & (b), w)

/* Condition codes 0..15 (SDM Vol. 2 Appendix B.1.4.7). */
static inline bool iem_cond(const struct iem_cpu *c, unsigned cc)
{
    bool r;
    switch (cc >> 1) {
    case 0: r = iem_of(c); break;
    case 1: r = iem_cf(c); break;
    case 2: r = iem_zf(c); break;
    case 3: r = iem_cf(c) | iem_zf(c); break;
    case 4: r = iem_sf(c); break;
    case 5: r = iem_pf(c); break;
    case 6: r = iem_sf(c) != iem_of(c); break;
    default: r = iem_zf(c) | (iem_sf(c) != iem_of(c)); break;
    }
    return r ^ (cc & 1);
}

#endif
