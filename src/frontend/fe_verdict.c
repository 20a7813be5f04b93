/* SPDX-License-Identifier: MIT */
/*
 * The runner's verdict logic (docs/frontend.md "Exit statuses").  Pure: no
 * clock, no I/O, so the whole table is unit-tested.  Precedence is by time:
 * the first decisive event wins, as a CI job wants the reason that actually
 * ended the run ("timeout" must not turn into "SIGTERM" because the CI
 * killed us after we already timed out).
 */
#include "frontend/fe_verdict.h"

#include <stdio.h>
#include <string.h>

struct fe_verdict_desc {
    const char *name;
    int status;
    enum fe_verdict_kind kind;
};

static const struct fe_verdict_desc fe_verdict_descs[FE_VERDICT_EVENT_COUNT] = {
#define FE_VERDICT_X(id, nm, st, k) [FE_VERDICT_##id] = { .name = nm, .status = st, .kind = FE_VERDICT_##k },
#include "frontend/fe_verdict.def"
#undef FE_VERDICT_X
};

void fe_verdict_init(struct fe_verdict *v, bool expect_configured)
{
    memset(v, 0, sizeof(*v));
    v->expect_pending = expect_configured;
}

const char *fe_verdict_event_name(enum fe_verdict_event ev)
{
    if ((unsigned)ev >= FE_VERDICT_EVENT_COUNT)
        return NULL;
    return fe_verdict_descs[ev].name;
}

const char *fe_verdict_kind_name(enum fe_verdict_kind kind)
{
    static const char *const names[] = { "pass", "failure", "error" };
    return (unsigned)kind < (sizeof(names) / sizeof(names[0])) ? names[kind] : "?";
}

/* Write the reason line; the detail is cut at a newline so it stays one line. */
static void fe_verdict_reason(struct fe_verdict *v, enum fe_verdict_event ev, uint64_t value,
                              const char *detail)
{
    char d[160];
    size_t n = 0;
    if (detail) {
        for (; detail[n] && detail[n] != '\n' && detail[n] != '\r' && n < sizeof(d) - 1; n++)
            d[n] = detail[n];
    }
    d[n] = '\0';
    char *r = v->reason;
    size_t cap = sizeof(v->reason);
    switch (ev) {
    case FE_VERDICT_EXPECT_MATCHED:
        snprintf(r, cap, n ? "matched expect pattern '%s'" : "expect matched", d);
        break;
    case FE_VERDICT_FAIL_ON_MATCHED:
        snprintf(r, cap, "matched fail-on pattern '%s'", d);
        break;
    case FE_VERDICT_TIMEOUT:
        snprintf(r, cap, "timeout after %llu s", (unsigned long long)value);
        break;
    case FE_VERDICT_DEBUG_EXIT:
        snprintf(r, cap, "guest exit status %llu", (unsigned long long)value);
        break;
    case FE_VERDICT_POWER_OFF:
        snprintf(r, cap, v->expect_pending ? "guest powered off before the expected output"
                                           : "guest powered off");
        break;
    case FE_VERDICT_TRIPLE_FAULT:
        snprintf(r, cap, "guest triple fault%s%s", n ? ": " : "", d);
        break;
    case FE_VERDICT_GURU:
        snprintf(r, cap, "emulator failure%s%s", n ? ": " : "", d);
        break;
    case FE_VERDICT_SIGINT:
        snprintf(r, cap, "interrupted (SIGINT)");
        break;
    case FE_VERDICT_SIGTERM:
        snprintf(r, cap, "terminated (SIGTERM)");
        break;
    default:
        snprintf(r, cap, "unknown event");
        break;
    }
}

int fe_verdict_event(struct fe_verdict *v, enum fe_verdict_event ev, uint64_t value,
                     const char *detail)
{
    if ((unsigned)ev >= FE_VERDICT_EVENT_COUNT)
        return -1;
    if (v->decided)
        return 0;
    const struct fe_verdict_desc *d = &fe_verdict_descs[ev];
    int status = d->status;
    enum fe_verdict_kind kind = d->kind;
    if (ev == FE_VERDICT_DEBUG_EXIT) {
        /* isa-debug-exit: the process exits with (value << 1) | 1; exit()
         * keeps the low 8 bits, so say so here rather than let the OS cut. */
        status = (int)(((value << 1) | 1) & 0xff);
    } else if (ev == FE_VERDICT_POWER_OFF) {
        status = v->expect_pending ? FE_EXIT_FAIL : FE_EXIT_OK;
        kind = v->expect_pending ? FE_VERDICT_FAILURE : FE_VERDICT_PASS;
    }
    fe_verdict_reason(v, ev, value, detail);
    v->decided = true;
    v->event = ev;
    v->status = status;
    v->kind = kind;
    if (ev == FE_VERDICT_EXPECT_MATCHED)
        v->expect_pending = false;
    return 1;
}

int fe_verdict_finish(struct fe_verdict *v)
{
    if (!v->decided)
        (void)fe_verdict_event(v, FE_VERDICT_POWER_OFF, 0, NULL);
    return v->status;
}
