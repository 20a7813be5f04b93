/* SPDX-License-Identifier: MIT */
/*
 * Bit family: BT BTS BTR BTC (0F A3/AB/B3/BB with a register bit offset,
 * 0F BA /4-/7 with imm8), BSF BSR (0F BC/BD), BSWAP (0F C8+r); 16/32-bit,
 * register and memory forms, LOCK on BTS/BTR/BTC memory forms
 * (SDM Vol. 2 "BT", "BTS", "BTR", "BTC", "BSF", "BSR", "BSWAP").
 *
 * - Register bit offsets address memory beyond the operand: the offset is
 *   signed (16 or 32 bits) and selects the operand-size unit at
 *   EA + (offset >> log2(w)) * w/8 (SDM "BT": "Bit(BitBase, BitOffset)"),
 *   wrapped to the address size.  Immediate offsets are taken mod w.
 * - BT*: only CF changes (OF SF ZF AF PF are undefined; Intel and AMD leave
 *   them alone).
 * - BSF/BSR: source 0 -> ZF = 1 and the destination is not written (what
 *   Intel and AMD hardware do).  Undefined flags as Intel (Skylake):
 *   CF = OF = SF = AF = 0, PF = parity of the index (PF = 1 for source 0).
 * - BSWAP r16 is undefined; Intel clears the low word.
 */
#include "iem/iem_arith.h"

/* ---- BT BTS BTR BTC ---- */
enum { IEM_BT_TEST, IEM_BT_SET, IEM_BT_RESET, IEM_BT_COMPL };

static inline uint32_t iem_bt_apply(uint32_t v, uint32_t mask, int op)
{
    switch (op) {
    case IEM_BT_SET: return v | mask;
    case IEM_BT_RESET: return v & ~mask;
    case IEM_BT_COMPL: return v ^ mask;
    default: return v;
    }
}

/* Effective address of the unit holding bit `off` (signed) of the memory bit string. */
static inline uint32_t iem_bt_ea(const struct iem_cpu *c, const struct iem_ix *i, uint32_t off, unsigned w)
{
    int32_t so = w == 16 ? (int32_t)(int16_t)off : (int32_t)off;
    uint32_t ea = iem_ea(c, i) + (uint32_t)((so >> (w == 16 ? 4 : 5)) * (int32_t)(w / 8));
    return IEM_IS_ASZ32(i) ? ea : (ea & 0xffffu);
}

/* Memory form, non-locked: BT only reads; the others read-modify-write. */
static inline void iem_bt_mem(struct iem_cpu *c, const struct iem_ix *i, uint32_t ea, uint32_t bit,
                              int op, unsigned w)
{
    uint32_t mask = 1u << bit;
    if (op == IEM_BT_TEST) {
        iem_lf_set_cf(c, (iem_rdw(c, i, IEM_SEG(i), ea, w) & mask) != 0);
        return;
    }
    void *p = iem_map_w(c, i, IEM_SEG(i), ea, w / 8, true);
    uint32_t v = iem_ld(p, w);
    iem_st(p, iem_bt_apply(v, mask, op), w);
    iem_commit_w(c, i, p);
    iem_lf_set_cf(c, (v & mask) != 0);
}

/* LOCKed BTS/BTR/BTC: host fetch-or/and/xor when atomic is required. */
static inline void iem_bt_mem_lock(struct iem_cpu *c, const struct iem_ix *i, uint32_t ea, uint32_t bit,
                                   int op, unsigned w)
{
    void *p = iem_map_w(c, i, IEM_SEG(i), ea, w / 8, true);
    if (!iem_arith_atomic(c, p, w / 8)) {
        iem_lock_split(c, i, p, w / 8);
        uint32_t v = iem_ld(p, w);
        iem_st(p, iem_bt_apply(v, 1u << bit, op), w);
        iem_commit_w(c, i, p);
        iem_lf_set_cf(c, (v >> bit) & 1u);
        return;
    }
    uint32_t old;
    if (w == 16) {
        uint16_t m = (uint16_t)(1u << bit), *ap = p;
        old = op == IEM_BT_SET ? __atomic_fetch_or(ap, m, __ATOMIC_SEQ_CST)
            : op == IEM_BT_RESET ? __atomic_fetch_and(ap, (uint16_t)~m, __ATOMIC_SEQ_CST)
            : __atomic_fetch_xor(ap, m, __ATOMIC_SEQ_CST);
    } else {
        uint32_t m = 1u << bit, *ap = p;
        old = op == IEM_BT_SET ? __atomic_fetch_or(ap, m, __ATOMIC_SEQ_CST)
            : op == IEM_BT_RESET ? __atomic_fetch_and(ap, ~m, __ATOMIC_SEQ_CST)
            : __atomic_fetch_xor(ap, m, __ATOMIC_SEQ_CST);
    }
    iem_lf_set_cf(c, (old >> bit) & 1u);
}

/* Register destination (r0) with bit offset from a register (r1) or imm. */
static inline void iem_bt_reg(struct iem_cpu *c, unsigned reg, uint32_t off, int op, unsigned w)
{
    uint32_t bit = off & (w - 1), v = iem_rget(c, reg, w);
    iem_lf_set_cf(c, (v >> bit) & 1u);
    if (op != IEM_BT_TEST)
        iem_rset(c, reg, iem_bt_apply(v, 1u << bit, op), w);
}

#define IEM_BT_W(name, OP, W)                                                              \
    IEM_STATIC_HANDLER(ix_##name##_r##W##_r##W)                                            \
    {                                                                                      \
        iem_bt_reg(c, i->r0, iem_rget(c, i->r1, W), OP, W);                                \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_r##W##_i)                                               \
    {                                                                                      \
        iem_bt_reg(c, i->r0, (uint32_t)i->imm, OP, W);                                     \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_r##W)                                            \
    {                                                                                      \
        uint32_t off = iem_rget(c, i->r0, W);                                              \
        iem_bt_mem(c, i, iem_bt_ea(c, i, off, W), off & (W - 1), OP, W);                   \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_i)                                               \
    {                                                                                      \
        iem_bt_mem(c, i, iem_ea(c, i), (uint32_t)i->imm & (W - 1), OP, W);                 \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_r##W##_lock)                                     \
    {                                                                                      \
        uint32_t off = iem_rget(c, i->r0, W);                                              \
        iem_bt_mem_lock(c, i, iem_bt_ea(c, i, off, W), off & (W - 1), OP, W);              \
        IEM_NEXT_W(c, i);                                                                  \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_i_lock)                                          \
    {                                                                                      \
        iem_bt_mem_lock(c, i, iem_ea(c, i), (uint32_t)i->imm & (W - 1), OP, W);            \
        IEM_NEXT_W(c, i);                                                                  \
    }
/* LOCK BT is #UD: its row has no IEM_A_LOCK, so the decoder never picks the _lock slots. */
#define IEM_BT_ALL(name, OP)                                                               \
    IEM_BT_W(name, OP, 16)                                                                 \
    IEM_BT_W(name, OP, 32)                                                                 \
    const struct iem_hset iem_hs_##name = { .f = {                                         \
        [IEM_S_RR] = { NULL, ix_##name##_r16_r16, ix_##name##_r32_r32 },                   \
        [IEM_S_RI] = { NULL, ix_##name##_r16_i, ix_##name##_r32_i },                       \
        [IEM_S_MR] = { NULL, ix_##name##_m16_r16, ix_##name##_m32_r32 },                   \
        [IEM_S_MI] = { NULL, ix_##name##_m16_i, ix_##name##_m32_i },                       \
        [IEM_S_MRL] = { NULL, ix_##name##_m16_r16_lock, ix_##name##_m32_r32_lock },        \
        [IEM_S_MIL] = { NULL, ix_##name##_m16_i_lock, ix_##name##_m32_i_lock },            \
    } };

IEM_BT_ALL(bt, IEM_BT_TEST)
IEM_BT_ALL(bts, IEM_BT_SET)
IEM_BT_ALL(btr, IEM_BT_RESET)
IEM_BT_ALL(btc, IEM_BT_COMPL)

/* ---- BSF / BSR ---- */
static inline void iem_bsx(struct iem_cpu *c, unsigned reg, uint32_t src, bool rev, unsigned w)
{
    if (!src) {
        iem_lf_set_eflags(c, CPUM_EFL_ZF | CPUM_EFL_PF);
        return;
    }
    uint32_t idx = rev ? 31u - (uint32_t)__builtin_clz(src) : (uint32_t)__builtin_ctz(src);
    iem_lf_set_eflags(c, iem_arith_pf(idx));
    iem_rset(c, reg, idx, w);
}
#define IEM_BSX_ALL(name, REV)                                                             \
    IEM_STATIC_HANDLER(ix_##name##_r16_r16)                                                \
    {                                                                                      \
        iem_bsx(c, i->r0, iem_rget(c, i->r1, 16), REV, 16);                                \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_r32_r32)                                                \
    {                                                                                      \
        iem_bsx(c, i->r0, c->r[i->r1], REV, 32);                                           \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_r16_m16)                                                \
    {                                                                                      \
        iem_bsx(c, i->r0, iem_rd16(c, i, IEM_SEG(i), iem_ea(c, i)), REV, 16);              \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_r32_m32)                                                \
    {                                                                                      \
        iem_bsx(c, i->r0, iem_rd32(c, i, IEM_SEG(i), iem_ea(c, i)), REV, 32);              \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    const struct iem_hset iem_hs_##name = { .f = {                                         \
        [IEM_S_RR] = { NULL, ix_##name##_r16_r16, ix_##name##_r32_r32 },                   \
        [IEM_S_RM] = { NULL, ix_##name##_r16_m16, ix_##name##_r32_m32 },                   \
    } };
IEM_BSX_ALL(bsf, false)
IEM_BSX_ALL(bsr, true)

/* ---- BSWAP ---- */
IEM_STATIC_HANDLER(ix_bswap_r32)
{
    c->r[i->r0] = __builtin_bswap32(c->r[i->r0]);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_bswap_r16)
{
    iem_rset(c, i->r0, 0, 16);   /* undefined in the SDM; Intel hardware zeroes the low word */
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_bswap = { .f = {
    [IEM_S_R] = { NULL, ix_bswap_r16, ix_bswap_r32 },
} };
