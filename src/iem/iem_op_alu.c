/* SPDX-License-Identifier: MIT */
/*
 * ALU family: ADD OR ADC SBB AND SUB XOR CMP TEST (every form), INC DEC
 * NOT NEG, with LOCK variants (SDM Vol. 2 instruction pages; flags per
 * Vol. 1 Appendix A).  Handlers are generated per operation x shape x width
 * from one template each; the flag semantics live in iem_flags.h.
 */
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"

/* A LOCKed read-modify-write of a W-bit operand: CAS loop on guest RAM
 * (IEM-DESIGN.md 8).  Misaligned or slow-path (MMIO, page-crossing)
 * operands take a plain RMW, inside an exclusive section when other vCPUs
 * run (iem_lock_split). */
#define IEM_LOCKED_RMW(c, i, p, W, EXPR)                                                 \
    do {                                                                                 \
        if ((void *)(p) == (void *)(c)->bounce || ((uintptr_t)(p) & (W / 8 - 1))) {     \
            iem_lock_split(c, i, p, W / 8);                                              \
            uint32_t old = iem_ld(p, W);                                                 \
            iem_st(p, (EXPR), W);                                                        \
            iem_commit_w(c, i, p);                                                       \
        } else {                                                                         \
            uint##W##_t *ap = (uint##W##_t *)(p);                                        \
            uint##W##_t o = __atomic_load_n(ap, __ATOMIC_RELAXED), nv;                   \
            do {                                                                         \
                uint32_t old = o;                                                        \
                nv = (uint##W##_t)(EXPR);                                                \
            } while (!__atomic_compare_exchange_n(ap, &o, nv, false, __ATOMIC_SEQ_CST,   \
                                                  __ATOMIC_RELAXED));                    \
        }                                                                                \
    } while (0)

#define IEM_ALU_W(name, OPM, WB, W)                                                        \
    IEM_STATIC_HANDLER(ix_##name##_r##W##_r##W)                                            \
    {                                                                                      \
        uint32_t r = OPM(c, iem_rget(c, i->r0, W), iem_rget(c, i->r1, W), W);              \
        if (WB)                                                                            \
            iem_rset(c, i->r0, r, W);                                                      \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_r##W##_m##W)                                            \
    {                                                                                      \
        uint32_t r = OPM(c, iem_rget(c, i->r0, W), iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), W); \
        if (WB)                                                                            \
            iem_rset(c, i->r0, r, W);                                                      \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_r##W##_i)                                               \
    {                                                                                      \
        uint32_t r = OPM(c, iem_rget(c, i->r0, W), (uint32_t)i->imm & iem_wmask(W), W);    \
        if (WB)                                                                            \
            iem_rset(c, i->r0, r, W);                                                      \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_r##W)                                            \
    {                                                                                      \
        uint32_t src = iem_rget(c, i->r0, W);                                              \
        if (!WB) {                                                                         \
            OPM(c, iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), src, W);                    \
            IEM_NEXT(c, i);                                                                \
        }                                                                                  \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        iem_st(p, OPM(c, iem_ld(p, W), src, W), W);                                        \
        iem_commit_w(c, i, p);                                                             \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_i)                                               \
    {                                                                                      \
        uint32_t src = (uint32_t)i->imm & iem_wmask(W);                                    \
        if (!WB) {                                                                         \
            OPM(c, iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), src, W);                    \
            IEM_NEXT(c, i);                                                                \
        }                                                                                  \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        iem_st(p, OPM(c, iem_ld(p, W), src, W), W);                                        \
        iem_commit_w(c, i, p);                                                             \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_r##W##_lock)                                     \
    {                                                                                      \
        uint32_t src = iem_rget(c, i->r0, W);                                              \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        IEM_LOCKED_RMW(c, i, p, W, OPM(c, old, src, W));                                   \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_i_lock)                                          \
    {                                                                                      \
        uint32_t src = (uint32_t)i->imm & iem_wmask(W);                                    \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        IEM_LOCKED_RMW(c, i, p, W, OPM(c, old, src, W));                                   \
        IEM_NEXT_W(c, i);                                                                  \
    }

#define IEM_ALU_ALL(name, OPM, WB)                                                         \
    IEM_ALU_W(name, OPM, WB, 8)                                                            \
    IEM_ALU_W(name, OPM, WB, 16)                                                           \
    IEM_ALU_W(name, OPM, WB, 32)                                                           \
    const struct iem_hset iem_hs_##name = { .f = {                                         \
        [IEM_S_RR] = { ix_##name##_r8_r8, ix_##name##_r16_r16, ix_##name##_r32_r32 },      \
        [IEM_S_RM] = { ix_##name##_r8_m8, ix_##name##_r16_m16, ix_##name##_r32_m32 },      \
        [IEM_S_RI] = { ix_##name##_r8_i, ix_##name##_r16_i, ix_##name##_r32_i },           \
        [IEM_S_MR] = { ix_##name##_m8_r8, ix_##name##_m16_r16, ix_##name##_m32_r32 },      \
        [IEM_S_MI] = { ix_##name##_m8_i, ix_##name##_m16_i, ix_##name##_m32_i },           \
        [IEM_S_MRL] = { ix_##name##_m8_r8_lock, ix_##name##_m16_r16_lock, ix_##name##_m32_r32_lock }, \
        [IEM_S_MIL] = { ix_##name##_m8_i_lock, ix_##name##_m16_i_lock, ix_##name##_m32_i_lock }, \
    } };

IEM_ALU_ALL(add, IEM_ALU_ADD, 1)
IEM_ALU_ALL(or, IEM_ALU_OR, 1)
IEM_ALU_ALL(adc, IEM_ALU_ADC, 1)
IEM_ALU_ALL(sbb, IEM_ALU_SBB, 1)
IEM_ALU_ALL(and, IEM_ALU_AND, 1)
IEM_ALU_ALL(sub, IEM_ALU_SUB, 1)
IEM_ALU_ALL(xor, IEM_ALU_XOR, 1)
IEM_ALU_ALL(cmp, IEM_ALU_CMP, 0)
IEM_ALU_ALL(test, IEM_ALU_TEST, 0)

/* ---- one-operand RMW: INC DEC NOT NEG ---- */
#define IEM_INC(c, a, W) iem_alu_incdec(c, a, false, W)
#define IEM_DEC(c, a, W) iem_alu_incdec(c, a, true, W)
#define IEM_NOT(c, a, W) ((~(a)) & iem_wmask(W))
#define IEM_NEG(c, a, W) iem_alu_sub(c, 0, a, 0, W)

#define IEM_UN_W(name, OPM, W)                                                             \
    IEM_STATIC_HANDLER(ix_##name##_r##W)                                                   \
    {                                                                                      \
        iem_rset(c, i->r0, OPM(c, iem_rget(c, i->r0, W), W), W);                           \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W)                                                   \
    {                                                                                      \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        iem_st(p, OPM(c, iem_ld(p, W), W), W);                                             \
        iem_commit_w(c, i, p);                                                             \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_lock)                                            \
    {                                                                                      \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        IEM_LOCKED_RMW(c, i, p, W, OPM(c, old, W));                                        \
        IEM_NEXT_W(c, i);                                                                  \
    }
#define IEM_UN_ALL(name, OPM)                                                              \
    IEM_UN_W(name, OPM, 8)                                                                 \
    IEM_UN_W(name, OPM, 16)                                                                \
    IEM_UN_W(name, OPM, 32)                                                                \
    const struct iem_hset iem_hs_##name = { .f = {                                         \
        [IEM_S_R] = { ix_##name##_r8, ix_##name##_r16, ix_##name##_r32 },                  \
        [IEM_S_M] = { ix_##name##_m8, ix_##name##_m16, ix_##name##_m32 },                  \
        [IEM_S_ML] = { ix_##name##_m8_lock, ix_##name##_m16_lock, ix_##name##_m32_lock },  \
    } };

IEM_UN_ALL(inc, IEM_INC)
IEM_UN_ALL(dec, IEM_DEC)
IEM_UN_ALL(not, IEM_NOT)
IEM_UN_ALL(neg, IEM_NEG)
