/* SPDX-License-Identifier: MIT */
/*
 * The status line shown on a terminal while a VM runs:
 *     ixvm 00:01:23 | 123.4 MIPS | running | last console line
 * fe_status_format() is a pure formatter (cut to the terminal width, the
 * console text cleaned of control characters and ANSI escapes); the
 * renderer redraws it in place with CR and "erase line", and only when the
 * output is a terminal and --quiet was not given.
 */
#ifndef IXVM_FE_STATUS_H
#define IXVM_FE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fe_status_info {
    uint64_t uptime_ms;
    double mips;             /* guest instructions per second / 1e6; < 0: unknown */
    const char *state;       /* "running", "paused", ...; NULL: left out */
    const char *last_line;   /* raw console text; NULL: left out */
};

/*
 * Format into buf (always NUL-terminated when cap > 0) using at most
 * width - 1 columns (the last column is left free so the terminal does not
 * wrap).  Columns are counted per code point.  Returns the length in bytes.
 */
size_t fe_status_format(char *buf, size_t cap, const struct fe_status_info *info, unsigned width);

/* [loop] */
struct fe_status {
    FILE *out;
    bool enabled;      /* a terminal and not --quiet */
    bool shown;        /* a status line is on the screen */
    unsigned width;
};

void fe_status_init(struct fe_status *st, FILE *out, bool is_tty, bool quiet, unsigned width);
/* Draw (or redraw) the line; no-op when disabled. */
void fe_status_render(struct fe_status *st, const struct fe_status_info *info);
/* Erase the line before other output goes to the same terminal. */
void fe_status_clear(struct fe_status *st);
/* Terminal width of fd (TIOCGWINSZ), else $COLUMNS, else 80. */
unsigned fe_status_term_width(int fd);

#endif
