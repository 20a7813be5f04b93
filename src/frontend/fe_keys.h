/* SPDX-License-Identifier: MIT */
/*
 * Keys: names, chords and text -> key events -> PS/2 scan code bytes (set 1
 * or set 2).  One table (fe_keys.def) serves --send / --input-script, the
 * monitor's sendkey and the SDL window (SDL scancode -> key).
 *
 * --send syntax (also `send` in scripts): text typed on a US layout, with
 * the escapes \n \r \t \e (Escape) \b (Backspace) \\ and \<, and <chord>
 * for a key chord: "root\n", "<ctrl-alt-delete>", "ls<tab><ret>".
 * A chord is key names joined by '-' or '+': all keys go down in order and
 * come up in reverse order ("ctrl-alt-delete", "shift+f10", "kp_enter").
 */
#ifndef IXVM_FE_KEYS_H
#define IXVM_FE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ixvm/types.h"

enum fe_key {
    FE_KEY_NONE = 0,
#define FE_KEY_X(id, name, s1, s2, sdl, flags) FE_KEY_##id,
#include "frontend/fe_keys.def"
#undef FE_KEY_X
    FE_KEY_COUNT
};

enum fe_kbd_set { FE_KBD_SET1 = 1, FE_KBD_SET2 = 2 };

#define FE_KEYF_K105    0x1u   /* part of the 105-key PC layout */
#define FE_KEYF_SPECIAL 0x2u   /* Print Screen / Pause: own sequences */

/* Longest byte sequence of one key event (Pause in set 2: 8 bytes). */
#define FE_KEY_MAX_BYTES 8

struct fe_key_event {
    uint16_t key;   /* enum fe_key */
    bool down;
};

/* A growable list of key events. */
struct fe_key_seq {
    struct fe_key_event *ev;
    size_t n, cap;
};

const char *fe_key_name(enum fe_key key);          /* NULL for bad keys */
unsigned fe_key_flags(enum fe_key key);
/* Look a name up (case-insensitive; aliases such as "enter", "space",
 * "altgr", "escape", "del").  Returns FE_KEY_NONE when unknown. */
enum fe_key fe_key_lookup(const char *name, size_t len);

/* SDL2 scancode (SDL_Scancode value) <-> key; FE_KEY_NONE / 0 if none. */
enum fe_key fe_key_from_sdl(int sdl_scancode);
int fe_key_to_sdl(enum fe_key key);

/*
 * Bytes a keyboard in scan code set `set` sends for one key event.  Writes
 * at most FE_KEY_MAX_BYTES into buf and returns the count (0: Pause has no
 * break code), or negative IXVM_ERR_INVALID_PARAMETER.
 */
int fe_key_scancode(enum fe_key key, bool down, enum fe_kbd_set set,
                    uint8_t buf[FE_KEY_MAX_BYTES]);

/* Events -> bytes; *len receives the count.  IXVM_ERR_BUFFER_OVERFLOW when
 * cap is too small (*len then tells how much was needed). */
int fe_keys_to_bytes(const struct fe_key_event *ev, size_t n, enum fe_kbd_set set,
                     uint8_t *buf, size_t cap, size_t *len) IXVM_WUR;

void fe_key_seq_init(struct fe_key_seq *seq);
void fe_key_seq_free(struct fe_key_seq *seq);
int fe_key_seq_push(struct fe_key_seq *seq, enum fe_key key, bool down) IXVM_WUR;

/* Append a chord's events ("ctrl-alt-delete"); errors name the bad key. */
int fe_keys_parse_chord(struct fe_key_seq *seq, const char *chord, size_t len,
                        struct ixvm_errinfo *err) IXVM_WUR;
/* Append the events that type one ASCII character on a US layout. */
int fe_keys_type_char(struct fe_key_seq *seq, unsigned char c) IXVM_WUR;
/* Append the events of a --send string (syntax above); errors give the
 * offset and the reason. */
int fe_keys_parse_send(struct fe_key_seq *seq, const char *text, struct ixvm_errinfo *err) IXVM_WUR;

#endif
