/* SPDX-License-Identifier: MIT */
/* Status codes: names, messages and merging rules. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/types.h"

Test(err, names_and_messages)
{
    cr_assert_str_eq(ixvm_status_name(IXVM_ERR_TIMEOUT), "IXVM_ERR_TIMEOUT");
    cr_assert_str_eq(ixvm_strerror(IXVM_ERR_TIMEOUT), "timed out");
    cr_assert_str_eq(ixvm_strerror(0), "success");
    cr_assert_null(ixvm_status_name(-9999));
    cr_assert_str_eq(ixvm_strerror(-9999), "unknown status");
}

Test(err, merge_error_wins)
{
    cr_assert_eq(ixvm_status_merge(IXVM_INF_EM_RESET, IXVM_ERR_IO), IXVM_ERR_IO);
    cr_assert_eq(ixvm_status_merge(IXVM_ERR_IO, IXVM_ERR_TIMEOUT), IXVM_ERR_IO);
    cr_assert_eq(ixvm_status_merge(0, IXVM_ERR_TIMEOUT), IXVM_ERR_TIMEOUT);
}

Test(err, merge_lowest_informational_wins)
{
    cr_assert_eq(ixvm_status_merge(IXVM_INF_EM_HALT, IXVM_INF_EM_RESET), IXVM_INF_EM_RESET);
    cr_assert_eq(ixvm_status_merge(IXVM_INF_EM_RESET, IXVM_INF_EM_HALT), IXVM_INF_EM_RESET);
    cr_assert_eq(ixvm_status_merge(0, IXVM_INF_EM_HALT), IXVM_INF_EM_HALT);
    cr_assert_eq(ixvm_status_merge(0, 0), 0);
}
