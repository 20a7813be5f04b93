/* SPDX-License-Identifier: MIT */
/*
 * The benchmark guest's main program: runs every workload of wl_table at
 * the scale given by the entry code and prints one "name checksum" line
 * per workload (8 hex digits) on the debug console port 0xE9, between a
 * "bench start" and a "bench end" line (the harness times the lines), then
 * returns to the entry code, which exits.  An unexpected exception prints
 * a "bench fault" line and exits with status 3.
 */
#include <stdint.h>

#include "workloads.h"

#define BENCH_DEBUGCON 0xe9

void bench_outb(uint32_t port, uint32_t val);
void bench_exit(uint32_t code) __attribute__((noreturn));
uint32_t bench_main(uint32_t scale);
void bench_fault(const uint32_t *frame) __attribute__((noreturn));

static void bench_puts(const char *s)
{
    while (*s)
        bench_outb(BENCH_DEBUGCON, (uint8_t)*s++);
}

static void bench_puthex(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[9];
    for (int k = 7; k >= 0; k--) {
        buf[k] = digits[v & 15u];
        v >>= 4;
    }
    buf[8] = 0;
    bench_puts(buf);
}

uint32_t bench_main(uint32_t scale)
{
    bench_puts("bench start\n");
    for (unsigned k = 0; k < wl_count; k++) {
        uint32_t sum = wl_table[k].fn(wl_table[k].rounds_per_scale * scale);
        bench_puts(wl_table[k].name);
        bench_puts(" ");
        bench_puthex(sum);
        bench_puts("\n");
    }
    bench_puts("bench end\n");
    return 0;
}

/* frame: vector, 0, then the CPU's frame (error code when the vector has one). */
void bench_fault(const uint32_t *frame)
{
    bench_puts("bench fault vector ");
    bench_puthex(frame[0]);
    bench_puts(" frame ");
    for (int k = 2; k < 6; k++) {
        bench_puthex(frame[k]);
        bench_puts(" ");
    }
    bench_puts("\n");
    bench_exit(3);
}
