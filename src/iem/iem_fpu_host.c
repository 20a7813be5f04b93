/* SPDX-License-Identifier: MIT */
/*
 * The x87 execution primitive (iem_fpu.h): one guest FPU instruction run on
 * the host's x87 with the guest's rounding and precision control.  Each
 * op is one asm block that owns the host FPU for its duration: it saves
 * the host control word, FNINITs (empty stack, clear flags), loads the
 * guest control word with every exception masked (so the host never
 * traps; the caller applies the guest's masks to the returned flags),
 * loads y then x as 80-bit values (FLD m80 never raises, SDM Vol. 2
 * "FLD"), runs the instruction, stores the FSW, stores ST(0) and ST(1),
 * then FNINITs again and restores the host control word.  The host C code
 * uses SSE for float/double, so nothing else depends on the x87 state.
 */
#include "iem/iem_fpu.h"

#define IEM_FX_FN(n, insn)                                                                     \
    static uint16_t iem_fx_##n(uint16_t cw, struct iem_fx_io *io)                              \
    {                                                                                          \
        uint16_t sv = 0, sw = 0;                                                               \
        __asm__ volatile("fnstcw %[sv]\n\t"                                                    \
                         "fninit\n\t"                                                          \
                         "fldcw %[cw]\n\t"                                                     \
                         "fldt %[y]\n\t"                                                       \
                         "fldt %[x]\n\t" insn "\n\t"                                           \
                         "fnstsw %[sw]\n\t"                                                    \
                         "fstpt %[r0]\n\t"                                                     \
                         "fstpt %[r1]\n\t"                                                     \
                         "fninit\n\t"                                                          \
                         "fldcw %[sv]\n\t"                                                     \
                         : [sv] "+m"(sv), [sw] "=m"(sw), [r0] "=m"(io->r0), [r1] "=m"(io->r1), \
                           [mo] "+m"(io->mo)                                                   \
                         : [cw] "m"(cw), [x] "m"(io->x), [y] "m"(io->y), [m] "m"(io->m)        \
                         : "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",        \
                           "st(6)", "st(7)");                                                  \
        return sw;                                                                             \
    }
IEM_FX_OPS(IEM_FX_FN)
#undef IEM_FX_FN

typedef uint16_t (*iem_fx_fn)(uint16_t cw, struct iem_fx_io *io);
static const iem_fx_fn iem_fx_tab[IEM_FX_COUNT] = {
#define IEM_FX_TAB(n, insn) [IEM_FX_##n] = iem_fx_##n,
    IEM_FX_OPS(IEM_FX_TAB)
#undef IEM_FX_TAB
};

uint16_t iem_fpu_host(unsigned op, uint16_t cw, struct iem_fx_io *io)
{
    /* All exceptions masked on the host; PC and RC are the guest's. */
    return iem_fx_tab[op](cw | FPU_XMASK | 0x40u, io);
}
