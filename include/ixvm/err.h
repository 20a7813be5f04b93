/* SPDX-License-Identifier: MIT */
/*
 * Status codes.  Every ixvm function that can fail returns int: 0 for
 * success, a negative IXVM_ERR_* for failure, a positive IXVM_INF_* for an
 * informational (scheduling) status.  The codes live in err.def.
 */
#ifndef IXVM_ERR_H
#define IXVM_ERR_H

enum ixvm_status {
    IXVM_OK = 0,
#define IXVM_ERR_X(name, val, msg) name = (val),
#include "ixvm/err.def"
#undef IXVM_ERR_X
};

#define IXVM_SUCCESS(rc) ((rc) >= 0)
#define IXVM_FAILURE(rc) ((rc) < 0)
#define IXVM_IS_EM_STATUS(rc) ((rc) >= IXVM_INF_EM_TERMINATE && (rc) <= IXVM_INF_EM_LAST)

/* Human-readable message for a status ("unknown status" for others). */
const char *ixvm_strerror(int rc);
/* Symbolic name ("IXVM_ERR_TIMEOUT"), or NULL when the code is unknown. */
const char *ixvm_status_name(int rc);

/*
 * Merge two statuses as rendezvous and all-CPU requests do: an error beats
 * every non-error (the first error is kept), among informational EM statuses
 * the lowest (most important) wins, and anything beats 0.
 */
int ixvm_status_merge(int a, int b);

#endif
