/* SPDX-License-Identifier: MIT */
/*
 * PIIX3 IDE function (8086:7010, devfn 1.1 on the i440FX board; Intel
 * 82371SB datasheet, section 2.4 and 2.7): two IDE channels in
 * compatibility mode -- primary 0x1F0-0x1F7 / 0x3F6 on IRQ14, secondary
 * 0x170-0x177 / 0x376 on IRQ15 -- plus the SFF-8038i bus-master DMA engine
 * at BAR4 (16 I/O ports: command, status and PRD table address per
 * channel).  The channel state machines are ide.c/atapi.c; this file owns
 * the configuration (which image on which drive), the PCI personality and
 * the PRD table walk, done through pci_dma_read/write so a descriptor that
 * points anywhere is the bus's problem, never ours.
 *
 * Config: hda, hdb, hdc, hdd (image paths), hdX_media ("disk" | "cdrom";
 * a cdrom drive without a path is an empty tray), snapshot (bool: disk
 * writes stay in memory).
 */
#define LOG_GROUP LOG_GROUP_DEV_IDE
#include <stdio.h>
#include <string.h>

#include "devices/ide_int.h"
#include "ixvm/dev.h"
#include "ixvm/log.h"
#include "ixvm/pci.h"

#define BM_CMD_START 0x01u
#define BM_CMD_WRITE 0x08u          /* bus master writes memory (device reads) */
#define BM_ST_ACTIVE 0x01u
#define BM_ST_ERROR 0x02u
#define BM_ST_INTR 0x04u
#define BM_ST_CAP 0x60u             /* drive 0/1 DMA capable: software bits */
#define BM_PRD_EOT 0x80000000u

struct piix_ide_state;

/* One bus-master channel (SFF-8038i 3.1). */
struct piix_bm {
    struct piix_ide_state *s;       /* [init] */
    unsigned idx;                   /* [init] */
    uint8_t cmd, status;            /* [lock] saved */
    uint32_t prd;                   /* [lock] saved: table base */
    uint32_t cur_prd;               /* [lock] saved: next descriptor */
    uint32_t cur_addr, cur_left;    /* [lock] saved: current region */
    uint8_t eot;                    /* [lock] saved: current region is the last */
};

struct piix_ide_state {
    struct dev_ins *ins;            /* [init] */
    struct pci_func pci;            /* [bus lock] config space */
    bool pci_attached;              /* [init] */
    struct ide_channel ch[2];       /* [lock] */
    struct piix_bm bm[2];           /* [lock] */
    uint32_t misuse;                /* [lock] */
};

/* ---- legacy command/control blocks -------------------------------------- */

static int piix_cmd_read(struct piix_ide_state *s, unsigned c, uint16_t off, unsigned size, uint32_t *val)
{
    *val = ide_cmd_read(&s->ch[c], off, size);
    return 0;
}

static int piix_cmd_write(struct piix_ide_state *s, unsigned c, uint16_t off, uint32_t val, unsigned size)
{
    ide_cmd_write(&s->ch[c], off, val, size);
    return 0;
}

/* Port op sets per channel (IOM gives only the offset and the state). */
#define PIIX_CHANNEL_OPS(n)                                                              \
    static int piix_cmd_read##n(void *dev, uint16_t off, unsigned size, uint32_t *val)   \
    {                                                                                    \
        return piix_cmd_read(dev, n, off, size, val);                                    \
    }                                                                                    \
    static int piix_cmd_write##n(void *dev, uint16_t off, uint32_t val, unsigned size)   \
    {                                                                                    \
        return piix_cmd_write(dev, n, off, val, size);                                   \
    }                                                                                    \
    static int piix_ctl_read##n(void *dev, uint16_t off, unsigned size, uint32_t *val)   \
    {                                                                                    \
        *val = ide_ctl_read(&((struct piix_ide_state *)dev)->ch[n]);                     \
        return 0;                                                                        \
    }                                                                                    \
    static int piix_ctl_write##n(void *dev, uint16_t off, uint32_t val, unsigned size)   \
    {                                                                                    \
        ide_ctl_write(&((struct piix_ide_state *)dev)->ch[n], (uint8_t)val);             \
        return 0;                                                                        \
    }
PIIX_CHANNEL_OPS(0)
PIIX_CHANNEL_OPS(1)

static const struct iom_port_ops piix_cmd_ops[2] = {
    { piix_cmd_read0, piix_cmd_write0, 0 },
    { piix_cmd_read1, piix_cmd_write1, 0 },
};
static const struct iom_port_ops piix_ctl_ops[2] = {
    { piix_ctl_read0, piix_ctl_write0, 1 },
    { piix_ctl_read1, piix_ctl_write1, 1 },
};

static const struct {
    uint16_t cmd, ctl;
    uint8_t irq;
} piix_legacy[2] = { { 0x1f0, 0x3f6, 14 }, { 0x170, 0x376, 15 } };

/* ---- bus master ------------------------------------------------------------ */

static bool piix_bm_active(void *user)
{
    struct piix_bm *bm = user;
    return bm->cmd & BM_CMD_START;
}

/* Walk the PRD table (SFF-8038i 2.1): 8-byte descriptors {base, count,
 * EOT}; a count of 0 means 64 KiB.  Every descriptor moves at least two
 * bytes, so the walk ends. */
static int piix_bm_xfer(void *user, uint8_t *buf, uint32_t len, bool to_guest)
{
    struct piix_bm *bm = user;
    struct piix_ide_state *s = bm->s;
    uint32_t moved = 0;
    if (!s->pci_attached)
        return IXVM_ERR_INVALID_STATE;
    if (!!(bm->cmd & BM_CMD_WRITE) != to_guest)
        DEV_LOG_MISUSE(s->misuse, "PIIX IDE: bus master direction bit %s the command",
                       "contradicts");
    while (moved < len) {
        if (!bm->cur_left) {
            if (bm->eot)
                break;
            uint8_t d[8];
            int rc = pci_dma_read(&s->pci, bm->cur_prd, d, sizeof(d));
            if (rc < 0)
                return rc;
            uint32_t cnt = (uint32_t)(d[4] | d[5] << 8) & 0xfffeu;
            uint32_t flags = (uint32_t)d[4] | (uint32_t)d[5] << 8 | (uint32_t)d[6] << 16 | (uint32_t)d[7] << 24;
            bm->cur_addr = ((uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24) & ~1u;
            bm->cur_left = cnt ? cnt : 0x10000;
            bm->eot = (flags & BM_PRD_EOT) != 0;
            bm->cur_prd += 8;
        }
        uint32_t n = len - moved < bm->cur_left ? len - moved : bm->cur_left;
        int rc = to_guest ? pci_dma_write(&s->pci, bm->cur_addr, buf + moved, n)
                          : pci_dma_read(&s->pci, bm->cur_addr, buf + moved, n);
        if (rc < 0)
            return rc;
        bm->cur_addr += n;
        bm->cur_left -= n;
        moved += n;
    }
    return (int)moved;
}

static void piix_bm_done(void *user, int status)
{
    struct piix_bm *bm = user;
    bm->status &= (uint8_t)~BM_ST_ACTIVE;
    if (status < 0)
        bm->status |= BM_ST_ERROR;
}

static const struct ide_dma_ops piix_dma_ops = { piix_bm_active, piix_bm_xfer, piix_bm_done };

/* The channel's INTRQ: ISA IRQ14/15 in compatibility mode; each interrupt
 * also latches the bus master's Interrupt bit. */
static void piix_set_irq(void *user, int level)
{
    struct piix_bm *bm = user;
    if (level)
        bm->status |= BM_ST_INTR;
    dev_irq_set(bm->s->ins, bm->idx, level);
}

static uint8_t piix_bm_readb(struct piix_bm *bm, unsigned off)
{
    switch (off) {
    case 0: return bm->cmd;
    case 2: return bm->status;
    case 4: case 5: case 6: case 7: return (uint8_t)(bm->prd >> (8 * (off - 4)));
    default: return 0;
    }
}

static void piix_bm_write_cmd(struct piix_ide_state *s, struct piix_bm *bm, uint8_t v)
{
    uint8_t old = bm->cmd;
    bm->cmd = v & (BM_CMD_START | BM_CMD_WRITE);
    if ((v & BM_CMD_START) && !(old & BM_CMD_START)) {
        bm->cur_prd = bm->prd;
        bm->cur_left = 0;
        bm->eot = 0;
        bm->status |= BM_ST_ACTIVE;
        ide_dma_kick(&s->ch[bm->idx]);
    } else if (!(v & BM_CMD_START)) {
        bm->status &= (uint8_t)~BM_ST_ACTIVE;    /* stop: abort the engine */
    }
}

static void piix_bm_writeb(struct piix_ide_state *s, struct piix_bm *bm, unsigned off, uint8_t v)
{
    switch (off) {
    case 0: piix_bm_write_cmd(s, bm, v); break;
    case 2:
        bm->status = (uint8_t)((bm->status & ~(BM_ST_CAP)) | (v & BM_ST_CAP));
        bm->status &= (uint8_t)~(v & (BM_ST_ERROR | BM_ST_INTR));   /* write 1 to clear */
        break;
    case 4: case 5: case 6: case 7: {
        unsigned sh = 8 * (off - 4);
        bm->prd = (bm->prd & ~(0xffu << sh)) | ((uint32_t)v << sh);
        bm->prd &= ~3u;                          /* dword aligned */
        break;
    }
    default: break;
    }
}

static int piix_bm_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct piix_ide_state *s = dev;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = (off + i) & 15;
        v |= (uint32_t)piix_bm_readb(&s->bm[o >> 3], o & 7) << (8 * i);
    }
    *val = v;
    return 0;
}

static int piix_bm_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct piix_ide_state *s = dev;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = (off + i) & 15;
        piix_bm_writeb(s, &s->bm[o >> 3], o & 7, (uint8_t)(val >> (8 * i)));
    }
    return 0;
}

static const struct iom_port_ops piix_bm_ops = { piix_bm_read, piix_bm_write, 0 };

/* ---- PCI personality --------------------------------------------------------- */

static void piix_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

int piix_ide_pci_attach(struct dev_ins *ide, struct pci_bus *bus, uint8_t devfn, struct ixvm_errinfo *err)
{
    struct piix_ide_state *s = ide->state;
    struct pci_func *f = &s->pci;
    memset(f->config, 0, sizeof(f->config));
    piix_put16(f->config + PCI_VENDOR_ID, 0x8086);
    piix_put16(f->config + PCI_DEVICE_ID, 0x7010);
    piix_put16(f->config + PCI_STATUS, 0x0280);        /* fast back-to-back, DEVSEL medium */
    f->config[PCI_CLASS_PROG] = 0x80;                  /* bus master; both channels legacy */
    piix_put16(f->config + PCI_CLASS_DEVICE, 0x0101);  /* IDE controller */
    f->config[PCI_BASE_ADDRESS_0 + 16] = 0x01;         /* BAR4: I/O */
    int rc = pci_register_func(bus, devfn, f, NULL, ide);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "%s: cannot register PCI function %02x.%u", ide->name,
                                devfn >> 3, devfn & 7);
    /* IDETIM/SIDETIM (0x40-0x44): firmware sets the decode-enable bits
     * (bit 15 of 0x40/0x42) and Linux checks them. */
    for (unsigned i = 0x40; i <= 0x44; i++)
        f->wmask[i] = 0xff;
    rc = pci_register_bar_io(f, 4, 16, &piix_bm_ops, s);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "%s: cannot register BAR4", ide->name);
    s->pci_attached = true;
    return 0;
}

/* ---- configuration ------------------------------------------------------------ */

static int piix_open_drive(struct piix_ide_state *s, const struct dev_cfg *cfg, unsigned idx,
                           bool snapshot, struct ixvm_errinfo *err)
{
    char key[16];
    snprintf(key, sizeof(key), "hd%c_media", 'a' + idx);
    const char *media = dev_cfg_get_str(cfg, key, "disk");
    snprintf(key, sizeof(key), "hd%c", 'a' + idx);
    const char *path = dev_cfg_get_str(cfg, key, NULL);
    bool cd = !strcmp(media, "cdrom");
    if (!cd && strcmp(media, "disk"))
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "%s: hd%c_media: '%s' is neither 'disk' nor 'cdrom'", s->ins->name,
                                'a' + idx, media);
    if (path && !*path)
        path = NULL;
    if (!path && !cd)
        return 0;                   /* no drive */
    struct blk *blk = NULL;
    if (path) {
        struct blk_opts o = { .path = path, .read_only = cd, .snapshot = snapshot && !cd,
                              .what = cd ? "cdrom" : "disk" };
        int rc = blk_open(&o, &blk, err);
        if (rc < 0)
            return rc;
    }
    int rc = ide_drive_attach(&s->ch[idx / 2], idx % 2, cd ? IDE_KIND_CD : IDE_KIND_HD, blk, idx, err);
    if (rc < 0)
        blk_close(blk);
    return rc;
}

int piix_ide_change_medium(struct dev_ins *ide, unsigned drive, const char *path, struct ixvm_errinfo *err)
{
    struct piix_ide_state *s = ide->state;
    struct blk *blk = NULL;
    if (drive > 3 || s->ch[drive / 2].drv[drive % 2].kind != IDE_KIND_CD)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "%s: drive hd%c is not a CD-ROM drive",
                                ide->name, 'a' + (drive & 3));
    if (path) {
        struct blk_opts o = { .path = path, .read_only = true, .what = "cdrom" };
        int rc = blk_open(&o, &blk, err);
        if (rc < 0)
            return rc;
    }
    dev_lock(ide);
    int rc = ide_cd_change(&s->ch[drive / 2], drive % 2, blk);
    dev_unlock(ide);
    return rc;
}

static void piix_reset(void *state)
{
    struct piix_ide_state *s = state;
    for (unsigned c = 0; c < 2; c++) {
        struct piix_bm *bm = &s->bm[c];
        bm->cmd = bm->status = 0;
        bm->prd = bm->cur_prd = bm->cur_addr = bm->cur_left = 0;
        bm->eot = 0;
        ide_channel_reset(&s->ch[c]);
    }
}

static void piix_destroy(void *state)
{
    struct piix_ide_state *s = state;
    ide_channel_destroy(&s->ch[0]);
    ide_channel_destroy(&s->ch[1]);
}

static int piix_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                     struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "hda", "hdb", "hdc", "hdd", "hda_media", "hdb_media",
                                        "hdc_media", "hdd_media", "snapshot", NULL };
    struct piix_ide_state *s = ins->state;
    bool snapshot = false;
    s->ins = ins;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dev_cfg_get_bool(ins, cfg, "snapshot", false, &snapshot, err);
    for (unsigned i = 0; i < 4 && rc >= 0; i++)
        rc = piix_open_drive(s, cfg, i, snapshot, err);
    for (unsigned c = 0; c < 2 && rc >= 0; c++) {
        s->bm[c].s = s;
        s->bm[c].idx = c;
        s->ch[c].set_irq = piix_set_irq;
        s->ch[c].irq_user = &s->bm[c];
        s->ch[c].dma = &piix_dma_ops;
        s->ch[c].dma_user = &s->bm[c];
        char name[24];
        snprintf(name, sizeof(name), "%s-%s", ins->name, c ? "secondary" : "primary");
        rc = dev_map_ports(ins, piix_legacy[c].cmd, 8, &piix_cmd_ops[c], name, err);
        if (rc >= 0)
            rc = dev_map_ports(ins, piix_legacy[c].ctl, 1, &piix_ctl_ops[c], name, err);
        if (rc >= 0)
            rc = dev_isa_irq_connect(ins, c, piix_legacy[c].irq);
    }
    if (rc < 0) {
        piix_destroy(s);        /* the framework calls destroy too: closing twice is safe */
        return rc;
    }
    piix_reset(s);
    return 0;
}

static int piix_post_load(void *state, uint32_t version)
{
    struct piix_ide_state *s = state;
    for (unsigned c = 0; c < 2; c++) {
        s->bm[c].cmd &= BM_CMD_START | BM_CMD_WRITE;
        s->bm[c].prd &= ~3u;
        if (s->bm[c].cur_left > 0x10000)
            s->bm[c].cur_left = 0;
        ide_channel_post_load(&s->ch[c]);
    }
    return 0;
}

static const char *piix_kind_name(const struct ide_drive *d)
{
    static const char *const names[] = { "none", "disk", "cdrom" };
    return names[d->kind < 3 ? d->kind : 0];
}

static void piix_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct piix_ide_state *s = state;
    for (unsigned c = 0; c < 2; c++) {
        const struct piix_bm *bm = &s->bm[c];
        ixvm_pr(pr, "%s: selected=%u devctl=%02x irq=%u bm cmd=%02x status=%02x prd=%08x\n",
                c ? "secondary" : "primary", s->ch[c].cur, s->ch[c].devctl, s->ch[c].irq_level,
                bm->cmd, bm->status, bm->prd);
        for (unsigned u = 0; u < 2; u++) {
            const struct ide_drive *d = &s->ch[c].drv[u];
            if (d->kind == IDE_KIND_NONE)
                continue;
            ixvm_pr(pr, "  hd%c %s '%s' %llu sectors chs=%u/%u/%u status=%02x error=%02x cmd=%02x%s\n",
                    'a' + c * 2 + u, piix_kind_name(d), d->blk ? blk_path(d->blk) : "(empty)",
                    (unsigned long long)d->nsectors, d->cyls, d->heads, d->secs, d->status,
                    d->error, d->cmd, d->blk && blk_is_snapshot(d->blk) ? " snapshot" : "");
        }
    }
}

#define PIIX_F(t, m) SSM_FIELD(t, struct piix_ide_state, m),
#define PIIX_BM_F(i)                                                                       \
    PIIX_F(U8, bm[i].cmd) PIIX_F(U8, bm[i].status) PIIX_F(U32, bm[i].prd)                  \
    PIIX_F(U32, bm[i].cur_prd) PIIX_F(U32, bm[i].cur_addr) PIIX_F(U32, bm[i].cur_left)     \
    PIIX_F(U8, bm[i].eot)
static const struct ssm_field piix_fields[] = {
    IDE_CHANNEL_SSM(PIIX_F, ch[0])
    IDE_CHANNEL_SSM(PIIX_F, ch[1])
    PIIX_BM_F(0)
    PIIX_BM_F(1)
    SSM_FIELD_END,
};

const struct dev_reg dev_piix_ide = {
    .name = "piix_ide",
    .desc = "PIIX3 IDE controller (ATA disks, ATAPI CD-ROMs, bus-master DMA)",
    .state_size = sizeof(struct piix_ide_state),
    .max_instances = 1,
    .init = piix_init,
    .reset = piix_reset,
    .destroy = piix_destroy,
    .ssm_fields = piix_fields,
    .ssm_version = 1,
    .ssm_min_version = 1,
    .post_load = piix_post_load,
    .info = piix_info,
};
