/* SPDX-License-Identifier: MIT */
/*
 * Differential tester, generator: a table of instruction templates (one row
 * per opcode form and operand size) and a seeded generator that turns a
 * (seed, case index) pair into one test case: instruction bytes, register
 * and flag state, data-window contents.  Case i depends only on (seed, i),
 * so any case can be reproduced on its own.
 *
 * Each template also says which EFLAGS bits the SDM leaves undefined for it
 * (diff_undef_flags()); the comparison masks them unless asked to be
 * strict.
 */
#ifndef IXVM_TESTS_DIFF_GEN_H
#define IXVM_TESTS_DIFF_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "diff_host.h"

/* ModRM forms a template allows. */
#define DIFF_F_REG  0x1u   /* mod = 3 */
#define DIFF_F_MEM  0x2u   /* mod = 0..2 */
#define DIFF_F_RM   (DIFF_F_REG | DIFF_F_MEM)

/* How the last opcode byte is varied. */
enum diff_orand {
    DIFF_OR_NONE,
    DIFF_OR_ALU,    /* + 8 * (0..7): the eight classic ALU ops */
    DIFF_OR_REG,    /* + (0..7): register in the opcode */
    DIFF_OR_16,     /* + (0..15): condition code, or INC/DEC r */
};

/* Where a shift/rotate count comes from. */
enum diff_cnt { DIFF_CNT_NONE, DIFF_CNT_ONE, DIFF_CNT_CL, DIFF_CNT_IMM };

/* Operand constraints applied after random operands are drawn. */
enum diff_kind {
    DIFF_K_PLAIN,
    DIFF_K_SHIFT,     /* biased counts */
    DIFF_K_SHXD,      /* biased counts, 16-bit counts kept <= 16 */
    DIFF_K_DIV,       /* dividend high half mostly small (fewer #DE) */
    DIFF_K_BT,        /* register bit offsets kept near the operand */
    DIFF_K_CMPXCHG,   /* accumulator often equals the destination */
    DIFF_K_CX8,       /* EDX:EAX often equals the memory qword */
    DIFF_K_STRING,    /* ESI/EDI in the window, ECX small */
    DIFF_K_STACK,     /* ESP (and EBP) in the window */
    DIFF_K_MOFFS,     /* absolute moffs32 address in the window */
    DIFF_K_XLAT,      /* EBX + AL in the window */
    DIFF_K_BCD,       /* BCD-looking AL/AH, AAM/AAD base often 10 */
};

/* The SDM's undefined-flags rule for the template. */
enum diff_udf {
    DIFF_UDF_NONE,
    DIFF_UDF_ALU,     /* AF for OR/AND/XOR */
    DIFF_UDF_LOGIC,   /* AF */
    DIFF_UDF_SHIFT,   /* group 2: depends on op and count */
    DIFF_UDF_SHXD,    /* AF; OF unless count 1 */
    DIFF_UDF_MUL,     /* SF ZF AF PF */
    DIFF_UDF_DIV,     /* all six */
    DIFF_UDF_BT,      /* OF SF AF PF */
    DIFF_UDF_BSF,     /* CF OF SF AF PF */
    DIFF_UDF_AAA,     /* OF SF ZF PF */
    DIFF_UDF_DAA,     /* OF */
    DIFF_UDF_AAM,     /* OF AF CF */
};

/* Template flags. */
#define DIFF_T_LOCK   0x01u  /* LOCK allowed with a memory destination */
#define DIFF_T_REP    0x02u  /* string op: REP (F3) allowed */
#define DIFF_T_REPCC  0x04u  /* string op: REPE/REPNE (F3/F2) allowed */
#define DIFF_T_NOSEG  0x08u  /* no segment override prefix */
#define DIFF_T_GRP    0x10u  /* ModRM.reg is an opcode extension (the sub-op) */
#define DIFF_T_LOCKUD 0x20u  /* always LOCK: an invalid use, #UD expected */

struct diff_tmpl {
    const char *family;     /* statistics group, e.g. "alu" */
    const char *name;       /* mnemonic and form; "%s" takes subs[sub] */
    const char *const *subs;  /* names of the sub-ops, or NULL */
    uint8_t op[2];
    uint8_t nop;            /* opcode bytes (1 or 2) */
    uint8_t osz;            /* operand size 8/16/32 (16: 0x66 prefix) */
    uint8_t msz;            /* memory operand size if not osz (movzx, cmpxchg8b) */
    uint8_t regmask;        /* allowed ModRM.reg values; 0: no ModRM */
    uint8_t form;           /* DIFF_F_* */
    uint8_t imm;            /* immediate bytes (0xff: osz/8) */
    uint8_t orand;          /* enum diff_orand */
    uint8_t cnt;            /* enum diff_cnt */
    uint8_t kind;           /* enum diff_kind */
    uint8_t udf;            /* enum diff_udf */
    uint8_t fl;             /* DIFF_T_* */
};

extern const struct diff_tmpl diff_tmpls[];
extern const unsigned diff_tmpl_count;

/* One generated case. */
struct diff_case {
    uint64_t seed, index;
    const struct diff_tmpl *t;
    uint8_t insn[DIFF_INSN_MAX];
    uint8_t len;
    uint8_t sub;            /* ModRM.reg, or the opcode's random addend */
    bool mem;               /* memory form */
    uint32_t count;         /* shift count as encoded/loaded (before masking) */
    uint32_t ea;            /* effective address of the memory operand */
    struct diff_regs in;
    uint8_t win[DIFF_WIN_SIZE];
};

/* Where the window and the instruction live (from the host runner). */
struct diff_layout {
    uint32_t win_addr;
    uint32_t insn_addr;
};

/*
 * Fill c with case `index` of `seed`.  tmpl_filter (may be NULL) is a list
 * of template indices to draw from, nfilter its length.
 */
void diff_gen_case(struct diff_case *c, const struct diff_layout *l, uint64_t seed, uint64_t index,
                   const uint16_t *tmpl_filter, unsigned nfilter);

/* EFLAGS bits the SDM leaves undefined for this case (0 if none). */
uint32_t diff_undef_flags(const struct diff_case *c);

/* A short human name of the case's instruction, e.g. "adc Ev,Gv/32". */
void diff_case_name(const struct diff_case *c, char *buf, unsigned size);

#endif
