/* SPDX-License-Identifier: MIT */
/*
 * Differential tester, driver: the case loop, the comparison, the mismatch
 * reports and the per-family summary.  See diff_run.h for the options and
 * docs/difftest.md for how to read the output.
 */
#include "diff_run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ixvm/cpum.h"

#define DIFF_EFL_COMPARED (CPUM_EFL_STATUS | CPUM_EFL_DF)
#define DIFF_SUBS 16u

static const char *const diff_gpr_names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

/* ---- options ------------------------------------------------------------ */

static bool env_u64(const char *name, uint64_t *v)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return false;
    char *end;
    unsigned long long x = strtoull(s, &end, 0);
    if (*end != '\0') {
        fprintf(stderr, "diff: ignoring %s='%s': not a number\n", name, s);
        return false;
    }
    *v = x;
    return true;
}

void diff_opts_from_env(struct diff_opts *o, uint64_t default_cases)
{
    uint64_t v;
    memset(o, 0, sizeof(*o));
    o->seed = DIFF_DEFAULT_SEED;
    o->cases = default_cases;
    o->max_reports = 20;
    if (env_u64("DIFF_SEED", &v))
        o->seed = v;
    if (env_u64("DIFF_CASES", &v))
        o->cases = v;
    if (env_u64("DIFF_FIRST", &v))
        o->first = v;
    if (env_u64("DIFF_STRICT_UNDEF", &v))
        o->strict_undef = v != 0;
    if (env_u64("DIFF_REQUIRE_ALL", &v))
        o->require_all = v != 0;
    if (env_u64("DIFF_MAX_REPORTS", &v))
        o->max_reports = (unsigned)v;
    const char *fam = getenv("DIFF_FAMILY");
    o->families = fam && *fam ? fam : NULL;
}

/* ---- families and filters ----------------------------------------------- */

static unsigned fam_index(struct diff_summary *s, const char *family)
{
    for (unsigned i = 0; i < s->nfam; i++) {
        if (strcmp(s->fam[i].family, family) == 0)
            return i;
    }
    if (s->nfam == DIFF_MAX_FAMILIES)
        return DIFF_MAX_FAMILIES - 1;  /* table grew: lump the rest together */
    s->fam[s->nfam].family = family;
    return s->nfam++;
}

static bool family_listed(const char *list, const char *family)
{
    size_t n = strlen(family);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, family, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* Template indices of the listed families; *n = 0 when no filter. */
static uint16_t *build_filter(const char *families, unsigned *n)
{
    *n = 0;
    if (!families)
        return NULL;
    uint16_t *f = calloc(diff_tmpl_count, sizeof(*f));
    for (unsigned i = 0; f && i < diff_tmpl_count; i++) {
        if (family_listed(families, diff_tmpls[i].family))
            f[(*n)++] = (uint16_t)i;
    }
    return f;
}

/* ---- comparison --------------------------------------------------------- */

struct diff_delta {
    uint32_t gpr;           /* bit n: GPR n differs */
    uint32_t efl;           /* differing compared flags */
    uint32_t efl_udf;       /* differing undefined flags (not compared) */
    bool eip;
    bool vec;
    unsigned mem;           /* differing window bytes */
};

static void diff_compare(const struct diff_case *c, const struct diff_out *a, const struct diff_out *b,
                         bool strict, struct diff_delta *d)
{
    uint32_t udf = strict ? 0 : diff_undef_flags(c);
    memset(d, 0, sizeof(*d));
    for (unsigned i = 0; i < 8; i++) {
        if (a->regs.gpr[i] != b->regs.gpr[i])
            d->gpr |= 1u << i;
    }
    uint32_t x = (a->regs.eflags ^ b->regs.eflags) & DIFF_EFL_COMPARED;
    d->efl = x & ~udf;
    d->efl_udf = x & udf;
    d->eip = a->regs.eip != b->regs.eip;
    d->vec = a->vector != b->vector;
    for (unsigned i = 0; i < DIFF_WIN_SIZE; i++)
        d->mem += a->win[i] != b->win[i];
}

static bool delta_any(const struct diff_delta *d)
{
    return d->gpr || d->efl || d->eip || d->vec || d->mem;
}

/* ---- printing ----------------------------------------------------------- */

static void fmt_flags(char *buf, uint32_t efl)
{
    static const struct { uint32_t bit; char ch; } fl[] = {
        { CPUM_EFL_OF, 'o' }, { CPUM_EFL_DF, 'd' }, { CPUM_EFL_SF, 's' }, { CPUM_EFL_ZF, 'z' },
        { CPUM_EFL_AF, 'a' }, { CPUM_EFL_PF, 'p' }, { CPUM_EFL_CF, 'c' } };
    for (unsigned i = 0; i < IXVM_ARRAY_SIZE(fl); i++)
        buf[i] = (char)((efl & fl[i].bit) ? fl[i].ch - 'a' + 'A' : fl[i].ch);
    buf[IXVM_ARRAY_SIZE(fl)] = '\0';
}

static void print_regs(FILE *f, const char *label, const struct diff_regs *r, int vector)
{
    char fl[8];
    fmt_flags(fl, r->eflags);
    fprintf(f, "  %-6s", label);
    for (unsigned i = 0; i < 8; i++)
        fprintf(f, " %s=%08x", diff_gpr_names[i], r->gpr[i]);
    fprintf(f, " efl=%08x[%s] eip=%08x", r->eflags, fl, r->eip);
    if (vector != DIFF_VEC_NONE)
        fprintf(f, " EXCEPTION %d", vector);
    fputc('\n', f);
}

static void print_delta(FILE *f, const struct diff_out *a, const struct diff_out *b, const struct diff_delta *d)
{
    char fl[8];
    fprintf(f, "  differ:");
    for (unsigned i = 0; i < 8; i++) {
        if (d->gpr & (1u << i))
            fprintf(f, " %s", diff_gpr_names[i]);
    }
    if (d->efl) {
        fmt_flags(fl, d->efl);
        fprintf(f, " eflags(%s)", fl);
    }
    if (d->efl_udf) {
        fmt_flags(fl, d->efl_udf);
        fprintf(f, " [undefined flags differ: %s]", fl);
    }
    if (d->eip)
        fprintf(f, " eip");
    if (d->vec)
        fprintf(f, " vector(%d vs %d)", a->vector, b->vector);
    if (d->mem) {
        fprintf(f, " memory(%u bytes):", d->mem);
        unsigned shown = 0;
        for (unsigned i = 0; i < DIFF_WIN_SIZE && shown < 12; i++) {
            if (a->win[i] != b->win[i]) {
                fprintf(f, " +%03x:%02x/%02x", i, a->win[i], b->win[i]);
                shown++;
            }
        }
    }
    fputc('\n', f);
}

void diff_print_case(FILE *f, const struct diff_case *c, const struct diff_out *host,
                     const struct diff_out *target, const char *target_name)
{
    char name[96];
    diff_case_name(c, name, sizeof(name));
    fprintf(f, "  insn:  %s (family %s), bytes", name, c->t->family);
    for (unsigned i = 0; i < c->len; i++)
        fprintf(f, " %02x", c->insn[i]);
    if (c->mem)
        fprintf(f, ", ea=%08x", c->ea);
    fputc('\n', f);
    print_regs(f, "input", &c->in, DIFF_VEC_NONE);
    print_regs(f, "host", &host->regs, host->vector);
    if (target)
        print_regs(f, target_name, &target->regs, target->vector);
}

static void report_mismatch(const struct diff_opts *o, FILE *f, const struct diff_case *c,
                            const struct diff_out *host, const struct diff_out *tgt,
                            const struct diff_target *t, const struct diff_delta *d)
{
    fprintf(f, "diff: MISMATCH case %llu seed 0x%llx\n", (unsigned long long)c->index,
            (unsigned long long)c->seed);
    diff_print_case(f, c, host, tgt, t->name);
    print_delta(f, host, tgt, d);
    fprintf(f, "  reproduce: DIFF_SEED=0x%llx DIFF_FIRST=%llu DIFF_CASES=1%s\n",
            (unsigned long long)o->seed, (unsigned long long)c->index, o->strict_undef ? " DIFF_STRICT_UNDEF=1" : "");
}

/* ---- the loop ----------------------------------------------------------- */

/* Host faults a case may legitimately raise: #DE (DIV, AAM 0), #UD for the
 * invalid encodings and #GP for a write through a CS override (the code
 * segment is not writable). */
static bool host_fault_expected(const struct diff_case *c, int vector)
{
    if (vector == DIFF_VEC_NONE || vector == 0)
        return true;
    if (vector == 6)
        return strcmp(c->t->family, "ud") == 0;
    if (vector == 13) {
        for (unsigned i = 0; i < c->len; i++) {
            if (c->insn[i] == 0x2e)
                return true;
        }
    }
    return false;
}

struct diff_loop {
    const struct diff_opts *o;
    struct diff_summary *s;
    const struct diff_target *t;
    FILE *f;
    unsigned reports;
};

static void account(struct diff_loop *L, const struct diff_case *c, const struct diff_out *host,
                    const struct diff_out *tgt)
{
    struct diff_summary *s = L->s;
    struct diff_fam_stats *fs = &s->fam[fam_index(s, c->t->family)];
    fs->cases++;
    s->cases++;
    if (!host_fault_expected(c, host->vector)) {
        s->gen_errors++;
        if (L->reports++ < L->o->max_reports) {
            fprintf(L->f, "diff: GENERATOR ERROR case %llu: unexpected host exception %d\n",
                    (unsigned long long)c->index, host->vector);
            diff_print_case(L->f, c, host, NULL, NULL);
        }
        return;
    }
    if (!tgt) {
        fs->passed++;
        fs->host_faults += host->vector != DIFF_VEC_NONE;
        return;
    }
    if (tgt->vector == 6 && host->vector != 6 && !L->o->require_all) {
        fs->unimplemented++;
        s->unimplemented++;
        return;
    }
    struct diff_delta d;
    diff_compare(c, host, tgt, L->o->strict_undef, &d);
    if (d.efl_udf) {
        unsigned k = (unsigned)(c->t - diff_tmpls) * DIFF_SUBS + (c->sub & (DIFF_SUBS - 1));
        s->udf_count[k]++;
        s->udf_bits[k] |= d.efl_udf;
        fs->udf_diffs++;
    }
    if (!delta_any(&d)) {
        fs->passed++;
        fs->host_faults += host->vector != DIFF_VEC_NONE;
        return;
    }
    if (fs->mismatches++ == 0)
        fs->first_mismatch = c->index;
    s->mismatches++;
    if (L->reports++ < L->o->max_reports)
        report_mismatch(L->o, L->f, c, host, tgt, L->t, &d);
}

int diff_run(struct diff_host *h, const struct diff_target *target, const struct diff_opts *o,
             struct diff_summary *s)
{
    memset(s, 0, sizeof(*s));
    s->udf_count = calloc((size_t)diff_tmpl_count * DIFF_SUBS, sizeof(uint32_t));
    s->udf_bits = calloc((size_t)diff_tmpl_count * DIFF_SUBS, sizeof(uint32_t));
    struct diff_case *c = malloc(sizeof(*c));
    struct diff_out *ho = malloc(sizeof(*ho)), *to = malloc(sizeof(*to));
    unsigned nfilter;
    uint16_t *filter = build_filter(o->families, &nfilter);
    int rc = 0;
    if (!s->udf_count || !s->udf_bits || !c || !ho || !to || (o->families && !filter))
        rc = IXVM_ERR_NO_MEMORY;
    else if (o->families && nfilter == 0)
        rc = IXVM_ERR_NOT_FOUND;
    for (size_t i = 0; i < diff_tmpl_count && rc == 0; i++)
        (void)fam_index(s, diff_tmpls[i].family);  /* table order in the summary */
    struct diff_layout l = { .win_addr = diff_host_win_addr(h), .insn_addr = diff_host_insn_addr(h) };
    struct diff_loop L = { .o = o, .s = s, .t = target, .f = o->out ? o->out : stderr };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < o->cases && rc == 0; i++) {
        diff_gen_case(c, &l, o->seed, o->first + i, filter, nfilter);
        rc = diff_host_run(h, c->insn, c->len, &c->in, c->win, ho);
        if (rc == 0 && target) {
            memset(to, 0, sizeof(*to));
            rc = target->run(target->ctx, c, to);
        }
        if (rc != 0) {
            s->errors++;
            fprintf(L.f, "diff: case %llu: run failed: %s\n", (unsigned long long)c->index, ixvm_strerror(rc));
            break;
        }
        account(&L, c, ho, target ? to : NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    free(filter);
    free(c);
    free(ho);
    free(to);
    return rc;
}

void diff_summary_free(struct diff_summary *s)
{
    free(s->udf_count);
    free(s->udf_bits);
    s->udf_count = s->udf_bits = NULL;
}

static void print_udf_table(const struct diff_summary *s, FILE *f)
{
    bool any = false;
    for (unsigned i = 0; i < diff_tmpl_count * DIFF_SUBS; i++) {
        if (!s->udf_count[i])
            continue;
        if (!any)
            fprintf(f, "diff: instructions whose SDM-undefined flags differ from the host (not failures):\n");
        any = true;
        struct diff_case c = { .t = &diff_tmpls[i / DIFF_SUBS], .sub = (uint8_t)(i % DIFF_SUBS) };
        char name[96], fl[8];
        diff_case_name(&c, name, sizeof(name));
        fmt_flags(fl, s->udf_bits[i]);
        fprintf(f, "    %-26s %8u cases, flags %s\n", name, s->udf_count[i], fl);
    }
}

void diff_print_summary(const struct diff_summary *s, const struct diff_opts *o)
{
    FILE *f = o->out ? o->out : stderr;
    fprintf(f, "diff: %llu cases in %.2f s (%.0f cases/s), seed 0x%llx first %llu%s\n",
            (unsigned long long)s->cases, s->seconds, s->seconds > 0 ? (double)s->cases / s->seconds : 0.0,
            (unsigned long long)o->seed, (unsigned long long)o->first, o->strict_undef ? ", strict undefined flags" : "");
    fprintf(f, "    %-10s %9s %9s %9s %9s %9s %9s\n", "family", "cases", "passed", "MISMATCH", "unimpl",
            "faults", "udf-diff");
    for (unsigned i = 0; i < s->nfam; i++) {
        const struct diff_fam_stats *fs = &s->fam[i];
        if (!fs->cases)
            continue;
        fprintf(f, "    %-10s %9llu %9llu %9llu %9llu %9llu %9llu", fs->family, (unsigned long long)fs->cases,
                (unsigned long long)fs->passed, (unsigned long long)fs->mismatches,
                (unsigned long long)fs->unimplemented, (unsigned long long)fs->host_faults,
                (unsigned long long)fs->udf_diffs);
        if (fs->mismatches)
            fprintf(f, "  (first: DIFF_FIRST=%llu)", (unsigned long long)fs->first_mismatch);
        else if (fs->unimplemented == fs->cases)
            fprintf(f, "  (not implemented)");
        fputc('\n', f);
    }
    if (s->udf_count)
        print_udf_table(s, f);
    fprintf(f, "diff: %llu mismatches, %llu unimplemented, %llu generator errors\n",
            (unsigned long long)s->mismatches, (unsigned long long)s->unimplemented,
            (unsigned long long)s->gen_errors);
}
