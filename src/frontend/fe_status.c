/* SPDX-License-Identifier: MIT */
/*
 * Status line formatting and rendering (see fe_status.h).  The console text
 * is cleaned so the line stays one line: ANSI CSI/OSC escape sequences
 * (ECMA-48 section 5.4) are dropped, other control characters become
 * spaces, and bytes that are not UTF-8 become '?'.
 */
#include "frontend/fe_status.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A bounded string builder that counts columns. */
struct fe_sb {
    char *buf;
    size_t cap, len;
    unsigned cols, max_cols;
    bool full;
};

/* Append one character of n bytes taking one column; false when full. */
static bool fe_sb_put(struct fe_sb *b, const char *s, size_t n)
{
    if (b->full || b->cols + 1 > b->max_cols || b->len + n + 1 > b->cap) {
        b->full = true;
        return false;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->cols++;
    return true;
}

static void fe_sb_str(struct fe_sb *b, const char *s)
{
    for (; *s && fe_sb_put(b, s, 1); s++)
        ;
}

/* Bytes of the UTF-8 sequence starting with lead byte c and the rest of s
 * (0 when malformed); a loose check is enough for display. */
static size_t fe_status_utf8(const unsigned char *s)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    }
    return n;
}

/* Length of the escape sequence at s (s[0] == ESC). */
static size_t fe_status_skip_escape(const unsigned char *s)
{
    size_t i = 1;
    if (s[i] == '[') {            /* CSI: parameters, then a final byte 0x40..0x7e */
        for (i++; s[i] && (s[i] < 0x40 || s[i] > 0x7e); i++)
            ;
        return s[i] ? i + 1 : i;
    }
    if (s[i] == ']') {            /* OSC: up to BEL or ESC \ */
        for (i++; s[i] && s[i] != 0x07 && !(s[i] == 0x1b && s[i + 1] == '\\'); i++)
            ;
        return s[i] == 0x07 ? i + 1 : s[i] ? i + 2 : i;
    }
    return s[i] ? 2 : 1;          /* two-byte escape */
}

static void fe_sb_console(struct fe_sb *b, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s && !b->full) {
        if (*s == 0x1b) {
            s += fe_status_skip_escape(s);
        } else if (*s < 0x20 || *s == 0x7f) {
            fe_sb_put(b, " ", 1);
            s++;
        } else if (*s < 0x80) {
            fe_sb_put(b, (const char *)s, 1);
            s++;
        } else {
            size_t n = fe_status_utf8(s);
            if (n)
                fe_sb_put(b, (const char *)s, n);
            else
                fe_sb_put(b, "?", 1);
            s += n ? n : 1;
        }
    }
}

size_t fe_status_format(char *buf, size_t cap, const struct fe_status_info *info, unsigned width)
{
    if (cap == 0)
        return 0;
    struct fe_sb b = { .buf = buf, .cap = cap, .max_cols = width > 1 ? width - 1 : 0 };
    char tmp[96];
    uint64_t s = info->uptime_ms / 1000;
    snprintf(tmp, sizeof(tmp), "ixvm %02llu:%02llu:%02llu", (unsigned long long)(s / 3600),
             (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    fe_sb_str(&b, tmp);
    if (info->mips < 0)
        snprintf(tmp, sizeof(tmp), " | - MIPS");
    else
        snprintf(tmp, sizeof(tmp), info->mips >= 1000 ? " | %.0f MIPS" : " | %.1f MIPS", info->mips);
    fe_sb_str(&b, tmp);
    if (info->state) {
        fe_sb_str(&b, " | ");
        fe_sb_str(&b, info->state);
    }
    if (info->last_line && info->last_line[0]) {
        fe_sb_str(&b, " | ");
        fe_sb_console(&b, info->last_line);
    }
    if (b.full && b.max_cols >= 3) {
        /* Mark the cut: replace the last three columns with "...". */
        unsigned drop = 3;
        while (drop && b.len) {
            b.len--;
            if (((unsigned char)b.buf[b.len] & 0xc0) != 0x80)
                drop--;
        }
        memcpy(b.buf + b.len, "...", 3);
        b.len += 3;
    }
    buf[b.len] = '\0';
    return b.len;
}

void fe_status_init(struct fe_status *st, FILE *out, bool is_tty, bool quiet, unsigned width)
{
    st->out = out;
    st->enabled = out && is_tty && !quiet;
    st->shown = false;
    st->width = width ? width : 80;
}

void fe_status_render(struct fe_status *st, const struct fe_status_info *info)
{
    if (!st->enabled)
        return;
    char line[1024];
    fe_status_format(line, sizeof(line), info, st->width);
    /* CR to column 0, ESC [ K erases to the end of the line (ECMA-48 EL). */
    fprintf(st->out, "\r\033[K%s", line);
    fflush(st->out);
    st->shown = true;
}

void fe_status_clear(struct fe_status *st)
{
    if (!st->enabled || !st->shown)
        return;
    fputs("\r\033[K", st->out);
    fflush(st->out);
    st->shown = false;
}

unsigned fe_status_term_width(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    if (c) {
        long v = strtol(c, NULL, 10);
        if (v > 0 && v < 10000)
            return (unsigned)v;
    }
    return 80;
}
