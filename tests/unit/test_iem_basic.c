/* SPDX-License-Identifier: MIT */
/* IEM basics through the test harness: flat 32-bit and real-mode programs,
 * ALU flags (table-driven), moves, stack, branches, budget and counters. */
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

/* Load code at 0x10000, flat 32-bit, ESP 0x80000, run until HLT. */
static int run32(const uint8_t *code, size_t len)
{
    cr_assert_eq(iem_test_write(t, 0x10000, code, len), 0);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    return iem_test_run(t, 100000);
}
#define RUN32(...)                                                            \
    do {                                                                      \
        static const uint8_t code_[] = { __VA_ARGS__ };                        \
        cr_assert_eq(run32(code_, sizeof(code_)), IXVM_INF_EM_HALT);           \
    } while (0)

#define FL (CPUM_EFL_CF | CPUM_EFL_PF | CPUM_EFL_AF | CPUM_EFL_ZF | CPUM_EFL_SF | CPUM_EFL_OF)

TestSuite(iem_basic, .init = setup, .fini = teardown);

Test(iem_basic, mov_add_hlt)
{
    RUN32(0xb8, 5, 0, 0, 0,      /* mov eax, 5 */
          0x83, 0xc0, 3,         /* add eax, 3 */
          0xf4);                 /* hlt */
    cr_assert_eq(s->gpr[CPUM_EAX], 8);
    cr_assert_eq(s->eip, 0x10009);
    cr_assert(iem_is_halted(iem_test_cpu(t)));
}

/* Table-driven flags: op eax, ebx with preset CF, check EAX and OSZAPC. */
struct alu_case {
    uint8_t opc;        /* the Ev,Gv opcode: 01 add, 09 or, 11 adc, 19 sbb, 21 and, 29 sub, 31 xor, 39 cmp */
    uint32_t a, b;
    bool cf_in;
    uint32_t res, flags;
};
static const struct alu_case alu_cases[] = {
    { 0x01, 1, 2, 0, 3, CPUM_EFL_PF },
    { 0x01, 0xffffffff, 1, 0, 0, CPUM_EFL_CF | CPUM_EFL_PF | CPUM_EFL_AF | CPUM_EFL_ZF },
    { 0x01, 0x7fffffff, 1, 0, 0x80000000u, CPUM_EFL_OF | CPUM_EFL_SF | CPUM_EFL_AF | CPUM_EFL_PF },
    { 0x01, 0x80000000u, 0x80000000u, 0, 0, CPUM_EFL_OF | CPUM_EFL_CF | CPUM_EFL_ZF | CPUM_EFL_PF },
    { 0x11, 1, 1, 1, 3, CPUM_EFL_PF },
    { 0x11, 0xffffffff, 0, 1, 0, CPUM_EFL_CF | CPUM_EFL_ZF | CPUM_EFL_PF | CPUM_EFL_AF },
    { 0x29, 3, 5, 0, 0xfffffffeu, CPUM_EFL_CF | CPUM_EFL_SF | CPUM_EFL_AF },
    { 0x29, 0x80000000u, 1, 0, 0x7fffffffu, CPUM_EFL_OF | CPUM_EFL_AF | CPUM_EFL_PF },
    { 0x19, 5, 5, 1, 0xffffffffu, CPUM_EFL_CF | CPUM_EFL_SF | CPUM_EFL_AF | CPUM_EFL_PF },
    { 0x19, 0, 0xffffffffu, 1, 0, CPUM_EFL_CF | CPUM_EFL_ZF | CPUM_EFL_PF | CPUM_EFL_AF },
    { 0x39, 7, 7, 0, 7, CPUM_EFL_ZF | CPUM_EFL_PF },
    { 0x21, 0xf0f0, 0x0ff0, 1, 0x00f0, CPUM_EFL_PF },
    { 0x09, 0x80000000u, 1, 1, 0x80000001u, CPUM_EFL_SF },
    { 0x31, 0x1234, 0x1234, 0, 0, CPUM_EFL_ZF | CPUM_EFL_PF },
};

Test(iem_basic, alu32_table)
{
    for (size_t k = 0; k < IXVM_ARRAY_SIZE(alu_cases); k++) {
        const struct alu_case *tc = &alu_cases[k];
        uint8_t code[] = { tc->cf_in ? 0xf9 : 0xf8,  /* stc/clc */
                           tc->opc, 0xd8,            /* op eax, ebx */
                           0x9c, 0x5a,               /* pushf; pop edx */
                           0xf4 };
        cr_assert_eq(iem_test_write(t, 0x10000, code, sizeof(code)), 0);
        iem_test_setup_flat32(t, 0x10000, 0x80000);
        s->gpr[CPUM_EAX] = tc->a;
        s->gpr[CPUM_EBX] = tc->b;
        cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
        cr_assert_eq(s->gpr[CPUM_EAX], tc->res, "op %02x: eax %#x want %#x", tc->opc, s->gpr[CPUM_EAX], tc->res);
        cr_assert_eq(s->gpr[CPUM_EDX] & FL, tc->flags, "op %02x %#x,%#x: flags %#x want %#x", tc->opc, tc->a,
                     tc->b, s->gpr[CPUM_EDX] & FL, tc->flags);
        cr_assert_eq(s->eflags & FL, tc->flags);
    }
}

Test(iem_basic, byte_regs_and_inc_keeps_cf)
{
    RUN32(0xb4, 0x7f,             /* mov ah, 0x7f */
          0xb0, 0xff,             /* mov al, 0xff */
          0xf9,                   /* stc */
          0xfe, 0xc4,             /* inc ah -> 0x80, OF, CF kept */
          0x9c, 0x5b,             /* pushf; pop ebx */
          0xfe, 0xc0,             /* inc al -> 0, ZF, CF still kept */
          0x9c, 0x59,             /* pushf; pop ecx */
          0xf4);
    cr_assert_eq(s->gpr[CPUM_EAX] & 0xffff, 0x8000);
    cr_assert_eq(s->gpr[CPUM_EBX] & FL, CPUM_EFL_CF | CPUM_EFL_OF | CPUM_EFL_SF | CPUM_EFL_AF);
    cr_assert_eq(s->gpr[CPUM_ECX] & FL, CPUM_EFL_CF | CPUM_EFL_ZF | CPUM_EFL_PF | CPUM_EFL_AF);
}

Test(iem_basic, memory_stack_call_ret)
{
    RUN32(0xc7, 0x05, 0x00, 0x20, 0x03, 0x00, 0x44, 0x33, 0x22, 0x11, /* mov dword [0x32000], 0x11223344 */
          0x8b, 0x1d, 0x00, 0x20, 0x03, 0x00,                         /* mov ebx, [0x32000] */
          0xe8, 0x03, 0x00, 0x00, 0x00,                               /* call +3 */
          0x41,                                                       /* inc ecx (after ret) */
          0xf4,                                                       /* hlt */
          0x90,
          0x53,                                                       /* push ebx */
          0x58,                                                       /* pop eax */
          0x80, 0x04, 0x24, 0x00,                                     /* add byte [esp], 0 */
          0xc3);                                                      /* ret */
    cr_assert_eq(s->gpr[CPUM_EBX], 0x11223344);
    cr_assert_eq(s->gpr[CPUM_EAX], 0x11223344);
    cr_assert_eq(s->gpr[CPUM_ECX], 1);
    cr_assert_eq(s->gpr[CPUM_ESP], 0x80000);
}

Test(iem_basic, loop_and_jcc)
{
    RUN32(0xb9, 10, 0, 0, 0,      /* mov ecx, 10 */
          0x31, 0xc0,             /* xor eax, eax */
          0x01, 0xc8,             /* l: add eax, ecx */
          0xe2, 0xfc,             /* loop l */
          0x83, 0xf8, 55,         /* cmp eax, 55 */
          0x75, 0x01,             /* jne +1 */
          0x42,                   /* inc edx */
          0xf4);
    cr_assert_eq(s->gpr[CPUM_EAX], 55);
    cr_assert_eq(s->gpr[CPUM_EDX], 1);
}

Test(iem_basic, budget_exact_and_counter)
{
    static const uint8_t code[] = { 0x40, 0x40, 0x40, 0x40, 0x40, 0xf4 };
    cr_assert_eq(iem_test_write(t, 0x10000, code, sizeof(code)), 0);
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    uint64_t n0 = iem_instructions(iem_test_cpu(t));
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(s->gpr[CPUM_EAX], 1);
    cr_assert_eq(s->eip, 0x10001);
    cr_assert_eq(iem_exec(iem_test_cpu(t), 3), 0);
    cr_assert_eq(s->gpr[CPUM_EAX], 4);
    cr_assert_eq(iem_instructions(iem_test_cpu(t)) - n0, 4);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_EAX], 5);
}

Test(iem_basic, real_mode_program)
{
    /* At 1000:0000: mov ax, 0x1234; mov ds, ax?  Keep DS=0: mov [0x500], ax; mov bx, [0x500]; push bx; pop cx; hlt */
    static const uint8_t code[] = { 0xb8, 0x34, 0x12, 0xa3, 0x00, 0x05, 0x8b, 0x1e, 0x00, 0x05, 0x53, 0x59, 0xf4 };
    cr_assert_eq(iem_test_write(t, 0x10000, code, sizeof(code)), 0);
    iem_test_setup_real(t, 0x1000, 0, 0x2000, 0x100);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_EAX] & 0xffff, 0x1234);
    cr_assert_eq(s->gpr[CPUM_EBX] & 0xffff, 0x1234);
    cr_assert_eq(s->gpr[CPUM_ECX] & 0xffff, 0x1234);
    cr_assert_eq(iem_test_ram(t)[0x500], 0x34);
    cr_assert_eq(s->eip, 13);
}

Test(iem_basic, undefined_opcode_ud)
{
    RUN32(0x0f, 0x0b);   /* ud2 -> #UD -> IDT gate -> HLT stub */
    struct iem_xcpt_info x;
    iem_last_xcpt(iem_test_cpu(t), &x);
    cr_assert_eq(x.vector, 6);
    cr_assert_eq(s->eip, IEM_TEST_XCPT_HLT + 1);
    uint32_t frame[3];
    cr_assert_eq(iem_test_read(t, 0x80000 - 12, frame, sizeof(frame)), 0);
    cr_assert_eq(frame[0], 0x10000);           /* EIP of the faulting instruction */
    cr_assert_eq(frame[1], IEM_TEST_SEL_CS32);
}
