/* SPDX-License-Identifier: MIT */
/*
 * CPUM: the architectural state of one i686 vCPU, as the rest of ixvm sees
 * it (debugger, saved state, INIT/SIPI, info handlers).  The interpreter
 * (src/iem) works on this struct directly; anything it keeps lazily (EFLAGS
 * arithmetic flags, decoded blocks, TLBs) lives in its own per-vCPU state and
 * is folded back by iem before anyone else reads these fields.
 *
 * Segment attributes use the descriptor's bits 40..55 shifted down by 8
 * (type/S/DPL/P in bits 0..7, AVL/L/D/G in bits 12..15), with
 * CPUM_SEG_ATTR_UNUSABLE marking a null/unusable segment, like VT-x does.
 */
#ifndef IXVM_CPUM_H
#define IXVM_CPUM_H

#include "ixvm/types.h"

enum cpum_gpr { CPUM_EAX, CPUM_ECX, CPUM_EDX, CPUM_EBX, CPUM_ESP, CPUM_EBP, CPUM_ESI, CPUM_EDI,
                CPUM_GPR_ZERO /* always 0: absent base/index in decoded records */, CPUM_GPR_COUNT };
enum cpum_sreg { CPUM_ES, CPUM_CS, CPUM_SS, CPUM_DS, CPUM_FS, CPUM_GS, CPUM_SREG_COUNT };

#define CPUM_SEG_ATTR_TYPE_MASK   0x000fu
#define CPUM_SEG_ATTR_S           0x0010u
#define CPUM_SEG_ATTR_DPL_SHIFT   5
#define CPUM_SEG_ATTR_DPL_MASK    0x0060u
#define CPUM_SEG_ATTR_P           0x0080u
#define CPUM_SEG_ATTR_AVL         0x1000u
#define CPUM_SEG_ATTR_L           0x2000u
#define CPUM_SEG_ATTR_D           0x4000u
#define CPUM_SEG_ATTR_G           0x8000u
#define CPUM_SEG_ATTR_UNUSABLE    0x10000u

/* EFLAGS bits (SDM Vol. 1 3.4.3). */
#define CPUM_EFL_CF   0x00000001u
#define CPUM_EFL_1    0x00000002u  /* reserved, always 1 */
#define CPUM_EFL_PF   0x00000004u
#define CPUM_EFL_AF   0x00000010u
#define CPUM_EFL_ZF   0x00000040u
#define CPUM_EFL_SF   0x00000080u
#define CPUM_EFL_TF   0x00000100u
#define CPUM_EFL_IF   0x00000200u
#define CPUM_EFL_DF   0x00000400u
#define CPUM_EFL_OF   0x00000800u
#define CPUM_EFL_IOPL 0x00003000u
#define CPUM_EFL_NT   0x00004000u
#define CPUM_EFL_RF   0x00010000u
#define CPUM_EFL_VM   0x00020000u
#define CPUM_EFL_AC   0x00040000u
#define CPUM_EFL_VIF  0x00080000u
#define CPUM_EFL_VIP  0x00100000u
#define CPUM_EFL_ID   0x00200000u
#define CPUM_EFL_STATUS (CPUM_EFL_CF | CPUM_EFL_PF | CPUM_EFL_AF | CPUM_EFL_ZF | CPUM_EFL_SF | CPUM_EFL_OF)

/* Control register bits (SDM Vol. 3A 2.5). */
#define CPUM_CR0_PE 0x00000001u
#define CPUM_CR0_MP 0x00000002u
#define CPUM_CR0_EM 0x00000004u
#define CPUM_CR0_TS 0x00000008u
#define CPUM_CR0_ET 0x00000010u
#define CPUM_CR0_NE 0x00000020u
#define CPUM_CR0_WP 0x00010000u
#define CPUM_CR0_AM 0x00040000u
#define CPUM_CR0_NW 0x20000000u
#define CPUM_CR0_CD 0x40000000u
#define CPUM_CR0_PG 0x80000000u
#define CPUM_CR4_VME 0x001u
#define CPUM_CR4_PVI 0x002u
#define CPUM_CR4_TSD 0x004u
#define CPUM_CR4_DE  0x008u
#define CPUM_CR4_PSE 0x010u
#define CPUM_CR4_PAE 0x020u
#define CPUM_CR4_MCE 0x040u
#define CPUM_CR4_PGE 0x080u
#define CPUM_CR4_PCE 0x100u
#define CPUM_CR4_OSFXSR 0x200u
#define CPUM_CR4_OSXMMEXCPT 0x400u
#define CPUM_EFER_NXE (1ull << 11)

struct cpum_seg {
    uint16_t sel;
    uint32_t base;
    uint32_t limit;   /* byte-granular, already scaled by G */
    uint32_t attr;    /* CPUM_SEG_ATTR_* */
};

struct cpum_dtr {
    uint32_t base;
    uint16_t limit;
};

/* The i686 MSRs ixvm models (SDM Vol. 4, chapter 2, P6 family). */
struct cpum_msrs {
    uint64_t tsc_offset;      /* guest TSC = virtual clock ticks + offset */
    uint64_t apic_base;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat;
    uint64_t mtrr_cap, mtrr_def_type;
    uint64_t mtrr_phys[16];   /* base/mask pairs 0..7 */
    uint64_t mtrr_fix[11];    /* 64K_00000, 16K_80000/A0000, 4K_C0000..F8000 */
    uint64_t misc_enable;
    uint64_t efer;
    uint64_t bios_sign_id;
};

/* One x87 data register in double extended-precision format (SDM Vol. 1
 * 4.2.2): 64-bit significand (explicit integer bit 63) and the sign bit 15 +
 * 15-bit biased exponent word; byte-identical to the first 10 bytes of the
 * FSAVE/FSTP m80 image on a little-endian host. */
struct cpum_fpreg {
    uint64_t mant;
    uint16_t exp;
};

struct cpum_state {
    uint32_t gpr[CPUM_GPR_COUNT];
    uint32_t eip;
    uint32_t eflags;
    struct cpum_seg seg[CPUM_SREG_COUNT];
    struct cpum_seg ldtr, tr;
    struct cpum_dtr gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];           /* DR4/DR5 alias DR6/DR7 when CR4.DE=0 */
    struct cpum_msrs msr;
    uint8_t cpl;
    bool a20_masked;          /* A20 gate closed: bit 20 of physical addresses forced to 0 */
    /* x87 FPU (SDM Vol. 1 8.1): control word, status word (TOP in bits
     * 11-13), full 2-bit-per-register tag word (FSAVE format, indexed by
     * physical register). */
    uint16_t fpu_fcw, fpu_fsw, fpu_ftw;
    uint16_t fpu_fop;              /* last non-control opcode: (byte0 & 7) << 8 | ModRM */
    uint16_t fpu_fcs, fpu_fds;     /* selectors of the last instruction and its data operand */
    uint32_t fpu_fip, fpu_fdp;     /* their offsets */
    struct cpum_fpreg fpu_r[8];    /* physical registers R0-R7: ST(i) = R[(TOP + i) & 7] */
};

/*
 * Put the state into the power-up/RESET or INIT state (SDM Vol. 3A 9.1.1,
 * Table 9-1).  INIT keeps the x87 state, the MTRRs and the other MSRs;
 * everything else is as after RESET.
 */
void cpum_reset_state(struct cpum_state *s, bool init_only);

/*
 * Start a vCPU that waits for SIPI (SDM Vol. 3A 8.4.4.1, 10.6.1): real mode,
 * CS selector = vector << 8, CS base = vector << 12, IP = 0.
 */
void cpum_sipi_state(struct cpum_state *s, uint8_t vector);

/* Current mode, derived from CR0.PE and EFLAGS.VM. */
enum cpum_mode { CPUM_MODE_REAL, CPUM_MODE_PROT16, CPUM_MODE_PROT32, CPUM_MODE_V86 };
enum cpum_mode cpum_mode(const struct cpum_state *s);
const char *cpum_mode_name(enum cpum_mode m);

#endif
