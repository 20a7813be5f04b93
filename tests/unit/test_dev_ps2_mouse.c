/* SPDX-License-Identifier: MIT */
/*
 * PS/2 mouse on the i8042 aux port: reset and ID, the IntelliMouse and
 * Explorer sample-rate knocks as Linux's psmouse sends them, 3- and 4-byte
 * packet formats (sign bits, buttons, wheel, buttons 4/5), large movements
 * split over packets, counter overflow bits, status request, resolution,
 * scaling, remote mode polling, wrap mode, resend, unknown commands, and
 * IRQ12 per byte.
 */
#include "test_dev_i8042.h"

static void maux(struct kfix *f, uint8_t b)
{
    kcmd(f, 0xd4);
    kdata(f, b);
}

/* Send a command (and parameter) expecting ACKs. */
static void mcmd(struct kfix *f, uint8_t cmd, int param)
{
    maux(f, cmd);
    KEXPECT(f, 1, 0xfa);
    if (param >= 0) {
        maux(f, (uint8_t)param);
        KEXPECT(f, 1, 0xfa);
    }
}

static void mfix(struct kfix *f)
{
    kfix_init(f);
    kwrite_ctr(f, CTR_KBDINT | CTR_AUXINT | CTR_XLATE);
}

static void mevent(struct kfix *f, int32_t dx, int32_t dy, int32_t dz, uint8_t buttons)
{
    cr_assert_eq(ps2_mouse_event(f->k, dx, dy, dz, buttons), 0);
}

static uint8_t mid(struct kfix *f)
{
    maux(f, 0xf2);
    KEXPECT(f, 1, 0xfa);
    return kread(f, 1);
}

Test(dev_ps2_mouse, reset_and_id)
{
    struct kfix f;
    mfix(&f);
    maux(&f, 0xff);
    KEXPECT(&f, 1, 0xfa, 0xaa, 0x00);
    cr_assert_eq(mid(&f), 0x00);
    /* Disabled after reset: movement is dropped. */
    mevent(&f, 5, 5, 0, PS2_BTN_LEFT);
    kexpect_empty(&f);
    th_fini(&f.h);
}

/* psmouse-base.c intellimouse_detect / im_explorer_detect. */
Test(dev_ps2_mouse, intellimouse_detection)
{
    struct kfix f;
    mfix(&f);
    mcmd(&f, 0xf3, 200);
    mcmd(&f, 0xf3, 100);
    mcmd(&f, 0xf3, 80);
    cr_assert_eq(mid(&f), 0x03);
    mcmd(&f, 0xf3, 200);
    mcmd(&f, 0xf3, 200);
    mcmd(&f, 0xf3, 80);
    cr_assert_eq(mid(&f), 0x04);
    /* Reset goes back to a standard mouse. */
    maux(&f, 0xff);
    KEXPECT(&f, 1, 0xfa, 0xaa, 0x00);
    cr_assert_eq(mid(&f), 0x00);
    /* Another order is no knock. */
    mcmd(&f, 0xf3, 100);
    mcmd(&f, 0xf3, 200);
    mcmd(&f, 0xf3, 80);
    cr_assert_eq(mid(&f), 0x00);
    th_fini(&f.h);
}

Test(dev_ps2_mouse, standard_packets)
{
    struct kfix f;
    mfix(&f);
    mcmd(&f, 0xf4, -1);
    int rises = f.irq12.rises;
    mevent(&f, 10, -5, 3, PS2_BTN_LEFT);            /* 5 up; no wheel on ID 0 */
    KEXPECT(&f, 1, 0x09, 0x0a, 0x05);
    cr_assert_eq(f.irq12.rises - rises, 3, "one IRQ12 edge per byte");
    cr_assert_eq(f.irq12.level, 0);
    cr_assert_eq(f.irq1.rises, 0);
    mevent(&f, -3, 7, 0, PS2_BTN_RIGHT | PS2_BTN_MIDDLE);   /* left, down */
    KEXPECT(&f, 1, 0x08 | 0x10 | 0x20 | 0x06, 0xfd, 0xf9);
    /* A button change alone makes a packet; no change makes none. */
    mevent(&f, 0, 0, 0, 0);
    KEXPECT(&f, 1, 0x08, 0x00, 0x00);
    mevent(&f, 0, 0, 0, 0);
    kexpect_empty(&f);
    th_fini(&f.h);
}

Test(dev_ps2_mouse, large_motion_split)
{
    struct kfix f;
    mfix(&f);
    mcmd(&f, 0xf4, -1);
    mevent(&f, 600, -300, 0, 0);
    /* 255+255+90 right, 255+45 up; 9-bit values carry up to 255. */
    KEXPECT(&f, 1, 0x08, 0xff, 0xff);
    KEXPECT(&f, 1, 0x08, 0xff, 0x2d);
    KEXPECT(&f, 1, 0x08, 0x5a, 0x00);
    kexpect_empty(&f);
    mevent(&f, -256, 0, 0, 0);
    KEXPECT(&f, 1, 0x18, 0x01, 0x00);               /* -255 */
    KEXPECT(&f, 1, 0x18, 0xff, 0x00);               /* -1 */
    kexpect_empty(&f);
    /* More than the queue holds: the rest follows as the guest reads. */
    mevent(&f, 255 * 10, 0, 0, 0);
    int sum = 0, pk = 0;
    while (kst(&f) & STR_OBF) {
        uint8_t b0 = kread(&f, 1), x = kread(&f, 1);
        (void)kread(&f, 1);
        cr_assert_eq(b0 & 0xc0, 0, "no overflow for a movement that fits");
        sum += x;
        pk++;
    }
    cr_assert_eq(sum, 2550);
    cr_assert_eq(pk, 10);
    th_fini(&f.h);
}

Test(dev_ps2_mouse, overflow_bits)
{
    struct kfix f;
    mfix(&f);
    mcmd(&f, 0xf4, -1);
    mevent(&f, 100000, 100000, 0, 0);
    uint8_t b0 = kread(&f, 1);
    cr_assert_eq(b0 & 0xf8, 0x08 | 0x20 | 0x40 | 0x80, "X and Y overflow, Y negative: %#x", b0);
    (void)kread(&f, 1);
    (void)kread(&f, 1);
    /* Later packets of the same burst carry no overflow. */
    b0 = kread(&f, 1);
    cr_assert_eq(b0 & 0xc0, 0);
    /* A command clears the counters and pending packets; only the byte
     * already in the controller's buffer is left before the ACK. */
    maux(&f, 0xf5);
    KEXPECT(&f, 1, 0xff, 0xfa);  /* X of the second packet */
    kexpect_empty(&f);
    th_fini(&f.h);
}

Test(dev_ps2_mouse, wheel_packets)
{
    struct kfix f;
    mfix(&f);
    mcmd(&f, 0xf3, 200);
    mcmd(&f, 0xf3, 100);
    mcmd(&f, 0xf3, 80);
    mcmd(&f, 0xf4, -1);
    mevent(&f, 1, 1, -2, 0);
    KEXPECT(&f, 1, 0x28, 0x01, 0xff, 0xfe);
    mevent(&f, 0, 0, 200, PS2_BTN_4);                /* button 4 invisible on ID 3 */
    KEXPECT(&f, 1, 0x08, 0x00, 0x00, 0x7f);
    KEXPECT(&f, 1, 0x08, 0x00, 0x00, 0x49);
    kexpect_empty(&f);

    mcmd(&f, 0xf3, 200);
    mcmd(&f, 0xf3, 200);
    mcmd(&f, 0xf3, 80);
    mcmd(&f, 0xf4, -1);
    mevent(&f, 0, 0, -1, PS2_BTN_4 | PS2_BTN_5 | PS2_BTN_LEFT);
    KEXPECT(&f, 1, 0x09, 0x00, 0x00, 0x3f);          /* z -1 nibble, b4 b5 in bits 4-5 */
    mevent(&f, 0, 0, 9, PS2_BTN_LEFT);
    KEXPECT(&f, 1, 0x09, 0x00, 0x00, 0x07);
    KEXPECT(&f, 1, 0x09, 0x00, 0x00, 0x02);
    kexpect_empty(&f);
    th_fini(&f.h);
}

Test(dev_ps2_mouse, status_resolution_scaling)
{
    struct kfix f;
    mfix(&f);
    maux(&f, 0xe9);
    KEXPECT(&f, 1, 0xfa, 0x00, 0x02, 100);
    mcmd(&f, 0xe8, 3);
    mcmd(&f, 0xf3, 40);
    mcmd(&f, 0xe7, -1);
    mcmd(&f, 0xf4, -1);
    mevent(&f, 0, 0, 0, PS2_BTN_LEFT | PS2_BTN_RIGHT);
    (void)kflush(&f);
    maux(&f, 0xe9);
    KEXPECT(&f, 1, 0xfa, 0x20 | 0x10 | 0x04 | 0x01, 0x03, 40);
    /* 2:1 scaling in stream mode: 1 1 3 6 9, then doubled. */
    static const int in[] = { 1, 2, 3, 4, 5, 20 };
    static const uint8_t out[] = { 1, 1, 3, 6, 9, 40 };
    for (int i = 0; i < 6; i++) {
        mevent(&f, in[i], 0, 0, PS2_BTN_LEFT | PS2_BTN_RIGHT);
        uint8_t p[3] = { 0x0b, out[i], 0 };
        kexpect(&f, 1, p, 3);
    }
    mcmd(&f, 0xe6, -1);
    mevent(&f, 5, 0, 0, PS2_BTN_LEFT | PS2_BTN_RIGHT);
    KEXPECT(&f, 1, 0x0b, 0x05, 0x00);
    /* Bad resolution: resend. */
    maux(&f, 0xe8);
    KEXPECT(&f, 1, 0xfa);
    maux(&f, 0x09);
    KEXPECT(&f, 1, 0xfe);
    th_fini(&f.h);
}

Test(dev_ps2_mouse, remote_mode_poll)
{
    struct kfix f;
    mfix(&f);
    mcmd(&f, 0xf0, -1);
    mevent(&f, 4, 2, 0, PS2_BTN_MIDDLE);
    kexpect_empty(&f);                  /* nothing streams in remote mode */
    maux(&f, 0xeb);
    KEXPECT(&f, 1, 0xfa, 0x2c, 0x04, 0xfe);
    maux(&f, 0xeb);
    KEXPECT(&f, 1, 0xfa, 0x0c, 0x00, 0x00);   /* a packet even without motion */
    maux(&f, 0xe9);
    KEXPECT(&f, 1, 0xfa, 0x40 | 0x02, 0x02, 100);
    mcmd(&f, 0xea, -1);
    mcmd(&f, 0xf4, -1);
    mevent(&f, 1, 0, 0, 0);
    KEXPECT(&f, 1, 0x08, 0x01, 0x00);
    th_fini(&f.h);
}

Test(dev_ps2_mouse, wrap_resend_unknown)
{
    struct kfix f;
    mfix(&f);
    mcmd(&f, 0xee, -1);
    maux(&f, 0x12);
    KEXPECT(&f, 1, 0x12);
    maux(&f, 0xf2);
    KEXPECT(&f, 1, 0xf2);               /* echoed, not executed */
    mcmd(&f, 0xec, -1);
    cr_assert_eq(mid(&f), 0x00);
    maux(&f, 0x42);
    KEXPECT(&f, 1, 0xfe);
    mcmd(&f, 0xf4, -1);
    mevent(&f, 7, 0, 0, 0);
    KEXPECT(&f, 1, 0x08, 0x07, 0x00);
    maux(&f, 0xfe);
    KEXPECT(&f, 1, 0x08, 0x07, 0x00);
    /* F6: defaults, reporting off. */
    mcmd(&f, 0xf6, -1);
    mevent(&f, 7, 0, 0, 0);
    kexpect_empty(&f);
    /* Wrap mode: FF still resets. */
    mcmd(&f, 0xee, -1);
    maux(&f, 0xff);
    KEXPECT(&f, 1, 0xfa, 0xaa, 0x00);
    maux(&f, 0x33);
    KEXPECT(&f, 1, 0xfe);
    th_fini(&f.h);
}

Test(dev_ps2_mouse, aux_port_disabled_holds_data)
{
    struct kfix f;
    mfix(&f);
    mcmd(&f, 0xf4, -1);
    kcmd(&f, 0xa7);
    mevent(&f, 1, 0, 0, 0);
    kexpect_empty(&f);
    kcmd(&f, 0xa8);
    KEXPECT(&f, 1, 0x08, 0x01, 0x00);
    /* D4 re-enables a disabled aux port. */
    kcmd(&f, 0xa7);
    maux(&f, 0xf2);
    KEXPECT(&f, 1, 0xfa, 0x00);
    cr_assert_eq(kread_ctr(&f) & CTR_AUXDIS, 0);
    th_fini(&f.h);
}
