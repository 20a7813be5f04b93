/* SPDX-License-Identifier: MIT */
/*
 * x87 control instructions with memory operands and FNINIT: FLDCW/FNSTCW,
 * FNSTSW m16, FLDENV/FNSTENV and FRSTOR/FNSAVE in the four environment
 * layouts (16/32-bit operand size x protected/real-V86 mode, SDM Vol. 1
 * 8.1.10, Figures 8-9 to 8-12).  Control instructions leave the FPU
 * instruction/data pointers alone.  Reserved upper halves of the 32-bit
 * images are stored as ones, like the hardware; loaded tags only say empty
 * or not (the others are recomputed from the register contents, as P6
 * and later keep only that), FSW.ES/B follow the loaded flags and masks.
 */
#include "iem/iem_fpu.h"
#include "iem/iem_mem.h"

static void fpu_put16(uint8_t *b, uint32_t v) { uint16_t x = (uint16_t)v; memcpy(b, &x, 2); }
static void fpu_put32(uint8_t *b, uint32_t v) { memcpy(b, &v, 4); }
static uint32_t fpu_get16(const uint8_t *b) { uint16_t x; memcpy(&x, b, 2); return x; }
static uint32_t fpu_get32(const uint8_t *b) { uint32_t x; memcpy(&x, b, 4); return x; }

void iem_fpu_init(struct iem_cpu *c)
{
    struct cpum_state *s = c->s;
    s->fpu_fcw = FPU_FCW_INIT;
    s->fpu_fsw = 0;
    s->fpu_ftw = 0xffff;
    s->fpu_fip = s->fpu_fdp = 0;
    s->fpu_fcs = s->fpu_fds = s->fpu_fop = 0;
    iem_fpu_ferr_sync(c);
}

/* Protected-mode image (else real/V86: linear 20/32-bit pointers). */
static bool fpu_env_pm(const struct cpum_state *s)
{
    return (s->cr0 & CPUM_CR0_PE) && !(s->eflags & CPUM_EFL_VM);
}

/* Build the environment image; returns its size (14 or 28). */
static unsigned fpu_env_store(const struct cpum_state *s, bool o32, bool pm, uint8_t *b)
{
    uint32_t ip = pm ? s->fpu_fip : ((uint32_t)s->fpu_fcs << 4) + s->fpu_fip;
    uint32_t dp = pm ? s->fpu_fdp : ((uint32_t)s->fpu_fds << 4) + s->fpu_fdp;
    uint32_t op = s->fpu_fop & 0x7ffu;
    if (o32) {
        fpu_put32(b + 0, 0xffff0000u | s->fpu_fcw);
        fpu_put32(b + 4, 0xffff0000u | s->fpu_fsw);
        fpu_put32(b + 8, 0xffff0000u | s->fpu_ftw);
        if (pm) {
            fpu_put32(b + 12, ip);
            fpu_put32(b + 16, s->fpu_fcs | op << 16);
            fpu_put32(b + 20, dp);
            fpu_put32(b + 24, 0xffff0000u | s->fpu_fds);
        } else {
            fpu_put32(b + 12, 0xffff0000u | (ip & 0xffffu));
            fpu_put32(b + 16, (ip >> 16) << 12 | op);
            fpu_put32(b + 20, 0xffff0000u | (dp & 0xffffu));
            fpu_put32(b + 24, (dp >> 16) << 12);
        }
        return 28;
    }
    fpu_put16(b + 0, s->fpu_fcw);
    fpu_put16(b + 2, s->fpu_fsw);
    fpu_put16(b + 4, s->fpu_ftw);
    if (pm) {
        fpu_put16(b + 6, ip);
        fpu_put16(b + 8, s->fpu_fcs);
        fpu_put16(b + 10, dp);
        fpu_put16(b + 12, s->fpu_fds);
    } else {
        fpu_put16(b + 6, ip);
        fpu_put16(b + 8, (ip >> 16 & 0xfu) << 12 | op);
        fpu_put16(b + 10, dp);
        fpu_put16(b + 12, (dp >> 16 & 0xfu) << 12);
    }
    return 14;
}

static void fpu_set_fcw(struct cpum_state *s, uint32_t v)
{
    s->fpu_fcw = (uint16_t)((v & 0x1f3fu) | 0x40u);   /* bit 6 reads as 1, 13-15 as 0 */
}

/* Load the environment image (registers already in s->fpu_r for FRSTOR). */
static void fpu_env_load(struct iem_cpu *c, bool o32, bool pm, const uint8_t *b)
{
    struct cpum_state *s = c->s;
    unsigned tw;
    if (o32) {
        fpu_set_fcw(s, fpu_get32(b));
        s->fpu_fsw = (uint16_t)fpu_get32(b + 4);
        tw = fpu_get32(b + 8) & 0xffffu;
        uint32_t w3 = fpu_get32(b + 12), w4 = fpu_get32(b + 16), w5 = fpu_get32(b + 20), w6 = fpu_get32(b + 24);
        if (pm) {
            s->fpu_fip = w3;
            s->fpu_fcs = (uint16_t)w4;
            s->fpu_fop = (uint16_t)(w4 >> 16 & 0x7ffu);
            s->fpu_fdp = w5;
            s->fpu_fds = (uint16_t)w6;
        } else {
            s->fpu_fip = (w3 & 0xffffu) | (w4 >> 12 & 0xffffu) << 16;
            s->fpu_fop = (uint16_t)(w4 & 0x7ffu);
            s->fpu_fdp = (w5 & 0xffffu) | (w6 >> 12 & 0xffffu) << 16;
            s->fpu_fcs = s->fpu_fds = 0;
        }
    } else {
        fpu_set_fcw(s, fpu_get16(b));
        s->fpu_fsw = (uint16_t)fpu_get16(b + 2);
        tw = fpu_get16(b + 4);
        uint32_t w3 = fpu_get16(b + 6), w4 = fpu_get16(b + 8), w5 = fpu_get16(b + 10), w6 = fpu_get16(b + 12);
        if (pm) {
            s->fpu_fip = w3;
            s->fpu_fcs = (uint16_t)w4;
            s->fpu_fdp = w5;
            s->fpu_fds = (uint16_t)w6;
        } else {
            s->fpu_fip = w3 | (w4 >> 12) << 16;
            s->fpu_fop = (uint16_t)(w4 & 0x7ffu);
            s->fpu_fdp = w5 | (w6 >> 12) << 16;
            s->fpu_fcs = s->fpu_fds = 0;
        }
    }
    s->fpu_ftw = 0;
    for (unsigned ph = 0; ph < 8; ph++)
        fpu_set_tag_phys(s, ph, ((tw >> (2 * ph)) & 3u) == FPU_TAG_EMPTY ? FPU_TAG_EMPTY : fpu_tag_of(&s->fpu_r[ph]));
    fpu_update_es(s);
    iem_fpu_ferr_sync(c);
}

void iem_fpu_fldcw(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, true);
    uint8_t b[2];
    iem_fpu_rd(c, i, iem_ea(c, i), 2, b);
    fpu_set_fcw(c->s, fpu_get16(b));
    fpu_update_es(c->s);   /* unmasking a set flag makes it pending */
    iem_fpu_ferr_sync(c);
}

void iem_fpu_fnstcw(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, false);
    uint8_t b[2];
    fpu_put16(b, c->s->fpu_fcw);
    iem_fpu_wr(c, i, iem_ea(c, i), 2, b);
}

void iem_fpu_fnstsw_m(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, false);
    uint8_t b[2];
    fpu_put16(b, c->s->fpu_fsw);
    iem_fpu_wr(c, i, iem_ea(c, i), 2, b);
}

void iem_fpu_fldenv(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, true);
    bool o32 = IEM_IS_OSZ32(i);
    uint8_t b[28];
    iem_fpu_rd(c, i, iem_ea(c, i), o32 ? 28 : 14, b);
    fpu_env_load(c, o32, fpu_env_pm(c->s), b);
}

/* FNSTENV then masks every exception (SDM Vol. 2 "FSTENV/FNSTENV"). */
void iem_fpu_fnstenv(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, false);
    struct cpum_state *s = c->s;
    uint8_t b[28];
    unsigned n = fpu_env_store(s, IEM_IS_OSZ32(i), fpu_env_pm(s), b);
    iem_fpu_wr(c, i, iem_ea(c, i), n, b);
    s->fpu_fcw |= FPU_XMASK;
    fpu_update_es(s);
    iem_fpu_ferr_sync(c);
}

/* FRSTOR: environment, then ST(0)..ST(7) in stack order (TOP from the image). */
void iem_fpu_frstor(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, true);
    struct cpum_state *s = c->s;
    bool o32 = IEM_IS_OSZ32(i);
    unsigned n = o32 ? 28 : 14;
    uint8_t b[108];
    iem_fpu_rd(c, i, iem_ea(c, i), n + 80, b);
    unsigned top = (fpu_get16(b + (o32 ? 4 : 2)) >> FPU_TOP_SHIFT) & 7u;
    for (unsigned k = 0; k < 8; k++) {
        struct cpum_fpreg *r = &s->fpu_r[(top + k) & 7u];
        memcpy(&r->mant, b + n + 10 * k, 8);
        memcpy(&r->exp, b + n + 10 * k + 8, 2);
    }
    fpu_env_load(c, o32, fpu_env_pm(s), b);
}

/* FNSAVE: FRSTOR's image, then FNINIT. */
void iem_fpu_fnsave(struct iem_cpu *c, const struct iem_ix *i, unsigned arg)
{
    (void)arg;
    iem_fpu_check(c, i, false);
    struct cpum_state *s = c->s;
    bool o32 = IEM_IS_OSZ32(i);
    uint8_t b[108];
    unsigned n = fpu_env_store(s, o32, fpu_env_pm(s), b);
    for (unsigned k = 0; k < 8; k++) {
        const struct cpum_fpreg *r = fpu_st(s, k);
        memcpy(b + n + 10 * k, &r->mant, 8);
        memcpy(b + n + 10 * k + 8, &r->exp, 2);
    }
    iem_fpu_wr(c, i, iem_ea(c, i), n + 80, b);
    iem_fpu_init(c);
}
