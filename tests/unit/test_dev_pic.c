/* SPDX-License-Identifier: MIT */
/*
 * 8259A register-level tests: the init sequences Linux and SeaBIOS write,
 * edge and level (ELCR) inputs, masking, nesting and rotation, EOI forms,
 * AEOI, special mask and special fully nested modes, poll, cascade and
 * spurious IRQ7/IRQ15, info text, saved state and a random-access fuzz.
 */
#include "test_dev_harness.h"

struct pic_fix {
    struct th h;
    struct dev_ins *pic;
    int out_changes;
    int out_level;
};

static void out_cb(void *user, int level)
{
    struct pic_fix *f = user;
    f->out_changes++;
    f->out_level = level;
}

/* Linux arch/x86/kernel/i8259.c init_8259A(): vectors 0x30/0x38, master
 * cascade on IR2, 8086 mode (auto_eoi adds AEOI). */
static void pic_program(struct th *h, bool aeoi)
{
    th_outb(h, 0x21, 0xff);
    th_outb(h, 0xa1, 0xff);
    th_outb(h, 0x20, 0x11);
    th_outb(h, 0x21, 0x30);
    th_outb(h, 0x21, 0x04);
    th_outb(h, 0x21, aeoi ? 0x03 : 0x01);
    th_outb(h, 0xa0, 0x11);
    th_outb(h, 0xa1, 0x38);
    th_outb(h, 0xa1, 0x02);
    th_outb(h, 0xa1, 0x01);
    th_outb(h, 0x21, 0x00);
    th_outb(h, 0xa1, 0x00);
}

static void fix_init(struct pic_fix *f, bool aeoi)
{
    memset(f, 0, sizeof(*f));
    th_init(&f->h);
    f->pic = th_create(&f->h, &dev_pic, NULL, 0);
    pic_set_output(f->pic, out_cb, f);
    pic_program(&f->h, aeoi);
}

static void pin(struct pic_fix *f, unsigned irq, int level)
{
    irq_set(pic_irq_line(f->pic, irq), level);
}

static uint8_t read_irr(struct th *h, uint16_t cmd)
{
    th_outb(h, cmd, 0x0a);
    return th_inb(h, cmd);
}

static uint8_t read_isr(struct th *h, uint16_t cmd)
{
    th_outb(h, cmd, 0x0b);
    return th_inb(h, cmd);
}

Test(dev_pic, edge_irq_ack_and_eoi)
{
    struct pic_fix f;
    fix_init(&f, false);
    cr_assert_eq(f.out_level, 0);
    pin(&f, 0, 1);
    cr_assert_eq(f.out_level, 1);
    cr_assert_eq(read_irr(&f.h, 0x20), 0x01);
    cr_assert_eq(pic_ack(f.pic), 0x30);
    cr_assert_eq(f.out_level, 0);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x01);
    cr_assert_eq(read_irr(&f.h, 0x20), 0x00, "edge request consumed by INTA");
    /* A line still high does not request again: no new edge. */
    th_outb(&f.h, 0x20, 0x20);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x00);
    cr_assert_eq(f.out_level, 0);
    pin(&f, 0, 0);
    pin(&f, 0, 1);
    cr_assert_eq(f.out_level, 1, "new edge");
    /* irq_pulse (high then low) still latches. */
    cr_assert_eq(pic_ack(f.pic), 0x30);
    th_outb(&f.h, 0x20, 0x20);
    irq_pulse(pic_irq_line(f.pic, 4));
    cr_assert_eq(pic_ack(f.pic), 0x34);
    th_fini(&f.h);
}

Test(dev_pic, imr_masks_and_reads_back)
{
    struct pic_fix f;
    fix_init(&f, false);
    th_outb(&f.h, 0x21, 0x5a);
    th_outb(&f.h, 0xa1, 0xa5);
    cr_assert_eq(th_inb(&f.h, 0x21), 0x5a);
    cr_assert_eq(th_inb(&f.h, 0xa1), 0xa5);
    pin(&f, 1, 1);          /* 0x5a has bit 1 set: masked */
    cr_assert_eq(f.out_level, 0);
    cr_assert_eq(read_irr(&f.h, 0x20), 0x02, "IRR records masked requests");
    th_outb(&f.h, 0x21, 0x00);
    cr_assert_eq(f.out_level, 1, "unmasking delivers");
    cr_assert_eq(pic_ack(f.pic), 0x31);
    th_fini(&f.h);
}

Test(dev_pic, fully_nested_priority)
{
    struct pic_fix f;
    fix_init(&f, false);
    pin(&f, 3, 1);
    cr_assert_eq(pic_ack(f.pic), 0x33);
    pin(&f, 5, 1);
    cr_assert_eq(f.out_level, 0, "lower priority waits for IRQ3's EOI");
    pin(&f, 1, 1);
    cr_assert_eq(f.out_level, 1, "higher priority nests");
    cr_assert_eq(pic_ack(f.pic), 0x31);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x0a);
    th_outb(&f.h, 0x20, 0x20);   /* non-specific EOI clears the highest: IRQ1 */
    cr_assert_eq(read_isr(&f.h, 0x20), 0x08);
    cr_assert_eq(f.out_level, 0);
    th_outb(&f.h, 0x20, 0x63);   /* specific EOI for IRQ3 */
    cr_assert_eq(read_isr(&f.h, 0x20), 0x00);
    cr_assert_eq(f.out_level, 1);
    cr_assert_eq(pic_ack(f.pic), 0x35);
    th_fini(&f.h);
}

Test(dev_pic, rotation_commands)
{
    struct pic_fix f;
    fix_init(&f, false);
    /* Rotate on non-specific EOI: IRQ0 becomes the lowest priority. */
    pin(&f, 0, 1);
    cr_assert_eq(pic_ack(f.pic), 0x30);
    th_outb(&f.h, 0x20, 0xa0);
    pin(&f, 0, 0);
    pin(&f, 0, 1);
    pin(&f, 7, 1);
    cr_assert_eq(pic_ack(f.pic), 0x37, "IRQ7 now beats IRQ0");
    th_outb(&f.h, 0x20, 0x20);
    cr_assert_eq(pic_ack(f.pic), 0x30);
    th_outb(&f.h, 0x20, 0x20);
    /* Set priority: IRQ3 lowest, so IRQ4 highest. */
    th_outb(&f.h, 0x20, 0xc3);
    pin(&f, 1, 1);
    pin(&f, 5, 1);
    cr_assert_eq(pic_ack(f.pic), 0x35);
    th_outb(&f.h, 0x20, 0x20);
    cr_assert_eq(pic_ack(f.pic), 0x31);
    /* Rotate on specific EOI for IRQ1: IRQ2 becomes highest. */
    th_outb(&f.h, 0x20, 0xe1);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x00);
    th_fini(&f.h);
}

Test(dev_pic, auto_eoi_and_rotate_in_aeoi)
{
    struct pic_fix f;
    fix_init(&f, true);
    pin(&f, 2 + 4, 1);
    cr_assert_eq(pic_ack(f.pic), 0x36);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x00, "AEOI leaves nothing in service");
    th_outb(&f.h, 0x20, 0x80);   /* rotate in AEOI mode */
    pin(&f, 1, 1);
    cr_assert_eq(pic_ack(f.pic), 0x31);
    pin(&f, 0, 1);
    pin(&f, 3, 1);
    cr_assert_eq(pic_ack(f.pic), 0x33, "IRQ1 became lowest: 2,3.. then 0");
    th_fini(&f.h);
}

Test(dev_pic, level_triggered_via_elcr_and_cascade)
{
    struct pic_fix f;
    fix_init(&f, false);
    th_outb(&f.h, 0x4d1, 0xff);
    th_outb(&f.h, 0x4d0, 0xff);
    cr_assert_eq(th_inb(&f.h, 0x4d1), 0xde, "IRQ8 and IRQ13 are always edge");
    cr_assert_eq(th_inb(&f.h, 0x4d0), 0xf8, "IRQ0-2 are always edge");
    pin(&f, 10, 1);
    cr_assert_eq(f.out_level, 1);
    cr_assert_eq(pic_ack(f.pic), 0x3a);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x04, "master IR2 in service");
    cr_assert_eq(read_isr(&f.h, 0xa0), 0x04);
    cr_assert_eq(read_irr(&f.h, 0xa0), 0x04, "level request stays while the line is high");
    th_outb(&f.h, 0xa0, 0x20);
    th_outb(&f.h, 0x20, 0x20);
    cr_assert_eq(f.out_level, 1, "still asserted: interrupts again");
    cr_assert_eq(pic_ack(f.pic), 0x3a);
    pin(&f, 10, 0);
    cr_assert_eq(read_irr(&f.h, 0xa0), 0x00, "level request follows the line");
    th_outb(&f.h, 0xa0, 0x20);
    th_outb(&f.h, 0x20, 0x20);
    cr_assert_eq(f.out_level, 0);
    th_fini(&f.h);
}

Test(dev_pic, spurious_irq7_and_irq15)
{
    struct pic_fix f;
    fix_init(&f, false);
    cr_assert_eq(pic_ack(f.pic), 0x37, "nothing pending: IR7");
    cr_assert_eq(read_isr(&f.h, 0x20), 0x00, "spurious IR7 sets no ISR bit");
    th_outb(&f.h, 0x4d1, 0x04);          /* IRQ10 level */
    pin(&f, 10, 1);
    cr_assert_eq(f.out_level, 1);
    /* The slave request goes away between INT and INTA, but the master
     * already latched its IR2 edge. */
    pin(&f, 10, 0);
    cr_assert_eq(pic_ack(f.pic), 0x3f, "spurious IRQ15");
    cr_assert_eq(read_isr(&f.h, 0xa0), 0x00);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x04, "master IR2 in service: needs a master EOI");
    th_outb(&f.h, 0x20, 0x62);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x00);
    th_fini(&f.h);
}

Test(dev_pic, special_mask_mode)
{
    struct pic_fix f;
    fix_init(&f, false);
    pin(&f, 3, 1);
    cr_assert_eq(pic_ack(f.pic), 0x33);
    pin(&f, 5, 1);
    cr_assert_eq(f.out_level, 0);
    th_outb(&f.h, 0x21, 0x08);   /* mask the level being serviced */
    th_outb(&f.h, 0x20, 0x68);   /* set special mask mode */
    cr_assert_eq(f.out_level, 1, "lower priority enabled under SMM");
    cr_assert_eq(pic_ack(f.pic), 0x35);
    th_outb(&f.h, 0x20, 0x48);   /* reset SMM */
    th_outb(&f.h, 0x20, 0x65);
    th_outb(&f.h, 0x20, 0x63);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x00);
    th_fini(&f.h);
}

Test(dev_pic, special_fully_nested_mode)
{
    struct pic_fix f;
    fix_init(&f, false);
    th_outb(&f.h, 0x20, 0x11);
    th_outb(&f.h, 0x21, 0x30);
    th_outb(&f.h, 0x21, 0x04);
    th_outb(&f.h, 0x21, 0x11);   /* 8086 + SFNM */
    pin(&f, 12, 1);
    cr_assert_eq(pic_ack(f.pic), 0x3c);
    pin(&f, 9, 1);             /* higher priority on the same slave */
    cr_assert_eq(f.out_level, 1, "SFNM lets the slave nest through IR2");
    cr_assert_eq(pic_ack(f.pic), 0x39);
    th_fini(&f.h);
}

Test(dev_pic, without_sfnm_slave_cannot_nest)
{
    struct pic_fix f;
    fix_init(&f, false);
    pin(&f, 12, 1);
    cr_assert_eq(pic_ack(f.pic), 0x3c);
    pin(&f, 9, 1);
    cr_assert_eq(f.out_level, 0);
    th_fini(&f.h);
}

Test(dev_pic, poll_command)
{
    struct pic_fix f;
    fix_init(&f, false);
    th_outb(&f.h, 0x20, 0x0c);
    cr_assert_eq(th_inb(&f.h, 0x20), 0x00, "no request: I bit clear");
    pin(&f, 6, 1);
    th_outb(&f.h, 0x20, 0x0c);
    cr_assert_eq(th_inb(&f.h, 0x20), 0x86);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x40, "poll acts as INTA");
    cr_assert_eq(read_irr(&f.h, 0x20), 0x00);
    th_fini(&f.h);
}

Test(dev_pic, icw1_reinit_clears_mask_and_service)
{
    struct pic_fix f;
    fix_init(&f, false);
    th_outb(&f.h, 0x21, 0xf0);
    pin(&f, 1, 1);
    cr_assert_eq(pic_ack(f.pic), 0x31);
    th_outb(&f.h, 0x20, 0x11);
    cr_assert_eq(th_inb(&f.h, 0x21), 0x00);
    th_outb(&f.h, 0x21, 0x08);   /* ICW2: new base */
    th_outb(&f.h, 0x21, 0x04);
    th_outb(&f.h, 0x21, 0x01);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x00);
    pin(&f, 1, 0);
    pin(&f, 1, 1);
    cr_assert_eq(pic_ack(f.pic), 0x09);
    th_fini(&f.h);
}

Test(dev_pic, info_text)
{
    struct pic_fix f;
    fix_init(&f, false);
    th_outb(&f.h, 0x21, 0xfb);
    struct th_text t = { .len = 0 };
    struct ixvm_printer pr = { th_text_print, &t };
    cr_assert_eq(dbgf_info_call(f.h.dbgf, "pic", NULL, &pr), 0);
    cr_assert(strstr(t.buf, "master: irr=00 imr=fb isr=00"), "%s", t.buf);
    cr_assert(strstr(t.buf, "base=38"), "%s", t.buf);
    th_fini(&f.h);
}

static void pic_scramble(struct th *h, void *user)
{
    struct pic_fix *f = user;
    pdm_reset(h->pdm);
    pic_program(h, true);
    pin(f, 7, 1);
}

Test(dev_pic, ssm_round_trip)
{
    struct pic_fix f;
    fix_init(&f, false);
    th_outb(&f.h, 0x4d1, 0x04);
    th_outb(&f.h, 0x21, 0x10);
    th_outb(&f.h, 0x20, 0xc5);   /* priority */
    pin(&f, 3, 1);
    pin(&f, 10, 1);
    cr_assert_eq(pic_ack(f.pic), 0x3a, "IRQ3 (lowest 5: 6,7,0,1,2 first) loses to the cascade");
    pin(&f, 4, 1);
    th_ssm_roundtrip(&f.h, pic_scramble, &f);
    cr_assert_eq(th_inb(&f.h, 0x21), 0x10);
    cr_assert_eq(th_inb(&f.h, 0x4d1), 0x04);
    cr_assert_eq(read_isr(&f.h, 0x20), 0x04);
    cr_assert_eq(read_isr(&f.h, 0xa0), 0x04);
    cr_assert_eq(read_irr(&f.h, 0x20), 0x18, "IRQ3 and IRQ4 wait; IRQ7 came after the save");
    cr_assert_eq(f.out_level, 0, "output re-reported after load: blocked by IR2 in service");
    th_outb(&f.h, 0xa0, 0x20);
    th_outb(&f.h, 0x20, 0x20);
    cr_assert_eq(f.out_level, 1);
    cr_assert_eq(pic_ack(f.pic), 0x3a, "priority survived: cascade (IRQ10 still high) first");
    th_fini(&f.h);
}

static void pic_fuzz_extra(struct th *h, uint64_t rnd, void *user)
{
    struct pic_fix *f = user;
    if (rnd & 1)
        (void)pic_ack(f->pic);
    else
        pin(f, (unsigned)(rnd >> 8) % 16, (int)(rnd >> 16) & 1);
}

Test(dev_pic, fuzz_ports)
{
    struct pic_fix f;
    fix_init(&f, false);
    const struct th_range r[] = { { 0x20, 2 }, { 0xa0, 2 }, { 0x4d0, 2 } };
    th_fuzz(&f.h, r, 3, 0x8259, 60000, pic_fuzz_extra, &f);
    /* Still works afterwards. */
    pdm_reset(f.h.pdm);
    pic_program(&f.h, false);
    for (unsigned i = 0; i < 16; i++)
        pin(&f, i, 0);
    pin(&f, 5, 1);
    cr_assert_eq(pic_ack(f.pic), 0x35);
    th_fini(&f.h);
}
