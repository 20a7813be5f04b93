/* SPDX-License-Identifier: MIT */
/*
 * IEM internals shared by the decoder, the dispatcher and the instruction
 * families: the 32-byte decoded record, the per-vCPU interpreter state,
 * handler-set tables and the dispatch macros (docs/iem.md).
 */
#ifndef IXVM_IEM_INTERNAL_H
#define IXVM_IEM_INTERNAL_H

#include <setjmp.h>
#include <stdatomic.h>
#include <string.h>

#include "ixvm/cpum.h"
#include "ixvm/iem.h"
#include "ixvm/iom.h"
#include "ixvm/pgm.h"
#include "ixvm/stam.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "IEM assumes a little-endian host (byte registers, guest memory access)"
#endif

struct iem_cpu;
struct iem_ix;
/* Handler: returns the next record (trampoline) or NULL to leave the block. */
typedef const struct iem_ix *(*iem_fn)(struct iem_cpu *restrict c, const struct iem_ix *restrict i);

/* The decoded instruction record (IEM-DESIGN.md 2): 32 bytes. */
struct iem_ix {
    iem_fn fn;
    uint64_t imm;         /* immediate (sign-extended where the form says so), absolute
                           * branch target, or far pointer (offset | selector << 32) */
    uint32_t disp;        /* displacement (sign-extended), or moffs */
    uint16_t eip_off;     /* instruction start - block eip0 */
    uint16_t aux;         /* second immediate (ENTER), misc per family */
    uint8_t len;          /* instruction length incl. prefixes */
    uint8_t r0, r1;       /* register operands: GPR index, byte-register offset
                           * (IEM_R8 below), segment register, CR/DR number */
    uint8_t base, index;  /* GPR index, CPUM_GPR_ZERO when absent */
    uint8_t sc_seg_asz;   /* bits 0-1 scale, 2-4 segment, 5 asz32, 6 osz32 */
    uint8_t lflags;       /* IEM_LF_* */
    uint8_t op;           /* opcode byte (second byte for 0F xx) */
};
_Static_assert(sizeof(struct iem_ix) == 32, "decoded record must stay 32 bytes");

#define IEM_SC_MASK    0x03u
#define IEM_SEG_SHIFT  2
#define IEM_ASZ32      0x20u
#define IEM_OSZ32      0x40u
#define IEM_SEG(i)     (((i)->sc_seg_asz >> IEM_SEG_SHIFT) & 7u)
#define IEM_IS_OSZ32(i) (((i)->sc_seg_asz & IEM_OSZ32) != 0)
#define IEM_IS_ASZ32(i) (((i)->sc_seg_asz & IEM_ASZ32) != 0)

enum {
    IEM_LF_LOCK  = 0x01,
    IEM_LF_REP   = 0x02,   /* F3 */
    IEM_LF_REPNE = 0x04,   /* F2 */
    IEM_LF_NF    = 0x08,   /* flags output dead (reserved for _nf selection) */
    IEM_LF_FAULT = 0x10,   /* may fault */
    IEM_LF_END   = 0x20,   /* ends the block */
    IEM_LF_SEGOVR = 0x40,  /* explicit segment prefix */
    IEM_LF_NEAR  = 0x80,   /* near branch (Jcc, JMP/CALL/RET near, LOOP, JCXZ): the block may link */
};

/* Byte registers: r0/r1 hold a byte offset into the GPR array (AL=0, AH=1, CL=4...). */
#define IEM_R8(reg) ((uint8_t)(((reg) & 3u) * 4u + ((reg) >> 2)))

/* ---- handler sets: one per mnemonic, indexed by operand shape and width ---- */
enum iem_shape {
    IEM_S_NONE,   /* no ModRM operand (implicit, immediate only) */
    IEM_S_R,      /* one register operand (r0) */
    IEM_S_M,      /* one memory operand */
    IEM_S_RR,     /* r0 = dst register, r1 = src register */
    IEM_S_MR,     /* memory dst, r0 = src register */
    IEM_S_RM,     /* r0 = dst register, memory src */
    IEM_S_RI,     /* r0 = dst register, immediate */
    IEM_S_MI,     /* memory dst, immediate */
    IEM_S_ML,     /* LOCK variants */
    IEM_S_MRL,
    IEM_S_MIL,
    IEM_S_COUNT
};
enum { IEM_W8, IEM_W16, IEM_W32, IEM_W_COUNT = 4 };

struct iem_hset {
    iem_fn f[IEM_S_COUNT][IEM_W_COUNT];
};

/* Opcode-row attributes (opcodes.def). */
enum {
    IEM_A_LOCK  = 0x01,   /* LOCK allowed (memory forms) */
    IEM_A_END   = 0x02,   /* ends the block (mode changes, serializing) */
    IEM_A_FAULT = 0x04,   /* can fault */
    IEM_A_BR    = 0x08,   /* control transfer: handler leaves the block */
    IEM_A_PM    = 0x10,   /* protected mode only: #UD in real and V86 mode */
};
/* Flag columns. */
#define IEM_F_C 0x01u
#define IEM_F_P 0x04u
#define IEM_F_A 0x10u
#define IEM_F_Z 0x40u
#define IEM_F_S 0x80u
#define IEM_F_O 0x800u
#define IEM_F_D 0x400u
#define IEM_F_OSZAPC 0x8d5u
#define IEM_F_OSZAP  0x8d4u
#define IEM_F_ALL    0xfffu
#define IEM_F_NONE   0u

/* ---- blocks ---- */
#define IEM_BLOCK_MAX 32
struct iem_block {
    uint64_t phys;                 /* physical address of the first byte */
    uint32_t eip0;                 /* EIP of the first instruction */
    uint32_t cs_base;
    uint32_t eip_end;              /* EIP after the last byte decoded */
    uint32_t mode;                 /* mode key */
    uint32_t gen;                  /* page code_gen at build time */
    uint32_t n;                    /* instructions (the terminator not counted) */
    struct pgm_code_page *cp;      /* code-tracking words of the page */
    /* Block links (IEM-DESIGN.md 3): up to two successors keyed by their
     * eip0, valid while link_gen == c->jc_gen (bumped by every TLB and
     * cache flush).  Only a block whose exit cannot change CS, the mode,
     * the interrupt shadow or the debug state links (`linkable`: it ends in
     * a near branch or runs into the block/page size limit). [EMT] */
    struct iem_block *next[2];
    uint32_t link_gen;
    uint32_t linkable;
    struct iem_ix ix[];            /* n records + terminator */
};

struct iem_tlbe {
    uint64_t tag_r, tag_w, tag_x;  /* ((uint64)rev << 32) | page, | IEM_TLB_NO when slow */
    uintptr_t addend;              /* host = linear + addend */
};
#define IEM_TLB_SIZE 1024u
#define IEM_TLB_NO   1u

/* Per-segment access window (recomputed on every segment load / mode change). */
struct iem_segc {
    uint32_t base;
    uint32_t lo;             /* lowest valid offset (expand-down: limit + 1) */
    uint64_t end_r, end_w;   /* highest valid offset + 1 for reads / writes; 0 = no access */
    uint32_t flat;           /* IEM_SEGC_FLAT_R/W: base 0, every offset valid (no check needed) */
};
#define IEM_SEGC_FLAT_R 1u
#define IEM_SEGC_FLAT_W 2u

enum { IEM_XF_ERR = 1, IEM_XF_TRAP = 2, IEM_XF_SOFT = 4, IEM_XF_EXT = 8, IEM_XF_NMI = 16,
       IEM_XF_NORF = 32,     /* fault that pushes RF as is (#DB instruction breakpoint, SDM 3A 17.3.1.1) */
       IEM_XF_RESUME = 64 }; /* no exception: leave the block and continue at s->eip (iem_resume_at) */

struct iem_stats {
    struct stam_counter blk_hit, blk_miss, blk_smc, blk_flush, tlb_miss, tlb_flush, xcpt, uncached;
    struct stam_counter link_miss;   /* linked path fell back to the jump cache */
    struct stam_counter excl;        /* LOCKed instructions run in an exclusive section */
};

#define IEM_JC_SIZE 4096u
struct iem_jce {
    uint32_t lin, gen;
    struct iem_block *b;
};

struct iem_cpu {
    /* ---- hot: handlers ---- */
    uint32_t *r;                   /* = s->gpr (ZERO slot at CPUM_GPR_ZERO) */
    struct cpum_state *s;
    int64_t lf_res;                /* lazy flags: sign-extended result */
    uint32_t lf_aux;               /* CF bit 31, CF^OF bit 30, AF bit 3, PDB 8-15, SD 16 */
    uint32_t smc_stop;             /* a store hit the running block's code: leave after it */
    uint32_t chain_left;           /* blocks that may still chain without the dispatcher */
    struct iem_tlbe *tlb;          /* current privilege class table */
    uint64_t tlb_rev;              /* current revision << 32 */
    struct iem_segc segc[CPUM_SREG_COUNT];
    const struct iem_block *cur;   /* running block */
    int64_t budget;
    uint64_t icount;               /* [EMT writes, any reads] retired instructions: change
                                    * only with iem_icount_add (STAM reads it atomically) */
    /* ---- dispatcher ---- */
    int exit_rc;                   /* status a handler asks iem_exec to return */
    bool halted, shutdown;
    bool shadow;                   /* interrupt shadow active for the next instruction */
    bool shadow_set;               /* set by STI/MOV SS/POP SS in the running block */
    bool nmi_blocked;
    bool multi_threaded;
    uint8_t cpl;
    /* Debug registers (iem_dbg.c), [EMT]: dbg_armed (a DR7 L/G bit is set)
     * forces one-instruction blocks at block entry, like TF and RF do. */
    uint8_t dbg_armed;
    uint8_t dbg_watch;             /* data breakpoints: their pages take the TLB slow path */
    uint8_t dbg_hit;               /* B0-B3 matched by the running instruction */
    uint8_t deliver_ilen;          /* length of the INT n/INT3/INTO being delivered, 0 otherwise */
    /* Looked at on every block entry, linked ones too (iem_exec.c): kept
     * next to the fields above, in the same cache lines. */
    uint32_t jc_gen;               /* jump cache and block links generation */
    uint32_t epoch;                /* pgm tlb epoch seen */
    const _Atomic uint32_t *epoch_p; /* pgm's epoch word [any, atomic] */
    _Atomic uint32_t *ff_cpu, *ff_vm;
    uint32_t ff_mask;
    uint32_t ff_irq;               /* bits of ff_mask looked at only while IF=1 */
    uint32_t ff_run;               /* ff_mask, less ff_irq while IF=0 (set by iem_run) */
    struct iem_jce *jc;
    int delivering;                /* vector being delivered, -1 none */
    struct { uint8_t vec; uint32_t err; unsigned flags; } xp;  /* pending exception */
    jmp_buf jb;
    struct pgm *pgm;
    struct iom *iom;
    uint8_t *ram;                  /* pgm host base */
    struct pgm_page_info xl;       /* page of the last iem_translate() */
    uint32_t a20_mask;
    _Atomic uint32_t ff_dummy;
    unsigned cpu_id;
    uint64_t (*clock_ticks)(void *);
    void *clock_user;
    /* Exclusive sections for LOCKed operands the host cannot update
     * atomically (iem_exec.c, IEM-DESIGN.md 8). [EMT] */
    int (*excl_fn)(void *user, void (*fn)(void *arg), void *arg);
    void *excl_user;
    bool excl_avail;               /* other vCPUs run and we are not inside a section */
    bool excl_req;                 /* restart the current instruction inside one */
    bool excl_fault;               /* the exclusive step raised (c->xp) */
    /* TLB: [0] supervisor, [1] user */
    struct iem_tlbe tlb_tab[2][IEM_TLB_SIZE];
    uint8_t tlb_global[2][IEM_TLB_SIZE];
    uint32_t rev;
    bool tlb_has_large;
    /* Translation state at the last iem_exec exit (iem_exec.c): the next
     * entry flushes the TLB only when the owner changed it. [EMT] */
    struct { uint32_t cr0, cr3, cr4; uint64_t efer; bool valid; } sync;
    /* write bounce buffer for slow / page-crossing writes */
    uint8_t bounce[64];
    struct { uint64_t pa0, pa1; uint32_t len0, len; bool active; } bnc;
    /* block cache */
    struct iem_block **bidx;       /* [IEM_BIDX_SIZE] */
    uint8_t *arena;
    size_t arena_size, arena_used;
    struct iem_block *one;         /* uncached one-instruction block (points into one_raw) */
    _Alignas(64) uint8_t one_raw[sizeof(struct iem_block) + 2 * sizeof(struct iem_ix)];
    /* diagnostics */
    struct iem_xcpt_info last_xcpt;
    struct iem_stats st;
    /* Debugger (iem_dbgf.c), [EMT]: NULL unless a debugger is attached.
     * Flight recorder: the last IEM_FR_DEPTH blocks entered, always on
     * (iem_flight_note: lin | n << 32 | mode key << 48). */
    struct iem_dbgf_cpu *dbgf;
    uint32_t fr_pos;
    uint64_t fr[64];
    /* x87 FERR# hook (iem_config.fpu_ferr) and its current level. [EMT] */
    void (*fpu_ferr)(void *user, bool asserted);
    void *fpu_ferr_user;
    bool fpu_ferr_on;
};
#define IEM_FR_DEPTH 64u

/* c->dbg_armed / c->dbg_watch bits: the guest's DR7 (iem_dbg.c) and the
 * debugger's watchpoints and instruction trace (iem_dbgf.c). */
#define IEM_DBG_ON_GUEST 0x01u
#define IEM_DBG_ON_DBGF  0x02u
#define IEM_DBG_ON_TRACE 0x04u

/* Record a block entry in the flight recorder: one store. */
static inline void iem_flight_note(struct iem_cpu *c, const struct iem_block *b)
{
#if defined(IEM_NO_FLIGHT_RECORDER)   /* for measuring its cost (docs/debugging.md) */
    (void)c;
    (void)b;
    return;
#endif
    c->fr[c->fr_pos++ & (IEM_FR_DEPTH - 1)] =
        (uint64_t)(uint32_t)(b->cs_base + b->eip0) | (uint64_t)b->n << 32 | (uint64_t)b->mode << 48;
}

#define IEM_BIDX_SIZE 65536u
#define IEM_ARENA_SIZE (8u << 20)

/* ---- dispatch (IEM-DESIGN.md 3) ---- */
#if defined(IEM_USE_MUSTTAIL)
#define IEM_NEXT(c, i) __attribute__((musttail)) return (i)[1].fn((c), (i) + 1)
#else
#define IEM_NEXT(c, i) return (i) + 1
#endif
/* After a handler that may store into guest memory: stop when it hit this block's code. */
#define IEM_NEXT_W(c, i)                                                          \
    do {                                                                          \
        if (IXVM_UNLIKELY((c)->smc_stop))                                         \
            return iem_stop_after((c), (i));                                      \
        IEM_NEXT(c, i);                                                           \
    } while (0)
#define IEM_HANDLER(name) const struct iem_ix *name(struct iem_cpu *restrict c, const struct iem_ix *restrict i)
#define IEM_STATIC_HANDLER(name) static IEM_HANDLER(name)

/* EIP of the current / next instruction. */
static inline uint32_t iem_eip_cur(const struct iem_cpu *c, const struct iem_ix *i)
{
    return c->cur->eip0 + i->eip_off;
}
static inline uint32_t iem_eip_next(const struct iem_cpu *c, const struct iem_ix *i)
{
    uint32_t e = c->cur->eip0 + i->eip_off + i->len;
    return (c->s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D) ? e : (e & 0xffff);
}
/* Leave the block after i (i completed), fixing the instruction accounting. */
const struct iem_ix *iem_stop_after(struct iem_cpu *c, const struct iem_ix *i);
/* The linked successor of the running block at s->eip if it may run now
 * (iem_exec.c: forced actions, budget, SMC and the chain limit checked;
 * budget, icount and c->cur already charged to it), else NULL. */
const struct iem_block *iem_chain_next(struct iem_cpu *c);
/* Leave the block at a control transfer to new_eip (i completed): continue
 * in the linked successor block directly (IEM-DESIGN.md 3) or return to
 * the dispatcher.  With musttail dispatch the call below sits in the
 * handler's tail position and compiles to a jump at -O1 and up; without
 * optimisation it nests, which c->chain_left bounds. */
static inline const struct iem_ix *iem_branch_exit(struct iem_cpu *c, const struct iem_ix *i, uint32_t eip)
{
    c->s->eip = eip;
    (void)i;
    const struct iem_block *nb = iem_chain_next(c);
    if (!nb)
        return NULL;
#if defined(IEM_USE_MUSTTAIL)
    return nb->ix[0].fn(c, nb->ix);
#else
    return nb->ix;
#endif
}

/* ---- exceptions (iem_xcpt.c) ---- */
enum { IEM_X_DE = 0, IEM_X_DB = 1, IEM_X_NMI = 2, IEM_X_BP = 3, IEM_X_OF = 4, IEM_X_BR = 5,
       IEM_X_UD = 6, IEM_X_NM = 7, IEM_X_DF = 8, IEM_X_TS = 10, IEM_X_NP = 11, IEM_X_SS = 12,
       IEM_X_GP = 13, IEM_X_PF = 14, IEM_X_MF = 16, IEM_X_AC = 17 };
/* Raise an exception for instruction i (NULL: s->eip is already the
 * reported EIP); never returns (longjmp to the instruction boundary). */
_Noreturn void iem_raise(struct iem_cpu *c, const struct iem_ix *i, unsigned vec, uint32_t err,
                         unsigned flags) IXVM_COLD;
_Noreturn void iem_raise_ud(struct iem_cpu *c, const struct iem_ix *i) IXVM_COLD;
_Noreturn void iem_raise_gp(struct iem_cpu *c, const struct iem_ix *i, uint32_t err) IXVM_COLD;
_Noreturn void iem_raise_ss(struct iem_cpu *c, const struct iem_ix *i, uint32_t err) IXVM_COLD;
_Noreturn void iem_raise_np(struct iem_cpu *c, const struct iem_ix *i, uint32_t err) IXVM_COLD;
_Noreturn void iem_raise_ts(struct iem_cpu *c, const struct iem_ix *i, uint32_t err) IXVM_COLD;
_Noreturn void iem_raise_de(struct iem_cpu *c, const struct iem_ix *i) IXVM_COLD;
_Noreturn void iem_raise_nm(struct iem_cpu *c, const struct iem_ix *i) IXVM_COLD;
_Noreturn void iem_raise_pf(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, uint32_t err) IXVM_COLD;
/* Deliver the pending exception c->xp (run from iem_exec's setjmp landing). */
int iem_xcpt_dispatch(struct iem_cpu *c);
/* Deliver vector through IVT/IDT (flags IEM_XF_*); may raise. eip: return address. */
void iem_deliver(struct iem_cpu *c, unsigned vec, uint32_t err, unsigned flags);
/* Software interrupt INT n / INT3 / INTO from instruction i. */
_Noreturn void iem_soft_int(struct iem_cpu *c, const struct iem_ix *i, unsigned vec) IXVM_COLD;

/* ---- task switches (iem_task.c) and call gates (iem_gate.c), called from far JMP/CALL/IRET ---- */
_Noreturn void iem_task_switch(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, int reason) IXVM_COLD;
_Noreturn void iem_call_gate(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, bool call) IXVM_COLD;

/* ---- protected-mode system machinery (iem_task.c, iem_gate.c, iem_v86.c, iem_dbg.c) ---- */
enum { IEM_TS_INT = 0, IEM_TS_JMP = 1, IEM_TS_CALL = 2, IEM_TS_IRET = 3 };   /* iem_task_switch reasons */
/* Leave the running block after i (NULL: outside a block) completed a control
 * transfer that already set s->eip (task switch, call gate). */
_Noreturn void iem_resume_at(struct iem_cpu *c, const struct iem_ix *i) IXVM_COLD;
/* Interrupt/exception through an IDT task gate (gate: the IDT entry). */
void iem_task_gate_deliver(struct iem_cpu *c, uint64_t gate, uint32_t err, unsigned flags);
/* IRET in V86 mode, and IRET from CPL 0 to V86 mode (EFLAGS.VM=1 in the image). */
const struct iem_ix *iem_iret_v86(struct iem_cpu *c, const struct iem_ix *i);
const struct iem_ix *iem_iret_to_v86(struct iem_cpu *c, const struct iem_ix *i);
/* INT n in V86 mode: true when redirected to the V86 IVT (VME), false when the
 * IDT delivers it; raises #GP(0) for the IOPL/VME cases that fault. */
bool iem_v86_int(struct iem_cpu *c, const struct iem_ix *i, unsigned vec);
/* Interrupt from V86 mode entered its ring-0 handler: VM=0, data segments null. */
void iem_v86_leave(struct iem_cpu *c);
/* CLI/STI with CPL > IOPL: VME/PVI virtualize IF as VIF (returns), else #GP(0). */
void iem_vif_cli_sti(struct iem_cpu *c, const struct iem_ix *i, bool sti);
/* PUSHF/POPF in V86 mode with IOPL < 3: VME forms, else #GP(0). */
void iem_vme_pushf(struct iem_cpu *c, const struct iem_ix *i);
void iem_vme_popf(struct iem_cpu *c, const struct iem_ix *i);
/* Debug registers and breakpoints. */
void iem_dbg_sync(struct iem_cpu *c);
uint32_t iem_dbg_mov_from(struct iem_cpu *c, const struct iem_ix *i, unsigned n);
void iem_dbg_mov_to(struct iem_cpu *c, const struct iem_ix *i, unsigned n, uint32_t v);
/* Block entry with TF/RF/dbg_armed (one instruction): instruction breakpoints
 * (fault), RF cleared; returns TF as the instruction starts. */
bool iem_dbg_before(struct iem_cpu *c);
/* After that instruction: data/I/O breakpoint hits and single-step (trap). */
void iem_dbg_after(struct iem_cpu *c, bool tf);
void iem_dbg_data(struct iem_cpu *c, uint32_t la, unsigned size, bool write);
bool iem_dbg_watched(const struct iem_cpu *c, uint32_t la);
void iem_dbg_io(struct iem_cpu *c, uint16_t port, unsigned size);
/* dbg_hit bit: the instruction was a software interrupt that cleared TF (no single-step trap). */
#define IEM_DBG_NO_STEP 0x80u
/* IN/OUT/INS/OUTS permission: IOPL, then the TSS I/O bit map (iem_io.c); raises #GP(0). */
void iem_io_check(struct iem_cpu *c, const struct iem_ix *i, uint16_t port, unsigned size);
/* WRMSR: false when v sets reserved bits or undefined memory types of msr (iem_msr.c). */
bool iem_msr_write_ok(uint32_t msr, uint64_t v);

/* ---- segments (iem_seg.c) ---- */
void iem_segc_update(struct iem_cpu *c, unsigned sreg);
void iem_segc_update_all(struct iem_cpu *c);
/* Read the 8-byte descriptor of sel (GDT/LDT); raises #GP(sel) if beyond the table
 * limit (vec/err chosen by the caller through xvec). */
uint64_t iem_desc_read(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, unsigned xvec);
void iem_desc_set_accessed(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint64_t d);
void iem_desc_to_seg(struct cpum_seg *seg, uint16_t sel, uint64_t d);
/* MOV/POP Sreg and LDS-style loads with all protected-mode checks. */
void iem_load_sreg(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint16_t sel);
/* Far JMP/CALL/RET to a code segment: checks and loads CS (protected mode). */
void iem_load_cs_checked(struct iem_cpu *c, const struct iem_ix *i, uint16_t sel, uint64_t d, uint8_t new_cpl);
void iem_set_cpl(struct iem_cpu *c, uint8_t cpl);
/* Mode key used in block lookups. */
uint32_t iem_mode_key(const struct iem_cpu *c);
/* Null out data segments whose DPL < CPL after a return to an outer level. */
void iem_null_outer_segs(struct iem_cpu *c);

/* ---- TLB / memory slow paths (iem_mem.c) ---- */
enum { IEM_ACC_R = 0, IEM_ACC_W = 1, IEM_ACC_X = 2, IEM_ACC_SYS = 4 };
void iem_tlb_flush(struct iem_cpu *c, bool global_too);
void iem_tlb_flush_page(struct iem_cpu *c, uint32_t la);
/* Translate la for access acc; fills the TLB; raises #PF.  Returns physical address. */
uint64_t iem_translate(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned acc);
uint64_t iem_rd_slow(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned size, unsigned acc);
void *iem_map_w_slow(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned size, bool rmw,
                     unsigned acc);
void iem_commit_slow(struct iem_cpu *c, const struct iem_ix *i);
_Noreturn void iem_seg_fault(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off,
                             unsigned size, unsigned acc) IXVM_COLD;
/* System (supervisor) linear accesses: descriptor tables, TSS, IDT. */
uint64_t iem_sys_read(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned size);
void iem_sys_write(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, uint64_t val, unsigned size);
uint64_t iem_phys_read(struct iem_cpu *c, uint64_t pa, unsigned size);

/* ---- decoder (iem_decode.c) ---- */
struct iem_decode_in {
    const uint8_t *p;      /* instruction bytes */
    unsigned avail;        /* bytes available at p */
    bool truncated_by_page;/* avail ends at a page end (not at the CS limit) */
    bool d32;              /* CS.D */
    bool pe, v86;
    uint32_t eip;          /* EIP of this instruction */
    uint16_t eip_off;
};
enum { IEM_DEC_OK = 0, IEM_DEC_MORE = 1 };
/* Decode one instruction into *ix.  Returns IEM_DEC_OK (ix may be a #UD/#GP
 * record), or IEM_DEC_MORE when more bytes than avail are needed.
 * *ends: the block ends after this instruction. */
int iem_decode_one(const struct iem_decode_in *in, struct iem_ix *ix, bool *ends);
void iem_decode_init(void);
const char *iem_mnemonic(unsigned map, unsigned opc, unsigned ext);

/* CMP/TEST + Jcc fusion (iem_fuse.c): the fused handler for a compare
 * record followed by a Jcc record, or NULL; and back to the compare's own
 * handler (a one-instruction copy of a fused record). */
iem_fn iem_fuse_lookup(iem_fn first, iem_fn jcc);
iem_fn iem_fuse_original(iem_fn fn);

/* LOCKed operand at p (an iem_map_w result) of size bytes that the host
 * cannot update atomically -- the bounce buffer (MMIO, page crossing) or
 * misaligned -- while other vCPUs run: restart instruction i inside an
 * exclusive section (iem_exec.c, IEM-DESIGN.md 8); there, or with one
 * vCPU, it returns and the plain read-modify-write is exact.  A LOCKed
 * MMIO operand is read again by the restart. */
_Noreturn void iem_lock_exclusive(struct iem_cpu *c, const struct iem_ix *i) IXVM_COLD;
static inline void iem_lock_split(struct iem_cpu *c, const struct iem_ix *i, const void *p, unsigned size)
{
    if (IXVM_UNLIKELY(c->excl_avail) && (p == (const void *)c->bounce || ((uintptr_t)p & (size - 1u))))
        iem_lock_exclusive(c, i);
}

/* Handlers every family may use. */
IEM_HANDLER(ix_raise_ud);
IEM_HANDLER(ix_raise_gp0);
IEM_HANDLER(ix_block_end);

/* ---- debugger hooks (iem_dbgf.c, include/ixvm/iem_dbgf.h) ---- */
/* iem_exec's body (iem_exec.c); iem_exec calls iem_dbgf_exec instead when a
 * debugger is attached, which runs this between its stops. */
int iem_exec_run(struct iem_cpu *c, int64_t budget);
int iem_dbgf_exec(struct iem_cpu *c, int64_t budget);
/* Drop every decoded block of c (breakpoints changed). */
void iem_blocks_flush(struct iem_cpu *c);
/* Block build: is there a debugger breakpoint on the linear page of lin? */
bool iem_dbgf_bp_page(const struct iem_cpu *c, uint32_t lin);
/* ... at lin exactly? */
bool iem_dbgf_bp_here(const struct iem_cpu *c, uint32_t lin);
/* Make the one-instruction block b stop before its instruction (ix[1].imm
 * keeps the real handler, run instead when resuming from it). */
void iem_dbgf_bp_block(struct iem_block *b);
IEM_HANDLER(ix_dbgf_bp);
bool iem_dbgf_watched(const struct iem_cpu *c, uint32_t la);
void iem_dbgf_data(struct iem_cpu *c, uint32_t la, unsigned size, bool write);
/* After a one-instruction block: report a watchpoint hit (sets exit_rc). */
void iem_dbgf_after(struct iem_cpu *c);
bool iem_dbgf_hit_pending(const struct iem_cpu *c);
/* Before a one-instruction block while tracing. */
void iem_dbgf_trace_insn(struct iem_cpu *c, const struct iem_block *b);
/* An interrupt/exception is about to be delivered (interrupt tracing). */
void iem_dbgf_note_intr(struct iem_cpu *c, unsigned vec, uint32_t err, unsigned flags);

/* ---- misc ---- */
uint32_t iem_get_eflags(const struct iem_cpu *c);
void iem_set_eflags(struct iem_cpu *c, uint32_t v);
/* Write EFLAGS as POPF/IRET do: mask = bits that may change. */
void iem_write_eflags_masked(struct iem_cpu *c, uint32_t v, uint32_t mask);
void iem_write_cr0(struct iem_cpu *c, const struct iem_ix *i, uint32_t v);
void iem_write_cr3(struct iem_cpu *c, uint32_t v);
void iem_write_cr4(struct iem_cpu *c, const struct iem_ix *i, uint32_t v);
uint64_t iem_tsc(struct iem_cpu *c);


/* The retired-instruction counter is a STAM U64 sample read by other
 * threads (status line, stats): single writer, so a relaxed load/store pair
 * (plain moves on x86) keeps it race-free without a locked RMW. */
static inline void iem_icount_add(struct iem_cpu *c, int64_t n)
{
    __atomic_store_n(&c->icount, c->icount + (uint64_t)n, __ATOMIC_RELAXED);
}

#endif
