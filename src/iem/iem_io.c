/* SPDX-License-Identifier: MIT */
/*
 * I/O permission checks for IN/OUT/INS/OUTS (SDM Vol. 1 19.5 "I/O
 * Privilege Level" and 19.5.2 "I/O Permission Bit Map"): in protected mode
 * with CPL > IOPL, and always in V86 mode, every port of the access must
 * have its bit clear in the bit map of the current 32-bit TSS.
 */
#include "iem/iem_mem.h"

/* Offset of the I/O map base field in a 32-bit TSS (SDM Vol. 3A Figure 7-2). */
#define IEM_TSS32_IOMAP_OFF 0x66u

void iem_io_check(struct iem_cpu *c, const struct iem_ix *i, uint16_t port, unsigned size)
{
    const struct cpum_state *s = c->s;
    if (!(s->cr0 & CPUM_CR0_PE))
        return;
    bool v86 = (s->eflags & CPUM_EFL_VM) != 0;
    unsigned iopl = (s->eflags & CPUM_EFL_IOPL) >> 12;
    if (!v86 && c->cpl <= iopl)
        return;
    /* Only a 32-bit TSS has a bit map (types 9 and 11); a 16-bit or unusable
     * TR, or one too short to hold the map base, denies everything. */
    unsigned type = s->tr.attr & CPUM_SEG_ATTR_TYPE_MASK;
    if ((s->tr.attr & CPUM_SEG_ATTR_UNUSABLE) || (type != 9 && type != 11) ||
        s->tr.limit < IEM_TSS32_IOMAP_OFF + 1u)
        iem_raise_gp(c, i, 0);
    uint32_t base = (uint32_t)iem_sys_read(c, i, s->tr.base + IEM_TSS32_IOMAP_OFF, 2);
    /* The processor reads the two bytes holding the first bit; both must be
     * within the TSS limit (19.5.2: hence the 0xff byte after the map). */
    uint32_t off = base + port / 8u;
    if (off + 1u > s->tr.limit)
        iem_raise_gp(c, i, 0);
    uint32_t bits = (uint32_t)iem_sys_read(c, i, s->tr.base + off, 2);
    uint32_t need = ((1u << size) - 1u) << (port & 7u);
    if (bits & need)
        iem_raise_gp(c, i, 0);
}
