/* SPDX-License-Identifier: MIT */
/*
 * Register-level device test harness (STYLE.md 15a, QEMU qtest style): an
 * I/O port table, a manual-mode TM, saved state and info registries, and a
 * device manager; port accessors; a seeded random-access fuzzer; and a
 * saved-state round trip.  No CPU.
 */
#ifndef TEST_DEV_HARNESS_H
#define TEST_DEV_HARNESS_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dev.h"

struct th {
    struct iom *iom;
    struct tm_mgr *tm;
    struct ssm *ssm;
    struct dbgf_info_reg *dbgf;
    struct pdm *pdm;
    struct ixvm_errinfo err;
};

static IXVM_UNUSED void th_init(struct th *h)
{
    memset(h, 0, sizeof(*h));
    cr_assert_eq(iom_create(&h->iom), 0);
    cr_assert_eq(tm_create(NULL, &h->tm), 0);
    cr_assert_eq(ssm_create(&h->ssm), 0);
    cr_assert_eq(dbgf_info_create(&h->dbgf), 0);
    cr_assert_eq(tm_ssm_register(h->tm, h->ssm), 0);
    struct dev_ctx ctx = { .iom = h->iom, .tm = h->tm, .ssm = h->ssm, .dbgf = h->dbgf };
    cr_assert_eq(pdm_create(&ctx, &h->pdm, &h->err), 0, "%s", h->err.msg);
}

static IXVM_UNUSED void th_fini(struct th *h)
{
    if (h->pdm)
        pdm_destroy(h->pdm);
    dbgf_info_destroy(h->dbgf);
    ssm_destroy(h->ssm);
    tm_destroy(h->tm);
    iom_destroy(h->iom);
}

static IXVM_UNUSED struct dev_ins *th_create(struct th *h, const struct dev_reg *reg,
                                             const struct dev_cfg_kv *kv, size_t n)
{
    struct dev_cfg cfg = { kv, n };
    struct dev_ins *ins = NULL;
    int rc = pdm_device_create(h->pdm, reg, &cfg, &ins, &h->err);
    cr_assert_eq(rc, 0, "create %s: %s", reg->name, h->err.msg);
    return ins;
}

static IXVM_UNUSED uint32_t th_in(struct th *h, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    cr_assert_eq(iom_in(h->iom, port, size, &v), 0, "IN %#x", port);
    return v;
}
static IXVM_UNUSED uint8_t th_inb(struct th *h, uint16_t port) { return (uint8_t)th_in(h, port, 1); }
static IXVM_UNUSED void th_out(struct th *h, uint16_t port, uint32_t val, unsigned size)
{
    cr_assert_eq(iom_out(h->iom, port, val, size), 0, "OUT %#x", port);
}
static IXVM_UNUSED void th_outb(struct th *h, uint16_t port, uint8_t val) { th_out(h, port, val, 1); }

static IXVM_UNUSED void th_advance(struct th *h, uint64_t ns)
{
    cr_assert_geq(tm_advance(h->tm, ns), 0);
}

/* An interrupt output recorder: the current level and the rising edges. */
struct th_wire {
    int level;
    int rises;
};

static IXVM_UNUSED void th_wire_set(void *user, unsigned pin, int level)
{
    struct th_wire *w = user;
    (void)pin;
    if (level && !w->level)
        w->rises++;
    w->level = level;
}

/* Connect output idx of ins to w; pin is the number the line reports. */
static IXVM_UNUSED void th_wire_connect(struct dev_ins *ins, unsigned idx, struct th_wire *w, unsigned pin)
{
    struct irq_line l = { th_wire_set, w, pin };
    cr_assert_eq(dev_irq_connect(ins, idx, &l), 0);
}

/* xorshift64*: a seeded, reproducible stream. */
static IXVM_UNUSED uint64_t th_rand(uint64_t *st)
{
    uint64_t x = *st;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *st = x;
    return x * 0x2545f4914f6cdd1dull;
}

/*
 * Random reads and writes of random sizes and values to ports
 * [base, base+count) of each range, with random time steps in between;
 * `extra` (may be NULL) gets a chance to poke the device's other entry
 * points.  The device must neither crash nor trip a sanitizer.
 */
struct th_range {
    uint16_t base, count;
};
static IXVM_UNUSED void th_fuzz(struct th *h, const struct th_range *r, size_t nr, uint64_t seed,
                                unsigned accesses, void (*extra)(struct th *, uint64_t rnd, void *),
                                void *user)
{
    uint64_t st = seed | 1;
    for (unsigned i = 0; i < accesses; i++) {
        uint64_t x = th_rand(&st);
        const struct th_range *rg = &r[x % nr];
        uint16_t port = (uint16_t)(rg->base + (x >> 8) % rg->count);
        unsigned size = 1u << ((x >> 20) % 3);
        uint32_t val = (uint32_t)th_rand(&st);
        uint32_t got;
        switch ((x >> 24) % 8) {
        case 0: case 1: case 2:
            (void)iom_in(h->iom, port, size, &got);
            break;
        case 3:
            if (tm_advance(h->tm, th_rand(&st) % 3000000) < 0)
                cr_assert_fail("advance");
            break;
        case 4:
            if (extra)
                extra(h, th_rand(&st), user);
            break;
        default:
            (void)iom_out(h->iom, port, val, size);
            break;
        }
    }
}

/* Save every unit, run `mutate`, load back.  Returns after the load. */
static IXVM_UNUSED void th_ssm_roundtrip(struct th *h, void (*mutate)(struct th *, void *), void *user)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(ssm_save_mem(h->ssm, 0, &buf, &len, &h->err), 0, "save: %s", h->err.msg);
    mutate(h, user);
    cr_assert_eq(ssm_load_mem(h->ssm, buf, len, 0, &h->err), 0, "load: %s", h->err.msg);
    free(buf);
}

/* A printer into a fixed buffer (info handlers). */
struct th_text {
    char buf[4096];
    size_t len;
};
static IXVM_UNUSED void th_text_print(void *user, const char *text)
{
    struct th_text *t = user;
    size_t n = strlen(text);
    if (n > sizeof(t->buf) - 1 - t->len)
        n = sizeof(t->buf) - 1 - t->len;
    memcpy(t->buf + t->len, text, n);
    t->len += n;
    t->buf[t->len] = 0;
}

#endif
