/* SPDX-License-Identifier: MIT */
/*
 * Hardware task switching (SDM Vol. 3A chapter 7): far JMP/CALL to a TSS
 * descriptor or a task gate, interrupts and exceptions through IDT task
 * gates (6.11, 6.12.2), IRET with NT=1 back to the previous task (7.4).
 * 32-bit and 16-bit TSS layouts (7.2.1, 7.6), busy bits (7.2.2), NT and
 * the previous-task link (Table 7-2), CR3 and LDT loads, CR0.TS, the T bit
 * (17.3.1.5) and the local DR7 enables cleared (17.2.4).
 *
 * Everything that can fault in the old task's context (TSS descriptor and
 * limit, reading the new TSS, the pages of both TSSs and the descriptors
 * whose busy bits change) is checked before the commit point; after it the
 * segment checks of Table 7-1 fault in the context of the new task (7.3,
 * 6.15 "Interrupt 10").
 */
#define LOG_GROUP LOG_GROUP_IEM_XCPT
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

#define D_TYPE(d) ((unsigned)((d) >> 40) & 0xfu)
#define D_S(d)    ((unsigned)((d) >> 44) & 1u)
#define D_DPL(d)  ((unsigned)((d) >> 45) & 3u)
#define D_P(d)    ((unsigned)((d) >> 47) & 1u)

/* The fields a task switch loads (7.2.1 Figure 7-2, 7.6 Figure 7-11). */
struct iem_tss_img {
    uint32_t eip, eflags, cr3, gpr[8];
    uint16_t sreg[CPUM_SREG_COUNT];   /* cpum order ES CS SS DS FS GS = TSS order */
    uint16_t ldt;
    bool trap;
};

/* Offsets of EIP, EFLAGS, the first GPR, the first selector, LDT; slot widths. */
struct iem_tss_fmt {
    uint32_t eip, efl, gpr, sreg, ldt, gw, sw, nsreg, min_limit;
};
static const struct iem_tss_fmt iem_tss32 = { 0x20, 0x24, 0x28, 0x48, 0x60, 4, 4, 6, 0x67 };
static const struct iem_tss_fmt iem_tss16 = { 14, 16, 18, 34, 42, 2, 2, 4, 0x2b };

static bool iem_tss_is32(unsigned type) { return (type & 8) != 0; }

/* Make sure the bytes [la, la + n) are mapped for kind acc (raises #PF now). */
static void iem_probe(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, uint32_t n, unsigned acc)
{
    (void)iem_translate(c, i, la, acc | IEM_ACC_SYS);
    (void)iem_translate(c, i, la + n - 1, acc | IEM_ACC_SYS);
}

static void iem_tss_read(struct iem_cpu *c, const struct iem_ix *i, uint32_t base, bool is32,
                         struct iem_tss_img *t)
{
    const struct iem_tss_fmt *f = is32 ? &iem_tss32 : &iem_tss16;
    memset(t, 0, sizeof(*t));
    t->eip = (uint32_t)iem_sys_read(c, i, base + f->eip, f->gw);
    t->eflags = (uint32_t)iem_sys_read(c, i, base + f->efl, f->gw);
    for (unsigned k = 0; k < 8; k++)
        t->gpr[k] = (uint32_t)iem_sys_read(c, i, base + f->gpr + k * f->gw, f->gw);
    for (unsigned k = 0; k < f->nsreg; k++)
        t->sreg[k] = (uint16_t)iem_sys_read(c, i, base + f->sreg + k * f->sw, 2);
    t->ldt = (uint16_t)iem_sys_read(c, i, base + f->ldt, 2);
    if (is32) {
        t->cr3 = (uint32_t)iem_sys_read(c, i, base + 0x1c, 4);
        t->trap = iem_sys_read(c, i, base + 0x64, 2) & 1u;
    }
}

/* Save the dynamic fields of the current task (pages already probed). */
static void iem_tss_save(struct iem_cpu *c, uint32_t base, bool is32, uint32_t eip, uint32_t efl)
{
    const struct iem_tss_fmt *f = is32 ? &iem_tss32 : &iem_tss16;
    const struct cpum_state *s = c->s;
    iem_sys_write(c, NULL, base + f->eip, eip, f->gw);
    iem_sys_write(c, NULL, base + f->efl, efl, f->gw);
    for (unsigned k = 0; k < 8; k++)
        iem_sys_write(c, NULL, base + f->gpr + k * f->gw, c->r[k], f->gw);
    for (unsigned k = 0; k < f->nsreg; k++)
        iem_sys_write(c, NULL, base + f->sreg + k * f->sw, s->seg[k].sel, 2);
}

/* Address of the type byte of a GDT descriptor. */
static uint32_t iem_gdt_type_la(const struct iem_cpu *c, uint16_t sel)
{
    return c->s->gdtr.base + (sel & 0xfff8u) + 5u;
}

static void iem_set_busy(struct iem_cpu *c, uint16_t sel, bool busy)
{
    uint32_t la = iem_gdt_type_la(c, sel);
    uint8_t t = (uint8_t)iem_sys_read(c, NULL, la, 1);
    t = busy ? (uint8_t)(t | 2u) : (uint8_t)(t & ~2u);
    iem_sys_write(c, NULL, la, t, 1);
}

/* ---- after the commit point: loads that fault in the new task ---- */
static void iem_seg_v86(struct cpum_seg *seg, uint16_t sel)
{
    seg->sel = sel;
    seg->base = (uint32_t)sel << 4;
    seg->limit = 0xffff;
    seg->attr = CPUM_SEG_ATTR_P | CPUM_SEG_ATTR_S | (3u << CPUM_SEG_ATTR_DPL_SHIFT) | 0x3u;
}

static void iem_task_load_ldt(struct iem_cpu *c, uint16_t sel, uint32_t ext)
{
    struct cpum_state *s = c->s;
    s->ldtr.sel = sel;
    s->ldtr.attr = CPUM_SEG_ATTR_UNUSABLE;
    if (!(sel & 0xfffcu))
        return;
    /* Table 7-1: LDT selector in the GDT, an LDT descriptor, present: else #TS(LDT). */
    uint32_t err = (sel & 0xfffcu) | ext;
    if ((sel & 4u) || (uint32_t)(sel & 0xfff8u) + 7u > s->gdtr.limit)
        iem_raise_ts(c, NULL, err);
    uint64_t d = iem_sys_read(c, NULL, s->gdtr.base + (sel & 0xfff8u), 8);
    if (D_S(d) || D_TYPE(d) != 2u || !D_P(d))
        iem_raise_ts(c, NULL, err);
    iem_desc_to_seg(&s->ldtr, sel, d);
}

/* Read the descriptor of sel for a segment load of the new task: #TS(sel) if
 * it is outside its table. */
static uint64_t iem_task_desc(struct iem_cpu *c, uint16_t sel, uint32_t ext)
{
    const struct cpum_state *s = c->s;
    uint32_t base = s->gdtr.base, limit = s->gdtr.limit;
    if (sel & 4u) {
        if (s->ldtr.attr & CPUM_SEG_ATTR_UNUSABLE)
            iem_raise_ts(c, NULL, (sel & 0xfffcu) | ext);
        base = s->ldtr.base;
        limit = s->ldtr.limit;
    }
    if ((uint32_t)(sel & 0xfff8u) + 7u > limit)
        iem_raise_ts(c, NULL, (sel & 0xfffcu) | ext);
    return iem_sys_read(c, NULL, base + (sel & 0xfff8u), 8);
}

static void iem_task_seg_commit(struct iem_cpu *c, unsigned sreg, uint16_t sel, uint64_t d)
{
    iem_desc_set_accessed(c, NULL, sel, d);
    iem_desc_to_seg(&c->s->seg[sreg], sel, d | (1ull << 40));
    iem_segc_update(c, sreg);
}

static void iem_task_load_cs(struct iem_cpu *c, uint16_t sel, uint32_t ext)
{
    unsigned cpl = sel & 3u;
    uint32_t err = (sel & 0xfffcu) | ext;
    if (!(sel & 0xfffcu))
        iem_raise_ts(c, NULL, err);
    uint64_t d = iem_task_desc(c, sel, ext);
    unsigned type = D_TYPE(d), dpl = D_DPL(d);
    if (!D_S(d) || !(type & 8u) || ((type & 4u) ? dpl > cpl : dpl != cpl))
        iem_raise_ts(c, NULL, err);
    if (!D_P(d))
        iem_raise_np(c, NULL, err);
    iem_task_seg_commit(c, CPUM_CS, sel, d);
}

static void iem_task_load_ss(struct iem_cpu *c, uint16_t sel, uint32_t ext)
{
    uint32_t err = (sel & 0xfffcu) | ext;
    if (!(sel & 0xfffcu))
        iem_raise_ts(c, NULL, err);
    uint64_t d = iem_task_desc(c, sel, ext);
    unsigned type = D_TYPE(d);
    if (!D_S(d) || (type & 8u) || !(type & 2u) || (sel & 3u) != c->cpl || D_DPL(d) != c->cpl)
        iem_raise_ts(c, NULL, err);
    if (!D_P(d))
        iem_raise_ss(c, NULL, err);
    iem_task_seg_commit(c, CPUM_SS, sel, d);
}

static void iem_task_load_data(struct iem_cpu *c, unsigned sreg, uint16_t sel, uint32_t ext)
{
    struct cpum_seg *seg = &c->s->seg[sreg];
    if (!(sel & 0xfffcu)) {
        seg->sel = sel;
        seg->attr = CPUM_SEG_ATTR_UNUSABLE;
        iem_segc_update(c, sreg);
        return;
    }
    uint32_t err = (sel & 0xfffcu) | ext;
    uint64_t d = iem_task_desc(c, sel, ext);
    unsigned type = D_TYPE(d), dpl = D_DPL(d);
    bool code = type & 8u, conforming = code && (type & 4u);
    if (!D_S(d) || (code && !(type & 2u)))
        iem_raise_ts(c, NULL, err);
    if (!conforming && (dpl < c->cpl || dpl < (sel & 3u)))
        iem_raise_ts(c, NULL, err);
    if (!D_P(d))
        iem_raise_np(c, NULL, err);
    iem_task_seg_commit(c, sreg, sel, d);
}

/* Load the new task's registers (the state is committed: faults are the new task's). */
static void iem_task_load(struct iem_cpu *c, const struct iem_tss_img *t, bool is32, uint32_t ext)
{
    struct cpum_state *s = c->s;
    if (is32 && (s->cr0 & CPUM_CR0_PG))
        iem_write_cr3(c, t->cr3);
    for (unsigned k = 0; k < 8; k++)
        c->r[k] = is32 ? t->gpr[k] : (c->r[k] & 0xffff0000u) | (t->gpr[k] & 0xffffu);
    s->eip = t->eip;
    iem_set_eflags(c, t->eflags);
    bool v86 = is32 && (t->eflags & CPUM_EFL_VM);
    /* Selectors first, descriptors after: a fault leaves the later ones
     * unusable with their selectors loaded (7.3 step 12). */
    for (unsigned k = 0; k < CPUM_SREG_COUNT; k++) {
        s->seg[k].sel = t->sreg[k];
        if (!v86)
            s->seg[k].attr = CPUM_SEG_ATTR_UNUSABLE;
    }
    iem_set_cpl(c, v86 ? 3u : (uint8_t)(t->sreg[CPUM_CS] & 3u));
    iem_task_load_ldt(c, t->ldt, ext);
    if (v86) {
        for (unsigned k = 0; k < CPUM_SREG_COUNT; k++)
            iem_seg_v86(&s->seg[k], t->sreg[k]);
        iem_segc_update_all(c);
        return;
    }
    iem_segc_update_all(c);
    /* SS before CS (the CPL is CS.RPL already): a #TS for a bad CS can then
     * still be delivered on the new task's stack. */
    iem_task_load_ss(c, t->sreg[CPUM_SS], ext);
    iem_task_load_cs(c, t->sreg[CPUM_CS], ext);
    static const unsigned data[] = { CPUM_ES, CPUM_DS, CPUM_FS, CPUM_GS };
    for (size_t k = 0; k < IXVM_ARRAY_SIZE(data); k++)
        iem_task_load_data(c, data[k], t->sreg[data[k]], ext);
}

/*
 * The switch itself (7.3 steps 3-13) to the TSS sel with descriptor d, whose
 * type, presence and busy state the caller checked.  ret_eip is the old
 * task's resume EIP; ext is the EXT bit for error codes; old_rf sets RF in
 * the saved EFLAGS (the switch delivers a fault).  Returns with the new
 * task's state loaded and its TSS 32-bit or not; *trap: the new TSS has T=1.
 */
static bool iem_switch(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint64_t d, int reason,
                       uint32_t ret_eip, uint32_t ext, bool old_rf, bool *trap)
{
    struct cpum_state *s = c->s;
    struct cpum_seg ntr;
    iem_desc_to_seg(&ntr, sel, d);
    bool is32 = iem_tss_is32(D_TYPE(d)), old32 = iem_tss_is32(s->tr.attr & 0xfu);
    const struct iem_tss_fmt *nf = is32 ? &iem_tss32 : &iem_tss16, *of = old32 ? &iem_tss32 : &iem_tss16;
    if (ntr.limit < nf->min_limit)
        iem_raise_ts(c, i, (sel & 0xfffcu) | ext);
    if (s->tr.limit < of->min_limit)
        iem_raise_ts(c, i, (s->tr.sel & 0xfffcu) | ext);

    /* Everything that can fault in the old task, before any change. */
    struct iem_tss_img t;
    iem_tss_read(c, i, ntr.base, is32, &t);
    uint32_t save_end = of->sreg + of->nsreg * of->sw;
    iem_probe(c, i, s->tr.base + of->eip, save_end - of->eip, IEM_ACC_W);
    bool nest = reason == IEM_TS_CALL || reason == IEM_TS_INT;
    if (nest)
        iem_probe(c, i, ntr.base, 2, IEM_ACC_W);
    iem_probe(c, i, iem_gdt_type_la(c, sel), 1, IEM_ACC_W);
    iem_probe(c, i, iem_gdt_type_la(c, s->tr.sel), 1, IEM_ACC_W);

    /* Commit (steps 6-10). */
    uint32_t efl = iem_get_eflags(c);
    if (reason == IEM_TS_IRET)
        efl &= ~CPUM_EFL_NT;
    if (old_rf)
        efl |= CPUM_EFL_RF;
    if (reason == IEM_TS_JMP || reason == IEM_TS_IRET)
        iem_set_busy(c, s->tr.sel, false);
    iem_tss_save(c, s->tr.base, old32, ret_eip, efl);
    if (nest) {
        iem_sys_write(c, NULL, ntr.base, s->tr.sel, 2);
        t.eflags |= CPUM_EFL_NT;
    }
    if (reason != IEM_TS_IRET)
        iem_set_busy(c, sel, true);
    ntr.attr |= 2u;   /* busy */
    s->tr = ntr;
    s->cr0 |= CPUM_CR0_TS;
    /* The event that caused the switch is delivered once it committed. */
    c->delivering = -1;
    LOG("task switch (reason %d) to %#x: eip %#x", reason, sel, t.eip);

    /* Local breakpoint enables are per task (17.2.4). */
    if (s->dr[7] & 0x55u) {
        s->dr[7] &= ~0x55u;
        iem_dbg_sync(c);
    }
    if (!is32)
        t.eflags &= 0xffffu;
    iem_task_load(c, &t, is32, ext);
    *trap = t.trap;
    return is32;
}

/* Final checks in the new task: EIP within CS, then the T-bit trap. */
static void iem_switch_done(struct iem_cpu *c, uint32_t ext, bool trap)
{
    if (c->s->eip > c->s->seg[CPUM_CS].limit)
        iem_raise_gp(c, NULL, ext);
    if (trap) {
        /* T bit: #DB with DR6.BT in the new task before its first instruction (17.3.1.5). */
        c->s->dr[6] |= 0x8000u;
        iem_raise(c, NULL, IEM_X_DB, 0, IEM_XF_TRAP);
    }
}

/* An available TSS of the GDT for a JMP/CALL/INT: #GP/#NP(sel + ext) otherwise. */
static uint64_t iem_tss_target(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint32_t ext)
{
    uint32_t err = (sel & 0xfffcu) | ext;
    if ((sel & 4u) || (uint32_t)(sel & 0xfff8u) + 7u > c->s->gdtr.limit)
        iem_raise_gp(c, i, err);
    uint64_t d = iem_sys_read(c, i, c->s->gdtr.base + (sel & 0xfff8u), 8);
    if (D_S(d) || (D_TYPE(d) != 0x1u && D_TYPE(d) != 0x9u))
        iem_raise_gp(c, i, err);
    if (!D_P(d))
        iem_raise_np(c, i, err);
    return d;
}

/* Far JMP/CALL to a TSS or task gate, IRET with NT=1 (reason IEM_TS_*). */
_Noreturn void iem_task_switch(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, int reason)
{
    uint64_t d;
    if (reason == IEM_TS_IRET) {
        /* The previous-task link must name a busy TSS of the GDT (SDM Vol. 2 IRET). */
        uint32_t err = sel & 0xfffcu;
        if ((sel & 4u) || (uint32_t)(sel & 0xfff8u) + 7u > c->s->gdtr.limit)
            iem_raise_ts(c, i, err);
        d = iem_sys_read(c, i, c->s->gdtr.base + (sel & 0xfff8u), 8);
        if (D_S(d) || (D_TYPE(d) != 0x3u && D_TYPE(d) != 0xbu))
            iem_raise_ts(c, i, err);
        if (!D_P(d))
            iem_raise_np(c, i, err);
        c->nmi_blocked = false;   /* IRET ends NMI blocking whatever it returns to */
    } else {
        /* JMP/CALL: DPL of the TSS or gate >= CPL and RPL (SDM Vol. 2 JMP/CALL). */
        d = iem_desc_read(c, i, sel, IEM_X_GP);
        unsigned dpl = D_DPL(d);
        if (dpl < c->cpl || dpl < (sel & 3u))
            iem_raise_gp(c, i, sel & 0xfffcu);
        if (D_TYPE(d) == 0x5u) {
            if (!D_P(d))
                iem_raise_np(c, i, sel & 0xfffcu);
            sel = (uint16_t)(d >> 16);
        }
        d = iem_tss_target(c, i, sel, 0);
    }
    bool trap;
    (void)iem_switch(c, i, sel, d, reason, iem_eip_next(c, i), 0, false, &trap);
    iem_switch_done(c, 0, trap);
    iem_resume_at(c, i);
}

/* Interrupt or exception through a task gate (SDM Vol. 2 INT n "TASK-GATE"). */
void iem_task_gate_deliver(struct iem_cpu *c, uint64_t gate, uint32_t err, unsigned flags)
{
    uint32_t ext = (flags & IEM_XF_SOFT) ? 0u : 1u;
    uint16_t sel = (uint16_t)(gate >> 16);
    uint64_t d = iem_tss_target(c, NULL, sel, ext);
    bool fault = !(flags & (IEM_XF_TRAP | IEM_XF_SOFT | IEM_XF_EXT | IEM_XF_NORF));
    bool trap;
    bool is32 = iem_switch(c, NULL, sel, d, IEM_TS_INT, c->s->eip, ext, fault, &trap);
    if (flags & IEM_XF_ERR)
        iem_push(c, NULL, err, is32 ? 32 : 16);
    iem_switch_done(c, ext, trap);
}
