/* SPDX-License-Identifier: MIT */
/*
 * VMM core latency benchmark: median and 99th percentile of an ALL_AT_ONCE
 * rendezvous with 2 and 8 vCPUs, called from an EMT and from a non-EMT
 * thread, and of a synchronous request round trip to a halted EMT.
 * Usage: ixvm-bench-core [iterations]   (default 2000)
 */
#include <stdio.h>
#include <stdlib.h>

#include "ixvm/cfg.h"
#include "ixvm/vmm.h"

struct bench {
    struct vm *vm;
    unsigned iters;
    uint64_t *samples;
};

static int noop_rv(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return 0;
}

static int noop_req(struct vm *vm, struct vcpu *vcpu, void *user)
{
    return 0;
}

static void time_rendezvous(struct bench *b)
{
    for (unsigned i = 0; i < b->iters; i++) {
        uint64_t t0 = uv_hrtime();
        if (vmm_emt_rendezvous(b->vm, VMM_RV_TYPE_ALL_AT_ONCE, noop_rv, NULL) != 0)
            fprintf(stderr, "bench: rendezvous failed\n");
        b->samples[i] = uv_hrtime() - t0;
    }
}

static int rv_on_emt(struct vm *vm, struct vcpu *vcpu, void *user)
{
    time_rendezvous(user);
    return 0;
}

static void time_requests(struct bench *b)
{
    for (unsigned i = 0; i < b->iters; i++) {
        uint64_t t0 = uv_hrtime();
        if (req_call(b->vm, b->vm->ncpus - 1, 0, REQ_INDEFINITE, noop_req, NULL) != 0)
            fprintf(stderr, "bench: request failed\n");
        b->samples[i] = uv_hrtime() - t0;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, unsigned ncpus, struct bench *b)
{
    qsort(b->samples, b->iters, sizeof(uint64_t), cmp_u64);
    uint64_t med = b->samples[b->iters / 2];
    uint64_t p99 = b->samples[(size_t)((b->iters - 1) * 0.99)];
    printf("%-34s %5u %10.1f %10.1f\n", what, ncpus, med / 1000.0, p99 / 1000.0);
}

static struct vm *make_vm(unsigned ncpus)
{
    struct cfg *cfg;
    struct ixvm_errinfo err = { 0 };
    char kv[32];
    struct vm *vm = NULL;
    snprintf(kv, sizeof(kv), "CPU/Count=%u", ncpus);
    if (cfg_create(&cfg) < 0 || cfg_set_assignment(cfg, kv, &err) < 0 || vmm_create(cfg, NULL, &vm, &err) < 0 ||
        vmm_power_on(vm, &err) < 0) {
        fprintf(stderr, "bench: cannot create a %u-vCPU VM: %s\n", ncpus, err.msg);
        exit(1);
    }
    cfg_destroy(cfg);
    return vm;
}

int main(int argc, char **argv)
{
    struct bench b = { .iters = argc > 1 ? (unsigned)atoi(argv[1]) : 2000 };
    if (b.iters < 10)
        b.iters = 10;
    b.samples = calloc(b.iters, sizeof(uint64_t));
    if (!b.samples)
        return 1;
    printf("%-34s %5s %10s %10s\n", "operation", "vCPUs", "median us", "p99 us");
    static const unsigned counts[] = { 2, 8 };
    for (size_t k = 0; k < 2; k++) {
        b.vm = make_vm(counts[k]);
        time_rendezvous(&b);
        report("ALL_AT_ONCE rendezvous (non-EMT)", counts[k], &b);
        if (req_call(b.vm, 0, 0, REQ_INDEFINITE, rv_on_emt, &b) != 0)
            fprintf(stderr, "bench: EMT run failed\n");
        report("ALL_AT_ONCE rendezvous (EMT)", counts[k], &b);
        time_requests(&b);
        report("sync request to a halted EMT", counts[k], &b);
        vmm_destroy(b.vm);
    }
    free(b.samples);
    return 0;
}
