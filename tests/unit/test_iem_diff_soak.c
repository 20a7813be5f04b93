/* SPDX-License-Identifier: MIT */
/*
 * Long differential run against the host CPU (label soak, excluded from
 * `make test`; run it with `ctest -L soak`).  DIFF_CASES defaults to 20M here and the default seed
 * differs from the CI test's so the two runs cover different cases; every
 * other DIFF_* variable works as in test_iem_diff (docs/difftest.md).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "support/diff_host.h"
#include "support/diff_iem.h"
#include "support/diff_run.h"

#define DIFF_SOAK_CASES 20000000u
#define DIFF_SOAK_SEED  0x50a4ull

Test(iem_diff_soak, against_interpreter, .timeout = 3600)
{
    struct diff_host *h;
    struct ixvm_errinfo err = { 0 };
    int rc = diff_host_open(&h, &err);
    cr_assert_eq(rc, 0, "diff_host_open: %s", err.msg);
    struct diff_target t;
    rc = diff_iem_open(&t, h, &err);
    cr_assert_eq(rc, 0, "diff_iem_open: %s", err.msg);
    struct diff_opts o;
    diff_opts_from_env(&o, DIFF_SOAK_CASES);
    if (!getenv("DIFF_SEED"))
        o.seed = DIFF_SOAK_SEED;
    struct diff_summary s;
    rc = diff_run(h, &t, &o, &s);
    diff_print_summary(&s, &o);
    cr_assert_eq(rc, 0, "diff_run: %s", ixvm_strerror(rc));
    cr_assert_eq(s.gen_errors, 0);
    cr_assert_eq(s.mismatches, 0, "%llu mismatches (see above)", (unsigned long long)s.mismatches);
    diff_summary_free(&s);
    diff_iem_close(&t);
    diff_host_close(h);
}
