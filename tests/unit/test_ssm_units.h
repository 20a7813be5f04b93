/* SPDX-License-Identifier: MIT */
/*
 * Saved-state test units shared by the SSM tests: a small "world" of units
 * of different kinds (a field-table unit with two versions, two instances
 * of a stream unit, an empty unit and a memory blob), helpers to fill it
 * with seeded data, deep-copy it and compare it, and one-shot fault knobs.
 * The knobs are not state: the comparisons ignore them.
 */
#ifndef TEST_SSM_UNITS_H
#define TEST_SSM_UNITS_H

#include <stdlib.h>
#include <string.h>

#include "ixvm/ssm.h"

/* "cpu": a field table; version 3 added 'extra' (version 2 defaults it). */
struct tcpu {
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    bool e;
    uint8_t regs[16];
    uint32_t extra;
    uint32_t save_version;  /* knob: version whose layout save writes */
};
#define TCPU_EXTRA_DEFAULT 0xdeadu

static const struct ssm_field tcpu_fields_v2[] = {
    SSM_FIELD(U8, struct tcpu, a),  SSM_FIELD(U16, struct tcpu, b),  SSM_FIELD(U32, struct tcpu, c),
    SSM_FIELD(U64, struct tcpu, d), SSM_FIELD(BOOL, struct tcpu, e), SSM_FIELD(MEM, struct tcpu, regs),
    SSM_FIELD_END,
};
static const struct ssm_field tcpu_fields_v3[] = {
    SSM_FIELD(U32, struct tcpu, extra),
    SSM_FIELD_END,
};

/* "pic" (two instances): a stream of puts. */
struct tpic {
    uint8_t regs[8];
    uint16_t mask;
    int fail_loads;         /* knob: fail this many loads midway */
    int short_loads;        /* knob: leave the mask unread this many times */
};

/* "ram": a length-prefixed blob. */
struct tram {
    uint8_t *data;
    size_t len;
};

struct tworld {
    struct tcpu cpu;
    struct tpic pic[2];
    struct tram ram;
};

static IXVM_UNUSED int tcpu_save(void *user, struct ssm_handle *h)
{
    struct tcpu *s = user;
    int rc = ssm_put_fields(h, tcpu_fields_v2, s);
    if (rc == 0 && s->save_version >= 3)
        rc = ssm_put_fields(h, tcpu_fields_v3, s);
    return rc;
}

static IXVM_UNUSED int tcpu_load(void *user, struct ssm_handle *h, uint32_t version)
{
    struct tcpu *s = user;
    int rc = ssm_get_fields(h, tcpu_fields_v2, s);
    if (rc < 0)
        return rc;
    if (version >= 3)
        return ssm_get_fields(h, tcpu_fields_v3, s);
    s->extra = TCPU_EXTRA_DEFAULT;
    return 0;
}

static IXVM_UNUSED int tpic_save(void *user, struct ssm_handle *h)
{
    struct tpic *s = user;
    ssm_put_mem(h, s->regs, sizeof(s->regs));
    return ssm_put_u16(h, s->mask);
}

static IXVM_UNUSED int tpic_load(void *user, struct ssm_handle *h, uint32_t version)
{
    struct tpic *s = user;
    int rc = ssm_get_mem(h, s->regs, sizeof(s->regs));
    if (rc < 0)
        return rc;
    if (s->fail_loads > 0) {
        s->fail_loads--;
        return IXVM_ERR_INJECTED;   /* after regs changed: rollback must undo it */
    }
    if (s->short_loads > 0) {
        s->short_loads--;
        return 0;
    }
    return ssm_get_u16(h, &s->mask);
}

static IXVM_UNUSED int tram_save(void *user, struct ssm_handle *h)
{
    struct tram *s = user;
    ssm_put_u64(h, s->len);
    return ssm_put_mem(h, s->data, s->len);
}

static IXVM_UNUSED int tram_load(void *user, struct ssm_handle *h, uint32_t version)
{
    struct tram *s = user;
    uint64_t n;
    int rc = ssm_get_u64(h, &n);
    if (rc < 0)
        return rc;
    if (n != s->len)
        return IXVM_ERR_FILE_FORMAT;
    return ssm_get_mem(h, s->data, s->len);
}

static IXVM_UNUSED int tempty_save(void *user, struct ssm_handle *h)
{
    return 0;
}

static IXVM_UNUSED int tempty_load(void *user, struct ssm_handle *h, uint32_t version)
{
    return 0;
}

/* xorshift64*: deterministic test data. */
static IXVM_UNUSED uint64_t trand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(0x2545f4914f6cdd1d);
}

/* Fill every unit's state from seed; ram gets ram_len semi-compressible bytes. */
static IXVM_UNUSED void tworld_fill(struct tworld *w, uint64_t seed, size_t ram_len)
{
    uint64_t s = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
    memset(w, 0, sizeof(*w));
    w->cpu.a = (uint8_t)trand(&s);
    w->cpu.b = (uint16_t)trand(&s);
    w->cpu.c = (uint32_t)trand(&s);
    w->cpu.d = trand(&s);
    w->cpu.e = trand(&s) & 1;
    for (size_t i = 0; i < sizeof(w->cpu.regs); i++)
        w->cpu.regs[i] = (uint8_t)trand(&s);
    w->cpu.extra = (uint32_t)trand(&s);
    w->cpu.save_version = 3;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof(w->pic[k].regs); i++)
            w->pic[k].regs[i] = (uint8_t)trand(&s);
        w->pic[k].mask = (uint16_t)trand(&s);
    }
    w->ram.len = ram_len;
    w->ram.data = malloc(ram_len ? ram_len : 1);
    for (size_t i = 0; i < ram_len; i++)
        w->ram.data[i] = (i / 64) % 3 == 0 ? (uint8_t)trand(&s) : (uint8_t)(i * 7 + seed);
}

static IXVM_UNUSED void tworld_free(struct tworld *w)
{
    free(w->ram.data);
    w->ram.data = NULL;
}

static IXVM_UNUSED void tworld_copy(struct tworld *dst, const struct tworld *src)
{
    *dst = *src;
    dst->ram.data = malloc(src->ram.len ? src->ram.len : 1);
    memcpy(dst->ram.data, src->ram.data, src->ram.len);
}

/* Compare state only (not the knobs). */
static IXVM_UNUSED bool tworld_eq(const struct tworld *x, const struct tworld *y)
{
    const struct tcpu *a = &x->cpu, *b = &y->cpu;
    if (a->a != b->a || a->b != b->b || a->c != b->c || a->d != b->d || a->e != b->e || a->extra != b->extra ||
        memcmp(a->regs, b->regs, sizeof(a->regs)) != 0)
        return false;
    for (int k = 0; k < 2; k++)
        if (x->pic[k].mask != y->pic[k].mask || memcmp(x->pic[k].regs, y->pic[k].regs, sizeof(x->pic[k].regs)) != 0)
            return false;
    return x->ram.len == y->ram.len && memcmp(x->ram.data, y->ram.data, x->ram.len) == 0;
}

/* Register the world: cpu (version cpu_ver, min cpu_min), pic 0, empty, ram, pic 1. */
static IXVM_UNUSED int tworld_register_v(struct ssm *ssm, struct tworld *w, uint32_t cpu_ver, uint32_t cpu_min)
{
    const struct ssm_unit_desc descs[] = {
        { "cpu", 0, cpu_ver, cpu_min, tcpu_save, tcpu_load, &w->cpu },
        { "pic", 0, 1, 1, tpic_save, tpic_load, &w->pic[0] },
        { "empty", 0, 1, 1, tempty_save, tempty_load, NULL },
        { "ram", 0, 1, 1, tram_save, tram_load, &w->ram },
        { "pic", 1, 1, 1, tpic_save, tpic_load, &w->pic[1] },
    };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(descs); i++) {
        int rc = ssm_register(ssm, &descs[i]);
        if (rc < 0)
            return rc;
    }
    w->cpu.save_version = cpu_ver;
    return 0;
}

static IXVM_UNUSED int tworld_register(struct ssm *ssm, struct tworld *w)
{
    return tworld_register_v(ssm, w, 3, 2);
}

#endif
