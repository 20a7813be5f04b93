/* SPDX-License-Identifier: MIT */
/*
 * Expect/send scripts: parsing (--input-script FILE, --expect, --send) and
 * the runner that plays a script against the console stream while watching
 * the --fail-on patterns (semantics in fe_script.h).  Output that arrives
 * while a send or sleep step is current is kept in `pending`, so the next
 * expect sees all of it, in order.
 */
#include "frontend/fe_script.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output kept for the next expect while a sleep runs (older bytes are
 * dropped beyond this, as the matcher would drop them anyway). */
#define FE_RUN_PENDING_MAX (1u << 20)

static const struct { const char *word; enum fe_step_kind kind; } fe_step_words[] = {
    { "expect", FE_STEP_EXPECT }, { "send", FE_STEP_SEND },
    { "sendkey", FE_STEP_SENDKEY }, { "sleep", FE_STEP_SLEEP },
};

void fe_script_init(struct fe_script *s)
{
    memset(s, 0, sizeof(*s));
}

void fe_script_free(struct fe_script *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->steps[i].arg);
        fe_key_seq_free(&s->steps[i].keys);
    }
    free(s->steps);
    fe_script_init(s);
}

bool fe_script_has_expect(const struct fe_script *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->steps[i].kind == FE_STEP_EXPECT)
            return true;
    }
    return false;
}

/* Check and convert a step's argument. */
static int fe_step_prepare(struct fe_step *st, const char *where, struct ixvm_errinfo *err)
{
    struct ixvm_errinfo e = { 0 };
    int rc = 0;
    switch (st->kind) {
    case FE_STEP_EXPECT: {
        struct fe_match m;
        rc = fe_match_init(&m, st->arg, 0, &e);
        if (rc == 0)
            fe_match_fini(&m);
        break;
    }
    case FE_STEP_SEND:
        rc = fe_keys_parse_send(&st->keys, st->arg, &e);
        break;
    case FE_STEP_SENDKEY:
        rc = fe_keys_parse_chord(&st->keys, st->arg, strlen(st->arg), &e);
        break;
    case FE_STEP_SLEEP: {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(st->arg, &end, 10);
        if (st->arg[0] < '0' || st->arg[0] > '9' || *end || errno || v > 86400000ull)
            rc = ixvm_errinfo_set(&e, IXVM_ERR_SYNTAX,
                                  "sleep: '%s' is not a number of milliseconds (0..86400000)", st->arg);
        st->ms = v;
        break;
    }
    }
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "%s: %s", where, e.msg);
    return 0;
}

int fe_script_add(struct fe_script *s, enum fe_step_kind kind, const char *arg,
                  const char *where, struct ixvm_errinfo *err)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct fe_step *steps = realloc(s->steps, cap * sizeof(*steps));
        if (!steps)
            return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", where);
        s->steps = steps;
        s->cap = cap;
    }
    struct fe_step *st = &s->steps[s->n];
    memset(st, 0, sizeof(*st));
    st->kind = kind;
    snprintf(st->where, sizeof(st->where), "%s", where);
    st->arg = strdup(arg);
    if (!st->arg)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", where);
    fe_key_seq_init(&st->keys);
    int rc = fe_step_prepare(st, where, err);
    if (rc < 0) {
        free(st->arg);
        fe_key_seq_free(&st->keys);
        return rc;
    }
    s->n++;
    return 0;
}

/* One script line (without its newline). */
static int fe_script_line(struct fe_script *s, const char *line, size_t len, const char *where,
                          struct ixvm_errinfo *err)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len || line[i] == '#')
        return 0;
    size_t w = i;
    while (i < len && line[i] != ' ' && line[i] != '\t')
        i++;
    size_t wlen = i - w;
    if (i < len)
        i++;   /* one separator; the rest of the line is the argument, verbatim */
    for (size_t k = 0; k < sizeof(fe_step_words) / sizeof(fe_step_words[0]); k++) {
        if (strlen(fe_step_words[k].word) != wlen || memcmp(fe_step_words[k].word, line + w, wlen))
            continue;
        if (i >= len)
            return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "%s: %s needs an argument", where,
                                    fe_step_words[k].word);
        char *arg = strndup(line + i, len - i);
        if (!arg)
            return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", where);
        if (memchr(line + i, '\0', len - i)) {
            free(arg);
            return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "%s: NUL byte in the line", where);
        }
        int rc = fe_script_add(s, fe_step_words[k].kind, arg, where, err);
        free(arg);
        return rc;
    }
    return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX,
                            "%s: unknown command '%.*s' (expect, send, sendkey, sleep)", where,
                            (int)(wlen > 40 ? 40 : wlen), line + w);
}

int fe_script_parse(struct fe_script *s, const char *text, size_t len, const char *name,
                    struct ixvm_errinfo *err)
{
    size_t lineno = 0, pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t llen = end - pos;
        if (llen && text[pos + llen - 1] == '\r')
            llen--;
        char where[96];
        snprintf(where, sizeof(where), "%s:%zu", name, ++lineno);
        int rc = fe_script_line(s, text + pos, llen, where, err);
        if (rc < 0)
            return rc;
        pos = end + 1;
    }
    return 0;
}

int fe_script_load(struct fe_script *s, const char *path, struct ixvm_errinfo *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *t = cap > (64u << 20) ? NULL : realloc(text, cap);
            if (!t) {
                rc = ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: too large or out of memory", path);
                break;
            }
            text = t;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        rc = fe_script_parse(s, text, len, path, err);
    free(text);
    return rc;
}

/* ---- the runner ------------------------------------------------------- */

int fe_script_run_init(struct fe_script_run *r, const struct fe_script *script,
                       const char *const *fail_on, size_t nfail, size_t span,
                       fe_send_fn send, void *user, struct ixvm_errinfo *err)
{
    memset(r, 0, sizeof(*r));
    r->script = script;
    r->span = span;
    r->send = send;
    r->user = user;
    r->at_bol = true;
    if (nfail) {
        r->fail = calloc(nfail, sizeof(*r->fail));
        if (!r->fail)
            return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "fail-on patterns: out of memory");
    }
    for (size_t i = 0; i < nfail; i++) {
        int rc = fe_match_init(&r->fail[i], fail_on[i], span, err);
        if (rc < 0) {
            fe_script_run_fini(r);
            return rc;
        }
        r->nfail++;
    }
    return 0;
}

void fe_script_run_fini(struct fe_script_run *r)
{
    for (size_t i = 0; i < r->nfail; i++)
        fe_match_fini(&r->fail[i]);
    free(r->fail);
    if (r->cur_active)
        fe_match_fini(&r->cur);
    free(r->pending);
    memset(r, 0, sizeof(*r));
}

static void fe_run_decide(struct fe_script_run *r, enum fe_run_event ev, const char *pattern,
                          const struct fe_match_result *res)
{
    r->state = ev;
    snprintf(r->pattern, sizeof(r->pattern), "%s", pattern);
    if (res)
        r->result = *res;
}

/* Hand the first n pending bytes to nobody: they were seen. */
static void fe_run_consume(struct fe_script_run *r, size_t n)
{
    if (n == 0)
        return;
    r->at_bol = r->pending[n - 1] == '\n';
    memmove(r->pending, r->pending + n, r->plen - n);
    r->plen -= n;
}

/* The current expect step: feed it the pending output.  Returns true when
 * it matched. */
static bool fe_run_expect(struct fe_script_run *r, const struct fe_step *st)
{
    if (!r->cur_active) {
        if (fe_match_init(&r->cur, st->arg, r->span, NULL) < 0)
            return false;   /* validated when added: only no-memory gets here */
        fe_match_reset(&r->cur, r->at_bol);
        r->cur_active = true;
    }
    size_t used = 0;
    struct fe_match_result res;
    int rc = fe_match_feed(&r->cur, r->pending, r->plen, &used, &res);
    fe_run_consume(r, rc >= 0 ? used : r->plen);
    if (rc != 1)
        return false;
    fe_match_fini(&r->cur);
    r->cur_active = false;
    if (r->step + 1 == r->script->n)
        fe_run_decide(r, FE_RUN_PASSED, st->arg, &res);
    else
        r->result = res;
    return true;
}

/* Run steps until one has to wait (for output or time). */
static void fe_run_advance(struct fe_script_run *r, uint64_t now_ms)
{
    const struct fe_script *s = r->script;
    while (r->state == FE_RUN_NONE && s && r->step < s->n) {
        const struct fe_step *st = &s->steps[r->step];
        if (st->kind == FE_STEP_EXPECT) {
            if (!fe_run_expect(r, st))
                return;
        } else if (st->kind == FE_STEP_SLEEP) {
            if (!r->sleeping) {
                r->sleeping = true;
                r->sleep_until_ms = now_ms + st->ms;
            }
            if (now_ms < r->sleep_until_ms)
                return;
            r->sleeping = false;
        } else if (r->send) {
            int rc = r->send(r->user, st->keys.ev, st->keys.n);
            if (rc < 0 && r->send_rc == 0)
                r->send_rc = rc;
        }
        r->step++;
        if (r->step == s->n && st->kind != FE_STEP_EXPECT && fe_script_has_expect(s))
            fe_run_decide(r, FE_RUN_PASSED, "", NULL);
    }
    /* Nothing waits for output any more. */
    r->plen = 0;
}

enum fe_run_event fe_script_run_start(struct fe_script_run *r, uint64_t now_ms)
{
    fe_run_advance(r, now_ms);
    return r->state;
}

static int fe_run_pend(struct fe_script_run *r, const char *data, size_t len)
{
    if (r->plen + len > FE_RUN_PENDING_MAX) {
        size_t drop = r->plen + len - FE_RUN_PENDING_MAX;
        if (drop >= r->plen) {
            data += drop - r->plen;
            len -= drop - r->plen;
            r->plen = 0;
        } else {
            fe_run_consume(r, drop);
        }
    }
    if (r->plen + len > r->pcap) {
        size_t cap = r->pcap ? r->pcap : 4096;
        while (cap < r->plen + len)
            cap *= 2;
        char *p = realloc(r->pending, cap);
        if (!p)
            return IXVM_ERR_NO_MEMORY;
        r->pending = p;
        r->pcap = cap;
    }
    memcpy(r->pending + r->plen, data, len);
    r->plen += len;
    return 0;
}

/* The earliest --fail-on completion in data: its end offset, or SIZE_MAX. */
static size_t fe_run_fail_scan(struct fe_script_run *r, const char *data, size_t len,
                               size_t *which, struct fe_match_result *res)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < r->nfail; i++) {
        size_t used = 0;
        struct fe_match_result mr;
        if (fe_match_feed(&r->fail[i], data, len, &used, &mr) == 1 && used < best) {
            best = used;
            *which = i;
            *res = mr;
        }
    }
    return best;
}

enum fe_run_event fe_script_run_feed(struct fe_script_run *r, const char *data, size_t len,
                                     uint64_t now_ms)
{
    if (r->state != FE_RUN_NONE)
        return FE_RUN_NONE;
    size_t which = 0;
    struct fe_match_result fres;
    size_t fail_end = fe_run_fail_scan(r, data, len, &which, &fres);
    /* The script only sees output that ends before the fail-on match: a
     * pass must complete strictly earlier to win. */
    size_t n = fail_end == SIZE_MAX ? len : fail_end - 1;
    bool waiting = r->script && r->step < r->script->n;
    if (waiting && fe_run_pend(r, data, n) == 0)
        fe_run_advance(r, now_ms);
    if (r->state == FE_RUN_NONE && fail_end != SIZE_MAX)
        fe_run_decide(r, FE_RUN_FAILED, r->fail[which].pattern, &fres);
    return r->state;
}

enum fe_run_event fe_script_run_poll(struct fe_script_run *r, uint64_t now_ms, uint64_t *next_ms)
{
    if (r->state == FE_RUN_NONE)
        fe_run_advance(r, now_ms);
    *next_ms = r->state == FE_RUN_NONE && r->sleeping ? r->sleep_until_ms : UINT64_MAX;
    return r->state;
}
