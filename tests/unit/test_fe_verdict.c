/* SPDX-License-Identifier: MIT */
/*
 * The runner's verdict state machine: table-driven sequences of events with
 * the exit status, reason and JUnit kind each must end in (first decisive
 * event wins).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "frontend/fe_verdict.h"

struct ev {
    enum fe_verdict_event ev;
    uint64_t value;
    const char *detail;
};

struct vcase {
    const char *what;
    bool expect;
    struct ev evs[4];
    unsigned n;
    int status;
    enum fe_verdict_event first;
    enum fe_verdict_kind kind;
    const char *reason;
};

static const struct vcase cases[] = {
    { "expect alone", true, { { FE_VERDICT_EXPECT_MATCHED, 0, "login:" } }, 1,
      0, FE_VERDICT_EXPECT_MATCHED, FE_VERDICT_PASS, "matched expect pattern 'login:'" },
    { "fail-on alone", true, { { FE_VERDICT_FAIL_ON_MATCHED, 0, "Kernel panic" } }, 1,
      1, FE_VERDICT_FAIL_ON_MATCHED, FE_VERDICT_FAILURE, "matched fail-on pattern 'Kernel panic'" },
    { "timeout", false, { { FE_VERDICT_TIMEOUT, 30, NULL } }, 1,
      124, FE_VERDICT_TIMEOUT, FE_VERDICT_FAILURE, "timeout after 30 s" },
    { "debug-exit 3", false, { { FE_VERDICT_DEBUG_EXIT, 3, NULL } }, 1,
      7, FE_VERDICT_DEBUG_EXIT, FE_VERDICT_FAILURE, "guest exit status 3" },
    { "debug-exit 0", false, { { FE_VERDICT_DEBUG_EXIT, 0, NULL } }, 1,
      1, FE_VERDICT_DEBUG_EXIT, FE_VERDICT_FAILURE, "guest exit status 0" },
    { "debug-exit wraps to 8 bits", false, { { FE_VERDICT_DEBUG_EXIT, 0x80, NULL } }, 1,
      1, FE_VERDICT_DEBUG_EXIT, FE_VERDICT_FAILURE, "guest exit status 128" },
    { "sigint", false, { { FE_VERDICT_SIGINT, 0, NULL } }, 1,
      130, FE_VERDICT_SIGINT, FE_VERDICT_ERROR, "interrupted (SIGINT)" },
    { "sigterm", true, { { FE_VERDICT_SIGTERM, 0, NULL } }, 1,
      143, FE_VERDICT_SIGTERM, FE_VERDICT_ERROR, "terminated (SIGTERM)" },
    { "expect then sigterm", true,
      { { FE_VERDICT_EXPECT_MATCHED, 0, "ok" }, { FE_VERDICT_SIGTERM, 0, NULL } }, 2,
      0, FE_VERDICT_EXPECT_MATCHED, FE_VERDICT_PASS, "matched expect pattern 'ok'" },
    { "timeout then sigint", false,
      { { FE_VERDICT_TIMEOUT, 5, NULL }, { FE_VERDICT_SIGINT, 0, NULL } }, 2,
      124, FE_VERDICT_TIMEOUT, FE_VERDICT_FAILURE, "timeout after 5 s" },
    { "fail-on beats later expect", true,
      { { FE_VERDICT_FAIL_ON_MATCHED, 0, "panic" }, { FE_VERDICT_EXPECT_MATCHED, 0, "ok" } }, 2,
      1, FE_VERDICT_FAIL_ON_MATCHED, FE_VERDICT_FAILURE, "matched fail-on pattern 'panic'" },
    { "expect beats later debug-exit", true,
      { { FE_VERDICT_EXPECT_MATCHED, 0, "ok" }, { FE_VERDICT_DEBUG_EXIT, 9, NULL } }, 2,
      0, FE_VERDICT_EXPECT_MATCHED, FE_VERDICT_PASS, "matched expect pattern 'ok'" },
    { "power-off, nothing expected", false, { { FE_VERDICT_POWER_OFF, 0, NULL } }, 1,
      0, FE_VERDICT_POWER_OFF, FE_VERDICT_PASS, "guest powered off" },
    { "power-off with expect pending", true, { { FE_VERDICT_POWER_OFF, 0, NULL } }, 1,
      1, FE_VERDICT_POWER_OFF, FE_VERDICT_FAILURE, "guest powered off before the expected output" },
    { "triple fault", false, { { FE_VERDICT_TRIPLE_FAULT, 0, "at 0008:1234" } }, 1,
      1, FE_VERDICT_TRIPLE_FAULT, FE_VERDICT_FAILURE, "guest triple fault: at 0008:1234" },
    { "guru, multi-line detail cut", false, { { FE_VERDICT_GURU, 0, "bad opcode\nregs..." } }, 1,
      1, FE_VERDICT_GURU, FE_VERDICT_ERROR, "emulator failure: bad opcode" },
};

Test(fe_verdict, table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct vcase *c = &cases[i];
        struct fe_verdict v;
        fe_verdict_init(&v, c->expect);
        cr_assert_not(v.decided);
        for (unsigned e = 0; e < c->n; e++) {
            int rc = fe_verdict_event(&v, c->evs[e].ev, c->evs[e].value, c->evs[e].detail);
            cr_assert_eq(rc, e == 0 ? 1 : 0, "%s: event %u returned %d", c->what, e, rc);
        }
        cr_assert(v.decided, "%s", c->what);
        cr_assert_eq(v.status, c->status, "%s: status %d", c->what, v.status);
        cr_assert_eq(v.event, c->first, "%s", c->what);
        cr_assert_eq(v.kind, c->kind, "%s: kind %d", c->what, v.kind);
        cr_assert_str_eq(v.reason, c->reason, "%s", c->what);
        cr_assert_eq(fe_verdict_finish(&v), c->status, "%s", c->what);
    }
}

Test(fe_verdict, finish_without_event)
{
    struct fe_verdict v;
    fe_verdict_init(&v, false);
    cr_assert_eq(fe_verdict_finish(&v), 0);
    cr_assert_eq(v.event, FE_VERDICT_POWER_OFF);
    fe_verdict_init(&v, true);
    cr_assert_eq(fe_verdict_finish(&v), 1);
    cr_assert_eq(v.kind, FE_VERDICT_FAILURE);
}

Test(fe_verdict, bad_event_and_names)
{
    struct fe_verdict v;
    fe_verdict_init(&v, false);
    cr_assert_lt(fe_verdict_event(&v, FE_VERDICT_EVENT_COUNT, 0, NULL), 0);
    cr_assert_not(v.decided);
    cr_assert_null(fe_verdict_event_name(FE_VERDICT_EVENT_COUNT));
    cr_assert_str_eq(fe_verdict_event_name(FE_VERDICT_TIMEOUT), "timeout");
    cr_assert_str_eq(fe_verdict_kind_name(FE_VERDICT_ERROR), "error");
    for (unsigned e = 0; e < FE_VERDICT_EVENT_COUNT; e++)
        cr_assert_not_null(fe_verdict_event_name((enum fe_verdict_event)e));
}
