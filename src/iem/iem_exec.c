/* SPDX-License-Identifier: MIT */
/*
 * The dispatcher: vCPU creation, the decoded-block cache (per vCPU,
 * direct-mapped index + bump arena, jump cache by linear EIP), block links
 * and chaining from handler to handler (IEM-DESIGN.md 3, docs/iem.md
 * "Dispatch"), SMC checks on every block entry, linked ones included, the
 * budget / forced-action loop, CMP/Jcc fusion at build time, exception landing
 * (setjmp at the instruction boundary, IEM-DESIGN.md 9-10), interrupt
 * injection, and the EFLAGS fold between lazy and architectural form.
 */
#define LOG_GROUP LOG_GROUP_IEM
#include <stdlib.h>

#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

const char *iem_dispatch_kind(void)
{
#if defined(IEM_USE_MUSTTAIL)
    return "musttail";
#else
    return "trampoline";
#endif
}

/* ---- EFLAGS fold ---- */
uint32_t iem_get_eflags(const struct iem_cpu *c)
{
    return (c->s->eflags & ~CPUM_EFL_STATUS) | iem_lf_eflags(c) | CPUM_EFL_1;
}

void iem_set_eflags(struct iem_cpu *c, uint32_t v)
{
    /* Bits 3, 5, 15, 22-31 read as zero, bit 1 as one (SDM Vol. 1 3.4.3). */
    v = (v & 0x003f7fd5u) | CPUM_EFL_1;
    iem_lf_set_eflags(c, v & CPUM_EFL_STATUS);
    c->s->eflags = v;
}

void iem_write_eflags_masked(struct iem_cpu *c, uint32_t v, uint32_t mask)
{
    iem_set_eflags(c, (iem_get_eflags(c) & ~mask) | (v & mask));
}

/* ---- records every family may use ---- */
IEM_HANDLER(ix_raise_ud) { iem_raise_ud(c, i); }
IEM_HANDLER(ix_raise_gp0) { iem_raise_gp(c, i, 0); }
/* Terminator record: the block ran into its size or page limit (or it is a
 * one-instruction block); go on at the next EIP, linked if possible. */
IEM_HANDLER(ix_block_end)
{
    c->s->eip = iem_eip_cur(c, i);
    if (!(c->s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D))
        c->s->eip &= 0xffffu;
    const struct iem_block *nb = iem_chain_next(c);
    if (!nb)
        return NULL;
#if defined(IEM_USE_MUSTTAIL)
    __attribute__((musttail)) return nb->ix[0].fn(c, nb->ix);
#else
    return nb->ix;
#endif
}

const struct iem_ix *iem_stop_after(struct iem_cpu *c, const struct iem_ix *i)
{
    uint32_t done = (uint32_t)(i - c->cur->ix) + 1;
    uint32_t undo = c->cur->n - done;
    iem_icount_add(c, -(int64_t)(undo));
    c->budget += undo;
    c->s->eip = iem_eip_next(c, i);
    c->smc_stop = 0;
    return NULL;
}

/* ---- block cache ---- */
uint32_t iem_mode_key(const struct iem_cpu *c)
{
    const struct cpum_state *s = c->s;
    return ((s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D) ? 1u : 0u) | ((s->cr0 & CPUM_CR0_PE) ? 2u : 0u) |
           ((s->eflags & CPUM_EFL_VM) ? 4u : 0u);
}

static inline uint32_t iem_bidx_hash(uint64_t pa, uint32_t eip)
{
    return (uint32_t)(((pa ^ ((uint64_t)eip << 7)) * 0x9e3779b97f4a7c15ull) >> 48) & (IEM_BIDX_SIZE - 1);
}
static inline uint32_t iem_jc_hash(uint32_t lin) { return (lin ^ (lin >> 12)) & (IEM_JC_SIZE - 1); }

static void iem_cache_flush(struct iem_cpu *c)
{
    memset(c->bidx, 0, IEM_BIDX_SIZE * sizeof(*c->bidx));
    c->arena_used = 0;
    c->jc_gen++;
    stam_counter_inc(&c->st.blk_flush);
}

/* Breakpoints changed (iem_dbgf.c): decode everything again. */
void iem_blocks_flush(struct iem_cpu *c) { iem_cache_flush(c); }

static bool iem_block_valid(const struct iem_cpu *c, const struct iem_block *b, uint32_t eip, uint32_t mode)
{
    const struct cpum_seg *cs = &c->s->seg[CPUM_CS];
    return b->eip0 == eip && b->cs_base == cs->base && b->mode == mode && b->eip_end - 1 <= cs->limit &&
           atomic_load_explicit(&b->cp->code_gen, memory_order_acquire) == b->gen;
}

/* Mark the granules [from, to) of the page as holding code. */
static void iem_mark_code(struct iem_cpu *c, struct pgm_code_page *cp, unsigned from, unsigned to)
{
    unsigned g0 = from >> PGM_CODE_GRANULE_SHIFT, g1 = (to - 1) >> PGM_CODE_GRANULE_SHIFT;
    uint32_t bits = (uint32_t)((2ull << g1) - (1ull << g0));
    uint32_t old = atomic_fetch_or_explicit(&cp->code_mask, bits, memory_order_seq_cst);
    if (!old) {
        /* The page may be mapped writable in some TLB: make everyone refill. */
        pgm_bump_tlb_epoch(c->pgm);
        iem_tlb_flush(c, true);
        c->epoch = pgm_tlb_epoch(c->pgm);
    }
}

/* Decode one instruction from a byte buffer into the uncached block c->one. */
static const struct iem_block *iem_one_from_bytes(struct iem_cpu *c, const uint8_t *buf, unsigned avail,
                                                  bool by_page, uint32_t eip, uint32_t mode)
{
    struct iem_block *b = c->one;
    struct iem_decode_in in = { .p = buf, .avail = avail, .truncated_by_page = by_page,
                                .d32 = mode & 1, .pe = (mode & 2) != 0, .v86 = (mode & 4) != 0,
                                .eip = eip, .eip_off = 0 };
    bool ends;
    if (iem_decode_one(&in, &b->ix[0], &ends) == IEM_DEC_MORE) {
        /* Bytes beyond the CS limit (or the page, already merged): #GP(0). */
        memset(&b->ix[0], 0, sizeof(b->ix[0]));
        b->ix[0].fn = ix_raise_gp0;
        b->ix[0].len = 1;
    }
    b->ix[1] = (struct iem_ix){ .fn = ix_block_end, .eip_off = b->ix[0].len };
    b->n = 1;
    b->eip0 = eip;
    b->cs_base = c->s->seg[CPUM_CS].base;
    b->eip_end = eip + b->ix[0].len;
    b->mode = mode;
    b->cp = NULL;
    b->linkable = 0;
    /* Debugger breakpoint on an uncached instruction (MMIO, page crossing). */
    if (IXVM_UNLIKELY(c->dbgf) && iem_dbgf_bp_here(c, c->s->seg[CPUM_CS].base + eip))
        iem_dbgf_bp_block(b);
    stam_counter_inc(&c->st.uncached);
    return b;
}

/* Fetch up to 15 instruction bytes at lin the slow way (page crossing, MMIO). */
static const struct iem_block *iem_one_slow(struct iem_cpu *c, uint32_t eip, uint32_t lin, uint32_t mode)
{
    const struct cpum_seg *cs = &c->s->seg[CPUM_CS];
    uint8_t buf[16];
    uint64_t lim_avail = (uint64_t)cs->limit - eip + 1;
    unsigned want = lim_avail < 15 ? (unsigned)lim_avail : 15, got = 0;
    bool by_page = lim_avail >= 15;
    /* First page: already translated by the caller (c->xl). */
    while (got < want) {
        uint32_t la = lin + got;
        unsigned in_page = 0x1000u - (la & 0xfffu);
        unsigned n = want - got < in_page ? want - got : in_page;
        uint64_t pa = iem_translate(c, NULL, la, IEM_ACC_X);
        for (unsigned k = 0; k < n; k++)
            buf[got + k] = (uint8_t)pgm_mmio_read(c->pgm, pa + k, 1);
        got += n;
        if (got < want) {
            /* Only fetch the next page if this instruction needs it. */
            struct iem_decode_in in = { .p = buf, .avail = got, .truncated_by_page = true,
                                        .d32 = mode & 1, .pe = (mode & 2) != 0, .v86 = (mode & 4) != 0,
                                        .eip = eip };
            struct iem_ix tmp;
            bool ends;
            if (iem_decode_one(&in, &tmp, &ends) == IEM_DEC_OK)
                return iem_one_from_bytes(c, buf, got, by_page, eip, mode);
        }
    }
    return iem_one_from_bytes(c, buf, got, by_page, eip, mode);
}

static const struct iem_block *iem_block_build(struct iem_cpu *c, uint32_t eip, uint32_t lin, uint64_t pa,
                                               uint32_t mode)
{
    const struct cpum_seg *cs = &c->s->seg[CPUM_CS];
    unsigned page_off = lin & 0xfffu;
    unsigned avail_page = 0x1000u - page_off;
    uint64_t lim_avail = (uint64_t)cs->limit - eip + 1;
    unsigned avail = lim_avail < avail_page ? (unsigned)lim_avail : avail_page;
    bool by_page = avail == avail_page;

    if (c->xl.kind != PGM_PAGE_RAM && c->xl.kind != PGM_PAGE_ROM)
        return iem_one_slow(c, eip, lin, mode);
    size_t need = sizeof(struct iem_block) + (IEM_BLOCK_MAX + 1) * sizeof(struct iem_ix);
    if (c->arena_used + need > c->arena_size)
        iem_cache_flush(c);
    struct iem_block *b = (struct iem_block *)(c->arena + c->arena_used);
    const uint8_t *host = c->xl.host + page_off;
    struct pgm_code_page *cp = c->xl.code;

    /* Mark before reading the bytes, read the generation after the first
     * mark: a racing writer either is seen or bumps code_gen. */
    unsigned marked = page_off + (avail < 16 ? avail : 16);
    iem_mark_code(c, cp, page_off, marked);
    b->gen = atomic_load_explicit(&cp->code_gen, memory_order_seq_cst);

    unsigned off = 0, n = 0;
    /* Debugger breakpoints (iem_dbgf.c): a block never runs into one; a
     * block starting at one stops before it.  Pages without: no cost. */
    bool bp_page = IXVM_UNLIKELY(c->dbgf != NULL) && iem_dbgf_bp_page(c, lin), bp_first = false;
    while (n < IEM_BLOCK_MAX && off < avail) {
        if (IXVM_UNLIKELY(bp_page) && iem_dbgf_bp_here(c, lin + off)) {
            if (n)
                break;
            bp_first = true;
        }
        unsigned end = page_off + off + 15 < page_off + avail ? page_off + off + 15 : page_off + avail;
        if (end > marked) {
            iem_mark_code(c, cp, marked, end);
            marked = end;
        }
        struct iem_decode_in in = { .p = host + off, .avail = avail - off, .truncated_by_page = by_page,
                                    .d32 = mode & 1, .pe = (mode & 2) != 0, .v86 = (mode & 4) != 0,
                                    .eip = eip + off, .eip_off = (uint16_t)off };
        bool ends;
        if (iem_decode_one(&in, &b->ix[n], &ends) == IEM_DEC_MORE) {
            if (n)
                break;
            if (by_page)
                return iem_one_slow(c, eip, lin, mode);
            memset(&b->ix[0], 0, sizeof(b->ix[0]));   /* beyond the CS limit */
            b->ix[0].fn = ix_raise_gp0;
            b->ix[0].len = 1;
            b->ix[0].lflags = IEM_LF_END;
            ends = true;
        }
        off += b->ix[n].len;
        n++;
        if (ends || bp_first)
            break;
    }
    b->ix[n] = (struct iem_ix){ .fn = ix_block_end, .eip_off = (uint16_t)off };
    if (IXVM_UNLIKELY(bp_first))
        iem_dbgf_bp_block(b);
    /* CMP/TEST + Jcc at the end of the block: one fused record (iem_fuse.c). */
    if (n >= 2 && (b->ix[n - 1].lflags & IEM_LF_NEAR)) {
        iem_fn f = iem_fuse_lookup(b->ix[n - 2].fn, b->ix[n - 1].fn);
        if (f)
            b->ix[n - 2].fn = f;
    }
    b->n = n;
    b->phys = pa;
    b->eip0 = eip;
    b->cs_base = cs->base;
    b->eip_end = eip + off;
    b->mode = mode;
    b->cp = cp;
    b->next[0] = b->next[1] = NULL;
    b->link_gen = 0;
    b->linkable = n && (!(b->ix[n - 1].lflags & IEM_LF_END) || (b->ix[n - 1].lflags & IEM_LF_NEAR));
    c->arena_used += sizeof(struct iem_block) + (n + 1) * sizeof(struct iem_ix);
    c->arena_used = (c->arena_used + 63) & ~(size_t)63;
    c->bidx[iem_bidx_hash(pa, eip)] = b;
    stam_counter_inc(&c->st.blk_miss);
    return b;
}

/* The block at CS:EIP: jump cache, then index, then decode. */
static const struct iem_block *iem_block_get(struct iem_cpu *c)
{
    struct cpum_state *s = c->s;
    const struct cpum_seg *cs = &s->seg[CPUM_CS];
    uint32_t eip = s->eip, lin = cs->base + eip, mode = iem_mode_key(c);
    struct iem_jce *j = &c->jc[iem_jc_hash(lin)];
    if (IXVM_LIKELY(j->gen == c->jc_gen && j->lin == lin && iem_block_valid(c, j->b, eip, mode))) {
        stam_counter_inc(&c->st.blk_hit);
        return j->b;
    }
    if (eip > cs->limit)
        iem_raise_gp(c, NULL, 0);
    uint64_t pa = iem_translate(c, NULL, lin, IEM_ACC_X);
    struct iem_block *b = c->bidx[iem_bidx_hash(pa, eip)];
    if (b && b->phys == pa && iem_block_valid(c, b, eip, mode)) {
        stam_counter_inc(&c->st.blk_hit);
    } else {
        if (b && b->phys == pa && b->eip0 == eip && b->cp &&
            atomic_load_explicit(&b->cp->code_gen, memory_order_relaxed) != b->gen)
            stam_counter_inc(&c->st.blk_smc);
        const struct iem_block *nb = iem_block_build(c, eip, lin, pa, mode);
        if (nb == c->one)
            return nb;
        b = (struct iem_block *)nb;
    }
    j->gen = c->jc_gen;
    j->lin = lin;
    j->b = b;
    return b;
}

/* A one-instruction copy of the first instruction of b (budget tail, shadow, TF). */
static const struct iem_block *iem_one_from_block(struct iem_cpu *c, const struct iem_block *b)
{
    if (b == c->one)
        return b;
    struct iem_block *o = c->one;
    *o = *b;
    o->ix[0] = b->ix[0];
    o->ix[0].fn = iem_fuse_original(b->ix[0].fn);   /* the Jcc is not in the copy */
    /* imm: a breakpoint block's real handler (iem_dbgf_bp_block); unused otherwise. */
    o->ix[1] = (struct iem_ix){ .fn = ix_block_end, .eip_off = b->ix[0].eip_off + b->ix[0].len,
                                .imm = b->ix[1].imm };
    o->n = 1;
    o->linkable = 0;
    return o;
}

static inline void iem_run_block(struct iem_cpu *c, const struct iem_block *b)
{
    c->cur = b;
#if defined(IEM_USE_MUSTTAIL)
    b->ix[0].fn(c, b->ix);
#else
    const struct iem_ix *i = b->ix;
    while (i)
        i = i->fn(c, i);
#endif
}

static inline bool iem_ff_pending(const struct iem_cpu *c)
{
    return ((atomic_load_explicit(c->ff_cpu, memory_order_relaxed) |
             atomic_load_explicit(c->ff_vm, memory_order_relaxed)) & c->ff_run) != 0;
}

/* Link slot of a successor at eip: 0 for the fall-through (the end of b:
 * Jcc not taken, size/page limit), 1 for any other target (Jcc taken,
 * JMP, CALL, RET; an indirect branch keeps its latest target). */
static inline unsigned iem_link_slot(const struct iem_block *b, uint32_t eip) { return eip != b->eip_end; }

/* The successor of b at eip through b's links (IEM-DESIGN.md 3), or NULL. */
static inline const struct iem_block *iem_link_find(const struct iem_cpu *c, const struct iem_block *b,
                                                    uint32_t eip)
{
    const struct iem_block *n = b->next[iem_link_slot(b, eip)];
    return n && n->eip0 == eip && b->link_gen == c->jc_gen ? n : NULL;
}

/* Remember nb as the successor of b at nb->eip0. */
static void iem_link_add(struct iem_cpu *c, const struct iem_block *b, const struct iem_block *nb)
{
    struct iem_block *w = (struct iem_block *)b;   /* blocks live in the (mutable) arena */
    if (w->link_gen != c->jc_gen) {
        w->link_gen = c->jc_gen;
        w->next[0] = w->next[1] = NULL;
    }
    w->next[iem_link_slot(b, nb->eip0)] = (struct iem_block *)nb;
}

/*
 * Follow b's link to the next block when nothing needs the full dispatcher:
 * b ended in a way that keeps CS, the mode, the interrupt shadow and the
 * debug state (b->linkable, no exit status, no shadow set), no forced
 * action, no PGM epoch change, the successor's instructions fit in the
 * budget and its page's code generation still matches (SMC).  Returns NULL
 * to take the slow path at the top of iem_run.
 */
static inline __attribute__((always_inline)) const struct iem_block *iem_link_next(struct iem_cpu *c,
                                                                                   const struct iem_block *b)
{
    if (IXVM_UNLIKELY(!b->linkable || c->exit_rc || c->shadow_set))
        return NULL;
    if (IXVM_UNLIKELY(iem_ff_pending(c) ||
                      c->epoch != atomic_load_explicit(c->epoch_p, memory_order_acquire)))
        return NULL;
    uint32_t eip = c->s->eip;
    const struct iem_block *nb = iem_link_find(c, b, eip);
    if (IXVM_UNLIKELY(!nb)) {
        /* Not linked yet, or another target of an indirect branch: the jump
         * cache, checked against b's CS and mode (a linkable exit keeps them). */
        const struct iem_jce *j = &c->jc[iem_jc_hash(b->cs_base + eip)];
        nb = j->b;
        if (j->gen != c->jc_gen || j->lin != b->cs_base + eip || nb->eip0 != eip || nb->mode != b->mode ||
            nb->cs_base != b->cs_base || nb->eip_end - 1 > c->s->seg[CPUM_CS].limit)
            return NULL;
        iem_link_add(c, b, nb);
        stam_counter_inc(&c->st.link_miss);
    }
    if ((int64_t)nb->n > c->budget ||
        atomic_load_explicit(&nb->cp->code_gen, memory_order_acquire) != nb->gen)
        return NULL;
    /* TF, RF and DR7 need not be looked at: the dispatcher ran b as a full
     * block, so they were clear, and only instructions that end a block
     * without linking (POPF, IRET, MOV DRn) or an exception change them. */
    return nb;
}

/* Blocks chained from handlers before the dispatcher gets control back:
 * bounds the nesting where the chaining call is not a tail jump (-O0). */
#define IEM_CHAIN_MAX 64u

const struct iem_block *iem_chain_next(struct iem_cpu *c)
{
    if (IXVM_UNLIKELY(c->chain_left == 0))
        return NULL;
    const struct iem_block *nb = iem_link_next(c, c->cur);
    if (!nb)
        return NULL;
    c->chain_left--;
    c->budget -= nb->n;
    iem_icount_add(c, nb->n);
    c->cur = nb;
    iem_flight_note(c, nb);
    return nb;
}

/* ---- exclusive sections for LOCKed operands (IEM-DESIGN.md 8) ---- */
_Noreturn void iem_lock_exclusive(struct iem_cpu *c, const struct iem_ix *i)
{
    c->excl_req = true;   /* iem_run runs i again inside a section */
    iem_raise(c, i, 0, 0, IEM_XF_RESUME);
}

/* The section's body, on this EMT while the other vCPUs wait: the
 * instruction at CS:EIP alone, with plain read-modify-writes.  An exception
 * lands here (excl_fault, c->xp) and is raised again outside the section. */
static void iem_excl_step(void *arg)
{
    struct iem_cpu *c = arg;
    jmp_buf outer;
    memcpy(outer, c->jb, sizeof(outer));
    c->excl_avail = false;
    c->excl_fault = false;
    if (_setjmp(c->jb) == 0) {
        const struct iem_block *b = iem_one_from_block(c, iem_block_get(c));
        /* Instruction breakpoints were checked (and RF cleared) when the
         * instruction first started; single-step and data traps follow it. */
        bool tf = (c->s->eflags & CPUM_EFL_TF) != 0, dbg = tf || c->dbg_armed;
        c->shadow = false;
        c->budget -= b->n;
        iem_icount_add(c, b->n);
        c->chain_left = 0;
        iem_run_block(c, b);
        c->shadow = c->shadow_set;
        c->shadow_set = false;
        if (dbg)
            iem_dbg_after(c, tf);
    } else {
        c->excl_fault = true;
    }
    memcpy(c->jb, outer, sizeof(outer));
    c->excl_avail = true;
}

static void iem_run_exclusive(struct iem_cpu *c)
{
    c->excl_req = false;
    stam_counter_inc(&c->st.excl);
    if (c->excl_fn(c->excl_user, iem_excl_step, c) < 0)
        iem_excl_step(c);   /* the others could not be stopped: not atomic, but progress */
    if (c->excl_fault) {
        c->excl_fault = false;
        longjmp(c->jb, 1);  /* deliver c->xp as iem_raise would have */
    }
}

static int iem_run(struct iem_cpu *c)
{
    const struct iem_block *prev = NULL;   /* the block that just ran, if it may link */
    for (;;) {
        if (c->exit_rc) {
            int rc = c->exit_rc;
            c->exit_rc = 0;
            return rc;
        }
        if (c->budget <= 0)
            return 0;
        bool single = c->shadow;
        /* Interrupt requests wait while IF=0; the block that sets IF ends
         * (STI, POPF, IRET and task switches are not linkable), so this is
         * the only place the mask needs to follow IF. */
        c->ff_run = (c->s->eflags & CPUM_EFL_IF) ? c->ff_mask : c->ff_mask & ~c->ff_irq;
        if (!single && iem_ff_pending(c))
            return IXVM_INF_EM_RESCHEDULE;
        if (IXVM_UNLIKELY(c->epoch != atomic_load_explicit(c->epoch_p, memory_order_acquire))) {
            c->epoch = pgm_tlb_epoch(c->pgm);
            c->a20_mask = pgm_a20_mask(c->pgm);
            iem_tlb_flush(c, true);
        }
        if (IXVM_UNLIKELY(c->excl_req)) {
            iem_run_exclusive(c);
            prev = NULL;
            continue;
        }
        const struct iem_block *b = iem_block_get(c);
        if (prev && b != c->one)
            iem_link_add(c, prev, b);
        /* TF, RF and armed debug registers: one instruction at a time (iem_dbg.c). */
        bool dbg = (c->s->eflags & (CPUM_EFL_TF | CPUM_EFL_RF)) || c->dbg_armed, tf = false;
        if (single || dbg || (int64_t)b->n > c->budget)
            b = iem_one_from_block(c, b);
        if (IXVM_UNLIKELY(dbg)) {
            if (c->dbg_armed & IEM_DBG_ON_TRACE)
                iem_dbgf_trace_insn(c, b);   /* debugger trace: state on entry */
            tf = iem_dbg_before(c);
        }
        c->shadow = false;
        c->budget -= b->n;
        iem_icount_add(c, b->n);
        c->chain_left = IEM_CHAIN_MAX;
        iem_flight_note(c, b);
        iem_run_block(c, b);
        b = c->cur;   /* the last block that ran (handlers chain to successors) */
        if (IXVM_UNLIKELY(dbg)) {
            c->shadow = c->shadow_set;
            c->shadow_set = false;
            if (c->dbgf && iem_dbgf_hit_pending(c))
                iem_dbgf_after(c);  /* debugger watchpoint: stop after the instruction */
            iem_dbg_after(c, tf);   /* single-step, data and I/O breakpoint traps */
            prev = NULL;
            continue;
        }
        /* Linked successors run without the lookup and the checks above. */
        for (const struct iem_block *nb; (nb = iem_link_next(c, b)) != NULL; b = c->cur) {
            c->budget -= nb->n;
            iem_icount_add(c, nb->n);
            c->chain_left = IEM_CHAIN_MAX;
            iem_flight_note(c, nb);
            iem_run_block(c, nb);
        }
        c->shadow = c->shadow_set;
        c->shadow_set = false;
        prev = b->linkable && !c->shadow ? b : NULL;
    }
}

/* ---- state sync with cpum_state ---- */
static void iem_sync_in(struct iem_cpu *c)
{
    struct cpum_state *s = c->s;
    c->r = s->gpr;
    s->gpr[CPUM_GPR_ZERO] = 0;
    iem_set_eflags(c, s->eflags);
    iem_set_cpl(c, (s->cr0 & CPUM_CR0_PE) ? s->cpl : 0);
    iem_segc_update_all(c);
    iem_dbg_sync(c);
    /* The TLB, jump cache and links survive between calls (global entries
     * too) unless what translation depends on changed meanwhile: the
     * owner's CR0/CR3/CR4/EFER, A20, or PGM's epoch (page kinds, code
     * marks).  The owner flushes explicitly (iem_flush_tlb) otherwise. */
    uint32_t a20 = pgm_a20_mask(c->pgm), epoch = pgm_tlb_epoch(c->pgm);
    if (!c->sync.valid || c->sync.cr0 != s->cr0 || c->sync.cr3 != s->cr3 || c->sync.cr4 != s->cr4 ||
        c->sync.efer != s->msr.efer || c->a20_mask != a20 || c->epoch != epoch)
        iem_tlb_flush(c, true);
    c->a20_mask = a20;
    c->epoch = epoch;
    c->smc_stop = 0;
    c->exit_rc = 0;
    c->excl_req = false;
}

static void iem_sync_out(struct iem_cpu *c)
{
    struct cpum_state *s = c->s;
    s->eflags = iem_get_eflags(c);
    s->cpl = c->cpl;
    c->sync.cr0 = s->cr0;
    c->sync.cr3 = s->cr3;
    c->sync.cr4 = s->cr4;
    c->sync.efer = s->msr.efer;
    c->sync.valid = true;
}

int iem_exec(struct iem_cpu *c, int64_t budget)
{
    /* A debugger (iem_dbgf.c) runs iem_exec_run between its stops. */
    if (IXVM_UNLIKELY(c->dbgf != NULL))
        return iem_dbgf_exec(c, budget);
    return iem_exec_run(c, budget);
}

int iem_exec_run(struct iem_cpu *c, int64_t budget)
{
    if (c->shutdown)
        return IXVM_INF_EM_RESET;
    if (c->halted)
        return IXVM_INF_EM_HALT;
    iem_sync_in(c);
    c->budget = budget;
    c->delivering = -1;
    int rc;
    if (_setjmp(c->jb)) {
        /* An exception unwound to here; deliver it (a fault while
         * delivering lands here again, see iem_xcpt_dispatch). */
        if (IXVM_UNLIKELY(c->dbgf) && !(c->xp.flags & IEM_XF_RESUME))
            iem_dbgf_note_intr(c, c->xp.vec, c->xp.err, c->xp.flags);
        rc = iem_xcpt_dispatch(c);
        if (rc) {
            iem_sync_out(c);
            return rc;
        }
    }
    rc = iem_run(c);
    iem_sync_out(c);
    return rc;
}

bool iem_can_take_interrupt(const struct iem_cpu *c)
{
    return (c->s->eflags & CPUM_EFL_IF) && !c->shadow && !c->shutdown;
}

bool iem_can_take_nmi(const struct iem_cpu *c) { return !c->nmi_blocked && !c->shutdown; }

int iem_inject_interrupt(struct iem_cpu *c, uint8_t vector, bool nmi)
{
    if (nmi ? !iem_can_take_nmi(c) : !iem_can_take_interrupt(c))
        return IXVM_ERR_INVALID_STATE;
    iem_sync_in(c);
    c->halted = false;
    c->cur = NULL;
    unsigned vec = nmi ? IEM_X_NMI : vector;
    int rc = 0;
    c->delivering = -1;
    if (IXVM_UNLIKELY(c->dbgf))
        iem_dbgf_note_intr(c, vec, 0, IEM_XF_EXT | (nmi ? IEM_XF_NMI : 0));
    if (_setjmp(c->jb) == 0) {
        c->delivering = (int)vec;
        c->last_xcpt = (struct iem_xcpt_info){ .count = c->last_xcpt.count + 1, .vector = (uint8_t)vec };
        iem_deliver(c, vec, 0, IEM_XF_EXT | (nmi ? IEM_XF_NMI : 0));
        c->delivering = -1;
        if (nmi)
            c->nmi_blocked = true;
    } else {
        rc = iem_xcpt_dispatch(c);
    }
    iem_sync_out(c);
    return rc;
}

void iem_reset(struct iem_cpu *c, bool init_only)
{
    (void)init_only;
    c->halted = c->shutdown = c->shadow = c->shadow_set = c->nmi_blocked = false;
    c->delivering = -1;
    c->exit_rc = 0;
    c->sync.valid = false;
    iem_cache_flush(c);
    iem_sync_in(c);
}

bool iem_is_halted(const struct iem_cpu *c) { return c->halted; }
uint64_t iem_instructions(const struct iem_cpu *c) { return __atomic_load_n(&c->icount, __ATOMIC_RELAXED); }
void iem_flush_tlb(struct iem_cpu *c) { iem_tlb_flush(c, true); }
void iem_last_xcpt(const struct iem_cpu *c, struct iem_xcpt_info *out) { *out = c->last_xcpt; }

uint64_t iem_tsc(struct iem_cpu *c)
{
    uint64_t t = c->clock_ticks ? c->clock_ticks(c->clock_user) : c->icount;
    return t + c->s->msr.tsc_offset;
}

int iem_create(struct iem_cpu **out, const struct iem_config *cfg, struct ixvm_errinfo *err)
{
    *out = NULL;
    if (!cfg || !cfg->state || !cfg->pgm || !cfg->iom)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "IEM: state, pgm and iom are required");
    iem_decode_init();
    struct iem_cpu *c = aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);
    if (!c)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "IEM: out of memory for CPU %u", cfg->cpu_id);
    memset(c, 0, sizeof(*c));
    c->s = cfg->state;
    c->r = c->s->gpr;
    c->pgm = cfg->pgm;
    c->iom = cfg->iom;
    c->ram = pgm_host_base(cfg->pgm);
    c->epoch_p = pgm_tlb_epoch_ptr(cfg->pgm);
    c->ff_cpu = cfg->ff_cpu ? cfg->ff_cpu : &c->ff_dummy;
    c->ff_vm = cfg->ff_vm ? cfg->ff_vm : &c->ff_dummy;
    c->ff_mask = c->ff_run = cfg->ff_mask;
    c->ff_irq = cfg->ff_irq_mask & cfg->ff_mask;
    c->excl_fn = cfg->exclusive;
    c->excl_user = cfg->exclusive_user;
    c->excl_avail = cfg->multi_threaded && cfg->exclusive;
    c->cpu_id = cfg->cpu_id;
    c->multi_threaded = cfg->multi_threaded;
    c->clock_ticks = cfg->clock_ticks;
    c->clock_user = cfg->clock_user;
    c->fpu_ferr = cfg->fpu_ferr;
    c->fpu_ferr_user = cfg->fpu_ferr_user;
    c->delivering = -1;
    c->one = (struct iem_block *)(void *)c->one_raw;
    c->rev = 1;
    c->bidx = calloc(IEM_BIDX_SIZE, sizeof(*c->bidx));
    c->jc = calloc(IEM_JC_SIZE, sizeof(*c->jc));
    c->arena_size = IEM_ARENA_SIZE;
    c->arena = aligned_alloc(64, c->arena_size);
    if (!c->bidx || !c->jc || !c->arena) {
        iem_destroy(c);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "IEM: out of memory for CPU %u's block cache",
                                cfg->cpu_id);
    }
    c->jc_gen = 1;
    iem_sync_in(c);
    *out = c;
    return 0;
}

void iem_destroy(struct iem_cpu *c)
{
    if (!c)
        return;
    free(c->bidx);
    free(c->jc);
    free(c->arena);
    free(c->dbgf);   /* iem_dbgf.c's per-vCPU part (plain data) */
    free(c);
}

int iem_stats_register(struct iem_cpu *c, struct stam *st)
{
    static const struct { size_t off; const char *name, *desc; } ctrs[] = {
        { offsetof(struct iem_stats, blk_hit), "BlockHits", "decoded-block lookups that hit" },
        { offsetof(struct iem_stats, blk_miss), "BlockMisses", "blocks decoded" },
        { offsetof(struct iem_stats, blk_smc), "SmcInvalidations", "blocks rebuilt after a code write" },
        { offsetof(struct iem_stats, blk_flush), "BlockCacheFlushes", "full block-cache flushes" },
        { offsetof(struct iem_stats, tlb_miss), "TlbMisses", "soft-TLB fills" },
        { offsetof(struct iem_stats, tlb_flush), "TlbFlushes", "soft-TLB flushes" },
        { offsetof(struct iem_stats, xcpt), "Exceptions", "exceptions and interrupts delivered" },
        { offsetof(struct iem_stats, uncached), "UncachedInstr", "one-instruction uncached blocks" },
        { offsetof(struct iem_stats, link_miss), "LinkMisses",
          "linked-path block lookups that went to the jump cache (new link, indirect branch)" },
        { offsetof(struct iem_stats, excl), "LockExclusive",
          "LOCKed instructions run with the other vCPUs stopped (split, misaligned or MMIO operand)" },
    };
    int rc = stam_register(st, &c->icount, STAM_TYPE_U64, STAM_UNIT_INSTR, "retired instructions",
                           "/IEM/CPU%u/Instructions", c->cpu_id);
    for (size_t k = 0; rc == 0 && k < IXVM_ARRAY_SIZE(ctrs); k++)
        rc = stam_register(st, (uint8_t *)&c->st + ctrs[k].off, STAM_TYPE_COUNTER, STAM_UNIT_OCCURRENCES,
                           ctrs[k].desc, "/IEM/CPU%u/%s", c->cpu_id, ctrs[k].name);
    return rc;
}
