/* SPDX-License-Identifier: MIT */
/*
 * Screenshot checks for tests/runner.
 *
 *   runner_screenshot BIOS       boot SeaBIOS in process until its banner is
 *                                on the VGA text screen, freeze the VM, save
 *                                the screen with the runner's screenshot
 *                                path, decode the PNG with fe_png_read and
 *                                compare it pixel by pixel with vga_render's
 *                                frame; also the no-VGA message path
 *   runner_screenshot --info P   print "WxH COLOURS" of a PNG (runner_cases.py)
 *   runner_screenshot --mask P   print one line per row, '0' for black pixels
 *                                and '1' for others (window_cases.py)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_png.h"
#include "frontend/fe_runner.h"
#include "ixvm/cfg.h"
#include "ixvm/pc.h"
#include "ixvm/vga.h"
#include "ixvm/vmm.h"

struct wait {
    struct dev_ins *vga;
    int polls;
    bool found;
};

static void poll_cb(uv_timer_t *t)
{
    struct wait *w = t->data;
    struct vga_text txt;
    char row[VGA_TEXT_MAX_COLS + 1];
    if (vga_text_snapshot(w->vga, &txt) == 0)
        for (unsigned r = 0; r < txt.rows && !w->found; r++)
            if (vga_text_row_string(&txt, r, row, sizeof(row)) && strstr(row, "SeaBIOS (version"))
                w->found = true;
    if (w->found || ++w->polls > 1500)     /* 30 s */
        uv_stop(t->loop);
}

static int info(const char *path)
{
    uint8_t *px;
    uint32_t w, h;
    struct ixvm_errinfo err = { 0 };
    if (fe_png_read(path, &px, &w, &h, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    /* Distinct colours, counted in a 4096-entry bitmap of 4-bit channels. */
    static uint8_t seen[4096];
    unsigned colours = 0;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        const uint8_t *p = px + 4 * i;
        unsigned k = (p[0] >> 4) << 8 | (p[1] >> 4) << 4 | p[2] >> 4;
        colours += !seen[k];
        seen[k] = 1;
    }
    printf("%ux%u %u\n", w, h, colours);
    free(px);
    return 0;
}

static int mask(const char *path)
{
    uint8_t *px;
    uint32_t w, h;
    struct ixvm_errinfo err = { 0 };
    if (fe_png_read(path, &px, &w, &h, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *p = px + 4 * ((size_t)y * w + x);
            putchar(p[0] | p[1] | p[2] ? '1' : '0');
        }
        putchar('\n');
    }
    free(px);
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "runner_screenshot: FAIL: %s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--info"))
        return info(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--mask"))
        return mask(argv[2]);
    if (argc != 2)
        return fail("usage: runner_screenshot BIOS | --info FILE.png");
    struct cfg *cfg;
    struct pc *pc;
    struct ixvm_errinfo err = { 0 };
    if (cfg_create(&cfg) < 0)
        return fail("cfg_create");
    struct pc_options po = { .bios_path = argv[1], .boot_fail_wait_ms = -1 };
    if (pc_create(cfg, &po, &pc, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return fail("pc_create");
    }
    struct vm *vm = pc_vm(pc);
    struct wait w = { .vga = pc_device(pc, "vga") };
    if (!w.vga)
        return fail("the board has no VGA");
    uv_timer_t t;
    uv_timer_init(vmm_loop(vm), &t);
    t.data = &w;
    uv_timer_start(&t, poll_cb, 20, 20);
    if (vmm_power_on(vm, &err) < 0)
        return fail(err.msg);
    vmm_run_loop(vm);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(vmm_loop(vm), UV_RUN_NOWAIT);
    int rc = 0;
    if (!w.found)
        rc = fail("SeaBIOS banner never appeared on the text screen");
    /* Freeze the guest so the screen cannot change between the two renders. */
    if (!rc && vmm_suspend(vm, &err) < 0)
        rc = fail(err.msg);
    char path[] = "/tmp/ixvm-shot-XXXXXX.png";
    int fd = mkstemps(path, 4);
    if (fd >= 0)
        close(fd);
    struct fe_runner r = { .vga = w.vga };
    if (!rc && fe_runner_screenshot(&r, path) < 0)
        rc = fail("fe_runner_screenshot");
    struct vga_frame f;
    uint8_t *png = NULL;
    uint32_t pw = 0, ph = 0;
    if (!rc && vga_render(w.vga, &f) < 0)
        rc = fail("vga_render");
    if (!rc && fe_png_read(path, &png, &pw, &ph, &err) < 0)
        rc = fail(err.msg);
    if (!rc && (pw != f.width || ph != f.height || pw != 720 || ph != 400))
        rc = fail("size differs from the 720x400 text frame");
    size_t lit = 0, diff = 0;
    for (uint32_t y = 0; !rc && y < ph; y++)
        for (uint32_t x = 0; x < pw; x++) {
            const uint8_t *a = png + ((size_t)y * pw + x) * 4, *b = f.pixels + (size_t)y * f.stride + x * 4;
            diff += memcmp(a, b, 4) != 0;
            lit += a[0] | a[1] | a[2] ? 1 : 0;
        }
    if (!rc && diff)
        rc = fail("the PNG differs from vga_render's frame");
    if (!rc && lit < 500)
        rc = fail("the screen has almost no text");
    /* No VGA: one message, an error status, no file. */
    struct fe_runner none = { 0 };
    char nopath[] = "/tmp/ixvm-novga-XXXXXX.png";
    fd = mkstemps(nopath, 4);
    if (fd >= 0) {
        close(fd);
        unlink(nopath);
    }
    if (!rc && (fe_runner_screenshot(&none, nopath) != IXVM_ERR_NOT_SUPPORTED || access(nopath, F_OK) == 0))
        rc = fail("no-VGA screenshot");
    if (!rc)
        printf("runner_screenshot: %ux%u frame, %zu lit pixels, PNG identical to vga_render\n", pw, ph, lit);
    free(png);
    unlink(path);
    pc_destroy(pc);
    cfg_destroy(cfg);
    return rc;
}
