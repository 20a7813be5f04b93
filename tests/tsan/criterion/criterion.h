/* SPDX-License-Identifier: MIT */
/*
 * A minimal stand-in for <criterion/criterion.h>, used only by the
 * ThreadSanitizer build (make test-tsan).  Criterion's BoxFort arena cannot
 * start under TSan (upstream Snaipe/Criterion#274: "Could not initialize
 * inheritable arena"), so the stress tests are compiled against this header
 * instead.  It supports what ixvm's tests use: Test() with .init, .fini and
 * .timeout, TestSuite(), cr_assert*, cr_expect* and cr_log_*.  Each test runs
 * in a forked child with an alarm() for its timeout.
 */
#ifndef IXVM_TSAN_CRITERION_SHIM_H
#define IXVM_TSAN_CRITERION_SHIM_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct criterion_test_extra_data {
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    bool disabled;
};

struct shim_test {
    const char *name;
    void (*fn)(void);
    struct criterion_test_extra_data opt;
    struct shim_test *next;
};

static struct shim_test *shim_tests;
static int shim_expect_failures;

static inline void shim_report(const char *file, int line, const char *expr, const char *fmt, ...)
{
    fprintf(stderr, "%s:%d: assertion failed: %s", file, line, expr);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
}

#define SHIM_CHECK(fatal, c, expr, ...)                                       \
    do {                                                                       \
        if (!(c)) {                                                            \
            shim_report(__FILE__, __LINE__, expr, "" __VA_ARGS__);            \
            if (fatal)                                                         \
                _exit(1);                                                      \
            shim_expect_failures++;                                            \
        }                                                                      \
    } while (0)

#define cr_assert(c, ...)             SHIM_CHECK(1, (c), #c, __VA_ARGS__)
#define cr_expect(c, ...)             SHIM_CHECK(0, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...)         SHIM_CHECK(1, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_expect_not(c, ...)         SHIM_CHECK(0, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_fail(...)           SHIM_CHECK(1, 0, "fail", __VA_ARGS__)
#define cr_assert_eq(a, b, ...)       SHIM_CHECK(1, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...)       SHIM_CHECK(0, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...)      SHIM_CHECK(1, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...)      SHIM_CHECK(0, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...)       SHIM_CHECK(1, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...)      SHIM_CHECK(1, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...)       SHIM_CHECK(1, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...)      SHIM_CHECK(1, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_null(a, ...)        SHIM_CHECK(1, (a) == NULL, #a " == NULL", __VA_ARGS__)
#define cr_assert_not_null(a, ...)    SHIM_CHECK(1, (a) != NULL, #a " != NULL", __VA_ARGS__)
#define cr_expect_not_null(a, ...)    SHIM_CHECK(0, (a) != NULL, #a " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)   SHIM_CHECK(1, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)  SHIM_CHECK(1, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_assert_arr_eq(a, b, n, ...) SHIM_CHECK(1, memcmp((a), (b), (n)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_log_info(...)  (fprintf(stderr, "[info] " __VA_ARGS__), (void)fputc('\n', stderr))
#define cr_log_warn(...)  (fprintf(stderr, "[warn] " __VA_ARGS__), (void)fputc('\n', stderr))
#define cr_log_error(...) (fprintf(stderr, "[error] " __VA_ARGS__), (void)fputc('\n', stderr))

/* Suite-wide options are not supported; a suite declaration is a no-op. */
#define TestSuite(suite, ...) struct shim_suite_##suite { int unused; }

#define Test(suite, name, ...)                                                 \
    static void suite##_##name(void);                                          \
    __attribute__((constructor)) static void shim_reg_##suite##_##name(void)   \
    {                                                                          \
        static struct shim_test t = { #suite "::" #name, suite##_##name,       \
                                      { __VA_ARGS__ }, NULL };                 \
        t.next = shim_tests;                                                   \
        shim_tests = &t;                                                       \
    }                                                                          \
    static void suite##_##name(void)

static inline int shim_run_one(const struct shim_test *t)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (t->opt.timeout > 0)
            alarm((unsigned)t->opt.timeout + 1);
        if (t->opt.init)
            t->opt.init();
        t->fn();
        if (t->opt.fini)
            t->opt.fini();
        _exit(shim_expect_failures ? 1 : 0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0)
        return 1;
    return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int passed = 0, failed = 0;
    for (struct shim_test *t = shim_tests; t; t = t->next) {
        if (t->opt.disabled)
            continue;
        int bad = shim_run_one(t);
        fprintf(stderr, "[%s] %s\n", bad ? "FAIL" : "PASS", t->name);
        if (bad)
            failed++;
        else
            passed++;
    }
    fprintf(stderr, "%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

#endif
