/* SPDX-License-Identifier: MIT */
/*
 * MC146818 register-level tests on TM's manual clock with a fixed base
 * time: BCD/binary and 12/24 h, the date roll-over, UIP timing, update,
 * alarm and periodic interrupts on IRQ8, register C clearing, SET and the
 * divider reset, NVRAM banks, the NMI mask, CMOS memory fields, saved state
 * and a random-access fuzz.
 */
#define _GNU_SOURCE
#include <time.h>

#include "test_dev_harness.h"

struct rtc_fix {
    struct th h;
    struct dev_ins *rtc;
    struct th_wire irq8;
};

/* 2024-02-29 23:59:58 UTC, a Thursday. */
static uint64_t leap_eve(void)
{
    struct tm t = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 23, .tm_min = 59, .tm_sec = 58 };
    return (uint64_t)timegm(&t);
}

static void fix_init(struct rtc_fix *f)
{
    memset(f, 0, sizeof(*f));
    th_init(&f->h);
    char bt[32];
    snprintf(bt, sizeof(bt), "%llu", (unsigned long long)leap_eve());
    const struct dev_cfg_kv kv[] = { { "base_time", bt } };
    f->rtc = th_create(&f->h, &dev_rtc, kv, 1);
    th_wire_connect(f->rtc, 0, &f->irq8, 8);
}

static uint8_t cmos_rd(struct th *h, uint8_t idx)
{
    th_outb(h, 0x70, idx);
    return th_inb(h, 0x71);
}

static void cmos_wr(struct th *h, uint8_t idx, uint8_t v)
{
    th_outb(h, 0x70, idx);
    th_outb(h, 0x71, v);
}

Test(dev_rtc, bcd_24h_time_and_leap_day_rollover)
{
    struct rtc_fix f;
    fix_init(&f);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x58);
    cr_assert_eq(cmos_rd(&f.h, 2), 0x59);
    cr_assert_eq(cmos_rd(&f.h, 4), 0x23);
    cr_assert_eq(cmos_rd(&f.h, 6), 5, "Thursday");
    cr_assert_eq(cmos_rd(&f.h, 7), 0x29);
    cr_assert_eq(cmos_rd(&f.h, 8), 0x02);
    cr_assert_eq(cmos_rd(&f.h, 9), 0x24);
    cr_assert_eq(cmos_rd(&f.h, 0x32), 0x20);
    th_advance(&f.h, 2 * TM_NS_PER_SEC);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x00);
    cr_assert_eq(cmos_rd(&f.h, 4), 0x00);
    cr_assert_eq(cmos_rd(&f.h, 7), 0x01);
    cr_assert_eq(cmos_rd(&f.h, 8), 0x03, "no Feb 30");
    cr_assert_eq(cmos_rd(&f.h, 6), 6, "Friday");
    cr_assert_eq(cmos_rd(&f.h, 0x0d), 0x80, "VRT");
    th_fini(&f.h);
}

Test(dev_rtc, binary_and_12h_modes)
{
    struct rtc_fix f;
    fix_init(&f);
    cmos_wr(&f.h, 0x0b, 0x04);           /* binary, 12 h */
    th_advance(&f.h, 2 * TM_NS_PER_SEC);  /* 00:00:00 -> 12 AM */
    cr_assert_eq(cmos_rd(&f.h, 4), 12);
    cr_assert_eq(cmos_rd(&f.h, 7), 1);
    cr_assert_eq(cmos_rd(&f.h, 9), 24);
    th_advance(&f.h, 13 * 3600 * TM_NS_PER_SEC);  /* 13:00 -> 1 PM */
    cr_assert_eq(cmos_rd(&f.h, 4), 0x81);
    th_fini(&f.h);
}

Test(dev_rtc, uip_set_just_before_the_update)
{
    struct rtc_fix f;
    fix_init(&f);                         /* updates at 1 s, 2 s, ... */
    th_advance(&f.h, TM_NS_PER_SEC - 300000);
    cr_assert_eq(cmos_rd(&f.h, 0x0a) & 0x80, 0);
    th_advance(&f.h, 100000);
    cr_assert_eq(cmos_rd(&f.h, 0x0a), 0xa6, "UIP within 244 us of the update");
    cr_assert_eq(cmos_rd(&f.h, 0), 0x58, "old second until the update");
    th_advance(&f.h, 200000);
    cr_assert_eq(cmos_rd(&f.h, 0x0a), 0x26);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x59);
    th_fini(&f.h);
}

Test(dev_rtc, update_ended_interrupt_and_register_c)
{
    struct rtc_fix f;
    fix_init(&f);
    cmos_wr(&f.h, 0x0b, 0x12);           /* UIE, 24 h */
    th_advance(&f.h, TM_NS_PER_SEC / 2);
    cr_assert_eq(f.irq8.level, 0);
    th_advance(&f.h, TM_NS_PER_SEC / 2);
    cr_assert_eq(f.irq8.level, 1);
    cr_assert_eq(cmos_rd(&f.h, 0x0c) & 0xb0, 0x90, "IRQF UF (PF runs regardless of PIE)");
    cr_assert_eq(f.irq8.level, 0, "reading C lowers IRQ8");
    cr_assert_eq(cmos_rd(&f.h, 0x0c) & 0xb0, 0x00, "and clears the flags");
    th_advance(&f.h, 3 * TM_NS_PER_SEC);
    cr_assert_eq(f.irq8.rises, 2, "level stays high until C is read");
    th_fini(&f.h);
}

Test(dev_rtc, alarm_interrupt_and_dont_care)
{
    struct rtc_fix f;
    fix_init(&f);
    cmos_wr(&f.h, 1, 0x05);              /* 00:00:05 */
    cmos_wr(&f.h, 3, 0x00);
    cmos_wr(&f.h, 5, 0x00);
    cmos_wr(&f.h, 0x0b, 0x22);           /* AIE */
    th_advance(&f.h, 6 * TM_NS_PER_SEC); /* 00:00:04 */
    cr_assert_eq(f.irq8.level, 0);
    th_advance(&f.h, TM_NS_PER_SEC);
    cr_assert_eq(f.irq8.level, 1);
    cr_assert_eq(cmos_rd(&f.h, 0x0c) & 0xb0, 0xb0, "IRQF AF (UF set too, not enabled)");
    /* Don't-care minutes/hours: every minute at :05. */
    cmos_wr(&f.h, 3, 0xc0);
    cmos_wr(&f.h, 5, 0xff);
    th_advance(&f.h, 60 * TM_NS_PER_SEC);
    cr_assert_eq(f.irq8.rises, 2);
    th_fini(&f.h);
}

Test(dev_rtc, periodic_interrupt_1024hz)
{
    struct rtc_fix f;
    fix_init(&f);
    cmos_wr(&f.h, 0x0a, 0x26);
    cmos_wr(&f.h, 0x0b, 0x42);           /* PIE */
    for (int i = 0; i < 10; i++) {
        th_advance(&f.h, 976563);
        cr_assert_eq(f.irq8.level, 1, "tick %d", i);
        cr_assert_eq(cmos_rd(&f.h, 0x0c) & 0xc0, 0xc0);
        cr_assert_eq(f.irq8.level, 0);
    }
    cr_assert_eq(f.irq8.rises, 10);
    /* PF is set even without PIE; no interrupt. */
    cmos_wr(&f.h, 0x0b, 0x02);
    (void)cmos_rd(&f.h, 0x0c);
    th_advance(&f.h, 2000000);
    cr_assert_eq(f.irq8.level, 0);
    cr_assert_eq(cmos_rd(&f.h, 0x0c), 0x40);
    cmos_wr(&f.h, 0x0a, 0x20);           /* rate 0: none */
    (void)cmos_rd(&f.h, 0x0c);
    th_advance(&f.h, 2000000);
    cr_assert_eq(cmos_rd(&f.h, 0x0c) & 0x40, 0);
    th_fini(&f.h);
}

Test(dev_rtc, set_bit_stops_updates_and_sets_time)
{
    struct rtc_fix f;
    fix_init(&f);
    cmos_wr(&f.h, 0x0b, 0x92);           /* SET with UIE: UIE is cleared */
    cr_assert_eq(cmos_rd(&f.h, 0x0b), 0x82);
    cmos_wr(&f.h, 4, 0x12);
    cmos_wr(&f.h, 2, 0x34);
    cmos_wr(&f.h, 0, 0x56);
    th_advance(&f.h, 5 * TM_NS_PER_SEC);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x56, "frozen while SET");
    cr_assert_eq(cmos_rd(&f.h, 0x0a) & 0x80, 0, "no UIP while SET");
    cmos_wr(&f.h, 0x0b, 0x02);
    th_advance(&f.h, TM_NS_PER_SEC);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x57);
    cr_assert_eq(cmos_rd(&f.h, 4), 0x12);
    cr_assert_eq(cmos_rd(&f.h, 7), 0x29, "date unchanged");
    th_fini(&f.h);
}

Test(dev_rtc, divider_reset_and_500ms_first_update)
{
    struct rtc_fix f;
    fix_init(&f);
    th_advance(&f.h, 1700000000);        /* 23:59:59 */
    cmos_wr(&f.h, 0x0a, 0x76);           /* divider reset */
    th_advance(&f.h, 5 * TM_NS_PER_SEC);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x59);
    cmos_wr(&f.h, 0x0a, 0x26);
    th_advance(&f.h, 490000000);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x59);
    th_advance(&f.h, 20000000);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x00, "first update 500 ms after release");
    th_fini(&f.h);
}

Test(dev_rtc, nvram_banks_and_nmi_mask)
{
    struct rtc_fix f;
    fix_init(&f);
    for (unsigned i = 0x0e; i < 0x80; i++)
        if (i != 0x32)
            cmos_wr(&f.h, (uint8_t)i, (uint8_t)(i * 7));
    for (unsigned i = 0; i < 0x80; i++) {
        th_outb(&f.h, 0x72, (uint8_t)i);
        th_outb(&f.h, 0x73, (uint8_t)(~i));
    }
    for (unsigned i = 0x0e; i < 0x80; i++)
        if (i != 0x32)
            cr_assert_eq(cmos_rd(&f.h, (uint8_t)i), (uint8_t)(i * 7), "index %#x", i);
    th_outb(&f.h, 0x72, 0x40);
    cr_assert_eq(th_inb(&f.h, 0x73), (uint8_t)~0x40);
    cr_assert(!rtc_nmi_disabled(f.rtc));
    th_outb(&f.h, 0x70, 0x8f);
    cr_assert(rtc_nmi_disabled(f.rtc));
    cr_assert_eq(th_inb(&f.h, 0x71), (uint8_t)(0x0f * 7), "bit 7 is not part of the index");
    th_outb(&f.h, 0x70, 0x0f);
    cr_assert(!rtc_nmi_disabled(f.rtc));
    th_fini(&f.h);
}

Test(dev_rtc, memory_size_fields_and_checksum)
{
    struct rtc_fix f;
    fix_init(&f);
    rtc_set_mem_size(f.rtc, 128ull << 20, 1ull << 30);
    cr_assert_eq(cmos_rd(&f.h, 0x15) | cmos_rd(&f.h, 0x16) << 8, 640);
    cr_assert_eq(cmos_rd(&f.h, 0x17) | cmos_rd(&f.h, 0x18) << 8, 0xffff, "clamped");
    cr_assert_eq(cmos_rd(&f.h, 0x34) | cmos_rd(&f.h, 0x35) << 8, (112u << 20) >> 16);
    cr_assert_eq(cmos_rd(&f.h, 0x5b) | cmos_rd(&f.h, 0x5c) << 8 | cmos_rd(&f.h, 0x5d) << 16,
                 (1u << 30) >> 16);
    unsigned sum = 0;
    for (uint8_t i = 0x10; i <= 0x2d; i++)
        sum += cmos_rd(&f.h, i);
    cr_assert_eq(cmos_rd(&f.h, 0x2e) << 8 | cmos_rd(&f.h, 0x2f), sum & 0xffff);
    rtc_set_mem_size(f.rtc, 8ull << 20, 0);
    cr_assert_eq(cmos_rd(&f.h, 0x30) | cmos_rd(&f.h, 0x31) << 8, 7 * 1024);
    const uint8_t boot[] = { 3, 2, 1 };
    rtc_set_boot_order(f.rtc, boot, 3);
    cr_assert_eq(cmos_rd(&f.h, 0x3d), 0x23);
    cr_assert_eq(cmos_rd(&f.h, 0x38) >> 4, 1);
    cr_assert_eq(rtc_cmos_write(f.rtc, 0x5f, 3), 0);
    cr_assert_eq(cmos_rd(&f.h, 0x5f), 3);
    cr_assert_eq(rtc_cmos_write(f.rtc, 0x0c, 3), IXVM_ERR_OUT_OF_RANGE);
    th_fini(&f.h);
}

static void rtc_scramble(struct th *h, void *user)
{
    cmos_wr(h, 0x0b, 0x86);
    cmos_wr(h, 0, 0x11);
    cmos_wr(h, 0x50, 0xaa);
    th_outb(h, 0x70, 0x80);
    th_advance(h, 7 * TM_NS_PER_SEC);
}

Test(dev_rtc, ssm_round_trip)
{
    struct rtc_fix f;
    fix_init(&f);
    cmos_wr(&f.h, 0x50, 0x5a);
    cmos_wr(&f.h, 0x0b, 0x12);           /* UIE */
    th_advance(&f.h, 1500000000);
    th_outb(&f.h, 0x70, 0x0c);
    th_ssm_roundtrip(&f.h, rtc_scramble, &f);
    cr_assert(!rtc_nmi_disabled(f.rtc));
    cr_assert_eq(cmos_rd(&f.h, 0x50), 0x5a);
    cr_assert_eq(cmos_rd(&f.h, 0x0b), 0x12);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x59);
    cr_assert_eq(cmos_rd(&f.h, 0x0c) & 0xb0, 0x90, "pending UF survived");
    th_advance(&f.h, TM_NS_PER_SEC / 2);
    cr_assert_eq(cmos_rd(&f.h, 0), 0x00, "clock continues from the saved instant");
    cr_assert_eq(f.irq8.level, 1, "update timer re-armed");
    th_fini(&f.h);
}

static void rtc_fuzz_extra(struct th *h, uint64_t rnd, void *user)
{
    struct rtc_fix *f = user;
    uint8_t v;
    cr_assert_eq(rtc_cmos_read(f->rtc, (unsigned)(rnd % 256), &v), 0);
}

Test(dev_rtc, fuzz_ports)
{
    struct rtc_fix f;
    fix_init(&f);
    const struct th_range r[] = { { 0x70, 4 } };
    th_fuzz(&f.h, r, 1, 0x146818, 60000, rtc_fuzz_extra, &f);
    cmos_wr(&f.h, 0x0a, 0x26);
    cmos_wr(&f.h, 0x0b, 0x02);
    cmos_wr(&f.h, 0, 0x10);
    th_advance(&f.h, TM_NS_PER_SEC);
    uint8_t s = cmos_rd(&f.h, 0);
    cr_assert(s == 0x11 || s == 0x10, "still counting: %#x", s);
    th_fini(&f.h);
}
