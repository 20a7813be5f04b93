/* SPDX-License-Identifier: MIT */
/*
 * Screenshots: RGBA and XRGB frames written and decoded back pixel for
 * pixel (with a row stride larger than the width), and errors that name the
 * file: missing directory, not a PNG, truncated PNG, bad sizes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_png.h"

static char path[64];

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/fe_png_%d.png", (int)getpid());
}

static void teardown(void)
{
    unlink(path);
}

TestSuite(fe_png, .init = setup, .fini = teardown);

Test(fe_png, rgba_roundtrip)
{
    enum { W = 37, H = 23, STRIDE = W * 4 + 12 };
    static uint8_t px[H * STRIDE];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = px + y * STRIDE + x * 4;
            p[0] = (uint8_t)(x * 7);
            p[1] = (uint8_t)(y * 11);
            p[2] = (uint8_t)(x ^ y);
            p[3] = (uint8_t)(255 - x);
        }
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_png_write(path, px, W, H, STRIDE, FE_PIX_RGBA8888, &e), 0, "%s", e.msg);
    uint8_t *back = NULL;
    uint32_t w = 0, h = 0;
    cr_assert_eq(fe_png_read(path, &back, &w, &h, &e), 0, "%s", e.msg);
    cr_assert_eq(w, W);
    cr_assert_eq(h, H);
    for (int y = 0; y < H; y++)
        cr_assert_arr_eq(back + y * W * 4, px + y * STRIDE, W * 4, "row %d", y);
    free(back);
}

Test(fe_png, xrgb_roundtrip_is_opaque)
{
    enum { W = 64, H = 48 };
    static uint32_t px[W * H];
    for (int i = 0; i < W * H; i++)
        px[i] = 0xab000000u | (uint32_t)(i * 2654435761u >> 8);   /* X byte is junk */
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_png_write(path, px, W, H, W * 4, FE_PIX_XRGB8888, &e), 0, "%s", e.msg);
    cr_assert_neq(access(path, F_OK), -1);
    uint8_t *back = NULL;
    uint32_t w = 0, h = 0;
    cr_assert_eq(fe_png_read(path, &back, &w, &h, &e), 0, "%s", e.msg);
    for (int i = 0; i < W * H; i++) {
        cr_assert_eq(back[i * 4 + 0], (px[i] >> 16) & 0xff, "pixel %d R", i);
        cr_assert_eq(back[i * 4 + 1], (px[i] >> 8) & 0xff, "pixel %d G", i);
        cr_assert_eq(back[i * 4 + 2], px[i] & 0xff, "pixel %d B", i);
        cr_assert_eq(back[i * 4 + 3], 0xff, "pixel %d A", i);
    }
    free(back);
    char tmp[80];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    cr_assert_eq(access(tmp, F_OK), -1, "no temporary left behind");
}

Test(fe_png, errors_name_file)
{
    uint32_t px[4] = { 0 };
    struct ixvm_errinfo e = { 0 };
    cr_assert_eq(fe_png_write("/nonexistent/dir/s.png", px, 2, 2, 8, FE_PIX_RGBA8888, &e), IXVM_ERR_IO);
    cr_assert(strstr(e.msg, "/nonexistent/dir/s.png") && strstr(e.msg, "No such file"), "%s", e.msg);
    cr_assert_eq(fe_png_write(path, px, 0, 2, 8, FE_PIX_RGBA8888, &e), IXVM_ERR_OUT_OF_RANGE);
    cr_assert(strstr(e.msg, "0x2"), "%s", e.msg);
    cr_assert_eq(fe_png_write(path, px, 2, 2, 4, FE_PIX_RGBA8888, &e), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(fe_png_write(path, NULL, 2, 2, 8, FE_PIX_RGBA8888, &e), IXVM_ERR_INVALID_PARAMETER);

    uint8_t *back = (uint8_t *)1;
    uint32_t w, h;
    cr_assert_eq(fe_png_read("/nonexistent/x.png", &back, &w, &h, &e), IXVM_ERR_IO);
    cr_assert_null(back);
    FILE *f = fopen(path, "wb");
    fputs("this is not a png file at all", f);
    fclose(f);
    cr_assert_eq(fe_png_read(path, &back, &w, &h, &e), IXVM_ERR_FILE_FORMAT);
    cr_assert(strstr(e.msg, path) && strstr(e.msg, "not a PNG"), "%s", e.msg);

    /* A valid PNG cut in half. */
    static uint32_t big[32 * 32];
    for (int i = 0; i < 32 * 32; i++)
        big[i] = (uint32_t)i * 2654435761u;
    cr_assert_eq(fe_png_write(path, big, 32, 32, 128, FE_PIX_RGBA8888, &e), 0, "%s", e.msg);
    f = fopen(path, "rb");
    static char data[16384];
    size_t n = fread(data, 1, sizeof(data), f);
    fclose(f);
    f = fopen(path, "wb");
    fwrite(data, 1, n / 2, f);
    fclose(f);
    cr_assert_eq(fe_png_read(path, &back, &w, &h, &e), IXVM_ERR_FILE_FORMAT);
    cr_assert(strstr(e.msg, path), "%s", e.msg);
    cr_assert_null(back);
}
