/* SPDX-License-Identifier: MIT */
/*
 * Streaming regex matcher (semantics in fe_match.h).  The trick that makes
 * the result independent of chunking: "the text seen up to offset k contains
 * a match in its last 2*span bytes" is monotone in k for matches of at most
 * span bytes, so when a chunk brings a match we binary-search the smallest
 * such k; the leftmost match in that prefix is the one a byte-at-a-time feed
 * would have reported, and it ends exactly at k.  regexec() needs a
 * NUL-terminated string, so NUL bytes in the console are stored as 0x01 and
 * the buffer always has room for a terminator.
 */
#include "frontend/fe_match.h"

#include <stdlib.h>
#include <string.h>

int fe_match_init(struct fe_match *m, const char *pattern, size_t span,
                  struct ixvm_errinfo *err)
{
    memset(m, 0, sizeof(*m));
    m->bol_at_zero = true;
    m->span = span ? span : FE_MATCH_DEFAULT_SPAN;
    int rc = regcomp(&m->re, pattern, REG_EXTENDED | REG_NEWLINE);
    if (rc != 0) {
        char why[160];
        regerror(rc, &m->re, why, sizeof(why));
        return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "pattern '%s': %s", pattern, why);
    }
    m->compiled = true;
    /* A pattern that matches nothing at all would fire at every byte. */
    regmatch_t pm[1];
    if (regexec(&m->re, "", 1, pm, 0) == 0 || regexec(&m->re, "\n", 1, pm, 0) == 0 ||
        (regexec(&m->re, "x", 1, pm, 0) == 0 && pm[0].rm_so == pm[0].rm_eo)) {
        fe_match_fini(m);
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "pattern '%s': matches the empty string", pattern);
    }
    m->pattern = strdup(pattern);
    if (!m->pattern) {
        fe_match_fini(m);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "pattern '%s': out of memory", pattern);
    }
    return 0;
}

void fe_match_fini(struct fe_match *m)
{
    if (m->compiled)
        regfree(&m->re);
    free(m->pattern);
    free(m->buf);
    memset(m, 0, sizeof(*m));
}

void fe_match_reset(struct fe_match *m, bool at_bol)
{
    m->len = 0;
    m->base = 0;
    m->floor = 0;
    m->matches = 0;
    m->bol_at_zero = at_bol;
}

uint64_t fe_match_pos(const struct fe_match *m)
{
    return m->base + m->len;
}

/* Where the window of a prefix ending at stream offset k starts. */
static uint64_t fe_match_ws(const struct fe_match *m, uint64_t k)
{
    uint64_t w = 2 * (uint64_t)m->span;
    uint64_t ws = k > w ? k - w : 0;
    return ws > m->floor ? ws : m->floor;
}

/* Drop bytes no window from offset `next` on can reach (one byte before
 * the window start stays, for the line-start test). */
static void fe_match_trim(struct fe_match *m, uint64_t next)
{
    uint64_t keep = fe_match_ws(m, next);
    keep = keep ? keep - 1 : 0;
    if (keep <= m->base)
        return;
    size_t drop = (size_t)(keep - m->base);
    if (drop > m->len)
        drop = m->len;
    memmove(m->buf, m->buf + drop, m->len - drop);
    m->len -= drop;
    m->base += drop;
}

static int fe_match_append(struct fe_match *m, const char *data, size_t len)
{
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->len + len + 1)
            cap *= 2;
        char *buf = realloc(m->buf, cap);
        if (!buf)
            return IXVM_ERR_NO_MEMORY;
        m->buf = buf;
        m->cap = cap;
    }
    for (size_t i = 0; i < len; i++)
        m->buf[m->len + i] = data[i] ? data[i] : '\x01';
    m->len += len;
    return 0;
}

/* Does the window of the prefix ending at k (base < k <= base + len) hold
 * a non-empty match?  Fills pm with stream offsets. */
static bool fe_match_eval(struct fe_match *m, uint64_t k, uint64_t *so, uint64_t *eo)
{
    uint64_t ws = fe_match_ws(m, k);
    if (ws >= k)
        return false;
    size_t wi = (size_t)(ws - m->base), ki = (size_t)(k - m->base);
    bool bol = ws == 0 ? m->bol_at_zero : m->buf[wi - 1] == '\n';
    char save = m->buf[ki];
    m->buf[ki] = '\0';
    regmatch_t pm[1];
    int rc = regexec(&m->re, m->buf + wi, 1, pm, REG_NOTEOL | (bol ? 0 : REG_NOTBOL));
    m->buf[ki] = save;
    if (rc != 0 || pm[0].rm_so == pm[0].rm_eo)
        return false;
    *so = ws + (uint64_t)pm[0].rm_so;
    *eo = ws + (uint64_t)pm[0].rm_eo;
    return true;
}

static void fe_match_report(struct fe_match *m, uint64_t so, uint64_t eo,
                            struct fe_match_result *res)
{
    res->start = so;
    res->end = eo;
    size_t n = (size_t)(eo - so);
    if (n > sizeof(res->text) - 1)
        n = sizeof(res->text) - 1;
    memcpy(res->text, m->buf + (size_t)(so - m->base), n);
    res->text[n] = '\0';
    m->floor = eo;
    m->matches++;
}

int fe_match_feed(struct fe_match *m, const char *data, size_t len, size_t *used,
                  struct fe_match_result *res)
{
    uint64_t start = fe_match_pos(m);
    fe_match_trim(m, start + 1);
    int rc = fe_match_append(m, data, len);
    if (rc < 0)
        return rc;
    uint64_t end = start + len, pos = start, so = 0, eo = 0;
    while (pos < end) {
        uint64_t hi = pos + m->span < end ? pos + m->span : end;
        if (!fe_match_eval(m, hi, &so, &eo)) {
            pos = hi;
            continue;
        }
        /* The smallest k in (pos, hi] whose prefix holds a match. */
        uint64_t lo = pos;
        while (hi - lo > 1) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (fe_match_eval(m, mid, &so, &eo))
                hi = mid;
            else
                lo = mid;
        }
        if (!fe_match_eval(m, hi, &so, &eo))
            return IXVM_ERR_GENERAL;   /* cannot happen: hi always matched */
        fe_match_report(m, so, eo, res);
        /* Keep only what was consumed: the caller feeds the rest again. */
        m->len = (size_t)(hi - m->base);
        *used = (size_t)(hi - start);
        return 1;
    }
    fe_match_trim(m, end + 1);
    *used = len;
    return 0;
}
