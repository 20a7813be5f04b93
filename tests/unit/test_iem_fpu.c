/* SPDX-License-Identifier: MIT */
/* x87 arithmetic and conversions against the host's long double: FADD/
 * FSUB/FSUBR/FMUL/FDIV/FDIVR in every rounding and precision mode over a
 * table of operand pairs (normals, zeros, infinities, NaNs, denormals,
 * huge and tiny values) with the exception flags, the popping and
 * memory-operand forms, C1 as the round-up bit, loads and stores of every
 * format (m32/m64/m80, m16/m32/m64 integers with the integer indefinite,
 * BCD), constants, and the transcendental/ST(0) functions. */
#include <criterion/criterion.h>
#include <math.h>

#include "test_iem_fpu.h"

IEM_HARNESS_SUITE(iem_fpu);

static const long double vals[] = {
    1.0L, 3.0L, -2.5L, 0.1L, 1e300L, 1e4000L, -1e-4000L, 0.0L, -0.0L, INFINITY, -INFINITY, NAN,
    7.0e-4940L /* denormal */, 1.0000000000000000001L, 123456789.123456789L,
};
#define NV (sizeof(vals) / sizeof(vals[0]))

/* Host reference for op (0 add, 1 mul, 2 x-y, 3 y-x, 4 x/y, 5 y/x). */
static long double host_op(int op, long double x, long double y, uint16_t cw, uint16_t *flags)
{
    volatile long double a = x, b = y, r = 0;
    fpu_host_begin(cw);
    switch (op) {
    case 0: r = a + b; break;
    case 1: r = a * b; break;
    case 2: r = a - b; break;
    case 3: r = b - a; break;
    case 4: r = a / b; break;
    default: r = b / a; break;
    }
    *flags = fpu_host_end() & 0x3f;
    return r;
}

/* fninit; fldcw [cw]; fld y; fld x; OP; fnstsw [sw]; fstp [r]; hlt */
static void build_reg(uint8_t op0, uint8_t op1)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLDCW(&a, D_CW);
    FLD80(&a, D_Y);
    FLD80(&a, D_X);
    E(&a, op0, op1);
    FNSTSW(&a, D_SW);
    FSTP80(&a, D_R);
    HLT(&a);
    fpu_load(&a);
}

static void check_pair(int op, long double x, long double y, uint16_t cw)
{
    uint16_t fl;
    long double want = host_op(op, x, y, cw, &fl);
    put80(D_X, x);
    put80(D_Y, y);
    wr16(D_CW, cw);
    fpu_go();
    cr_assert(eq80(D_R, want), "op %d x=%La y=%La cw=%#x: got %La want %La", op, x, y, cw, get80(D_R), want);
    cr_assert_eq(rd16(D_SW) & 0x3f, fl, "op %d x=%La y=%La cw=%#x: flags %#x want %#x", op, x, y, cw,
                 rd16(D_SW) & 0x3f, fl);
}

/* D8 C1/C9/E1/E9/F1/F9: ST(0) op ST(1), x in ST(0), y in ST(1). */
Test(iem_fpu, arith_all_modes)
{
    static const uint8_t modrm[6] = { 0xc1, 0xc9, 0xe1, 0xe9, 0xf1, 0xf9 };
    static const uint16_t pcs[3] = { 0x000, 0x200, 0x300 };
    for (int op = 0; op < 6; op++) {
        build_reg(0xd8, modrm[op]);
        for (unsigned rc = 0; rc < 4; rc++)
            for (unsigned p = 0; p < 3; p++)
                for (unsigned xi = 0; xi < NV; xi++)
                    for (unsigned yi = 0; yi < NV; yi++)
                        check_pair(op, vals[xi], vals[yi], (uint16_t)(0x3f | 0x40 | pcs[p] | rc << 10));
    }
}

/* DC and DE register forms write ST(1): DC E1 = FSUBR ST(1),ST(0) is
 * ST(0)-ST(1); DE E9 = FSUBP ST(1),ST(0) is ST(1)-ST(0) and pops. */
Test(iem_fpu, arith_dest_sti_and_pop)
{
    static const struct { uint8_t op0, op1; int hop; bool pop; } f[] = {
        { 0xdc, 0xc1, 0, false }, { 0xdc, 0xc9, 1, false }, { 0xdc, 0xe1, 2, false }, { 0xdc, 0xe9, 3, false },
        { 0xdc, 0xf1, 4, false }, { 0xdc, 0xf9, 5, false }, { 0xde, 0xc1, 0, true }, { 0xde, 0xc9, 1, true },
        { 0xde, 0xe1, 2, true }, { 0xde, 0xe9, 3, true }, { 0xde, 0xf1, 4, true }, { 0xde, 0xf9, 5, true },
    };
    for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
        struct asmb a = { .n = 0 };
        FNINIT(&a);
        FLD80(&a, D_Y);
        FLD80(&a, D_X);
        E(&a, f[k].op0, f[k].op1);
        if (!f[k].pop)
            FSTP80(&a, D_R2);   /* ST(0) = x, unchanged */
        FSTP80(&a, D_R);        /* the result */
        FNSTSW(&a, D_SW);
        HLT(&a);
        fpu_load(&a);
        for (unsigned xi = 0; xi < 6; xi++) {
            uint16_t fl;
            long double want = host_op(f[k].hop, vals[xi], vals[xi + 1], 0x37f, &fl);
            put80(D_X, vals[xi]);
            put80(D_Y, vals[xi + 1]);
            fpu_go();
            cr_assert(eq80(D_R, want), "%02x %02x: got %La want %La", f[k].op0, f[k].op1, get80(D_R), want);
            if (!f[k].pop)
                cr_assert(eq80(D_R2, vals[xi]));
            cr_assert_eq((rd16(D_SW) >> 11) & 7, 0, "stack balanced (TOP back to 0)");
        }
    }
}

/* Memory operands: m32fp (D8), m64fp (DC), m32int (DA), m16int (DE). */
Test(iem_fpu, arith_memory_forms)
{
    static const float f32[] = { 1.5f, -0.1f, 3e38f, 1e-45f };
    static const double f64[] = { 1.5, -0.1, 1e308, 5e-324 };
    static const int32_t i32[] = { 7, -100000, 2147483647, 0 };
    static const int16_t i16[] = { 7, -300, 32767, -32768 };
    for (unsigned fmt = 0; fmt < 4; fmt++)
        for (int op = 0; op < 6; op++) {
            static const uint8_t opc[4] = { 0xd8, 0xdc, 0xda, 0xde };
            static const unsigned reg[6] = { 0, 1, 4, 5, 6, 7 };
            struct asmb a = { .n = 0 };
            FNINIT(&a);
            FLD80(&a, D_X);
            em(&a, opc[fmt], reg[op], D_Y);
            FNSTSW(&a, D_SW);
            FSTP80(&a, D_R);
            HLT(&a);
            fpu_load(&a);
            for (unsigned k = 0; k < 4; k++)
                for (unsigned xi = 0; xi < 5; xi++) {
                    long double y;
                    switch (fmt) {
                    case 0: y = f32[k]; memcpy(ram + D_Y, &f32[k], 4); break;
                    case 1: y = f64[k]; memcpy(ram + D_Y, &f64[k], 8); break;
                    case 2: y = i32[k]; memcpy(ram + D_Y, &i32[k], 4); break;
                    default: y = i16[k]; memcpy(ram + D_Y, &i16[k], 2); break;
                    }
                    uint16_t fl;
                    long double want = host_op(op, vals[xi], y, 0x37f, &fl);
                    put80(D_X, vals[xi]);
                    fpu_go();
                    cr_assert(eq80(D_R, want), "fmt %u op %d k %u: got %La want %La", fmt, op, k, get80(D_R), want);
                    /* A denormal m32/m64 operand raises DE on the load, which the
                     * host's long double conversion did before fnclex. */
                    uint16_t got = rd16(D_SW) & 0x3f;
                    cr_assert_eq(got & ~0x02, fl & ~0x02, "fmt %u op %d k %u: flags %#x want %#x", fmt, op, k, got, fl);
                }
        }
}

/* C1 is the round-up indicator: 1 + 2^-70 rounds up only toward +inf. */
Test(iem_fpu, c1_round_up_and_precision)
{
    build_reg(0xd8, 0xc1);
    long double tiny = ldexpl(1.0L, -70);
    put80(D_X, 1.0L);
    put80(D_Y, tiny);
    wr16(D_CW, 0x0b7f);   /* RC = up */
    fpu_go();
    cr_assert(eq80(D_R, 1.0L + ldexpl(1.0L, -63)));
    cr_assert_eq(rd16(D_SW) & 0x0220, 0x0220, "PE and C1 (rounded up): %#x", rd16(D_SW));
    wr16(D_CW, 0x037f);   /* nearest */
    fpu_go();
    cr_assert(eq80(D_R, 1.0L));
    cr_assert_eq(rd16(D_SW) & 0x0220, 0x0020, "PE, C1 clear (rounded down): %#x", rd16(D_SW));
    /* PC = 24 bits: 1/3 keeps 24 significant bits. */
    build_reg(0xd8, 0xf1);
    put80(D_X, 1.0L);
    put80(D_Y, 3.0L);
    wr16(D_CW, 0x007f);
    fpu_go();
    cr_assert(eq80(D_R, (long double)(1.0f / 3.0f)), "got %La", get80(D_R));
}

/* Loads of every format, pushed and stored back as m80. */
Test(iem_fpu, loads_all_formats)
{
    static const struct { uint8_t op; unsigned reg; } f[] = {
        { 0xd9, 0 }, { 0xdd, 0 }, { 0xdb, 5 }, { 0xdf, 0 }, { 0xdb, 0 }, { 0xdf, 5 }, { 0xdf, 4 },
    };
    float m32 = -1.25e-3f;
    double m64 = 6.02214076e23;
    long double m80 = -1e4000L;
    int16_t i16 = -12345;
    int32_t i32 = 2000000001;
    int64_t i64 = -9000000000000000001ll;
    static const uint8_t bcd[10] = { 0x89, 0x67, 0x45, 0x23, 0x01, 0x99, 0, 0, 0, 0x80 };   /* -990123456789 */
    const void *src[7] = { &m32, &m64, &m80, &i16, &i32, &i64, bcd };
    const unsigned size[7] = { 4, 8, 10, 2, 4, 8, 10 };
    const long double want[7] = { m32, m64, m80, i16, i32, (long double)i64, -990123456789.0L };
    for (unsigned k = 0; k < 7; k++) {
        struct asmb a = { .n = 0 };
        FNINIT(&a);
        em(&a, f[k].op, f[k].reg, D_Y);
        FNSTSW(&a, D_SW);
        FSTP80(&a, D_R);
        HLT(&a);
        fpu_load(&a);
        memset(ram + D_Y, 0, 16);
        memcpy(ram + D_Y, src[k], size[k]);
        fpu_go();
        cr_assert(eq80(D_R, want[k]), "format %u: got %La want %La", k, get80(D_R), want[k]);
        cr_assert_eq(rd16(D_SW) & 0x3f, 0, "format %u: no exception", k);
        cr_assert_eq((rd16(D_SW) >> 11) & 7, 7, "format %u: one push", k);
    }
    /* An SNaN m32 raises IE and loads the quieted NaN. */
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    em(&a, 0xd9, 0, D_Y);
    FNSTSW(&a, D_SW);
    FSTP80(&a, D_R);
    HLT(&a);
    fpu_load(&a);
    wr32(D_Y, 0x7fa00000u);
    fpu_go();
    cr_assert_eq(rd16(D_SW) & 0x3f, 1, "IE");
    cr_assert(eq80(D_R, mk80(0xe000000000000000ull, 0x7fff)), "quiet NaN with the payload: %La", get80(D_R));
}

/* Store x through one format (op /reg), flags and bytes against the host. */
static void store_case(uint8_t op, unsigned reg, unsigned size, long double x, uint16_t cw, const void *want,
                       uint16_t want_flags)
{
    struct asmb a = { .n = 0 };
    FNINIT(&a);
    FLDCW(&a, D_CW);
    FLD80(&a, D_X);
    em(&a, op, reg, D_R);
    FNSTSW(&a, D_SW);
    HLT(&a);
    fpu_load(&a);
    put80(D_X, x);
    wr16(D_CW, cw);
    memset(ram + D_R, 0xa5, 16);
    fpu_go();
    cr_assert_eq(memcmp(ram + D_R, want, size), 0, "%02x /%u of %La: stored bytes differ", op, reg, x);
    cr_assert_eq(ram[D_R + size], 0xa5, "no byte beyond the operand");
    cr_assert_eq(rd16(D_SW) & 0x3f, want_flags, "%02x /%u of %La: flags %#x want %#x", op, reg, x,
                 rd16(D_SW) & 0x3f, want_flags);
}

Test(iem_fpu, stores_all_formats)
{
    static const long double xs[] = { 1.5L, -2.5L, 3.5L, 0.1L, -1e10L, 1e40L, 40000.0L, -32768.4L, NAN, 1e-40L };
    for (unsigned rc = 0; rc < 4; rc++)
        for (size_t k = 0; k < sizeof(xs) / sizeof(xs[0]); k++) {
            uint16_t cw = (uint16_t)(0x37f | rc << 10), fl;
            volatile long double x = xs[k];
            /* m32 / m64 */
            fpu_host_begin(cw);
            volatile float f = (float)x;
            fl = fpu_host_end() & 0x3f;
            float fv = f;
            store_case(0xd9, 2, 4, x, cw, &fv, fl);
            fpu_host_begin(cw);
            volatile double d = (double)x;
            fl = fpu_host_end() & 0x3f;
            double dv = d;
            store_case(0xdd, 2, 8, x, cw, &dv, fl);
            /* integers: round per RC; out of range -> integer indefinite and IE */
            long double r = x;
            fpu_host_begin(cw);
            __asm__ volatile("frndint" : "+t"(r));
            uint16_t rfl = fpu_host_end() & 0x3f;
            bool nan = isnan(r);
            int16_t w16 = (nan || r > 32767.0L || r < -32768.0L) ? INT16_MIN : (int16_t)r;
            int32_t w32 = (nan || r > 2147483647.0L || r < -2147483648.0L) ? INT32_MIN : (int32_t)r;
            int64_t w64 = (nan || r >= 0x1p63L || r < -0x1p63L) ? INT64_MIN : (int64_t)r;
            uint16_t pe = rfl & 0x20;
            store_case(0xdf, 2, 2, x, cw, &w16, (w16 == INT16_MIN && r != -32768.0L) ? 1 : pe);
            store_case(0xdb, 2, 4, x, cw, &w32, (w32 == INT32_MIN && r != -2147483648.0L) ? 1 : pe);
            store_case(0xdf, 7, 8, x, cw, &w64, (w64 == INT64_MIN && r != -0x1p63L) ? 1 : pe);
        }
}

Test(iem_fpu, bcd_store)
{
    static const uint8_t p[10] = { 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0x80 };   /* -123456789 */
    store_case(0xdf, 6, 10, -123456789.4L, 0x37f, p, 0x20);
    static const uint8_t indef[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };        /* BCD indefinite */
    store_case(0xdf, 6, 10, 1e19L, 0x37f, indef, 0x01);
    /* m80 store: a plain copy (no exception even for a denormal) */
    long double dn = mk80(1, 0);
    store_case(0xdb, 7, 10, dn, 0x37f, &dn, 0);
}

/* FLD constants: rounded by RC (FLDPI differs in the last bit up/down). */
Test(iem_fpu, constants)
{
    static const uint8_t rm[7] = { 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee };
    for (unsigned k = 0; k < 7; k++)
        for (unsigned rc = 0; rc < 4; rc++) {
            struct asmb a = { .n = 0 };
            FNINIT(&a);
            FLDCW(&a, D_CW);
            E(&a, 0xd9, rm[k]);
            FSTP80(&a, D_R);
            HLT(&a);
            fpu_load(&a);
            uint16_t cw = (uint16_t)(0x37f | rc << 10);
            wr16(D_CW, cw);
            fpu_go();
            long double want;
            fpu_host_begin(cw);
            switch (k) {
            case 0: __asm__ volatile("fld1" : "=t"(want)); break;
            case 1: __asm__ volatile("fldl2t" : "=t"(want)); break;
            case 2: __asm__ volatile("fldl2e" : "=t"(want)); break;
            case 3: __asm__ volatile("fldpi" : "=t"(want)); break;
            case 4: __asm__ volatile("fldlg2" : "=t"(want)); break;
            case 5: __asm__ volatile("fldln2" : "=t"(want)); break;
            default: __asm__ volatile("fldz" : "=t"(want)); break;
            }
            (void)fpu_host_end();
            cr_assert(eq80(D_R, want), "constant %u rc %u: got %La want %La", k, rc, get80(D_R), want);
        }
    long double up = 0, down = 0;
    fpu_host_begin(0xb7f);
    __asm__ volatile("fldpi" : "=t"(up));
    (void)fpu_host_end();
    fpu_host_begin(0x77f);
    __asm__ volatile("fldpi" : "=t"(down));
    (void)fpu_host_end();
    cr_assert(up != down, "pi is rounded by RC");
}

/* ST(0) functions: the two-operand ones take x in ST(0), y in ST(1). */
Test(iem_fpu, functions)
{
    static const long double xs[] = { 0.5L, -0.75L, 2.0L, 100.0L, 1e30L, 0.0L };
    static const long double ys[] = { 3.0L, 1.5L, -7.25L, 0.001L, 2.0L, 5.0L };
    for (unsigned rm = 0; rm < 16; rm++) {
        if (rm == 6 || rm == 7)
            continue;   /* FDECSTP / FINCSTP: stack test */
        for (unsigned k = 0; k < 6; k++) {
            struct asmb a = { .n = 0 };
            FNINIT(&a);
            FLD80(&a, D_Y);
            FLD80(&a, D_X);
            E(&a, 0xd9, (uint8_t)(0xf0 + rm));
            FNSTSW(&a, D_SW);
            FSTP80(&a, D_R);
            FSTP80(&a, D_R2);
            FNSTSW(&a, D_SW2);
            HLT(&a);
            fpu_load(&a);
            put80(D_X, xs[k]);
            put80(D_Y, ys[k]);
            fpu_go();
            long double r0 = 0, r1 = 0;
            uint16_t sw;
            volatile long double x = xs[k], y = ys[k];
            long double hx = x, hy = y;
            fpu_host_begin(0x37f);
/* x in ST(0), y in ST(1); INSN; FSW; both stack slots stored (an empty one as the indefinite). */
#define HOST(insn) __asm__ volatile("fldt %[y]\n\tfldt %[x]\n\t" insn "\n\tfnstsw %[w]\n\tfstpt %[a]\n\tfstpt %[b]\n\tffree %%st(0)\n\tffree %%st(7)" \
                                    : [a] "=m"(r0), [b] "=m"(r1), [w] "=m"(hsw) : [x] "m"(hx), [y] "m"(hy) : "memory")
            uint16_t hsw = 0;
            switch (rm) {
            case 0: HOST("f2xm1"); break;
            case 1: HOST("fyl2x"); break;
            case 2: HOST("fptan"); break;
            case 3: HOST("fpatan"); break;
            case 4: HOST("fxtract"); break;
            case 5: HOST("fprem1"); break;
            case 8: HOST("fprem"); break;
            case 9: HOST("fyl2xp1"); break;
            case 10: HOST("fsqrt"); break;
            case 11: HOST("fsincos"); break;
            case 12: HOST("frndint"); break;
            case 13: HOST("fscale"); break;
            case 14: HOST("fsin"); break;
            default: HOST("fcos"); break;
            }
#undef HOST
            (void)fpu_host_end();
            sw = hsw;
            cr_assert(eq80(D_R, r0), "D9 %02x x=%La y=%La: ST(0) %La want %La", 0xf0 + rm, xs[k], ys[k],
                      get80(D_R), r0);
            bool pops = rm == 1 || rm == 3 || rm == 9;
            bool pushes = (rm == 2 || rm == 4 || rm == 11) && !(sw & 0x0400);   /* C2: out of range */
            if (!pops)
                cr_assert(eq80(D_R2, r1), "D9 %02x: ST(1) %La want %La", 0xf0 + rm, get80(D_R2), r1);
            cr_assert_eq(rd16(D_SW) & 0x3f, sw & 0x3f, "D9 %02x x=%La: flags %#x want %#x", 0xf0 + rm, xs[k],
                         rd16(D_SW) & 0x3f, sw & 0x3f);
            if (rm == 5 || rm == 8)
                cr_assert_eq(rd16(D_SW) & 0x4700, sw & 0x4700, "FPREM condition codes");
            /* TOP after the two stores: 0 for unary, 1 when one was popped, 7 when one was pushed */
            unsigned top = (rd16(D_SW2) >> 11) & 7;
            cr_assert_eq(top, pops ? 1u : pushes ? 7u : 0u, "D9 %02x: TOP %u", 0xf0 + rm, top);
        }
    }
}
