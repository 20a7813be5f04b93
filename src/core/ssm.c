/* SPDX-License-Identifier: MIT */
/*
 * SSM: the saved-state unit registry and the save/load drivers.  Save runs
 * every unit's save callback in registration order, compresses each unit's
 * data into a record (ssm_format.c) and writes the image to path.tmp, then
 * fsyncs and renames it over path so an interrupted save never damages an
 * existing file.  Load is all or nothing: the image is validated completely
 * first, then every unit's current state is saved into memory, then the
 * load callbacks run in file order; if one fails, the in-memory snapshot is
 * loaded back into every unit and the original error is returned.
 *
 * Threading: an ssm and its handles are used by one thread at a time (an
 * EMT with the VM paused); nothing here is shared.  [EMT]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ssm_internal.h"

struct ssm {
    struct ssm_unit *units;     /* [EMT] registration order */
    size_t nunits;              /* [EMT] */
    size_t cap;                 /* [EMT] */
    bool busy;                  /* [EMT] a save or load is running callbacks */
};

/* ------------------------------------------------------------------------ */
/* Registry                                                                 */
/* ------------------------------------------------------------------------ */

int ssm_create(struct ssm **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : IXVM_ERR_NO_MEMORY;
}

void ssm_destroy(struct ssm *ssm)
{
    if (!ssm)
        return;
    free(ssm->units);
    free(ssm);
}

size_t ssm_unit_count(const struct ssm *ssm)
{
    return ssm->nunits;
}

struct ssm_unit *ssm_unit_at(const struct ssm *ssm, size_t i)
{
    return &ssm->units[i];
}

long ssm_unit_index(const struct ssm *ssm, const char *name, size_t name_len, uint32_t instance)
{
    for (size_t i = 0; i < ssm->nunits; i++) {
        const struct ssm_unit *u = &ssm->units[i];
        if (u->desc.instance == instance && u->name_len == name_len && memcmp(u->name, name, name_len) == 0)
            return (long)i;
    }
    return -1;
}

static bool desc_valid(const struct ssm_unit_desc *d)
{
    if (!d || !d->name || !d->save || !d->load || d->min_version > d->version)
        return false;
    size_t n = strnlen(d->name, SSM_NAME_MAX + 1);
    return n >= 1 && n <= SSM_NAME_MAX;
}

int ssm_register(struct ssm *ssm, const struct ssm_unit_desc *desc)
{
    if (ssm->busy)
        return IXVM_ERR_BUSY;
    if (!desc_valid(desc))
        return IXVM_ERR_INVALID_PARAMETER;
    size_t len = strlen(desc->name);
    if (ssm_unit_index(ssm, desc->name, len, desc->instance) >= 0)
        return IXVM_ERR_ALREADY_EXISTS;
    if (ssm->nunits == ssm->cap) {
        size_t cap = ssm->cap ? ssm->cap * 2 : 16;
        struct ssm_unit *p = realloc(ssm->units, cap * sizeof(*p));
        if (!p)
            return IXVM_ERR_NO_MEMORY;
        ssm->units = p;
        ssm->cap = cap;
        /* desc.name points into the array: re-aim after it moved. */
        for (size_t i = 0; i < ssm->nunits; i++)
            ssm->units[i].desc.name = ssm->units[i].name;
    }
    struct ssm_unit *u = &ssm->units[ssm->nunits++];
    memset(u, 0, sizeof(*u));
    memcpy(u->name, desc->name, len);
    u->name_len = len;
    u->desc = *desc;
    u->desc.name = u->name;
    return 0;
}

int ssm_deregister(struct ssm *ssm, const char *name, uint32_t instance)
{
    if (ssm->busy)
        return IXVM_ERR_BUSY;
    if (!name)
        return IXVM_ERR_INVALID_PARAMETER;
    long i = ssm_unit_index(ssm, name, strlen(name), instance);
    if (i < 0)
        return IXVM_ERR_NOT_FOUND;
    memmove(&ssm->units[i], &ssm->units[i + 1], (ssm->nunits - (size_t)i - 1) * sizeof(*ssm->units));
    ssm->nunits--;
    for (size_t k = (size_t)i; k < ssm->nunits; k++)
        ssm->units[k].desc.name = ssm->units[k].name;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Running unit callbacks                                                   */
/* ------------------------------------------------------------------------ */

static void errinfo_clear(struct ixvm_errinfo *err)
{
    if (err) {
        err->rc = 0;
        err->msg[0] = '\0';
    }
}

/* Run u's save callback; on success *out owns the unit's raw data. */
static int unit_save(const struct ssm_unit *u, struct ssm_buf *out, const char *what, struct ixvm_errinfo *err)
{
    struct ssm_handle h;
    ssm_handle_init_save(&h);
    int rc = u->desc.save(u->desc.user, &h);
    if (rc >= 0)
        rc = h.rc;
    if (rc < 0) {
        ssm_buf_free(&h.buf);
        return ixvm_errinfo_set(err, rc, "%s unit '%s' instance %u failed: %s", what, u->name, u->desc.instance,
                                ixvm_strerror(rc));
    }
    *out = h.buf;
    return 0;
}

/* Run u's load callback on data; it must succeed and consume every byte. */
static int unit_load(const struct ssm_unit *u, uint32_t version, const uint8_t *data, size_t len,
                     struct ixvm_errinfo *err)
{
    struct ssm_handle h;
    ssm_handle_init_load(&h, data, len);
    int rc = u->desc.load(u->desc.user, &h, version);
    if (rc >= 0)
        rc = h.rc;
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "loading unit '%s' instance %u (version %u) failed: %s", u->name,
                                u->desc.instance, version, ixvm_strerror(rc));
    if (ssm_remaining(&h) != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "unit '%s' left %zu bytes unread (instance %u, version %u)",
                                u->name, ssm_remaining(&h), u->desc.instance, version);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Save                                                                     */
/* ------------------------------------------------------------------------ */

static int save_image(struct ssm *ssm, uint64_t cfg_digest, struct ssm_buf *out, struct ixvm_errinfo *err)
{
    int rc = ssm_fmt_begin(out, cfg_digest, ssm->nunits);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "out of memory writing saved state");
    for (size_t i = 0; i < ssm->nunits; i++) {
        const struct ssm_unit *u = &ssm->units[i];
        struct ssm_buf raw = { 0 };
        rc = unit_save(u, &raw, "saving", err);
        if (rc < 0)
            return rc;
        rc = ssm_fmt_add_record(out, u, raw.data, raw.len, err);
        ssm_buf_free(&raw);
        if (rc < 0)
            return rc;
    }
    rc = ssm_fmt_finish(out, ssm->nunits);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "out of memory writing saved state");
    return 0;
}

int ssm_save_mem(struct ssm *ssm, uint64_t cfg_digest, uint8_t **buf, size_t *len, struct ixvm_errinfo *err)
{
    errinfo_clear(err);
    *buf = NULL;
    *len = 0;
    if (ssm->busy)
        return ixvm_errinfo_set(err, IXVM_ERR_BUSY, "a saved-state operation is already running");
    ssm->busy = true;
    struct ssm_buf out = { 0 };
    int rc = save_image(ssm, cfg_digest, &out, err);
    ssm->busy = false;
    if (rc < 0) {
        ssm_buf_free(&out);
        return rc;
    }
    *buf = out.data;
    *len = out.len;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Make the rename durable; best effort, as not every file system can. */
static void fsync_parent_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return;
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        slash[slash == dir ? 1 : 0] = '\0';
        d = dir;
    }
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Write buf to tmp, fsync, rename over path.  Returns 0 or -errno. */
static int write_file_atomic(const char *path, const char *tmp, const uint8_t *buf, size_t len, const char **step)
{
    *step = "create";
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    *step = "write";
    int rc = write_all(fd, buf, len);
    if (rc == 0) {
        *step = "fsync";
        rc = fsync(fd) < 0 ? -errno : 0;
    }
    if (close(fd) < 0 && rc == 0) {
        *step = "close";
        rc = -errno;
    }
    if (rc == 0) {
        *step = "rename";
        rc = rename(tmp, path) < 0 ? -errno : 0;
    }
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    fsync_parent_dir(path);
    return 0;
}

int ssm_save(struct ssm *ssm, const char *path, uint64_t cfg_digest, struct ixvm_errinfo *err)
{
    uint8_t *buf;
    size_t len;
    int rc = ssm_save_mem(ssm, cfg_digest, &buf, &len, err);
    if (rc < 0)
        return rc;
    size_t tmp_size = strlen(path) + 5;
    char *tmp = malloc(tmp_size);
    if (!tmp) {
        free(buf);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "out of memory saving state to '%s'", path);
    }
    snprintf(tmp, tmp_size, "%s.tmp", path);
    const char *step;
    rc = write_file_atomic(path, tmp, buf, len, &step);
    if (rc < 0)
        ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot save state to '%s': %s of '%s' failed: %s", path, step, tmp,
                         strerror(-rc));
    free(tmp);
    free(buf);
    return rc < 0 ? IXVM_ERR_IO : 0;
}

/* ------------------------------------------------------------------------ */
/* Load                                                                     */
/* ------------------------------------------------------------------------ */

static void snapshot_free(struct ssm_buf *snap, size_t n)
{
    if (!snap)
        return;
    for (size_t i = 0; i < n; i++)
        ssm_buf_free(&snap[i]);
    free(snap);
}

/* Every unit's current state, in registration order, for rollback. */
static int snapshot_take(struct ssm *ssm, struct ssm_buf **out, struct ixvm_errinfo *err)
{
    struct ssm_buf *snap = calloc(ssm->nunits + 1, sizeof(*snap));
    if (!snap)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "out of memory saving the current state before loading");
    for (size_t i = 0; i < ssm->nunits; i++) {
        int rc = unit_save(&ssm->units[i], &snap[i], "before loading, saving the current state of", err);
        if (rc < 0) {
            snapshot_free(snap, i);
            return rc;
        }
    }
    *out = snap;
    return 0;
}

/* Put every unit back as the snapshot recorded it; note failures in err. */
static void snapshot_restore(struct ssm *ssm, const struct ssm_buf *snap, struct ixvm_errinfo *err)
{
    for (size_t i = 0; i < ssm->nunits; i++) {
        const struct ssm_unit *u = &ssm->units[i];
        struct ixvm_errinfo rerr;
        if (unit_load(u, u->desc.version, snap[i].data, snap[i].len, &rerr) < 0 && err) {
            size_t used = strlen(err->msg);
            snprintf(err->msg + used, sizeof(err->msg) - used, "; rollback failed too: %s", rerr.msg);
        }
    }
}

static int load_records(struct ssm *ssm, const struct ssm_rec *recs, size_t nrecs, struct ixvm_errinfo *err)
{
    struct ssm_buf *snap;
    int rc = snapshot_take(ssm, &snap, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nrecs && rc == 0; i++)
        rc = unit_load(recs[i].unit, recs[i].version, recs[i].raw, recs[i].raw_len, err);
    if (rc < 0)
        snapshot_restore(ssm, snap, err);
    snapshot_free(snap, ssm->nunits);
    return rc;
}

int ssm_load_mem(struct ssm *ssm, const uint8_t *buf, size_t len, uint64_t cfg_digest, struct ixvm_errinfo *err)
{
    errinfo_clear(err);
    if (ssm->busy)
        return ixvm_errinfo_set(err, IXVM_ERR_BUSY, "a saved-state operation is already running");
    ssm->busy = true;
    struct ssm_rec *recs;
    size_t nrecs;
    int rc = ssm_fmt_parse(ssm, buf, len, cfg_digest, &recs, &nrecs, err);
    if (rc == 0)
        rc = load_records(ssm, recs, nrecs, err);
    ssm_recs_free(recs, nrecs);
    ssm->busy = false;
    return rc;
}

/* Read a whole file; *buf is malloc'd.  Returns 0 or IXVM_ERR_IO with err set. */
static int read_file(const char *path, uint8_t **buf, size_t *len, struct ixvm_errinfo *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot open saved state '%s': %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot stat saved state '%s': %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "saved state '%s' is not a regular file", path);
    else if ((uint64_t)st.st_size > SIZE_MAX - 1)
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "saved state '%s' is too large", path);
    uint8_t *p = NULL;
    size_t n = rc == 0 ? (size_t)st.st_size : 0, got = 0;
    if (rc == 0 && !(p = malloc(n + 1)))
        rc = ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "out of memory reading saved state '%s' (%zu bytes)", path, n);
    while (rc == 0 && got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot read saved state '%s': %s", path, strerror(errno));
        else if (k == 0)
            rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "saved state '%s' shrank while being read", path);
        else
            got += (size_t)k;
    }
    close(fd);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *buf = p;
    *len = n;
    return 0;
}

int ssm_load(struct ssm *ssm, const char *path, uint64_t cfg_digest, struct ixvm_errinfo *err)
{
    uint8_t *buf;
    size_t len;
    errinfo_clear(err);
    int rc = read_file(path, &buf, &len, err);
    if (rc < 0)
        return rc;
    rc = ssm_load_mem(ssm, buf, len, cfg_digest, err);
    if (rc < 0 && err && !strstr(err->msg, path)) {
        /* Name the file as well as the cause. */
        char cause[sizeof(err->msg)];
        snprintf(cause, sizeof(cause), "%s", err->msg);
        ixvm_errinfo_set(err, rc, "saved state '%s': %s", path, cause);
    }
    free(buf);
    return rc;
}
