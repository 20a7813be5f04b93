/* SPDX-License-Identifier: MIT */
/*
 * Memory slow paths: soft-TLB fills and flushes (IEM-DESIGN.md 5), the page
 * walk (SDM Vol. 3A 4.3 32-bit paging with PSE, 4.4 PAE paging with NX;
 * A/D bits, 4.8; #PF error codes, 4.7), segment limit faults, page-crossing
 * and MMIO/ROM accesses through a bounce buffer with SMC detection, and
 * control-register writes that affect translation.
 */
#define LOG_GROUP LOG_GROUP_IEM_MEM
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

/* ---- TLB ---- */
void iem_tlb_flush(struct iem_cpu *c, bool global_too)
{
    if (global_too || !(c->s->cr4 & CPUM_CR4_PGE)) {
        if (++c->rev == 0) {
            memset(c->tlb_tab, 0, sizeof(c->tlb_tab));
            c->rev = 1;
        }
        c->tlb_has_large = false;
    } else {
        for (unsigned t = 0; t < 2; t++)
            for (unsigned k = 0; k < IEM_TLB_SIZE; k++)
                if (!c->tlb_global[t][k])
                    c->tlb_tab[t][k].tag_r = c->tlb_tab[t][k].tag_w = c->tlb_tab[t][k].tag_x = 0;
    }
    c->tlb_rev = (uint64_t)c->rev << 32;
    c->jc_gen++;
    stam_counter_inc(&c->st.tlb_flush);
}

void iem_tlb_flush_page(struct iem_cpu *c, uint32_t la)
{
    if (c->tlb_has_large) {
        iem_tlb_flush(c, true);
        return;
    }
    unsigned k = (la >> 12) & (IEM_TLB_SIZE - 1);
    for (unsigned t = 0; t < 2; t++)
        c->tlb_tab[t][k].tag_r = c->tlb_tab[t][k].tag_w = c->tlb_tab[t][k].tag_x = 0;
    c->jc_gen++;
}

uint64_t iem_phys_read(struct iem_cpu *c, uint64_t pa, unsigned size)
{
    return pgm_mmio_read(c->pgm, pa & (0xffffffff00000000ull | c->a20_mask), size);
}

/* Set bits in a paging-structure entry (A/D), atomically on RAM. */
static void iem_pte_set(struct iem_cpu *c, uint64_t pa, uint32_t bits)
{
    pa &= 0xffffffff00000000ull | c->a20_mask;
    struct pgm_page_info pi;
    pgm_page_lookup(c->pgm, pa, &pi);
    if (pi.kind == PGM_PAGE_RAM)
        __atomic_fetch_or((uint32_t *)(void *)(pi.host + (pa & 0xffc)), bits, __ATOMIC_SEQ_CST);
    else
        pgm_mmio_write(c->pgm, pa, pgm_mmio_read(c->pgm, pa, 4) | bits, 4);
}

#define PTE_P   0x001u
#define PTE_RW  0x002u
#define PTE_US  0x004u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PTE_PS  0x080u
#define PTE_G   0x100u
#define PF_P    0x01u
#define PF_W    0x02u
#define PF_U    0x04u
#define PF_RSVD 0x08u
#define PF_ID   0x10u

struct iem_walk {
    uint64_t pa;
    bool rw, us, nx, global, large, dirty;
};

/* Walk the guest page tables for la; raises #PF; sets A (and D for writes). */
static void iem_walk(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned kind, bool user,
                     struct iem_walk *w)
{
    const struct cpum_state *s = c->s;
    bool pae = (s->cr4 & CPUM_CR4_PAE) != 0;
    bool nxe = pae && (s->msr.efer & CPUM_EFER_NXE);
    uint32_t err = (kind == IEM_ACC_W ? PF_W : 0) | (user ? PF_U : 0) | (kind == IEM_ACC_X && nxe ? PF_ID : 0);
    uint64_t ent_pa[2];
    uint64_t ent[2];
    unsigned nlev = 0;
    bool rw = true, us = true, nx = false, large = false;
    uint64_t leaf, pa;

    if (pae) {
        /* Reserved: bits 63:36 (MAXPHYADDR 36), NX when NXE=0 (SDM 4.4.2). */
        uint64_t rsvd = 0x7ffffff000000000ull | (nxe ? 0 : (1ull << 63));
        uint64_t pdpte = iem_phys_read(c, (s->cr3 & 0xffffffe0u) + ((la >> 30) << 3), 8);
        if (!(pdpte & PTE_P))
            iem_raise_pf(c, i, la, err);
        /* PDPTE reserved: 63:36 (MAXPHYADDR 36; NX is no PDPTE bit), 8:5 and 2:1 (SDM 4.4.1, Table 4-8). */
        if (pdpte & (0xfffffff000000000ull | 0x1e6ull))
            iem_raise_pf(c, i, la, err | PF_P | PF_RSVD);
        ent_pa[0] = (pdpte & 0xffffff000ull) + (((la >> 21) & 0x1ffu) << 3);
        ent[0] = iem_phys_read(c, ent_pa[0], 8);
        nlev = 1;
        if (!(ent[0] & PTE_P))
            iem_raise_pf(c, i, la, err);
        if ((ent[0] & rsvd) || ((ent[0] & PTE_PS) && (ent[0] & 0x1fe000ull)))
            iem_raise_pf(c, i, la, err | PF_P | PF_RSVD);
        rw = ent[0] & PTE_RW;
        us = ent[0] & PTE_US;
        nx = (ent[0] >> 63) & 1;
        if (ent[0] & PTE_PS) {
            large = true;
            leaf = ent[0];
            pa = (ent[0] & 0xfffe00000ull) | (la & 0x1fffffu);
        } else {
            ent_pa[1] = (ent[0] & 0xffffff000ull) + (((la >> 12) & 0x1ffu) << 3);
            ent[1] = iem_phys_read(c, ent_pa[1], 8);
            nlev = 2;
            if (!(ent[1] & PTE_P))
                iem_raise_pf(c, i, la, err);
            if (ent[1] & rsvd)
                iem_raise_pf(c, i, la, err | PF_P | PF_RSVD);
            rw = rw && (ent[1] & PTE_RW);
            us = us && (ent[1] & PTE_US);
            nx = nx || ((ent[1] >> 63) & 1);
            leaf = ent[1];
            pa = (ent[1] & 0xffffff000ull) | (la & 0xfffu);
        }
    } else {
        ent_pa[0] = (s->cr3 & 0xfffff000u) | ((la >> 22) << 2);
        ent[0] = iem_phys_read(c, ent_pa[0], 4);
        nlev = 1;
        if (!(ent[0] & PTE_P))
            iem_raise_pf(c, i, la, err);
        rw = ent[0] & PTE_RW;
        us = ent[0] & PTE_US;
        if ((ent[0] & PTE_PS) && (s->cr4 & CPUM_CR4_PSE)) {
            /* Without PSE-36 (not reported) bits 21:13 of a 4 MiB PDE are
             * reserved (SDM 3A 4.3, Table 4-4; 4.7: P=1, RSVD=1). */
            if (ent[0] & 0x3fe000u)
                iem_raise_pf(c, i, la, err | PF_P | PF_RSVD);
            large = true;
            leaf = ent[0];
            pa = (ent[0] & 0xffc00000u) | (la & 0x3fffffu);
        } else {
            ent_pa[1] = (ent[0] & 0xfffff000u) | (((la >> 12) & 0x3ffu) << 2);
            ent[1] = iem_phys_read(c, ent_pa[1], 4);
            nlev = 2;
            if (!(ent[1] & PTE_P))
                iem_raise_pf(c, i, la, err);
            rw = rw && (ent[1] & PTE_RW);
            us = us && (ent[1] & PTE_US);
            leaf = ent[1];
            pa = (ent[1] & 0xfffff000u) | (la & 0xfffu);
        }
    }
    /* Access rights (SDM Vol. 3A 4.6). */
    bool wp = (s->cr0 & CPUM_CR0_WP) != 0;
    if (user && !us)
        iem_raise_pf(c, i, la, err | PF_P);
    if (kind == IEM_ACC_W && !rw && (user || wp))
        iem_raise_pf(c, i, la, err | PF_P);
    if (kind == IEM_ACC_X && nx && nxe)
        iem_raise_pf(c, i, la, err | PF_P);
    /* Accessed on every level used, dirty on the leaf for writes (4.8). */
    for (unsigned k = 0; k < nlev; k++) {
        uint32_t bits = (ent[k] & PTE_A) ? 0 : PTE_A;
        bool is_leaf = k == nlev - 1;
        if (is_leaf && kind == IEM_ACC_W && !(ent[k] & PTE_D))
            bits |= PTE_D;
        if (bits)
            iem_pte_set(c, ent_pa[k], bits);
        if (is_leaf)
            leaf |= bits;
    }
    w->pa = pa;
    w->rw = rw;
    w->us = us;
    w->nx = nx && nxe;
    w->large = large;
    w->global = (leaf & PTE_G) && (s->cr4 & CPUM_CR4_PGE);
    w->dirty = (leaf & PTE_D) != 0;
}

uint64_t iem_translate(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned acc)
{
    const struct cpum_state *s = c->s;
    unsigned kind = acc & 3u;
    bool user = c->cpl == 3 && !(acc & IEM_ACC_SYS);
    struct iem_walk w = { .pa = la, .rw = true, .us = true, .dirty = true };
    if (s->cr0 & CPUM_CR0_PG)
        iem_walk(c, i, la, kind, user, &w);
    uint64_t pa = w.pa & (0xffffffff00000000ull | c->a20_mask);
    pgm_page_lookup(c->pgm, pa & ~0xfffull, &c->xl);
    stam_counter_inc(&c->st.tlb_miss);

    /* Fill the entry of the privilege class that made the access; system
     * accesses at CPL 3 are supervisor accesses.  Instruction fetches fill
     * nothing: blocks are found through the jump cache and the block index
     * (tag_x has no fast-path reader), and a code page must not evict the
     * data entry sharing its slot, a global one in particular (it survives
     * MOV CR3 as on hardware, SDM 3A 4.10.2.4). */
    unsigned t = user ? 1 : 0;
    if (kind != IEM_ACC_X && (!(acc & IEM_ACC_SYS) || c->cpl != 3)) {
        unsigned k = (la >> 12) & (IEM_TLB_SIZE - 1);
        struct iem_tlbe *e = &c->tlb_tab[t][k];
        uint64_t tag = (uint64_t)(la & 0xfffff000u) | ((uint64_t)c->rev << 32);
        bool wp = (s->cr0 & CPUM_CR0_WP) != 0;
        bool can_r = user ? w.us : true;
        bool can_w = (user ? (w.us && w.rw) : (w.rw || !wp)) && w.dirty;
        bool can_x = (user ? w.us : true) && !w.nx;
        bool direct = c->xl.kind == PGM_PAGE_RAM || c->xl.kind == PGM_PAGE_ROM;
        bool code = atomic_load_explicit(&c->xl.code->code_mask, memory_order_acquire) != 0;
        e->tag_r = tag | (can_r && direct ? 0 : IEM_TLB_NO);
        e->tag_w = tag | (can_w && c->xl.kind == PGM_PAGE_RAM && !code ? 0 : IEM_TLB_NO);
        e->tag_x = tag | (can_x && direct ? 0 : IEM_TLB_NO);
        e->addend = direct ? (uintptr_t)c->xl.host - (la & 0xfffff000u) : 0;
        if (IXVM_UNLIKELY(c->dbg_watch) && iem_dbg_watched(c, la)) {
            /* Data breakpoint on this page: every data access takes the slow path. */
            e->tag_r |= IEM_TLB_NO;
            e->tag_w |= IEM_TLB_NO;
        }
        c->tlb_global[t][k] = w.global;
        if (w.large)
            c->tlb_has_large = true;
    }
    return pa;
}

_Noreturn void iem_seg_fault(struct iem_cpu *c, const struct iem_ix *i, unsigned sreg, uint32_t off,
                             unsigned size, unsigned acc)
{
    LOG2("segment %u limit/type fault off %#x size %u acc %u", sreg, off, size, acc);
    if (sreg == CPUM_SS)
        iem_raise_ss(c, i, 0);
    iem_raise_gp(c, i, 0);
}

/* Read n (1..8) bytes that stay within one page. */
static uint64_t iem_rd_part(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned n, unsigned acc)
{
    uint64_t pa = iem_translate(c, i, la, acc);
    if (n == 1 || n == 2 || n == 4 || n == 8)
        return pgm_mmio_read(c->pgm, pa, n);
    uint64_t v = 0;
    for (unsigned b = 0; b < n; b++)
        v |= pgm_mmio_read(c->pgm, pa + b, 1) << (8 * b);
    return v;
}

uint64_t iem_rd_slow(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned size, unsigned acc)
{
    if (IXVM_UNLIKELY(c->dbg_watch) && !(acc & IEM_ACC_SYS))
        iem_dbg_data(c, la, size, false);
    unsigned n0 = 0x1000u - (la & 0xfffu);
    if (n0 >= size)
        return iem_rd_part(c, i, la, size, acc);
    /* Page crossing: both halves translated (faults) before combining. */
    uint64_t lo = iem_rd_part(c, i, la, n0, acc);
    uint64_t hi = iem_rd_part(c, i, la + n0, size - n0, acc);
    return lo | hi << (8 * n0);
}

uint64_t iem_sys_read(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned size)
{
    return iem_rd_slow(c, i, la, size, IEM_ACC_R | IEM_ACC_SYS);
}

void iem_sys_write(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, uint64_t val, unsigned size)
{
    void *p = iem_map_w_slow(c, i, la, size, false, IEM_ACC_W | IEM_ACC_SYS);
    memcpy(p, &val, size);
    iem_commit_w(c, i, p);
}

void *iem_map_w_slow(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned size, bool rmw,
                     unsigned acc)
{
    if (IXVM_UNLIKELY(c->dbg_watch) && !(acc & IEM_ACC_SYS))
        iem_dbg_data(c, la, size, true);
    unsigned n0 = 0x1000u - (la & 0xfffu);
    if (n0 > size)
        n0 = size;
    uint64_t pa0 = iem_translate(c, i, la, acc);
    bool ram0 = c->xl.kind == PGM_PAGE_RAM;
    uint64_t pa1 = n0 < size ? iem_translate(c, i, la + n0, acc) : 0;
    if (n0 == size && !(acc & IEM_ACC_SYS)) {
        /* The fill may have made the page directly writable (first write
         * after the dirty bit got set). */
        struct iem_tlbe *e = iem_tlbe_of(c, la);
        if (e->tag_w == iem_tlb_tag(c, la))
            return (void *)(uintptr_t)(la + e->addend);
    }
    (void)ram0;
    c->bnc.pa0 = pa0;
    c->bnc.pa1 = pa1;
    c->bnc.len0 = n0;
    c->bnc.len = size;
    c->bnc.active = true;
    if (rmw) {
        for (unsigned b = 0; b < size; b++)
            c->bounce[b] = (uint8_t)pgm_mmio_read(c->pgm, (b < n0 ? pa0 + b : pa1 + (b - n0)), 1);
        if (n0 == size && (size == 2 || size == 4 || size == 8)) {
            uint64_t v = pgm_mmio_read(c->pgm, pa0, size);
            memcpy(c->bounce, &v, size);
        }
    }
    return c->bounce;
}

/* Write one part of the bounce buffer; note SMC hits on the running block. */
static void iem_commit_part(struct iem_cpu *c, uint64_t pa, const uint8_t *src, unsigned n)
{
    if (n == 1 || n == 2 || n == 4 || n == 8) {
        uint64_t v = 0;
        memcpy(&v, src, n);
        pgm_mmio_write(c->pgm, pa, v, n);
    } else {
        for (unsigned b = 0; b < n; b++)
            pgm_mmio_write(c->pgm, pa + b, src[b], 1);
    }
    /* pgm_mmio_write already invalidated decoded code; stop the running
     * block if its own page was hit (IEM-DESIGN.md 7). */
    const struct iem_block *b = c->cur;
    if (b && b->cp && atomic_load_explicit(&b->cp->code_gen, memory_order_relaxed) != b->gen)
        c->smc_stop = 1;
}

void iem_commit_slow(struct iem_cpu *c, const struct iem_ix *i)
{
    (void)i;
    c->bnc.active = false;
    iem_commit_part(c, c->bnc.pa0, c->bounce, c->bnc.len0);
    if (c->bnc.len > c->bnc.len0)
        iem_commit_part(c, c->bnc.pa1, c->bounce + c->bnc.len0, c->bnc.len - c->bnc.len0);
}

/* ---- control registers (SDM Vol. 3A 2.5, MOV CRn in Vol. 2) ---- */
void iem_write_cr0(struct iem_cpu *c, const struct iem_ix *i, uint32_t v)
{
    struct cpum_state *s = c->s;
    /* Reserved bits are ignored; ET is hardwired to 1 on P6. */
    v = (v & (CPUM_CR0_PE | CPUM_CR0_MP | CPUM_CR0_EM | CPUM_CR0_TS | CPUM_CR0_NE | CPUM_CR0_WP |
              CPUM_CR0_AM | CPUM_CR0_NW | CPUM_CR0_CD | CPUM_CR0_PG)) | CPUM_CR0_ET;
    if ((v & CPUM_CR0_PG) && !(v & CPUM_CR0_PE))
        iem_raise_gp(c, i, 0);
    if ((v & CPUM_CR0_NW) && !(v & CPUM_CR0_CD))
        iem_raise_gp(c, i, 0);
    uint32_t chg = s->cr0 ^ v;
    s->cr0 = v;
    /* PE alone leaves linear -> physical as it was (blocks and the jump
     * cache check the mode key themselves): SeaBIOS flips it on every
     * call32/call16, so only PG and WP flush. */
    if (chg & (CPUM_CR0_PG | CPUM_CR0_WP))
        iem_tlb_flush(c, true);
    if (chg & CPUM_CR0_PE) {
        /* Entering/leaving protected mode keeps the segment caches; CPL is
         * 0 right after the switch (CS.RPL of real mode is 0). */
        iem_set_cpl(c, 0);
        iem_segc_update_all(c);
    }
}

void iem_write_cr3(struct iem_cpu *c, uint32_t v)
{
    c->s->cr3 = v;
    iem_tlb_flush(c, false);
}

void iem_write_cr4(struct iem_cpu *c, const struct iem_ix *i, uint32_t v)
{
    /* Only the features CPUID reports (docs/iem.md "CPUID"). */
    const uint32_t ok = CPUM_CR4_VME | CPUM_CR4_PVI | CPUM_CR4_TSD | CPUM_CR4_DE | CPUM_CR4_PSE | CPUM_CR4_PAE |
                        CPUM_CR4_PGE | CPUM_CR4_PCE;
    if (v & ~ok)
        iem_raise_gp(c, i, 0);
    uint32_t chg = c->s->cr4 ^ v;
    c->s->cr4 = v;
    if (chg & (CPUM_CR4_PSE | CPUM_CR4_PAE | CPUM_CR4_PGE))
        iem_tlb_flush(c, true);
}
