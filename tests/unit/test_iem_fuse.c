/* SPDX-License-Identifier: MIT */
/* CMP/TEST + Jcc fusion (iem_fuse.c): for every condition code, every fused
 * form and edge-case operands, a fused run (the pair in one block) must
 * leave exactly the state of a one-instruction-at-a-time run (which never
 * fuses): branch outcome, EFLAGS, EIP, instruction count.  A fused Jcc
 * whose target is beyond the CS limit raises #GP on the Jcc, with the
 * compare retired. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"

static struct iem_test *t;
static struct cpum_state *s;

static void setup(void)
{
    cr_assert_eq(iem_test_create(&t, 4), 0);
    s = iem_test_state(t);
}
static void teardown(void) { iem_test_destroy(t); }

TestSuite(iem_fuse, .init = setup, .fini = teardown);

#define FL (CPUM_EFL_CF | CPUM_EFL_PF | CPUM_EFL_AF | CPUM_EFL_ZF | CPUM_EFL_SF | CPUM_EFL_OF)
#define DATA 0x20000u

/* The compare forms (EAX/AL = a, EBX/BL = b or imm, [DATA] = memory operand). */
struct form {
    const char *name;
    uint8_t bytes[8];
    unsigned len;
    bool imm;   /* b is the immediate (patched in) */
    bool mem;   /* the memory operand holds a */
    unsigned w;
};
static const struct form forms[] = {
    { "cmp eax,ebx", { 0x39, 0xd8 }, 2, false, false, 32 },
    { "cmp eax,imm32", { 0x3d }, 5, true, false, 32 },
    { "cmp eax,imm8s", { 0x83, 0xf8 }, 3, true, false, 32 },
    { "cmp ebx,[mem]", { 0x3b, 0x1d, 0, 0, 2, 0 }, 6, false, true, 32 },
    { "cmp [mem],ebx", { 0x39, 0x1d, 0, 0, 2, 0 }, 6, false, true, 32 },
    { "cmp dword [mem],imm32", { 0x81, 0x3d, 0, 0, 2, 0 }, 10, true, true, 32 },
    { "cmp al,bl", { 0x38, 0xd8 }, 2, false, false, 8 },
    { "cmp al,imm8", { 0x3c }, 2, true, false, 8 },
    { "cmp byte [mem],imm8", { 0x80, 0x3d, 0, 0, 2, 0 }, 7, true, true, 8 },
    { "test eax,ebx", { 0x85, 0xd8 }, 2, false, false, 32 },
    { "test eax,imm32", { 0xa9 }, 5, true, false, 32 },
    { "test al,bl", { 0x84, 0xd8 }, 2, false, false, 8 },
};
static const uint32_t vals[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000u, 0xffffffffu, 0x12345678 };

/* Lay out: form; jcc +5 (rel8); mov edi, 2; hlt; mov edi, 1; hlt. */
static uint32_t build(const struct form *f, unsigned cc, uint32_t imm)
{
    uint8_t code[32];
    unsigned n = 0;
    memcpy(code, f->bytes, f->len);
    if (f->imm) {
        unsigned isz = f->w == 8 || f->bytes[0] == 0x83 ? 1 : 4;
        memcpy(code + f->len - isz, &imm, isz);
    }
    n = f->len;
    code[n++] = (uint8_t)(0x70 + cc);
    code[n++] = 6;
    uint8_t tail[] = { 0xbf, 2, 0, 0, 0, 0xf4, 0xbf, 1, 0, 0, 0, 0xf4 };
    memcpy(code + n, tail, sizeof(tail));
    n += sizeof(tail);
    cr_assert_eq(iem_test_write(t, 0x10000, code, n), 0);
    return n;
}

static void start(uint32_t a, uint32_t b)
{
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->gpr[CPUM_EAX] = a;
    s->gpr[CPUM_EBX] = b;
    s->eflags |= CPUM_EFL_CF;   /* stale flags must not leak into the result */
    cr_assert_eq(iem_test_write(t, DATA, &a, 4), 0);
}

Test(iem_fuse, fused_equals_stepped)
{
    unsigned checked = 0;
    for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
        const struct form *f = &forms[k];
        for (unsigned cc = 0; cc < 16; cc++)
            for (size_t x = 0; x < sizeof(vals) / sizeof(vals[0]); x++)
                for (size_t y = 0; y < sizeof(vals) / sizeof(vals[0]); y++) {
                    uint32_t a = vals[x], b = vals[y];
                    build(f, cc, b);
                    /* Reference: one instruction per iem_exec (never fused). */
                    start(a, b);
                    for (int st = 0; st < 4; st++)   /* cmp, jcc, mov, hlt */
                        cr_assert_eq(iem_test_step(t), st < 3 ? 0 : IXVM_INF_EM_HALT);
                    uint32_t ref_edi = s->gpr[CPUM_EDI], ref_fl = s->eflags & FL, ref_eip = s->eip;
                    uint64_t i0 = iem_instructions(iem_test_cpu(t));
                    /* Fused: the whole block at once. */
                    start(a, b);
                    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
                    cr_assert_eq(s->gpr[CPUM_EDI], ref_edi, "%s j%u a=%#x b=%#x: edi %u want %u", f->name, cc, a,
                                 b, s->gpr[CPUM_EDI], ref_edi);
                    cr_assert_eq(s->eflags & FL, ref_fl, "%s j%u a=%#x b=%#x: flags %#x want %#x", f->name, cc,
                                 a, b, s->eflags & FL, ref_fl);
                    cr_assert_eq(s->eip, ref_eip);
                    cr_assert_eq(iem_instructions(iem_test_cpu(t)) - i0, 4);
                    checked++;
                }
    }
    cr_assert_eq(checked, 12u * 16u * 100u);
}

/* Known outcomes, so the comparison above cannot pass with both paths wrong. */
Test(iem_fuse, known_outcomes)
{
    static const struct { unsigned cc; uint32_t a, b; uint32_t edi; } cases[] = {
        { 2, 1, 2, 1 },                  /* jb: 1 < 2 unsigned */
        { 2, 0xffffffffu, 1, 2 },        /* jb: not below */
        { 12, 0xffffffffu, 1, 1 },       /* jl: -1 < 1 signed */
        { 15, 0x80000000u, 0x7fffffff, 2 }, /* jg: INT_MIN > INT_MAX? no */
        { 0, 0x80000000u, 1, 1 },        /* jo: INT_MIN - 1 overflows */
        { 4, 5, 5, 1 },                  /* je */
        { 10, 3, 0, 1 },                 /* jp: 3 has even parity */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        build(&forms[0], cases[k].cc, 0);
        start(cases[k].a, cases[k].b);
        cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
        cr_assert_eq(s->gpr[CPUM_EDI], cases[k].edi, "case %zu", k);
    }
}

/* The jump target beyond the CS limit: #GP(0) reported on the Jcc, the
 * compare retired (its flags visible in the pushed EFLAGS). */
Test(iem_fuse, jcc_target_beyond_limit_faults_on_jcc)
{
    /* cmp eax, ebx; je +0x7f (target 0x10083 > limit 0x10040) */
    static const uint8_t code[] = { 0x39, 0xd8, 0x74, 0x7f, 0xf4 };
    cr_assert_eq(iem_test_write(t, 0x10000, code, sizeof(code)), 0);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    s->seg[CPUM_CS].limit = 0x10040;
    s->gpr[CPUM_EAX] = s->gpr[CPUM_EBX] = 7;
    uint64_t i0 = iem_instructions(iem_test_cpu(t));
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    struct iem_xcpt_info x;
    iem_last_xcpt(iem_test_cpu(t), &x);
    cr_assert_eq(x.vector, 13);
    uint32_t frame[4];
    cr_assert_eq(iem_test_read(t, s->gpr[CPUM_ESP], frame, sizeof(frame)), 0);
    cr_assert_eq(frame[0], 0);                   /* error code */
    cr_assert_eq(frame[1], 0x10002);             /* EIP of the Jcc */
    cr_assert(frame[3] & CPUM_EFL_ZF);           /* the CMP's ZF */
    /* CMP retired, JE faulted, then the handler's HLT. */
    cr_assert_eq(iem_instructions(iem_test_cpu(t)) - i0, 2);
}
