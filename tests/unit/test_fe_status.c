/* SPDX-License-Identifier: MIT */
/*
 * Status line: exact formatting, cutting to the terminal width (ASCII and
 * multi-byte text), cleaning of control characters and ANSI escapes, and
 * the renderer's TTY / --quiet behaviour.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_status.h"

static unsigned columns(const char *s)
{
    unsigned n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

Test(fe_status, format_exact)
{
    char buf[256];
    struct fe_status_info i = { .uptime_ms = 3723999, .mips = 123.44, .state = "running",
                                .last_line = "login: " };
    size_t n = fe_status_format(buf, sizeof(buf), &i, 200);
    cr_assert_str_eq(buf, "ixvm 01:02:03 | 123.4 MIPS | running | login: ");
    cr_assert_eq(n, strlen(buf));
    i = (struct fe_status_info){ .uptime_ms = 360000000ull, .mips = 2500.4 };
    fe_status_format(buf, sizeof(buf), &i, 200);
    cr_assert_str_eq(buf, "ixvm 100:00:00 | 2500 MIPS");
    i.mips = -1;
    fe_status_format(buf, sizeof(buf), &i, 200);
    cr_assert_str_eq(buf, "ixvm 100:00:00 | - MIPS");
}

Test(fe_status, cleans_console_text)
{
    char buf[256];
    struct fe_status_info i = { .mips = 1, .last_line = "\x1b[1;32mOK\x1b[0m\tdone\x1b]0;title\x07!\x7f\xff\xc3\xa9" };
    fe_status_format(buf, sizeof(buf), &i, 200);
    cr_assert_str_eq(buf, "ixvm 00:00:00 | 1.0 MIPS | OK done! ?\xc3\xa9");
}

Test(fe_status, cut_to_width)
{
    char buf[512];
    struct fe_status_info i = { .mips = 1, .state = "running",
                                .last_line = "a very long console line that will not fit" };
    for (unsigned w = 0; w < 80; w++) {
        fe_status_format(buf, sizeof(buf), &i, w);
        cr_assert_leq(columns(buf), w ? w - 1 : 0, "width %u: '%s'", w, buf);
    }
    fe_status_format(buf, sizeof(buf), &i, 30);
    cr_assert_str_eq(buf, "ixvm 00:00:00 | 1.0 MIPS |...");
    i.last_line = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    fe_status_format(buf, sizeof(buf), &i, 42);
    cr_assert_str_eq(buf, "ixvm 00:00:00 | 1.0 MIPS | running | \xc3\xa9...",
                     "multi-byte characters are cut whole");
    cr_assert_eq(columns(buf), 41);
    /* A buffer smaller than the width: still terminated, never overrun. */
    char small[8];
    memset(small, 'Z', sizeof(small));
    fe_status_format(small, sizeof(small), &i, 200);
    cr_assert_lt(strlen(small), sizeof(small));
    cr_assert_eq(fe_status_format(small, 0, &i, 200), 0);
}

Test(fe_status, renderer_tty_only)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct fe_status st;
    struct fe_status_info i = { .uptime_ms = 1000, .mips = 5, .state = "running" };
    fe_status_init(&st, f, false, false, 80);
    fe_status_render(&st, &i);
    fe_status_clear(&st);
    fflush(f);
    cr_assert_eq(len, 0, "nothing when not a terminal");
    fe_status_init(&st, f, true, true, 80);
    fe_status_render(&st, &i);
    fflush(f);
    cr_assert_eq(len, 0, "nothing with --quiet");
    fe_status_init(&st, f, true, false, 80);
    fe_status_clear(&st);
    fflush(f);
    cr_assert_eq(len, 0, "clear before any render writes nothing");
    fe_status_render(&st, &i);
    fe_status_clear(&st);
    fe_status_clear(&st);
    fclose(f);
    cr_assert_str_eq(buf, "\r\033[Kixvm 00:00:01 | 5.0 MIPS | running\r\033[K");
    free(buf);
    cr_assert_gt(fe_status_term_width(-1), 0);
}
