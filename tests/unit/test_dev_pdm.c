/* SPDX-License-Identifier: MIT */
/*
 * Device-framework tests: instance naming and limits, config parsing
 * errors, reset in creation order and destroy in reverse, the instance lock
 * held around port, MMIO and timer callbacks, failed init undoing its
 * registrations, and the info handler wrapper.
 */
#include "test_dev_harness.h"

static char order[64];

struct toy {
    struct dev_ins *ins;
    uint32_t val;
    int tag;
    bool lock_held;
};

static void *probe_thread(void *arg)
{
    struct toy *t = arg;
    int rc = pthread_mutex_trylock(&t->ins->lock);
    if (!rc)
        pthread_mutex_unlock(&t->ins->lock);
    return (void *)(intptr_t)rc;
}

/* True when some thread (the caller) holds the lock: another thread cannot take it. */
static bool locked_elsewhere(struct toy *t)
{
    pthread_t th;
    void *ret;
    pthread_create(&th, NULL, probe_thread, t);
    pthread_join(th, &ret);
    return ret != NULL;
}

static int toy_pread(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct toy *t = dev;
    t->lock_held = locked_elsewhere(t);
    *val = t->val + off;
    return 0;
}

static int toy_pwrite(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    ((struct toy *)dev)->val = val;
    return 0;
}

static int toy_mread(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    struct toy *t = dev;
    t->lock_held = locked_elsewhere(t);
    *val = t->val ^ off;
    return 0;
}

static int toy_mwrite(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    ((struct toy *)dev)->val = (uint32_t)val;
    return 0;
}

static const struct iom_port_ops toy_pops = { toy_pread, toy_pwrite, 0 };
static const struct pgm_mmio_ops toy_mops = { toy_mread, toy_mwrite, 0 };

static void toy_timer(void *user)
{
    struct toy *t = user;
    t->lock_held = locked_elsewhere(t);
    t->val = 0x7173;
}

static int toy_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                    struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "port", "mmio", "tag", "fail", NULL };
    struct toy *t = ins->state;
    uint64_t port, mmio, tag;
    bool fail;
    t->ins = ins;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "port", 0x300, 0, 0xfff0, &port, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "mmio", 0, 0, 0xfffff000, &mmio, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "tag", 0, 0, 9, &tag, err);
    if (rc >= 0)
        rc = dev_cfg_get_bool(ins, cfg, "fail", false, &fail, err);
    if (rc < 0)
        return rc;
    t->tag = (int)tag;
    rc = dev_map_ports(ins, (uint16_t)port, 4, &toy_pops, "toy", err);
    if (rc >= 0 && mmio)
        rc = dev_map_mmio(ins, mmio, 4096, &toy_mops, "toy", err);
    struct tm_timer *tt;
    if (rc >= 0)
        rc = dev_timer_create(ins, toy_timer, "t", &tt, err);
    if (rc >= 0)
        tm_timer_arm_ns(tt, 1000);
    if (rc >= 0 && fail)
        rc = ixvm_errinfo_set(err, IXVM_ERR_GENERAL, "toy: asked to fail");
    return rc;
}

static void toy_reset(void *state)
{
    size_t n = strlen(order);
    order[n] = (char)('a' + ((struct toy *)state)->tag);
    order[n + 1] = 0;
}

static void toy_destroy(void *state)
{
    size_t n = strlen(order);
    order[n] = (char)('A' + ((struct toy *)state)->tag);
    order[n + 1] = 0;
}

static void toy_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    ixvm_pr(pr, "toy val=%u args=%s", ((struct toy *)state)->val, args ? args : "-");
}

static const struct ssm_field toy_fields[] = { SSM_FIELD(U32, struct toy, val), SSM_FIELD_END };

static const struct dev_reg dev_toy = {
    .name = "toy", .desc = "test device", .state_size = sizeof(struct toy), .max_instances = 3,
    .init = toy_init, .reset = toy_reset, .destroy = toy_destroy,
    .ssm_fields = toy_fields, .ssm_version = 1, .info = toy_info,
};

Test(dev_pdm, naming_order_and_limits)
{
    struct th h;
    th_init(&h);
    order[0] = 0;
    const char *ports[] = { "0x300", "0x310", "0x320" };
    struct dev_ins *ins[3];
    for (int i = 0; i < 3; i++) {
        char tag[2] = { (char)('0' + i), 0 };
        const struct dev_cfg_kv kv[] = { { "port", ports[i] }, { "tag", tag } };
        ins[i] = th_create(&h, &dev_toy, kv, 2);
    }
    cr_assert_str_eq(ins[0]->name, "toy");
    cr_assert_str_eq(ins[2]->name, "toy2");
    cr_assert_eq(pdm_find(h.pdm, "toy", 1), ins[1]);
    const struct dev_cfg_kv kv4[] = { { "port", "0x330" } };
    struct dev_cfg cfg = { kv4, 1 };
    struct dev_ins *x;
    cr_assert_eq(pdm_device_create(h.pdm, &dev_toy, &cfg, &x, &h.err), IXVM_ERR_ALREADY_EXISTS);
    pdm_reset(h.pdm);
    cr_assert_str_eq(order, "abc");
    order[0] = 0;
    pdm_destroy(h.pdm);
    h.pdm = NULL;
    cr_assert_str_eq(order, "CBA", "reverse creation order");
    cr_assert_eq(th_inb(&h, 0x300), 0xff, "ports unmapped");
    th_fini(&h);
}

Test(dev_pdm, config_errors_name_the_key)
{
    struct th h;
    th_init(&h);
    struct dev_ins *x;
    const struct dev_cfg_kv a[] = { { "port", "12abc" } };
    struct dev_cfg cfg = { a, 1 };
    cr_assert_eq(pdm_device_create(h.pdm, &dev_toy, &cfg, &x, &h.err), IXVM_ERR_WRONG_TYPE);
    cr_assert(strstr(h.err.msg, "port") && strstr(h.err.msg, "12abc"), "%s", h.err.msg);
    const struct dev_cfg_kv b[] = { { "tag", "10" } };
    cfg.kv = b;
    cr_assert_eq(pdm_device_create(h.pdm, &dev_toy, &cfg, &x, &h.err), IXVM_ERR_OUT_OF_RANGE);
    const struct dev_cfg_kv c[] = { { "fail", "maybe" } };
    cfg.kv = c;
    cr_assert_eq(pdm_device_create(h.pdm, &dev_toy, &cfg, &x, &h.err), IXVM_ERR_WRONG_TYPE);
    const struct dev_cfg_kv d[] = { { "fail", "yes" } };
    cfg.kv = d;
    order[0] = 0;
    cr_assert_eq(pdm_device_create(h.pdm, &dev_toy, &cfg, &x, &h.err), IXVM_ERR_GENERAL);
    cr_assert_str_eq(order, "A", "destroy ran for the failed init");
    cr_assert_eq(th_inb(&h, 0x300), 0xff, "its ports were unmapped");
    cr_assert_eq(tm_next_deadline(h.tm), TM_DEADLINE_NONE, "its timer was destroyed");
    /* The name is free again: a good instance gets number 0. */
    struct dev_ins *ok = th_create(&h, &dev_toy, NULL, 0);
    cr_assert_str_eq(ok->name, "toy");
    th_fini(&h);
}

Test(dev_pdm, lock_held_around_port_mmio_timer_and_info)
{
    struct th h;
    th_init(&h);
    struct pgm *pgm;
    cr_assert_eq(pgm_create(&pgm, 1 << 20, &h.err), 0, "%s", h.err.msg);
    pdm_destroy(h.pdm);
    struct dev_ctx ctx = { .iom = h.iom, .tm = h.tm, .pgm = pgm, .ssm = h.ssm, .dbgf = h.dbgf };
    cr_assert_eq(pdm_create(&ctx, &h.pdm, &h.err), 0);
    const struct dev_cfg_kv kv[] = { { "mmio", "0xfee00000" } };
    struct dev_ins *ins = th_create(&h, &dev_toy, kv, 1);
    struct toy *t = ins->state;
    th_out(&h, 0x300, 0x1234, 2);
    cr_assert_eq(th_in(&h, 0x302, 2), 0x1236);
    cr_assert(t->lock_held, "port callback under the instance lock");
    t->lock_held = false;
    cr_assert_eq(pgm_mmio_read(pgm, 0xfee00010, 4), 0x1234 ^ 0x10);
    cr_assert(t->lock_held, "MMIO callback under the instance lock");
    pgm_mmio_write(pgm, 0xfee00000, 55, 4);
    cr_assert_eq(t->val, 55);
    t->lock_held = false;
    th_advance(&h, 1000);
    cr_assert_eq(t->val, 0x7173);
    cr_assert(t->lock_held, "timer callback under the instance lock");
    struct th_text txt = { .len = 0 };
    struct ixvm_printer pr = { th_text_print, &txt };
    cr_assert_eq(dbgf_info_call(h.dbgf, "toy", "x", &pr), 0);
    cr_assert_str_eq(txt.buf, "toy val=29043 args=x");
    pdm_destroy(h.pdm);
    h.pdm = NULL;
    cr_assert_eq(pgm_mmio_read(pgm, 0xfee00010, 4), 0xffffffffu, "MMIO unmapped at destroy");
    pgm_destroy(pgm);
    th_fini(&h);
}
