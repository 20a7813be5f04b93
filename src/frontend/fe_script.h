/* SPDX-License-Identifier: MIT */
/*
 * Expect/send scripts for the headless runner, and the runner that plays
 * them against the console stream together with the --fail-on patterns.
 *
 * A script is an ordered list of steps.  --input-script FILE holds one step
 * per line:
 *     expect REGEX      wait until the console output matches
 *     send TEXT         type TEXT (the --send syntax of fe_keys.h)
 *     sendkey CHORD     press a chord: "ctrl-alt-delete"
 *     sleep MS          wait MS milliseconds
 *     # comment         (blank lines are ignored too)
 * The command-line options --expect REGEX and --send KEYS append steps in
 * the order given, so "--expect login: --send 'root\n' --expect '# '" is a
 * script of three steps.  Each expect sees only the output after the
 * previous expect's match.  The script passes when its last step is done
 * and it had at least one expect; a --fail-on match anywhere in the output
 * fails the run (on a tie, the fail-on match wins).
 */
#ifndef IXVM_FE_SCRIPT_H
#define IXVM_FE_SCRIPT_H

#include "frontend/fe_keys.h"
#include "frontend/fe_match.h"

enum fe_step_kind { FE_STEP_EXPECT, FE_STEP_SEND, FE_STEP_SENDKEY, FE_STEP_SLEEP };

struct fe_step {
    enum fe_step_kind kind;
    char *arg;               /* the pattern, text or chord as written */
    struct fe_key_seq keys;  /* send / sendkey: the key events */
    uint64_t ms;             /* sleep */
    char where[96];          /* "FILE:LINE" or "--expect" for messages */
};

struct fe_script {
    struct fe_step *steps;
    size_t n, cap;
};

void fe_script_init(struct fe_script *s);
void fe_script_free(struct fe_script *s);
/* Append one step; arg is validated (regex compiles, keys exist, sleep is a
 * number) and errors start with `where`. */
int fe_script_add(struct fe_script *s, enum fe_step_kind kind, const char *arg,
                  const char *where, struct ixvm_errinfo *err) IXVM_WUR;
/* Parse script text; `name` is used in messages ("name:LINE: ..."). */
int fe_script_parse(struct fe_script *s, const char *text, size_t len, const char *name,
                    struct ixvm_errinfo *err) IXVM_WUR;
/* Read and parse --input-script FILE. */
int fe_script_load(struct fe_script *s, const char *path, struct ixvm_errinfo *err) IXVM_WUR;
bool fe_script_has_expect(const struct fe_script *s);

/* What the runner reports. */
enum fe_run_event { FE_RUN_NONE = 0, FE_RUN_PASSED = 1, FE_RUN_FAILED = 2 };

/* Called to type keys (the frontend queues them for the keyboard). */
typedef int (*fe_send_fn)(void *user, const struct fe_key_event *ev, size_t n);

/* [loop]: the runner is used by the loop thread only. */
struct fe_script_run {
    const struct fe_script *script;
    size_t step;
    struct fe_match cur;          /* the current expect step's matcher */
    bool cur_active;
    struct fe_match *fail;        /* --fail-on matchers */
    size_t nfail;
    size_t span;
    char *pending;                /* output not yet seen by an expect step */
    size_t plen, pcap;
    bool at_bol;                  /* the last byte handed to an expect was '\n' */
    bool sleeping;
    uint64_t sleep_until_ms;
    fe_send_fn send;
    void *user;
    enum fe_run_event state;      /* FE_RUN_NONE while running */
    char pattern[256];            /* the pattern that decided */
    struct fe_match_result result;
    int send_rc;                  /* first error from send(), 0 if none */
};

int fe_script_run_init(struct fe_script_run *r, const struct fe_script *script,
                       const char *const *fail_on, size_t nfail, size_t span,
                       fe_send_fn send, void *user, struct ixvm_errinfo *err) IXVM_WUR;
void fe_script_run_fini(struct fe_script_run *r);
/* Start the script (sends before the first expect go out now). */
enum fe_run_event fe_script_run_start(struct fe_script_run *r, uint64_t now_ms);
/* Console output arrived.  Returns the event it decided (FE_RUN_NONE if it
 * decided nothing, also after a decision). */
enum fe_run_event fe_script_run_feed(struct fe_script_run *r, const char *data, size_t len,
                                     uint64_t now_ms);
/* Time passed (sleep steps).  *next_ms: when to poll again, UINT64_MAX if
 * no sleep is running. */
enum fe_run_event fe_script_run_poll(struct fe_script_run *r, uint64_t now_ms, uint64_t *next_ms);

#endif
