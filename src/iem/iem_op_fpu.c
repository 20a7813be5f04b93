/* SPDX-License-Identifier: MIT */
/*
 * x87 FPU family (SDM Vol. 1 chapter 8, Vol. 2 "F..." pages): the ESC
 * opcodes D8-DF and WAIT.  Arithmetic, conversions, comparisons and
 * transcendentals run one host x87 instruction each (iem_fpu_host.c, so
 * results, condition codes and flags are the hardware's); this file does
 * the register stack, tags, stack faults, the guest's exception masks
 * (masked responses, no result on unmasked IE/DE/ZE, exponent-adjusted
 * results on unmasked OE/UE), the FPU instruction/data pointers, #NM and
 * the pending-exception check (#MF with CR0.NE=1, FERR# otherwise).
 * Environment, save/restore and control-word instructions are in
 * iem_op_fpu_env.c.
 *
 * C0/C2/C3, which the SDM calls undefined after arithmetic, keep their
 * value (what the host does); C1 is the round-up indicator.
 */
#include "iem/iem_flags.h"
#include "iem/iem_fpu.h"
#include "iem/iem_mem.h"

/* ---- prologue: #NM, pending exceptions, FERR# ---- */
static void fpu_ferr_set(struct iem_cpu *c, bool on)
{
    if (c->fpu_ferr_on == on)
        return;
    c->fpu_ferr_on = on;
    if (c->fpu_ferr)
        c->fpu_ferr(c->fpu_ferr_user, on);
}

void iem_fpu_ferr_sync(struct iem_cpu *c)
{
    if (c->fpu_ferr_on && !(c->s->fpu_fsw & FPU_ES))
        fpu_ferr_set(c, false);
}

/* SDM Vol. 3A 2.5 Table 2-2: EM or TS -> #NM for ESC.  Vol. 1 8.6: a
 * waiting instruction first reports a pending unmasked exception: #MF
 * with CR0.NE=1; with NE=0 FERR# goes to the board (IRQ13) and the
 * instruction runs (IGNNE# behaviour, Vol. 1 D.2.1). */
void iem_fpu_check(struct iem_cpu *c, const struct iem_ix *i, bool wait)
{
    const struct cpum_state *s = c->s;
    if (s->cr0 & (CPUM_CR0_EM | CPUM_CR0_TS))
        iem_raise_nm(c, i);
    if (wait && (s->fpu_fsw & FPU_ES)) {
        if (s->cr0 & CPUM_CR0_NE)
            iem_raise(c, i, IEM_X_MF, 0, 0);
        fpu_ferr_set(c, true);
    }
}

/* Last instruction/data pointers and opcode (SDM Vol. 1 8.1.8, 8.1.9):
 * kept by every non-control instruction. */
static void fpu_note(struct iem_cpu *c, const struct iem_ix *i, bool mem, uint32_t off)
{
    struct cpum_state *s = c->s;
    unsigned a = i->aux;
    s->fpu_fip = iem_eip_cur(c, i);
    s->fpu_fcs = s->seg[CPUM_CS].sel;
    s->fpu_fop = (uint16_t)((i->op & 7u) << 8 | (a >> 6 & 3u) << 6 | (a & 7u) << 3 | (a >> 3 & 7u));
    if (mem) {
        s->fpu_fdp = off;
        s->fpu_fds = s->seg[IEM_SEG(i)].sel;
    }
}

/* ---- memory images ---- */
void iem_fpu_rd(struct iem_cpu *c, const struct iem_ix *i, uint32_t off, unsigned n, uint8_t *buf)
{
    uint32_t la = iem_lin(c, i, IEM_SEG(i), off, n, IEM_ACC_R);
    for (unsigned k = 0; k < n;) {
        unsigned sz = n - k >= 8 ? 8 : n - k >= 4 ? 4 : n - k >= 2 ? 2 : 1;
        uint64_t v = iem_rd_lin(c, i, la + k, sz);
        memcpy(buf + k, &v, sz);
        k += sz;
    }
}

void iem_fpu_wr(struct iem_cpu *c, const struct iem_ix *i, uint32_t off, unsigned n, const uint8_t *buf)
{
    uint32_t la = iem_lin(c, i, IEM_SEG(i), off, n, IEM_ACC_W);
    if (n > sizeof(c->bounce)) {
        /* FNSAVE: more than one mapping; both pages are checked first. */
        (void)iem_translate(c, i, la, IEM_ACC_W);
        (void)iem_translate(c, i, la + n - 1u, IEM_ACC_W);
    }
    for (unsigned k = 0; k < n; k += (unsigned)sizeof(c->bounce)) {
        unsigned sz = n - k < sizeof(c->bounce) ? n - k : (unsigned)sizeof(c->bounce);
        void *p = iem_map_w_lin(c, i, la + k, sz, false);
        memcpy(p, buf + k, sz);
        iem_commit_w(c, i, p);
    }
}

/* ---- exceptions ---- */
/* Stack overflow (C1=1) or underflow (C1=0): IE|SF (SDM Vol. 1 8.5.1.1).
 * Returns true when IE is masked: the caller applies the masked response. */
static bool fpu_stack_fault(struct cpum_state *s, bool overflow)
{
    s->fpu_fsw = (uint16_t)((s->fpu_fsw & ~FPU_C1) | FPU_IE | FPU_SF | (overflow ? FPU_C1 : 0));
    fpu_update_es(s);
    return (s->fpu_fcw & FPU_IE) != 0;
}

/* Fold the host FSW of one operation into the guest's: pre-computation
 * exceptions (IE, DE, ZE) that are unmasked leave destination and stack
 * alone (false: no result); otherwise the flags, and the condition codes
 * in ccmask, are taken (SDM Vol. 1 4.9.2, 8.5). */
static bool fpu_apply(struct cpum_state *s, uint16_t hsw, unsigned ccmask)
{
    unsigned ex = hsw & FPU_XMASK;
    if (ex & ~s->fpu_fcw & (FPU_IE | FPU_DE | FPU_ZE)) {
        s->fpu_fsw |= (uint16_t)(ex & (FPU_IE | FPU_DE | FPU_ZE));
        fpu_update_es(s);
        return false;
    }
    s->fpu_fsw = (uint16_t)((s->fpu_fsw & ~ccmask) | (hsw & ccmask) | ex);
    fpu_update_es(s);
    return true;
}
/* Unmasked numeric overflow/underflow on this result. */
static bool fpu_ou_unmasked(const struct cpum_state *s, uint16_t hsw)
{
    return (hsw & ~s->fpu_fcw & (FPU_OE | FPU_UE)) != 0;
}

static uint16_t fpu_run(struct cpum_state *s, unsigned op, struct iem_fx_io *io)
{
    return iem_fpu_host(op, s->fpu_fcw, io);
}

static void fpu_pops(struct cpum_state *s, unsigned n)
{
    while (n--)
        fpu_pop(s);
}

/* ---- binary arithmetic and compares (D8, DA, DC, DE; DD /4 /5; DA E9) ---- */
/* arg: host op | destination | pops. */
#define FPU_DST0  0x100u
#define FPU_DSTI  0x200u
#define FPU_POPS(a) (((a) >> 12) & 3u)
#define FPU_POP1  0x1000u
#define FPU_POP2  0x2000u
#define FPU_OP(a) ((a) & 0xffu)

static const uint8_t fpu_ar_reg[8] = { IEM_FX_fadd, IEM_FX_fmul, IEM_FX_fcom, IEM_FX_fcom,
                                       IEM_FX_fsub, IEM_FX_fsubr, IEM_FX_fdiv, IEM_FX_fdivr };
enum { FPU_M32F, FPU_M64F, FPU_M32I, FPU_M16I };   /* D8, DC, DA, DE memory formats */
static const uint8_t fpu_ar_mem[4][8] = {
    { IEM_FX_fadd_m32, IEM_FX_fmul_m32, IEM_FX_fcom_m32, IEM_FX_fcom_m32,
      IEM_FX_fsub_m32, IEM_FX_fsubr_m32, IEM_FX_fdiv_m32, IEM_FX_fdivr_m32 },
    { IEM_FX_fadd_m64, IEM_FX_fmul_m64, IEM_FX_fcom_m64, IEM_FX_fcom_m64,
      IEM_FX_fsub_m64, IEM_FX_fsubr_m64, IEM_FX_fdiv_m64, IEM_FX_fdivr_m64 },
    { IEM_FX_fadd_i32, IEM_FX_fmul_i32, IEM_FX_fcom_i32, IEM_FX_fcom_i32,
      IEM_FX_fsub_i32, IEM_FX_fsubr_i32, IEM_FX_fdiv_i32, IEM_FX_fdivr_i32 },
    { IEM_FX_fadd_i16, IEM_FX_fmul_i16, IEM_FX_fcom_i16, IEM_FX_fcom_i16,
      IEM_FX_fsub_i16, IEM_FX_fsubr_i16, IEM_FX_fdiv_i16, IEM_FX_fdivr_i16 },
};
static const uint8_t fpu_mem_size[4] = { 4, 8, 4, 2 };
static const uint8_t fpu_mem_load[4] = { IEM_FX_fld_m32, IEM_FX_fld_m64, IEM_FX_fild_m32, IEM_FX_fild_m16 };

/* x * 2^k, exact (k small enough for the result to stay normal). */
static void fpu_scale(struct cpum_state *s, struct iem_fx *x, int k)
{
    struct iem_fx_io io = { .x = *x };
    /* y = k as an 80-bit integer value: sign, exponent of |k|, normalised significand. */
    uint32_t a = (uint32_t)(k < 0 ? -k : k);
    unsigned msb = 31u - (unsigned)__builtin_clz(a);
    struct cpum_fpreg y = { (uint64_t)a << (63u - msb), (uint16_t)((k < 0 ? 0x8000u : 0) | (16383u + msb)) };
    fpu_to_fx(&io.y, &y);
    (void)fpu_run(s, IEM_FX_fscale, &io);
    *x = io.r0;
}

/* Unmasked overflow/underflow with a register destination: the result is
 * the rounded value with its exponent adjusted by -/+24576 (SDM Vol. 1
 * 4.9.2.4, 4.9.2.5).  The operation is run again on operands scaled so
 * that the scaled result is in range: exact for FMUL/FDIV(R), and for
 * FADD/FSUB(R) unless one operand is more than 2^24576 times smaller than
 * the other (then its sticky contribution is lost; docs/iem.md). */
static void fpu_rescale(struct cpum_state *s, unsigned reg_op, struct iem_fx_io *io, uint16_t hsw)
{
    int k = (hsw & FPU_OE) ? -24576 : 24576;
    int kx = k, ky = k;   /* FADD/FSUB: both */
    if (reg_op == IEM_FX_fmul) {
        kx = k / 2;
        ky = k / 2;
    } else if (reg_op == IEM_FX_fdiv) {
        kx = k / 2;
        ky = -k / 2;
    } else if (reg_op == IEM_FX_fdivr) {
        kx = -k / 2;
        ky = k / 2;
    }
    fpu_scale(s, &io->x, kx);
    fpu_scale(s, &io->y, ky);
    (void)fpu_run(s, reg_op, io);
}

/* Run a binary op (ST(0) in io->x, the other operand in io->y or io->m)
 * and write the result to ST(dst) or the condition codes, then pop.
 * mfmt: memory format for the rescale path (-1: register operand). */
static void fpu_binary(struct cpum_state *s, unsigned arg, unsigned dst, struct iem_fx_io *io, int mfmt, unsigned reg)
{
    bool cmp = !(arg & (FPU_DST0 | FPU_DSTI));
    uint16_t hsw = fpu_run(s, FPU_OP(arg), io);
    if (!fpu_apply(s, hsw, cmp ? FPU_CC : FPU_C1))
        return;
    if (!cmp) {
        struct iem_fx_io sc = *io;
        if (fpu_ou_unmasked(s, hsw)) {
            if (mfmt >= 0) {
                (void)fpu_run(s, fpu_mem_load[mfmt], &sc);   /* the memory operand as 80-bit */
                sc.y = sc.r0;
            }
            fpu_rescale(s, fpu_ar_reg[reg], &sc, hsw);
        } else {
            sc.r0 = io->r0;
        }
        struct cpum_fpreg r;
        fpu_from_fx(&r, &sc.r0);
        fpu_set_st(s, dst, &r);
    }
    fpu_pops(s, FPU_POPS(arg));
}

/* Empty operand: masked response is the indefinite (or "unordered"). */
static void fpu_binary_underflow(struct cpum_state *s, unsigned arg, unsigned dst)
{
    if (!fpu_stack_fault(s, false))
        return;
    if (arg & (FPU_DST0 | FPU_DSTI))
        fpu_set_st(s, dst, &fpu_indefinite);
    else
        s->fpu_fsw |= FPU_C0 | FPU_C2 | FPU_C3;
    fpu_pops(s, FPU_POPS(arg));
}

static void fpu_arith_r(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    struct cpum_state *s = c->s;
    unsigned sti = i->r0, dst = (arg & FPU_DSTI) ? sti : 0;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    if (fpu_empty(s, 0) || fpu_empty(s, sti)) {
        fpu_binary_underflow(s, arg, dst);
        return;
    }
    struct iem_fx_io io = { 0 };
    fpu_to_fx(&io.x, fpu_st(s, 0));
    fpu_to_fx(&io.y, fpu_st(s, sti));
    unsigned reg = (i->aux & 7u);
    fpu_binary(s, arg, dst, &io, -1, reg);
}

/* arg: format << 4 | ModRM.reg */
static void fpu_arith_m(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    struct cpum_state *s = c->s;
    unsigned fmt = arg >> 4, reg = arg & 7u;
    iem_fpu_check(c, i, true);
    uint32_t off = iem_ea(c, i);
    struct iem_fx_io io = { 0 };
    iem_fpu_rd(c, i, off, fpu_mem_size[fmt], io.m.b);
    fpu_note(c, i, true, off);
    unsigned a = fpu_ar_mem[fmt][reg] | (reg == 3 ? FPU_POP1 : reg == 2 ? 0 : FPU_DST0);
    if (fpu_empty(s, 0)) {
        fpu_binary_underflow(s, a, 0);
        return;
    }
    fpu_to_fx(&io.x, fpu_st(s, 0));
    fpu_binary(s, a, 0, &io, (int)fmt, reg);
}

/* FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF, PF, CF from the compare (OF, SF, AF = 0). */
static void fpu_comi(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    struct cpum_state *s = c->s;
    unsigned sti = i->r0;
    uint32_t f;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    if (fpu_empty(s, 0) || fpu_empty(s, sti)) {
        if (!fpu_stack_fault(s, false))
            return;
        f = CPUM_EFL_ZF | CPUM_EFL_PF | CPUM_EFL_CF;
    } else {
        struct iem_fx_io io = { 0 };
        fpu_to_fx(&io.x, fpu_st(s, 0));
        fpu_to_fx(&io.y, fpu_st(s, sti));
        uint16_t hsw = fpu_run(s, FPU_OP(arg), &io);
        if (!fpu_apply(s, hsw, FPU_C1))
            return;
        f = ((hsw & FPU_C3) ? CPUM_EFL_ZF : 0) | ((hsw & FPU_C2) ? CPUM_EFL_PF : 0) | ((hsw & FPU_C0) ? CPUM_EFL_CF : 0);
    }
    iem_lf_set_eflags(c, f);
    fpu_pops(s, FPU_POPS(arg));
}

/* FCMOVcc ST(0), ST(i): arg = condition code (iem_cond). */
static void fpu_fcmov(struct iem_cpu *c, const struct iem_ix *i, unsigned cc)
{
    struct cpum_state *s = c->s;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    if (fpu_empty(s, 0) || fpu_empty(s, i->r0)) {
        if (fpu_stack_fault(s, false))
            fpu_set_st(s, 0, &fpu_indefinite);
        return;
    }
    s->fpu_fsw &= (uint16_t)~FPU_C1;
    if (iem_cond(c, cc)) {
        struct cpum_fpreg v = *fpu_st(s, i->r0);
        fpu_set_st(s, 0, &v);
    }
}

/* ---- loads ---- */
/* Push v (NULL: the result of host op on io) with the overflow check. */
static void fpu_push_checked(struct cpum_state *s, unsigned op, struct iem_fx_io *io, const struct cpum_fpreg *v)
{
    if (!fpu_empty(s, 7)) {
        if (fpu_stack_fault(s, true))
            fpu_push(s, &fpu_indefinite);
        return;
    }
    struct cpum_fpreg r;
    if (v) {
        r = *v;
        s->fpu_fsw &= (uint16_t)~FPU_C1;
    } else {
        if (!fpu_apply(s, fpu_run(s, op, io), FPU_C1))
            return;
        fpu_from_fx(&r, &io->r0);
    }
    fpu_push(s, &r);
}

enum { FPU_F_M32, FPU_F_M64, FPU_F_M80, FPU_F_I16, FPU_F_I32, FPU_F_I64, FPU_F_BCD, FPU_F_COUNT };
static const uint8_t fpu_fmt_size[FPU_F_COUNT] = { 4, 8, 10, 2, 4, 8, 10 };
static const uint8_t fpu_fmt_load[FPU_F_COUNT] = { IEM_FX_fld_m32, IEM_FX_fld_m64, 0, IEM_FX_fild_m16,
                                                   IEM_FX_fild_m32, IEM_FX_fild_m64, IEM_FX_fbld };
static const uint8_t fpu_fmt_store[FPU_F_COUNT] = { IEM_FX_fst_m32, IEM_FX_fst_m64, 0, IEM_FX_fist_m16,
                                                    IEM_FX_fist_m32, IEM_FX_fistp_m64, IEM_FX_fbstp };

static void fpu_fld_m(struct iem_cpu *c, const struct iem_ix *i, unsigned fmt)
{
    struct cpum_state *s = c->s;
    iem_fpu_check(c, i, true);
    uint32_t off = iem_ea(c, i);
    struct iem_fx_io io = { 0 };
    iem_fpu_rd(c, i, off, fpu_fmt_size[fmt], io.m.b);
    fpu_note(c, i, true, off);
    if (fmt == FPU_F_M80) {
        /* FLD m80 never raises (SDM Vol. 2 "FLD"): a plain copy. */
        struct cpum_fpreg v;
        fpu_from_fx(&v, &io.m);
        fpu_push_checked(s, 0, &io, &v);
    } else {
        fpu_push_checked(s, fpu_fmt_load[fmt], &io, NULL);
    }
}

/* FLD ST(i) */
static void fpu_fld_r(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    struct cpum_state *s = c->s;
    (void)arg;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    if (fpu_empty(s, i->r0)) {
        if (fpu_stack_fault(s, false))
            fpu_push(s, &fpu_indefinite);
        return;
    }
    struct cpum_fpreg v = *fpu_st(s, i->r0);
    fpu_push_checked(s, 0, NULL, &v);
}

/* FLD1, FLDL2T, ... FLDZ: constants rounded by RC (SDM Vol. 1 8.3.8). */
static void fpu_fld_const(struct iem_cpu *c, const struct iem_ix *i, unsigned op)
{
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    struct iem_fx_io io = { 0 };
    fpu_push_checked(c->s, op, &io, NULL);
}

/* ---- stores ---- */
/* arg: format | pop << 4 */
static void fpu_fst_m(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    struct cpum_state *s = c->s;
    unsigned fmt = arg & 15u, n = fpu_fmt_size[fmt];
    bool pop = (arg >> 4) & 1u;
    iem_fpu_check(c, i, true);
    uint32_t off = iem_ea(c, i);
    void *p = iem_map_w(c, i, IEM_SEG(i), off, n, false);   /* faults before any state change */
    fpu_note(c, i, true, off);
    struct iem_fx_io io = { 0 };
    bool store = true;
    if (fpu_empty(s, 0)) {
        /* Masked underflow stores the format's indefinite. */
        store = fpu_stack_fault(s, false);
        fpu_to_fx(&io.x, &fpu_indefinite);
        if (fmt == FPU_F_M80)
            io.mo = io.x;
        else
            (void)fpu_run(s, fpu_fmt_store[fmt], &io);
    } else if (fmt == FPU_F_M80) {
        fpu_to_fx(&io.mo, fpu_st(s, 0));
        s->fpu_fsw &= (uint16_t)~FPU_C1;
    } else {
        fpu_to_fx(&io.x, fpu_st(s, 0));
        uint16_t hsw = fpu_run(s, fpu_fmt_store[fmt], &io);
        /* Unmasked overflow/underflow to memory: nothing stored (SDM Vol. 1 4.9.2.4). */
        store = fpu_apply(s, hsw, FPU_C1) && !fpu_ou_unmasked(s, hsw);
    }
    if (!store) {
        c->bnc.active = false;   /* a bounce mapping is dropped, never committed */
        return;
    }
    memcpy(p, io.mo.b, n);
    iem_commit_w(c, i, p);
    if (pop)
        fpu_pop(s);
}

/* FST/FSTP ST(i) (and the FSTP1/8/9 aliases): arg = pop. */
static void fpu_fst_r(struct iem_cpu *c, const struct iem_ix *i, unsigned pop)
{
    struct cpum_state *s = c->s;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    if (fpu_empty(s, 0)) {
        if (!fpu_stack_fault(s, false))
            return;
        fpu_set_st(s, i->r0, &fpu_indefinite);
    } else {
        struct cpum_fpreg v = *fpu_st(s, 0);
        fpu_set_st(s, i->r0, &v);
        s->fpu_fsw &= (uint16_t)~FPU_C1;
    }
    if (pop)
        fpu_pop(s);
}

/* ---- register-only instructions ---- */
static void fpu_fxch(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    struct cpum_state *s = c->s;
    (void)arg;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    struct cpum_fpreg a = *fpu_st(s, 0), b = *fpu_st(s, i->r0);
    if (fpu_empty(s, 0) || fpu_empty(s, i->r0)) {
        if (!fpu_stack_fault(s, false))
            return;
        if (fpu_empty(s, 0))
            a = fpu_indefinite;
        if (fpu_empty(s, i->r0))
            b = fpu_indefinite;
    } else {
        s->fpu_fsw &= (uint16_t)~FPU_C1;
    }
    fpu_set_st(s, 0, &b);
    fpu_set_st(s, i->r0, &a);
}

static void fpu_fnop(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
}

/* FFREE ST(i), FFREEP ST(i) (arg = pop; DF C0+i, P6 and later). */
static void fpu_ffree(struct iem_cpu *c, const struct iem_ix *i, unsigned pop)
{
    struct cpum_state *s = c->s;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    fpu_set_tag_phys(s, fpu_phys(s, i->r0), FPU_TAG_EMPTY);
    if (pop)
        fpu_pop(s);
}

/* FCHS (arg 0) / FABS (arg 1): sign only, never an arithmetic exception. */
static void fpu_sign(struct iem_cpu *c, const struct iem_ix *i, unsigned abs)
{
    struct cpum_state *s = c->s;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    if (fpu_empty(s, 0)) {
        if (fpu_stack_fault(s, false))
            fpu_set_st(s, 0, &fpu_indefinite);
        return;
    }
    struct cpum_fpreg v = *fpu_st(s, 0);
    v.exp = (uint16_t)(abs ? (v.exp & 0x7fffu) : (v.exp ^ 0x8000u));
    fpu_set_st(s, 0, &v);
    s->fpu_fsw &= (uint16_t)~FPU_C1;
}

/* FTST / FXAM: condition codes only.  FXAM of an empty register: C3, C0 set, C1 = sign. */
static void fpu_examine(struct iem_cpu *c, const struct iem_ix *i, unsigned op)
{
    struct cpum_state *s = c->s;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    struct iem_fx_io io = { 0 };
    if (fpu_empty(s, 0)) {
        if (op == IEM_FX_fxam) {
            unsigned sign = (fpu_st(s, 0)->exp & 0x8000u) ? FPU_C1 : 0;
            s->fpu_fsw = (uint16_t)((s->fpu_fsw & ~FPU_CC) | FPU_C3 | FPU_C0 | sign);
        } else if (fpu_stack_fault(s, false)) {
            s->fpu_fsw |= FPU_C0 | FPU_C2 | FPU_C3;
        }
        return;
    }
    fpu_to_fx(&io.x, fpu_st(s, 0));
    (void)fpu_apply(s, fpu_run(s, op, &io), FPU_CC);
}

/* FINCSTP (arg 1) / FDECSTP (arg 7): TOP only, tags unchanged, C1 = 0. */
static void fpu_stp(struct iem_cpu *c, const struct iem_ix *i, unsigned delta)
{
    struct cpum_state *s = c->s;
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    fpu_set_top(s, fpu_top(s) + delta);
    s->fpu_fsw &= (uint16_t)~FPU_C1;
}

/* ---- ST(0) functions (D9 /6 /7) ----
 * kind: how many stack operands are read and where the result goes. */
enum { FPU_K_UN,        /* ST(0) = f(ST(0)) */
       FPU_K_BIN,       /* ST(0) = f(ST(0), ST(1)) */
       FPU_K_BINPOP,    /* ST(1) = f(ST(1), ST(0)); pop */
       FPU_K_PUSH };    /* ST(0) = r1; push r0 (unless C2: out of range) */
struct fpu_fn { uint8_t op, kind; uint16_t cc; };
static const struct fpu_fn fpu_fns[16] = {
    /* D9 F0-F7 */
    { IEM_FX_f2xm1, FPU_K_UN, FPU_C1 }, { IEM_FX_fyl2x, FPU_K_BINPOP, FPU_C1 },
    { IEM_FX_fptan, FPU_K_PUSH, FPU_C1 | FPU_C2 }, { IEM_FX_fpatan, FPU_K_BINPOP, FPU_C1 },
    { IEM_FX_fxtract, FPU_K_PUSH, FPU_C1 }, { IEM_FX_fprem1, FPU_K_BIN, FPU_CC },
    { 0, 0, 0 }, { 0, 0, 0 },   /* FDECSTP, FINCSTP: fpu_stp */
    /* D9 F8-FF */
    { IEM_FX_fprem, FPU_K_BIN, FPU_CC }, { IEM_FX_fyl2xp1, FPU_K_BINPOP, FPU_C1 },
    { IEM_FX_fsqrt, FPU_K_UN, FPU_C1 }, { IEM_FX_fsincos, FPU_K_PUSH, FPU_C1 | FPU_C2 },
    { IEM_FX_frndint, FPU_K_UN, FPU_C1 }, { IEM_FX_fscale, FPU_K_BIN, FPU_C1 },
    { IEM_FX_fsin, FPU_K_UN, FPU_C1 | FPU_C2 }, { IEM_FX_fcos, FPU_K_UN, FPU_C1 | FPU_C2 },
};

static void fpu_func_underflow(struct cpum_state *s, unsigned kind)
{
    if (!fpu_stack_fault(s, false))
        return;
    if (kind == FPU_K_BINPOP) {
        fpu_set_st(s, 1, &fpu_indefinite);
        fpu_pop(s);
        return;
    }
    fpu_set_st(s, 0, &fpu_indefinite);
    if (kind == FPU_K_PUSH && fpu_empty(s, 7))
        fpu_push(s, &fpu_indefinite);
}

static void fpu_func(struct iem_cpu *c, const struct iem_ix *i, unsigned idx)
{
    struct cpum_state *s = c->s;
    const struct fpu_fn *f = &fpu_fns[idx];
    iem_fpu_check(c, i, true);
    fpu_note(c, i, false, 0);
    bool two = f->kind == FPU_K_BIN || f->kind == FPU_K_BINPOP;
    if (fpu_empty(s, 0) || (two && fpu_empty(s, 1))) {
        fpu_func_underflow(s, f->kind);
        return;
    }
    if (f->kind == FPU_K_PUSH && !fpu_empty(s, 7)) {
        if (fpu_stack_fault(s, true)) {
            fpu_set_st(s, 0, &fpu_indefinite);
            fpu_push(s, &fpu_indefinite);
        }
        return;
    }
    struct iem_fx_io io = { 0 };
    fpu_to_fx(&io.x, fpu_st(s, 0));
    if (two)
        fpu_to_fx(&io.y, fpu_st(s, 1));
    uint16_t hsw = fpu_run(s, f->op, &io);
    if (!fpu_apply(s, hsw, f->cc))
        return;
    struct cpum_fpreg r0, r1;
    fpu_from_fx(&r0, &io.r0);
    fpu_from_fx(&r1, &io.r1);
    switch (f->kind) {
    case FPU_K_UN:
    case FPU_K_BIN:
        fpu_set_st(s, 0, &r0);
        break;
    case FPU_K_BINPOP:
        fpu_set_st(s, 1, &r0);
        fpu_pop(s);
        break;
    default:   /* FPU_K_PUSH */
        if (hsw & FPU_C2)
            break;   /* FPTAN/FSINCOS operand out of range: unchanged */
        fpu_set_st(s, 0, &r1);
        fpu_push(s, &r0);
        break;
    }
}

/* FNSTSW AX (DF E0): no wait. */
static void fpu_fnstsw_ax(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, false);
    iem_rset(c, CPUM_EAX, c->s->fpu_fsw, 16);
}

/* DB E0-E4: FENI/FDISI (8087 only) and FSETPM (287 only) are no-ops on P6;
 * FNCLEX; FNINIT. */
static void fpu_db4(struct iem_cpu *c, const struct iem_ix *i, unsigned rm)
{
    iem_fpu_check(c, i, false);
    if (rm == 2) {
        c->s->fpu_fsw &= (uint16_t)~(FPU_XMASK | FPU_SF | FPU_ES | FPU_B);
        iem_fpu_ferr_sync(c);
    } else if (rm == 3) {
        iem_fpu_init(c);
    }
}

static void fpu_ud(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_raise_ud(c, i);
}

/* ---- register forms with sub-opcodes in ModRM.rm ---- */
typedef void (*fpu_impl)(struct iem_cpu *c, const struct iem_ix *i, unsigned arg);
struct fpu_sub {
    fpu_impl fn;
    unsigned arg;
};
#define UD { fpu_ud, 0 }
static const struct fpu_sub fpu_sub_d9_2[8] = { { fpu_fnop, 0 }, UD, UD, UD, UD, UD, UD, UD };
static const struct fpu_sub fpu_sub_d9_4[8] = { { fpu_sign, 0 }, { fpu_sign, 1 }, UD, UD,
                                                { fpu_examine, IEM_FX_ftst }, { fpu_examine, IEM_FX_fxam }, UD, UD };
static const struct fpu_sub fpu_sub_d9_5[8] = {
    { fpu_fld_const, IEM_FX_fld1 }, { fpu_fld_const, IEM_FX_fldl2t }, { fpu_fld_const, IEM_FX_fldl2e },
    { fpu_fld_const, IEM_FX_fldpi }, { fpu_fld_const, IEM_FX_fldlg2 }, { fpu_fld_const, IEM_FX_fldln2 },
    { fpu_fld_const, IEM_FX_fldz }, UD };
static const struct fpu_sub fpu_sub_d9_6[8] = {
    { fpu_func, 0 }, { fpu_func, 1 }, { fpu_func, 2 }, { fpu_func, 3 },
    { fpu_func, 4 }, { fpu_func, 5 }, { fpu_stp, 7 }, { fpu_stp, 1 } };
static const struct fpu_sub fpu_sub_d9_7[8] = {
    { fpu_func, 8 }, { fpu_func, 9 }, { fpu_func, 10 }, { fpu_func, 11 },
    { fpu_func, 12 }, { fpu_func, 13 }, { fpu_func, 14 }, { fpu_func, 15 } };
static const struct fpu_sub fpu_sub_da_5[8] = { UD, { fpu_arith_r, IEM_FX_fucom | FPU_POP2 }, UD, UD, UD, UD, UD, UD };
static const struct fpu_sub fpu_sub_db_4[8] = { { fpu_db4, 0 }, { fpu_db4, 1 }, { fpu_db4, 2 }, { fpu_db4, 3 },
                                                { fpu_db4, 4 }, UD, UD, UD };
static const struct fpu_sub fpu_sub_de_3[8] = { UD, { fpu_arith_r, IEM_FX_fcom | FPU_POP2 }, UD, UD, UD, UD, UD, UD };
static const struct fpu_sub fpu_sub_df_4[8] = { { fpu_fnstsw_ax, 0 }, UD, UD, UD, UD, UD, UD, UD };
#undef UD

static void fpu_sub(struct iem_cpu *c, const struct iem_ix *i, const struct fpu_sub *t)
{
    t[i->r0 & 7u].fn(c, i, t[i->r0 & 7u].arg);
}

/* ---- handlers and handler sets ----
 * FPU_ROW(row, register-form impl, arg, memory-form impl, arg): one
 * handler per form (the memory forms read IEM_IS_OSZ32 themselves). */
#define FPU_ROW(row, rfn, rarg, mfn, marg)                                                  \
    IEM_STATIC_HANDLER(ix_fpu_##row##_r) { rfn(c, i, rarg); IEM_NEXT_W(c, i); }             \
    IEM_STATIC_HANDLER(ix_fpu_##row##_m) { mfn(c, i, marg); IEM_NEXT_W(c, i); }             \
    const struct iem_hset iem_hs_fpu_##row = { .f = {                                       \
        [IEM_S_R] = { NULL, ix_fpu_##row##_r, ix_fpu_##row##_r },                          \
        [IEM_S_M] = { NULL, ix_fpu_##row##_m, ix_fpu_##row##_m } } };

static void fpu_sub_fn(struct iem_cpu *c, const struct iem_ix *i, unsigned which);
static void fpu_env_fn(struct iem_cpu *c, const struct iem_ix *i, unsigned which);

/* D8: ST(0) op ST(i) / m32fp */
#define D8(r) FPU_ROW(d8_##r, fpu_arith_r, fpu_ar_reg[r] | ((r) == 2 ? 0 : (r) == 3 ? FPU_POP1 : FPU_DST0), \
                      fpu_arith_m, FPU_M32F << 4 | (r))
D8(0) D8(1) D8(2) D8(3) D8(4) D8(5) D8(6) D8(7)
/* DC: ST(i) op= ST(0) / m64fp (DC D0-DF: FCOM/FCOMP aliases) */
#define DC(r) FPU_ROW(dc_##r, fpu_arith_r, fpu_ar_reg[r] | ((r) == 2 ? 0 : (r) == 3 ? FPU_POP1 : FPU_DSTI), \
                      fpu_arith_m, FPU_M64F << 4 | (r))
DC(0) DC(1) DC(2) DC(3) DC(4) DC(5) DC(6) DC(7)
/* DE: ST(i) op= ST(0) and pop / m16int (DE D0-D7: FCOMP alias; DE D9: FCOMPP) */
#define DE(r) FPU_ROW(de_##r, fpu_arith_r, fpu_ar_reg[r] | ((r) == 2 ? FPU_POP1 : FPU_DSTI | FPU_POP1), \
                      fpu_arith_m, FPU_M16I << 4 | (r))
DE(0) DE(1) DE(2) DE(4) DE(5) DE(6) DE(7)
FPU_ROW(de_3, fpu_sub_fn, 7, fpu_arith_m, FPU_M16I << 4 | 3)
/* DA: FCMOVB/E/BE/U, FUCOMPP / m32int */
FPU_ROW(da_0, fpu_fcmov, 0x2, fpu_arith_m, FPU_M32I << 4 | 0)
FPU_ROW(da_1, fpu_fcmov, 0x4, fpu_arith_m, FPU_M32I << 4 | 1)
FPU_ROW(da_2, fpu_fcmov, 0x6, fpu_arith_m, FPU_M32I << 4 | 2)
FPU_ROW(da_3, fpu_fcmov, 0xa, fpu_arith_m, FPU_M32I << 4 | 3)
FPU_ROW(da_4, fpu_ud, 0, fpu_arith_m, FPU_M32I << 4 | 4)
FPU_ROW(da_5, fpu_sub_fn, 5, fpu_arith_m, FPU_M32I << 4 | 5)
FPU_ROW(da_6, fpu_ud, 0, fpu_arith_m, FPU_M32I << 4 | 6)
FPU_ROW(da_7, fpu_ud, 0, fpu_arith_m, FPU_M32I << 4 | 7)
/* D9: loads, stores, environment, constants, functions */
FPU_ROW(d9_0, fpu_fld_r, 0, fpu_fld_m, FPU_F_M32)
FPU_ROW(d9_1, fpu_fxch, 0, fpu_ud, 0)
FPU_ROW(d9_2, fpu_sub_fn, 0, fpu_fst_m, FPU_F_M32)
FPU_ROW(d9_3, fpu_fst_r, 1, fpu_fst_m, FPU_F_M32 | 16)
FPU_ROW(d9_4, fpu_sub_fn, 1, fpu_env_fn, 0)
FPU_ROW(d9_5, fpu_sub_fn, 2, fpu_env_fn, 1)
FPU_ROW(d9_6, fpu_sub_fn, 3, fpu_env_fn, 2)
FPU_ROW(d9_7, fpu_sub_fn, 4, fpu_env_fn, 3)
/* DB: FCMOVNB/NE/NBE/NU, FNCLEX/FNINIT, FUCOMI, FCOMI / m32int, m80fp */
FPU_ROW(db_0, fpu_fcmov, 0x3, fpu_fld_m, FPU_F_I32)
FPU_ROW(db_1, fpu_fcmov, 0x5, fpu_ud, 0)
FPU_ROW(db_2, fpu_fcmov, 0x7, fpu_fst_m, FPU_F_I32)
FPU_ROW(db_3, fpu_fcmov, 0xb, fpu_fst_m, FPU_F_I32 | 16)
FPU_ROW(db_4, fpu_sub_fn, 6, fpu_ud, 0)
FPU_ROW(db_5, fpu_comi, IEM_FX_fucom, fpu_fld_m, FPU_F_M80)
FPU_ROW(db_6, fpu_comi, IEM_FX_fcom, fpu_ud, 0)
FPU_ROW(db_7, fpu_ud, 0, fpu_fst_m, FPU_F_M80 | 16)
/* DD: FFREE, FXCH4, FST, FSTP, FUCOM, FUCOMP / m64fp, FRSTOR, FNSAVE, FNSTSW */
FPU_ROW(dd_0, fpu_ffree, 0, fpu_fld_m, FPU_F_M64)
FPU_ROW(dd_1, fpu_fxch, 0, fpu_ud, 0)
FPU_ROW(dd_2, fpu_fst_r, 0, fpu_fst_m, FPU_F_M64)
FPU_ROW(dd_3, fpu_fst_r, 1, fpu_fst_m, FPU_F_M64 | 16)
FPU_ROW(dd_4, fpu_arith_r, IEM_FX_fucom, fpu_env_fn, 4)
FPU_ROW(dd_5, fpu_arith_r, IEM_FX_fucom | FPU_POP1, fpu_ud, 0)
FPU_ROW(dd_6, fpu_ud, 0, fpu_env_fn, 5)
FPU_ROW(dd_7, fpu_ud, 0, fpu_env_fn, 6)
/* DF: FFREEP, FXCH7, FSTP8/9, FNSTSW AX, FUCOMIP, FCOMIP / m16int, BCD, m64int */
FPU_ROW(df_0, fpu_ffree, 1, fpu_fld_m, FPU_F_I16)
FPU_ROW(df_1, fpu_fxch, 0, fpu_ud, 0)
FPU_ROW(df_2, fpu_fst_r, 1, fpu_fst_m, FPU_F_I16)
FPU_ROW(df_3, fpu_fst_r, 1, fpu_fst_m, FPU_F_I16 | 16)
FPU_ROW(df_4, fpu_sub_fn, 8, fpu_fld_m, FPU_F_BCD)
FPU_ROW(df_5, fpu_comi, IEM_FX_fucom | FPU_POP1, fpu_fld_m, FPU_F_I64)
FPU_ROW(df_6, fpu_comi, IEM_FX_fcom | FPU_POP1, fpu_fst_m, FPU_F_BCD | 16)
FPU_ROW(df_7, fpu_ud, 0, fpu_fst_m, FPU_F_I64 | 16)

static const struct fpu_sub *const fpu_subs[9] = { fpu_sub_d9_2, fpu_sub_d9_4, fpu_sub_d9_5, fpu_sub_d9_6,
                                                   fpu_sub_d9_7, fpu_sub_da_5, fpu_sub_db_4, fpu_sub_de_3,
                                                   fpu_sub_df_4 };
static void fpu_sub_fn(struct iem_cpu *c, const struct iem_ix *i, unsigned which)
{
    fpu_sub(c, i, fpu_subs[which]);
}

static void fpu_env_fn(struct iem_cpu *c, const struct iem_ix *i, unsigned which)
{
    static const fpu_impl fns[7] = { iem_fpu_fldenv, iem_fpu_fldcw, iem_fpu_fnstenv, iem_fpu_fnstcw,
                                     iem_fpu_frstor, iem_fpu_fnsave, iem_fpu_fnstsw_m };
    fns[which](c, i, 0);
}

/* WAIT/FWAIT: #NM when CR0.MP and CR0.TS are both set (SDM Vol. 3A Table
 * 2-2), then pending unmasked exceptions. */
IEM_STATIC_HANDLER(ix_fwait)
{
    const struct cpum_state *s = c->s;
    if ((s->cr0 & (CPUM_CR0_MP | CPUM_CR0_TS)) == (CPUM_CR0_MP | CPUM_CR0_TS))
        iem_raise_nm(c, i);
    if (s->fpu_fsw & FPU_ES) {
        if (s->cr0 & CPUM_CR0_NE)
            iem_raise(c, i, IEM_X_MF, 0, 0);
        fpu_ferr_set(c, true);
    }
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_fpu_wait = { .f = { [IEM_S_NONE] = { NULL, ix_fwait, ix_fwait } } };
