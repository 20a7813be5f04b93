/* SPDX-License-Identifier: MIT */
/*
 * Control transfers: Jcc, JMP/CALL/RET near (relative and indirect, RET
 * imm16), LOOP/LOOPE/LOOPNE/JCXZ, far JMP/CALL/RET to code segments in
 * real and protected mode (gates: iem_gate.c, tasks: iem_task.c), INT n/INT3/INTO, IRET (real,
 * protected same and outer privilege).  SDM Vol. 2 instruction pages and
 * Vol. 3A 5.8 (privilege checks for control transfers).
 */
#define LOG_GROUP LOG_GROUP_IEM
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

/* A near target beyond the CS limit faults on the branch itself. */
static inline const struct iem_ix *iem_jump(struct iem_cpu *c, const struct iem_ix *i, uint32_t t)
{
    if (IXVM_UNLIKELY(t > c->s->seg[CPUM_CS].limit))
        iem_raise_gp(c, i, 0);
    return iem_branch_exit(c, i, t);
}

#define IEM_JCC(cc, n)                                                                    \
    IEM_STATIC_HANDLER(ix_j##n)                                                           \
    {                                                                                     \
        if (iem_cond(c, cc))                                                              \
            return iem_jump(c, i, (uint32_t)i->imm);                                      \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    const struct iem_hset iem_hs_j##n = { .f = { [IEM_S_NONE] = { NULL, ix_j##n, ix_j##n } } };
IEM_JCC(0, o) IEM_JCC(1, no) IEM_JCC(2, b) IEM_JCC(3, ae)
IEM_JCC(4, e) IEM_JCC(5, ne) IEM_JCC(6, be) IEM_JCC(7, a)
IEM_JCC(8, s) IEM_JCC(9, ns) IEM_JCC(10, p) IEM_JCC(11, np)
IEM_JCC(12, l) IEM_JCC(13, ge) IEM_JCC(14, le) IEM_JCC(15, g)

IEM_STATIC_HANDLER(ix_jmp) { return iem_jump(c, i, (uint32_t)i->imm); }
const struct iem_hset iem_hs_jmp = { .f = { [IEM_S_NONE] = { NULL, ix_jmp, ix_jmp } } };

IEM_STATIC_HANDLER(ix_call)
{
    uint32_t t = (uint32_t)i->imm;
    if (t > c->s->seg[CPUM_CS].limit)
        iem_raise_gp(c, i, 0);
    iem_push(c, i, iem_eip_next(c, i), IEM_IS_OSZ32(i) ? 32 : 16);
    return iem_branch_exit(c, i, t);
}
const struct iem_hset iem_hs_call = { .f = { [IEM_S_NONE] = { NULL, ix_call, ix_call } } };

IEM_STATIC_HANDLER(ix_ret)
{
    unsigned w = IEM_IS_OSZ32(i) ? 32 : 16;
    uint32_t t = iem_peek(c, i, 0, w);
    if (t > c->s->seg[CPUM_CS].limit)
        iem_raise_gp(c, i, 0);
    iem_sp_set(c, iem_sp_add(c, w / 8 + (uint16_t)i->imm));
    return iem_branch_exit(c, i, t);
}
const struct iem_hset iem_hs_ret = { .f = { [IEM_S_NONE] = { NULL, ix_ret, ix_ret } } };

#define IEM_IND_W(W)                                                                      \
    IEM_STATIC_HANDLER(ix_jmp_r##W) { return iem_jump(c, i, iem_rget(c, i->r0, W)); }     \
    IEM_STATIC_HANDLER(ix_jmp_m##W)                                                       \
    {                                                                                     \
        return iem_jump(c, i, iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W));                \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_call_r##W)                                                      \
    {                                                                                     \
        uint32_t t = iem_rget(c, i->r0, W);                                               \
        if (t > c->s->seg[CPUM_CS].limit)                                                 \
            iem_raise_gp(c, i, 0);                                                        \
        iem_push(c, i, iem_eip_next(c, i), W);                                            \
        return iem_branch_exit(c, i, t);                                                  \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_call_m##W)                                                      \
    {                                                                                     \
        uint32_t t = iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W);                          \
        if (t > c->s->seg[CPUM_CS].limit)                                                 \
            iem_raise_gp(c, i, 0);                                                        \
        iem_push(c, i, iem_eip_next(c, i), W);                                            \
        return iem_branch_exit(c, i, t);                                                  \
    }
IEM_IND_W(16)
IEM_IND_W(32)
const struct iem_hset iem_hs_jmp_ind = { .f = {
    [IEM_S_R] = { NULL, ix_jmp_r16, ix_jmp_r32 }, [IEM_S_M] = { NULL, ix_jmp_m16, ix_jmp_m32 } } };
const struct iem_hset iem_hs_call_ind = { .f = {
    [IEM_S_R] = { NULL, ix_call_r16, ix_call_r32 }, [IEM_S_M] = { NULL, ix_call_m16, ix_call_m32 } } };

/* LOOPcc/JCXZ count in CX or ECX by address size. */
static inline uint32_t iem_count_dec(struct iem_cpu *c, const struct iem_ix *i)
{
    if (IEM_IS_ASZ32(i))
        return --c->r[CPUM_ECX];
    uint32_t v = (c->r[CPUM_ECX] - 1) & 0xffffu;
    iem_rset(c, CPUM_ECX, v, 16);
    return v;
}
#define IEM_LOOP(name, COND)                                                              \
    IEM_STATIC_HANDLER(ix_##name)                                                         \
    {                                                                                     \
        uint32_t n = iem_count_dec(c, i);                                                 \
        if (n != 0 && (COND))                                                             \
            return iem_jump(c, i, (uint32_t)i->imm);                                      \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    const struct iem_hset iem_hs_##name = { .f = { [IEM_S_NONE] = { NULL, ix_##name, ix_##name } } };
IEM_LOOP(loop, true)
IEM_LOOP(loope, iem_zf(c))
IEM_LOOP(loopne, !iem_zf(c))
IEM_STATIC_HANDLER(ix_jcxz)
{
    uint32_t n = IEM_IS_ASZ32(i) ? c->r[CPUM_ECX] : (c->r[CPUM_ECX] & 0xffffu);
    if (n == 0)
        return iem_jump(c, i, (uint32_t)i->imm);
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_jcxz = { .f = { [IEM_S_NONE] = { NULL, ix_jcxz, ix_jcxz } } };

/* ---- far transfers ---- */
static bool iem_pm(const struct iem_cpu *c)
{
    return (c->s->cr0 & CPUM_CR0_PE) && !(c->s->eflags & CPUM_EFL_VM);
}

static void iem_cs_real(struct iem_cpu *c, uint16_t sel)
{
    struct cpum_seg *cs = &c->s->seg[CPUM_CS];
    cs->sel = sel;
    cs->base = (uint32_t)sel << 4;
    iem_segc_update(c, CPUM_CS);
}

/* Check a code-segment target of a far JMP/CALL (SDM Vol. 3A 5.8.1-5.8.2);
 * returns its descriptor.  System descriptors go to the gate/task hooks. */
static uint64_t iem_far_target(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint32_t off, bool call)
{
    if (!(sel & 0xfffcu))
        iem_raise_gp(c, i, 0);
    uint64_t d = iem_desc_read(c, i, sel, IEM_X_GP);
    unsigned type = (unsigned)(d >> 40) & 0xfu, dpl = (unsigned)(d >> 45) & 3u, rpl = sel & 3u;
    if (!((d >> 44) & 1)) {
        if (type == 0x4 || type == 0xc)
            iem_call_gate(c, i, sel, call);
        if (type == 0x5 || type == 0x1 || type == 0x9)
            iem_task_switch(c, i, sel, call ? IEM_TS_CALL : IEM_TS_JMP);
        iem_raise_gp(c, i, sel & 0xfffcu);
    }
    if (!(type & 8))
        iem_raise_gp(c, i, sel & 0xfffcu);
    if (type & 4) {
        if (dpl > c->cpl)
            iem_raise_gp(c, i, sel & 0xfffcu);
    } else if (rpl > c->cpl || dpl != c->cpl) {
        iem_raise_gp(c, i, sel & 0xfffcu);
    }
    if (!((d >> 47) & 1))
        iem_raise_np(c, i, sel & 0xfffcu);
    struct cpum_seg tmp;
    iem_desc_to_seg(&tmp, sel, d);
    if (off > tmp.limit)
        iem_raise_gp(c, i, 0);
    return d;
}

static const struct iem_ix *iem_far_jmp(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint32_t off)
{
    if (!iem_pm(c)) {
        iem_cs_real(c, sel);
        return iem_branch_exit(c, i, IEM_IS_OSZ32(i) ? off : off & 0xffffu);
    }
    uint64_t d = iem_far_target(c, i, sel, off, false);
    iem_load_cs_checked(c, i, sel, d, c->cpl);
    return iem_branch_exit(c, i, off);
}

static const struct iem_ix *iem_far_call(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint32_t off)
{
    unsigned w = IEM_IS_OSZ32(i) ? 4u : 2u;
    uint64_t d = iem_pm(c) ? iem_far_target(c, i, sel, off, true) : 0;
    /* Both slots mapped before anything changes. */
    uint32_t sp = iem_sp_sub(c, 2 * w);
    uint8_t *p = iem_map_w(c, i, CPUM_SS, sp, 2 * w, false);
    uint32_t ret = iem_eip_next(c, i);
    iem_st(p, ret, w * 8);
    iem_st(p + w, c->s->seg[CPUM_CS].sel, w * 8);
    iem_commit_w(c, i, p);
    iem_sp_set(c, sp);
    if (!iem_pm(c)) {
        iem_cs_real(c, sel);
        return iem_branch_exit(c, i, w == 4 ? off : off & 0xffffu);
    }
    iem_load_cs_checked(c, i, sel, d, c->cpl);
    return iem_branch_exit(c, i, off);
}

IEM_STATIC_HANDLER(ix_jmpf) { return iem_far_jmp(c, i, (uint16_t)(i->imm >> 32), (uint32_t)i->imm); }
IEM_STATIC_HANDLER(ix_callf) { return iem_far_call(c, i, (uint16_t)(i->imm >> 32), (uint32_t)i->imm); }
const struct iem_hset iem_hs_jmpf = { .f = { [IEM_S_NONE] = { NULL, ix_jmpf, ix_jmpf } } };
const struct iem_hset iem_hs_callf = { .f = { [IEM_S_NONE] = { NULL, ix_callf, ix_callf } } };

/* Ep: offset (operand size) then selector. */
static void iem_read_farptr(struct iem_cpu *c, const struct iem_ix *i, uint16_t *sel, uint32_t *off)
{
    unsigned w = IEM_IS_OSZ32(i) ? 32 : 16;
    uint32_t ea = iem_ea(c, i);
    *off = iem_rdw(c, i, IEM_SEG(i), ea, w);
    *sel = iem_rd16(c, i, IEM_SEG(i), ea + w / 8);
}
IEM_STATIC_HANDLER(ix_jmpf_m)
{
    uint16_t sel;
    uint32_t off;
    iem_read_farptr(c, i, &sel, &off);
    return iem_far_jmp(c, i, sel, off);
}
IEM_STATIC_HANDLER(ix_callf_m)
{
    uint16_t sel;
    uint32_t off;
    iem_read_farptr(c, i, &sel, &off);
    return iem_far_call(c, i, sel, off);
}
const struct iem_hset iem_hs_jmpf_m = { .f = { [IEM_S_M] = { NULL, ix_jmpf_m, ix_jmpf_m } } };
const struct iem_hset iem_hs_callf_m = { .f = { [IEM_S_M] = { NULL, ix_callf_m, ix_callf_m } } };

/* Check the CS selector a RETF/IRET returns to (SDM Vol. 3A 5.8.6). */
static uint64_t iem_ret_target(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint32_t off)
{
    unsigned rpl = sel & 3u;
    if (!(sel & 0xfffcu))
        iem_raise_gp(c, i, 0);
    if (rpl < c->cpl)
        iem_raise_gp(c, i, sel & 0xfffcu);
    uint64_t d = iem_desc_read(c, i, sel, IEM_X_GP);
    unsigned type = (unsigned)(d >> 40) & 0xfu, dpl = (unsigned)(d >> 45) & 3u;
    if (!((d >> 44) & 1) || !(type & 8))
        iem_raise_gp(c, i, sel & 0xfffcu);
    if ((type & 4) ? dpl > rpl : dpl != rpl)
        iem_raise_gp(c, i, sel & 0xfffcu);
    if (!((d >> 47) & 1))
        iem_raise_np(c, i, sel & 0xfffcu);
    struct cpum_seg tmp;
    iem_desc_to_seg(&tmp, sel, d);
    if (off > tmp.limit)
        iem_raise_gp(c, i, 0);
    return d;
}

/* Check the SS:ESP a return to an outer level loads. */
static uint64_t iem_ret_stack(struct iem_cpu *c, const struct iem_ix *i, uint16_t ss, unsigned rpl)
{
    if (!(ss & 0xfffcu))
        iem_raise_gp(c, i, 0);
    uint64_t d = iem_desc_read(c, i, ss, IEM_X_GP);
    unsigned type = (unsigned)(d >> 40) & 0xfu;
    if ((ss & 3u) != rpl || ((d >> 45) & 3u) != rpl || !((d >> 44) & 1) || (type & 8) || !(type & 2))
        iem_raise_gp(c, i, ss & 0xfffcu);
    if (!((d >> 47) & 1))
        iem_raise_ss(c, i, ss & 0xfffcu);
    return d;
}

/* Commit a return to an outer privilege level: CS, SS:ESP, CPL, data segments. */
static void iem_ret_outer(struct iem_cpu *c, const struct iem_ix *i, uint16_t cs, uint64_t dcs, uint16_t ss,
                          uint64_t dss, uint32_t esp)
{
    unsigned rpl = cs & 3u;
    iem_load_cs_checked(c, i, cs, dcs, (uint8_t)rpl);
    iem_desc_set_accessed(c, i, ss, dss);
    iem_desc_to_seg(&c->s->seg[CPUM_SS], ss, dss | (1ull << 40));
    iem_segc_update(c, CPUM_SS);
    iem_sp_set(c, esp);
    iem_null_outer_segs(c);
}

IEM_STATIC_HANDLER(ix_retf)
{
    unsigned w = IEM_IS_OSZ32(i) ? 32 : 16, b = w / 8;
    uint32_t off = iem_peek(c, i, 0, w);
    uint16_t sel = (uint16_t)iem_peek(c, i, b, 16);
    uint16_t imm = (uint16_t)i->imm;
    if (!iem_pm(c)) {
        iem_sp_set(c, iem_sp_add(c, 2 * b + imm));
        iem_cs_real(c, sel);
        return iem_branch_exit(c, i, off);
    }
    uint64_t d = iem_ret_target(c, i, sel, off);
    unsigned rpl = sel & 3u;
    if (rpl == c->cpl) {
        iem_load_cs_checked(c, i, sel, d, c->cpl);
        iem_sp_set(c, iem_sp_add(c, 2 * b + imm));
        return iem_branch_exit(c, i, off);
    }
    uint32_t nesp = iem_peek(c, i, 2 * b + imm, w);
    uint16_t nss = (uint16_t)iem_peek(c, i, 3 * b + imm, 16);
    uint64_t dss = iem_ret_stack(c, i, nss, rpl);
    iem_ret_outer(c, i, sel, d, nss, dss, nesp + imm);
    return iem_branch_exit(c, i, off);
}
const struct iem_hset iem_hs_retf = { .f = { [IEM_S_NONE] = { NULL, ix_retf, ix_retf } } };

/* ---- software interrupts ---- */
IEM_STATIC_HANDLER(ix_int3) { iem_soft_int(c, i, IEM_X_BP); }
IEM_STATIC_HANDLER(ix_int)
{
    /* V86 mode: IOPL and VME decide (SDM Vol. 3A 20.4.2, Table 20-2; iem_v86.c). */
    if ((c->s->eflags & CPUM_EFL_VM) && iem_v86_int(c, i, (uint8_t)i->imm))
        return iem_branch_exit(c, i, c->s->eip);
    iem_soft_int(c, i, (uint8_t)i->imm);
}
IEM_STATIC_HANDLER(ix_into)
{
    if (iem_of(c))
        iem_soft_int(c, i, IEM_X_OF);
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_int3 = { .f = { [IEM_S_NONE] = { NULL, ix_int3, ix_int3 } } };
const struct iem_hset iem_hs_int = { .f = { [IEM_S_NONE] = { NULL, ix_int, ix_int } } };
const struct iem_hset iem_hs_into = { .f = { [IEM_S_NONE] = { NULL, ix_into, ix_into } } };

/* IRET (SDM Vol. 2 "IRET"): real mode, protected same/outer privilege. */
IEM_STATIC_HANDLER(ix_iret)
{
    struct cpum_state *s = c->s;
    unsigned w = IEM_IS_OSZ32(i) ? 32 : 16, b = w / 8;
    if (s->eflags & CPUM_EFL_VM)
        return iem_iret_v86(c, i);
    /* NT=1: return to the previous task, nothing is popped (SDM Vol. 3A 7.4). */
    if ((s->cr0 & CPUM_CR0_PE) && (s->eflags & CPUM_EFL_NT))
        iem_task_switch(c, i, (uint16_t)iem_sys_read(c, i, s->tr.base, 2), IEM_TS_IRET);
    uint32_t off = iem_peek(c, i, 0, w);
    uint16_t sel = (uint16_t)iem_peek(c, i, b, 16);
    uint32_t fl = iem_peek(c, i, 2 * b, w);
    c->nmi_blocked = false;
    if (!(s->cr0 & CPUM_CR0_PE)) {
        if (off > s->seg[CPUM_CS].limit)
            iem_raise_gp(c, i, 0);
        iem_sp_set(c, iem_sp_add(c, 3 * b));
        iem_cs_real(c, sel);
        uint32_t mask = w == 32 ? 0x257fd5u : 0xffffu;
        iem_write_eflags_masked(c, fl, mask & ~CPUM_EFL_VM);
        return iem_branch_exit(c, i, off);
    }
    if (w == 32 && (fl & CPUM_EFL_VM) && c->cpl == 0)
        return iem_iret_to_v86(c, i);
    uint64_t d = iem_ret_target(c, i, sel, off);
    unsigned rpl = sel & 3u, iopl = (s->eflags & CPUM_EFL_IOPL) >> 12;
    uint32_t mask = CPUM_EFL_STATUS | CPUM_EFL_TF | CPUM_EFL_DF | CPUM_EFL_NT | CPUM_EFL_RF | CPUM_EFL_AC |
                    CPUM_EFL_ID;
    if (c->cpl <= iopl)
        mask |= CPUM_EFL_IF;
    if (c->cpl == 0)
        mask |= CPUM_EFL_IOPL | CPUM_EFL_VIF | CPUM_EFL_VIP;
    if (w == 16)
        mask &= 0xffffu;
    if (rpl == c->cpl) {
        iem_load_cs_checked(c, i, sel, d, c->cpl);
        iem_sp_set(c, iem_sp_add(c, 3 * b));
    } else {
        uint32_t nesp = iem_peek(c, i, 3 * b, w);
        uint16_t nss = (uint16_t)iem_peek(c, i, 4 * b, 16);
        uint64_t dss = iem_ret_stack(c, i, nss, rpl);
        iem_ret_outer(c, i, sel, d, nss, dss, nesp);
    }
    iem_write_eflags_masked(c, fl, mask);
    return iem_branch_exit(c, i, w == 32 ? off : off & 0xffffu);
}
const struct iem_hset iem_hs_iret = { .f = { [IEM_S_NONE] = { NULL, ix_iret, ix_iret } } };
