/* SPDX-License-Identifier: MIT */
/*
 * Exceptions and interrupts (SDM Vol. 3A chapter 6): raising from anywhere
 * inside an instruction (longjmp to the instruction boundary, IEM-DESIGN.md
 * 10), fault vs trap EIP, double fault and triple fault (Table 6-5),
 * delivery through the real-mode IVT and the protected-mode IDT (interrupt
 * and trap gates, same privilege or with a stack switch from the TSS).
 * and from V86 mode (20.3.1.1).  Task gates: iem_task.c.
 */
#define LOG_GROUP LOG_GROUP_IEM_XCPT
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

_Noreturn void iem_raise(struct iem_cpu *c, const struct iem_ix *i, unsigned vec, uint32_t err, unsigned flags)
{
    if (i) {
        const struct iem_block *b = c->cur;
        bool trap = flags & IEM_XF_TRAP;
        uint32_t eip = b->eip0 + i->eip_off + (trap ? i->len : 0);
        if (!(c->s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D))
            eip &= 0xffffu;
        c->s->eip = eip;
        /* Instructions of the block that did not complete are not retired. */
        uint32_t done = (uint32_t)(i - b->ix) + (trap ? 1u : 0u);
        uint32_t undo = b->n - done;
        iem_icount_add(c, -(int64_t)(undo));
        c->budget += undo;
    }
    c->smc_stop = 0;
    c->bnc.active = false;
    c->xp.vec = (uint8_t)vec;
    c->xp.err = err;
    c->xp.flags = flags;
    LOG2("raise vec %u err %#x flags %#x at %04x:%08x", vec, err, flags, c->s->seg[CPUM_CS].sel, c->s->eip);
    longjmp(c->jb, 1);
}

_Noreturn void iem_raise_ud(struct iem_cpu *c, const struct iem_ix *i) { iem_raise(c, i, IEM_X_UD, 0, 0); }
_Noreturn void iem_raise_de(struct iem_cpu *c, const struct iem_ix *i) { iem_raise(c, i, IEM_X_DE, 0, 0); }
_Noreturn void iem_raise_nm(struct iem_cpu *c, const struct iem_ix *i) { iem_raise(c, i, IEM_X_NM, 0, 0); }
_Noreturn void iem_raise_gp(struct iem_cpu *c, const struct iem_ix *i, uint32_t err)
{
    iem_raise(c, i, IEM_X_GP, err, IEM_XF_ERR);
}
_Noreturn void iem_raise_ss(struct iem_cpu *c, const struct iem_ix *i, uint32_t err)
{
    iem_raise(c, i, IEM_X_SS, err, IEM_XF_ERR);
}
_Noreturn void iem_raise_np(struct iem_cpu *c, const struct iem_ix *i, uint32_t err)
{
    iem_raise(c, i, IEM_X_NP, err, IEM_XF_ERR);
}
_Noreturn void iem_raise_ts(struct iem_cpu *c, const struct iem_ix *i, uint32_t err)
{
    iem_raise(c, i, IEM_X_TS, err, IEM_XF_ERR);
}
_Noreturn void iem_raise_pf(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, uint32_t err)
{
    c->s->cr2 = la;
    iem_raise(c, i, IEM_X_PF, err, IEM_XF_ERR);
}
_Noreturn void iem_soft_int(struct iem_cpu *c, const struct iem_ix *i, unsigned vec)
{
    /* The length rides in flags bits 8-15: a fault while delivering is
     * reported at the INT instruction itself (iem_xcpt_dispatch). */
    iem_raise(c, i, vec, 0, IEM_XF_TRAP | IEM_XF_SOFT | ((unsigned)i->len << 8));
}

/* ---- hooks: iem_task_switch is in iem_task.c, iem_call_gate in iem_gate.c ---- */
_Noreturn void iem_resume_at(struct iem_cpu *c, const struct iem_ix *i)
{
    if (i) {
        /* i completed; the rest of its block did not run. */
        const struct iem_block *b = c->cur;
        uint32_t undo = b->n - ((uint32_t)(i - b->ix) + 1u);
        iem_icount_add(c, -(int64_t)(undo));
        c->budget += undo;
    }
    c->smc_stop = 0;
    c->bnc.active = false;
    c->xp.flags = IEM_XF_RESUME;
    longjmp(c->jb, 1);
}

/* Contributory exceptions (SDM Vol. 3A Table 6-4). */
static bool iem_xcpt_contributory(unsigned v)
{
    return v == IEM_X_DE || v == IEM_X_TS || v == IEM_X_NP || v == IEM_X_SS || v == IEM_X_GP;
}

int iem_xcpt_dispatch(struct iem_cpu *c)
{
    unsigned vec = c->xp.vec, flags = c->xp.flags;
    uint32_t err = c->xp.err;
    if (flags & IEM_XF_RESUME) {
        /* Not an exception: a control transfer left its block (iem_resume_at). */
        c->xp.flags = 0;
        c->delivering = -1;
        c->deliver_ilen = 0;
        return 0;
    }
    if (c->delivering >= 0 && c->deliver_ilen) {
        /* Delivering INT n/INT3/INTO faulted (gate DPL, not present, ...):
         * the fault's EIP is the INT instruction (SDM Vol. 2 "INT n"). */
        c->s->eip -= c->deliver_ilen;
        if (!(c->s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D))
            c->s->eip &= 0xffffu;
    }
    c->deliver_ilen = 0;
    if (c->delivering >= 0) {
        unsigned prev = (unsigned)c->delivering;
        if (prev == IEM_X_DF) {
            LOG_REL("triple fault at %04x:%08x (vector %u while delivering #DF)", c->s->seg[CPUM_CS].sel,
                    c->s->eip, vec);
            c->delivering = -1;
            c->shutdown = true;
            return IXVM_INF_EM_RESET;
        }
        bool pc = iem_xcpt_contributory(prev), pp = prev == IEM_X_PF;
        bool nc = iem_xcpt_contributory(vec), np = vec == IEM_X_PF;
        if ((pc && nc) || (pp && (nc || np))) {
            vec = IEM_X_DF;
            err = 0;
            flags = IEM_XF_ERR;
        }
    }
    c->delivering = (int)vec;
    stam_counter_inc(&c->st.xcpt);
    c->last_xcpt.count++;
    c->last_xcpt.vector = (uint8_t)vec;
    c->last_xcpt.has_error = flags & IEM_XF_ERR;
    c->last_xcpt.error = err;
    c->last_xcpt.cr2 = c->s->cr2;
    c->halted = false;
    c->deliver_ilen = (flags & IEM_XF_SOFT) ? (uint8_t)(flags >> 8) : 0;
    iem_deliver(c, vec, err, flags);
    c->delivering = -1;
    c->deliver_ilen = 0;
    return 0;
}

/* Real-mode delivery through the IVT (SDM Vol. 3A 20.1.4). */
static void iem_deliver_real(struct iem_cpu *c, unsigned vec)
{
    struct cpum_state *s = c->s;
    if (vec * 4u + 3u > s->idtr.limit)
        iem_raise_gp(c, NULL, 0);
    uint32_t ent = (uint32_t)iem_sys_read(c, NULL, s->idtr.base + vec * 4u, 4);
    uint32_t fl = iem_get_eflags(c);
    uint32_t sp = iem_sp_sub(c, 6);
    void *p = iem_map_w(c, NULL, CPUM_SS, sp, 6, false);
    uint16_t frame[3] = { (uint16_t)s->eip, s->seg[CPUM_CS].sel, (uint16_t)fl };
    memcpy(p, frame, 6);
    iem_commit_w(c, NULL, p);
    iem_sp_set(c, sp);
    s->eflags &= ~(CPUM_EFL_IF | CPUM_EFL_TF | CPUM_EFL_AC | CPUM_EFL_RF);
    s->seg[CPUM_CS].sel = (uint16_t)(ent >> 16);
    s->seg[CPUM_CS].base = (ent >> 16) << 4;
    iem_segc_update(c, CPUM_CS);
    s->eip = ent & 0xffffu;
}

/* Protected-mode delivery through an interrupt or trap gate (SDM Vol. 3A 6.12). */
static void iem_deliver_pm(struct iem_cpu *c, unsigned vec, uint32_t err, unsigned flags)
{
    struct cpum_state *s = c->s;
    uint32_t ext = (flags & IEM_XF_SOFT) ? 0u : 1u;
    uint32_t idt_err = vec * 8u + 2u + ext;
    if (vec * 8u + 7u > s->idtr.limit)
        iem_raise_gp(c, NULL, idt_err);
    uint64_t g = iem_sys_read(c, NULL, s->idtr.base + vec * 8u, 8);
    unsigned type = (unsigned)(g >> 40) & 0x1fu, gdpl = (unsigned)(g >> 45) & 3u;
    if (type != 0x05 && type != 0x06 && type != 0x07 && type != 0x0e && type != 0x0f)
        iem_raise_gp(c, NULL, idt_err);
    if ((flags & IEM_XF_SOFT) && gdpl < c->cpl)
        iem_raise_gp(c, NULL, vec * 8u + 2u);
    if (!((g >> 47) & 1))
        iem_raise_np(c, NULL, idt_err);
    if (type == 0x05) {
        iem_task_gate_deliver(c, g, err, flags);
        return;
    }
    bool v86 = (s->eflags & CPUM_EFL_VM) != 0;
    bool g32 = type & 8, trap_gate = type & 1;
    uint16_t cs_sel = (uint16_t)(g >> 16);
    uint32_t off = (uint32_t)(g & 0xffffu) | (g32 ? (uint32_t)(g >> 48) << 16 : 0);
    if (!(cs_sel & 0xfffcu))
        iem_raise_gp(c, NULL, ext);
    uint64_t d = iem_desc_read(c, NULL, cs_sel, IEM_X_GP);
    unsigned dtype = (unsigned)(d >> 40) & 0xfu, ddpl = (unsigned)(d >> 45) & 3u;
    if (!((d >> 44) & 1) || !(dtype & 8) || ddpl > c->cpl)
        iem_raise_gp(c, NULL, (cs_sel & 0xfffcu) + ext);
    if (!((d >> 47) & 1))
        iem_raise_np(c, NULL, (cs_sel & 0xfffcu) + ext);
    bool conforming = dtype & 4;
    /* From V86 mode only to a ring-0 non-conforming handler (SDM Vol. 3A 20.3.1.1). */
    if (v86 && (conforming || ddpl != 0))
        iem_raise_gp(c, NULL, (cs_sel & 0xfffcu) + ext);
    uint32_t fl = iem_get_eflags(c);
    /* Fault-class exceptions push RF=1 (SDM Vol. 3A 17.3.1.1). */
    if (!(flags & (IEM_XF_TRAP | IEM_XF_SOFT | IEM_XF_EXT | IEM_XF_NORF)))
        fl |= CPUM_EFL_RF;
    bool has_err = flags & IEM_XF_ERR;
    unsigned wsz = g32 ? 4u : 2u;
    uint32_t frame[10];
    unsigned nf = 0;
    if (has_err)
        frame[nf++] = err;
    frame[nf++] = s->eip;
    frame[nf++] = s->seg[CPUM_CS].sel;
    frame[nf++] = fl;
    uint8_t new_cpl = conforming ? c->cpl : (uint8_t)ddpl;

    if (!conforming && ddpl < c->cpl) {
        /* Inner privilege: new SS:ESP from the TSS (SDM Vol. 3A 6.12.1, 7.2.1). */
        bool tss32 = (s->tr.attr & 0x8u) != 0;
        uint32_t ent = tss32 ? 4u + ddpl * 8u : 2u + ddpl * 4u;
        if (ent + (tss32 ? 5u : 3u) > s->tr.limit)
            iem_raise_ts(c, NULL, (s->tr.sel & 0xfffcu) + ext);
        uint32_t nesp = (uint32_t)iem_sys_read(c, NULL, s->tr.base + ent, tss32 ? 4 : 2);
        uint16_t nss = (uint16_t)iem_sys_read(c, NULL, s->tr.base + ent + (tss32 ? 4u : 2u), 2);
        if (!(nss & 0xfffcu))
            iem_raise_ts(c, NULL, ext);
        uint64_t sd = iem_desc_read(c, NULL, nss, IEM_X_TS);
        unsigned stype = (unsigned)(sd >> 40) & 0xfu;
        if ((nss & 3u) != ddpl || ((sd >> 45) & 3u) != ddpl || !((sd >> 44) & 1) || (stype & 8) || !(stype & 2))
            iem_raise_ts(c, NULL, (nss & 0xfffcu) + ext);
        if (!((sd >> 47) & 1))
            iem_raise_ss(c, NULL, (nss & 0xfffcu) + ext);
        frame[nf++] = c->r[CPUM_ESP];
        frame[nf++] = s->seg[CPUM_SS].sel;
        if (v86) {
            /* ES DS FS GS above SS (SDM Vol. 3A Figure 20-2). */
            frame[nf++] = s->seg[CPUM_ES].sel;
            frame[nf++] = s->seg[CPUM_DS].sel;
            frame[nf++] = s->seg[CPUM_FS].sel;
            frame[nf++] = s->seg[CPUM_GS].sel;
        }
        struct cpum_seg nseg;
        iem_desc_to_seg(&nseg, nss, sd | (1ull << 40));
        bool b32 = nseg.attr & CPUM_SEG_ATTR_D;
        uint32_t size = nf * wsz;
        uint32_t nsp = nesp - size;
        if (!b32)
            nsp &= 0xffffu;
        bool down = stype & 4;
        bool ok = down ? (nsp > nseg.limit && (uint64_t)nsp + size <= (b32 ? 0x100000000ull : 0x10000ull))
                       : ((uint64_t)nsp + size <= (uint64_t)nseg.limit + 1);
        if (!ok)
            iem_raise_ss(c, NULL, (nss & 0xfffcu) + ext);
        uint8_t *p = iem_map_w_slow(c, NULL, nseg.base + nsp, size, false, IEM_ACC_W | IEM_ACC_SYS);
        for (unsigned k = 0; k < nf; k++)
            memcpy(p + k * wsz, &frame[k], wsz);
        iem_commit_w(c, NULL, p);
        if (v86)
            iem_v86_leave(c);
        iem_desc_set_accessed(c, NULL, nss, sd);
        s->seg[CPUM_SS] = nseg;
        if (b32)
            c->r[CPUM_ESP] = nsp;
        else
            c->r[CPUM_ESP] = (c->r[CPUM_ESP] & 0xffff0000u) | nsp;
        iem_load_cs_checked(c, NULL, cs_sel, d, new_cpl);
        iem_segc_update(c, CPUM_SS);
    } else {
        uint32_t size = nf * wsz;
        uint32_t sp = iem_sp_sub(c, size);
        uint8_t *p = iem_map_w(c, NULL, CPUM_SS, sp, size, false);
        for (unsigned k = 0; k < nf; k++)
            memcpy(p + k * wsz, &frame[k], wsz);
        iem_commit_w(c, NULL, p);
        iem_load_cs_checked(c, NULL, cs_sel, d, new_cpl);
        iem_sp_set(c, sp);
    }
    s->eflags &= ~(CPUM_EFL_TF | CPUM_EFL_NT | CPUM_EFL_RF | CPUM_EFL_VM);
    if (!trap_gate)
        s->eflags &= ~CPUM_EFL_IF;
    s->eip = g32 ? off : (off & 0xffffu);
}

void iem_deliver(struct iem_cpu *c, unsigned vec, uint32_t err, unsigned flags)
{
    LOG("deliver vec %u err %#x flags %#x at %04x:%08x", vec, err, flags, c->s->seg[CPUM_CS].sel, c->s->eip);
    c->cur = NULL;
    if (c->s->cr0 & CPUM_CR0_PE)
        iem_deliver_pm(c, vec, err, flags);
    else
        iem_deliver_real(c, vec);
    c->shadow = false;
    if (flags & IEM_XF_NMI)
        c->nmi_blocked = true;
}
