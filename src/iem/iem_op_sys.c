/* SPDX-License-Identifier: MIT */
/*
 * System instructions: HLT, CLI/STI (IOPL, STI shadow), CLC/STC/CMC/CLD/STD,
 * IN/OUT through IOM (IOPL check; the TSS I/O bitmap is a later step),
 * LGDT/LIDT/SGDT/SIDT, LMSW/SMSW, CLTS, INVLPG, MOV CRn/DRn, CPUID, RDTSC,
 * RDMSR/WRMSR (SDM Vol. 2 instruction pages; CPUID identity in
 * docs/iem.md).  The x87 and WAIT are in iem_op_fpu.c.
 */
#define LOG_GROUP LOG_GROUP_IEM
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

static inline void iem_need_cpl0(struct iem_cpu *c, const struct iem_ix *i)
{
    if (c->cpl != 0 || (c->s->eflags & CPUM_EFL_VM))
        iem_raise_gp(c, i, 0);
}
static inline unsigned iem_iopl(const struct iem_cpu *c) { return (c->s->eflags & CPUM_EFL_IOPL) >> 12; }

IEM_STATIC_HANDLER(ix_hlt)
{
    iem_need_cpl0(c, i);
    c->halted = true;
    c->exit_rc = IXVM_INF_EM_HALT;
    return iem_branch_exit(c, i, iem_eip_next(c, i));
}
const struct iem_hset iem_hs_hlt = { .f = { [IEM_S_NONE] = { NULL, ix_hlt, ix_hlt } } };

/* CLI/STI: CPL <= IOPL in protected mode, IOPL 3 in V86; otherwise VME/PVI
 * change VIF instead (iem_vif_cli_sti) or #GP(0).  True: IF may change. */
static bool iem_if_check(struct iem_cpu *c, const struct iem_ix *i, bool sti)
{
    if ((c->s->cr0 & CPUM_CR0_PE) && c->cpl > iem_iopl(c)) {
        iem_vif_cli_sti(c, i, sti);
        return false;
    }
    return true;
}
IEM_STATIC_HANDLER(ix_cli)
{
    if (iem_if_check(c, i, false))
        c->s->eflags &= ~CPUM_EFL_IF;
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_sti)
{
    if (!iem_if_check(c, i, true)) {
        IEM_NEXT(c, i);
    }
    if (!(c->s->eflags & CPUM_EFL_IF))
        c->shadow_set = true;   /* SDM Vol. 2 "STI": one-instruction interrupt shadow */
    c->s->eflags |= CPUM_EFL_IF;
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_cli = { .f = { [IEM_S_NONE] = { NULL, ix_cli, ix_cli } } };
const struct iem_hset iem_hs_sti = { .f = { [IEM_S_NONE] = { NULL, ix_sti, ix_sti } } };

IEM_STATIC_HANDLER(ix_clc) { iem_lf_set_cf(c, 0); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_stc) { iem_lf_set_cf(c, 1); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_cmc) { iem_lf_set_cf(c, !iem_cf(c)); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_cld) { c->s->eflags &= ~CPUM_EFL_DF; IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_std) { c->s->eflags |= CPUM_EFL_DF; IEM_NEXT(c, i); }
#define IEM_HS_NONE(n) const struct iem_hset iem_hs_##n = { .f = { [IEM_S_NONE] = { ix_##n, ix_##n, ix_##n } } };
IEM_HS_NONE(clc)
IEM_HS_NONE(stc)
IEM_HS_NONE(cmc)
IEM_HS_NONE(cld)
IEM_HS_NONE(std)

/* ---- port I/O ---- */
/* IOPL and TSS I/O bit map: iem_io_check() in iem_io.c. */
static void iem_in(struct iem_cpu *c, const struct iem_ix *i, uint16_t port, unsigned w)
{
    iem_io_check(c, i, port, w / 8);
    uint32_t v = 0;
    (void)iom_in(c->iom, port, w / 8, &v);
    iem_rset(c, CPUM_EAX, v, w);
    if (IXVM_UNLIKELY(c->dbg_armed))
        iem_dbg_io(c, port, w / 8);   /* I/O breakpoints (iem_dbg.c) */
}
static void iem_out(struct iem_cpu *c, const struct iem_ix *i, uint16_t port, unsigned w)
{
    iem_io_check(c, i, port, w / 8);
    (void)iom_out(c->iom, port, iem_rget(c, CPUM_EAX, w), w / 8);
    if (IXVM_UNLIKELY(c->dbg_armed))
        iem_dbg_io(c, port, w / 8);   /* I/O breakpoints (iem_dbg.c) */
}
#define IEM_IO_W(W)                                                                       \
    IEM_STATIC_HANDLER(ix_in_imm##W) { iem_in(c, i, (uint8_t)i->imm, W); IEM_NEXT(c, i); } \
    IEM_STATIC_HANDLER(ix_in_dx##W) { iem_in(c, i, (uint16_t)c->r[CPUM_EDX], W); IEM_NEXT(c, i); } \
    IEM_STATIC_HANDLER(ix_out_imm##W) { iem_out(c, i, (uint8_t)i->imm, W); IEM_NEXT(c, i); } \
    IEM_STATIC_HANDLER(ix_out_dx##W) { iem_out(c, i, (uint16_t)c->r[CPUM_EDX], W); IEM_NEXT(c, i); }
IEM_IO_W(8)
IEM_IO_W(16)
IEM_IO_W(32)
const struct iem_hset iem_hs_in_imm = { .f = { [IEM_S_RI] = { ix_in_imm8, ix_in_imm16, ix_in_imm32 } } };
const struct iem_hset iem_hs_out_imm = { .f = { [IEM_S_RI] = { ix_out_imm8, ix_out_imm16, ix_out_imm32 } } };
const struct iem_hset iem_hs_in_dx = { .f = { [IEM_S_NONE] = { ix_in_dx8, ix_in_dx16, ix_in_dx32 } } };
const struct iem_hset iem_hs_out_dx = { .f = { [IEM_S_NONE] = { ix_out_dx8, ix_out_dx16, ix_out_dx32 } } };

/* ---- descriptor-table registers ---- */
static void iem_sdt(struct iem_cpu *c, const struct iem_ix *i, const struct cpum_dtr *d)
{
    uint32_t ea = iem_ea(c, i);
    /* 6 bytes mapped at once: limit then base (24 bits with a 16-bit operand). */
    uint8_t *p = iem_map_w(c, i, IEM_SEG(i), ea, 6, false);
    uint32_t base = IEM_IS_OSZ32(i) ? d->base : (d->base & 0xffffffu);
    memcpy(p, &d->limit, 2);
    memcpy(p + 2, &base, 4);
    iem_commit_w(c, i, p);
}
static void iem_ldt_reg(struct iem_cpu *c, const struct iem_ix *i, struct cpum_dtr *d)
{
    iem_need_cpl0(c, i);
    uint32_t ea = iem_ea(c, i);
    uint16_t limit = iem_rd16(c, i, IEM_SEG(i), ea);
    uint32_t base = iem_rd32(c, i, IEM_SEG(i), ea + 2);
    d->limit = limit;
    d->base = IEM_IS_OSZ32(i) ? base : (base & 0xffffffu);
}
IEM_STATIC_HANDLER(ix_sgdt) { iem_sdt(c, i, &c->s->gdtr); IEM_NEXT_W(c, i); }
IEM_STATIC_HANDLER(ix_sidt) { iem_sdt(c, i, &c->s->idtr); IEM_NEXT_W(c, i); }
IEM_STATIC_HANDLER(ix_lgdt) { iem_ldt_reg(c, i, &c->s->gdtr); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_lidt) { iem_ldt_reg(c, i, &c->s->idtr); IEM_NEXT(c, i); }
#define IEM_HS_M(n) const struct iem_hset iem_hs_##n = { .f = { [IEM_S_M] = { NULL, ix_##n, ix_##n } } };
IEM_HS_M(sgdt)
IEM_HS_M(sidt)
IEM_HS_M(lgdt)
IEM_HS_M(lidt)

IEM_STATIC_HANDLER(ix_smsw_r)
{
    iem_rset(c, i->r0, c->s->cr0, IEM_IS_OSZ32(i) ? 32 : 16);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_smsw_m)
{
    iem_wr16(c, i, IEM_SEG(i), iem_ea(c, i), c->s->cr0);
    IEM_NEXT_W(c, i);
}
const struct iem_hset iem_hs_smsw = { .f = { [IEM_S_R] = { NULL, ix_smsw_r }, [IEM_S_M] = { NULL, ix_smsw_m } } };

/* LMSW loads PE MP EM TS and cannot clear PE (SDM Vol. 2 "LMSW"). */
static void iem_lmsw(struct iem_cpu *c, const struct iem_ix *i, uint16_t v)
{
    iem_need_cpl0(c, i);
    uint32_t cr0 = c->s->cr0;
    uint32_t nv = (cr0 & ~0xeu) | (v & 0xfu) | (cr0 & CPUM_CR0_PE);
    iem_write_cr0(c, i, nv);
}
IEM_STATIC_HANDLER(ix_lmsw_r) { iem_lmsw(c, i, (uint16_t)c->r[i->r0]); IEM_NEXT(c, i); }
IEM_STATIC_HANDLER(ix_lmsw_m) { iem_lmsw(c, i, iem_rd16(c, i, IEM_SEG(i), iem_ea(c, i))); IEM_NEXT(c, i); }
const struct iem_hset iem_hs_lmsw = { .f = { [IEM_S_R] = { NULL, ix_lmsw_r }, [IEM_S_M] = { NULL, ix_lmsw_m } } };

IEM_STATIC_HANDLER(ix_invlpg)
{
    iem_need_cpl0(c, i);
    iem_tlb_flush_page(c, c->segc[IEM_SEG(i)].base + iem_ea(c, i));
    IEM_NEXT(c, i);
}
IEM_HS_M(invlpg)

IEM_STATIC_HANDLER(ix_clts)
{
    iem_need_cpl0(c, i);
    c->s->cr0 &= ~CPUM_CR0_TS;
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_clts = { .f = { [IEM_S_NONE] = { NULL, ix_clts, ix_clts } } };

/* MOV r32, CRn / MOV CRn, r32 (operand size is always 32). */
IEM_STATIC_HANDLER(ix_mov_from_cr)
{
    iem_need_cpl0(c, i);
    const struct cpum_state *s = c->s;
    uint32_t v;
    switch (i->r1) {
    case 0: v = s->cr0; break;
    case 2: v = s->cr2; break;
    case 3: v = s->cr3; break;
    case 4: v = s->cr4; break;
    default: iem_raise_ud(c, i);
    }
    c->r[i->r0] = v;
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_mov_to_cr)
{
    iem_need_cpl0(c, i);
    uint32_t v = c->r[i->r1];
    switch (i->r0) {
    case 0: iem_write_cr0(c, i, v); break;
    case 2: c->s->cr2 = v; break;
    case 3: iem_write_cr3(c, v); break;
    case 4: iem_write_cr4(c, i, v); break;
    default: iem_raise_ud(c, i);
    }
    IEM_NEXT(c, i);
}
/* MOV DRn: DR4/DR5 aliases, DR7.GD and breakpoint arming are in iem_dbg.c. */
IEM_STATIC_HANDLER(ix_mov_from_dr)
{
    iem_need_cpl0(c, i);
    c->r[i->r0] = iem_dbg_mov_from(c, i, i->r1);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_mov_to_dr)
{
    iem_need_cpl0(c, i);
    iem_dbg_mov_to(c, i, i->r0, c->r[i->r1]);
    IEM_NEXT(c, i);
}
#define IEM_HS_RR32(n) const struct iem_hset iem_hs_##n = { .f = { [IEM_S_RR] = { NULL, NULL, ix_##n } } };
IEM_HS_RR32(mov_from_cr)
IEM_HS_RR32(mov_to_cr)
IEM_HS_RR32(mov_from_dr)
IEM_HS_RR32(mov_to_dr)

/* ---- identification, time, MSRs ---- */
/* CPUID leaf 1 EDX: only what is implemented (docs/iem.md "CPUID"). */
#define IEM_CPUID_EDX ((1u << 0) /* FPU */ | (1u << 1) /* VME */ | (1u << 2) /* DE */ | (1u << 3) /* PSE */ | (1u << 4) /* TSC */ | (1u << 5) /* MSR */ | \
                       (1u << 6) /* PAE */ | (1u << 8) /* CX8 */ | (1u << 11) /* SEP */ | (1u << 13) /* PGE */ | (1u << 15) /* CMOV */ | \
                       (1u << 16) /* PAT */)
IEM_STATIC_HANDLER(ix_cpuid)
{
    uint32_t *r = c->r, leaf = r[CPUM_EAX];
    uint32_t a = 0, b = 0, cx = 0, d = 0;
    if (leaf == 0) {
        a = 2;
        b = 0x756e6547u;   /* "GenuineIntel" */
        d = 0x49656e69u;
        cx = 0x6c65746eu;
    } else if (leaf == 1) {
        a = 0x00000633u;   /* family 6, model 3, stepping 3: matches the reset EDX */
        b = c->cpu_id << 24;
        d = IEM_CPUID_EDX;
    } else if (leaf == 2) {
        a = 0x03020101u;   /* P6 TLB/cache descriptors */
        d = 0x0c040843u;
    } else if (leaf == 0x80000000u) {
        a = 0x80000001u;
    } else if (leaf == 0x80000001u) {
        d = 1u << 20;      /* NX (EFER.NXE with PAE) */
    } else if (leaf <= 2 || (leaf >= 0x80000000u && leaf <= 0x80000001u)) {
        a = 0;
    } else if (leaf < 0x80000000u) {
        /* Out of range: the highest basic leaf (SDM Vol. 2 "CPUID"). */
        a = 0x03020101u;
        d = 0x0c040843u;
    }
    r[CPUM_EAX] = a;
    r[CPUM_EBX] = b;
    r[CPUM_ECX] = cx;
    r[CPUM_EDX] = d;
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_cpuid = { .f = { [IEM_S_NONE] = { NULL, ix_cpuid, ix_cpuid } } };

IEM_STATIC_HANDLER(ix_rdtsc)
{
    if ((c->s->cr4 & CPUM_CR4_TSD) && c->cpl != 0 && (c->s->cr0 & CPUM_CR0_PE))
        iem_raise_gp(c, i, 0);
    uint64_t t = iem_tsc(c);
    c->r[CPUM_EAX] = (uint32_t)t;
    c->r[CPUM_EDX] = (uint32_t)(t >> 32);
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_rdtsc = { .f = { [IEM_S_NONE] = { NULL, ix_rdtsc, ix_rdtsc } } };

/* The MSRs of struct cpum_msrs (SDM Vol. 4 table 2-2..2-3 subset). */
static uint64_t *iem_msr_slot(struct iem_cpu *c, uint32_t msr)
{
    struct cpum_msrs *m = &c->s->msr;
    switch (msr) {
    case 0x1b: return &m->apic_base;
    case 0x277: return &m->pat;
    case 0xfe: return &m->mtrr_cap;
    case 0x2ff: return &m->mtrr_def_type;
    case 0x1a0: return &m->misc_enable;
    case 0xc0000080u: return &m->efer;
    case 0x8b: return &m->bios_sign_id;
    default: break;
    }
    if (msr >= 0x200 && msr < 0x210)
        return &m->mtrr_phys[msr - 0x200];
    static const uint32_t fix[11] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f };
    for (unsigned k = 0; k < 11; k++)
        if (fix[k] == msr)
            return &m->mtrr_fix[k];
    return NULL;
}
IEM_STATIC_HANDLER(ix_rdmsr)
{
    iem_need_cpl0(c, i);
    uint32_t msr = c->r[CPUM_ECX];
    uint64_t v;
    if (msr == 0x10) {
        v = iem_tsc(c);
    } else if (msr == 0x174 || msr == 0x175 || msr == 0x176) {
        v = msr == 0x174 ? c->s->msr.sysenter_cs : msr == 0x175 ? c->s->msr.sysenter_esp : c->s->msr.sysenter_eip;
    } else {
        uint64_t *p = iem_msr_slot(c, msr);
        if (!p)
            iem_raise_gp(c, i, 0);
        v = *p;
    }
    c->r[CPUM_EAX] = (uint32_t)v;
    c->r[CPUM_EDX] = (uint32_t)(v >> 32);
    IEM_NEXT(c, i);
}
IEM_STATIC_HANDLER(ix_wrmsr)
{
    iem_need_cpl0(c, i);
    uint32_t msr = c->r[CPUM_ECX];
    uint64_t v = (uint64_t)c->r[CPUM_EDX] << 32 | c->r[CPUM_EAX];
    if (!iem_msr_write_ok(msr, v))
        iem_raise_gp(c, i, 0);   /* reserved bits or memory types (iem_msr.c) */
    if (msr == 0x10) {
        c->s->msr.tsc_offset = v - (iem_tsc(c) - c->s->msr.tsc_offset);
    } else if (msr == 0x174 || msr == 0x175 || msr == 0x176) {
        uint32_t *p = msr == 0x174 ? &c->s->msr.sysenter_cs : msr == 0x175 ? &c->s->msr.sysenter_esp : &c->s->msr.sysenter_eip;
        *p = (uint32_t)v;
    } else if (msr == 0xc0000080u) {
        if (v & ~CPUM_EFER_NXE)
            iem_raise_gp(c, i, 0);
        c->s->msr.efer = v;
        iem_tlb_flush(c, true);
    } else {
        uint64_t *p = iem_msr_slot(c, msr);
        if (!p || msr == 0xfe)
            iem_raise_gp(c, i, 0);
        *p = v;
    }
    IEM_NEXT(c, i);
}
const struct iem_hset iem_hs_rdmsr = { .f = { [IEM_S_NONE] = { NULL, ix_rdmsr, ix_rdmsr } } };
const struct iem_hset iem_hs_wrmsr = { .f = { [IEM_S_NONE] = { NULL, ix_wrmsr, ix_wrmsr } } };

IEM_STATIC_HANDLER(ix_ud2) { iem_raise_ud(c, i); }
const struct iem_hset iem_hs_ud2 = { .f = { [IEM_S_NONE] = { NULL, ix_ud2, ix_ud2 } } };
IEM_STATIC_HANDLER(ix_invd) { iem_need_cpl0(c, i); IEM_NEXT(c, i); }
const struct iem_hset iem_hs_invd = { .f = { [IEM_S_NONE] = { NULL, ix_invd, ix_invd } } };
IEM_STATIC_HANDLER(ix_nop) { IEM_NEXT(c, i); }
const struct iem_hset iem_hs_nop_ev = { .f = { [IEM_S_R] = { NULL, ix_nop, ix_nop }, [IEM_S_M] = { NULL, ix_nop, ix_nop } } };
