/* SPDX-License-Identifier: MIT */
/*
 * Differential tester, generator: the template table and the seeded case
 * generator.  Every encoding here runs in 32-bit protected mode with flat
 * segments on both machines (the host runs it in compatibility mode, see
 * diff_host.c), so BCD, INC/DEC r, PUSH/POP and mod=00 rm=101 are all fine.
 *
 * Operands are random with a bias to the values where instructions have
 * edge cases (0, 1, -1, sign boundaries, shift counts around the operand
 * size).  Memory operands always land in the middle of the data window:
 * the address registers are solved for a chosen target after everything
 * else is drawn, and registers the instruction needs with special values
 * (CL counts, DIV's high half, CMPXCHG's accumulator, ...) are kept out of
 * the address.
 */
#include "diff_gen.h"

#include <stdio.h>
#include <string.h>

#include "ixvm/cpum.h"

/* ---- the template table ------------------------------------------------- */

static const char *const alu_names[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
static const char *const grp2_names[8] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
static const char *const grp3_names[8] = { "test", "test", "not", "neg", "mul", "imul", "div", "idiv" };
static const char *const incdec_names[8] = { "inc", "dec", "?", "?", "?", "?", "?", "?" };
static const char *const bt_names[8] = { "?", "?", "?", "?", "bt", "bts", "btr", "btc" };
static const char *const cc_names[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
                                          "s", "ns", "p", "np", "l", "ge", "le", "g" };
static const char *const incdec_r_names[16] = {
    "inc eax", "inc ecx", "inc edx", "inc ebx", "inc esp", "inc ebp", "inc esi", "inc edi",
    "dec eax", "dec ecx", "dec edx", "dec ebx", "dec esp", "dec ebp", "dec esi", "dec edi" };

#define R1(...) { __VA_ARGS__ }
/* The same row for 16- and 32-bit operand size. */
#define RV(...) { __VA_ARGS__, .osz = 16 }, { __VA_ARGS__, .osz = 32 }
#define OP1(a)    .op = { a }, .nop = 1
#define OP2(a, b) .op = { a, b }, .nop = 2
#define MODRM     .regmask = 0xff, .form = DIFF_F_RM
#define GRP(m)    .regmask = (m), .form = DIFF_F_RM, .fl = DIFF_T_GRP
#define GRPF(m, f) .regmask = (m), .form = DIFF_F_RM, .fl = DIFF_T_GRP | (f)
#define Z         0xff  /* immediate of operand size */

const struct diff_tmpl diff_tmpls[] = {
    /* ALU: op r/m,r; op r,r/m; op acc,imm; group 1. */
    R1(.family = "alu", .name = "%s Eb,Gb", .subs = alu_names, OP1(0x00), .osz = 8, MODRM, .orand = DIFF_OR_ALU, .udf = DIFF_UDF_ALU, .fl = DIFF_T_LOCK),
    RV(.family = "alu", .name = "%s Ev,Gv", .subs = alu_names, OP1(0x01), MODRM, .orand = DIFF_OR_ALU, .udf = DIFF_UDF_ALU, .fl = DIFF_T_LOCK),
    R1(.family = "alu", .name = "%s Gb,Eb", .subs = alu_names, OP1(0x02), .osz = 8, MODRM, .orand = DIFF_OR_ALU, .udf = DIFF_UDF_ALU),
    RV(.family = "alu", .name = "%s Gv,Ev", .subs = alu_names, OP1(0x03), MODRM, .orand = DIFF_OR_ALU, .udf = DIFF_UDF_ALU),
    R1(.family = "alu", .name = "%s AL,Ib", .subs = alu_names, OP1(0x04), .osz = 8, .imm = 1, .orand = DIFF_OR_ALU, .udf = DIFF_UDF_ALU),
    RV(.family = "alu", .name = "%s eAX,Iz", .subs = alu_names, OP1(0x05), .imm = Z, .orand = DIFF_OR_ALU, .udf = DIFF_UDF_ALU),
    R1(.family = "alu", .name = "%s Eb,Ib", .subs = alu_names, OP1(0x80), .osz = 8, GRPF(0xff, DIFF_T_LOCK), .imm = 1, .udf = DIFF_UDF_ALU),
    R1(.family = "alu", .name = "%s Eb,Ib(82)", .subs = alu_names, OP1(0x82), .osz = 8, GRP(0xff), .imm = 1, .udf = DIFF_UDF_ALU),
    RV(.family = "alu", .name = "%s Ev,Iz", .subs = alu_names, OP1(0x81), GRPF(0xff, DIFF_T_LOCK), .imm = Z, .udf = DIFF_UDF_ALU),
    RV(.family = "alu", .name = "%s Ev,Ib", .subs = alu_names, OP1(0x83), GRPF(0xff, DIFF_T_LOCK), .imm = 1, .udf = DIFF_UDF_ALU),
    /* INC/DEC, NEG/NOT, TEST. */
    R1(.family = "incdec", .name = "%s Eb", .subs = incdec_names, OP1(0xfe), .osz = 8, GRPF(0x03, DIFF_T_LOCK)),
    RV(.family = "incdec", .name = "%s Ev", .subs = incdec_names, OP1(0xff), GRPF(0x03, DIFF_T_LOCK)),
    RV(.family = "incdec", .name = "%s", .subs = incdec_r_names, OP1(0x40), .orand = DIFF_OR_16),
    R1(.family = "negnot", .name = "%s Eb", .subs = grp3_names, OP1(0xf6), .osz = 8, GRPF(0x0c, DIFF_T_LOCK)),
    RV(.family = "negnot", .name = "%s Ev", .subs = grp3_names, OP1(0xf7), GRPF(0x0c, DIFF_T_LOCK)),
    R1(.family = "test", .name = "test Eb,Gb", OP1(0x84), .osz = 8, MODRM, .udf = DIFF_UDF_LOGIC),
    RV(.family = "test", .name = "test Ev,Gv", OP1(0x85), MODRM, .udf = DIFF_UDF_LOGIC),
    R1(.family = "test", .name = "test AL,Ib", OP1(0xa8), .osz = 8, .imm = 1, .udf = DIFF_UDF_LOGIC),
    RV(.family = "test", .name = "test eAX,Iz", OP1(0xa9), .imm = Z, .udf = DIFF_UDF_LOGIC),
    R1(.family = "test", .name = "test Eb,Ib", OP1(0xf6), .osz = 8, GRP(0x01), .imm = 1, .udf = DIFF_UDF_LOGIC),
    RV(.family = "test", .name = "test Ev,Iz", OP1(0xf7), GRP(0x01), .imm = Z, .udf = DIFF_UDF_LOGIC),
    /* Shifts and rotates (group 2 without the /6 alias), SHLD/SHRD. */
    R1(.family = "shift", .name = "%s Eb,Ib", .subs = grp2_names, OP1(0xc0), .osz = 8, GRP(0xbf), .imm = 1, .cnt = DIFF_CNT_IMM, .kind = DIFF_K_SHIFT, .udf = DIFF_UDF_SHIFT),
    RV(.family = "shift", .name = "%s Ev,Ib", .subs = grp2_names, OP1(0xc1), GRP(0xbf), .imm = 1, .cnt = DIFF_CNT_IMM, .kind = DIFF_K_SHIFT, .udf = DIFF_UDF_SHIFT),
    R1(.family = "shift", .name = "%s Eb,1", .subs = grp2_names, OP1(0xd0), .osz = 8, GRP(0xbf), .cnt = DIFF_CNT_ONE, .kind = DIFF_K_SHIFT, .udf = DIFF_UDF_SHIFT),
    RV(.family = "shift", .name = "%s Ev,1", .subs = grp2_names, OP1(0xd1), GRP(0xbf), .cnt = DIFF_CNT_ONE, .kind = DIFF_K_SHIFT, .udf = DIFF_UDF_SHIFT),
    R1(.family = "shift", .name = "%s Eb,CL", .subs = grp2_names, OP1(0xd2), .osz = 8, GRP(0xbf), .cnt = DIFF_CNT_CL, .kind = DIFF_K_SHIFT, .udf = DIFF_UDF_SHIFT),
    RV(.family = "shift", .name = "%s Ev,CL", .subs = grp2_names, OP1(0xd3), GRP(0xbf), .cnt = DIFF_CNT_CL, .kind = DIFF_K_SHIFT, .udf = DIFF_UDF_SHIFT),
    RV(.family = "shxd", .name = "shld Ev,Gv,Ib", OP2(0x0f, 0xa4), MODRM, .imm = 1, .cnt = DIFF_CNT_IMM, .kind = DIFF_K_SHXD, .udf = DIFF_UDF_SHXD),
    RV(.family = "shxd", .name = "shld Ev,Gv,CL", OP2(0x0f, 0xa5), MODRM, .cnt = DIFF_CNT_CL, .kind = DIFF_K_SHXD, .udf = DIFF_UDF_SHXD),
    RV(.family = "shxd", .name = "shrd Ev,Gv,Ib", OP2(0x0f, 0xac), MODRM, .imm = 1, .cnt = DIFF_CNT_IMM, .kind = DIFF_K_SHXD, .udf = DIFF_UDF_SHXD),
    RV(.family = "shxd", .name = "shrd Ev,Gv,CL", OP2(0x0f, 0xad), MODRM, .cnt = DIFF_CNT_CL, .kind = DIFF_K_SHXD, .udf = DIFF_UDF_SHXD),
    /* Multiply and divide. */
    R1(.family = "mul", .name = "%s Eb", .subs = grp3_names, OP1(0xf6), .osz = 8, GRP(0x30), .udf = DIFF_UDF_MUL),
    RV(.family = "mul", .name = "%s Ev", .subs = grp3_names, OP1(0xf7), GRP(0x30), .udf = DIFF_UDF_MUL),
    RV(.family = "mul", .name = "imul Gv,Ev", OP2(0x0f, 0xaf), MODRM, .udf = DIFF_UDF_MUL),
    RV(.family = "mul", .name = "imul Gv,Ev,Iz", OP1(0x69), MODRM, .imm = Z, .udf = DIFF_UDF_MUL),
    RV(.family = "mul", .name = "imul Gv,Ev,Ib", OP1(0x6b), MODRM, .imm = 1, .udf = DIFF_UDF_MUL),
    R1(.family = "div", .name = "%s Eb", .subs = grp3_names, OP1(0xf6), .osz = 8, GRP(0xc0), .kind = DIFF_K_DIV, .udf = DIFF_UDF_DIV),
    RV(.family = "div", .name = "%s Ev", .subs = grp3_names, OP1(0xf7), GRP(0xc0), .kind = DIFF_K_DIV, .udf = DIFF_UDF_DIV),
    /* Bit tests and scans. */
    RV(.family = "bt", .name = "bt Ev,Gv", OP2(0x0f, 0xa3), MODRM, .kind = DIFF_K_BT, .udf = DIFF_UDF_BT),
    RV(.family = "bt", .name = "bts Ev,Gv", OP2(0x0f, 0xab), MODRM, .kind = DIFF_K_BT, .udf = DIFF_UDF_BT, .fl = DIFF_T_LOCK),
    RV(.family = "bt", .name = "btr Ev,Gv", OP2(0x0f, 0xb3), MODRM, .kind = DIFF_K_BT, .udf = DIFF_UDF_BT, .fl = DIFF_T_LOCK),
    RV(.family = "bt", .name = "btc Ev,Gv", OP2(0x0f, 0xbb), MODRM, .kind = DIFF_K_BT, .udf = DIFF_UDF_BT, .fl = DIFF_T_LOCK),
    RV(.family = "bt", .name = "%s Ev,Ib", .subs = bt_names, OP2(0x0f, 0xba), GRP(0x10), .imm = 1, .udf = DIFF_UDF_BT),
    RV(.family = "bt", .name = "%s Ev,Ib", .subs = bt_names, OP2(0x0f, 0xba), GRPF(0xe0, DIFF_T_LOCK), .imm = 1, .udf = DIFF_UDF_BT),
    RV(.family = "bsf", .name = "bsf Gv,Ev", OP2(0x0f, 0xbc), MODRM, .udf = DIFF_UDF_BSF),
    RV(.family = "bsf", .name = "bsr Gv,Ev", OP2(0x0f, 0xbd), MODRM, .udf = DIFF_UDF_BSF),
    /* Conditions. */
    R1(.family = "setcc", .name = "set%s Eb", .subs = cc_names, OP2(0x0f, 0x90), .osz = 8, GRP(0x01), .orand = DIFF_OR_16),
    RV(.family = "cmovcc", .name = "cmov%s Gv,Ev", .subs = cc_names, OP2(0x0f, 0x40), MODRM, .orand = DIFF_OR_16),
    /* Exchange and compare. */
    R1(.family = "bswap", .name = "bswap r32", OP2(0x0f, 0xc8), .osz = 32, .orand = DIFF_OR_REG),
    R1(.family = "xadd", .name = "xadd Eb,Gb", OP2(0x0f, 0xc0), .osz = 8, MODRM, .fl = DIFF_T_LOCK),
    RV(.family = "xadd", .name = "xadd Ev,Gv", OP2(0x0f, 0xc1), MODRM, .fl = DIFF_T_LOCK),
    R1(.family = "cmpxchg", .name = "cmpxchg Eb,Gb", OP2(0x0f, 0xb0), .osz = 8, MODRM, .kind = DIFF_K_CMPXCHG, .fl = DIFF_T_LOCK),
    RV(.family = "cmpxchg", .name = "cmpxchg Ev,Gv", OP2(0x0f, 0xb1), MODRM, .kind = DIFF_K_CMPXCHG, .fl = DIFF_T_LOCK),
    R1(.family = "cmpxchg8b", .name = "cmpxchg8b Mq", OP2(0x0f, 0xc7), .osz = 32, .msz = 64, .regmask = 0x02, .form = DIFF_F_MEM, .kind = DIFF_K_CX8, .fl = DIFF_T_GRP | DIFF_T_LOCK),
    R1(.family = "xchg", .name = "xchg Eb,Gb", OP1(0x86), .osz = 8, MODRM, .fl = DIFF_T_LOCK),
    RV(.family = "xchg", .name = "xchg Ev,Gv", OP1(0x87), MODRM, .fl = DIFF_T_LOCK),
    RV(.family = "xchg", .name = "xchg eAX,r", OP1(0x90), .orand = DIFF_OR_REG),
    /* Moves. */
    RV(.family = "movx", .name = "movzx Gv,Eb", OP2(0x0f, 0xb6), .msz = 8, MODRM),
    RV(.family = "movx", .name = "movzx Gv,Ew", OP2(0x0f, 0xb7), .msz = 16, MODRM),
    RV(.family = "movx", .name = "movsx Gv,Eb", OP2(0x0f, 0xbe), .msz = 8, MODRM),
    RV(.family = "movx", .name = "movsx Gv,Ew", OP2(0x0f, 0xbf), .msz = 16, MODRM),
    R1(.family = "mov", .name = "mov Eb,Gb", OP1(0x88), .osz = 8, MODRM),
    RV(.family = "mov", .name = "mov Ev,Gv", OP1(0x89), MODRM),
    R1(.family = "mov", .name = "mov Gb,Eb", OP1(0x8a), .osz = 8, MODRM),
    RV(.family = "mov", .name = "mov Gv,Ev", OP1(0x8b), MODRM),
    R1(.family = "mov", .name = "mov Eb,Ib", OP1(0xc6), .osz = 8, GRP(0x01), .imm = 1),
    RV(.family = "mov", .name = "mov Ev,Iz", OP1(0xc7), GRP(0x01), .imm = Z),
    R1(.family = "mov", .name = "mov Zb,Ib", OP1(0xb0), .osz = 8, .imm = 1, .orand = DIFF_OR_REG),
    RV(.family = "mov", .name = "mov Zv,Iz", OP1(0xb8), .imm = Z, .orand = DIFF_OR_REG),
    R1(.family = "mov", .name = "mov AL,Ob", OP1(0xa0), .osz = 8, .imm = 4, .kind = DIFF_K_MOFFS),
    RV(.family = "mov", .name = "mov eAX,Ov", OP1(0xa1), .imm = 4, .kind = DIFF_K_MOFFS),
    R1(.family = "mov", .name = "mov Ob,AL", OP1(0xa2), .osz = 8, .imm = 4, .kind = DIFF_K_MOFFS),
    RV(.family = "mov", .name = "mov Ov,eAX", OP1(0xa3), .imm = 4, .kind = DIFF_K_MOFFS),
    RV(.family = "lea", .name = "lea Gv,M", OP1(0x8d), .regmask = 0xff, .form = DIFF_F_MEM),
    R1(.family = "xlat", .name = "xlat", OP1(0xd7), .osz = 8, .kind = DIFF_K_XLAT),
    /* String instructions. */
    R1(.family = "string", .name = "movsb", OP1(0xa4), .osz = 8, .kind = DIFF_K_STRING, .fl = DIFF_T_REP),
    RV(.family = "string", .name = "movs", OP1(0xa5), .kind = DIFF_K_STRING, .fl = DIFF_T_REP),
    R1(.family = "string", .name = "cmpsb", OP1(0xa6), .osz = 8, .kind = DIFF_K_STRING, .fl = DIFF_T_REPCC),
    RV(.family = "string", .name = "cmps", OP1(0xa7), .kind = DIFF_K_STRING, .fl = DIFF_T_REPCC),
    R1(.family = "string", .name = "stosb", OP1(0xaa), .osz = 8, .kind = DIFF_K_STRING, .fl = DIFF_T_REP),
    RV(.family = "string", .name = "stos", OP1(0xab), .kind = DIFF_K_STRING, .fl = DIFF_T_REP),
    R1(.family = "string", .name = "lodsb", OP1(0xac), .osz = 8, .kind = DIFF_K_STRING, .fl = DIFF_T_REP),
    RV(.family = "string", .name = "lods", OP1(0xad), .kind = DIFF_K_STRING, .fl = DIFF_T_REP),
    R1(.family = "string", .name = "scasb", OP1(0xae), .osz = 8, .kind = DIFF_K_STRING, .fl = DIFF_T_REPCC),
    RV(.family = "string", .name = "scas", OP1(0xaf), .kind = DIFF_K_STRING, .fl = DIFF_T_REPCC),
    /* Conversions and flag instructions. */
    RV(.family = "conv", .name = "cbw/cwde", OP1(0x98)),
    RV(.family = "conv", .name = "cwd/cdq", OP1(0x99)),
    R1(.family = "flags", .name = "sahf", OP1(0x9e), .osz = 32),
    R1(.family = "flags", .name = "lahf", OP1(0x9f), .osz = 32),
    R1(.family = "flags", .name = "cmc", OP1(0xf5), .osz = 32),
    R1(.family = "flags", .name = "clc", OP1(0xf8), .osz = 32),
    R1(.family = "flags", .name = "stc", OP1(0xf9), .osz = 32),
    R1(.family = "flags", .name = "cld", OP1(0xfc), .osz = 32),
    R1(.family = "flags", .name = "std", OP1(0xfd), .osz = 32),
    /* BCD (32-bit only: #UD in 64-bit mode). */
    R1(.family = "bcd", .name = "daa", OP1(0x27), .osz = 32, .kind = DIFF_K_BCD, .udf = DIFF_UDF_DAA),
    R1(.family = "bcd", .name = "das", OP1(0x2f), .osz = 32, .kind = DIFF_K_BCD, .udf = DIFF_UDF_DAA),
    R1(.family = "bcd", .name = "aaa", OP1(0x37), .osz = 32, .kind = DIFF_K_BCD, .udf = DIFF_UDF_AAA),
    R1(.family = "bcd", .name = "aas", OP1(0x3f), .osz = 32, .kind = DIFF_K_BCD, .udf = DIFF_UDF_AAA),
    R1(.family = "bcd", .name = "aam Ib", OP1(0xd4), .osz = 32, .imm = 1, .kind = DIFF_K_BCD, .udf = DIFF_UDF_AAM),
    R1(.family = "bcd", .name = "aad Ib", OP1(0xd5), .osz = 32, .imm = 1, .kind = DIFF_K_BCD, .udf = DIFF_UDF_AAM),
    /* Stack (ESP points into the window). */
    RV(.family = "stack", .name = "push r", OP1(0x50), .orand = DIFF_OR_REG, .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "pop r", OP1(0x58), .orand = DIFF_OR_REG, .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "push Iz", OP1(0x68), .imm = Z, .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "push Ib", OP1(0x6a), .imm = 1, .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "push Ev", OP1(0xff), GRP(0x40), .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "pop Ev", OP1(0x8f), GRP(0x01), .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "pushf", OP1(0x9c), .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "pusha", OP1(0x60), .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "popa", OP1(0x61), .kind = DIFF_K_STACK),
    RV(.family = "stack", .name = "leave", OP1(0xc9), .kind = DIFF_K_STACK),
    /* Invalid encodings: both machines must raise #UD (SDM Vol. 2 "LOCK"). */
    R1(.family = "ud", .name = "ud2", OP2(0x0f, 0x0b), .osz = 32),
    RV(.family = "ud", .name = "lock mov Ev,Gv", OP1(0x89), MODRM, .fl = DIFF_T_LOCKUD),
    RV(.family = "ud", .name = "lock %s Ev,Gv (reg)", .subs = alu_names, OP1(0x01), .regmask = 0xff,
       .form = DIFF_F_REG, .orand = DIFF_OR_ALU, .udf = DIFF_UDF_ALU, .fl = DIFF_T_LOCKUD),
    RV(.family = "ud", .name = "lock bt Ev,Ib", OP2(0x0f, 0xba), GRPF(0x10, DIFF_T_LOCKUD), .imm = 1, .udf = DIFF_UDF_BT),
};
const unsigned diff_tmpl_count = IXVM_ARRAY_SIZE(diff_tmpls);

/* ---- random numbers ----------------------------------------------------- */

struct diff_rng {
    uint64_t s;
};

/* splitmix64: small, fast, and any seed is a good seed. */
static uint64_t rng_next(struct diff_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(struct diff_rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

static const uint32_t diff_interesting[] = {
    0, 1, 2, 3, 7, 8, 9, 0x0f, 0x10, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xffff,
    0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffffe, 0xffffff80, 0xffff8000,
    0x55555555, 0xaaaaaaaa, 0x99, 0x09, 0x0a, 0x66, 0x9a,
};

/* A value with a bias to edge cases, truncated to bits. */
static uint32_t rand_val(struct diff_rng *r, unsigned bits)
{
    uint32_t v;
    switch (rng_below(r, 8)) {
    case 0:
    case 1: v = diff_interesting[rng_below(r, IXVM_ARRAY_SIZE(diff_interesting))]; break;
    case 2: v = rng_below(r, 64); break;
    case 3: v = 0u - rng_below(r, 64); break;
    case 4: v = 1u << rng_below(r, 32); break;
    case 5: v = (uint32_t)rng_next(r) >> rng_below(r, 32); break;
    default: v = (uint32_t)rng_next(r); break;
    }
    if (rng_below(r, 8) == 0 && bits < 32)
        v ^= 1u << (bits - 1);  /* flip the sign of the narrow value */
    return bits >= 32 ? v : v & ((1u << bits) - 1);
}

/* Shift/rotate counts: around 0, 1 and every operand size, and beyond 31. */
static uint32_t rand_count(struct diff_rng *r)
{
    static const uint8_t counts[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 63, 64, 255 };
    if (rng_below(r, 2))
        return counts[rng_below(r, IXVM_ARRAY_SIZE(counts))];
    return rng_below(r, 3) ? rng_below(r, 32) : rng_below(r, 256);
}

/* ---- operand access helpers --------------------------------------------- */

static uint32_t size_mask(unsigned bits)
{
    return bits >= 32 ? 0xffffffffu : (1u << bits) - 1;
}

/* Value of register operand n of the given size (8-bit: AL..BH encoding). */
static uint32_t reg_get(const struct diff_regs *s, unsigned n, unsigned bits)
{
    if (bits == 8)
        return n < 4 ? s->gpr[n] & 0xff : (s->gpr[n - 4] >> 8) & 0xff;
    return s->gpr[n] & size_mask(bits);
}

static void reg_set(struct diff_regs *s, unsigned n, unsigned bits, uint32_t v)
{
    if (bits == 8 && n >= 4) {
        s->gpr[n - 4] = (s->gpr[n - 4] & ~0xff00u) | ((v & 0xff) << 8);
        return;
    }
    uint32_t m = size_mask(bits);
    s->gpr[n] = (s->gpr[n] & ~m) | (v & m);
}

static uint64_t win_get(const struct diff_case *c, const struct diff_layout *l, uint32_t ea, unsigned bytes)
{
    uint64_t v = 0;
    memcpy(&v, c->win + (ea - l->win_addr), bytes);
    return v;
}

static void win_set(struct diff_case *c, const struct diff_layout *l, uint32_t ea, unsigned bytes, uint64_t v)
{
    memcpy(c->win + (ea - l->win_addr), &v, bytes);
}

/* ---- encoding ----------------------------------------------------------- */

struct diff_enc {
    struct diff_case *c;
    const struct diff_layout *l;
    struct diff_rng *r;
    uint8_t *p;             /* next instruction byte */
    uint8_t reg;            /* ModRM.reg */
    uint8_t rm;             /* ModRM.rm register (register form) */
    uint8_t addr_excl;      /* registers the address must not use */
    bool has_imm_override;
    uint32_t imm_override;
};

/* Pick a register not in excl (bit n = register n); none left: -1. */
static int pick_reg(struct diff_rng *r, unsigned excl)
{
    unsigned free_regs = ~excl & 0xffu;
    if (!free_regs)
        return -1;
    for (;;) {
        unsigned n = rng_below(r, 8);
        if (free_regs & (1u << n))
            return (int)n;
    }
}

static void put_u32(uint8_t **p, uint32_t v, unsigned bytes)
{
    memcpy(*p, &v, bytes);
    *p += bytes;
}

/*
 * Encode a memory ModRM (+SIB, disp) addressing a random target in the
 * middle of the window, and solve the base register for it.
 */
static void enc_modrm_mem(struct diff_enc *e, unsigned msz_bytes)
{
    struct diff_case *c = e->c;
    uint32_t target = e->l->win_addr + 384 + rng_below(e->r, 256 - msz_bytes);
    int base = pick_reg(e->r, e->addr_excl);
    unsigned shape = base < 0 ? 0 : rng_below(e->r, 4);
    unsigned mod = rng_below(e->r, 3);
    c->ea = target;
    if (shape == 0) {                      /* [disp32] */
        *e->p++ = (uint8_t)((e->reg << 3) | 5);
        put_u32(&e->p, target, 4);
        return;
    }
    int index = -1;
    unsigned scale = 0;
    bool sib = shape >= 2 || base == CPUM_ESP;
    if (sib) {
        scale = rng_below(e->r, 4);
        index = pick_reg(e->r, e->addr_excl | (1u << CPUM_ESP) | (1u << base));
        if (index >= 0 && rng_below(e->r, 4) == 0)
            index = -1;
        if (rng_below(e->r, 8) == 0)
            base = -1;                     /* mod=00 base=101: disp32 + index */
    }
    if (base == -1)
        mod = 0;
    else if (mod == 0 && base == CPUM_EBP)
        mod = 1;
    uint32_t idx_val = index >= 0 ? c->in.gpr[index] << scale : 0;
    uint32_t disp = base == -1 ? target - idx_val
                  : mod == 1 ? (uint32_t)(int32_t)(int8_t)rng_below(e->r, 256)
                  : mod == 2 ? (uint32_t)rand_val(e->r, 32) : 0;
    *e->p++ = (uint8_t)((mod << 6) | (e->reg << 3) | (sib ? 4 : (unsigned)base));
    if (sib)
        *e->p++ = (uint8_t)((scale << 6) | ((index >= 0 ? (unsigned)index : 4u) << 3) |
                            (base >= 0 ? (unsigned)base : 5u));
    if (base == -1 || mod == 2)
        put_u32(&e->p, disp, 4);
    else if (mod == 1)
        *e->p++ = (uint8_t)disp;
    if (base >= 0)
        c->in.gpr[base] = target - disp - idx_val;
}

static unsigned tmpl_msz(const struct diff_tmpl *t)
{
    return t->msz ? t->msz : t->osz;
}

/* Registers the kind will set after the address is solved. */
static unsigned kind_excl(const struct diff_enc *e)
{
    const struct diff_tmpl *t = e->c->t;
    switch (t->kind) {
    case DIFF_K_SHIFT:
    case DIFF_K_SHXD: return t->cnt == DIFF_CNT_CL ? 1u << CPUM_ECX : 0;
    case DIFF_K_DIV: return (1u << CPUM_EAX) | (1u << CPUM_EDX);
    case DIFF_K_BT: return 1u << e->reg;
    case DIFF_K_CMPXCHG: return 1u << CPUM_EAX;
    case DIFF_K_CX8: return (1u << CPUM_EAX) | (1u << CPUM_EDX);
    case DIFF_K_STACK: return (1u << CPUM_ESP) | (1u << CPUM_EBP);
    default: return 0;
    }
}

/* Counts and immediates the kind fixes before encoding. */
static void kind_pre(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    const struct diff_tmpl *t = c->t;
    if (t->kind == DIFF_K_SHIFT || t->kind == DIFF_K_SHXD) {
        uint32_t n = t->cnt == DIFF_CNT_ONE ? 1 : rand_count(e->r);
        if (t->kind == DIFF_K_SHXD && t->osz == 16 && (n & 31) > 16)
            n &= 15;  /* SDM: SHLD/SHRD r16 results are undefined for counts > 16 */
        c->count = n;
        if (t->cnt == DIFF_CNT_IMM) {
            e->has_imm_override = true;
            e->imm_override = n;
        }
    } else if (t->kind == DIFF_K_BCD && t->imm) {
        unsigned k = rng_below(e->r, 8);
        e->has_imm_override = true;
        e->imm_override = k < 4 ? 10 : k == 4 ? 0 : rng_below(e->r, 256);
    } else if (t->kind == DIFF_K_MOFFS) {
        c->ea = e->l->win_addr + 384 + rng_below(e->r, 256 - 4);
        c->mem = true;
        e->has_imm_override = true;
        e->imm_override = c->ea;
    }
}

static void enc_prefixes(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    const struct diff_tmpl *t = c->t;
    static const uint8_t segs[4] = { 0x26, 0x2e, 0x36, 0x3e };
    if ((c->mem || t->kind == DIFF_K_STRING) && !(t->fl & DIFF_T_NOSEG) && rng_below(e->r, 8) == 0)
        *e->p++ = segs[rng_below(e->r, 4)];
    if (t->osz == 16)
        *e->p++ = 0x66;
    bool lock_ok = (t->fl & DIFF_T_LOCK) && c->mem && !(t->udf == DIFF_UDF_ALU && c->sub == 7);
    if ((lock_ok && rng_below(e->r, 4) == 0) || (t->fl & DIFF_T_LOCKUD))
        *e->p++ = 0xf0;
    if ((t->fl & (DIFF_T_REP | DIFF_T_REPCC)) && rng_below(e->r, 4) != 0)
        *e->p++ = (t->fl & DIFF_T_REPCC) && rng_below(e->r, 2) ? 0xf2 : 0xf3;
}

static unsigned random_set_bit(struct diff_rng *r, unsigned mask)
{
    for (;;) {
        unsigned n = rng_below(r, 8);
        if (mask & (1u << n))
            return n;
    }
}

/* ---- kind fixups after encoding ----------------------------------------- */

static void fix_div(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    unsigned bits = c->t->osz, k = rng_below(e->r, 10);
    bool is_idiv = c->sub == 7;
    uint32_t lo = bits == 8 ? c->in.gpr[CPUM_EAX] & 0xff : c->in.gpr[CPUM_EAX] & size_mask(bits);
    uint32_t sign = (lo >> (bits - 1)) & 1;
    uint32_t hi = k < 4 ? 0 : k < 8 ? (is_idiv && sign ? size_mask(bits) : 0) : rand_val(e->r, bits);
    if (bits == 8)
        reg_set(&c->in, 4 /* AH */, 8, hi);
    else
        reg_set(&c->in, CPUM_EDX, bits, hi);
}

static void fix_string(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    uint32_t w = e->l->win_addr;
    c->in.gpr[CPUM_ESI] = w + 256 + rng_below(e->r, 512);
    c->in.gpr[CPUM_EDI] = w + 256 + rng_below(e->r, 512);
    c->in.gpr[CPUM_ECX] = rng_below(e->r, 10);
    if (rng_below(e->r, 2))  /* equal runs, so REPE/REPNE go on for a while */
        memmove(c->win + (c->in.gpr[CPUM_EDI] - w) - 32, c->win + (c->in.gpr[CPUM_ESI] - w) - 32, 64);
    if (rng_below(e->r, 2))
        reg_set(&c->in, CPUM_EAX, c->t->osz, (uint32_t)win_get(c, e->l, c->in.gpr[CPUM_EDI], c->t->osz / 8));
}

static void fix_stack(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    uint32_t esp = e->l->win_addr + 448 + 4 * rng_below(e->r, 32);
    if (rng_below(e->r, 8) == 0)
        esp += rng_below(e->r, 4);
    c->in.gpr[CPUM_ESP] = esp;
    c->in.gpr[CPUM_EBP] = esp + 4 * rng_below(e->r, 16);
}

static void fix_bcd(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    if (rng_below(e->r, 2)) {
        uint32_t al = (rng_below(e->r, 10) << 4) | rng_below(e->r, 16);
        if (rng_below(e->r, 4) == 0)
            al = rng_below(e->r, 16) << 4 | rng_below(e->r, 10);
        reg_set(&c->in, CPUM_EAX, 8, al);
        reg_set(&c->in, 4 /* AH */, 8, rng_below(e->r, 3) ? rng_below(e->r, 10) : rng_below(e->r, 256));
    }
}

static void kind_post(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    const struct diff_tmpl *t = c->t;
    switch (t->kind) {
    case DIFF_K_SHIFT:
    case DIFF_K_SHXD:
        if (t->cnt == DIFF_CNT_CL)
            reg_set(&c->in, CPUM_ECX, 8, c->count);
        break;
    case DIFF_K_DIV: fix_div(e); break;
    case DIFF_K_BT:
        if (c->mem) {  /* bit offsets reach +-256 bytes around the operand */
            int32_t off = (int32_t)rng_below(e->r, 4096) - 2048;
            reg_set(&c->in, e->reg, t->osz, (uint32_t)off);
        }
        break;
    case DIFF_K_CMPXCHG:
        if (rng_below(e->r, 2)) {
            uint32_t dst = c->mem ? (uint32_t)win_get(c, e->l, c->ea, t->osz / 8) : reg_get(&c->in, e->rm, t->osz);
            reg_set(&c->in, CPUM_EAX, t->osz, dst);
        }
        break;
    case DIFF_K_CX8:
        if (rng_below(e->r, 2)) {
            uint64_t q = win_get(c, e->l, c->ea, 8);
            c->in.gpr[CPUM_EAX] = (uint32_t)q;
            c->in.gpr[CPUM_EDX] = (uint32_t)(q >> 32);
        }
        break;
    case DIFF_K_STRING: fix_string(e); break;
    case DIFF_K_STACK: fix_stack(e); break;
    case DIFF_K_XLAT:
        c->ea = e->l->win_addr + 384 + rng_below(e->r, 256);
        c->in.gpr[CPUM_EBX] = c->ea - (c->in.gpr[CPUM_EAX] & 0xff);
        break;
    case DIFF_K_BCD: fix_bcd(e); break;
    default: break;
    }
}

/* ---- the generator ------------------------------------------------------ */

static void gen_state(struct diff_case *c, struct diff_rng *r)
{
    unsigned bits = c->t->osz;
    for (unsigned i = 0; i < 8; i++) {
        c->in.gpr[i] = rand_val(r, 32);
        if (bits < 32 && rng_below(r, 2))
            reg_set(&c->in, i, bits, rand_val(r, bits));
        if (bits == 8 && i < 4 && rng_below(r, 2))
            reg_set(&c->in, i + 4, 8, rand_val(r, 8));
    }
    c->in.eflags = ((uint32_t)rng_next(r) & DIFF_EFL_LOADED) | DIFF_EFL_FIXED;
    if (rng_below(r, 4) == 0) {  /* sparse window: zeros with a few bytes */
        memset(c->win, 0, sizeof(c->win));
        for (unsigned i = 0; i < 64; i++)
            c->win[rng_below(r, DIFF_WIN_SIZE)] = (uint8_t)rng_next(r);
    } else {
        for (unsigned i = 0; i < DIFF_WIN_SIZE; i += 8) {
            uint64_t v = rng_next(r);
            memcpy(c->win + i, &v, 8);
        }
    }
}

static void gen_sub(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    const struct diff_tmpl *t = c->t;
    static const uint8_t orand_n[] = { [DIFF_OR_NONE] = 1, [DIFF_OR_ALU] = 8, [DIFF_OR_REG] = 8, [DIFF_OR_16] = 16 };
    c->sub = 0;
    if (t->orand != DIFF_OR_NONE)
        c->sub = (uint8_t)rng_below(e->r, orand_n[t->orand]);
    e->reg = (uint8_t)rng_below(e->r, 8);
    if (t->fl & DIFF_T_GRP) {
        e->reg = (uint8_t)random_set_bit(e->r, t->regmask);
        if (t->orand == DIFF_OR_NONE)
            c->sub = e->reg;
    }
    if (t->regmask) {
        bool reg_ok = t->form & DIFF_F_REG, mem_ok = t->form & DIFF_F_MEM;
        c->mem = mem_ok && (!reg_ok || rng_below(e->r, 2));
    }
}

static void enc_opcode(struct diff_enc *e)
{
    const struct diff_tmpl *t = e->c->t;
    uint8_t add = t->orand == DIFF_OR_ALU ? (uint8_t)(e->c->sub * 8) : t->orand != DIFF_OR_NONE ? e->c->sub : 0;
    for (unsigned i = 0; i < t->nop; i++)
        *e->p++ = (uint8_t)(t->op[i] + (i == t->nop - 1u ? add : 0));
}

static void enc_operands(struct diff_enc *e)
{
    struct diff_case *c = e->c;
    const struct diff_tmpl *t = c->t;
    if (t->regmask) {
        if (c->mem) {
            e->addr_excl = (uint8_t)kind_excl(e);
            enc_modrm_mem(e, tmpl_msz(t) / 8);
            unsigned mb = tmpl_msz(t) / 8;
            if (mb == 8) {
                win_set(c, e->l, c->ea, 4, rand_val(e->r, 32));
                win_set(c, e->l, c->ea + 4, 4, rand_val(e->r, 32));
            } else {
                win_set(c, e->l, c->ea, mb, rand_val(e->r, mb * 8));
            }
        } else {
            e->rm = (uint8_t)rng_below(e->r, 8);
            *e->p++ = (uint8_t)(0xc0 | (e->reg << 3) | e->rm);
        }
    }
    if (t->imm) {
        unsigned n = t->imm == Z ? t->osz / 8 : t->imm;
        uint32_t v = e->has_imm_override ? e->imm_override : rand_val(e->r, n * 8);
        put_u32(&e->p, v, n);
    }
}

void diff_gen_case(struct diff_case *c, const struct diff_layout *l, uint64_t seed, uint64_t index,
                   const uint16_t *tmpl_filter, unsigned nfilter)
{
    struct diff_rng r0 = { seed ^ 0x5bd1e9955bd1e995ull };
    r0.s ^= rng_next(&(struct diff_rng){ index * 0x9e3779b97f4a7c15ull + 1 });
    struct diff_rng *r = &r0;
    memset(c, 0, offsetof(struct diff_case, win));
    c->seed = seed;
    c->index = index;
    c->t = tmpl_filter && nfilter ? &diff_tmpls[tmpl_filter[rng_below(r, nfilter)]]
                                  : &diff_tmpls[rng_below(r, diff_tmpl_count)];
    gen_state(c, r);
    struct diff_enc e = { .c = c, .l = l, .r = r, .p = c->insn };
    gen_sub(&e);
    kind_pre(&e);
    enc_prefixes(&e);
    enc_opcode(&e);
    enc_operands(&e);
    kind_post(&e);
    c->len = (uint8_t)(e.p - c->insn);
    c->in.eip = l->insn_addr;
}

/* ---- undefined flags (SDM Vol. 2, each instruction's "Flags Affected") --- */

#define F_OF CPUM_EFL_OF
#define F_SF CPUM_EFL_SF
#define F_ZF CPUM_EFL_ZF
#define F_AF CPUM_EFL_AF
#define F_PF CPUM_EFL_PF
#define F_CF CPUM_EFL_CF

/* Group 2: OF is defined only for 1-bit counts; shifts leave AF undefined,
 * and SHL/SHR leave CF undefined for counts >= the operand size. */
static uint32_t udf_shift(const struct diff_case *c)
{
    unsigned n = c->count & 31, op = c->sub;
    if (n == 0)
        return 0;
    uint32_t m = n != 1 ? F_OF : 0;
    if (op >= 4) {
        m |= F_AF;
        if (op != 7 && n >= c->t->osz)
            m |= F_CF;
    }
    return m;
}

uint32_t diff_undef_flags(const struct diff_case *c)
{
    switch (c->t->udf) {
    case DIFF_UDF_ALU: return (c->sub == 1 || c->sub == 4 || c->sub == 6) ? F_AF : 0;
    case DIFF_UDF_LOGIC: return F_AF;
    case DIFF_UDF_SHIFT: return udf_shift(c);
    case DIFF_UDF_SHXD: return (c->count & 31) == 0 ? 0 : F_AF | ((c->count & 31) != 1 ? F_OF : 0);
    case DIFF_UDF_MUL: return F_SF | F_ZF | F_AF | F_PF;
    case DIFF_UDF_DIV: return F_OF | F_SF | F_ZF | F_AF | F_PF | F_CF;
    case DIFF_UDF_BT: return F_OF | F_SF | F_AF | F_PF;
    case DIFF_UDF_BSF: return F_CF | F_OF | F_SF | F_AF | F_PF;
    case DIFF_UDF_AAA: return F_OF | F_SF | F_ZF | F_PF;
    case DIFF_UDF_DAA: return F_OF;
    case DIFF_UDF_AAM: return F_OF | F_AF | F_CF;
    default: return 0;
    }
}

void diff_case_name(const struct diff_case *c, char *buf, unsigned size)
{
    const struct diff_tmpl *t = c->t;
    char mn[64];
    const char *pct = t->subs ? strstr(t->name, "%s") : NULL;
    if (pct)
        snprintf(mn, sizeof(mn), "%.*s%s%s", (int)(pct - t->name), t->name, t->subs[c->sub], pct + 2);
    else
        snprintf(mn, sizeof(mn), "%s", t->name);
    snprintf(buf, size, "%s/%u%s", mn, t->osz, c->mem ? " mem" : "");
}
