/* SPDX-License-Identifier: MIT */
/*
 * SSM private definitions shared by ssm.c (registry, save/load driver),
 * ssm_stream.c (the put/get handle) and ssm_format.c (file encoding and
 * validation).  Nothing here is visible outside the ssm module.
 */
#ifndef IXVM_SSM_INTERNAL_H
#define IXVM_SSM_INTERNAL_H

#include "ixvm/ssm.h"

/* File layout constants; docs/ssm-format.md describes them byte by byte. */
#define SSM_FILE_MAGIC      "IXVMSSM\0"
#define SSM_FILE_MAGIC_LEN  8u
#define SSM_FORMAT_VERSION  1u
#define SSM_HDR_SIZE        36u     /* magic 8, ver 4, size 4, digest 8, count 8, crc 4 */
#define SSM_REC_MAGIC       0x54494e55u  /* "UNIT" in file byte order */
#define SSM_END_MAGIC       0x21444e45u  /* "END!" in file byte order */
#define SSM_REC_FIXED_SIZE  38u     /* record header without the name bytes */
#define SSM_END_SIZE        16u     /* end magic 4, unit count 8, file crc 4 */
#define SSM_NAME_MAX        63u
/* Largest raw unit accepted on save and on load (bounds every allocation). */
#define SSM_UNIT_MAX_RAW    (UINT64_C(1) << 30)
/* LZ4 cannot expand more than this (each extra match byte codes 255 bytes). */
#define SSM_LZ4_MAX_RATIO   255u

/* A growable byte buffer. */
struct ssm_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

/* The put/get cursor given to unit callbacks.  [EMT] like all of SSM. */
struct ssm_handle {
    bool saving;            /* true: puts into buf; false: gets from data */
    int rc;                 /* first error, sticky */
    struct ssm_buf buf;     /* saving */
    const uint8_t *data;    /* loading */
    size_t len;
    size_t pos;
};

/* A registered unit. */
struct ssm_unit {
    char name[SSM_NAME_MAX + 1];
    size_t name_len;
    struct ssm_unit_desc desc;  /* desc.name points at name above */
};

/* A unit record found in a file, validated and decompressed. */
struct ssm_rec {
    struct ssm_unit *unit;
    uint32_t version;
    uint8_t *raw;           /* malloc'd, NULL when raw_len is 0 */
    size_t raw_len;
};

/* Registry lookup, used by the parser to resolve record names: the index
 * of the unit in registration order, or -1. */
long ssm_unit_index(const struct ssm *ssm, const char *name, size_t name_len, uint32_t instance);
size_t ssm_unit_count(const struct ssm *ssm);
struct ssm_unit *ssm_unit_at(const struct ssm *ssm, size_t i);

/* Buffers. */
int ssm_buf_reserve(struct ssm_buf *b, size_t extra) IXVM_WUR;
int ssm_buf_append(struct ssm_buf *b, const void *p, size_t n) IXVM_WUR;
void ssm_buf_free(struct ssm_buf *b);
uint32_t ssm_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* Handles. */
void ssm_handle_init_save(struct ssm_handle *h);
void ssm_handle_init_load(struct ssm_handle *h, const uint8_t *data, size_t len);

/* Encoding: header, one record per unit (raw data compressed), end. */
int ssm_fmt_begin(struct ssm_buf *out, uint64_t cfg_digest, uint64_t unit_count) IXVM_WUR;
int ssm_fmt_add_record(struct ssm_buf *out, const struct ssm_unit *u, const uint8_t *raw, size_t raw_len,
                       struct ixvm_errinfo *err) IXVM_WUR;
int ssm_fmt_finish(struct ssm_buf *out, uint64_t unit_count) IXVM_WUR;

/*
 * Validate a whole image and decompress its records.  On success *recs holds
 * *nrecs records in file order (free with ssm_recs_free); every registered
 * unit appears exactly once.  On failure nothing is allocated.
 */
int ssm_fmt_parse(struct ssm *ssm, const uint8_t *buf, size_t len, uint64_t cfg_digest,
                  struct ssm_rec **recs, size_t *nrecs, struct ixvm_errinfo *err) IXVM_WUR;
void ssm_recs_free(struct ssm_rec *recs, size_t n);

#endif
