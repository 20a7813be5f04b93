/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest against the whole board (docs/board.md): the machine pc.c
 * builds (chipset, PIC/PIT/RTC/UART, 8042, VGA, PIIX3 IDE with two disks
 * and a CD, fw_cfg, ACPI PM), driven without a CPU by seeded random port
 * and MMIO accesses plus structured attacks: bus-master IDE with random PRD
 * tables, ATAPI packets with absurd lengths, fw_cfg DMA descriptors pointing
 * anywhere, VBE modes and framebuffer writes, PCI config writes that move
 * or disable BARs, PS/2 input, and renders of whatever the VGA state is.
 * The process must not crash and, under ASan (make test-asan), must touch
 * no host memory outside its buffers and guest RAM.  Afterwards the machine
 * must still answer (fw_cfg signature, IDE status).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ixvm/cfg.h"
#include "ixvm/pc.h"
#include "ixvm/pci.h"
#include "ixvm/pgm.h"
#include "ixvm/ps2.h"
#include "ixvm/vga.h"

#define FZ_RAM (32u << 20)
#define FZ_BM_PORT 0xc000u          /* IDE BAR4 */
#define FZ_LFB 0xe0000000u          /* VGA BAR0 (16 MiB VRAM) */
#define FZ_VGA_MMIO 0xe1000000u     /* VGA BAR2 */
#define FZ_PM_PORT 0xb000u

struct fz {
    char rom[64], hda[64], hdb[64], iso[64];
    struct cfg *cfg;
    struct pc *pc;
    struct iom *iom;
    struct pgm *pgm;
    uint64_t st;
    unsigned renders;
    unsigned dma_done;        /* bus-master transfers that interrupted */
    unsigned atapi_words;     /* ATAPI PIO data words read */
};

static uint64_t fz_rand(struct fz *z)
{
    /* xorshift64*: reproducible from the seed on every host. */
    z->st ^= z->st >> 12;
    z->st ^= z->st << 25;
    z->st ^= z->st >> 27;
    return z->st * 0x2545f4914f6cdd1dull;
}

static void fz_file(const char *path, size_t size, struct fz *z, bool rom)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    uint8_t *buf = malloc(size);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < size; i++)
        buf[i] = rom ? 0xf4 : (uint8_t)fz_rand(z);
    if (rom) {
        const uint8_t jmp[] = { 0xea, 0x00, 0x00, 0x00, 0xf0 };
        memcpy(buf + size - 16, jmp, sizeof(jmp));
    }
    cr_assert_eq(fwrite(buf, 1, size, f), size);
    fclose(f);
    free(buf);
}

static void fz_out(struct fz *z, uint16_t port, uint32_t v, unsigned size) { (void)iom_out(z->iom, port, v, size); }

static uint32_t fz_in(struct fz *z, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    (void)iom_in(z->iom, port, size, &v);
    return v;
}

static void fz_pci_write(struct fz *z, uint8_t devfn, uint8_t off, uint32_t v, unsigned size)
{
    fz_out(z, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | (off & 0xfc), 4);
    fz_out(z, (uint16_t)(0xcfc + (off & 3)), v, size);
}

/* Put the BARs where a BIOS would, decoding and bus mastering on. */
static void fz_program_pci(struct fz *z)
{
    fz_pci_write(z, PCI_DEVFN(1, 1), 0x20, FZ_BM_PORT | 1, 4);
    fz_pci_write(z, PCI_DEVFN(1, 1), 0x04, 0x5, 2);
    fz_pci_write(z, PCI_DEVFN(2, 0), 0x10, FZ_LFB, 4);
    fz_pci_write(z, PCI_DEVFN(2, 0), 0x18, FZ_VGA_MMIO, 4);
    fz_pci_write(z, PCI_DEVFN(2, 0), 0x04, 0x2, 2);
    fz_pci_write(z, PCI_DEVFN(1, 3), 0x40, FZ_PM_PORT | 1, 4);
    fz_pci_write(z, PCI_DEVFN(1, 3), 0x80, 1, 1);
}

static void fz_setup(struct fz *z, uint64_t seed)
{
    memset(z, 0, sizeof(*z));
    z->st = seed | 1;
    int pid = (int)getpid();
    snprintf(z->rom, sizeof(z->rom), "/tmp/ixvm-fuzz-%d.rom", pid);
    snprintf(z->hda, sizeof(z->hda), "/tmp/ixvm-fuzz-%d-a.img", pid);
    snprintf(z->hdb, sizeof(z->hdb), "/tmp/ixvm-fuzz-%d-b.img", pid);
    snprintf(z->iso, sizeof(z->iso), "/tmp/ixvm-fuzz-%d.iso", pid);
    fz_file(z->rom, 0x10000, z, true);
    fz_file(z->hda, 1u << 20, z, false);
    fz_file(z->hdb, 256u << 10, z, false);
    fz_file(z->iso, 1u << 20, z, false);
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(cfg_create(&z->cfg), 0);
    const char *kv[][2] = { { "Memory/Size", "32M" }, { "IDE/Hda", z->hda }, { "IDE/Hdb", z->hdb },
                            { "IDE/Cdrom", z->iso }, { "VGA/Rom", "none" } };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        cr_assert_eq(cfg_set(z->cfg, kv[i][0], kv[i][1], &err), 0, "%s", err.msg);
    struct pc_options o = { .bios_path = z->rom, .no_reboot = true, .boot_fail_wait_ms = -1 };
    cr_assert_eq(pc_create(z->cfg, &o, &z->pc, &err), 0, "%s", err.msg);
    z->iom = pc_iom(z->pc);
    z->pgm = pc_pgm(z->pc);
    fz_program_pci(z);
}

static void fz_teardown(struct fz *z)
{
    pc_destroy(z->pc);
    cfg_destroy(z->cfg);
    unlink(z->rom);
    unlink(z->hda);
    unlink(z->hdb);
    unlink(z->iso);
}

/* A guest-physical address: mostly RAM, sometimes anywhere in 4 GiB. */
static gphys_t fz_addr(struct fz *z)
{
    uint64_t r = fz_rand(z);
    switch (r % 4) {
    case 0: return (gphys_t)(r >> 32);
    case 1: return (gphys_t)(FZ_RAM - 4096 + (r >> 40) % 8192);   /* straddling the end of RAM */
    default: return (gphys_t)((r >> 32) % FZ_RAM);
    }
}

static const struct {
    uint16_t base, count;
} fz_ports[] = {
    { 0x20, 2 },     { 0xa0, 2 },     { 0x4d0, 2 },   { 0x40, 4 },    { 0x61, 1 },   { 0x70, 4 },
    { 0x60, 1 },     { 0x64, 1 },     { 0x92, 1 },    { 0x1f0, 8 },   { 0x3f6, 1 },  { 0x170, 8 },
    { 0x376, 1 },    { FZ_BM_PORT, 16 }, { 0x3b0, 48 }, { 0x1ce, 3 }, { 0x510, 2 },  { 0x514, 8 },
    { 0xcf8, 8 },    { 0x3f8, 8 },    { 0x402, 1 },   { 0xe9, 1 },    { FZ_PM_PORT, 64 }, { 0xb2, 2 },
};

static void fz_port_op(struct fz *z)
{
    uint64_t r = fz_rand(z);
    unsigned k = (unsigned)(r % (sizeof(fz_ports) / sizeof(fz_ports[0])));
    uint16_t port = (uint16_t)(fz_ports[k].base + (r >> 8) % fz_ports[k].count);
    if ((r >> 24) % 64 == 0)
        port = (uint16_t)(r >> 32);            /* anywhere */
    unsigned size = 1u << ((r >> 40) % 3);
    if ((r >> 44) & 1)
        (void)fz_in(z, port, size);
    else
        fz_out(z, port, (uint32_t)fz_rand(z), size);
}

/* MMIO/RAM/ROM accesses: the VGA window, the LFB, BAR2, anywhere. */
static void fz_mmio_op(struct fz *z)
{
    uint64_t r = fz_rand(z);
    gphys_t pa;
    switch (r % 4) {
    case 0: pa = 0xa0000u + (gphys_t)((r >> 8) % 0x20000); break;
    case 1: pa = FZ_LFB + (gphys_t)((r >> 8) % (17u << 20)); break;
    case 2: pa = FZ_VGA_MMIO + (gphys_t)((r >> 8) % 0x1000); break;
    default: pa = (gphys_t)(r >> 32); break;
    }
    unsigned size = 1u << ((r >> 36) % 4);
    pa &= ~(gphys_t)(size - 1);                /* aligned: never crosses a page */
    if ((r >> 40) & 1) {
        (void)pgm_mmio_read(z->pgm, pa, size);
    } else if ((r >> 41) % 8 == 0) {
        uint8_t buf[300];
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)fz_rand(z);
        (void)pgm_phys_write(z->pgm, fz_addr(z), buf, (r >> 48) % sizeof(buf) + 1);
    } else {
        pgm_mmio_write(z->pgm, pa, fz_rand(z), size);
    }
}

/* Bus-master IDE: a random PRD table, a DMA command, the start bit. */
static void fz_ide_dma(struct fz *z)
{
    static const uint8_t cmds[] = { 0xc8, 0xca, 0x25, 0x35, 0xc9, 0xcb, 0xa0 };
    uint64_t r = fz_rand(z);
    unsigned ch = r & 1;
    uint16_t cmd = ch ? 0x170 : 0x1f0, bm = (uint16_t)(FZ_BM_PORT + 8 * ch);
    gphys_t prd = (gphys_t)((r >> 8) % 2 ? fz_addr(z) : (gphys_t)(0x10000 + ((r >> 9) % 64) * 64)) & ~3u;
    unsigned n = 1 + (unsigned)((r >> 16) % 6);
    for (unsigned i = 0; i < n; i++) {
        uint32_t d[2] = { (uint32_t)fz_addr(z), (uint32_t)fz_rand(z) & 0xffffu };
        if (i == n - 1 && (r >> 20) % 4)
            d[1] |= 0x80000000u;                /* EOT, mostly */
        (void)pgm_phys_write(z->pgm, prd + 8 * i, d, sizeof(d));
    }
    fz_out(z, bm, 0, 1);                            /* stop */
    fz_out(z, (uint16_t)(bm + 2), 0x06, 1);         /* clear error/interrupt */
    fz_out(z, (uint16_t)(bm + 4), (uint32_t)prd, 4);
    fz_out(z, (uint16_t)(cmd + 6), ((r >> 24) & 1) ? 0xf0 : 0xe0, 1);
    fz_out(z, (uint16_t)(cmd + 1), (r >> 25) & 1, 1);    /* features: ATAPI DMA bit */
    /* Mostly an in-range transfer (the disks are 1 MiB and 256 KiB). */
    bool sane = (r >> 33) % 4 != 0;
    for (unsigned i = 2; i <= 5; i++) {
        uint32_t v = (uint32_t)fz_rand(z);
        if (sane)
            v = i == 2 ? 1 + v % 16 : i == 3 ? v % 256 : 0;
        fz_out(z, (uint16_t)(cmd + i), v, 1);
    }
    fz_out(z, (uint16_t)(cmd + 7), cmds[(r >> 28) % sizeof(cmds)], 1);
    if (cmds[(r >> 28) % sizeof(cmds)] == 0xa0) {
        for (unsigned i = 0; i < 6; i++)
            fz_out(z, cmd, (uint32_t)fz_rand(z), 2);
    }
    fz_out(z, bm, 1 | (((r >> 32) & 1) << 3), 1);  /* start, random direction */
    if ((fz_in(z, (uint16_t)(bm + 2), 1) & 0x05) == 0x04)
        z->dma_done++;                              /* finished with an interrupt */
    (void)fz_in(z, (uint16_t)(cmd + 7), 1);
}

/* ATAPI packet on the CD (hdc) with absurd lengths, PIO data drained. */
static void fz_atapi(struct fz *z)
{
    static const uint8_t ops[] = { 0x28, 0xa8, 0xbe, 0x43, 0x46, 0x5a, 0x1a, 0x12, 0x03, 0x4a,
                                   0xbd, 0x25, 0x00, 0x1b, 0x1e, 0x2b, 0xbb, 0xff };
    uint64_t r = fz_rand(z);
    uint8_t pkt[12];
    for (unsigned i = 0; i < 12; i++)
        pkt[i] = (uint8_t)fz_rand(z);
    pkt[0] = ops[r % sizeof(ops)];
    if ((r >> 8) & 1)
        memset(pkt + 6, 0xff, 4);                   /* lengths of 0xffff / 0xffffffff */
    if ((r >> 9) & 1)
        memset(pkt + 2, 0, 4);                      /* LBA 0: a read that succeeds */
    static const uint16_t limits[] = { 0, 1, 2, 3, 0x800, 0xfffe, 0xffff, 0x1235 };
    uint16_t lim = limits[(r >> 12) % 8];
    fz_out(z, 0x176, 0xa0, 1);
    fz_out(z, 0x171, 0, 1);
    fz_out(z, 0x174, lim & 0xff, 1);
    fz_out(z, 0x175, lim >> 8, 1);
    fz_out(z, 0x177, 0xa0, 1);
    for (unsigned i = 0; i < 12; i += 2)
        fz_out(z, 0x170, (uint32_t)(pkt[i] | pkt[i + 1] << 8), 2);
    unsigned reads = (unsigned)((r >> 16) % 600);
    for (unsigned i = 0; i < reads && (fz_in(z, 0x376, 1) & 0x08); i++, z->atapi_words++)
        (void)fz_in(z, 0x170, (r >> 30) & 1 ? 4 : 2);
    (void)fz_in(z, 0x177, 1);
}

/* fw_cfg DMA: a descriptor (big-endian control, length, address) at a random
 * place, pointing anywhere, with absurd lengths. */
static void fz_fwcfg_dma(struct fz *z)
{
    uint64_t r = fz_rand(z);
    gphys_t desc = (r & 1) ? fz_addr(z) : (gphys_t)(0x20000 + ((r >> 1) % 256) * 16);
    uint32_t ctl = (uint32_t)fz_rand(z) & 0xffff001fu;
    if ((r >> 10) % 4 == 0)
        ctl = (uint32_t)(((r >> 12) % 0x30) << 16) | 0x8 | 0x2;   /* select a real item, read */
    uint32_t len = (r >> 20) % 4 == 0 ? 0xffffffffu : (uint32_t)((r >> 24) % 70000);
    uint64_t addr = fz_addr(z);
    uint8_t d[16];
    for (unsigned i = 0; i < 4; i++) {
        d[i] = (uint8_t)(ctl >> (24 - 8 * i));
        d[4 + i] = (uint8_t)(len >> (24 - 8 * i));
    }
    for (unsigned i = 0; i < 8; i++)
        d[8 + i] = (uint8_t)(addr >> (56 - 8 * i));
    (void)pgm_phys_write(z->pgm, desc, d, sizeof(d));
    uint32_t be = __builtin_bswap32((uint32_t)desc);
    fz_out(z, 0x514, 0, 4);
    fz_out(z, 0x518, be, 4);
}

/* PCI config writes: moving, sizing and disabling BARs of every function. */
static void fz_pci(struct fz *z)
{
    static const uint8_t devfns[] = { PCI_DEVFN(0, 0), PCI_DEVFN(1, 0), PCI_DEVFN(1, 1), PCI_DEVFN(1, 3),
                                      PCI_DEVFN(2, 0), PCI_DEVFN(3, 0) };
    uint64_t r = fz_rand(z);
    uint8_t devfn = devfns[r % sizeof(devfns)];
    uint8_t off = (r >> 8) % 3 ? (uint8_t)(0x04 + ((r >> 12) % 12) * 4) : (uint8_t)(r >> 16);
    uint32_t v = (r >> 24) % 3 == 0 ? 0xffffffffu : (uint32_t)fz_rand(z);
    fz_pci_write(z, devfn, off, v, 1u << ((r >> 40) % 3));
    if ((r >> 44) % 4 == 0) {
        fz_out(z, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | (off & 0xfc), 4);
        (void)fz_in(z, 0xcfc, 4);
    }
}

/* VBE: a random mode enabled, then framebuffer and bank writes. */
static void fz_vbe(struct fz *z)
{
    static const uint16_t bpps[] = { 4, 8, 15, 16, 24, 32, 0, 7 };
    uint64_t r = fz_rand(z);
    uint16_t regs[][2] = {
        { 4, 0 }, { 1, (uint16_t)((r >> 8) % 2600) }, { 2, (uint16_t)((r >> 20) % 2000) },
        { 3, bpps[(r >> 32) % 8] }, { 6, (uint16_t)fz_rand(z) }, { 8, (uint16_t)fz_rand(z) },
        { 9, (uint16_t)fz_rand(z) }, { 4, (uint16_t)(0x41 | ((r >> 40) & 0xa0)) }, { 5, (uint16_t)fz_rand(z) },
    };
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        fz_out(z, 0x1ce, regs[i][0], 2);
        fz_out(z, 0x1cf, regs[i][1], 2);
    }
    for (unsigned i = 0; i < 16; i++)
        pgm_mmio_write(z->pgm, 0xa0000u + (gphys_t)(fz_rand(z) % 0x10000), fz_rand(z), 1);
}

static void fz_render(struct fz *z)
{
    struct dev_ins *vga = pc_device(z->pc, "vga");
    struct vga_frame fr;
    cr_assert_eq(vga_render(vga, &fr), 0);
    if (fr.width && fr.height) {
        volatile uint8_t sink = fr.pixels[(size_t)(fr.height - 1) * fr.stride + fr.width * 4 - 1];
        (void)sink;
    }
    struct vga_text *t = malloc(sizeof(*t));
    cr_assert_not_null(t);
    if (vga_text_snapshot(vga, t) == 0) {
        char row[VGA_TEXT_MAX_COLS + 1];
        for (unsigned i = 0; i < t->rows; i++)
            vga_text_row_string(t, i, row, sizeof(row));
    }
    free(t);
    z->renders++;
}

static void fz_ps2(struct fz *z)
{
    struct dev_ins *kbc = pc_device(z->pc, "i8042");
    uint8_t b[6];
    for (unsigned i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)fz_rand(z);
    (void)ps2_kbd_put_scancodes(kbc, b, fz_rand(z) % sizeof(b));
    (void)ps2_mouse_event(kbc, (int32_t)fz_rand(z) % 500, (int32_t)fz_rand(z) % 500, (int32_t)fz_rand(z) % 3,
                          (uint8_t)fz_rand(z) & PS2_BTN_ALL);
    fz_out(z, 0x64, (uint32_t)fz_rand(z) & 0xff, 1);
    fz_out(z, 0x60, (uint32_t)fz_rand(z) & 0xff, 1);
}

static void fz_run(uint64_t seed, unsigned ops)
{
    struct fz z;
    fz_setup(&z, seed);
    for (unsigned i = 0; i < ops; i++) {
        uint64_t k = fz_rand(&z) % 64;
        if (k < 30)
            fz_port_op(&z);
        else if (k < 44)
            fz_mmio_op(&z);
        else if (k < 49)
            fz_ide_dma(&z);
        else if (k < 53)
            fz_atapi(&z);
        else if (k < 56)
            fz_fwcfg_dma(&z);
        else if (k < 59)
            fz_pci(&z);
        else if (k < 61)
            fz_vbe(&z);
        else if (k < 62)
            fz_ps2(&z);
        else if (k < 63 && i % 8 == 0)
            fz_render(&z);
        else if (k == 63)
            fz_program_pci(&z);
    }
    /* Still a machine: fw_cfg answers its signature, the IDE status reads. */
    fz_program_pci(&z);
    fz_out(&z, 0x510, FW_CFG_SIGNATURE, 2);
    char sig[5] = { 0 };
    for (unsigned i = 0; i < 4; i++)
        sig[i] = (char)fz_in(&z, 0x511, 1);
    cr_assert_str_eq(sig, "QEMU", "seed %llu", (unsigned long long)seed);
    fz_out(&z, 0xcf8, 0x80000000u | PCI_DEVFN(1, 1) << 8, 4);
    cr_assert_eq(fz_in(&z, 0xcfc, 4), 0x70108086u, "IDE function identity survives");
    cr_assert_gt(z.renders, 0);
    cr_assert_gt(z.dma_done, 10, "bus-master transfers completed: %u", z.dma_done);
    cr_assert_gt(z.atapi_words, 1000, "ATAPI data words: %u", z.atapi_words);
    cr_log_info("seed %llu: %u DMA transfers, %u ATAPI words, %u renders", (unsigned long long)seed,
                z.dma_done, z.atapi_words, z.renders);
    fz_teardown(&z);
}

Test(pc_fuzz, hostile_guest_seed_1, .timeout = 300) { fz_run(1, 50000); }
Test(pc_fuzz, hostile_guest_seed_2, .timeout = 300) { fz_run(0x5eed2024, 50000); }
