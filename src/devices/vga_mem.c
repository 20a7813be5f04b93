/* SPDX-License-Identifier: MIT */
/*
 * VGA memory: the CPU side of the four planes behind the 0xA0000-0xBFFFF
 * window (IBM VGA Technical Reference, "Graphics Controller"; FreeVGA
 * "VGA Memory Organization" and "Read/Write Modes"): memory map select
 * (GR06), chain-4 and odd/even addressing, latches, write modes 0-3 with
 * set/reset, data rotate, logical function and bit mask, map mask, and
 * read modes 0 (plane select) and 1 (colour compare).  With the Bochs VBE
 * extension enabled the window is a 64 KiB bank of linear VRAM instead,
 * and BAR0 is the linear framebuffer.  Every write marks its 4 KiB VRAM
 * page dirty for the renderer.
 */
#define LOG_GROUP LOG_GROUP_DEV_VGA
#include <string.h>

#include "ixvm/log.h"
#include "devices/vga_int.h"

static inline uint32_t vga_latch_load(const struct vga_state *s, uint32_t plane_off)
{
    uint32_t v;
    memcpy(&v, &s->vram[(plane_off & (VGA_PLANE_SIZE - 1)) * 4u], 4);
    return v;
}

/* Each set bit of a 4-bit plane mask becomes a 0xff byte. */
static inline uint32_t vga_expand4(unsigned m)
{
    static const uint32_t tab[16] = {
        0x00000000, 0x000000ff, 0x0000ff00, 0x0000ffff, 0x00ff0000, 0x00ff00ff, 0x00ffff00,
        0x00ffffff, 0xff000000, 0xff0000ff, 0xff00ff00, 0xff00ffff, 0xffff0000, 0xffff00ff,
        0xffffff00, 0xffffffff,
    };
    return tab[m & 15];
}

static inline uint8_t vga_rotate(uint8_t v, unsigned n)
{
    n &= 7;
    return (uint8_t)((v >> n) | (v << ((8 - n) & 7)));
}

/*
 * Window decode (GR06 bits 2-3): returns false when addr (offset from
 * 0xA0000) is outside the selected window, else the offset inside it.
 */
static bool vga_window_decode(const struct vga_state *s, uint32_t addr, uint32_t *out)
{
    static const uint32_t base[4] = { 0, 0, 0x10000, 0x18000 };
    static const uint32_t size[4] = { 0x20000, 0x10000, 0x8000, 0x8000 };
    unsigned map = (s->gr[6] >> 2) & 3;
    if (addr < base[map] || addr - base[map] >= size[map])
        return false;
    *out = addr - base[map];
    return true;
}

/* VBE banked window: offset into VRAM, or false when out of the bank. */
static bool vga_vbe_bank(const struct vga_state *s, uint32_t addr, uint32_t *out)
{
    if (addr >= 0x10000)
        return false;
    uint32_t off = ((uint32_t)s->vbe_regs[VBE_BANK] << 16) + addr;
    if (off >= s->vram_size)
        return false;
    *out = off;
    return true;
}

/* Read mode 1: bit set where every plane enabled in GR07 matches GR02. */
static uint8_t vga_color_compare(const struct vga_state *s)
{
    uint32_t diff = (s->latch ^ vga_expand4(s->gr[2])) & vga_expand4(s->gr[7]);
    uint8_t any = (uint8_t)(diff | diff >> 8 | diff >> 16 | diff >> 24);
    return (uint8_t)~any;
}

uint8_t vga_mem_readb(struct vga_state *s, uint32_t addr)
{
    uint32_t off;
    if (vga_vbe_linear(s))
        return vga_vbe_bank(s, addr, &off) ? s->vram[off] : 0xff;
    if (!vga_window_decode(s, addr, &off))
        return 0xff;
    off &= 0xffff;
    if (s->sr[4] & 0x08) {                      /* chain-4: A0-A1 pick the plane */
        s->latch = vga_latch_load(s, off & ~3u);
        return (uint8_t)(s->latch >> ((off & 3) * 8));
    }
    bool odd_even = s->gr[5] & 0x10;
    s->latch = vga_latch_load(s, odd_even ? off & ~1u : off);
    if (s->gr[5] & 0x08)
        return vga_color_compare(s);
    unsigned plane = odd_even ? ((s->gr[4] & 2) | (off & 1)) : (s->gr[4] & 3);
    return (uint8_t)(s->latch >> (plane * 8));
}

/* The ALU (GR03 bits 3-4) against the latches, then the bit mask. */
static uint32_t vga_alu(const struct vga_state *s, uint32_t v, uint8_t bitmask)
{
    switch ((s->gr[3] >> 3) & 3) {
    case 1: v &= s->latch; break;
    case 2: v |= s->latch; break;
    case 3: v ^= s->latch; break;
    default: break;
    }
    uint32_t bm = bitmask * 0x01010101u;
    return (v & bm) | (s->latch & ~bm);
}

/* The 32-bit (4-plane) value a CPU write of val produces (GR05 bits 0-1). */
static uint32_t vga_write_value(const struct vga_state *s, uint8_t val)
{
    uint32_t setres = vga_expand4(s->gr[0]);
    switch (s->gr[5] & 3) {
    case 0: {
        uint32_t v = vga_rotate(val, s->gr[3]) * 0x01010101u;
        uint32_t en = vga_expand4(s->gr[1]);
        return vga_alu(s, (v & ~en) | (setres & en), s->gr[8]);
    }
    case 1:
        return s->latch;
    case 2:
        return vga_alu(s, vga_expand4(val), s->gr[8]);
    default:
        return vga_alu(s, setres, (uint8_t)(s->gr[8] & vga_rotate(val, s->gr[3])));
    }
}

void vga_mem_writeb(struct vga_state *s, uint32_t addr, uint8_t val)
{
    uint32_t off;
    if (vga_vbe_linear(s)) {
        if (vga_vbe_bank(s, addr, &off)) {
            s->vram[off] = val;
            vga_mark_dirty(s, off);
            vga_note_change(s);
        }
        return;
    }
    if (!vga_window_decode(s, addr, &off))
        return;
    off &= 0xffff;
    unsigned mask = s->sr[2] & 15;
    if (s->sr[4] & 0x08) {                      /* chain-4 */
        mask &= 1u << (off & 3);
        off &= ~3u;
    } else if (!(s->sr[4] & 0x04)) {            /* odd/even: A0 picks planes 0/2 or 1/3 */
        mask &= (off & 1) ? 0xa : 0x5;
        off &= ~1u;
    }
    if (!mask)
        return;
    uint32_t v = (s->sr[4] & 0x08) ? val * 0x01010101u : vga_write_value(s, val);
    uint32_t pm = vga_expand4(mask);
    uint8_t *p = &s->vram[off * 4u];
    uint32_t old;
    memcpy(&old, p, 4);
    old = (old & ~pm) | (v & pm);
    memcpy(p, &old, 4);
    if (mask & 4)
        s->font_dirty = true;
    vga_mark_dirty(s, off * 4u);
    vga_note_change(s);
}

static int vga_window_read(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    struct vga_state *s = dev;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)vga_mem_readb(s, off + i) << (8 * i);
    *val = v;
    return 0;
}

static int vga_window_write(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    struct vga_state *s = dev;
    for (unsigned i = 0; i < size; i++)
        vga_mem_writeb(s, off + i, (uint8_t)(val >> (8 * i)));
    return 0;
}

const struct pgm_mmio_ops vga_window_ops = {
    .read = vga_window_read, .write = vga_window_write, .access_sizes = 1 | 2 | 4 | 8,
};

/* ---- linear framebuffer (BAR0) ----------------------------------------- */

static int vga_lfb_read(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    struct vga_state *s = dev;
    uint64_t v = 0;
    if (off < s->vram_size && size <= s->vram_size - off)
        memcpy(&v, &s->vram[off], size);
    else
        v = ~0ull;
    *val = v;
    return 0;
}

static int vga_lfb_write(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    struct vga_state *s = dev;
    if (off >= s->vram_size || size > s->vram_size - off)
        return 0;
    memcpy(&s->vram[off], &val, size);
    vga_mark_dirty(s, off);
    vga_mark_dirty(s, off + size - 1);
    vga_note_change(s);
    return 0;
}

const struct pgm_mmio_ops vga_lfb_ops = {
    .read = vga_lfb_read, .write = vga_lfb_write, .access_sizes = 1 | 2 | 4 | 8,
};
