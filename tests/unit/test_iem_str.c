/* SPDX-License-Identifier: MIT */
/* IEM string instructions: a table of MOVS/CMPS/STOS/LODS/SCAS cases (all
 * widths, REP/REPE/REPNE, DF both ways, 16- and 32-bit addressing with the
 * 64 K wrap, forward and backward overlap, bulk page chunks) checked against
 * a small reference model; REP restart after #PF midway, budget yields,
 * single-step per iteration, SMC by REP STOSB, segment overrides, INS/OUTS
 * and the TSS I/O permission bit map. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"
#include "ixvm/iom.h"
#include "ixvm/pgm.h"
#include "test_iem_harness.h"

IEM_HARNESS_SUITE(iem_str);

#define CODE 0x10000u
#define WIN  0x20000u        /* DS/ES base of the table cases */
#define WIN_SIZE 0x18000u

static void set_base(unsigned sreg, uint32_t base)
{
    s->seg[sreg].base = base;
}

/* ---- reference model (SDM Vol. 2 "REP", "MOVS" ... "SCAS") ---- */
struct ref {
    uint32_t r[8];
    uint32_t fl;
    uint8_t *mem;   /* WIN_SIZE bytes at DS/ES base */
};
static uint32_t ref_ld(const struct ref *m, uint32_t off, unsigned sz)
{
    cr_assert_leq(off + sz, WIN_SIZE, "reference access outside the window: %#x", off);
    uint32_t v = 0;
    memcpy(&v, m->mem + off, sz);
    return v;
}
static void ref_st(struct ref *m, uint32_t off, uint32_t v, unsigned sz)
{
    cr_assert_leq(off + sz, WIN_SIZE, "reference access outside the window: %#x", off);
    memcpy(m->mem + off, &v, sz);
}
static void ref_sub_flags(struct ref *m, uint32_t a, uint32_t b, unsigned sz)
{
    unsigned bits = sz * 8;
    uint32_t mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1, sign = 1u << (bits - 1);
    uint32_t r = (a - b) & mask;
    uint32_t f = 0;
    if (a < b) f |= CPUM_EFL_CF;
    if (!__builtin_parity(r & 0xff)) f |= CPUM_EFL_PF;
    if ((a ^ b ^ r) & 0x10) f |= CPUM_EFL_AF;
    if (!r) f |= CPUM_EFL_ZF;
    if (r & sign) f |= CPUM_EFL_SF;
    if ((a ^ b) & (a ^ r) & sign) f |= CPUM_EFL_OF;
    m->fl = (m->fl & ~CPUM_EFL_STATUS) | f;
}
/* op: the opcode byte (A4..AF), sz element bytes, a32, rep 0/0xf2/0xf3. */
static void ref_run(struct ref *m, unsigned op, unsigned sz, bool a32, unsigned rep)
{
    uint32_t am = a32 ? 0xffffffffu : 0xffffu;
    int32_t step = (m->fl & CPUM_EFL_DF) ? -(int32_t)sz : (int32_t)sz;
    uint32_t vmask = sz == 4 ? 0xffffffffu : (1u << (sz * 8)) - 1;
#define REG(n) (m->r[n] & am)
#define SETREG(n, v) (m->r[n] = (m->r[n] & ~am) | ((v) & am))
    for (;;) {
        if (rep && !REG(CPUM_ECX))
            return;
        uint32_t si = REG(CPUM_ESI), di = REG(CPUM_EDI);
        bool cmp = false;
        switch (op & 0xfe) {
        case 0xa4: ref_st(m, di, ref_ld(m, si, sz), sz); SETREG(CPUM_ESI, si + step); SETREG(CPUM_EDI, di + step); break;
        case 0xa6: ref_sub_flags(m, ref_ld(m, si, sz), ref_ld(m, di, sz), sz); cmp = true;
                   SETREG(CPUM_ESI, si + step); SETREG(CPUM_EDI, di + step); break;
        case 0xaa: ref_st(m, di, m->r[0], sz); SETREG(CPUM_EDI, di + step); break;
        case 0xac: m->r[0] = (m->r[0] & ~vmask) | ref_ld(m, si, sz); SETREG(CPUM_ESI, si + step); break;
        default:   ref_sub_flags(m, m->r[0] & vmask, ref_ld(m, di, sz), sz); cmp = true; SETREG(CPUM_EDI, di + step); break;
        }
        if (!rep)
            return;
        SETREG(CPUM_ECX, REG(CPUM_ECX) - 1);
        if (cmp && rep == 0xf3 && !(m->fl & CPUM_EFL_ZF))
            return;
        if (cmp && rep == 0xf2 && (m->fl & CPUM_EFL_ZF))
            return;
    }
#undef REG
#undef SETREG
}

/* ---- the table ---- */
enum { F_RAND, F_EQ, F_AL };
struct str_case {
    const char *name;
    uint8_t rep;       /* 0, 0xf2, 0xf3 */
    uint8_t op;        /* a4..af */
    uint8_t osz16;     /* 0x66 */
    uint8_t asz16;     /* 0x67 */
    uint8_t df;
    uint32_t ecx, esi, edi, eax;
    uint8_t fill;      /* F_EQ: dst[0..len) = src[0..len); F_AL: dst[0..len) = AL bytes */
    uint32_t len;
    int32_t poke;      /* byte offset from EDI changed after the fill (-1: none) */
};
static const struct str_case cases[] = {
    { "movsb", 0, 0xa4, 0, 0, 0, 5, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "movsb df", 0, 0xa4, 0, 0, 1, 5, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "movsw", 0, 0xa5, 1, 0, 0, 5, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "movsd df", 0, 0xa5, 0, 0, 1, 5, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "rep movsb 0", 0xf3, 0xa4, 0, 0, 0, 0, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "rep movsb 1", 0xf3, 0xa4, 0, 0, 0, 1, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "rep movsb 300", 0xf3, 0xa4, 0, 0, 0, 300, 0x123, 0x2ff1, 0, F_RAND, 0, -1 },
    { "rep movsb 9000 pages", 0xf3, 0xa4, 0, 0, 0, 9000, 0x0f01, 0x5ffe, 0, F_RAND, 0, -1 },
    { "repne movsb = rep", 0xf2, 0xa4, 0, 0, 0, 77, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "rep movsb df", 0xf3, 0xa4, 0, 0, 1, 300, 0x4000, 0x6000, 0, F_RAND, 0, -1 },
    { "rep movsw 2000", 0xf3, 0xa5, 1, 0, 0, 2000, 0x0ffd, 0x8001, 0, F_RAND, 0, -1 },
    { "rep movsd 3000", 0xf3, 0xa5, 0, 0, 0, 3000, 0x0002, 0x3006, 0, F_RAND, 0, -1 },
    { "rep movsd df", 0xf3, 0xa5, 0, 0, 1, 1000, 0x9000, 0xc000, 0, F_RAND, 0, -1 },
    { "rep movsb overlap +1", 0xf3, 0xa4, 0, 0, 0, 5000, 0x1000, 0x1001, 0, F_RAND, 0, -1 },
    { "rep movsb overlap +3", 0xf3, 0xa4, 0, 0, 0, 100, 0x1000, 0x1003, 0, F_RAND, 0, -1 },
    { "rep movsw overlap +1", 0xf3, 0xa5, 1, 0, 0, 100, 0x1000, 0x1001, 0, F_RAND, 0, -1 },
    { "rep movsd overlap +2", 0xf3, 0xa5, 0, 0, 0, 100, 0x1000, 0x1002, 0, F_RAND, 0, -1 },
    { "rep movsd overlap +4", 0xf3, 0xa5, 0, 0, 0, 1500, 0x1000, 0x1004, 0, F_RAND, 0, -1 },
    { "rep movsd overlap +6", 0xf3, 0xa5, 0, 0, 0, 1500, 0x1ffe, 0x2004, 0, F_RAND, 0, -1 },
    { "rep movsb overlap back", 0xf3, 0xa4, 0, 0, 0, 300, 0x1001, 0x1000, 0, F_RAND, 0, -1 },
    { "rep movsb df overlap", 0xf3, 0xa4, 0, 0, 1, 300, 0x1000, 0x1001, 0, F_RAND, 0, -1 },
    { "rep movsb df replicate", 0xf3, 0xa4, 0, 0, 1, 3000, 0x3001, 0x3000, 0, F_RAND, 0, -1 },
    { "rep movsb df replicate +3", 0xf3, 0xa4, 0, 0, 1, 3000, 0x3003, 0x3000, 0, F_RAND, 0, -1 },
    { "rep movsd df overlap +2", 0xf3, 0xa5, 0, 0, 1, 500, 0x3002, 0x3000, 0, F_RAND, 0, -1 },
    { "rep movsd df overlap +4", 0xf3, 0xa5, 0, 0, 1, 1500, 0x3004, 0x3000, 0, F_RAND, 0, -1 },
    { "rep movsd df overlap +6 pages", 0xf3, 0xa5, 0, 0, 1, 2000, 0x6004, 0x5ffe, 0, F_RAND, 0, -1 },
    { "rep movsw df pages", 0xf3, 0xa5, 1, 0, 1, 5000, 0x9ffd, 0xe001, 0, F_RAND, 0, -1 },
    { "rep movsw a16 wrap", 0xf3, 0xa5, 1, 1, 0, 0x20, 0x1234fff0, 0xabcd8000, 0, F_RAND, 0, -1 },
    { "rep movsw a16 df wrap", 0xf3, 0xa5, 1, 1, 1, 0x20, 0x0002, 0x8000, 0, F_RAND, 0, -1 },
    { "rep stosd a16 df wrap", 0xf3, 0xab, 0, 1, 1, 8, 0, 0x0004, 0x01020304, F_RAND, 0, -1 },
    { "rep movsb a16 wrap di", 0xf3, 0xa4, 0, 1, 0, 0x5678000a, 0x100, 0xfffa, 0, F_RAND, 0, -1 },
    { "rep movsb a16 df wrap", 0xf3, 0xa4, 0, 1, 1, 0x10, 0x0004, 0x9000, 0, F_RAND, 0, -1 },
    { "rep movsd a16 page chunks", 0xf3, 0xa5, 0, 1, 0, 0x1800, 0x0010, 0x8000, 0, F_RAND, 0, -1 },
    { "stosb", 0, 0xaa, 0, 0, 0, 0, 0, 0x500, 0x11223344, F_RAND, 0, -1 },
    { "rep stosb 5000", 0xf3, 0xaa, 0, 0, 0, 5000, 0, 0x0801, 0x5a, F_RAND, 0, -1 },
    { "rep stosw df", 0xf3, 0xab, 1, 0, 1, 700, 0, 0x7001, 0xbeef, F_RAND, 0, -1 },
    { "rep stosd 4100", 0xf3, 0xab, 0, 0, 0, 4100, 0, 0x0ffc, 0xdeadbeef, F_RAND, 0, -1 },
    { "rep stosd a16 wrap", 0xf3, 0xab, 0, 1, 0, 8, 0, 0xfff8, 0xcafef00d, F_RAND, 0, -1 },
    { "lodsb", 0, 0xac, 0, 0, 0, 0, 0x333, 0, 0xffffffff, F_RAND, 0, -1 },
    { "rep lodsd df", 0xf3, 0xad, 0, 0, 1, 5, 0x333, 0, 0, F_RAND, 0, -1 },
    { "lodsw a16", 0, 0xad, 1, 1, 0, 0, 0xffff0010, 0, 0x12345678, F_RAND, 0, -1 },
    { "cmpsb", 0, 0xa6, 0, 0, 0, 0, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "repe cmpsb stop on ZF", 0xf3, 0xa6, 0, 0, 0, 40, 0x100, 0x900, 0, F_EQ, 40, 9 },
    { "repe cmpsb stop on ECX", 0xf3, 0xa6, 0, 0, 0, 40, 0x100, 0x900, 0, F_EQ, 40, -1 },
    { "repe cmpsb ecx 0", 0xf3, 0xa6, 0, 0, 0, 0, 0x100, 0x900, 0, F_EQ, 40, 3 },
    { "repne cmpsb stop on ZF", 0xf2, 0xa6, 0, 0, 0, 40, 0x100, 0x900, 0, F_RAND, 0, -1 },
    { "repe cmpsw", 0xf3, 0xa7, 1, 0, 0, 100, 0x100, 0x900, 0, F_EQ, 200, 151 },
    { "repe cmpsd df", 0xf3, 0xa7, 0, 0, 1, 100, 0x1100, 0x1900, 0, F_EQ, 0, -1 },
    { "repne cmpsd", 0xf2, 0xa7, 0, 0, 0, 100, 0x100, 0x900, 0, F_EQ, 0, -1 },
    { "scasb", 0, 0xae, 0, 0, 0, 0, 0, 0x700, 0x41, F_RAND, 0, -1 },
    { "repne scasb strlen", 0xf2, 0xae, 0, 0, 0, 0xffffffff, 0, 0x700, 0, F_AL, 0, 37 },
    { "repe scasb", 0xf3, 0xae, 0, 0, 0, 100, 0, 0x700, 0x77, F_AL, 60, 21 },
    { "repe scasd ecx end", 0xf3, 0xaf, 0, 0, 0, 16, 0, 0x700, 0x77777777, F_AL, 64, -1 },
    { "repne scasw df", 0xf2, 0xaf, 1, 0, 1, 50, 0, 0x2700, 0x1234, F_RAND, 0, -1 },
    { "repne scasb a16 wrap", 0xf2, 0xae, 0, 1, 0, 0x30, 0, 0xfff0, 0x99, F_RAND, 0, -1 },
};

static uint32_t lcg(uint32_t *st)
{
    *st = *st * 1103515245u + 12345u;
    return *st >> 8;
}

static void run_case(const struct str_case *k, unsigned idx)
{
    uint8_t code[8];
    unsigned n = 0;
    if (k->osz16) code[n++] = 0x66;
    if (k->asz16) code[n++] = 0x67;
    if (k->rep) code[n++] = k->rep;
    code[n++] = k->op;
    code[n++] = 0xf4;
    load(CODE, code, n);
    iem_test_setup_flat32(t, CODE, 0x80000);
    set_base(CPUM_DS, WIN);
    set_base(CPUM_ES, WIN);

    uint32_t st = 0x1234567u + idx * 7919u;
    uint8_t *win = ram + WIN;
    for (uint32_t b = 0; b < WIN_SIZE; b++)
        win[b] = (uint8_t)lcg(&st);
    if (k->fill == F_EQ)
        memcpy(win + k->edi, win + k->esi, k->len);
    if (k->fill == F_AL) {
        memset(win + k->edi, (int)(k->eax & 0xff), k->len);
        for (uint32_t b = k->len; b < 0x1000; b++)
            if (win[k->edi + b] == (uint8_t)k->eax)
                win[k->edi + b] ^= 0x80;
        if (k->poke >= 0)
            win[k->edi + (uint32_t)k->poke] = (uint8_t)(k->len ? ~k->eax : k->eax);
    } else if (k->poke >= 0) {
        win[k->edi + (uint32_t)k->poke] ^= 0x55;
    }

    uint32_t fl0 = CPUM_EFL_1 | (k->df ? CPUM_EFL_DF : 0) | CPUM_EFL_CF | CPUM_EFL_OF | CPUM_EFL_PF;
    s->gpr[CPUM_EAX] = k->eax;
    s->gpr[CPUM_ECX] = k->ecx;
    s->gpr[CPUM_EDX] = 0x5eed0000u + idx;
    s->gpr[CPUM_EBX] = 0xb0b0b0b0u;
    s->gpr[CPUM_EBP] = 0x13579bdfu;
    s->gpr[CPUM_ESI] = k->esi;
    s->gpr[CPUM_EDI] = k->edi;
    s->eflags = fl0;

    static uint8_t refmem[WIN_SIZE];
    memcpy(refmem, win, WIN_SIZE);
    struct ref m = { .fl = fl0, .mem = refmem };
    memcpy(m.r, s->gpr, sizeof(m.r));
    ref_run(&m, k->op, (k->op & 1) ? (k->osz16 ? 2 : 4) : 1, !k->asz16, k->rep);

    cr_assert_eq(iem_test_run(t, 1000000), IXVM_INF_EM_HALT, "%s", k->name);
    cr_assert_eq(s->eip, CODE + n, "%s: eip %#x (exception %u?)", k->name, s->eip, last().vector);
    for (unsigned r = 0; r < 8; r++)
        if (r != CPUM_ESP)
            cr_assert_eq(s->gpr[r], m.r[r], "%s: gpr %u = %#x, want %#x", k->name, r, s->gpr[r], m.r[r]);
    cr_assert_eq(s->eflags & (CPUM_EFL_STATUS | CPUM_EFL_DF), m.fl & (CPUM_EFL_STATUS | CPUM_EFL_DF),
                 "%s: eflags %#x, want %#x", k->name, s->eflags, m.fl);
    for (uint32_t b = 0; b < WIN_SIZE; b++)
        if (win[b] != refmem[b])
            cr_assert_fail("%s: memory +%#x = %02x, want %02x", k->name, b, win[b], refmem[b]);
}

Test(iem_str, table)
{
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        run_case(&cases[k], k);
}

/* Run one case again on a machine whose RAM was already used by a first
 * run, so the TLB/jump caches are warm: results must be the same. */
Test(iem_str, table_twice_same_machine)
{
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        run_case(&cases[k], k);
        run_case(&cases[k], k);
    }
}

/* ---- paging helpers: PD at 1 MiB, identity map of 0-4 MiB ---- */
#define PD 0x100000u
#define PT 0x101000u
static void paging_on(void)
{
    memset(ram + PD, 0, 0x2000);
    wr32(PD, PT | 7);
    for (uint32_t k = 0; k < 1024; k++)
        wr32(PT + k * 4, (k << 12) | 7);
    s->cr3 = PD;
    s->cr0 |= CPUM_CR0_PG | CPUM_CR0_WP;
}
#define PTE(la) (PT + ((la) >> 12) * 4)

/* REP MOVSD / STOSD / CMPSB with a #PF at element k: ECX/ESI/EDI are at k
 * elements done, EIP (pushed) at the instruction including prefixes, CR2
 * the faulting byte; after mapping the page, resuming at that EIP finishes
 * with the same result as an uninterrupted run. */
struct pf_case {
    const char *name;
    uint8_t code[4];
    unsigned len, sz;
    uint32_t esi, edi, ecx, hole;   /* hole: linear page made not-present */
    bool df;
};
static const struct pf_case pf_cases[] = {
    { "rep movsd dst", { 0xf3, 0xa5 }, 2, 4, 0x200000, 0x300f00, 0x100, 0x301000, false },
    { "rep movsd src", { 0xf3, 0xa5 }, 2, 4, 0x200f00, 0x300000, 0x100, 0x201000, false },
    { "rep movsb split dst", { 0xf3, 0xa4 }, 2, 1, 0x200000, 0x300ffd, 0x10, 0x301000, false },
    { "rep stosw df", { 0x66, 0xf3, 0xab }, 3, 2, 0, 0x301100, 0x200, 0x300000, true },
    { "repe cmpsb", { 0xf3, 0xa6 }, 2, 1, 0x200f80, 0x300f80, 0x200, 0x301000, false },
    { "rep lodsd", { 0xf3, 0xad }, 2, 4, 0x200ff0, 0, 0x40, 0x201000, false },
};

Test(iem_str, pf_midway_restart)
{
    for (unsigned k = 0; k < sizeof(pf_cases) / sizeof(pf_cases[0]); k++) {
        const struct pf_case *pc = &pf_cases[k];
        uint8_t code[8];
        memcpy(code, pc->code, pc->len);
        code[pc->len] = 0xf4;
        load(CODE, code, pc->len + 1);
        for (uint32_t b = 0; b < 0x2000; b++) {
            ram[0x200000 + b] = (uint8_t)(b * 7);
            ram[0x300000 + b] = (uint8_t)(b * 7);   /* equal: REPE CMPS runs on */
        }
        iem_test_setup_flat32(t, CODE, 0x80000);
        paging_on();
        wr32(PTE(pc->hole), 0);
        s->gpr[CPUM_ESI] = pc->esi;
        s->gpr[CPUM_EDI] = pc->edi;
        s->gpr[CPUM_ECX] = pc->ecx;
        s->gpr[CPUM_EAX] = 0xa5a5a5a5u;
        if (pc->df)
            s->eflags |= CPUM_EFL_DF;
        cr_assert_eq(iem_test_run(t, 100000), IXVM_INF_EM_HALT, "%s", pc->name);
        struct iem_xcpt_info x = last();
        cr_assert_eq(x.vector, 14, "%s: vector %u", pc->name, x.vector);
        uint32_t frame = s->gpr[CPUM_ESP];
        cr_assert_eq(rd32(frame + 4), CODE, "%s: fault EIP %#x", pc->name, rd32(frame + 4));
        /* Elements done: those before the first one touching the hole; CR2
         * is that element's first byte inside the hole. */
        bool dst_fault = pc->hole >> 20 == 3;
        uint32_t base = dst_fault ? pc->edi : pc->esi, done = 0, addr;
        for (;; done++) {
            addr = pc->df ? base - done * pc->sz : base + done * pc->sz;
            if (addr + pc->sz > pc->hole && addr < pc->hole + 0x1000)
                break;
        }
        cr_assert_eq(s->cr2, addr > pc->hole ? addr : pc->hole, "%s: cr2 %#x", pc->name, s->cr2);
        int32_t step = pc->df ? -(int32_t)pc->sz : (int32_t)pc->sz;
        cr_assert_eq(s->gpr[CPUM_ECX], pc->ecx - done, "%s: ecx %#x, done %u", pc->name, s->gpr[CPUM_ECX], done);
        cr_assert_eq(s->gpr[CPUM_EDI], pc->edi + (pc->code[pc->len - 1] == 0xad ? 0 : (uint32_t)(step * (int32_t)done)),
                     "%s: edi %#x", pc->name, s->gpr[CPUM_EDI]);
        if (pc->code[pc->len - 1] != 0xab)
            cr_assert_eq(s->gpr[CPUM_ESI], pc->esi + (uint32_t)(step * (int32_t)done), "%s: esi", pc->name);
        /* Resume: map the page, return to the faulting instruction. */
        wr32(PTE(pc->hole), pc->hole | 7);
        iem_flush_tlb(iem_test_cpu(t));
        s->eip = CODE;
        s->gpr[CPUM_ESP] = 0x80000;
        iem_reset(iem_test_cpu(t), true);   /* leave the HLT of the handler */
        cr_assert_eq(iem_test_run(t, 100000), IXVM_INF_EM_HALT);
        cr_assert_eq(s->eip, CODE + pc->len + 1, "%s: resumed run did not finish (eip %#x)", pc->name, s->eip);
        if (pc->code[pc->len - 1] != 0xa6)
            cr_assert_eq(s->gpr[CPUM_ECX], 0, "%s", pc->name);
        else
            cr_assert_eq(s->gpr[CPUM_ECX], 0, "%s: equal buffers compare to the end", pc->name);
        if (pc->code[pc->len - 1] == 0xa5)
            cr_assert_eq(memcmp(ram + pc->edi, ram + pc->esi, pc->ecx * 4), 0, "%s: copy", pc->name);
        if (pc->code[pc->len - 1] == 0xab)
            for (uint32_t e = 0; e < pc->ecx; e++)
                cr_assert_eq(ram[pc->edi - e * 2] , 0xa5, "%s", pc->name);
    }
}

/* A write fault leaves the element's bytes untouched (no partial store). */
Test(iem_str, pf_no_partial_element)
{
    static const uint8_t code[] = { 0xf3, 0xa5, 0xf4 };   /* rep movsd */
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    paging_on();
    memset(ram + 0x300ff0, 0xee, 0x10);
    wr32(PTE(0x301000), 0);
    s->gpr[CPUM_ESI] = 0x200000;
    s->gpr[CPUM_EDI] = 0x300ff6;       /* element 2 (0x300ffe) straddles into the hole */
    s->gpr[CPUM_ECX] = 4;
    wr32(0x200000, 0x11111111);
    wr32(0x200004, 0x22222222);
    wr32(0x200008, 0x33333333);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 14);
    cr_assert_eq(s->cr2, 0x301000);
    cr_assert_eq(s->gpr[CPUM_ECX], 2);
    cr_assert_eq(s->gpr[CPUM_EDI], 0x300ffe);
    cr_assert_eq(s->gpr[CPUM_ESI], 0x200008);
    cr_assert_eq(rd32(0x300ff6), 0x11111111);
    cr_assert_eq(rd32(0x300ffa), 0x22222222);
    cr_assert_eq(ram[0x300ffe], 0xee);
    cr_assert_eq(ram[0x300fff], 0xee, "the first half of the straddling element is not stored");
}

/* A long REP yields with EIP on the instruction when the budget runs out
 * and resumes exactly. */
Test(iem_str, budget_yield_and_resume)
{
    static const uint8_t code[] = { 0xf3, 0xa4, 0x43, 0xf4 };   /* rep movsb; inc ebx; hlt */
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    for (uint32_t b = 0; b < 0x40000; b++)
        ram[0x200000 + b] = (uint8_t)(b ^ (b >> 8));
    s->gpr[CPUM_ESI] = 0x200000;
    s->gpr[CPUM_EDI] = 0x300000;
    s->gpr[CPUM_ECX] = 0x40000;
    unsigned yields = 0;
    int rc;
    for (;;) {
        rc = iem_exec(iem_test_cpu(t), 50);
        if (rc != 0)
            break;
        if (s->eip == CODE) {
            yields++;
            cr_assert_neq(s->gpr[CPUM_ECX], 0);
            cr_assert_eq(s->gpr[CPUM_ESI] - 0x200000, 0x40000 - s->gpr[CPUM_ECX], "registers agree");
            cr_assert_eq(s->gpr[CPUM_EDI] - 0x300000, 0x40000 - s->gpr[CPUM_ECX]);
        }
        cr_assert_lt(yields, 100000);
    }
    cr_assert_eq(rc, IXVM_INF_EM_HALT);
    cr_assert_gt(yields, 2, "a 256 KiB copy with budget 50 must yield (%u)", yields);
    cr_assert_eq(s->gpr[CPUM_EBX], 1, "the next instruction ran exactly once");
    cr_assert_eq(s->gpr[CPUM_ECX], 0);
    cr_assert_eq(memcmp(ram + 0x200000, ram + 0x300000, 0x40000), 0);
}

/* One budget unit: iem_exec(1) never completes the whole REP at once, but
 * single steps still converge; the instruction counter counts it once. */
Test(iem_str, step_element_path_converges)
{
    static const uint8_t code[] = { 0xf2, 0xae, 0xf4 };   /* repne scasb: element path */
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    memset(ram + 0x300000, 0x11, 5000);
    s->gpr[CPUM_EDI] = 0x300000;
    s->gpr[CPUM_ECX] = 5000;
    s->gpr[CPUM_EAX] = 0x22;
    uint64_t i0 = iem_instructions(iem_test_cpu(t));
    unsigned steps = 0;
    while (s->eip == CODE) {
        cr_assert_eq(iem_test_step(t), 0);
        steps++;
        cr_assert_lt(steps, 1000);
    }
    cr_assert_gt(steps, 1);
    cr_assert_eq(iem_instructions(iem_test_cpu(t)) - i0, 1, "REP retires once");
    cr_assert_eq(s->gpr[CPUM_ECX], 0);
    cr_assert_eq(s->gpr[CPUM_EDI], 0x300000 + 5000);
    cr_assert_eq(s->eflags & CPUM_EFL_ZF, 0, "no match: ZF=0 at the end");
}

Test(iem_str, step_bulk_df_converges)
{
    static const uint8_t code[] = { 0xf3, 0xaa, 0xf4 };   /* rep stosb with DF=1: page chunks downwards */
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->eflags |= CPUM_EFL_DF;
    s->gpr[CPUM_EDI] = 0x300000 + 9999;
    s->gpr[CPUM_ECX] = 10000;
    s->gpr[CPUM_EAX] = 0x3c;
    uint64_t i0 = iem_instructions(iem_test_cpu(t));
    unsigned steps = 0;
    while (s->eip == CODE) {
        cr_assert_eq(iem_test_step(t), 0);
        steps++;
        cr_assert_lt(steps, 1000);
    }
    cr_assert_gt(steps, 1);
    cr_assert_eq(iem_instructions(iem_test_cpu(t)) - i0, 1, "REP retires once");
    cr_assert_eq(s->gpr[CPUM_ECX], 0);
    cr_assert_eq(s->gpr[CPUM_EDI], 0x300000 - 1);
    for (uint32_t b = 0; b < 10000; b++)
        cr_assert_eq(ram[0x300000 + b], 0x3c);
    cr_assert_eq(ram[0x300000 - 1], 0);
    cr_assert_eq(ram[0x300000 + 10000], 0);
}

/* TF: one iteration per single-step trap, EIP on the instruction until the
 * last iteration (SDM Vol. 3A 17.3.1.4 behaviour for REP). */
Test(iem_str, tf_one_iteration_per_trap)
{
    static const uint8_t code[] = { 0xf3, 0xa4, 0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->gpr[CPUM_ESI] = 0x200000;
    s->gpr[CPUM_EDI] = 0x300000;
    s->gpr[CPUM_ECX] = 3;
    s->eflags |= CPUM_EFL_TF;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);   /* #DB handler is the HLT */
    cr_assert_eq(last().vector, 1);
    cr_assert_eq(rd32(s->gpr[CPUM_ESP]), CODE, "trap EIP: the REP again");
    cr_assert_eq(s->gpr[CPUM_ECX], 2);
    cr_assert_eq(s->gpr[CPUM_ESI], 0x200001);
}

/* SMC: REP STOSB overwrites instructions later in the same block (element
 * path through the code page), and a bulk REP STOSB over a page of code
 * executed before. */
Test(iem_str, smc_rep_stosb_over_code_ahead)
{
    static const uint8_t code[] = {
        0xb0, 0x90,                          /* mov al, 0x90 (NOP) */
        0xbf, 0x0e, 0x00, 0x01, 0x00,        /* mov edi, CODE + 14 */
        0xb9, 0x04, 0x00, 0x00, 0x00,        /* mov ecx, 4 */
        0xf3, 0xaa,                          /* rep stosb */
        0x43, 0x43, 0x43, 0x43,              /* inc ebx x4: overwritten */
        0x41,                                /* inc ecx */
        0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_EBX], 0, "the INCs were replaced by NOPs before they ran");
    cr_assert_eq(s->gpr[CPUM_ECX], 1);
    cr_assert_eq(ram[CODE + 17], 0x90);
}

Test(iem_str, smc_bulk_stosb_over_code_page)
{
    /* Page 0x30000: inc ebx; ret.  Main: call it, rep stosb 4096 x RET over
     * the page, call it again (now a bare RET), hlt. */
    static const uint8_t sub[] = { 0x43, 0xc3 };
    static const uint8_t code[] = {
        0xe8, 0xfb, 0xff, 0x01, 0x00,        /* call 0x30000 (rel from CODE+5) */
        0xbf, 0x00, 0x00, 0x03, 0x00,        /* mov edi, 0x30000 */
        0xb9, 0x00, 0x10, 0x00, 0x00,        /* mov ecx, 4096 */
        0xb0, 0xc3,                          /* mov al, 0xc3 */
        0xf3, 0xaa,                          /* rep stosb */
        0xe8, 0xe8, 0xff, 0x01, 0x00,        /* call 0x30000 (rel from CODE+24) */
        0xf4 };
    load(0x30000, sub, sizeof(sub));
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, CODE + sizeof(code), "eip %#x vector %u", s->eip, last().vector);
    cr_assert_eq(s->gpr[CPUM_EBX], 1, "the second call ran the new RET, not the cached INC");
    cr_assert_eq(ram[0x30fff], 0xc3);
}

/* The source segment follows a prefix, the destination is always ES. */
Test(iem_str, segment_override_source_only)
{
    static const uint8_t code[] = {
        0x64, 0xa4,          /* movsb fs:[esi] -> es:[edi] */
        0x64, 0xaa,          /* stosb: FS prefix ignored, ES:[edi] */
        0x26, 0xac,          /* lodsb es:[esi] */
        0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    set_base(CPUM_FS, 0x40000);
    set_base(CPUM_ES, 0x50000);
    set_base(CPUM_DS, 0x60000);
    ram[0x40010] = 0xf5;
    ram[0x60010] = 0xd5;
    ram[0x50011] = 0xe5;
    s->gpr[CPUM_ESI] = 0x10;
    s->gpr[CPUM_EDI] = 0x20;
    s->gpr[CPUM_EAX] = 0x77;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(ram[0x50020], 0xf5, "MOVS read FS");
    cr_assert_eq(ram[0x50021], 0x77, "STOS wrote ES");
    cr_assert_eq(ram[0x40021], 0, "not FS");
    cr_assert_eq(s->gpr[CPUM_EAX] & 0xff, 0xe5, "LODS read ES via prefix");
}

/* 16-bit addressing: a word at SI=0xffff crosses the 64 K limit: #GP(0)
 * (#SS for an SS override), registers untouched. */
Test(iem_str, a16_word_at_ffff_faults)
{
    static const uint8_t code[] = { 0x67, 0x66, 0xad, 0xf4 };   /* lodsw with SI=0xffff */
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->seg[CPUM_DS].limit = 0xffff;
    s->gpr[CPUM_ESI] = 0x0000ffff;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 13);
    cr_assert_eq(s->gpr[CPUM_ESI], 0xffff);
}

Test(iem_str, lock_prefix_is_ud)
{
    static const uint8_t code[] = { 0xf0, 0xa4, 0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 6);
}

/* ---- INS / OUTS and the I/O permission bit map ---- */
struct io_dev {
    uint32_t next_in;
    uint32_t out[64];
    unsigned nout;
    unsigned ins;
};
static int dev_in(void *d, uint16_t off, unsigned size, uint32_t *val)
{
    struct io_dev *dv = d;
    (void)off;
    dv->ins++;
    *val = (dv->next_in++) & (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1);
    return 0;
}
static int dev_out(void *d, uint16_t off, uint32_t val, unsigned size)
{
    struct io_dev *dv = d;
    (void)size;
    if (dv->nout < 64)
        dv->out[dv->nout++] = val | (uint32_t)off << 24;
    return 0;
}
static const struct iom_port_ops dev_ops = { dev_in, dev_out, 0 };

Test(iem_str, rep_insw_outsd)
{
    static struct io_dev dv;
    memset(&dv, 0, sizeof(dv));
    dv.next_in = 0x100;
    cr_assert_eq(iom_map_ports(iem_test_iom(t), 0x300, 8, &dev_ops, &dv, "strdev"), 0);
    static const uint8_t code[] = {
        0x66, 0xf3, 0x6d,    /* rep insw */
        0xbe, 0x00, 0x00, 0x20, 0x00,   /* mov esi, 0x200000 */
        0xb9, 0x03, 0x00, 0x00, 0x00,   /* mov ecx, 3 */
        0xf3, 0x6f,          /* rep outsd */
        0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->gpr[CPUM_EDX] = 0x302;
    s->gpr[CPUM_EDI] = 0x300000;
    s->gpr[CPUM_ECX] = 5;
    wr32(0x200000, 0xa1);
    wr32(0x200004, 0xa2);
    wr32(0x200008, 0xa3);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    for (unsigned k = 0; k < 5; k++) {
        uint16_t v;
        memcpy(&v, ram + 0x300000 + 2 * k, 2);
        cr_assert_eq(v, 0x100 + k);
    }
    cr_assert_eq(s->gpr[CPUM_EDI], 0x30000a);
    cr_assert_eq(dv.nout, 3);
    cr_assert_eq(dv.out[0], 0x020000a1u);
    cr_assert_eq(dv.out[2], 0x020000a3u);
    cr_assert_eq(s->gpr[CPUM_ESI], 0x20000c);
}

/* INS maps the destination before reading the port: a faulting INS takes
 * nothing from the device. */
Test(iem_str, ins_fault_reads_no_port)
{
    static struct io_dev dv;
    memset(&dv, 0, sizeof(dv));
    cr_assert_eq(iom_map_ports(iem_test_iom(t), 0x300, 8, &dev_ops, &dv, "strdev"), 0);
    static const uint8_t code[] = { 0xf3, 0x6c, 0xf4 };   /* rep insb */
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    paging_on();
    wr32(PTE(0x301000), 0);
    s->gpr[CPUM_EDX] = 0x300;
    s->gpr[CPUM_EDI] = 0x300ffe;
    s->gpr[CPUM_ECX] = 4;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 14);
    cr_assert_eq(dv.ins, 2, "two bytes stored, the third element faulted before IN");
    cr_assert_eq(s->gpr[CPUM_ECX], 2);
}

/* Ring 3, IOPL 0: the TSS bit map decides (SDM Vol. 1 19.5.2). */
#define IOMAP_OFF 0x68u
static void ring3_with_iomap(uint32_t tss_limit)
{
    for (unsigned k = 0; k < CPUM_SREG_COUNT; k++) {
        s->seg[k].sel = IEM_TEST_SEL_DS32_R3;
        s->seg[k].attr |= 3u << CPUM_SEG_ATTR_DPL_SHIFT;
    }
    s->seg[CPUM_CS].sel = IEM_TEST_SEL_CS32_R3;
    s->cpl = 3;
    uint16_t base = IOMAP_OFF;
    memcpy(ram + IEM_TEST_TSS + 0x66, &base, 2);
    memset(ram + IEM_TEST_TSS + IOMAP_OFF, 0xff, 0x90);
    s->tr.limit = tss_limit;
}
static void iomap_allow(uint16_t port) { ram[IEM_TEST_TSS + IOMAP_OFF + port / 8] &= (uint8_t)~(1u << (port & 7)); }

struct iop_case {
    const char *name;
    uint8_t code[4];
    unsigned len;
    uint16_t port;
    uint16_t allow[4];   /* ports cleared in the map (0 ends) */
    uint32_t limit;
    bool gp;
};
static const struct iop_case iop_cases[] = {
    { "in al allowed", { 0xec }, 1, 0x301, { 0x301 }, IOMAP_OFF + 0x80, false },
    { "in al denied", { 0xec }, 1, 0x301, { 0x300, 0x302 }, IOMAP_OFF + 0x80, true },
    { "in ax needs both bits", { 0x66, 0xed }, 2, 0x307, { 0x307 }, IOMAP_OFF + 0x80, true },
    { "in ax straddling bytes ok", { 0x66, 0xed }, 2, 0x307, { 0x307, 0x308 }, IOMAP_OFF + 0x80, false },
    { "out dx eax 4 bits", { 0xef }, 1, 0x306, { 0x306, 0x307, 0x308, 0x309 }, IOMAP_OFF + 0x80, false },
    { "out dx eax one missing", { 0xef }, 1, 0x306, { 0x306, 0x307, 0x309 }, IOMAP_OFF + 0x80, true },
    { "insb allowed", { 0x6c }, 1, 0x300, { 0x300 }, IOMAP_OFF + 0x80, false },
    { "rep outsb denied", { 0xf3, 0x6e }, 2, 0x305, { 0x304 }, IOMAP_OFF + 0x80, true },
    { "beyond TSS limit", { 0xec }, 1, 0x300, { 0x300 }, IOMAP_OFF + 0x300 / 8, true },
    { "second byte beyond limit", { 0xec }, 1, 0x300, { 0x300 }, IOMAP_OFF + 0x300 / 8 + 1, false },
    { "map base beyond limit", { 0xec }, 1, 0x0, { 0x0 }, 0x67, true },
    { "in imm allowed", { 0xe4, 0x05 }, 2, 0x05, { 0x05 }, IOMAP_OFF + 0x80, false },
};

Test(iem_str, io_bitmap)
{
    static struct io_dev dv;
    cr_assert_eq(iom_map_ports(iem_test_iom(t), 0x300, 16, &dev_ops, &dv, "strdev"), 0);
    for (unsigned k = 0; k < sizeof(iop_cases) / sizeof(iop_cases[0]); k++) {
        const struct iop_case *ic = &iop_cases[k];
        uint8_t code[8];
        memcpy(code, ic->code, ic->len);
        code[ic->len] = 0xeb;   /* jmp $ : ring 3 cannot HLT; run stops on the budget */
        code[ic->len + 1] = 0xfe;
        load(CODE, code, ic->len + 2);
        iem_test_setup_flat32(t, CODE, 0x80000);
        ring3_with_iomap(ic->limit);
        for (unsigned a = 0; a < 4 && (a == 0 || ic->allow[a]); a++)
            iomap_allow(ic->allow[a]);
        s->gpr[CPUM_EDX] = ic->port;
        s->gpr[CPUM_ECX] = 1;
        s->gpr[CPUM_ESI] = s->gpr[CPUM_EDI] = 0x200000;
        uint64_t x0 = last().count;
        int rc = iem_test_run(t, 20);
        if (ic->gp) {
            cr_assert_eq(rc, IXVM_INF_EM_HALT, "%s", ic->name);
            cr_assert_eq(last().vector, 13, "%s", ic->name);
            cr_assert_eq(last().error, 0, "%s", ic->name);
            cr_assert_eq(rd32(s->gpr[CPUM_ESP] + 4), CODE, "%s: fault EIP", ic->name);
        } else {
            cr_assert_eq(rc, 0, "%s: rc %d vector %u", ic->name, rc, last().vector);
            cr_assert_eq(last().count, x0, "%s: no exception", ic->name);
            cr_assert_eq(s->eip, CODE + ic->len, "%s", ic->name);
        }
    }
}

/* CPL <= IOPL skips the map; V86-style denial without a 32-bit TSS. */
Test(iem_str, io_iopl_and_tss_type)
{
    static const uint8_t code[] = { 0xec, 0xeb, 0xfe };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    ring3_with_iomap(IOMAP_OFF + 0x80);   /* every port denied in the map */
    s->eflags |= CPUM_EFL_IOPL;           /* IOPL 3 */
    s->gpr[CPUM_EDX] = 0x301;
    cr_assert_eq(iem_test_run(t, 5), 0);
    cr_assert_eq(s->eip, CODE + 1, "IOPL 3 allows ring 3 without the map");

    iem_test_setup_flat32(t, CODE, 0x80000);
    ring3_with_iomap(IOMAP_OFF + 0x80);
    iomap_allow(0x301);
    s->tr.attr = CPUM_SEG_ATTR_P | 0x3;   /* busy 16-bit TSS: no bit map */
    uint16_t sp0 = IEM_TEST_FREE - 0x10, ss0 = IEM_TEST_SEL_DS32;   /* its ring-0 stack for the #GP */
    memcpy(ram + IEM_TEST_TSS + 2, &sp0, 2);
    memcpy(ram + IEM_TEST_TSS + 4, &ss0, 2);
    s->gpr[CPUM_EDX] = 0x301;
    cr_assert_eq(iem_test_run(t, 5), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 13);
}

/* ---- MMIO and ROM: element by element through the device ---- */
struct mmio_dev {
    unsigned writes, reads;
    uint32_t last_off;
    uint64_t last_val;
    unsigned last_size;
};
static int mmio_rd(void *d, uint32_t off, unsigned size, uint64_t *val)
{
    struct mmio_dev *m = d;
    m->reads++;
    *val = 0x40 + off;   /* readable pattern: the offset */
    (void)size;
    return 0;
}
static int mmio_wr(void *d, uint32_t off, uint64_t val, unsigned size)
{
    struct mmio_dev *m = d;
    m->writes++;
    m->last_off = off;
    m->last_val = val;
    m->last_size = size;
    return 0;
}
static const struct pgm_mmio_ops mmio_ops = { mmio_rd, mmio_wr, 0 };

Test(iem_str, mmio_rep_stosd_and_movsb_per_element)
{
    static struct mmio_dev md;
    memset(&md, 0, sizeof(md));
    cr_assert_eq(pgm_map_mmio(iem_test_pgm(t), 0x700000, 0x1000, &mmio_ops, &md, "strmmio", NULL), 0);
    static const uint8_t code[] = {
        0xf3, 0xab,                          /* rep stosd -> MMIO */
        0xbe, 0x10, 0x00, 0x70, 0x00,        /* mov esi, 0x700010 */
        0xbf, 0x00, 0x00, 0x30, 0x00,        /* mov edi, 0x300000 */
        0xb9, 0x05, 0x00, 0x00, 0x00,        /* mov ecx, 5 */
        0xf3, 0xa4,                          /* rep movsb MMIO -> RAM */
        0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->gpr[CPUM_EDI] = 0x700100;
    s->gpr[CPUM_ECX] = 6;
    s->gpr[CPUM_EAX] = 0xfeedf00d;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, CODE + sizeof(code));
    cr_assert_eq(md.writes, 6, "one device write per element");
    cr_assert_eq(md.last_off, 0x114);
    cr_assert_eq(md.last_val, 0xfeedf00d);
    cr_assert_eq(md.last_size, 4);
    cr_assert_eq(md.reads, 5, "one device read per element");
    for (unsigned k = 0; k < 5; k++)
        cr_assert_eq(ram[0x300000 + k], 0x50 + k);
}
