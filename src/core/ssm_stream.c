/* SPDX-License-Identifier: MIT */
/*
 * SSM streams: the handle a unit's save callback writes into (a growable
 * buffer) and its load callback reads from (a bounded window onto the
 * decompressed unit data), typed little-endian puts and gets, and the
 * declarative field tables built on them.  The first error sticks to the
 * handle so a callback may check once at the end; gets past the end return
 * IXVM_ERR_TRUNCATED and never read outside the unit's data.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/ssm_internal.h"

/* ------------------------------------------------------------------------ */
/* Buffers and checksums                                                    */
/* ------------------------------------------------------------------------ */

int ssm_buf_reserve(struct ssm_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return IXVM_ERR_NO_MEMORY;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return IXVM_ERR_NO_MEMORY;
    b->data = p;
    b->cap = cap;
    return 0;
}

int ssm_buf_append(struct ssm_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = ssm_buf_reserve(b, n);
    if (rc < 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void ssm_buf_free(struct ssm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* zlib's crc32 takes a 32-bit length: feed larger buffers in chunks. */
uint32_t ssm_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    const size_t chunk = (size_t)1 << 30;
    uLong c = crc;
    while (n > 0) {
        size_t k = n < chunk ? n : chunk;
        c = crc32(c, p, (uInt)k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* ------------------------------------------------------------------------ */
/* Handles                                                                  */
/* ------------------------------------------------------------------------ */

void ssm_handle_init_save(struct ssm_handle *h)
{
    memset(h, 0, sizeof(*h));
    h->saving = true;
}

void ssm_handle_init_load(struct ssm_handle *h, const uint8_t *data, size_t len)
{
    memset(h, 0, sizeof(*h));
    h->data = data;
    h->len = len;
}

static int handle_fail(struct ssm_handle *h, int rc)
{
    if (h->rc == 0)
        h->rc = rc;
    return h->rc;
}

int ssm_put_mem(struct ssm_handle *h, const void *p, size_t n)
{
    if (h->rc < 0)
        return h->rc;
    if (!h->saving)
        return handle_fail(h, IXVM_ERR_INVALID_STATE);
    /* The loader refuses units above the limit, so refuse to write them. */
    if (n > SSM_UNIT_MAX_RAW - h->buf.len)
        return handle_fail(h, IXVM_ERR_OUT_OF_RANGE);
    int rc = ssm_buf_append(&h->buf, p, n);
    return rc < 0 ? handle_fail(h, rc) : 0;
}

int ssm_get_mem(struct ssm_handle *h, void *p, size_t n)
{
    if (h->rc < 0)
        return h->rc;
    if (h->saving)
        return handle_fail(h, IXVM_ERR_INVALID_STATE);
    if (n > h->len - h->pos)
        return handle_fail(h, IXVM_ERR_TRUNCATED);
    if (n)
        memcpy(p, h->data + h->pos, n);
    h->pos += n;
    return 0;
}

size_t ssm_remaining(const struct ssm_handle *h)
{
    return h->saving ? 0 : h->len - h->pos;
}

/* Unsigned integers are stored little-endian, width bytes. */
static int put_uint(struct ssm_handle *h, uint64_t v, unsigned width)
{
    uint8_t b[8];
    for (unsigned i = 0; i < width; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return ssm_put_mem(h, b, width);
}

static int get_uint(struct ssm_handle *h, uint64_t *v, unsigned width)
{
    uint8_t b[8];
    *v = 0;
    int rc = ssm_get_mem(h, b, width);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < width; i++)
        *v |= (uint64_t)b[i] << (8 * i);
    return 0;
}

int ssm_put_u8(struct ssm_handle *h, uint8_t v) { return put_uint(h, v, 1); }
int ssm_put_u16(struct ssm_handle *h, uint16_t v) { return put_uint(h, v, 2); }
int ssm_put_u32(struct ssm_handle *h, uint32_t v) { return put_uint(h, v, 4); }
int ssm_put_u64(struct ssm_handle *h, uint64_t v) { return put_uint(h, v, 8); }
int ssm_put_bool(struct ssm_handle *h, bool v) { return put_uint(h, v ? 1 : 0, 1); }

/* Typed gets: *v is 0 on error so a careless caller never sees garbage. */
#define SSM_DEFINE_GET(suffix, type, width)                 \
    int ssm_get_##suffix(struct ssm_handle *h, type *v)     \
    {                                                       \
        uint64_t x;                                         \
        int rc = get_uint(h, &x, width);                    \
        *v = (type)x;                                       \
        return rc;                                          \
    }
SSM_DEFINE_GET(u8, uint8_t, 1)
SSM_DEFINE_GET(u16, uint16_t, 2)
SSM_DEFINE_GET(u32, uint32_t, 4)
SSM_DEFINE_GET(u64, uint64_t, 8)
#undef SSM_DEFINE_GET

int ssm_get_bool(struct ssm_handle *h, bool *v)
{
    uint64_t x;
    *v = false;
    int rc = get_uint(h, &x, 1);
    if (rc < 0)
        return rc;
    if (x > 1)
        return handle_fail(h, IXVM_ERR_FILE_FORMAT);
    *v = x != 0;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Field tables                                                             */
/* ------------------------------------------------------------------------ */

/* Storage width of each scalar field type; 0 for MEM (uses field size). */
static const unsigned field_width[] = {
    [SSM_FT_U8] = 1, [SSM_FT_U16] = 2, [SSM_FT_U32] = 4, [SSM_FT_U64] = 8,
    [SSM_FT_BOOL] = 1, [SSM_FT_MEM] = 0,
};

/* Check a table entry against its member: a mismatch is a programming error. */
static bool field_valid(const struct ssm_field *f)
{
    if ((unsigned)f->type >= IXVM_ARRAY_SIZE(field_width))
        return false;
    if (f->type == SSM_FT_MEM)
        return true;
    if (f->type == SSM_FT_BOOL)
        return f->size == sizeof(bool);
    return f->size == field_width[f->type];
}

/* Host-order integer of f->size bytes at p, widened to 64 bits. */
static uint64_t field_load(const struct ssm_field *f, const uint8_t *p)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (f->size) {
    case 1: memcpy(&u8, p, 1); return u8;
    case 2: memcpy(&u16, p, 2); return u16;
    case 4: memcpy(&u32, p, 4); return u32;
    default: memcpy(&u64, p, 8); return u64;
    }
}

static void field_store(const struct ssm_field *f, uint8_t *p, uint64_t v)
{
    uint8_t u8 = (uint8_t)v;
    uint16_t u16 = (uint16_t)v;
    uint32_t u32 = (uint32_t)v;
    switch (f->size) {
    case 1: memcpy(p, &u8, 1); break;
    case 2: memcpy(p, &u16, 2); break;
    case 4: memcpy(p, &u32, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

int ssm_put_fields(struct ssm_handle *h, const struct ssm_field *fields, const void *st)
{
    const uint8_t *base = st;
    for (const struct ssm_field *f = fields; f->type != SSM_FT_END; f++) {
        if (!field_valid(f))
            return handle_fail(h, IXVM_ERR_INVALID_PARAMETER);
        const uint8_t *p = base + f->offset;
        if (f->type == SSM_FT_MEM)
            ssm_put_mem(h, p, f->size);
        else if (f->type == SSM_FT_BOOL)
            ssm_put_bool(h, *(const bool *)p);
        else
            put_uint(h, field_load(f, p), field_width[f->type]);
    }
    return h->rc;
}

int ssm_get_fields(struct ssm_handle *h, const struct ssm_field *fields, void *st)
{
    uint8_t *base = st;
    for (const struct ssm_field *f = fields; f->type != SSM_FT_END && h->rc == 0; f++) {
        if (!field_valid(f))
            return handle_fail(h, IXVM_ERR_INVALID_PARAMETER);
        uint8_t *p = base + f->offset;
        uint64_t v;
        bool b;
        if (f->type == SSM_FT_MEM) {
            (void)ssm_get_mem(h, p, f->size);
        } else if (f->type == SSM_FT_BOOL) {
            if (ssm_get_bool(h, &b) == 0)
                *(bool *)p = b;
        } else if (get_uint(h, &v, field_width[f->type]) == 0) {
            field_store(f, p, v);
        }
    }
    return h->rc;
}
