/* SPDX-License-Identifier: MIT */
/*
 * Descriptor instructions and fast system calls (SDM Vol. 2 instruction
 * pages, Vol. 3A 5.10 "Pointer Validation", 7.2 TSS, 5.8.7 SYSENTER/SYSEXIT):
 * SLDT, STR, LLDT, LTR (marks the TSS busy), VERR, VERW, LAR, LSL (ZF
 * reports validity, no fault for bad selectors), SYSENTER and SYSEXIT with
 * the IA32_SYSENTER_CS/ESP/EIP MSRs, and RDPMC.
 */
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"

#define DESC_TYPE(d) ((unsigned)((d) >> 40) & 0xfu)
#define DESC_S(d)    ((unsigned)((d) >> 44) & 1u)
#define DESC_DPL(d)  ((unsigned)((d) >> 45) & 3u)
#define DESC_P(d)    ((unsigned)((d) >> 47) & 1u)

static void iem_set_zf(struct iem_cpu *c, bool zf)
{
    iem_lf_set_eflags(c, (iem_lf_eflags(c) & ~CPUM_EFL_ZF) | (zf ? CPUM_EFL_ZF : 0u));
}

static void iem_need_cpl0(struct iem_cpu *c, const struct iem_ix *i)
{
    if (c->cpl != 0)
        iem_raise_gp(c, i, 0);
}

/* The 16-bit selector operand of an Ew form (register r or memory). */
static uint16_t iem_sel_r(const struct iem_cpu *c, unsigned r) { return (uint16_t)c->r[r]; }
static uint16_t iem_sel_m(struct iem_cpu *c, const struct iem_ix *i) { return iem_rd16(c, i, IEM_SEG(i), iem_ea(c, i)); }

/* ---- SLDT / STR: 16 bits to memory; a 32-bit register gets the selector
 * zero-extended (P6 and later clear the upper half). ---- */
static void iem_store_sel_r(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel)
{
    iem_rset(c, i->r0, sel, IEM_IS_OSZ32(i) ? 32 : 16);
}
IEM_STATIC_HANDLER(ix_sldt_r16) { iem_store_sel_r(c, i, c->s->ldtr.sel); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_sldt_m16) { iem_wr16(c, i, IEM_SEG(i), iem_ea(c, i), c->s->ldtr.sel); IEM_NEXT_W(c, i); }
IEM_STATIC_HANDLER(ix_str_r16) { iem_store_sel_r(c, i, c->s->tr.sel); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_str_m16) { iem_wr16(c, i, IEM_SEG(i), iem_ea(c, i), c->s->tr.sel); IEM_NEXT_W(c, i); }
const struct iem_hset iem_hs_sldt = { .f = { [IEM_S_R] = { NULL, ix_sldt_r16 }, [IEM_S_M] = { NULL, ix_sldt_m16 } } };
const struct iem_hset iem_hs_str = { .f = { [IEM_S_R] = { NULL, ix_str_r16 }, [IEM_S_M] = { NULL, ix_str_m16 } } };

/* ---- LLDT (SDM Vol. 2 "LLDT"): a null selector leaves LDTR unusable. ---- */
static void iem_lldt(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel)
{
    iem_need_cpl0(c, i);
    struct cpum_seg *ldtr = &c->s->ldtr;
    if (!(sel & 0xfffcu)) {
        ldtr->sel = sel;
        ldtr->attr = CPUM_SEG_ATTR_UNUSABLE;
        return;
    }
    if (sel & 4u)
        iem_raise_gp(c, i, sel & 0xfffcu);
    uint64_t d = iem_desc_read(c, i, sel, IEM_X_GP);
    if (DESC_S(d) || DESC_TYPE(d) != 2)
        iem_raise_gp(c, i, sel & 0xfffcu);
    if (!DESC_P(d))
        iem_raise_np(c, i, sel & 0xfffcu);
    iem_desc_to_seg(ldtr, sel, d);
}
IEM_STATIC_HANDLER(ix_lldt_r16) { iem_lldt(c, i, iem_sel_r(c, i->r0)); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_lldt_m16) { iem_lldt(c, i, iem_sel_m(c, i)); IEM_NEXT(c, i); }
const struct iem_hset iem_hs_lldt = { .f = { [IEM_S_R] = { NULL, ix_lldt_r16 }, [IEM_S_M] = { NULL, ix_lldt_m16 } } };

/* ---- LTR (SDM Vol. 2 "LTR"): an available 16- or 32-bit TSS in the GDT;
 * the descriptor is marked busy in memory before TR is loaded. ---- */
static void iem_ltr(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel)
{
    iem_need_cpl0(c, i);
    if (!(sel & 0xfffcu))
        iem_raise_gp(c, i, 0);
    if (sel & 4u)
        iem_raise_gp(c, i, sel & 0xfffcu);
    uint64_t d = iem_desc_read(c, i, sel, IEM_X_GP);
    if (DESC_S(d) || (DESC_TYPE(d) != 1 && DESC_TYPE(d) != 9))
        iem_raise_gp(c, i, sel & 0xfffcu);
    if (!DESC_P(d))
        iem_raise_np(c, i, sel & 0xfffcu);
    d |= 2ull << 40;   /* busy */
    iem_sys_write(c, i, c->s->gdtr.base + (sel & 0xfff8u) + 5u, (uint8_t)(d >> 40), 1);
    iem_desc_to_seg(&c->s->tr, sel, d);
}
IEM_STATIC_HANDLER(ix_ltr_r16) { iem_ltr(c, i, iem_sel_r(c, i->r0)); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_ltr_m16) { iem_ltr(c, i, iem_sel_m(c, i)); IEM_NEXT_W(c, i); }
const struct iem_hset iem_hs_ltr = { .f = { [IEM_S_R] = { NULL, ix_ltr_r16 }, [IEM_S_M] = { NULL, ix_ltr_m16 } } };

/* ---- pointer validation (SDM Vol. 3A 5.10.1): VERR VERW LAR LSL ---- */

/* sel's descriptor, or false for a null selector, an unusable LDT or an
 * index beyond the table limit (these set ZF=0 instead of faulting). */
static bool iem_desc_peek(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint64_t *d)
{
    const struct cpum_state *s = c->s;
    uint32_t base, limit;
    if (!(sel & 0xfffcu))
        return false;
    if (sel & 4u) {
        if ((s->ldtr.attr & CPUM_SEG_ATTR_UNUSABLE) || !(s->ldtr.sel & 0xfffcu))
            return false;
        base = s->ldtr.base;
        limit = s->ldtr.limit;
    } else {
        base = s->gdtr.base;
        limit = s->gdtr.limit;
    }
    if ((uint32_t)(sel & 0xfff8u) + 7u > limit)
        return false;
    *d = iem_sys_read(c, i, base + (sel & 0xfff8u), 8);
    return true;
}

/* DPL >= max(CPL, RPL), except for conforming code segments. */
static bool iem_desc_visible(const struct iem_cpu *c, uint16_t sel, uint64_t d)
{
    bool conforming = DESC_S(d) && (DESC_TYPE(d) & 0xcu) == 0xcu;
    return conforming || (DESC_DPL(d) >= c->cpl && DESC_DPL(d) >= (sel & 3u));
}

/* VERR: readable code or data; VERW: writable data.  Presence is not checked. */
static void iem_verx(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, bool write)
{
    uint64_t d;
    bool ok = iem_desc_peek(c, i, sel, &d) && DESC_S(d) && iem_desc_visible(c, sel, d);
    if (ok) {
        unsigned type = DESC_TYPE(d);
        bool code = type & 8u;
        ok = write ? (!code && (type & 2u)) : (!code || (type & 2u));
    }
    iem_set_zf(c, ok);
}
IEM_STATIC_HANDLER(ix_verr_r16) { iem_verx(c, i, iem_sel_r(c, i->r0), false); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_verr_m16) { iem_verx(c, i, iem_sel_m(c, i), false); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_verw_r16) { iem_verx(c, i, iem_sel_r(c, i->r0), true); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_verw_m16) { iem_verx(c, i, iem_sel_m(c, i), true); IEM_NEXT(c, i); }
const struct iem_hset iem_hs_verr = { .f = { [IEM_S_R] = { NULL, ix_verr_r16 }, [IEM_S_M] = { NULL, ix_verr_m16 } } };
const struct iem_hset iem_hs_verw = { .f = { [IEM_S_R] = { NULL, ix_verw_r16 }, [IEM_S_M] = { NULL, ix_verw_m16 } } };

/* System descriptor types LAR accepts (SDM Vol. 2 "LAR" table): TSS 16/32
 * available and busy, LDT, call gates 16/32, task gate.  LSL accepts the
 * ones that have a limit: the TSSs and the LDT. */
#define IEM_LAR_SYS_OK ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 9) | (1u << 11) | (1u << 12))
#define IEM_LSL_SYS_OK ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 9) | (1u << 11))

static bool iem_larlsl_check(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint32_t sys_ok, uint64_t *d)
{
    if (!iem_desc_peek(c, i, sel, d))
        return false;
    if (!DESC_S(*d) && !((sys_ok >> DESC_TYPE(*d)) & 1u))
        return false;
    return iem_desc_visible(c, sel, *d);
}

/* LAR: the access-rights bytes (bits 8-23 of the high dword, masked
 * 0x00f0ff00; 0xff00 for a 16-bit operand).  ZF=0 leaves the register. */
static void iem_lar(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, unsigned w)
{
    uint64_t d;
    bool ok = iem_larlsl_check(c, i, sel, IEM_LAR_SYS_OK, &d);
    if (ok)
        iem_rset(c, i->r0, (uint32_t)(d >> 32) & (w == 32 ? 0x00f0ff00u : 0xff00u), w);
    iem_set_zf(c, ok);
}
/* LSL: the byte-granular limit (scaled by G). */
static void iem_lsl(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, unsigned w)
{
    uint64_t d;
    bool ok = iem_larlsl_check(c, i, sel, IEM_LSL_SYS_OK, &d);
    if (ok) {
        uint32_t limit = (uint32_t)(d & 0xffffu) | (uint32_t)((d >> 32) & 0xf0000u);
        if (d & (1ull << 55))
            limit = (limit << 12) | 0xfffu;
        iem_rset(c, i->r0, limit, w);
    }
    iem_set_zf(c, ok);
}
#define IEM_LARLSL(name)                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_r16_r16) { iem_##name(c, i, iem_sel_r(c, i->r1), 16); IEM_NEXT(c, i); }     \
    IEM_STATIC_HANDLER(ix_##name##_r32_r16) { iem_##name(c, i, iem_sel_r(c, i->r1), 32); IEM_NEXT(c, i); }     \
    IEM_STATIC_HANDLER(ix_##name##_r16_m16) { iem_##name(c, i, iem_sel_m(c, i), 16); IEM_NEXT(c, i); }         \
    IEM_STATIC_HANDLER(ix_##name##_r32_m16) { iem_##name(c, i, iem_sel_m(c, i), 32); IEM_NEXT(c, i); }         \
    const struct iem_hset iem_hs_##name = { .f = {                                                            \
        [IEM_S_RR] = { NULL, ix_##name##_r16_r16, ix_##name##_r32_r16 },                                       \
        [IEM_S_RM] = { NULL, ix_##name##_r16_m16, ix_##name##_r32_m16 } } };
IEM_LARLSL(lar)
IEM_LARLSL(lsl)

/* ---- SYSENTER / SYSEXIT (SDM Vol. 2 "SYSENTER", "SYSEXIT"; Vol. 3A 5.8.7) ----
 * Flat 4 GiB segments are loaded without reading the GDT. */
static void iem_flat_seg(struct cpum_seg *seg, uint16_t sel, unsigned type, unsigned dpl)
{
    seg->sel = sel;
    seg->base = 0;
    seg->limit = 0xffffffffu;
    seg->attr = type | CPUM_SEG_ATTR_S | (dpl << CPUM_SEG_ATTR_DPL_SHIFT) | CPUM_SEG_ATTR_P | CPUM_SEG_ATTR_D |
                CPUM_SEG_ATTR_G;
}

static void iem_fast_call_segs(struct iem_cpu *c, uint16_t cs, uint16_t ss, unsigned cpl)
{
    struct cpum_state *s = c->s;
    iem_flat_seg(&s->seg[CPUM_CS], cs, 0xb, cpl);   /* execute/read, accessed */
    iem_flat_seg(&s->seg[CPUM_SS], ss, 0x3, cpl);   /* read/write, accessed */
    iem_set_cpl(c, (uint8_t)cpl);
    iem_segc_update_all(c);
}

IEM_STATIC_HANDLER(ix_sysenter)
{
    struct cpum_state *s = c->s;
    uint16_t cs = (uint16_t)s->msr.sysenter_cs;
    if (!(s->cr0 & CPUM_CR0_PE) || !(cs & 0xfffcu))
        iem_raise_gp(c, i, 0);
    s->eflags &= ~(CPUM_EFL_VM | CPUM_EFL_IF | CPUM_EFL_RF);
    iem_fast_call_segs(c, cs & 0xfffcu, (uint16_t)((cs & 0xfffcu) + 8u), 0);
    c->r[CPUM_ESP] = s->msr.sysenter_esp;
    return iem_branch_exit(c, i, s->msr.sysenter_eip);
}
const struct iem_hset iem_hs_sysenter = { .f = { [IEM_S_NONE] = { NULL, ix_sysenter, ix_sysenter } } };

IEM_STATIC_HANDLER(ix_sysexit)
{
    struct cpum_state *s = c->s;
    uint16_t cs = (uint16_t)s->msr.sysenter_cs;
    if (!(s->cr0 & CPUM_CR0_PE) || c->cpl != 0 || (s->eflags & CPUM_EFL_VM) || !(cs & 0xfffcu))
        iem_raise_gp(c, i, 0);
    iem_fast_call_segs(c, (uint16_t)((cs + 16u) | 3u), (uint16_t)((cs + 24u) | 3u), 3);
    c->r[CPUM_ESP] = c->r[CPUM_ECX];
    return iem_branch_exit(c, i, c->r[CPUM_EDX]);
}
const struct iem_hset iem_hs_sysexit = { .f = { [IEM_S_NONE] = { NULL, ix_sysexit, ix_sysexit } } };

/* ---- RDPMC (SDM Vol. 2 "RDPMC"): CPL 0 or CR4.PCE; P6 has counters 0 and
 * 1.  The counters are not modelled (no PerfEvtSel MSRs): they read 0. ---- */
IEM_STATIC_HANDLER(ix_rdpmc)
{
    const struct cpum_state *s = c->s;
    if ((s->cr0 & CPUM_CR0_PE) && c->cpl != 0 && !(s->cr4 & CPUM_CR4_PCE))
        iem_raise_gp(c, i, 0);
    if (c->r[CPUM_ECX] > 1)
        iem_raise_gp(c, i, 0);
    c->r[CPUM_EAX] = 0;
    c->r[CPUM_EDX] = 0;
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_rdpmc = { .f = { [IEM_S_NONE] = { NULL, ix_rdpmc, ix_rdpmc } } };
