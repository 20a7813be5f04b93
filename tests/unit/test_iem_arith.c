/* SPDX-License-Identifier: MIT */
/* The arithmetic families through the IEM test harness: shifts/rotates and
 * SHLD/SHRD, MUL/IMUL/DIV/IDIV, BCD and SALC, BT BTS BTR BTC, BSF BSR BSWAP, XADD,
 * CMPXCHG, CMPXCHG8B.  Table-driven: one instruction, input registers,
 * flags and a memory dword at [ESI] -> expected registers, all six status
 * flags and memory, or an exception with everything left untouched.
 * Expected values are worked out by hand from the SDM pseudo-code; where
 * the SDM says "undefined" they are the Intel values the implementation
 * documents (iem_op_*.c headers). */
#include <criterion/criterion.h>
#include <string.h>

#include "iem/iem_internal.h"   /* multi_threaded: force the host-atomic LOCK paths */
#include "ixvm/iem.h"

static struct iem_test *t;
static struct cpum_state *s;
static uint8_t *ram;

static void setup(void)
{
    cr_assert_eq(iem_test_create(&t, 4), 0);
    s = iem_test_state(t);
    ram = iem_test_ram(t);
}
static void teardown(void) { iem_test_destroy(t); }
TestSuite(iem_arith, .init = setup, .fini = teardown);

#define C CPUM_EFL_CF
#define P CPUM_EFL_PF
#define A CPUM_EFL_AF
#define Z CPUM_EFL_ZF
#define S CPUM_EFL_SF
#define O CPUM_EFL_OF
#define ALLF CPUM_EFL_STATUS
#define MEM 0x20000u      /* [ESI] */
#define CODE 0x10000u
#define NOX (-1)

static uint32_t rd32(uint32_t pa) { uint32_t v; memcpy(&v, ram + pa, 4); return v; }
static void wr32(uint32_t pa, uint32_t v) { memcpy(ram + pa, &v, 4); }

struct acase {
    const char *what;
    uint8_t code[12];
    uint8_t len;
    uint32_t eax, ecx, edx, ebx, mem, fin;       /* inputs */
    uint32_t oeax, oecx, oedx, oebx, omem, fout; /* expected (ignored when vec >= 0) */
    int vec;                                     /* expected exception, NOX for none */
};
#define IN(a, c_, d, b, m, f) a, c_, d, b, m, f
#define OUT(a, c_, d, b, m, f) a, c_, d, b, m, f, NOX
#define XCPT(v) 0, 0, 0, 0, 0, 0, v

/* Run one case: code at CODE followed by HLT, flat 32-bit CPL 0. */
static void run_case(const struct acase *k)
{
    uint8_t code[16];
    memcpy(code, k->code, k->len);
    code[k->len] = 0xf4;
    cr_assert_eq(iem_test_write(t, CODE, code, k->len + 1u), 0);
    iem_test_setup_flat32(t, CODE, 0x80000);
    uint32_t in[CPUM_GPR_ZERO];
    s->gpr[CPUM_EAX] = k->eax;
    s->gpr[CPUM_ECX] = k->ecx;
    s->gpr[CPUM_EDX] = k->edx;
    s->gpr[CPUM_EBX] = k->ebx;
    s->gpr[CPUM_ESI] = MEM;
    s->gpr[CPUM_EDI] = 0x5a5a5a5a;
    s->gpr[CPUM_EBP] = 0x1234;
    s->eflags = 2 | k->fin;
    memcpy(in, s->gpr, sizeof(in));
    wr32(MEM, k->mem);
    wr32(MEM + 4, 0x0badf00d);
    struct iem_xcpt_info x0, x1;
    iem_last_xcpt(iem_test_cpu(t), &x0);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s: did not halt", k->what);
    iem_last_xcpt(iem_test_cpu(t), &x1);
    if (k->vec >= 0) {
        cr_assert_eq(x1.count, x0.count + 1, "%s: no exception", k->what);
        cr_assert_eq(x1.vector, (uint8_t)k->vec, "%s: vector %u", k->what, x1.vector);
        cr_assert_eq(rd32(0x80000 - 12), CODE, "%s: fault EIP", k->what);
        cr_assert_eq(rd32(0x80000 - 4) & ALLF, k->fin, "%s: flags changed", k->what);
        for (unsigned r = 0; r < CPUM_GPR_ZERO; r++)
            if (r != CPUM_ESP)
                cr_assert_eq(s->gpr[r], in[r], "%s: reg %u changed", k->what, r);
        cr_assert_eq(rd32(MEM), k->mem, "%s: memory changed", k->what);
        return;
    }
    cr_assert_eq(x1.count, x0.count, "%s: unexpected exception %u", k->what, x1.vector);
    cr_assert_eq(s->eip, CODE + k->len + 1u, "%s: eip", k->what);
    cr_assert_eq(s->gpr[CPUM_EAX], k->oeax, "%s: eax %08x", k->what, s->gpr[CPUM_EAX]);
    cr_assert_eq(s->gpr[CPUM_ECX], k->oecx, "%s: ecx %08x", k->what, s->gpr[CPUM_ECX]);
    cr_assert_eq(s->gpr[CPUM_EDX], k->oedx, "%s: edx %08x", k->what, s->gpr[CPUM_EDX]);
    cr_assert_eq(s->gpr[CPUM_EBX], k->oebx, "%s: ebx %08x", k->what, s->gpr[CPUM_EBX]);
    cr_assert_eq(s->gpr[CPUM_ESI], MEM, "%s: esi", k->what);
    cr_assert_eq(rd32(MEM), k->omem, "%s: mem %08x", k->what, rd32(MEM));
    cr_assert_eq(rd32(MEM + 4), 0x0badf00du, "%s: mem+4", k->what);
    cr_assert_eq(s->eflags & ALLF, k->fout, "%s: flags %03x want %03x", k->what, s->eflags & ALLF, k->fout);
}
static void run_cases(const struct acase *k, size_t n)
{
    for (size_t j = 0; j < n; j++)
        run_case(&k[j]);
}

/* ---- shifts and rotates ---- */
static const struct acase shift_cases[] = {
    { "shl eax,cl 1", { 0xd3, 0xe0 }, 2, IN(0x80000001, 1, 0, 0, 0, 0), OUT(2, 1, 0, 0, 0, C | O) },
    { "shl eax,cl 0x20 (masked 0)", { 0xd3, 0xe0 }, 2, IN(0x12345678, 0x20, 0, 0, 0, ALLF),
      OUT(0x12345678, 0x20, 0, 0, 0, ALLF) },
    { "shl eax,cl 33 (masked 1)", { 0xd3, 0xe0 }, 2, IN(0x40000000, 33, 0, 0, 0, C),
      OUT(0x80000000, 33, 0, 0, 0, O | S | P) },
    { "shl al,cl 8", { 0xd2, 0xe0 }, 2, IN(0xaaaa0081, 8, 0, 0, 0, 0), OUT(0xaaaa0000, 8, 0, 0, 0, C | Z | P | O) },
    { "shl al,cl 9", { 0xd2, 0xe0 }, 2, IN(0xaaaa0081, 9, 0, 0, 0, C), OUT(0xaaaa0000, 9, 0, 0, 0, Z | P | O) },
    { "shl al,1 clears AF", { 0xd0, 0xe0 }, 2, IN(0x40, 0, 0, 0, 0, A), OUT(0x80, 0, 0, 0, 0, S | O) },
    { "sal eax,imm 4 (/6)", { 0xc1, 0xf0, 4 }, 3, IN(0x0000000f, 0, 0, 0, 0, 0), OUT(0xf0, 0, 0, 0, 0, P) },
    { "shr ax,cl 16", { 0x66, 0xd3, 0xe8 }, 3, IN(0xffff8001, 16, 0, 0, 0, 0),
      OUT(0xffff0000, 16, 0, 0, 0, C | Z | P | O) },
    { "shr eax,1", { 0xd1, 0xe8 }, 2, IN(0x80000001, 0, 0, 0, 0, 0), OUT(0x40000000, 0, 0, 0, 0, C | O | P) },
    { "shr eax,imm 31", { 0xc1, 0xe8, 31 }, 3, IN(0xc0000000, 0, 0, 0, 0, 0), OUT(1, 0, 0, 0, 0, C | O) },
    { "sar eax,1", { 0xd1, 0xf8 }, 2, IN(0x80000003, 0, 0, 0, 0, O), OUT(0xc0000001, 0, 0, 0, 0, C | S) },
    { "sar al,cl 20", { 0xd2, 0xf8 }, 2, IN(0x80, 20, 0, 0, 0, 0), OUT(0xff, 20, 0, 0, 0, C | S | P) },
    { "rol eax,1", { 0xd1, 0xc0 }, 2, IN(0x80000000, 0, 0, 0, 0, Z), OUT(1, 0, 0, 0, 0, Z | C | O) },
    { "rol al,cl 8", { 0xd2, 0xc0 }, 2, IN(0x01, 8, 0, 0, 0, S), OUT(0x01, 8, 0, 0, 0, S | C) },
    { "rol ax,cl 0 keeps flags", { 0x66, 0xd3, 0xc0 }, 3, IN(0x1234, 0, 0, 0, 0, C | O), OUT(0x1234, 0, 0, 0, 0, C | O) },
    { "ror ax,1", { 0x66, 0xd1, 0xc8 }, 3, IN(0x0001, 0, 0, 0, 0, 0), OUT(0x8000, 0, 0, 0, 0, C | O) },
    { "ror eax,imm 8", { 0xc1, 0xc8, 8 }, 3, IN(0x12345678, 0, 0, 0, 0, P), OUT(0x78123456, 0, 0, 0, 0, P) },
    { "rcl al,1", { 0xd0, 0xd0 }, 2, IN(0x80, 0, 0, 0, 0, C), OUT(0x01, 0, 0, 0, 0, C | O) },
    { "rcl al,cl 9 (mod 9 = 0)", { 0xd2, 0xd0 }, 2, IN(0x55, 9, 0, 0, 0, C | Z), OUT(0x55, 9, 0, 0, 0, C | Z) },
    { "rcl ax,cl 17 (mod 17 = 0)", { 0x66, 0xd3, 0xd0 }, 3, IN(0x8000, 17, 0, 0, 0, 0), OUT(0x8000, 17, 0, 0, 0, 0) },
    { "rcl ax,cl 18 (mod 17 = 1)", { 0x66, 0xd3, 0xd0 }, 3, IN(0x8000, 18, 0, 0, 0, 0), OUT(0x0000, 18, 0, 0, 0, C | O) },
    { "rcr al,cl 2", { 0xd2, 0xd8 }, 2, IN(0x03, 2, 0, 0, 0, 0), OUT(0x80, 2, 0, 0, 0, C) },
    { "rcr eax,1", { 0xd1, 0xd8 }, 2, IN(0, 0, 0, 0, 0, C), OUT(0x80000000, 0, 0, 0, 0, O) },
    { "rcl eax,cl 32 (masked 0)", { 0xd3, 0xd0 }, 2, IN(5, 32, 0, 0, 0, C), OUT(5, 32, 0, 0, 0, C) },
    { "shl dword [esi],cl 4", { 0xd3, 0x26 }, 2, IN(0, 4, 0, 0, 0xf0000001, 0), OUT(0, 4, 0, 0, 0x10, C) },
    { "rol word [esi],1", { 0x66, 0xd1, 0x06 }, 3, IN(0, 0, 0, 0, 0xaaaa8000, 0), OUT(0, 0, 0, 0, 0xaaaa0001, C | O) },
    { "sar byte [esi],imm 7", { 0xc0, 0x3e, 7 }, 3, IN(0, 0, 0, 0, 0x11111180, 0), OUT(0, 0, 0, 0, 0x111111ff, S | P) },
    { "shld eax,ebx,4", { 0x0f, 0xa4, 0xd8, 4 }, 4, IN(0x12345678, 0, 0, 0x9abcdef0, 0, 0),
      OUT(0x23456789, 0, 0, 0x9abcdef0, 0, C) },
    { "shrd eax,ebx,cl 8", { 0x0f, 0xad, 0xd8 }, 3, IN(0x12345678, 8, 0, 0xab, 0, 0),
      OUT(0xab123456, 8, 0, 0xab, 0, O | S | P) },
    { "shld ax,bx,cl 20 (Intel dst:src:dst)", { 0x66, 0x0f, 0xa5, 0xd8 }, 4, IN(0x1234, 20, 0, 0xabcd, 0, 0),
      OUT(0xbcd1, 20, 0, 0xabcd, 0, S | P) },
    { "shrd ax,bx,cl 20 (Intel dst:src:dst)", { 0x66, 0x0f, 0xad, 0xd8 }, 4, IN(0x1234, 20, 0, 0xabcd, 0, 0),
      OUT(0x4abc, 20, 0, 0xabcd, 0, C | O) },
    { "shld [esi],ebx,cl 0 keeps all", { 0x0f, 0xa5, 0x1e }, 3, IN(0, 0, 0, 7, 0x11223344, P | Z),
      OUT(0, 0, 0, 7, 0x11223344, P | Z) },
    { "shrd [esi],ebx,1", { 0x0f, 0xac, 0x1e, 1 }, 4, IN(0, 0, 0, 1, 0x00000002, 0), OUT(0, 0, 0, 1, 0x80000001, S | O) },
    { "lock shl [esi],cl -> #UD", { 0xf0, 0xd3, 0x26 }, 3, IN(0, 1, 0, 0, 5, 0), XCPT(6) },
};
Test(iem_arith, shifts) { run_cases(shift_cases, sizeof(shift_cases) / sizeof(shift_cases[0])); }

/* ---- multiply / divide ---- */
static const struct acase muldiv_cases[] = {
    { "mul ecx", { 0xf7, 0xe1 }, 2, IN(0x80000000, 4, 7, 0, 0, Z | A), OUT(0, 4, 2, 0, 0, C | O | P) },
    { "mul cl", { 0xf6, 0xe1 }, 2, IN(0x12340010, 0x10, 0, 0, 0, 0), OUT(0x12340100, 0x10, 0, 0, 0, C | O | P) },
    { "mul cx", { 0x66, 0xf7, 0xe1 }, 3, IN(0xffff, 0xffff, 0x55550000, 0, 0, 0),
      OUT(0x0001, 0xffff, 0x5555fffe, 0, 0, C | O) },
    { "mul ecx small", { 0xf7, 0xe1 }, 2, IN(3, 5, 9, 0, 0, C | O), OUT(15, 5, 0, 0, 0, P) },
    { "imul cl", { 0xf6, 0xe9 }, 2, IN(0xff, 2, 0, 0, 0, C | O), OUT(0xfffe, 2, 0, 0, 0, S) },
    { "imul dword [esi]", { 0xf7, 0x2e }, 2, IN(0xffffffff, 0, 0, 0, 0x80000000, 0), OUT(0x80000000, 0, 0, 0, 0x80000000, C | O | S | P) },
    { "imul eax,ecx", { 0x0f, 0xaf, 0xc1 }, 3, IN(0x10000, 0x10000, 0, 0, 0, 0), OUT(0, 0x10000, 0, 0, 0, C | O | P) },
    { "imul eax,ecx,-2", { 0x6b, 0xc1, 0xfe }, 3, IN(0, 3, 0, 0, 0, 0), OUT(0xfffffffa, 3, 0, 0, 0, S | P) },
    { "imul ax,cx,0x100", { 0x66, 0x69, 0xc1, 0x00, 0x01 }, 5, IN(0xaaaa5555, 0x100, 0, 0, 0, 0),
      OUT(0xaaaa0000, 0x100, 0, 0, 0, C | O | P) },
    { "imul ecx,[esi],7", { 0x69, 0x0e, 7, 0, 0, 0 }, 6, IN(0, 0, 0, 0, 6, 0), OUT(0, 42, 0, 0, 6, 0) },
    { "div ecx", { 0xf7, 0xf1 }, 2, IN(5, 2, 1, 0, 0, Z | A), OUT(0x80000002, 2, 1, 0, 0, Z | A) },
    { "div ecx overflow -> #DE", { 0xf7, 0xf1 }, 2, IN(0, 2, 2, 0, 0, C), XCPT(0) },
    { "div cl by 0 -> #DE", { 0xf6, 0xf1 }, 2, IN(0x1234, 0, 0, 0, 0, 0), XCPT(0) },
    { "div cl", { 0xf6, 0xf1 }, 2, IN(0xff000123, 0x10, 0, 0, 0, S), OUT(0xff000312, 0x10, 0, 0, 0, S) },
    { "idiv cl -128/-1 -> #DE", { 0xf6, 0xf9 }, 2, IN(0xff80, 0xff, 0, 0, 0, 0), XCPT(0) },
    { "idiv cl -128/1", { 0xf6, 0xf9 }, 2, IN(0xff80, 1, 0, 0, 0, P), OUT(0x0080, 1, 0, 0, 0, P) },
    { "idiv ecx -7/2", { 0xf7, 0xf9 }, 2, IN(0xfffffff9, 2, 0xffffffff, 0, 0, 0),
      OUT(0xfffffffd, 2, 0xffffffff, 0, 0, 0) },
    { "idiv ecx INT64_MIN/-1 -> #DE", { 0xf7, 0xf9 }, 2, IN(0, 0xffffffff, 0x80000000, 0, 0, Z), XCPT(0) },
    { "idiv ecx 2^31 quotient -> #DE", { 0xf7, 0xf9 }, 2, IN(0, 2, 1, 0, 0, 0), XCPT(0) },
    { "idiv ecx -2^31 quotient ok", { 0xf7, 0xf9 }, 2, IN(0, 2, 0xffffffff, 0, 0, 0),
      OUT(0x80000000, 2, 0, 0, 0, 0) },
    { "div word [esi]", { 0x66, 0xf7, 0x36 }, 3, IN(0, 0, 1, 0, 3, 0), OUT(0x5555, 0, 1, 0, 3, 0) },
    { "div dword [esi] by 0 -> #DE", { 0xf7, 0x36 }, 2, IN(1, 0, 0, 0, 0, 0), XCPT(0) },
};
Test(iem_arith, muldiv) { run_cases(muldiv_cases, sizeof(muldiv_cases) / sizeof(muldiv_cases[0])); }

/* ---- BCD and SALC (SDM examples for DAA/DAS) ---- */
static const struct acase bcd_cases[] = {
    { "daa (SDM example)", { 0x27 }, 1, IN(0xae, 0, 0, 0, 0, O | S), OUT(0x14, 0, 0, 0, 0, A | P | C) },
    { "daa no adjust", { 0x27 }, 1, IN(0x45, 0, 0, 0, 0, 0), OUT(0x45, 0, 0, 0, 0, 0) },
    { "daa 0x9a", { 0x27 }, 1, IN(0x9a, 0, 0, 0, 0, 0), OUT(0x00, 0, 0, 0, 0, C | A | Z | P) },
    { "das (SDM example)", { 0x2f }, 1, IN(0xee, 0, 0, 0, 0, S | A | P | C), OUT(0x88, 0, 0, 0, 0, S | A | P | C) },
    { "das low borrow keeps CF", { 0x2f }, 1, IN(0x03, 0, 0, 0, 0, A), OUT(0xfd, 0, 0, 0, 0, C | A | S) },
    { "aaa", { 0x37 }, 1, IN(0x010b, 0, 0, 0, 0, 0), OUT(0x0201, 0, 0, 0, 0, A | C | P) },
    { "aaa AL=0xfa carries into AH", { 0x37 }, 1, IN(0x00fa, 0, 0, 0, 0, 0), OUT(0x0200, 0, 0, 0, 0, A | C | Z | P) },
    { "aaa no adjust", { 0x37 }, 1, IN(0x0135, 0, 0, 0, 0, C | S), OUT(0x0105, 0, 0, 0, 0, P) },
    { "aas", { 0x3f }, 1, IN(0x0203, 0, 0, 0, 0, A), OUT(0x000d, 0, 0, 0, 0, A | C) },
    { "aam 10", { 0xd4, 0x0a }, 2, IN(0x003f, 0, 0, 0, 0, C | O | A), OUT(0x0603, 0, 0, 0, 0, P) },
    { "aam 0 -> #DE", { 0xd4, 0x00 }, 2, IN(0x003f, 0, 0, 0, 0, 0), XCPT(0) },
    { "aad 10", { 0xd5, 0x0a }, 2, IN(0x0607, 0, 0, 0, 0, C | Z), OUT(0x0043, 0, 0, 0, 0, A) },
    { "aad 16 wraps", { 0xd5, 0x10 }, 2, IN(0x12ff, 0, 0, 0, 0, 0), OUT(0x001f, 0, 0, 0, 0, C) },
    { "salc CF=1", { 0xd6 }, 1, IN(0x1234, 0, 0, 0, 0, C | Z), OUT(0x12ff, 0, 0, 0, 0, C | Z) },
    { "salc CF=0", { 0xd6 }, 1, IN(0x12ff, 0, 0, 0, 0, S), OUT(0x1200, 0, 0, 0, 0, S) },
};
Test(iem_arith, bcd) { run_cases(bcd_cases, sizeof(bcd_cases) / sizeof(bcd_cases[0])); }

/* ---- bit operations ---- */
static const struct acase bit_cases[] = {
    { "bt eax,ecx 40 (mod 32)", { 0x0f, 0xa3, 0xc8 }, 3, IN(0x100, 40, 0, 0, 0, Z | S), OUT(0x100, 40, 0, 0, 0, Z | S | C) },
    { "bts ax,cx 17 (mod 16)", { 0x66, 0x0f, 0xab, 0xc8 }, 4, IN(0xffff0000, 17, 0, 0, 0, C), OUT(0xffff0002, 17, 0, 0, 0, 0) },
    { "btc eax,0x21", { 0x0f, 0xba, 0xf8, 0x21 }, 4, IN(2, 0, 0, 0, 0, 0), OUT(0, 0, 0, 0, 0, C) },
    { "btr dword [esi],imm 35 (mod 32)", { 0x0f, 0xba, 0x36, 35 }, 4, IN(0, 0, 0, 0, 0xff, P), OUT(0, 0, 0, 0, 0xf7, P | C) },
    { "bt [esi],ecx 31", { 0x0f, 0xa3, 0x0e }, 3, IN(0, 31, 0, 0, 0x80000000, 0), OUT(0, 31, 0, 0, 0x80000000, C) },
    { "lock bts [esi],ecx", { 0xf0, 0x0f, 0xab, 0x0e }, 4, IN(0, 4, 0, 0, 0x10, 0), OUT(0, 4, 0, 0, 0x10, C) },
    { "lock btr [esi],imm", { 0xf0, 0x0f, 0xba, 0x36, 4 }, 5, IN(0, 0, 0, 0, 0x11, 0), OUT(0, 0, 0, 0, 0x01, C) },
    { "lock bt [esi],ecx -> #UD", { 0xf0, 0x0f, 0xa3, 0x0e }, 4, IN(0, 1, 0, 0, 2, 0), XCPT(6) },
    { "lock bts eax,ecx (register) -> #UD", { 0xf0, 0x0f, 0xab, 0xc8 }, 4, IN(0, 1, 0, 0, 0, 0), XCPT(6) },
    { "bsf ecx,eax", { 0x0f, 0xbc, 0xc8 }, 3, IN(0x00100000, 0xdeadbeef, 0, 0, 0, C | Z | S | O | A),
      OUT(0x00100000, 20, 0, 0, 0, P) },
    { "bsf ecx,eax src 0 keeps ecx", { 0x0f, 0xbc, 0xc8 }, 3, IN(0, 0xdeadbeef, 0, 0, 0, C | S),
      OUT(0, 0xdeadbeef, 0, 0, 0, Z | P) },
    { "bsr cx,ax", { 0x66, 0x0f, 0xbd, 0xc8 }, 4, IN(0x8001, 0xdeadbeef, 0, 0, 0, 0), OUT(0x8001, 0xdead000f, 0, 0, 0, P) },
    { "bsr edx,[esi]", { 0x0f, 0xbd, 0x16 }, 3, IN(0, 0, 0, 0, 0x00000181, 0), OUT(0, 0, 8, 0, 0x181, 0) },
    { "bswap eax", { 0x0f, 0xc8 }, 2, IN(0x12345678, 0, 0, 0, 0, C), OUT(0x78563412, 0, 0, 0, 0, C) },
    { "bswap ebx", { 0x0f, 0xcb }, 2, IN(0, 0, 0, 0xaabbccdd, 0, 0), OUT(0, 0, 0, 0xddccbbaa, 0, 0) },
    { "bswap ax (low word 0)", { 0x66, 0x0f, 0xc8 }, 3, IN(0x12345678, 0, 0, 0, 0, 0), OUT(0x12340000, 0, 0, 0, 0, 0) },
};
Test(iem_arith, bitops) { run_cases(bit_cases, sizeof(bit_cases) / sizeof(bit_cases[0])); }

/* ---- XADD / CMPXCHG / CMPXCHG8B ---- */
static const struct acase xc_cases[] = {
    { "xadd ecx,eax", { 0x0f, 0xc1, 0xc1 }, 3, IN(7, 5, 0, 0, 0, 0), OUT(5, 12, 0, 0, 0, P) },
    { "xadd eax,eax", { 0x0f, 0xc1, 0xc0 }, 3, IN(3, 0, 0, 0, 0, 0), OUT(6, 0, 0, 0, 0, P) },
    { "xadd cl,ah", { 0x0f, 0xc0, 0xe1 }, 3, IN(0x0100, 0xff, 0, 0, 0, 0), OUT(0xff00, 0x00, 0, 0, 0, C | Z | P | A) },
    { "lock xadd [esi],ecx", { 0xf0, 0x0f, 0xc1, 0x0e }, 4, IN(0, 1, 0, 0, 0xffffffff, 0),
      OUT(0, 0xffffffff, 0, 0, 0, C | Z | P | A) },
    { "xadd word [esi],dx", { 0x66, 0x0f, 0xc1, 0x16 }, 4, IN(0, 0, 0x11110001, 0, 0xaaaa7fff, 0),
      OUT(0, 0, 0x11117fff, 0, 0xaaaa8000, O | S | A | P) },
    { "cmpxchg ecx,edx equal", { 0x0f, 0xb1, 0xd1 }, 3, IN(5, 5, 9, 0, 0, 0), OUT(5, 9, 9, 0, 0, Z | P) },
    { "cmpxchg ecx,edx differ", { 0x0f, 0xb1, 0xd1 }, 3, IN(5, 7, 9, 0, 0, 0), OUT(7, 7, 9, 0, 0, C | S | A) },
    { "cmpxchg byte [esi],dl", { 0x0f, 0xb0, 0x16 }, 3, IN(0x10, 0, 0x77, 0, 0xaaaaaa10, 0),
      OUT(0x10, 0, 0x77, 0, 0xaaaaaa77, Z | P) },
    { "lock cmpxchg [esi],edx differ", { 0xf0, 0x0f, 0xb1, 0x16 }, 4, IN(1, 0, 9, 0, 2, 0),
      OUT(2, 0, 9, 0, 2, C | S | A | P) },
    { "lock cmpxchg [esi],edx equal", { 0xf0, 0x0f, 0xb1, 0x16 }, 4, IN(2, 0, 9, 0, 2, C),
      OUT(2, 0, 9, 0, 9, Z | P) },
    { "cmpxchg8b equal", { 0x0f, 0xc7, 0x0e }, 3, IN(0x12345678, 0x0badf00d, 0x0badf00d, 0xbeef, 0x12345678, C),
      OUT(0x12345678, 0x0badf00d, 0x0badf00d, 0xbeef, 0xbeef, C | Z) },
    { "lock cmpxchg8b differ", { 0xf0, 0x0f, 0xc7, 0x0e }, 4, IN(1, 2, 3, 4, 0x99, Z | S),
      OUT(0x99, 2, 0x0badf00d, 4, 0x99, S) },
    { "cmpxchg8b eax -> #UD", { 0x0f, 0xc7, 0xc8 }, 3, IN(1, 2, 3, 4, 0, 0), XCPT(6) },
    { "lock cmpxchg ecx,edx (register) -> #UD", { 0xf0, 0x0f, 0xb1, 0xd1 }, 4, IN(5, 5, 9, 0, 0, 0), XCPT(6) },
};
Test(iem_arith, xadd_cmpxchg) { run_cases(xc_cases, sizeof(xc_cases) / sizeof(xc_cases[0])); }

/* The LOCK cases again with the host-atomic paths (multi-threaded vCPU). */
Test(iem_arith, lock_atomic_paths)
{
    iem_test_cpu(t)->multi_threaded = true;
    run_cases(xc_cases, sizeof(xc_cases) / sizeof(xc_cases[0]));
    run_cases(bit_cases, sizeof(bit_cases) / sizeof(bit_cases[0]));
}

/* Misaligned LOCK operands take the plain path even when multi-threaded. */
Test(iem_arith, lock_misaligned)
{
    iem_test_cpu(t)->multi_threaded = true;
    static const struct acase k[] = {
        { "lock xadd [esi+1],ecx", { 0xf0, 0x0f, 0xc1, 0x4e, 0x01 }, 5, IN(0, 0x100, 0, 0, 0x00ffff00, 0),
          OUT(0, 0x0d00ffff, 0, 0, 0x0100ff00, P) },
        { "lock cmpxchg8b [esi+1] differ", { 0xf0, 0x0f, 0xc7, 0x4e, 0x01 }, 5, IN(0, 0, 0, 0, 0x44332211, 0),
          OUT(0x0d443322, 0, 0x000badf0, 0, 0x44332211, 0) },
    };
    run_cases(k, 2);
}

/* BT* with register offsets reach outside the operand: signed, unit-sized. */
Test(iem_arith, bt_memory_offsets)
{
    static const uint8_t code[] = {
        0x0f, 0xab, 0x0e,               /* bts [esi], ecx (ecx = 35 -> [esi+4] bit 3) */
        0x0f, 0xb3, 0x16,               /* btr [esi], edx (edx = -1 -> [esi-4] bit 31) */
        0x66, 0x0f, 0xbb, 0x1e,         /* btc word [esi], bx (bx = -17 -> [esi-4] word bit 15) */
        0xf4 };
    cr_assert_eq(iem_test_write(t, CODE, code, sizeof(code)), 0);
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->gpr[CPUM_ESI] = MEM;
    s->gpr[CPUM_ECX] = 35;
    s->gpr[CPUM_EDX] = 0xffffffff;
    s->gpr[CPUM_EBX] = 0x1234ffef;   /* BX = -17 */
    wr32(MEM - 4, 0x80000000);
    wr32(MEM, 0);
    wr32(MEM + 4, 0);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(rd32(MEM + 4), 8);
    cr_assert_eq(rd32(MEM), 0);
    /* btr cleared bit 31 (CF=1), then btc toggled bit 15 of the word at MEM-4. */
    cr_assert_eq(rd32(MEM - 4), 0x00008000);
    cr_assert_eq(s->eflags & C, 0, "btc saw bit 15 clear");
}

/* CMPXCHG writes its destination even when the compare fails (Intel), so a
 * read-only page faults and nothing changes; on success the same. */
#define PD 0x100000u
#define PT 0x101000u
Test(iem_arith, cmpxchg_readonly_page_faults)
{
    static const uint8_t code[] = { 0x0f, 0xb1, 0x0d, 0x00, 0x00, 0x20, 0x00, 0xf4 };   /* cmpxchg [0x200000], ecx */
    cr_assert_eq(iem_test_write(t, CODE, code, sizeof(code)), 0);
    iem_test_setup_flat32(t, CODE, 0x80000);
    memset(ram + PD, 0, 0x2000);
    wr32(PD, PT | 7);
    for (uint32_t k = 0; k < 1024; k++)
        wr32(PT + k * 4, (k << 12) | 7);
    wr32(PT + (0x200000u >> 12) * 4, 0x200000u | 5);   /* present, read-only */
    s->cr3 = PD;
    s->cr0 |= CPUM_CR0_PG | CPUM_CR0_WP;
    wr32(0x200000, 0x1111);
    s->gpr[CPUM_EAX] = 0x2222;   /* compare fails */
    s->gpr[CPUM_ECX] = 0x3333;
    s->eflags = 2 | Z;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x;
    iem_last_xcpt(iem_test_cpu(t), &x);
    cr_assert_eq(x.vector, 14);
    cr_assert_eq(x.error, 0x3, "present, write");
    cr_assert_eq(s->cr2, 0x200000);
    cr_assert_eq(s->gpr[CPUM_EAX], 0x2222, "EAX untouched on #PF");
    cr_assert_eq(rd32(0x200000), 0x1111);
    cr_assert_eq(rd32(0x80000 - 16 + 12) & ALLF, Z, "flags untouched");
}

/* CPUID advertises CX8 now that CMPXCHG8B exists. */
Test(iem_arith, cpuid_cx8)
{
    static const uint8_t code[] = { 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0xf4 };   /* mov eax,1; cpuid */
    cr_assert_eq(iem_test_write(t, CODE, code, sizeof(code)), 0);
    iem_test_setup_flat32(t, CODE, 0x80000);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert(s->gpr[CPUM_EDX] & (1u << 8), "CPUID.1:EDX.CX8");
}
