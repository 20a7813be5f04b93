/* SPDX-License-Identifier: MIT */
/*
 * CPUM: architectural CPU state helpers shared by the VMM (INIT/SIPI,
 * reset) and the interpreter.
 */
#include <string.h>

#include "ixvm/cpum.h"

static void cpum_seg_real(struct cpum_seg *seg, uint16_t sel, uint32_t base, bool code)
{
    seg->sel = sel;
    seg->base = base;
    seg->limit = 0xffff;
    /* Present, S=1, accessed; read/write data or execute/read code. */
    seg->attr = CPUM_SEG_ATTR_P | CPUM_SEG_ATTR_S | (code ? 0xb : 0x3);
}

void cpum_reset_state(struct cpum_state *s, bool init_only)
{
    struct cpum_msrs msr = s->msr;
    uint16_t fcw = s->fpu_fcw, fsw = s->fpu_fsw, ftw = s->fpu_ftw;
    struct cpum_state x87 = *s;   /* INIT keeps the whole x87 state (below) */

    memset(s, 0, sizeof(*s));
    /* SDM Vol. 3A Table 9-1: EDX holds the processor signature after reset. */
    s->gpr[CPUM_EDX] = 0x00000633;   /* family 6, model 3, stepping 3 (Pentium II class) */
    s->eip = 0xfff0;
    s->eflags = CPUM_EFL_1;
    s->cr0 = CPUM_CR0_ET | CPUM_CR0_CD | CPUM_CR0_NW;
    for (int i = 0; i < CPUM_SREG_COUNT; i++)
        cpum_seg_real(&s->seg[i], 0, 0, false);
    cpum_seg_real(&s->seg[CPUM_CS], 0xf000, 0xffff0000u, true);
    s->gdtr.limit = 0xffff;
    s->idtr.limit = 0xffff;
    s->ldtr.limit = 0xffff;
    s->ldtr.attr = CPUM_SEG_ATTR_P | 0x2;      /* LDT */
    s->tr.limit = 0xffff;
    s->tr.attr = CPUM_SEG_ATTR_P | 0xb;        /* busy 32-bit TSS */
    s->dr[6] = 0xffff0ff0u;
    s->dr[7] = 0x00000400u;

    if (init_only) {
        /* INIT keeps the x87 state, the MTRRs and most MSRs (Table 9-1). */
        s->msr = msr;
        s->fpu_fcw = fcw;
        s->fpu_fsw = fsw;
        s->fpu_ftw = ftw;
        s->fpu_fop = x87.fpu_fop;
        s->fpu_fcs = x87.fpu_fcs;
        s->fpu_fds = x87.fpu_fds;
        s->fpu_fip = x87.fpu_fip;
        s->fpu_fdp = x87.fpu_fdp;
        memcpy(s->fpu_r, x87.fpu_r, sizeof(s->fpu_r));
    } else {
        s->fpu_fcw = 0x0040;
        s->fpu_ftw = 0x5555;
        s->msr.pat = 0x0007040600070406ull;
    }
    s->msr.efer = 0;
}

void cpum_sipi_state(struct cpum_state *s, uint8_t vector)
{
    cpum_seg_real(&s->seg[CPUM_CS], (uint16_t)(vector << 8), (uint32_t)vector << 12, true);
    s->eip = 0;
}

enum cpum_mode cpum_mode(const struct cpum_state *s)
{
    if (!(s->cr0 & CPUM_CR0_PE))
        return CPUM_MODE_REAL;
    if (s->eflags & CPUM_EFL_VM)
        return CPUM_MODE_V86;
    return (s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D) ? CPUM_MODE_PROT32 : CPUM_MODE_PROT16;
}

const char *cpum_mode_name(enum cpum_mode m)
{
    static const char *const names[] = { "real", "prot16", "prot32", "v86" };
    return (unsigned)m < IXVM_ARRAY_SIZE(names) ? names[m] : "?";
}
