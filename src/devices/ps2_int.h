/* SPDX-License-Identifier: MIT */
/*
 * PS/2 device models behind the i8042 (private to src/devices/).
 *
 * The keyboard (ps2kbd.c) and the mouse (ps2mouse.c) are plain state
 * machines embedded in the controller's instance state (i8042.c), so one
 * device lock covers the controller, both devices and their queues: the
 * controller calls into a device when the guest writes a byte to it, and
 * pulls the device's output bytes into its output buffer when that is
 * empty.  No device ever calls the controller, which keeps a single lock
 * and no lock-order question between the three.
 *
 * Each device has two queues read in this order: `resp` (command replies,
 * which a real device sends before any scan code or packet still waiting,
 * as QEMU's cqueue does) and `data` (key bytes / movement packets; 16 bytes
 * as the 8048's buffer in a real keyboard).
 */
#ifndef IXVM_DEVICES_PS2_INT_H
#define IXVM_DEVICES_PS2_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS2_QUEUE_CAP 16u

#define PS2_ACK    0xfau
#define PS2_RESEND 0xfeu
#define PS2_BAT_OK 0xaau

/* A byte ring.  [device lock] */
struct ps2_queue {
    uint8_t buf[PS2_QUEUE_CAP];
    uint8_t head, count;
};

static inline void ps2_queue_clear(struct ps2_queue *q)
{
    q->head = q->count = 0;
}

static inline unsigned ps2_queue_room(const struct ps2_queue *q)
{
    return PS2_QUEUE_CAP - q->count;
}

/* Append; false (and nothing stored) when full. */
static inline bool ps2_queue_push(struct ps2_queue *q, uint8_t b)
{
    if (q->count >= PS2_QUEUE_CAP)
        return false;
    q->buf[(q->head + q->count) % PS2_QUEUE_CAP] = b;
    q->count++;
    return true;
}

static inline bool ps2_queue_pop(struct ps2_queue *q, uint8_t *b)
{
    if (!q->count)
        return false;
    *b = q->buf[q->head];
    q->head = (uint8_t)((q->head + 1) % PS2_QUEUE_CAP);
    q->count--;
    return true;
}

/* Saved-state sanity: indices back into range. */
static inline void ps2_queue_fix(struct ps2_queue *q)
{
    q->head %= PS2_QUEUE_CAP;
    if (q->count > PS2_QUEUE_CAP)
        q->count = PS2_QUEUE_CAP;
}

/* 8042 scan-code translation (set 2 -> set 1), indexed by the byte the
 * keyboard sends; 0xF0 is handled by the caller (it sets bit 7 of the
 * following translated byte).  Also used by the keyboard in set 1. */
extern const uint8_t ps2_xlate_table[256];

/* ---- keyboard (ps2kbd.c) ------------------------------------------------ */

#define PS2KBD_UNIT_MAX 8u

struct ps2_kbd {
    struct ps2_queue resp, data;    /* [lock] saved */
    uint8_t cmd;                    /* [lock] saved: command awaiting its parameter, 0 none */
    uint8_t set;                    /* [lock] saved: scan code set 1..3 */
    uint8_t scanning;               /* [lock] saved: F4 / F5 */
    uint8_t leds;                   /* [lock] saved: bit0 scroll, bit1 num, bit2 caps */
    uint8_t typematic;              /* [lock] saved: F3 parameter (stored only) */
    uint8_t last;                   /* [lock] saved: last byte sent (FE resend) */
    uint8_t overrun;                /* [lock] saved: overrun code already queued */
    /* Set-2 input parser: one key event collected before conversion. */
    uint8_t unit[PS2KBD_UNIT_MAX];  /* [lock] saved */
    uint8_t unit_len, e1_left;      /* [lock] saved */
};

void ps2kbd_reset(struct ps2_kbd *k);
/* A byte from the host (command or parameter). */
void ps2kbd_write(struct ps2_kbd *k, uint8_t b);
/* Set-2 bytes from the user, converted to the current set and queued. */
void ps2kbd_input(struct ps2_kbd *k, const uint8_t *set2, size_t n);
/* Next byte for the controller; false if none. */
bool ps2kbd_read(struct ps2_kbd *k, uint8_t *b);
bool ps2kbd_has_data(const struct ps2_kbd *k);
void ps2kbd_post_load(struct ps2_kbd *k);
/* Set-2 key event -> bytes in `set` (1..3); returns the count (<= 8). */
unsigned ps2kbd_convert(unsigned set, const uint8_t *unit, unsigned len, uint8_t *out);

/* ---- mouse (ps2mouse.c) ------------------------------------------------- */

struct ps2_mouse {
    struct ps2_queue resp, data;    /* [lock] saved */
    uint8_t cmd;                    /* [lock] saved: E8/F3 awaiting parameter */
    uint8_t enabled, remote, wrap, scale21;   /* [lock] saved */
    uint8_t resolution, rate, type; /* [lock] saved: type 0, 3 (IMPS/2), 4 (IMEX) */
    uint8_t rate_hist[3];           /* [lock] saved: last sample rates, newest last */
    uint8_t buttons, sent_buttons;  /* [lock] saved */
    uint8_t ovf_x, ovf_y;           /* [lock] saved: counter overflowed since last packet */
    int32_t dx, dy, dz;             /* [lock] saved: pending movement, dy up-positive */
    uint8_t last_pkt[4], last_len;  /* [lock] saved: FE resend */
};

/* Movement the mouse keeps before its counters overflow. */
#define PS2MOUSE_ACC_MAX 4095

void ps2mouse_reset(struct ps2_mouse *m);
void ps2mouse_write(struct ps2_mouse *m, uint8_t b);
/* dx right, dy down (screen), dz wheel toward the user, buttons PS2_BTN_*. */
void ps2mouse_event(struct ps2_mouse *m, int32_t dx, int32_t dy, int32_t dz, uint8_t buttons);
bool ps2mouse_read(struct ps2_mouse *m, uint8_t *b);
bool ps2mouse_has_data(const struct ps2_mouse *m);
void ps2mouse_post_load(struct ps2_mouse *m);

#endif
