/* SPDX-License-Identifier: MIT */
/*
 * --junit FILE.xml: the run as a JUnit XML report (one testsuite with one
 * testcase) that CI systems show per job: verdict, duration, reason and the
 * console output.  Text is escaped for XML 1.0: markup characters become
 * entities; bytes that are not valid UTF-8 and characters XML 1.0 forbids
 * (control characters other than tab, newline and carriage return,
 * U+FFFE, U+FFFF) become U+FFFD.
 */
#ifndef IXVM_FE_JUNIT_H
#define IXVM_FE_JUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "frontend/fe_verdict.h"
#include "ixvm/types.h"

struct fe_junit_case {
    const char *suite;         /* testsuite name; NULL: "ixvm" */
    const char *name;          /* testcase name (the test or VM name) */
    const char *classname;     /* NULL: the suite name */
    double time_s;             /* duration of the run */
    const char *timestamp;     /* ISO 8601 start time, or NULL */
    enum fe_verdict_kind kind; /* pass / failure / error */
    const char *message;       /* the reason: "timeout after 30 s" */
    const char *type;          /* failure type: the verdict event name */
    const char *output;        /* console output (any bytes) */
    size_t output_len;
};

/* Write the report (to PATH.tmp, then renamed). */
int fe_junit_write(const char *path, const struct fe_junit_case *c,
                   struct ixvm_errinfo *err) IXVM_WUR;

/* Write len bytes of s to f escaped for XML character data (attr: for an
 * attribute value in double quotes: tab, newline and CR become character
 * references too).  Returns the number of bytes replaced by U+FFFD. */
size_t fe_xml_escape(FILE *f, const char *s, size_t len, bool attr);

#endif
