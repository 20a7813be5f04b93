/* SPDX-License-Identifier: MIT */
/*
 * Miscellaneous instructions (SDM Vol. 2 instruction pages): ENTER with all
 * nesting levels and both stack sizes, BOUND (#BR), ARPL (protected mode
 * only), LDS/LES/LSS/LFS/LGS (far pointer loads with the MOV Sreg checks),
 * XLAT and INT1 (ICEBP).  The register forms of BOUND and Lxs are #UD
 * through their memory-only form (Gv_M).
 */
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"

/* Offset off + add in the current address size (16-bit addressing wraps). */
static inline uint32_t iem_off_add(const struct iem_ix *i, uint32_t off, uint32_t add)
{
    return IEM_IS_ASZ32(i) ? off + add : ((off + add) & 0xffffu);
}

/* Check that a write of size bytes at sreg:off would succeed (segment,
 * page presence and rights, A/D like the real access) without storing. */
static void iem_probe_w(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off, unsigned size)
{
    (void)iem_map_w(c, i, sreg, off, size, false);
    c->bnc.active = false;   /* a bounce mapping is dropped, never committed */
}

/* ---- ENTER imm16, imm8 (SDM Vol. 2 "ENTER") ----
 * Pushes (E)BP, copies level-1 frame pointers from the enclosing frame,
 * pushes the new frame pointer (level > 0), then allocates imm16 bytes.
 * Everything that can fault (every push slot, every frame pointer read,
 * and a write at the final stack pointer: SDM "#PF if ... a write using
 * the final value of the stack pointer would cause a page fault") is
 * checked before any register or memory changes. */
static void iem_enter(struct iem_cpu *c, const struct iem_ix *i, unsigned w)
{
    unsigned sz = w / 8, level = (unsigned)i->imm & 31u;
    uint32_t alloc = i->aux;
    uint32_t smask = iem_ss32(c) ? 0xffffffffu : 0xffffu;
    uint32_t sp = iem_sp(c), bp = c->r[CPUM_EBP] & smask;
    unsigned pushes = level ? level + 1u : 1u;

    for (unsigned k = 1; k <= pushes; k++)
        iem_probe_w(c, i, CPUM_SS, (sp - k * sz) & smask, sz);
    for (unsigned k = 1; k < level; k++)
        (void)iem_rdw(c, i, CPUM_SS, (bp - k * sz) & smask, w);
    iem_probe_w(c, i, CPUM_SS, (sp - pushes * sz - alloc) & smask, sz);

    iem_push(c, i, iem_rget(c, CPUM_EBP, w), w);
    uint32_t frame = iem_rget(c, CPUM_ESP, w);
    if (level) {
        for (unsigned k = 1; k < level; k++) {
            bp = (bp - sz) & smask;
            iem_push(c, i, iem_rdw(c, i, CPUM_SS, bp, w), w);
        }
        iem_push(c, i, frame, w);
    }
    iem_sp_set(c, iem_sp(c) - alloc);
    iem_rset(c, CPUM_EBP, frame, w);
}
IEM_STATIC_HANDLER(ix_enter_i16) { iem_enter(c, i, 16); IEM_NEXT_W(c, i); }
IEM_STATIC_HANDLER(ix_enter_i32) { iem_enter(c, i, 32); IEM_NEXT_W(c, i); }
const struct iem_hset iem_hs_enter = { .f = { [IEM_S_NONE] = { NULL, ix_enter_i16, ix_enter_i32 } } };

/* ---- BOUND r, m (signed bounds pair; #BR is a fault, no error code) ---- */
static void iem_bound(struct iem_cpu *c, const struct iem_ix *i, unsigned w)
{
    uint32_t ea = iem_ea(c, i);
    int64_t lo = iem_sext(iem_rdw(c, i, IEM_SEG(i), ea, w), w);
    int64_t hi = iem_sext(iem_rdw(c, i, IEM_SEG(i), iem_off_add(i, ea, w / 8), w), w);
    int64_t v = iem_sext(iem_rget(c, i->r0, w), w);
    if (v < lo || v > hi)
        iem_raise(c, i, IEM_X_BR, 0, 0);
}
IEM_STATIC_HANDLER(ix_bound_r16_m16) { iem_bound(c, i, 16); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_bound_r32_m32) { iem_bound(c, i, 32); IEM_NEXT(c, i); }
const struct iem_hset iem_hs_bound = { .f = { [IEM_S_RM] = { NULL, ix_bound_r16_m16, ix_bound_r32_m32 } } };

/* ---- ARPL r/m16, r16: raise the RPL of the destination to the source's ---- */
static uint16_t iem_arpl(struct iem_cpu *c, uint16_t dst, uint16_t src)
{
    uint32_t f = iem_lf_eflags(c) & ~CPUM_EFL_ZF;
    if ((dst & 3u) < (src & 3u)) {
        dst = (uint16_t)((dst & ~3u) | (src & 3u));
        f |= CPUM_EFL_ZF;
    }
    iem_lf_set_eflags(c, f);
    return dst;
}
IEM_STATIC_HANDLER(ix_arpl_r16_r16)
{
    iem_rset(c, i->r0, iem_arpl(c, (uint16_t)c->r[i->r0], (uint16_t)c->r[i->r1]), 16);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_arpl_m16_r16)
{
    void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), 2, true);
    iem_st(p, iem_arpl(c, (uint16_t)iem_ld(p, 16), (uint16_t)c->r[i->r0]), 16);
    iem_commit_w(c, i, p);
    IEM_NEXT_W(c, i);
}
const struct iem_hset iem_hs_arpl = { .f = {
    [IEM_S_RR] = { NULL, ix_arpl_r16_r16 }, [IEM_S_MR] = { NULL, ix_arpl_m16_r16 } } };

/* ---- LDS/LES/LSS/LFS/LGS r, m16:16/m16:32 ----
 * Offset then selector from memory; the segment load (with all MOV Sreg
 * checks) happens before the register is written, so a fault leaves both
 * unchanged.  LSS does not create an interrupt shadow (only MOV/POP SS do). */
static void iem_lxs(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, unsigned w)
{
    uint32_t ea = iem_ea(c, i);
    uint32_t off = iem_rdw(c, i, IEM_SEG(i), ea, w);
    uint16_t sel = iem_rd16(c, i, IEM_SEG(i), iem_off_add(i, ea, w / 8));
    iem_load_sreg(c, i, sreg, sel);
    iem_rset(c, i->r0, off, w);
}
#define IEM_LXS(name, SREG)                                                                   \
    IEM_STATIC_HANDLER(ix_##name##_r16_m16) { iem_lxs(c, i, SREG, 16); IEM_NEXT(c, i); }      \
    IEM_STATIC_HANDLER(ix_##name##_r32_m32) { iem_lxs(c, i, SREG, 32); IEM_NEXT(c, i); }      \
    const struct iem_hset iem_hs_##name = { .f = { [IEM_S_RM] = { NULL, ix_##name##_r16_m16, ix_##name##_r32_m32 } } };
IEM_LXS(les, CPUM_ES)
IEM_LXS(lds, CPUM_DS)
IEM_LXS(lss, CPUM_SS)
IEM_LXS(lfs, CPUM_FS)
IEM_LXS(lgs, CPUM_GS)

/* ---- XLAT: AL = [seg:(E)BX + AL] ---- */
IEM_STATIC_HANDLER(ix_xlat_m8)
{
    uint32_t base = IEM_IS_ASZ32(i) ? c->r[CPUM_EBX] : (c->r[CPUM_EBX] & 0xffffu);
    uint8_t v = iem_rd8(c, i, IEM_SEG(i), iem_off_add(i, base, c->r[CPUM_EAX] & 0xffu));
    iem_rset(c, CPUM_EAX, v, 8);
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_xlat = { .f = { [IEM_S_NONE] = { ix_xlat_m8, ix_xlat_m8, ix_xlat_m8 } } };

/* ---- INT1 / ICEBP (F1): a #DB trap delivered like a hardware exception,
 * so the gate DPL is not checked (SDM Vol. 2 "INT n/INTO/INT3/INT1"). ---- */
IEM_STATIC_HANDLER(ix_int1) { iem_raise(c, i, IEM_X_DB, 0, IEM_XF_TRAP); }
const struct iem_hset iem_hs_int1 = { .f = { [IEM_S_NONE] = { NULL, ix_int1, ix_int1 } } };
