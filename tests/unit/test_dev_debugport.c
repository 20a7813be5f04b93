/* SPDX-License-Identifier: MIT */
/*
 * Debug-port tests: 0xE9 readback and lossless byte sink, 0x402 firmware
 * output, POST code, isa-debug-exit status computation for every access
 * width, disabling ports by config, saved state and a random-access fuzz.
 */
#include "test_dev_harness.h"

struct dp_fix {
    struct th h;
    struct dev_ins *dp;
    uint8_t e9[1024], fw[1024];
    size_t e9_len, fw_len;
    int exits;
    int status;
};

static void sink_e9(void *user, const uint8_t *buf, size_t len)
{
    struct dp_fix *f = user;
    for (size_t i = 0; i < len && f->e9_len < sizeof(f->e9); i++)
        f->e9[f->e9_len++] = buf[i];
}

static void sink_fw(void *user, const uint8_t *buf, size_t len)
{
    struct dp_fix *f = user;
    for (size_t i = 0; i < len && f->fw_len < sizeof(f->fw); i++)
        f->fw[f->fw_len++] = buf[i];
}

static void on_exit_req(void *user, int status)
{
    struct dp_fix *f = user;
    f->exits++;
    f->status = status;
}

static void fix_init(struct dp_fix *f, const struct dev_cfg_kv *kv, size_t n)
{
    memset(f, 0, sizeof(*f));
    th_init(&f->h);
    f->dp = th_create(&f->h, &dev_debugport, kv, n);
    debugport_set_sink(f->dp, DEBUGPORT_SINK_E9, sink_e9, f);
    debugport_set_sink(f->dp, DEBUGPORT_SINK_FW, sink_fw, f);
    debugport_set_exit(f->dp, on_exit_req, f);
}

Test(dev_debugport, e9_readback_and_lossless_sink)
{
    struct dp_fix f;
    fix_init(&f, NULL, 0);
    cr_assert_eq(th_inb(&f.h, 0xe9), 0xe9);
    for (unsigned i = 0; i < 256; i++)
        th_outb(&f.h, 0xe9, (uint8_t)i);
    cr_assert_eq(f.e9_len, 256);
    for (unsigned i = 0; i < 256; i++)
        cr_assert_eq(f.e9[i], i);
    cr_assert_eq(f.fw_len, 0);
    th_fini(&f.h);
}

Test(dev_debugport, firmware_port_402)
{
    struct dp_fix f;
    fix_init(&f, NULL, 0);
    const char *msg = "SeaBIOS (version 1.16)\nNo partial line lost";
    for (const char *p = msg; *p; p++)
        th_outb(&f.h, 0x402, (uint8_t)*p);
    cr_assert_eq(f.fw_len, strlen(msg));
    cr_assert_eq(memcmp(f.fw, msg, f.fw_len), 0);
    cr_assert_eq(th_inb(&f.h, 0x402), 0xe9);
    for (int i = 0; i < 1000; i++)       /* longer than the line buffer */
        th_outb(&f.h, 0x402, 'x');
    cr_assert_eq(f.e9_len, 0);
    th_fini(&f.h);
}

Test(dev_debugport, post_code)
{
    struct dp_fix f;
    fix_init(&f, NULL, 0);
    th_outb(&f.h, 0x80, 0x55);
    cr_assert_eq(debugport_post_code(f.dp), 0x55);
    cr_assert_eq(th_inb(&f.h, 0x80), 0x55);
    th_fini(&f.h);
}

Test(dev_debugport, debug_exit_status)
{
    struct dp_fix f;
    fix_init(&f, NULL, 0);
    th_out(&f.h, 0xf4, 0x10, 4);
    cr_assert_eq(f.exits, 1);
    cr_assert_eq(f.status, 0x21);
    th_out(&f.h, 0xf4, 0x00, 1);
    cr_assert_eq(f.status, 1, "value 0: status 1");
    th_out(&f.h, 0xf4, 0x1234, 2);
    cr_assert_eq(f.status, 0x2469);
    th_out(&f.h, 0xf6, 0x7f, 1);
    cr_assert_eq(f.status, 0xff);
    cr_assert_eq(f.exits, 4);
    th_fini(&f.h);
}

Test(dev_debugport, ports_can_be_disabled_and_moved)
{
    struct dp_fix f;
    const struct dev_cfg_kv kv[] = { { "e9", "off" }, { "post", "0x84" }, { "exit", "0x501" } };
    fix_init(&f, kv, 3);
    cr_assert_eq(th_inb(&f.h, 0xe9), 0xff, "unassigned");
    th_outb(&f.h, 0xe9, 'a');
    cr_assert_eq(f.e9_len, 0);
    th_outb(&f.h, 0x84, 0x12);
    cr_assert_eq(debugport_post_code(f.dp), 0x12);
    th_out(&f.h, 0x501, 3, 1);
    cr_assert_eq(f.status, 7);
    const struct dev_cfg_kv bad[] = { { "exit", "0xfffe" } };
    struct th h2;
    th_init(&h2);
    struct dev_cfg cfg = { bad, 1 };
    struct dev_ins *x;
    cr_assert_eq(pdm_device_create(h2.pdm, &dev_debugport, &cfg, &x, &h2.err), IXVM_ERR_OUT_OF_RANGE);
    cr_assert(strstr(h2.err.msg, "exit"), "%s", h2.err.msg);
    th_fini(&h2);
    th_fini(&f.h);
}

static void dp_scramble(struct th *h, void *user)
{
    th_outb(h, 0x80, 0x00);
}

Test(dev_debugport, ssm_round_trip)
{
    struct dp_fix f;
    fix_init(&f, NULL, 0);
    th_outb(&f.h, 0x80, 0xaa);
    th_ssm_roundtrip(&f.h, dp_scramble, &f);
    cr_assert_eq(debugport_post_code(f.dp), 0xaa);
    th_fini(&f.h);
}

Test(dev_debugport, fuzz_ports)
{
    struct dp_fix f;
    fix_init(&f, NULL, 0);
    const struct th_range r[] = { { 0xe9, 1 }, { 0x402, 1 }, { 0x80, 1 }, { 0xf4, 4 } };
    th_fuzz(&f.h, r, 4, 0xe9, 40000, NULL, NULL);
    cr_assert_gt(f.exits, 0);
    cr_assert_eq(f.status & 1, 1, "status is always odd");
    th_fini(&f.h);
}
