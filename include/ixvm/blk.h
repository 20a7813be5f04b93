/* SPDX-License-Identifier: MIT */
/*
 * Block backend: a raw disk or CD image file behind a storage device
 * (docs/ide.md).  Opened read-write, or read-only (CD images); writes reach
 * the file with pwrite, FLUSH reaches it with fdatasync.  In snapshot mode
 * the file is opened read-only and every write goes to a sparse in-memory
 * overlay of 512-byte sectors, so the image is never modified.
 *
 * The image is locked against a second ixvm process (an open-file-
 * description lock, F_OFD_SETLK: exclusive for read-write, shared for
 * read-only and snapshot), so two VMs cannot corrupt one disk.
 *
 * I/O is synchronous (pread/pwrite on the calling thread, normally an EMT
 * holding the device lock).  docs/ide.md has the measured costs.
 *
 * Threads: a struct blk is used by one device under its lock. [lock]
 */
#ifndef IXVM_BLK_H
#define IXVM_BLK_H

#include "ixvm/types.h"

#define BLK_SECTOR_SIZE 512u

struct blk;

struct blk_opts {
    const char *path;
    bool read_only;       /* open O_RDONLY; writes fail with IXVM_ERR_INVALID_STATE */
    bool snapshot;        /* writes go to an in-memory overlay; the file stays unchanged */
    const char *what;     /* "disk" or "cdrom" for messages; NULL means "disk" */
};

/*
 * Open and lock the image.  Errors (with err naming the file and the
 * reason): missing or unreadable file (IXVM_ERR_NOT_FOUND / IXVM_ERR_IO),
 * not a regular file or block device, smaller than 512 bytes or not a
 * multiple of 512 bytes (IXVM_ERR_FILE_FORMAT), locked by another process
 * (IXVM_ERR_BUSY: "disk 'x.img' is in use by another process").
 */
int blk_open(const struct blk_opts *opts, struct blk **out, struct ixvm_errinfo *err) IXVM_WUR;
/* Close (drops the lock and the overlay).  NULL is a no-op. */
void blk_close(struct blk *b);

uint64_t blk_size(const struct blk *b);          /* bytes, a multiple of 512 */
const char *blk_path(const struct blk *b);
bool blk_is_read_only(const struct blk *b);      /* guest writes refused */
bool blk_is_snapshot(const struct blk *b);

/* Read len bytes at byte offset off (any alignment).  A range past the end
 * is IXVM_ERR_OUT_OF_RANGE; a host error is IXVM_ERR_IO. */
int blk_read(struct blk *b, uint64_t off, void *buf, size_t len) IXVM_WUR;
/* Write whole sectors: off and len multiples of 512. */
int blk_write(struct blk *b, uint64_t off, const void *buf, size_t len) IXVM_WUR;
/* Make written data durable (fdatasync); a no-op in snapshot mode. */
int blk_flush(struct blk *b) IXVM_WUR;
/* Sectors held by the snapshot overlay (tests, info). */
uint64_t blk_overlay_sectors(const struct blk *b);

#endif
