/* SPDX-License-Identifier: MIT */
/*
 * The headless runner's verdict: a pure state machine.  Events come in as
 * they happen (timer, console matchers, the debug-exit device, signals, VM
 * state changes); the first decisive event fixes the exit status and a
 * one-line reason, later events are ignored.  docs/frontend.md lists the
 * statuses.
 */
#ifndef IXVM_FE_VERDICT_H
#define IXVM_FE_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

enum fe_verdict_event {
#define FE_VERDICT_X(id, name, status, kind) FE_VERDICT_##id,
#include "frontend/fe_verdict.def"
#undef FE_VERDICT_X
    FE_VERDICT_EVENT_COUNT
};

/* What the JUnit report calls the outcome. */
enum fe_verdict_kind { FE_VERDICT_PASS, FE_VERDICT_FAILURE, FE_VERDICT_ERROR };

#define FE_EXIT_OK      0
#define FE_EXIT_FAIL    1
#define FE_EXIT_USAGE   2
#define FE_EXIT_TIMEOUT 124
#define FE_EXIT_SIGINT  130
#define FE_EXIT_SIGTERM 143

struct fe_verdict {
    bool decided;
    bool expect_pending;          /* an --expect / script has not passed yet */
    enum fe_verdict_event event;  /* valid when decided */
    enum fe_verdict_kind kind;
    int status;                   /* the process exit status, 0..255 */
    char reason[256];             /* one line: "timeout after 30 s" */
};

/* Start undecided; expect_configured: the run has an --expect or script. */
void fe_verdict_init(struct fe_verdict *v, bool expect_configured);

/*
 * Report an event.  value: the debug-exit value, the timeout in seconds, or
 * unused; detail: the pattern that matched, the guru message, or NULL.
 * Returns 1 when this event decided the verdict, 0 when one was already
 * decided (the event is ignored), negative for a bad event number.
 */
int fe_verdict_event(struct fe_verdict *v, enum fe_verdict_event ev, uint64_t value,
                     const char *detail);

/* The event's name ("timeout"), or NULL. */
const char *fe_verdict_event_name(enum fe_verdict_event ev);
/* The JUnit kind's name: "pass", "failure", "error". */
const char *fe_verdict_kind_name(enum fe_verdict_kind kind);

/*
 * The status when the VM stopped without any decisive event (the loop ended
 * for another reason, e.g. the window was closed): 0 unless an expect was
 * pending, then 1.  Decides the verdict as POWER_OFF.
 */
int fe_verdict_finish(struct fe_verdict *v);

#endif
