/* SPDX-License-Identifier: MIT */
/*
 * String instructions: MOVS CMPS STOS LODS SCAS INS OUTS (byte/word/dword)
 * with REP/REPE/REPNE, 16- and 32-bit addressing (CX/SI/DI wrap at 64 K,
 * the upper halves stay), DF in both directions, a source segment override
 * (the destination is always ES).  SDM Vol. 2 "REP/REPE/REPZ/REPNE/REPNZ"
 * and the instruction pages.
 *
 * A REP instruction is restartable: ECX/ESI/EDI are written back after
 * every element, so a fault at element k leaves them at k elements done
 * with EIP on the instruction.  Every IEM_STR_CHUNK elements (or bulk
 * page chunk) it charges the budget and looks at the forced actions; when
 * it must stop it leaves the block with EIP still on the instruction, which
 * resumes it (iem_str_yield).  With EFLAGS.TF set it does one element per
 * trap, as hardware does.
 *
 * Fast path (IEM-DESIGN.md 6): REP MOVS/STOS with DF=0 over plain RAM work
 * per page chunk with memmove/memset.  Forward-overlapping MOVS keeps the
 * element-by-element result (pattern replication); pages that hold decoded
 * code are written through pgm_code_write() (SMC); MMIO/ROM/unassigned go
 * element by element through the normal access paths.
 */
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"

/* Elements between budget / forced-action checks on the element path. */
#define IEM_STR_CHUNK 1024u
/* Elements that cost one budget unit (one "instruction"). */
#define IEM_STR_PER_BUDGET 16u

enum iem_strop { IEM_STR_MOVS, IEM_STR_CMPS, IEM_STR_STOS, IEM_STR_LODS, IEM_STR_SCAS, IEM_STR_INS, IEM_STR_OUTS };

/* ---- address-size aware index/count registers ---- */
static inline uint32_t iem_str_reg(const struct iem_cpu *c, unsigned r, bool a32)
{
    return a32 ? c->r[r] : (c->r[r] & 0xffffu);
}
static inline void iem_str_set(struct iem_cpu *c, unsigned r, uint32_t v, bool a32)
{
    c->r[r] = a32 ? v : ((c->r[r] & 0xffff0000u) | (v & 0xffffu));
}
static inline void iem_str_adv(struct iem_cpu *c, unsigned r, int32_t step, bool a32)
{
    iem_str_set(c, r, c->r[r] + (uint32_t)step, a32);
}

/* One element of op (w bits) with the current registers; registers advance
 * only after every access of the element succeeded. */
static inline void iem_str_elem(struct iem_cpu *c, const struct iem_ix *i, unsigned op, unsigned w, bool a32,
                                int32_t step)
{
    unsigned seg = IEM_SEG(i);
    uint32_t si = iem_str_reg(c, CPUM_ESI, a32), di = iem_str_reg(c, CPUM_EDI, a32);
    switch (op) {
    case IEM_STR_MOVS:
        iem_wrw(c, i, CPUM_ES, di, iem_rdw(c, i, seg, si, w), w);
        iem_str_adv(c, CPUM_ESI, step, a32);
        iem_str_adv(c, CPUM_EDI, step, a32);
        break;
    case IEM_STR_CMPS: {
        /* CMPS compares [seg:SI] - [ES:DI] (SDM Vol. 2 "CMPS"). */
        uint32_t a = iem_rdw(c, i, seg, si, w);
        uint32_t b = iem_rdw(c, i, CPUM_ES, di, w);
        iem_alu_sub(c, a, b, 0, w);
        iem_str_adv(c, CPUM_ESI, step, a32);
        iem_str_adv(c, CPUM_EDI, step, a32);
        break;
    }
    case IEM_STR_STOS:
        iem_wrw(c, i, CPUM_ES, di, iem_rget(c, CPUM_EAX, w), w);
        iem_str_adv(c, CPUM_EDI, step, a32);
        break;
    case IEM_STR_LODS:
        iem_rset(c, CPUM_EAX, iem_rdw(c, i, seg, si, w), w);
        iem_str_adv(c, CPUM_ESI, step, a32);
        break;
    case IEM_STR_SCAS:
        iem_alu_sub(c, iem_rget(c, CPUM_EAX, w), iem_rdw(c, i, CPUM_ES, di, w), 0, w);
        iem_str_adv(c, CPUM_EDI, step, a32);
        break;
    case IEM_STR_INS: {
        /* Map (and fault on) the destination before the port read, so a
         * #PF/#GP never loses a value the device already handed out. */
        void *p = iem_map_w(c, i, CPUM_ES, di, w / 8, false);
        uint32_t v = 0;
        (void)iom_in(c->iom, (uint16_t)c->r[CPUM_EDX], w / 8, &v);
        iem_st(p, v, w);
        iem_commit_w(c, i, p);
        iem_str_adv(c, CPUM_EDI, step, a32);
        break;
    }
    default: /* IEM_STR_OUTS */
        (void)iom_out(c->iom, (uint16_t)c->r[CPUM_EDX], iem_rdw(c, i, seg, si, w), w / 8);
        iem_str_adv(c, CPUM_ESI, step, a32);
        break;
    }
}

/* ---- bulk path: REP MOVS/STOS, one page chunk in either direction ---- */

/* How many elements of sz bytes, the first at off, fit in a segment window
 * in direction down (0: none, e.g. off outside the window).  16-bit
 * addressing stops at the 64 K wrap. */
static uint64_t iem_str_span(const struct iem_segc *sc, uint64_t end, uint32_t off, unsigned sz, bool a32,
                             bool down)
{
    if (!a32 && end > 0x10000u)
        end = 0x10000u;
    if (off < sc->lo || (uint64_t)off + sz > end)
        return 0;
    return down ? (off - sc->lo) / sz + 1u : (end - off) / sz;
}
/* Elements that stay within the page of linear la, first one at la. */
static uint32_t iem_str_page_span(uint32_t la, unsigned sz, bool down)
{
    uint32_t po = la & 0xfffu;
    if (po + sz > 0x1000u)
        return 0;
    return down ? po / sz + 1u : (0x1000u - po) / sz;
}

/* Host pointer of linear la (rest of the page) for access acc, or NULL when
 * the page is not plain RAM (ROM for reads is fine) or carries a data
 * breakpoint: the element path deals with it.  *pa is set when the page was
 * translated here (a TLB miss or a page with decoded code): writes must
 * then go through pgm_code_write.  May raise #PF for la, which is then
 * exactly the next element's fault. */
static uint8_t *iem_str_host(struct iem_cpu *c, const struct iem_ix *i, uint32_t la, unsigned acc, uint64_t *pa)
{
    struct iem_tlbe *e = iem_tlbe_of(c, la);
    uint64_t tag = iem_tlb_tag(c, la);
    *pa = UINT64_MAX;
    if ((acc == IEM_ACC_W ? e->tag_w : e->tag_r) == tag)
        return (uint8_t *)(uintptr_t)(la + e->addend);
    uint64_t p = iem_translate(c, i, la, acc);
    if (c->xl.kind != PGM_PAGE_RAM && !(acc == IEM_ACC_R && c->xl.kind == PGM_PAGE_ROM))
        return NULL;
    if (IXVM_UNLIKELY(c->dbg_watch) && iem_dbg_watched(c, la))
        return NULL;   /* data breakpoint page: per-element accesses report hits */
    *pa = p;
    return c->xl.host + (la & 0xfffu);
}

/* Copy bytes from sp to dp with element-by-element semantics in direction
 * down.  When the destination trails the source by d bytes inside the range
 * (forward: dp = sp + d; backward: sp = dp + d), bytes already written are
 * read again (pattern replication), so copy in non-overlapping pieces of d
 * bytes in the direction of the string.  d >= element size is required
 * (checked by the caller); other overlaps behave like memmove. */
static void iem_str_copy(uint8_t *dp, const uint8_t *sp, size_t bytes, bool down)
{
    if (!down && dp > sp && dp < sp + bytes) {
        size_t d = (size_t)(dp - sp);
        for (size_t off = 0; off < bytes; off += d)
            memcpy(dp + off, sp + off, bytes - off < d ? bytes - off : d);
    } else if (down && sp > dp && sp < dp + bytes) {
        size_t d = (size_t)(sp - dp);
        for (size_t end = bytes; end > 0;) {
            size_t piece = end < d ? end : d;
            end -= piece;
            memcpy(dp + end, sp + end, piece);
        }
    } else {
        memmove(dp, sp, bytes);
    }
}

/* Fill bytes at dp with the sz-byte little-endian value v (doubling copies). */
static void iem_str_fill(uint8_t *dp, uint32_t v, unsigned sz, size_t bytes)
{
    if (sz == 1) {
        memset(dp, (int)(v & 0xffu), bytes);
        return;
    }
    memcpy(dp, &v, sz);
    for (size_t k = sz; k < bytes; k *= 2)
        memcpy(dp + k, dp, bytes - k < k ? bytes - k : k);
}

/* A bulk write hit decoded code: invalidate it, and stop the running block
 * after this instruction if it was the block's own page (IEM-DESIGN.md 7). */
static void iem_str_code_write(struct iem_cpu *c, uint64_t pa, size_t bytes)
{
    if (!pgm_code_write(c->pgm, pa, bytes))
        return;
    const struct iem_block *b = c->cur;
    if (b && b->cp && atomic_load_explicit(&b->cp->code_gen, memory_order_relaxed) != b->gen)
        c->smc_stop = 1;
}

/* Do up to cnt elements of REP MOVS/STOS as one host operation within one
 * source and one destination page.  Returns the elements done; 0 means
 * "continue element by element": for *one more element only when the next
 * element merely crosses a page or segment end (bulk resumes after it), for
 * a chunk when the page is not plain RAM or the copy overlaps within an
 * element. */
static uint32_t iem_str_bulk(struct iem_cpu *c, const struct iem_ix *i, bool movs, unsigned w, bool a32,
                             bool down, uint32_t cnt, bool *one)
{
    unsigned sz = w / 8;
    uint32_t di = iem_str_reg(c, CPUM_EDI, a32), si = iem_str_reg(c, CPUM_ESI, a32);
    const struct iem_segc *es = &c->segc[CPUM_ES];
    uint32_t dla = es->base + di, sla = 0;
    uint64_t n = cnt, k = iem_str_span(es, es->end_w, di, sz, a32, down);
    if (k < n)
        n = k;
    if ((k = iem_str_page_span(dla, sz, down)) < n)
        n = k;
    if (movs) {
        const struct iem_segc *ss = &c->segc[IEM_SEG(i)];
        sla = ss->base + si;
        if ((k = iem_str_span(ss, ss->end_r, si, sz, a32, down)) < n)
            n = k;
        if ((k = iem_str_page_span(sla, sz, down)) < n)
            n = k;
    }
    *one = n == 0;
    if (!n)
        return 0;
    /* Source before destination: the first element's faults in hardware order. */
    size_t bytes = (size_t)n * sz, below = down ? bytes - sz : 0;
    uint64_t spa, dpa;
    const uint8_t *sp = NULL;
    if (movs) {
        sp = iem_str_host(c, i, sla, IEM_ACC_R, &spa);
        if (!sp)
            return 0;
        sp -= below;   /* lowest byte of the chunk: same page */
    }
    uint8_t *dp = iem_str_host(c, i, dla, IEM_ACC_W, &dpa);
    if (!dp)
        return 0;
    dp -= below;
    if (movs) {
        const uint8_t *lead = down ? dp : sp, *trail = down ? sp : dp;
        if (trail > lead && trail < lead + sz)
            return 0;   /* overlap within one element: element by element */
        iem_str_copy(dp, sp, bytes, down);
    } else {
        iem_str_fill(dp, c->r[CPUM_EAX], sz, bytes);
    }
    if (dpa != UINT64_MAX)
        iem_str_code_write(c, dpa - below, bytes);
    uint32_t delta = down ? (uint32_t)-bytes : (uint32_t)bytes;
    iem_str_set(c, CPUM_EDI, di + delta, a32);
    if (movs)
        iem_str_set(c, CPUM_ESI, si + delta, a32);
    iem_str_set(c, CPUM_ECX, cnt - (uint32_t)n, a32);
    return (uint32_t)n;
}

/* ---- REP driver ---- */
static inline bool iem_str_ff_pending(const struct iem_cpu *c)
{
    return ((atomic_load_explicit(c->ff_cpu, memory_order_relaxed) |
             atomic_load_explicit(c->ff_vm, memory_order_relaxed)) & c->ff_mask) != 0;
}

/* Leave the block before i completed, with EIP on i so the next block
 * resumes it.  i itself is not retired, but its budget charge stays, so
 * iem_exec always makes progress towards its budget. */
static const struct iem_ix *iem_str_yield(struct iem_cpu *c, const struct iem_ix *i)
{
    uint32_t done = (uint32_t)(i - c->cur->ix);
    uint32_t undo = c->cur->n - done;
    iem_icount_add(c, -(int64_t)(undo));
    c->budget += undo - 1;
    uint32_t eip = iem_eip_cur(c, i);
    c->s->eip = (c->s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D) ? eip : (eip & 0xffffu);
    c->smc_stop = 0;
    return NULL;
}

/* Run the whole instruction; false: it must yield (more elements left). */
static inline bool iem_str_exec(struct iem_cpu *c, const struct iem_ix *i, unsigned op, unsigned w)
{
    bool a32 = IEM_IS_ASZ32(i);
    int32_t step = (c->s->eflags & CPUM_EFL_DF) ? -(int32_t)(w / 8) : (int32_t)(w / 8);
    if (op == IEM_STR_INS || op == IEM_STR_OUTS) {
        iem_io_check(c, i, (uint16_t)c->r[CPUM_EDX], w / 8);   /* also with a zero count */
        if (IXVM_UNLIKELY(c->dbg_armed))
            iem_dbg_io(c, (uint16_t)c->r[CPUM_EDX], w / 8);    /* I/O breakpoints (iem_dbg.c) */
    }
    if (!(i->lflags & (IEM_LF_REP | IEM_LF_REPNE))) {
        iem_str_elem(c, i, op, w, a32, step);
        return true;
    }
    bool cmp = op == IEM_STR_CMPS || op == IEM_STR_SCAS;
    /* REPE (F3) repeats while ZF=1, REPNE (F2) while ZF=0; other string
     * instructions treat F2 like F3. */
    uint32_t stop_zf = (i->lflags & IEM_LF_REPNE) ? 1u : 0u;
    bool tf = (c->s->eflags & CPUM_EFL_TF) != 0;
    bool bulk = (op == IEM_STR_MOVS || op == IEM_STR_STOS) && !tf;
    for (;;) {
        uint32_t cnt = iem_str_reg(c, CPUM_ECX, a32);
        if (!cnt)
            return true;
        bool one = tf;
        uint32_t done = bulk ? iem_str_bulk(c, i, op == IEM_STR_MOVS, w, a32, step < 0, cnt, &one) : 0;
        if (!done) {
            uint32_t n = one ? 1u : (cnt < IEM_STR_CHUNK ? cnt : IEM_STR_CHUNK);
            while (done < n) {
                iem_str_elem(c, i, op, w, a32, step);
                done++;
                iem_str_set(c, CPUM_ECX, cnt - done, a32);
                if (cmp && iem_zf(c) == stop_zf)
                    return true;
            }
        }
        if (done == cnt)
            return true;
        /* SDM "REP": interrupts are recognized between iterations. */
        c->budget -= (done + IEM_STR_PER_BUDGET - 1) / IEM_STR_PER_BUDGET;
        if (tf || c->budget <= 0 || iem_str_ff_pending(c))
            return false;
    }
}

#define IEM_STR_HANDLERS(name, OP, NEXT)                                                   \
    IEM_STATIC_HANDLER(ix_##name##_m8)                                                       \
    {                                                                                      \
        if (!iem_str_exec(c, i, OP, 8))                                                    \
            return iem_str_yield(c, i);                                                    \
        NEXT(c, i);                                                                        \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m16)                                                      \
    {                                                                                      \
        if (!iem_str_exec(c, i, OP, 16))                                                   \
            return iem_str_yield(c, i);                                                    \
        NEXT(c, i);                                                                        \
    }                                                                                      \
    IEM_STATIC_HANDLER(ix_##name##_m32)                                                      \
    {                                                                                      \
        if (!iem_str_exec(c, i, OP, 32))                                                   \
            return iem_str_yield(c, i);                                                    \
        NEXT(c, i);                                                                        \
    }                                                                                      \
    const struct iem_hset iem_hs_##name = { .f = { [IEM_S_NONE] = { ix_##name##_m8, ix_##name##_m16, ix_##name##_m32 } } };

IEM_STR_HANDLERS(movs, IEM_STR_MOVS, IEM_NEXT_W)
IEM_STR_HANDLERS(cmps, IEM_STR_CMPS, IEM_NEXT)
IEM_STR_HANDLERS(stos, IEM_STR_STOS, IEM_NEXT_W)
IEM_STR_HANDLERS(lods, IEM_STR_LODS, IEM_NEXT)
IEM_STR_HANDLERS(scas, IEM_STR_SCAS, IEM_NEXT)
IEM_STR_HANDLERS(ins, IEM_STR_INS, IEM_NEXT_W)
IEM_STR_HANDLERS(outs, IEM_STR_OUTS, IEM_NEXT)
