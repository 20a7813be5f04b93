/* SPDX-License-Identifier: MIT */
/* Status-code names and messages, generated from err.def; status merging. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ixvm/types.h"

struct err_desc {
    int code;
    const char *name;
    const char *msg;
};

static const struct err_desc err_table[] = {
    { 0, "IXVM_OK", "success" },
#define IXVM_ERR_X(name, val, msg) { (val), #name, (msg) },
#include "ixvm/err.def"
#undef IXVM_ERR_X
};

static const struct err_desc *err_find(int rc)
{
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(err_table); i++)
        if (err_table[i].code == rc)
            return &err_table[i];
    return NULL;
}

const char *ixvm_strerror(int rc)
{
    const struct err_desc *d = err_find(rc);
    return d ? d->msg : "unknown status";
}

const char *ixvm_status_name(int rc)
{
    const struct err_desc *d = err_find(rc);
    return d ? d->name : NULL;
}

int ixvm_status_merge(int a, int b)
{
    if (a < 0)
        return a;
    if (b < 0)
        return b;
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    /* Both informational: the lower value is the more important one. */
    return a < b ? a : b;
}

static void printer_file_print(void *user, const char *text)
{
    fputs(text, (FILE *)user);
}

struct ixvm_printer ixvm_printer_file(void *file)
{
    struct ixvm_printer pr = { printer_file_print, file };
    return pr;
}

void ixvm_pr(const struct ixvm_printer *pr, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(buf)) {
        pr->print(pr->user, buf);
        return;
    }
    /* Long output: format again into a heap buffer of the right size. */
    char *big = malloc((size_t)n + 1);
    if (!big)
        return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    pr->print(pr->user, big);
    free(big);
}

int ixvm_errinfo_set(struct ixvm_errinfo *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->rc = rc;
    }
    return rc;
}
