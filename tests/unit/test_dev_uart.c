/* SPDX-License-Identifier: MIT */
/*
 * 16550A register-level tests: divisor latch, scratch, transmit to the
 * backend, THRE/RDI/timeout/line-status/modem-status interrupts and their
 * IIR priority, FIFO trigger levels, flow control of uart_receive, loopback
 * (as Linux's 8250 probe uses it), OUT2 gating, two instances, saved state
 * and a random-access fuzz.
 */
#include "test_dev_harness.h"

struct uart_fix {
    struct th h;
    struct dev_ins *u;
    struct th_wire irq;
    uint8_t out[256];
    size_t out_len;
    int rx_ready;
};

static void be_write(void *user, const uint8_t *buf, size_t len)
{
    struct uart_fix *f = user;
    for (size_t i = 0; i < len && f->out_len < sizeof(f->out); i++)
        f->out[f->out_len++] = buf[i];
}

static void be_rx_ready(void *user)
{
    ((struct uart_fix *)user)->rx_ready++;
}

static void fix_init(struct uart_fix *f)
{
    memset(f, 0, sizeof(*f));
    th_init(&f->h);
    f->u = th_create(&f->h, &dev_uart, NULL, 0);
    th_wire_connect(f->u, 0, &f->irq, 4);
    struct uart_backend be = { be_write, be_rx_ready, f };
    uart_set_backend(f->u, &be);
}

#define COM1 0x3f8

Test(dev_uart, divisor_latch_and_scratch)
{
    struct uart_fix f;
    fix_init(&f);
    th_outb(&f.h, COM1 + 7, 0x5a);
    cr_assert_eq(th_inb(&f.h, COM1 + 7), 0x5a);
    th_outb(&f.h, COM1 + 3, 0x80);
    th_outb(&f.h, COM1 + 0, 0x01);
    th_outb(&f.h, COM1 + 1, 0x02);
    th_outb(&f.h, COM1 + 3, 0x03);
    cr_assert_eq(th_inb(&f.h, COM1 + 3), 0x03);
    cr_assert_eq(th_inb(&f.h, COM1 + 1), 0x00, "IER, not DLM");
    th_outb(&f.h, COM1 + 3, 0x83);
    cr_assert_eq(th_inb(&f.h, COM1 + 0), 0x01);
    cr_assert_eq(th_inb(&f.h, COM1 + 1), 0x02);
    th_outb(&f.h, COM1 + 3, 0x03);
    cr_assert_eq(th_inb(&f.h, COM1 + 5), 0x60, "THRE|TEMT, no data");
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0x01, "no interrupt, FIFOs off");
    th_fini(&f.h);
}

Test(dev_uart, transmit_and_thre_interrupt)
{
    struct uart_fix f;
    fix_init(&f);
    const char *msg = "Linux version";
    for (const char *p = msg; *p; p++)
        th_outb(&f.h, COM1, (uint8_t)*p);
    cr_assert_eq(f.out_len, strlen(msg));
    cr_assert_eq(memcmp(f.out, msg, f.out_len), 0);
    cr_assert_eq(f.irq.level, 0, "IER 0");
    th_outb(&f.h, COM1 + 4, 0x08);       /* OUT2 */
    th_outb(&f.h, COM1 + 1, 0x02);       /* ETBEI with THR empty: interrupt at once */
    cr_assert_eq(f.irq.level, 1);
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0x02);
    cr_assert_eq(f.irq.level, 0, "IIR read cleared the THRE source");
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0x01);
    th_outb(&f.h, COM1, 'x');
    cr_assert_eq(f.irq.level, 1, "THR empties again after each byte");
    th_fini(&f.h);
}

Test(dev_uart, out2_gates_the_irq)
{
    struct uart_fix f;
    fix_init(&f);
    th_outb(&f.h, COM1 + 1, 0x02);
    cr_assert_eq(th_inb(&f.h, COM1 + 2) & 0x0f, 0x02, "pending internally");
    th_outb(&f.h, COM1 + 1, 0x00);
    th_outb(&f.h, COM1 + 1, 0x02);
    cr_assert_eq(f.irq.level, 0, "OUT2 clear: the ISA line stays low");
    th_outb(&f.h, COM1 + 4, 0x08);
    cr_assert_eq(f.irq.level, 1);
    th_fini(&f.h);
}

Test(dev_uart, fifo_trigger_level_and_receive_order)
{
    struct uart_fix f;
    fix_init(&f);
    th_outb(&f.h, COM1 + 2, 0x47);       /* FIFO on, clear, trigger 4 */
    th_outb(&f.h, COM1 + 4, 0x08);
    th_outb(&f.h, COM1 + 1, 0x01);
    cr_assert_eq(uart_receive(f.u, (const uint8_t *)"abc", 3), 3);
    cr_assert_eq(f.irq.level, 0, "below the trigger level");
    cr_assert_eq(th_inb(&f.h, COM1 + 5) & 0x01, 0x01);
    cr_assert_eq(uart_receive(f.u, (const uint8_t *)"d", 1), 1);
    cr_assert_eq(f.irq.level, 1);
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0xc4, "RDI with FIFO bits");
    char got[5] = { 0 };
    for (int i = 0; i < 4; i++)
        got[i] = (char)th_inb(&f.h, COM1);
    cr_assert_str_eq(got, "abcd");
    cr_assert_eq(f.irq.level, 0);
    cr_assert_eq(th_inb(&f.h, COM1 + 5) & 0x01, 0);
    th_fini(&f.h);
}

Test(dev_uart, character_timeout_interrupt)
{
    struct uart_fix f;
    fix_init(&f);
    th_outb(&f.h, COM1 + 3, 0x80);
    th_outb(&f.h, COM1 + 0, 0x01);       /* 115200 baud */
    th_outb(&f.h, COM1 + 1, 0x00);
    th_outb(&f.h, COM1 + 3, 0x03);       /* 8N1: 10 bits, ~87 us per char */
    th_outb(&f.h, COM1 + 2, 0x81);       /* trigger 8 */
    th_outb(&f.h, COM1 + 4, 0x08);
    th_outb(&f.h, COM1 + 1, 0x01);
    cr_assert_eq(uart_receive(f.u, (const uint8_t *)"hi", 2), 2);
    th_advance(&f.h, 300000);
    cr_assert_eq(f.irq.level, 0, "before four character times (347 us)");
    th_advance(&f.h, 60000);
    cr_assert_eq(f.irq.level, 1);
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0xcc, "character timeout");
    cr_assert_eq(th_inb(&f.h, COM1), 'h');
    cr_assert_eq(f.irq.level, 0, "reading RBR clears the timeout");
    th_advance(&f.h, 400000);
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0xcc, "again for the byte left");
    cr_assert_eq(th_inb(&f.h, COM1), 'i');
    th_fini(&f.h);
}

Test(dev_uart, receive_flow_control)
{
    struct uart_fix f;
    fix_init(&f);
    uint8_t buf[20];
    for (int i = 0; i < 20; i++)
        buf[i] = (uint8_t)('A' + i);
    cr_assert_eq(uart_receive(f.u, buf, 20), 1, "16450 mode holds one byte");
    th_outb(&f.h, COM1 + 2, 0x01);       /* enabling the FIFO clears it */
    cr_assert_eq(uart_receive(f.u, buf, 20), 16);
    cr_assert_eq(f.rx_ready, 0);
    cr_assert_eq(th_inb(&f.h, COM1), 'A');
    cr_assert_eq(f.rx_ready, 1, "room again: backend told");
    cr_assert_eq(uart_receive(f.u, buf + 16, 4), 1);
    cr_assert_eq(th_inb(&f.h, COM1 + 5) & 0x02, 0, "flow control, not overrun");
    th_fini(&f.h);
}

/* Linux serial8250 autoconfig: loopback with RTS|OUT2 reads CTS|DCD. */
Test(dev_uart, loopback_mode)
{
    struct uart_fix f;
    fix_init(&f);
    th_outb(&f.h, COM1 + 4, 0x1a);
    cr_assert_eq(th_inb(&f.h, COM1 + 6) & 0xf0, 0x90);
    th_outb(&f.h, COM1 + 4, 0x1f);
    cr_assert_eq(th_inb(&f.h, COM1 + 6), 0xf2, "all lines up, DSR delta (DTR raised)");
    cr_assert_eq(th_inb(&f.h, COM1 + 6), 0xf0, "deltas clear on read");
    th_outb(&f.h, COM1, 0x55);
    cr_assert_eq(f.out_len, 0, "nothing leaves in loopback");
    cr_assert_eq(th_inb(&f.h, COM1 + 5) & 0x01, 0x01);
    cr_assert_eq(th_inb(&f.h, COM1), 0x55);
    cr_assert_eq(uart_receive(f.u, (const uint8_t *)"z", 1), 0, "input disconnected");
    /* Overrun in 16450 mode, reported as a line-status interrupt. */
    th_outb(&f.h, COM1 + 1, 0x05);
    th_outb(&f.h, COM1, 1);
    th_outb(&f.h, COM1, 2);
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0x06, "line status beats received data");
    cr_assert_eq(th_inb(&f.h, COM1 + 5) & 0x03, 0x03, "OE and DR");
    cr_assert_eq(th_inb(&f.h, COM1 + 5) & 0x02, 0, "OE clears on read");
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0x04);
    cr_assert_eq(th_inb(&f.h, COM1), 1);
    th_outb(&f.h, COM1 + 4, 0x0b);
    th_outb(&f.h, COM1, 'q');
    cr_assert_eq(f.out_len, 1);
    th_fini(&f.h);
}

Test(dev_uart, modem_status_interrupt_from_backend)
{
    struct uart_fix f;
    fix_init(&f);
    (void)th_inb(&f.h, COM1 + 6);
    th_outb(&f.h, COM1 + 4, 0x08);
    th_outb(&f.h, COM1 + 1, 0x08);
    cr_assert_eq(f.irq.level, 0);
    uart_set_modem_inputs(f.u, 0xf0);    /* RI rises */
    cr_assert_eq(f.irq.level, 0, "RI leading edge sets no delta");
    uart_set_modem_inputs(f.u, 0x30);    /* RI trailing edge, DCD drops */
    cr_assert_eq(f.irq.level, 1);
    cr_assert_eq(th_inb(&f.h, COM1 + 2), 0x00);
    cr_assert_eq(th_inb(&f.h, COM1 + 6), 0x3c);
    cr_assert_eq(f.irq.level, 0);
    th_fini(&f.h);
}

Test(dev_uart, two_instances)
{
    struct uart_fix f;
    fix_init(&f);
    const struct dev_cfg_kv kv[] = { { "base", "0x2f8" }, { "irq", "3" } };
    struct dev_ins *com2 = th_create(&f.h, &dev_uart, kv, 2);
    cr_assert_str_eq(com2->name, "uart1");
    th_outb(&f.h, 0x2ff, 0x11);
    th_outb(&f.h, COM1 + 7, 0x22);
    cr_assert_eq(th_inb(&f.h, 0x2ff), 0x11);
    cr_assert_eq(th_inb(&f.h, COM1 + 7), 0x22);
    const struct dev_cfg_kv bad[] = { { "bsae", "1" } };
    struct dev_cfg cfg = { bad, 1 };
    struct dev_ins *x;
    cr_assert_eq(pdm_device_create(f.h.pdm, &dev_uart, &cfg, &x, &f.h.err), IXVM_ERR_UNKNOWN_KEY);
    cr_assert(strstr(f.h.err.msg, "bsae"), "%s", f.h.err.msg);
    const struct dev_cfg_kv clash[] = { { "base", "0x3f8" } };
    cfg.kv = clash;
    cr_assert_lt(pdm_device_create(f.h.pdm, &dev_uart, &cfg, &x, &f.h.err), 0, "port clash refused");
    cr_assert_eq(th_inb(&f.h, COM1 + 7), 0x22, "COM1 untouched by the failed create");
    th_fini(&f.h);
}

static void uart_scramble(struct th *h, void *user)
{
    pdm_reset(h->pdm);
    th_outb(h, COM1 + 7, 0);
}

Test(dev_uart, ssm_round_trip)
{
    struct uart_fix f;
    fix_init(&f);
    th_outb(&f.h, COM1 + 3, 0x83);
    th_outb(&f.h, COM1, 0x03);
    th_outb(&f.h, COM1 + 3, 0x1b);
    th_outb(&f.h, COM1 + 2, 0xc1);
    th_outb(&f.h, COM1 + 4, 0x0b);
    th_outb(&f.h, COM1 + 1, 0x05);
    th_outb(&f.h, COM1 + 7, 0x77);
    cr_assert_eq(uart_receive(f.u, (const uint8_t *)"saved", 5), 5);
    th_ssm_roundtrip(&f.h, uart_scramble, &f);
    cr_assert_eq(th_inb(&f.h, COM1 + 7), 0x77);
    cr_assert_eq(th_inb(&f.h, COM1 + 3), 0x1b);
    cr_assert_eq(th_inb(&f.h, COM1 + 4), 0x0b);
    cr_assert_eq(th_inb(&f.h, COM1 + 1), 0x05);
    char got[6] = { 0 };
    for (int i = 0; i < 5; i++)
        got[i] = (char)th_inb(&f.h, COM1);
    cr_assert_str_eq(got, "saved");
    th_outb(&f.h, COM1 + 3, 0x9b);
    cr_assert_eq(th_inb(&f.h, COM1), 0x03);
    th_fini(&f.h);
}

static void uart_fuzz_extra(struct th *h, uint64_t rnd, void *user)
{
    struct uart_fix *f = user;
    uint8_t b[8];
    memcpy(b, &rnd, sizeof(b));
    size_t n = uart_receive(f->u, b, rnd % 9);
    cr_assert_leq(n, 8);
    if (rnd & 0x100000)
        uart_set_modem_inputs(f->u, (uint8_t)(rnd >> 24));
}

Test(dev_uart, fuzz_ports)
{
    struct uart_fix f;
    fix_init(&f);
    const struct th_range r[] = { { COM1, 8 } };
    th_fuzz(&f.h, r, 1, 0x16550, 60000, uart_fuzz_extra, &f);
    th_outb(&f.h, COM1 + 4, 0x00);
    th_outb(&f.h, COM1 + 3, 0x03);
    size_t before = f.out_len;
    th_outb(&f.h, COM1, '!');
    cr_assert_eq(f.out_len, before + (before < sizeof(f.out)));
    th_fini(&f.h);
}
