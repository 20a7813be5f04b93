/* SPDX-License-Identifier: MIT */
/*
 * Block backend over a raw image file (include/ixvm/blk.h, docs/ide.md).
 *
 * Synchronous pread/pwrite: a device completes a request inside the guest's
 * port write, which keeps the device state machines simple and the result
 * deterministic.  Snapshot mode keeps written sectors in a sparse overlay:
 * an open-addressing hash table of 4 KiB chunks (8 sectors) with a bitmap
 * of the sectors each chunk holds; reads come from the file and are then
 * patched with the overlay's sectors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ixvm/blk.h"

#define BLK_CHUNK_SECTORS 8u
#define BLK_CHUNK_SIZE (BLK_CHUNK_SECTORS * BLK_SECTOR_SIZE)

struct blk_chunk {
    uint64_t index;                 /* chunk number (offset / BLK_CHUNK_SIZE) */
    uint8_t valid;                  /* bit n: sector n of the chunk is in data */
    uint8_t data[BLK_CHUNK_SIZE];
};

struct blk {
    int fd;
    char *path;
    const char *what;
    uint64_t size;
    bool read_only, snapshot;
    /* Snapshot overlay: table of chunk pointers, power-of-two capacity. */
    struct blk_chunk **tab;
    size_t tab_cap, tab_used;
    uint64_t overlay_sectors;
};

static size_t blk_hash(uint64_t idx, size_t cap)
{
    return (size_t)((idx * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static struct blk_chunk *blk_chunk_find(const struct blk *b, uint64_t idx)
{
    if (!b->tab_cap)
        return NULL;
    for (size_t i = blk_hash(idx, b->tab_cap);; i = (i + 1) & (b->tab_cap - 1)) {
        struct blk_chunk *c = b->tab[i];
        if (!c || c->index == idx)
            return c;
    }
}

static void blk_tab_insert(struct blk_chunk **tab, size_t cap, struct blk_chunk *c)
{
    size_t i = blk_hash(c->index, cap);
    while (tab[i])
        i = (i + 1) & (cap - 1);
    tab[i] = c;
}

/* The chunk for idx, created when missing; NULL when out of memory. */
static struct blk_chunk *blk_chunk_get(struct blk *b, uint64_t idx)
{
    struct blk_chunk *c = blk_chunk_find(b, idx);
    if (c)
        return c;
    if ((b->tab_used + 1) * 2 > b->tab_cap) {          /* keep the load below 1/2 */
        size_t ncap = b->tab_cap ? b->tab_cap * 2 : 256;
        struct blk_chunk **nt = calloc(ncap, sizeof(*nt));
        if (!nt)
            return NULL;
        for (size_t i = 0; i < b->tab_cap; i++)
            if (b->tab[i])
                blk_tab_insert(nt, ncap, b->tab[i]);
        free(b->tab);
        b->tab = nt;
        b->tab_cap = ncap;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->index = idx;
    blk_tab_insert(b->tab, b->tab_cap, c);
    b->tab_used++;
    return c;
}

static int blk_errno_status(int e)
{
    return e == ENOENT ? IXVM_ERR_NOT_FOUND : IXVM_ERR_IO;
}

/* Advisory lock against other processes (and other opens of the same file:
 * OFD locks belong to the open file description). */
static int blk_lock(struct blk *b, struct ixvm_errinfo *err)
{
    bool shared = b->read_only || b->snapshot;
#ifdef F_OFD_SETLK
    struct flock fl = { .l_type = shared ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
    int r = fcntl(b->fd, F_OFD_SETLK, &fl);
#else
    int r = flock(b->fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB);
#endif
    if (r == 0)
        return 0;
    if (errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK)
        return ixvm_errinfo_set(err, IXVM_ERR_BUSY, "%s '%s' is in use by another process",
                                b->what, b->path);
    return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot lock %s '%s': %s", b->what, b->path,
                            strerror(errno));
}

/* Size checks: a regular file or a block device of whole sectors. */
static int blk_check_size(struct blk *b, struct ixvm_errinfo *err)
{
    struct stat st;
    if (fstat(b->fd, &st) != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot stat %s '%s': %s", b->what, b->path,
                                strerror(errno));
    if (S_ISREG(st.st_mode)) {
        b->size = (uint64_t)st.st_size;
    } else if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(b->fd, 0, SEEK_END);
        if (end < 0)
            return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot size %s '%s': %s", b->what,
                                    b->path, strerror(errno));
        b->size = (uint64_t)end;
    } else {
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT,
                                "%s '%s' is not a regular file or block device", b->what, b->path);
    }
    if (b->size < BLK_SECTOR_SIZE)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT,
                                "%s '%s' is too small: %llu bytes (at least %u needed)", b->what,
                                b->path, (unsigned long long)b->size, BLK_SECTOR_SIZE);
    if (b->size % BLK_SECTOR_SIZE)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT,
                                "%s '%s' has a size of %llu bytes, not a multiple of %u", b->what,
                                b->path, (unsigned long long)b->size, BLK_SECTOR_SIZE);
    return 0;
}

int blk_open(const struct blk_opts *opts, struct blk **out, struct ixvm_errinfo *err)
{
    *out = NULL;
    if (!opts || !opts->path || !*opts->path)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "no image file given");
    struct blk *b = calloc(1, sizeof(*b));
    if (!b || !(b->path = strdup(opts->path))) {
        free(b);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "out of memory opening '%s'", opts->path);
    }
    b->what = opts->what ? opts->what : "disk";
    b->read_only = opts->read_only;
    b->snapshot = opts->snapshot;
    bool rdonly = b->read_only || b->snapshot;
    b->fd = open(b->path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    int rc;
    if (b->fd < 0) {
        int e = errno;
        rc = ixvm_errinfo_set(err, blk_errno_status(e), "cannot open %s '%s': %s", b->what,
                              b->path, strerror(e));
        free(b->path);
        free(b);
        return rc;
    }
    rc = blk_check_size(b, err);
    if (rc >= 0)
        rc = blk_lock(b, err);
    if (rc < 0) {
        blk_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

void blk_close(struct blk *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->tab_cap; i++)
        free(b->tab[i]);
    free(b->tab);
    close(b->fd);               /* drops the OFD lock */
    free(b->path);
    free(b);
}

uint64_t blk_size(const struct blk *b) { return b->size; }
const char *blk_path(const struct blk *b) { return b->path; }
bool blk_is_read_only(const struct blk *b) { return b->read_only; }
bool blk_is_snapshot(const struct blk *b) { return b->snapshot; }
uint64_t blk_overlay_sectors(const struct blk *b) { return b->overlay_sectors; }

static bool blk_range_ok(const struct blk *b, uint64_t off, size_t len)
{
    return off <= b->size && len <= b->size - off;
}

static int blk_pread_all(struct blk *b, uint64_t off, uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = pread(b->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)     /* 0: the file shrank under us */
            return IXVM_ERR_IO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copy the overlay's sectors that intersect [off, off+len) over buf. */
static void blk_overlay_patch(const struct blk *b, uint64_t off, uint8_t *buf, size_t len)
{
    uint64_t end = off + len;
    for (uint64_t s = off / BLK_SECTOR_SIZE; s * BLK_SECTOR_SIZE < end; s++) {
        const struct blk_chunk *c = blk_chunk_find(b, s / BLK_CHUNK_SECTORS);
        unsigned bit = (unsigned)(s % BLK_CHUNK_SECTORS);
        if (!c) {   /* skip the rest of this chunk */
            s |= BLK_CHUNK_SECTORS - 1;
            continue;
        }
        if (!(c->valid & (1u << bit)))
            continue;
        uint64_t so = s * BLK_SECTOR_SIZE;
        uint64_t lo = so > off ? so : off;
        uint64_t hi = so + BLK_SECTOR_SIZE < end ? so + BLK_SECTOR_SIZE : end;
        memcpy(buf + (lo - off), c->data + bit * BLK_SECTOR_SIZE + (lo - so), (size_t)(hi - lo));
    }
}

int blk_read(struct blk *b, uint64_t off, void *buf, size_t len)
{
    if (!blk_range_ok(b, off, len))
        return IXVM_ERR_OUT_OF_RANGE;
    int rc = blk_pread_all(b, off, buf, len);
    if (rc == 0 && b->tab_used)
        blk_overlay_patch(b, off, buf, len);
    return rc;
}

static int blk_overlay_write(struct blk *b, uint64_t off, const uint8_t *p, size_t len)
{
    for (uint64_t s = off / BLK_SECTOR_SIZE; len; s++, p += BLK_SECTOR_SIZE, len -= BLK_SECTOR_SIZE) {
        struct blk_chunk *c = blk_chunk_get(b, s / BLK_CHUNK_SECTORS);
        if (!c)
            return IXVM_ERR_NO_MEMORY;
        unsigned bit = (unsigned)(s % BLK_CHUNK_SECTORS);
        memcpy(c->data + bit * BLK_SECTOR_SIZE, p, BLK_SECTOR_SIZE);
        if (!(c->valid & (1u << bit)))
            b->overlay_sectors++;
        c->valid |= (uint8_t)(1u << bit);
    }
    return 0;
}

int blk_write(struct blk *b, uint64_t off, const void *buf, size_t len)
{
    if (off % BLK_SECTOR_SIZE || len % BLK_SECTOR_SIZE)
        return IXVM_ERR_INVALID_PARAMETER;
    if (!blk_range_ok(b, off, len))
        return IXVM_ERR_OUT_OF_RANGE;
    if (b->read_only)
        return IXVM_ERR_INVALID_STATE;
    if (b->snapshot)
        return blk_overlay_write(b, off, buf, len);
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(b->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return IXVM_ERR_IO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

int blk_flush(struct blk *b)
{
    if (b->read_only || b->snapshot)
        return 0;
    return fdatasync(b->fd) == 0 ? 0 : IXVM_ERR_IO;
}
