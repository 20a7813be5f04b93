/* SPDX-License-Identifier: MIT */
/*
 * Key table, scan codes (set 1 and set 2, extended keys, Print Screen and
 * Pause), SDL mapping, chords, typed text and the --send syntax.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <SDL_scancode.h>

#include "frontend/fe_keys.h"

static void expect_bytes(enum fe_key k, bool down, enum fe_kbd_set set, const uint8_t *want,
                         int n)
{
    uint8_t b[FE_KEY_MAX_BYTES];
    int got = fe_key_scancode(k, down, set, b);
    cr_assert_eq(got, n, "%s %s set %d: %d bytes", fe_key_name(k), down ? "make" : "break",
                 set, got);
    cr_assert_arr_eq(b, want, (size_t)n, "%s %s set %d", fe_key_name(k), down ? "make" : "break", set);
}

Test(fe_keys, known_codes)
{
    expect_bytes(FE_KEY_A, true, FE_KBD_SET1, (const uint8_t[]){ 0x1e }, 1);
    expect_bytes(FE_KEY_A, false, FE_KBD_SET1, (const uint8_t[]){ 0x9e }, 1);
    expect_bytes(FE_KEY_A, true, FE_KBD_SET2, (const uint8_t[]){ 0x1c }, 1);
    expect_bytes(FE_KEY_A, false, FE_KBD_SET2, (const uint8_t[]){ 0xf0, 0x1c }, 2);
    expect_bytes(FE_KEY_F7, true, FE_KBD_SET2, (const uint8_t[]){ 0x83 }, 1);
    expect_bytes(FE_KEY_DELETE, true, FE_KBD_SET1, (const uint8_t[]){ 0xe0, 0x53 }, 2);
    expect_bytes(FE_KEY_DELETE, false, FE_KBD_SET1, (const uint8_t[]){ 0xe0, 0xd3 }, 2);
    expect_bytes(FE_KEY_DELETE, true, FE_KBD_SET2, (const uint8_t[]){ 0xe0, 0x71 }, 2);
    expect_bytes(FE_KEY_DELETE, false, FE_KBD_SET2, (const uint8_t[]){ 0xe0, 0xf0, 0x71 }, 3);
    expect_bytes(FE_KEY_KP_ENTER, true, FE_KBD_SET1, (const uint8_t[]){ 0xe0, 0x1c }, 2);
    expect_bytes(FE_KEY_CTRL_R, false, FE_KBD_SET2, (const uint8_t[]){ 0xe0, 0xf0, 0x14 }, 3);
    expect_bytes(FE_KEY_LESS, true, FE_KBD_SET2, (const uint8_t[]){ 0x61 }, 1);
}

Test(fe_keys, print_and_pause)
{
    expect_bytes(FE_KEY_PRINT, true, FE_KBD_SET1, (const uint8_t[]){ 0xe0, 0x2a, 0xe0, 0x37 }, 4);
    expect_bytes(FE_KEY_PRINT, false, FE_KBD_SET1, (const uint8_t[]){ 0xe0, 0xb7, 0xe0, 0xaa }, 4);
    expect_bytes(FE_KEY_PRINT, true, FE_KBD_SET2, (const uint8_t[]){ 0xe0, 0x12, 0xe0, 0x7c }, 4);
    expect_bytes(FE_KEY_PRINT, false, FE_KBD_SET2,
                 (const uint8_t[]){ 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 }, 6);
    expect_bytes(FE_KEY_PAUSE, true, FE_KBD_SET1,
                 (const uint8_t[]){ 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 }, 6);
    expect_bytes(FE_KEY_PAUSE, true, FE_KBD_SET2,
                 (const uint8_t[]){ 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 }, 8);
    uint8_t b[FE_KEY_MAX_BYTES];
    cr_assert_eq(fe_key_scancode(FE_KEY_PAUSE, false, FE_KBD_SET1, b), 0);
    cr_assert_eq(fe_key_scancode(FE_KEY_PAUSE, false, FE_KBD_SET2, b), 0);
}

/* Every key: a name that looks itself up, 105 keys in the layout, make and
 * break codes unique per set, the break derived from the make. */
Test(fe_keys, table_consistency)
{
    unsigned k105 = 0;
    static uint8_t seen1[2][256], seen2[2][256];
    for (unsigned k = 1; k < FE_KEY_COUNT; k++) {
        const char *name = fe_key_name((enum fe_key)k);
        cr_assert_not_null(name);
        cr_assert_eq(fe_key_lookup(name, strlen(name)), (enum fe_key)k, "%s", name);
        if (fe_key_flags((enum fe_key)k) & FE_KEYF_K105)
            k105++;
        if (fe_key_flags((enum fe_key)k) & FE_KEYF_SPECIAL)
            continue;
        uint8_t mk[FE_KEY_MAX_BYTES], br[FE_KEY_MAX_BYTES];
        int nm = fe_key_scancode((enum fe_key)k, true, FE_KBD_SET1, mk);
        int nb = fe_key_scancode((enum fe_key)k, false, FE_KBD_SET1, br);
        cr_assert(nm == 1 || (nm == 2 && mk[0] == 0xe0), "%s", name);
        cr_assert_eq(nb, nm);
        cr_assert_lt(mk[nm - 1], 0x80, "%s", name);
        cr_assert_eq(br[nb - 1], mk[nm - 1] | 0x80, "%s", name);
        cr_assert_eq(seen1[nm - 1][mk[nm - 1]]++, 0, "%s: duplicate set-1 code", name);
        nm = fe_key_scancode((enum fe_key)k, true, FE_KBD_SET2, mk);
        nb = fe_key_scancode((enum fe_key)k, false, FE_KBD_SET2, br);
        cr_assert_eq(nb, nm + 1, "%s", name);
        cr_assert_eq(br[nb - 2], 0xf0);
        cr_assert_eq(br[nb - 1], mk[nm - 1]);
        cr_assert_neq(mk[nm - 1], 0xf0);
        cr_assert_eq(seen2[nm - 1][mk[nm - 1]]++, 0, "%s: duplicate set-2 code", name);
    }
    cr_assert_eq(k105, 105);
    uint8_t b[FE_KEY_MAX_BYTES];
    cr_assert_lt(fe_key_scancode(FE_KEY_NONE, true, FE_KBD_SET1, b), 0);
    cr_assert_lt(fe_key_scancode(FE_KEY_COUNT, true, FE_KBD_SET1, b), 0);
    cr_assert_lt(fe_key_scancode(FE_KEY_A, true, (enum fe_kbd_set)3, b), 0);
}

Test(fe_keys, sdl_mapping)
{
    cr_assert_eq(fe_key_from_sdl(SDL_SCANCODE_A), FE_KEY_A);
    cr_assert_eq(fe_key_from_sdl(SDL_SCANCODE_RCTRL), FE_KEY_CTRL_R);
    cr_assert_eq(fe_key_from_sdl(SDL_SCANCODE_KP_ENTER), FE_KEY_KP_ENTER);
    cr_assert_eq(fe_key_from_sdl(SDL_SCANCODE_PRINTSCREEN), FE_KEY_PRINT);
    cr_assert_eq(fe_key_from_sdl(SDL_SCANCODE_PAUSE), FE_KEY_PAUSE);
    cr_assert_eq(fe_key_from_sdl(SDL_SCANCODE_NONUSHASH), FE_KEY_BACKSLASH);
    cr_assert_eq(fe_key_from_sdl(SDL_SCANCODE_UNKNOWN), FE_KEY_NONE);
    cr_assert_eq(fe_key_from_sdl(-5), FE_KEY_NONE);
    cr_assert_eq(fe_key_from_sdl(SDL_SCANCODE_F24), FE_KEY_NONE);
    /* Every key of the layout has an SDL scancode that maps back to it. */
    for (unsigned k = 1; k < FE_KEY_COUNT; k++) {
        if (!(fe_key_flags((enum fe_key)k) & FE_KEYF_K105))
            continue;
        int sc = fe_key_to_sdl((enum fe_key)k);
        cr_assert_neq(sc, SDL_SCANCODE_UNKNOWN, "%s", fe_key_name((enum fe_key)k));
        cr_assert_eq(fe_key_from_sdl(sc), (enum fe_key)k, "%s", fe_key_name((enum fe_key)k));
    }
}

Test(fe_keys, lookup_aliases_and_case)
{
    cr_assert_eq(fe_key_lookup("RET", 3), FE_KEY_RET);
    cr_assert_eq(fe_key_lookup("enter", 5), FE_KEY_RET);
    cr_assert_eq(fe_key_lookup("altgr", 5), FE_KEY_ALT_R);
    cr_assert_eq(fe_key_lookup("space", 5), FE_KEY_SPC);
    cr_assert_eq(fe_key_lookup("f1x", 2), FE_KEY_F1);
    cr_assert_eq(fe_key_lookup("nosuchkey", 9), FE_KEY_NONE);
    cr_assert_eq(fe_key_lookup("", 0), FE_KEY_NONE);
}

static void expect_events(const struct fe_key_seq *s, const struct fe_key_event *want, size_t n)
{
    cr_assert_eq(s->n, n, "%zu events, want %zu", s->n, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(s->ev[i].key, want[i].key, "event %zu: key %s", i,
                     fe_key_name((enum fe_key)s->ev[i].key));
        cr_assert_eq(s->ev[i].down, want[i].down, "event %zu", i);
    }
}

Test(fe_keys, chord_order)
{
    struct fe_key_seq s;
    struct ixvm_errinfo e = { 0 };
    fe_key_seq_init(&s);
    cr_assert_eq(fe_keys_parse_chord(&s, "ctrl-alt-delete", 15, &e), 0, "%s", e.msg);
    const struct fe_key_event want[] = {
        { FE_KEY_CTRL, true }, { FE_KEY_ALT, true }, { FE_KEY_DELETE, true },
        { FE_KEY_DELETE, false }, { FE_KEY_ALT, false }, { FE_KEY_CTRL, false },
    };
    expect_events(&s, want, 6);
    uint8_t b[64];
    size_t len = 0;
    cr_assert_eq(fe_keys_to_bytes(s.ev, s.n, FE_KBD_SET1, b, sizeof(b), &len), 0);
    const uint8_t s1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
    cr_assert_eq(len, sizeof(s1));
    cr_assert_arr_eq(b, s1, sizeof(s1));
    cr_assert_eq(fe_keys_to_bytes(s.ev, s.n, FE_KBD_SET2, b, sizeof(b), &len), 0);
    const uint8_t s2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };
    cr_assert_eq(len, sizeof(s2));
    cr_assert_arr_eq(b, s2, sizeof(s2));
    cr_assert_eq(fe_keys_to_bytes(s.ev, s.n, FE_KBD_SET2, b, 4, &len), IXVM_ERR_BUFFER_OVERFLOW);
    cr_assert_eq(len, sizeof(s2));
    fe_key_seq_free(&s);
}

Test(fe_keys, chord_errors)
{
    struct fe_key_seq s;
    struct ixvm_errinfo e = { 0 };
    fe_key_seq_init(&s);
    cr_assert_eq(fe_keys_parse_chord(&s, "ctrl-foo", 8, &e), IXVM_ERR_UNKNOWN_KEY);
    cr_assert(strstr(e.msg, "unknown key 'foo'"), "%s", e.msg);
    cr_assert_eq(fe_keys_parse_chord(&s, "ctrl--a", 7, &e), IXVM_ERR_SYNTAX);
    cr_assert(strstr(e.msg, "empty key name"), "%s", e.msg);
    cr_assert_eq(fe_keys_parse_chord(&s, "", 0, &e), IXVM_ERR_SYNTAX);
    cr_assert_eq(fe_keys_parse_chord(&s, "a-a-a-a-a-a-a-a-a", 17, &e), IXVM_ERR_OUT_OF_RANGE);
    cr_assert_eq(s.n, 0, "a failed chord adds nothing");
    cr_assert_eq(fe_keys_parse_chord(&s, " shift + f10 ", 13, &e), 0, "%s", e.msg);
    cr_assert_eq(s.n, 4);
    fe_key_seq_free(&s);
}

Test(fe_keys, text_us_layout)
{
    struct fe_key_seq s;
    struct ixvm_errinfo e = { 0 };
    fe_key_seq_init(&s);
    cr_assert_eq(fe_keys_parse_send(&s, "aA!\n", &e), 0, "%s", e.msg);
    const struct fe_key_event want[] = {
        { FE_KEY_A, true }, { FE_KEY_A, false },
        { FE_KEY_SHIFT, true }, { FE_KEY_A, true }, { FE_KEY_A, false }, { FE_KEY_SHIFT, false },
        { FE_KEY_SHIFT, true }, { FE_KEY_1, true }, { FE_KEY_1, false }, { FE_KEY_SHIFT, false },
        { FE_KEY_RET, true }, { FE_KEY_RET, false },
    };
    expect_events(&s, want, sizeof(want) / sizeof(want[0]));
    fe_key_seq_free(&s);
    /* Every printable ASCII character has a key. */
    for (int c = 0x20; c < 0x7f; c++) {
        fe_key_seq_init(&s);
        cr_assert_eq(fe_keys_type_char(&s, (unsigned char)c), 0, "char %c", c);
        cr_assert(s.n == 2 || s.n == 4);
        fe_key_seq_free(&s);
    }
    fe_key_seq_init(&s);
    cr_assert_eq(fe_keys_type_char(&s, 0), IXVM_ERR_NOT_SUPPORTED);
    cr_assert_eq(fe_keys_type_char(&s, 0xe9), IXVM_ERR_NOT_SUPPORTED);
    cr_assert_eq(fe_keys_type_char(&s, 0x01), IXVM_ERR_NOT_SUPPORTED);
    fe_key_seq_free(&s);
}

Test(fe_keys, send_syntax)
{
    struct fe_key_seq s;
    struct ixvm_errinfo e = { 0 };
    fe_key_seq_init(&s);
    cr_assert_eq(fe_keys_parse_send(&s, "l\\<<ctrl-c>\\e\\t\\\\", &e), 0, "%s", e.msg);
    const struct fe_key_event want[] = {
        { FE_KEY_L, true }, { FE_KEY_L, false },
        { FE_KEY_SHIFT, true }, { FE_KEY_COMMA, true }, { FE_KEY_COMMA, false }, { FE_KEY_SHIFT, false },
        { FE_KEY_CTRL, true }, { FE_KEY_C, true }, { FE_KEY_C, false }, { FE_KEY_CTRL, false },
        { FE_KEY_ESC, true }, { FE_KEY_ESC, false },
        { FE_KEY_TAB, true }, { FE_KEY_TAB, false },
        { FE_KEY_BACKSLASH, true }, { FE_KEY_BACKSLASH, false },
    };
    expect_events(&s, want, sizeof(want) / sizeof(want[0]));
    fe_key_seq_free(&s);

    fe_key_seq_init(&s);
    cr_assert_eq(fe_keys_parse_send(&s, "ab<ret", &e), IXVM_ERR_SYNTAX);
    cr_assert(strstr(e.msg, "offset 2"), "%s", e.msg);
    cr_assert_eq(fe_keys_parse_send(&s, "x\\q", &e), IXVM_ERR_SYNTAX);
    cr_assert(strstr(e.msg, "unknown escape '\\q'"), "%s", e.msg);
    cr_assert_eq(fe_keys_parse_send(&s, "x\\", &e), IXVM_ERR_SYNTAX);
    cr_assert_eq(fe_keys_parse_send(&s, "caf\xc3\xa9", &e), IXVM_ERR_NOT_SUPPORTED);
    cr_assert(strstr(e.msg, "offset 3") && strstr(e.msg, "0xc3"), "%s", e.msg);
    cr_assert_eq(fe_keys_parse_send(&s, "<bogus>", &e), IXVM_ERR_UNKNOWN_KEY);
    fe_key_seq_free(&s);
}
