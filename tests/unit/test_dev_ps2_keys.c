/* SPDX-License-Identifier: MIT */
/*
 * PS/2 keyboard scan codes: every key of the frontend's key table
 * (src/frontend/fe_keys.def, included here as data, no frontend code
 * linked) typed as set-2 make and break bytes must come out of port 0x60
 *   - as the table's set-1 codes through the controller's translation
 *     (XLATE, the PC default),
 *   - as the same set-1 codes from a keyboard switched to set 1,
 *   - unchanged in set 2 without translation,
 *   - as one-byte set-3 codes (F0 prefix on break) in set 3;
 * plus Print Screen and Pause, events split across calls, and the 16-byte
 * buffer's overrun code.
 */
#include "test_dev_i8042.h"

struct key {
    const char *name;
    uint16_t s1, s2;
    unsigned flags;
};

#define K105 0x1u
#define SPECIAL 0x2u
static const struct key keys[] = {
#define FE_KEY_X(id, name, s1, s2, sdl, flags) { name, s1, s2, flags },
#include "frontend/fe_keys.def"
#undef FE_KEY_X
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Set-2 make/break bytes of a non-special key. */
static size_t s2_bytes(uint16_t code, bool down, uint8_t *b)
{
    size_t n = 0;
    if (code > 0xff)
        b[n++] = (uint8_t)(code >> 8);
    if (!down)
        b[n++] = 0xf0;
    b[n++] = (uint8_t)code;
    return n;
}

static size_t s1_bytes(uint16_t code, bool down, uint8_t *b)
{
    size_t n = 0;
    if (code > 0xff)
        b[n++] = (uint8_t)(code >> 8);
    b[n++] = (uint8_t)((code & 0xff) | (down ? 0 : 0x80));
    return n;
}

static void kbd_setup(struct kfix *f, uint8_t ctr, uint8_t set)
{
    kfix_init(f);
    kdata(f, 0xf0);             /* power-on CTR: no translation of the acks */
    kdata(f, set);
    KEXPECT(f, 0, 0xfa, 0xfa);
    kwrite_ctr(f, ctr);         /* after: a data write re-enables the port */
}

static void check_all_keys_set1(struct kfix *f)
{
    unsigned checked = 0, k105 = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].flags & SPECIAL)
            continue;
        for (int down = 1; down >= 0; down--) {
            uint8_t in[4], want[4];
            size_t n = s2_bytes(keys[i].s2, down, in);
            size_t m = s1_bytes(keys[i].s1, down, want);
            kkeys(f, in, n);
            for (size_t j = 0; j < m; j++) {
                uint8_t got = kread(f, 0);
                cr_assert_eq(got, want[j], "key %s %s byte %zu: got %#04x, want %#04x", keys[i].name,
                             down ? "make" : "break", j, got, want[j]);
            }
            kexpect_empty(f);
        }
        checked++;
        k105 += !!(keys[i].flags & K105);
    }
    cr_assert_geq(checked, 100, "only %u keys", checked);
    cr_assert_geq(k105, 100);
}

Test(dev_ps2_keys, all_keys_translated_by_controller)
{
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT | CTR_XLATE, 2);
    check_all_keys_set1(&f);
    th_fini(&f.h);
}

Test(dev_ps2_keys, all_keys_keyboard_set1)
{
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT, 1);
    check_all_keys_set1(&f);
    th_fini(&f.h);
}

Test(dev_ps2_keys, all_keys_set2_raw)
{
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT, 2);
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].flags & SPECIAL)
            continue;
        for (int down = 1; down >= 0; down--) {
            uint8_t in[4];
            size_t n = s2_bytes(keys[i].s2, down, in);
            kkeys(&f, in, n);
            kexpect(&f, 0, in, n);
            kexpect_empty(&f);
        }
    }
    th_fini(&f.h);
}

/* Set 3 codes of a few keys of each kind (keycodemapdb, as QEMU). */
Test(dev_ps2_keys, set3_codes)
{
    static const struct {
        uint16_t s2;
        uint8_t s3;
    } t[] = {
        { 0x1c, 0x1c },   { 0x76, 0x08 },   { 0x05, 0x07 },   { 0x07, 0x5e },   { 0x58, 0x14 },
        { 0x14, 0x11 },   { 0x11, 0x19 },   { 0x12, 0x12 },   { 0x59, 0x59 },   { 0x61, 0x13 },
        { 0x77, 0x76 },   { 0x7c, 0x7e },   { 0x7b, 0x84 },   { 0x79, 0x7c },   { 0x70, 0x70 },
        { 0xe014, 0x58 }, { 0xe011, 0x39 }, { 0xe05a, 0x79 }, { 0xe04a, 0x77 }, { 0xe075, 0x63 },
        { 0xe06b, 0x61 }, { 0xe072, 0x60 }, { 0xe074, 0x6a }, { 0xe071, 0x64 }, { 0xe070, 0x67 },
        { 0xe01f, 0x8b }, { 0xe027, 0x8c }, { 0xe02f, 0x8d }, { 0xe07c, 0x57 }, { 0x84, 0x57 },
    };
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT, 3);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint8_t in[4];
        size_t n = s2_bytes(t[i].s2, true, in);
        kkeys(&f, in, n);
        kexpect(&f, 0, &t[i].s3, 1);
        n = s2_bytes(t[i].s2, false, in);
        kkeys(&f, in, n);
        uint8_t b0 = kread(&f, 0), b1 = kread(&f, 0);
        cr_assert_eq(b0, 0xf0);
        cr_assert_eq(b1, t[i].s3, "set2 %#x break: %#x", t[i].s2, b1);
        kexpect_empty(&f);
    }
    /* Print Screen: the fake shift has no set-3 code. */
    KKEYS(&f, 0xe0, 0x12, 0xe0, 0x7c);
    KEXPECT(&f, 0, 0x57);
    kexpect_empty(&f);
    /* Pause. */
    KKEYS(&f, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);
    KEXPECT(&f, 0, 0x62, 0xf0, 0x62);
    kexpect_empty(&f);
    th_fini(&f.h);
}

Test(dev_ps2_keys, print_screen_and_pause_translated)
{
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT | CTR_XLATE, 2);
    KKEYS(&f, 0xe0, 0x12, 0xe0, 0x7c);
    KEXPECT(&f, 0, 0xe0, 0x2a, 0xe0, 0x37);
    KKEYS(&f, 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12);
    KEXPECT(&f, 0, 0xe0, 0xb7, 0xe0, 0xaa);
    KKEYS(&f, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);
    KEXPECT(&f, 0, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
    kexpect_empty(&f);
    th_fini(&f.h);
}

Test(dev_ps2_keys, event_split_across_calls)
{
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT | CTR_XLATE, 2);
    KKEYS(&f, 0xe0);
    KKEYS(&f, 0xf0);
    kexpect_empty(&f);      /* nothing until the event is complete */
    KKEYS(&f, 0x75);
    KEXPECT(&f, 0, 0xe0, 0xc8);
    /* Translation state across the F0 when the guest reads in between
     * (translation happens per byte in the controller). */
    kwrite_ctr(&f, CTR_KBDINT | CTR_XLATE);
    KKEYS(&f, 0xf0, 0x1c, 0x1c);
    KEXPECT(&f, 0, 0x9e, 0x1e);
    kexpect_empty(&f);
    th_fini(&f.h);
}

Test(dev_ps2_keys, overrun_code)
{
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT | CTR_KBDDIS, 2);  /* port disabled: nothing drains */
    for (int i = 0; i < 20; i++)
        KKEYS(&f, 0x1c);
    cr_assert_eq(ps2_kbd_pending(f.k), 16);
    kcmd(&f, 0xae);
    for (int i = 0; i < 15; i++)
        KEXPECT(&f, 0, 0x1c);
    KEXPECT(&f, 0, 0x00);           /* set 2 overrun */
    kexpect_empty(&f);
    /* Room again: keys flow, and an event never goes in half. */
    kcmd(&f, 0xad);
    for (int i = 0; i < 7; i++)
        KKEYS(&f, 0xe0, 0x75);      /* 14 bytes */
    KKEYS(&f, 0xe0, 0x75);          /* would make 16: overrun instead */
    KKEYS(&f, 0xe0, 0x75);          /* dropped */
    cr_assert_eq(ps2_kbd_pending(f.k), 15);
    kcmd(&f, 0xae);
    for (int i = 0; i < 7; i++)
        KEXPECT(&f, 0, 0xe0, 0x75);
    KEXPECT(&f, 0, 0x00);
    kexpect_empty(&f);
    th_fini(&f.h);
}

Test(dev_ps2_keys, overrun_code_translated_and_set1)
{
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT | CTR_KBDDIS | CTR_XLATE, 2);
    for (int i = 0; i < 17; i++)
        KKEYS(&f, 0x1c);
    kcmd(&f, 0xae);
    for (int i = 0; i < 15; i++)
        KEXPECT(&f, 0, 0x1e);
    KEXPECT(&f, 0, 0xff);           /* 00 translated */
    th_fini(&f.h);

    kbd_setup(&f, CTR_KBDINT | CTR_KBDDIS, 1);
    for (int i = 0; i < 17; i++)
        KKEYS(&f, 0x1c);
    kcmd(&f, 0xae);
    for (int i = 0; i < 15; i++)
        KEXPECT(&f, 0, 0x1e);
    KEXPECT(&f, 0, 0xff);           /* set 1 overrun */
    th_fini(&f.h);
}

Test(dev_ps2_keys, garbage_input_resyncs)
{
    struct kfix f;
    kbd_setup(&f, CTR_KBDINT, 2);
    static const uint8_t junk[] = { 0xe0, 0xf0, 0xe0, 0xf0, 0xe0, 0xf0, 0xe0, 0xf0, 0xe0, 0xf0 };
    kkeys(&f, junk, sizeof(junk));
    KKEYS(&f, 0x1c);                /* ends whatever was left */
    (void)kflush(&f);
    KKEYS(&f, 0x32);
    KEXPECT(&f, 0, 0x32);
    kexpect_empty(&f);
    th_fini(&f.h);
}
