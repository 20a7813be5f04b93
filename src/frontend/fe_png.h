/* SPDX-License-Identifier: MIT */
/*
 * Screenshots: write a frame to a PNG file (--screenshot, the monitor's
 * screendump) and read one back into RGBA (tests compare screenshots).
 */
#ifndef IXVM_FE_PNG_H
#define IXVM_FE_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "ixvm/types.h"

enum fe_pixfmt {
    FE_PIX_RGBA8888,   /* bytes R, G, B, A */
    FE_PIX_XRGB8888,   /* 32-bit words 0xXXRRGGBB in host order (the VGA/SDL layout) */
};

/* Largest frame accepted either way (a 16K x 16K screen). */
#define FE_PNG_MAX_DIM 16384

/* Write width x height pixels, `stride` bytes per row.  The file is written
 * to PATH.tmp and renamed, so a reader never sees half a file.  XRGB frames
 * are written as RGB (the X byte is not alpha). */
int fe_png_write(const char *path, const void *pixels, uint32_t width, uint32_t height,
                 size_t stride, enum fe_pixfmt fmt, struct ixvm_errinfo *err) IXVM_WUR;

/* Read a PNG of any color type into tightly packed RGBA8888 (malloc'd,
 * *rgba; free() it). */
int fe_png_read(const char *path, uint8_t **rgba, uint32_t *width, uint32_t *height,
                struct ixvm_errinfo *err) IXVM_WUR;

#endif
