/* SPDX-License-Identifier: MIT */
/*
 * Runs one guest CPU test image (docs/guest-tests.md "Booting without a
 * BIOS") on the real PC board: pc_create() with the tests' stub ROM
 * (nobios.bin, whose reset vector jumps to 0000:7C00) as firmware, the
 * image copied to guest-physical 0x7C00 before power-on, the TAP output
 * collected from port 0xE9 and the verdict from isa-debug-exit (0xF4).
 *
 * usage: run_image [-v] [-t SECONDS] [-m MIB] NOBIOS.BIN IMAGE.IMG
 *
 * Exit status 0 when the test passed: the debug-exit value is 0 (status
 * (0 << 1) | 1), a plan line "1..N" came first, N "ok" lines followed, and
 * no "not ok" or "Bail out!" line appeared.  Otherwise 1, with the TAP
 * output and the reason on stdout.  -v prints the TAP output always.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "ixvm/cfg.h"
#include "ixvm/pc.h"
#include "ixvm/pgm.h"
#include "ixvm/stam.h"
#include "ixvm/vmm.h"

#define RUN_LOAD_ADDR 0x7c00u
#define RUN_IMAGE_MAX (60u * 1024u)     /* the contract's largest image */
#define RUN_OUT_MAX (256u * 1024u)
#define RUN_TIMEOUT_STATUS 124

/* Port 0xE9 bytes, written on the EMT, read after the loop ended. */
struct run_out {
    uv_mutex_t lock;
    char buf[RUN_OUT_MAX + 1];
    size_t len;
};

static void run_out_write(void *user, const uint8_t *buf, size_t len)
{
    struct run_out *o = user;
    uv_mutex_lock(&o->lock);
    size_t n = len < RUN_OUT_MAX - o->len ? len : RUN_OUT_MAX - o->len;
    memcpy(o->buf + o->len, buf, n);
    o->len += n;
    uv_mutex_unlock(&o->lock);
}

static void run_timeout_cb(uv_timer_t *t)
{
    pc_request_exit(t->data, RUN_TIMEOUT_STATUS, "run_image: timeout");
}

/* Count TAP lines; returns NULL when the output is a pass, else why not. */
static const char *run_tap_verdict(char *text, unsigned *plan_out, unsigned *ok_out)
{
    unsigned plan = 0, ok = 0, lines = 0;
    bool has_plan = false, bad = false, bail = false;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!lines++ && sscanf(l, "1..%u", &plan) == 1)
            has_plan = true;
        else if (!strncmp(l, "ok ", 3))
            ok++;
        else if (!strncmp(l, "not ok", 6))
            bad = true;
        else if (!strncmp(l, "Bail out!", 9))
            bail = true;
    }
    *plan_out = plan;
    *ok_out = ok;
    if (!has_plan)
        return "no TAP plan line first";
    if (bail)
        return "Bail out! (unexpected exception)";
    if (bad)
        return "a check failed (not ok)";
    if (ok != plan)
        return "the number of ok lines does not match the plan";
    return NULL;
}

static int run_read_image(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    *data = malloc(RUN_IMAGE_MAX + 1);
    *len = *data ? fread(*data, 1, RUN_IMAGE_MAX + 1, f) : 0;
    fclose(f);
    if (!*data || *len == 0 || *len > RUN_IMAGE_MAX || *len % 512) {
        fprintf(stderr, "%s: not a guest test image (a multiple of 512 bytes up to 60 KiB)\n", path);
        return -1;
    }
    return 0;
}

static int run_usage(void)
{
    fprintf(stderr, "usage: run_image [-v] [-t SECONDS] [-m MIB] NOBIOS.BIN IMAGE.IMG\n");
    return 2;
}

struct run_args {
    bool verbose;
    double timeout;
    unsigned mem_mib;
    const char *bios, *image;
};

static int run_parse(int argc, char **argv, struct run_args *a)
{
    *a = (struct run_args){ .timeout = 60.0, .mem_mib = 64 };
    int k = 1;
    for (; k < argc && argv[k][0] == '-'; k++) {
        if (!strcmp(argv[k], "-v"))
            a->verbose = true;
        else if (!strcmp(argv[k], "-t") && k + 1 < argc)
            a->timeout = atof(argv[++k]);
        else if (!strcmp(argv[k], "-m") && k + 1 < argc)
            a->mem_mib = (unsigned)atoi(argv[++k]);
        else
            return -1;
    }
    if (argc - k != 2 || a->timeout <= 0 || a->mem_mib < 4)
        return -1;
    a->bios = argv[k];
    a->image = argv[k + 1];
    return 0;
}

/* Build the board, load the image, run until the guest exits (or the timeout). */
static int run_machine(const struct run_args *a, const uint8_t *img, size_t img_len, struct run_out *out,
                       uint64_t *instr, double *secs)
{
    struct ixvm_errinfo err = { 0 };
    struct cfg *cfg = NULL;
    struct pc *pc = NULL;
    char kv[64];
    snprintf(kv, sizeof(kv), "Memory/Size=%uM", a->mem_mib);
    int rc = cfg_create(&cfg);
    if (rc >= 0)
        rc = cfg_set_assignment(cfg, kv, &err);
    struct pc_options po = { .bios_path = a->bios, .debugcon = { run_out_write, out }, .no_reboot = true,
                             .boot_fail_wait_ms = -1 };
    if (rc >= 0)
        rc = pc_create(cfg, &po, &pc, &err);
    if (rc >= 0)
        rc = pgm_phys_write(pc_pgm(pc), RUN_LOAD_ADDR, img, img_len);
    int status = -1;
    if (rc >= 0) {
        struct vm *vm = pc_vm(pc);
        uv_timer_t timer;
        uv_timer_init(vmm_loop(vm), &timer);
        timer.data = pc;
        uv_timer_start(&timer, run_timeout_cb, (uint64_t)(a->timeout * 1000.0), 0);
        uint64_t t0 = uv_hrtime();
        rc = vmm_power_on(vm, &err);
        if (rc >= 0)
            rc = vmm_run_loop(vm);
        *secs = (double)(uv_hrtime() - t0) / 1e9;
        uv_timer_stop(&timer);
        uv_close((uv_handle_t *)&timer, NULL);
        (void)stam_get_value(vmm_stam(vm), "/IEM/CPU0/Instructions", instr);
        const char *why = NULL;
        status = pc_exit_status(pc, &why);
        if (status != 1)
            printf("# machine exit status %d: %s\n", status, why ? why : "(none)");
    }
    if (rc < 0)
        printf("run_image: %s\n", err.msg[0] ? err.msg : "machine error");
    pc_destroy(pc);
    cfg_destroy(cfg);
    return rc < 0 ? -1 : status;
}

int main(int argc, char **argv)
{
    struct run_args a;
    if (run_parse(argc, argv, &a) < 0)
        return run_usage();
    uint8_t *img = NULL;
    size_t img_len = 0;
    if (run_read_image(a.image, &img, &img_len) < 0) {
        free(img);
        return 1;
    }
    struct run_out *out = calloc(1, sizeof(*out));
    if (!out || uv_mutex_init(&out->lock)) {
        free(img);
        return 1;
    }
    uint64_t instr = 0;
    double secs = 0;
    int status = run_machine(&a, img, img_len, out, &instr, &secs);
    free(img);
    out->buf[out->len] = 0;
    char *copy = strdup(out->buf);
    unsigned plan = 0, ok = 0;
    const char *why = copy ? run_tap_verdict(copy, &plan, &ok) : "out of memory";
    if (!why && status != 1)
        why = "the debug-exit status is not 1 ((0 << 1) | 1: all passed)";
    if (why || a.verbose)
        fputs(out->buf, stdout);
    printf("%s %s: %u/%u ok, exit status %d, %llu instructions in %.3f s\n", why ? "FAIL" : "PASS", a.image, ok,
           plan, status, (unsigned long long)instr, secs);
    if (why)
        printf("reason: %s\n", why);
    free(copy);
    uv_mutex_destroy(&out->lock);
    free(out);
    return why ? 1 : 0;
}
