/* SPDX-License-Identifier: MIT */
/*
 * PS/2 (MF2) keyboard behind the i8042: the commands of the IBM PS/2
 * Technical Reference ("Keyboard commands from the system"), its 16-byte
 * output buffer with the overrun code, and scan code sets 1, 2 and 3.
 *
 * Input arrives as set-2 bytes (the frontend's key table speaks set 2).
 * A small parser groups them into key events (prefixes E0/F0 plus the
 * code; E1 plus two codes for Pause), each converted to the current set
 * and queued whole or not at all.  Set 1 is the 8042 translation applied
 * by the keyboard itself; set 3 uses the keycodemapdb "AT set3" column
 * (what QEMU sends), make/break for every key.  The controller's own
 * translation (XLATE) happens in i8042.c on the way out.
 */
#include <string.h>

#include "devices/ps2_int.h"

/* The 8042's set 2 -> set 1 table (IBM PS/2 Technical Reference, "Scan
 * code translation"); bytes 0x90 and up, the prefixes and the replies
 * (AA, EE, FA, FE) pass unchanged, 0x00 (overrun) becomes 0xFF. */
const uint8_t ps2_xlate_table[256] = {
    /* 0x00 */ 0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58, 0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    /* 0x10 */ 0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a, 0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    /* 0x20 */ 0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c, 0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    /* 0x30 */ 0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e, 0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    /* 0x40 */ 0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60, 0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    /* 0x50 */ 0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e, 0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    /* 0x60 */ 0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b, 0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    /* 0x70 */ 0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45, 0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
    /* 0x80 */ 0x80, 0x81, 0x82, 0x41, 0x54, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
#define ID16(b) b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11, b + 12, b + 13, b + 14, b + 15
    ID16(0x90), ID16(0xa0), ID16(0xb0), ID16(0xc0), ID16(0xd0), ID16(0xe0), ID16(0xf0),
#undef ID16
};

/* Set 3 codes that differ from set 2 (plain keys), and the extended keys
 * (set 2 E0 xx -> set 3), from keycodemapdb's AT set2/set3 columns. */
struct ps2kbd_map {
    uint8_t s2, s3;
};
static const struct ps2kbd_map ps2kbd_set3_plain[] = {
    { 0x76, 0x08 }, { 0x05, 0x07 }, { 0x06, 0x0f }, { 0x04, 0x17 }, { 0x0c, 0x1f },   /* Esc F1-F4 */
    { 0x03, 0x27 }, { 0x0b, 0x2f }, { 0x83, 0x37 }, { 0x0a, 0x3f }, { 0x01, 0x47 },   /* F5-F9 */
    { 0x09, 0x4f }, { 0x78, 0x56 }, { 0x07, 0x5e }, { 0x7e, 0x5f }, { 0x77, 0x76 },   /* F10-F12 ScrLk NumLk */
    { 0x7c, 0x7e }, { 0x11, 0x19 }, { 0x58, 0x14 }, { 0x14, 0x11 }, { 0x7b, 0x84 },   /* KP* LAlt Caps LCtrl KP- */
    { 0x79, 0x7c }, { 0x61, 0x13 }, { 0x84, 0x57 },                                   /* KP+ ISO-\ SysRq */
};
static const struct ps2kbd_map ps2kbd_set3_ext[] = {
    { 0x5a, 0x79 }, { 0x14, 0x58 }, { 0x4a, 0x77 }, { 0x7c, 0x57 }, { 0x11, 0x39 },   /* KPEnter RCtrl KP/ PrtSc RAlt */
    { 0x6c, 0x6e }, { 0x75, 0x63 }, { 0x7d, 0x6f }, { 0x6b, 0x61 }, { 0x74, 0x6a },   /* Home Up PgUp Left Right */
    { 0x69, 0x65 }, { 0x72, 0x60 }, { 0x7a, 0x6d }, { 0x70, 0x67 }, { 0x71, 0x64 },   /* End Down PgDn Ins Del */
    { 0x1f, 0x8b }, { 0x27, 0x8c }, { 0x2f, 0x8d }, { 0x7e, 0x62 },                   /* LWin RWin Menu Ctrl-Break */
};
#define PS2KBD_SET3_PAUSE 0x62u

static uint8_t ps2kbd_map_find(const struct ps2kbd_map *m, size_t n, uint8_t s2, uint8_t dflt)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].s2 == s2)
            return m[i].s3;
    return dflt;
}

/* Set 3 code of one key event; 0 when the key has none (fake shifts of
 * Print Screen, ACPI keys). */
static uint8_t ps2kbd_set3_code(bool e0, bool e1, uint8_t code)
{
    if (e1)
        return code == 0x14 ? PS2KBD_SET3_PAUSE : 0;
    if (e0)
        return ps2kbd_map_find(ps2kbd_set3_ext, sizeof(ps2kbd_set3_ext) / sizeof(ps2kbd_set3_ext[0]),
                               code, 0);
    return ps2kbd_map_find(ps2kbd_set3_plain, sizeof(ps2kbd_set3_plain) / sizeof(ps2kbd_set3_plain[0]),
                           code, code);
}

unsigned ps2kbd_convert(unsigned set, const uint8_t *unit, unsigned len, uint8_t *out)
{
    unsigned n = 0;
    bool brk = false, e0 = false, e1 = false;
    uint8_t first = 0;
    for (unsigned i = 0; i < len; i++) {
        uint8_t b = unit[i];
        if (set == 2) {
            out[n++] = b;
        } else if (b == 0xf0) {
            brk = true;
        } else if (set == 1) {
            out[n++] = (uint8_t)(ps2_xlate_table[b] | (brk && b != 0xe0 && b != 0xe1 ? 0x80 : 0));
            if (b != 0xe0 && b != 0xe1)
                brk = false;
        } else if (b == 0xe0) {
            e0 = true;
        } else if (b == 0xe1) {
            e1 = true;
        } else if (!first) {
            first = b;
        }
    }
    if (set == 3) {
        uint8_t c = ps2kbd_set3_code(e0, e1, first);
        if (!c)
            return 0;
        if (brk)
            out[n++] = 0xf0;
        out[n++] = c;
    }
    return n;
}

/* Power-on defaults (F5/F6/FF): set 2, LEDs off, default typematic. */
static void ps2kbd_defaults(struct ps2_kbd *k)
{
    k->set = 2;
    k->leds = 0;
    k->typematic = 0x2b;    /* 10.9 cps, 500 ms */
    k->cmd = 0;
}

void ps2kbd_reset(struct ps2_kbd *k)
{
    memset(k, 0, sizeof(*k));
    ps2kbd_defaults(k);
    k->scanning = 1;
}

static void ps2kbd_reply(struct ps2_kbd *k, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        (void)ps2_queue_push(&k->resp, b[i]);
}

static void ps2kbd_ack(struct ps2_kbd *k)
{
    static const uint8_t ack = PS2_ACK;
    ps2kbd_reply(k, &ack, 1);
}

/* ---- commands ----------------------------------------------------------- */

typedef void ps2kbd_cmd_fn(struct ps2_kbd *k, uint8_t cmd);

static void kbd_cmd_param(struct ps2_kbd *k, uint8_t cmd)
{
    ps2kbd_ack(k);
    k->cmd = cmd;       /* ED, F0, F3, FB-FD: a parameter follows */
}

static void kbd_cmd_echo(struct ps2_kbd *k, uint8_t cmd)
{
    static const uint8_t r = 0xee;
    ps2kbd_reply(k, &r, 1);
}

/* MF2 keyboard ID; with XLATE the controller turns 83 into 41, as Linux
 * expects from a translated keyboard (atkbd: 0xab41). */
static void kbd_cmd_identify(struct ps2_kbd *k, uint8_t cmd)
{
    static const uint8_t r[] = { PS2_ACK, 0xab, 0x83 };
    ps2kbd_reply(k, r, sizeof(r));
}

static void kbd_cmd_enable(struct ps2_kbd *k, uint8_t cmd)
{
    ps2_queue_clear(&k->data);      /* F4 clears the output buffer */
    k->overrun = 0;
    k->scanning = 1;
    ps2kbd_ack(k);
}

/* F5 default disable, F6 set default: power-on conditions, buffer cleared. */
static void kbd_cmd_defaults(struct ps2_kbd *k, uint8_t cmd)
{
    ps2_queue_clear(&k->data);
    k->overrun = 0;
    ps2kbd_defaults(k);
    k->scanning = cmd == 0xf6;
    ps2kbd_ack(k);
}

static void kbd_cmd_ack(struct ps2_kbd *k, uint8_t cmd)
{
    ps2kbd_ack(k);      /* F7-FA: set-3 key types; every key stays make/break */
}

static void kbd_cmd_resend(struct ps2_kbd *k, uint8_t cmd)
{
    ps2kbd_reply(k, &k->last, 1);
}

static void kbd_cmd_reset(struct ps2_kbd *k, uint8_t cmd)
{
    static const uint8_t r[] = { PS2_ACK, PS2_BAT_OK };
    ps2kbd_reset(k);
    ps2kbd_reply(k, r, sizeof(r));
}

static ps2kbd_cmd_fn *const ps2kbd_cmds[0x13] = {
    [0xed - 0xed] = kbd_cmd_param,    [0xee - 0xed] = kbd_cmd_echo,
    [0xf0 - 0xed] = kbd_cmd_param,    [0xf2 - 0xed] = kbd_cmd_identify,
    [0xf3 - 0xed] = kbd_cmd_param,    [0xf4 - 0xed] = kbd_cmd_enable,
    [0xf5 - 0xed] = kbd_cmd_defaults, [0xf6 - 0xed] = kbd_cmd_defaults,
    [0xf7 - 0xed] = kbd_cmd_ack,      [0xf8 - 0xed] = kbd_cmd_ack,
    [0xf9 - 0xed] = kbd_cmd_ack,      [0xfa - 0xed] = kbd_cmd_ack,
    [0xfb - 0xed] = kbd_cmd_param,    [0xfc - 0xed] = kbd_cmd_param,
    [0xfd - 0xed] = kbd_cmd_param,    [0xfe - 0xed] = kbd_cmd_resend,
    [0xff - 0xed] = kbd_cmd_reset,
};

/* The parameter byte of a pending command. */
static void ps2kbd_param(struct ps2_kbd *k, uint8_t b)
{
    uint8_t cmd = k->cmd;
    k->cmd = 0;
    switch (cmd) {
    case 0xed:
        k->leds = b & 7;
        break;
    case 0xf3:
        k->typematic = b & 0x7f;
        break;
    case 0xf0:
        if (b > 3) {
            static const uint8_t nak = PS2_RESEND;
            ps2kbd_reply(k, &nak, 1);
            return;
        }
        if (b == 0) {
            /* Current set; the controller translates it with XLATE
             * (2 -> 0x41), as real hardware and QEMU do. */
            uint8_t r[2] = { PS2_ACK, k->set };
            ps2kbd_reply(k, r, 2);
            return;
        }
        k->set = b;
        break;
    default:
        k->cmd = cmd;   /* FB-FD: key list until the next command */
        break;
    }
    ps2kbd_ack(k);
}

void ps2kbd_write(struct ps2_kbd *k, uint8_t b)
{
    /* A command byte (ED and up) aborts a pending parameter, as on the
     * real keyboard; ED/F3/F0 parameters are all below 0x80. */
    if (k->cmd && b < 0xed) {
        ps2kbd_param(k, b);
        return;
    }
    k->cmd = 0;
    ps2kbd_cmd_fn *fn = b >= 0xed ? ps2kbd_cmds[b - 0xed] : NULL;
    if (fn) {
        fn(k, b);
    } else {
        static const uint8_t nak = PS2_RESEND;
        ps2kbd_reply(k, &nak, 1);
    }
}

/* ---- key input ---------------------------------------------------------- */

/* One complete key event: convert and queue it whole, or queue the overrun
 * code once when the buffer is full (the last slot is kept for it). */
static void ps2kbd_emit(struct ps2_kbd *k)
{
    uint8_t out[PS2KBD_UNIT_MAX];
    unsigned n = ps2kbd_convert(k->set, k->unit, k->unit_len, out);
    k->unit_len = 0;
    if (!n)
        return;
    if (k->data.count + n < PS2_QUEUE_CAP) {
        for (unsigned i = 0; i < n; i++)
            (void)ps2_queue_push(&k->data, out[i]);
        k->overrun = 0;
    } else if (!k->overrun) {
        (void)ps2_queue_push(&k->data, k->set == 1 ? 0xff : 0x00);
        k->overrun = 1;
    }
}

void ps2kbd_input(struct ps2_kbd *k, const uint8_t *set2, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = set2[i];
        if (k->unit_len >= PS2KBD_UNIT_MAX) {   /* garbage: resynchronise */
            k->unit_len = 0;
            k->e1_left = 0;
        }
        k->unit[k->unit_len++] = b;
        if (b == 0xe1)
            k->e1_left = 2;     /* Pause: E1 + two codes per half */
        if (b == 0xe0 || b == 0xe1 || b == 0xf0)
            continue;
        if (k->e1_left && --k->e1_left)
            continue;
        if (k->scanning)
            ps2kbd_emit(k);
        k->unit_len = 0;
    }
}

bool ps2kbd_read(struct ps2_kbd *k, uint8_t *b)
{
    if (!ps2_queue_pop(&k->resp, b) && !ps2_queue_pop(&k->data, b))
        return false;
    k->last = *b;
    return true;
}

bool ps2kbd_has_data(const struct ps2_kbd *k)
{
    return k->resp.count || k->data.count;
}

void ps2kbd_post_load(struct ps2_kbd *k)
{
    ps2_queue_fix(&k->resp);
    ps2_queue_fix(&k->data);
    if (k->set < 1 || k->set > 3)
        k->set = 2;
    if (k->unit_len > PS2KBD_UNIT_MAX)
        k->unit_len = 0;
    k->e1_left %= 3;
}
