/* SPDX-License-Identifier: MIT */
/*
 * Multiply/divide family: MUL IMUL DIV IDIV with AL/AX/EAX (F6/F7 /4-/7),
 * IMUL Gv,Ev (0F AF) and IMUL Gv,Ev,imm (69, 6B), 8/16/32-bit, register and
 * memory forms (SDM Vol. 2 "MUL", "IMUL", "DIV", "IDIV").
 *
 * Flags: CF = OF = "the high half is significant".  SF ZF AF PF are undefined
 * after multiplies; Intel P6-and-later hardware sets SF from the top bit and
 * PF from the low byte of the low half and clears ZF and AF (VirtualBox's
 * measurements on Skylake/Cascade Lake), which is what this does.  DIV/IDIV
 * leave all flags unchanged on Intel (same source).  #DE (divide by zero or
 * quotient overflow) is raised before anything is written.
 */
#include "iem/iem_arith.h"

/* Intel multiply flags from the low half lo of width w and the CF/OF bit. */
static inline void iem_mul_flags(struct iem_cpu *c, uint32_t lo, uint32_t cfof, unsigned w)
{
    uint32_t f = cfof ? (CPUM_EFL_CF | CPUM_EFL_OF) : 0;
    f |= (lo >> (w - 1)) & 1u ? CPUM_EFL_SF : 0;
    iem_lf_set_eflags(c, f | iem_arith_pf(lo));
}

/* Store a 2w-bit product or quotient:remainder pair into AX, DX:AX or EDX:EAX. */
static inline void iem_muldiv_store(struct iem_cpu *c, uint32_t lo, uint32_t hi, unsigned w)
{
    if (w == 8) {
        iem_rset(c, CPUM_EAX, (lo & 0xffu) | (hi & 0xffu) << 8, 16);
    } else {
        iem_rset(c, CPUM_EAX, lo, w);
        iem_rset(c, CPUM_EDX, hi, w);
    }
}
/* The 2w-bit dividend: AX, DX:AX or EDX:EAX. */
static inline uint64_t iem_div_dividend(const struct iem_cpu *c, unsigned w)
{
    if (w == 8)
        return c->r[CPUM_EAX] & 0xffffu;
    return (uint64_t)iem_rget(c, CPUM_EDX, w) << w | iem_rget(c, CPUM_EAX, w);
}

static inline void iem_do_mul(struct iem_cpu *c, const struct iem_ix *i, uint32_t src, unsigned w)
{
    (void)i;
    uint64_t p = (uint64_t)iem_rget(c, CPUM_EAX, w) * src;
    uint32_t lo = (uint32_t)p & iem_wmask(w), hi = (uint32_t)(p >> w) & iem_wmask(w);
    iem_muldiv_store(c, lo, hi, w);
    iem_mul_flags(c, lo, hi != 0, w);
}
static inline void iem_do_imul(struct iem_cpu *c, const struct iem_ix *i, uint32_t src, unsigned w)
{
    (void)i;
    int64_t p = iem_sext(iem_rget(c, CPUM_EAX, w), w) * iem_sext(src, w);
    uint32_t lo = (uint32_t)p & iem_wmask(w), hi = (uint32_t)((uint64_t)p >> w) & iem_wmask(w);
    iem_muldiv_store(c, lo, hi, w);
    iem_mul_flags(c, lo, p != iem_sext(lo, w), w);
}
static inline void iem_do_div(struct iem_cpu *c, const struct iem_ix *i, uint32_t src, unsigned w)
{
    uint64_t n = iem_div_dividend(c, w);
    if (src == 0 || n / src > iem_wmask(w))
        iem_raise_de(c, i);
    iem_muldiv_store(c, (uint32_t)(n / src), (uint32_t)(n % src), w);
}
static inline void iem_do_idiv(struct iem_cpu *c, const struct iem_ix *i, uint32_t src, unsigned w)
{
    uint64_t un = iem_div_dividend(c, w);
    int64_t n = w == 32 ? (int64_t)un : w == 16 ? (int64_t)(int32_t)un : (int64_t)(int16_t)un;
    int64_t d = iem_sext(src, w);
    /* INT64_MIN / -1 (only reachable for w = 32) overflows in C and is #DE anyway. */
    if (d == 0 || (d == -1 && n == INT64_MIN))
        iem_raise_de(c, i);
    int64_t q = n / d, r = n % d;
    int64_t lim = (int64_t)1 << (w - 1);
    if (q >= lim || q < -lim)
        iem_raise_de(c, i);
    iem_muldiv_store(c, (uint32_t)q & iem_wmask(w), (uint32_t)r & iem_wmask(w), w);
}

/* F6/F7 /4-/7: one explicit operand (register r0 or memory). */
#define IEM_MD_W(name, W)                                                                  \
    IEM_STATIC_HANDLER(ix_##name##_r##W)                                                   \
    {                                                                                      \
        iem_do_##name(c, i, iem_rget(c, i->r0, W), W);                                     \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W)                                                   \
    {                                                                                      \
        iem_do_##name(c, i, iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), W);                \
        IEM_NEXT(c, i);                                                                    \
    }
#define IEM_MD_ALL(name)                                                                   \
    IEM_MD_W(name, 8)                                                                      \
    IEM_MD_W(name, 16)                                                                     \
    IEM_MD_W(name, 32)                                                                     \
    const struct iem_hset iem_hs_##name = { .f = {                                         \
        [IEM_S_R] = { ix_##name##_r8, ix_##name##_r16, ix_##name##_r32 },                  \
        [IEM_S_M] = { ix_##name##_m8, ix_##name##_m16, ix_##name##_m32 },                  \
    } };

IEM_MD_ALL(mul)
IEM_MD_ALL(imul)
IEM_MD_ALL(div)
IEM_MD_ALL(idiv)

/* Two/three-operand IMUL: dst = low half of a * b, flags as one-operand IMUL. */
static inline uint32_t iem_imul_lo(struct iem_cpu *c, uint32_t a, uint32_t b, unsigned w)
{
    int64_t p = iem_sext(a, w) * iem_sext(b, w);
    uint32_t lo = (uint32_t)p & iem_wmask(w);
    iem_mul_flags(c, lo, p != iem_sext(lo, w), w);
    return lo;
}

#define IEM_IMULN_W(W)                                                                     \
    IEM_STATIC_HANDLER(ix_imul_r##W##_r##W)                                                \
    {                                                                                      \
        iem_rset(c, i->r0, iem_imul_lo(c, iem_rget(c, i->r0, W), iem_rget(c, i->r1, W), W), W); \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_imul_r##W##_m##W)                                                \
    {                                                                                      \
        uint32_t b = iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W);                           \
        iem_rset(c, i->r0, iem_imul_lo(c, iem_rget(c, i->r0, W), b, W), W);                \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_imul_r##W##_r##W##_i)                                            \
    {                                                                                      \
        uint32_t r = iem_imul_lo(c, iem_rget(c, i->r1, W), (uint32_t)i->imm & iem_wmask(W), W); \
        iem_rset(c, i->r0, r, W);                                                          \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_imul_r##W##_m##W##_i)                                            \
    {                                                                                      \
        uint32_t a = iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W);                           \
        iem_rset(c, i->r0, iem_imul_lo(c, a, (uint32_t)i->imm & iem_wmask(W), W), W);      \
        IEM_NEXT(c, i);                                                                    \
    }
IEM_IMULN_W(16)
IEM_IMULN_W(32)

const struct iem_hset iem_hs_imul2 = { .f = {
    [IEM_S_RR] = { NULL, ix_imul_r16_r16, ix_imul_r32_r32 },
    [IEM_S_RM] = { NULL, ix_imul_r16_m16, ix_imul_r32_m32 },
} };
const struct iem_hset iem_hs_imul3 = { .f = {
    [IEM_S_RR] = { NULL, ix_imul_r16_r16_i, ix_imul_r32_r32_i },
    [IEM_S_RM] = { NULL, ix_imul_r16_m16_i, ix_imul_r32_m32_i },
} };
