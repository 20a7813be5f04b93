/* SPDX-License-Identifier: MIT */
/*
 * Internal assertions that stay on in every build (STYLE.md 13).  On an EMT
 * a failed assertion records a two-part report like the reference's ring-0
 * assertion buffers -- message 1: the expression, file:line, function and
 * vCPU; message 2: the formatted detail -- prints both to stderr and the
 * release log, and stops the VM in GURU_MEDITATION (the EMTs stop running
 * guest code).  The process never aborts.  Off an EMT the report is printed
 * and execution continues.
 *
 *   IXVM_ASSERT(expr);
 *   IXVM_ASSERT_MSG(expr, ("eip=%#x", eip));
 *   IXVM_ASSERT_RETURN(expr, IXVM_ERR_ASSERTION);
 *   IXVM_ASSERT_MSG_RETURN(expr, ("bad %d", x), IXVM_ERR_ASSERTION);
 *   IXVM_ASSERT_RETURN_VOID(expr);
 *   IXVM_ASSERT_RC(rc);             asserts IXVM_SUCCESS(rc)
 */
#ifndef IXVM_ASSERT_H
#define IXVM_ASSERT_H

#include "ixvm/types.h"

/* Record message 1; returns true so it can sit inside an expression. */
IXVM_COLD bool ixvm_assert_msg1(const char *expr, const char *file, unsigned line, const char *func);
/* Record message 2 (printf style). */
IXVM_COLD void ixvm_assert_msg2(const char *fmt, ...) IXVM_PRINTF(1, 2);
/* Report both, stop the VM when on an EMT. */
IXVM_COLD void ixvm_assert_done(void);

#define IXVM_ASSERT_FAIL_(expr, msg2args)                                      \
    do {                                                                       \
        ixvm_assert_msg1(expr, __FILE__, __LINE__, __func__);                  \
        ixvm_assert_msg2 msg2args;                                             \
        ixvm_assert_done();                                                    \
    } while (0)

#define IXVM_ASSERT_MSG(expr, msg2args)                                        \
    do {                                                                       \
        if (IXVM_UNLIKELY(!(expr)))                                            \
            IXVM_ASSERT_FAIL_(#expr, msg2args);                                \
    } while (0)
#define IXVM_ASSERT(expr) IXVM_ASSERT_MSG(expr, ("%s", ""))
#define IXVM_ASSERT_MSG_RETURN(expr, msg2args, rc)                             \
    do {                                                                       \
        if (IXVM_UNLIKELY(!(expr))) {                                          \
            IXVM_ASSERT_FAIL_(#expr, msg2args);                                \
            return (rc);                                                       \
        }                                                                      \
    } while (0)
#define IXVM_ASSERT_RETURN(expr, rc) IXVM_ASSERT_MSG_RETURN(expr, ("%s", ""), rc)
#define IXVM_ASSERT_RETURN_VOID(expr)                                          \
    do {                                                                       \
        if (IXVM_UNLIKELY(!(expr))) {                                          \
            IXVM_ASSERT_FAIL_(#expr, ("%s", ""));                              \
            return;                                                            \
        }                                                                      \
    } while (0)
#define IXVM_ASSERT_RC(rc_)                                                    \
    do {                                                                       \
        int ixvm_assert_rc_ = (rc_);                                           \
        if (IXVM_UNLIKELY(IXVM_FAILURE(ixvm_assert_rc_)))                      \
            IXVM_ASSERT_FAIL_(#rc_ " succeeds",                                \
                              ("status %d (%s)", ixvm_assert_rc_, ixvm_strerror(ixvm_assert_rc_))); \
    } while (0)
#define IXVM_ASSERT_FAILED(msg2args) IXVM_ASSERT_FAIL_("(failed)", msg2args)

#endif
