/* SPDX-License-Identifier: MIT */
/*
 * DBGF info registry: named handlers (`info cpu`, `info pic`, ...) that
 * modules register at init and the monitor, gdb qRcmd and --selftest call.
 * Entries are kept sorted by name.  A call looks the entry up under the
 * mutex, marks it busy and runs the handler without the lock, so handlers
 * may themselves call other info items or register new ones; deregistering
 * an entry waits until no call runs it.  (Consequently a handler must not
 * deregister itself.)  "help" is a built-in entry that lists the others.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dbgf.h"

#define DBGF_INFO_NAME_MAX 32

struct dbgf_info_entry {
    char *name;
    char *desc;
    dbgf_info_fn *fn;
    void *user;
    unsigned busy;              /* [lock] calls running the handler now */
    bool dying;                 /* [lock] being deregistered: no new calls */
};

struct dbgf_info_reg {
    pthread_mutex_t lock;
    pthread_cond_t idle;            /* signalled when an entry's busy count drops */
    struct dbgf_info_entry **v;     /* [lock] sorted by name; stable entry addresses */
    size_t n, cap;                  /* [lock] */
};

static void dbgf_info_help(void *user, const struct ixvm_printer *pr, const char *args);

static bool dbgf_info_name_valid(const char *name)
{
    size_t len = name ? strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") : 0;
    return len > 0 && len <= DBGF_INFO_NAME_MAX && name[len] == '\0';
}

/* Index of name, or where it would be inserted. */
static size_t dbgf_info_find(const struct dbgf_info_reg *reg, const char *name, bool *found)
{
    size_t lo = 0, hi = reg->n;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(reg->v[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void dbgf_info_entry_free(struct dbgf_info_entry *e)
{
    free(e->name);
    free(e->desc);
    free(e);
}

int dbgf_info_create(struct dbgf_info_reg **out)
{
    *out = NULL;
    struct dbgf_info_reg *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return IXVM_ERR_NO_MEMORY;
    if (pthread_mutex_init(&reg->lock, NULL) != 0) {
        free(reg);
        return IXVM_ERR_THREAD;
    }
    if (pthread_cond_init(&reg->idle, NULL) != 0) {
        pthread_mutex_destroy(&reg->lock);
        free(reg);
        return IXVM_ERR_THREAD;
    }
    int rc = dbgf_info_register(reg, "help", "List the info items, or describe one (help NAME)",
                                dbgf_info_help, reg);
    if (rc < 0) {
        dbgf_info_destroy(reg);
        return rc;
    }
    *out = reg;
    return 0;
}

/* The caller guarantees no call is running (VM teardown). */
void dbgf_info_destroy(struct dbgf_info_reg *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        dbgf_info_entry_free(reg->v[i]);
    free(reg->v);
    pthread_cond_destroy(&reg->idle);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

static int dbgf_info_insert(struct dbgf_info_reg *reg, struct dbgf_info_entry *e)
{
    bool found;
    size_t pos = dbgf_info_find(reg, e->name, &found);
    if (found)
        return IXVM_ERR_ALREADY_EXISTS;
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 32;
        struct dbgf_info_entry **v = realloc(reg->v, cap * sizeof(*v));
        if (!v)
            return IXVM_ERR_NO_MEMORY;
        reg->v = v;
        reg->cap = cap;
    }
    memmove(&reg->v[pos + 1], &reg->v[pos], (reg->n - pos) * sizeof(*reg->v));
    reg->v[pos] = e;
    reg->n++;
    return 0;
}

int dbgf_info_register(struct dbgf_info_reg *reg, const char *name, const char *desc,
                       dbgf_info_fn *fn, void *user)
{
    if (!reg || !fn || !dbgf_info_name_valid(name))
        return IXVM_ERR_INVALID_PARAMETER;
    struct dbgf_info_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return IXVM_ERR_NO_MEMORY;
    e->name = strdup(name);
    e->desc = strdup(desc ? desc : "");
    e->fn = fn;
    e->user = user;
    int rc = IXVM_ERR_NO_MEMORY;
    if (e->name && e->desc) {
        pthread_mutex_lock(&reg->lock);
        rc = dbgf_info_insert(reg, e);
        pthread_mutex_unlock(&reg->lock);
    }
    if (rc < 0)
        dbgf_info_entry_free(e);
    return rc;
}

int dbgf_info_deregister(struct dbgf_info_reg *reg, const char *name)
{
    if (!reg || !name)
        return IXVM_ERR_INVALID_PARAMETER;
    pthread_mutex_lock(&reg->lock);
    bool found;
    size_t pos = dbgf_info_find(reg, name, &found);
    if (!found || reg->v[pos]->dying) {
        pthread_mutex_unlock(&reg->lock);
        return IXVM_ERR_NOT_FOUND;
    }
    struct dbgf_info_entry *e = reg->v[pos];
    e->dying = true;
    while (e->busy)
        pthread_cond_wait(&reg->idle, &reg->lock);
    /* The array may have moved while we waited: look the entry up again. */
    pos = dbgf_info_find(reg, name, &found);
    memmove(&reg->v[pos], &reg->v[pos + 1], (reg->n - pos - 1) * sizeof(*reg->v));
    reg->n--;
    pthread_mutex_unlock(&reg->lock);
    dbgf_info_entry_free(e);
    return 0;
}

static void dbgf_info_discard(void *user, const char *text)
{
}

int dbgf_info_call(struct dbgf_info_reg *reg, const char *name, const char *args,
                   const struct ixvm_printer *pr)
{
    static const struct ixvm_printer discard = { dbgf_info_discard, NULL };
    if (!pr)
        pr = &discard;
    if (!reg || !name)
        return IXVM_ERR_INVALID_PARAMETER;
    pthread_mutex_lock(&reg->lock);
    bool found;
    size_t pos = dbgf_info_find(reg, name, &found);
    struct dbgf_info_entry *e = found && !reg->v[pos]->dying ? reg->v[pos] : NULL;
    if (e)
        e->busy++;
    pthread_mutex_unlock(&reg->lock);
    if (!e) {
        ixvm_pr(pr, "unknown info item '%.64s'; try 'info help'\n", name);
        return IXVM_ERR_NOT_FOUND;
    }
    e->fn(e->user, pr, args ? args : "");
    pthread_mutex_lock(&reg->lock);
    if (--e->busy == 0 && e->dying)
        pthread_cond_broadcast(&reg->idle);
    pthread_mutex_unlock(&reg->lock);
    return 0;
}

static size_t dbgf_info_name_width(const struct dbgf_info_reg *reg)
{
    size_t w = 0;
    for (size_t i = 0; i < reg->n; i++) {
        size_t l = strlen(reg->v[i]->name);
        w = l > w ? l : w;
    }
    return w;
}

/*
 * Printing under the lock keeps the list consistent; a printer must not
 * call back into this registry (none does: printers only emit text).
 */
void dbgf_info_list(struct dbgf_info_reg *reg, const struct ixvm_printer *pr)
{
    if (!reg || !pr)
        return;
    pthread_mutex_lock(&reg->lock);
    int w = (int)dbgf_info_name_width(reg);
    for (size_t i = 0; i < reg->n; i++)
        if (!reg->v[i]->dying)
            ixvm_pr(pr, "%-*s  %s\n", w, reg->v[i]->name, reg->v[i]->desc);
    pthread_mutex_unlock(&reg->lock);
}

/* Built-in "help": the whole list, or "NAME  description" for "help NAME". */
static void dbgf_info_help(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct dbgf_info_reg *reg = user;
    char name[DBGF_INFO_NAME_MAX + 2];
    args += strspn(args, " \t");
    size_t len = strcspn(args, " \t\r\n");
    if (len == 0) {
        dbgf_info_list(reg, pr);
        return;
    }
    if (len >= sizeof(name))
        len = sizeof(name) - 1;
    memcpy(name, args, len);
    name[len] = '\0';
    pthread_mutex_lock(&reg->lock);
    bool found;
    size_t pos = dbgf_info_find(reg, name, &found);
    if (found && !reg->v[pos]->dying)
        ixvm_pr(pr, "%s  %s\n", reg->v[pos]->name, reg->v[pos]->desc);
    else
        ixvm_pr(pr, "unknown info item '%s'; try 'info help'\n", name);
    pthread_mutex_unlock(&reg->lock);
}
