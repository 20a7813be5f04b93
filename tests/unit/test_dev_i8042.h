/* SPDX-License-Identifier: MIT */
/*
 * Fixture for the i8042 / PS/2 register-level tests: the device on the
 * harness's port table, both interrupt wires recorded, the A20 and reset
 * callbacks counted, and port helpers that assert what a driver checks
 * (IBF clear before a write, OBF and the AUX bit before a read).
 */
#ifndef TEST_DEV_I8042_H
#define TEST_DEV_I8042_H

#include "ixvm/ps2.h"
#include "test_dev_harness.h"

#define KBC_DATA 0x60
#define KBC_CMD  0x64

#define STR_OBF     0x01
#define STR_IBF     0x02
#define STR_SYS     0x04
#define STR_A2      0x08
#define STR_KEYLOCK 0x10
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

#define CTR_KBDINT  0x01
#define CTR_AUXINT  0x02
#define CTR_SYS     0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40

struct kwire {
    int level;
    int rises;
};

struct kfix {
    struct th h;
    struct dev_ins *k;
    struct kwire irq1, irq12;
    int a20_calls, resets;
    bool a20;
};

static IXVM_UNUSED void kwire_set(void *user, unsigned pin, int level)
{
    struct kwire *w = user;
    if (level && !w->level)
        w->rises++;
    w->level = level;
}

static IXVM_UNUSED void kfix_a20(void *user, bool on)
{
    struct kfix *f = user;
    f->a20_calls++;
    f->a20 = on;
}

static IXVM_UNUSED void kfix_reset(void *user)
{
    ((struct kfix *)user)->resets++;
}

static IXVM_UNUSED void kfix_init_cfg(struct kfix *f, const struct dev_cfg_kv *kv, size_t n)
{
    memset(f, 0, sizeof(*f));
    th_init(&f->h);
    f->k = th_create(&f->h, &dev_i8042, kv, n);
    struct irq_line l1 = { kwire_set, &f->irq1, 1 };
    struct irq_line l12 = { kwire_set, &f->irq12, 12 };
    cr_assert_eq(dev_irq_connect(f->k, 0, &l1), 0);
    cr_assert_eq(dev_irq_connect(f->k, 1, &l12), 0);
    i8042_set_a20_handler(f->k, kfix_a20, f);
    i8042_set_reset_handler(f->k, kfix_reset, f);
}

static IXVM_UNUSED void kfix_init(struct kfix *f)
{
    kfix_init_cfg(f, NULL, 0);
}

static IXVM_UNUSED uint8_t kst(struct kfix *f)
{
    return th_inb(&f->h, KBC_CMD);
}

static IXVM_UNUSED void kcmd(struct kfix *f, uint8_t c)
{
    cr_assert_eq(kst(f) & STR_IBF, 0, "IBF set before command %#x", c);
    th_outb(&f->h, KBC_CMD, c);
}

static IXVM_UNUSED void kdata(struct kfix *f, uint8_t v)
{
    cr_assert_eq(kst(f) & STR_IBF, 0, "IBF set before data %#x", v);
    th_outb(&f->h, KBC_DATA, v);
}

/* Read one byte that must be there and come from port `aux` (0/1). */
static IXVM_UNUSED uint8_t kread(struct kfix *f, int aux)
{
    uint8_t st = kst(f);
    cr_assert(st & STR_OBF, "output buffer empty (status %#x)", st);
    cr_assert_eq(!!(st & STR_AUXDATA), aux, "byte from the wrong port (status %#x)", st);
    return th_inb(&f->h, KBC_DATA);
}

static IXVM_UNUSED void kexpect(struct kfix *f, int aux, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t v = kread(f, aux);
        cr_assert_eq(v, b[i], "byte %zu: got %#04x, want %#04x", i, v, b[i]);
    }
}
#define KEXPECT(f, aux, ...)                                                  \
    do {                                                                      \
        static const uint8_t want_[] = { __VA_ARGS__ };                       \
        kexpect((f), (aux), want_, sizeof(want_));                            \
    } while (0)

static IXVM_UNUSED void kexpect_empty(struct kfix *f)
{
    cr_assert_eq(kst(f) & STR_OBF, 0, "unexpected byte (status %#x)", kst(f));
}

/* Drain the output buffer like Linux's i8042_flush; the count. */
static IXVM_UNUSED int kflush(struct kfix *f)
{
    int n = 0;
    while (kst(f) & STR_OBF) {
        cr_assert_lt(n, 16, "flush does not end");
        (void)th_inb(&f->h, KBC_DATA);
        n++;
    }
    return n;
}

/* Linux's __i8042_command: the command word's bits 12-15 are the bytes
 * sent, bits 8-11 the bytes received; AUX_LOOP (0x11d3) requires the
 * reply to carry the AUX bit. */
static IXVM_UNUSED int klinux_cmd(struct kfix *f, uint8_t *param, int command)
{
    int receive = (command >> 8) & 0xf, send = (command >> 12) & 0xf;
    kcmd(f, (uint8_t)command);
    for (int i = 0; i < send; i++)
        kdata(f, param[i]);
    for (int i = 0; i < receive; i++) {
        uint8_t st = kst(f);
        if (!(st & STR_OBF))
            return -1;
        if (command == 0x11d3 && !(st & STR_AUXDATA))
            return -1;
        param[i] = th_inb(&f->h, KBC_DATA);
    }
    return 0;
}

static IXVM_UNUSED uint8_t kread_ctr(struct kfix *f)
{
    uint8_t c = 0;
    cr_assert_eq(klinux_cmd(f, &c, 0x0120), 0);
    return c;
}

static IXVM_UNUSED void kwrite_ctr(struct kfix *f, uint8_t c)
{
    cr_assert_eq(klinux_cmd(f, &c, 0x1060), 0);
}

static IXVM_UNUSED void kkeys(struct kfix *f, const uint8_t *b, size_t n)
{
    cr_assert_eq(ps2_kbd_put_scancodes(f->k, b, n), 0);
}
#define KKEYS(f, ...)                                                         \
    do {                                                                      \
        static const uint8_t keys_[] = { __VA_ARGS__ };                       \
        kkeys((f), keys_, sizeof(keys_));                                     \
    } while (0)

#endif
