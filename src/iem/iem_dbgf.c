/* SPDX-License-Identifier: MIT */
/*
 * The interpreter's side of the debugger (include/ixvm/iem_dbgf.h,
 * docs/debugging.md): breakpoints kept in the debugger core and matched
 * when blocks are decoded, watchpoints through the guest debug registers'
 * slow path (iem_dbg.c) but apart from DR7, debugger single-step, the
 * instruction and interrupt trace hooks, the always-on flight recorder and
 * a side-effect-free page walk for the debugger's memory accesses.
 *
 * Breakpoints: a block never runs into a breakpoint address (the decoder
 * ends the block before it) and a block that starts at one is a
 * one-instruction block whose record is ix_dbgf_bp: it stops before the
 * instruction, or runs the real handler (kept in the terminator's imm) once
 * when the vCPU resumes from it.  Decoded blocks are matched by linear page
 * (the block cache is keyed by physical address *and* CS base + EIP, so a
 * block is decoded again for every linear alias); a breakpoint in ROM, or
 * in code the guest rewrites (the rewrite re-decodes the page), works.
 * Every change of the lists bumps a generation; each vCPU copies the lists
 * and drops its decoded blocks at its next iem_exec entry.
 *
 * Threads: the shared lists under d->lock (any thread); the per-vCPU part
 * (struct iem_dbgf_cpu) is its EMT's.
 */
#define LOG_GROUP LOG_GROUP_IEM
#include <pthread.h>
#include <stdlib.h>

#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/iem_dbgf.h"
#include "ixvm/log.h"

_Static_assert(IEM_FR_DEPTH == IEM_FLIGHT_DEPTH, "flight recorder depth");

struct iem_dbgf_bp {
    uint32_t lin;
    uint8_t type;    /* enum dbgf_bp_type */
    uint8_t len;
};

struct iem_dbgf {
    struct iem_dbgf_hooks h;                    /* [const] */
    pthread_mutex_t lock;
    struct iem_dbgf_bp bps[IEM_DBGF_MAX_BPS];   /* [lock] */
    unsigned nbps;                              /* [lock] */
    bool trace_insn, trace_intr;                /* [lock] */
    _Atomic uint32_t gen;                       /* [any, atomic] bumped after each change */
};

/* One vCPU's copy and state.  [EMT] */
struct iem_dbgf_cpu {
    struct iem_dbgf *d;
    uint32_t gen;                               /* generation of the copies */
    struct iem_dbgf_bp ex[IEM_DBGF_MAX_BPS];    /* SW and HW_EXEC breakpoints */
    unsigned nex;
    struct iem_dbgf_bp watch[IEM_DBGF_MAX_HW];
    unsigned nwatch;
    bool trace_insn, trace_intr;
    bool skip_valid;                            /* resume: the breakpoint at skip_lin runs once */
    uint32_t skip_lin;
    bool hit;                                   /* a watchpoint matched the running instruction */
    struct iem_dbgf_event hit_ev;
    bool ev_pending;                            /* ev happened in iem_exec_run */
    struct iem_dbgf_event ev;
};

/* ---- the shared lists ------------------------------------------------------------ */

int iem_dbgf_create(const struct iem_dbgf_hooks *hooks, struct iem_dbgf **out)
{
    *out = NULL;
    if (!hooks || !hooks->enter || !hooks->event)
        return IXVM_ERR_INVALID_PARAMETER;
    struct iem_dbgf *d = calloc(1, sizeof(*d));
    if (!d)
        return IXVM_ERR_NO_MEMORY;
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return IXVM_ERR_THREAD;
    }
    d->h = *hooks;
    atomic_init(&d->gen, 1);
    *out = d;
    return 0;
}

void iem_dbgf_destroy(struct iem_dbgf *d)
{
    if (!d)
        return;
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static bool iem_dbgf_is_watch(unsigned type)
{
    return type == DBGF_BP_WRITE || type == DBGF_BP_READ || type == DBGF_BP_ACCESS;
}

/* Validate and normalise (type, len); IXVM_ERR_INVALID_PARAMETER when bad. */
static int iem_dbgf_bp_check(enum dbgf_bp_type type, unsigned *len)
{
    if ((unsigned)type >= DBGF_BP_TYPE_COUNT)
        return IXVM_ERR_INVALID_PARAMETER;
    if (!iem_dbgf_is_watch(type)) {
        *len = 1;
        return 0;
    }
    return *len == 1 || *len == 2 || *len == 4 || *len == 8 ? 0 : IXVM_ERR_INVALID_PARAMETER;
}

static int iem_dbgf_bp_index(const struct iem_dbgf *d, enum dbgf_bp_type type, uint32_t lin, unsigned len)
{
    for (unsigned k = 0; k < d->nbps; k++)
        if (d->bps[k].type == type && d->bps[k].lin == lin && d->bps[k].len == len)
            return (int)k;
    return -1;
}

int iem_dbgf_bp_set(struct iem_dbgf *d, enum dbgf_bp_type type, uint32_t lin, unsigned len)
{
    int rc = iem_dbgf_bp_check(type, &len);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&d->lock);
    if (iem_dbgf_bp_index(d, type, lin, len) < 0) {
        unsigned hw = 0;
        for (unsigned k = 0; k < d->nbps; k++)
            hw += d->bps[k].type != DBGF_BP_SW;
        if ((type != DBGF_BP_SW && hw >= IEM_DBGF_MAX_HW) || d->nbps >= IEM_DBGF_MAX_BPS) {
            rc = IXVM_ERR_BUSY;
        } else {
            d->bps[d->nbps++] = (struct iem_dbgf_bp){ lin, (uint8_t)type, (uint8_t)len };
            atomic_fetch_add(&d->gen, 1);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int iem_dbgf_bp_clear(struct iem_dbgf *d, enum dbgf_bp_type type, uint32_t lin, unsigned len)
{
    int rc = iem_dbgf_bp_check(type, &len);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&d->lock);
    int k = iem_dbgf_bp_index(d, type, lin, len);
    if (k < 0) {
        rc = IXVM_ERR_NOT_FOUND;
    } else {
        d->bps[k] = d->bps[--d->nbps];
        atomic_fetch_add(&d->gen, 1);
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

bool iem_dbgf_bp_find(struct iem_dbgf *d, uint32_t lin, enum dbgf_bp_type *type)
{
    bool found = false;
    pthread_mutex_lock(&d->lock);
    for (unsigned k = 0; k < d->nbps && !found; k++) {
        if (!iem_dbgf_is_watch(d->bps[k].type) && d->bps[k].lin == lin) {
            found = true;
            if (type)
                *type = (enum dbgf_bp_type)d->bps[k].type;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return found;
}

void iem_dbgf_set_trace(struct iem_dbgf *d, bool insns, bool intrs)
{
    pthread_mutex_lock(&d->lock);
    d->trace_insn = insns;
    d->trace_intr = intrs;
    atomic_fetch_add(&d->gen, 1);
    pthread_mutex_unlock(&d->lock);
}

/* ---- the per-vCPU copy --------------------------------------------------------- */

int iem_dbgf_attach(struct iem_cpu *c, struct iem_dbgf *d)
{
    free(c->dbgf);
    c->dbgf = NULL;
    c->dbg_armed &= (uint8_t)~(IEM_DBG_ON_DBGF | IEM_DBG_ON_TRACE);
    c->dbg_watch &= (uint8_t)~IEM_DBG_ON_DBGF;
    iem_blocks_flush(c);
    if (!d)
        return 0;
    struct iem_dbgf_cpu *p = calloc(1, sizeof(*p));
    if (!p)
        return IXVM_ERR_NO_MEMORY;
    p->d = d;
    p->gen = atomic_load(&d->gen) - 1;   /* copy at the first entry */
    c->dbgf = p;
    return 0;
}

/* Pick up changed lists (at iem_exec entry, on the EMT). */
static void iem_dbgf_refresh(struct iem_cpu *c)
{
    struct iem_dbgf_cpu *p = c->dbgf;
    struct iem_dbgf *d = p->d;
    uint32_t g = atomic_load_explicit(&d->gen, memory_order_acquire);
    if (g == p->gen)
        return;
    pthread_mutex_lock(&d->lock);
    p->nex = p->nwatch = 0;
    for (unsigned k = 0; k < d->nbps; k++) {
        if (iem_dbgf_is_watch(d->bps[k].type)) {
            if (p->nwatch < IEM_DBGF_MAX_HW)
                p->watch[p->nwatch++] = d->bps[k];
        } else {
            p->ex[p->nex++] = d->bps[k];
        }
    }
    p->trace_insn = d->trace_insn;
    p->trace_intr = d->trace_intr;
    p->gen = atomic_load(&d->gen);
    pthread_mutex_unlock(&d->lock);
    /* Blocks decoded with the old breakpoints must go; the TLB (slow pages
     * of watchpoints) is refilled by every iem_exec entry anyway. */
    iem_blocks_flush(c);
    uint8_t armed = (uint8_t)((p->nwatch ? IEM_DBG_ON_DBGF : 0) | (p->trace_insn ? IEM_DBG_ON_TRACE : 0));
    c->dbg_armed = (uint8_t)((c->dbg_armed & ~(IEM_DBG_ON_DBGF | IEM_DBG_ON_TRACE)) | armed);
    c->dbg_watch = (uint8_t)((c->dbg_watch & ~IEM_DBG_ON_DBGF) | (p->nwatch ? IEM_DBG_ON_DBGF : 0));
}

/* ---- breakpoints in decoded blocks ------------------------------------------- */

bool iem_dbgf_bp_page(const struct iem_cpu *c, uint32_t lin)
{
    const struct iem_dbgf_cpu *p = c->dbgf;
    for (unsigned k = 0; k < p->nex; k++)
        if (((p->ex[k].lin ^ lin) & 0xfffff000u) == 0)
            return true;
    return false;
}

static bool iem_dbgf_bp_type_at(const struct iem_dbgf_cpu *p, uint32_t lin, enum dbgf_bp_type *type)
{
    for (unsigned k = 0; k < p->nex; k++)
        if (p->ex[k].lin == lin) {
            *type = (enum dbgf_bp_type)p->ex[k].type;
            return true;
        }
    return false;
}

bool iem_dbgf_bp_here(const struct iem_cpu *c, uint32_t lin)
{
    enum dbgf_bp_type t;
    return iem_dbgf_bp_type_at(c->dbgf, lin, &t);
}

void iem_dbgf_bp_block(struct iem_block *b)
{
    b->ix[1].imm = (uint64_t)(uintptr_t)b->ix[0].fn;
    b->ix[0].fn = ix_dbgf_bp;
}

/* The record of a breakpoint block (iem_dbgf_bp_block). */
IEM_HANDLER(ix_dbgf_bp)
{
    struct iem_dbgf_cpu *p = c->dbgf;
    const struct iem_block *b = c->cur;
    uint32_t eip = iem_eip_cur(c, i);
    if (!(c->s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D))
        eip &= 0xffffu;
    uint32_t lin = b->cs_base + eip;
    enum dbgf_bp_type type = DBGF_BP_SW;
    if (!p || (p->skip_valid && p->skip_lin == lin) || !iem_dbgf_bp_type_at(p, lin, &type)) {
        if (p)
            p->skip_valid = false;
        iem_fn real = (iem_fn)(uintptr_t)i[1].imm;
#if defined(IEM_USE_MUSTTAIL)
        __attribute__((musttail)) return real(c, i);
#else
        return real(c, i);
#endif
    }
    /* Stop before the instruction: nothing of this block ran. */
    iem_icount_add(c, -(int64_t)(b->n));
    c->budget += b->n;
    c->s->eip = eip;
    p->ev = (struct iem_dbgf_event){ .kind = IEM_DBGF_EV_BREAK, .type = type, .addr = lin };
    p->ev_pending = true;
    c->exit_rc = IXVM_INF_EM_DBG_STOP;
    return NULL;
}

/* ---- watchpoints (called from iem_dbg.c's slow paths) ----------------------- */

bool iem_dbgf_watched(const struct iem_cpu *c, uint32_t la)
{
    const struct iem_dbgf_cpu *p = c->dbgf;
    for (unsigned k = 0; p && k < p->nwatch; k++)
        if (((p->watch[k].lin ^ la) & 0xfffff000u) == 0)
            return true;
    return false;
}

void iem_dbgf_data(struct iem_cpu *c, uint32_t la, unsigned size, bool write)
{
    struct iem_dbgf_cpu *p = c->dbgf;
    for (unsigned k = 0; p && k < p->nwatch && !p->hit; k++) {
        const struct iem_dbgf_bp *w = &p->watch[k];
        bool kind = w->type == DBGF_BP_ACCESS || w->type == (write ? DBGF_BP_WRITE : DBGF_BP_READ);
        uint32_t start = w->lin & ~(uint32_t)(w->len - 1);
        if (kind && la < start + w->len && start < la + size) {
            p->hit = true;
            p->hit_ev = (struct iem_dbgf_event){ .kind = IEM_DBGF_EV_WATCH,
                                                 .type = (enum dbgf_bp_type)w->type, .addr = w->lin };
        }
    }
}

bool iem_dbgf_hit_pending(const struct iem_cpu *c) { return c->dbgf->hit; }

void iem_dbgf_after(struct iem_cpu *c)
{
    struct iem_dbgf_cpu *p = c->dbgf;
    p->hit = false;
    p->ev = p->hit_ev;
    p->ev_pending = true;
    c->exit_rc = IXVM_INF_EM_DBG_STOP;
}

/* ---- trace hooks ---------------------------------------------------------------- */

static enum cpum_mode iem_dbgf_mode_of_key(uint32_t key)
{
    if (!(key & 2u))
        return CPUM_MODE_REAL;
    if (key & 4u)
        return CPUM_MODE_V86;
    return (key & 1u) ? CPUM_MODE_PROT32 : CPUM_MODE_PROT16;
}

/* Instruction bytes at lin through the side-effect-free walk. */
static unsigned iem_dbgf_fetch(struct iem_cpu *c, uint32_t lin, uint8_t *buf, unsigned len)
{
    unsigned got = 0;
    while (got < len) {
        uint64_t pa;
        uint32_t la = lin + got;
        unsigned n = 0x1000u - (la & 0xfffu);
        if (n > len - got)
            n = len - got;
        if (iem_dbgf_translate(c->pgm, c->s, la, &pa) < 0 || pgm_phys_read(c->pgm, pa, buf + got, n) < 0)
            break;
        got += n;
    }
    return got;
}

void iem_dbgf_trace_insn(struct iem_cpu *c, const struct iem_block *b)
{
    struct iem_dbgf_cpu *p = c->dbgf;
    if (!p || !p->d->h.trace)
        return;
    const struct cpum_state *s = c->s;
    struct dbgf_trace_rec r = { .eip = s->eip, .cs_base = s->seg[CPUM_CS].base, .cs = s->seg[CPUM_CS].sel };
    memcpy(r.gpr, c->r, sizeof(r.gpr));
    r.eflags = iem_get_eflags(c);
    r.mode = (uint8_t)iem_dbgf_mode_of_key(iem_mode_key(c));
    r.cpl = c->cpl;
    unsigned want = b->ix[0].len ? b->ix[0].len : 1;
    r.len = (uint8_t)iem_dbgf_fetch(c, r.cs_base + r.eip, r.bytes, want < DBGF_TRACE_MAX_INSN ? want
                                                                                               : DBGF_TRACE_MAX_INSN);
    p->d->h.trace(p->d->h.user, c->cpu_id, &r);
}

void iem_dbgf_note_intr(struct iem_cpu *c, unsigned vec, uint32_t err, unsigned flags)
{
    struct iem_dbgf_cpu *p = c->dbgf;
    if (!p->trace_intr || !p->d->h.intr)
        return;
    const char *kind = (flags & IEM_XF_NMI) ? "nmi" : (flags & IEM_XF_EXT) ? "ext"
                     : (flags & IEM_XF_SOFT) ? "soft" : "xcpt";
    p->d->h.intr(p->d->h.user, c->cpu_id, vec, err, (flags & IEM_XF_ERR) != 0, kind, c->s->seg[CPUM_CS].sel,
                 c->s->eip);
}

/* ---- the debugger's iem_exec ------------------------------------------------- */

static void iem_dbgf_report(struct iem_cpu *c, const struct iem_dbgf_event *ev)
{
    struct iem_dbgf *d = c->dbgf->d;
    d->h.event(d->h.user, c->cpu_id, ev);
}

/* Execute exactly one instruction for a debugger step: forced actions
 * (pending interrupts included) are not looked at, so no interrupt is
 * delivered before or during the step (QEMU's SSTEP_NOIRQ default). */
static int iem_dbgf_step_one(struct iem_cpu *c)
{
    uint32_t mask = c->ff_mask;
    c->ff_mask = 0;
    int rc = iem_exec_run(c, 1);
    c->ff_mask = mask;
    return rc;
}

/* Triple fault: report it, let the debugger hold the vCPU for inspection,
 * then return the reset status as before. */
static int iem_dbgf_triple(struct iem_cpu *c, int rc)
{
    struct iem_dbgf_event ev = { .kind = IEM_DBGF_EV_TRIPLE, .addr = c->s->seg[CPUM_CS].base + c->s->eip };
    iem_dbgf_report(c, &ev);
    for (;;) {
        bool resumed;
        struct iem_dbgf *d = c->dbgf->d;
        enum iem_dbgf_action a = d->h.enter(d->h.user, c->cpu_id, &resumed);
        if (a != IEM_DBGF_STEP)
            return rc;
        /* Nothing runs in shutdown: a step ends at once. */
        ev = (struct iem_dbgf_event){ .kind = IEM_DBGF_EV_STEP };
        iem_dbgf_report(c, &ev);
    }
}

int iem_dbgf_exec(struct iem_cpu *c, int64_t budget)
{
    struct iem_dbgf_cpu *p = c->dbgf;
    struct iem_dbgf *d = p->d;
    for (;;) {
        bool resumed = false;
        enum iem_dbgf_action a = d->h.enter(d->h.user, c->cpu_id, &resumed);
        if (a == IEM_DBGF_LEAVE)
            return IXVM_INF_EM_RESCHEDULE;
        iem_dbgf_refresh(c);
        if (resumed) {
            p->skip_valid = true;
            p->skip_lin = c->s->seg[CPUM_CS].base + c->s->eip;
        }
        bool step = a == IEM_DBGF_STEP;
        uint64_t before = c->icount;
        p->ev_pending = false;
        int rc = step ? iem_dbgf_step_one(c) : iem_exec_run(c, budget);
        if (c->icount != before)
            p->skip_valid = false;   /* the resume instruction ran (or was left behind) */
        if (rc == IXVM_INF_EM_RESET)
            return iem_dbgf_triple(c, rc);
        if (p->ev_pending) {
            p->ev_pending = false;
            iem_dbgf_report(c, &p->ev);
        } else if (step) {
            struct iem_dbgf_event ev = { .kind = IEM_DBGF_EV_STEP };
            iem_dbgf_report(c, &ev);
        } else {
            return rc;
        }
        /* After an event the vCPU asks again (and is held); a HLT that
         * ended the step still halts the vCPU. */
        if (rc == IXVM_INF_EM_HALT || rc < 0)
            return rc;
    }
}

/* ---- side-effect-free page walk ------------------------------------------------ */

static int iem_dbgf_rd(struct pgm *pgm, uint64_t pa, unsigned size, uint64_t *v)
{
    *v = 0;
    if (pa >= 0x100000000ull)
        return IXVM_ERR_NOT_FOUND;
    return pgm_phys_read(pgm, pa, v, size) < 0 ? IXVM_ERR_NOT_FOUND : 0;
}

/* PAE: PDPTE, PDE (2 MiB pages), PTE; 64-bit entries (SDM Vol. 3A 4.4). */
static int iem_dbgf_walk_pae(struct pgm *pgm, const struct cpum_state *s, uint32_t lin, uint64_t *pa)
{
    const uint64_t addr_mask = 0x000ffffffffff000ull;
    uint64_t e;
    if (iem_dbgf_rd(pgm, (s->cr3 & ~0x1fu) + ((lin >> 30) & 3u) * 8u, 8, &e) < 0 || !(e & 1))
        return IXVM_ERR_NOT_FOUND;
    if (iem_dbgf_rd(pgm, (e & addr_mask) + ((lin >> 21) & 0x1ffu) * 8u, 8, &e) < 0 || !(e & 1))
        return IXVM_ERR_NOT_FOUND;
    if (e & 0x80u) {
        *pa = (e & 0x000fffffffe00000ull) | (lin & 0x1fffffu);
        return 0;
    }
    if (iem_dbgf_rd(pgm, (e & addr_mask) + ((lin >> 12) & 0x1ffu) * 8u, 8, &e) < 0 || !(e & 1))
        return IXVM_ERR_NOT_FOUND;
    *pa = (e & addr_mask) | (lin & 0xfffu);
    return 0;
}

int iem_dbgf_translate(struct pgm *pgm, const struct cpum_state *s, uint32_t lin, uint64_t *pa)
{
    int rc = 0;
    if (!(s->cr0 & CPUM_CR0_PG)) {
        *pa = lin;
    } else if (s->cr4 & CPUM_CR4_PAE) {
        rc = iem_dbgf_walk_pae(pgm, s, lin, pa);
    } else {
        /* 2-level with 4 MiB pages under CR4.PSE (SDM Vol. 3A 4.3). */
        uint64_t e;
        if (iem_dbgf_rd(pgm, (s->cr3 & 0xfffff000u) + (lin >> 22) * 4u, 4, &e) < 0 || !(e & 1))
            return IXVM_ERR_NOT_FOUND;
        if ((e & 0x80u) && (s->cr4 & CPUM_CR4_PSE)) {
            *pa = (e & 0xffc00000u) | (lin & 0x3fffffu);
        } else if (iem_dbgf_rd(pgm, (e & 0xfffff000u) + ((lin >> 12) & 0x3ffu) * 4u, 4, &e) < 0 || !(e & 1)) {
            return IXVM_ERR_NOT_FOUND;
        } else {
            *pa = (e & 0xfffff000u) | (lin & 0xfffu);
        }
    }
    if (rc == 0)
        *pa &= 0xffffffff00000000ull | pgm_a20_mask(pgm);
    return rc;
}

/* ---- flight recorder ---------------------------------------------------------- */

unsigned iem_dbgf_flight(const struct iem_cpu *c, struct iem_flight_ent *out, unsigned max)
{
    uint32_t pos = c->fr_pos;
    unsigned n = pos < IEM_FR_DEPTH ? pos : IEM_FR_DEPTH;
    if (n > max)
        n = max;
    for (unsigned k = 0; k < n; k++) {
        uint64_t e = c->fr[(pos - n + k) & (IEM_FR_DEPTH - 1)];
        out[k] = (struct iem_flight_ent){ .lin = (uint32_t)e, .n = (uint16_t)(e >> 32),
                                          .mode = (uint8_t)iem_dbgf_mode_of_key((uint32_t)(e >> 48)) };
    }
    return n;
}
