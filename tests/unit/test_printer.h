/* SPDX-License-Identifier: MIT */
/* A printer callback for the `info`/stats/config output tests (test_cfg.c,
 * test_stam.c, test_dbgf.c): capture_print appends every piece of text to
 * one NUL-terminated heap string in a struct capture (the test frees buf). */
#ifndef TEST_PRINTER_H
#define TEST_PRINTER_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct capture {
    char *buf;
    size_t len;
};

static void capture_print(void *user, const char *text)
{
    struct capture *c = user;
    size_t n = strlen(text);
    c->buf = realloc(c->buf, c->len + n + 1);
    cr_assert_not_null(c->buf);
    memcpy(c->buf + c->len, text, n + 1);
    c->len += n;
}

#endif /* TEST_PRINTER_H */
