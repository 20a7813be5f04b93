/* SPDX-License-Identifier: MIT */
/*
 * Differential tester, host side: runs one x86 instruction on the host CPU
 * in 32-bit compatibility mode (Linux's flat 32-bit user code segment 0x23)
 * with a chosen register/EFLAGS state and returns the resulting state.
 *
 * Everything the instruction can touch sits below 4 GiB at a fixed low
 * address (code page, context page, a small stack, the data window), so a
 * 32-bit register value addresses the same bytes on the host and in the
 * interpreter, where the same bytes are mapped at the same guest address.
 * CPU exceptions are caught as signals and reported as vectors.
 */
#ifndef IXVM_TESTS_DIFF_HOST_H
#define IXVM_TESTS_DIFF_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "ixvm/types.h"

/* Guest-visible layout, relative to the region base (one mapping). */
#define DIFF_REGION_SIZE   0x20000u  /* whole mapping */
#define DIFF_CODE_OFF      0x0000u   /* stub + instruction slot (RWX) */
#define DIFF_CTX_OFF       0x1000u   /* register in/out blocks */
#define DIFF_STACK_OFF     0x2000u   /* stub's own stack for PUSHFD/POPFD */
#define DIFF_STACK_SIZE    0x2000u
#define DIFF_WIN_OFF       0x10000u  /* data window compared after each case */
#define DIFF_WIN_SIZE      0x400u    /* 1 KiB */
#define DIFF_INSN_MAX      15u       /* architectural instruction length limit */

/* No exception (the instruction completed). */
#define DIFF_VEC_NONE      (-1)

/* The architectural state both machines see and produce. */
struct diff_regs {
    uint32_t gpr[8];    /* EAX ECX EDX EBX ESP EBP ESI EDI (CPUM_* order) */
    uint32_t eflags;
    uint32_t eip;
};

/* Result of running one instruction. */
struct diff_out {
    struct diff_regs regs;
    int vector;                       /* DIFF_VEC_NONE or the exception vector */
    uint8_t win[DIFF_WIN_SIZE];       /* data window after the instruction */
};

struct diff_host;

/*
 * Map the region at a fixed low address, build the stub, install the
 * signal handlers and probe that 32-bit code runs.  Only one runner may be
 * open per process (the signal handler is process-wide).
 */
int diff_host_open(struct diff_host **out, struct ixvm_errinfo *err) IXVM_WUR;
void diff_host_close(struct diff_host *h);

/* Guest/host address of the region and of the instruction slot. */
uint32_t diff_host_base(const struct diff_host *h);
uint32_t diff_host_insn_addr(const struct diff_host *h);
static inline uint32_t diff_host_win_addr(const struct diff_host *h)
{
    return diff_host_base(h) + DIFF_WIN_OFF;
}

/*
 * Run insn (len bytes, <= DIFF_INSN_MAX) with registers in->gpr and the
 * status flags + DF of in->eflags (IF set, all else clear), with the data
 * window holding win_in.  Fills out; out->regs.eip is the address after the
 * instruction, or of the instruction if it faulted.  Returns 0, or an error
 * if the arguments are bad.
 */
int diff_host_run(struct diff_host *h, const uint8_t *insn, size_t len, const struct diff_regs *in,
                  const uint8_t *win_in, struct diff_out *out) IXVM_WUR;

/* The EFLAGS bits the runner loads from the input (others: IF=1, bit 1=1). */
#define DIFF_EFL_LOADED 0x00000cd5u  /* OF DF SF ZF AF PF CF */
#define DIFF_EFL_FIXED  0x00000202u

#endif
