/* SPDX-License-Identifier: MIT */
/*
 * Guest memory access for handlers: effective address, segmentation window
 * check, and the inline soft-TLB fast path (IEM-DESIGN.md 5).  Everything
 * that misses goes to the out-of-line slow paths in iem_mem.c.
 *
 * Writes: p = iem_map_w(...) returns a host pointer (TLB hit) or the bounce
 * buffer; store into it, then iem_commit_w(c, i, p).  All faulting checks
 * happen in iem_map_w, so an instruction maps all its destinations first and
 * commits afterwards (multi-part writes are one mapping).
 */
#ifndef IXVM_IEM_MEM_H
#define IXVM_IEM_MEM_H

#include "iem/iem_internal.h"

/* Effective address of the ModRM memory operand (offset within the segment). */
static inline uint32_t iem_ea(const struct iem_cpu *c, const struct iem_ix *i)
{
    uint32_t ea = c->r[i->base] + (c->r[i->index] << (i->sc_seg_asz & IEM_SC_MASK)) + i->disp;
    return IEM_IS_ASZ32(i) ? ea : (ea & 0xffffu);
}

/* Segment window check -> linear address. acc: IEM_ACC_R or IEM_ACC_W. */
static inline uint32_t iem_lin(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off,
                               unsigned size, unsigned acc)
{
    const struct iem_segc *sc = &c->segc[sreg];
    /* Flat: only the 4 GiB end can be crossed (SDM Vol. 3A 5.3: the last byte is checked). */
    if (IXVM_LIKELY((sc->flat & ((acc & IEM_ACC_W) ? IEM_SEGC_FLAT_W : IEM_SEGC_FLAT_R)) && off <= 0u - size))
        return off;
    uint64_t end = (acc & IEM_ACC_W) ? sc->end_w : sc->end_r;
    if (IXVM_UNLIKELY(off < sc->lo || (uint64_t)off + size > end))
        iem_seg_fault(c, i, sreg, off, size, acc);
    return sc->base + off;
}

static inline struct iem_tlbe *iem_tlbe_of(struct iem_cpu *c, uint32_t la)
{
    return &c->tlb[(la >> 12) & (IEM_TLB_SIZE - 1)];
}
static inline uint64_t iem_tlb_tag(const struct iem_cpu *c, uint32_t la)
{
    return (uint64_t)(la & 0xfffff000u) | c->tlb_rev;
}

/* Read size bytes at linear la (no segmentation). */
static inline uint64_t iem_rd_lin(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned size)
{
    struct iem_tlbe *e = iem_tlbe_of(c, la);
    if (IXVM_LIKELY(e->tag_r == iem_tlb_tag(c, la) && (la & 0xfffu) <= 0x1000u - size)) {
        const uint8_t *h = (const uint8_t *)(uintptr_t)(la + e->addend);
        switch (size) {
        case 1: return *h;
        case 2: { uint16_t v; memcpy(&v, h, 2); return v; }
        case 4: { uint32_t v; memcpy(&v, h, 4); return v; }
        default: { uint64_t v; memcpy(&v, h, 8); return v; }
        }
    }
    return iem_rd_slow(c, i, la, size, IEM_ACC_R);
}

static inline uint8_t iem_rd8(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off)
{
    return (uint8_t)iem_rd_lin(c, i, iem_lin(c, i, sreg, off, 1, IEM_ACC_R), 1);
}
static inline uint16_t iem_rd16(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off)
{
    return (uint16_t)iem_rd_lin(c, i, iem_lin(c, i, sreg, off, 2, IEM_ACC_R), 2);
}
static inline uint32_t iem_rd32(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off)
{
    return (uint32_t)iem_rd_lin(c, i, iem_lin(c, i, sreg, off, 4, IEM_ACC_R), 4);
}
static inline uint64_t iem_rd64(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off)
{
    return iem_rd_lin(c, i, iem_lin(c, i, sreg, off, 8, IEM_ACC_R), 8);
}
/* Width-generic read (w = 8/16/32). */
static inline uint32_t iem_rdw(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off, unsigned w)
{
    return (uint32_t)iem_rd_lin(c, i, iem_lin(c, i, sreg, off, w / 8, IEM_ACC_R), w / 8);
}

/* Map size bytes at linear la for writing; rmw: the bounce holds the old bytes. */
static inline void *iem_map_w_lin(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned size, bool rmw)
{
    struct iem_tlbe *e = iem_tlbe_of(c, la);
    if (IXVM_LIKELY(e->tag_w == iem_tlb_tag(c, la) && (la & 0xfffu) <= 0x1000u - size))
        return (void *)(uintptr_t)(la + e->addend);
    return iem_map_w_slow(c, i, la, size, rmw, IEM_ACC_W);
}
static inline void *iem_map_w(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off,
                              unsigned size, bool rmw)
{
    return iem_map_w_lin(c, i, iem_lin(c, i, sreg, off, size, IEM_ACC_W), size, rmw);
}
static inline void iem_commit_w(struct iem_cpu *c, const struct iem_ix *i, void *p)
{
    if (IXVM_UNLIKELY(p == (void *)c->bounce))
        iem_commit_slow(c, i);
}

static inline uint32_t iem_ld(const void *p, unsigned w)
{
    if (w == 8)
        return *(const uint8_t *)p;
    if (w == 16) { uint16_t v; memcpy(&v, p, 2); return v; }
    uint32_t v; memcpy(&v, p, 4); return v;
}
static inline void iem_st(void *p, uint32_t v, unsigned w)
{
    if (w == 8)
        *(uint8_t *)p = (uint8_t)v;
    else if (w == 16) { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); }
    else memcpy(p, &v, 4);
}

static inline void iem_wrw(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off, uint32_t v, unsigned w)
{
    void *p = iem_map_w(c, i, sreg, off, w / 8, false);
    iem_st(p, v, w);
    iem_commit_w(c, i, p);
}
#define iem_wr8(c, i, s, o, v)  iem_wrw(c, i, s, o, v, 8)
#define iem_wr16(c, i, s, o, v) iem_wrw(c, i, s, o, v, 16)
#define iem_wr32(c, i, s, o, v) iem_wrw(c, i, s, o, v, 32)

/* ---- registers ---- */
static inline uint8_t *iem_r8p(struct iem_cpu *c, unsigned off) { return (uint8_t *)c->r + off; }
static inline uint32_t iem_rget(const struct iem_cpu *c, unsigned reg, unsigned w)
{
    if (w == 8)
        return ((const uint8_t *)c->r)[reg];
    return w == 16 ? (c->r[reg] & 0xffffu) : c->r[reg];
}
static inline void iem_rset(struct iem_cpu *c, unsigned reg, uint32_t v, unsigned w)
{
    if (w == 8)
        ((uint8_t *)c->r)[reg] = (uint8_t)v;
    else if (w == 16)
        c->r[reg] = (c->r[reg] & 0xffff0000u) | (v & 0xffffu);
    else
        c->r[reg] = v;
}

/* ---- stack (SS.B selects ESP or SP) ---- */
static inline bool iem_ss32(const struct iem_cpu *c) { return (c->s->seg[CPUM_SS].attr & CPUM_SEG_ATTR_D) != 0; }
static inline uint32_t iem_sp(const struct iem_cpu *c) { return iem_ss32(c) ? c->r[CPUM_ESP] : (c->r[CPUM_ESP] & 0xffffu); }
static inline void iem_sp_set(struct iem_cpu *c, uint32_t v)
{
    if (iem_ss32(c))
        c->r[CPUM_ESP] = v;
    else
        c->r[CPUM_ESP] = (c->r[CPUM_ESP] & 0xffff0000u) | (v & 0xffffu);
}
/* Offset after subtracting n from the stack pointer, wrapped to the stack width. */
static inline uint32_t iem_sp_sub(const struct iem_cpu *c, uint32_t n)
{
    uint32_t v = iem_sp(c) - n;
    return iem_ss32(c) ? v : (v & 0xffffu);
}
static inline uint32_t iem_sp_add(const struct iem_cpu *c, uint32_t n)
{
    uint32_t v = iem_sp(c) + n;
    return iem_ss32(c) ? v : (v & 0xffffu);
}
/* Push one value of w bits (all checks before ESP changes). */
static inline void iem_push(struct iem_cpu *c, const struct iem_ix *i, uint32_t v, unsigned w)
{
    uint32_t sp = iem_sp_sub(c, w / 8);
    void *p = iem_map_w(c, i, CPUM_SS, sp, w / 8, false);
    iem_st(p, v, w);
    iem_commit_w(c, i, p);
    iem_sp_set(c, sp);
}
/* Read the value at the top of the stack + skip bytes without popping. */
static inline uint32_t iem_peek(struct iem_cpu *c, const struct iem_ix *i, uint32_t skip, unsigned w)
{
    return iem_rdw(c, i, CPUM_SS, iem_sp_add(c, skip), w);
}

#endif
