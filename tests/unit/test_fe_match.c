/* SPDX-License-Identifier: MIT */
/*
 * Streaming matcher: matches across chunk boundaries, found exactly once,
 * identical for every chunking (random chunkings compared with a
 * byte-at-a-time feed and with the expected occurrence list), line anchors,
 * the sliding window, bad patterns.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_match.h"

#define MAXM 256

struct found {
    size_t n;
    struct fe_match_result r[MAXM];
    uint64_t at[MAXM];     /* stream offset fed when reported */
};

/* Feed text in chunks whose sizes come from a seeded generator (seed 0:
 * one byte at a time; maxchunk: upper bound). */
static void run(const char *pat, const char *text, size_t len, unsigned seed, size_t maxchunk,
                size_t span, struct found *f)
{
    struct fe_match m;
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_match_init(&m, pat, span, &e), 0, "%s", e.msg);
    memset(f, 0, sizeof(*f));
    srand(seed);
    size_t off = 0;
    while (off < len) {
        size_t chunk = seed == 0 ? 1 : 1 + (size_t)rand() % maxchunk;
        if (chunk > len - off)
            chunk = len - off;
        size_t done = 0;
        while (done < chunk) {
            size_t used = 0;
            struct fe_match_result r;
            int rc = fe_match_feed(&m, text + off + done, chunk - done, &used, &r);
            cr_assert_geq(rc, 0);
            cr_assert_leq(used, chunk - done);
            done += used;
            if (rc == 1) {
                cr_assert_lt(f->n, MAXM);
                f->at[f->n] = off + done;
                f->r[f->n++] = r;
            }
        }
        off += chunk;
        cr_assert_eq(fe_match_pos(&m), off);
    }
    fe_match_fini(&m);
}

static void same(const struct found *a, const struct found *b, const char *what)
{
    cr_assert_eq(a->n, b->n, "%s: %zu vs %zu matches", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        cr_assert_eq(a->r[i].start, b->r[i].start, "%s: match %zu start", what, i);
        cr_assert_eq(a->r[i].end, b->r[i].end, "%s: match %zu end", what, i);
        cr_assert_str_eq(a->r[i].text, b->r[i].text, "%s: match %zu", what, i);
        cr_assert_eq(a->at[i], b->at[i], "%s: match %zu reported at", what, i);
    }
}

Test(fe_match, across_chunk_boundary)
{
    struct fe_match m;
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_match_init(&m, "login:", 0, &e), 0);
    size_t used;
    struct fe_match_result r;
    cr_assert_eq(fe_match_feed(&m, "boot ok\nlog", 11, &used, &r), 0);
    cr_assert_eq(used, 11);
    cr_assert_eq(fe_match_feed(&m, "in: more", 8, &used, &r), 1);
    cr_assert_eq(used, 3, "consumed up to the end of the match");
    cr_assert_eq(r.start, 8);
    cr_assert_eq(r.end, 14);
    cr_assert_str_eq(r.text, "login:");
    cr_assert_eq(fe_match_feed(&m, " more", 5, &used, &r), 0, "found exactly once");
    cr_assert_eq(fe_match_pos(&m), 19);
    fe_match_fini(&m);
}

/* A text with known occurrences of "PANIC [0-9]+!" sprinkled in noise. */
static size_t make_text(char *buf, size_t cap, unsigned seed, uint64_t *ends, size_t *nends)
{
    srand(seed);
    size_t len = 0;
    *nends = 0;
    while (len + 64 < cap) {
        int r = rand() % 10;
        if (r == 0 && *nends < MAXM) {
            len += (size_t)sprintf(buf + len, "PANIC %d!", rand() % 1000);
            ends[(*nends)++] = len;
        } else if (r == 1) {
            buf[len++] = '\n';
        } else {
            /* noise that can start but never complete a match */
            static const char noise[] = "PANIC x PAN 12! abc";
            int n = 1 + rand() % 6;
            for (int i = 0; i < n; i++)
                buf[len++] = noise[rand() % (int)(sizeof(noise) - 1)];
        }
    }
    return len;
}

Test(fe_match, random_chunkings_agree)
{
    static char text[20000];
    uint64_t ends[MAXM];
    size_t nends = 0;
    size_t len = make_text(text, sizeof(text), 7, ends, &nends);
    static struct found ref, got;
    run("PANIC [0-9]+!", text, len, 0, 1, 64, &ref);
    cr_assert_gt(nends, 20);
    cr_assert_eq(ref.n, nends, "byte feed found %zu of %zu", ref.n, nends);
    for (size_t i = 0; i < nends; i++) {
        cr_assert_eq(ref.r[i].end, ends[i], "match %zu", i);
        cr_assert_eq(ref.at[i], ends[i], "reported as soon as complete");
    }
    for (unsigned seed = 1; seed <= 60; seed++) {
        size_t maxchunk = seed % 3 == 0 ? 3 : seed % 3 == 1 ? 50 : 5000;
        run("PANIC [0-9]+!", text, len, seed, maxchunk, 64, &got);
        same(&ref, &got, "chunking");
    }
}

/* Greedy patterns: a byte-at-a-time feed reports the shortest completion,
 * and every chunking must agree with it. */
Test(fe_match, greedy_pattern_chunk_independent)
{
    const char *text = "xaaab aab ab b aaaaab\nzab";
    static struct found ref, got;
    run("a+b?", text, strlen(text), 0, 1, 0, &ref);
    cr_assert_gt(ref.n, 3);
    cr_assert_str_eq(ref.r[0].text, "a");
    for (unsigned seed = 1; seed <= 200; seed++) {
        run("a+b?", text, strlen(text), seed, 1 + seed % 8, 0, &got);
        same(&ref, &got, "a+b?");
    }
}

Test(fe_match, line_anchors)
{
    const char *text = "xx$ ok\nok then\nnot ok\nok";
    static struct found ref, got;
    run("^ok", text, strlen(text), 0, 1, 0, &ref);
    cr_assert_eq(ref.n, 2, "^ matches only at line starts: %zu", ref.n);
    cr_assert_eq(ref.r[0].start, 7);
    cr_assert_eq(ref.r[1].start, 22);
    for (unsigned seed = 1; seed <= 50; seed++) {
        run("^ok", text, strlen(text), seed, 6, 0, &got);
        same(&ref, &got, "^ok");
    }
    /* $ needs the newline: "then" at the end of text so far is not a line end. */
    run("then$", "ok then", 7, 0, 1, 0, &got);
    cr_assert_eq(got.n, 0);
    run("then$", "ok then\n", 8, 0, 1, 0, &got);
    cr_assert_eq(got.n, 1);
    /* '.' does not cross lines. */
    run("a.*b", "a\nb", 3, 0, 1, 0, &got);
    cr_assert_eq(got.n, 0);
}

Test(fe_match, reset_bol_and_nul_bytes)
{
    struct fe_match m;
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_match_init(&m, "^go", 0, &e), 0);
    size_t used;
    struct fe_match_result r;
    fe_match_reset(&m, false);
    cr_assert_eq(fe_match_feed(&m, "go", 2, &used, &r), 0, "not at a line start");
    fe_match_reset(&m, true);
    cr_assert_eq(fe_match_feed(&m, "go", 2, &used, &r), 1);
    fe_match_fini(&m);
    cr_assert_eq(fe_match_init(&m, "a.b", 0, &e), 0);
    cr_assert_eq(fe_match_feed(&m, "x\0a\0b", 5, &used, &r), 1, "NUL bytes do not end the text");
    cr_assert_eq(r.start, 2);
    fe_match_fini(&m);
}

Test(fe_match, window_is_bounded)
{
    struct fe_match m;
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_match_init(&m, "needle", 32, &e), 0);
    char junk[1000];
    memset(junk, 'x', sizeof(junk));
    size_t used;
    struct fe_match_result r;
    for (int i = 0; i < 100; i++)
        cr_assert_eq(fe_match_feed(&m, junk, sizeof(junk), &used, &r), 0);
    cr_assert_leq(m.len, 2 * 32 + 1, "kept %zu bytes", m.len);
    cr_assert_eq(fe_match_feed(&m, "xxneedle", 8, &used, &r), 1);
    cr_assert_eq(r.start, 100002);
    fe_match_fini(&m);
}

Test(fe_match, bad_patterns)
{
    struct fe_match m;
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_match_init(&m, "(unclosed", 0, &e), IXVM_ERR_SYNTAX);
    cr_assert(strstr(e.msg, "pattern '(unclosed'"), "%s", e.msg);
    cr_assert_eq(fe_match_init(&m, "a*", 0, &e), IXVM_ERR_INVALID_PARAMETER);
    cr_assert(strstr(e.msg, "empty string"), "%s", e.msg);
    cr_assert_eq(fe_match_init(&m, "^$", 0, &e), IXVM_ERR_INVALID_PARAMETER);
}
