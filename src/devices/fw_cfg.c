/* SPDX-License-Identifier: MIT */
/*
 * QEMU's firmware configuration interface (docs/specs/fw_cfg.txt in QEMU,
 * read for behaviour): a selector port (0x510, 16-bit write), a data port
 * (0x511, one byte per read from the selected item, zeros past its end or
 * for unknown keys) and the DMA interface (0x514 high / 0x518 low address
 * of a big-endian FWCfgDmaAccess {control, length, address}; writing the
 * low half runs it: SELECT, READ, SKIP, WRITE, then the control word is
 * written back 0 or ERROR).  Reading 0x514 gives "QEMU CFG".
 *
 * Items: the legacy keys (0x00-0x1f), the x86 keys (0x8000-0x800f) and
 * named files.  The file directory (key 0x19: be32 count, then 64-byte
 * entries {be32 size, be16 select, be16 reserved, char name[56]}) is kept
 * sorted by name with selectors 0x20 + position, as QEMU assigns them.
 * The board fills the items (pc.c); this file only serves them.
 */
#define LOG_GROUP LOG_GROUP_DEV_FWCFG
#include <stdlib.h>
#include <string.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"

#define FWCFG_LEGACY_COUNT 0x20
#define FWCFG_ARCH_COUNT 0x10
#define FWCFG_MAX_FILES 64
#define FWCFG_NAME_MAX 56
#define FWCFG_DIR_ENTRY 64

#define DMA_CTL_ERROR 0x01u
#define DMA_CTL_READ 0x02u
#define DMA_CTL_SKIP 0x04u
#define DMA_CTL_SELECT 0x08u
#define DMA_CTL_WRITE 0x10u

struct fwcfg_item {
    uint8_t *data;
    uint32_t len;
};

struct fwcfg_file {
    char name[FWCFG_NAME_MAX];
    struct fwcfg_item item;
};

struct fwcfg_state {
    struct dev_ins *ins;                            /* [init] */
    struct fwcfg_item legacy[FWCFG_LEGACY_COUNT];   /* [lock] */
    struct fwcfg_item arch[FWCFG_ARCH_COUNT];       /* [lock] */
    struct fwcfg_file files[FWCFG_MAX_FILES];       /* [lock] sorted by name */
    unsigned nfiles;                                /* [lock] */
    uint16_t key;                                   /* [lock] selected key, saved */
    uint32_t off;                                   /* [lock] offset in it, saved */
    uint64_t dma_addr;                              /* [lock] */
    bool dma;                                       /* [init] DMA interface present */
    uint32_t misuse;
};

static void be_put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t be_get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static struct fwcfg_item *fwcfg_lookup(struct fwcfg_state *s, uint16_t key)
{
    key &= 0xbfff;   /* the old write-channel bit selects the same item */
    if (key & 0x8000)
        return (key & 0x7fff) < FWCFG_ARCH_COUNT ? &s->arch[key & 0x7fff] : NULL;
    if (key < FWCFG_LEGACY_COUNT)
        return &s->legacy[key];
    if (key - FW_CFG_FILE_FIRST < s->nfiles)
        return &s->files[key - FW_CFG_FILE_FIRST].item;
    return NULL;
}

static int fwcfg_set(struct fwcfg_item *it, const void *data, size_t len)
{
    uint8_t *copy = len ? malloc(len) : NULL;
    if (len && !copy)
        return IXVM_ERR_NO_MEMORY;
    if (len)
        memcpy(copy, data, len);
    free(it->data);
    it->data = copy;
    it->len = (uint32_t)len;
    return 0;
}

/* Rebuild key 0x19 from the sorted file list. */
static int fwcfg_rebuild_dir(struct fwcfg_state *s)
{
    size_t len = 4 + (size_t)s->nfiles * FWCFG_DIR_ENTRY;
    uint8_t *d = calloc(1, len);
    if (!d)
        return IXVM_ERR_NO_MEMORY;
    be_put(d, s->nfiles, 4);
    for (unsigned i = 0; i < s->nfiles; i++) {
        uint8_t *e = d + 4 + i * FWCFG_DIR_ENTRY;
        be_put(e, s->files[i].item.len, 4);
        be_put(e + 4, FW_CFG_FILE_FIRST + i, 2);
        memcpy(e + 8, s->files[i].name, strnlen(s->files[i].name, FWCFG_NAME_MAX - 1));
    }
    free(s->legacy[FW_CFG_FILE_DIR].data);
    s->legacy[FW_CFG_FILE_DIR].data = d;
    s->legacy[FW_CFG_FILE_DIR].len = (uint32_t)len;
    return 0;
}

/* ---- data path ------------------------------------------------------------- */

static uint8_t fwcfg_next_byte(struct fwcfg_state *s)
{
    struct fwcfg_item *it = fwcfg_lookup(s, s->key);
    if (!it || s->off >= it->len)
        return 0;
    return it->data[s->off++];
}

static int fwcfg_io_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct fwcfg_state *s = dev;
    uint32_t v = 0;
    if (off == 1) {
        for (unsigned i = 0; i < size; i++)
            v |= (uint32_t)fwcfg_next_byte(s) << (8 * i);
    }
    *val = v;   /* the selector port reads 0 */
    return 0;
}

static int fwcfg_io_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct fwcfg_state *s = dev;
    if (off == 0 && size == 2) {
        s->key = (uint16_t)val;
        s->off = 0;
    } else if (off == 0 && size == 1) {
        s->key = (uint16_t)(val & 0xff);   /* a byte write selects a legacy key */
        s->off = 0;
    } else {
        DEV_LOG_MISUSE(s->misuse, "fw_cfg: %u-byte write to port offset %u ignored (data port is read-only)",
                       size, off);
    }
    return 0;
}

static const struct iom_port_ops fwcfg_io_ops = { fwcfg_io_read, fwcfg_io_write, 1 | 2 | 4 };

/* Run the DMA descriptor at s->dma_addr (QEMU fw_cfg.txt "DMA interface"). */
static void fwcfg_dma_run(struct fwcfg_state *s)
{
    struct pgm *pgm = s->ins->ctx.pgm;
    gphys_t at = s->dma_addr;
    s->dma_addr = 0;
    uint8_t acc[16];
    /* The descriptor must be in RAM (a guest bug otherwise: nothing to
     * write the status back to). */
    if (!pgm || at >= PGM_ADDR_SPACE - sizeof(acc) || pgm_page_kind(pgm, at) != PGM_PAGE_RAM ||
        pgm_page_kind(pgm, at + sizeof(acc) - 1) != PGM_PAGE_RAM || pgm_phys_read(pgm, at, acc, sizeof(acc)) < 0) {
        DEV_LOG_MISUSE(s->misuse, "fw_cfg: DMA descriptor at %#llx is not in RAM", (unsigned long long)at);
        return;
    }
    uint32_t ctl = (uint32_t)be_get(acc, 4);
    uint32_t len = (uint32_t)be_get(acc + 4, 4);
    uint64_t addr = be_get(acc + 8, 8);
    if (ctl & DMA_CTL_SELECT) {
        s->key = (uint16_t)(ctl >> 16);
        s->off = 0;
    }
    uint32_t result = 0;
    struct fwcfg_item *it = fwcfg_lookup(s, s->key);
    if ((ctl & (DMA_CTL_READ | DMA_CTL_WRITE)) && (addr >= PGM_ADDR_SPACE || len > PGM_ADDR_SPACE - addr)) {
        result = DMA_CTL_ERROR;   /* nothing above 4 GiB */
    } else if (ctl & DMA_CTL_READ) {
        uint8_t chunk[512];
        while (len) {
            uint32_t n = len < sizeof(chunk) ? len : (uint32_t)sizeof(chunk);
            uint32_t avail = it && s->off < it->len ? it->len - s->off : 0;
            uint32_t take = avail < n ? avail : n;
            if (take)
                memcpy(chunk, it->data + s->off, take);
            memset(chunk + take, 0, n - take);
            if (pgm_phys_write(pgm, addr, chunk, n) < 0) {
                result = DMA_CTL_ERROR;
                break;
            }
            s->off += take;
            addr += n;
            len -= n;
        }
    } else if (ctl & DMA_CTL_SKIP) {
        uint32_t avail = it && s->off < it->len ? it->len - s->off : 0;
        s->off += len < avail ? len : avail;
    } else if (ctl & DMA_CTL_WRITE) {
        result = DMA_CTL_ERROR;   /* no writable items */
    }
    uint8_t done[4];
    be_put(done, result, 4);
    if (pgm_phys_write(pgm, at, done, 4) < 0)
        LOG_WARN("fw_cfg: cannot complete the DMA descriptor at %#llx", (unsigned long long)at);
}

static int fwcfg_dma_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    static const char sig[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };
    uint32_t v = 0;
    for (unsigned i = 0; i < size && off + i < 8; i++)
        v |= (uint32_t)(uint8_t)sig[off + i] << (8 * i);
    *val = v;
    return 0;
}

static int fwcfg_dma_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct fwcfg_state *s = dev;
    if (size != 4 || (off != 0 && off != 4)) {
        DEV_LOG_MISUSE(s->misuse, "fw_cfg: %u-byte DMA register write at offset %u ignored", size, off);
        return 0;
    }
    /* The register is big-endian: the guest's outl of cpu_to_be32(x)
     * arrives byte-swapped. */
    uint32_t v = __builtin_bswap32(val);
    if (off == 0) {
        s->dma_addr = (uint64_t)v << 32;
    } else {
        s->dma_addr |= v;
        fwcfg_dma_run(s);
    }
    return 0;
}

static const struct iom_port_ops fwcfg_dma_ops = { fwcfg_dma_read, fwcfg_dma_write, 1 | 2 | 4 };

/* ---- descriptor -------------------------------------------------------------- */

static int fwcfg_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                      struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "dma", NULL };
    struct fwcfg_state *s = ins->state;
    s->ins = ins;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc < 0 || (rc = dev_cfg_get_bool(ins, cfg, "dma", true, &s->dma, err)) < 0)
        return rc;
    if (s->dma && !ctx->pgm)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_STATE, "device %s: DMA needs the memory map", ins->name);
    uint8_t id[4] = { s->dma ? 3 : 1, 0, 0, 0 };   /* bit 0 traditional, bit 1 DMA */
    if ((rc = fwcfg_set(&s->legacy[FW_CFG_SIGNATURE], "QEMU", 4)) < 0 ||
        (rc = fwcfg_set(&s->legacy[FW_CFG_ID], id, 4)) < 0 || (rc = fwcfg_rebuild_dir(s)) < 0)
        return ixvm_errinfo_set(err, rc, "device %s: out of memory", ins->name);
    if ((rc = dev_map_ports(ins, FW_CFG_PORT_SEL, 2, &fwcfg_io_ops, "fw_cfg", err)) < 0)
        return rc;
    if (s->dma && (rc = dev_map_ports(ins, FW_CFG_PORT_DMA, 8, &fwcfg_dma_ops, "fw_cfg dma", err)) < 0)
        return rc;
    return 0;
}

static void fwcfg_reset(void *state)
{
    struct fwcfg_state *s = state;
    s->key = 0;
    s->off = 0;
    s->dma_addr = 0;
}

static void fwcfg_destroy(void *state)
{
    struct fwcfg_state *s = state;
    for (unsigned k = 0; k < FWCFG_LEGACY_COUNT; k++)
        free(s->legacy[k].data);
    for (unsigned k = 0; k < FWCFG_ARCH_COUNT; k++)
        free(s->arch[k].data);
    for (unsigned k = 0; k < s->nfiles; k++)
        free(s->files[k].item.data);
}

static void fwcfg_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct fwcfg_state *s = state;
    ixvm_pr(pr, "selected %#06x offset %u, DMA %s\n", s->key, s->off, s->dma ? "on" : "off");
    for (unsigned k = 0; k < FWCFG_LEGACY_COUNT; k++)
        if (s->legacy[k].len)
            ixvm_pr(pr, "  %#06x  %u bytes\n", k, s->legacy[k].len);
    for (unsigned k = 0; k < FWCFG_ARCH_COUNT; k++)
        if (s->arch[k].len)
            ixvm_pr(pr, "  %#06x  %u bytes\n", 0x8000 + k, s->arch[k].len);
    for (unsigned k = 0; k < s->nfiles; k++)
        ixvm_pr(pr, "  %#06x  %u bytes  %s\n", FW_CFG_FILE_FIRST + k, s->files[k].item.len, s->files[k].name);
}

static const struct ssm_field fwcfg_fields[] = {
    SSM_FIELD(U16, struct fwcfg_state, key),
    SSM_FIELD(U32, struct fwcfg_state, off),
    SSM_FIELD_END,
};

const struct dev_reg dev_fw_cfg = {
    .name = "fw_cfg",
    .desc = "QEMU firmware configuration (ports 0x510/0x511, DMA at 0x514)",
    .state_size = sizeof(struct fwcfg_state),
    .max_instances = 1,
    .init = fwcfg_init,
    .reset = fwcfg_reset,
    .destroy = fwcfg_destroy,
    .ssm_fields = fwcfg_fields,
    .ssm_version = 1,
    .ssm_min_version = 1,
    .info = fwcfg_info,
};

/* ---- board entry points ---------------------------------------------------------- */

int fw_cfg_add_bytes(struct dev_ins *fw, uint16_t key, const void *data, size_t len)
{
    struct fwcfg_state *s = fw->state;
    if (key == FW_CFG_FILE_DIR || key == FW_CFG_SIGNATURE || key == FW_CFG_ID || len > UINT32_MAX)
        return IXVM_ERR_INVALID_PARAMETER;
    dev_lock(fw);
    struct fwcfg_item *it = (key & 0x8000) || key < FWCFG_LEGACY_COUNT ? fwcfg_lookup(s, key) : NULL;
    int rc = it ? fwcfg_set(it, data, len) : IXVM_ERR_INVALID_PARAMETER;
    dev_unlock(fw);
    return rc;
}

int fw_cfg_add_u16(struct dev_ins *fw, uint16_t key, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return fw_cfg_add_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_u32(struct dev_ins *fw, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (unsigned i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_u64(struct dev_ins *fw, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (unsigned i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_file(struct dev_ins *fw, const char *name, const void *data, size_t len)
{
    struct fwcfg_state *s = fw->state;
    if (!name || !*name || strlen(name) >= FWCFG_NAME_MAX || len > UINT32_MAX)
        return IXVM_ERR_INVALID_PARAMETER;
    dev_lock(fw);
    int rc = 0;
    unsigned pos = 0;
    while (pos < s->nfiles && strcmp(s->files[pos].name, name) < 0)
        pos++;
    if (pos < s->nfiles && !strcmp(s->files[pos].name, name)) {
        rc = fwcfg_set(&s->files[pos].item, data, len);   /* replace */
    } else if (s->nfiles >= FWCFG_MAX_FILES) {
        rc = IXVM_ERR_BUFFER_OVERFLOW;
    } else {
        struct fwcfg_file nf = { .item = { NULL, 0 } };
        snprintf(nf.name, sizeof(nf.name), "%s", name);
        rc = fwcfg_set(&nf.item, data, len);
        if (rc == 0) {
            memmove(&s->files[pos + 1], &s->files[pos], (s->nfiles - pos) * sizeof(s->files[0]));
            s->files[pos] = nf;
            s->nfiles++;
        }
    }
    if (rc == 0)
        rc = fwcfg_rebuild_dir(s);
    dev_unlock(fw);
    return rc;
}
