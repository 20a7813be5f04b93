/* SPDX-License-Identifier: MIT */
/*
 * i8042 keyboard controller with a PS/2 keyboard and a PS/2 mouse
 * (src/devices/i8042.c, ps2kbd.c, ps2mouse.c; docs/ps2.md).
 *
 * One device instance ("i8042") holds the controller and both devices, so
 * one instance lock covers all three.  The board creates it, wires the A20
 * and reset outputs, and the frontend feeds it input:
 *
 *   - ps2_kbd_put_scancodes(): set-2 bytes of key events (the frontend's
 *     key table, fe_keys.def).  The keyboard converts them to its current
 *     scan code set (1, 2 or 3, chosen by the guest with command F0); the
 *     controller translates to set 1 on the way out when the command byte's
 *     XLATE bit is set.  The keyboard buffer holds 16 bytes; a key event
 *     that does not fit is replaced by one overrun code (00, or FF in set 1
 *     / translated).
 *   - ps2_mouse_event(): relative movement and button state.
 *
 * Threads: every function here may be called from any thread (the loop
 * thread feeds input while EMTs access ports 0x60/0x64); each takes the
 * instance lock.  The A20 and reset handlers are called on the EMT doing
 * the port write, with the i8042 lock held: the reset handler must only
 * request the reset (e.g. a vmm request), not reset devices synchronously.
 */
#ifndef IXVM_PS2_H
#define IXVM_PS2_H

#include "ixvm/dev.h"

/* Config keys: data (0x60), cmd (0x64), irq_kbd (1), irq_aux (12),
 * mouse (bool, default on: without it the aux port times out). */
extern const struct dev_reg dev_i8042;

/* Output port bit 1 (A20 gate) changed: enabled = new level.  Board:
 * pgm_set_a20(pgm, enabled). */
typedef void i8042_a20_fn(void *user, bool enabled);
/* Output port bit 0 pulsed or written low: system reset requested. */
typedef void i8042_reset_fn(void *user);
void i8042_set_a20_handler(struct dev_ins *kbc, i8042_a20_fn *fn, void *user);
void i8042_set_reset_handler(struct dev_ins *kbc, i8042_reset_fn *fn, void *user);
/* Current A20 gate bit of the output port. */
bool i8042_a20_gate(struct dev_ins *kbc);

/* Key input as set-2 bytes (make "1c", break "f0 1c", extended "e0 75",
 * "e0 f0 75", Pause "e1 14 77 e1 f0 14 f0 77").  Bytes may come split
 * across calls: the keyboard keeps the partial event.  Dropped while the
 * guest has scanning disabled (F5).  IXVM_ERR_INVALID_PARAMETER on NULL. */
int ps2_kbd_put_scancodes(struct dev_ins *kbc, const uint8_t *set2_bytes, size_t n) IXVM_WUR;
/* Bytes queued in the keyboard and not yet read by the guest (pacing for
 * scripted input: wait while this is non-zero). */
unsigned ps2_kbd_pending(struct dev_ins *kbc);
/* Keyboard LEDs as last set by the guest (ED): PS2_LED_*. */
#define PS2_LED_SCROLL 0x01u
#define PS2_LED_NUM    0x02u
#define PS2_LED_CAPS   0x04u
uint8_t ps2_kbd_leds(struct dev_ins *kbc);

/* Mouse buttons, as in packet byte 0 (4 and 5 reach the guest only in
 * IntelliMouse Explorer mode). */
#define PS2_BTN_LEFT   0x01u
#define PS2_BTN_RIGHT  0x02u
#define PS2_BTN_MIDDLE 0x04u
#define PS2_BTN_4      0x08u
#define PS2_BTN_5      0x10u
#define PS2_BTN_ALL    0x1fu
/* Relative motion in screen convention (dx right, dy down, as SDL's
 * xrel/yrel), dz wheel steps toward the user (scrolling down; SDL:
 * -wheel.y), and the full button state.  Dropped while the guest has
 * reporting disabled.  IXVM_ERR_INVALID_PARAMETER on NULL. */
int ps2_mouse_event(struct dev_ins *kbc, int32_t dx, int32_t dy, int32_t dz, uint8_t buttons) IXVM_WUR;

#endif
