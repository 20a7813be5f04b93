/* SPDX-License-Identifier: MIT */
/*
 * Exchange-and-compare family: XADD (0F C0/C1), CMPXCHG (0F B0/B1) and
 * CMPXCHG8B (0F C7 /1), with LOCK (SDM Vol. 2 "XADD", "CMPXCHG",
 * "CMPXCHG8B/CMPXCHG16B").
 *
 * - The memory destination is always mapped for writing first, so a
 *   read-only page faults even when the compare fails: Intel writes the old
 *   value back in that case ("the destination operand is written back if it
 *   is not written", SDM "CMPXCHG"), which also sets the dirty bit.
 * - LOCKed forms use host atomics (fetch_add, compare_exchange, 64-bit CAS)
 *   when other vCPUs run concurrently (IEM-DESIGN.md 8).  A failed LOCK
 *   CMPXCHG then does not store, which is indistinguishable for other vCPUs.
 * - CMPXCHG8B's register form is #UD (decoded through form M).
 */
#include "iem/iem_arith.h"

/* ---- XADD: tmp = dst + src; src = dst; dst = tmp ---- */
#define IEM_XADD_W(W)                                                                      \
    IEM_STATIC_HANDLER(ix_xadd_r##W##_r##W)                                                \
    {                                                                                      \
        uint32_t d = iem_rget(c, i->r0, W), s = iem_rget(c, i->r1, W);                     \
        uint32_t sum = iem_alu_add(c, d, s, 0, W);                                         \
        iem_rset(c, i->r1, d, W);                                                          \
        iem_rset(c, i->r0, sum, W);   /* last: XADD r, r (same register) keeps the sum */  \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_xadd_m##W##_r##W)                                                \
    {                                                                                      \
        uint32_t s = iem_rget(c, i->r0, W);                                                \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        uint32_t d = iem_ld(p, W);                                                         \
        iem_st(p, iem_alu_add(c, d, s, 0, W), W);                                          \
        iem_commit_w(c, i, p);                                                             \
        iem_rset(c, i->r0, d, W);                                                          \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_xadd_m##W##_r##W##_lock)                                         \
    {                                                                                      \
        uint32_t s = iem_rget(c, i->r0, W), d;                                             \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        if (iem_arith_atomic(c, p, W / 8)) {                                               \
            d = __atomic_fetch_add((uint##W##_t *)p, (uint##W##_t)s, __ATOMIC_SEQ_CST);    \
            iem_alu_add(c, d, s, 0, W);                                                    \
        } else {                                                                           \
            iem_lock_split(c, i, p, W / 8);                                                \
            d = iem_ld(p, W);                                                              \
            iem_st(p, iem_alu_add(c, d, s, 0, W), W);                                      \
            iem_commit_w(c, i, p);                                                         \
        }                                                                                  \
        iem_rset(c, i->r0, d, W);                                                          \
        IEM_NEXT_W(c, i);                                                                  \
    }
IEM_XADD_W(8)
IEM_XADD_W(16)
IEM_XADD_W(32)

/* ---- CMPXCHG: flags of CMP acc, dst; equal -> dst = src, else acc = dst ---- */
#define IEM_CMPXCHG_W(W)                                                                   \
    IEM_STATIC_HANDLER(ix_cmpxchg_r##W##_r##W)                                             \
    {                                                                                      \
        uint32_t acc = iem_rget(c, CPUM_EAX, W), d = iem_rget(c, i->r0, W);                \
        iem_alu_sub(c, acc, d, 0, W);                                                      \
        if (acc == d)                                                                      \
            iem_rset(c, i->r0, iem_rget(c, i->r1, W), W);                                  \
        else                                                                               \
            iem_rset(c, CPUM_EAX, d, W);                                                   \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_cmpxchg_m##W##_r##W)                                             \
    {                                                                                      \
        uint32_t acc = iem_rget(c, CPUM_EAX, W), s = iem_rget(c, i->r0, W);                \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        uint32_t d = iem_ld(p, W);                                                         \
        iem_alu_sub(c, acc, d, 0, W);                                                      \
        iem_st(p, acc == d ? s : d, W);   /* Intel: the old value is written back */       \
        iem_commit_w(c, i, p);                                                             \
        if (acc != d)                                                                      \
            iem_rset(c, CPUM_EAX, d, W);                                                   \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_cmpxchg_m##W##_r##W##_lock)                                      \
    {                                                                                      \
        uint32_t acc = iem_rget(c, CPUM_EAX, W), s = iem_rget(c, i->r0, W), d;             \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        if (iem_arith_atomic(c, p, W / 8)) {                                               \
            uint##W##_t exp = (uint##W##_t)acc;                                            \
            __atomic_compare_exchange_n((uint##W##_t *)p, &exp, (uint##W##_t)s, false,     \
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);               \
            d = exp;                                                                       \
        } else {                                                                           \
            iem_lock_split(c, i, p, W / 8);                                                \
            d = iem_ld(p, W);                                                              \
            iem_st(p, acc == d ? s : d, W);                                                \
            iem_commit_w(c, i, p);                                                         \
        }                                                                                  \
        iem_alu_sub(c, acc, d, 0, W);                                                      \
        if (acc != d)                                                                      \
            iem_rset(c, CPUM_EAX, d, W);                                                   \
        IEM_NEXT_W(c, i);                                                                  \
    }
IEM_CMPXCHG_W(8)
IEM_CMPXCHG_W(16)
IEM_CMPXCHG_W(32)

#define IEM_XC_HS(name)                                                                    \
    const struct iem_hset iem_hs_##name = { .f = {                                         \
        [IEM_S_RR] = { ix_##name##_r8_r8, ix_##name##_r16_r16, ix_##name##_r32_r32 },      \
        [IEM_S_MR] = { ix_##name##_m8_r8, ix_##name##_m16_r16, ix_##name##_m32_r32 },      \
        [IEM_S_MRL] = { ix_##name##_m8_r8_lock, ix_##name##_m16_r16_lock,                  \
                        ix_##name##_m32_r32_lock },                                        \
    } };
IEM_XC_HS(xadd)
IEM_XC_HS(cmpxchg)

/* ---- CMPXCHG8B m64: EDX:EAX == m64 ? (ZF=1, m64 = ECX:EBX) : (ZF=0, EDX:EAX = m64) ---- */
static inline void iem_cx8_result(struct iem_cpu *c, uint64_t expect, uint64_t old)
{
    iem_arith_set_zf(c, old == expect);
    if (old != expect) {
        c->r[CPUM_EAX] = (uint32_t)old;
        c->r[CPUM_EDX] = (uint32_t)(old >> 32);
    }
}
static inline uint64_t iem_cx8_get(const struct iem_cpu *c, unsigned lo, unsigned hi)
{
    return (uint64_t)c->r[hi] << 32 | c->r[lo];
}
IEM_STATIC_HANDLER(ix_cmpxchg8b_m64)
{
    uint64_t expect = iem_cx8_get(c, CPUM_EAX, CPUM_EDX), nv = iem_cx8_get(c, CPUM_EBX, CPUM_ECX), old;
    void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), 8, true);
    memcpy(&old, p, 8);
    uint64_t out = old == expect ? nv : old;   /* Intel writes the old value back */
    memcpy(p, &out, 8);
    iem_commit_w(c, i, p);
    iem_cx8_result(c, expect, old);
    IEM_NEXT_W(c, i);
}
IEM_STATIC_HANDLER(ix_cmpxchg8b_m64_lock)
{
    uint64_t expect = iem_cx8_get(c, CPUM_EAX, CPUM_EDX), nv = iem_cx8_get(c, CPUM_EBX, CPUM_ECX), old;
    void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), 8, true);
    if (iem_arith_atomic(c, p, 8)) {
        old = expect;
        __atomic_compare_exchange_n((uint64_t *)p, &old, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    } else {
        iem_lock_split(c, i, p, 8);
        memcpy(&old, p, 8);
        uint64_t out = old == expect ? nv : old;
        memcpy(p, &out, 8);
        iem_commit_w(c, i, p);
    }
    iem_cx8_result(c, expect, old);
    IEM_NEXT_W(c, i);
}
/* Operand size does not matter (form M uses the osz slot). */
const struct iem_hset iem_hs_cmpxchg8b = { .f = {
    [IEM_S_M] = { NULL, ix_cmpxchg8b_m64, ix_cmpxchg8b_m64 },
    [IEM_S_ML] = { NULL, ix_cmpxchg8b_m64_lock, ix_cmpxchg8b_m64_lock },
} };
