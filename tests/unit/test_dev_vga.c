/* SPDX-License-Identifier: MIT */
/*
 * VGA + Bochs VBE register-level tests (no CPU): register semantics,
 * memory read/write modes against hand-computed plane contents, chain-4
 * and odd/even, text / mode 13h / mode 12h / VBE rendering with exact
 * pixels, dirty rectangles, the PCI function (IDs, class, BAR sizing,
 * ROM), saved state, info, and a seeded fuzz.  The memory window and the
 * BARs are reached through a real PGM and PCI bus.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ixvm/pci.h"
#include "ixvm/pgm.h"
#include "ixvm/vga.h"
#include "test_dev_harness.h"

#define WIN 0xa0000u
#define LFB_ADDR 0xe0000000u
#define MMIO_ADDR 0xe1000000u
#define ROM_ADDR 0xe1010000u
#define VGA_DEVFN PCI_DEVFN(2, 0)

struct vt {
    struct th h;
    struct pgm *pgm;
    struct pci_bus *bus;
    struct dev_ins *ins;
};

static void vt_init_cfg(struct vt *t, const struct dev_cfg_kv *kv, size_t n)
{
    struct th *h = &t->h;
    memset(t, 0, sizeof(*t));
    cr_assert_eq(iom_create(&h->iom), 0);
    cr_assert_eq(tm_create(NULL, &h->tm), 0);
    cr_assert_eq(ssm_create(&h->ssm), 0);
    cr_assert_eq(dbgf_info_create(&h->dbgf), 0);
    cr_assert_eq(tm_ssm_register(h->tm, h->ssm), 0);
    cr_assert_eq(pgm_create(&t->pgm, 1u << 20, &h->err), 0, "%s", h->err.msg);
    struct dev_ctx ctx = { .iom = h->iom, .tm = h->tm, .ssm = h->ssm, .dbgf = h->dbgf, .pgm = t->pgm };
    cr_assert_eq(pdm_create(&ctx, &h->pdm, &h->err), 0, "%s", h->err.msg);
    cr_assert_eq(pci_bus_create(h->iom, t->pgm, &t->bus), 0);
    t->ins = th_create(h, &dev_vga, kv, n);
}

static void vt_init(struct vt *t)
{
    static const struct dev_cfg_kv kv[] = { { "rom", "none" } };
    vt_init_cfg(t, kv, 1);
}

static void vt_fini(struct vt *t)
{
    pdm_destroy(t->h.pdm);
    t->h.pdm = NULL;
    pci_bus_destroy(t->bus);
    th_fini(&t->h);
    pgm_destroy(t->pgm);
}

/* ---- register helpers ---------------------------------------------------- */

static void wr_idx(struct vt *t, uint16_t port, uint8_t idx, uint8_t val)
{
    th_outb(&t->h, port, idx);
    th_outb(&t->h, (uint16_t)(port + 1), val);
}
static uint8_t rd_idx(struct vt *t, uint16_t port, uint8_t idx)
{
    th_outb(&t->h, port, idx);
    return th_inb(&t->h, (uint16_t)(port + 1));
}
static void sr(struct vt *t, uint8_t i, uint8_t v) { wr_idx(t, 0x3c4, i, v); }
static void gr(struct vt *t, uint8_t i, uint8_t v) { wr_idx(t, 0x3ce, i, v); }
static void cr(struct vt *t, uint8_t i, uint8_t v) { wr_idx(t, 0x3d4, i, v); }
static void ar(struct vt *t, uint8_t i, uint8_t v)
{
    (void)th_inb(&t->h, 0x3da);
    th_outb(&t->h, 0x3c0, i);
    th_outb(&t->h, 0x3c0, v);
    th_outb(&t->h, 0x3c0, 0x20);
}
static void mem_w(struct vt *t, uint32_t pa, uint8_t v) { pgm_mmio_write(t->pgm, pa, v, 1); }
static uint8_t mem_r(struct vt *t, uint32_t pa) { return (uint8_t)pgm_mmio_read(t->pgm, pa, 1); }
static void vbe(struct vt *t, uint16_t idx, uint16_t val)
{
    th_out(&t->h, 0x1ce, idx, 2);
    th_out(&t->h, 0x1cf, val, 2);
}
static uint16_t vbe_rd(struct vt *t, uint16_t idx)
{
    th_out(&t->h, 0x1ce, idx, 2);
    return (uint16_t)th_in(&t->h, 0x1cf, 2);
}

/* Standard BIOS mode register sets (IBM VGA Technical Reference tables). */
struct vga_mode_regs {
    uint8_t misc, sr[5], cr[25], gr[9], ar[21];
};
static const struct vga_mode_regs mode13 = {
    0x63, { 0x03, 0x01, 0x0f, 0x00, 0x0e },
    { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x9c, 0x0e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff },
    { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x41, 0x00, 0x0f, 0x00, 0x00 },
};
static const struct vga_mode_regs mode12 = {
    0xe3, { 0x03, 0x01, 0x0f, 0x00, 0x06 },
    { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0xea, 0x0c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
      0x01, 0x00, 0x0f, 0x00, 0x00 },
};

static const struct vga_mode_regs mode04 = {
    0x63, { 0x03, 0x09, 0x03, 0x00, 0x02 },
    { 0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xa2, 0xff },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0f, 0x00, 0xff },
    { 0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
      0x01, 0x00, 0x03, 0x00, 0x00 },
};

static void set_mode(struct vt *t, const struct vga_mode_regs *m)
{
    th_outb(&t->h, 0x3c2, m->misc);
    for (uint8_t i = 0; i < 5; i++)
        sr(t, i, m->sr[i]);
    cr(t, 0x11, 0x00);          /* unprotect CR0-7 */
    for (uint8_t i = 0; i < 25; i++)
        cr(t, i, m->cr[i]);
    for (uint8_t i = 0; i < 9; i++)
        gr(t, i, m->gr[i]);
    (void)th_inb(&t->h, 0x3da);
    for (uint8_t i = 0; i < 21; i++) {
        th_outb(&t->h, 0x3c0, i);
        th_outb(&t->h, 0x3c0, m->ar[i]);
    }
    th_outb(&t->h, 0x3c0, 0x20);
}

static void dac_set(struct vt *t, uint8_t idx, uint8_t r, uint8_t g, uint8_t b)
{
    th_outb(&t->h, 0x3c8, idx);
    th_outb(&t->h, 0x3c9, r);
    th_outb(&t->h, 0x3c9, g);
    th_outb(&t->h, 0x3c9, b);
}

/* Plain planar access: no chain-4, no odd/even, 64 KiB at 0xA0000. */
static void planar(struct vt *t)
{
    sr(t, 4, 0x06);
    sr(t, 2, 0x0f);
    gr(t, 5, 0x00);
    gr(t, 6, 0x05);
    gr(t, 1, 0x00);
    gr(t, 3, 0x00);
    gr(t, 8, 0xff);
}

static uint8_t plane_byte(struct vt *t, unsigned plane, uint32_t off)
{
    gr(t, 4, (uint8_t)plane);
    uint8_t mode = rd_idx(t, 0x3ce, 5);
    gr(t, 5, mode & ~0x08);
    uint8_t v = mem_r(t, WIN + off);
    gr(t, 5, mode);
    return v;
}

static uint32_t px(const struct vga_frame *f, unsigned x, unsigned y)
{
    uint32_t v;
    memcpy(&v, f->pixels + (size_t)y * f->stride + x * 4u, 4);
    return v;
}
/* RGBA8888 bytes R, G, B, 0xff as a little-endian word. */
static uint32_t rgba(unsigned r, unsigned g, unsigned b)
{
    return r | g << 8 | b << 16 | 0xff000000u;
}

static void render(struct vt *t, struct vga_frame *f)
{
    cr_assert_eq(vga_render(t->ins, f), 0);
}

/* ---- registers -------------------------------------------------------------- */

Test(dev_vga, attribute_flipflop)
{
    struct vt t;
    vt_init(&t);
    (void)th_inb(&t.h, 0x3da);                  /* flip-flop to index */
    th_outb(&t.h, 0x3c0, 0x32);                 /* index 0x12 + PAS */
    cr_assert_eq(th_inb(&t.h, 0x3c0), 0x32);
    th_outb(&t.h, 0x3c0, 0x05);                 /* data */
    cr_assert_eq(th_inb(&t.h, 0x3c1), 0x05);
    th_outb(&t.h, 0x3c0, 0x33);                 /* back to an index write */
    cr_assert_eq(th_inb(&t.h, 0x3c0), 0x33);
    /* a status read in the middle resets the flip-flop: the next write is an index */
    (void)th_inb(&t.h, 0x3da);
    th_outb(&t.h, 0x3c0, 0x31);
    cr_assert_eq(th_inb(&t.h, 0x3c0), 0x31);
    th_outb(&t.h, 0x3c0, 0x07);
    cr_assert_eq(th_inb(&t.h, 0x3c1), 0x07);
    /* the 0x12 value written earlier is still there */
    (void)th_inb(&t.h, 0x3da);
    th_outb(&t.h, 0x3c0, 0x32);
    cr_assert_eq(th_inb(&t.h, 0x3c1), 0x05);
    vt_fini(&t);
}

Test(dev_vga, dac_autoincrement)
{
    struct vt t;
    vt_init(&t);
    th_outb(&t.h, 0x3c8, 5);
    static const uint8_t w[] = { 0x3f, 0x01, 0x22, 0xff, 0x40, 0x15 };
    for (unsigned i = 0; i < 6; i++)
        th_outb(&t.h, 0x3c9, w[i]);
    cr_assert_eq(th_inb(&t.h, 0x3c8), 7, "write index advanced by two entries");
    th_outb(&t.h, 0x3c7, 5);
    cr_assert_eq(th_inb(&t.h, 0x3c7) & 3, 3, "DAC state: read mode");
    static const uint8_t want[] = { 0x3f, 0x01, 0x22, 0x3f, 0x00, 0x15 };   /* 6-bit */
    for (unsigned i = 0; i < 6; i++)
        cr_assert_eq(th_inb(&t.h, 0x3c9), want[i], "component %u", i);
    th_outb(&t.h, 0x3c8, 0);
    cr_assert_eq(th_inb(&t.h, 0x3c7) & 3, 0, "DAC state: write mode");
    th_outb(&t.h, 0x3c6, 0x0f);
    cr_assert_eq(th_inb(&t.h, 0x3c6), 0x0f);
    vt_fini(&t);
}

Test(dev_vga, crtc_protect_and_port_pair)
{
    struct vt t;
    vt_init(&t);
    cr(&t, 0x11, 0x80);                         /* protect CR0-CR7 */
    cr(&t, 0x01, 0x12);
    cr_assert_eq(rd_idx(&t, 0x3d4, 0x01), 0x4f, "CR1 protected");
    uint8_t cr7 = rd_idx(&t, 0x3d4, 0x07);
    cr(&t, 0x07, 0xff);
    cr_assert_eq(rd_idx(&t, 0x3d4, 0x07), cr7 | 0x10, "only CR7 bit 4 is writable");
    cr(&t, 0x0c, 0x12);
    cr_assert_eq(rd_idx(&t, 0x3d4, 0x0c), 0x12, "CR0C is not protected");
    cr(&t, 0x11, 0x00);
    cr(&t, 0x01, 0x12);
    cr_assert_eq(rd_idx(&t, 0x3d4, 0x01), 0x12);
    /* misc bit 0 = 0: the CRTC moves to 0x3B4/5 */
    cr_assert_eq(th_inb(&t.h, 0x3cc), 0x67);
    th_outb(&t.h, 0x3c2, 0x66);
    cr_assert_eq(th_inb(&t.h, 0x3d5), 0xff);
    wr_idx(&t, 0x3b4, 0x0d, 0x34);
    cr_assert_eq(rd_idx(&t, 0x3b4, 0x0d), 0x34);
    th_outb(&t.h, 0x3c2, 0x67);
    cr_assert_eq(rd_idx(&t, 0x3d4, 0x0d), 0x34);
    cr_assert_eq(th_inb(&t.h, 0x3ba), 0xff, "mono status port inactive in colour mode");
    /* sequencer / graphics masks */
    sr(&t, 0x02, 0xff);
    cr_assert_eq(rd_idx(&t, 0x3c4, 0x02), 0x0f);
    gr(&t, 0x08, 0x5a);
    cr_assert_eq(rd_idx(&t, 0x3ce, 0x08), 0x5a);
    vt_fini(&t);
}

Test(dev_vga, retrace_toggles)
{
    struct vt t;
    vt_init(&t);
    /* with a running clock: both states within two frames */
    unsigned seen_vr = 0, seen_disp = 0;
    for (unsigned i = 0; i < 400; i++) {
        uint8_t v = th_inb(&t.h, 0x3da);
        seen_vr |= 1u << ((v >> 3) & 1);
        seen_disp |= 1u << (v & 1);
        th_advance(&t.h, 100000);
    }
    cr_assert_eq(seen_vr, 3, "vertical retrace bit must toggle");
    cr_assert_eq(seen_disp, 3, "display-enable bit must toggle");
    /* with a stopped clock a polling loop still gets out (SeaBIOS, Linux) */
    unsigned n = 0;
    while (!(th_inb(&t.h, 0x3da) & 8) && n < 100000)
        n++;
    cr_assert_lt(n, 100000u);
    while ((th_inb(&t.h, 0x3da) & 8) && n < 200000)
        n++;
    cr_assert_lt(n, 200000u);
    vt_fini(&t);
}

/* ---- memory modes ------------------------------------------------------------ */

Test(dev_vga, write_mode0_setreset_rotate_function)
{
    struct vt t;
    vt_init(&t);
    planar(&t);
    /* set/reset on planes 0 and 2 (enable 0x5, value 0x1): planes 0 <- ff, 2 <- 00;
     * planes 1, 3 take the CPU byte */
    gr(&t, 1, 0x05);
    gr(&t, 0, 0x01);
    mem_w(&t, WIN + 0x10, 0x3c);
    cr_assert_eq(plane_byte(&t, 0, 0x10), 0xff);
    cr_assert_eq(plane_byte(&t, 1, 0x10), 0x3c);
    cr_assert_eq(plane_byte(&t, 2, 0x10), 0x00);
    cr_assert_eq(plane_byte(&t, 3, 0x10), 0x3c);
    /* rotate right by 2 and XOR with the latches (loaded by a read) */
    gr(&t, 1, 0x00);
    gr(&t, 3, (3 << 3) | 2);
    (void)mem_r(&t, WIN + 0x10);                /* latches: ff 3c 00 3c */
    mem_w(&t, WIN + 0x10, 0x0f);                /* ror 2 -> 0xc3 */
    cr_assert_eq(plane_byte(&t, 0, 0x10), 0xff ^ 0xc3);
    cr_assert_eq(plane_byte(&t, 1, 0x10), 0x3c ^ 0xc3);
    cr_assert_eq(plane_byte(&t, 2, 0x10), 0x00 ^ 0xc3);
    cr_assert_eq(plane_byte(&t, 3, 0x10), 0x3c ^ 0xc3);
    /* bit mask: only the high nibble comes from the ALU (AND), the rest from the latches */
    gr(&t, 3, 1 << 3);
    gr(&t, 8, 0xf0);
    (void)mem_r(&t, WIN + 0x10);                /* latches: 3c ff c3 ff */
    mem_w(&t, WIN + 0x10, 0x99);
    cr_assert_eq(plane_byte(&t, 0, 0x10), (0x3c & 0x99 & 0xf0) | (0x3c & 0x0f));
    cr_assert_eq(plane_byte(&t, 1, 0x10), (0xff & 0x99 & 0xf0) | 0x0f);
    /* map mask: plane 1 only */
    gr(&t, 3, 0);
    gr(&t, 8, 0xff);
    sr(&t, 2, 0x02);
    mem_w(&t, WIN + 0x20, 0xa5);
    sr(&t, 2, 0x0f);
    cr_assert_eq(plane_byte(&t, 0, 0x20), 0x00);
    cr_assert_eq(plane_byte(&t, 1, 0x20), 0xa5);
    cr_assert_eq(plane_byte(&t, 2, 0x20), 0x00);
    vt_fini(&t);
}

Test(dev_vga, write_modes_1_2_3_and_read_mode1)
{
    struct vt t;
    vt_init(&t);
    planar(&t);
    /* mode 2: CPU bits 0-3 are plane colours, bit mask 0x81 */
    gr(&t, 5, 0x02);
    gr(&t, 8, 0x81);
    (void)mem_r(&t, WIN + 0x40);                /* latches 0 */
    mem_w(&t, WIN + 0x40, 0x0a);                /* colour 10: planes 1 and 3 */
    gr(&t, 5, 0x00);
    gr(&t, 8, 0xff);
    cr_assert_eq(plane_byte(&t, 0, 0x40), 0x00);
    cr_assert_eq(plane_byte(&t, 1, 0x40), 0x81);
    cr_assert_eq(plane_byte(&t, 2, 0x40), 0x00);
    cr_assert_eq(plane_byte(&t, 3, 0x40), 0x81);
    /* mode 1: latch copy from 0x40 to 0x41 */
    gr(&t, 5, 0x01);
    (void)mem_r(&t, WIN + 0x40);
    mem_w(&t, WIN + 0x41, 0x00);
    gr(&t, 5, 0x00);
    for (unsigned p = 0; p < 4; p++)
        cr_assert_eq(plane_byte(&t, p, 0x41), plane_byte(&t, p, 0x40), "plane %u", p);
    /* mode 3: set/reset colour 0x5 through (bit mask & CPU byte) = 0xff & 0x3c */
    gr(&t, 5, 0x03);
    gr(&t, 0, 0x05);
    (void)mem_r(&t, WIN + 0x40);                /* latches: 81 on planes 1, 3 */
    mem_w(&t, WIN + 0x40, 0x3c);
    gr(&t, 5, 0x00);
    cr_assert_eq(plane_byte(&t, 0, 0x40), 0x3c);
    cr_assert_eq(plane_byte(&t, 1, 0x40), 0x81 & ~0x3c);
    cr_assert_eq(plane_byte(&t, 2, 0x40), 0x3c);
    cr_assert_eq(plane_byte(&t, 3, 0x40), 0x81 & ~0x3c);
    /* read mode 1: pixels of colour 5 (planes 0 and 2 set, 1 and 3 clear) */
    gr(&t, 2, 0x05);
    gr(&t, 7, 0x0f);
    gr(&t, 5, 0x08);
    cr_assert_eq(mem_r(&t, WIN + 0x40), 0x3c);
    gr(&t, 7, 0x00);                            /* colour don't care: all match */
    cr_assert_eq(mem_r(&t, WIN + 0x40), 0xff);
    vt_fini(&t);
}

Test(dev_vga, chain4_and_odd_even)
{
    struct vt t;
    vt_init(&t);
    /* chain-4: A0-A1 select the plane, the plane offset keeps the other bits */
    gr(&t, 6, 0x05);
    sr(&t, 4, 0x0e);
    sr(&t, 2, 0x0f);
    for (uint8_t i = 0; i < 8; i++)
        mem_w(&t, WIN + i, (uint8_t)(i + 1));
    for (uint8_t i = 0; i < 8; i++)
        cr_assert_eq(mem_r(&t, WIN + i), i + 1, "chain-4 read back %u", i);
    sr(&t, 4, 0x06);
    gr(&t, 5, 0x00);
    cr_assert_eq(plane_byte(&t, 0, 0), 1);
    cr_assert_eq(plane_byte(&t, 1, 0), 2);
    cr_assert_eq(plane_byte(&t, 3, 0), 4);
    cr_assert_eq(plane_byte(&t, 0, 4), 5);
    cr_assert_eq(plane_byte(&t, 2, 4), 7);
    cr_assert_eq(plane_byte(&t, 0, 1), 0);
    /* odd/even (the power-on mode 3): even bytes to plane 0, odd to plane 1 */
    sr(&t, 4, 0x02);
    gr(&t, 5, 0x10);
    gr(&t, 6, 0x0e);
    sr(&t, 2, 0x03);
    mem_w(&t, 0xb8000, 'A');
    mem_w(&t, 0xb8001, 0x1f);
    mem_w(&t, 0xb8002, 'B');
    cr_assert_eq(mem_r(&t, 0xb8001), 0x1f);
    cr_assert_eq(mem_r(&t, WIN), 0xff, "0xA0000 is outside the B8000 window");
    sr(&t, 4, 0x06);
    gr(&t, 5, 0x00);
    gr(&t, 6, 0x05);
    cr_assert_eq(plane_byte(&t, 0, 0), 'A');
    cr_assert_eq(plane_byte(&t, 1, 0), 0x1f);
    cr_assert_eq(plane_byte(&t, 0, 2), 'B');
    vt_fini(&t);
}

/* ---- text rendering ------------------------------------------------------------- */

/* Load glyphs into plane 2 as the VGA BIOS does, then back to mode 3 access. */
static void load_glyph(struct vt *t, uint8_t ch, const uint8_t rows[16])
{
    sr(t, 2, 0x04);
    sr(t, 4, 0x07);
    gr(t, 4, 0x02);
    gr(t, 5, 0x00);
    gr(t, 6, 0x04);
    for (unsigned r = 0; r < 16; r++)
        mem_w(t, WIN + ch * 32u + r, rows[r]);
    sr(t, 2, 0x03);
    sr(t, 4, 0x02);
    gr(t, 4, 0x00);
    gr(t, 5, 0x10);
    gr(t, 6, 0x0e);
}

static const uint8_t glyph_a[16] = { 0x80, 0x01, 0xff, 0x00, 0xf0, 0x0f, 0xaa, 0x55,
                                     0x80, 0x01, 0xff, 0x00, 0xf0, 0x0f, 0xaa, 0x55 };

Test(dev_vga, text_render_cells_cursor_dirty)
{
    struct vt t;
    vt_init(&t);
    load_glyph(&t, 'A', glyph_a);
    load_glyph(&t, 0xc4, glyph_a);
    mem_w(&t, 0xb8000, 'A');
    mem_w(&t, 0xb8001, 0x1e);                   /* yellow on blue */
    mem_w(&t, 0xb8002, 0xc4);
    mem_w(&t, 0xb8003, 0x1e);
    cr(&t, 0x0a, 0x0e);                         /* cursor lines 14-15 at cell 5 of row 1 */
    cr(&t, 0x0b, 0x0f);
    cr(&t, 0x0e, 0x00);
    cr(&t, 0x0f, 85);
    struct vga_frame f;
    render(&t, &f);
    cr_assert_eq(f.width, 720);
    cr_assert_eq(f.height, 400);
    cr_assert_eq(f.dirty.w, 720);
    const uint32_t yellow = rgba(0xff, 0xff, 0x55), blue = rgba(0, 0, 0xaa), black = rgba(0, 0, 0);
    const uint32_t grey = rgba(0xaa, 0xaa, 0xaa);
    for (unsigned y = 0; y < 16; y++) {
        for (unsigned x = 0; x < 8; x++) {
            bool on = (glyph_a[y] >> (7 - x)) & 1;
            cr_assert_eq(px(&f, x, y), on ? yellow : blue, "pixel %u,%u", x, y);
        }
        cr_assert_eq(px(&f, 8, y), blue, "9th column of 'A' is background");
        /* 0xC4 with line graphics (AR10 bit 2): the 9th column repeats the 8th */
        bool on8 = glyph_a[y] & 1;
        cr_assert_eq(px(&f, 9 + 8, y), on8 ? yellow : blue, "9th column of 0xC4, row %u", y);
    }
    /* empty cell with attribute 0: black; the cursor cell (row 1, col 5) has
     * lines 14 and 15 in the foreground colour (attr 0 -> black fg!) */
    cr_assert_eq(px(&f, 30, 5), black);
    mem_w(&t, 0xb8000 + 2 * 85 + 1, 0x07);
    render(&t, &f);
    cr_assert_eq(f.dirty.x, 45);
    cr_assert_eq(f.dirty.y, 16);
    cr_assert_eq(f.dirty.w, 9);
    cr_assert_eq(f.dirty.h, 16);
    cr_assert_eq(px(&f, 45, 16 + 14), grey, "cursor line");
    cr_assert_eq(px(&f, 53, 16 + 15), grey, "cursor line, 9th column");
    cr_assert_eq(px(&f, 45, 16 + 13), black, "above the cursor");
    /* nothing changed: empty dirty rectangle */
    render(&t, &f);
    cr_assert_eq(f.dirty.w, 0);
    /* cursor blink: after 16 frames (~229 ms) the cursor line is gone */
    th_advance(&t.h, 16ull * 14286000ull);
    render(&t, &f);
    cr_assert_eq(f.dirty.w, 9);
    cr_assert_eq(px(&f, 45, 16 + 14), black);
    /* text snapshot */
    struct vga_text txt;
    cr_assert_eq(vga_text_snapshot(t.ins, &txt), 0);
    cr_assert_eq(txt.cols, 80);
    cr_assert_eq(txt.rows, 25);
    cr_assert_eq(txt.cells[0], 0x1e00 | 'A');
    cr_assert_eq(txt.cursor_row, 1);
    cr_assert_eq(txt.cursor_col, 5);
    cr_assert(txt.cursor_visible);
    char line[81];
    cr_assert_eq(vga_text_row_string(&txt, 0, line, sizeof(line)), 2);
    cr_assert_str_eq(line, "A.");
    vt_fini(&t);
}

Test(dev_vga, text_blink_and_font_select)
{
    struct vt t;
    vt_init(&t);
    static const uint8_t full[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    load_glyph(&t, 'X', full);
    mem_w(&t, 0xb8000, 'X');
    mem_w(&t, 0xb8001, 0x9c);                   /* blinking light red on blue */
    mem_w(&t, 0xb8002, 'X');
    mem_w(&t, 0xb8003, 0x1c);
    mem_w(&t, 0xb8004, 'X');
    mem_w(&t, 0xb8005, 0x14);                   /* red on blue, attribute bit 3 clear */
    struct vga_frame f;
    render(&t, &f);
    const uint32_t lred = rgba(0xff, 0x55, 0x55), blue = rgba(0, 0, 0xaa);
    cr_assert_eq(px(&f, 3, 3), lred);
    th_advance(&t.h, 32ull * 14286000ull);      /* blink phase off */
    render(&t, &f);
    cr_assert_eq(px(&f, 3, 3), blue, "blinking text hidden");
    cr_assert_eq(px(&f, 12, 3), lred, "non-blinking text stays");
    /* blink disabled (AR10 bit 3): bit 7 becomes background intensity */
    ar(&t, 0x10, 0x04);
    render(&t, &f);
    cr_assert_eq(px(&f, 3, 3), lred);
    cr_assert_eq(f.dirty.w, 720, "attribute change redraws everything");
    /* character map B at 8 KiB (SR03 = 0x04 selects map A = 1 at 16 KiB for
     * attribute bit 3 = 1; map B = 0 for bit 3 = 0) */
    sr(&t, 0x03, 0x04);
    render(&t, &f);
    cr_assert_eq(px(&f, 3, 3), rgba(0x55, 0x55, 0xff), "attr bit 3 set: empty map A, bright bg 9");
    cr_assert_eq(px(&f, 12, 3), blue, "attr bit 3 set: empty map A");
    cr_assert_eq(px(&f, 21, 3), rgba(0xaa, 0, 0), "attr bit 3 clear: map B (the glyph)");
    vt_fini(&t);
}

/* ---- graphics ----------------------------------------------------------------- */

Test(dev_vga, mode13h_render_and_dirty)
{
    struct vt t;
    vt_init(&t);
    set_mode(&t, &mode13);
    dac_set(&t, 1, 0x3f, 0x00, 0x00);
    dac_set(&t, 2, 0x00, 0x20, 0x3f);
    mem_w(&t, WIN + 0, 1);
    mem_w(&t, WIN + 319, 2);
    mem_w(&t, WIN + 320 * 199 + 5, 2);
    struct vga_frame f;
    render(&t, &f);
    cr_assert_eq(f.width, 320);
    cr_assert_eq(f.height, 200);
    struct vga_mode_info mi;
    vga_mode_info(t.ins, &mi);
    cr_assert_eq(mi.kind, VGA_MODE_GFX);
    cr_assert_eq(mi.bpp, 8);
    cr_assert_eq(px(&f, 0, 0), rgba(0xff, 0, 0));
    cr_assert_eq(px(&f, 319, 0), rgba(0, 0x82, 0xff));
    cr_assert_eq(px(&f, 5, 199), rgba(0, 0x82, 0xff));
    cr_assert_eq(px(&f, 1, 0), rgba(0, 0, 0));
    render(&t, &f);
    cr_assert_eq(f.dirty.w, 0);
    mem_w(&t, WIN + 320 * 100 + 7, 1);
    render(&t, &f);
    /* one 4 KiB page of interleaved VRAM is 1 KiB per plane: 3.2 rows of 13h */
    cr_assert_leq(f.dirty.y, 100);
    cr_assert_gt(f.dirty.y + f.dirty.h, 100);
    cr_assert_leq(f.dirty.h, 5);
    cr_assert_eq(f.dirty.w, 320);
    cr_assert_eq(px(&f, 7, 100), rgba(0xff, 0, 0));
    /* palette change: full redraw with the new colour */
    dac_set(&t, 1, 0x00, 0x3f, 0x00);
    render(&t, &f);
    cr_assert_eq(f.dirty.h, 200);
    cr_assert_eq(px(&f, 0, 0), rgba(0, 0xff, 0));
    /* start address (CR0C/0D) scrolls by 4 pixels per unit in dword mode */
    cr(&t, 0x0d, 80);                           /* 80 dwords = one row */
    render(&t, &f);
    cr_assert_eq(px(&f, 7, 99), rgba(0, 0xff, 0));
    vt_fini(&t);
}

Test(dev_vga, mode12h_planar_render)
{
    struct vt t;
    vt_init(&t);
    set_mode(&t, &mode12);
    /* write mode 2: colour 12 (light red) to pixels 0 and 7, colour 9 to pixel 8 */
    gr(&t, 5, 0x02);
    gr(&t, 8, 0x81);
    (void)mem_r(&t, WIN);
    mem_w(&t, WIN, 12);
    gr(&t, 8, 0x80);
    (void)mem_r(&t, WIN + 1);
    mem_w(&t, WIN + 1, 9);
    gr(&t, 8, 0xff);
    (void)mem_r(&t, WIN + 80 * 479);
    mem_w(&t, WIN + 80 * 479, 14);
    struct vga_frame f;
    render(&t, &f);
    cr_assert_eq(f.width, 640);
    cr_assert_eq(f.height, 480);
    cr_assert_eq(px(&f, 0, 0), rgba(0xff, 0x55, 0x55));
    cr_assert_eq(px(&f, 7, 0), rgba(0xff, 0x55, 0x55));
    cr_assert_eq(px(&f, 1, 0), rgba(0, 0, 0));
    cr_assert_eq(px(&f, 8, 0), rgba(0x55, 0x55, 0xff));
    cr_assert_eq(px(&f, 3, 479), rgba(0xff, 0xff, 0x55));
    /* colour plane enable (AR12) masks plane 3 out: 12 -> 4 (red) */
    ar(&t, 0x12, 0x07);
    render(&t, &f);
    cr_assert_eq(px(&f, 0, 0), rgba(0xaa, 0, 0));
    /* screen off (SR01 bit 5) blanks */
    sr(&t, 1, 0x21);
    render(&t, &f);
    struct vga_mode_info mi;
    vga_mode_info(t.ins, &mi);
    cr_assert_eq(mi.kind, VGA_MODE_BLANK);
    cr_assert_eq(px(&f, 0, 0), rgba(0, 0, 0));
    vt_fini(&t);
}

Test(dev_vga, mode04_cga_interleaved)
{
    struct vt t;
    vt_init(&t);
    set_mode(&t, &mode04);
    mem_w(&t, 0xb8000, 0x1b);                   /* pixels 0-3: colours 0 1 2 3 */
    mem_w(&t, 0xb8001, 0xc0);                   /* pixels 4-7: 3 0 0 0 */
    mem_w(&t, 0xb8000 + 0x2000, 0x40);          /* odd lines live at +8 KiB */
    mem_w(&t, 0xb8000 + 80, 0x80);              /* line 2 */
    struct vga_frame f;
    render(&t, &f);
    cr_assert_eq(f.width, 320);
    cr_assert_eq(f.height, 200);
    const uint32_t c1 = rgba(0, 0xff, 0xaa), c2 = rgba(0xaa, 0x55, 0xaa), c3 = rgba(0xaa, 0xff, 0xaa);
    cr_assert_eq(px(&f, 0, 0), rgba(0, 0, 0));
    cr_assert_eq(px(&f, 1, 0), c1);
    cr_assert_eq(px(&f, 2, 0), c2);
    cr_assert_eq(px(&f, 3, 0), c3);
    cr_assert_eq(px(&f, 4, 0), c3);
    cr_assert_eq(px(&f, 5, 0), rgba(0, 0, 0));
    cr_assert_eq(px(&f, 0, 1), c1);
    cr_assert_eq(px(&f, 0, 2), c2);
    cr_assert_eq(px(&f, 1, 1), rgba(0, 0, 0));
    vt_fini(&t);
}

/* ---- VBE + PCI ------------------------------------------------------------------ */

static void pci_map(struct vt *t)
{
    cr_assert_eq(vga_pci_attach(t->ins, t->bus, VGA_DEVFN, &t->h.err), 0, "%s", t->h.err.msg);
    pci_config_write(t->bus, 0, VGA_DEVFN, 0x10, LFB_ADDR, 4);
    pci_config_write(t->bus, 0, VGA_DEVFN, 0x18, MMIO_ADDR, 4);
    pci_config_write(t->bus, 0, VGA_DEVFN, 0x30, ROM_ADDR | 1, 4);
    pci_config_write(t->bus, 0, VGA_DEVFN, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
}

static void vbe_set(struct vt *t, uint16_t w, uint16_t h, uint16_t bpp)
{
    vbe(t, 4, 0);
    vbe(t, 1, w);
    vbe(t, 2, h);
    vbe(t, 3, bpp);
    vbe(t, 4, 0x41);                            /* enabled + LFB */
}

Test(dev_vga, vbe_id_caps_and_registers)
{
    struct vt t;
    vt_init(&t);
    cr_assert_eq(vbe_rd(&t, 0), 0xb0c0);
    vbe(&t, 0, 0xb0c5);
    cr_assert_eq(vbe_rd(&t, 0), 0xb0c5);
    vbe(&t, 0, 0x1234);
    cr_assert_eq(vbe_rd(&t, 0), 0xb0c5, "bad ID ignored");
    cr_assert_eq(vbe_rd(&t, 10), 256, "16 MiB in 64 KiB units");
    vbe(&t, 4, 0x02);                           /* GETCAPS */
    cr_assert_eq(vbe_rd(&t, 1), 16000);
    cr_assert_eq(vbe_rd(&t, 2), 12000);
    cr_assert_eq(vbe_rd(&t, 3), 32);
    vbe(&t, 4, 0x00);
    vbe(&t, 3, 17);
    cr_assert_eq(vbe_rd(&t, 3), 8, "invalid BPP ignored");
    vbe_set(&t, 800, 600, 16);
    cr_assert_eq(vbe_rd(&t, 6), 800);
    cr_assert_eq(vbe_rd(&t, 7), (16u << 20) / 1600u);
    vbe(&t, 1, 640);
    cr_assert_eq(vbe_rd(&t, 1), 800, "XRES is fixed while enabled");
    /* a mode that does not fit VRAM is refused */
    vbe(&t, 4, 0);
    vbe(&t, 1, 4096);
    vbe(&t, 2, 4096);
    vbe(&t, 3, 32);
    vbe(&t, 4, 0x41);
    cr_assert_eq(vbe_rd(&t, 4) & 1, 0);
    /* the 0x1D0 data alias */
    th_out(&t.h, 0x1ce, 1, 2);
    th_out(&t.h, 0x1d0, 1024, 2);
    cr_assert_eq(vbe_rd(&t, 1), 1024);
    vt_fini(&t);
}

Test(dev_vga, vbe_lfb_32bpp_and_banked)
{
    struct vt t;
    vt_init(&t);
    pci_map(&t);
    vbe_set(&t, 1024, 768, 32);
    struct vga_mode_info mi;
    vga_mode_info(t.ins, &mi);
    cr_assert_eq(mi.kind, VGA_MODE_VBE);
    pgm_mmio_write(t.pgm, LFB_ADDR, 0x00112233, 4);                   /* (0,0) */
    pgm_mmio_write(t.pgm, LFB_ADDR + 4 * 1023, 0x00ff0000, 4);        /* (1023,0) red */
    pgm_mmio_write(t.pgm, LFB_ADDR + 4096 * 767 + 4 * 5, 0x0000ff00, 4);
    cr_assert_eq(pgm_mmio_read(t.pgm, LFB_ADDR, 4), 0x00112233);
    struct vga_frame f;
    render(&t, &f);
    cr_assert_eq(f.width, 1024);
    cr_assert_eq(f.height, 768);
    cr_assert_eq(f.stride, 4096);
    cr_assert_eq(f.pixels[0], 0x11);
    cr_assert_eq(f.pixels[1], 0x22);
    cr_assert_eq(f.pixels[2], 0x33);
    cr_assert_eq(f.pixels[3], 0xff);
    cr_assert_eq(px(&f, 1023, 0), rgba(0xff, 0, 0));
    cr_assert_eq(px(&f, 5, 767), rgba(0, 0xff, 0));
    /* dirty: one pixel on line 300 */
    render(&t, &f);
    cr_assert_eq(f.dirty.w, 0);
    pgm_mmio_write(t.pgm, LFB_ADDR + 4096 * 300 + 40, 0x000000ff, 4);
    render(&t, &f);
    cr_assert_eq(f.dirty.y, 300);
    cr_assert_eq(f.dirty.h, 1);
    cr_assert_eq(px(&f, 10, 300), rgba(0, 0, 0xff));
    /* banked window: bank 3 at 0xA0000 is VRAM 0x30000 = line 48 */
    vbe(&t, 5, 3);
    pgm_mmio_write(t.pgm, WIN + 8, 0x00abcdef, 4);
    cr_assert_eq(pgm_mmio_read(t.pgm, LFB_ADDR + 0x30008, 4), 0x00abcdef);
    render(&t, &f);
    cr_assert_eq(f.dirty.y, 48);
    cr_assert_eq(px(&f, 2, 48), rgba(0xab, 0xcd, 0xef));
    /* y offset pans by lines */
    vbe(&t, 9, 48);
    render(&t, &f);
    cr_assert_eq(px(&f, 2, 0), rgba(0xab, 0xcd, 0xef));
    vt_fini(&t);
}

Test(dev_vga, vbe_lfb_16_15_8bpp)
{
    struct vt t;
    vt_init(&t);
    pci_map(&t);
    vbe_set(&t, 640, 480, 16);
    pgm_mmio_write(t.pgm, LFB_ADDR + 0, 0xf800, 2);
    pgm_mmio_write(t.pgm, LFB_ADDR + 2, 0x07e0, 2);
    pgm_mmio_write(t.pgm, LFB_ADDR + 4, 0x001f, 2);
    pgm_mmio_write(t.pgm, LFB_ADDR + 1280 + 6, 0x8410, 2);
    struct vga_frame f;
    render(&t, &f);
    cr_assert_eq(f.width, 640);
    cr_assert_eq(px(&f, 0, 0), rgba(0xff, 0, 0));
    cr_assert_eq(px(&f, 1, 0), rgba(0, 0xff, 0));
    cr_assert_eq(px(&f, 2, 0), rgba(0, 0, 0xff));
    cr_assert_eq(px(&f, 3, 1), rgba(0x84, 0x82, 0x84));
    /* 15 bpp: 0x7c00 red, 0x4210 = (16,16,16) */
    vbe_set(&t, 640, 480, 15);
    pgm_mmio_write(t.pgm, LFB_ADDR + 0, 0x7c00, 2);
    pgm_mmio_write(t.pgm, LFB_ADDR + 2, 0x4210, 2);
    render(&t, &f);
    cr_assert_eq(px(&f, 0, 0), rgba(0xff, 0, 0));
    cr_assert_eq(px(&f, 1, 0), rgba(0x84, 0x84, 0x84));
    /* 8 bpp through the DAC, 8-bit DAC mode */
    vbe(&t, 4, 0);
    vbe(&t, 3, 8);
    vbe(&t, 4, 0x61);
    dac_set(&t, 7, 0x12, 0x34, 0x56);
    pgm_mmio_write(t.pgm, LFB_ADDR + 100, 7, 1);
    render(&t, &f);
    cr_assert_eq(px(&f, 100, 0), rgba(0x12, 0x34, 0x56));
    /* 24 bpp */
    vbe_set(&t, 320, 200, 24);
    pgm_mmio_write(t.pgm, LFB_ADDR + 3, 0x112233, 4);
    render(&t, &f);
    cr_assert_eq(px(&f, 1, 0), rgba(0x11, 0x22, 0x33));
    vt_fini(&t);
}

Test(dev_vga, vbe_4bpp_planar)
{
    struct vt t;
    vt_init(&t);
    set_mode(&t, &mode12);                      /* SeaBIOS sets the VGA side to planar first */
    vbe_set(&t, 800, 600, 4);
    cr_assert_eq(vbe_rd(&t, 4) & 1, 1);
    gr(&t, 5, 0x02);
    gr(&t, 8, 0x80);
    (void)mem_r(&t, WIN + 100);                 /* line 1 starts at plane byte 800 / 8 */
    mem_w(&t, WIN + 100, 12);
    gr(&t, 8, 0x01);
    (void)mem_r(&t, WIN + 100 * 599 + 99);
    mem_w(&t, WIN + 100 * 599 + 99, 9);
    struct vga_frame f;
    render(&t, &f);
    cr_assert_eq(f.width, 800);
    cr_assert_eq(f.height, 600);
    cr_assert_eq(px(&f, 0, 1), rgba(0xff, 0x55, 0x55));
    cr_assert_eq(px(&f, 1, 1), rgba(0, 0, 0));
    cr_assert_eq(px(&f, 799, 599), rgba(0x55, 0x55, 0xff));
    vt_fini(&t);
}

Test(dev_vga, pci_config_bars_rom)
{
    static const struct dev_cfg_kv kv[] = { { "rom", VGA_DEFAULT_ROM }, { "vram", "0x800000" } };
    FILE *rf = fopen(VGA_DEFAULT_ROM, "rb");
    cr_assert_not_null(rf, "this test needs Debian's seabios package (%s)", VGA_DEFAULT_ROM);
    fseek(rf, 0, SEEK_END);
    long rom_len = ftell(rf);
    fclose(rf);
    struct vt t;
    vt_init_cfg(&t, kv, 2);
    pci_map(&t);
    uint8_t d = VGA_DEVFN;
    cr_assert_eq(pci_config_read(t.bus, 0, d, 0x00, 2), 0x1234);
    cr_assert_eq(pci_config_read(t.bus, 0, d, 0x02, 2), 0x1111);
    cr_assert_eq(pci_config_read(t.bus, 0, d, 0x0a, 2), 0x0300);
    /* BAR sizing: all ones, read back the mask */
    pci_config_write(t.bus, 0, d, PCI_COMMAND, 0, 2);
    pci_config_write(t.bus, 0, d, 0x10, 0xffffffff, 4);
    cr_assert_eq(pci_config_read(t.bus, 0, d, 0x10, 4), 0xff800008, "8 MiB prefetchable");
    pci_config_write(t.bus, 0, d, 0x18, 0xffffffff, 4);
    cr_assert_eq(pci_config_read(t.bus, 0, d, 0x18, 4), 0xfffff000, "4 KiB MMIO");
    pci_config_write(t.bus, 0, d, 0x14, 0xffffffff, 4);
    cr_assert_eq(pci_config_read(t.bus, 0, d, 0x14, 4), 0, "BAR1 unused");
    pci_config_write(t.bus, 0, d, 0x30, 0xfffff800, 4);
    uint32_t rom_size = 2048;
    while (rom_size < (uint32_t)rom_len)
        rom_size <<= 1;
    cr_assert_eq(pci_config_read(t.bus, 0, d, 0x30, 4), ~(rom_size - 1) & 0xfffff800u);
    /* map again: the ROM and the MMIO BAR answer */
    pci_config_write(t.bus, 0, d, 0x10, LFB_ADDR, 4);
    pci_config_write(t.bus, 0, d, 0x18, MMIO_ADDR, 4);
    pci_config_write(t.bus, 0, d, 0x30, ROM_ADDR | 1, 4);
    pci_config_write(t.bus, 0, d, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    cr_assert_eq(pgm_mmio_read(t.pgm, ROM_ADDR, 2), 0xaa55);
    cr_assert_eq(pgm_mmio_read(t.pgm, MMIO_ADDR + 0x500, 2), 0xb0c0, "dispi ID through BAR2");
    cr_assert_eq(pgm_mmio_read(t.pgm, MMIO_ADDR + 0x500 + 2 * 10, 2), 128);
    pgm_mmio_write(t.pgm, MMIO_ADDR + 0x400 + 0x08, 3, 1);   /* 0x3C8 */
    cr_assert_eq(th_inb(&t.h, 0x3c8), 3, "VGA ports through BAR2");
    cr_assert_eq(pgm_mmio_read(t.pgm, MMIO_ADDR + 0x604, 4), 0x1e1e1e1e);
    vt_fini(&t);
}

Test(dev_vga, config_errors)
{
    struct vt t;
    vt_init(&t);
    static const struct dev_cfg_kv missing[] = { { "rom", "/nonexistent/vgabios.bin" } };
    struct dev_cfg c1 = { missing, 1 };
    struct dev_ins *ins;
    cr_assert_lt(pdm_device_create(t.h.pdm, &dev_vga, &c1, &ins, &t.h.err), 0);
    cr_assert(strstr(t.h.err.msg, "/nonexistent/vgabios.bin"), "%s", t.h.err.msg);
    static const struct dev_cfg_kv notrom[] = { { "rom", "/etc/hostname" } };
    struct dev_cfg c2 = { notrom, 1 };
    if (fopen("/etc/hostname", "r"))
        cr_assert_lt(pdm_device_create(t.h.pdm, &dev_vga, &c2, &ins, &t.h.err), 0);
    static const struct dev_cfg_kv badvram[] = { { "rom", "none" }, { "vram", "3000000" } };
    struct dev_cfg c3 = { badvram, 2 };
    cr_assert_lt(pdm_device_create(t.h.pdm, &dev_vga, &c3, &ins, &t.h.err), 0);
    cr_assert(strstr(t.h.err.msg, "power of two"), "%s", t.h.err.msg);
    vt_fini(&t);
}

/* ---- saved state, info ------------------------------------------------------------ */

static void mutate(struct th *h, void *user)
{
    struct vt *t = user;
    set_mode(t, &mode13);
    mem_w(t, WIN + 10, 0x77);
    dac_set(t, 1, 1, 2, 3);
}

Test(dev_vga, ssm_roundtrip)
{
    struct vt t;
    vt_init(&t);
    mem_w(&t, 0xb8000, 'Q');
    mem_w(&t, 0xb8001, 0x2f);
    dac_set(&t, 1, 0x3f, 0x3f, 0x00);
    vbe(&t, 0, 0xb0c4);
    th_outb(&t.h, 0x3d4, 0x0e);
    th_ssm_roundtrip(&t.h, mutate, &t);
    struct vga_text txt;
    cr_assert_eq(vga_text_snapshot(t.ins, &txt), 0, "back in text mode");
    cr_assert_eq(txt.cells[0], 0x2f00 | 'Q');
    th_outb(&t.h, 0x3c7, 1);
    cr_assert_eq(th_inb(&t.h, 0x3c9), 0x3f);
    cr_assert_eq(th_inb(&t.h, 0x3c9), 0x3f);
    cr_assert_eq(th_inb(&t.h, 0x3c9), 0x00);
    cr_assert_eq(vbe_rd(&t, 0), 0xb0c4);
    cr_assert_eq(th_inb(&t.h, 0x3d4), 0x0e);
    vt_fini(&t);
}

Test(dev_vga, info_text)
{
    struct vt t;
    vt_init(&t);
    struct th_text out = { .len = 0 };
    struct ixvm_printer pr = { th_text_print, &out };
    dev_vga.info(t.ins->state, &pr, "");
    cr_assert(strstr(out.buf, "mode: text 720x400"), "%s", out.buf);
    cr_assert(strstr(out.buf, "misc=67"), "%s", out.buf);
    vbe_set(&t, 800, 600, 32);
    out.len = 0;
    dev_vga.info(t.ins->state, &pr, "");
    cr_assert(strstr(out.buf, "mode: VBE 800x600x32"), "%s", out.buf);
    vt_fini(&t);
}

/* ---- speed, fuzz -------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

Test(dev_vga, render_speed_1024x768x32)
{
    struct vt t;
    vt_init(&t);
    pci_map(&t);
    vbe_set(&t, 1024, 768, 32);
    for (uint32_t i = 0; i < 1024 * 768; i += 97)
        pgm_mmio_write(t.pgm, LFB_ADDR + i * 4, i * 2654435761u, 4);
    struct vga_frame f;
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        vga_invalidate(t.ins);
        double t0 = now_ms();
        render(&t, &f);
        double dt = now_ms() - t0;
        best = dt < best ? dt : best;
    }
    for (uint32_t i = 0; i < 1024 * 768; i += 97) {
        uint32_t v = i * 2654435761u;
        cr_assert_eq(px(&f, i % 1024, i / 1024), rgba((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff));
    }
    double t0 = now_ms();
    render(&t, &f);
    double idle = now_ms() - t0;
    cr_log_info("full 1024x768x32 frame: %.2f ms; unchanged frame: %.3f ms", best, idle);
    fprintf(stderr, "vga: full 1024x768x32 frame %.2f ms, unchanged frame %.3f ms\n", best, idle);
#ifndef IXVM_SANITIZED
    cr_assert_lt(best, 20.0, "a full frame must take a few ms");
#endif
    cr_assert_eq(f.dirty.w, 0);
    vt_fini(&t);
}

static void fuzz_extra(struct th *h, uint64_t rnd, void *user)
{
    struct vt *t = user;
    uint32_t a;
    switch (rnd % 6) {
    case 0: case 1:
        a = WIN + (uint32_t)(rnd >> 8) % 0x20000u;
        pgm_mmio_write(t->pgm, a, rnd >> 32, 1u << ((rnd >> 4) % 3));
        break;
    case 2:
        (void)pgm_mmio_read(t->pgm, WIN + (uint32_t)(rnd >> 8) % 0x1fff8u, 1u << ((rnd >> 4) % 4));
        break;
    case 3:
        pgm_mmio_write(t->pgm, LFB_ADDR + (uint32_t)(rnd >> 8) % (16u << 20) - ((rnd >> 4) & 7),
                       rnd >> 24, 1u << ((rnd >> 4) % 4));
        break;
    case 4:
        pgm_mmio_write(t->pgm, MMIO_ADDR + (uint32_t)(rnd >> 8) % 0xff0u, rnd >> 40, 1u << ((rnd >> 4) % 3));
        break;
    default: {
        struct vga_frame f;
        struct vga_text txt;
        cr_assert_eq(vga_render(t->ins, &f), 0);
        (void)vga_text_snapshot(t->ins, &txt);
        break;
    }
    }
}

Test(dev_vga, fuzz)
{
    struct vt t;
    vt_init(&t);
    pci_map(&t);
    static const struct th_range r[] = { { 0x3b0, 0x30 }, { 0x3c0, 0x20 }, { 0x1ce, 3 } };
    th_fuzz(&t.h, r, IXVM_ARRAY_SIZE(r), 0x5eed1234, 60000, fuzz_extra, &t);
    /* and with VBE on, so the banked and VBE render paths are covered */
    vbe_set(&t, 640, 480, 32);
    th_fuzz(&t.h, r, IXVM_ARRAY_SIZE(r), 0xabcdef, 30000, fuzz_extra, &t);
    struct vga_frame f;
    cr_assert_eq(vga_render(t.ins, &f), 0);
    vt_fini(&t);
}
