/* SPDX-License-Identifier: MIT */
/*
 * ATAPI CD/DVD-ROM: the PACKET command protocol (ATA-6 8.23, 9.8-9.9) and
 * the MMC-3 (T10/1363-D) commands a firmware and a modern OS need to find,
 * boot from and read a 2048-byte-block image: TEST UNIT READY, REQUEST
 * SENSE, INQUIRY, MODE SENSE (6/10), START STOP UNIT, PREVENT ALLOW MEDIUM
 * REMOVAL, READ CAPACITY, READ (10/12), READ CD (user data), SEEK, READ TOC
 * (formats 0-2, LBA or MSF), GET CONFIGURATION, GET EVENT STATUS
 * NOTIFICATION, MECHANISM STATUS and SET CD SPEED.
 *
 * The data phase streams from the image (reads) or from the reply in the
 * drive buffer, in DRQ blocks bounded by the byte count limit of the
 * cylinder registers (PIO) or through the bus master (DMA).  Every length
 * the guest supplies is clamped to the reply size or checked against the
 * medium first, so no request can run past a buffer.
 */
#define LOG_GROUP LOG_GROUP_DEV_IDE
#include <string.h>

#include "devices/ide_int.h"
#include "ixvm/dev.h"
#include "ixvm/log.h"

/* Sense keys and additional sense codes (SPC-3 4.5.6, MMC-3 annex). */
enum {
    SK_NONE = 0x0, SK_NOT_READY = 0x2, SK_MEDIUM_ERROR = 0x3, SK_ILLEGAL_REQUEST = 0x5,
    SK_UNIT_ATTENTION = 0x6,
};
enum {
    ASC_UNRECOVERED_READ = 0x11, ASC_INV_OPCODE = 0x20, ASC_LBA_OOR = 0x21, ASC_INV_FIELD = 0x24,
    ASC_MEDIUM_CHANGED = 0x28, ASC_SAVING_UNSUPPORTED = 0x39, ASC_NO_MEDIUM = 0x3a,
    ASC_REMOVAL_PREVENTED = 0x53,
};

#define CD_MAX_BLOCKS (80u * 60u * 75u)   /* beyond an 80-minute CD it is a DVD */
#define MMC_PROFILE_CD_ROM 0x0008u
#define MMC_PROFILE_DVD_ROM 0x0010u

/* Command flags: may run with a UNIT ATTENTION pending; needs a medium. */
#define A_UA 1u
#define A_READY 2u

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
/* MSF address of a block: 75 frames a second, 2 s pregap (MMC-3 H.2). */
static void put_msf(uint8_t *p, uint32_t lba)
{
    lba += 150;
    p[0] = (uint8_t)(lba / 75 / 60);
    p[1] = (uint8_t)(lba / 75 % 60);
    p[2] = (uint8_t)(lba % 75);
}
static void put_addr(uint8_t *p, uint32_t lba, bool msf)
{
    if (msf) {
        p[0] = 0;
        put_msf(p + 1, lba);
    } else {
        put_be32(p, lba);
    }
}

uint64_t atapi_blocks(const struct ide_drive *d)
{
    return d->blk && !d->tray_open ? d->nsectors : 0;
}

static void atapi_set_reason(struct ide_drive *d, uint8_t bits)
{
    d->nsector = (uint8_t)((d->nsector & ~7u) | bits);
}

/* CHECK CONDITION: the sense key goes to the error register (ATA-6 8.23). */
static void atapi_error(struct ide_channel *ch, struct ide_drive *d, uint8_t sk, uint8_t asc, uint8_t ascq)
{
    d->sense_key = sk;
    d->asc = asc;
    d->ascq = ascq;
    d->error = (uint8_t)(sk << 4);
    d->status = IDE_ST_DRDY | IDE_ST_ERR;
    d->pos = d->end = 0;
    d->end_op = IDE_END_NONE;
    d->dma_kind = IDE_DMA_NONE;
    d->atapi_left = 0;
    atapi_set_reason(d, ATAPI_IR_IO | ATAPI_IR_COD);
    ide_raise_irq(ch);
}

static void atapi_ok(struct ide_channel *ch, struct ide_drive *d)
{
    d->error = 0;
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    atapi_set_reason(d, ATAPI_IR_IO | ATAPI_IR_COD);
    ide_raise_irq(ch);
}

void atapi_reset(struct ide_drive *d)
{
    d->atapi_dma = d->atapi_image = 0;
    d->atapi_left = d->atapi_off = 0;
}

/* Start the data phase set up in atapi_left/atapi_off/atapi_image. */
static void atapi_data_start(struct ide_channel *ch, struct ide_drive *d)
{
    if (!d->atapi_left) {
        atapi_ok(ch, d);
        return;
    }
    if (d->atapi_dma) {
        ide_dma_begin(ch, d, IDE_DMA_ATAPI);
        return;
    }
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    atapi_pio_next(ch, d);
}

/* Reply of len bytes in d->buf, cut to the allocation length. */
static void atapi_reply(struct ide_channel *ch, struct ide_drive *d, uint32_t len, uint32_t alloc)
{
    d->atapi_image = 0;
    d->atapi_off = 0;
    d->atapi_left = len < alloc ? len : alloc;
    atapi_data_start(ch, d);
}

static void atapi_read_blocks(struct ide_channel *ch, struct ide_drive *d, uint32_t lba, uint32_t count)
{
    uint64_t blocks = atapi_blocks(d);
    if (!count) {
        atapi_ok(ch, d);
        return;
    }
    if (lba >= blocks || count > blocks - lba) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_LBA_OOR, 0);
        return;
    }
    d->atapi_image = 1;
    d->atapi_off = (uint64_t)lba * ATAPI_BLOCK;
    d->atapi_left = (uint64_t)count * ATAPI_BLOCK;
    atapi_data_start(ch, d);
}

void atapi_pio_next(struct ide_channel *ch, struct ide_drive *d)
{
    if (!d->atapi_left) {
        d->status = IDE_ST_DRDY | IDE_ST_DSC;
        atapi_set_reason(d, ATAPI_IR_IO | ATAPI_IR_COD);
        ide_raise_irq(ch);
        return;
    }
    /* Byte count limit (ATA-6 8.23): even unless it covers the rest. */
    uint32_t bcl = (uint32_t)d->hcyl << 8 | d->lcyl;
    if (bcl == 0 || bcl == 0xffff)
        bcl = 0xfffe;
    uint32_t n = d->atapi_left < bcl ? (uint32_t)d->atapi_left : bcl;
    if (n < d->atapi_left)
        n &= ~1u;
    if (n == 0)
        n = d->atapi_left < 2 ? (uint32_t)d->atapi_left : 2;
    if (n > IDE_BUF_SIZE)
        n = IDE_BUF_SIZE;
    uint32_t pos = 0;
    if (d->atapi_image) {
        if (blk_read(d->blk, d->atapi_off, d->buf, n) < 0) {
            atapi_error(ch, d, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
            return;
        }
    } else {
        if (d->atapi_off >= IDE_BUF_SIZE || n > IDE_BUF_SIZE - d->atapi_off) {
            atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD, 0);
            return;
        }
        pos = (uint32_t)d->atapi_off;
    }
    d->atapi_off += n;
    d->atapi_left -= n;
    d->lcyl = (uint8_t)n;
    d->hcyl = (uint8_t)(n >> 8);
    atapi_set_reason(d, ATAPI_IR_IO);
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    ide_pio_window(d, pos, pos + n, IDE_END_ATAPI);
    ide_raise_irq(ch);
}

int atapi_dma_fill(struct ide_channel *ch, struct ide_drive *d, uint32_t n)
{
    if (d->atapi_image) {
        if (blk_read(d->blk, d->atapi_off, d->buf, n) < 0) {
            atapi_error(ch, d, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
            return -1;
        }
        return 0;
    }
    if (d->atapi_off > IDE_BUF_SIZE || n > IDE_BUF_SIZE - d->atapi_off) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD, 0);
        return -1;
    }
    memmove(d->buf, d->buf + d->atapi_off, n);
    d->atapi_off = 0;       /* the reply now starts at buf[0] */
    return 0;
}

void atapi_dma_complete(struct ide_channel *ch, struct ide_drive *d)
{
    atapi_ok(ch, d);
}

void atapi_packet_start(struct ide_channel *ch, struct ide_drive *d)
{
    d->atapi_dma = d->feature & 1;
    d->error = 0;
    d->status = IDE_ST_DRDY | IDE_ST_DSC;
    atapi_set_reason(d, ATAPI_IR_COD);
    /* IDENTIFY PACKET word 0 says DRQ within 50 us: no interrupt here. */
    ide_pio_window(d, 0, ATAPI_PACKET_SIZE, IDE_END_PACKET);
}

/* ---- IDENTIFY PACKET DEVICE (ATA-6 8.16) ---------------------------------- */

void atapi_identify(struct ide_drive *d)
{
    uint8_t *b = d->buf;
    unsigned mode = d->xfer_mode;
    memset(b, 0, 512);
    ide_put_word(b, 0, 0x85c0);     /* ATAPI, CD-ROM, removable, DRQ in 50 us, 12-byte packets */
    ide_put_string(b + 20, d->serial, 20);
    ide_put_word(b, 20, 3);
    ide_put_word(b, 21, 512);
    ide_put_word(b, 22, 4);
    ide_put_string(b + 46, d->fw, 8);
    ide_put_string(b + 54, d->model, 40);
    ide_put_word(b, 48, 1);
    ide_put_word(b, 49, (1u << 11) | (1u << 9) | (1u << 8));
    ide_put_word(b, 53, 7);
    ide_put_word(b, 62, 7);
    ide_put_word(b, 63, (uint16_t)(7 | ((mode >> 3) == 4 ? (1u << (8 + (mode & 7))) : 0)));
    ide_put_word(b, 64, 3);
    ide_put_word(b, 65, 0xb4);
    ide_put_word(b, 66, 0xb4);
    ide_put_word(b, 67, 0x12c);
    ide_put_word(b, 68, 0xb4);
    ide_put_word(b, 71, 30);
    ide_put_word(b, 72, 30);
    ide_put_word(b, 80, 0x1e);      /* ATAPI-1..4 */
    ide_put_word(b, 82, 1u << 4);   /* PACKET feature set */
    ide_put_word(b, 83, 1u << 14);
    ide_put_word(b, 84, 1u << 14);
    ide_put_word(b, 85, 1u << 4);
    ide_put_word(b, 87, 1u << 14);
    ide_put_word(b, 88, (uint16_t)(0x3f | ((mode >> 3) == 8 ? (1u << (8 + (mode & 7))) : 0)));
    ide_put_word(b, 93, 1 | (1u << 14) | 0x2000);
}

/* ---- commands ----------------------------------------------------------------- */

typedef void atapi_fn(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p);

static void cmd_test_unit_ready(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    atapi_ok(ch, d);
}

/* Fixed-format sense data (SPC-3 4.5.3); reporting clears the condition. */
static void cmd_request_sense(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    uint8_t *b = d->buf;
    memset(b, 0, 18);
    b[0] = 0x70 | 0x80;
    b[2] = d->sense_key;
    b[7] = 10;
    b[12] = d->asc;
    b[13] = d->ascq;
    d->sense_key = d->asc = d->ascq = 0;
    atapi_reply(ch, d, 18, p[4]);
}

static void atapi_put_padded(uint8_t *dst, const char *s, unsigned len)
{
    size_t n = strlen(s);
    for (unsigned i = 0; i < len; i++)
        dst[i] = i < n ? (uint8_t)s[i] : ' ';
}

/* Standard INQUIRY data (SPC-3 6.4.2); no vital product data pages. */
static void cmd_inquiry(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    if (p[1] & 1) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD, 0);
        return;
    }
    uint8_t *b = d->buf;
    memset(b, 0, 36);
    b[0] = 0x05;            /* CD/DVD device */
    b[1] = 0x80;            /* removable */
    b[2] = 0x00;
    b[3] = 0x21;            /* ATAPI, response format 1 */
    b[4] = 36 - 5;
    atapi_put_padded(b + 8, "IXVM", 8);
    atapi_put_padded(b + 16, d->model, 16);
    atapi_put_padded(b + 32, d->fw, 4);
    atapi_reply(ch, d, 36, be16(p + 3));
}

/* Mode pages (MMC-3 6.3.11, 5.5.10): returns the page length, 0 if unknown. */
static uint32_t atapi_mode_page(const struct ide_drive *d, unsigned page, uint8_t *b)
{
    switch (page) {
    case 0x01:                      /* read/write error recovery */
        memset(b, 0, 8);
        b[0] = 0x01;
        b[1] = 0x06;
        b[3] = 0x05;                /* read retry count */
        return 8;
    case 0x0e:                      /* CD audio control: volumes all 0 */
        memset(b, 0, 16);
        b[0] = 0x0e;
        b[1] = 0x0e;
        return 16;
    case 0x2a:                      /* CD/DVD capabilities and mechanical status */
        memset(b, 0, 20);
        b[0] = 0x2a;
        b[1] = 0x12;
        b[2] = 0x3b;                /* reads CD-R, CD-RW, DVD-ROM, DVD-R, DVD-RAM */
        b[4] = 0x71;                /* audio play, mode 2 form 1/2, multisession */
        b[5] = 3 << 5;
        b[6] = (uint8_t)(0x01 | 0x08 | 0x20 | (d->locked ? 0x02 : 0));  /* lock, eject, tray */
        put_be16(b + 8, 704);       /* 4x */
        b[11] = 2;                  /* volume levels */
        put_be16(b + 12, 512);      /* buffer, KiB */
        put_be16(b + 14, 704);
        return 20;
    default:
        return 0;
    }
}

/* MODE SENSE (6) and (10): header, no block descriptors, then pages. */
static void cmd_mode_sense(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    static const uint8_t all[] = { 0x01, 0x0e, 0x2a };
    bool ten = p[0] == 0x5a;
    unsigned pc = p[2] >> 6, page = p[2] & 0x3f;
    uint32_t alloc = ten ? be16(p + 7) : p[4];
    uint32_t hdr = ten ? 8 : 4, len = hdr;
    if (pc == 3) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_SAVING_UNSUPPORTED, 0);
        return;
    }
    if (pc == 0) {
        if (page == 0x3f) {
            for (unsigned i = 0; i < sizeof(all); i++)
                len += atapi_mode_page(d, all[i], d->buf + len);
        } else {
            len += atapi_mode_page(d, page, d->buf + hdr);
        }
    }
    if (len == hdr) {               /* unknown page, or changeable/default values */
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD, 0);
        return;
    }
    memset(d->buf, 0, hdr);
    if (ten) {
        put_be16(d->buf, len - 2);
        d->buf[2] = 0x70;           /* medium type code, as QEMU */
    } else {
        d->buf[0] = (uint8_t)(len - 1);
        d->buf[1] = 0x70;
    }
    atapi_reply(ch, d, len, alloc);
}

static void cmd_start_stop(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    bool start = p[4] & 1, loej = p[4] & 2;
    if (loej && !start) {
        if (d->locked) {
            atapi_error(ch, d, atapi_blocks(d) ? SK_ILLEGAL_REQUEST : SK_NOT_READY,
                        ASC_REMOVAL_PREVENTED, 0x02);
            return;
        }
        d->tray_open = 1;
    } else if (loej && start && d->tray_open) {
        d->tray_open = 0;
        if (d->blk)
            d->new_media = 1;
    }
    atapi_ok(ch, d);
}

static void cmd_prevent_allow(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    d->locked = p[4] & 1;
    atapi_ok(ch, d);
}

static void cmd_read_capacity(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    uint64_t blocks = atapi_blocks(d);
    put_be32(d->buf, (uint32_t)(blocks > 0xffffffffull ? 0xffffffffu : blocks - 1));
    put_be32(d->buf + 4, ATAPI_BLOCK);
    atapi_reply(ch, d, 8, 8);
}

static void cmd_read10(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    atapi_read_blocks(ch, d, be32(p + 2), be16(p + 7));
}

static void cmd_read12(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    atapi_read_blocks(ch, d, be32(p + 2), be32(p + 6));
}

/* READ CD (MMC-3 6.1.15): user data only (or nothing); raw sectors are not
 * offered. */
static void cmd_read_cd(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    unsigned type = (p[1] >> 2) & 7;
    uint32_t count = (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
    if ((type != 0 && type != 2) || ((p[9] & 0xf8) != 0x10 && (p[9] & 0xf8) != 0x00)) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD, 0);
        return;
    }
    if ((p[9] & 0xf8) == 0)
        count = 0;
    atapi_read_blocks(ch, d, be32(p + 2), count);
}

static void cmd_seek(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    if (be32(p + 2) >= atapi_blocks(d)) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_LBA_OOR, 0);
        return;
    }
    atapi_ok(ch, d);
}

/* READ TOC/PMA/ATIP (MMC-3 6.1.30) for a single-session, single data
 * track disc.  Format 0: track descriptors; 1: session info; 2: raw TOC
 * (always MSF, as MMC defines it). */
static uint32_t atapi_toc_formatted(const struct ide_drive *d, uint8_t *b, bool msf, unsigned start)
{
    uint32_t len = 4;
    if (start > 1 && start != 0xaa)
        return 0;
    b[2] = 1;
    b[3] = 1;
    if (start <= 1) {
        uint8_t *t = b + len;
        memset(t, 0, 8);
        t[1] = 0x14;                /* ADR 1, data track */
        t[2] = 1;
        put_addr(t + 4, 0, msf);
        len += 8;
    }
    uint8_t *t = b + len;
    memset(t, 0, 8);
    t[1] = 0x16;
    t[2] = 0xaa;                    /* lead-out */
    put_addr(t + 4, (uint32_t)atapi_blocks(d), msf);
    len += 8;
    put_be16(b, len - 2);
    return len;
}

static uint32_t atapi_toc_session(uint8_t *b, bool msf)
{
    memset(b, 0, 12);
    put_be16(b, 10);
    b[2] = 1;
    b[3] = 1;
    b[5] = 0x14;
    b[6] = 1;
    put_addr(b + 8, 0, msf);
    return 12;
}

static uint32_t atapi_toc_raw(const struct ide_drive *d, uint8_t *b)
{
    static const uint8_t points[4] = { 0xa0, 0xa1, 0xa2, 0x01 };
    uint32_t len = 4;
    b[2] = 1;
    b[3] = 1;
    for (unsigned i = 0; i < 4; i++, len += 11) {
        uint8_t *t = b + len;
        memset(t, 0, 11);
        t[0] = 1;                   /* session */
        t[1] = 0x14;
        t[3] = points[i];
        if (points[i] == 0xa0 || points[i] == 0xa1)
            t[8] = 1;               /* first / last track number; disc type 0 */
        else
            put_msf(t + 8, points[i] == 0xa2 ? (uint32_t)atapi_blocks(d) : 0);
    }
    put_be16(b, len - 2);
    return len;
}

static void cmd_read_toc(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    bool msf = p[1] & 2;
    unsigned format = (p[2] & 0x0f) ? (p[2] & 0x0f) : (p[9] >> 6);
    uint32_t len;
    switch (format) {
    case 0: len = atapi_toc_formatted(d, d->buf, msf, p[6]); break;
    case 1: len = atapi_toc_session(d->buf, msf); break;
    case 2: len = atapi_toc_raw(d, d->buf); break;
    default: len = 0; break;
    }
    if (!len) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD, 0);
        return;
    }
    atapi_reply(ch, d, len, be16(p + 7));
}

/* GET CONFIGURATION (MMC-3 6.1.4): the profile list feature only. */
static void cmd_get_configuration(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    if (be16(p + 2) != 0) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD, 0);
        return;
    }
    uint64_t blocks = atapi_blocks(d);
    unsigned cur = !blocks ? 0 : blocks > CD_MAX_BLOCKS ? MMC_PROFILE_DVD_ROM : MMC_PROFILE_CD_ROM;
    uint8_t *b = d->buf;
    memset(b, 0, 20);
    put_be32(b, 20 - 4);
    put_be16(b + 6, cur);
    b[10] = 0x03;                   /* feature 0: persistent, current */
    b[11] = 8;
    put_be16(b + 12, MMC_PROFILE_DVD_ROM);
    b[14] = cur == MMC_PROFILE_DVD_ROM;
    put_be16(b + 16, MMC_PROFILE_CD_ROM);
    b[18] = cur == MMC_PROFILE_CD_ROM;
    atapi_reply(ch, d, 20, be16(p + 7));
}

/* GET EVENT STATUS NOTIFICATION (MMC-3 6.1.5), polled, media class only. */
static void cmd_gesn(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    if (!(p[1] & 1)) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_FIELD, 0);
        return;
    }
    uint8_t *b = d->buf;
    uint32_t len = 4;
    memset(b, 0, 8);
    b[3] = 0x10;                    /* supported: media */
    if (p[4] & 0x10) {
        b[2] = 0x04;                /* media class */
        if (!d->tray_open && d->new_media) {
            b[4] = 0x02;            /* NewMedia */
            d->new_media = 0;
        }
        b[5] = d->tray_open ? 0x01 : d->blk ? 0x02 : 0x00;
        len = 8;
    } else {
        b[2] = 0x80;                /* no event available */
    }
    put_be16(b, len - 4);
    atapi_reply(ch, d, len, be16(p + 7));
}

static void cmd_mechanism_status(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    memset(d->buf, 0, 8);
    d->buf[5] = 1;                  /* one slot */
    atapi_reply(ch, d, 8, be16(p + 8));
}

static void cmd_ok(struct ide_channel *ch, struct ide_drive *d, const uint8_t *p)
{
    atapi_ok(ch, d);
}

struct atapi_cmd {
    atapi_fn *fn;
    uint8_t flags;
};

static const struct atapi_cmd atapi_cmds[256] = {
    [0x00] = { cmd_test_unit_ready, A_READY },
    [0x03] = { cmd_request_sense, A_UA },
    [0x12] = { cmd_inquiry, A_UA },
    [0x1a] = { cmd_mode_sense, 0 },
    [0x1b] = { cmd_start_stop, 0 },
    [0x1e] = { cmd_prevent_allow, 0 },
    [0x25] = { cmd_read_capacity, A_READY },
    [0x28] = { cmd_read10, A_READY },
    [0x2b] = { cmd_seek, A_READY },
    [0x43] = { cmd_read_toc, A_READY },
    [0x46] = { cmd_get_configuration, A_UA },
    [0x4a] = { cmd_gesn, A_UA },
    [0x5a] = { cmd_mode_sense, 0 },
    [0xa8] = { cmd_read12, A_READY },
    [0xbb] = { cmd_ok, 0 },         /* SET CD SPEED */
    [0xbd] = { cmd_mechanism_status, 0 },
    [0xbe] = { cmd_read_cd, A_READY },
};

/* Conditions checked before the command runs (MMC-3 4.1.6 / 4.1.8): a
 * pending UNIT ATTENTION, the changed-medium sequence, no medium. */
static bool atapi_precheck(struct ide_channel *ch, struct ide_drive *d, uint8_t flags)
{
    if (flags & A_UA)
        return true;
    if (d->sense_key == SK_UNIT_ATTENTION) {
        atapi_error(ch, d, SK_UNIT_ATTENTION, d->asc, d->ascq);
        return false;
    }
    if (d->cd_changed && atapi_blocks(d)) {
        if (d->cd_changed == 1) {
            atapi_error(ch, d, SK_NOT_READY, ASC_NO_MEDIUM, 0);
            d->cd_changed = 2;
        } else {
            atapi_error(ch, d, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
            d->cd_changed = 0;
        }
        return false;
    }
    if ((flags & A_READY) && !atapi_blocks(d)) {
        atapi_error(ch, d, SK_NOT_READY, ASC_NO_MEDIUM, 0);
        return false;
    }
    return true;
}

void atapi_packet_exec(struct ide_channel *ch, struct ide_drive *d)
{
    memcpy(d->packet, d->buf, ATAPI_PACKET_SIZE);
    const uint8_t *p = d->packet;
    const struct atapi_cmd *c = &atapi_cmds[p[0]];
    LOG2("atapi: cmd %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x", p[0], p[1],
        p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]);
    if (!c->fn) {
        atapi_error(ch, d, SK_ILLEGAL_REQUEST, ASC_INV_OPCODE, 0);
        return;
    }
    if (!atapi_precheck(ch, d, c->flags))
        return;
    /* A new command replaces old sense data, except a UNIT ATTENTION,
     * which stays until REQUEST SENSE reports it. */
    if (p[0] != 0x03 && d->sense_key != SK_UNIT_ATTENTION)
        d->sense_key = d->asc = d->ascq = 0;
    c->fn(ch, d, p);
}
