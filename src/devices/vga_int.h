/* SPDX-License-Identifier: MIT */
/*
 * VGA device internals shared by vga.c (registers, PCI, saved state),
 * vga_mem.c (the planar memory window, banked and linear VRAM) and
 * vga_render.c (the renderer).  One device: these files are its parts.
 *
 * VRAM layout: the four VGA planes are interleaved, plane p of plane
 * offset a lives at vram[a * 4 + p], so the four bytes the latches load are
 * one aligned 32-bit word (byte p = plane p).  VBE modes use the same VRAM
 * as a plain linear framebuffer.
 */
#ifndef IXVM_VGA_INT_H
#define IXVM_VGA_INT_H

#include <stdatomic.h>

#include "ixvm/dev.h"
#include "ixvm/pci.h"
#include "ixvm/vga.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vga: the latch and pixel code assume a little-endian host"
#endif

#define VGA_PLANE_SIZE 0x10000u
#define VGA_PLANAR_SIZE (4u * VGA_PLANE_SIZE)
#define VGA_DIRTY_SHIFT 12u          /* dirty-tracking granule: 4 KiB of VRAM */
#define VGA_SR_COUNT 8u
#define VGA_GR_COUNT 16u
#define VGA_CR_COUNT 0x19u
#define VGA_AR_COUNT 0x15u

/* Bochs dispi registers (index port 0x1CE). */
enum vbe_index {
    VBE_ID, VBE_XRES, VBE_YRES, VBE_BPP, VBE_ENABLE, VBE_BANK, VBE_VIRT_WIDTH,
    VBE_VIRT_HEIGHT, VBE_X_OFFSET, VBE_Y_OFFSET, VBE_VIDEO_MEMORY_64K, VBE_REG_COUNT
};
#define VBE_ID0 0xb0c0u
#define VBE_ID5 0xb0c5u
#define VBE_EN_ENABLED   0x01u
#define VBE_EN_GETCAPS   0x02u
#define VBE_EN_8BIT_DAC  0x20u
#define VBE_EN_LFB       0x40u
#define VBE_EN_NOCLEAR   0x80u
#define VBE_MAX_XRES 16000u
#define VBE_MAX_YRES 12000u
#define VBE_MAX_BPP 32u

struct vga_state {
    struct dev_ins *ins;            /* [init] */
    struct tm_mgr *tm;              /* [init] */
    uint8_t *vram;                  /* [lock] contents; pointer [init] */
    uint32_t vram_size;             /* [init] power of two >= 256 KiB */
    uint8_t *dirty;                 /* [lock] one bit per 4 KiB of VRAM */
    uint8_t *rom;                   /* [init] VGA BIOS image (NULL: none) */
    uint32_t rom_size;              /* [init] */
    uint32_t rom_bar_size;          /* [init] power of two >= rom_size */
    struct pci_func pci;            /* [bus lock] */
    bool pci_attached;              /* [init] */
    bool vram_ssm_registered;       /* [init] */

    /* ---- guest-visible registers [lock], saved ---- */
    uint8_t misc;                   /* misc output (0x3C2 / 0x3CC) */
    uint8_t fcr;                    /* feature control */
    uint8_t vga_enable;             /* 0x3C3 */
    uint8_t sr_index, sr[VGA_SR_COUNT];
    uint8_t gr_index, gr[VGA_GR_COUNT];
    uint8_t cr_index, cr[VGA_CR_COUNT];
    uint8_t ar_index, ar[VGA_AR_COUNT];
    uint8_t ar_flip;                /* 0: next 0x3C0 write is an index */
    uint8_t dac_mask, dac_read_index, dac_write_index, dac_sub, dac_state;
    uint8_t palette[768];           /* DAC: 6-bit values (8-bit with VBE 8BIT_DAC) */
    uint32_t latch;                 /* plane p = byte p */
    uint16_t vbe_index;
    uint16_t vbe_regs[VBE_REG_COUNT];
    uint32_t vbe_line_offset;       /* derived (post_load): bytes per scanline */
    uint32_t vbe_start;             /* derived: byte offset of the top-left pixel */
    uint32_t st1_reads;             /* [lock] input status reads: keeps retrace moving */
    uint32_t misuse;                /* [lock] not saved */

    /* ---- renderer [lock] (vga_render.c), not saved ---- */
    atomic_uint_fast64_t changes;   /* [any, atomic] vga_change_count */
    bool full_redraw;               /* display registers changed */
    bool font_dirty;                /* plane 2 written */
    uint8_t *fb;                    /* RGBA frame */
    uint32_t fb_w, fb_h;
    size_t fb_cap;                  /* bytes allocated */
    uint32_t *text_shadow;          /* per-cell key of what is on screen */
    uint32_t shadow_cells;
    uint32_t pal_rgba[256];         /* DAC -> RGBA cache */
};

/* ---- vga.c -------------------------------------------------------------- */
/* Something that changes the picture happened. */
static inline void vga_note_change(struct vga_state *s)
{
    atomic_fetch_add_explicit(&s->changes, 1, memory_order_relaxed);
}
/* Offset of port p (0x3B0..0x3DF) in the VGA port block. */
int vga_port_read(struct vga_state *s, uint16_t off, uint8_t *val);
void vga_port_write(struct vga_state *s, uint16_t off, uint8_t val);
uint16_t vga_vbe_read(struct vga_state *s, unsigned index);
void vga_vbe_write(struct vga_state *s, unsigned index, uint16_t val);
bool vga_vbe_enabled(const struct vga_state *s);
/* VBE on with a packed-pixel mode: the window is a bank of linear VRAM
 * (4 bpp stays planar, through the VGA write modes). */
bool vga_vbe_linear(const struct vga_state *s);
/* VRAM bytes of `pixels` pixels in the VBE mode (4 bpp: interleaved planes). */
uint32_t vga_vbe_line_bytes(const struct vga_state *s, uint32_t pixels);

/* ---- vga_mem.c ---------------------------------------------------------- */
extern const struct pgm_mmio_ops vga_window_ops;   /* 0xA0000-0xBFFFF, dev = state */
extern const struct pgm_mmio_ops vga_lfb_ops;      /* BAR0, dev = state */
uint8_t vga_mem_readb(struct vga_state *s, uint32_t addr);
void vga_mem_writeb(struct vga_state *s, uint32_t addr, uint8_t val);
static inline void vga_mark_dirty(struct vga_state *s, uint32_t vram_off)
{
    uint32_t pg = vram_off >> VGA_DIRTY_SHIFT;
    s->dirty[pg >> 3] |= (uint8_t)(1u << (pg & 7));
}

/* ---- vga_render.c ------------------------------------------------------- */
int vga_render_locked(struct vga_state *s, struct vga_frame *out);
void vga_mode_info_locked(struct vga_state *s, struct vga_mode_info *out);
int vga_text_snapshot_locked(struct vga_state *s, struct vga_text *out);

#endif
