/* SPDX-License-Identifier: MIT */
/*
 * CMP/TEST + Jcc fusion (IEM-DESIGN.md 6): when a block ends in a compare
 * or test immediately followed by a conditional jump, the compare's record
 * gets a fused handler that sets the lazy flags exactly as the compare
 * does, decides the jump from the operands directly and leaves through the
 * Jcc's target, or runs on to the terminator.  The Jcc record stays in the
 * block untouched: the instruction count, EIPs and a #GP on the jump's
 * target are those of the Jcc itself (it is the record raising).
 * Memory forms read their operand (and may fault) before anything changes.
 */
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"

/* The Jcc handler sets and the compare/test handler sets (op_branch.def, op_alu.def). */
#define IEM_FZ_CC(X) X(0, o) X(1, no) X(2, b) X(3, ae) X(4, e) X(5, ne) X(6, be) X(7, a) \
                     X(8, s) X(9, ns) X(10, p) X(11, np) X(12, l) X(13, ge) X(14, le) X(15, g)
#define IEM_FZ_DECL(cc, n) extern const struct iem_hset iem_hs_j##n;
IEM_FZ_CC(IEM_FZ_DECL)
extern const struct iem_hset iem_hs_cmp, iem_hs_test;

/* Condition cc of "a - b" (cmp) at width w, or of r = a & b (test), from
 * the operands (SDM Vol. 2 Appendix B.1.4.7); the rare ones (O, P) read
 * the lazy flags the handler has just set. */
static inline __attribute__((always_inline)) bool iem_fz_cond_cmp(const struct iem_cpu *c, unsigned cc,
                                                                  uint32_t a, uint32_t b, unsigned w)
{
    int32_t sa = (int32_t)iem_sext(a, w), sb = (int32_t)iem_sext(b, w);
    switch (cc) {
    case 2: return a < b;
    case 3: return a >= b;
    case 4: return a == b;
    case 5: return a != b;
    case 6: return a <= b;
    case 7: return a > b;
    case 8: return (c->lf_res < 0);
    case 9: return (c->lf_res >= 0);
    case 12: return sa < sb;
    case 13: return sa >= sb;
    case 14: return sa <= sb;
    case 15: return sa > sb;
    default: return iem_cond(c, cc);
    }
}
static inline __attribute__((always_inline)) bool iem_fz_cond_test(const struct iem_cpu *c, unsigned cc, uint32_t r,
                                                                   unsigned w)
{
    int32_t sr = (int32_t)iem_sext(r, w);
    switch (cc) {
    case 0: return false;      /* OF = 0 */
    case 1: return true;
    case 2: return false;      /* CF = 0 */
    case 3: return true;
    case 4: case 6: return r == 0;
    case 5: case 7: return r != 0;
    case 8: case 12: return sr < 0;    /* SF (SF != OF with OF = 0) */
    case 9: case 13: return sr >= 0;
    case 14: return sr <= 0;
    case 15: return sr > 0;
    default: return iem_cond(c, cc);
    }
}

/* Taken: the Jcc record (i + 1) makes the jump, with its own CS-limit check. */
#define IEM_FZ_TAIL(taken)                                                                \
    do {                                                                                  \
        const struct iem_ix *j_ = i + 1;                                                  \
        if (taken) {                                                                      \
            uint32_t t_ = (uint32_t)j_->imm;                                              \
            if (IXVM_UNLIKELY(t_ > c->s->seg[CPUM_CS].limit))                             \
                iem_raise_gp(c, j_, 0);                                                   \
            return iem_branch_exit(c, j_, t_);                                            \
        }                                                                                 \
        IEM_NEXT(c, j_);                                                                  \
    } while (0)

/* Operand fetchers per form: A = first operand, B = second. */
#define IEM_FZ_RR(W)  uint32_t a = iem_rget(c, i->r0, W), b = iem_rget(c, i->r1, W)
#define IEM_FZ_RI(W)  uint32_t a = iem_rget(c, i->r0, W), b = (uint32_t)i->imm & iem_wmask(W)
#define IEM_FZ_RM(W)  uint32_t b = iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), a = iem_rget(c, i->r0, W)
#define IEM_FZ_MR(W)  uint32_t a = iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), b = iem_rget(c, i->r0, W)
#define IEM_FZ_MI(W)  uint32_t a = iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), b = (uint32_t)i->imm & iem_wmask(W)

#define IEM_FZ_CMP(form, W, cc, n)                                                        \
    IEM_STATIC_HANDLER(ix_fz_cmp_##form##W##_j##n)                                        \
    {                                                                                     \
        IEM_FZ_##form(W);                                                                 \
        iem_alu_sub(c, a, b, 0, W);                                                       \
        IEM_FZ_TAIL(iem_fz_cond_cmp(c, cc, a, b, W));                                     \
    }
#define IEM_FZ_TEST(form, W, cc, n)                                                       \
    IEM_STATIC_HANDLER(ix_fz_test_##form##W##_j##n)                                       \
    {                                                                                     \
        IEM_FZ_##form(W);                                                                 \
        uint32_t r = iem_alu_logic(c, a & b, W);                                          \
        IEM_FZ_TAIL(iem_fz_cond_test(c, cc, r, W));                                       \
    }

/* The fused forms: {hset, shape, width} -> 16 handlers indexed by cc. */
#define IEM_FZ_FORMS(X)                    \
    X(cmp, CMP, RR, IEM_S_RR, 32)          \
    X(cmp, CMP, RI, IEM_S_RI, 32)          \
    X(cmp, CMP, RM, IEM_S_RM, 32)          \
    X(cmp, CMP, MR, IEM_S_MR, 32)          \
    X(cmp, CMP, MI, IEM_S_MI, 32)          \
    X(cmp, CMP, RR, IEM_S_RR, 8)           \
    X(cmp, CMP, RI, IEM_S_RI, 8)           \
    X(cmp, CMP, MI, IEM_S_MI, 8)           \
    X(test, TEST, RR, IEM_S_RR, 32)        \
    X(test, TEST, RI, IEM_S_RI, 32)        \
    X(test, TEST, RR, IEM_S_RR, 8)

#define IEM_FZ_GEN_CC(cc, n, mn, MN, form, W) IEM_FZ_##MN(form, W, cc, n)
#define IEM_FZ_GEN_FORM(mn, MN, form, shape, W)                                           \
    IEM_FZ_GEN_CC(0, o, mn, MN, form, W) IEM_FZ_GEN_CC(1, no, mn, MN, form, W)            \
    IEM_FZ_GEN_CC(2, b, mn, MN, form, W) IEM_FZ_GEN_CC(3, ae, mn, MN, form, W)            \
    IEM_FZ_GEN_CC(4, e, mn, MN, form, W) IEM_FZ_GEN_CC(5, ne, mn, MN, form, W)            \
    IEM_FZ_GEN_CC(6, be, mn, MN, form, W) IEM_FZ_GEN_CC(7, a, mn, MN, form, W)            \
    IEM_FZ_GEN_CC(8, s, mn, MN, form, W) IEM_FZ_GEN_CC(9, ns, mn, MN, form, W)            \
    IEM_FZ_GEN_CC(10, p, mn, MN, form, W) IEM_FZ_GEN_CC(11, np, mn, MN, form, W)          \
    IEM_FZ_GEN_CC(12, l, mn, MN, form, W) IEM_FZ_GEN_CC(13, ge, mn, MN, form, W)          \
    IEM_FZ_GEN_CC(14, le, mn, MN, form, W) IEM_FZ_GEN_CC(15, g, mn, MN, form, W)
IEM_FZ_FORMS(IEM_FZ_GEN_FORM)

struct iem_fz_form {
    const struct iem_hset *hs;
    uint8_t shape, w;
    iem_fn fused[16];
};
#define IEM_FZ_W(W) ((W) == 8 ? IEM_W8 : (W) == 16 ? IEM_W16 : IEM_W32)
#define IEM_FZ_ROW(mn, MN, form, shape, W)                                                \
    { &iem_hs_##mn, shape, IEM_FZ_W(W), {                                                 \
      ix_fz_##mn##_##form##W##_jo, ix_fz_##mn##_##form##W##_jno, ix_fz_##mn##_##form##W##_jb,   \
      ix_fz_##mn##_##form##W##_jae, ix_fz_##mn##_##form##W##_je, ix_fz_##mn##_##form##W##_jne,  \
      ix_fz_##mn##_##form##W##_jbe, ix_fz_##mn##_##form##W##_ja, ix_fz_##mn##_##form##W##_js,   \
      ix_fz_##mn##_##form##W##_jns, ix_fz_##mn##_##form##W##_jp, ix_fz_##mn##_##form##W##_jnp,  \
      ix_fz_##mn##_##form##W##_jl, ix_fz_##mn##_##form##W##_jge, ix_fz_##mn##_##form##W##_jle,  \
      ix_fz_##mn##_##form##W##_jg } },
static const struct iem_fz_form iem_fz_forms[] = { IEM_FZ_FORMS(IEM_FZ_ROW) };

#define IEM_FZ_JREF(cc, n) &iem_hs_j##n,
static const struct iem_hset *const iem_fz_jcc[16] = { IEM_FZ_CC(IEM_FZ_JREF) };

/* cc of a Jcc handler (either width), or -1. */
static int iem_fz_jcc_cc(iem_fn fn)
{
    for (int cc = 0; cc < 16; cc++)
        if (fn == iem_fz_jcc[cc]->f[IEM_S_NONE][IEM_W32] || fn == iem_fz_jcc[cc]->f[IEM_S_NONE][IEM_W16])
            return cc;
    return -1;
}

iem_fn iem_fuse_lookup(iem_fn first, iem_fn jcc)
{
    int cc = iem_fz_jcc_cc(jcc);
    if (cc < 0)
        return NULL;
    for (size_t k = 0; k < IXVM_ARRAY_SIZE(iem_fz_forms); k++) {
        const struct iem_fz_form *f = &iem_fz_forms[k];
        if (f->hs->f[f->shape][f->w] == first)
            return f->fused[cc];
    }
    return NULL;
}

iem_fn iem_fuse_original(iem_fn fn)
{
    for (size_t k = 0; k < IXVM_ARRAY_SIZE(iem_fz_forms); k++)
        for (unsigned cc = 0; cc < 16; cc++)
            if (iem_fz_forms[k].fused[cc] == fn)
                return iem_fz_forms[k].hs->f[iem_fz_forms[k].shape][iem_fz_forms[k].w];
    return fn;
}
