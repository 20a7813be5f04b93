/* SPDX-License-Identifier: MIT */
/*
 * IDE channel: two drives behind one task file (ATA/ATAPI-6, T13/1410D).
 * The controller (piix_ide.c) forwards its command block (data, error/
 * feature, sector count, LBA low/mid/high, device, status/command) and
 * control block (alternate status / device control) accesses here.
 *
 * Commands complete synchronously inside the guest's command-register
 * write: a PIO read fills the first DRQ block at once, a PIO write commits
 * each block when its last word arrives, and a DMA data phase runs as soon
 * as both the command and the bus master's start bit are there.  ATA
 * commands are a table indexed by opcode (ide_ata_cmds); PACKET commands
 * live in atapi.c.
 */
#define LOG_GROUP LOG_GROUP_DEV_IDE
#include <stdio.h>
#include <string.h>

#include "devices/ide_int.h"
#include "ixvm/dev.h"
#include "ixvm/log.h"

#define IDE_HD_HEADS 16u
#define IDE_HD_SECS 63u
#define IDE_HD_MAX_CYLS 16383u

/* ---- interrupts ------------------------------------------------------------ */

/* INTRQ = the device's pending interrupt unless nIEN tri-states the pin. */
static void ide_irq_update(struct ide_channel *ch)
{
    uint8_t level = ch->irq_pending && !(ch->devctl & IDE_CTL_NIEN);
    if (level != ch->irq_level) {
        ch->irq_level = level;
        if (ch->set_irq)
            ch->set_irq(ch->irq_user, level);
    }
}

/* Every interrupt event reaches the controller, even with the line already
 * high (the bus master's Interrupt bit latches each one). */
void ide_raise_irq(struct ide_channel *ch)
{
    ch->irq_pending = 1;
    if (ch->devctl & IDE_CTL_NIEN)
        return;
    ch->irq_level = 1;
    if (ch->set_irq)
        ch->set_irq(ch->irq_user, 1);
}

static void ide_lower_irq(struct ide_channel *ch)
{
    ch->irq_pending = 0;
    ide_irq_update(ch);
}

/* ---- helpers ----------------------------------------------------------------- */

void ide_put_string(uint8_t *dst, const char *src, unsigned len)
{
    size_t n = strlen(src);
    for (unsigned i = 0; i < len; i++)
        dst[i ^ 1] = i < n ? (uint8_t)src[i] : ' ';
}

void ide_pio_window(struct ide_drive *d, uint32_t pos, uint32_t end, enum ide_end end_op)
{
    d->pos = pos;
    d->end = end;
    d->end_op = (uint8_t)end_op;
    d->status |= IDE_ST_DRQ;
}

static void ide_pio_stop(struct ide_drive *d)
{
    d->pos = d->end = 0;
    d->end_op = IDE_END_NONE;
    d->status &= (uint8_t)~IDE_ST_DRQ;
}

static void ide_abort(struct ide_channel *ch, struct ide_drive *d, uint8_t error)
{
    ide_pio_stop(d);
    d->dma_kind = IDE_DMA_NONE;
    d->error = error;
    d->status = IDE_ST_DRDY | IDE_ST_ERR;
    ide_raise_irq(ch);
}

static void ide_ok(struct ide_channel *ch, struct ide_drive *d)
{
    d->error = 0;
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    ide_raise_irq(ch);
}

/* Signature after reset / diagnostics (ATA-6 9.12): ATA 00/00, ATAPI 14/EB. */
static void ide_set_signature(struct ide_drive *d)
{
    d->nsector = d->sector = 1;
    d->select &= 0xf0;
    if (d->kind == IDE_KIND_CD) {
        d->lcyl = 0x14;
        d->hcyl = 0xeb;
    } else if (d->kind == IDE_KIND_HD) {
        d->lcyl = d->hcyl = 0;
    } else {
        d->lcyl = d->hcyl = 0xff;
    }
}

/* Geometry as QEMU guesses it without a partition table: 16 heads, 63
 * sectors, cylinders = size / (16 * 63 * 512) clamped to [2, 16383]. */
static void ide_geometry(struct ide_drive *d)
{
    if (d->kind != IDE_KIND_HD)
        return;
    uint64_t cyl = d->nsectors / (IDE_HD_HEADS * IDE_HD_SECS);
    d->cyls = (uint16_t)(cyl > IDE_HD_MAX_CYLS ? IDE_HD_MAX_CYLS : cyl < 2 ? 2 : cyl);
    d->heads = IDE_HD_HEADS;
    d->secs = IDE_HD_SECS;
}

static void ide_cur_geometry(struct ide_drive *d)
{
    if (!d->cur_heads || !d->cur_secs || d->cur_heads > 16 || d->cur_secs > 255) {
        d->cur_heads = d->heads;
        d->cur_secs = d->secs;
    }
    uint64_t c = d->cur_heads && d->cur_secs ? d->nsectors / ((uint64_t)d->cur_heads * d->cur_secs) : 0;
    d->cur_cyls = (uint16_t)(c > 65535 ? 65535 : c);
}

static void ide_drive_reset(struct ide_drive *d)
{
    ide_pio_stop(d);
    d->dma_kind = IDE_DMA_NONE;
    d->feature = d->hob_feature = d->hob_nsector = d->hob_sector = d->hob_lcyl = d->hob_hcyl = 0;
    d->select = IDE_DH_OBS;
    d->error = 0x01;            /* diagnostic code: device 0 passed */
    d->mult = 0;
    d->block = 1;
    d->lba48 = 0;
    d->power = 0xff;
    d->cur_heads = d->heads;
    d->cur_secs = d->secs;
    ide_cur_geometry(d);
    ide_set_signature(d);
    /* An ATAPI device does not set DRDY after reset (ATA-6 9.12). */
    d->status = d->kind == IDE_KIND_HD ? (IDE_ST_DRDY | IDE_ST_DSC) : 0;
    if (d->kind == IDE_KIND_CD)
        atapi_reset(d);
}

void ide_channel_reset(struct ide_channel *ch)
{
    for (unsigned i = 0; i < 2; i++) {
        struct ide_drive *d = &ch->drv[i];
        ide_drive_reset(d);
        d->xfer_mode = 0;
        d->wcache = 1;
        d->tray_open = d->locked = 0;
    }
    ch->cur = 0;
    ch->devctl = 0;
    ide_lower_irq(ch);
}

/* ---- addressing ---------------------------------------------------------------- */

/* Starting sector of the command in the task file (LBA48, LBA28 or CHS);
 * false when a CHS address is outside the current geometry. */
static bool ide_tf_lba(const struct ide_drive *d, uint64_t *lba)
{
    if (d->lba48) {
        *lba = (uint64_t)d->hob_hcyl << 40 | (uint64_t)d->hob_lcyl << 32 |
               (uint64_t)d->hob_sector << 24 | (uint64_t)d->hcyl << 16 |
               (uint64_t)d->lcyl << 8 | d->sector;
        return true;
    }
    if (d->select & IDE_DH_LBA) {
        *lba = (uint64_t)(d->select & 0x0f) << 24 | (uint64_t)d->hcyl << 16 |
               (uint64_t)d->lcyl << 8 | d->sector;
        return true;
    }
    unsigned cyl = (unsigned)d->hcyl << 8 | d->lcyl, head = d->select & 0x0f;
    if (!d->sector || d->sector > d->cur_secs || head >= d->cur_heads)
        return false;
    *lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_secs + d->sector - 1;
    return true;
}

static uint32_t ide_tf_count(const struct ide_drive *d)
{
    if (d->lba48) {
        uint32_t n = (uint32_t)d->hob_nsector << 8 | d->nsector;
        return n ? n : 65536;
    }
    return d->nsector ? d->nsector : 256;
}

/* Write the address of the next sector back to the task file, as the drive
 * does while a multi-sector command advances (ATA-6 8.* outputs). */
static void ide_tf_set_lba(struct ide_drive *d, uint64_t lba)
{
    if (d->lba48) {
        d->sector = (uint8_t)lba;
        d->lcyl = (uint8_t)(lba >> 8);
        d->hcyl = (uint8_t)(lba >> 16);
        d->hob_sector = (uint8_t)(lba >> 24);
        d->hob_lcyl = (uint8_t)(lba >> 32);
        d->hob_hcyl = (uint8_t)(lba >> 40);
    } else if (d->select & IDE_DH_LBA) {
        d->sector = (uint8_t)lba;
        d->lcyl = (uint8_t)(lba >> 8);
        d->hcyl = (uint8_t)(lba >> 16);
        d->select = (uint8_t)((d->select & 0xf0) | ((lba >> 24) & 0x0f));
    } else if (d->cur_heads && d->cur_secs) {
        uint64_t cyl = lba / ((uint64_t)d->cur_heads * d->cur_secs);
        uint64_t r = lba % ((uint64_t)d->cur_heads * d->cur_secs);
        d->lcyl = (uint8_t)cyl;
        d->hcyl = (uint8_t)(cyl >> 8);
        d->select = (uint8_t)((d->select & 0xf0) | (r / d->cur_secs));
        d->sector = (uint8_t)(r % d->cur_secs + 1);
    }
}

/* Decode start and count and check them against the medium: IDNF when
 * outside (ATA-6 6.2). */
static bool ide_rw_setup(struct ide_channel *ch, struct ide_drive *d)
{
    uint64_t lba;
    uint32_t n = ide_tf_count(d);
    if (!ide_tf_lba(d, &lba) || lba > d->nsectors || n > d->nsectors - lba) {
        ide_abort(ch, d, IDE_ER_IDNF | IDE_ER_ABRT);
        return false;
    }
    d->lba = lba;
    d->left = n;
    d->power = 0xff;
    return true;
}

/* ---- IDENTIFY DEVICE (ATA-6 8.15) ------------------------------------------------ */

static void ide_identify_hd(struct ide_drive *d)
{
    uint8_t *b = d->buf;
    uint64_t lba28 = d->nsectors > 0x0fffffff ? 0x0fffffff : d->nsectors;
    uint32_t chs = (uint32_t)d->cur_cyls * d->cur_heads * d->cur_secs;
    memset(b, 0, 512);
    ide_put_word(b, 0, 0x0040);                 /* fixed device */
    ide_put_word(b, 1, d->cyls);
    ide_put_word(b, 3, d->heads);
    ide_put_word(b, 4, (uint16_t)(512 * d->secs));
    ide_put_word(b, 5, 512);
    ide_put_word(b, 6, d->secs);
    ide_put_string(b + 20, d->serial, 20);      /* words 10-19 */
    ide_put_word(b, 20, 3);                     /* buffer type */
    ide_put_word(b, 21, 512);
    ide_put_word(b, 22, 4);
    ide_put_string(b + 46, d->fw, 8);           /* words 23-26 */
    ide_put_string(b + 54, d->model, 40);       /* words 27-46 */
    ide_put_word(b, 47, 0x8000 | IDE_MAX_MULT);
    ide_put_word(b, 48, 1);                     /* dword I/O */
    ide_put_word(b, 49, (1u << 11) | (1u << 9) | (1u << 8));   /* IORDY, LBA, DMA */
    ide_put_word(b, 51, 0x200);
    ide_put_word(b, 52, 0x200);
    ide_put_word(b, 53, 1 | 2 | 4);             /* words 54-58, 64-70, 88 valid */
    ide_put_word(b, 54, d->cur_cyls);
    ide_put_word(b, 55, d->cur_heads);
    ide_put_word(b, 56, d->cur_secs);
    ide_put_word(b, 57, (uint16_t)chs);
    ide_put_word(b, 58, (uint16_t)(chs >> 16));
    if (d->mult)
        ide_put_word(b, 59, 0x100 | d->mult);
    ide_put_word(b, 60, (uint16_t)lba28);
    ide_put_word(b, 61, (uint16_t)(lba28 >> 16));
    ide_put_word(b, 62, 0x07);
    unsigned mode = d->xfer_mode;
    ide_put_word(b, 63, (uint16_t)(0x07 | ((mode >> 3) == 4 ? (1u << (8 + (mode & 7))) : 0)));
    ide_put_word(b, 64, 0x03);                  /* PIO 3 and 4 */
    ide_put_word(b, 65, 120);
    ide_put_word(b, 66, 120);
    ide_put_word(b, 67, 120);
    ide_put_word(b, 68, 120);
    ide_put_word(b, 80, 0xf0);                  /* ATA/ATAPI-4..7 */
    ide_put_word(b, 81, 0x16);
    ide_put_word(b, 82, (1u << 14) | (1u << 5));                 /* NOP, write cache */
    ide_put_word(b, 83, (1u << 14) | (1u << 13) | (1u << 12) | (1u << 10)); /* FLUSH EXT, FLUSH, LBA48 */
    ide_put_word(b, 84, 1u << 14);
    ide_put_word(b, 85, (uint16_t)((1u << 14) | (d->wcache ? (1u << 5) : 0)));
    ide_put_word(b, 86, (1u << 13) | (1u << 12) | (1u << 10));
    ide_put_word(b, 87, 1u << 14);
    ide_put_word(b, 88, (uint16_t)(0x3f | ((mode >> 3) == 8 ? (1u << (8 + (mode & 7))) : 0)));
    ide_put_word(b, 93, 1 | (1u << 14) | 0x2000);
    for (unsigned i = 0; i < 4; i++)
        ide_put_word(b, 100 + i, (uint16_t)(d->nsectors >> (16 * i)));
}

/* ---- ATA command handlers ---------------------------------------------------------- */

typedef void ide_cmd_fn(struct ide_channel *ch, struct ide_drive *d);

static void ata_identify(struct ide_channel *ch, struct ide_drive *d)
{
    if (d->kind == IDE_KIND_CD) {      /* ATAPI: abort and show the signature */
        ide_set_signature(d);
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    ide_identify_hd(d);
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    d->error = 0;
    ide_pio_window(d, 0, 512, IDE_END_DONE);
    ide_raise_irq(ch);
}

static void ata_identify_packet(struct ide_channel *ch, struct ide_drive *d)
{
    if (d->kind != IDE_KIND_CD) {
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    atapi_identify(d);
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    d->error = 0;
    ide_pio_window(d, 0, 512, IDE_END_DONE);
    ide_raise_irq(ch);
}

/* Load the next DRQ block of a PIO read (ATA-6 9.7, PIO data-in). */
static void ata_read_block(struct ide_channel *ch, struct ide_drive *d)
{
    uint32_t n = d->left < d->block ? d->left : d->block;
    if (blk_read(d->blk, d->lba * BLK_SECTOR_SIZE, d->buf, (size_t)n * BLK_SECTOR_SIZE) < 0) {
        ide_tf_set_lba(d, d->lba);
        ide_abort(ch, d, IDE_ER_UNC);
        return;
    }
    d->lba += n;
    d->left -= n;
    ide_tf_set_lba(d, d->lba);
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    ide_pio_window(d, 0, n * BLK_SECTOR_SIZE, IDE_END_READ);
    ide_raise_irq(ch);
}

static void ata_write_window(struct ide_drive *d)
{
    uint32_t n = d->left < d->block ? d->left : d->block;
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    ide_pio_window(d, 0, n * BLK_SECTOR_SIZE, IDE_END_WRITE);
}

static bool ata_multiple_ok(struct ide_channel *ch, struct ide_drive *d)
{
    if (!d->mult) {
        ide_abort(ch, d, IDE_ER_ABRT);
        return false;
    }
    d->block = d->mult;
    return true;
}

static void ata_read_pio(struct ide_channel *ch, struct ide_drive *d)
{
    d->block = 1;
    if (ide_rw_setup(ch, d))
        ata_read_block(ch, d);
}

static void ata_write_pio(struct ide_channel *ch, struct ide_drive *d)
{
    d->block = 1;
    if (ide_rw_setup(ch, d))
        ata_write_window(d);
}

static void ata_read_multiple(struct ide_channel *ch, struct ide_drive *d)
{
    if (ata_multiple_ok(ch, d) && ide_rw_setup(ch, d))
        ata_read_block(ch, d);
}

static void ata_write_multiple(struct ide_channel *ch, struct ide_drive *d)
{
    if (ata_multiple_ok(ch, d) && ide_rw_setup(ch, d))
        ata_write_window(d);
}

static void ata_read_dma(struct ide_channel *ch, struct ide_drive *d)
{
    if (ide_rw_setup(ch, d))
        ide_dma_begin(ch, d, IDE_DMA_ATA_READ);
}

static void ata_write_dma(struct ide_channel *ch, struct ide_drive *d)
{
    if (ide_rw_setup(ch, d))
        ide_dma_begin(ch, d, IDE_DMA_ATA_WRITE);
}

static void ata_verify(struct ide_channel *ch, struct ide_drive *d)
{
    if (ide_rw_setup(ch, d)) {
        ide_tf_set_lba(d, d->lba + d->left - 1);
        ide_ok(ch, d);
    }
}

static void ata_set_multiple(struct ide_channel *ch, struct ide_drive *d)
{
    unsigned n = d->nsector;
    if (n > IDE_MAX_MULT || (n & (n - 1))) {
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    d->mult = (uint8_t)n;
    ide_ok(ch, d);
}

/* INITIALIZE DEVICE PARAMETERS (ATA-6 8.16): the CHS translation. */
static void ata_init_params(struct ide_channel *ch, struct ide_drive *d)
{
    if (!d->nsector) {
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    d->cur_secs = d->nsector;
    d->cur_heads = (uint16_t)((d->select & 0x0f) + 1);
    ide_cur_geometry(d);
    ide_ok(ch, d);
}

static void ata_nop_ok(struct ide_channel *ch, struct ide_drive *d)
{
    ide_ok(ch, d);
}

static void ata_standby(struct ide_channel *ch, struct ide_drive *d)
{
    d->power = 0x00;
    ide_ok(ch, d);
}

static void ata_idle(struct ide_channel *ch, struct ide_drive *d)
{
    d->power = 0xff;
    ide_ok(ch, d);
}

static void ata_check_power(struct ide_channel *ch, struct ide_drive *d)
{
    d->nsector = d->power;
    ide_ok(ch, d);
}

static void ata_flush(struct ide_channel *ch, struct ide_drive *d)
{
    if (d->blk && blk_flush(d->blk) < 0) {
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    ide_ok(ch, d);
}

/* SET FEATURES (ATA-6 8.36): transfer modes and the harmless cache knobs. */
static void ata_set_features(struct ide_channel *ch, struct ide_drive *d)
{
    unsigned v = d->nsector;
    switch (d->feature) {
    case 0x02: d->wcache = 1; break;
    case 0x82: d->wcache = 0; break;
    case 0x03:
        /* PIO default (0/1), PIO flow control 0-4, MWDMA 0-2, UDMA 0-5. */
        if (!(v <= 1 || ((v >> 3) == 1 && (v & 7) <= 4) || ((v >> 3) == 4 && (v & 7) <= 2) ||
              ((v >> 3) == 8 && (v & 7) <= 5))) {
            ide_abort(ch, d, IDE_ER_ABRT);
            return;
        }
        d->xfer_mode = (uint8_t)v;
        break;
    case 0x55: case 0xaa: case 0x66: case 0xcc: case 0x42: case 0xc2: case 0x31:
        break;
    default:
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    ide_ok(ch, d);
}

/* EXECUTE DEVICE DIAGNOSTIC (ATA-6 8.11): both devices show their
 * signatures; the error register holds the diagnostic code 01h. */
static void ata_diagnostic(struct ide_channel *ch, struct ide_drive *d)
{
    for (unsigned i = 0; i < 2; i++) {
        struct ide_drive *x = &ch->drv[i];
        if (x->kind == IDE_KIND_NONE)
            continue;
        ide_pio_stop(x);
        ide_set_signature(x);
        x->error = 0x01;
        x->status = x->kind == IDE_KIND_CD ? 0 : (IDE_ST_DRDY | IDE_ST_DSC);
    }
    ide_raise_irq(ch);
}

/* DEVICE RESET (ATA-6 8.10), ATAPI only. */
static void ata_device_reset(struct ide_channel *ch, struct ide_drive *d)
{
    if (d->kind != IDE_KIND_CD) {
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    ide_drive_reset(d);
}

static void ata_packet(struct ide_channel *ch, struct ide_drive *d)
{
    if (d->kind != IDE_KIND_CD) {
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    atapi_packet_start(ch, d);
}

#define F_HD 1u      /* valid on a hard disk */
#define F_CD 2u      /* valid on an ATAPI device */
#define F_48 4u      /* LBA48 form: HOB registers are part of the address */

struct ide_cmd {
    ide_cmd_fn *fn;
    uint8_t flags;
};

/* The ATA command set as implemented (ATA-6 clause 8). */
static const struct ide_cmd ide_ata_cmds[256] = {
    [0x08] = { ata_device_reset, F_CD },
    [0x10] = { ata_nop_ok, F_HD },                     /* RECALIBRATE (0x10-0x1f) */
    [0x20] = { ata_read_pio, F_HD }, [0x21] = { ata_read_pio, F_HD },
    [0x24] = { ata_read_pio, F_HD | F_48 },
    [0x25] = { ata_read_dma, F_HD | F_48 },
    [0x29] = { ata_read_multiple, F_HD | F_48 },
    [0x30] = { ata_write_pio, F_HD }, [0x31] = { ata_write_pio, F_HD },
    [0x34] = { ata_write_pio, F_HD | F_48 },
    [0x35] = { ata_write_dma, F_HD | F_48 },
    [0x39] = { ata_write_multiple, F_HD | F_48 },
    [0x40] = { ata_verify, F_HD }, [0x41] = { ata_verify, F_HD },
    [0x42] = { ata_verify, F_HD | F_48 },
    [0x70] = { ata_nop_ok, F_HD },                     /* SEEK */
    [0x90] = { ata_diagnostic, F_HD | F_CD },
    [0x91] = { ata_init_params, F_HD },
    [0xa0] = { ata_packet, F_HD | F_CD },
    [0xa1] = { ata_identify_packet, F_HD | F_CD },
    [0xc4] = { ata_read_multiple, F_HD },
    [0xc5] = { ata_write_multiple, F_HD },
    [0xc6] = { ata_set_multiple, F_HD },
    [0xc8] = { ata_read_dma, F_HD }, [0xc9] = { ata_read_dma, F_HD },
    [0xca] = { ata_write_dma, F_HD }, [0xcb] = { ata_write_dma, F_HD },
    [0xe0] = { ata_standby, F_HD | F_CD }, [0xe1] = { ata_idle, F_HD | F_CD },
    [0xe2] = { ata_standby, F_HD | F_CD }, [0xe3] = { ata_idle, F_HD | F_CD },
    [0xe5] = { ata_check_power, F_HD | F_CD },
    [0xe7] = { ata_flush, F_HD | F_CD }, [0xea] = { ata_flush, F_HD | F_48 },
    [0xec] = { ata_identify, F_HD | F_CD },
    [0xef] = { ata_set_features, F_HD | F_CD },
};

static const struct ide_cmd *ide_cmd_lookup(uint8_t op)
{
    if (op >= 0x10 && op <= 0x1f)
        op = 0x10;
    return &ide_ata_cmds[op];
}

static void ide_exec(struct ide_channel *ch, uint8_t op)
{
    struct ide_drive *d = &ch->drv[ch->cur];
    if (d->kind == IDE_KIND_NONE)
        return;                 /* nobody answers */
    /* The host may only write a command while BSY and DRQ are clear;
     * DEVICE RESET is the exception (ATA-6 9.1). */
    if ((d->status & (IDE_ST_BSY | IDE_ST_DRQ)) && op != 0x08) {
        DEV_LOG_MISUSE(ch->misuse, "IDE: command %#x while busy (status %#x) ignored", op, d->status);
        return;
    }
    const struct ide_cmd *c = ide_cmd_lookup(op);
    unsigned need = d->kind == IDE_KIND_CD ? F_CD : F_HD;
    d->cmd = op;
    d->lba48 = (c->flags & F_48) != 0;
    ide_lower_irq(ch);
    if (!c->fn || !(c->flags & need)) {
        LOG2("ide: unsupported command %#x", op);
        ide_abort(ch, d, IDE_ER_ABRT);
        return;
    }
    c->fn(ch, d);
}

/* ---- PIO data port ------------------------------------------------------------------ */

/* The DRQ window was consumed: what comes next. */
static void ide_pio_end(struct ide_channel *ch, struct ide_drive *d)
{
    enum ide_end op = d->end_op;
    ide_pio_stop(d);
    switch (op) {
    case IDE_END_READ:
        if (d->left)
            ata_read_block(ch, d);
        else
            d->status = IDE_ST_DRDY | IDE_ST_DSC;
        break;
    case IDE_END_WRITE: {
        uint32_t n = d->left < d->block ? d->left : d->block;
        if (blk_write(d->blk, d->lba * BLK_SECTOR_SIZE, d->buf, (size_t)n * BLK_SECTOR_SIZE) < 0) {
            ide_tf_set_lba(d, d->lba);
            ide_abort(ch, d, IDE_ER_ABRT);
            return;
        }
        d->lba += n;
        d->left -= n;
        ide_tf_set_lba(d, d->lba);
        if (d->left)
            ata_write_window(d);
        else
            d->status = IDE_ST_DRDY | IDE_ST_DSC;
        ide_raise_irq(ch);
        break;
    }
    case IDE_END_PACKET:
        atapi_packet_exec(ch, d);
        break;
    case IDE_END_ATAPI:
        atapi_pio_next(ch, d);
        break;
    default:
        break;
    }
}

static uint32_t ide_data_read(struct ide_channel *ch, unsigned size)
{
    struct ide_drive *d = &ch->drv[ch->cur];
    if (!(d->status & IDE_ST_DRQ) || d->end_op == IDE_END_WRITE || d->end_op == IDE_END_PACKET ||
        d->end > IDE_BUF_SIZE || d->pos >= d->end)
        return 0;
    uint32_t v = 0, n = d->end - d->pos < size ? d->end - d->pos : size;
    for (uint32_t i = 0; i < n; i++)
        v |= (uint32_t)d->buf[d->pos + i] << (8 * i);
    d->pos += n;
    if (d->pos >= d->end)
        ide_pio_end(ch, d);
    return v;
}

static void ide_data_write(struct ide_channel *ch, uint32_t val, unsigned size)
{
    struct ide_drive *d = &ch->drv[ch->cur];
    if (!(d->status & IDE_ST_DRQ) || (d->end_op != IDE_END_WRITE && d->end_op != IDE_END_PACKET) ||
        d->end > IDE_BUF_SIZE || d->pos >= d->end)
        return;
    uint32_t n = d->end - d->pos < size ? d->end - d->pos : size;
    for (uint32_t i = 0; i < n; i++)
        d->buf[d->pos + i] = (uint8_t)(val >> (8 * i));
    d->pos += n;
    if (d->pos >= d->end)
        ide_pio_end(ch, d);
}

/* ---- register access ---------------------------------------------------------------- */

/* A missing selected device reads as 0 (QEMU's behaviour: SeaBIOS and
 * Linux find no 55h/AAh echo and no status, and skip it). */
static uint8_t ide_reg_read(struct ide_channel *ch, unsigned off)
{
    struct ide_drive *d = &ch->drv[ch->cur];
    bool hob = ch->devctl & IDE_CTL_HOB;
    bool none = d->kind == IDE_KIND_NONE;
    if (ch->drv[0].kind == IDE_KIND_NONE && ch->drv[1].kind == IDE_KIND_NONE)
        return 0;
    switch (off) {
    case 1: return none ? 0 : hob ? d->hob_feature : d->error;
    case 2: return none ? 0 : hob ? d->hob_nsector : d->nsector;
    case 3: return none ? 0 : hob ? d->hob_sector : d->sector;
    case 4: return none ? 0 : hob ? d->hob_lcyl : d->lcyl;
    case 5: return none ? 0 : hob ? d->hob_hcyl : d->hcyl;
    case 6: return d->select;
    default:
        ide_lower_irq(ch);          /* reading status acknowledges INTRQ */
        return none ? 0 : d->status;
    }
}

/* Task-file writes reach both devices; the previous value moves to the
 * HOB copy (the 48-bit "FIFO", ATA-6 6.20). */
static void ide_reg_write(struct ide_channel *ch, unsigned off, uint8_t v)
{
    ch->devctl &= (uint8_t)~IDE_CTL_HOB;
    if (off == 7) {
        ide_exec(ch, v);
        return;
    }
    for (unsigned i = 0; i < 2; i++) {
        struct ide_drive *d = &ch->drv[i];
        switch (off) {
        case 1: d->hob_feature = d->feature; d->feature = v; break;
        case 2: d->hob_nsector = d->nsector; d->nsector = v; break;
        case 3: d->hob_sector = d->sector; d->sector = v; break;
        case 4: d->hob_lcyl = d->lcyl; d->lcyl = v; break;
        case 5: d->hob_hcyl = d->hcyl; d->hcyl = v; break;
        default: d->select = v | IDE_DH_OBS; break;
        }
    }
    if (off == 6)
        ch->cur = (v & IDE_DH_DEV) ? 1 : 0;
}

uint32_t ide_cmd_read(struct ide_channel *ch, unsigned off, unsigned size)
{
    if (off == 0)
        return ide_data_read(ch, size);
    uint32_t v = 0;
    for (unsigned i = 0; i < size && off + i < 8; i++)
        v |= (uint32_t)ide_reg_read(ch, off + i) << (8 * i);
    return v;
}

void ide_cmd_write(struct ide_channel *ch, unsigned off, uint32_t val, unsigned size)
{
    if (off == 0) {
        ide_data_write(ch, val, size);
        return;
    }
    for (unsigned i = 0; i < size && off + i < 8; i++)
        ide_reg_write(ch, off + i, (uint8_t)(val >> (8 * i)));
}

uint8_t ide_ctl_read(struct ide_channel *ch)
{
    struct ide_drive *d = &ch->drv[ch->cur];
    if (d->kind == IDE_KIND_NONE)
        return 0;
    return d->status;           /* alternate status: no INTRQ acknowledge */
}

/* Device control: SRST resets both devices when it goes 1 -> 0 (ATA-6
 * 9.2); the devices are busy while it is set. */
void ide_ctl_write(struct ide_channel *ch, uint8_t val)
{
    uint8_t old = ch->devctl;
    ch->devctl = val;
    if ((val & IDE_CTL_SRST) && !(old & IDE_CTL_SRST)) {
        for (unsigned i = 0; i < 2; i++) {
            ide_pio_stop(&ch->drv[i]);
            ch->drv[i].dma_kind = IDE_DMA_NONE;
            ch->drv[i].status = IDE_ST_BSY;
        }
    } else if (!(val & IDE_CTL_SRST) && (old & IDE_CTL_SRST)) {
        for (unsigned i = 0; i < 2; i++)
            ide_drive_reset(&ch->drv[i]);
        ch->cur = 0;
    }
    ide_irq_update(ch);
}

/* ---- DMA data phase --------------------------------------------------------------- */

void ide_dma_begin(struct ide_channel *ch, struct ide_drive *d, enum ide_dma_kind kind)
{
    d->dma_kind = (uint8_t)kind;
    d->status = IDE_ST_DRDY | IDE_ST_DSC | IDE_ST_DRQ;
    ide_dma_kick(ch);
}

/* One chunk: returns bytes moved, or negative (error already reported). */
static int ide_dma_chunk(struct ide_channel *ch, struct ide_drive *d, uint32_t *want)
{
    uint32_t n;
    int moved;
    switch (d->dma_kind) {
    case IDE_DMA_ATA_READ:
        n = d->left < IDE_BUF_SIZE / BLK_SECTOR_SIZE ? d->left : IDE_BUF_SIZE / BLK_SECTOR_SIZE;
        *want = n * BLK_SECTOR_SIZE;
        if (blk_read(d->blk, d->lba * BLK_SECTOR_SIZE, d->buf, *want) < 0) {
            ide_tf_set_lba(d, d->lba);
            ide_abort(ch, d, IDE_ER_UNC);
            return -1;
        }
        moved = ch->dma->xfer(ch->dma_user, d->buf, *want, true);
        if (moved > 0) {
            d->lba += (uint32_t)moved / BLK_SECTOR_SIZE;
            d->left -= (uint32_t)moved / BLK_SECTOR_SIZE;
        }
        return moved;
    case IDE_DMA_ATA_WRITE:
        n = d->left < IDE_BUF_SIZE / BLK_SECTOR_SIZE ? d->left : IDE_BUF_SIZE / BLK_SECTOR_SIZE;
        *want = n * BLK_SECTOR_SIZE;
        moved = ch->dma->xfer(ch->dma_user, d->buf, *want, false);
        if (moved > 0) {
            uint32_t secs = (uint32_t)moved / BLK_SECTOR_SIZE;
            if (secs && blk_write(d->blk, d->lba * BLK_SECTOR_SIZE, d->buf,
                                  (size_t)secs * BLK_SECTOR_SIZE) < 0) {
                ide_tf_set_lba(d, d->lba);
                ide_abort(ch, d, IDE_ER_ABRT);
                return -1;
            }
            d->lba += secs;
            d->left -= secs;
        }
        return moved;
    default:    /* IDE_DMA_ATAPI */
        *want = d->atapi_left < IDE_BUF_SIZE ? (uint32_t)d->atapi_left : IDE_BUF_SIZE;
        if (atapi_dma_fill(ch, d, *want) < 0)
            return -1;
        moved = ch->dma->xfer(ch->dma_user, d->buf, *want, true);
        if (moved > 0) {
            d->atapi_left -= (uint32_t)moved;
            d->atapi_off += (uint32_t)moved;
        }
        return moved;
    }
}

static bool ide_dma_more(const struct ide_drive *d)
{
    return d->dma_kind == IDE_DMA_ATAPI ? d->atapi_left != 0 : d->left != 0;
}

void ide_dma_kick(struct ide_channel *ch)
{
    struct ide_drive *d = &ch->drv[ch->cur];
    if (d->dma_kind == IDE_DMA_NONE || !ch->dma || !ch->dma->active(ch->dma_user))
        return;
    while (ide_dma_more(d)) {
        uint32_t want = 0;
        int moved = ide_dma_chunk(ch, d, &want);
        if (moved < 0 && d->dma_kind != IDE_DMA_NONE) {
            /* The bus refused (bus mastering off): abort the command. */
            d->dma_kind = IDE_DMA_NONE;
            ch->dma->done(ch->dma_user, moved);
            ide_abort(ch, d, IDE_ER_ABRT);
            return;
        }
        if (moved < 0) {                 /* medium error, already reported */
            ch->dma->done(ch->dma_user, -1);
            return;
        }
        if ((uint32_t)moved < want) {
            /* PRD table shorter than the transfer: the engine stops, the
             * device keeps waiting with DRQ (SFF-8038i; guests reset). */
            ch->dma->done(ch->dma_user, 1);
            return;
        }
    }
    enum ide_dma_kind kind = d->dma_kind;
    d->dma_kind = IDE_DMA_NONE;
    ch->dma->done(ch->dma_user, 0);
    if (kind == IDE_DMA_ATAPI) {
        atapi_dma_complete(ch, d);
        return;
    }
    ide_tf_set_lba(d, d->lba);
    ide_ok(ch, d);
}

/* ---- attach, media, saved state ------------------------------------------------------ */

static void ide_drive_media(struct ide_drive *d)
{
    uint64_t size = d->blk ? blk_size(d->blk) : 0;
    d->nsectors = d->kind == IDE_KIND_CD ? size / ATAPI_BLOCK : size / BLK_SECTOR_SIZE;
    ide_geometry(d);
    ide_cur_geometry(d);
}

int ide_drive_attach(struct ide_channel *ch, unsigned unit, enum ide_kind kind, struct blk *blk,
                     unsigned index, struct ixvm_errinfo *err)
{
    if (unit > 1 || kind == IDE_KIND_NONE || (kind == IDE_KIND_HD && !blk))
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "ide: bad drive %u", unit);
    struct ide_drive *d = &ch->drv[unit];
    d->kind = (uint8_t)kind;
    d->blk = blk;
    snprintf(d->serial, sizeof(d->serial), "IX%05u", index + 1);
    snprintf(d->model, sizeof(d->model), "%s", kind == IDE_KIND_CD ? "IXVM DVD-ROM" : "IXVM HARDDISK");
    snprintf(d->fw, sizeof(d->fw), "%s", "2.5+");
    ide_drive_media(d);
    return 0;
}

void ide_channel_destroy(struct ide_channel *ch)
{
    for (unsigned i = 0; i < 2; i++) {
        blk_close(ch->drv[i].blk);
        ch->drv[i].blk = NULL;
    }
}

int ide_cd_change(struct ide_channel *ch, unsigned unit, struct blk *blk)
{
    if (unit > 1 || ch->drv[unit].kind != IDE_KIND_CD) {
        blk_close(blk);
        return IXVM_ERR_INVALID_PARAMETER;
    }
    struct ide_drive *d = &ch->drv[unit];
    blk_close(d->blk);
    d->blk = blk;
    ide_drive_media(d);
    d->tray_open = 0;
    if (blk) {
        /* Report "no medium" and then UNIT ATTENTION once (MMC-3 4.1.6,
         * QEMU's sequence), plus a NewMedia event. */
        d->cd_changed = 1;
        d->new_media = 1;
    }
    return 0;
}

void ide_channel_post_load(struct ide_channel *ch)
{
    for (unsigned i = 0; i < 2; i++) {
        struct ide_drive *d = &ch->drv[i];
        ide_drive_media(d);
        if (d->end > IDE_BUF_SIZE || d->pos > d->end || d->end_op > IDE_END_ATAPI) {
            d->pos = d->end = 0;
            d->end_op = IDE_END_NONE;
        }
        if (d->dma_kind > IDE_DMA_ATAPI)
            d->dma_kind = IDE_DMA_NONE;
        if (d->block == 0 || d->block > IDE_MAX_MULT)
            d->block = 1;
        if (d->mult > IDE_MAX_MULT || (d->mult & (d->mult - 1)))
            d->mult = 0;
        if (d->atapi_image == 0 && d->atapi_off > IDE_BUF_SIZE)
            d->atapi_off = IDE_BUF_SIZE;
    }
    ch->cur &= 1;
    ch->irq_level = 0;
    if (ch->irq_pending)
        ide_irq_update(ch);
    else if (ch->set_irq)
        ch->set_irq(ch->irq_user, 0);
}
