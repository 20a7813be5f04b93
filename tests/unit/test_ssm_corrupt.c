/* SPDX-License-Identifier: MIT */
/*
 * The corruption test: a valid saved state of a few KB is truncated at
 * every length, has every single bit flipped, gets thousands of seeded
 * random 1-3 bit flips, and is replaced by random garbage (with and without
 * a valid header in front).  Every damaged image must be refused with a
 * negative status and a message, nothing may crash or read out of bounds
 * (run it under ASan+UBSan), and after each refusal every unit's state must
 * be exactly what it was.  The whole file is covered by CRC32s (CRC-32 has
 * Hamming distance >= 4 far beyond these sizes), so no flip may pass.
 *
 * A last group re-seals every checksum after mutating bytes, so the deeper
 * checks (lengths, LZ4 streams, unit callbacks fed hostile data) are
 * reached; there a load may succeed, but a refusal must still leave the
 * state untouched.
 */
#include <criterion/criterion.h>
#include <lz4.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "unit/test_ssm_units.h"

#define DIGEST   UINT64_C(0x00c0ffee00c0ffee)
#define RAM_LEN  4000u

struct fixture {
    struct ssm *ssm;
    struct tworld w;        /* registered, seed 2 */
    struct tworld before;   /* its untouched copy */
    uint8_t *image;         /* valid image of a seed-1 world */
    size_t len;
    struct ixvm_errinfo err;
    unsigned refused_by[32]; /* outcome histogram, by -status */
};

static void fixture_init(struct fixture *f)
{
    struct ssm *saver;
    struct tworld src;
    memset(f, 0, sizeof(*f));
    cr_assert_eq(ssm_create(&saver), 0);
    tworld_fill(&src, 1, RAM_LEN);
    cr_assert_eq(tworld_register(saver, &src), 0);
    cr_assert_eq(ssm_save_mem(saver, DIGEST, &f->image, &f->len, &f->err), 0, "%s", f->err.msg);
    ssm_destroy(saver);
    tworld_free(&src);
    cr_assert(f->len >= 1024 && f->len <= 8192, "image of %zu bytes is not 'a few KB'", f->len);

    cr_assert_eq(ssm_create(&f->ssm), 0);
    tworld_fill(&f->w, 2, RAM_LEN);
    cr_assert_eq(tworld_register(f->ssm, &f->w), 0);
    tworld_copy(&f->before, &f->w);
    /* The valid image loads and changes the state, so "unchanged" means something. */
    cr_assert_eq(ssm_load_mem(f->ssm, f->image, f->len, DIGEST, &f->err), 0, "%s", f->err.msg);
    cr_assert_not(tworld_eq(&f->w, &f->before));
    cr_assert_eq(ssm_load_mem(f->ssm, f->image, f->len, DIGEST + 1, &f->err), IXVM_ERR_CONFIG_MISMATCH);
    /* Put the seed-2 state back in place through the units' own pointers. */
    f->w.cpu = f->before.cpu;
    memcpy(f->w.pic, f->before.pic, sizeof(f->w.pic));
    memcpy(f->w.ram.data, f->before.ram.data, RAM_LEN);
    cr_assert(tworld_eq(&f->w, &f->before));
}

static void fixture_fini(struct fixture *f)
{
    cr_log_info("outcomes by status:");
    for (unsigned i = 0; i < IXVM_ARRAY_SIZE(f->refused_by); i++)
        if (f->refused_by[i])
            cr_log_info("  %-28s %u", ixvm_status_name(-(int)i) ? ixvm_status_name(-(int)i) : "OK", f->refused_by[i]);
    ssm_destroy(f->ssm);
    tworld_free(&f->w);
    tworld_free(&f->before);
    free(f->image);
}

/* The loader must refuse buf with a message and leave the state alone. */
static void must_refuse(struct fixture *f, const uint8_t *buf, size_t len, const char *what, size_t arg)
{
    f->err.rc = 0;
    f->err.msg[0] = '\0';
    int rc = ssm_load_mem(f->ssm, buf, len, DIGEST, &f->err);
    cr_assert_lt(rc, 0, "%s %zu: damaged image accepted", what, arg);
    cr_assert_eq(f->err.rc, rc, "%s %zu: errinfo rc %d, returned %d", what, arg, f->err.rc, rc);
    cr_assert_neq(f->err.msg[0], '\0', "%s %zu: no message", what, arg);
    cr_assert(tworld_eq(&f->w, &f->before), "%s %zu: state changed by refused load (%s)", what, arg, f->err.msg);
    if ((unsigned)-rc < IXVM_ARRAY_SIZE(f->refused_by))
        f->refused_by[-rc]++;
}

Test(ssm_corrupt, every_truncation)
{
    struct fixture f;
    fixture_init(&f);
    /* Copy into an exact-size buffer each time so ASan sees the real end. */
    for (size_t n = 0; n < f.len; n++) {
        uint8_t *b = malloc(n ? n : 1);
        memcpy(b, f.image, n);
        must_refuse(&f, n ? b : NULL, n, "truncated to", n);
        free(b);
    }
    fixture_fini(&f);
}

Test(ssm_corrupt, every_single_bit_flip)
{
    struct fixture f;
    fixture_init(&f);
    uint8_t *b = malloc(f.len);
    memcpy(b, f.image, f.len);
    for (size_t bit = 0; bit < f.len * 8; bit++) {
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        must_refuse(&f, b, f.len, "flipped bit", bit);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    free(b);
    fixture_fini(&f);
}

Test(ssm_corrupt, random_multi_bit_flips)
{
    struct fixture f;
    fixture_init(&f);
    uint8_t *b = malloc(f.len);
    uint64_t s = 0x5eed0001;
    for (size_t iter = 0; iter < 8000; iter++) {
        memcpy(b, f.image, f.len);
        unsigned nflips = 1 + (unsigned)(trand(&s) % 3);
        size_t bits[3];
        for (unsigned k = 0; k < nflips; k++) {
            /* Distinct bits, so two flips never cancel out. */
            bool dup;
            do {
                bits[k] = (size_t)(trand(&s) % (f.len * 8));
                dup = false;
                for (unsigned j = 0; j < k; j++)
                    dup |= bits[j] == bits[k];
            } while (dup);
            b[bits[k] / 8] ^= (uint8_t)(1u << (bits[k] % 8));
        }
        must_refuse(&f, b, f.len, "random flip iteration", iter);
    }
    free(b);
    fixture_fini(&f);
}

static void wr_le32(uint8_t *p, uint32_t v);
static uint32_t crc(const uint8_t *p, size_t n);

/*
 * Garbage of random length in four flavours: pure noise; our magic then
 * noise; a valid sealed header (right version, digest, a small unit count)
 * then noise; and a random-length prefix of the valid image then noise.
 */
static void garbage_fill(const struct fixture *f, uint8_t *b, size_t n, unsigned flavour, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)trand(s);
    if (flavour == 1 && n >= 8) {
        memcpy(b, "IXVMSSM", 8);
    } else if (flavour == 2 && n >= 36) {
        memcpy(b, f->image, 24);
        uint64_t count = trand(s) % 7;
        for (unsigned i = 0; i < 8; i++)
            b[24 + i] = (uint8_t)(count >> (8 * i));
        wr_le32(b + 32, crc(b, 32));
    } else if (flavour == 3) {
        size_t keep = (size_t)(trand(s) % (f->len + 1));
        memcpy(b, f->image, keep < n ? keep : n);
    }
}

Test(ssm_corrupt, random_garbage)
{
    struct fixture f;
    fixture_init(&f);
    uint64_t s = 0x6a7ba6e;
    for (size_t iter = 0; iter < 4000; iter++) {
        size_t n = (size_t)(trand(&s) % (2 * f.len + 1));
        uint8_t *b = malloc(n ? n : 1);
        garbage_fill(&f, b, n, (unsigned)(iter % 4), &s);
        must_refuse(&f, n ? b : NULL, n, "garbage iteration", iter);
        free(b);
    }
    fixture_fini(&f);
}

/* ---------------------------------------------------------------------- */
/* Re-sealed mutations: fix every checksum after damaging the image.      */

static uint64_t rd_le(const uint8_t *p, unsigned w)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void wr_le32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(0, p, (uInt)n);
}

/* Recompute the header, record and file CRCs as far as the structure can
 * be followed, the way a hostile writer would. */
static void reseal(uint8_t *b, size_t len)
{
    if (len < 36)
        return;
    wr_le32(b + 32, crc(b, 32));
    size_t pos = 36;
    uint64_t count = rd_le(b + 24, 8);
    for (uint64_t i = 0; i < count && i < 64; i++) {
        if (len - pos < 6)
            return;
        size_t nl = (size_t)rd_le(b + pos + 4, 2);
        size_t hl = 38 + nl;
        if (nl < 1 || nl > 63 || len - pos < hl)
            return;
        const uint8_t *q = b + pos + 6 + nl;
        uint64_t raw_len = rd_le(q + 8, 8), comp_len = rd_le(q + 16, 8);
        if (comp_len > len - pos - hl)
            return;
        if (raw_len > 0 && raw_len <= (1u << 20)) {
            char *raw = malloc((size_t)raw_len);
            int n = LZ4_decompress_safe((const char *)b + pos + hl, raw, (int)comp_len, (int)raw_len);
            if (n >= 0 && (uint64_t)n == raw_len)
                wr_le32(b + pos + hl - 8, crc((const uint8_t *)raw, (size_t)raw_len));
            free(raw);
        }
        wr_le32(b + pos + hl - 4, crc(b + pos, hl - 4));
        pos += hl + (size_t)comp_len;
    }
    if (len - pos >= 16)
        wr_le32(b + pos + 12, crc(b, pos + 12));
}

Test(ssm_corrupt, resealed_mutations_reach_deep_checks)
{
    struct fixture f;
    fixture_init(&f);
    uint8_t *b = malloc(f.len);
    uint64_t s = 0xdeeb;
    unsigned loaded = 0;
    for (size_t iter = 0; iter < 4000; iter++) {
        memcpy(b, f.image, f.len);
        unsigned nmut = 1 + (unsigned)(trand(&s) % 4);
        for (unsigned k = 0; k < nmut; k++) {
            size_t off = 36 + (size_t)(trand(&s) % (f.len - 36 - 16));
            b[off] = iter % 3 ? (uint8_t)(b[off] ^ (1u << (trand(&s) % 8))) : (uint8_t)trand(&s);
        }
        reseal(b, f.len);
        f.err.msg[0] = '\0';
        int rc = ssm_load_mem(f.ssm, b, f.len, DIGEST, &f.err);
        if (rc < 0) {
            cr_assert_eq(f.err.rc, rc);
            cr_assert_neq(f.err.msg[0], '\0');
            cr_assert(tworld_eq(&f.w, &f.before), "iteration %zu: refused load changed state (%s)", iter, f.err.msg);
            if ((unsigned)-rc < IXVM_ARRAY_SIZE(f.refused_by))
                f.refused_by[-rc]++;
            continue;
        }
        /* Accepted: well-formed data that differs only inside unit payloads.
         * Restore the reference state for the next round. */
        loaded++;
        f.refused_by[0]++;
        f.w.cpu = f.before.cpu;
        memcpy(f.w.pic, f.before.pic, sizeof(f.w.pic));
        memcpy(f.w.ram.data, f.before.ram.data, RAM_LEN);
    }
    cr_log_info("resealed mutations: %u of 4000 loaded", loaded);
    free(b);
    fixture_fini(&f);
}

/* ---------------------------------------------------------------------- */
/* Hostile but correctly sealed headers: each length rule, one by one.    */

static void wr_le(uint8_t *p, uint64_t v, unsigned w)
{
    for (unsigned i = 0; i < w; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* File offset of the record of unit (name, instance); fails the test if absent. */
static size_t find_record(const uint8_t *b, size_t len, const char *name, uint32_t instance)
{
    size_t pos = 36;
    while (len - pos > 16) {
        size_t nl = (size_t)rd_le(b + pos + 4, 2);
        const uint8_t *q = b + pos + 6 + nl;
        if (nl == strlen(name) && memcmp(b + pos + 6, name, nl) == 0 && rd_le(q, 4) == instance)
            return pos;
        pos += 38 + nl + (size_t)rd_le(q + 16, 8);
    }
    cr_assert_fail("record %s/%u not found", name, instance);
    return 0;
}

/* Field offsets inside a record header whose name is nl bytes long. */
#define REC_INSTANCE(nl) (6 + (nl))
#define REC_RAW_LEN(nl)  (6 + (nl) + 8)
#define REC_COMP_LEN(nl) (6 + (nl) + 16)

struct hostile {
    const char *what;
    unsigned field;         /* 0 raw len, 1 comp len, 2 name len, 3 instance, 4 unit count */
    int64_t value;          /* absolute, or relative to the current value when rel */
    bool rel;
    int rc;
    const char *msg;
};

static const struct hostile hostile_cases[] = {
    { "raw over 1 GiB", 0, INT64_C(1) << 31, false, IXVM_ERR_FILE_FORMAT, "implausible lengths" },
    { "raw 2^63", 0, INT64_MIN, false, IXVM_ERR_FILE_FORMAT, "implausible lengths" },
    { "raw > 255x comp", 1, 1, false, IXVM_ERR_FILE_FORMAT, "implausible lengths" },
    { "comp 0", 1, 0, false, IXVM_ERR_FILE_FORMAT, "implausible lengths" },
    { "comp over bound", 1, INT64_C(1) << 20, false, IXVM_ERR_FILE_FORMAT, "implausible lengths" },
    { "comp 2^64-1", 1, -1, false, IXVM_ERR_FILE_FORMAT, "implausible lengths" },
    { "raw 0, comp not", 0, 0, false, IXVM_ERR_FILE_FORMAT, "implausible lengths" },
    { "raw one short", 0, -1, true, IXVM_ERR_FILE_FORMAT, "does not decompress" },
    { "raw one long", 0, 1, true, IXVM_ERR_FILE_FORMAT, "does not decompress" },
    { "comp one short", 1, -1, true, IXVM_ERR_FILE_FORMAT, "" },
    { "name length 0", 2, 0, false, IXVM_ERR_FILE_FORMAT, "bad name length" },
    { "name length 64", 2, 64, false, IXVM_ERR_FILE_FORMAT, "bad name length" },
    { "duplicate unit", 3, 0, false, IXVM_ERR_FILE_FORMAT, "unit 'pic' instance 0 appears twice" },
    { "count + 1", 4, 1, true, IXVM_ERR_FILE_FORMAT, "bad record magic" },
    { "count - 1", 4, -1, true, IXVM_ERR_FILE_FORMAT, "bad end marker" },
    { "count 2^60", 4, INT64_C(1) << 60, false, IXVM_ERR_TRUNCATED, "announces" },
};

Test(ssm_corrupt, hostile_sealed_lengths)
{
    struct fixture f;
    fixture_init(&f);
    uint8_t *b = malloc(f.len);
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(hostile_cases); i++) {
        const struct hostile *c = &hostile_cases[i];
        memcpy(b, f.image, f.len);
        /* pic 1 is the last record; ram has a real compressed payload. */
        size_t pos = find_record(b, f.len, c->field == 3 ? "pic" : "ram", c->field == 3 ? 1 : 0);
        size_t nl = (size_t)rd_le(b + pos + 4, 2);
        static const unsigned offs[] = { REC_RAW_LEN(0), REC_COMP_LEN(0), 4, REC_INSTANCE(0) };
        uint8_t *p = c->field == 4 ? b + 24 : b + pos + offs[c->field] + (c->field == 2 ? 0 : nl);
        unsigned w = c->field == 2 ? 2 : c->field == 3 ? 4 : 8;
        uint64_t v = c->rel ? rd_le(p, w) + (uint64_t)c->value : (uint64_t)c->value;
        wr_le(p, v, w);
        /* Seal the header and this record's header; the rest is intact. */
        wr_le32(b + 32, crc(b, 32));
        if (c->field != 2 && c->field != 4)
            wr_le32(b + pos + 38 + nl - 4, crc(b + pos, 38 + nl - 4));
        must_refuse(&f, b, f.len, c->what, i);
        cr_assert_eq(f.err.rc, c->rc, "%s: %d %s", c->what, f.err.rc, f.err.msg);
        cr_assert(strstr(f.err.msg, c->msg), "%s: message '%s' lacks '%s'", c->what, f.err.msg, c->msg);
    }
    free(b);
    fixture_fini(&f);
}
