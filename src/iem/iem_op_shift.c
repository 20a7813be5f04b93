/* SPDX-License-Identifier: MIT */
/*
 * Shift and rotate family: ROL ROR RCL RCR SHL/SAL SHR SAR by 1, CL and imm8
 * (C0 C1 D0-D3) and SHLD/SHRD by imm8 and CL (0F A4 A5 AC AD), 8/16/32-bit,
 * register and memory forms (SDM Vol. 2 "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR",
 * "SHLD", "SHRD").
 *
 * Counts are masked to 5 bits; a masked count of 0 changes neither the
 * operand nor the flags.  RCL/RCR of 8/16-bit operands rotate by count mod
 * 9/17.  Where the SDM leaves flags undefined this follows Intel P6-and-later
 * hardware (measured on Skylake/Cascade Lake by VirtualBox's IEM work and
 * sandpile.org "undefined integer FLAGS behavior"):
 *  - OF for counts > 1 is computed from the *first* 1-bit step, i.e. the
 *    count-1 formula applied to the original operand;
 *  - AF is cleared by SHL/SHR/SAR/SHLD/SHRD;
 *  - SHL/SHR by >= the operand width shift in zeros (CF = the last bit out,
 *    0 beyond the width);
 *  - 16-bit SHLD/SHRD with counts 17..31 shift the 48-bit value
 *    dst:src:dst (Intel), so bits of dst come back in.
 */
#include "iem/iem_arith.h"

/* ---- the operations: (c, dst, count[, src], w) -> result; flags in c ---- */
static inline uint32_t iem_sh_shl(struct iem_cpu *c, uint32_t d, uint32_t n, unsigned w)
{
    n &= 31;
    if (!n)
        return d;
    uint32_t r = n < w ? (d << n) & iem_wmask(w) : 0;
    uint32_t cf = n <= w ? (d >> (w - n)) & 1u : 0;
    iem_arith_set_res(c, r, cf, ((d >> (w - 1)) ^ (d >> (w - 2))) & 1u, w);
    return r;
}
static inline uint32_t iem_sh_shr(struct iem_cpu *c, uint32_t d, uint32_t n, unsigned w)
{
    n &= 31;
    if (!n)
        return d;
    uint32_t r = n < w ? d >> n : 0;
    uint32_t cf = n <= w ? (d >> (n - 1)) & 1u : 0;
    iem_arith_set_res(c, r, cf, (d >> (w - 1)) & 1u, w);   /* OF = MSB(original) */
    return r;
}
static inline uint32_t iem_sh_sar(struct iem_cpu *c, uint32_t d, uint32_t n, unsigned w)
{
    n &= 31;
    if (!n)
        return d;
    int32_t sd = (int32_t)iem_sext(d, w);
    uint32_t r = (uint32_t)(sd >> (n < w ? n : w - 1)) & iem_wmask(w);
    uint32_t cf = (uint32_t)(sd >> (n - 1 < w ? n - 1 : w - 1)) & 1u;
    iem_arith_set_res(c, r, cf, 0, w);
    return r;
}
static inline uint32_t iem_sh_rol(struct iem_cpu *c, uint32_t d, uint32_t n, unsigned w)
{
    if (!(n & 31))
        return d;
    unsigned k = n & (w - 1);
    uint32_t r = k ? ((d << k) | (d >> (w - k))) & iem_wmask(w) : d;
    /* CF = LSB(result) even when k == 0 (count 8/16/24 on bytes). */
    iem_arith_set_cf_of(c, r & 1u, ((d >> (w - 1)) ^ (d >> (w - 2))) & 1u);
    return r;
}
static inline uint32_t iem_sh_ror(struct iem_cpu *c, uint32_t d, uint32_t n, unsigned w)
{
    if (!(n & 31))
        return d;
    unsigned k = n & (w - 1);
    uint32_t r = k ? ((d >> k) | (d << (w - k))) & iem_wmask(w) : d;
    iem_arith_set_cf_of(c, (r >> (w - 1)) & 1u, ((d >> (w - 1)) ^ d) & 1u);
    return r;
}
/* RCL/RCR rotate the (w+1)-bit value CF:dst. */
static inline uint32_t iem_sh_rcl(struct iem_cpu *c, uint32_t d, uint32_t n, unsigned w)
{
    n &= 31;
    if (w < 32)
        n %= w + 1;
    if (!n)
        return d;
    uint64_t vm = (2ull << w) - 1;
    uint64_t v = (uint64_t)iem_cf(c) << w | d;
    v = ((v << n) | (v >> (w + 1 - n))) & vm;
    iem_arith_set_cf_of(c, (uint32_t)(v >> w) & 1u, ((d >> (w - 1)) ^ (d >> (w - 2))) & 1u);
    return (uint32_t)v & iem_wmask(w);
}
static inline uint32_t iem_sh_rcr(struct iem_cpu *c, uint32_t d, uint32_t n, unsigned w)
{
    n &= 31;
    if (w < 32)
        n %= w + 1;
    if (!n)
        return d;
    uint32_t cfin = iem_cf(c);
    uint64_t vm = (2ull << w) - 1;
    uint64_t v = (uint64_t)cfin << w | d;
    v = ((v >> n) | (v << (w + 1 - n))) & vm;
    /* OF (count 1) = MSB(dst) ^ CF before the rotate. */
    iem_arith_set_cf_of(c, (uint32_t)(v >> w) & 1u, (cfin ^ (d >> (w - 1))) & 1u);
    return (uint32_t)v & iem_wmask(w);
}

/* SHLD/SHRD on the concatenation: 32-bit dst:src (src:dst for SHRD); 16-bit
 * the 48-bit dst:src:dst that Intel hardware uses for counts above 16. */
static inline uint64_t iem_shd_cat(uint32_t d, uint32_t s, unsigned w, bool left)
{
    if (w == 32)
        return left ? ((uint64_t)d << 32 | s) : ((uint64_t)s << 32 | d);
    return (uint64_t)d << 32 | (uint64_t)s << 16 | d;
}
static inline uint32_t iem_sh_shld(struct iem_cpu *c, uint32_t d, uint32_t s, uint32_t n, unsigned w)
{
    n &= 31;
    if (!n)
        return d;
    uint64_t t = iem_shd_cat(d, s, w, true);
    unsigned top = w == 32 ? 64 : 48;
    uint32_t r = (uint32_t)((t << n) >> 32) & iem_wmask(w);
    uint32_t cf = (uint32_t)(t >> (top - n)) & 1u;
    iem_arith_set_res(c, r, cf, ((d >> (w - 1)) ^ (d >> (w - 2))) & 1u, w);
    return r;
}
static inline uint32_t iem_sh_shrd(struct iem_cpu *c, uint32_t d, uint32_t s, uint32_t n, unsigned w)
{
    n &= 31;
    if (!n)
        return d;
    uint64_t t = iem_shd_cat(d, s, w, false);
    uint32_t r = (uint32_t)(t >> n) & iem_wmask(w);
    uint32_t cf = (uint32_t)(t >> (n - 1)) & 1u;
    iem_arith_set_res(c, r, cf, ((d >> (w - 1)) ^ s) & 1u, w);
    return r;
}

/* ---- group 2 handlers: count kinds 1 (D0/D1), cl (D2/D3), i (C0/C1) ---- */
#define IEM_CNT_1  1u
#define IEM_CNT_cl ((uint32_t)c->r[CPUM_ECX] & 0xffu)
#define IEM_CNT_i  ((uint32_t)i->imm & 0xffu)

#define IEM_SH_W(name, K, W)                                                               \
    IEM_STATIC_HANDLER(ix_##name##_r##W##_##K)                                             \
    {                                                                                      \
        iem_rset(c, i->r0, iem_sh_##name(c, iem_rget(c, i->r0, W), IEM_CNT_##K, W), W);    \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_##K)                                             \
    {                                                                                      \
        uint32_t n = IEM_CNT_##K;                                                          \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        iem_st(p, iem_sh_##name(c, iem_ld(p, W), n, W), W);                                \
        iem_commit_w(c, i, p);                                                             \
        IEM_NEXT_W(c, i);                                                                  \
    }
#define IEM_SH_K(name, K, SR, SM)                                                          \
    IEM_SH_W(name, K, 8)                                                                   \
    IEM_SH_W(name, K, 16)                                                                  \
    IEM_SH_W(name, K, 32)                                                                  \
    const struct iem_hset iem_hs_##name##_##K = { .f = {                                   \
        [SR] = { ix_##name##_r8_##K, ix_##name##_r16_##K, ix_##name##_r32_##K },           \
        [SM] = { ix_##name##_m8_##K, ix_##name##_m16_##K, ix_##name##_m32_##K },           \
    } };
#define IEM_SH_ALL(name)                                                                   \
    IEM_SH_K(name, 1, IEM_S_R, IEM_S_M)                                                    \
    IEM_SH_K(name, cl, IEM_S_R, IEM_S_M)                                                   \
    IEM_SH_K(name, i, IEM_S_RI, IEM_S_MI)

IEM_SH_ALL(rol)
IEM_SH_ALL(ror)
IEM_SH_ALL(rcl)
IEM_SH_ALL(rcr)
IEM_SH_ALL(shl)
IEM_SH_ALL(shr)
IEM_SH_ALL(sar)

/* ---- SHLD/SHRD: Ev,Gv,Ib and Ev,Gv,CL (register form: r0 = rm, r1 = reg;
 * memory form: r0 = reg) ---- */
#define IEM_SHD_W(name, K, W)                                                              \
    IEM_STATIC_HANDLER(ix_##name##_r##W##_r##W##_##K)                                      \
    {                                                                                      \
        uint32_t r = iem_sh_##name(c, iem_rget(c, i->r0, W), iem_rget(c, i->r1, W),        \
                                   IEM_CNT_##K, W);                                        \
        iem_rset(c, i->r0, r, W);                                                          \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m##W##_r##W##_##K)                                      \
    {                                                                                      \
        uint32_t n = IEM_CNT_##K, s = iem_rget(c, i->r0, W);                               \
        void *p = iem_map_w(c, i, IEM_SEG(i), iem_ea(c, i), W / 8, true);                  \
        iem_st(p, iem_sh_##name(c, iem_ld(p, W), s, n, W), W);                             \
        iem_commit_w(c, i, p);                                                             \
        IEM_NEXT_W(c, i);                                                                  \
    }
#define IEM_SHD_K(name, K)                                                                 \
    IEM_SHD_W(name, K, 16)                                                                 \
    IEM_SHD_W(name, K, 32)                                                                 \
    const struct iem_hset iem_hs_##name##_##K = { .f = {                                   \
        [IEM_S_RR] = { NULL, ix_##name##_r16_r16_##K, ix_##name##_r32_r32_##K },           \
        [IEM_S_MR] = { NULL, ix_##name##_m16_r16_##K, ix_##name##_m32_r32_##K },           \
    } };

IEM_SHD_K(shld, i)
IEM_SHD_K(shld, cl)
IEM_SHD_K(shrd, i)
IEM_SHD_K(shrd, cl)
