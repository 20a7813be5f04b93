/* SPDX-License-Identifier: MIT */
/*
 * Virtual-8086 mode (SDM Vol. 3A chapter 20): IRET into V86 mode from
 * CPL 0 (20.2.1), IRET inside V86 mode (IOPL 3 acts as in real mode,
 * otherwise #GP(0) or the VME form), INT n with IOPL and the VME
 * interrupt-redirection bitmap (20.4.2, Table 20-2), the VME/PVI
 * virtualized CLI/STI/PUSHF/POPF (20.4.1, 20.4.4), and leaving V86 mode
 * for a ring-0 handler (20.3.1.1; the frame itself is built in iem_xcpt.c).
 * Segment loads in V86 mode are in iem_seg.c (iem_load_sreg).
 */
#define LOG_GROUP LOG_GROUP_IEM
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

static unsigned iem_iopl_of(const struct iem_cpu *c) { return (c->s->eflags & CPUM_EFL_IOPL) >> 12; }

static void iem_v86_seg(struct iem_cpu *c, unsigned sreg, uint16_t sel)
{
    struct cpum_seg *seg = &c->s->seg[sreg];
    seg->sel = sel;
    seg->base = (uint32_t)sel << 4;
    seg->limit = 0xffff;
    seg->attr = CPUM_SEG_ATTR_P | CPUM_SEG_ATTR_S | (3u << CPUM_SEG_ATTR_DPL_SHIFT) | 0x3u;
    iem_segc_update(c, sreg);
}

void iem_v86_leave(struct iem_cpu *c)
{
    static const unsigned regs[] = { CPUM_ES, CPUM_DS, CPUM_FS, CPUM_GS };
    c->s->eflags &= ~CPUM_EFL_VM;
    for (size_t k = 0; k < IXVM_ARRAY_SIZE(regs); k++) {
        c->s->seg[regs[k]].sel = 0;
        c->s->seg[regs[k]].attr = CPUM_SEG_ATTR_UNUSABLE;
        iem_segc_update(c, regs[k]);
    }
}

/* IRET from CPL 0 with VM=1 in the popped EFLAGS: 9 dwords (SDM Vol. 2 IRET
 * "RETURN-TO-VIRTUAL-8086-MODE"). */
const struct iem_ix *iem_iret_to_v86(struct iem_cpu *c, const struct iem_ix *i)
{
    uint32_t v[9];
    for (unsigned k = 0; k < 9; k++)
        v[k] = iem_peek(c, i, k * 4u, 32);
    c->nmi_blocked = false;
    iem_set_eflags(c, v[2]);   /* VM, IOPL, VIF, VIP all from the image */
    iem_set_cpl(c, 3);
    static const unsigned order[6][2] = { { CPUM_CS, 1 }, { CPUM_SS, 4 }, { CPUM_ES, 5 },
                                          { CPUM_DS, 6 }, { CPUM_FS, 7 }, { CPUM_GS, 8 } };
    for (unsigned k = 0; k < 6; k++)
        iem_v86_seg(c, order[k][0], (uint16_t)v[order[k][1]]);
    c->r[CPUM_ESP] = v[3];
    LOG2("IRET to V86 %04x:%04x", (unsigned)(uint16_t)v[1], v[0] & 0xffffu);
    return iem_branch_exit(c, i, v[0] & 0xffffu);
}

/* IRET in V86 mode (SDM Vol. 2 IRET, Vol. 3A 20.2.7 and 20.4.4). */
const struct iem_ix *iem_iret_v86(struct iem_cpu *c, const struct iem_ix *i)
{
    struct cpum_state *s = c->s;
    unsigned w = IEM_IS_OSZ32(i) ? 32 : 16, b = w / 8;
    bool vme = iem_iopl_of(c) < 3;
    if (vme && (!(s->cr4 & CPUM_CR4_VME) || w == 32))
        iem_raise_gp(c, i, 0);
    uint32_t off = iem_peek(c, i, 0, w);
    uint16_t sel = (uint16_t)iem_peek(c, i, b, 16);
    uint32_t fl = iem_peek(c, i, 2 * b, w);
    if (off > s->seg[CPUM_CS].limit)
        iem_raise_gp(c, i, 0);
    /* IOPL, VM, VIF, VIP never change here; with VME the popped IF goes to VIF. */
    uint32_t mask = (w == 32 ? 0x257fd5u : 0xffffu) & ~CPUM_EFL_IOPL;
    if (vme) {
        if ((fl & CPUM_EFL_TF) || ((s->eflags & CPUM_EFL_VIP) && (fl & CPUM_EFL_IF)))
            iem_raise_gp(c, i, 0);
        mask &= ~CPUM_EFL_IF;
    }
    c->nmi_blocked = false;
    iem_sp_set(c, iem_sp_add(c, 3 * b));
    iem_v86_seg(c, CPUM_CS, sel);
    iem_write_eflags_masked(c, fl, mask);
    if (vme)
        s->eflags = (s->eflags & ~CPUM_EFL_VIF) | ((fl & CPUM_EFL_IF) ? CPUM_EFL_VIF : 0);
    return iem_branch_exit(c, i, off);
}

/* Bit vec of the interrupt redirection bitmap: the 32 bytes below the I/O
 * map base of the (32-bit) TSS (SDM Vol. 3A 20.4.2, Figure 20-5). */
static bool iem_v86_redirected(struct iem_cpu *c, const struct iem_ix *i, unsigned vec)
{
    const struct cpum_state *s = c->s;
    if (!(s->tr.attr & 8u) || s->tr.limit < 0x67)
        iem_raise_gp(c, i, 0);
    uint32_t iomap = (uint32_t)iem_sys_read(c, i, s->tr.base + 0x66, 2);
    uint32_t off = iomap - 32u + vec / 8u;
    if (iomap < 32u || off > s->tr.limit)
        iem_raise_gp(c, i, 0);
    uint8_t byte = (uint8_t)iem_sys_read(c, i, s->tr.base + off, 1);
    return ((byte >> (vec & 7u)) & 1u) == 0;
}

/* INT n through the V86 task's own IVT at linear 0 (methods 5 and 6). */
static void iem_v86_redirect(struct iem_cpu *c, const struct iem_ix *i, unsigned vec)
{
    struct cpum_state *s = c->s;
    bool virt = iem_iopl_of(c) < 3;
    uint32_t ent = (uint32_t)iem_rd_lin(c, i, vec * 4u, 4);
    uint32_t fl = iem_get_eflags(c) & 0xffffu;
    if (virt)
        fl = (fl & ~CPUM_EFL_IF) | ((s->eflags & CPUM_EFL_VIF) ? CPUM_EFL_IF : 0) | CPUM_EFL_IOPL;
    uint32_t sp = iem_sp_sub(c, 6);
    uint8_t *p = iem_map_w(c, i, CPUM_SS, sp, 6, false);
    iem_st(p, iem_eip_next(c, i), 16);
    iem_st(p + 2, s->seg[CPUM_CS].sel, 16);
    iem_st(p + 4, fl, 16);
    iem_commit_w(c, i, p);
    iem_sp_set(c, sp);
    s->eflags &= ~(CPUM_EFL_TF | CPUM_EFL_RF | (virt ? CPUM_EFL_VIF : CPUM_EFL_IF));
    c->dbg_hit |= IEM_DBG_NO_STEP;   /* INT n clears TF: no single-step trap (17.3.1.4) */
    iem_v86_seg(c, CPUM_CS, (uint16_t)(ent >> 16));
    s->eip = ent & 0xffffu;
}

bool iem_v86_int(struct iem_cpu *c, const struct iem_ix *i, unsigned vec)
{
    bool iopl3 = iem_iopl_of(c) == 3;
    if (c->s->cr4 & CPUM_CR4_VME) {
        if (iem_v86_redirected(c, i, vec)) {
            iem_v86_redirect(c, i, vec);
            return true;
        }
    }
    /* Bit set or no VME: the protected-mode IDT, or #GP(0) to the monitor. */
    if (!iopl3)
        iem_raise_gp(c, i, 0);
    return false;
}

/* CLI/STI when CPL > IOPL (SDM Vol. 2 CLI/STI, Vol. 3A 20.4.4 and 20.4.5). */
void iem_vif_cli_sti(struct iem_cpu *c, const struct iem_ix *i, bool sti)
{
    struct cpum_state *s = c->s;
    bool vm = (s->eflags & CPUM_EFL_VM) != 0;
    bool virt = vm ? (s->cr4 & CPUM_CR4_VME) != 0 : (c->cpl == 3 && (s->cr4 & CPUM_CR4_PVI));
    if (!virt)
        iem_raise_gp(c, i, 0);
    if (!sti) {
        s->eflags &= ~CPUM_EFL_VIF;
    } else {
        if (s->eflags & CPUM_EFL_VIP)
            iem_raise_gp(c, i, 0);
        s->eflags |= CPUM_EFL_VIF;
    }
}

/* PUSHF with VME: 16-bit only, IF shows VIF, IOPL shows 3 (SDM Vol. 2 PUSHF). */
void iem_vme_pushf(struct iem_cpu *c, const struct iem_ix *i)
{
    struct cpum_state *s = c->s;
    if (!(s->cr4 & CPUM_CR4_VME) || IEM_IS_OSZ32(i))
        iem_raise_gp(c, i, 0);
    uint32_t f = iem_get_eflags(c) & 0xffffu;
    f = (f & ~CPUM_EFL_IF) | ((s->eflags & CPUM_EFL_VIF) ? CPUM_EFL_IF : 0) | CPUM_EFL_IOPL;
    iem_push(c, i, f, 16);
}

/* POPF with VME: 16-bit only; TF=1, or IF=1 with VIP pending, is #GP(0);
 * IF goes to VIF, IOPL is kept (SDM Vol. 2 POPF). */
void iem_vme_popf(struct iem_cpu *c, const struct iem_ix *i)
{
    struct cpum_state *s = c->s;
    if (!(s->cr4 & CPUM_CR4_VME) || IEM_IS_OSZ32(i))
        iem_raise_gp(c, i, 0);
    uint32_t v = iem_peek(c, i, 0, 16);
    if ((v & CPUM_EFL_TF) || ((s->eflags & CPUM_EFL_VIP) && (v & CPUM_EFL_IF)))
        iem_raise_gp(c, i, 0);
    iem_sp_set(c, iem_sp_add(c, 2));
    iem_write_eflags_masked(c, v, 0xffffu & ~(CPUM_EFL_IF | CPUM_EFL_IOPL));
    s->eflags = (s->eflags & ~(CPUM_EFL_VIF | CPUM_EFL_RF)) | ((v & CPUM_EFL_IF) ? CPUM_EFL_VIF : 0);
}
