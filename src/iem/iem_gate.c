/* SPDX-License-Identifier: MIT */
/*
 * Far CALL/JMP through call gates (SDM Vol. 3A 5.8.3-5.8.5, Vol. 2 CALL
 * and JMP "CALL-GATE"): privilege checks on the gate and the target code
 * segment, same-privilege transfers (conforming or DPL = CPL), and CALL
 * to a more privileged non-conforming segment with the stack switch from
 * the TSS (7.2.1) and the copy of the gate's parameter count of words or
 * dwords from the caller's stack (Figure 5-13).  RETF to the outer level
 * is in iem_op_branch.c.
 */
#define LOG_GROUP LOG_GROUP_IEM
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

#define D_TYPE(d) ((unsigned)((d) >> 40) & 0xfu)
#define D_S(d)    ((unsigned)((d) >> 44) & 1u)
#define D_DPL(d)  ((unsigned)((d) >> 45) & 3u)
#define D_P(d)    ((unsigned)((d) >> 47) & 1u)

struct iem_gate {
    uint16_t cs;       /* target code selector */
    uint32_t off;      /* entry point */
    unsigned w;        /* 2 (286 gate) or 4 (386 gate): size of pushed slots */
    unsigned params;   /* parameter count (bits 0-4) */
};

/* SS:ESP for privilege level dpl from the current TSS (SDM Vol. 2 CALL). */
static void iem_tss_stack(struct iem_cpu *c, const struct iem_ix *i, unsigned dpl, uint16_t *ss, uint32_t *esp)
{
    const struct cpum_state *s = c->s;
    bool tss32 = (s->tr.attr & 8u) != 0;
    uint32_t ent = tss32 ? 4u + dpl * 8u : 2u + dpl * 4u;
    if (ent + (tss32 ? 5u : 3u) > s->tr.limit)
        iem_raise_ts(c, i, s->tr.sel & 0xfffcu);
    *esp = (uint32_t)iem_sys_read(c, i, s->tr.base + ent, tss32 ? 4 : 2);
    *ss = (uint16_t)iem_sys_read(c, i, s->tr.base + ent + (tss32 ? 4u : 2u), 2);
}

/* CALL to a more privileged level: new stack, copy parameters (5.8.5). */
static void iem_gate_call_inner(struct iem_cpu *c, const struct iem_ix *i, const struct iem_gate *g, uint64_t d)
{
    struct cpum_state *s = c->s;
    unsigned dpl = D_DPL(d), w = g->w;
    uint16_t nss;
    uint32_t nesp;
    iem_tss_stack(c, i, dpl, &nss, &nesp);
    uint32_t sserr = nss & 0xfffcu;
    if (!(nss & 0xfffcu))
        iem_raise_ts(c, i, 0);
    uint64_t sd = iem_desc_read(c, i, nss, IEM_X_TS);
    unsigned stype = D_TYPE(sd);
    if ((nss & 3u) != dpl || D_DPL(sd) != dpl || !D_S(sd) || (stype & 8u) || !(stype & 2u))
        iem_raise_ts(c, i, sserr);
    if (!D_P(sd))
        iem_raise_ss(c, i, sserr);
    struct cpum_seg nseg;
    iem_desc_to_seg(&nseg, nss, sd | (1ull << 40));
    bool b32 = (nseg.attr & CPUM_SEG_ATTR_D) != 0;
    uint64_t top = b32 ? 0x100000000ull : 0x10000ull;
    uint32_t size = (4u + g->params) * w;
    uint32_t nsp = (nesp - size) & (uint32_t)(top - 1);
    bool fits = (stype & 4u) ? (nsp > nseg.limit && (uint64_t)nsp + size <= top)
                             : ((uint64_t)nsp + size <= (uint64_t)nseg.limit + 1 && (nesp & (top - 1)) >= size);
    if (!fits)
        iem_raise_ss(c, i, sserr);
    struct cpum_seg tcs;
    iem_desc_to_seg(&tcs, g->cs, d);
    if (g->off > tcs.limit)
        iem_raise_gp(c, i, 0);

    /* Read the parameters and probe the new stack before anything changes. */
    uint32_t frame[4 + 31];
    unsigned n = 0;
    frame[n++] = iem_eip_next(c, i);
    frame[n++] = s->seg[CPUM_CS].sel;
    for (unsigned k = 0; k < g->params; k++)
        frame[n++] = iem_peek(c, i, k * w, w * 8);
    frame[n++] = c->r[CPUM_ESP];
    frame[n++] = s->seg[CPUM_SS].sel;
    (void)iem_translate(c, i, nseg.base + nsp, IEM_ACC_W | IEM_ACC_SYS);
    (void)iem_translate(c, i, nseg.base + nsp + size - 1, IEM_ACC_W | IEM_ACC_SYS);
    for (unsigned k = 0; k < n; k++)
        iem_sys_write(c, i, nseg.base + nsp + k * w, w == 4 ? frame[k] : (frame[k] & 0xffffu), w);

    iem_desc_set_accessed(c, i, nss, sd);
    s->seg[CPUM_SS] = nseg;
    c->r[CPUM_ESP] = b32 ? nsp : ((c->r[CPUM_ESP] & 0xffff0000u) | nsp);
    iem_load_cs_checked(c, i, g->cs, d, (uint8_t)dpl);
    iem_segc_update(c, CPUM_SS);
    s->eip = g->off;
}

/* JMP, or CALL at the same privilege level, through a gate. */
static void iem_gate_same(struct iem_cpu *c, const struct iem_ix *i, const struct iem_gate *g, uint64_t d,
                          bool call)
{
    struct cpum_seg tcs;
    iem_desc_to_seg(&tcs, g->cs, d);
    if (g->off > tcs.limit)
        iem_raise_gp(c, i, 0);
    if (call) {
        unsigned w = g->w;
        uint32_t sp = iem_sp_sub(c, 2 * w);
        uint8_t *p = iem_map_w(c, i, CPUM_SS, sp, 2 * w, false);
        iem_st(p, iem_eip_next(c, i), w * 8);
        iem_st(p + w, c->s->seg[CPUM_CS].sel, w * 8);
        iem_commit_w(c, i, p);
        iem_sp_set(c, sp);
    }
    iem_load_cs_checked(c, i, g->cs, d, c->cpl);
    c->s->eip = g->off;
}

_Noreturn void iem_call_gate(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, bool call)
{
    uint64_t gd = iem_desc_read(c, i, sel, IEM_X_GP);
    unsigned cpl = c->cpl;
    /* Gate: DPL >= CPL and >= RPL, present (SDM Vol. 2 CALL/JMP). */
    if (D_DPL(gd) < cpl || D_DPL(gd) < (sel & 3u))
        iem_raise_gp(c, i, sel & 0xfffcu);
    if (!D_P(gd))
        iem_raise_np(c, i, sel & 0xfffcu);
    struct iem_gate g = {
        .cs = (uint16_t)(gd >> 16),
        .w = D_TYPE(gd) == 0xcu ? 4u : 2u,
        .params = (unsigned)(gd >> 32) & 0x1fu,
    };
    g.off = (uint32_t)(gd & 0xffffu) | (g.w == 4 ? (uint32_t)(gd >> 48) << 16 : 0u);
    if (!(g.cs & 0xfffcu))
        iem_raise_gp(c, i, 0);
    /* Target: a code segment; CALL may go to DPL <= CPL, JMP only to the
     * same level (conforming: DPL <= CPL) (5.8.4, Table 5-1). */
    uint64_t d = iem_desc_read(c, i, g.cs, IEM_X_GP);
    unsigned type = D_TYPE(d), dpl = D_DPL(d);
    bool conforming = type & 4u;
    if (!D_S(d) || !(type & 8u))
        iem_raise_gp(c, i, g.cs & 0xfffcu);
    if (call || conforming ? dpl > cpl : dpl != cpl)
        iem_raise_gp(c, i, g.cs & 0xfffcu);
    if (!D_P(d))
        iem_raise_np(c, i, g.cs & 0xfffcu);
    if (call && !conforming && dpl < cpl)
        iem_gate_call_inner(c, i, &g, d);
    else
        iem_gate_same(c, i, &g, d, call);
    LOG2("far %s through gate %#x -> %04x:%08x cpl %u", call ? "call" : "jmp", sel, c->s->seg[CPUM_CS].sel,
         c->s->eip, c->cpl);
    iem_resume_at(c, i);
}
