/* SPDX-License-Identifier: MIT */
/*
 * Concurrency stress (TSan via `make test-tsan`): an input thread (the
 * frontend on the loop) feeds key events and mouse motion while an "EMT"
 * thread runs a guest-like driver loop on ports 0x60/0x64 (status poll,
 * data read, keyboard and mouse commands).  Every key byte sent must come
 * out exactly once and in order: with the queue paced on
 * ps2_kbd_pending(), no overrun may happen.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test_dev_i8042.h"

#define STRESS_KEYS 4000

struct stress {
    struct kfix f;
    _Atomic bool stop;
    _Atomic int sent;
    _Atomic int got;
    int bad;            /* [emt thread] */
};

static void *input_thread(void *arg)
{
    struct stress *s = arg;
    for (int i = 0; i < STRESS_KEYS; i++) {
        while (ps2_kbd_pending(s->f.k) > 8 && !s->stop)
            sched_yield();
        uint8_t code = (uint8_t)(1 + i % 0x7f);
        if (ps2_kbd_put_scancodes(s->f.k, &code, 1) < 0)
            break;
        s->sent++;
        if (ps2_mouse_event(s->f.k, i % 7 - 3, i % 5 - 2, 0, (uint8_t)(i & 1)) < 0)
            break;
    }
    return NULL;
}

static void *emt_thread(void *arg)
{
    struct stress *s = arg;
    struct iom *iom = s->f.h.iom;
    unsigned n = 0;
    while (!s->stop) {
        uint32_t st = 0, v = 0;
        (void)iom_in(iom, KBC_CMD, 1, &st);
        if (st & STR_OBF) {
            (void)iom_in(iom, KBC_DATA, 1, &v);
            if (!(st & STR_AUXDATA) && v != 0xfa && v != 0xee) {
                if (v != (uint32_t)(1 + s->got % 0x7f))
                    s->bad++;
                s->got++;
            }
        }
        if (++n % 997 == 0)
            (void)iom_out(iom, KBC_DATA, 0xee, 1);       /* keyboard echo */
        if (n % 1499 == 0) {
            (void)iom_out(iom, KBC_CMD, 0xd4, 1);        /* mouse status */
            (void)iom_out(iom, KBC_DATA, 0xe9, 1);
        }
        if (s->got >= STRESS_KEYS)
            break;
    }
    return NULL;
}

Test(dev_ps2_stress, input_vs_port_io, .timeout = 60)
{
    struct stress *s = calloc(1, sizeof(*s));
    cr_assert_not_null(s);
    kfix_init(&s->f);
    /* Untranslated set 2 so bytes 1..0x7f come out as sent; aux enabled. */
    kwrite_ctr(&s->f, CTR_KBDINT | CTR_AUXINT);
    th_outb(&s->f.h, KBC_CMD, 0xd4);
    th_outb(&s->f.h, KBC_DATA, 0xf4);
    pthread_t in, emt;
    cr_assert_eq(pthread_create(&emt, NULL, emt_thread, s), 0);
    cr_assert_eq(pthread_create(&in, NULL, input_thread, s), 0);
    pthread_join(in, NULL);
    for (int i = 0; i < 20000 && s->got < STRESS_KEYS; i++)
        usleep(100);
    s->stop = true;
    pthread_join(emt, NULL);
    cr_assert_eq(s->sent, STRESS_KEYS);
    cr_assert_eq(s->got, STRESS_KEYS, "got %d of %d key bytes", s->got, STRESS_KEYS);
    cr_assert_eq(s->bad, 0, "%d bytes out of order", s->bad);
    th_fini(&s->f.h);
    free(s);
}
