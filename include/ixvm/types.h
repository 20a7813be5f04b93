/* SPDX-License-Identifier: MIT */
/* Basic types and compiler helpers shared by every module. */
#ifndef IXVM_TYPES_H
#define IXVM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ixvm/err.h"

/* Guest addresses get their own types so intent is visible (STYLE.md 8). */
typedef uint64_t gphys_t;   /* guest-physical address */
typedef uint32_t glin_t;    /* guest-linear address (32-bit CPU) */

#define IXVM_LIKELY(x)   __builtin_expect(!!(x), 1)
#define IXVM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define IXVM_WUR         __attribute__((warn_unused_result))
#define IXVM_COLD        __attribute__((cold, noinline))
#define IXVM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define IXVM_UNUSED      __attribute__((unused))
#define IXVM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define IXVM_MAX_CPUS 64

/*
 * Error details for the user: the status plus one line that names the thing
 * and the reason ("Memory/Size: value 5 is below the minimum 16").
 */
struct ixvm_errinfo {
    int rc;
    char msg[512];
};
/* Record rc and a formatted message in err (err may be NULL); returns rc. */
int ixvm_errinfo_set(struct ixvm_errinfo *err, int rc, const char *fmt, ...) IXVM_PRINTF(3, 4);

/* A sink for text output (info handlers, monitor, stats dumps). */
struct ixvm_printer {
    void (*print)(void *user, const char *text);
    void *user;
};
void ixvm_pr(const struct ixvm_printer *pr, const char *fmt, ...) IXVM_PRINTF(2, 3);
/* A printer that appends to a FILE *. */
struct ixvm_printer ixvm_printer_file(void *file /* FILE * */);

#endif
