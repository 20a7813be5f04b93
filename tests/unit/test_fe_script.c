/* SPDX-License-Identifier: MIT */
/*
 * Scripts: parsing (errors name file:line), loading from a file, and the
 * runner: expect/send ordering, sleeps, fail-on precedence, and the same
 * outcome for random chunkings of the console output.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_script.h"

static void parse_ok(struct fe_script *s, const char *text)
{
    struct ixvm_errinfo e = { 0 };
    fe_script_init(s);
    cr_assert_eq(fe_script_parse(s, text, strlen(text), "t.script", &e), 0, "%s", e.msg);
}

static void parse_err(const char *text, int rc, const char *msg)
{
    struct fe_script s;
    struct ixvm_errinfo e = { 0 };
    fe_script_init(&s);
    cr_assert_eq(fe_script_parse(&s, text, strlen(text), "t.script", &e), rc, "'%s': %s", text, e.msg);
    cr_assert(strstr(e.msg, msg), "'%s': message '%s' lacks '%s'", text, e.msg, msg);
    fe_script_free(&s);
}

Test(fe_script, parse)
{
    struct fe_script s;
    parse_ok(&s, "# comment\n\n  expect login: \r\nsend root\\n\nsendkey ctrl-alt-delete\nsleep 250\n");
    cr_assert_eq(s.n, 4);
    cr_assert_eq(s.steps[0].kind, FE_STEP_EXPECT);
    cr_assert_str_eq(s.steps[0].arg, "login: ", "argument kept verbatim, CR stripped");
    cr_assert_str_eq(s.steps[0].where, "t.script:3");
    cr_assert_eq(s.steps[1].kind, FE_STEP_SEND);
    cr_assert_eq(s.steps[1].keys.n, 10, "r o o t ret: 5 presses");
    cr_assert_eq(s.steps[2].kind, FE_STEP_SENDKEY);
    cr_assert_eq(s.steps[2].keys.n, 6);
    cr_assert_eq(s.steps[3].kind, FE_STEP_SLEEP);
    cr_assert_eq(s.steps[3].ms, 250);
    cr_assert(fe_script_has_expect(&s));
    fe_script_free(&s);
}

Test(fe_script, parse_errors)
{
    parse_err("expect ok\nfrobnicate x\n", IXVM_ERR_SYNTAX, "t.script:2: unknown command 'frobnicate'");
    parse_err("\n\nexpect (\n", IXVM_ERR_SYNTAX, "t.script:3: pattern '('");
    parse_err("sleep 12x\n", IXVM_ERR_SYNTAX, "t.script:1: sleep: '12x' is not a number");
    parse_err("sleep -1\n", IXVM_ERR_SYNTAX, "t.script:1: sleep");
    parse_err("sendkey ctrl-nokey\n", IXVM_ERR_UNKNOWN_KEY, "t.script:1: key chord 'ctrl-nokey': unknown key 'nokey'");
    parse_err("send caf\xc3\xa9\n", IXVM_ERR_NOT_SUPPORTED, "t.script:1: send text at offset 3");
    parse_err("expect\n", IXVM_ERR_SYNTAX, "t.script:1: expect needs an argument");
    parse_err("expect a*\n", IXVM_ERR_INVALID_PARAMETER, "matches the empty string");
}

Test(fe_script, load_file)
{
    char path[] = "/tmp/fe_script_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char text[] = "expect ok\nsend x\n";
    cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    struct fe_script s;
    struct ixvm_errinfo e = { 0 };
    fe_script_init(&s);
    cr_assert_eq(fe_script_load(&s, path, &e), 0, "%s", e.msg);
    cr_assert_eq(s.n, 2);
    fe_script_free(&s);
    unlink(path);
    fe_script_init(&s);
    cr_assert_eq(fe_script_load(&s, "/nonexistent/x.script", &e), IXVM_ERR_IO);
    cr_assert(strstr(e.msg, "/nonexistent/x.script: No such file"), "%s", e.msg);
}

/* Records what the runner typed, with the console offset at the time. */
struct typed {
    char log[256];
    size_t n;
    size_t fed;       /* console bytes fed so far (set by the driver) */
    size_t at[16];
    size_t nsends;
};

static int record_send(void *user, const struct fe_key_event *ev, size_t n)
{
    struct typed *t = user;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].down && t->n + 1 < sizeof(t->log))
            t->log[t->n++] = fe_key_name((enum fe_key)ev[i].key)[0];
    }
    t->log[t->n] = '\0';
    if (t->nsends < 16)
        t->at[t->nsends++] = t->fed;
    return 0;
}

struct outcome {
    enum fe_run_event ev;
    size_t at;          /* bytes fed (chunk end) when decided */
    char pattern[64];
    uint64_t mstart, mend;
    struct typed t;
};

/* Play output in random chunks (seed 0: byte by byte). */
static void play(const struct fe_script *s, const char *const *fail, size_t nfail, const char *out,
                 unsigned seed, struct outcome *o)
{
    struct fe_script_run r;
    struct ixvm_errinfo e = { 0 };
    memset(o, 0, sizeof(*o));
    cr_assert_eq(fe_script_run_init(&r, s, fail, nfail, 0, record_send, &o->t, &e), 0, "%s", e.msg);
    o->ev = fe_script_run_start(&r, 0);
    srand(seed);
    size_t len = strlen(out), off = 0;
    while (off < len && o->ev == FE_RUN_NONE) {
        size_t c = seed ? 1 + (size_t)rand() % 7 : 1;
        if (c > len - off)
            c = len - off;
        o->t.fed = off;
        o->ev = fe_script_run_feed(&r, out + off, c, 0);
        off += c;
        if (o->ev != FE_RUN_NONE)
            o->at = off;
    }
    snprintf(o->pattern, sizeof(o->pattern), "%s", r.pattern);
    o->mstart = r.result.start;
    o->mend = r.result.end;
    cr_assert_eq(fe_script_run_feed(&r, "more", 4, 0), FE_RUN_NONE, "decided only once");
    fe_script_run_fini(&r);
}

Test(fe_script, expect_send_expect_any_chunking)
{
    struct fe_script s;
    parse_ok(&s, "expect login:\nsend root\\n\nexpect ok\nexpect ok\n");
    const char *fail[] = { "Kernel panic" };
    const char *out = "BIOS ok\nlogin: root\nok\nwelcome ok\n# ";
    struct outcome ref, got;
    play(&s, fail, 1, out, 0, &ref);
    cr_assert_eq(ref.ev, FE_RUN_PASSED);
    cr_assert_str_eq(ref.t.log, "rootr", "typed root + ret");
    cr_assert_eq(ref.t.at[0], 13, "typed after 'login:' was complete");
    cr_assert_str_eq(ref.pattern, "ok");
    /* The first "ok" (in BIOS ok) is before login:, so the two expects are
     * satisfied by "ok\n" and "welcome ok". */
    cr_assert_eq(ref.at, 33);
    cr_assert_eq(ref.mend, 33 - 22, "offsets are relative to the last expect's start");
    for (unsigned seed = 1; seed <= 100; seed++) {
        play(&s, fail, 1, out, seed, &got);
        cr_assert_eq(got.ev, FE_RUN_PASSED, "seed %u", seed);
        cr_assert_str_eq(got.t.log, "rootr");
        cr_assert_eq(got.mstart, ref.mstart, "seed %u", seed);
        cr_assert_eq(got.mend, ref.mend, "seed %u", seed);
        cr_assert_geq(got.at, ref.at);
    }
    fe_script_free(&s);
}

Test(fe_script, fail_on_precedence)
{
    struct fe_script s;
    parse_ok(&s, "expect PASS\n");
    const char *fail[] = { "FAIL", "panic" };
    struct outcome o;
    for (unsigned seed = 0; seed <= 30; seed++) {
        play(&s, fail, 2, "x PASS y FAIL", seed, &o);
        cr_assert_eq(o.ev, FE_RUN_PASSED, "seed %u", seed);
        play(&s, fail, 2, "x FAIL y PASS", seed, &o);
        cr_assert_eq(o.ev, FE_RUN_FAILED, "seed %u", seed);
        cr_assert_str_eq(o.pattern, "FAIL");
        play(&s, fail, 2, "boot... panic: PASS", seed, &o);
        cr_assert_eq(o.ev, FE_RUN_FAILED);
        cr_assert_str_eq(o.pattern, "panic");
    }
    fe_script_free(&s);
    /* Both complete on the same byte: the fail-on pattern wins. */
    parse_ok(&s, "expect AB\n");
    const char *fb[] = { "B" };
    play(&s, fb, 1, "xAB", 0, &o);
    cr_assert_eq(o.ev, FE_RUN_FAILED);
    play(&s, fb, 1, "xAB", 5, &o);
    cr_assert_eq(o.ev, FE_RUN_FAILED);
    fe_script_free(&s);
}

Test(fe_script, fail_on_without_script)
{
    struct fe_script s;
    fe_script_init(&s);
    const char *fail[] = { "oops" };
    struct outcome o;
    play(&s, fail, 1, "all fine\nno problem", 3, &o);
    cr_assert_eq(o.ev, FE_RUN_NONE);
    play(&s, fail, 1, "all fine\noops", 3, &o);
    cr_assert_eq(o.ev, FE_RUN_FAILED);
}

Test(fe_script, sends_before_first_expect_and_sleep)
{
    struct fe_script s;
    parse_ok(&s, "send a\nsleep 100\nexpect go\nsendkey ctrl-c\n");
    struct typed t = { 0 };
    struct fe_script_run r;
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_script_run_init(&r, &s, NULL, 0, 0, record_send, &t, &e), 0);
    cr_assert_eq(fe_script_run_start(&r, 1000), FE_RUN_NONE);
    cr_assert_str_eq(t.log, "a", "sent at start");
    uint64_t next = 0;
    cr_assert_eq(fe_script_run_poll(&r, 1050, &next), FE_RUN_NONE);
    cr_assert_eq(next, 1100);
    /* Output during the sleep is kept for the expect after it. */
    cr_assert_eq(fe_script_run_feed(&r, "let's g", 7, 1060), FE_RUN_NONE);
    cr_assert_eq(fe_script_run_feed(&r, "o!", 2, 1070), FE_RUN_NONE);
    cr_assert_str_eq(t.log, "a");
    cr_assert_eq(fe_script_run_poll(&r, 1100, &next), FE_RUN_PASSED,
                 "the script ends with a send after its expect");
    cr_assert_str_eq(t.log, "acc", "ctrl-c sent: ctrl and c down");
    cr_assert_eq(next, UINT64_MAX);
    fe_script_run_fini(&r);
    fe_script_free(&s);
}

Test(fe_script, script_without_expect_never_passes)
{
    struct fe_script s;
    parse_ok(&s, "send hi\n");
    cr_assert_not(fe_script_has_expect(&s));
    struct typed t = { 0 };
    struct fe_script_run r;
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_script_run_init(&r, &s, NULL, 0, 0, record_send, &t, &e), 0);
    cr_assert_eq(fe_script_run_start(&r, 0), FE_RUN_NONE);
    cr_assert_str_eq(t.log, "hi");
    cr_assert_eq(fe_script_run_feed(&r, "anything", 8, 0), FE_RUN_NONE);
    fe_script_run_fini(&r);
    fe_script_free(&s);
    const char *bad[] = { "ok", "(" };
    cr_assert_eq(fe_script_run_init(&r, NULL, bad, 2, 0, NULL, NULL, &e), IXVM_ERR_SYNTAX);
    cr_assert(strstr(e.msg, "pattern '('"), "%s", e.msg);
}
