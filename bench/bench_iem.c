/* SPDX-License-Identifier: MIT */
/*
 * ixvm-bench-iem: runs the benchmark guest (bench/guest, bench.bin) on the
 * IEM interpreter through its test harness, without a BIOS or board: the
 * flat image is loaded at its link address (1 MiB), the scale word at
 * +12 may be patched, and the vCPU starts at +16 in flat 32-bit protected
 * mode the way a multiboot loader leaves it (EAX = 0x2BADB002, EBX = 0).
 * Port 0xE9 collects the guest's lines, port 0xF4 (isa-debug-exit) its exit
 * status.  Prints the guest's lines, then "@ixvm" summary lines for
 * bench/run-bench.sh: per workload the checksum, retired instructions,
 * seconds and MIPS, the totals, and the process CPU time ("@ixvm cpu
 * seconds MIPS": less sensitive to other load on a shared host).  --check also runs the same workloads
 * natively (bench/guest/workloads.c built for the host) and fails unless
 * every checksum matches.
 *
 * Usage: ixvm-bench-iem [--check] [--scale N] [--quiet] bench.bin
 * Exit: 0 ok, 1 guest error or checksum mismatch, 2 usage / host error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest/workloads.h"
#include "ixvm/iem.h"
#include "ixvm/iom.h"

#define BENCH_LOAD      0x100000u
#define BENCH_SCALE_OFF 12u
#define BENCH_ENTRY_OFF 16u
#define BENCH_RAM_MIB   32u
#define BENCH_MAX_LINES 64u
#define BENCH_LINE_MAX  128u

struct bench_line {
    char text[BENCH_LINE_MAX];
    uint64_t instr;   /* retired when the line ended */
    double t;         /* seconds since the start */
};

struct bench_run {
    struct iem_cpu *cpu;
    struct timespec t0;
    char cur[BENCH_LINE_MAX];
    unsigned cur_len;
    struct bench_line lines[BENCH_MAX_LINES];
    unsigned nlines;
    bool exited, quiet;
    uint32_t exit_code;
};

static double bench_elapsed(const struct bench_run *r)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - r->t0.tv_sec) + (double)(t.tv_nsec - r->t0.tv_nsec) * 1e-9;
}

static int bench_con_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct bench_run *r = dev;
    char ch = (char)(val & 0xffu);
    if (ch != '\n') {
        if (r->cur_len + 1 < BENCH_LINE_MAX)
            r->cur[r->cur_len++] = ch;
        return 0;
    }
    r->cur[r->cur_len] = 0;
    if (!r->quiet)
        printf("%s\n", r->cur);
    if (r->nlines < BENCH_MAX_LINES) {
        struct bench_line *l = &r->lines[r->nlines++];
        memcpy(l->text, r->cur, r->cur_len + 1);
        l->instr = iem_instructions(r->cpu);
        l->t = bench_elapsed(r);
    }
    r->cur_len = 0;
    return 0;
}

static int bench_exit_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct bench_run *r = dev;
    r->exited = true;
    r->exit_code = val;
    return 0;
}

static int bench_con_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    *val = 0xe9;   /* Bochs-style port 0xE9 read-back: "present" */
    return 0;
}

static int bench_exit_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    *val = 0xffffffffu;
    return 0;
}

static const struct iom_port_ops bench_con_ops = { .read = bench_con_read, .write = bench_con_write };
static const struct iom_port_ops bench_exit_ops = { .read = bench_exit_read, .write = bench_exit_write };

static uint8_t *bench_load_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ixvm-bench-iem: cannot open guest image %s\n", path);
        return NULL;
    }
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 16 && n < (long)((BENCH_RAM_MIB << 20) - BENCH_LOAD) && fseek(f, 0, SEEK_SET) == 0) {
            buf = malloc((size_t)n);
            if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            }
            *len = (size_t)n;
        }
    }
    fclose(f);
    if (!buf)
        fprintf(stderr, "ixvm-bench-iem: %s: not a benchmark image (size or read error)\n", path);
    return buf;
}

/* Find the guest line "name checksum" of workload k. */
static const struct bench_line *bench_find(const struct bench_run *r, const char *name, unsigned *idx)
{
    size_t n = strlen(name);
    for (unsigned k = 0; k < r->nlines; k++)
        if (strncmp(r->lines[k].text, name, n) == 0 && r->lines[k].text[n] == ' ') {
            *idx = k;
            return &r->lines[k];
        }
    return NULL;
}

static int bench_report(const struct bench_run *r, uint32_t scale, bool check, double total_t,
                        uint64_t total_i)
{
    int bad = 0;
    unsigned start = 0;
    for (unsigned k = 0; k < r->nlines; k++)
        if (strcmp(r->lines[k].text, "bench start") == 0)
            start = k;
    for (unsigned w = 0; w < wl_count; w++) {
        unsigned idx;
        const struct bench_line *l = bench_find(r, wl_table[w].name, &idx);
        if (!l || idx == 0) {
            printf("@ixvm missing %s\n", wl_table[w].name);
            bad = 1;
            continue;
        }
        const struct bench_line *p = &r->lines[idx - 1 >= start ? idx - 1 : start];
        uint64_t di = l->instr - p->instr;
        double dt = l->t - p->t;
        const char *sum = l->text + strlen(wl_table[w].name) + 1;
        printf("@ixvm wl %s %s %llu %.6f %.1f\n", wl_table[w].name, sum, (unsigned long long)di, dt,
               dt > 0 ? (double)di / dt / 1e6 : 0.0);
        if (check) {
            char want[16];
            snprintf(want, sizeof(want), "%08x", wl_table[w].fn(wl_table[w].rounds_per_scale * scale));
            if (strcmp(want, sum) != 0) {
                printf("@ixvm MISMATCH %s: guest %s, host %s\n", wl_table[w].name, sum, want);
                bad = 1;
            }
        }
    }
    printf("@ixvm total %llu %.6f %.1f\n", (unsigned long long)total_i, total_t,
           total_t > 0 ? (double)total_i / total_t / 1e6 : 0.0);
    return bad;
}

static int bench_usage(void)
{
    fprintf(stderr, "usage: ixvm-bench-iem [--check] [--scale N] [--quiet] bench.bin\n");
    return 2;
}

int main(int argc, char **argv)
{
    bool check = false, quiet = false;
    long scale = -1;
    const char *path = NULL;
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--check") == 0)
            check = true;
        else if (strcmp(argv[k], "--quiet") == 0)
            quiet = true;
        else if (strcmp(argv[k], "--scale") == 0 && k + 1 < argc) {
            char *end;
            scale = strtol(argv[++k], &end, 0);
            if (*end || scale <= 0 || scale > 100000)
                return bench_usage();
        } else if (argv[k][0] != '-' && !path)
            path = argv[k];
        else
            return bench_usage();
    }
    if (!path)
        return bench_usage();
    size_t len = 0;
    uint8_t *img = bench_load_file(path, &len);
    if (!img)
        return 2;
    if (scale > 0) {
        uint32_t s32 = (uint32_t)scale;
        memcpy(img + BENCH_SCALE_OFF, &s32, 4);
    }
    uint32_t used_scale;
    memcpy(&used_scale, img + BENCH_SCALE_OFF, 4);

    struct iem_test *t;
    static struct bench_run run;
    run.quiet = quiet;
    if (iem_test_create(&t, BENCH_RAM_MIB) != 0) {
        fprintf(stderr, "ixvm-bench-iem: cannot create the test machine\n");
        free(img);
        return 2;
    }
    run.cpu = iem_test_cpu(t);
    int rc = iem_test_write(t, BENCH_LOAD, img, len);
    free(img);
    if (rc == 0)
        rc = iom_map_ports(iem_test_iom(t), 0xe9, 1, &bench_con_ops, &run, "bench-debugcon");
    if (rc == 0)
        rc = iom_map_ports(iem_test_iom(t), 0xf4, 4, &bench_exit_ops, &run, "bench-exit");
    if (rc != 0) {
        fprintf(stderr, "ixvm-bench-iem: cannot set up the guest (status %d)\n", rc);
        iem_test_destroy(t);
        return 2;
    }
    iem_test_setup_flat32(t, BENCH_LOAD + BENCH_ENTRY_OFF, 0x80000);
    struct cpum_state *s = iem_test_state(t);
    s->gpr[CPUM_EAX] = 0x2badb002u;
    s->gpr[CPUM_EBX] = 0;

    uint64_t i0 = iem_instructions(run.cpu);
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    clock_gettime(CLOCK_MONOTONIC, &run.t0);
    int status = 0;
    while (!run.exited) {
        rc = iem_exec(run.cpu, 1 << 24);
        if (rc == 0 || rc == IXVM_INF_EM_RESCHEDULE)
            continue;
        if (rc == IXVM_INF_EM_HALT && run.exited)
            break;
        struct iem_xcpt_info x;
        iem_last_xcpt(run.cpu, &x);
        fprintf(stderr, "ixvm-bench-iem: guest stopped without exit (status %d) at EIP %#x; "
                "last exception vector %u error %#x (%llu delivered)\n", rc, s->eip, x.vector, x.error,
                (unsigned long long)x.count);
        uint32_t frame[4] = { 0 };
        if (iem_test_read(t, s->gpr[CPUM_ESP], frame, sizeof(frame)) == 0)
            fprintf(stderr, "ixvm-bench-iem: stack at ESP %#x: %08x %08x %08x %08x\n", s->gpr[CPUM_ESP],
                    frame[0], frame[1], frame[2], frame[3]);
        status = 1;
        break;
    }
    double total_t = bench_elapsed(&run);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    uint64_t total_i = iem_instructions(run.cpu) - i0;
    double cpu_t = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
    printf("@ixvm cpu %.6f %.1f\n", cpu_t, cpu_t > 0 ? (double)total_i / cpu_t / 1e6 : 0.0);
    if (run.exited && run.exit_code != 0) {
        fprintf(stderr, "ixvm-bench-iem: guest exit status %u\n", run.exit_code);
        status = 1;
    }
    if (bench_report(&run, used_scale, check, total_t, total_i))
        status = 1;
    if (check)
        printf("@ixvm check %s (scale %u)\n", status ? "FAILED" : "passed", used_scale);
    iem_test_destroy(t);
    return status;
}
