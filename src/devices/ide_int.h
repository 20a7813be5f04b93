/* SPDX-License-Identifier: MIT */
/*
 * IDE channel and drive state machines shared by ide.c (task file, ATA
 * commands, PIO and DMA data phases), atapi.c (PACKET commands) and the
 * controllers that host channels (piix_ide.c).  docs/ide.md describes the
 * behaviour; the ATA/ATAPI-6 specification (T13/1410D) and MMC-3
 * (T10/1363-D) are the references cited below.
 *
 * Threads: everything here runs under the owning controller's instance
 * lock. [lock]
 */
#ifndef IXVM_DEVICES_IDE_INT_H
#define IXVM_DEVICES_IDE_INT_H

#include "ixvm/blk.h"
#include "ixvm/types.h"

#define IDE_BUF_SIZE 65536u     /* one PIO DRQ block or one DMA chunk */
#define IDE_MAX_MULT 16u        /* READ/WRITE MULTIPLE block limit (IDENTIFY word 47) */
#define ATAPI_PACKET_SIZE 12u
#define ATAPI_BLOCK 2048u

/* Status register (ATA-6 7.15.6). */
#define IDE_ST_ERR  0x01u
#define IDE_ST_DRQ  0x08u
#define IDE_ST_DSC  0x10u
#define IDE_ST_DF   0x20u
#define IDE_ST_DRDY 0x40u
#define IDE_ST_BSY  0x80u
/* Error register. */
#define IDE_ER_AMNF 0x01u
#define IDE_ER_ABRT 0x04u
#define IDE_ER_MC   0x20u
#define IDE_ER_IDNF 0x10u
#define IDE_ER_UNC  0x40u
/* Device control register. */
#define IDE_CTL_NIEN 0x02u
#define IDE_CTL_SRST 0x04u
#define IDE_CTL_HOB  0x80u
/* Device/head register. */
#define IDE_DH_LBA  0x40u
#define IDE_DH_DEV  0x10u
#define IDE_DH_OBS  0xa0u       /* obsolete bits that read as one */
/* ATAPI interrupt reason (the sector count register, ATA-6 8.21). */
#define ATAPI_IR_COD 0x01u
#define ATAPI_IR_IO  0x02u

enum ide_kind { IDE_KIND_NONE, IDE_KIND_HD, IDE_KIND_CD };

/* What the end of the current PIO DRQ block does. */
enum ide_end { IDE_END_NONE, IDE_END_READ, IDE_END_WRITE, IDE_END_DONE, IDE_END_PACKET, IDE_END_ATAPI };

/* A data phase waiting for (or running on) the bus master. */
enum ide_dma_kind { IDE_DMA_NONE, IDE_DMA_ATA_READ, IDE_DMA_ATA_WRITE, IDE_DMA_ATAPI };

struct ide_drive {
    /* [init] configuration */
    struct blk *blk;             /* NULL: no drive (HD) or no medium (CD) */
    uint8_t kind;                /* enum ide_kind */
    char serial[21], model[41], fw[9];
    /* [lock] derived from blk (post_load recomputes) */
    uint64_t nsectors;           /* HD: 512-byte sectors; CD: 2048-byte blocks */
    uint16_t cyls, heads, secs;  /* default CHS geometry */
    uint16_t cur_cyls;
    /* [lock] saved: task file (both drives latch every write) */
    uint8_t feature, error, nsector, sector, lcyl, hcyl, select, status;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    /* [lock] saved: command state */
    uint8_t cmd, lba48, mult, block, xfer_mode, power, wcache;
    uint16_t cur_heads, cur_secs; /* INITIALIZE DEVICE PARAMETERS */
    uint8_t end_op;              /* enum ide_end */
    uint8_t dma_kind;            /* enum ide_dma_kind */
    uint32_t pos, end;           /* current DRQ window in buf */
    uint64_t lba;                /* next sector of the running ATA transfer */
    uint32_t left;               /* ATA sectors left */
    /* [lock] saved: ATAPI */
    uint8_t packet[ATAPI_PACKET_SIZE];
    uint8_t sense_key, asc, ascq;
    uint8_t cd_changed;          /* 1: report NOT READY next, 2: then UNIT ATTENTION */
    uint8_t tray_open, locked, new_media;
    uint8_t atapi_dma, atapi_image;   /* data phase by DMA; from the image (else buf) */
    uint64_t atapi_off;          /* next byte: image offset or offset in buf */
    uint64_t atapi_left;         /* bytes left in the data phase */
    uint8_t buf[IDE_BUF_SIZE];   /* [lock] saved */
};

/* Bus-master DMA, implemented by the controller (piix_ide.c). */
struct ide_dma_ops {
    /* Engine started (start bit set)? */
    bool (*active)(void *user);
    /* Move len bytes between buf and guest memory along the PRD table.
     * Returns the bytes moved (< len: the table ended first) or a negative
     * status when the bus refused the access. */
    int (*xfer)(void *user, uint8_t *buf, uint32_t len, bool to_guest);
    /* The data phase ended: 0 done, 1 the PRD table was too short,
     * negative: a bus error. */
    void (*done)(void *user, int status);
};

struct ide_channel {
    struct ide_drive drv[2];
    uint8_t cur;                 /* [lock] saved: selected drive */
    uint8_t devctl;              /* [lock] saved: device control register */
    uint8_t irq_pending;         /* [lock] saved: INTRQ of the device */
    uint8_t irq_level;           /* [lock] level last driven */
    /* [init] controller hooks */
    void (*set_irq)(void *user, int level);  /* called on every raise, and on lowering */
    void *irq_user;
    const struct ide_dma_ops *dma;           /* NULL: no bus master */
    void *dma_user;
    uint32_t misuse;             /* [lock] rate limit for guest misuse reports */
};

/* Saved fields of one drive, as an X-macro over (type, member path) so a
 * controller's field table lists every drive (ssm.h SSM_FIELD). */
#define IDE_DRIVE_SSM(X, p)                                                         \
    X(U8, p.feature) X(U8, p.error) X(U8, p.nsector) X(U8, p.sector) X(U8, p.lcyl)  \
    X(U8, p.hcyl) X(U8, p.select) X(U8, p.status) X(U8, p.hob_feature)              \
    X(U8, p.hob_nsector) X(U8, p.hob_sector) X(U8, p.hob_lcyl) X(U8, p.hob_hcyl)    \
    X(U8, p.cmd) X(U8, p.lba48) X(U8, p.mult) X(U8, p.block) X(U8, p.xfer_mode)     \
    X(U8, p.power) X(U8, p.wcache) X(U16, p.cur_heads) X(U16, p.cur_secs)           \
    X(U8, p.end_op) X(U8, p.dma_kind) X(U32, p.pos) X(U32, p.end) X(U64, p.lba)     \
    X(U32, p.left) X(MEM, p.packet) X(U8, p.sense_key) X(U8, p.asc) X(U8, p.ascq)   \
    X(U8, p.cd_changed) X(U8, p.tray_open) X(U8, p.locked) X(U8, p.new_media)       \
    X(U8, p.atapi_dma) X(U8, p.atapi_image) X(U64, p.atapi_off)                     \
    X(U64, p.atapi_left) X(MEM, p.buf)
#define IDE_CHANNEL_SSM(X, p)                                                       \
    IDE_DRIVE_SSM(X, p.drv[0]) IDE_DRIVE_SSM(X, p.drv[1])                           \
    X(U8, p.cur) X(U8, p.devctl) X(U8, p.irq_pending)

/* ---- ide.c: channel API for controllers ---------------------------------- */

/* Put a drive on the channel (unit 0 master, 1 slave).  blk may be NULL for
 * an empty CD drive; the channel takes ownership of blk.  index numbers the
 * serial ("IX00001" + index). */
int ide_drive_attach(struct ide_channel *ch, unsigned unit, enum ide_kind kind, struct blk *blk,
                     unsigned index, struct ixvm_errinfo *err) IXVM_WUR;
/* Close the drives' images. */
void ide_channel_destroy(struct ide_channel *ch);
/* Hardware reset (power on, PCI reset): both drives to their signatures. */
void ide_channel_reset(struct ide_channel *ch);
/* Command block (8 ports, off 0 = data) and control block (alt status /
 * device control) accesses. */
uint32_t ide_cmd_read(struct ide_channel *ch, unsigned off, unsigned size);
void ide_cmd_write(struct ide_channel *ch, unsigned off, uint32_t val, unsigned size);
uint8_t ide_ctl_read(struct ide_channel *ch);
void ide_ctl_write(struct ide_channel *ch, uint8_t val);
/* The bus master was started: run a pending DMA data phase. */
void ide_dma_kick(struct ide_channel *ch);
/* After a saved-state load: re-derive geometry, clamp windows, re-drive IRQ. */
void ide_channel_post_load(struct ide_channel *ch);
/* CD medium change (blk NULL: eject).  Takes ownership of blk. */
int ide_cd_change(struct ide_channel *ch, unsigned unit, struct blk *blk) IXVM_WUR;

/* ---- ide.c: helpers for atapi.c ------------------------------------------ */

void ide_raise_irq(struct ide_channel *ch);
/* Start a PIO data window buf[pos, end) ending with end_op. */
void ide_pio_window(struct ide_drive *d, uint32_t pos, uint32_t end, enum ide_end end_op);
/* Queue a DMA data phase and run it if the engine is already started. */
void ide_dma_begin(struct ide_channel *ch, struct ide_drive *d, enum ide_dma_kind kind);

/* ---- atapi.c -------------------------------------------------------------- */

/* PACKET command (0xA0): wait for the 12 command bytes. */
void atapi_packet_start(struct ide_channel *ch, struct ide_drive *d);
/* The 12 bytes arrived in d->buf: execute. */
void atapi_packet_exec(struct ide_channel *ch, struct ide_drive *d);
/* End of a PIO DRQ block of the data phase: next block or completion. */
void atapi_pio_next(struct ide_channel *ch, struct ide_drive *d);
/* Fill buf with the next n bytes of the data phase (DMA); 0 or an ATAPI
 * error already reported. */
int atapi_dma_fill(struct ide_channel *ch, struct ide_drive *d, uint32_t n) IXVM_WUR;
/* The DMA data phase completed. */
void atapi_dma_complete(struct ide_channel *ch, struct ide_drive *d);
/* Register the signature and reset state of an ATAPI drive. */
void atapi_reset(struct ide_drive *d);
/* IDENTIFY PACKET DEVICE data into d->buf (256 words). */
void atapi_identify(struct ide_drive *d);
/* Medium size in 2048-byte blocks (0: none or tray open). */
uint64_t atapi_blocks(const struct ide_drive *d);

/* ATA string: byte-swapped within words, space padded (ATA-6 3.2.9). */
void ide_put_string(uint8_t *dst, const char *src, unsigned len);
static inline void ide_put_word(uint8_t *buf, unsigned word, uint16_t v)
{
    buf[word * 2] = (uint8_t)v;
    buf[word * 2 + 1] = (uint8_t)(v >> 8);
}

#endif
