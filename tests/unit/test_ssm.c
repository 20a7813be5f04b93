/* SPDX-License-Identifier: MIT */
/*
 * SSM: registration, save/load round trips (several units and versions,
 * field tables, blobs, an empty unit, a 16 MiB unit), the stream API, and
 * every refusal the loader promises: each with its status, a message that
 * names the cause, and the units' state left exactly as it was.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "unit/test_ssm_units.h"

#define DIGEST UINT64_C(0x1234abcd5678ef00)

/* A saved image of a world filled from seed. */
struct image {
    uint8_t *buf;
    size_t len;
};

static struct image save_world(uint64_t seed, size_t ram_len, uint32_t cpu_ver, uint32_t cpu_min)
{
    struct ssm *ssm;
    struct tworld w;
    struct image im;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_create(&ssm), 0);
    tworld_fill(&w, seed, ram_len);
    cr_assert_eq(tworld_register_v(ssm, &w, cpu_ver, cpu_min), 0);
    int rc = ssm_save_mem(ssm, DIGEST, &im.buf, &im.len, &err);
    cr_assert_eq(rc, 0, "save: %d %s", rc, err.msg);
    ssm_destroy(ssm);
    tworld_free(&w);
    return im;
}

/* A loader world (seed 2) plus an untouched copy to compare against. */
struct loader {
    struct ssm *ssm;
    struct tworld w;
    struct tworld before;
    struct ixvm_errinfo err;
};

static void loader_init(struct loader *l, size_t ram_len, uint32_t cpu_ver, uint32_t cpu_min)
{
    cr_assert_eq(ssm_create(&l->ssm), 0);
    tworld_fill(&l->w, 2, ram_len);
    cr_assert_eq(tworld_register_v(l->ssm, &l->w, cpu_ver, cpu_min), 0);
    tworld_copy(&l->before, &l->w);
}

static void loader_fini(struct loader *l)
{
    ssm_destroy(l->ssm);
    tworld_free(&l->w);
    tworld_free(&l->before);
}

/* Load must fail with rc, a message containing what, and no state change. */
static void expect_refused(struct loader *l, const struct image *im, uint64_t digest, int rc, const char *what)
{
    int got = ssm_load_mem(l->ssm, im->buf, im->len, digest, &l->err);
    cr_assert_eq(got, rc, "status %d (%s), want %d", got, l->err.msg, rc);
    cr_assert_eq(l->err.rc, rc);
    cr_assert(strstr(l->err.msg, what), "message '%s' lacks '%s'", l->err.msg, what);
    cr_assert(tworld_eq(&l->w, &l->before), "state changed by a refused load");
}

static void expect_loaded(struct loader *l, const struct image *im, uint64_t seed, size_t ram_len)
{
    int rc = ssm_load_mem(l->ssm, im->buf, im->len, DIGEST, &l->err);
    cr_assert_eq(rc, 0, "load: %d %s", rc, l->err.msg);
    struct tworld want;
    tworld_fill(&want, seed, ram_len);
    cr_assert(tworld_eq(&l->w, &want), "loaded state differs from saved");
    tworld_free(&want);
}

/* ---------------------------------------------------------------------- */

Test(ssm, register_rules)
{
    struct ssm *ssm;
    struct tworld w;
    cr_assert_eq(ssm_create(&ssm), 0);
    tworld_fill(&w, 1, 16);
    cr_assert_eq(tworld_register(ssm, &w), 0);
    struct ssm_unit_desc d = { "pic", 0, 1, 1, tpic_save, tpic_load, &w.pic[0] };
    cr_assert_eq(ssm_register(ssm, &d), IXVM_ERR_ALREADY_EXISTS);
    d.instance = 2;
    cr_assert_eq(ssm_register(ssm, &d), 0);
    d.instance = 3;
    d.name = "";
    cr_assert_eq(ssm_register(ssm, &d), IXVM_ERR_INVALID_PARAMETER);
    char name[80];
    memset(name, 'n', sizeof(name));
    name[64] = '\0';
    d.name = name;
    cr_assert_eq(ssm_register(ssm, &d), IXVM_ERR_INVALID_PARAMETER, "64-char name accepted");
    name[63] = '\0';
    cr_assert_eq(ssm_register(ssm, &d), 0, "63-char name refused");
    d.name = "vers";
    d.min_version = 5;
    d.version = 4;
    cr_assert_eq(ssm_register(ssm, &d), IXVM_ERR_INVALID_PARAMETER);
    d.min_version = 1;
    d.load = NULL;
    cr_assert_eq(ssm_register(ssm, &d), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(ssm_deregister(ssm, "pic", 2), 0);
    cr_assert_eq(ssm_deregister(ssm, "pic", 2), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(ssm_deregister(ssm, name, 3), 0);
    /* What is left is the world again: it round-trips. */
    uint8_t *buf;
    size_t len;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_save_mem(ssm, 7, &buf, &len, &err), 0);
    cr_assert_eq(ssm_load_mem(ssm, buf, len, 7, &err), 0, "%s", err.msg);
    free(buf);
    ssm_destroy(ssm);
    tworld_free(&w);
}

Test(ssm, round_trip_mem)
{
    struct image im = save_world(1, 3000, 3, 2);
    struct loader l;
    loader_init(&l, 3000, 3, 2);
    struct tworld saved;
    tworld_fill(&saved, 1, 3000);
    cr_assert_not(tworld_eq(&l.w, &saved), "loader must start from different state");
    tworld_free(&saved);
    expect_loaded(&l, &im, 1, 3000);
    /* Loading it again is idempotent. */
    expect_loaded(&l, &im, 1, 3000);
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, empty_registry_round_trip)
{
    struct ssm *ssm;
    uint8_t *buf;
    size_t len;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_create(&ssm), 0);
    cr_assert_eq(ssm_save_mem(ssm, 0, &buf, &len, &err), 0);
    cr_assert_eq(len, 36 + 16, "header + end marker only, got %zu", len);
    cr_assert_eq(ssm_load_mem(ssm, buf, len, 0, &err), 0, "%s", err.msg);
    free(buf);
    ssm_destroy(ssm);
}

Test(ssm, round_trip_file)
{
    char dir[] = "/tmp/ssm-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], tmp[140];
    snprintf(path, sizeof(path), "%s/state.sav", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    struct ssm *ssm;
    struct tworld w;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_create(&ssm), 0);
    tworld_fill(&w, 1, 5000);
    cr_assert_eq(tworld_register(ssm, &w), 0);
    cr_assert_eq(ssm_save(ssm, path, DIGEST, &err), 0, "%s", err.msg);
    cr_assert_neq(access(path, R_OK), -1);
    cr_assert_eq(access(tmp, F_OK), -1, "temporary file left behind");
    ssm_destroy(ssm);
    tworld_free(&w);

    struct loader l;
    loader_init(&l, 5000, 3, 2);
    int rc = ssm_load(l.ssm, path, DIGEST, &l.err);
    cr_assert_eq(rc, 0, "%s", l.err.msg);
    struct tworld want;
    tworld_fill(&want, 1, 5000);
    cr_assert(tworld_eq(&l.w, &want));
    tworld_free(&want);

    /* A refused file loaded from disk names the file too. */
    rc = ssm_load(l.ssm, path, DIGEST + 1, &l.err);
    cr_assert_eq(rc, IXVM_ERR_CONFIG_MISMATCH);
    cr_assert(strstr(l.err.msg, path), "%s", l.err.msg);
    loader_fini(&l);
    unlink(path);
    rmdir(dir);
}

Test(ssm, failed_save_keeps_existing_file)
{
    char dir[] = "/tmp/ssm-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], tmp[140];
    snprintf(path, sizeof(path), "%s/state.sav", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("previous contents", f);
    fclose(f);

    struct loader l;
    loader_init(&l, 100, 3, 2);
    /* A unit whose data exceeds the per-unit limit makes the save fail. */
    struct tram huge = { l.w.ram.data, (size_t)1 << 31 };
    struct ssm_unit_desc d = { "huge", 0, 1, 1, tram_save, tram_load, &huge };
    cr_assert_eq(ssm_register(l.ssm, &d), 0);
    int rc = ssm_save(l.ssm, path, DIGEST, &l.err);
    cr_assert_eq(rc, IXVM_ERR_OUT_OF_RANGE, "%d %s", rc, l.err.msg);
    cr_assert(strstr(l.err.msg, "saving unit 'huge' instance 0 failed"), "%s", l.err.msg);

    char got[64] = { 0 };
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(got, sizeof(got), f));
    fclose(f);
    cr_assert_str_eq(got, "previous contents");
    cr_assert_eq(access(tmp, F_OK), -1);
    loader_fini(&l);
    unlink(path);
    rmdir(dir);
}

static int failing_save(void *user, struct ssm_handle *h)
{
    ssm_put_u32(h, 1);
    return IXVM_ERR_INJECTED;
}

Test(ssm, save_callback_error_names_unit)
{
    struct loader l;
    loader_init(&l, 100, 3, 2);
    struct ssm_unit_desc d = { "flaky", 4, 1, 1, failing_save, tempty_load, NULL };
    cr_assert_eq(ssm_register(l.ssm, &d), 0);
    uint8_t *buf = (uint8_t *)&l;
    size_t len = 99;
    int rc = ssm_save_mem(l.ssm, DIGEST, &buf, &len, &l.err);
    cr_assert_eq(rc, IXVM_ERR_INJECTED);
    cr_assert_null(buf);
    cr_assert_eq(len, 0);
    cr_assert(strstr(l.err.msg, "unit 'flaky' instance 4"), "%s", l.err.msg);
    loader_fini(&l);
}

Test(ssm, io_errors_name_the_path)
{
    struct loader l;
    loader_init(&l, 100, 3, 2);
    const char *path = "/nonexistent-ssm-dir/sub/state.sav";
    int rc = ssm_save(l.ssm, path, DIGEST, &l.err);
    cr_assert_eq(rc, IXVM_ERR_IO);
    cr_assert(strstr(l.err.msg, path), "%s", l.err.msg);
    cr_assert(strstr(l.err.msg, strerror(ENOENT)), "%s", l.err.msg);

    rc = ssm_load(l.ssm, path, DIGEST, &l.err);
    cr_assert_eq(rc, IXVM_ERR_IO);
    cr_assert(strstr(l.err.msg, path), "%s", l.err.msg);
    cr_assert(strstr(l.err.msg, strerror(ENOENT)), "%s", l.err.msg);
    cr_assert(tworld_eq(&l.w, &l.before));

    rc = ssm_load(l.ssm, "/tmp", DIGEST, &l.err);
    cr_assert_eq(rc, IXVM_ERR_IO);
    cr_assert(strstr(l.err.msg, "not a regular file"), "%s", l.err.msg);
    loader_fini(&l);
}

/* 8 MiB of compressible data followed by 8 MiB of random bytes. */
Test(ssm, large_unit_16mib, .timeout = 120)
{
    const size_t n = (size_t)16 << 20;
    struct ssm *ssm;
    struct tworld w;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_create(&ssm), 0);
    tworld_fill(&w, 5, 0);
    free(w.ram.data);
    w.ram.data = malloc(n);
    w.ram.len = n;
    uint64_t s = 77;
    for (size_t i = 0; i < n / 2; i++)
        w.ram.data[i] = (uint8_t)(i / 4096);
    for (size_t i = n / 2; i < n; i += 8) {
        uint64_t v = trand(&s);
        memcpy(w.ram.data + i, &v, 8);
    }
    cr_assert_eq(tworld_register(ssm, &w), 0);
    uint8_t *buf;
    size_t len;
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(ssm_save_mem(ssm, DIGEST, &buf, &len, &err), 0, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* The random half stays ~8 MiB, the patterned half nearly vanishes. */
    cr_assert(len > n / 2 && len < n / 2 + n / 16, "image of %zu bytes", len);

    struct tworld orig;
    tworld_copy(&orig, &w);
    memset(w.ram.data, 0xa5, n);
    w.cpu.d ^= 1;
    cr_assert_eq(ssm_load_mem(ssm, buf, len, DIGEST, &err), 0, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    cr_assert(tworld_eq(&w, &orig));
    cr_log_info("16 MiB unit: image %zu bytes, save %.1f ms, load %.1f ms", len,
                (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
                (t2.tv_sec - t1.tv_sec) * 1e3 + (t2.tv_nsec - t1.tv_nsec) / 1e6);
    free(buf);
    tworld_free(&orig);
    tworld_free(&w);
    ssm_destroy(ssm);
}

/* All zeros compress at LZ4's best ratio (just under 255:1), the edge of
 * the loader's plausibility bound. */
Test(ssm, all_zero_unit_at_best_ratio)
{
    const size_t n = (size_t)8 << 20;
    struct ssm *ssm;
    struct tworld w;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_create(&ssm), 0);
    tworld_fill(&w, 5, 0);
    free(w.ram.data);
    w.ram.data = calloc(1, n);
    w.ram.len = n;
    cr_assert_eq(tworld_register(ssm, &w), 0);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(ssm_save_mem(ssm, DIGEST, &buf, &len, &err), 0, "%s", err.msg);
    cr_assert_lt(len, n / 250, "zeros did not compress: %zu", len);
    w.ram.data[n - 1] = 1;
    cr_assert_eq(ssm_load_mem(ssm, buf, len, DIGEST, &err), 0, "%s", err.msg);
    cr_assert_eq(w.ram.data[n - 1], 0);
    free(buf);
    tworld_free(&w);
    ssm_destroy(ssm);
}

Test(ssm, older_supported_version_loads)
{
    struct image im = save_world(1, 200, 2, 2);   /* cpu saved at version 2 */
    struct loader l;
    loader_init(&l, 200, 3, 2);
    int rc = ssm_load_mem(l.ssm, im.buf, im.len, DIGEST, &l.err);
    cr_assert_eq(rc, 0, "%s", l.err.msg);
    struct tworld want;
    tworld_fill(&want, 1, 200);
    want.cpu.extra = TCPU_EXTRA_DEFAULT;  /* the version-2 load default */
    cr_assert(tworld_eq(&l.w, &want));
    tworld_free(&want);
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, unit_version_too_new)
{
    struct image im = save_world(1, 200, 3, 2);
    struct loader l;
    loader_init(&l, 200, 2, 1);
    expect_refused(&l, &im, DIGEST, IXVM_ERR_UNSUPPORTED_VERSION,
                   "unit 'cpu' instance 0: saved version 3 is not supported");
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, unit_version_too_old)
{
    struct image im = save_world(1, 200, 2, 2);
    struct loader l;
    loader_init(&l, 200, 4, 3);
    expect_refused(&l, &im, DIGEST, IXVM_ERR_UNSUPPORTED_VERSION,
                   "unit 'cpu' instance 0: saved version 2 is not supported");
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, unknown_unit)
{
    /* Save with an extra unit "foo" the loader does not have. */
    struct ssm *ssm;
    struct tworld w;
    struct image im;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_create(&ssm), 0);
    tworld_fill(&w, 1, 200);
    cr_assert_eq(tworld_register(ssm, &w), 0);
    struct ssm_unit_desc d = { "foo", 0, 1, 1, tempty_save, tempty_load, NULL };
    cr_assert_eq(ssm_register(ssm, &d), 0);
    cr_assert_eq(ssm_save_mem(ssm, DIGEST, &im.buf, &im.len, &err), 0);
    ssm_destroy(ssm);
    tworld_free(&w);

    struct loader l;
    loader_init(&l, 200, 3, 2);
    expect_refused(&l, &im, DIGEST, IXVM_ERR_UNKNOWN_UNIT, "unknown saved-state unit 'foo' instance 0");
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, missing_unit)
{
    struct image im = save_world(1, 200, 3, 2);
    struct loader l;
    loader_init(&l, 200, 3, 2);
    struct ssm_unit_desc d = { "extra", 0, 1, 1, tempty_save, tempty_load, NULL };
    cr_assert_eq(ssm_register(l.ssm, &d), 0);
    expect_refused(&l, &im, DIGEST, IXVM_ERR_FILE_FORMAT, "unit 'extra' missing from saved state");
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, config_mismatch)
{
    struct image im = save_world(1, 200, 3, 2);
    struct loader l;
    loader_init(&l, 200, 3, 2);
    expect_refused(&l, &im, DIGEST ^ 1, IXVM_ERR_CONFIG_MISMATCH, "different configuration");
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, bad_magic)
{
    struct image im = save_world(1, 200, 3, 2);
    struct loader l;
    loader_init(&l, 200, 3, 2);
    im.buf[0] = 'J';
    expect_refused(&l, &im, DIGEST, IXVM_ERR_FILE_FORMAT, "bad magic");
    loader_fini(&l);
    free(im.buf);
}

/* Overwrite a little-endian u32 and re-seal the header CRC, as a future
 * writer would, so the version itself is what gets refused. */
static void header_set_u32(uint8_t *buf, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        buf[off + i] = (uint8_t)(v >> (8 * i));
    uint32_t crc = (uint32_t)crc32(0, buf, 32);
    for (int i = 0; i < 4; i++)
        buf[32 + i] = (uint8_t)(crc >> (8 * i));
}

Test(ssm, unsupported_format_version)
{
    struct image im = save_world(1, 200, 3, 2);
    struct loader l;
    loader_init(&l, 200, 3, 2);
    header_set_u32(im.buf, 8, 2);
    expect_refused(&l, &im, DIGEST, IXVM_ERR_UNSUPPORTED_VERSION, "saved state format version 2 is not supported");
    header_set_u32(im.buf, 8, 0);
    expect_refused(&l, &im, DIGEST, IXVM_ERR_UNSUPPORTED_VERSION, "saved state format version 0 is not supported");
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, trailing_garbage_and_header_checksum)
{
    struct image im = save_world(1, 200, 3, 2);
    struct loader l;
    loader_init(&l, 200, 3, 2);
    uint8_t *longer = malloc(im.len + 1);
    memcpy(longer, im.buf, im.len);
    longer[im.len] = 0;
    struct image im2 = { longer, im.len + 1 };
    expect_refused(&l, &im2, DIGEST, IXVM_ERR_FILE_FORMAT, "1 bytes of trailing garbage");
    im.buf[20] ^= 0x10;   /* inside the config digest */
    expect_refused(&l, &im, DIGEST, IXVM_ERR_CHECKSUM, "header checksum");
    loader_fini(&l);
    free(longer);
    free(im.buf);
}

Test(ssm, failing_load_rolls_back_every_unit)
{
    struct image im = save_world(1, 3000, 3, 2);
    struct loader l;
    loader_init(&l, 3000, 3, 2);
    /* pic 1 is the last unit: cpu, pic 0 and ram are loaded when it fails. */
    l.w.pic[1].fail_loads = 1;
    expect_refused(&l, &im, DIGEST, IXVM_ERR_INJECTED, "loading unit 'pic' instance 1 (version 1) failed");
    cr_assert_null(strstr(l.err.msg, "rollback failed"), "%s", l.err.msg);
    cr_assert_eq(l.w.pic[1].fail_loads, 0, "the failing load never ran");
    /* After the refusal a good load still works. */
    expect_loaded(&l, &im, 1, 3000);
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, unread_bytes_refused_and_rolled_back)
{
    struct image im = save_world(1, 300, 3, 2);
    struct loader l;
    loader_init(&l, 300, 3, 2);
    l.w.pic[0].short_loads = 1;
    expect_refused(&l, &im, DIGEST, IXVM_ERR_FILE_FORMAT, "unit 'pic' left 2 bytes unread");
    loader_fini(&l);
    free(im.buf);
}

Test(ssm, ram_length_mismatch_from_callback)
{
    struct image im = save_world(1, 300, 3, 2);
    struct loader l;
    loader_init(&l, 301, 3, 2);
    expect_refused(&l, &im, DIGEST, IXVM_ERR_FILE_FORMAT, "loading unit 'ram' instance 0");
    loader_fini(&l);
    free(im.buf);
}

/* ---------------------------------------------------------------------- */
/* The stream API, through a probe unit whose callbacks run the checks.   */

struct probe {
    int (*save)(struct ssm_handle *h);
    int (*load)(struct ssm_handle *h);
    int load_rc;
};

static int probe_save(void *user, struct ssm_handle *h)
{
    return ((struct probe *)user)->save(h);
}

static int probe_load(void *user, struct ssm_handle *h, uint32_t version)
{
    struct probe *p = user;
    p->load_rc = p->load(h);
    return p->load_rc;
}

/* Save and load a registry holding only the probe; returns the load status. */
static int probe_run(struct probe *p, struct ixvm_errinfo *err)
{
    struct ssm *ssm;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(ssm_create(&ssm), 0);
    struct ssm_unit_desc d = { "probe", 0, 1, 1, probe_save, probe_load, p };
    cr_assert_eq(ssm_register(ssm, &d), 0);
    int rc = ssm_save_mem(ssm, 0, &buf, &len, err);
    cr_assert_eq(rc, 0, "%s", err->msg);
    rc = ssm_load_mem(ssm, buf, len, 0, err);
    free(buf);
    ssm_destroy(ssm);
    return rc;
}

static int save_le(struct ssm_handle *h)
{
    ssm_put_u32(h, 0x11223344);
    ssm_put_u16(h, 0xa1b2);
    ssm_put_u64(h, UINT64_C(0x0102030405060708));
    ssm_put_bool(h, true);
    return ssm_put_u8(h, 0xfe);
}

static int load_le(struct ssm_handle *h)
{
    static const uint8_t want[] = { 0x44, 0x33, 0x22, 0x11, 0xb2, 0xa1, 8, 7, 6, 5, 4, 3, 2, 1, 1, 0xfe };
    uint8_t got[sizeof(want)];
    cr_assert_eq(ssm_remaining(h), sizeof(want));
    for (size_t i = 0; i < sizeof(want); i++)
        cr_assert_eq(ssm_get_u8(h, &got[i]), 0);
    cr_assert_arr_eq(got, want, sizeof(want), "not little-endian in order");
    cr_assert_eq(ssm_remaining(h), 0);
    return 0;
}

Test(ssm_stream, little_endian_layout)
{
    struct probe p = { save_le, load_le, -1 };
    struct ixvm_errinfo err;
    cr_assert_eq(probe_run(&p, &err), 0, "%s", err.msg);
    cr_assert_eq(p.load_rc, 0);
}

static int save_three(struct ssm_handle *h)
{
    return ssm_put_mem(h, "abc", 3);
}

/* A get past the end fails, reads nothing, and the error sticks. */
static int load_past_end(struct ssm_handle *h)
{
    uint64_t v = 42;
    uint8_t b = 9;
    cr_assert_eq(ssm_get_u64(h, &v), IXVM_ERR_TRUNCATED);
    cr_assert_eq(v, 0);
    cr_assert_eq(ssm_remaining(h), 3);
    cr_assert_eq(ssm_get_u8(h, &b), IXVM_ERR_TRUNCATED, "error did not stick");
    cr_assert_eq(b, 0);
    cr_assert_eq(ssm_put_u8(h, 1), IXVM_ERR_TRUNCATED);
    return 0;   /* the sticky error still fails the load */
}

Test(ssm_stream, get_past_end_is_sticky)
{
    struct probe p = { save_three, load_past_end, -1 };
    struct ixvm_errinfo err;
    cr_assert_eq(probe_run(&p, &err), IXVM_ERR_TRUNCATED, "%s", err.msg);
    cr_assert(strstr(err.msg, "unit 'probe'"), "%s", err.msg);
}

static int save_bad_bool(struct ssm_handle *h)
{
    return ssm_put_u8(h, 2);
}

static int load_bool(struct ssm_handle *h)
{
    bool v = true;
    int rc = ssm_get_bool(h, &v);
    cr_assert_eq(rc, IXVM_ERR_FILE_FORMAT);
    cr_assert_eq(v, false);
    return rc;
}

Test(ssm_stream, bool_must_be_0_or_1)
{
    struct probe p = { save_bad_bool, load_bool, -1 };
    struct ixvm_errinfo err;
    cr_assert_eq(probe_run(&p, &err), IXVM_ERR_FILE_FORMAT);
}

/* A field table with a bool: a stored 2 in its place is refused. */
struct flagged {
    uint32_t x;
    bool on;
};
static const struct ssm_field flagged_fields[] = {
    SSM_FIELD(U32, struct flagged, x), SSM_FIELD(BOOL, struct flagged, on), SSM_FIELD_END,
};

static int save_flagged_bad(struct ssm_handle *h)
{
    ssm_put_u32(h, 7);
    return ssm_put_u8(h, 2);
}

static int load_flagged(struct ssm_handle *h)
{
    struct flagged f = { 0, false };
    int rc = ssm_get_fields(h, flagged_fields, &f);
    cr_assert_eq(f.x, 7);
    cr_assert_eq(f.on, false);
    return rc;
}

Test(ssm_stream, field_table_bool_checked)
{
    struct probe p = { save_flagged_bad, load_flagged, -1 };
    struct ixvm_errinfo err;
    cr_assert_eq(probe_run(&p, &err), IXVM_ERR_FILE_FORMAT);
}

/* A field entry whose size disagrees with its type is a programming error. */
static const struct ssm_field wrong_fields[] = {
    { "x", SSM_FT_U16, offsetof(struct flagged, x), sizeof(uint32_t) },
    SSM_FIELD_END,
};

static int save_wrong_fields(struct ssm_handle *h)
{
    struct flagged f = { 1, true };
    return ssm_put_fields(h, wrong_fields, &f);
}

Test(ssm_stream, field_table_size_mismatch)
{
    struct ssm *ssm;
    struct probe p = { save_wrong_fields, load_flagged, -1 };
    uint8_t *buf;
    size_t len;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_create(&ssm), 0);
    struct ssm_unit_desc d = { "probe", 0, 1, 1, probe_save, probe_load, &p };
    cr_assert_eq(ssm_register(ssm, &d), 0);
    cr_assert_eq(ssm_save_mem(ssm, 0, &buf, &len, &err), IXVM_ERR_INVALID_PARAMETER);
    ssm_destroy(ssm);
}

/* Nested operations from inside a callback are refused. */
static struct ssm *nest_ssm;

static int save_nested(struct ssm_handle *h)
{
    uint8_t *buf;
    size_t len;
    struct ixvm_errinfo err;
    struct ssm_unit_desc d = { "late", 0, 1, 1, probe_save, probe_load, NULL };
    cr_assert_eq(ssm_register(nest_ssm, &d), IXVM_ERR_BUSY);
    cr_assert_eq(ssm_deregister(nest_ssm, "probe", 0), IXVM_ERR_BUSY);
    cr_assert_eq(ssm_save_mem(nest_ssm, 0, &buf, &len, &err), IXVM_ERR_BUSY);
    return 0;
}

Test(ssm_stream, nested_calls_refused)
{
    struct probe p = { save_nested, NULL, -1 };
    uint8_t *buf;
    size_t len;
    struct ixvm_errinfo err;
    cr_assert_eq(ssm_create(&nest_ssm), 0);
    struct ssm_unit_desc d = { "probe", 0, 1, 1, probe_save, probe_load, &p };
    cr_assert_eq(ssm_register(nest_ssm, &d), 0);
    cr_assert_eq(ssm_save_mem(nest_ssm, 0, &buf, &len, &err), 0, "%s", err.msg);
    free(buf);
    ssm_destroy(nest_ssm);
}
