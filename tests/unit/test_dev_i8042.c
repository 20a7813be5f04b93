/* SPDX-License-Identifier: MIT */
/*
 * i8042 controller register-level tests: the exact sequences of Linux's
 * i8042 probe (controller check, self test, CTR read/write, aux detection
 * by loopback, aux IRQ test) and of SeaBIOS's ps2port.c keyboard setup,
 * status and command byte bits, port disable/enable, output buffer
 * priority, IRQ1/IRQ12 raised and lowered by reads, A20 and reset through
 * the output port, keyboard commands with and without translation, saved
 * state and a random-access fuzz.
 */
#include "test_dev_i8042.h"

Test(dev_i8042, power_on_state)
{
    struct kfix f;
    kfix_init(&f);
    uint8_t st = kst(&f);
    cr_assert_eq(st & (STR_OBF | STR_IBF | STR_AUXDATA | STR_TIMEOUT), 0);
    cr_assert(st & STR_KEYLOCK, "keyboard must not be locked (Linux warns)");
    cr_assert_eq(kread_ctr(&f), CTR_KBDINT | CTR_AUXINT);
    cr_assert_eq(f.irq1.level, 0);
    cr_assert_eq(f.irq12.level, 0);
    cr_assert(i8042_a20_gate(f.k));
    th_fini(&f.h);
}

/* drivers/input/serio/i8042.c: i8042_controller_check, _selftest, _init,
 * i8042_check_aux, the aux IRQ test and enabling the keyboard port. */
Test(dev_i8042, linux_probe_sequence)
{
    struct kfix f;
    kfix_init(&f);
    /* What SeaBIOS leaves behind, plus a stale key. */
    kwrite_ctr(&f, CTR_AUXDIS | CTR_XLATE | CTR_KBDINT);
    KKEYS(&f, 0x1c);
    cr_assert_eq(f.irq1.level, 1);

    /* i8042_controller_check: the flush ends. */
    cr_assert_eq(kflush(&f), 1);
    cr_assert_eq(f.irq1.level, 0);

    /* i8042_controller_selftest. */
    uint8_t p = 0;
    cr_assert_eq(klinux_cmd(&f, &p, 0x01aa), 0);
    cr_assert_eq(p, 0x55);

    /* i8042_controller_init: two equal CTR reads, keylock open, write
     * with the keyboard disabled, read it back. */
    uint8_t c0 = kread_ctr(&f), c1 = kread_ctr(&f);
    cr_assert_eq(c0, c1);
    cr_assert_eq(c0, CTR_AUXDIS | CTR_XLATE | CTR_KBDINT);
    cr_assert(kst(&f) & STR_KEYLOCK);
    uint8_t ctr = (uint8_t)((c0 | CTR_KBDDIS) & ~CTR_KBDINT);
    kwrite_ctr(&f, ctr);
    cr_assert_eq(kread_ctr(&f), ctr);
    cr_assert_eq(kflush(&f), 0);

    /* i8042_check_aux: loopback 0x5a comes back as aux data, even with
     * the aux port disabled and no IRQ (AUXINT clear). */
    p = 0x5a;
    cr_assert_eq(klinux_cmd(&f, &p, 0x11d3), 0);
    cr_assert_eq(p, 0x5a);
    cr_assert_eq(f.irq12.rises, 0);
    /* i8042_toggle_aux(false) / (true). */
    cr_assert_eq(klinux_cmd(&f, &p, 0x00a7), 0);
    cr_assert(kread_ctr(&f) & CTR_AUXDIS);
    cr_assert_eq(klinux_cmd(&f, &p, 0x00a8), 0);
    cr_assert_eq(kread_ctr(&f) & CTR_AUXDIS, 0);

    /* AUX IRQ delivery test: AUXINT on, loopback without reading. */
    ctr = (uint8_t)((ctr | CTR_AUXINT) & ~CTR_AUXDIS);
    kwrite_ctr(&f, ctr);
    p = 0xa5;
    cr_assert_eq(klinux_cmd(&f, &p, 0x10d3), 0);
    cr_assert_eq(f.irq12.level, 1);
    cr_assert_eq(f.irq1.level, 0);
    cr_assert_eq(kst(&f) & (STR_OBF | STR_AUXDATA), STR_OBF | STR_AUXDATA);
    cr_assert_eq(th_inb(&f.h, KBC_DATA), 0xa5);
    cr_assert_eq(f.irq12.level, 0);

    /* i8042_enable_kbd_port. */
    ctr = (uint8_t)((ctr & ~CTR_KBDDIS) | CTR_KBDINT);
    kwrite_ctr(&f, ctr);

    /* atkbd_probe: GETID through the data port -> translated ID ab 41,
     * each byte with its own IRQ1 edge. */
    int rises = f.irq1.rises;
    kdata(&f, 0xf2);
    KEXPECT(&f, 0, 0xfa, 0xab, 0x41);
    cr_assert_eq(f.irq1.rises - rises, 3);
    cr_assert_eq(f.irq1.level, 0);
    /* atkbd: SETLEDS, SETREP, ENABLE. */
    kdata(&f, 0xed);
    KEXPECT(&f, 0, 0xfa);
    kdata(&f, 0x00);
    KEXPECT(&f, 0, 0xfa);
    kdata(&f, 0xf3);
    KEXPECT(&f, 0, 0xfa);
    kdata(&f, 0x20);
    KEXPECT(&f, 0, 0xfa);
    kdata(&f, 0xf4);
    KEXPECT(&f, 0, 0xfa);

    /* psmouse_probe: GETID through D4 -> fa 00 on the aux port, IRQ12. */
    rises = f.irq12.rises;
    p = 0xf2;
    cr_assert_eq(klinux_cmd(&f, &p, 0x10d4), 0);
    KEXPECT(&f, 1, 0xfa, 0x00);
    cr_assert_eq(f.irq12.rises - rises, 2);
    kexpect_empty(&f);
    th_fini(&f.h);
}

/* SeaBIOS src/hw/ps2port.c: ps2_recvbyte / __ps2_command / keyboard setup. */
struct sb {
    struct kfix *f;
    uint8_t ps2ctr;
};

static int sb_i8042_command(struct sb *s, int command, uint8_t *param)
{
    return klinux_cmd(s->f, param, command);     /* same encoding as Linux */
}

static int sb_recvbyte(struct sb *s, int aux, int needack)
{
    /* The device answers at once, so "no byte now" is SeaBIOS's timeout. */
    while (kst(s->f) & STR_OBF) {
        uint8_t status = kst(s->f);
        uint8_t data = th_inb(&s->f->h, KBC_DATA);
        if (!!(status & STR_AUXDATA) == aux && (!needack || data == 0xfa || data == 0xfe))
            return data;
        cr_assert_fail("SeaBIOS would discard %#x (status %#x)", data, status);
    }
    return -1;
}

static int sb_sendbyte(struct sb *s, int aux, uint8_t b)
{
    if (aux) {
        if (sb_i8042_command(s, 0x10d4, &b))
            return -1;
    } else {
        kdata(s->f, b);
    }
    return sb_recvbyte(s, aux, 1) == 0xfa ? 0 : -1;
}

static int sb_ps2_command(struct sb *s, int aux, int command, uint8_t *param)
{
    int receive = (command >> 8) & 0xf, send = (command >> 12) & 0xf, ret = 0;
    uint8_t ps2ctr = s->ps2ctr;
    uint8_t newctr = (uint8_t)((ps2ctr | CTR_AUXDIS | CTR_KBDDIS) & ~(CTR_KBDINT | CTR_AUXINT));
    cr_assert_eq(sb_i8042_command(s, 0x1060, &newctr), 0);
    newctr &= (uint8_t)~(aux ? CTR_AUXDIS : CTR_KBDDIS);
    cr_assert_eq(sb_i8042_command(s, 0x1060, &newctr), 0);
    if ((command & 0xff) == 0xff) {             /* ATKBD_CMD_RESET_BAT */
        ret = sb_sendbyte(s, aux, 0xff);
        if (!ret) {
            int b = sb_recvbyte(s, aux, 0);
            param[0] = (uint8_t)b;
            ret = b < 0 ? -1 : 0;
            b = sb_recvbyte(s, aux, 0);
            param[1] = (uint8_t)(b < 0 ? 0 : b);
        }
    } else {
        ret = sb_sendbyte(s, aux, (uint8_t)command);
        for (int i = 0; !ret && i < send; i++)
            ret = sb_sendbyte(s, aux, param[i]);
        for (int i = 0; !ret && i < receive; i++) {
            int b = sb_recvbyte(s, aux, 0);
            ret = b < 0 ? -1 : 0;
            param[i] = (uint8_t)b;
        }
    }
    cr_assert_eq(sb_i8042_command(s, 0x1060, &ps2ctr), 0);
    return ret;
}

Test(dev_i8042, seabios_keyboard_setup)
{
    struct kfix f;
    kfix_init(&f);
    struct sb s = { &f, 0 };
    uint8_t param[2] = { 0, 0 };
    cr_assert_eq(kflush(&f), 0);
    cr_assert_eq(sb_i8042_command(&s, 0x01aa, param), 0);
    cr_assert_eq(param[0], 0x55);
    cr_assert_eq(sb_i8042_command(&s, 0x01ab, param), 0);
    cr_assert_eq(param[0], 0x00);
    s.ps2ctr = CTR_KBDDIS | CTR_AUXDIS;
    cr_assert_eq(sb_ps2_command(&s, 0, 0x02ff, param), 0);
    cr_assert_eq(param[0], 0xaa);
    cr_assert_eq(param[1], 0x00, "the keyboard sends only fa aa on reset");
    cr_assert_eq(sb_ps2_command(&s, 0, 0x00f5, NULL), 0);
    param[0] = 0x02;
    cr_assert_eq(sb_ps2_command(&s, 0, 0x10f0, param), 0);
    s.ps2ctr = CTR_AUXDIS | CTR_XLATE | CTR_KBDINT;
    cr_assert_eq(sb_ps2_command(&s, 0, 0x00f4, NULL), 0);
    cr_assert_eq(kread_ctr(&f), 0x61);
    kexpect_empty(&f);
    /* Self test set the system flag; CTR 0x61 (bit 2 clear) cleared it. */
    cr_assert_eq(kst(&f) & STR_SYS, 0);

    /* A key now reaches handle_09 translated, with one IRQ1 edge. */
    int rises = f.irq1.rises;
    KKEYS(&f, 0x1c, 0xf0, 0x1c);
    cr_assert_eq(f.irq1.rises - rises, 1);
    KEXPECT(&f, 0, 0x1e);
    cr_assert_eq(f.irq1.rises - rises, 2, "next byte: a new edge");
    KEXPECT(&f, 0, 0x9e);
    cr_assert_eq(f.irq1.level, 0);
    /* handle_09 re-enables the keyboard (AE) after every key. */
    kcmd(&f, 0xae);
    kexpect_empty(&f);

    /* Mouse through SeaBIOS's ps2_mouse_command: reset, get id. */
    cr_assert_eq(sb_ps2_command(&s, 1, 0x02ff, param), 0);
    cr_assert_eq(param[0], 0xaa);
    cr_assert_eq(param[1], 0x00);
    cr_assert_eq(sb_ps2_command(&s, 1, 0x01f2, param), 0);
    cr_assert_eq(param[0], 0x00);
    th_fini(&f.h);
}

Test(dev_i8042, status_a2_and_sys_flag)
{
    struct kfix f;
    kfix_init(&f);
    cr_assert_eq(kst(&f) & STR_SYS, 0, "cold boot: system flag clear");
    kcmd(&f, 0x60);
    cr_assert(kst(&f) & STR_A2);
    kdata(&f, CTR_SYS);
    cr_assert_eq(kst(&f) & STR_A2, 0);
    cr_assert(kst(&f) & STR_SYS, "CTR bit 2 shows in status bit 2");
    kwrite_ctr(&f, 0);
    cr_assert_eq(kst(&f) & STR_SYS, 0);
    kcmd(&f, 0xaa);
    KEXPECT(&f, 0, 0x55);
    cr_assert(kst(&f) & STR_SYS, "a passed self test sets the system flag");
    th_fini(&f.h);
}

Test(dev_i8042, controller_tests_and_ports)
{
    struct kfix f;
    kfix_init(&f);
    kcmd(&f, 0xab);
    KEXPECT(&f, 0, 0x00);
    kcmd(&f, 0xa9);
    KEXPECT(&f, 0, 0x00);
    kcmd(&f, 0xc0);
    KEXPECT(&f, 0, 0x80);
    kcmd(&f, 0xa4);
    KEXPECT(&f, 0, 0xf1);
    kcmd(&f, 0xd0);
    KEXPECT(&f, 0, 0xcf);
    /* Controller RAM bytes 1-31 through 0x61-0x7f / 0x21-0x3f. */
    kcmd(&f, 0x65);
    kdata(&f, 0x5c);
    kcmd(&f, 0x25);
    KEXPECT(&f, 0, 0x5c);
    /* AD/AE and A7/A8 in the command byte. */
    kcmd(&f, 0xad);
    cr_assert(kread_ctr(&f) & CTR_KBDDIS);
    kcmd(&f, 0xae);
    cr_assert_eq(kread_ctr(&f) & CTR_KBDDIS, 0);
    kcmd(&f, 0xa7);
    cr_assert(kread_ctr(&f) & CTR_AUXDIS);
    kcmd(&f, 0xa8);
    cr_assert_eq(kread_ctr(&f) & CTR_AUXDIS, 0);
    /* Reading an empty buffer repeats the last byte. */
    cr_assert_eq(th_inb(&f.h, KBC_DATA), CTR_KBDINT | CTR_AUXINT);
    cr_assert_eq(th_inb(&f.h, KBC_DATA), CTR_KBDINT | CTR_AUXINT);
    kcmd(&f, 0xd2);
    kdata(&f, 0x77);
    KEXPECT(&f, 0, 0x77);
    cr_assert_eq(th_inb(&f.h, KBC_DATA), 0x77);
    /* An unknown command is ignored and answers nothing. */
    kcmd(&f, 0xb7);
    kexpect_empty(&f);
    th_fini(&f.h);
}

Test(dev_i8042, write_obuf_d2_d3_irqs)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT | CTR_AUXINT | CTR_XLATE);
    kcmd(&f, 0xd2);
    kdata(&f, 0x2a);
    cr_assert_eq(f.irq1.level, 1);
    cr_assert_eq(f.irq12.level, 0);
    KEXPECT(&f, 0, 0x2a);   /* D2 data is not translated */
    cr_assert_eq(f.irq1.level, 0);
    kcmd(&f, 0xd3);
    kdata(&f, 0x42);
    cr_assert_eq(f.irq12.level, 1);
    cr_assert_eq(f.irq1.level, 0);
    KEXPECT(&f, 1, 0x42);
    cr_assert_eq(f.irq12.level, 0);
    /* Interrupt enables gate the wires, not the data. */
    kwrite_ctr(&f, CTR_XLATE);
    kcmd(&f, 0xd3);
    kdata(&f, 0x43);
    cr_assert_eq(f.irq12.level, 0);
    /* Enabling AUXINT with data waiting raises the line. */
    kwrite_ctr(&f, CTR_XLATE | CTR_AUXINT);
    cr_assert_eq(f.irq12.level, 1);
    KEXPECT(&f, 1, 0x43);
    cr_assert_eq(f.irq12.level, 0);
    th_fini(&f.h);
}

Test(dev_i8042, a20_and_reset)
{
    struct kfix f;
    kfix_init(&f);
    kcmd(&f, 0xd1);
    kdata(&f, 0xdd);        /* A20 off, reset line high */
    cr_assert_eq(f.a20_calls, 1);
    cr_assert_eq(f.a20, false);
    cr_assert_not(i8042_a20_gate(f.k));
    cr_assert_eq(f.resets, 0);
    kcmd(&f, 0xd0);
    KEXPECT(&f, 0, 0xcd);   /* bit 4 is the live "output buffer full" line */
    kcmd(&f, 0xd1);
    kdata(&f, 0xdf);        /* A20 on */
    cr_assert_eq(f.a20, true);
    cr_assert(i8042_a20_gate(f.k));
    kcmd(&f, 0xdd);         /* HP-style A20 off / on */
    cr_assert_eq(f.a20, false);
    kcmd(&f, 0xdf);
    cr_assert_eq(f.a20, true);
    cr_assert_eq(f.resets, 0);
    kcmd(&f, 0xfe);         /* pulse reset: the classic reboot */
    cr_assert_eq(f.resets, 1);
    kcmd(&f, 0xff);         /* pulse nothing */
    kcmd(&f, 0xf1);         /* bit 0 not pulsed */
    cr_assert_eq(f.resets, 1);
    kcmd(&f, 0xf0);
    cr_assert_eq(f.resets, 2);
    kcmd(&f, 0xd1);
    kdata(&f, 0xde);        /* reset bit written low */
    cr_assert_eq(f.resets, 3);
    th_fini(&f.h);
}

Test(dev_i8042, keyboard_reset_identify_untranslated)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT);
    kdata(&f, 0xff);
    KEXPECT(&f, 0, 0xfa, 0xaa);
    kdata(&f, 0xf2);
    KEXPECT(&f, 0, 0xfa, 0xab, 0x83);
    kdata(&f, 0xee);
    KEXPECT(&f, 0, 0xee);
    kdata(&f, 0xf0);
    KEXPECT(&f, 0, 0xfa);
    kdata(&f, 0x00);
    KEXPECT(&f, 0, 0xfa, 0x02);
    kdata(&f, 0xf0);
    kdata(&f, 0x03);
    KEXPECT(&f, 0, 0xfa, 0xfa);
    kdata(&f, 0xf0);
    kdata(&f, 0x00);
    KEXPECT(&f, 0, 0xfa, 0xfa, 0x03);
    kdata(&f, 0xf0);
    kdata(&f, 0x07);        /* no such set */
    KEXPECT(&f, 0, 0xfa, 0xfe);
    kdata(&f, 0x01);        /* not a command */
    KEXPECT(&f, 0, 0xfe);
    kdata(&f, 0xfe);        /* resend the last byte */
    KEXPECT(&f, 0, 0xfe);
    th_fini(&f.h);
}

Test(dev_i8042, keyboard_translated_replies)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT | CTR_XLATE);
    kdata(&f, 0xf2);
    KEXPECT(&f, 0, 0xfa, 0xab, 0x41);
    kdata(&f, 0xf0);
    kdata(&f, 0x00);
    KEXPECT(&f, 0, 0xfa, 0xfa, 0x41);   /* set 2 reads as 41 through XLATE */
    kdata(&f, 0xff);
    KEXPECT(&f, 0, 0xfa, 0xaa);
    th_fini(&f.h);
}

Test(dev_i8042, keyboard_leds_typematic_enable)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT);
    kdata(&f, 0xed);
    kdata(&f, 0x05);
    KEXPECT(&f, 0, 0xfa, 0xfa);
    cr_assert_eq(ps2_kbd_leds(f.k), PS2_LED_SCROLL | PS2_LED_CAPS);
    /* A command in place of the parameter aborts it and runs. */
    kdata(&f, 0xed);
    kdata(&f, 0xee);
    KEXPECT(&f, 0, 0xfa, 0xee);
    cr_assert_eq(ps2_kbd_leds(f.k), PS2_LED_SCROLL | PS2_LED_CAPS);
    kdata(&f, 0xf3);
    kdata(&f, 0x00);
    KEXPECT(&f, 0, 0xfa, 0xfa);
    /* F5: disabled, keys dropped; F4: scanning again. */
    kdata(&f, 0xf5);
    KEXPECT(&f, 0, 0xfa);
    cr_assert_eq(ps2_kbd_leds(f.k), 0, "F5 restores power-on LEDs");
    KKEYS(&f, 0x1c);
    kexpect_empty(&f);
    kdata(&f, 0xf4);
    KEXPECT(&f, 0, 0xfa);
    KKEYS(&f, 0x1c);
    KEXPECT(&f, 0, 0x1c);
    /* F6: defaults and scanning. */
    kdata(&f, 0xf6);
    KEXPECT(&f, 0, 0xfa);
    KKEYS(&f, 0x32);
    KEXPECT(&f, 0, 0x32);
    /* Set-3 key type commands: FA acks, FB takes a key list. */
    kdata(&f, 0xfa);
    KEXPECT(&f, 0, 0xfa);
    kdata(&f, 0xfb);
    kdata(&f, 0x1c);
    kdata(&f, 0x1b);
    KEXPECT(&f, 0, 0xfa, 0xfa, 0xfa);
    kdata(&f, 0xee);
    KEXPECT(&f, 0, 0xee);
    th_fini(&f.h);
}

Test(dev_i8042, reply_goes_before_pending_keys)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT | CTR_KBDDIS);
    KKEYS(&f, 0x1c, 0x32);
    cr_assert_eq(ps2_kbd_pending(f.k), 2);
    kexpect_empty(&f);          /* port disabled: keys wait in the keyboard */
    kdata(&f, 0xee);            /* writing to the keyboard enables its port */
    KEXPECT(&f, 0, 0xee, 0x1c, 0x32);
    cr_assert_eq(kread_ctr(&f) & CTR_KBDDIS, 0);
    cr_assert_eq(ps2_kbd_pending(f.k), 0);
    th_fini(&f.h);
}

Test(dev_i8042, output_priority_kbd_over_aux)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT | CTR_AUXINT);
    kcmd(&f, 0xd4);
    kdata(&f, 0xf4);
    KEXPECT(&f, 1, 0xfa);
    cr_assert_eq(ps2_mouse_event(f.k, 1, 0, 0, 0), 0);   /* aux byte now in the buffer */
    KKEYS(&f, 0x1c);
    KEXPECT(&f, 1, 0x08);       /* the buffer holds what it holds */
    KEXPECT(&f, 0, 0x1c);       /* then the keyboard goes first */
    KEXPECT(&f, 1, 0x01, 0x00);
    kexpect_empty(&f);
    /* Keyboard port disabled: mouse data still flows. */
    kcmd(&f, 0xad);
    KKEYS(&f, 0x1c);
    cr_assert_eq(ps2_mouse_event(f.k, 2, 0, 0, 0), 0);
    KEXPECT(&f, 1, 0x08, 0x02, 0x00);
    kexpect_empty(&f);
    kcmd(&f, 0xae);
    KEXPECT(&f, 0, 0x1c);
    /* Controller replies beat both devices. */
    KKEYS(&f, 0x1c, 0x1c);
    kcmd(&f, 0x20);
    KEXPECT(&f, 0, 0x1c);       /* already in the buffer */
    KEXPECT(&f, 0, CTR_KBDINT | CTR_AUXINT);
    KEXPECT(&f, 0, 0x1c);
    th_fini(&f.h);
}

Test(dev_i8042, irq_lowered_by_read_and_reraised)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT);
    KKEYS(&f, 0x1c, 0x32, 0x21);
    cr_assert_eq(f.irq1.level, 1);
    cr_assert_eq(f.irq1.rises, 1);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(f.irq1.level, 1);
        (void)kread(&f, 0);
    }
    cr_assert_eq(f.irq1.level, 0);
    cr_assert_eq(f.irq1.rises, 3);
    /* Disabling KBDINT drops the wire with the byte still there. */
    KKEYS(&f, 0x1c);
    cr_assert_eq(f.irq1.level, 1);
    kwrite_ctr(&f, 0);
    cr_assert_eq(f.irq1.level, 0);
    cr_assert(kst(&f) & STR_OBF);
    th_fini(&f.h);
}

Test(dev_i8042, no_mouse_times_out)
{
    static const struct dev_cfg_kv kv[] = { { "mouse", "off" } };
    struct kfix f;
    kfix_init_cfg(&f, kv, 1);
    uint8_t p = 0xf2;
    cr_assert_eq(klinux_cmd(&f, &p, 0x10d4), 0);
    uint8_t st = kst(&f);
    cr_assert_eq(st & (STR_OBF | STR_AUXDATA | STR_TIMEOUT), STR_OBF | STR_AUXDATA | STR_TIMEOUT);
    cr_assert_eq(th_inb(&f.h, KBC_DATA), 0xfe);
    cr_assert_eq(kst(&f) & STR_TIMEOUT, 0);
    cr_assert_eq(ps2_mouse_event(f.k, 5, 5, 0, 1), 0);
    kexpect_empty(&f);
    /* The loopback still works: it is the controller's. */
    p = 0x5a;
    cr_assert_eq(klinux_cmd(&f, &p, 0x11d3), 0);
    cr_assert_eq(p, 0x5a);
    th_fini(&f.h);
}

Test(dev_i8042, bad_config_and_params)
{
    struct th h;
    th_init(&h);
    static const struct dev_cfg_kv kv[] = { { "irq_kbd", "99" } };
    struct dev_cfg cfg = { kv, 1 };
    struct dev_ins *ins = NULL;
    cr_assert_lt(pdm_device_create(h.pdm, &dev_i8042, &cfg, &ins, &h.err), 0);
    cr_assert(strstr(h.err.msg, "irq_kbd") != NULL, "%s", h.err.msg);
    static const struct dev_cfg_kv kv2[] = { { "colour", "red" } };
    struct dev_cfg cfg2 = { kv2, 1 };
    cr_assert_lt(pdm_device_create(h.pdm, &dev_i8042, &cfg2, &ins, &h.err), 0);
    cr_assert(strstr(h.err.msg, "colour") != NULL, "%s", h.err.msg);
    cr_assert_eq(ps2_kbd_put_scancodes(NULL, (const uint8_t *)"", 0), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(ps2_mouse_event(NULL, 0, 0, 0, 0), IXVM_ERR_INVALID_PARAMETER);
    th_fini(&h);
}

Test(dev_i8042, machine_reset)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT | CTR_XLATE);
    KKEYS(&f, 0x1c);
    cr_assert_eq(f.irq1.level, 1);
    pdm_reset(f.h.pdm);
    cr_assert_eq(f.irq1.level, 0);
    kexpect_empty(&f);
    cr_assert_eq(kread_ctr(&f), CTR_KBDINT | CTR_AUXINT);
    th_fini(&f.h);
}

static void ssm_mutate(struct th *h, void *user)
{
    struct kfix *f = user;
    pdm_reset(h->pdm);
    KKEYS(f, 0x32);
}

Test(dev_i8042, saved_state_roundtrip)
{
    struct kfix f;
    kfix_init(&f);
    kwrite_ctr(&f, CTR_KBDINT | CTR_AUXINT | CTR_XLATE);
    kdata(&f, 0xed);
    kdata(&f, 0x02);
    KEXPECT(&f, 0, 0xfa, 0xfa);
    static const uint8_t knock[] = { 0xf3, 200, 0xf3, 100, 0xf3, 80, 0xf4 };
    for (size_t i = 0; i < sizeof(knock); i++) {
        kcmd(&f, 0xd4);
        kdata(&f, knock[i]);
        KEXPECT(&f, 1, 0xfa);
    }
    KKEYS(&f, 0x1c, 0xe0, 0xf0);    /* one key waiting, half an event parsed */
    cr_assert_eq(ps2_mouse_event(f.k, 300, 0, -1, PS2_BTN_RIGHT), 0);
    th_ssm_roundtrip(&f.h, ssm_mutate, &f);
    cr_assert_eq(ps2_kbd_leds(f.k), PS2_LED_NUM);
    cr_assert_eq(f.irq1.level, 1);
    KEXPECT(&f, 0, 0x1e);
    KKEYS(&f, 0x75);                /* completes e0 f0 75 -> e0 c8 */
    KEXPECT(&f, 1, 0x0a);           /* the mouse got the empty buffer first */
    KEXPECT(&f, 0, 0xe0, 0xc8);     /* keyboard before aux, byte by byte */
    KEXPECT(&f, 1, 0xff, 0x00, 0xff, 0x0a, 0x2d, 0x00, 0x00);
    kexpect_empty(&f);
    kcmd(&f, 0xd4);
    kdata(&f, 0xf2);
    KEXPECT(&f, 1, 0xfa, 0x03);
    th_fini(&f.h);
}

Test(dev_i8042, info_handler)
{
    struct kfix f;
    kfix_init(&f);
    struct th_text t = { .len = 0 };
    struct ixvm_printer pr = { th_text_print, &t };
    dev_lock(f.k);
    dev_i8042.info(f.k->state, &pr, "");
    dev_unlock(f.k);
    cr_assert(strstr(t.buf, "ctr=03") != NULL, "%s", t.buf);
    cr_assert(strstr(t.buf, "kbd: set=2") != NULL, "%s", t.buf);
    cr_assert(strstr(t.buf, "mouse: present") != NULL, "%s", t.buf);
    th_fini(&f.h);
}

static void fuzz_extra(struct th *h, uint64_t rnd, void *user)
{
    struct kfix *f = user;
    uint8_t b[4] = { (uint8_t)rnd, (uint8_t)(rnd >> 8), (uint8_t)(rnd >> 16), (uint8_t)(rnd >> 24) };
    if (rnd & (1ull << 40))
        cr_assert_eq(ps2_kbd_put_scancodes(f->k, b, (rnd >> 32) % 5), 0);
    else
        cr_assert_eq(ps2_mouse_event(f->k, (int32_t)(rnd >> 8), (int32_t)(rnd >> 20), (int8_t)(rnd >> 44),
                                     (uint8_t)(rnd >> 56)), 0);
}

Test(dev_i8042, fuzz)
{
    struct kfix f;
    kfix_init(&f);
    static const struct th_range r[] = { { KBC_DATA, 1 }, { KBC_CMD, 1 } };
    th_fuzz(&f.h, r, 2, 0x8042, 60000, fuzz_extra, &f);
    /* Still a working controller afterwards. */
    th_outb(&f.h, KBC_CMD, 0xd1);
    th_outb(&f.h, KBC_DATA, 0xcf);      /* A20 on, no reset */
    kwrite_ctr(&f, CTR_KBDINT | CTR_AUXDIS);
    for (int i = 0; i < 64 && (kst(&f) & STR_OBF); i++)
        (void)th_inb(&f.h, KBC_DATA);
    kexpect_empty(&f);
    kdata(&f, 0xff);
    int n = 0;
    uint8_t last[2] = { 0, 0 };
    while ((kst(&f) & STR_OBF) && n < 40) {
        uint8_t st = kst(&f);
        uint8_t v = th_inb(&f.h, KBC_DATA);
        if (!(st & STR_AUXDATA)) {
            last[0] = last[1];
            last[1] = v;
        }
        n++;
    }
    cr_assert_eq(last[0], 0xfa);
    cr_assert_eq(last[1], 0xaa);
    th_fini(&f.h);
}
