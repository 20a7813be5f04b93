/* SPDX-License-Identifier: MIT */
/*
 * Streaming regex matching over console output (--expect, --fail-on,
 * script expect steps).  POSIX extended regexes, line-aware (REG_NEWLINE:
 * '.' and [^...] never match a newline, ^ and $ match at line starts and
 * ends; $ never matches at the end of the text seen so far, since more may
 * follow).
 *
 * A match is reported exactly once, at the byte where it first becomes
 * complete, whatever the chunking: feeding a stream in any pieces gives the
 * same matches (offsets and text) as feeding it one byte at a time.  That
 * holds for matches of at most `span` bytes (the window); the matcher keeps
 * only the last 2 * span bytes.  After a match the next one starts at its
 * end (matches do not overlap).
 */
#ifndef IXVM_FE_MATCH_H
#define IXVM_FE_MATCH_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ixvm/types.h"

#define FE_MATCH_DEFAULT_SPAN 4096

struct fe_match_result {
    uint64_t start, end;   /* stream offsets of the match: [start, end) */
    char text[160];        /* the matched text, cut to fit */
};

/* One pattern being matched.  [loop]: used by one thread. */
struct fe_match {
    regex_t re;
    bool compiled;
    bool bol_at_zero;      /* stream offset 0 is a line start */
    char *pattern;
    size_t span;
    char *buf;             /* stream bytes [base, base + len) */
    size_t len, cap;
    uint64_t base;
    uint64_t floor;        /* the next match starts at or after this offset */
    uint64_t matches;
};

/* Compile; span 0 means FE_MATCH_DEFAULT_SPAN.  A bad regex or one that
 * matches the empty string is an error naming the pattern and reason. */
int fe_match_init(struct fe_match *m, const char *pattern, size_t span,
                  struct ixvm_errinfo *err) IXVM_WUR;
void fe_match_fini(struct fe_match *m);
/* Forget the text seen so far; offsets restart at 0.  at_bol: the text that
 * follows starts a line. */
void fe_match_reset(struct fe_match *m, bool at_bol);

/*
 * Feed len bytes.  Returns 1 when a match completed inside them: *used is
 * the number of bytes consumed (up to the match end; feed the rest again),
 * *res the match.  Returns 0 when no match completed (*used = len), negative
 * on error (no memory).
 */
int fe_match_feed(struct fe_match *m, const char *data, size_t len, size_t *used,
                  struct fe_match_result *res) IXVM_WUR;

/* Stream offset of the next byte to be fed. */
uint64_t fe_match_pos(const struct fe_match *m);

#endif
