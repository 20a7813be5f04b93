/* SPDX-License-Identifier: MIT */
/*
 * PIIX3 IDE, register level: IDENTIFY contents, PIO sector and multiple
 * transfers, LBA48 beyond 2^28, bus-master DMA through PRD tables in a
 * small guest memory (real PCI bus + PGM), ATAPI packet flows with exact
 * response bytes, sense data after errors, medium change, resets, saved
 * state, and a fuzz over ports, PRD tables and ATAPI packets.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ixvm/blk.h"
#include "ixvm/pci.h"
#include "test_dev_harness.h"

#define P 0x1f0
#define PCTL 0x3f6
#define S 0x170
#define SCTL 0x376
#define BM 0xc000
#define DEVFN PCI_DEVFN(1, 1)
#define RAM (16u << 20)
#define HD_SIZE (8u << 20)
#define CD_BLOCKS 512u
#define BIG_SIZE (200ull << 30)

struct irqrec {
    int level;
    unsigned raises;
};

static struct {
    struct th h;
    struct pgm *pgm;
    struct pci_bus *bus;
    struct dev_ins *ins;
    struct irqrec irq[2];
    struct irq_line line[2];
    char dir[64], hd[128], cd[128], cd2[128], big[128];
} C;

static uint8_t pat_hd(uint64_t off) { return (uint8_t)(off * 7 + (off >> 9) * 13 + 1); }
static uint8_t pat_cd(uint64_t off) { return (uint8_t)(off * 3 + (off >> 11) * 29 + 5); }
static uint8_t pat_cd2(uint64_t off) { return (uint8_t)(off * 5 + 77); }

static void write_image(const char *path, uint64_t size, uint8_t (*pat)(uint64_t))
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    for (uint64_t i = 0; i < size; i++)
        fputc(pat(i), f);
    fclose(f);
}

static void irq_set_cb(void *user, unsigned pin, int level)
{
    struct irqrec *r = &((struct irqrec *)user)[pin];
    if (level)
        r->raises++;
    r->level = level;
}

static void ide_setup_cfg(const struct dev_cfg_kv *kv, size_t n)
{
    th_init(&C.h);
    cr_assert_eq(pgm_create(&C.pgm, RAM, &C.h.err), 0, "%s", C.h.err.msg);
    cr_assert_eq(pci_bus_create(C.h.iom, C.pgm, &C.bus), 0);
    C.ins = th_create(&C.h, &dev_piix_ide, kv, n);
    cr_assert_eq(piix_ide_pci_attach(C.ins, C.bus, DEVFN, &C.h.err), 0, "%s", C.h.err.msg);
    for (unsigned i = 0; i < 2; i++) {
        C.line[i] = (struct irq_line){ irq_set_cb, C.irq, i };
        cr_assert_eq(dev_irq_connect(C.ins, i, &C.line[i]), 0);
    }
    /* What firmware does: BAR4, I/O decode and bus mastering, IDE decode. */
    pci_config_write(C.bus, 0, DEVFN, 0x20, BM | 1, 4);
    pci_config_write(C.bus, 0, DEVFN, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
    pci_config_write(C.bus, 0, DEVFN, 0x40, 0x8000, 2);
    pci_config_write(C.bus, 0, DEVFN, 0x42, 0x8000, 2);
}

static void make_dir(void)
{
    memset(&C, 0, sizeof(C));
    snprintf(C.dir, sizeof(C.dir), "/tmp/ixvm-ide-XXXXXX");
    cr_assert_not_null(mkdtemp(C.dir));
    snprintf(C.hd, sizeof(C.hd), "%s/hd.img", C.dir);
    snprintf(C.cd, sizeof(C.cd), "%s/cd.iso", C.dir);
    snprintf(C.cd2, sizeof(C.cd2), "%s/cd2.iso", C.dir);
    snprintf(C.big, sizeof(C.big), "%s/big.img", C.dir);
    write_image(C.hd, HD_SIZE, pat_hd);
    write_image(C.cd, (uint64_t)CD_BLOCKS * 2048, pat_cd);
    write_image(C.cd2, 64 * 2048, pat_cd2);
    int fd = open(C.big, O_CREAT | O_RDWR, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)BIG_SIZE), 0);
    close(fd);
}

static void setup(void)
{
    make_dir();
    struct dev_cfg_kv kv[] = { { "hda", C.hd }, { "hdb", C.big }, { "hdc", C.cd }, { "hdc_media", "cdrom" } };
    ide_setup_cfg(kv, 4);
}

static void teardown(void)
{
    if (C.bus)
        pci_bus_destroy(C.bus);
    th_fini(&C.h);
    pgm_destroy(C.pgm);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", C.dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(ide, .init = setup, .fini = teardown);

/* ---- helpers -------------------------------------------------------------- */

static uint8_t inb(uint16_t port) { return th_inb(&C.h, port); }
static void outb(uint16_t port, uint8_t v) { th_outb(&C.h, port, v); }
static uint16_t inw(uint16_t port) { return (uint16_t)th_in(&C.h, port, 2); }
static void outw(uint16_t port, uint16_t v) { th_out(&C.h, port, v, 2); }

static void pio_in(uint16_t base, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i += 2) {
        uint16_t w = inw(base);
        buf[i] = (uint8_t)w;
        buf[i + 1] = (uint8_t)(w >> 8);
    }
}

static void pio_out(uint16_t base, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i += 2)
        outw(base, (uint16_t)(buf[i] | buf[i + 1] << 8));
}

static void ata_lba28(uint16_t base, unsigned dev, uint32_t lba, uint8_t count, uint8_t cmd)
{
    outb(base + 6, (uint8_t)(0xe0 | dev << 4 | ((lba >> 24) & 0x0f)));
    outb(base + 2, count);
    outb(base + 3, (uint8_t)lba);
    outb(base + 4, (uint8_t)(lba >> 8));
    outb(base + 5, (uint8_t)(lba >> 16));
    outb(base + 7, cmd);
}

static void ata_lba48(uint16_t base, unsigned dev, uint64_t lba, uint16_t count, uint8_t cmd)
{
    outb(base + 6, (uint8_t)(0x40 | dev << 4));
    outb(base + 2, (uint8_t)(count >> 8));
    outb(base + 3, (uint8_t)(lba >> 24));
    outb(base + 4, (uint8_t)(lba >> 32));
    outb(base + 5, (uint8_t)(lba >> 40));
    outb(base + 2, (uint8_t)count);
    outb(base + 3, (uint8_t)lba);
    outb(base + 4, (uint8_t)(lba >> 8));
    outb(base + 5, (uint8_t)(lba >> 16));
    outb(base + 7, cmd);
}

static uint16_t word(const uint8_t *b, unsigned w) { return (uint16_t)(b[2 * w] | b[2 * w + 1] << 8); }

static void ata_string(const uint8_t *b, unsigned w, unsigned len, char *out)
{
    for (unsigned i = 0; i < len; i++)
        out[i] = (char)b[2 * w + (i ^ 1)];
    out[len] = 0;
}

static void identify(uint16_t base, unsigned dev, uint8_t *buf)
{
    outb(base + 6, (uint8_t)(0xa0 | dev << 4));
    outb(base + 7, 0xec);
    cr_assert_eq(inb(base + 7), 0x58, "IDENTIFY status");
    pio_in(base, buf, 512);
    cr_assert_eq(inb(base + 7), 0x50);
}

static void file_read(const char *path, uint64_t off, void *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* ---- ATA ------------------------------------------------------------------ */

Test(ide, identify_geometry_and_strings)
{
    uint8_t id[512];
    char s[48];
    identify(P, 0, id);
    uint32_t secs = HD_SIZE / 512;
    cr_assert_eq(word(id, 0), 0x0040);
    cr_assert_eq(word(id, 1), secs / (16 * 63));       /* 16 cylinders */
    cr_assert_eq(word(id, 3), 16);
    cr_assert_eq(word(id, 6), 63);
    cr_assert_eq(word(id, 54), secs / (16 * 63));
    cr_assert_eq(word(id, 57) | (uint32_t)word(id, 58) << 16, (secs / 1008) * 1008);
    cr_assert_eq(word(id, 60) | (uint32_t)word(id, 61) << 16, secs);
    cr_assert_eq(word(id, 100), (uint16_t)secs);
    cr_assert_eq(word(id, 101), (uint16_t)(secs >> 16));
    cr_assert_eq(word(id, 102) | word(id, 103), 0);
    cr_assert_eq(word(id, 83) & (1u << 10), 1u << 10, "LBA48 supported");
    cr_assert_eq(word(id, 86) & (1u << 10), 1u << 10, "LBA48 enabled");
    cr_assert_eq(word(id, 49) & 0x0300, 0x0300, "LBA and DMA");
    cr_assert_eq(word(id, 47), 0x8010);
    ata_string(id, 27, 40, s);
    cr_assert_str_eq(s, "IXVM HARDDISK                           ");
    ata_string(id, 10, 20, s);
    cr_assert_str_eq(s, "IX00001             ");
    ata_string(id, 23, 8, s);
    cr_assert_str_eq(s, "2.5+    ");
    cr_assert_geq(C.irq[0].raises, 1);

    /* 200 GiB: cylinders clamp at 16383, LBA28 capacity at 0x0fffffff. */
    identify(P, 1, id);
    uint64_t big = BIG_SIZE / 512;
    cr_assert_eq(word(id, 1), 16383);
    cr_assert_eq(word(id, 60) | (uint32_t)word(id, 61) << 16, 0x0fffffffu);
    uint64_t cap = 0;
    for (unsigned i = 0; i < 4; i++)
        cap |= (uint64_t)word(id, 100 + i) << (16 * i);
    cr_assert_eq(cap, big);
    ata_string(id, 10, 20, s);
    cr_assert_str_eq(s, "IX00002             ");
}

Test(ide, pio_write_then_read_sectors)
{
    uint8_t w[3 * 512], r[512];
    for (unsigned i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(i * 11 + 3);
    unsigned irq0 = C.irq[0].raises;
    ata_lba28(P, 0, 100, 3, 0x30);
    cr_assert_eq(inb(PCTL), 0x58, "DRQ for the first block, no interrupt yet");
    cr_assert_eq(C.irq[0].raises, irq0);
    for (unsigned b = 0; b < 3; b++) {
        pio_out(P, w + b * 512, 512);
        cr_assert_eq(C.irq[0].raises, irq0 + b + 1, "an interrupt per block");
        cr_assert_eq(inb(P + 7), b < 2 ? 0x58 : 0x50);
    }
    uint8_t f[sizeof(w)];
    file_read(C.hd, 100 * 512, f, sizeof(f));
    cr_assert_eq(memcmp(f, w, sizeof(w)), 0, "writes reach the image");
    /* read back 4 sectors: 3 written + 1 original */
    ata_lba28(P, 0, 100, 4, 0x20);
    for (unsigned b = 0; b < 4; b++) {
        cr_assert_eq(inb(P + 7), 0x58);
        pio_in(P, r, 512);
        for (unsigned i = 0; i < 512; i++)
            cr_assert_eq(r[i], b < 3 ? w[b * 512 + i] : pat_hd(103 * 512 + i), "block %u byte %u", b, i);
    }
    cr_assert_eq(inb(P + 7), 0x50);
    /* the task file points past the last sector */
    cr_assert_eq(inb(P + 3), 104);
    /* 32-bit data port reads */
    ata_lba28(P, 0, 7, 1, 0x20);
    for (unsigned i = 0; i < 512; i += 4) {
        uint32_t v = th_in(&C.h, P, 4);
        for (unsigned k = 0; k < 4; k++)
            cr_assert_eq((uint8_t)(v >> (8 * k)), pat_hd(7 * 512 + i + k));
    }
    cr_assert_eq(inb(P + 7), 0x50);
}

Test(ide, multiple_mode)
{
    uint8_t r[4 * 512];
    ata_lba28(P, 0, 0, 10, 0xc4);                      /* READ MULTIPLE before SET MULTIPLE */
    cr_assert_eq(inb(P + 7), 0x41);
    cr_assert_eq(inb(P + 1), 0x04);
    outb(P + 2, 3);
    outb(P + 7, 0xc6);                                 /* not a power of two */
    cr_assert_eq(inb(P + 7), 0x41);
    outb(P + 2, 4);
    outb(P + 7, 0xc6);
    cr_assert_eq(inb(P + 7), 0x50);
    uint8_t id[512];
    identify(P, 0, id);
    cr_assert_eq(word(id, 59), 0x0104);
    unsigned irq0 = C.irq[0].raises;
    ata_lba28(P, 0, 20, 10, 0xc4);
    unsigned sizes[3] = { 4, 4, 2 }, sec = 20;
    for (unsigned b = 0; b < 3; b++) {
        cr_assert_eq(inb(P + 7), 0x58);
        pio_in(P, r, sizes[b] * 512);
        for (unsigned i = 0; i < sizes[b] * 512; i++)
            cr_assert_eq(r[i], pat_hd((uint64_t)sec * 512 + i));
        sec += sizes[b];
    }
    cr_assert_eq(inb(P + 7), 0x50);
    cr_assert_eq(C.irq[0].raises, irq0 + 3, "one interrupt per DRQ block");
    /* WRITE MULTIPLE 6 sectors: blocks of 4 and 2 */
    uint8_t w[6 * 512];
    for (unsigned i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(i ^ 0x5a);
    ata_lba28(P, 0, 40, 6, 0xc5);
    pio_out(P, w, 4 * 512);
    cr_assert_eq(inb(P + 7), 0x58);
    pio_out(P, w + 4 * 512, 2 * 512);
    cr_assert_eq(inb(P + 7), 0x50);
    uint8_t f[sizeof(w)];
    file_read(C.hd, 40 * 512, f, sizeof(f));
    cr_assert_eq(memcmp(f, w, sizeof(w)), 0);
}

Test(ide, lba48_beyond_2_28)
{
    uint64_t lba = (1ull << 28) + 12345;
    uint8_t w[2 * 512], r[512];
    for (unsigned i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(i * 3 + 1);
    ata_lba48(P, 1, lba, 2, 0x34);                     /* WRITE SECTORS EXT */
    pio_out(P, w, 512);
    pio_out(P, w + 512, 512);
    cr_assert_eq(inb(P + 7), 0x50);
    uint8_t f[sizeof(w)];
    file_read(C.big, lba * 512, f, sizeof(f));
    cr_assert_eq(memcmp(f, w, sizeof(w)), 0, "EXT write landed at the 48-bit offset");
    ata_lba48(P, 1, lba + 1, 1, 0x24);                 /* READ SECTORS EXT */
    cr_assert_eq(inb(P + 7), 0x58);
    pio_in(P, r, 512);
    cr_assert_eq(memcmp(r, w + 512, 512), 0);
    /* HOB read-back of the address: next sector lba + 2 */
    outb(PCTL, 0x80);
    cr_assert_eq(inb(P + 3), (uint8_t)((lba + 2) >> 24));
    cr_assert_eq(inb(P + 4), (uint8_t)((lba + 2) >> 32));
    outb(PCTL, 0x00);
    cr_assert_eq(inb(P + 3), (uint8_t)(lba + 2));
    /* a 28-bit command cannot reach it: the same low bits address lba & 0x0fffffff */
    ata_lba28(P, 1, (uint32_t)(lba & 0x0fffffff), 1, 0x20);
    pio_in(P, r, 512);
    cr_assert_eq(memcmp(r, w, 512) != 0 || lba == (lba & 0x0fffffff), true);
    /* past the end: IDNF */
    ata_lba48(P, 1, BIG_SIZE / 512 - 1, 2, 0x24);
    cr_assert_eq(inb(P + 7), 0x41);
    cr_assert_eq(inb(P + 1) & 0x10, 0x10);
}

Test(ide, chs_addressing_and_init_params)
{
    uint8_t r[512];
    /* default 16 heads, 63 sectors: C/H/S 1/2/3 */
    outb(P + 6, 0xa0 | 2);
    outb(P + 2, 1);
    outb(P + 3, 3);
    outb(P + 4, 1);
    outb(P + 5, 0);
    outb(P + 7, 0x20);
    cr_assert_eq(inb(P + 7), 0x58);
    pio_in(P, r, 512);
    uint64_t lba = (1 * 16 + 2) * 63 + 2;
    for (unsigned i = 0; i < 512; i++)
        cr_assert_eq(r[i], pat_hd(lba * 512 + i));
    /* sector 0 or beyond the geometry: IDNF */
    outb(P + 3, 0);
    outb(P + 7, 0x20);
    cr_assert_eq(inb(P + 7), 0x41);
    /* INITIALIZE DEVICE PARAMETERS: 4 heads, 17 sectors */
    outb(P + 6, 0xa0 | 3);
    outb(P + 2, 17);
    outb(P + 7, 0x91);
    cr_assert_eq(inb(P + 7), 0x50);
    uint8_t id[512];
    identify(P, 0, id);
    cr_assert_eq(word(id, 55), 4);
    cr_assert_eq(word(id, 56), 17);
    cr_assert_eq(word(id, 54), (HD_SIZE / 512) / (4 * 17));
    outb(P + 6, 0xa0 | 3);
    outb(P + 2, 1);
    outb(P + 3, 17);
    outb(P + 4, 2);
    outb(P + 5, 0);
    outb(P + 7, 0x20);
    pio_in(P, r, 512);
    lba = (2 * 4 + 3) * 17 + 16;
    for (unsigned i = 0; i < 512; i++)
        cr_assert_eq(r[i], pat_hd(lba * 512 + i));
}

Test(ide, misc_commands)
{
    /* SET FEATURES transfer mode UDMA2 shows in word 88 */
    outb(P + 6, 0xa0);
    outb(P + 1, 0x03);
    outb(P + 2, 0x42);
    outb(P + 7, 0xef);
    cr_assert_eq(inb(P + 7), 0x50);
    uint8_t id[512];
    identify(P, 0, id);
    cr_assert_eq(word(id, 88), 0x043f);
    outb(P + 1, 0x03);
    outb(P + 2, 0x47);                                 /* UDMA7: not supported */
    outb(P + 7, 0xef);
    cr_assert_eq(inb(P + 7), 0x41);
    outb(P + 1, 0x77);                                 /* unknown feature */
    outb(P + 7, 0xef);
    cr_assert_eq(inb(P + 7), 0x41);
    /* power modes */
    outb(P + 7, 0xe0);
    cr_assert_eq(inb(P + 7), 0x50);
    outb(P + 7, 0xe5);
    cr_assert_eq(inb(P + 2), 0x00);
    outb(P + 7, 0xe1);
    outb(P + 7, 0xe5);
    cr_assert_eq(inb(P + 2), 0xff);
    /* FLUSH CACHE, RECALIBRATE, READ VERIFY, unknown opcode */
    outb(P + 7, 0xe7);
    cr_assert_eq(inb(P + 7), 0x50);
    outb(P + 7, 0x10);
    cr_assert_eq(inb(P + 7), 0x50);
    ata_lba28(P, 0, 10, 5, 0x40);
    cr_assert_eq(inb(P + 7), 0x50);
    ata_lba28(P, 0, HD_SIZE / 512 - 2, 5, 0x40);
    cr_assert_eq(inb(P + 7), 0x41);
    outb(P + 7, 0x5c);
    cr_assert_eq(inb(P + 7), 0x41);
    cr_assert_eq(inb(P + 1), 0x04);
    /* EXECUTE DEVICE DIAGNOSTIC */
    outb(P + 7, 0x90);
    cr_assert_eq(inb(P + 1), 0x01);
    cr_assert_eq(inb(P + 4), 0x00);
    cr_assert_eq(inb(P + 7), 0x50);
}

Test(ide, reset_signatures_and_missing_slave)
{
    /* SRST: BSY while set, signatures after */
    outb(SCTL, 0x04);
    cr_assert_eq(inb(SCTL) & 0x80, 0x80);
    outb(SCTL, 0x00);
    outb(S + 6, 0xa0);
    cr_assert_eq(inb(S + 2), 1);
    cr_assert_eq(inb(S + 3), 1);
    cr_assert_eq(inb(S + 4), 0x14);
    cr_assert_eq(inb(S + 5), 0xeb);
    cr_assert_eq(inb(S + 7), 0x00, "ATAPI: DRDY clear after reset");
    cr_assert_eq(inb(S + 1), 0x01);
    outb(PCTL, 0x04);
    outb(PCTL, 0x00);
    cr_assert_eq(inb(P + 4), 0x00);
    cr_assert_eq(inb(P + 5), 0x00);
    cr_assert_eq(inb(P + 7), 0x50);
    /* the secondary slave is missing: the 55h/AAh probe does not echo */
    outb(S + 6, 0xb0);
    outb(S + 2, 0x55);
    outb(S + 3, 0xaa);
    cr_assert_eq(inb(S + 2), 0x00);
    cr_assert_eq(inb(S + 3), 0x00);
    cr_assert_eq(inb(S + 7), 0x00);
    cr_assert_eq(inb(SCTL), 0x00);
    cr_assert_eq(inb(S + 6), 0xb0);
    outb(S + 7, 0xec);                                 /* nobody answers */
    cr_assert_eq(inb(S + 7), 0x00);
    /* the master latched the probe values too */
    outb(S + 6, 0xa0);
    cr_assert_eq(inb(S + 2), 0x55);
    /* IDENTIFY DEVICE on ATAPI: abort with the signature */
    outb(S + 7, 0xec);
    cr_assert_eq(inb(S + 7), 0x41);
    cr_assert_eq(inb(S + 1), 0x04);
    cr_assert_eq(inb(S + 4), 0x14);
    cr_assert_eq(inb(S + 5), 0xeb);
    /* IDENTIFY PACKET DEVICE on the disk: abort */
    outb(P + 6, 0xa0);
    outb(P + 7, 0xa1);
    cr_assert_eq(inb(P + 7), 0x41);
}

Test(ide, nien_masks_interrupt)
{
    outb(PCTL, 0x02);
    unsigned r = C.irq[0].raises;
    ata_lba28(P, 0, 0, 1, 0x20);
    cr_assert_eq(C.irq[0].raises, r);
    cr_assert_eq(C.irq[0].level, 0);
    outb(PCTL, 0x00);                                  /* pending interrupt shows now */
    cr_assert_eq(C.irq[0].level, 1);
    inb(P + 7);
    cr_assert_eq(C.irq[0].level, 0, "status read acknowledges");
}

/* ---- bus-master DMA --------------------------------------------------------- */

static void mem_write(gphys_t pa, const void *buf, size_t n)
{
    cr_assert_eq(pgm_phys_write(C.pgm, pa, buf, n), 0);
}
static void mem_read(gphys_t pa, void *buf, size_t n)
{
    cr_assert_eq(pgm_phys_read(C.pgm, pa, buf, n), 0);
}

static void prd(gphys_t table, unsigned i, uint32_t addr, uint32_t count, bool eot)
{
    uint8_t d[8] = { (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16), (uint8_t)(addr >> 24),
                     (uint8_t)count, (uint8_t)(count >> 8), 0, eot ? 0x80 : 0 };
    mem_write(table + 8 * i, d, 8);
}

static void bm_start(unsigned ch, uint32_t table, bool to_mem)
{
    uint16_t b = (uint16_t)(BM + ch * 8);
    th_out(&C.h, b + 4, table, 4);
    outb(b + 2, 0x06);                                 /* clear INT and ERR */
    outb(b, (uint8_t)((to_mem ? 0x08 : 0) | 1));
}

Test(ide, dma_read_write_prd)
{
    /* READ DMA of 200 sectors over three regions: 64 KiB (count 0), 4 KiB,
     * and the rest (36 KiB) */
    prd(0x1000, 0, 0x100000, 0, false);
    prd(0x1000, 1, 0x200000, 4096, false);
    prd(0x1000, 2, 0x300000, 200 * 512 - 65536 - 4096, true);
    ata_lba28(P, 0, 50, 200, 0xc8);
    cr_assert_eq(inb(PCTL), 0x58, "waiting for the bus master");
    unsigned r = C.irq[0].raises;
    bm_start(0, 0x1000, true);
    cr_assert_eq(C.irq[0].raises, r + 1);
    cr_assert_eq(inb(BM + 2) & 0x07, 0x04, "INT set, ACTIVE clear, no ERR");
    cr_assert_eq(inb(P + 7), 0x50);
    static uint8_t m[200 * 512];
    mem_read(0x100000, m, 65536);
    mem_read(0x200000, m + 65536, 4096);
    mem_read(0x300000, m + 65536 + 4096, sizeof(m) - 65536 - 4096);
    for (unsigned i = 0; i < sizeof(m); i++)
        cr_assert_eq(m[i], pat_hd(50 * 512 + i), "byte %u", i);
    outb(BM, 0x00);
    /* WRITE DMA EXT from memory, command issued after the start bit */
    for (unsigned i = 0; i < 8192; i++)
        m[i] = (uint8_t)(i * 17);
    mem_write(0x400000, m, 8192);
    prd(0x2000, 0, 0x400000, 8192, true);
    bm_start(0, 0x2000, false);
    ata_lba48(P, 0, 3000, 16, 0x35);
    cr_assert_eq(inb(P + 7), 0x50);
    cr_assert_eq(inb(BM + 2) & 0x07, 0x04);
    uint8_t f[8192];
    file_read(C.hd, 3000 * 512, f, sizeof(f));
    cr_assert_eq(memcmp(f, m, sizeof(f)), 0);
}

Test(ide, dma_short_table_and_bus_errors)
{
    /* PRD table shorter than the transfer: ACTIVE clears, no INT, DRQ stays */
    prd(0x1000, 0, 0x100000, 1024, true);
    ata_lba28(P, 0, 0, 4, 0xc8);
    unsigned r = C.irq[0].raises;
    bm_start(0, 0x1000, true);
    cr_assert_eq(inb(BM + 2) & 0x07, 0x00);
    cr_assert_eq(C.irq[0].raises, r);
    cr_assert_eq(inb(PCTL) & 0x08, 0x08);
    outb(BM, 0);
    outb(PCTL, 0x04);                                  /* the guest resets the channel */
    outb(PCTL, 0x00);
    /* descriptors pointing outside RAM and at the top of the address space */
    prd(0x1000, 0, 0xfffff000, 0x2000, false);
    prd(0x1000, 1, 0xe0000000, 0, true);
    ata_lba28(P, 0, 0, 64, 0xc8);
    bm_start(0, 0x1000, true);
    cr_assert_eq(inb(P + 7), 0x50, "unassigned memory swallows the data");
    /* a PRD table outside RAM reads as all ones: addresses 0xfffffffe, EOT */
    ata_lba28(P, 0, 0, 1, 0xc8);
    bm_start(0, 0xfffffff0, true);
    cr_assert_eq(inb(P + 7) & 0x88, 0x00);
    /* bus mastering off: ERR in the bus master, ABRT in the device */
    pci_config_write(C.bus, 0, DEVFN, PCI_COMMAND, PCI_COMMAND_IO, 2);
    outb(BM, 0);
    ata_lba28(P, 0, 0, 1, 0xc8);
    bm_start(0, 0x1000, true);
    cr_assert_eq(inb(BM + 2) & 0x07, 0x06, "ERR and INT");
    cr_assert_eq(inb(P + 7), 0x41);
    cr_assert_eq(inb(P + 1), 0x04);
    /* W1C of the status bits, and the DMA-capable bits stick */
    outb(BM + 2, 0x66);
    cr_assert_eq(inb(BM + 2), 0x60);
}

/* The longest single command: READ DMA EXT of 65536 sectors (32 MiB),
 * done synchronously on the caller (the EMT).  Reported for docs/ide.md. */
Test(ide, dma_max_transfer_cost)
{
    for (unsigned i = 0; i < 512; i++)
        prd(0x4000, i, 0x100000, 0, i == 511);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ata_lba48(P, 1, 1000, 0, 0x25);
    bm_start(0, 0x4000, true);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(inb(P + 7), 0x50);
    cr_assert_eq(inb(BM + 2) & 0x07, 0x04);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "ide: READ DMA EXT 65536 sectors (32 MiB) took %.2f ms\n", ms);
    cr_assert_lt(ms, 2000.0);
}

/* ---- ATAPI ------------------------------------------------------------------ */

struct atapi_res {
    uint8_t status, error, reason;
    size_t len;
    unsigned drq_blocks;
    uint8_t data[80 * 1024];
};

/* A PACKET command on the secondary master, PIO (bcl) or DMA (into 0x500000). */
static void atapi_cmd(const uint8_t pkt[12], uint16_t bcl, bool dma, struct atapi_res *res)
{
    memset(res, 0, offsetof(struct atapi_res, data));
    outb(S + 6, 0xa0);
    outb(S + 1, dma ? 1 : 0);
    outb(S + 4, (uint8_t)bcl);
    outb(S + 5, (uint8_t)(bcl >> 8));
    outb(S + 7, 0xa0);
    cr_assert_eq(inb(SCTL) & 0x89, 0x08, "DRQ for the packet");
    cr_assert_eq(inb(S + 2) & 3, 1, "CoD=1 IO=0");
    if (dma) {
        prd(0x3000, 0, 0x500000, 0, false);
        prd(0x3000, 1, 0x510000, 0, true);
        bm_start(1, 0x3000, true);
    }
    for (unsigned i = 0; i < 12; i += 2)
        outw(S, (uint16_t)(pkt[i] | pkt[i + 1] << 8));
    for (;;) {
        uint8_t st = inb(S + 7);
        if (!(st & 0x08))
            break;
        cr_assert_eq(inb(S + 2) & 3, 2, "data phase: IO=1 CoD=0");
        size_t n = inb(S + 4) | (size_t)inb(S + 5) << 8;
        cr_assert(n > 0 && res->len + n <= sizeof(res->data), "block of %zu", n);
        pio_in(S, res->data + res->len, n + (n & 1));
        res->len += n;
        res->drq_blocks++;
    }
    res->status = inb(S + 7);
    res->error = inb(S + 1);
    res->reason = inb(S + 2) & 3;
    if (dma) {
        outb(BM + 8, 0);
        if (!(res->status & 1))
            res->len = 0xffff;   /* caller reads memory */
    }
}

static void sense(uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
    static struct atapi_res r;
    uint8_t pkt[12] = { 0x03, 0, 0, 0, 18 };
    atapi_cmd(pkt, 0xfffe, false, &r);
    cr_assert_eq(r.status, 0x50);
    cr_assert_eq(r.len, 18);
    *key = r.data[2];
    *asc = r.data[12];
    *ascq = r.data[13];
}

static void expect_check(const struct atapi_res *r, uint8_t key, uint8_t asc, uint8_t ascq)
{
    cr_assert_eq(r->status, 0x41, "CHECK CONDITION status %#x", r->status);
    cr_assert_eq(r->error, key << 4);
    cr_assert_eq(r->reason, 3);
    uint8_t k, a, q;
    sense(&k, &a, &q);
    cr_assert_eq(k, key);
    cr_assert_eq(a, asc);
    cr_assert_eq(q, ascq);
}

static struct atapi_res R;

Test(ide, atapi_identify_packet)
{
    outb(S + 6, 0xa0);
    outb(S + 7, 0xa1);
    cr_assert_eq(inb(S + 7), 0x58);
    uint8_t id[512];
    pio_in(S, id, 512);
    cr_assert_eq(word(id, 0), 0x85c0);
    cr_assert_eq(word(id, 49) & 0x0300, 0x0300);
    char s[48];
    ata_string(id, 27, 40, s);
    cr_assert_str_eq(s, "IXVM DVD-ROM                            ");
    ata_string(id, 10, 20, s);
    cr_assert_str_eq(s, "IX00003             ");
}

Test(ide, atapi_basic_commands_exact_bytes)
{
    uint8_t tur[12] = { 0x00 };
    atapi_cmd(tur, 0, false, &R);
    cr_assert_eq(R.status, 0x50);
    cr_assert_eq(R.reason, 3);

    uint8_t inq[12] = { 0x12, 0, 0, 0, 96 };
    atapi_cmd(inq, 0xfffe, false, &R);
    static const uint8_t inq_want[36] = {
        0x05, 0x80, 0x00, 0x21, 0x1f, 0, 0, 0, 'I', 'X', 'V', 'M', ' ', ' ', ' ', ' ',
        'I', 'X', 'V', 'M', ' ', 'D', 'V', 'D', '-', 'R', 'O', 'M', ' ', ' ', ' ', ' ',
        '2', '.', '5', '+' };
    cr_assert_eq(R.len, 36);
    cr_assert_eq(memcmp(R.data, inq_want, 36), 0);
    inq[4] = 5;                                         /* allocation length cuts the reply */
    atapi_cmd(inq, 0xfffe, false, &R);
    cr_assert_eq(R.len, 5);

    uint8_t cap[12] = { 0x25 };
    atapi_cmd(cap, 0xfffe, false, &R);
    static const uint8_t cap_want[8] = { 0, 0, 0x01, 0xff, 0, 0, 0x08, 0 };
    cr_assert_eq(R.len, 8);
    cr_assert_eq(memcmp(R.data, cap_want, 8), 0);

    uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 255 };
    atapi_cmd(ms, 0xfffe, false, &R);
    static const uint8_t ms_want[28] = {
        0x00, 0x1a, 0x70, 0, 0, 0, 0, 0,
        0x2a, 0x12, 0x3b, 0x00, 0x71, 0x60, 0x29, 0x00, 0x02, 0xc0, 0x00, 0x02,
        0x02, 0x00, 0x02, 0xc0, 0, 0, 0, 0 };
    cr_assert_eq(R.len, 28);
    cr_assert_eq(memcmp(R.data, ms_want, 28), 0);
    ms[2] = 0x01;
    atapi_cmd(ms, 0xfffe, false, &R);
    static const uint8_t ms1_want[16] = { 0, 14, 0x70, 0, 0, 0, 0, 0, 0x01, 0x06, 0, 0x05, 0, 0, 0, 0 };
    cr_assert_eq(R.len, 16);
    cr_assert_eq(memcmp(R.data, ms1_want, 16), 0);
    ms[2] = 0x3f;
    atapi_cmd(ms, 0xfffe, false, &R);
    cr_assert_eq(R.len, 8 + 8 + 16 + 20);
    cr_assert_eq(R.data[1], 8 + 8 + 16 + 20 - 2);
    cr_assert_eq(R.data[8], 0x01);
    cr_assert_eq(R.data[16], 0x0e);
    cr_assert_eq(R.data[32], 0x2a);
    ms[2] = 0xc0 | 0x2a;                                /* saved values */
    atapi_cmd(ms, 0xfffe, false, &R);
    expect_check(&R, 5, 0x39, 0);
    ms[2] = 0x05;                                       /* unknown page */
    atapi_cmd(ms, 0xfffe, false, &R);
    expect_check(&R, 5, 0x24, 0);

    uint8_t gc[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 64 };
    atapi_cmd(gc, 0xfffe, false, &R);
    static const uint8_t gc_want[20] = { 0, 0, 0, 16, 0, 0, 0x00, 0x08, 0, 0, 0x03, 8,
                                         0x00, 0x10, 0, 0, 0x00, 0x08, 1, 0 };
    cr_assert_eq(R.len, 20);
    cr_assert_eq(memcmp(R.data, gc_want, 20), 0);
    gc[3] = 0x1e;                                       /* starting feature != 0 */
    atapi_cmd(gc, 0xfffe, false, &R);
    expect_check(&R, 5, 0x24, 0);

    uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
    atapi_cmd(gesn, 0xfffe, false, &R);
    static const uint8_t gesn_want[8] = { 0, 4, 0x04, 0x10, 0x00, 0x02, 0, 0 };
    cr_assert_eq(R.len, 8);
    cr_assert_eq(memcmp(R.data, gesn_want, 8), 0);
    gesn[1] = 0;                                        /* asynchronous: not supported */
    atapi_cmd(gesn, 0xfffe, false, &R);
    expect_check(&R, 5, 0x24, 0);

    uint8_t mech[12] = { 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8 };
    atapi_cmd(mech, 0xfffe, false, &R);
    static const uint8_t mech_want[8] = { 0, 0, 0, 0, 0, 1, 0, 0 };
    cr_assert_eq(R.len, 8);
    cr_assert_eq(memcmp(R.data, mech_want, 8), 0);
}

Test(ide, atapi_read_toc)
{
    uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 0xff };
    atapi_cmd(toc, 0xfffe, false, &R);
    static const uint8_t f0[20] = { 0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0,
                                    0, 0x16, 0xaa, 0, 0, 0, 0x02, 0x00 };
    cr_assert_eq(R.len, 20);
    cr_assert_eq(memcmp(R.data, f0, 20), 0);
    toc[1] = 2;                                         /* MSF: 512 + 150 = 662 frames = 00:08:62 */
    atapi_cmd(toc, 0xfffe, false, &R);
    static const uint8_t f0m[20] = { 0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 2, 0,
                                     0, 0x16, 0xaa, 0, 0, 0, 8, 62 };
    cr_assert_eq(memcmp(R.data, f0m, 20), 0);
    toc[6] = 0xaa;                                      /* lead-out only */
    atapi_cmd(toc, 0xfffe, false, &R);
    cr_assert_eq(R.len, 12);
    cr_assert_eq(R.data[1], 10);
    cr_assert_eq(R.data[6], 0xaa);
    toc[6] = 2;                                         /* no track 2 */
    atapi_cmd(toc, 0xfffe, false, &R);
    expect_check(&R, 5, 0x24, 0);
    uint8_t t1[12] = { 0x43, 0, 1, 0, 0, 0, 0, 0, 12 };
    atapi_cmd(t1, 0xfffe, false, &R);
    static const uint8_t f1[12] = { 0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0 };
    cr_assert_eq(R.len, 12);
    cr_assert_eq(memcmp(R.data, f1, 12), 0);
    uint8_t t1old[12] = { 0x43, 2, 0, 0, 0, 0, 0, 0, 12, 0x40 };   /* SFF-8020 format field */
    atapi_cmd(t1old, 0xfffe, false, &R);
    static const uint8_t f1m[12] = { 0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 2, 0 };
    cr_assert_eq(memcmp(R.data, f1m, 12), 0);
    uint8_t t2[12] = { 0x43, 2, 2, 0, 0, 0, 0, 0, 0xff };
    atapi_cmd(t2, 0xfffe, false, &R);
    static const uint8_t f2[48] = {
        0, 46, 1, 1,
        1, 0x14, 0, 0xa0, 0, 0, 0, 0, 1, 0, 0,
        1, 0x14, 0, 0xa1, 0, 0, 0, 0, 1, 0, 0,
        1, 0x14, 0, 0xa2, 0, 0, 0, 0, 0, 8, 62,
        1, 0x14, 0, 0x01, 0, 0, 0, 0, 0, 2, 0 };
    cr_assert_eq(R.len, 48);
    cr_assert_eq(memcmp(R.data, f2, 48), 0);
    uint8_t t3[12] = { 0x43, 0, 5, 0, 0, 0, 0, 0, 0xff };
    atapi_cmd(t3, 0xfffe, false, &R);
    expect_check(&R, 5, 0x24, 0);
}

Test(ide, atapi_read_pio_and_dma)
{
    /* READ(10) 3 blocks at 7 with a byte count limit of 2048: 3 DRQ blocks */
    uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 7, 0, 0, 3 };
    atapi_cmd(rd, 2048, false, &R);
    cr_assert_eq(R.status, 0x50);
    cr_assert_eq(R.len, 3 * 2048);
    cr_assert_eq(R.drq_blocks, 3);
    for (unsigned i = 0; i < R.len; i++)
        cr_assert_eq(R.data[i], pat_cd(7 * 2048 + i), "byte %u", i);
    /* odd byte count limit 3001 -> even blocks of 3000 */
    atapi_cmd(rd, 3001, false, &R);
    cr_assert_eq(R.len, 3 * 2048);
    cr_assert_eq(R.drq_blocks, 3);
    for (unsigned i = 0; i < R.len; i++)
        cr_assert_eq(R.data[i], pat_cd(7 * 2048 + i));
    /* READ(12) of 40 blocks by DMA */
    uint8_t rd12[12] = { 0xa8, 0, 0, 0, 0, 100, 0, 0, 0, 40 };
    atapi_cmd(rd12, 0, true, &R);
    cr_assert_eq(R.status, 0x50);
    cr_assert_eq(R.reason, 3);
    static uint8_t m[40 * 2048];
    mem_read(0x500000, m, sizeof(m));
    for (unsigned i = 0; i < sizeof(m); i++)
        cr_assert_eq(m[i], pat_cd(100 * 2048 + i), "byte %u", i);
    /* a reply by DMA */
    uint8_t cap[12] = { 0x25 };
    atapi_cmd(cap, 0, true, &R);
    mem_read(0x500000, m, 8);
    cr_assert_eq(m[2], 0x01);
    cr_assert_eq(m[3], 0xff);
    cr_assert_eq(m[6], 0x08);
    /* READ CD user data */
    uint8_t rcd[12] = { 0xbe, 0, 0, 0, 0, 9, 0, 0, 1, 0x10 };
    atapi_cmd(rcd, 0xfffe, false, &R);
    cr_assert_eq(R.len, 2048);
    cr_assert_eq(R.data[0], pat_cd(9 * 2048));
    rcd[9] = 0xf8;                                      /* raw sectors: not offered */
    atapi_cmd(rcd, 0xfffe, false, &R);
    expect_check(&R, 5, 0x24, 0);
    /* zero-length reads complete at once */
    uint8_t rd0[12] = { 0x28, 0, 0, 0, 0, 7 };
    atapi_cmd(rd0, 2048, false, &R);
    cr_assert_eq(R.status, 0x50);
    cr_assert_eq(R.len, 0);
}

Test(ide, atapi_errors_and_absurd_lengths)
{
    uint8_t k, a, q;
    /* LBA past the end, count past the end, 65535 and 2^32-1 blocks */
    uint8_t rd[12] = { 0x28, 0, 0, 0, 0x02, 0x00, 0, 0, 1 };
    atapi_cmd(rd, 2048, false, &R);
    expect_check(&R, 5, 0x21, 0);
    uint8_t rd2[12] = { 0x28, 0, 0, 0, 0x01, 0xff, 0, 0, 2 };
    atapi_cmd(rd2, 2048, false, &R);
    expect_check(&R, 5, 0x21, 0);
    uint8_t rd3[12] = { 0x28, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    atapi_cmd(rd3, 2048, false, &R);
    expect_check(&R, 5, 0x21, 0);
    uint8_t rd4[12] = { 0xa8, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    atapi_cmd(rd4, 2048, true, &R);
    expect_check(&R, 5, 0x21, 0);
    /* allocation lengths larger than the reply: the reply's length */
    uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    atapi_cmd(toc, 0xfffe, false, &R);
    cr_assert_eq(R.len, 20);
    uint8_t inq[12] = { 0x12, 0, 0, 0xff, 0xff };
    atapi_cmd(inq, 0xfffe, false, &R);
    cr_assert_eq(R.len, 36);
    /* unknown opcode */
    uint8_t bad[12] = { 0xff };
    atapi_cmd(bad, 0xfffe, false, &R);
    expect_check(&R, 5, 0x20, 0);
    /* sense is cleared once reported */
    sense(&k, &a, &q);
    cr_assert_eq(k, 0);
    cr_assert_eq(a, 0);
    /* INQUIRY with EVPD */
    uint8_t evpd[12] = { 0x12, 1, 0x80, 0, 96 };
    atapi_cmd(evpd, 0xfffe, false, &R);
    expect_check(&R, 5, 0x24, 0);
}

Test(ide, atapi_eject_lock_and_medium_change)
{
    uint8_t tur[12] = { 0x00 };
    uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
    uint8_t eject[12] = { 0x1b, 0, 0, 0, 0x02 };
    atapi_cmd(lock, 0, false, &R);
    cr_assert_eq(R.status, 0x50);
    atapi_cmd(eject, 0, false, &R);
    expect_check(&R, 5, 0x53, 0x02);
    uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 255 };
    atapi_cmd(ms, 0xfffe, false, &R);
    cr_assert_eq(R.data[14], 0x2b, "lock state in the capabilities page");
    lock[4] = 0;
    atapi_cmd(lock, 0, false, &R);
    atapi_cmd(eject, 0, false, &R);
    cr_assert_eq(R.status, 0x50);
    atapi_cmd(tur, 0, false, &R);
    expect_check(&R, 2, 0x3a, 0);
    uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
    atapi_cmd(gesn, 0xfffe, false, &R);
    cr_assert_eq(R.data[5], 0x01, "tray open");
    uint8_t load[12] = { 0x1b, 0, 0, 0, 0x03 };
    atapi_cmd(load, 0, false, &R);
    atapi_cmd(tur, 0, false, &R);
    cr_assert_eq(R.status, 0x50);

    /* the host swaps the medium */
    cr_assert_eq(piix_ide_change_medium(C.ins, 2, C.cd2, &C.h.err), 0, "%s", C.h.err.msg);
    atapi_cmd(gesn, 0xfffe, false, &R);
    cr_assert_eq(R.data[4], 0x02, "NewMedia event");
    cr_assert_eq(R.data[5], 0x02);
    atapi_cmd(gesn, 0xfffe, false, &R);
    cr_assert_eq(R.data[4], 0x00, "reported once");
    atapi_cmd(tur, 0, false, &R);
    expect_check(&R, 2, 0x3a, 0);
    uint8_t cap[12] = { 0x25 };
    atapi_cmd(cap, 0xfffe, false, &R);
    cr_assert_eq(R.status, 0x41);
    cr_assert_eq(R.error, 0x60, "UNIT ATTENTION");
    atapi_cmd(tur, 0, false, &R);
    cr_assert_eq(R.error, 0x60, "UNIT ATTENTION persists until REQUEST SENSE");
    uint8_t k, a, q;
    sense(&k, &a, &q);
    cr_assert_eq(k, 6);
    cr_assert_eq(a, 0x28);
    atapi_cmd(cap, 0xfffe, false, &R);
    cr_assert_eq(R.status, 0x50);
    cr_assert_eq(R.data[3], 63, "new medium: 64 blocks");
    uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 1, 0, 0, 1 };
    atapi_cmd(rd, 0xfffe, false, &R);
    cr_assert_eq(R.data[0], pat_cd2(2048));
    /* removal: NOT READY */
    cr_assert_eq(piix_ide_change_medium(C.ins, 2, NULL, &C.h.err), 0);
    atapi_cmd(tur, 0, false, &R);
    expect_check(&R, 2, 0x3a, 0);
    uint8_t gc[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 64 };
    atapi_cmd(gc, 0xfffe, false, &R);
    cr_assert_eq(R.data[7], 0, "no current profile");
    /* not a CD drive; a missing image */
    cr_assert_eq(piix_ide_change_medium(C.ins, 0, C.cd2, &C.h.err), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_lt(piix_ide_change_medium(C.ins, 2, "/nonexistent/x.iso", &C.h.err), 0);
    cr_assert(strstr(C.h.err.msg, "/nonexistent/x.iso") != NULL, "%s", C.h.err.msg);
}

/* ---- saved state ------------------------------------------------------------ */

static void mutate(struct th *h, void *user)
{
    (void)user;
    outb(PCTL, 0x04);
    outb(PCTL, 0x00);
    outb(S + 6, 0xa0);
    outb(S + 7, 0xec);
}

Test(ide, saved_state_mid_transfer)
{
    uint8_t r[512];
    ata_lba28(P, 0, 30, 3, 0x20);
    pio_in(P, r, 200);                                 /* part of the first block */
    th_ssm_roundtrip(&C.h, mutate, NULL);
    cr_assert_eq(inb(PCTL), 0x58);
    pio_in(P, r + 200, 312);
    for (unsigned i = 0; i < 512; i++)
        cr_assert_eq(r[i], pat_hd(30 * 512 + i));
    pio_in(P, r, 512);
    cr_assert_eq(r[0], pat_hd(31 * 512));
    pio_in(P, r, 512);
    cr_assert_eq(inb(P + 7), 0x50);
    struct th_text t = { .len = 0 };
    struct ixvm_printer pr = { th_text_print, &t };
    C.ins->reg->info(C.ins->state, &pr, "");
    cr_assert(strstr(t.buf, "hda disk") && strstr(t.buf, "hdc cdrom"), "%s", t.buf);
}

/* ---- configuration errors ------------------------------------------------------ */

Test(ide_cfg, errors_name_the_file)
{
    make_dir();
    th_init(&C.h);
    struct dev_ins *ins = NULL;
    char small[128];
    snprintf(small, sizeof(small), "%s/small.img", C.dir);
    write_image(small, 100, pat_hd);
    struct dev_cfg_kv kv1[] = { { "hda", small } };
    struct dev_cfg cfg = { kv1, 1 };
    cr_assert_eq(pdm_device_create(C.h.pdm, &dev_piix_ide, &cfg, &ins, &C.h.err), IXVM_ERR_FILE_FORMAT);
    cr_assert(strstr(C.h.err.msg, small) && strstr(C.h.err.msg, "too small"), "%s", C.h.err.msg);
    struct dev_cfg_kv kv2[] = { { "hdb", "/nonexistent/disk.img" } };
    cfg = (struct dev_cfg){ kv2, 1 };
    cr_assert_eq(pdm_device_create(C.h.pdm, &dev_piix_ide, &cfg, &ins, &C.h.err), IXVM_ERR_NOT_FOUND);
    cr_assert(strstr(C.h.err.msg, "/nonexistent/disk.img") != NULL, "%s", C.h.err.msg);
    struct dev_cfg_kv kv3[] = { { "hda", C.hd }, { "hda_media", "tape" } };
    cfg = (struct dev_cfg){ kv3, 2 };
    cr_assert_eq(pdm_device_create(C.h.pdm, &dev_piix_ide, &cfg, &ins, &C.h.err), IXVM_ERR_INVALID_PARAMETER);
    /* a second VM on the same image: locked (the first holds it) */
    struct blk *b;
    cr_assert_eq(blk_open(&(struct blk_opts){ .path = C.hd }, &b, &C.h.err), 0);
    struct dev_cfg_kv kv4[] = { { "hda", C.hd } };
    cfg = (struct dev_cfg){ kv4, 1 };
    cr_assert_eq(pdm_device_create(C.h.pdm, &dev_piix_ide, &cfg, &ins, &C.h.err), IXVM_ERR_BUSY);
    char want[256];
    snprintf(want, sizeof(want), "disk '%s' is in use by another process", C.hd);
    cr_assert_str_eq(C.h.err.msg, want);
    blk_close(b);
    th_fini(&C.h);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", C.dir);
    cr_assert_eq(system(cmd), 0);
}

Test(ide_cfg, snapshot_leaves_image_unchanged)
{
    make_dir();
    struct dev_cfg_kv kv[] = { { "hda", C.hd }, { "snapshot", "on" } };
    ide_setup_cfg(kv, 2);
    uint8_t w[512], r[512];
    memset(w, 0xcd, sizeof(w));
    ata_lba28(P, 0, 5, 1, 0x30);
    pio_out(P, w, 512);
    cr_assert_eq(inb(P + 7), 0x50);
    ata_lba28(P, 0, 5, 1, 0x20);
    pio_in(P, r, 512);
    cr_assert_eq(memcmp(r, w, 512), 0, "the guest sees its write");
    outb(P + 7, 0xe7);
    cr_assert_eq(inb(P + 7), 0x50);
    file_read(C.hd, 5 * 512, r, 512);
    for (unsigned i = 0; i < 512; i++)
        cr_assert_eq(r[i], pat_hd(5 * 512 + i), "the file is unchanged");
    teardown();
}

/* ---- fuzz ---------------------------------------------------------------------- */

/* Random ATAPI packets, PRD tables and bus-master pokes between the random
 * port accesses; the data phases may point anywhere. */
static void fuzz_extra(struct th *h, uint64_t rnd, void *user)
{
    (void)h;
    (void)user;
    uint64_t st = rnd | 1;
    switch (rnd % 5) {
    case 0: {                                          /* a random packet */
        static const uint8_t ops[] = { 0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2b, 0x43,
                                       0x46, 0x4a, 0x5a, 0xa8, 0xbb, 0xbd, 0xbe, 0x51, 0xff };
        uint8_t pkt[12];
        for (unsigned i = 0; i < 12; i++)
            pkt[i] = (uint8_t)th_rand(&st);
        pkt[0] = ops[th_rand(&st) % sizeof(ops)];
        uint16_t base = (th_rand(&st) & 1) ? S : P;
        (void)iom_out(C.h.iom, base + 6, (th_rand(&st) & 1) ? 0xb0 : 0xa0, 1);
        (void)iom_out(C.h.iom, base + 1, (uint32_t)th_rand(&st) & 1, 1);
        (void)iom_out(C.h.iom, base + 4, (uint32_t)th_rand(&st), 1);
        (void)iom_out(C.h.iom, base + 5, (uint32_t)th_rand(&st), 1);
        (void)iom_out(C.h.iom, base + 7, 0xa0, 1);
        for (unsigned i = 0; i < 12; i += 2)
            (void)iom_out(C.h.iom, base, (uint32_t)(pkt[i] | pkt[i + 1] << 8), 2);
        break;
    }
    case 1: {                                          /* a random PRD table */
        uint32_t table = (uint32_t)(th_rand(&st) % 4 == 0 ? th_rand(&st) : 0x1000 + (th_rand(&st) % 8) * 0x100);
        for (unsigned i = 0; i < 4; i++) {
            uint32_t addr = (uint32_t)(th_rand(&st) % 3 == 0 ? th_rand(&st) : th_rand(&st) % RAM);
            uint8_t d[8] = { (uint8_t)addr, (uint8_t)(addr >> 8), (uint8_t)(addr >> 16), (uint8_t)(addr >> 24),
                             (uint8_t)th_rand(&st), (uint8_t)th_rand(&st), 0, (uint8_t)th_rand(&st) };
            if ((uint64_t)table + 8 * i + 8 <= RAM)
                (void)pgm_phys_write(C.pgm, table + 8 * i, d, 8);
        }
        (void)iom_out(C.h.iom, BM + 4 + (th_rand(&st) & 8), table, 4);
        break;
    }
    case 2:                                            /* start/stop the engines */
        (void)iom_out(C.h.iom, BM + (th_rand(&st) & 8), (uint32_t)th_rand(&st) & 9, 1);
        break;
    case 3: {                                          /* an ATA command with a big count */
        static const uint8_t cmds[] = { 0x20, 0x24, 0x25, 0x29, 0x30, 0x34, 0x35, 0x39, 0x40, 0x42,
                                        0xc4, 0xc5, 0xc6, 0xc8, 0xca, 0xec, 0xa1, 0x90, 0x91, 0xef };
        uint16_t base = (th_rand(&st) & 1) ? S : P;
        for (unsigned r = 1; r <= 6; r++)
            (void)iom_out(C.h.iom, base + r, (uint32_t)th_rand(&st), 1);
        (void)iom_out(C.h.iom, base + 7, cmds[th_rand(&st) % sizeof(cmds)], 1);
        break;
    }
    default:                                           /* bus mastering on/off */
        pci_config_write(C.bus, 0, DEVFN, PCI_COMMAND, th_rand(&st) % 4 ? 5 : 1, 2);
        break;
    }
}

Test(ide, fuzz_ports_dma_packets)
{
    /* a guard pattern in RAM we never aim DMA at is not needed: every DMA
     * goes through pgm_phys_*, which bounds it; ASan checks the host side. */
    static const struct th_range ranges[] = {
        { P, 8 }, { PCTL, 1 }, { S, 8 }, { SCTL, 1 }, { BM, 16 },
    };
    for (uint64_t seed = 1; seed <= 6; seed++) {
        th_fuzz(&C.h, ranges, IXVM_ARRAY_SIZE(ranges), seed * 0x9e3779b97f4a7c15ull, 15000,
                fuzz_extra, NULL);
        outb(PCTL, 0x04);
        outb(PCTL, 0x00);
        outb(SCTL, 0x04);
        outb(SCTL, 0x00);
    }
    /* still works afterwards (the image may have been written: read only
     * checks the protocol) */
    pci_config_write(C.bus, 0, DEVFN, PCI_COMMAND, 5, 2);
    outb(BM, 0);
    outb(BM + 8, 0);
    uint8_t id[512];
    outb(PCTL, 0x00);
    identify(P, 0, id);
    cr_assert_eq(word(id, 0), 0x0040);
}
