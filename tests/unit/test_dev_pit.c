/* SPDX-License-Identifier: MIT */
/*
 * 8254 register-level tests on TM's manual clock: the six modes, binary and
 * BCD, LSB/MSB/word access, latch and read-back, IRQ0 edges, channel 2
 * through port 0x61 as Linux's TSC calibration polls it, the refresh
 * toggle, saved state and a random-access fuzz.
 */
#include "test_dev_harness.h"

struct pit_fix {
    struct th h;
    struct dev_ins *pit;
    struct th_wire irq0;
};

static void fix_init(struct pit_fix *f)
{
    memset(f, 0, sizeof(*f));
    th_init(&f->h);
    f->pit = th_create(&f->h, &dev_pit, NULL, 0);
    th_wire_connect(f->pit, 0, &f->irq0, 0);
}

/* ns at which `ticks` PIT clocks have elapsed (independent of the device). */
static uint64_t ns_for(uint64_t ticks)
{
    return (ticks * 1000000000ull + 1193181) / 1193182;
}

static uint16_t read_word(struct th *h, uint16_t port)
{
    uint8_t lo = th_inb(h, port);
    return (uint16_t)(lo | th_inb(h, port) << 8);
}

static uint16_t latch_ch(struct th *h, unsigned ch)
{
    th_outb(h, 0x43, (uint8_t)(ch << 6));
    return read_word(h, (uint16_t)(0x40 + ch));
}

Test(dev_pit, mode2_rate_generator_counts_and_interrupts)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0x34);       /* ch0, word, mode 2, binary (Linux/SeaBIOS) */
    th_outb(&f.h, 0x40, 1193 & 0xff);
    th_outb(&f.h, 0x40, 1193 >> 8);
    cr_assert_eq(f.irq0.level, 1, "mode 2 OUT idles high");
    th_advance(&f.h, 500000);
    uint64_t t = 500000ull * 1193182 / 1000000000;
    cr_assert_eq(latch_ch(&f.h, 0), 1193 - t);
    int r0 = f.irq0.rises;
    th_advance(&f.h, 10 * 1000000 - 500000);
    /* Edges at k * 1193 ticks (0.99983 ms): k = 1..10 are all before 10 ms. */
    cr_assert_eq(f.irq0.rises - r0, 10, "one edge per ~1 ms: got %d", f.irq0.rises - r0);
    cr_assert_eq(f.irq0.level, 1);
    th_fini(&f.h);
}

Test(dev_pit, mode0_interrupt_on_terminal_count)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0x30);
    th_outb(&f.h, 0x40, 0xe8);
    th_outb(&f.h, 0x40, 0x03);       /* 1000 */
    cr_assert_eq(f.irq0.level, 0, "mode 0 OUT low after the count");
    th_advance(&f.h, ns_for(999));
    cr_assert_eq(f.irq0.level, 0);
    cr_assert_eq(latch_ch(&f.h, 0), 1);
    th_advance(&f.h, ns_for(1000) - ns_for(999));
    cr_assert_eq(f.irq0.level, 1);
    cr_assert_eq(f.irq0.rises, 1);
    th_advance(&f.h, ns_for(1010) - ns_for(1000));
    cr_assert_eq(latch_ch(&f.h, 0), 65526, "wraps and keeps counting");
    cr_assert_eq(f.irq0.rises, 1, "only once");
    th_fini(&f.h);
}

Test(dev_pit, mode3_square_wave)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0x36);
    th_outb(&f.h, 0x40, 100);
    th_outb(&f.h, 0x40, 0);
    cr_assert(pit_channel_out(f.pit, 0));
    cr_assert_eq(f.irq0.rises, 1, "the control word raised OUT from its reset level");
    f.irq0.rises = 0;
    th_advance(&f.h, ns_for(49));
    cr_assert(pit_channel_out(f.pit, 0));
    cr_assert_eq(latch_ch(&f.h, 0), 2, "decrements by two");
    th_advance(&f.h, ns_for(50) - ns_for(49));
    cr_assert(!pit_channel_out(f.pit, 0));
    cr_assert_eq(f.irq0.level, 0);
    th_advance(&f.h, ns_for(100) - ns_for(50));
    cr_assert(pit_channel_out(f.pit, 0));
    cr_assert_eq(f.irq0.rises, 1);
    th_advance(&f.h, ns_for(1000) - ns_for(100));
    cr_assert_eq(f.irq0.rises, 10);
    th_fini(&f.h);
}

Test(dev_pit, bcd_counting)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0x31);       /* ch0 word mode 0 BCD */
    th_outb(&f.h, 0x40, 0x00);
    th_outb(&f.h, 0x40, 0x10);       /* 1000 decimal */
    th_advance(&f.h, ns_for(100));
    cr_assert_eq(latch_ch(&f.h, 0), 0x0900);
    th_advance(&f.h, ns_for(1001) - ns_for(100));
    cr_assert_eq(latch_ch(&f.h, 0), 0x9999, "BCD wraps to 9999");
    th_fini(&f.h);
}

Test(dev_pit, lsb_and_msb_only_access)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0x54);       /* ch1, LSB only, mode 2 */
    th_outb(&f.h, 0x41, 0x50);
    th_advance(&f.h, ns_for(0x10));
    cr_assert_eq(th_inb(&f.h, 0x41), 0x40);
    cr_assert_eq(th_inb(&f.h, 0x41), 0x40, "LSB only: every read is the LSB");
    th_outb(&f.h, 0x43, 0x64);       /* ch1, MSB only, mode 2 */
    th_outb(&f.h, 0x41, 0x02);       /* N = 0x200 */
    th_advance(&f.h, ns_for(0x110));
    cr_assert_eq(th_inb(&f.h, 0x41), 0x00, "0x200 - 0x110 = 0xf0: MSB 0");
    th_fini(&f.h);
}

Test(dev_pit, latch_holds_value_until_read)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0x34);
    th_outb(&f.h, 0x40, 0x00);
    th_outb(&f.h, 0x40, 0x80);       /* 0x8000 */
    th_advance(&f.h, ns_for(0x100));
    th_outb(&f.h, 0x43, 0x00);
    th_advance(&f.h, ns_for(0x300) - ns_for(0x100));
    th_outb(&f.h, 0x43, 0x00);       /* second latch ignored */
    cr_assert_eq(read_word(&f.h, 0x40), 0x7f00);
    cr_assert_eq(read_word(&f.h, 0x40), 0x7d00, "live again after the latch was read");
    th_fini(&f.h);
}

Test(dev_pit, read_back_status_and_count)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0xb0);       /* ch2 word mode 0 */
    th_outb(&f.h, 0x43, 0xe8);       /* read-back ch2, status + count */
    cr_assert_eq(th_inb(&f.h, 0x42), 0x70, "OUT 0, null count, rw 3, mode 0: %#x", 0x70);
    th_outb(&f.h, 0x61, 0x01);       /* gate 2 on */
    th_outb(&f.h, 0x42, 0x34);
    th_outb(&f.h, 0x42, 0x12);
    th_advance(&f.h, ns_for(0x10));
    th_outb(&f.h, 0x43, 0xc8);       /* count + status of ch2 */
    uint8_t st = th_inb(&f.h, 0x42);
    cr_assert_eq(st, 0x30, "status first, count loaded: %#x", st);
    cr_assert_eq(read_word(&f.h, 0x42), 0x1224);
    th_outb(&f.h, 0x43, 0xe8);       /* status only */
    cr_assert_eq(th_inb(&f.h, 0x42), 0x30);
    th_fini(&f.h);
}

/* Linux pit_calibrate_tsc / pit_hpet_ptimer_calibrate_cpu: mode 0 on ch2,
 * poll port 0x61 bit 5. */
Test(dev_pit, channel2_gate_and_out_through_port61)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x61, (th_inb(&f.h, 0x61) & ~0x02) | 0x01);
    th_outb(&f.h, 0x43, 0xb0);
    th_outb(&f.h, 0x42, 11932 & 0xff);
    th_outb(&f.h, 0x42, 11932 >> 8);
    cr_assert_eq(th_inb(&f.h, 0x61) & 0x20, 0);
    th_advance(&f.h, ns_for(11931));
    cr_assert_eq(th_inb(&f.h, 0x61) & 0x20, 0);
    th_advance(&f.h, ns_for(11932) - ns_for(11931));
    cr_assert_eq(th_inb(&f.h, 0x61) & 0x20, 0x20, "OUT2 after ~10 ms");
    cr_assert_eq(th_inb(&f.h, 0x61) & 0x03, 0x01);
    /* Gate low suspends mode 0. */
    th_outb(&f.h, 0x43, 0xb0);
    th_outb(&f.h, 0x42, 0x00);
    th_outb(&f.h, 0x42, 0x10);
    th_advance(&f.h, ns_for(0x100));
    th_outb(&f.h, 0x61, 0x00);
    uint16_t a = latch_ch(&f.h, 2);
    th_advance(&f.h, 1000000);
    cr_assert_eq(latch_ch(&f.h, 2), a, "frozen while the gate is low");
    th_outb(&f.h, 0x61, 0x01);
    th_advance(&f.h, ns_for(0x10));
    cr_assert_lt(latch_ch(&f.h, 2), a);
    cr_assert_eq(f.irq0.rises, 0, "channel 2 is not IRQ0");
    th_fini(&f.h);
}

Test(dev_pit, refresh_toggle_bit4)
{
    struct pit_fix f;
    fix_init(&f);
    int toggles = 0;
    uint8_t last = th_inb(&f.h, 0x61) & 0x10;
    for (int i = 0; i < 100; i++) {
        th_advance(&f.h, 7000);
        uint8_t b = th_inb(&f.h, 0x61) & 0x10;
        toggles += b != last;
        last = b;
    }
    cr_assert(toggles >= 40 && toggles <= 50, "toggles every ~15 us: %d in 700 us", toggles);
    th_fini(&f.h);
}

Test(dev_pit, mode1_one_shot_on_gate_trigger)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0xb2);       /* ch2 mode 1 */
    th_outb(&f.h, 0x42, 100);
    th_outb(&f.h, 0x42, 0);
    th_advance(&f.h, 1000000);
    cr_assert(pit_channel_out(f.pit, 2), "no trigger yet: OUT high");
    th_outb(&f.h, 0x61, 0x01);       /* rising gate */
    cr_assert(!pit_channel_out(f.pit, 2));
    th_advance(&f.h, ns_for(100));
    cr_assert(pit_channel_out(f.pit, 2));
    th_fini(&f.h);
}

Test(dev_pit, mode4_and_mode5_strobes)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0x38);       /* ch0 mode 4 */
    th_outb(&f.h, 0x40, 50);
    th_outb(&f.h, 0x40, 0);
    f.irq0.rises = 0;
    th_advance(&f.h, ns_for(50));
    cr_assert(!pit_channel_out(f.pit, 0), "strobe low at terminal count");
    th_advance(&f.h, ns_for(51) - ns_for(50));
    cr_assert(pit_channel_out(f.pit, 0));
    cr_assert_eq(f.irq0.rises, 1);
    th_outb(&f.h, 0x43, 0xba);       /* ch2 mode 5 */
    th_outb(&f.h, 0x42, 20);
    th_outb(&f.h, 0x42, 0);
    th_advance(&f.h, ns_for(40));
    cr_assert(pit_channel_out(f.pit, 2), "untriggered");
    th_outb(&f.h, 0x61, 0x01);
    th_advance(&f.h, ns_for(20));
    cr_assert(!pit_channel_out(f.pit, 2));
    th_fini(&f.h);
}

static void pit_scramble(struct th *h, void *user)
{
    th_outb(h, 0x43, 0x30);
    th_outb(h, 0x40, 5);
    th_outb(h, 0x40, 0);
    th_outb(h, 0x61, 0x00);
    th_advance(h, 123456);
}

Test(dev_pit, ssm_round_trip)
{
    struct pit_fix f;
    fix_init(&f);
    th_outb(&f.h, 0x43, 0x34);
    th_outb(&f.h, 0x40, 0xa9);
    th_outb(&f.h, 0x40, 0x04);
    th_outb(&f.h, 0x61, 0x03);
    th_outb(&f.h, 0x43, 0xb6);
    th_outb(&f.h, 0x42, 0x00);
    th_outb(&f.h, 0x42, 0x02);
    th_advance(&f.h, 2500000);
    uint64_t now = tm_virtual_now(f.h.tm);
    uint16_t c0 = latch_ch(&f.h, 0), c2 = latch_ch(&f.h, 2);
    th_ssm_roundtrip(&f.h, pit_scramble, &f);
    cr_assert_eq(tm_virtual_now(f.h.tm), now, "clock restored");
    cr_assert_eq(latch_ch(&f.h, 0), c0);
    cr_assert_eq(latch_ch(&f.h, 2), c2);
    cr_assert_eq(th_inb(&f.h, 0x61) & 0x0f, 0x03);
    int r = f.irq0.rises;
    th_advance(&f.h, 5000000);
    cr_assert_eq(f.irq0.rises - r, 5, "periodic IRQ0 continues after load");
    th_fini(&f.h);
}

Test(dev_pit, fuzz_ports)
{
    struct pit_fix f;
    fix_init(&f);
    const struct th_range r[] = { { 0x40, 4 }, { 0x61, 1 } };
    th_fuzz(&f.h, r, 2, 0x8254, 60000, NULL, NULL);
    th_outb(&f.h, 0x43, 0x30);
    th_outb(&f.h, 0x40, 10);
    th_outb(&f.h, 0x40, 0);
    th_advance(&f.h, ns_for(10));
    cr_assert(pit_channel_out(f.pit, 0), "still counts after the fuzz");
    th_fini(&f.h);
}
