/* SPDX-License-Identifier: MIT */
/*
 * SSM file format: writing the header, unit records and end marker, and
 * validating a whole image before anything is loaded.  The layout is in
 * docs/ssm-format.md.  Nothing read from the file is trusted: every length
 * is checked against the bytes that remain and against fixed limits before
 * it sizes an allocation, every part is covered by a CRC32, and the first
 * problem found is reported with the unit name and file offset.
 */
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "core/ssm_internal.h"

/* ------------------------------------------------------------------------ */
/* Little-endian encoding                                                   */
/* ------------------------------------------------------------------------ */

static uint8_t *le_put(uint8_t *p, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + width;
}

static uint64_t le_get(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

int ssm_fmt_begin(struct ssm_buf *out, uint64_t cfg_digest, uint64_t unit_count)
{
    uint8_t hdr[SSM_HDR_SIZE];
    uint8_t *p = hdr;
    memcpy(p, SSM_FILE_MAGIC, SSM_FILE_MAGIC_LEN);
    p += SSM_FILE_MAGIC_LEN;
    p = le_put(p, SSM_FORMAT_VERSION, 4);
    p = le_put(p, SSM_HDR_SIZE, 4);
    p = le_put(p, cfg_digest, 8);
    p = le_put(p, unit_count, 8);
    le_put(p, ssm_crc32(0, hdr, (size_t)(p - hdr)), 4);
    return ssm_buf_append(out, hdr, sizeof(hdr));
}

int ssm_fmt_add_record(struct ssm_buf *out, const struct ssm_unit *u, const uint8_t *raw, size_t raw_len,
                       struct ixvm_errinfo *err)
{
    if (raw_len > SSM_UNIT_MAX_RAW)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "unit '%s' instance %u: %zu bytes exceed the %llu-byte unit limit",
                                u->name, u->desc.instance, raw_len, (unsigned long long)SSM_UNIT_MAX_RAW);
    size_t hdr_len = SSM_REC_FIXED_SIZE + u->name_len;
    size_t bound = raw_len ? (size_t)LZ4_compressBound((int)raw_len) : 0;
    int rc = ssm_buf_reserve(out, hdr_len + bound);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "unit '%s' instance %u: out of memory compressing %zu bytes",
                                u->name, u->desc.instance, raw_len);

    /* Compress straight into place after the record header. */
    uint8_t *hdr = out->data + out->len;
    size_t comp_len = 0;
    if (raw_len) {
        int n = LZ4_compress_default((const char *)raw, (char *)hdr + hdr_len, (int)raw_len, (int)bound);
        if (n <= 0)
            return ixvm_errinfo_set(err, IXVM_ERR_GENERAL, "unit '%s' instance %u: LZ4 compression failed",
                                    u->name, u->desc.instance);
        comp_len = (size_t)n;
    }
    uint8_t *p = le_put(hdr, SSM_REC_MAGIC, 4);
    p = le_put(p, u->name_len, 2);
    memcpy(p, u->name, u->name_len);
    p += u->name_len;
    p = le_put(p, u->desc.instance, 4);
    p = le_put(p, u->desc.version, 4);
    p = le_put(p, raw_len, 8);
    p = le_put(p, comp_len, 8);
    p = le_put(p, ssm_crc32(0, raw, raw_len), 4);
    le_put(p, ssm_crc32(0, hdr, (size_t)(p - hdr)), 4);
    out->len += hdr_len + comp_len;
    return 0;
}

int ssm_fmt_finish(struct ssm_buf *out, uint64_t unit_count)
{
    uint8_t end[SSM_END_SIZE];
    uint8_t *p = le_put(end, SSM_END_MAGIC, 4);
    le_put(p, unit_count, 8);
    int rc = ssm_buf_append(out, end, SSM_END_SIZE - 4);
    if (rc < 0)
        return rc;
    uint8_t crc[4];
    le_put(crc, ssm_crc32(0, out->data, out->len), 4);
    return ssm_buf_append(out, crc, sizeof(crc));
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */
/* ------------------------------------------------------------------------ */

struct parse {
    struct ssm *ssm;
    const uint8_t *buf;
    size_t len;
    size_t pos;
    struct ixvm_errinfo *err;
    uint64_t count;         /* units announced by the header */
    struct ssm_rec *recs;   /* capacity: registered unit count */
    size_t nrecs;
    bool *seen;             /* per registered unit */
};

static size_t parse_left(const struct parse *ps)
{
    return ps->len - ps->pos;
}

/* A printable copy of a name taken from the file, for messages. */
static void name_printable(char out[SSM_NAME_MAX + 1], const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = name[i] >= 0x20 && name[i] < 0x7f && name[i] != '\'' ? (char)name[i] : '?';
    out[len] = '\0';
}

/* Check the magic before the version: a short file that is not ours is a
 * format error, a short file that is ours is truncated. */
static int parse_header_ident(struct parse *ps)
{
    if (ps->len == 0)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_TRUNCATED, "saved state is empty");
    size_t n = ps->len < SSM_FILE_MAGIC_LEN ? ps->len : SSM_FILE_MAGIC_LEN;
    if (memcmp(ps->buf, SSM_FILE_MAGIC, n) != 0)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "not an ixvm saved state (bad magic)");
    if (ps->len < SSM_FILE_MAGIC_LEN + 4)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_TRUNCATED, "saved state truncated in the header (%zu bytes)", ps->len);
    uint32_t ver = (uint32_t)le_get(ps->buf + 8, 4);
    if (ver != SSM_FORMAT_VERSION)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_UNSUPPORTED_VERSION,
                                "saved state format version %u is not supported (this build reads version %u)",
                                ver, SSM_FORMAT_VERSION);
    if (ps->len < SSM_HDR_SIZE)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_TRUNCATED, "saved state truncated in the header (%zu bytes)", ps->len);
    return 0;
}

static int parse_header(struct parse *ps, uint64_t cfg_digest)
{
    int rc = parse_header_ident(ps);
    if (rc < 0)
        return rc;
    const uint8_t *h = ps->buf;
    uint32_t hdr_size = (uint32_t)le_get(h + 12, 4);
    if (hdr_size != SSM_HDR_SIZE)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "saved state header size %u is not %u",
                                hdr_size, SSM_HDR_SIZE);
    if (ssm_crc32(0, h, SSM_HDR_SIZE - 4) != (uint32_t)le_get(h + SSM_HDR_SIZE - 4, 4))
        return ixvm_errinfo_set(ps->err, IXVM_ERR_CHECKSUM, "saved state header checksum mismatch");
    uint64_t digest = le_get(h + 16, 8);
    if (digest != cfg_digest)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_CONFIG_MISMATCH,
                                "saved state was made with a different configuration "
                                "(digest %016llx, current %016llx)",
                                (unsigned long long)digest, (unsigned long long)cfg_digest);
    ps->count = le_get(h + 24, 8);
    ps->pos = SSM_HDR_SIZE;
    uint64_t room = (ps->len - SSM_HDR_SIZE) / (SSM_REC_FIXED_SIZE + 1);
    if (ps->count > room)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_TRUNCATED,
                                "saved state header announces %llu units but the file holds at most %llu",
                                (unsigned long long)ps->count, (unsigned long long)room);
    return 0;
}

/* The fixed fields of a record header, decoded. */
struct rec_hdr {
    size_t off;             /* file offset of the record */
    size_t idx;             /* record number */
    const uint8_t *name;
    size_t name_len;
    char pname[SSM_NAME_MAX + 1];
    uint32_t instance;
    uint32_t version;
    uint64_t raw_len;
    uint64_t comp_len;
    uint32_t data_crc;
};

static int parse_rec_header(struct parse *ps, struct rec_hdr *r)
{
    const uint8_t *p = ps->buf + ps->pos;
    r->off = ps->pos;
    if (parse_left(ps) < 6)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_TRUNCATED, "saved state truncated in record %zu at offset %zu",
                                r->idx, r->off);
    uint32_t magic = (uint32_t)le_get(p, 4);
    if (magic != SSM_REC_MAGIC)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "record %zu at offset %zu: bad record magic %08x",
                                r->idx, r->off, magic);
    r->name_len = (size_t)le_get(p + 4, 2);
    if (r->name_len < 1 || r->name_len > SSM_NAME_MAX)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "record %zu at offset %zu: bad name length %zu",
                                r->idx, r->off, r->name_len);
    size_t hdr_len = SSM_REC_FIXED_SIZE + r->name_len;
    if (parse_left(ps) < hdr_len)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_TRUNCATED, "saved state truncated in record %zu at offset %zu",
                                r->idx, r->off);
    if (ssm_crc32(0, p, hdr_len - 4) != (uint32_t)le_get(p + hdr_len - 4, 4))
        return ixvm_errinfo_set(ps->err, IXVM_ERR_CHECKSUM, "record %zu at offset %zu: header checksum mismatch",
                                r->idx, r->off);
    r->name = p + 6;
    name_printable(r->pname, r->name, r->name_len);
    const uint8_t *q = r->name + r->name_len;
    r->instance = (uint32_t)le_get(q, 4);
    r->version = (uint32_t)le_get(q + 4, 4);
    r->raw_len = le_get(q + 8, 8);
    r->comp_len = le_get(q + 16, 8);
    r->data_crc = (uint32_t)le_get(q + 24, 4);
    ps->pos += hdr_len;
    return 0;
}

/* Resolve the record to a registered unit and check it may be loaded. */
static int check_rec_unit(struct parse *ps, const struct rec_hdr *r, long *idx)
{
    *idx = ssm_unit_index(ps->ssm, (const char *)r->name, r->name_len, r->instance);
    if (*idx < 0)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_UNKNOWN_UNIT, "unknown saved-state unit '%s' instance %u (record at offset %zu)",
                                r->pname, r->instance, r->off);
    if (ps->seen[*idx])
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "unit '%s' instance %u appears twice in saved state (offset %zu)",
                                r->pname, r->instance, r->off);
    const struct ssm_unit_desc *d = &ssm_unit_at(ps->ssm, (size_t)*idx)->desc;
    if (r->version > d->version || r->version < d->min_version)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_UNSUPPORTED_VERSION,
                                "unit '%s' instance %u: saved version %u is not supported (this build loads versions %u..%u)",
                                r->pname, r->instance, r->version, d->min_version, d->version);
    return 0;
}

/* Lengths must be plausible for LZ4 before they size anything. */
static int check_rec_lengths(struct parse *ps, const struct rec_hdr *r)
{
    bool ok;
    if (r->raw_len == 0)
        ok = r->comp_len == 0;
    else
        ok = r->raw_len <= SSM_UNIT_MAX_RAW && r->comp_len > 0 &&
             r->comp_len <= (uint64_t)LZ4_compressBound((int)r->raw_len) &&
             r->raw_len <= r->comp_len * SSM_LZ4_MAX_RATIO;
    if (!ok)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT,
                                "unit '%s' instance %u at offset %zu: implausible lengths (raw %llu, compressed %llu)",
                                r->pname, r->instance, r->off, (unsigned long long)r->raw_len,
                                (unsigned long long)r->comp_len);
    if (r->comp_len > parse_left(ps))
        return ixvm_errinfo_set(ps->err, IXVM_ERR_TRUNCATED,
                                "unit '%s' instance %u at offset %zu: data (%llu bytes) runs past the end of the file",
                                r->pname, r->instance, r->off, (unsigned long long)r->comp_len);
    return 0;
}

static int decompress_rec(struct parse *ps, const struct rec_hdr *r, struct ssm_rec *out)
{
    size_t raw_len = (size_t)r->raw_len;
    uint8_t *raw = NULL;
    if (raw_len) {
        raw = malloc(raw_len);
        if (!raw)
            return ixvm_errinfo_set(ps->err, IXVM_ERR_NO_MEMORY, "unit '%s' instance %u: out of memory for %zu bytes",
                                    r->pname, r->instance, raw_len);
        int n = LZ4_decompress_safe((const char *)ps->buf + ps->pos, (char *)raw, (int)r->comp_len, (int)raw_len);
        if (n < 0 || (size_t)n != raw_len) {
            free(raw);
            return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT,
                                    "unit '%s' instance %u at offset %zu: data does not decompress to %zu bytes",
                                    r->pname, r->instance, r->off, raw_len);
        }
    }
    if (ssm_crc32(0, raw, raw_len) != r->data_crc) {
        free(raw);
        return ixvm_errinfo_set(ps->err, IXVM_ERR_CHECKSUM, "unit '%s' instance %u at offset %zu: data checksum mismatch",
                                r->pname, r->instance, r->off);
    }
    out->raw = raw;
    out->raw_len = raw_len;
    ps->pos += (size_t)r->comp_len;
    return 0;
}

static int parse_record(struct parse *ps, size_t i)
{
    struct rec_hdr r = { .idx = i };
    long idx;
    int rc = parse_rec_header(ps, &r);
    if (rc == 0)
        rc = check_rec_unit(ps, &r, &idx);
    if (rc == 0)
        rc = check_rec_lengths(ps, &r);
    if (rc < 0)
        return rc;
    /* Known, distinct units: the count never exceeds the registered ones. */
    struct ssm_rec *out = &ps->recs[ps->nrecs];
    rc = decompress_rec(ps, &r, out);
    if (rc < 0)
        return rc;
    out->unit = ssm_unit_at(ps->ssm, (size_t)idx);
    out->version = r.version;
    ps->seen[idx] = true;
    ps->nrecs++;
    return 0;
}

static int parse_end(struct parse *ps)
{
    if (parse_left(ps) < SSM_END_SIZE)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_TRUNCATED, "saved state truncated before the end marker (offset %zu)",
                                ps->pos);
    const uint8_t *p = ps->buf + ps->pos;
    if ((uint32_t)le_get(p, 4) != SSM_END_MAGIC)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "bad end marker at offset %zu", ps->pos);
    if (le_get(p + 4, 8) != ps->count)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "end marker unit count %llu differs from header %llu",
                                (unsigned long long)le_get(p + 4, 8), (unsigned long long)ps->count);
    if (ssm_crc32(0, ps->buf, ps->pos + 12) != (uint32_t)le_get(p + 12, 4))
        return ixvm_errinfo_set(ps->err, IXVM_ERR_CHECKSUM, "saved state file checksum mismatch");
    ps->pos += SSM_END_SIZE;
    if (ps->pos != ps->len)
        return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "%zu bytes of trailing garbage after the end marker",
                                ps->len - ps->pos);
    return 0;
}

static int check_all_present(struct parse *ps)
{
    size_t n = ssm_unit_count(ps->ssm);
    for (size_t i = 0; i < n; i++) {
        if (!ps->seen[i]) {
            const struct ssm_unit *u = ssm_unit_at(ps->ssm, i);
            return ixvm_errinfo_set(ps->err, IXVM_ERR_FILE_FORMAT, "unit '%s' missing from saved state (instance %u)",
                                    u->name, u->desc.instance);
        }
    }
    return 0;
}

void ssm_recs_free(struct ssm_rec *recs, size_t n)
{
    if (!recs)
        return;
    for (size_t i = 0; i < n; i++)
        free(recs[i].raw);
    free(recs);
}

int ssm_fmt_parse(struct ssm *ssm, const uint8_t *buf, size_t len, uint64_t cfg_digest,
                  struct ssm_rec **recs, size_t *nrecs, struct ixvm_errinfo *err)
{
    struct parse ps = { .ssm = ssm, .buf = buf, .len = len, .err = err };
    *recs = NULL;
    *nrecs = 0;
    if (!buf && len)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "no saved-state buffer");
    int rc = parse_header(&ps, cfg_digest);
    if (rc < 0)
        return rc;
    size_t nunits = ssm_unit_count(ssm);
    ps.recs = calloc(nunits + 1, sizeof(*ps.recs));
    ps.seen = calloc(nunits + 1, sizeof(*ps.seen));
    if (!ps.recs || !ps.seen)
        rc = ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "out of memory validating saved state");
    for (uint64_t i = 0; rc == 0 && i < ps.count; i++)
        rc = parse_record(&ps, (size_t)i);
    if (rc == 0)
        rc = parse_end(&ps);
    if (rc == 0)
        rc = check_all_present(&ps);
    free(ps.seen);
    if (rc < 0) {
        ssm_recs_free(ps.recs, ps.nrecs);
        return rc;
    }
    *recs = ps.recs;
    *nrecs = ps.nrecs;
    return 0;
}
