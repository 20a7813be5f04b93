/* SPDX-License-Identifier: MIT */
/*
 * WRMSR value checks for the i686 MSRs of struct cpum_msrs: writing a
 * reserved bit or an undefined memory type raises #GP(0) (SDM Vol. 4
 * chapter 2; Vol. 3A 11.11 MTRRs and 11.12.2 PAT).  The physical address
 * width is 36 bits (PAE, no PSE-36 reported), so bits 36-63 of address
 * fields are reserved.  Unknown MSRs are rejected by the caller.
 */
#include "iem/iem_internal.h"

#define IEM_PA_RSVD 0xfffffff000000000ull   /* bits 36-63 */

/* Memory types (SDM Vol. 3A Table 11-8): UC 0, WC 1, WT 4, WP 5, WB 6;
 * the PAT also has UC- (7). */
static bool iem_mtype_ok(unsigned t, bool pat)
{
    return t == 0 || t == 1 || (t >= 4 && t <= 6) || (pat && t == 7);
}
static bool iem_mtypes8_ok(uint64_t v, bool pat)
{
    for (unsigned k = 0; k < 8; k++)
        if (!iem_mtype_ok((unsigned)(v >> (8 * k)) & 0xffu, pat))
            return false;
    return true;
}
static bool iem_mtrr_fixed(uint32_t msr)
{
    return msr == 0x250 || msr == 0x258 || msr == 0x259 || (msr >= 0x268 && msr <= 0x26f);
}

bool iem_msr_write_ok(uint32_t msr, uint64_t v)
{
    if (msr >= 0x200 && msr < 0x210) {
        if (msr & 1)   /* IA32_MTRR_PHYSMASKn: V (11), mask 12-35 */
            return !(v & (IEM_PA_RSVD | 0x7ffu));
        /* IA32_MTRR_PHYSBASEn: type 0-7, base 12-35 */
        return !(v & (IEM_PA_RSVD | 0xf00u)) && iem_mtype_ok((unsigned)v & 0xffu, false);
    }
    if (iem_mtrr_fixed(msr))
        return iem_mtypes8_ok(v, false);
    switch (msr) {
    case 0x1b:    /* IA32_APIC_BASE: BSP (8), EN (11), base 12-35 */
        return !(v & (IEM_PA_RSVD | 0x6ffu));
    case 0x277:   /* IA32_PAT: eight 3-bit entries in byte fields */
        return iem_mtypes8_ok(v, true);
    case 0x2ff:   /* IA32_MTRR_DEF_TYPE: type 0-7, FE (10), E (11) */
        return !(v & ~0xcffull) && iem_mtype_ok((unsigned)v & 0xffu, false);
    case 0x1a0:   /* IA32_MISC_ENABLE: the architectural bits (Vol. 4 Table 2-2) */
        return !(v & ~((1ull << 0) | (1ull << 3) | (1ull << 7) | (1ull << 11) | (1ull << 12) | (1ull << 16) |
                       (1ull << 18) | (1ull << 22) | (1ull << 23) | (1ull << 34)));
    default:
        return true;
    }
}
