/* SPDX-License-Identifier: MIT */
/*
 * Differential test of the interpreter against the host CPU (docs/difftest.md).
 * First the host runner is checked on instructions whose results are worked
 * out by hand, then the generator (determinism, operand placement, no
 * unexpected host faults over many cases), then DIFF_CASES (default 1M,
 * 100k under sanitizers) random cases run on both machines.  Mismatches in
 * families the interpreter implements fail the test; #UD from the
 * interpreter counts as "unimplemented" unless DIFF_REQUIRE_ALL=1.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/cpum.h"
#include "support/diff_gen.h"
#include "support/diff_host.h"
#include "support/diff_iem.h"
#include "support/diff_run.h"

#ifdef IXVM_SANITIZED
#define DIFF_CI_CASES 100000u
#define DIFF_GEN_CASES 30000u
#else
#define DIFF_CI_CASES 1000000u
#define DIFF_GEN_CASES 300000u
#endif

static struct diff_host *open_host(void)
{
    struct diff_host *h;
    struct ixvm_errinfo err = { 0 };
    int rc = diff_host_open(&h, &err);
    cr_assert_eq(rc, 0, "diff_host_open: %s", err.msg);
    return h;
}

/* ---- host runner, hand-computed results --------------------------------- */

struct hand_case {
    const char *what;
    uint8_t insn[8];
    uint8_t len;
    uint32_t gpr[8];
    uint32_t efl;
    int vector;
    uint32_t out_gpr[8];
    uint32_t out_status;      /* OSZAPC + DF after */
};

#define FL(o, s, z, a, p, c) ((o) * CPUM_EFL_OF | (s) * CPUM_EFL_SF | (z) * CPUM_EFL_ZF | \
                              (a) * CPUM_EFL_AF | (p) * CPUM_EFL_PF | (c) * CPUM_EFL_CF)

static const struct hand_case hand_cases[] = {
    { "add eax,ecx carry", { 0x01, 0xc8 }, 2, { 0xffffffff, 1 }, 0, DIFF_VEC_NONE,
      { 0, 1 }, FL(0, 0, 1, 1, 1, 1) },
    { "add eax,ecx overflow", { 0x01, 0xc8 }, 2, { 0x7fffffff, 1 }, 0, DIFF_VEC_NONE,
      { 0x80000000, 1 }, FL(1, 1, 0, 1, 1, 0) },
    { "adc al,1 with CF", { 0x14, 0x01 }, 2, { 0x1234567e }, CPUM_EFL_CF, DIFF_VEC_NONE,
      { 0x12345680 }, FL(1, 1, 0, 1, 0, 0) },
    { "aaa", { 0x37 }, 1, { 0x0000000f }, 0, DIFF_VEC_NONE, { 0x00000105 }, FL(0, 0, 0, 1, 1, 1) },
    { "daa", { 0x27 }, 1, { 0x0000000f }, 0, DIFF_VEC_NONE, { 0x00000015 }, FL(0, 0, 0, 1, 0, 0) },
    { "div ecx by zero", { 0xf7, 0xf1 }, 2, { 5, 0, 7 }, CPUM_EFL_ZF, 0, { 5, 0, 7 }, FL(0, 0, 1, 0, 0, 0) },
    { "div ecx", { 0xf7, 0xf1 }, 2, { 100, 7, 0 }, 0, DIFF_VEC_NONE, { 14, 7, 2 }, 0 /* all undefined */ },
    { "shl al,1", { 0xd0, 0xe0 }, 2, { 0x81 }, 0, DIFF_VEC_NONE, { 0x02 }, FL(1, 0, 0, 0, 0, 1) },
    { "bsf eax,ecx", { 0x0f, 0xbc, 0xc1 }, 3, { 0, 0x80 }, 0, DIFF_VEC_NONE, { 7, 0x80 }, 0 },
    { "imul eax,ecx,3", { 0x6b, 0xc1, 0x03 }, 3, { 0, 0x40000000 }, 0, DIFF_VEC_NONE,
      { 0xc0000000, 0x40000000 }, FL(1, 0, 0, 0, 0, 1) },
    { "setnz al", { 0x0f, 0x95, 0xc0 }, 3, { 0xffffff00 }, 0, DIFF_VEC_NONE, { 0xffffff01 }, 0 },
    { "lahf", { 0x9f }, 1, { 0 }, 0x8d5, DIFF_VEC_NONE, { 0xd700 }, 0x8d5 },
    { "bswap edx", { 0x0f, 0xca }, 2, { 0, 0, 0x11223344 }, 0, DIFF_VEC_NONE, { 0, 0, 0x44332211 }, 0 },
    { "inc ecx (41)", { 0x41 }, 1, { 0, 0x7fffffff }, CPUM_EFL_CF, DIFF_VEC_NONE,
      { 0, 0x80000000 }, FL(1, 1, 0, 1, 1, 1) },
    { "ud2", { 0x0f, 0x0b }, 2, { 1, 2, 3 }, 0, 6, { 1, 2, 3 }, 0 },
};

/* Flags whose value the SDM defines for the cases above. */
static uint32_t hand_mask(const struct hand_case *hc)
{
    if (strncmp(hc->what, "div ecx", 7) == 0 && hc->vector != 0)
        return CPUM_EFL_DF;
    if (strncmp(hc->what, "bsf", 3) == 0)
        return CPUM_EFL_ZF | CPUM_EFL_DF;
    if (strncmp(hc->what, "imul", 4) == 0)
        return CPUM_EFL_OF | CPUM_EFL_CF | CPUM_EFL_DF;
    if (strncmp(hc->what, "aaa", 3) == 0)
        return CPUM_EFL_AF | CPUM_EFL_CF | CPUM_EFL_DF;
    if (strncmp(hc->what, "daa", 3) == 0)
        return CPUM_EFL_STATUS & ~CPUM_EFL_OF;
    if (strncmp(hc->what, "shl", 3) == 0)
        return CPUM_EFL_STATUS & ~CPUM_EFL_AF;
    return CPUM_EFL_STATUS | CPUM_EFL_DF;
}

Test(iem_diff, host_hand_computed)
{
    struct diff_host *h = open_host();
    struct diff_out *o = malloc(sizeof(*o));
    uint8_t *win = calloc(1, DIFF_WIN_SIZE);
    cr_assert(o && win);
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(hand_cases); i++) {
        const struct hand_case *hc = &hand_cases[i];
        struct diff_regs in = { .eflags = hc->efl };
        memcpy(in.gpr, hc->gpr, sizeof(in.gpr));
        in.gpr[CPUM_ESP] = 0x1000;
        cr_assert_eq(diff_host_run(h, hc->insn, hc->len, &in, win, o), 0);
        cr_assert_eq(o->vector, hc->vector, "%s: vector %d", hc->what, o->vector);
        for (int r = 0; r < 8; r++) {
            uint32_t want = r == CPUM_ESP ? 0x1000 : hc->out_gpr[r];
            cr_assert_eq(o->regs.gpr[r], want, "%s: gpr %d = %08x, want %08x", hc->what, r, o->regs.gpr[r], want);
        }
        uint32_t m = hand_mask(hc);
        cr_assert_eq(o->regs.eflags & m, hc->out_status & m, "%s: eflags %08x", hc->what, o->regs.eflags);
        uint32_t eip = diff_host_insn_addr(h) + (hc->vector == DIFF_VEC_NONE ? hc->len : 0);
        cr_assert_eq(o->regs.eip, eip, "%s: eip %08x", hc->what, o->regs.eip);
    }
    free(o);
    free(win);
    diff_host_close(h);
}

/* Memory forms: a store, PUSH on a stack in the window, REP MOVSB, STD+REP
 * STOSD downwards, CMPXCHG8B. */
Test(iem_diff, host_memory)
{
    struct diff_host *h = open_host();
    struct diff_out *o = malloc(sizeof(*o));
    uint8_t *win = calloc(1, DIFF_WIN_SIZE);
    cr_assert(o && win);
    uint32_t w = diff_host_win_addr(h), v;
    for (unsigned i = 0; i < DIFF_WIN_SIZE; i++)
        win[i] = (uint8_t)i;

    static const uint8_t st[] = { 0x89, 0x44, 0x8b, 0x04 };  /* mov [ebx+ecx*4+4],eax */
    struct diff_regs in = { .gpr = { 0xdeadbeef, 2, 0, w + 0x100 - 12, 0x1000 } };
    cr_assert_eq(diff_host_run(h, st, sizeof(st), &in, win, o), 0);
    memcpy(&v, o->win + 0x100, 4);
    cr_assert_eq(v, 0xdeadbeef);
    cr_assert_eq(o->win[0xff], 0xff);
    cr_assert_eq(o->win[0x104], 0x04);

    static const uint8_t push[] = { 0x53 };  /* push ebx */
    struct diff_regs in2 = { .gpr = { 0, 0, 0, 0xcafef00d, w + 0x200 } };
    cr_assert_eq(diff_host_run(h, push, 1, &in2, win, o), 0);
    memcpy(&v, o->win + 0x1fc, 4);
    cr_assert_eq(v, 0xcafef00d);
    cr_assert_eq(o->regs.gpr[CPUM_ESP], w + 0x1fc);

    static const uint8_t movsb[] = { 0xf3, 0xa4 };
    struct diff_regs in3 = { .gpr = { 0, 4, 0, 0, 0x1000, 0, w + 0x10, w + 0x300 } };
    cr_assert_eq(diff_host_run(h, movsb, 2, &in3, win, o), 0);
    cr_assert_eq(memcmp(o->win + 0x300, win + 0x10, 4), 0);
    cr_assert_eq(o->win[0x304], 0x04);
    cr_assert_eq(o->regs.gpr[CPUM_ECX], 0);
    cr_assert_eq(o->regs.gpr[CPUM_ESI], w + 0x14);
    cr_assert_eq(o->regs.gpr[CPUM_EDI], w + 0x304);

    static const uint8_t stosd[] = { 0xf3, 0xab };
    struct diff_regs in4 = { .gpr = { 0x11223344, 2, 0, 0, 0x1000, 0, 0, w + 0x300 }, .eflags = CPUM_EFL_DF };
    cr_assert_eq(diff_host_run(h, stosd, 2, &in4, win, o), 0);
    memcpy(&v, o->win + 0x2fc, 4);
    cr_assert_eq(v, 0x11223344);
    memcpy(&v, o->win + 0x300, 4);
    cr_assert_eq(v, 0x11223344);
    cr_assert_eq(o->regs.gpr[CPUM_EDI], w + 0x2f8);
    cr_assert(o->regs.eflags & CPUM_EFL_DF);

    static const uint8_t cx8[] = { 0x0f, 0xc7, 0x0e };  /* cmpxchg8b [esi] */
    uint64_t q = 0x0123456789abcdefull;
    memcpy(win + 0x40, &q, 8);
    struct diff_regs in5 = { .gpr = { 0x89abcdef, 0xaaaa0000, 0x01234567, 0xbbbb1111, 0x1000, 0, w + 0x40 } };
    cr_assert_eq(diff_host_run(h, cx8, 3, &in5, win, o), 0);
    memcpy(&q, o->win + 0x40, 8);
    cr_assert_eq(q, 0xaaaa0000bbbb1111ull);
    cr_assert(o->regs.eflags & CPUM_EFL_ZF);
    free(o);
    free(win);
    diff_host_close(h);
}

/* ---- generator ---------------------------------------------------------- */

Test(iem_diff, generator_deterministic_and_in_window)
{
    struct diff_layout l = { .win_addr = 0x00110000, .insn_addr = 0x00100080 };
    struct diff_case *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    cr_assert(a && b);
    unsigned mem = 0, differ = 0;
    for (uint64_t i = 0; i < 20000; i++) {
        diff_gen_case(a, &l, 42, i, NULL, 0);
        diff_gen_case(b, &l, 42, i, NULL, 0);
        cr_assert_eq(memcmp(a->insn, b->insn, DIFF_INSN_MAX), 0, "case %llu not reproducible", (unsigned long long)i);
        cr_assert_eq(memcmp(&a->in, &b->in, sizeof(a->in)), 0);
        cr_assert_eq(memcmp(a->win, b->win, DIFF_WIN_SIZE), 0);
        cr_assert(a->len >= 1 && a->len <= DIFF_INSN_MAX);
        if (a->mem) {
            mem++;
            cr_assert(a->ea >= l.win_addr + 256 && a->ea + 8 <= l.win_addr + DIFF_WIN_SIZE - 256,
                      "case %llu: ea %08x outside the window centre", (unsigned long long)i, a->ea);
        }
        diff_gen_case(b, &l, 43, i, NULL, 0);
        differ += memcmp(a->insn, b->insn, DIFF_INSN_MAX) != 0 || memcmp(&a->in, &b->in, sizeof(a->in)) != 0;
    }
    cr_assert_gt(mem, 2000, "too few memory forms: %u", mem);
    cr_assert_gt(differ, 19000, "seeds do not change the cases: %u", differ);
    free(a);
    free(b);
}

/* Many cases on the host only: every family is drawn and every host fault
 * is one the case expects (#DE, #GP through a CS override). */
Test(iem_diff, generator_host_faults_expected, .timeout = 120)
{
    struct diff_host *h = open_host();
    struct diff_opts o;
    diff_opts_from_env(&o, DIFF_GEN_CASES);
    o.cases = DIFF_GEN_CASES;
    o.families = NULL;
    struct diff_summary s;
    cr_assert_eq(diff_run(h, NULL, &o, &s), 0);
    diff_print_summary(&s, &o);
    cr_assert_eq(s.gen_errors, 0, "%llu generator errors", (unsigned long long)s.gen_errors);
    for (unsigned i = 0; i < s.nfam; i++)
        cr_assert_gt(s.fam[i].cases, 0, "family %s never drawn", s.fam[i].family);
    cr_assert_gt(s.fam[0].cases, DIFF_GEN_CASES / 20);
    diff_summary_free(&s);
    diff_host_close(h);
}

/* ---- the comparison itself ----------------------------------------------- */

/* A target that is the host again, corrupting EAX on every 7th case and a
 * window byte on every 11th: the driver must flag exactly those. */
struct corrupt_target {
    struct diff_host *h;
};

static int corrupt_run(void *ctx, const struct diff_case *c, struct diff_out *out)
{
    struct corrupt_target *ct = ctx;
    int rc = diff_host_run(ct->h, c->insn, c->len, &c->in, c->win, out);
    if (c->index % 7 == 0)
        out->regs.gpr[CPUM_EAX] ^= 1;
    if (c->index % 11 == 0)
        out->win[c->index % DIFF_WIN_SIZE] ^= 0x80;
    return rc;
}

Test(iem_diff, comparison_catches_differences)
{
    struct diff_host *h = open_host();
    struct corrupt_target ct = { h };
    struct diff_target t = { .name = "corrupt", .ctx = &ct, .run = corrupt_run };
    struct diff_opts o;
    diff_opts_from_env(&o, 7700);
    o.seed = 99;
    o.first = 0;
    o.cases = 7700;
    o.families = NULL;
    o.max_reports = 1;
    struct diff_summary s;
    cr_assert_eq(diff_run(h, &t, &o, &s), 0);
    /* multiples of 7 or 11 in [0, 7700): 1100 + 700 - 100 */
    cr_assert_eq(s.mismatches, 1700, "mismatches %llu", (unsigned long long)s.mismatches);
    cr_assert_eq(s.gen_errors, 0);
    diff_summary_free(&s);
    diff_host_close(h);
}

/* ---- against the interpreter --------------------------------------------- */

Test(iem_diff, against_interpreter, .timeout = 300)
{
    struct diff_host *h = open_host();
    struct diff_target t;
    struct ixvm_errinfo err = { 0 };
    int rc = diff_iem_open(&t, h, &err);
    cr_assert_eq(rc, 0, "diff_iem_open: %s", err.msg);
    struct diff_opts o;
    diff_opts_from_env(&o, DIFF_CI_CASES);
    struct diff_summary s;
    rc = diff_run(h, &t, &o, &s);
    diff_print_summary(&s, &o);
    cr_assert_eq(rc, 0, "diff_run: %s", ixvm_strerror(rc));
    cr_assert_eq(s.gen_errors, 0);
    cr_assert_eq(s.mismatches, 0, "%llu mismatches between the host and the interpreter (see above)",
                 (unsigned long long)s.mismatches);
    diff_summary_free(&s);
    diff_iem_close(&t);
    diff_host_close(h);
}
