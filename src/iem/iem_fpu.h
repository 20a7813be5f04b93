/* SPDX-License-Identifier: MIT */
/*
 * x87 FPU state helpers for the FPU family (iem_op_fpu*.c, docs/iem.md
 * "x87 FPU"): status/control word bits, the register stack over the
 * physical registers of struct cpum_state (TOP in FSW, full tag word), and
 * the host execution primitive.
 *
 * Arithmetic runs on the host's own x87 (iem_fpu_host.c): the host is an
 * x86-64, whose x87 IS the guest's FPU format and semantics, so loading the
 * guest's control word (rounding and precision control, every exception
 * masked) around one host instruction gives bit-exact results, condition
 * codes and exception flags.  Other hosts need a softfloat port of
 * iem_fpu_host.c.
 */
#ifndef IXVM_IEM_FPU_H
#define IXVM_IEM_FPU_H

#if !defined(__x86_64__) && !defined(__i386__)
#error "IEM x87 executes guest FPU instructions on the host x87: a softfloat port of iem_fpu_host.c is needed on non-x86 hosts (docs/iem.md)"
#endif

#include "iem/iem_internal.h"

/* FSW (SDM Vol. 1 8.1.3). */
#define FPU_IE  0x0001u
#define FPU_DE  0x0002u
#define FPU_ZE  0x0004u
#define FPU_OE  0x0008u
#define FPU_UE  0x0010u
#define FPU_PE  0x0020u
#define FPU_SF  0x0040u
#define FPU_ES  0x0080u
#define FPU_C0  0x0100u
#define FPU_C1  0x0200u
#define FPU_C2  0x0400u
#define FPU_C3  0x4000u
#define FPU_B   0x8000u
#define FPU_XMASK 0x003fu          /* the six exception flags / masks */
#define FPU_CC  (FPU_C0 | FPU_C1 | FPU_C2 | FPU_C3)
#define FPU_TOP_SHIFT 11
/* FCW (SDM Vol. 1 8.1.5). */
#define FPU_FCW_INIT 0x037fu
#define FPU_TAG_VALID 0u
#define FPU_TAG_ZERO 1u
#define FPU_TAG_SPECIAL 2u
#define FPU_TAG_EMPTY 3u
#define FPU_EXP_MAX 0x7fffu

static inline unsigned fpu_top(const struct cpum_state *s) { return (s->fpu_fsw >> FPU_TOP_SHIFT) & 7u; }
static inline void fpu_set_top(struct cpum_state *s, unsigned top)
{
    s->fpu_fsw = (uint16_t)((s->fpu_fsw & ~(7u << FPU_TOP_SHIFT)) | (top & 7u) << FPU_TOP_SHIFT);
}
/* Physical register of ST(i). */
static inline unsigned fpu_phys(const struct cpum_state *s, unsigned sti) { return (fpu_top(s) + sti) & 7u; }
static inline unsigned fpu_tag_phys(const struct cpum_state *s, unsigned ph) { return (s->fpu_ftw >> (2 * ph)) & 3u; }
static inline bool fpu_empty(const struct cpum_state *s, unsigned sti) { return fpu_tag_phys(s, fpu_phys(s, sti)) == FPU_TAG_EMPTY; }

/* The tag a value gets when written (SDM Vol. 1 8.1.7, the tag word: zero,
 * valid = normal with the integer bit, special = NaN/inf/denormal/unsupported). */
static inline unsigned fpu_tag_of(const struct cpum_fpreg *v)
{
    unsigned e = v->exp & FPU_EXP_MAX;
    if (e == 0)
        return v->mant ? FPU_TAG_SPECIAL : FPU_TAG_ZERO;
    if (e == FPU_EXP_MAX || !(v->mant >> 63))
        return FPU_TAG_SPECIAL;
    return FPU_TAG_VALID;
}
static inline void fpu_set_tag_phys(struct cpum_state *s, unsigned ph, unsigned tag)
{
    s->fpu_ftw = (uint16_t)((s->fpu_ftw & ~(3u << (2 * ph))) | tag << (2 * ph));
}
static inline const struct cpum_fpreg *fpu_st(const struct cpum_state *s, unsigned sti) { return &s->fpu_r[fpu_phys(s, sti)]; }
static inline void fpu_set_st(struct cpum_state *s, unsigned sti, const struct cpum_fpreg *v)
{
    unsigned ph = fpu_phys(s, sti);
    s->fpu_r[ph].mant = v->mant;
    s->fpu_r[ph].exp = v->exp;
    fpu_set_tag_phys(s, ph, fpu_tag_of(v));
}
static inline void fpu_push(struct cpum_state *s, const struct cpum_fpreg *v)
{
    fpu_set_top(s, fpu_top(s) - 1u);
    fpu_set_st(s, 0, v);
}
static inline void fpu_pop(struct cpum_state *s)
{
    fpu_set_tag_phys(s, fpu_top(s), FPU_TAG_EMPTY);
    fpu_set_top(s, fpu_top(s) + 1u);
}
/* ES and B follow the unmasked exception flags (SDM Vol. 1 8.1.3.6). */
static inline void fpu_update_es(struct cpum_state *s)
{
    if (s->fpu_fsw & ~s->fpu_fcw & FPU_XMASK)
        s->fpu_fsw |= FPU_ES | FPU_B;
    else
        s->fpu_fsw &= (uint16_t)~(FPU_ES | FPU_B);
}

/* The QNaN floating-point indefinite (SDM Vol. 1 4.8.3.7). */
static const struct cpum_fpreg fpu_indefinite = { 0xc000000000000000ull, 0xffff };

/* ---- host execution (iem_fpu_host.c) ----
 * A buffer holds an 80-bit value in bytes 0-9 or a memory operand image. */
struct iem_fx {
    _Alignas(16) uint8_t b[16];
};
static inline void fpu_to_fx(struct iem_fx *x, const struct cpum_fpreg *v)
{
    memcpy(x->b, &v->mant, 8);
    memcpy(x->b + 8, &v->exp, 2);
}
static inline void fpu_from_fx(struct cpum_fpreg *v, const struct iem_fx *x)
{
    memcpy(&v->mant, x->b, 8);
    memcpy(&v->exp, x->b + 8, 2);
}

/* Host instructions, each run with ST(0) = x, ST(1) = y, memory operand m
 * (input) and mo (output); the FSW right after it is returned, then ST(0)
 * and ST(1) are stored into r0 and r1.  X(name, AT&T instruction). */
#define IEM_FX_OPS(X)                                                              \
    X(fadd, "fadd %%st(1), %%st") X(fmul, "fmul %%st(1), %%st")                    \
    X(fsub, "fsub %%st(1), %%st") X(fsubr, "fsubr %%st(1), %%st")                  \
    X(fdiv, "fdiv %%st(1), %%st") X(fdivr, "fdivr %%st(1), %%st")                  \
    X(fcom, "fcom %%st(1)") X(fucom, "fucom %%st(1)")                              \
    X(fadd_m32, "fadds %[m]") X(fmul_m32, "fmuls %[m]") X(fsub_m32, "fsubs %[m]")  \
    X(fsubr_m32, "fsubrs %[m]") X(fdiv_m32, "fdivs %[m]") X(fdivr_m32, "fdivrs %[m]") \
    X(fcom_m32, "fcoms %[m]")                                                      \
    X(fadd_m64, "faddl %[m]") X(fmul_m64, "fmull %[m]") X(fsub_m64, "fsubl %[m]")  \
    X(fsubr_m64, "fsubrl %[m]") X(fdiv_m64, "fdivl %[m]") X(fdivr_m64, "fdivrl %[m]") \
    X(fcom_m64, "fcoml %[m]")                                                      \
    X(fadd_i16, "fiadds %[m]") X(fmul_i16, "fimuls %[m]") X(fsub_i16, "fisubs %[m]") \
    X(fsubr_i16, "fisubrs %[m]") X(fdiv_i16, "fidivs %[m]") X(fdivr_i16, "fidivrs %[m]") \
    X(fcom_i16, "ficoms %[m]")                                                     \
    X(fadd_i32, "fiaddl %[m]") X(fmul_i32, "fimull %[m]") X(fsub_i32, "fisubl %[m]") \
    X(fsubr_i32, "fisubrl %[m]") X(fdiv_i32, "fidivl %[m]") X(fdivr_i32, "fidivrl %[m]") \
    X(fcom_i32, "ficoml %[m]")                                                     \
    X(ftst, "ftst") X(fxam, "fxam")                                                \
    X(fsqrt, "fsqrt") X(frndint, "frndint") X(f2xm1, "f2xm1")                      \
    X(fsin, "fsin") X(fcos, "fcos")                                                \
    X(fprem, "fprem") X(fprem1, "fprem1") X(fscale, "fscale")                      \
    X(fyl2x, "fyl2x") X(fyl2xp1, "fyl2xp1") X(fpatan, "fpatan")                    \
    X(fptan, "fptan") X(fsincos, "fsincos") X(fxtract, "fxtract")                  \
    X(fld_m32, "flds %[m]") X(fld_m64, "fldl %[m]") X(fild_m16, "filds %[m]")     \
    X(fild_m32, "fildl %[m]") X(fild_m64, "fildll %[m]") X(fbld, "fbld %[m]")     \
    X(fld1, "fld1") X(fldl2t, "fldl2t") X(fldl2e, "fldl2e") X(fldpi, "fldpi")      \
    X(fldlg2, "fldlg2") X(fldln2, "fldln2") X(fldz, "fldz")                        \
    X(fst_m32, "fsts %[mo]") X(fst_m64, "fstl %[mo]") X(fist_m16, "fists %[mo]")  \
    X(fist_m32, "fistl %[mo]") X(fistp_m64, "fistpll %[mo]") X(fbstp, "fbstp %[mo]")

enum iem_fx_op {
#define IEM_FX_ENUM(n, s) IEM_FX_##n,
    IEM_FX_OPS(IEM_FX_ENUM)
#undef IEM_FX_ENUM
    IEM_FX_COUNT
};

struct iem_fx_io {
    struct iem_fx x, y, m;        /* in */
    struct iem_fx r0, r1, mo;     /* out */
};
/* Run op with the guest control word cw (exceptions forced masked); returns
 * the host FSW after the instruction (exception flags, condition codes). */
uint16_t iem_fpu_host(unsigned op, uint16_t cw, struct iem_fx_io *io);

/* ---- shared by iem_op_fpu.c and iem_op_fpu_env.c ---- */
/* #NM (CR0.EM/TS) and, for a waiting instruction, the pending-exception
 * report (#MF with CR0.NE=1, FERR# otherwise). */
void iem_fpu_check(struct iem_cpu *c, const struct iem_ix *i, bool wait);
/* Drop FERR# once the guest cleared FSW.ES. */
void iem_fpu_ferr_sync(struct iem_cpu *c);
/* Read / write n bytes of the ModRM memory operand at off (segment of i);
 * every check happens before the first byte is stored. */
void iem_fpu_rd(struct iem_cpu *c, const struct iem_ix *i, uint32_t off, unsigned n, uint8_t *buf);
void iem_fpu_wr(struct iem_cpu *c, const struct iem_ix *i, uint32_t off, unsigned n, const uint8_t *buf);
/* FNINIT's state (SDM Vol. 2 "FINIT/FNINIT": FCW 037F, FSW 0, all empty, pointers 0). */
void iem_fpu_init(struct iem_cpu *c);
/* Control instructions with a memory operand (iem_op_fpu_env.c); arg unused. */
void iem_fpu_fldenv(struct iem_cpu *c, const struct iem_ix *i, unsigned arg);
void iem_fpu_fnstenv(struct iem_cpu *c, const struct iem_ix *i, unsigned arg);
void iem_fpu_fldcw(struct iem_cpu *c, const struct iem_ix *i, unsigned arg);
void iem_fpu_fnstcw(struct iem_cpu *c, const struct iem_ix *i, unsigned arg);
void iem_fpu_frstor(struct iem_cpu *c, const struct iem_ix *i, unsigned arg);
void iem_fpu_fnsave(struct iem_cpu *c, const struct iem_ix *i, unsigned arg);
void iem_fpu_fnstsw_m(struct iem_cpu *c, const struct iem_ix *i, unsigned arg);

#endif
