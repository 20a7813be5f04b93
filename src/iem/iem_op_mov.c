/* SPDX-License-Identifier: MIT */
/*
 * Data movement: MOV (all forms incl. moffs and segment registers), LEA,
 * MOVZX/MOVSX, XCHG, CBW/CWDE/CWD/CDQ, LAHF/SAHF, CMOVcc, SETcc
 * (SDM Vol. 2 instruction pages).
 */
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"

#define IEM_MOV_W(W)                                                                      \
    IEM_STATIC_HANDLER(ix_mov_r##W##_r##W)                                                \
    {                                                                                     \
        iem_rset(c, i->r0, iem_rget(c, i->r1, W), W);                                     \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_mov_r##W##_m##W)                                                \
    {                                                                                     \
        iem_rset(c, i->r0, iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), W);                \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_mov_m##W##_r##W)                                                \
    {                                                                                     \
        iem_wrw(c, i, IEM_SEG(i), iem_ea(c, i), iem_rget(c, i->r0, W), W);                \
        IEM_NEXT_W(c, i);                                                                 \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_mov_r##W##_i)                                                   \
    {                                                                                     \
        iem_rset(c, i->r0, (uint32_t)i->imm, W);                                          \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_mov_m##W##_i)                                                   \
    {                                                                                     \
        iem_wrw(c, i, IEM_SEG(i), iem_ea(c, i), (uint32_t)i->imm, W);                     \
        IEM_NEXT_W(c, i);                                                                 \
    }
IEM_MOV_W(8)
IEM_MOV_W(16)
IEM_MOV_W(32)
const struct iem_hset iem_hs_mov = { .f = {
    [IEM_S_RR] = { ix_mov_r8_r8, ix_mov_r16_r16, ix_mov_r32_r32 },
    [IEM_S_RM] = { ix_mov_r8_m8, ix_mov_r16_m16, ix_mov_r32_m32 },
    [IEM_S_MR] = { ix_mov_m8_r8, ix_mov_m16_r16, ix_mov_m32_r32 },
    [IEM_S_RI] = { ix_mov_r8_i, ix_mov_r16_i, ix_mov_r32_i },
    [IEM_S_MI] = { ix_mov_m8_i, ix_mov_m16_i, ix_mov_m32_i },
} };

/* MOV Ev,Sw: a register destination gets the zero-extended selector
 * (P6 and later); memory always takes 16 bits. */
IEM_STATIC_HANDLER(ix_mov_r_sreg)
{
    if (i->r1 >= CPUM_SREG_COUNT)
        iem_raise_ud(c, i);
    iem_rset(c, i->r0, c->s->seg[i->r1].sel, IEM_IS_OSZ32(i) ? 32 : 16);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_mov_m_sreg)
{
    if (i->r0 >= CPUM_SREG_COUNT)
        iem_raise_ud(c, i);
    iem_wr16(c, i, IEM_SEG(i), iem_ea(c, i), c->s->seg[i->r0].sel);
    IEM_NEXT_W(c, i);
}
const struct iem_hset iem_hs_mov_from_sreg = { .f = {
    [IEM_S_RR] = { NULL, ix_mov_r_sreg, ix_mov_r_sreg },
    [IEM_S_MR] = { NULL, ix_mov_m_sreg, ix_mov_m_sreg },
} };

static void iem_mov_sreg(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint16_t v)
{
    if (sreg >= CPUM_SREG_COUNT || sreg == CPUM_CS)
        iem_raise_ud(c, i);
    iem_load_sreg(c, i, sreg, v);
    if (sreg == CPUM_SS)
        c->shadow_set = true;   /* SDM Vol. 3A 6.8.3: MOV SS inhibits interrupts for one instruction */
}
IEM_STATIC_HANDLER(ix_mov_sreg_r)
{
    iem_mov_sreg(c, i, i->r0, (uint16_t)c->r[i->r1]);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_mov_sreg_m)
{
    if (i->r0 >= CPUM_SREG_COUNT || i->r0 == CPUM_CS)
        iem_raise_ud(c, i);
    iem_mov_sreg(c, i, i->r0, iem_rd16(c, i, IEM_SEG(i), iem_ea(c, i)));
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_mov_to_sreg = { .f = {
    [IEM_S_RR] = { NULL, ix_mov_sreg_r, ix_mov_sreg_r },
    [IEM_S_RM] = { NULL, ix_mov_sreg_m, ix_mov_sreg_m },
} };

/* LEA: the offset, truncated to the operand size. */
IEM_STATIC_HANDLER(ix_lea_16) { iem_rset(c, i->r0, iem_ea(c, i), 16); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_lea_32) { c->r[i->r0] = iem_ea(c, i); IEM_NEXT(c, i); }
const struct iem_hset iem_hs_lea = { .f = { [IEM_S_RM] = { NULL, ix_lea_16, ix_lea_32 } } };

/* MOVZX/MOVSX: SW = source width, SX = sign extend. */
#define IEM_MOVX(name, SW, SX)                                                            \
    static inline uint32_t iem_##name##_ext(uint32_t v)                                   \
    {                                                                                     \
        return SX ? (uint32_t)iem_sext(v, SW) : v;                                        \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_##name##_r16)                                                   \
    {                                                                                     \
        iem_rset(c, i->r0, iem_##name##_ext(iem_rget(c, i->r1, SW)), 16);                 \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_##name##_r32)                                                   \
    {                                                                                     \
        c->r[i->r0] = iem_##name##_ext(iem_rget(c, i->r1, SW));                           \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_##name##_m16)                                                   \
    {                                                                                     \
        iem_rset(c, i->r0, iem_##name##_ext(iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), SW)), 16); \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_##name##_m32)                                                   \
    {                                                                                     \
        c->r[i->r0] = iem_##name##_ext(iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), SW));      \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    const struct iem_hset iem_hs_##name = { .f = {                                        \
        [IEM_S_RR] = { NULL, ix_##name##_r16, ix_##name##_r32 },                          \
        [IEM_S_RM] = { NULL, ix_##name##_m16, ix_##name##_m32 },                          \
    } };
IEM_MOVX(movzx_b, 8, 0)
IEM_MOVX(movzx_w, 16, 0)
IEM_MOVX(movsx_b, 8, 1)
IEM_MOVX(movsx_w, 16, 1)

/* XCHG: with memory it is implicitly locked (SDM Vol. 2 "XCHG"). */
#define IEM_XCHG_W(W)                                                                     \
    IEM_STATIC_HANDLER(ix_xchg_r##W##_r##W)                                               \
    {                                                                                     \
        uint32_t a = iem_rget(c, i->r0, W), b = iem_rget(c, i->r1, W);                    \
        iem_rset(c, i->r0, b, W);                                                         \
        iem_rset(c, i->r1, a, W);                                                         \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_xchg_m##W##_r##W)                                               \
    {                                                                                     \
        uint32_t v = iem_rget(c, i->r0, W), old;                                          \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                 \
        if ((void *)p != (void *)c->bounce && !((uintptr_t)p & (W / 8 - 1))) {           \
            old = __atomic_exchange_n((uint##W##_t *)p, (uint##W##_t)v, __ATOMIC_SEQ_CST); \
        } else {                                                                          \
            iem_lock_split(c, i, p, W / 8);   /* XCHG m locks implicitly */               \
            old = iem_ld(p, W);                                                           \
            iem_st(p, v, W);                                                              \
            iem_commit_w(c, i, p);                                                        \
        }                                                                                 \
        iem_rset(c, i->r0, old, W);                                                       \
        IEM_NEXT_W(c, i);                                                                 \
    }
IEM_XCHG_W(8)
IEM_XCHG_W(16)
IEM_XCHG_W(32)
const struct iem_hset iem_hs_xchg = { .f = {
    [IEM_S_RR] = { ix_xchg_r8_r8, ix_xchg_r16_r16, ix_xchg_r32_r32 },
    [IEM_S_MR] = { ix_xchg_m8_r8, ix_xchg_m16_r16, ix_xchg_m32_r32 },
    [IEM_S_MRL] = { ix_xchg_m8_r8, ix_xchg_m16_r16, ix_xchg_m32_r32 },
} };
IEM_STATIC_HANDLER(ix_xchg_eax_16)
{
    uint32_t a = iem_rget(c, CPUM_EAX, 16), b = iem_rget(c, i->r0, 16);
    iem_rset(c, CPUM_EAX, b, 16);
    iem_rset(c, i->r0, a, 16);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_xchg_eax_32)
{
    uint32_t a = c->r[CPUM_EAX];
    c->r[CPUM_EAX] = c->r[i->r0];
    c->r[i->r0] = a;
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_xchg_eax = { .f = { [IEM_S_R] = { NULL, ix_xchg_eax_16, ix_xchg_eax_32 } } };

IEM_STATIC_HANDLER(ix_cbw)
{
    if (IEM_IS_OSZ32(i))
        c->r[CPUM_EAX] = (uint32_t)(int32_t)(int16_t)c->r[CPUM_EAX];
    else
        iem_rset(c, CPUM_EAX, (uint32_t)(int32_t)(int8_t)c->r[CPUM_EAX], 16);
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_cbw = { .f = { [IEM_S_NONE] = { NULL, ix_cbw, ix_cbw } } };
IEM_STATIC_HANDLER(ix_cwd)
{
    if (IEM_IS_OSZ32(i))
        c->r[CPUM_EDX] = (c->r[CPUM_EAX] & 0x80000000u) ? 0xffffffffu : 0;
    else
        iem_rset(c, CPUM_EDX, (c->r[CPUM_EAX] & 0x8000u) ? 0xffffu : 0, 16);
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_cwd = { .f = { [IEM_S_NONE] = { NULL, ix_cwd, ix_cwd } } };

/* LAHF/SAHF: SF ZF AF PF CF <-> AH (bit 1 reads as 1). */
IEM_STATIC_HANDLER(ix_lahf)
{
    iem_rset(c, IEM_R8(4), (iem_lf_eflags(c) & 0xd5u) | 0x02u, 8);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_sahf)
{
    uint32_t ah = iem_rget(c, IEM_R8(4), 8);
    iem_lf_set_eflags(c, (iem_lf_eflags(c) & CPUM_EFL_OF) | (ah & 0xd5u));
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_lahf = { .f = { [IEM_S_NONE] = { NULL, ix_lahf, ix_lahf } } };
const struct iem_hset iem_hs_sahf = { .f = { [IEM_S_NONE] = { NULL, ix_sahf, ix_sahf } } };

/* CMOVcc reads its source even when the condition is false (faults happen);
 * SETcc writes 0/1.  One handler set per condition code. */
#define IEM_CC(cc, n)                                                                     \
    IEM_STATIC_HANDLER(ix_cmov##n##_r16)                                                  \
    {                                                                                     \
        if (iem_cond(c, cc))                                                              \
            iem_rset(c, i->r0, c->r[i->r1], 16);                                          \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_cmov##n##_r32)                                                  \
    {                                                                                     \
        if (iem_cond(c, cc))                                                              \
            c->r[i->r0] = c->r[i->r1];                                                    \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_cmov##n##_m16)                                                  \
    {                                                                                     \
        uint32_t v = iem_rd16(c, i, IEM_SEG(i), iem_ea(c, i));                            \
        if (iem_cond(c, cc))                                                              \
            iem_rset(c, i->r0, v, 16);                                                    \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_cmov##n##_m32)                                                  \
    {                                                                                     \
        uint32_t v = iem_rd32(c, i, IEM_SEG(i), iem_ea(c, i));                            \
        if (iem_cond(c, cc))                                                              \
            c->r[i->r0] = v;                                                              \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    const struct iem_hset iem_hs_cmov##n = { .f = {                                       \
        [IEM_S_RR] = { NULL, ix_cmov##n##_r16, ix_cmov##n##_r32 },                        \
        [IEM_S_RM] = { NULL, ix_cmov##n##_m16, ix_cmov##n##_m32 },                        \
    } };                                                                                  \
    IEM_STATIC_HANDLER(ix_set##n##_r8)                                                    \
    {                                                                                     \
        iem_rset(c, i->r0, iem_cond(c, cc), 8);                                           \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_set##n##_m8)                                                    \
    {                                                                                     \
        iem_wr8(c, i, IEM_SEG(i), iem_ea(c, i), iem_cond(c, cc));                         \
        IEM_NEXT_W(c, i);                                                                 \
    }                                                                                     \
    const struct iem_hset iem_hs_set##n = { .f = {                                        \
        [IEM_S_R] = { ix_set##n##_r8 },                                                   \
        [IEM_S_M] = { ix_set##n##_m8 },                                                   \
    } };
IEM_CC(0, o) IEM_CC(1, no) IEM_CC(2, b) IEM_CC(3, ae)
IEM_CC(4, e) IEM_CC(5, ne) IEM_CC(6, be) IEM_CC(7, a)
IEM_CC(8, s) IEM_CC(9, ns) IEM_CC(10, p) IEM_CC(11, np)
IEM_CC(12, l) IEM_CC(13, ge) IEM_CC(14, le) IEM_CC(15, g)
