/* SPDX-License-Identifier: MIT */
/*
 * Concurrency stress (run under TSan by `make test-tsan`): a libuv loop
 * thread runs TM in real time, firing the PIT's and RTC's timers, which
 * drive wires into the PIC; two "EMT" threads meanwhile do port I/O on all
 * three devices, acknowledge interrupts and re-arm a raw TM timer, and a
 * reader checks that tm_virtual_now() never goes backwards while another
 * thread pauses and resumes the clock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test_dev_harness.h"

struct stress {
    struct th h;
    uv_loop_t loop;
    struct dev_ins *pic, *pit, *rtc;
    struct tm_timer *raw;
    _Atomic int raw_fired;
    _Atomic int int_edges;
    _Atomic bool stop;
    _Atomic bool backwards;
    pthread_mutex_t raw_lock;
};

static void pic_out(void *user, int level)
{
    struct stress *s = user;
    if (level)
        s->int_edges++;
}

static void raw_cb(void *user)
{
    struct stress *s = user;
    s->raw_fired++;
}

static void *emt_thread(void *arg)
{
    struct stress *s = arg;
    uint64_t st = (uint64_t)(uintptr_t)&st | 1;
    while (!s->stop) {
        uint64_t x = th_rand(&st);
        uint32_t v;
        switch (x % 6) {
        case 0: (void)iom_in(s->h.iom, 0x40, 1, &v); break;
        case 1: (void)iom_out(s->h.iom, 0x43, 0x00, 1); break;   /* latch ch0 */
        case 2: (void)iom_out(s->h.iom, 0x70, 0x0c, 1); (void)iom_in(s->h.iom, 0x71, 1, &v); break;
        case 3: (void)pic_ack(s->pic); (void)iom_out(s->h.iom, 0x20, 0x20, 1); (void)iom_out(s->h.iom, 0xa0, 0x20, 1); break;
        case 4:
            pthread_mutex_lock(&s->raw_lock);
            tm_timer_arm_rel_ns(s->raw, (x >> 8) % 200000);
            pthread_mutex_unlock(&s->raw_lock);
            break;
        default:
            pthread_mutex_lock(&s->raw_lock);
            if (x & 0x100)
                tm_timer_stop(s->raw);
            pthread_mutex_unlock(&s->raw_lock);
            break;
        }
    }
    return NULL;
}

static void *clock_reader(void *arg)
{
    struct stress *s = arg;
    uint64_t last = 0;
    while (!s->stop) {
        uint64_t now = tm_virtual_now(s->h.tm);
        if (now < last)
            s->backwards = true;
        last = now;
    }
    return NULL;
}

static void *pauser(void *arg)
{
    struct stress *s = arg;
    while (!s->stop) {
        tm_pause(s->h.tm);
        usleep(200);
        tm_resume(s->h.tm);
        usleep(2000);
    }
    return NULL;
}

static void stop_cb(uv_timer_t *t)
{
    struct stress *s = t->data;
    s->stop = true;
    uv_stop(t->loop);
}

Test(dev_stress, loop_timers_vs_emt_port_io, .timeout = 60)
{
    static struct stress s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.raw_lock, NULL);
    cr_assert_eq(uv_loop_init(&s.loop), 0);
    /* The harness, but with a loop-driven TM. */
    cr_assert_eq(iom_create(&s.h.iom), 0);
    cr_assert_eq(tm_create(&s.loop, &s.h.tm), 0);
    cr_assert_eq(tm_set_manual(s.h.tm, false), 0);
    struct dev_ctx ctx = { .iom = s.h.iom, .tm = s.h.tm };
    cr_assert_eq(pdm_create(&ctx, &s.h.pdm, &s.h.err), 0);
    s.pic = th_create(&s.h, &dev_pic, NULL, 0);
    struct irq_line lines[16];
    for (unsigned i = 0; i < 16; i++) {
        lines[i] = *pic_irq_line(s.pic, i);
    }
    pdm_set_isa_irqs(s.h.pdm, lines, 16);
    pic_set_output(s.pic, pic_out, &s);
    s.pit = th_create(&s.h, &dev_pit, NULL, 0);
    s.rtc = th_create(&s.h, &dev_rtc, NULL, 0);
    cr_assert_eq(tm_timer_create(s.h.tm, raw_cb, &s, &s.raw_lock, "raw", &s.raw), 0);
    /* Program: PIC as Linux, PIT 10 kHz, RTC 8 kHz periodic. */
    const uint8_t prog[][2] = {
        { 0x20, 0x11 }, { 0x21, 0x30 }, { 0x21, 0x04 }, { 0x21, 0x01 },
        { 0xa0, 0x11 }, { 0xa1, 0x38 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
        { 0x21, 0x00 }, { 0xa1, 0x00 },
        { 0x43, 0x34 }, { 0x40, 119 }, { 0x40, 0 },
        { 0x70, 0x0a }, { 0x71, 0x23 }, { 0x70, 0x0b }, { 0x71, 0x42 },
    };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(prog); i++)
        th_outb(&s.h, prog[i][0], prog[i][1]);
    tm_resume(s.h.tm);
    pthread_t th[4];
    cr_assert_eq(pthread_create(&th[0], NULL, emt_thread, &s), 0);
    cr_assert_eq(pthread_create(&th[1], NULL, emt_thread, &s), 0);
    cr_assert_eq(pthread_create(&th[2], NULL, clock_reader, &s), 0);
    cr_assert_eq(pthread_create(&th[3], NULL, pauser, &s), 0);
    uv_timer_t stopper;
    uv_timer_init(&s.loop, &stopper);
    stopper.data = &s;
    uv_timer_start(&stopper, stop_cb, 400, 0);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cr_assert(!s.backwards, "virtual clock went backwards");
    cr_assert_gt(s.int_edges, 10, "interrupts were delivered: %d", s.int_edges);
    cr_assert_gt(s.raw_fired, 0);
    uv_close((uv_handle_t *)&stopper, NULL);
    tm_timer_destroy(s.raw);
    pdm_destroy(s.h.pdm);
    tm_destroy(s.h.tm);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&s.loop), 0);
    iom_destroy(s.h.iom);
    pthread_mutex_destroy(&s.raw_lock);
}
