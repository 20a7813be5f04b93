/* SPDX-License-Identifier: MIT */
/*
 * SSM: saved state.  Units (name, instance, version) register save/load
 * callbacks; a unit's data is written through an ssm_handle as a stream of
 * typed puts (or a declarative field table) and read back the same way.
 *
 * File format (little-endian), see docs/ssm-format.md:
 *   header:  magic "IXVMSSM\0", u32 format version, u32 header size,
 *            u64 config digest (cfg_state_digest), u64 unit count, u32 CRC32
 *            of the header bytes before it.
 *   per unit: u32 record magic, u16 name length, name bytes, u32 instance,
 *            u32 version, u64 raw (uncompressed) length, u64 compressed
 *            length, u32 CRC32 of the raw data, u32 CRC32 of the record
 *            header, then the LZ4-compressed payload.
 *   end:     u32 end magic, u64 unit count, u32 CRC32 of the whole file
 *            before it.
 *
 * Loading is all or nothing: the whole file is read and checked (magic,
 * versions, lengths, checksums, decompression, every unit known and its
 * version supported, config digest) before any load callback runs; the
 * current state of every unit is saved in memory first and restored if a
 * load callback fails, so a refused file leaves the VM as it was.
 */
#ifndef IXVM_SSM_H
#define IXVM_SSM_H

#include "ixvm/types.h"

struct ssm;
struct ssm_handle;

typedef int ssm_save_fn(void *user, struct ssm_handle *h);
/* Called with the version the unit was saved at (min_version..version). */
typedef int ssm_load_fn(void *user, struct ssm_handle *h, uint32_t version);

enum ssm_field_type { SSM_FT_U8, SSM_FT_U16, SSM_FT_U32, SSM_FT_U64, SSM_FT_BOOL, SSM_FT_MEM, SSM_FT_END };

/* A field of a plain struct, for ssm_put_fields/ssm_get_fields. */
struct ssm_field {
    const char *name;
    enum ssm_field_type type;
    size_t offset;
    size_t size;       /* bytes for SSM_FT_MEM (arrays) */
};
#define SSM_FIELD(type_, st, member) { #member, SSM_FT_##type_, offsetof(st, member), sizeof(((st *)0)->member) }
#define SSM_FIELD_END { NULL, SSM_FT_END, 0, 0 }

struct ssm_unit_desc {
    const char *name;
    uint32_t instance;
    uint32_t version;       /* saved with this version */
    uint32_t min_version;   /* oldest version load accepts */
    ssm_save_fn *save;
    ssm_load_fn *load;
    void *user;
};

int ssm_create(struct ssm **out) IXVM_WUR;
void ssm_destroy(struct ssm *ssm);
/* Duplicate (name, instance): IXVM_ERR_ALREADY_EXISTS. */
int ssm_register(struct ssm *ssm, const struct ssm_unit_desc *desc) IXVM_WUR;
int ssm_deregister(struct ssm *ssm, const char *name, uint32_t instance);

/* Save every unit to path (written to path.tmp, then renamed). */
int ssm_save(struct ssm *ssm, const char *path, uint64_t cfg_digest, struct ixvm_errinfo *err) IXVM_WUR;
/* Load; on any error the units' state is unchanged and err names the cause. */
int ssm_load(struct ssm *ssm, const char *path, uint64_t cfg_digest, struct ixvm_errinfo *err) IXVM_WUR;
/* Same on an in-memory image (tests, rollback).  *buf is malloc'd: free()
 * it.  Each of these clears err on entry and sets it on failure. */
int ssm_save_mem(struct ssm *ssm, uint64_t cfg_digest, uint8_t **buf, size_t *len, struct ixvm_errinfo *err) IXVM_WUR;
int ssm_load_mem(struct ssm *ssm, const uint8_t *buf, size_t len, uint64_t cfg_digest, struct ixvm_errinfo *err) IXVM_WUR;

/* Stream puts/gets inside save/load callbacks.  Gets past the end of the
 * unit's data return IXVM_ERR_TRUNCATED; the first error sticks to h. */
int ssm_put_u8(struct ssm_handle *h, uint8_t v);
int ssm_put_u16(struct ssm_handle *h, uint16_t v);
int ssm_put_u32(struct ssm_handle *h, uint32_t v);
int ssm_put_u64(struct ssm_handle *h, uint64_t v);
int ssm_put_bool(struct ssm_handle *h, bool v);
int ssm_put_mem(struct ssm_handle *h, const void *p, size_t n);
int ssm_get_u8(struct ssm_handle *h, uint8_t *v) IXVM_WUR;
int ssm_get_u16(struct ssm_handle *h, uint16_t *v) IXVM_WUR;
int ssm_get_u32(struct ssm_handle *h, uint32_t *v) IXVM_WUR;
int ssm_get_u64(struct ssm_handle *h, uint64_t *v) IXVM_WUR;
int ssm_get_bool(struct ssm_handle *h, bool *v) IXVM_WUR;   /* a byte other than 0/1 is _FILE_FORMAT */
int ssm_get_mem(struct ssm_handle *h, void *p, size_t n) IXVM_WUR;
int ssm_put_fields(struct ssm_handle *h, const struct ssm_field *fields, const void *st);
int ssm_get_fields(struct ssm_handle *h, const struct ssm_field *fields, void *st) IXVM_WUR;
/* Bytes of the unit's data not yet read (a load callback may require 0). */
size_t ssm_remaining(const struct ssm_handle *h);

#endif
