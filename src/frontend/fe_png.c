/* SPDX-License-Identifier: MIT */
/*
 * PNG screenshots with libpng's simplified API (png_image, libpng >= 1.6):
 * it reports errors in image.message instead of longjmp, and converts any
 * PNG color type to RGBA on reading.
 */
#include "frontend/fe_png.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* XRGB words -> packed RGB rows for libpng. */
static uint8_t *fe_png_to_rgb(const void *pixels, uint32_t w, uint32_t h, size_t stride)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb)
        return NULL;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = (const uint8_t *)pixels + (size_t)y * stride;
        uint8_t *o = rgb + (size_t)y * w * 3;
        for (uint32_t x = 0; x < w; x++) {
            uint32_t px;
            memcpy(&px, row + (size_t)x * 4, 4);
            o[x * 3 + 0] = (uint8_t)(px >> 16);
            o[x * 3 + 1] = (uint8_t)(px >> 8);
            o[x * 3 + 2] = (uint8_t)px;
        }
    }
    return rgb;
}

static int fe_png_check_dims(const char *path, uint32_t w, uint32_t h, struct ixvm_errinfo *err)
{
    if (w == 0 || h == 0 || w > FE_PNG_MAX_DIM || h > FE_PNG_MAX_DIM)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "%s: image size %ux%u out of range (1..%u)",
                                path, w, h, FE_PNG_MAX_DIM);
    return 0;
}

int fe_png_write(const char *path, const void *pixels, uint32_t width, uint32_t height,
                 size_t stride, enum fe_pixfmt fmt, struct ixvm_errinfo *err)
{
    int rc = fe_png_check_dims(path, width, height, err);
    if (rc < 0)
        return rc;
    if (!pixels || stride < (size_t)width * 4 || (fmt != FE_PIX_RGBA8888 && fmt != FE_PIX_XRGB8888))
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "%s: bad frame (stride %zu, format %d)",
                                path, stride, (int)fmt);
    png_image img;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    img.width = width;
    img.height = height;
    const void *src = pixels;
    uint8_t *rgb = NULL;
    png_int_32 row_stride = (png_int_32)stride;
    if (fmt == FE_PIX_XRGB8888) {
        rgb = fe_png_to_rgb(pixels, width, height, stride);
        if (!rgb)
            return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", path);
        src = rgb;
        img.format = PNG_FORMAT_RGB;
        row_stride = (png_int_32)(width * 3);
    } else {
        img.format = PNG_FORMAT_RGBA;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        free(rgb);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: %s", tmp, strerror(errno));
    } else {
        int ok = png_image_write_to_stdio(&img, f, 0, src, row_stride, NULL);
        if (!ok)
            rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: PNG encoder: %s", path, img.message);
        if (fclose(f) != 0 && rc == 0)
            rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: %s", tmp, strerror(errno));
        if (rc == 0 && rename(tmp, path) != 0)
            rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: cannot rename from %s: %s", path, tmp,
                                  strerror(errno));
        if (rc < 0)
            remove(tmp);
        png_image_free(&img);
    }
    free(tmp);
    free(rgb);
    return rc;
}

int fe_png_read(const char *path, uint8_t **rgba, uint32_t *width, uint32_t *height,
                struct ixvm_errinfo *err)
{
    *rgba = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "%s: %s", path, strerror(errno));
    png_image img;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    int rc = 0;
    if (!png_image_begin_read_from_stdio(&img, f)) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "%s: not a PNG file: %s", path, img.message);
        goto out;
    }
    rc = fe_png_check_dims(path, img.width, img.height, err);
    if (rc < 0) {
        png_image_free(&img);
        goto out;
    }
    img.format = PNG_FORMAT_RGBA;
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(img));
    if (!buf) {
        png_image_free(&img);
        rc = ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", path);
        goto out;
    }
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "%s: corrupt PNG: %s", path, img.message);
        free(buf);
        goto out;
    }
    *rgba = buf;
    *width = img.width;
    *height = img.height;
out:
    fclose(f);
    return rc;
}
