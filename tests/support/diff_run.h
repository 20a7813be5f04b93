/* SPDX-License-Identifier: MIT */
/*
 * Differential tester, driver: generates cases, runs each on the host and
 * on a target (the interpreter), compares registers, flags, EIP, the
 * exception vector and the data window, prints every mismatch with both
 * states, and sums the results per instruction family.
 *
 * Options come from the environment (docs/difftest.md):
 *   DIFF_SEED, DIFF_CASES, DIFF_FIRST    which cases (case i depends only on seed, i)
 *   DIFF_FAMILY=alu,shift                only these families
 *   DIFF_STRICT_UNDEF=1                  compare SDM-undefined flags too
 *   DIFF_REQUIRE_ALL=1                   #UD from the target counts as a mismatch
 *   DIFF_MAX_REPORTS=n                   detailed reports printed (default 20)
 */
#ifndef IXVM_TESTS_DIFF_RUN_H
#define IXVM_TESTS_DIFF_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "diff_gen.h"
#include "diff_host.h"

/* The machine compared against the host. */
struct diff_target {
    const char *name;
    void *ctx;
    /* Run c (same layout as the host) and fill out; return 0 or an error. */
    int (*run)(void *ctx, const struct diff_case *c, struct diff_out *out);
};

struct diff_opts {
    uint64_t seed;
    uint64_t first;          /* first case index */
    uint64_t cases;
    bool strict_undef;
    bool require_all;
    unsigned max_reports;
    const char *families;    /* comma-separated family names, or NULL for all */
    FILE *out;               /* reports and the summary (stderr if NULL) */
};

#define DIFF_DEFAULT_SEED 0x1d1ffe5eedull

/* Defaults (seed DIFF_DEFAULT_SEED, default_cases) overridden by DIFF_* env. */
void diff_opts_from_env(struct diff_opts *o, uint64_t default_cases);

struct diff_fam_stats {
    const char *family;
    uint64_t cases;
    uint64_t passed;
    uint64_t mismatches;
    uint64_t unimplemented;   /* the target raised #UD, the host did not */
    uint64_t host_faults;     /* both raised the same exception (e.g. #DE) */
    uint64_t udf_diffs;       /* differed only in SDM-undefined flags (masked) */
    uint64_t first_mismatch;  /* case index of the first mismatch */
};

#define DIFF_MAX_FAMILIES 40

struct diff_summary {
    uint64_t cases;
    uint64_t mismatches;
    uint64_t unimplemented;
    uint64_t gen_errors;      /* host faults the generator should have avoided */
    uint64_t errors;          /* target/host returned an error status */
    double seconds;
    unsigned nfam;
    struct diff_fam_stats fam[DIFF_MAX_FAMILIES];
    /* Per template and sub-op: cases that differed in undefined flags, and
     * the union of the differing bits (diff_tmpl_count * 16 entries). */
    uint32_t *udf_count;
    uint32_t *udf_bits;
};

/*
 * Run o->cases cases.  target may be NULL: host only (checks the generator:
 * every host fault must be one the case expects).  Returns 0 if the run
 * itself worked (see the summary for the verdict) or an error.
 */
int diff_run(struct diff_host *h, const struct diff_target *target, const struct diff_opts *o,
             struct diff_summary *s) IXVM_WUR;
void diff_summary_free(struct diff_summary *s);
void diff_print_summary(const struct diff_summary *s, const struct diff_opts *o);

/* Print one case's input and the two outputs, marking the differences. */
void diff_print_case(FILE *f, const struct diff_case *c, const struct diff_out *host,
                     const struct diff_out *target, const char *target_name);

#endif
