/* SPDX-License-Identifier: MIT */
/*
 * BCD adjust family: DAA DAS AAA AAS AAM AAD and the undocumented SALC
 * (SDM Vol. 2 "DAA", "DAS", "AAA", "AAS", "AAM", "AAD"; SALC: D6 sets AL to
 * 0xFF when CF is set, else 0, flags unchanged).
 *
 * Defined flags follow the SDM pseudo-code.  Undefined flags follow what
 * public research reports for Intel hardware (sandpile.org "undefined
 * integer FLAGS behavior", P4/Core 2 columns; the P6 column says
 * "unpredictable" for these OF values, so any choice is hardware-true for
 * some Intel part):
 *  - DAA/DAS: OF = 0;
 *  - AAA/AAS: OF = 0, SF = 0, ZF and PF from the adjusted AL before the
 *    high nibble is cleared (AL+6 / AL-6, or AL when no adjust);
 *  - AAM: OF = AF = CF = 0 (flags as after a logic op on AL);
 *  - AAD: OF AF CF as for the 8-bit ADD AL, AH*imm8 it performs.
 */
#include "iem/iem_arith.h"

static inline uint32_t iem_bcd_szp(uint32_t al)
{
    al &= 0xffu;
    return (al ? 0 : CPUM_EFL_ZF) | (al & 0x80u ? CPUM_EFL_SF : 0) | iem_arith_pf(al);
}
static inline void iem_bcd_set_al(struct iem_cpu *c, uint32_t al) { iem_rset(c, IEM_R8(0), al, 8); }
static inline uint32_t iem_bcd_al(const struct iem_cpu *c) { return iem_rget(c, IEM_R8(0), 8); }

/* DAA (SDM pseudo-code): low-nibble adjust +6, then high adjust +0x60. */
static void iem_bcd_daa(struct iem_cpu *c)
{
    uint32_t al = iem_bcd_al(c), old_al = al, old_cf = iem_cf(c), cf = 0, af = 0;
    if ((al & 0xfu) > 9 || iem_af(c)) {
        cf = old_cf | (al + 6 > 0xffu);
        al = (al + 6) & 0xffu;
        af = 1;
    }
    if (old_al > 0x99 || old_cf) {
        al = (al + 0x60) & 0xffu;
        cf = 1;
    } else {
        cf = 0;
    }
    iem_bcd_set_al(c, al);
    iem_lf_set_eflags(c, iem_bcd_szp(al) | cf | (af ? CPUM_EFL_AF : 0));
}
/* DAS: CF keeps the borrow of the low adjust when no high adjust happens. */
static void iem_bcd_das(struct iem_cpu *c)
{
    uint32_t al = iem_bcd_al(c), old_al = al, old_cf = iem_cf(c), cf = 0, af = 0;
    if ((al & 0xfu) > 9 || iem_af(c)) {
        cf = old_cf | (al < 6);
        al = (al - 6) & 0xffu;
        af = 1;
    }
    if (old_al > 0x99 || old_cf) {
        al = (al - 0x60) & 0xffu;
        cf = 1;
    }
    iem_bcd_set_al(c, al);
    iem_lf_set_eflags(c, iem_bcd_szp(al) | cf | (af ? CPUM_EFL_AF : 0));
}
/* AAA: AX += 0x106 (carry from AL propagates into AH), AL &= 0x0F. */
static void iem_bcd_aaa(struct iem_cpu *c)
{
    uint32_t ax = iem_rget(c, CPUM_EAX, 16), adj = (ax & 0xfu) > 9 || iem_af(c);
    uint32_t tmp = adj ? ax + 0x106 : ax;
    iem_rset(c, CPUM_EAX, tmp & 0xff0fu, 16);
    uint32_t f = iem_bcd_szp(tmp) & (CPUM_EFL_ZF | CPUM_EFL_PF);
    iem_lf_set_eflags(c, f | (adj ? CPUM_EFL_AF | CPUM_EFL_CF : 0));
}
/* AAS: AX -= 6, AH -= 1, AL &= 0x0F. */
static void iem_bcd_aas(struct iem_cpu *c)
{
    uint32_t ax = iem_rget(c, CPUM_EAX, 16), adj = (ax & 0xfu) > 9 || iem_af(c);
    uint32_t tmp = adj ? ax - 6 - 0x100 : ax;
    iem_rset(c, CPUM_EAX, tmp & 0xff0fu, 16);
    uint32_t f = iem_bcd_szp(tmp) & (CPUM_EFL_ZF | CPUM_EFL_PF);
    iem_lf_set_eflags(c, f | (adj ? CPUM_EFL_AF | CPUM_EFL_CF : 0));
}
static void iem_bcd_salc(struct iem_cpu *c) { iem_bcd_set_al(c, iem_cf(c) ? 0xffu : 0); }

#define IEM_BCD_HS(name)                                                                   \
    IEM_STATIC_HANDLER(ix_##name)                                                          \
    {                                                                                      \
        iem_bcd_##name(c);                                                                 \
        IEM_NEXT(c, i);                                                                    \
    }                                                                                      \
    const struct iem_hset iem_hs_##name = { .f = {                                         \
        [IEM_S_NONE] = { ix_##name, ix_##name, ix_##name },                                \
    } };
IEM_BCD_HS(daa)
IEM_BCD_HS(das)
IEM_BCD_HS(aaa)
IEM_BCD_HS(aas)
IEM_BCD_HS(salc)

/* AAM imm8: AH = AL / imm8, AL = AL % imm8; #DE when imm8 is 0. */
IEM_STATIC_HANDLER(ix_aam_i)
{
    uint32_t base = (uint32_t)i->imm & 0xffu, al = iem_bcd_al(c);
    if (!base)
        iem_raise_de(c, i);
    iem_rset(c, CPUM_EAX, (al / base) << 8 | (al % base), 16);
    iem_alu_logic(c, al % base, 8);
    IEM_NEXT(c, i);
}
/* AAD imm8: AL = AL + AH * imm8 (8-bit), AH = 0. */
IEM_STATIC_HANDLER(ix_aad_i)
{
    uint32_t ax = iem_rget(c, CPUM_EAX, 16);
    uint32_t al = iem_alu_add(c, ax & 0xffu, ((ax >> 8) * ((uint32_t)i->imm & 0xffu)) & 0xffu, 0, 8);
    iem_rset(c, CPUM_EAX, al, 16);
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_aam = { .f = { [IEM_S_NONE] = { ix_aam_i, ix_aam_i, ix_aam_i } } };
const struct iem_hset iem_hs_aad = { .f = { [IEM_S_NONE] = { ix_aad_i, ix_aad_i, ix_aad_i } } };
