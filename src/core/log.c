/* SPDX-License-Identifier: MIT */
/*
 * Logging: group table, spec and destination parsing, the release logger,
 * thread attach/detach, lifecycle (init/term, re-init for tests) and
 * statistics.  The buffer rings and the flusher live in log_ring.c; the
 * design is described in docs/logging.md and ARCHITECTURE.md "Logging".
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log_internal.h"

_Static_assert(LOG_GROUP_COUNT <= 64, "group sets are 64-bit masks");

uint8_t log_group_flags[LOG_GROUP_COUNT];   /* [any, atomic] written by log_set_spec */

struct log_state log_g = { .dbg_fd = -1, .dbg_stderr = true, .rel_fd = -1 };

/* Serializes init, term, log_set_spec and log_set_dest.  Static so that it
 * exists before log_init and survives log_term. */
static pthread_mutex_t log_cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static uv_once_t log_once = UV_ONCE_INIT;

static _Thread_local struct log_thread *log_tls;   /* [owner thread] attached ring */
static _Thread_local uint32_t log_tls_gen;         /* log_g.gen when attached */

struct log_group_info {
    const char *name;
    const char *desc;
};

static const struct log_group_info log_groups[LOG_GROUP_COUNT] = {
#define LOG_GROUP_X(id, name, desc) [LOG_GROUP_##id] = { name, desc },
#include "ixvm/log_groups.def"
#undef LOG_GROUP_X
};

/* Spec flag names.  "e"/"l1" also turn on warnings (log_groups.def). */
struct log_flag_info {
    const char *name;
    uint8_t bits;
};

static const struct log_flag_info log_flags[] = {
    { "e",  LOG_LVL_E | LOG_LVL_WARN },
    { "l1", LOG_LVL_L1 | LOG_LVL_WARN },
    { "l2", LOG_LVL_L2 },
    { "l3", LOG_LVL_L3 },
    { "l4", LOG_LVL_L4 },
    { "l5", LOG_LVL_L5 },
    { "l6", LOG_LVL_L6 },
    { "f",  LOG_LVL_FLOW },
    { "w",  LOG_LVL_WARN },
};

static void log_once_init(void)
{
    if (uv_mutex_init(&log_g.list_mtx) || uv_mutex_init(&log_g.shared_mtx) ||
        uv_mutex_init(&log_g.dest_mtx) || uv_mutex_init(&log_g.rel_mtx) ||
        uv_mutex_init(&log_g.wake_mtx) || uv_cond_init(&log_g.wake_cond) ||
        uv_cond_init(&log_g.done_cond))
        abort();   /* cannot happen with default pthread attributes */
}

static void log_ensure_once(void)
{
    uv_once(&log_once, log_once_init);
}

const char *log_group_name(unsigned group)
{
    return group < LOG_GROUP_COUNT ? log_groups[group].name : NULL;
}

const char *log_group_desc(unsigned group)
{
    return group < LOG_GROUP_COUNT ? log_groups[group].desc : NULL;
}

/* ---------------------------------------------------------------------- */
/* Output                                                                  */

static void log_write_fd(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;   /* nowhere left to report a failing log device */
        }
        data += n;
        len -= (size_t)n;
    }
}

void log_out_debug(const char *data, size_t len)
{
    uv_mutex_lock(&log_g.dest_mtx);
    if (log_g.dbg_stderr)
        log_write_fd(STDERR_FILENO, data, len);
    if (log_g.dbg_fd >= 0)
        log_write_fd(log_g.dbg_fd, data, len);
    uv_mutex_unlock(&log_g.dest_mtx);
}

void log_out_release(const char *line, size_t len)
{
    uv_mutex_lock(&log_g.rel_mtx);
    log_write_fd(log_g.rel_fd >= 0 ? log_g.rel_fd : STDERR_FILENO, line, len);
    uv_mutex_unlock(&log_g.rel_mtx);
}

static char *log_put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10u)
        p[i] = (char)('0' + v % 10u);
    return p + width;
}

/*
 * "HH:MM:SS.uuuuuu id group: " with the time since log_init.  Formatted by
 * hand: this runs for every entry and snprintf was most of its cost.
 * Returns the length, or a value >= size when it does not fit.
 */
int log_fmt_prefix(char *dst, size_t size, const char *id, unsigned group)
{
    uint64_t ns = uv_hrtime() - atomic_load_explicit(&log_g.t0, memory_order_relaxed);
    uint64_t us = ns / 1000u, s = us / 1000000u;
    const char *name = group < LOG_GROUP_COUNT ? log_groups[group].name : "?";
    size_t id_len = strlen(id), name_len = strlen(name);
    size_t len = 16 + id_len + 1 + name_len + 2;
    if (s >= 100u * 3600u || len >= size)   /* 100 h and more: rare, take the slow way */
        return snprintf(dst, size, "%02u:%02u:%02u.%06u %s %s: ", (unsigned)(s / 3600u),
                        (unsigned)(s / 60u % 60u), (unsigned)(s % 60u), (unsigned)(us % 1000000u),
                        id, name);
    char *p = log_put_digits(dst, (unsigned)(s / 3600u), 2);
    *p++ = ':';
    p = log_put_digits(p, (unsigned)(s / 60u % 60u), 2);
    *p++ = ':';
    p = log_put_digits(p, (unsigned)(s % 60u), 2);
    *p++ = '.';
    p = log_put_digits(p, (unsigned)(us % 1000000u), 6);
    *p++ = ' ';
    memcpy(p, id, id_len);
    p += id_len;
    *p++ = ' ';
    memcpy(p, name, name_len);
    p += name_len;
    *p++ = ':';
    *p++ = ' ';
    *p = '\0';
    return (int)len;
}

static int log_open_file(const char *path, const char *what, int *fd, struct ixvm_errinfo *err)
{
    *fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (*fd < 0)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot open %s '%s': %s", what, path,
                                strerror(errno));
    return 0;
}

/* Next token of s separated by any of seps; NULL at the end. */
static const char *log_next_token(const char *s, const char *seps, size_t *len)
{
    s += strspn(s, seps);
    if (!*s)
        return NULL;
    *len = strcspn(s, seps);
    return s;
}

/* ---------------------------------------------------------------------- */
/* Destinations                                                            */

struct log_dest {
    bool to_stderr;
    int fd;
};

static int log_dest_parse(const char *dest, struct log_dest *d, struct ixvm_errinfo *err)
{
    static const char seps[] = " \t\n";
    d->to_stderr = dest[strspn(dest, seps)] == '\0';   /* blank: the default, stderr */
    d->fd = -1;
    size_t len;
    int rc = 0;
    for (const char *tok = dest; rc == 0 && (tok = log_next_token(tok, seps, &len)); tok += len) {
        if (len == 6 && !strncmp(tok, "stderr", 6)) {
            d->to_stderr = true;
        } else if (len == 4 && !strncmp(tok, "none", 4)) {
            /* nothing: explicitly no debug output */
        } else if (len > 5 && !strncmp(tok, "file=", 5) && d->fd < 0) {
            char path[4096];
            if (len - 5 >= sizeof(path))
                return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                        "log destination: path too long");
            memcpy(path, tok + 5, len - 5);
            path[len - 5] = '\0';
            rc = log_open_file(path, "log file", &d->fd, err);
        } else {
            rc = ixvm_errinfo_set(err, IXVM_ERR_SYNTAX,
                                  "log destination: bad item '%.*s' (expected stderr, "
                                  "file=PATH or none; at most one file)", (int)len, tok);
        }
    }
    if (rc < 0 && d->fd >= 0)
        close(d->fd);
    return rc;
}

static void log_dest_commit(const struct log_dest *d)
{
    uv_mutex_lock(&log_g.dest_mtx);
    int old = log_g.dbg_fd;
    log_g.dbg_fd = d->fd;
    log_g.dbg_stderr = d->to_stderr;
    atomic_store(&log_g.dbg_has_file, d->fd >= 0);
    uv_mutex_unlock(&log_g.dest_mtx);
    if (old >= 0)
        close(old);
}

int log_set_dest(const char *dest, struct ixvm_errinfo *err)
{
    if (!dest)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "log destination: none given");
    log_ensure_once();
    struct log_dest d;
    pthread_mutex_lock(&log_cfg_lock);
    int rc = log_dest_parse(dest, &d, err);
    if (rc == 0) {
        log_flush();   /* what was logged so far goes to the old destination */
        log_dest_commit(&d);
    }
    pthread_mutex_unlock(&log_cfg_lock);
    return rc;
}

static void log_rel_commit(int fd)
{
    uv_mutex_lock(&log_g.rel_mtx);
    int old = log_g.rel_fd;
    log_g.rel_fd = fd;
    uv_mutex_unlock(&log_g.rel_mtx);
    if (old >= 0)
        close(old);
}

/* ---------------------------------------------------------------------- */
/* Spec                                                                    */

/* Set of groups matching name: "all", "prefix*" or an exact name. */
static uint64_t log_spec_groups(const char *name, size_t len)
{
    if (len == 3 && !strncasecmp(name, "all", 3))
        return UINT64_MAX >> (64 - LOG_GROUP_COUNT);
    bool prefix = len > 0 && name[len - 1] == '*';
    size_t cmp = prefix ? len - 1 : len;
    uint64_t set = 0;
    for (unsigned g = 0; g < LOG_GROUP_COUNT; g++) {
        const char *gn = log_groups[g].name;
        if (!strncasecmp(gn, name, cmp) && (prefix || gn[cmp] == '\0'))
            set |= UINT64_C(1) << g;
    }
    return set;
}

static int log_spec_flag(const char *tok, size_t len, uint8_t *bits)
{
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(log_flags); i++) {
        if (strlen(log_flags[i].name) == len && !strncasecmp(log_flags[i].name, tok, len)) {
            *bits |= log_flags[i].bits;
            return 0;
        }
    }
    return IXVM_ERR_SYNTAX;
}

/* One item "[+|-]group[.flag...]" applied to flags. */
static int log_spec_item(uint8_t *flags, const char *item, size_t len, struct ixvm_errinfo *err)
{
    const char *p = item, *end = item + len;
    bool minus = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    const char *dot = memchr(p, '.', (size_t)(end - p));
    const char *name_end = dot ? dot : end;
    if (name_end == p)
        return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "log spec: missing group name in '%.*s'",
                                (int)len, item);
    uint64_t groups = log_spec_groups(p, (size_t)(name_end - p));
    if (!groups)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "log spec: unknown group '%.*s' in '%.*s'",
                                (int)(name_end - p), p, (int)len, item);
    uint8_t bits = 0;
    for (const char *f = dot; f; f = memchr(f + 1, '.', (size_t)(end - f - 1))) {
        const char *f_end = memchr(f + 1, '.', (size_t)(end - f - 1));
        size_t flen = (size_t)((f_end ? f_end : end) - (f + 1));
        if (log_spec_flag(f + 1, flen, &bits) < 0)
            return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX,
                                    "log spec: unknown flag '%.*s' in '%.*s' (flags: e l1 l2 l3 "
                                    "l4 l5 l6 f w)", (int)flen, f + 1, (int)len, item);
    }
    if (!dot)
        bits = minus ? 0xff : (LOG_LVL_E | LOG_LVL_WARN);
    for (unsigned g = 0; g < LOG_GROUP_COUNT; g++) {
        if (groups & (UINT64_C(1) << g))
            flags[g] = minus ? (uint8_t)(flags[g] & ~bits) : (uint8_t)(flags[g] | bits);
    }
    return 0;
}

/* Parse a whole spec into flags (starting from nothing enabled). */
static int log_spec_parse(const char *spec, uint8_t *flags, struct ixvm_errinfo *err)
{
    static const char seps[] = " \t\n,;";
    memset(flags, 0, LOG_GROUP_COUNT);
    size_t len;
    for (const char *tok = spec; (tok = log_next_token(tok, seps, &len)); tok += len) {
        int rc = log_spec_item(flags, tok, len, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void log_spec_commit(const uint8_t *flags)
{
    for (unsigned g = 0; g < LOG_GROUP_COUNT; g++)
        __atomic_store_n(&log_group_flags[g], flags[g], __ATOMIC_RELAXED);
}

int log_set_spec(const char *spec, struct ixvm_errinfo *err)
{
    if (!spec)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "log spec: none given");
    uint8_t flags[LOG_GROUP_COUNT];
    pthread_mutex_lock(&log_cfg_lock);
    int rc = log_spec_parse(spec, flags, err);
    if (rc == 0)
        log_spec_commit(flags);   /* all or nothing: a bad item changes nothing */
    pthread_mutex_unlock(&log_cfg_lock);
    return rc;
}

/* A small append-only string builder that truncates safely. */
struct log_sb {
    char *buf;
    size_t size, len;
};

static void log_sb_add(struct log_sb *sb, const char *fmt, ...) IXVM_PRINTF(2, 3);
static void log_sb_add(struct log_sb *sb, const char *fmt, ...)
{
    if (sb->len >= sb->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb->len = sb->len + (size_t)n < sb->size ? sb->len + (size_t)n : sb->size - 1;
}

/* "name.<flags>" adding bits; a following "-name.w" when e is on without w. */
static void log_sb_item(struct log_sb *sb, const char *name, uint8_t bits)
{
    uint8_t want = bits;
    if (bits & LOG_LVL_E)
        bits |= LOG_LVL_WARN;    /* "e" brings w along */
    log_sb_add(sb, "%s%s", sb->len ? " " : "", name);
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(log_flags); i++) {
        uint8_t fb = log_flags[i].bits;
        if (strcmp(log_flags[i].name, "l1") && (bits & fb) == fb) {
            log_sb_add(sb, ".%s", log_flags[i].name);
            bits &= (uint8_t)~fb;
        }
    }
    if ((want & LOG_LVL_E) && !(want & LOG_LVL_WARN))
        log_sb_add(sb, " -%s.w", name);
}

void log_get_spec(char *buf, size_t size)
{
    if (!buf || !size)
        return;
    struct log_sb sb = { buf, size, 0 };
    buf[0] = '\0';
    uint8_t flags[LOG_GROUP_COUNT];
    unsigned count[256] = { 0 };
    for (unsigned g = 0; g < LOG_GROUP_COUNT; g++) {
        flags[g] = __atomic_load_n(&log_group_flags[g], __ATOMIC_RELAXED);
        count[flags[g]]++;
    }
    /* The most common setting becomes "all.<flags>", the rest differences. */
    unsigned base = 0;
    for (unsigned v = 1; v < 256; v++)
        if (count[v] > count[base])
            base = v;
    if (base)
        log_sb_item(&sb, "all", (uint8_t)base);
    for (unsigned g = 0; g < LOG_GROUP_COUNT; g++) {
        uint8_t f = flags[g];
        if (f == base)
            continue;
        if ((f & base) != base) {
            log_sb_add(&sb, "%s-%s", sb.len ? " " : "", log_groups[g].name);
            if (f)
                log_sb_item(&sb, log_groups[g].name, f);
        } else {
            log_sb_item(&sb, log_groups[g].name, f);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Entry points                                                            */

static struct log_thread *log_tls_ring(void)
{
    struct log_thread *t = log_tls;
    if (t && log_tls_gen == atomic_load_explicit(&log_g.gen, memory_order_relaxed))
        return t;
    return NULL;
}

/* Before log_init (or after log_term): format on the stack, write now. */
static void log_direct(unsigned group, const char *fmt, va_list ap)
{
    char line[1024];
    log_ensure_once();
    int p = log_fmt_prefix(line, sizeof(line), LOG_SHARED_ID, group);
    if (p < 0 || (size_t)p >= sizeof(line))
        return;
    int m = vsnprintf(line + p, sizeof(line) - (size_t)p, fmt, ap);
    size_t len = (size_t)p + (m > 0 ? (size_t)m : 0);
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n';
    log_out_debug(line, len);
}

void log_vprintf(unsigned group, unsigned level, const char *fmt, va_list ap)
{
    if (group >= LOG_GROUP_COUNT || !log_is_enabled(group, level))
        return;
    struct log_thread *t = log_tls_ring();
    if (t) {
        log_ring_put(t, group, fmt, ap);   /* the hot path: no lock, no syscall */
        return;
    }
    if (!atomic_load_explicit(&log_g.running, memory_order_acquire)) {
        log_direct(group, fmt, ap);
        return;
    }
    uv_mutex_lock(&log_g.shared_mtx);
    log_ring_put(log_g.shared, group, fmt, ap);
    uv_mutex_unlock(&log_g.shared_mtx);
}

void log_printf(unsigned group, unsigned level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vprintf(group, level, fmt, ap);
    va_end(ap);
}

void log_rel_printf(unsigned group, const char *fmt, ...)
{
    char body[1024], line[1200];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (m < 0)
        body[0] = '\0';
    else if ((size_t)m >= sizeof(body))
        strcpy(body + sizeof(body) - 16, " [...truncated]");
    size_t blen = strlen(body);
    if (blen && body[blen - 1] == '\n')
        body[--blen] = '\0';

    log_ensure_once();
    struct log_thread *t = log_tls_ring();
    int p = log_fmt_prefix(line, sizeof(line), t ? t->id : LOG_SHARED_ID, group);
    if (p < 0 || (size_t)p >= sizeof(line))
        return;
    int n = snprintf(line + p, sizeof(line) - (size_t)p, "%s\n", body);
    log_out_release(line, (size_t)p + (size_t)(n > 0 ? n : 0));

    /* Keep the debug file complete: the entry also goes into this thread's
     * stream, in order with its debug entries. */
    if (!atomic_load_explicit(&log_g.running, memory_order_acquire) ||
        !atomic_load_explicit(&log_g.dbg_has_file, memory_order_relaxed))
        return;
    if (t) {
        log_ring_put_str(t, group, body);
        return;
    }
    uv_mutex_lock(&log_g.shared_mtx);
    log_ring_put_str(log_g.shared, group, body);
    uv_mutex_unlock(&log_g.shared_mtx);
}

/* ---------------------------------------------------------------------- */
/* Threads                                                                 */

static bool log_id_valid(const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len >= LOG_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isgraph((unsigned char)id[i]))
            return false;
    return true;
}

int log_thread_attach(const char *id)
{
    if (!log_id_valid(id))
        return IXVM_ERR_INVALID_PARAMETER;
    if (log_tls_ring())
        return IXVM_ERR_INVALID_STATE;
    pthread_mutex_lock(&log_cfg_lock);
    if (!atomic_load(&log_g.running)) {
        pthread_mutex_unlock(&log_cfg_lock);
        return IXVM_ERR_INVALID_STATE;
    }
    int rc = 0;
    struct log_thread *t = NULL;
    uv_mutex_lock(&log_g.list_mtx);
    for (struct log_thread *it = log_g.threads; it; it = it->next) {
        if (strcmp(it->id, id))
            continue;
        if (it->attached) {
            rc = IXVM_ERR_ALREADY_EXISTS;
            break;
        }
        /* A detached ring of the same geometry is reused: its buffers were
         * flushed at detach and its statistics carry on. */
        if (it->nbufs == log_g.nbufs && it->buf_size == log_g.buf_size)
            t = it;
    }
    if (rc == 0 && !t) {
        t = log_ring_new(id, log_g.nbufs, log_g.buf_size);
        if (t) {
            t->next = log_g.threads;
            log_g.threads = t;
        } else {
            rc = IXVM_ERR_NO_MEMORY;
        }
    }
    if (rc == 0) {
        t->attached = true;
        log_tls = t;
        log_tls_gen = atomic_load(&log_g.gen);
    }
    uv_mutex_unlock(&log_g.list_mtx);
    pthread_mutex_unlock(&log_cfg_lock);
    return rc;
}

void log_thread_detach(void)
{
    struct log_thread *t = log_tls_ring();
    log_tls = NULL;
    if (!t)
        return;
    log_flush();
    uv_mutex_lock(&log_g.list_mtx);
    t->attached = false;
    uv_mutex_unlock(&log_g.list_mtx);
}

static void log_stats_add(struct log_thread_stats *s, struct log_thread *t)
{
    s->entries += atomic_load_explicit(&t->entries, memory_order_relaxed);
    s->dropped += atomic_load_explicit(&t->dropped, memory_order_relaxed);
    s->truncated += atomic_load_explicit(&t->truncated, memory_order_relaxed);
    s->bytes += atomic_load_explicit(&t->bytes, memory_order_relaxed);
}

int log_thread_stats(const char *id, struct log_thread_stats *out)
{
    if (!out)
        return IXVM_ERR_INVALID_PARAMETER;
    memset(out, 0, sizeof(*out));
    log_ensure_once();
    bool found = false;
    uv_mutex_lock(&log_g.list_mtx);
    for (struct log_thread *t = log_g.threads; t; t = t->next) {
        if (!id || !strcmp(t->id, id)) {
            log_stats_add(out, t);
            found = true;
        }
    }
    uv_mutex_unlock(&log_g.list_mtx);
    return found || !id ? 0 : IXVM_ERR_NOT_FOUND;
}

uint64_t log_dropped_total(void)
{
    struct log_thread_stats s;
    return log_thread_stats(NULL, &s) == 0 ? s.dropped : 0;
}

uint64_t log_written_total(void)
{
    struct log_thread_stats s;
    return log_thread_stats(NULL, &s) == 0 ? s.entries : 0;
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                               */

static int log_geometry(const struct log_options *opt, unsigned *nbufs, size_t *size,
                        struct ixvm_errinfo *err)
{
    *nbufs = opt->bufs_per_thread ? opt->bufs_per_thread : LOG_DEF_BUFS;
    *size = opt->buf_size ? opt->buf_size : LOG_DEF_BUF_SIZE;
    if (*nbufs > LOG_MAX_BUFS)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "log options: bufs_per_thread %u is above the maximum %u", *nbufs,
                                LOG_MAX_BUFS);
    if (*size < LOG_MIN_BUF_SIZE || *size > LOG_MAX_BUF_SIZE)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "log options: buf_size %zu is outside %u..%u", *size,
                                LOG_MIN_BUF_SIZE, LOG_MAX_BUF_SIZE);
    return 0;
}

/* Everything that can fail, done before anything is changed. */
struct log_config {
    uint8_t flags[LOG_GROUP_COUNT];
    bool have_spec;
    struct log_dest dest;
    int rel_fd;
    unsigned nbufs;
    size_t buf_size;
};

static int log_config_prepare(const struct log_options *opt, struct log_config *c,
                              struct ixvm_errinfo *err)
{
    const char *spec = opt->spec ? opt->spec : getenv("IXVM_LOG");
    const char *dest = opt->dest ? opt->dest : getenv("IXVM_LOG_DEST");
    c->rel_fd = -1;
    c->dest.fd = -1;
    c->have_spec = spec != NULL;
    int rc = log_geometry(opt, &c->nbufs, &c->buf_size, err);
    if (rc == 0 && spec)
        rc = log_spec_parse(spec, c->flags, err);
    if (rc == 0)
        rc = log_dest_parse(dest ? dest : "stderr", &c->dest, err);
    if (rc == 0 && opt->rel_file) {
        rc = log_open_file(opt->rel_file, "release log", &c->rel_fd, err);
        if (rc < 0 && c->dest.fd >= 0)
            close(c->dest.fd);
    }
    return rc;
}

static void log_config_commit(const struct log_config *c)
{
    if (c->have_spec)
        log_spec_commit(c->flags);
    log_dest_commit(&c->dest);
    if (c->rel_fd >= 0)
        log_rel_commit(c->rel_fd);
    log_g.nbufs = c->nbufs;
    log_g.buf_size = c->buf_size;
}

/* First start: the shared ring and the flusher. */
static int log_start(const struct log_config *c, struct ixvm_errinfo *err)
{
    struct log_thread *shared = log_ring_new(LOG_SHARED_ID, c->nbufs, c->buf_size);
    if (!shared)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "log: no memory for the buffers");
    shared->attached = true;     /* reserves the id "main" */
    uv_mutex_lock(&log_g.list_mtx);
    log_g.shared = shared;
    log_g.threads = shared;
    uv_mutex_unlock(&log_g.list_mtx);
    atomic_store(&log_g.t0, uv_hrtime());
    if (log_flusher_start() < 0) {
        uv_mutex_lock(&log_g.list_mtx);
        log_g.shared = log_g.threads = NULL;
        uv_mutex_unlock(&log_g.list_mtx);
        log_ring_free(shared);
        return ixvm_errinfo_set(err, IXVM_ERR_THREAD, "log: cannot start the flusher thread");
    }
    atomic_store_explicit(&log_g.running, true, memory_order_release);
    return 0;
}

int log_init(const struct log_options *opt, struct ixvm_errinfo *err)
{
    static const struct log_options defaults = { 0 };
    struct log_config c;
    log_ensure_once();
    pthread_mutex_lock(&log_cfg_lock);
    int rc = log_config_prepare(opt ? opt : &defaults, &c, err);
    if (rc == 0) {
        bool was_running = atomic_load(&log_g.running);
        log_flush();   /* reconfiguring: pending entries go to the old files */
        log_config_commit(&c);
        if (!was_running) {
            rc = log_start(&c, err);
            if (rc < 0) {
                struct log_dest def = { true, -1 };
                log_dest_commit(&def);
                log_rel_commit(-1);
            }
        }
    }
    pthread_mutex_unlock(&log_cfg_lock);
    return rc;
}

void log_term(void)
{
    pthread_mutex_lock(&log_cfg_lock);
    if (!atomic_load(&log_g.running)) {
        pthread_mutex_unlock(&log_cfg_lock);
        return;
    }
    /* The flusher's last pass writes everything and reports drops. */
    log_flusher_stop();
    atomic_store(&log_g.running, false);
    atomic_fetch_add(&log_g.gen, 1);     /* every attached thread's TLS is now stale */
    uv_mutex_lock(&log_g.list_mtx);
    struct log_thread *t = log_g.threads;
    log_g.threads = log_g.shared = NULL;
    uv_mutex_unlock(&log_g.list_mtx);
    while (t) {
        struct log_thread *next = t->next;
        log_ring_free(t);
        t = next;
    }
    struct log_dest def = { true, -1 };
    log_dest_commit(&def);
    log_rel_commit(-1);
    uint8_t none[LOG_GROUP_COUNT] = { 0 };
    log_spec_commit(none);
    pthread_mutex_unlock(&log_cfg_lock);
}
