/* SPDX-License-Identifier: MIT */
/*
 * Segmentation: the per-segment access windows the inline memory path
 * checks (limit, expand-down, read/write type: SDM Vol. 3A 3.4.5, 5.3,
 * 5.4), descriptor fetches from the GDT/LDT, and segment-register loads
 * with the protected-mode checks of MOV/POP Sreg (SDM Vol. 2 "MOV", "POP").
 */
#define LOG_GROUP LOG_GROUP_IEM
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

void iem_set_cpl(struct iem_cpu *c, uint8_t cpl)
{
    c->cpl = cpl;
    c->s->cpl = cpl;
    c->tlb = c->tlb_tab[cpl == 3];
}

void iem_segc_update(struct iem_cpu *c, unsigned sreg)
{
    const struct cpum_state *s = c->s;
    const struct cpum_seg *seg = &s->seg[sreg];
    struct iem_segc *sc = &c->segc[sreg];
    sc->base = seg->base;
    sc->flat = 0;   /* set below for a flat protected-mode data/code segment */
    if (!(s->cr0 & CPUM_CR0_PE) || (s->eflags & CPUM_EFL_VM)) {
        /* Real and V86 mode: only the (cached) limit applies. */
        sc->lo = 0;
        sc->end_r = sc->end_w = (uint64_t)seg->limit + 1;
        return;
    }
    if ((seg->attr & CPUM_SEG_ATTR_UNUSABLE) || !(seg->attr & CPUM_SEG_ATTR_P) || !(seg->attr & CPUM_SEG_ATTR_S)) {
        sc->lo = 0;
        sc->end_r = sc->end_w = 0;
        return;
    }
    unsigned type = seg->attr & CPUM_SEG_ATTR_TYPE_MASK;
    bool code = type & 8;
    bool readable = !code || (type & 2);
    bool writable = !code && (type & 2);
    uint64_t end;
    if (!code && (type & 4)) {
        /* Expand-down: valid offsets are limit+1 .. 0xffff or 0xffffffff. */
        end = (seg->attr & CPUM_SEG_ATTR_D) ? 0x100000000ull : 0x10000ull;
        sc->lo = seg->limit + 1u;
        if ((uint64_t)seg->limit + 1 >= end) {
            sc->lo = 0;
            end = 0;
        }
    } else {
        sc->lo = 0;
        end = (uint64_t)seg->limit + 1;
    }
    sc->end_r = readable ? end : 0;
    sc->end_w = writable ? end : 0;
    /* Flat (IEM-DESIGN.md 6): base 0 and all 4 GiB valid skip the check in iem_lin. */
    if (sc->base == 0 && sc->lo == 0)
        sc->flat = (sc->end_r == 0x100000000ull ? IEM_SEGC_FLAT_R : 0) |
                   (sc->end_w == 0x100000000ull ? IEM_SEGC_FLAT_W : 0);
}

void iem_segc_update_all(struct iem_cpu *c)
{
    for (unsigned k = 0; k < CPUM_SREG_COUNT; k++)
        iem_segc_update(c, k);
}

void iem_desc_to_seg(struct cpum_seg *seg, uint16_t sel, uint64_t d)
{
    seg->sel = sel;
    seg->base = (uint32_t)((d >> 16) & 0xffffffu) | (uint32_t)((d >> 56) << 24);
    uint32_t limit = (uint32_t)(d & 0xffffu) | (uint32_t)((d >> 32) & 0xf0000u);
    if (d & (1ull << 55))
        limit = (limit << 12) | 0xfffu;
    seg->limit = limit;
    seg->attr = (uint32_t)(d >> 40) & 0xf0ffu;
}

/* Linear address of sel's descriptor, checking the table limit. */
static uint32_t iem_desc_addr(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, unsigned xvec)
{
    const struct cpum_state *s = c->s;
    uint32_t base, limit;
    if (sel & 4) {
        if (s->ldtr.attr & CPUM_SEG_ATTR_UNUSABLE || !(s->ldtr.sel & ~3u))
            iem_raise(c, i, xvec, sel & 0xfffcu, IEM_XF_ERR);
        base = s->ldtr.base;
        limit = s->ldtr.limit;
    } else {
        base = s->gdtr.base;
        limit = s->gdtr.limit;
    }
    if ((uint32_t)(sel & 0xfff8u) + 7u > limit)
        iem_raise(c, i, xvec, sel & 0xfffcu, IEM_XF_ERR);
    return base + (sel & 0xfff8u);
}

uint64_t iem_desc_read(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, unsigned xvec)
{
    return iem_sys_read(c, i, iem_desc_addr(c, i, sel, xvec), 8);
}

void iem_desc_set_accessed(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint64_t d)
{
    if (d & (1ull << 40))
        return;
    uint32_t la = iem_desc_addr(c, i, sel, IEM_X_GP) + 5;
    iem_sys_write(c, i, la, (uint8_t)((d >> 40) | 1u), 1);
}

#define DESC_S(d)    (((d) >> 44) & 1u)
#define DESC_TYPE(d) ((unsigned)((d) >> 40) & 0xfu)
#define DESC_DPL(d)  ((unsigned)((d) >> 45) & 3u)
#define DESC_P(d)    (((d) >> 47) & 1u)

void iem_load_sreg(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint16_t sel)
{
    struct cpum_state *s = c->s;
    struct cpum_seg *seg = &s->seg[sreg];
    if (!(s->cr0 & CPUM_CR0_PE) || (s->eflags & CPUM_EFL_VM)) {
        seg->sel = sel;
        seg->base = (uint32_t)sel << 4;
        if (s->eflags & CPUM_EFL_VM) {
            seg->limit = 0xffff;
            seg->attr = CPUM_SEG_ATTR_P | CPUM_SEG_ATTR_S | (3u << CPUM_SEG_ATTR_DPL_SHIFT) | 0x3u;
        }
        /* Real mode keeps limit and attributes ("unreal" mode caches). */
        iem_segc_update(c, sreg);
        return;
    }
    unsigned rpl = sel & 3u, cpl = c->cpl;
    if (!(sel & 0xfffcu)) {
        if (sreg == CPUM_SS)
            iem_raise_gp(c, i, 0);
        seg->sel = sel;
        seg->attr = CPUM_SEG_ATTR_UNUSABLE;
        iem_segc_update(c, sreg);
        return;
    }
    uint64_t d = iem_desc_read(c, i, sel, IEM_X_GP);
    unsigned type = DESC_TYPE(d), dpl = DESC_DPL(d);
    if (sreg == CPUM_SS) {
        /* Writable data, RPL = DPL = CPL (SDM Vol. 2 "MOV" protected-mode checks). */
        if (!DESC_S(d) || (type & 8) || !(type & 2) || rpl != cpl || dpl != cpl)
            iem_raise_gp(c, i, sel & 0xfffcu);
        if (!DESC_P(d))
            iem_raise_ss(c, i, sel & 0xfffcu);
    } else {
        bool code = type & 8, conforming = code && (type & 4);
        if (!DESC_S(d) || (code && !(type & 2)))
            iem_raise_gp(c, i, sel & 0xfffcu);
        if (!conforming && (rpl > dpl || cpl > dpl))
            iem_raise_gp(c, i, sel & 0xfffcu);
        if (!DESC_P(d))
            iem_raise_np(c, i, sel & 0xfffcu);
    }
    iem_desc_set_accessed(c, i, sel, d);
    iem_desc_to_seg(seg, sel, d | (1ull << 40));
    iem_segc_update(c, sreg);
}

void iem_load_cs_checked(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint64_t d, uint8_t new_cpl)
{
    iem_desc_set_accessed(c, i, sel, d);
    iem_desc_to_seg(&c->s->seg[CPUM_CS], (uint16_t)((sel & 0xfffcu) | new_cpl), d | (1ull << 40));
    iem_set_cpl(c, new_cpl);
    iem_segc_update(c, CPUM_CS);
}

void iem_null_outer_segs(struct iem_cpu *c)
{
    static const unsigned regs[] = { CPUM_ES, CPUM_DS, CPUM_FS, CPUM_GS };
    for (size_t k = 0; k < IXVM_ARRAY_SIZE(regs); k++) {
        struct cpum_seg *seg = &c->s->seg[regs[k]];
        unsigned type = seg->attr & 0xfu;
        bool conf_code = (type & 8) && (type & 4);
        if (!(seg->attr & CPUM_SEG_ATTR_UNUSABLE) && !conf_code &&
            ((seg->attr & CPUM_SEG_ATTR_DPL_MASK) >> CPUM_SEG_ATTR_DPL_SHIFT) < c->cpl) {
            seg->sel = 0;
            seg->attr = CPUM_SEG_ATTR_UNUSABLE;
            iem_segc_update(c, regs[k]);
        }
    }
}
