/* SPDX-License-Identifier: MIT */
/* x87 control and exception machinery: stack overflow/underflow (masked
 * and unmasked), FXAM classes, FCOMI/FUCOMI and FCMOVcc, FXCH, FNSAVE/
 * FRSTOR and FNSTENV/FLDENV layouts and round trips, FLDCW/FNSTCW,
 * FNINIT/FNCLEX, #NM for CR0.EM/TS and WAIT with MP+TS, #MF with CR0.NE=1
 * on an unmasked zero divide, FERR# with NE=0, the FPU pointers, CPUID. */
#include <criterion/criterion.h>
#include <math.h>

#include "ixvm/pgm.h"
#include "test_iem_fpu.h"

IEM_HARNESS_SUITE(iem_fpu_ctl);

static uint16_t sw(void) { return rd16(D_SW); }
static unsigned top_of(uint16_t v) { return (v >> 11) & 7u; }

Test(iem_fpu_ctl, stack_overflow_masked_and_unmasked)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    for (int k = 0; k < 9; k++)
        E(&a, 0xd9, 0xe8);   /* fld1 x 9 */
    FNSTSW(&a, D_SW);
    FSTP80(&a, D_R);
    HLT(&a);
    fpu_load(&a);
    fpu_go();
    cr_assert_eq(sw() & 0x3ff, 0x0241, "IE|SF|C1 (overflow): %#x", sw());
    cr_assert(eq80(D_R, mk80(0xc000000000000000ull, 0xffff)), "masked response: the indefinite pushed");

    /* Unmasked IE: the push does not happen, ES/B set, the next waiting
     * instruction raises #MF (CR0.NE=1). */
    a.n = 0;
    FNINIT(&a);
    FLDCW(&a, D_CW);
    for (int k = 0; k < 9; k++)
        E(&a, 0xd9, 0xe8);
    FNSTSW(&a, D_SW);   /* no-wait: runs */
    E(&a, 0xd9, 0xe8);  /* fld1: #MF here */
    HLT(&a);
    fpu_load(&a);
    wr16(D_CW, 0x037e);
    fpu_go();
    cr_assert_eq(sw() & 0x82ff, 0x82c1, "IE|SF|C1|ES|B: %#x", sw());
    cr_assert_eq(top_of(sw()), 0, "eight pushes, the ninth refused");
    cr_assert_eq(last().vector, 16, "#MF");
    cr_assert_eq(rd32(0x80000 - 12), CODE + 2 + 6 + 9 * 2 + 6, "#MF at the fld1 after fnstsw");
    cr_assert_eq(s->fpu_fip, CODE + 2 + 6 + 8 * 2, "FIP: the ninth fld1");
    cr_assert_eq(s->fpu_fop, 0x1e8, "FOP D9 E8");
}

Test(iem_fpu_ctl, stack_underflow)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    E(&a, 0xd8, 0xc1);     /* fadd st0, st1 on an empty stack */
    FNSTSW(&a, D_SW);
    FSTP80(&a, D_R);       /* masked: ST(0) is the indefinite */
    E(&a, 0xd8, 0xd1);     /* fcom st1 on an empty stack: unordered */
    FNSTSW(&a, D_SW2);
    HLT(&a);
    fpu_load(&a);
    fpu_go();
    cr_assert_eq(sw() & 0x3ff, 0x0041, "IE|SF, C1=0: %#x", sw());
    cr_assert(eq80(D_R, mk80(0xc000000000000000ull, 0xffff)));
    cr_assert_eq(rd16(D_SW2) & 0x4500, 0x4500, "C3 C2 C0 = unordered: %#x", rd16(D_SW2));
    /* FST m32 of an empty ST(0): the m32 indefinite 0xffc00000 */
    a.n = 0;
    FNINIT(&a);
    em(&a, 0xd9, 2, D_R);
    em(&a, 0xdf, 2, D_R2);   /* fist m16: integer indefinite */
    FNSTSW(&a, D_SW);
    HLT(&a);
    fpu_load(&a);
    fpu_go();
    cr_assert_eq(rd32(D_R), 0xffc00000u);
    cr_assert_eq(rd16(D_R2), 0x8000);
    cr_assert_eq(sw() & 0x7f, 0x41);
}

/* FXAM: C3 C2 C0 class, C1 sign (SDM Vol. 2 "FXAM"). */
Test(iem_fpu_ctl, fxam_classes)
{
    static const struct { long double v; uint16_t cc; } c[] = {
        { 1.0L, 0x0400 },               /* normal: C2 */
        { -1.0L, 0x0600 },              /* C1 = sign */
        { 0.0L, 0x4000 },               /* zero: C3 */
        { -0.0L, 0x4200 },
        { INFINITY, 0x0500 },           /* infinity: C2 C0 */
        { NAN, 0x0100 },                /* NaN: C0 */
    };
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLD80(&a, D_X);
    E(&a, 0xd9, 0xe5);
    FNSTSW(&a, D_SW);
    HLT(&a);
    fpu_load(&a);
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        put80(D_X, c[k].v);
        fpu_go();
        cr_assert_eq(sw() & 0x4700, c[k].cc, "%La: %#x want %#x", c[k].v, sw() & 0x4700, c[k].cc);
    }
    put80(D_X, mk80(1, 0x8000));            /* negative denormal: C3 C2, C1 */
    fpu_go();
    cr_assert_eq(sw() & 0x4700, 0x4600);
    put80(D_X, mk80(0x4000000000000000ull, 0x3fff));   /* unnormal: unsupported 000 */
    fpu_go();
    cr_assert_eq(sw() & 0x4500, 0);
    /* empty: C3 C0 */
    a.n = 0;
    FNINIT(&a);
    E(&a, 0xd9, 0xe5);
    FNSTSW(&a, D_SW);
    HLT(&a);
    fpu_load(&a);
    fpu_go();
    cr_assert_eq(sw() & 0x4500, 0x4100);
    cr_assert_eq(sw() & 0x3f, 0, "FXAM never raises");
}

/* FCOMI/FUCOMI/FCOMIP set ZF PF CF; FCMOVcc move on EFLAGS conditions. */
Test(iem_fpu_ctl, fcomi_and_fcmov)
{
    static const struct { long double x, y; uint32_t f; } c[] = {
        { 1.0L, 2.0L, CPUM_EFL_CF }, { 2.0L, 1.0L, 0 }, { 3.0L, 3.0L, CPUM_EFL_ZF },
        { NAN, 1.0L, CPUM_EFL_ZF | CPUM_EFL_PF | CPUM_EFL_CF },
    };
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLD80(&a, D_Y);
    FLD80(&a, D_X);
    E(&a, 0xdb, 0xe9);          /* fucomi st0, st1 */
    E(&a, 0x9c, 0x58);          /* pushf; pop eax */
    E(&a, 0xda, 0xc1);          /* fcmovb st0, st1: x = y when x < y */
    FSTP80(&a, D_R);
    FNSTSW(&a, D_SW);
    HLT(&a);
    fpu_load(&a);
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        put80(D_X, c[k].x);
        put80(D_Y, c[k].y);
        s->eflags = CPUM_EFL_1 | CPUM_EFL_OF | CPUM_EFL_SF;
        fpu_go();
        uint32_t f = s->gpr[CPUM_EAX] & (CPUM_EFL_ZF | CPUM_EFL_PF | CPUM_EFL_CF | CPUM_EFL_OF | CPUM_EFL_SF);
        cr_assert_eq(f, c[k].f, "%La vs %La: %#x want %#x", c[k].x, c[k].y, f, c[k].f);
        cr_assert(eq80(D_R, (c[k].f & CPUM_EFL_CF) ? c[k].y : c[k].x), "fcmovb");
        cr_assert_eq(sw() & 1, 0, "FUCOMI: a QNaN does not raise IE");
    }
    /* FCOMIP raises IE on a QNaN and pops. */
    a.n = 0;
    FNINIT(&a);
    FLD80(&a, D_Y);
    FLD80(&a, D_X);
    E(&a, 0xdf, 0xf1);
    FNSTSW(&a, D_SW);
    HLT(&a);
    fpu_load(&a);
    put80(D_X, NAN);
    put80(D_Y, 1.0L);
    fpu_go();
    cr_assert_eq(sw() & 1, 1);
    cr_assert_eq(top_of(sw()), 7);
}

Test(iem_fpu_ctl, fxch_incstp_ffree)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLD80(&a, D_Y);
    FLD80(&a, D_X);
    E(&a, 0xd9, 0xc9);      /* fxch st1 */
    FSTP80(&a, D_R);
    FSTP80(&a, D_R2);
    E(&a, 0xd9, 0xf6);      /* fdecstp */
    FNSTSW(&a, D_SW);
    E(&a, 0xdd, 0xc0);      /* ffree st0 */
    E(&a, 0xd9, 0xe5);      /* fxam: empty */
    FNSTSW(&a, D_SW2);
    HLT(&a);
    fpu_load(&a);
    put80(D_X, 1.0L);
    put80(D_Y, 2.0L);
    fpu_go();
    cr_assert(eq80(D_R, 2.0L));
    cr_assert(eq80(D_R2, 1.0L));
    cr_assert_eq(top_of(sw()), 7);
    cr_assert_eq(rd16(D_SW2) & 0x4500, 0x4100);
}

/* FNSAVE -> FRSTOR -> FNSAVE gives the same image; FNSAVE reinitialises. */
static void save_restore(bool o16)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLDCW(&a, D_CW);
    FLD80(&a, D_Y);
    FLD80(&a, D_X);
    E(&a, 0xd8, 0xf1);      /* fdiv: sets PE, FIP/FOP */
    em(&a, 0xd8, 0, D_Y + 8);   /* fadd m32: FDP */
    if (o16)
        E(&a, 0x66);
    em(&a, 0xdd, 6, D_ENV);     /* fnsave */
    em(&a, 0xd9, 7, D_R);       /* fnstcw: 037F after FNSAVE */
    if (o16)
        E(&a, 0x66);
    em(&a, 0xdd, 4, D_ENV);     /* frstor */
    if (o16)
        E(&a, 0x66);
    em(&a, 0xdd, 6, D_ENV2);    /* fnsave again */
    HLT(&a);
    fpu_load(&a);
    put80(D_X, 1.0L);
    put80(D_Y, 3.0L);
    wr16(D_CW, 0x0e7f);         /* RC up, PC 53 bits */
    fpu_go();
    unsigned n = o16 ? 94 : 108, env = o16 ? 14 : 28;
    cr_assert_eq(rd16(D_R), 0x037f, "FNSAVE does FNINIT");
    cr_assert_eq(memcmp(ram + D_ENV, ram + D_ENV2, n), 0, "round trip");
    cr_assert_eq(rd16(D_ENV), 0x0e7f, "FCW");
    uint16_t fsw = rd16(D_ENV + (o16 ? 2 : 4)), ftw = rd16(D_ENV + (o16 ? 4 : 8));
    cr_assert_eq(top_of(fsw), 6);
    cr_assert_eq(fsw & 0x20, 0x20, "PE");
    cr_assert_eq(ftw, 0x0fff, "R6, R7 valid, the rest empty: %#x", ftw);
    if (o16) {
        cr_assert_eq(rd16(D_ENV + 6), (uint16_t)(CODE + 2 + 6 + 6 + 6 + 2));   /* FIP: the fadd m32 */
        cr_assert_eq(rd16(D_ENV + 8), IEM_TEST_SEL_CS32);
        cr_assert_eq(rd16(D_ENV + 10), (uint16_t)(D_Y + 8));
    } else {
        cr_assert_eq(rd32(D_ENV), 0xffff0e7fu, "reserved upper half stored as ones");
        cr_assert_eq(rd32(D_ENV + 12), CODE + 2 + 6 + 6 + 6 + 2);      /* FIP: the fadd m32 */
        cr_assert_eq(rd32(D_ENV + 16), IEM_TEST_SEL_CS32 | 0x005u << 16, "FCS | FOP (D8 05)");
        cr_assert_eq(rd32(D_ENV + 20), D_Y + 8, "FDP");
        cr_assert_eq(rd32(D_ENV + 24) & 0xffff, IEM_TEST_SEL_DS32, "FDS");
    }
    /* ST(0) = 1/3 rounded up to 53 bits + the m32 at D_Y + 8 (0.0) */
    volatile long double x = 1.0L, y = 3.0L;
    fpu_host_begin(0x0e7f);
    volatile long double q = x / y;
    (void)fpu_host_end();
    long double want = q, three = 3.0L;
    cr_assert_eq(memcmp(ram + D_ENV + env, &want, 10), 0, "ST(0)");
    cr_assert_eq(memcmp(ram + D_ENV + env + 10, &three, 10), 0, "ST(1)");
}
Test(iem_fpu_ctl, fnsave_frstor_32) { save_restore(false); }
Test(iem_fpu_ctl, fnsave_frstor_16) { save_restore(true); }

/* FNSTENV masks all exceptions; FLDENV reloads; ES follows flags & masks. */
Test(iem_fpu_ctl, fnstenv_fldenv_es)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLDCW(&a, D_CW);         /* ZE unmasked */
    E(&a, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9);   /* fld1; fldz; fdivp: 1/0 */
    FNSTSW(&a, D_SW);
    em(&a, 0xd9, 6, D_ENV);  /* fnstenv */
    FNSTSW(&a, D_SW2);
    em(&a, 0xd9, 7, D_R);    /* fnstcw */
    em(&a, 0xd9, 4, D_ENV);  /* fldenv: the saved FCW is still the unmasked one */
    em(&a, 0xdd, 7, D_R2);   /* fnstsw m16 */
    E(&a, 0xdb, 0xe2);       /* fnclex */
    E(&a, 0x9b);             /* fwait: nothing pending */
    HLT(&a);
    fpu_load(&a);
    wr16(D_CW, 0x037b);
    fpu_go();
    cr_assert_eq(sw() & 0x80ff, 0x8084, "ZE, ES, B: %#x", sw());
    cr_assert_eq(top_of(sw()), 6, "unmasked ZE: no pop");
    cr_assert_eq(rd16(D_SW2) & 0x80ff, 0x0004, "FNSTENV masked everything: ES clear");
    cr_assert_eq(rd16(D_R), 0x037f);
    cr_assert_eq(rd16(D_ENV), 0x037b);
    cr_assert_eq(rd16(D_R2) & 0x80ff, 0x8084, "FLDENV: pending again");
    cr_assert_eq(s->fpu_fsw & 0x80ff, 0, "FNCLEX");
    cr_assert_eq(last().count, 0, "no exception: the FWAIT after FNCLEX ran");
}

Test(iem_fpu_ctl, fldcw_masks)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLDCW(&a, D_CW);
    em(&a, 0xd9, 7, D_R);
    HLT(&a);
    fpu_load(&a);
    wr16(D_CW, 0xffff);
    fpu_go();
    cr_assert_eq(rd16(D_R), 0x1f7f, "reserved bits as the hardware: %#x", rd16(D_R));
    wr16(D_CW, 0x0000);
    fpu_go();
    cr_assert_eq(rd16(D_R), 0x0040);
}

/* #NM: ESC with CR0.EM or CR0.TS; WAIT only with MP and TS. */
Test(iem_fpu_ctl, nm_em_ts_wait)
{
    static const struct { uint32_t cr0; uint8_t op0, op1; int vec; } c[] = {
        { CPUM_CR0_EM, 0xd9, 0xe8, 7 }, { CPUM_CR0_TS, 0xd9, 0xe8, 7 }, { CPUM_CR0_TS, 0xdb, 0xe3, 7 },
        { CPUM_CR0_TS, 0x9b, 0x90, -1 }, { CPUM_CR0_TS | CPUM_CR0_MP, 0x9b, 0x90, 7 },
        { CPUM_CR0_EM, 0x9b, 0x90, -1 }, { CPUM_CR0_MP, 0xd9, 0xe8, -1 },
    };
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        struct asmb a = { .n = 0 };
        E(&a, c[k].op0, c[k].op1);
        HLT(&a);
        load(CODE, a.b, a.n);
        iem_test_setup_flat32(t, CODE, 0x80000);
        s->cr0 |= c[k].cr0 | CPUM_CR0_NE | CPUM_CR0_ET;
        s->fpu_fsw = 0;
        s->fpu_ftw = 0xffff;
        uint64_t before = last().count;
        cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
        if (c[k].vec < 0) {
            cr_assert_eq(last().count, before, "case %zu: no exception", k);
        } else {
            cr_assert_eq(last().vector, c[k].vec, "case %zu", k);
            cr_assert_eq(rd32(0x80000 - 12), CODE, "case %zu: fault at the instruction", k);
        }
    }
}

/* #MF with CR0.NE=1 on the waiting instruction after an unmasked ZE; the
 * operands stay (no result, no pop). */
Test(iem_fpu_ctl, mf_unmasked_zero_divide)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLDCW(&a, D_CW);
    E(&a, 0xd9, 0xe8, 0xd9, 0xee);   /* fld1; fldz */
    uint32_t fdiv_at = CODE + (uint32_t)a.n;
    E(&a, 0xd8, 0xf9);               /* fdivr st0, st1: 1 / 0 */
    E(&a, 0x90);                     /* nop */
    uint32_t wait_at = CODE + (uint32_t)a.n;
    E(&a, 0x9b);                     /* fwait: #MF */
    HLT(&a);
    fpu_load(&a);
    wr16(D_CW, 0x037b);
    fpu_go();
    cr_assert_eq(last().vector, 16);
    cr_assert_eq(rd32(0x80000 - 12), wait_at, "#MF is a fault on the waiting instruction");
    cr_assert_eq(s->fpu_fip, fdiv_at, "FIP: the instruction that raised ZE");
    cr_assert_eq(s->fpu_fop, 0x0f9);
    cr_assert_eq(s->fpu_fsw & 0xff, 0x84);
    cr_assert_eq(top_of(s->fpu_fsw), 6);
    const struct cpum_fpreg *st0 = &s->fpu_r[6];
    cr_assert_eq(st0->exp | st0->mant, 0, "ST(0) still +0");
}

static int ferr_calls;
static bool ferr_level;
static void ferr_hook(void *user, bool on)
{
    (void)user;
    ferr_calls++;
    ferr_level = on;
}

/* CR0.NE=0: FERR# to the board instead of #MF; the instruction runs. */
Test(iem_fpu_ctl, ferr_legacy_ne0)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLDCW(&a, D_CW);
    E(&a, 0xd9, 0xe8, 0xd9, 0xee, 0xd8, 0xf9);   /* 1 / 0, ZE unmasked */
    E(&a, 0xd9, 0xe8);                           /* fld1: FERR#, runs */
    FNSTSW(&a, D_SW);
    E(&a, 0xdb, 0xe2);                           /* fnclex: FERR# off */
    HLT(&a);
    load(CODE, a.b, a.n);
    wr16(D_CW, 0x037b);
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->cr0 &= ~CPUM_CR0_NE;
    struct iem_config cfg = { .state = s, .pgm = iem_test_pgm(t), .iom = iem_test_iom(t),
                              .fpu_ferr = ferr_hook };
    struct iem_cpu *c;
    cr_assert_eq(iem_create(&c, &cfg, NULL), 0);
    ferr_calls = 0;
    cr_assert_eq(iem_exec(c, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(ferr_calls, 2, "asserted, then deasserted: %d", ferr_calls);
    cr_assert_eq(ferr_level, false);
    cr_assert_eq(top_of(rd16(D_SW)), 5, "the fld1 ran");
    struct iem_xcpt_info x;
    iem_last_xcpt(c, &x);
    cr_assert_eq(x.count, 0, "no exception");
    iem_destroy(c);
}

/* CPUID.1:EDX.FPU and the FNINIT/FNSTSW/FNSTCW probe agree. */
Test(iem_fpu_ctl, cpuid_and_probe)
{
    struct asmb a = { .n = 0 };
    E(&a, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2);   /* mov eax, 1; cpuid */
    FNINIT(&a);
    FNSTSW(&a, D_SW);
    em(&a, 0xd9, 7, D_R);
    HLT(&a);
    fpu_load(&a);
    wr16(D_SW, 0x5a5a);
    fpu_go();
    cr_assert_eq(s->gpr[CPUM_EDX] & 1, 1, "FPU");
    cr_assert(s->gpr[CPUM_EDX] & (1u << 15), "CMOV (with FPU: FCMOV)");
    cr_assert_eq(sw(), 0);
    cr_assert_eq(rd16(D_R), 0x037f);
}

/* Unmasked overflow/underflow with a register destination: the result is
 * stored with its exponent adjusted by -/+24576 (SDM Vol. 1 4.9.2.4/5). */
Test(iem_fpu_ctl, unmasked_overflow_underflow_rescaled)
{
    static const struct { uint8_t modrm; long double x, y; int k; } c[] = {
        { 0xc9, 1e4000L, 1e4000L, -24576 },    /* fmul: overflow */
        { 0xf1, 1e4000L, 1e-4000L, -24576 },   /* fdiv: overflow */
        { 0xc9, 1e-4000L, 1e-4000L, 24576 },   /* fmul: underflow */
        { 0xc1, 1.1e4932L, 1e4932L, -24576 },  /* fadd: overflow */
    };
    for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
        struct asmb a = { .n = 0 };
        FNINIT(&a);
        FLDCW(&a, D_CW);
        FLD80(&a, D_Y);
        FLD80(&a, D_X);
        E(&a, 0xd8, c[k].modrm);
        FNSTSW(&a, D_SW);
        E(&a, 0xdb, 0xe2);   /* fnclex, then store */
        FSTP80(&a, D_R);
        HLT(&a);
        fpu_load(&a);
        wr16(D_CW, 0x0367);  /* OE, UE unmasked */
        put80(D_X, c[k].x);
        put80(D_Y, c[k].y);
        fpu_go();
        volatile long double hx = ldexpl(c[k].x, c[k].k / 2), hy = ldexpl(c[k].y, c[k].modrm == 0xf1 ? -c[k].k / 2 : c[k].k / 2);
        if (c[k].modrm == 0xc1) {
            hx = ldexpl(c[k].x, c[k].k);
            hy = ldexpl(c[k].y, c[k].k);
        }
        fpu_host_begin(0x037f);
        volatile long double r = c[k].modrm == 0xc9 ? hx * hy : c[k].modrm == 0xf1 ? hx / hy : hx + hy;
        (void)fpu_host_end();
        cr_assert(eq80(D_R, r), "case %zu: %La want %La", k, get80(D_R), (long double)r);
        cr_assert_eq(sw() & 0x18, c[k].k < 0 ? 0x08 : 0x10, "case %zu: OE/UE %#x", k, sw());
        cr_assert_eq(sw() & 0x80, 0x80, "ES");
    }
}
