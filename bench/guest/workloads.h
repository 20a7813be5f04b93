/* SPDX-License-Identifier: MIT */
/*
 * The benchmark workloads (bench/guest/workloads.c): pure, deterministic
 * integer code that is compiled twice, for the 32-bit freestanding guest
 * and natively on the host, so the host build gives the checksums the
 * emulators must print.  Every workload runs `iters * scale` rounds and
 * returns a 32-bit checksum that depends on every round.
 */
#ifndef IXVM_BENCH_WORKLOADS_H
#define IXVM_BENCH_WORKLOADS_H

#include <stdint.h>

struct wl_desc {
    const char *name;
    uint32_t (*fn)(uint32_t rounds);
    uint32_t rounds_per_scale;   /* rounds at scale 1 */
};

/* The workloads in the order the guest runs them. */
extern const struct wl_desc wl_table[];
extern const unsigned wl_count;

#endif
