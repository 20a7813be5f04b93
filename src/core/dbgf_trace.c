/* SPDX-License-Identifier: MIT */
/*
 * DBGF instruction trace: the compact per-instruction record the interpreter
 * fills (state on entry, raw bytes; no formatting on the hot path), filters
 * (linear EIP range, CPL, mode, vCPU), the trace-line formatter with the
 * registers changed since the previous record, and the flight recorder: a
 * per-vCPU power-of-two ring of the last N records, written lock-free by
 * its EMT and dumped as trace lines on request or on a triple fault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dbgf_target.h"

static const char *const dbgf_trace_gpr_names[8] = { "eax", "ecx", "edx", "ebx",
                                                     "esp", "ebp", "esi", "edi" };
static const char *const dbgf_trace_mode_names[] = {
    [CPUM_MODE_REAL] = "real", [CPUM_MODE_PROT16] = "p16",
    [CPUM_MODE_PROT32] = "p32", [CPUM_MODE_V86] = "v86",
};

const char *dbgf_trace_mode_name(unsigned mode)
{
    return mode < IXVM_ARRAY_SIZE(dbgf_trace_mode_names) ? dbgf_trace_mode_names[mode] : "?";
}

unsigned dbgf_trace_rec_bits(const struct dbgf_trace_rec *r)
{
    return r->mode == CPUM_MODE_PROT32 ? 32 : 16;
}

/* SDM Vol. 3A 2.2 / 20.1: CR0.PE selects protected mode, EFLAGS.VM virtual
 * 8086 mode inside it, and CS.D the default operand size. */
void dbgf_trace_rec_from_state(struct dbgf_trace_rec *r, const struct cpum_state *s)
{
    enum cpum_mode m = CPUM_MODE_REAL;
    if (s->cr0 & CPUM_CR0_PE)
        m = (s->eflags & CPUM_EFL_VM) ? CPUM_MODE_V86
          : (s->seg[CPUM_CS].attr & CPUM_SEG_ATTR_D) ? CPUM_MODE_PROT32 : CPUM_MODE_PROT16;
    r->eip = s->eip;
    r->cs = s->seg[CPUM_CS].sel;
    r->cs_base = s->seg[CPUM_CS].base;
    memcpy(r->gpr, s->gpr, sizeof(r->gpr));
    r->eflags = s->eflags;
    r->mode = (uint8_t)m;
    r->cpl = s->cpl;
}

/* ------------------------------------------------------------------------- */
/* Filters                                                                   */
/* ------------------------------------------------------------------------- */

void dbgf_trace_filter_init(struct dbgf_trace_filter *f)
{
    *f = (struct dbgf_trace_filter){ .lin_lo = 0, .lin_hi = UINT32_MAX, .cpl = -1, .mode = -1, .cpu_mask = 0 };
}

bool dbgf_trace_filter_match(const struct dbgf_trace_filter *f, uint32_t cpu, const struct dbgf_trace_rec *r)
{
    glin_t lin = r->cs_base + r->eip;
    if (lin < f->lin_lo || lin > f->lin_hi)
        return false;
    if (f->cpl >= 0 && r->cpl != f->cpl)
        return false;
    if (f->mode >= 0 && r->mode != f->mode)
        return false;
    return !f->cpu_mask || (cpu < 64 && (f->cpu_mask >> cpu & 1));
}

static bool dbgf_trace_parse_u32(const char *s, const char *end, uint32_t *out)
{
    char tmp[32];
    size_t n = (size_t)(end - s);
    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *e;
    unsigned long long v = strtoull(tmp, &e, 0);
    if (*e || tmp[0] == '-' || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* One "key=value" item of a filter spec. */
static int dbgf_trace_filter_item(struct dbgf_trace_filter *f, const char *it, size_t len,
                                  struct ixvm_errinfo *err)
{
    const char *eq = memchr(it, '=', len), *end = it + len;
    uint32_t a, b;
    if (len == 3 && memcmp(it, "all", 3) == 0) {
        dbgf_trace_filter_init(f);
        return 0;
    }
    if (!eq)
        goto bad;
    size_t klen = (size_t)(eq - it);
    const char *v = eq + 1;
    if (klen == 5 && memcmp(it, "range", 5) == 0) {
        const char *dash = memchr(v, '-', (size_t)(end - v));
        if (!dash || !dbgf_trace_parse_u32(v, dash, &a) || !dbgf_trace_parse_u32(dash + 1, end, &b) || a > b)
            goto bad;
        f->lin_lo = a, f->lin_hi = b;
    } else if (klen == 3 && memcmp(it, "cpl", 3) == 0) {
        if (!dbgf_trace_parse_u32(v, end, &a) || a > 3)
            goto bad;
        f->cpl = (int)a;
    } else if (klen == 4 && memcmp(it, "mode", 4) == 0) {
        f->mode = -1;
        for (unsigned m = 0; m < IXVM_ARRAY_SIZE(dbgf_trace_mode_names); m++)
            if (strlen(dbgf_trace_mode_names[m]) == (size_t)(end - v) && !memcmp(v, dbgf_trace_mode_names[m], (size_t)(end - v)))
                f->mode = (int)m;
        if (f->mode < 0)
            goto bad;
    } else if (klen == 3 && memcmp(it, "cpu", 3) == 0) {
        uint64_t mask = 0;
        for (const char *p = v; p < end;) {
            const char *c = memchr(p, ',', (size_t)(end - p));
            if (!c)
                c = end;
            if (!dbgf_trace_parse_u32(p, c, &a) || a >= 64)
                goto bad;
            mask |= 1ull << a;
            p = c + (c < end);
        }
        if (!mask)
            goto bad;
        f->cpu_mask = mask;
    } else {
        goto bad;
    }
    return 0;
bad:
    return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX,
                            "trace filter '%.*s': expected range=LO-HI, cpl=0..3, mode=real|p16|p32|v86, "
                            "cpu=N[,N...] or all", (int)(len > 64 ? 64 : len), it);
}

int dbgf_trace_filter_parse(struct dbgf_trace_filter *f, const char *spec, struct ixvm_errinfo *err)
{
    struct dbgf_trace_filter nf = *f;
    for (const char *p = spec ? spec : ""; *p;) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, " \t");
        if (!len)
            break;
        int rc = dbgf_trace_filter_item(&nf, p, len, err);
        if (rc)
            return rc;
        p += len;
    }
    *f = nf;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Formatter                                                                 */
/* ------------------------------------------------------------------------- */

int dbgf_trace_format(struct dbgf_disas *d, uint32_t cpu, const struct dbgf_trace_rec *r,
                      const struct dbgf_trace_rec *prev, char *buf, size_t size)
{
    char dis[256];
    size_t len = r->len < DBGF_TRACE_MAX_INSN ? r->len : DBGF_TRACE_MAX_INSN;
    (void)dbgf_disas_line(d, dbgf_trace_rec_bits(r), (glin_t)(r->cs_base + r->eip), r->bytes, len, dis,
                          sizeof(dis));
    int n = snprintf(buf, size, "cpu%u %s %04x:%08x %s", cpu, dbgf_trace_mode_name(r->mode), r->cs, r->eip, dis);
    if (n < 0 || (size_t)n >= size)
        return n < 0 ? IXVM_ERR_GENERAL : IXVM_ERR_BUFFER_OVERFLOW;
    if (!prev)
        return n;
    const char *sep = " ;";
    for (unsigned i = 0; i < 9; i++) {
        uint32_t now = i < 8 ? r->gpr[i] : r->eflags, was = i < 8 ? prev->gpr[i] : prev->eflags;
        if (now == was)
            continue;
        int k = snprintf(buf + n, size - (size_t)n, "%s %s=%08x", sep, i < 8 ? dbgf_trace_gpr_names[i] : "efl", now);
        if (k < 0 || (size_t)k >= size - (size_t)n)
            return IXVM_ERR_BUFFER_OVERFLOW;
        n += k;
        sep = "";
    }
    return n;
}

/* ------------------------------------------------------------------------- */
/* Flight recorder                                                           */
/* ------------------------------------------------------------------------- */

struct dbgf_flight_ring {
    uint64_t head;                    /* [EMT writes, atomic] records ever written */
    struct dbgf_trace_rec *recs;      /* [EMT] depth entries */
};

struct dbgf_flight {
    uint32_t ncpus;
    uint32_t depth;                   /* power of two */
    struct dbgf_flight_ring *rings;
};

int dbgf_flight_create(uint32_t ncpus, uint32_t depth, struct dbgf_flight **out)
{
    if (!ncpus || ncpus > IXVM_MAX_CPUS || !depth || depth > (1u << 24))
        return IXVM_ERR_INVALID_PARAMETER;
    uint32_t d = 2;
    while (d < depth)
        d <<= 1;
    struct dbgf_flight *f = calloc(1, sizeof(*f));
    if (!f || !(f->rings = calloc(ncpus, sizeof(*f->rings)))) {
        free(f);
        return IXVM_ERR_NO_MEMORY;
    }
    f->ncpus = ncpus;
    f->depth = d;
    for (uint32_t i = 0; i < ncpus; i++) {
        f->rings[i].recs = calloc(d, sizeof(struct dbgf_trace_rec));
        if (!f->rings[i].recs) {
            dbgf_flight_destroy(f);
            return IXVM_ERR_NO_MEMORY;
        }
    }
    *out = f;
    return 0;
}

void dbgf_flight_destroy(struct dbgf_flight *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->ncpus; i++)
        free(f->rings[i].recs);
    free(f->rings);
    free(f);
}

void dbgf_flight_record(struct dbgf_flight *f, uint32_t cpu, const struct dbgf_trace_rec *r)
{
    if (IXVM_UNLIKELY(cpu >= f->ncpus))
        return;
    struct dbgf_flight_ring *ring = &f->rings[cpu];
    uint64_t h = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
    ring->recs[h & (f->depth - 1)] = *r;
    /* Release: a dumper that sees the new head sees the record. */
    __atomic_store_n(&ring->head, h + 1, __ATOMIC_RELEASE);
}

uint32_t dbgf_flight_count(const struct dbgf_flight *f, uint32_t cpu)
{
    if (cpu >= f->ncpus)
        return 0;
    uint64_t h = __atomic_load_n(&f->rings[cpu].head, __ATOMIC_ACQUIRE);
    return h < f->depth ? (uint32_t)h : f->depth;
}

const struct dbgf_trace_rec *dbgf_flight_get(const struct dbgf_flight *f, uint32_t cpu, uint32_t i)
{
    uint32_t n = dbgf_flight_count(f, cpu);
    if (i >= n)
        return NULL;
    uint64_t h = __atomic_load_n(&f->rings[cpu].head, __ATOMIC_ACQUIRE);
    return &f->rings[cpu].recs[(h - n + i) & (f->depth - 1)];
}

void dbgf_flight_dump(const struct dbgf_flight *f, uint32_t cpu, struct dbgf_disas *d,
                      const struct ixvm_printer *pr)
{
    uint32_t n = dbgf_flight_count(f, cpu);
    ixvm_pr(pr, "flight recorder cpu%u: last %u instructions, oldest first\n", cpu, n);
    const struct dbgf_trace_rec *prev = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const struct dbgf_trace_rec *r = dbgf_flight_get(f, cpu, i);
        char line[512];
        if (dbgf_trace_format(d, cpu, r, prev, line, sizeof(line)) >= 0)
            ixvm_pr(pr, "%s\n", line);
        prev = r;
    }
}

/* ------------------------------------------------------------------------- */
/* Names                                                                     */
/* ------------------------------------------------------------------------- */

const char *dbgf_stop_reason_name(enum dbgf_stop_reason r)
{
    static const char *const names[] = {
        [DBGF_STOP_BREAKPOINT] = "breakpoint", [DBGF_STOP_WATCHPOINT] = "watchpoint",
        [DBGF_STOP_STEP] = "step", [DBGF_STOP_SIGNAL] = "interrupted",
        [DBGF_STOP_TRIPLE_FAULT] = "triple-fault", [DBGF_STOP_EXITED] = "exited",
    };
    return (unsigned)r < IXVM_ARRAY_SIZE(names) && names[r] ? names[r] : "?";
}

const char *dbgf_bp_type_name(enum dbgf_bp_type t)
{
    static const char *const names[] = {
        [DBGF_BP_SW] = "break", [DBGF_BP_HW_EXEC] = "hbreak", [DBGF_BP_WRITE] = "watch",
        [DBGF_BP_READ] = "rwatch", [DBGF_BP_ACCESS] = "awatch",
    };
    return (unsigned)t < IXVM_ARRAY_SIZE(names) && names[t] ? names[t] : "?";
}
