/* SPDX-License-Identifier: MIT */
/*
 * Stack family: PUSH/POP (registers, memory, immediates, segment
 * registers), PUSHA/POPA, PUSHF/POPF with the IOPL/VM rules, LEAVE
 * (SDM Vol. 2 instruction pages).  Every store is checked before ESP moves.
 */
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"

#define IEM_PUSHPOP_W(W)                                                                  \
    IEM_STATIC_HANDLER(ix_push_r##W)                                                      \
    {                                                                                     \
        iem_push(c, i, iem_rget(c, i->r0, W), W);                                         \
        IEM_NEXT_W(c, i);                                                                 \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_push_m##W)                                                      \
    {                                                                                     \
        iem_push(c, i, iem_rdw(c, i, IEM_SEG(i), iem_ea(c, i), W), W);                    \
        IEM_NEXT_W(c, i);                                                                 \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_push_i##W)                                                      \
    {                                                                                     \
        iem_push(c, i, (uint32_t)i->imm, W);                                              \
        IEM_NEXT_W(c, i);                                                                 \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_pop_r##W)                                                       \
    {                                                                                     \
        uint32_t v = iem_peek(c, i, 0, W);                                                \
        iem_sp_set(c, iem_sp_add(c, W / 8));                                              \
        iem_rset(c, i->r0, v, W);                                                         \
        IEM_NEXT(c, i);                                                                   \
    }                                                                                     \
    /* POP m: an ESP-based address uses the incremented ESP (SDM "POP"). */               \
    IEM_STATIC_HANDLER(ix_pop_m##W)                                                       \
    {                                                                                     \
        uint32_t v = iem_peek(c, i, 0, W);                                                \
        uint32_t esp = c->r[CPUM_ESP];                                                    \
        iem_sp_set(c, iem_sp_add(c, W / 8));                                              \
        uint32_t ea = iem_ea(c, i);                                                       \
        c->r[CPUM_ESP] = esp;                                                             \
        iem_wrw(c, i, IEM_SEG(i), ea, v, W);                                              \
        iem_sp_set(c, iem_sp_add(c, W / 8));                                              \
        IEM_NEXT_W(c, i);                                                                 \
    }
IEM_PUSHPOP_W(16)
IEM_PUSHPOP_W(32)
const struct iem_hset iem_hs_push = { .f = {
    [IEM_S_R] = { NULL, ix_push_r16, ix_push_r32 },
    [IEM_S_M] = { NULL, ix_push_m16, ix_push_m32 },
} };
const struct iem_hset iem_hs_push_imm = { .f = { [IEM_S_NONE] = { NULL, ix_push_i16, ix_push_i32 } } };
const struct iem_hset iem_hs_pop = { .f = {
    [IEM_S_R] = { NULL, ix_pop_r16, ix_pop_r32 },
    [IEM_S_M] = { NULL, ix_pop_m16, ix_pop_m32 },
} };

/* Segment register from the opcode: 06/07 ES, 0E CS, 16/17 SS, 1E/1F DS, 0F A0/A1 FS, 0F A8/A9 GS. */
static unsigned iem_sreg_of_op(unsigned op)
{
    if (op >= 0xa0)
        return op >= 0xa8 ? CPUM_GS : CPUM_FS;
    return (op >> 3) & 3u;
}

/* PUSH Sreg with a 32-bit operand writes 16 bits and moves ESP by 4, as
 * recent processors do (SDM Vol. 2 "PUSH"). */
IEM_STATIC_HANDLER(ix_push_sreg)
{
    unsigned w = IEM_IS_OSZ32(i) ? 4u : 2u;
    uint32_t sp = iem_sp_sub(c, w);
    void *p = iem_map_w(c, i, CPUM_SS, sp, 2, false);
    iem_st(p, c->s->seg[iem_sreg_of_op(i->op)].sel, 16);
    iem_commit_w(c, i, p);
    iem_sp_set(c, sp);
    IEM_NEXT_W(c, i);
}
const struct iem_hset iem_hs_push_sreg = { .f = { [IEM_S_NONE] = { NULL, ix_push_sreg, ix_push_sreg } } };

IEM_STATIC_HANDLER(ix_pop_sreg)
{
    unsigned sreg = iem_sreg_of_op(i->op);
    unsigned w = IEM_IS_OSZ32(i) ? 4u : 2u;
    uint16_t v = (uint16_t)iem_peek(c, i, 0, 16);
    iem_load_sreg(c, i, sreg, v);
    iem_sp_set(c, iem_sp_add(c, w));
    if (sreg == CPUM_SS)
        c->shadow_set = true;
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_pop_sreg = { .f = { [IEM_S_NONE] = { NULL, ix_pop_sreg, ix_pop_sreg } } };

/* PUSHA/POPA: one mapping for all eight slots (IEM-DESIGN.md 10). */
#define IEM_PUSHA_W(W)                                                                    \
    IEM_STATIC_HANDLER(ix_pusha##W)                                                       \
    {                                                                                     \
        uint32_t sp = iem_sp_sub(c, 8 * (W / 8));                                         \
        uint8_t *p = iem_map_w(c, i, CPUM_SS, sp, 8 * (W / 8), false);                    \
        for (unsigned k = 0; k < 8; k++)                                                  \
            iem_st(p + (7 - k) * (W / 8), c->r[k], W);                                    \
        iem_commit_w(c, i, p);                                                            \
        iem_sp_set(c, sp);                                                                \
        IEM_NEXT_W(c, i);                                                                 \
    }                                                                                     \
    IEM_STATIC_HANDLER(ix_popa##W)                                                        \
    {                                                                                     \
        uint32_t v[8];                                                                    \
        for (unsigned k = 0; k < 8; k++)                                                  \
            v[k] = iem_peek(c, i, (7 - k) * (W / 8), W);                                  \
        for (unsigned k = 0; k < 8; k++)                                                  \
            if (k != CPUM_ESP)                                                            \
                iem_rset(c, k, v[k], W);                                                  \
        iem_sp_set(c, iem_sp_add(c, 8 * (W / 8)));                                        \
        IEM_NEXT(c, i);                                                                   \
    }
IEM_PUSHA_W(16)
IEM_PUSHA_W(32)
const struct iem_hset iem_hs_pusha = { .f = { [IEM_S_NONE] = { NULL, ix_pusha16, ix_pusha32 } } };
const struct iem_hset iem_hs_popa = { .f = { [IEM_S_NONE] = { NULL, ix_popa16, ix_popa32 } } };

static bool iem_v86_iopl_trap(const struct iem_cpu *c)
{
    return (c->s->eflags & CPUM_EFL_VM) && ((c->s->eflags & CPUM_EFL_IOPL) >> 12) < 3;
}

/* PUSHF: VM and RF read as 0 in the image (SDM Vol. 2 "PUSHF"). */
IEM_STATIC_HANDLER(ix_pushf)
{
    if (iem_v86_iopl_trap(c)) {
        iem_vme_pushf(c, i);   /* VME form or #GP(0) (iem_v86.c) */
        IEM_NEXT_W(c, i);
    }
    uint32_t f = iem_get_eflags(c) & ~(CPUM_EFL_VM | CPUM_EFL_RF);
    iem_push(c, i, f, IEM_IS_OSZ32(i) ? 32 : 16);
    IEM_NEXT_W(c, i);
}
const struct iem_hset iem_hs_pushf = { .f = { [IEM_S_NONE] = { NULL, ix_pushf, ix_pushf } } };

/* POPF: which bits may change depends on CPL and IOPL (SDM Vol. 2 "POPF"). */
IEM_STATIC_HANDLER(ix_popf)
{
    if (iem_v86_iopl_trap(c)) {
        iem_vme_popf(c, i);    /* VME form or #GP(0) (iem_v86.c) */
        IEM_NEXT(c, i);
    }
    unsigned w = IEM_IS_OSZ32(i) ? 32 : 16;
    uint32_t v = iem_peek(c, i, 0, w);
    uint32_t mask = CPUM_EFL_STATUS | CPUM_EFL_TF | CPUM_EFL_DF | CPUM_EFL_NT | CPUM_EFL_AC | CPUM_EFL_ID;
    unsigned iopl = (c->s->eflags & CPUM_EFL_IOPL) >> 12;
    if (c->cpl == 0 && !(c->s->eflags & CPUM_EFL_VM))
        mask |= CPUM_EFL_IOPL | CPUM_EFL_IF;
    else if (c->cpl <= iopl)
        mask |= CPUM_EFL_IF;
    if (w == 16)
        mask &= 0xffffu;
    iem_sp_set(c, iem_sp_add(c, w / 8));
    iem_write_eflags_masked(c, v, mask);
    c->s->eflags &= ~CPUM_EFL_RF;
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_popf = { .f = { [IEM_S_NONE] = { NULL, ix_popf, ix_popf } } };

IEM_STATIC_HANDLER(ix_leave)
{
    unsigned w = IEM_IS_OSZ32(i) ? 32 : 16;
    uint32_t sp = iem_ss32(c) ? c->r[CPUM_EBP] : (c->r[CPUM_EBP] & 0xffffu);
    uint32_t v = iem_rdw(c, i, CPUM_SS, sp, w);
    iem_sp_set(c, sp + w / 8);
    iem_rset(c, CPUM_EBP, v, w);
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_leave = { .f = { [IEM_S_NONE] = { NULL, ix_leave, ix_leave } } };
