/* SPDX-License-Identifier: MIT */
/*
 * DBGF disassembler: known byte sequences in 16- and 32-bit code give exact
 * lines (address, bytes column, Intel syntax), symbols annotate addresses
 * and direct branch targets, bad and truncated encodings are reported.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/dbgf_target.h"

static struct dbgf_disas *d;
static struct dbgf_sym *sym;

static void setup(void)
{
    cr_assert_eq(dbgf_sym_create(&sym), 0);
    cr_assert_eq(dbgf_disas_create(NULL, &d), 0);
}

static void teardown(void)
{
    dbgf_disas_destroy(d);
    dbgf_sym_destroy(sym);
}

TestSuite(dbgf_disas, .init = setup, .fini = teardown);

struct disas_case {
    unsigned bits;
    uint64_t addr;
    const char *bytes;
    size_t len;
    const char *text;     /* dbgf_disas_insn */
};

static const struct disas_case cases[] = {
    { 16, 0x7c00, "\xb8\x34\x12", 3, "mov ax, 0x1234" },
    { 16, 0xffff0, "\xea\x5b\xe0\x00\xf0", 5, "ljmp 0xf000:0xe05b" },
    { 16, 0x7c00, "\x66\xb8\x78\x56\x34\x12", 6, "mov eax, 0x12345678" },
    { 16, 0x0, "\xcd\x10", 2, "int 0x10" },
    { 16, 0x0, "\x8b\x46\x02", 3, "mov ax, word ptr [bp + 2]" },
    { 32, 0x1000, "\x89\xd8", 2, "mov eax, ebx" },
    { 32, 0x1000, "\x8b\x44\x24\x04", 4, "mov eax, dword ptr [esp + 4]" },
    { 32, 0x1000, "\xe8\x00\x00\x00\x00", 5, "call 0x1005" },
    { 32, 0x1000, "\x74\xfe", 2, "je 0x1000" },
    { 32, 0x0, "\xc3", 1, "ret" },
};

Test(dbgf_disas, known_sequences_16_and_32)
{
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(cases); i++) {
        const struct disas_case *c = &cases[i];
        char buf[128];
        int n = dbgf_disas_insn(d, c->bits, c->addr, (const uint8_t *)c->bytes, c->len, buf, sizeof(buf));
        cr_expect_eq(n, (int)c->len, "case %zu: length %d", i, n);
        cr_expect_str_eq(buf, c->text, "case %zu", i);
    }
}

Test(dbgf_disas, same_bytes_differ_by_mode)
{
    /* b8 imm: 3 bytes in 16-bit code, 5 in 32-bit code. */
    const uint8_t b[] = { 0xb8, 0x34, 0x12, 0x00, 0x00 };
    char buf[128];
    cr_assert_eq(dbgf_disas_insn(d, 16, 0, b, sizeof(b), buf, sizeof(buf)), 3);
    cr_expect_str_eq(buf, "mov ax, 0x1234");
    cr_assert_eq(dbgf_disas_insn(d, 32, 0, b, sizeof(b), buf, sizeof(buf)), 5);
    cr_expect_str_eq(buf, "mov eax, 0x1234");
}

Test(dbgf_disas, full_line_format)
{
    char buf[160];
    cr_assert_eq(dbgf_disas_line(d, 32, 0x1000, (const uint8_t *)"\x89\xd8", 2, buf, sizeof(buf)), 2);
    cr_expect_str_eq(buf, "00001000: 89 d8                 mov eax, ebx");
    cr_assert_eq(dbgf_disas_line(d, 16, 0xffff0, (const uint8_t *)"\xea\x5b\xe0\x00\xf0", 5, buf, sizeof(buf)), 5);
    cr_expect_str_eq(buf, "000ffff0: ea 5b e0 00 f0        ljmp 0xf000:0xe05b");
}

Test(dbgf_disas, symbols_annotate_address_and_target)
{
    cr_assert_eq(dbgf_sym_add(sym, "main", 0x1000, 0x20), 0);
    cr_assert_eq(dbgf_sym_add(sym, "helper", 0x2000, 0x10), 0);
    dbgf_disas_set_sym(d, sym);
    char buf[160];
    /* call rel32 at main+4 to 0x2000 = helper. */
    const uint8_t call[] = { 0xe8, 0xf7, 0x0f, 0x00, 0x00 };
    cr_assert_eq(dbgf_disas_line(d, 32, 0x1004, call, sizeof(call), buf, sizeof(buf)), 5);
    cr_expect_str_eq(buf, "00001004 <main+0x4>: e8 f7 0f 00 00        call 0x2000 <helper>");
    /* Outside every sized symbol: no annotation. */
    cr_assert_eq(dbgf_disas_line(d, 32, 0x3000, (const uint8_t *)"\x90", 1, buf, sizeof(buf)), 1);
    cr_expect_str_eq(buf, "00003000: 90                    nop");
}

Test(dbgf_disas, bad_and_truncated)
{
    char buf[160];
    /* Truncated call: SYNTAX, one byte shown so a listing can go on. */
    cr_expect_eq(dbgf_disas_line(d, 32, 0x10, (const uint8_t *)"\xe8\x00", 2, buf, sizeof(buf)), IXVM_ERR_SYNTAX);
    cr_expect_str_eq(buf, "00000010: e8                    (bad)");
    cr_expect_eq(dbgf_disas_insn(d, 32, 0, NULL, 0, buf, sizeof(buf)), IXVM_ERR_SYNTAX);
    cr_expect_str_eq(buf, "(bad)");
    /* Tiny output buffer: truncated text, no overflow. */
    char small[8];
    cr_expect_eq(dbgf_disas_line(d, 32, 0x1000, (const uint8_t *)"\x89\xd8", 2, small, sizeof(small)), 2);
    cr_expect_eq(strlen(small), 7u);
}

Test(dbgf_disas, random_bytes_never_crash)
{
    uint32_t x = 12345;
    uint8_t b[16];
    char buf[256];
    for (int i = 0; i < 20000; i++) {
        for (size_t j = 0; j < sizeof(b); j++) {
            x = x * 1103515245u + 12345u;
            b[j] = (uint8_t)(x >> 16);
        }
        size_t len = (x >> 8) % 17;
        int n = dbgf_disas_line(d, (i & 1) ? 32 : 16, x, b, len, buf, sizeof(buf));
        cr_assert(n == IXVM_ERR_SYNTAX || (n >= 1 && (size_t)n <= len));
    }
}
