/* SPDX-License-Identifier: MIT */
/*
 * Key names, chords and typed text -> PS/2 key events -> scan code bytes.
 * The key table is fe_keys.def; this file derives break codes, adds the two
 * keys with their own sequences (Print Screen, Pause), the US layout for
 * typing text, and the --send string syntax documented in fe_keys.h.
 */
#include "frontend/fe_keys.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <SDL_scancode.h>

struct fe_key_desc {
    const char *name;
    uint16_t set1;    /* make code; 0xE0xx for extended keys */
    uint16_t set2;
    int sdl;          /* SDL_Scancode */
    unsigned flags;
};

#define K105 FE_KEYF_K105
#define SPECIAL FE_KEYF_SPECIAL
static const struct fe_key_desc fe_keys[FE_KEY_COUNT] = {
#define FE_KEY_X(id, nm, s1, s2, sd, fl) \
    [FE_KEY_##id] = { .name = nm, .set1 = s1, .set2 = s2, .sdl = SDL_SCANCODE_##sd, .flags = fl },
#include "frontend/fe_keys.def"
#undef FE_KEY_X
};
#undef K105
#undef SPECIAL

/* Other spellings people type for a key. */
static const struct { const char *alias; enum fe_key key; } fe_key_aliases[] = {
    { "enter", FE_KEY_RET },       { "return", FE_KEY_RET },     { "space", FE_KEY_SPC },
    { "escape", FE_KEY_ESC },      { "altgr", FE_KEY_ALT_R },    { "del", FE_KEY_DELETE },
    { "control", FE_KEY_CTRL },    { "ctrl_l", FE_KEY_CTRL },    { "alt_l", FE_KEY_ALT },
    { "shift_l", FE_KEY_SHIFT },   { "win", FE_KEY_META_L },     { "super", FE_KEY_META_L },
    { "pageup", FE_KEY_PGUP },     { "pagedown", FE_KEY_PGDN },  { "ins", FE_KEY_INSERT },
    { "printscreen", FE_KEY_PRINT }, { "prtsc", FE_KEY_PRINT },  { "bksp", FE_KEY_BACKSPACE },
};

/* Print Screen and Pause (IBM PS/2 Technical Reference, scan code tables:
 * Print Screen sends a fake left shift around its code; Pause sends Ctrl +
 * NumLock with E1 prefixes and has no break code). */
static const uint8_t fe_print_s1_make[]  = { 0xe0, 0x2a, 0xe0, 0x37 };
static const uint8_t fe_print_s1_break[] = { 0xe0, 0xb7, 0xe0, 0xaa };
static const uint8_t fe_print_s2_make[]  = { 0xe0, 0x12, 0xe0, 0x7c };
static const uint8_t fe_print_s2_break[] = { 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 };
static const uint8_t fe_pause_s1_make[]  = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
static const uint8_t fe_pause_s2_make[]  = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };

static bool fe_key_valid(enum fe_key key)
{
    return key > FE_KEY_NONE && key < FE_KEY_COUNT;
}

const char *fe_key_name(enum fe_key key)
{
    return fe_key_valid(key) ? fe_keys[key].name : NULL;
}

unsigned fe_key_flags(enum fe_key key)
{
    return fe_key_valid(key) ? fe_keys[key].flags : 0;
}

static bool fe_name_eq(const char *a, const char *name, size_t len)
{
    return strlen(a) == len && strncasecmp(a, name, len) == 0;
}

enum fe_key fe_key_lookup(const char *name, size_t len)
{
    for (unsigned k = 1; k < FE_KEY_COUNT; k++) {
        if (fe_name_eq(fe_keys[k].name, name, len))
            return (enum fe_key)k;
    }
    for (size_t i = 0; i < sizeof(fe_key_aliases) / sizeof(fe_key_aliases[0]); i++) {
        if (fe_name_eq(fe_key_aliases[i].alias, name, len))
            return fe_key_aliases[i].key;
    }
    return FE_KEY_NONE;
}

enum fe_key fe_key_from_sdl(int sdl_scancode)
{
    if (sdl_scancode <= SDL_SCANCODE_UNKNOWN)
        return FE_KEY_NONE;
    /* The ISO key left of Enter has its own USB usage but the same PS/2
     * code as backslash (USB HID Usage Tables, 0x32 "Non-US # and ~"). */
    if (sdl_scancode == SDL_SCANCODE_NONUSHASH)
        return FE_KEY_BACKSLASH;
    for (unsigned k = 1; k < FE_KEY_COUNT; k++) {
        if (fe_keys[k].sdl == sdl_scancode)
            return (enum fe_key)k;
    }
    return FE_KEY_NONE;
}

int fe_key_to_sdl(enum fe_key key)
{
    return fe_key_valid(key) ? fe_keys[key].sdl : SDL_SCANCODE_UNKNOWN;
}

static int fe_copy_seq(uint8_t *buf, const uint8_t *seq, size_t n)
{
    memcpy(buf, seq, n);
    return (int)n;
}

static int fe_key_special(enum fe_key key, bool down, enum fe_kbd_set set, uint8_t *buf)
{
    bool s1 = set == FE_KBD_SET1;
    if (key == FE_KEY_PAUSE) {
        if (!down)
            return 0;
        return s1 ? fe_copy_seq(buf, fe_pause_s1_make, sizeof(fe_pause_s1_make))
                  : fe_copy_seq(buf, fe_pause_s2_make, sizeof(fe_pause_s2_make));
    }
    if (s1)
        return down ? fe_copy_seq(buf, fe_print_s1_make, sizeof(fe_print_s1_make))
                    : fe_copy_seq(buf, fe_print_s1_break, sizeof(fe_print_s1_break));
    return down ? fe_copy_seq(buf, fe_print_s2_make, sizeof(fe_print_s2_make))
                : fe_copy_seq(buf, fe_print_s2_break, sizeof(fe_print_s2_break));
}

int fe_key_scancode(enum fe_key key, bool down, enum fe_kbd_set set,
                    uint8_t buf[FE_KEY_MAX_BYTES])
{
    if (!fe_key_valid(key) || (set != FE_KBD_SET1 && set != FE_KBD_SET2))
        return IXVM_ERR_INVALID_PARAMETER;
    const struct fe_key_desc *d = &fe_keys[key];
    if (d->flags & FE_KEYF_SPECIAL)
        return fe_key_special(key, down, set, buf);
    uint16_t make = set == FE_KBD_SET1 ? d->set1 : d->set2;
    int n = 0;
    if (make > 0xff)
        buf[n++] = (uint8_t)(make >> 8);
    if (set == FE_KBD_SET1) {
        buf[n++] = (uint8_t)((make & 0xff) | (down ? 0 : 0x80));
    } else {
        if (!down)
            buf[n++] = 0xf0;
        buf[n++] = (uint8_t)(make & 0xff);
    }
    return n;
}

int fe_keys_to_bytes(const struct fe_key_event *ev, size_t n, enum fe_kbd_set set,
                     uint8_t *buf, size_t cap, size_t *len)
{
    size_t total = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t tmp[FE_KEY_MAX_BYTES];
        int k = fe_key_scancode((enum fe_key)ev[i].key, ev[i].down, set, tmp);
        if (k < 0)
            return k;
        if (total + (size_t)k <= cap)
            memcpy(buf + total, tmp, (size_t)k);
        else
            rc = IXVM_ERR_BUFFER_OVERFLOW;
        total += (size_t)k;
    }
    *len = total;
    return rc;
}

void fe_key_seq_init(struct fe_key_seq *seq)
{
    memset(seq, 0, sizeof(*seq));
}

void fe_key_seq_free(struct fe_key_seq *seq)
{
    free(seq->ev);
    fe_key_seq_init(seq);
}

int fe_key_seq_push(struct fe_key_seq *seq, enum fe_key key, bool down)
{
    if (!fe_key_valid(key))
        return IXVM_ERR_INVALID_PARAMETER;
    if (seq->n == seq->cap) {
        size_t cap = seq->cap ? seq->cap * 2 : 32;
        struct fe_key_event *ev = realloc(seq->ev, cap * sizeof(*ev));
        if (!ev)
            return IXVM_ERR_NO_MEMORY;
        seq->ev = ev;
        seq->cap = cap;
    }
    seq->ev[seq->n].key = (uint16_t)key;
    seq->ev[seq->n].down = down;
    seq->n++;
    return 0;
}

#define FE_CHORD_MAX 8

int fe_keys_parse_chord(struct fe_key_seq *seq, const char *chord, size_t len,
                        struct ixvm_errinfo *err)
{
    enum fe_key keys[FE_CHORD_MAX];
    unsigned nkeys = 0;
    size_t i = 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && chord[i] != '-' && chord[i] != '+')
            i++;
        size_t b = start, e = i;
        while (b < e && isspace((unsigned char)chord[b]))
            b++;
        while (e > b && isspace((unsigned char)chord[e - 1]))
            e--;
        if (b == e)
            return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "key chord '%.*s': empty key name",
                                    (int)len, chord);
        enum fe_key k = fe_key_lookup(chord + b, e - b);
        if (k == FE_KEY_NONE)
            return ixvm_errinfo_set(err, IXVM_ERR_UNKNOWN_KEY, "key chord '%.*s': unknown key '%.*s'",
                                    (int)len, chord, (int)(e - b), chord + b);
        if (nkeys == FE_CHORD_MAX)
            return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                    "key chord '%.*s': more than %d keys", (int)len, chord, FE_CHORD_MAX);
        keys[nkeys++] = k;
        i++;   /* skip the separator (or step past the end) */
    }
    for (unsigned k = 0; k < nkeys; k++) {
        int rc = fe_key_seq_push(seq, keys[k], true);
        if (rc < 0)
            return ixvm_errinfo_set(err, rc, "key chord: %s", ixvm_strerror(rc));
    }
    for (unsigned k = nkeys; k-- > 0;) {
        int rc = fe_key_seq_push(seq, keys[k], false);
        if (rc < 0)
            return ixvm_errinfo_set(err, rc, "key chord: %s", ixvm_strerror(rc));
    }
    return 0;
}

/* US layout: each row's characters without and with shift, and its keys. */
struct fe_us_row {
    const char *plain, *shifted;
    enum fe_key keys[13];
};

static const struct fe_us_row fe_us_rows[] = {
    { "`1234567890-=", "~!@#$%^&*()_+",
      { FE_KEY_GRAVE_ACCENT, FE_KEY_1, FE_KEY_2, FE_KEY_3, FE_KEY_4, FE_KEY_5, FE_KEY_6,
        FE_KEY_7, FE_KEY_8, FE_KEY_9, FE_KEY_0, FE_KEY_MINUS, FE_KEY_EQUAL } },
    { "qwertyuiop[]\\", "QWERTYUIOP{}|",
      { FE_KEY_Q, FE_KEY_W, FE_KEY_E, FE_KEY_R, FE_KEY_T, FE_KEY_Y, FE_KEY_U, FE_KEY_I,
        FE_KEY_O, FE_KEY_P, FE_KEY_BRACKET_LEFT, FE_KEY_BRACKET_RIGHT, FE_KEY_BACKSLASH } },
    { "asdfghjkl;'", "ASDFGHJKL:\"",
      { FE_KEY_A, FE_KEY_S, FE_KEY_D, FE_KEY_F, FE_KEY_G, FE_KEY_H, FE_KEY_J, FE_KEY_K,
        FE_KEY_L, FE_KEY_SEMICOLON, FE_KEY_APOSTROPHE } },
    { "zxcvbnm,./", "ZXCVBNM<>?",
      { FE_KEY_Z, FE_KEY_X, FE_KEY_C, FE_KEY_V, FE_KEY_B, FE_KEY_N, FE_KEY_M, FE_KEY_COMMA,
        FE_KEY_DOT, FE_KEY_SLASH } },
    { " \n\r\t\033\b", "",
      { FE_KEY_SPC, FE_KEY_RET, FE_KEY_RET, FE_KEY_TAB, FE_KEY_ESC, FE_KEY_BACKSPACE } },
};

/* Find the key (and whether shift is needed) that types c. */
static enum fe_key fe_us_key(unsigned char c, bool *shift)
{
    if (c == 0)
        return FE_KEY_NONE;
    for (size_t r = 0; r < sizeof(fe_us_rows) / sizeof(fe_us_rows[0]); r++) {
        const char *p = strchr(fe_us_rows[r].plain, c);
        if (p) {
            *shift = false;
            return fe_us_rows[r].keys[p - fe_us_rows[r].plain];
        }
        p = strchr(fe_us_rows[r].shifted, c);
        if (p) {
            *shift = true;
            return fe_us_rows[r].keys[p - fe_us_rows[r].shifted];
        }
    }
    return FE_KEY_NONE;
}

int fe_keys_type_char(struct fe_key_seq *seq, unsigned char c)
{
    bool shift = false;
    enum fe_key k = fe_us_key(c, &shift);
    if (k == FE_KEY_NONE)
        return IXVM_ERR_NOT_SUPPORTED;
    int rc = 0;
    if (shift)
        rc = fe_key_seq_push(seq, FE_KEY_SHIFT, true);
    if (rc >= 0)
        rc = fe_key_seq_push(seq, k, true);
    if (rc >= 0)
        rc = fe_key_seq_push(seq, k, false);
    if (rc >= 0 && shift)
        rc = fe_key_seq_push(seq, FE_KEY_SHIFT, false);
    return rc;
}

/* The character a backslash escape stands for, or 0 if unknown. */
static unsigned char fe_send_escape(char c)
{
    static const char from[] = "nrteb\\<";
    static const char to[] = "\n\r\t\033\b\\<";
    const char *p = c ? strchr(from, c) : NULL;
    return p ? (unsigned char)to[p - from] : 0;
}

int fe_keys_parse_send(struct fe_key_seq *seq, const char *text, struct ixvm_errinfo *err)
{
    size_t len = strlen(text);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '<') {
            const char *end = memchr(text + i + 1, '>', len - i - 1);
            if (!end)
                return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX,
                                        "send text at offset %zu: '<' without '>' (write \\< for a literal '<')", i);
            int rc = fe_keys_parse_chord(seq, text + i + 1, (size_t)(end - text - i - 1), err);
            if (rc < 0)
                return rc;
            i = (size_t)(end - text);
            continue;
        }
        if (c == '\\') {
            c = fe_send_escape(i + 1 < len ? text[i + 1] : 0);
            if (!c)
                return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX,
                                        "send text at offset %zu: unknown escape '\\%c'", i,
                                        i + 1 < len ? text[i + 1] : ' ');
            i++;
        }
        int rc = fe_keys_type_char(seq, c);
        if (rc == IXVM_ERR_NOT_SUPPORTED)
            return ixvm_errinfo_set(err, rc,
                                    "send text at offset %zu: character 0x%02x has no key on a US keyboard",
                                    i, c);
        if (rc < 0)
            return ixvm_errinfo_set(err, rc, "send text: %s", ixvm_strerror(rc));
    }
    return 0;
}
