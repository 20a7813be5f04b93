/* SPDX-License-Identifier: MIT */
/*
 * VGA with the Bochs VBE "dispi" extension on PCI 1234:1111, QEMU's
 * "-vga std" (docs/vga.md).  This file holds the registers: misc output,
 * sequencer, CRTC (mono/colour port pair by misc bit 0, CR11 write
 * protect), graphics controller, attribute controller (index/data
 * flip-flop reset by reading input status 1), DAC (auto-incrementing 6-bit
 * triplets), input status 1 with retrace bits from the virtual clock, the
 * dispi registers at 0x1CE/0x1CF (and the 0x1D0 data alias), the PCI
 * function (BAR0 VRAM, BAR2 QEMU std-VGA MMIO, expansion ROM with the VGA
 * BIOS), saved state and `info vga`.  The memory window is vga_mem.c and
 * the renderer vga_render.c; all three share struct vga_state.
 */
#define LOG_GROUP LOG_GROUP_DEV_VGA
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/log.h"
#include "devices/vga_int.h"

#define VGA_PORT_BASE 0x3b0u
#define VGA_PORT_COUNT 0x30u
#define VBE_PORT_BASE 0x1ceu
#define VBE_PORT_COUNT 4u         /* 0x1CE index, 0x1CF data, 0x1D0 data alias, 0x1D1 */
#define VGA_WINDOW_BASE 0xa0000u
#define VGA_WINDOW_SIZE 0x20000u
#define VGA_DEFAULT_VRAM (16u << 20)
#define VGA_ROM_MAX (1u << 20)

/* Retrace timing (640x480@60 and 720x400@70 are close enough): a ~70 Hz
 * frame with a 0.5 ms vertical retrace and a 31.8 us line, 20 % blanked. */
#define VGA_FRAME_NS 14286000ull
#define VGA_VRETRACE_NS 500000ull
#define VGA_LINE_NS 31778ull
#define VGA_HBLANK_NS 6400ull
/* Each status read also moves the phase by 1 us, so a guest polling the
 * retrace bit cannot spin forever on a stopped (manual) clock. */
#define VGA_ST1_READ_NS 1000ull

/* Writable bits of each register (unimplemented bits read as 0). */
static const uint8_t vga_sr_mask[VGA_SR_COUNT] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0, 0, 0 };
static const uint8_t vga_gr_mask[VGA_GR_COUNT] = { 0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff };
static const uint8_t vga_ar_mask[VGA_AR_COUNT] = {
    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0xef, 0xff, 0x3f, 0x0f, 0x0f,
};

/* Power-on state: BIOS mode 3 (80x25 colour text), IBM VGA Technical
 * Reference mode tables, so a screen read before the VGA BIOS runs is sane. */
static const uint8_t vga_mode3_sr[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t vga_mode3_cr[VGA_CR_COUNT] = {
    0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00,
    0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
};
static const uint8_t vga_mode3_gr[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t vga_mode3_ar[VGA_AR_COUNT] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a,
    0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00,
};

bool vga_vbe_enabled(const struct vga_state *s)
{
    return s->vbe_regs[VBE_ENABLE] & VBE_EN_ENABLED;
}

bool vga_vbe_linear(const struct vga_state *s)
{
    return vga_vbe_enabled(s) && s->vbe_regs[VBE_BPP] != 4;
}

uint32_t vga_vbe_line_bytes(const struct vga_state *s, uint32_t pixels)
{
    unsigned bpp = s->vbe_regs[VBE_BPP];
    if (bpp == 4)               /* planar: 8 pixels per plane byte, 4 VRAM bytes */
        return (pixels / 2u) & ~3u;
    return pixels * ((bpp + 7u) / 8u);
}

static void vga_display_changed(struct vga_state *s)
{
    s->full_redraw = true;
    vga_note_change(s);
}

/* ---- registers ---------------------------------------------------------- */

/* True when off (from 0x3B0) is a CRTC/status port of the active pair. */
static bool vga_port_active(const struct vga_state *s, uint16_t off)
{
    bool color = s->misc & 1;
    if (off < 0x0c)
        return !color;              /* 0x3B0-0x3BB */
    if (off >= 0x20)
        return color;               /* 0x3D0-0x3DF */
    return true;
}

/* Input status 1: bit 0 display disabled (blanking), bit 3 vertical retrace. */
static uint8_t vga_status1(struct vga_state *s)
{
    uint64_t t = tm_virtual_now(s->tm) + (uint64_t)s->st1_reads++ * VGA_ST1_READ_NS;
    uint64_t in_frame = t % VGA_FRAME_NS;
    uint8_t v = 0;
    if (in_frame >= VGA_FRAME_NS - VGA_VRETRACE_NS)
        v |= 0x09;
    else if (in_frame % VGA_LINE_NS >= VGA_LINE_NS - VGA_HBLANK_NS)
        v |= 0x01;
    s->ar_flip = 0;                 /* reading status 1 resets the AR flip-flop */
    return v;
}

static uint8_t vga_dac_read(struct vga_state *s)
{
    uint8_t v = s->palette[s->dac_read_index * 3u + s->dac_sub];
    if (++s->dac_sub == 3) {
        s->dac_sub = 0;
        s->dac_read_index++;
    }
    return v;
}

static void vga_dac_write(struct vga_state *s, uint8_t val)
{
    if (!(s->vbe_regs[VBE_ENABLE] & VBE_EN_8BIT_DAC))
        val &= 0x3f;
    s->palette[s->dac_write_index * 3u + s->dac_sub] = val;
    if (++s->dac_sub == 3) {
        s->dac_sub = 0;
        s->dac_write_index++;
    }
    vga_display_changed(s);
}

int vga_port_read(struct vga_state *s, uint16_t off, uint8_t *val)
{
    uint8_t v = 0xff;
    if (!vga_port_active(s, off)) {
        *val = v;
        return 0;
    }
    unsigned port = VGA_PORT_BASE + off;
    switch (port) {
    case 0x3c0: v = s->ar_index; break;
    case 0x3c1: v = (s->ar_index & 0x1f) < VGA_AR_COUNT ? s->ar[s->ar_index & 0x1f] : 0; break;
    case 0x3c2: v = 0x10; break;    /* input status 0: switch sense (a colour monitor) */
    case 0x3c3: v = s->vga_enable; break;
    case 0x3c4: v = s->sr_index; break;
    case 0x3c5: v = s->sr[s->sr_index & 7]; break;
    case 0x3c6: v = s->dac_mask; break;
    case 0x3c7: v = s->dac_state; break;
    case 0x3c8: v = s->dac_write_index; break;
    case 0x3c9: v = vga_dac_read(s); break;
    case 0x3ca: v = s->fcr; break;
    case 0x3cc: v = s->misc; break;
    case 0x3ce: v = s->gr_index; break;
    case 0x3cf: v = s->gr[s->gr_index & 15]; break;
    case 0x3b4: case 0x3d4: v = s->cr_index; break;
    case 0x3b5: case 0x3d5: v = s->cr_index < VGA_CR_COUNT ? s->cr[s->cr_index] : 0xff; break;
    case 0x3ba: case 0x3da: v = vga_status1(s); break;
    default: break;
    }
    *val = v;
    return 0;
}

static void vga_ar_write(struct vga_state *s, uint8_t val)
{
    if (!s->ar_flip) {
        if ((val ^ s->ar_index) & 0x20)
            vga_display_changed(s);     /* palette address source: screen on/off */
        s->ar_index = val & 0x3f;
    } else {
        unsigned i = s->ar_index & 0x1f;
        if (i < VGA_AR_COUNT) {
            s->ar[i] = val & vga_ar_mask[i];
            vga_display_changed(s);
        }
    }
    s->ar_flip ^= 1;
}

/* CRTC data: CR0-CR7 are read-only while CR11 bit 7 is set, except the
 * line-compare bit 4 of CR7 (VGA Technical Reference, CRTC register 11). */
static void vga_cr_write(struct vga_state *s, uint8_t val)
{
    unsigned i = s->cr_index;
    if (i >= VGA_CR_COUNT)
        return;
    if (i <= 7 && (s->cr[0x11] & 0x80)) {
        if (i != 7)
            return;
        val = (uint8_t)((s->cr[7] & ~0x10) | (val & 0x10));
    }
    s->cr[i] = val;
    /* The cursor registers are drawn per cell: no full redraw. */
    if (i == 0x0e || i == 0x0f)
        vga_note_change(s);
    else
        vga_display_changed(s);
}

void vga_port_write(struct vga_state *s, uint16_t off, uint8_t val)
{
    if (!vga_port_active(s, off))
        return;
    unsigned port = VGA_PORT_BASE + off;
    switch (port) {
    case 0x3c0: vga_ar_write(s, val); break;
    case 0x3c2: s->misc = val; vga_display_changed(s); break;
    case 0x3c3: s->vga_enable = val & 1; break;
    case 0x3c4: s->sr_index = val & 7; break;
    case 0x3c5:
        s->sr[s->sr_index] = val & vga_sr_mask[s->sr_index];
        vga_display_changed(s);
        break;
    case 0x3c6: s->dac_mask = val; vga_display_changed(s); break;
    case 0x3c7: s->dac_read_index = val; s->dac_sub = 0; s->dac_state = 3; break;
    case 0x3c8: s->dac_write_index = val; s->dac_sub = 0; s->dac_state = 0; break;
    case 0x3c9: vga_dac_write(s, val); break;
    case 0x3ce: s->gr_index = val & 15; break;
    case 0x3cf:
        s->gr[s->gr_index] = val & vga_gr_mask[s->gr_index];
        vga_display_changed(s);
        break;
    case 0x3b4: case 0x3d4: s->cr_index = val; break;
    case 0x3b5: case 0x3d5: vga_cr_write(s, val); break;
    case 0x3ba: case 0x3da: s->fcr = val & 3; break;
    default:
        DEV_LOG_MISUSE(s->misuse, "vga: write %#x to read-only or unknown port %#x", val, port);
        break;
    }
}

static int vga_io_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    uint8_t v;
    int rc = vga_port_read(dev, off, &v);
    *val = v;
    return rc;
}

static int vga_io_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    vga_port_write(dev, off, (uint8_t)val);
    return 0;
}

static const struct iom_port_ops vga_port_ops = {
    .read = vga_io_read, .write = vga_io_write, .access_sizes = 1,
};

/* ---- Bochs VBE dispi ---------------------------------------------------- */

static bool vbe_bpp_valid(unsigned bpp)
{
    return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

/* Recompute line offset and start from the virtual size and offsets; keep
 * the virtual height within VRAM. */
static void vbe_update_layout(struct vga_state *s)
{
    uint16_t *r = s->vbe_regs;
    if (r[VBE_VIRT_WIDTH] < r[VBE_XRES])
        r[VBE_VIRT_WIDTH] = r[VBE_XRES];
    s->vbe_line_offset = vga_vbe_line_bytes(s, r[VBE_VIRT_WIDTH]);
    uint32_t mem = r[VBE_BPP] == 4 ? VGA_PLANAR_SIZE : s->vram_size;
    uint32_t max_h = s->vbe_line_offset ? mem / s->vbe_line_offset : 0;
    r[VBE_VIRT_HEIGHT] = (uint16_t)(max_h > 0xffff ? 0xffff : max_h);
    uint64_t start = (uint64_t)r[VBE_Y_OFFSET] * s->vbe_line_offset + vga_vbe_line_bytes(s, r[VBE_X_OFFSET]);
    s->vbe_start = start < mem ? (uint32_t)start : 0;
}

/* A mode fits when the visible lines of XRES x YRES x BPP fit in VRAM. */
static bool vbe_mode_fits(const struct vga_state *s)
{
    const uint16_t *r = s->vbe_regs;
    uint64_t need = (uint64_t)vga_vbe_line_bytes(s, r[VBE_XRES]) * r[VBE_YRES];
    return r[VBE_XRES] && r[VBE_YRES] && r[VBE_XRES] <= VBE_MAX_XRES && r[VBE_YRES] <= VBE_MAX_YRES &&
           need <= (r[VBE_BPP] == 4 ? VGA_PLANAR_SIZE : s->vram_size);
}

static void vbe_enable_write(struct vga_state *s, uint16_t val)
{
    uint16_t *r = s->vbe_regs;
    bool was = vga_vbe_enabled(s);
    if ((val & VBE_EN_ENABLED) && !was) {
        if (!vbe_mode_fits(s)) {
            DEV_LOG_MISUSE(s->misuse, "vga: VBE mode %ux%ux%u does not fit %u bytes of VRAM",
                           r[VBE_XRES], r[VBE_YRES], r[VBE_BPP], s->vram_size);
            val &= (uint16_t)~VBE_EN_ENABLED;
        } else {
            r[VBE_VIRT_WIDTH] = r[VBE_XRES];
            r[VBE_X_OFFSET] = r[VBE_Y_OFFSET] = 0;
            r[VBE_BANK] = 0;
            r[VBE_ENABLE] = val;
            vbe_update_layout(s);
            if (!(val & VBE_EN_NOCLEAR)) {
                uint64_t n = (uint64_t)s->vbe_line_offset * r[VBE_YRES];
                memset(s->vram, 0, n > s->vram_size ? s->vram_size : (size_t)n);
                memset(s->dirty, 0xff, (s->vram_size >> VGA_DIRTY_SHIFT) / 8u);
            }
            /* Graphics, 64 KiB window at 0xA0000, and chain-4 for the packed
             * modes: what the VGA side of a bank switch expects (QEMU does
             * the same).  4 bpp stays planar behind the VGA write modes. */
            s->gr[6] = (uint8_t)((s->gr[6] & ~0x0c) | 0x05);
            if (r[VBE_BPP] != 4)
                s->sr[4] |= 0x08;
        }
    }
    r[VBE_ENABLE] = val & (VBE_EN_ENABLED | VBE_EN_GETCAPS | VBE_EN_8BIT_DAC | VBE_EN_LFB | VBE_EN_NOCLEAR);
    vga_display_changed(s);
}

uint16_t vga_vbe_read(struct vga_state *s, unsigned index)
{
    const uint16_t *r = s->vbe_regs;
    if (index >= VBE_REG_COUNT)
        return 0;
    if (r[VBE_ENABLE] & VBE_EN_GETCAPS) {
        static const uint16_t caps[] = { [VBE_XRES] = VBE_MAX_XRES, [VBE_YRES] = VBE_MAX_YRES,
                                         [VBE_BPP] = VBE_MAX_BPP };
        if (index == VBE_XRES || index == VBE_YRES || index == VBE_BPP)
            return caps[index];
    }
    if (index == VBE_VIDEO_MEMORY_64K)
        return (uint16_t)(s->vram_size >> 16);
    return r[index];
}

void vga_vbe_write(struct vga_state *s, unsigned index, uint16_t val)
{
    uint16_t *r = s->vbe_regs;
    switch (index) {
    case VBE_ID:
        if (val >= VBE_ID0 && val <= VBE_ID5)
            r[VBE_ID] = val;
        break;
    case VBE_XRES: case VBE_YRES: case VBE_BPP:
        if (vga_vbe_enabled(s))
            break;              /* change modes with ENABLE = 0 first */
        if (index == VBE_BPP) {
            val = val ? val : 8;
            if (!vbe_bpp_valid(val))
                break;
        }
        if (index == VBE_XRES)
            val &= ~7u;         /* the VBE BIOS and bochs-drm use multiples of 8 */
        r[index] = val;
        break;
    case VBE_ENABLE:
        vbe_enable_write(s, val);
        break;
    case VBE_BANK:
        r[VBE_BANK] = (uint16_t)(val & ((s->vram_size >> 16) - 1));
        break;
    case VBE_VIRT_WIDTH: case VBE_X_OFFSET: case VBE_Y_OFFSET:
        r[index] = val;
        vbe_update_layout(s);
        vga_display_changed(s);
        break;
    default:
        break;                  /* VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only */
    }
}

static int vbe_io_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct vga_state *s = dev;
    *val = off == 0 ? s->vbe_index : off <= 2 ? vga_vbe_read(s, s->vbe_index) : 0xffff;
    return 0;
}

static int vbe_io_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct vga_state *s = dev;
    if (off == 0)
        s->vbe_index = (uint16_t)val;
    else if (off <= 2)
        vga_vbe_write(s, s->vbe_index, (uint16_t)val);
    return 0;
}

static const struct iom_port_ops vbe_port_ops = {
    .read = vbe_io_read, .write = vbe_io_write, .access_sizes = 1 | 2,
};

/* ---- PCI: BAR2 (QEMU std-VGA MMIO) and the expansion ROM ---------------- */

#define VGA_MMIO_PORTS 0x400u       /* ports 0x3C0-0x3DF, byte access */
#define VGA_MMIO_DISPI 0x500u       /* dispi register i at 0x500 + 2 i */
#define VGA_MMIO_QEXT  0x600u       /* QEMU extended: size, endianness */
#define VGA_QEXT_LITTLE 0x1e1e1e1eu

static uint64_t vga_mmio_read1(struct vga_state *s, uint32_t off, unsigned size)
{
    if (off >= VGA_MMIO_PORTS && off < VGA_MMIO_PORTS + 0x20) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size && off + i < VGA_MMIO_PORTS + 0x20; i++) {
            uint8_t b;
            (void)vga_port_read(s, (uint16_t)(off + i - VGA_MMIO_PORTS + 0x10), &b);
            v |= (uint64_t)b << (8 * i);
        }
        return v;
    }
    if (off >= VGA_MMIO_DISPI && off < VGA_MMIO_DISPI + 2 * VBE_REG_COUNT && size == 2)
        return vga_vbe_read(s, (off - VGA_MMIO_DISPI) / 2);
    if (off == VGA_MMIO_QEXT && size == 4)
        return 8;                   /* size of the extended register block */
    if (off == VGA_MMIO_QEXT + 4 && size == 4)
        return VGA_QEXT_LITTLE;
    return ~0ull;
}

static int vga_mmio_read(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    *val = vga_mmio_read1(dev, off, size);
    return 0;
}

static int vga_mmio_write(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    struct vga_state *s = dev;
    if (off >= VGA_MMIO_PORTS && off < VGA_MMIO_PORTS + 0x20) {
        for (unsigned i = 0; i < size && off + i < VGA_MMIO_PORTS + 0x20; i++)
            vga_port_write(s, (uint16_t)(off + i - VGA_MMIO_PORTS + 0x10), (uint8_t)(val >> (8 * i)));
    } else if (off >= VGA_MMIO_DISPI && off < VGA_MMIO_DISPI + 2 * VBE_REG_COUNT && size == 2) {
        vga_vbe_write(s, (off - VGA_MMIO_DISPI) / 2, (uint16_t)val);
    }
    return 0;   /* the endianness register only accepts little endian */
}

static const struct pgm_mmio_ops vga_mmio_ops = {
    .read = vga_mmio_read, .write = vga_mmio_write, .access_sizes = 1 | 2 | 4,
};

static int vga_rom_read(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    struct vga_state *s = dev;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint32_t o = off + i;
        v |= (uint64_t)(o < s->rom_size ? s->rom[o] : 0xff) << (8 * i);
    }
    *val = v;
    return 0;
}

static int vga_rom_write(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    return 0;   /* ROM */
}

static const struct pgm_mmio_ops vga_rom_ops = {
    .read = vga_rom_read, .write = vga_rom_write, .access_sizes = 1 | 2 | 4 | 8,
};

static uint32_t vga_pow2_at_least(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

int vga_pci_attach(struct dev_ins *vga, struct pci_bus *bus, uint8_t devfn, struct ixvm_errinfo *err)
{
    struct vga_state *s = vga->state;
    if (s->pci_attached)
        return ixvm_errinfo_set(err, IXVM_ERR_ALREADY_EXISTS, "device %s: already on the PCI bus",
                                vga->name);
    uint8_t *c = s->pci.config;
    memset(c, 0, PCI_CONFIG_SIZE);
    c[PCI_VENDOR_ID] = VGA_PCI_VENDOR & 0xff;
    c[PCI_VENDOR_ID + 1] = VGA_PCI_VENDOR >> 8;
    c[PCI_DEVICE_ID] = VGA_PCI_DEVICE & 0xff;
    c[PCI_DEVICE_ID + 1] = VGA_PCI_DEVICE >> 8;
    c[PCI_REVISION_ID] = 0x02;
    c[PCI_CLASS_DEVICE] = 0x00;         /* VGA-compatible controller */
    c[PCI_CLASS_DEVICE + 1] = 0x03;     /* display controller */
    c[PCI_SUBSYSTEM_VENDOR_ID] = 0xf4;  /* Red Hat / QEMU, as -vga std */
    c[PCI_SUBSYSTEM_VENDOR_ID + 1] = 0x1a;
    c[PCI_SUBSYSTEM_ID] = 0x00;
    c[PCI_SUBSYSTEM_ID + 1] = 0x11;
    dev_lock(vga);
    int rc = pci_register_func(bus, devfn, &s->pci, NULL, vga);
    if (rc >= 0)
        rc = pci_register_bar_mem(&s->pci, 0, s->vram_size, PCI_BAR_MEM32_PREFETCH, &vga_lfb_ops, s);
    if (rc >= 0)
        rc = pci_register_bar_mem(&s->pci, 2, VGA_MMIO_BAR_SIZE, PCI_BAR_MEM32, &vga_mmio_ops, s);
    if (rc >= 0 && s->rom)
        rc = pci_register_bar_mem(&s->pci, PCI_ROM_BAR, s->rom_bar_size, PCI_BAR_MEM32, &vga_rom_ops, s);
    if (rc >= 0)
        s->pci_attached = true;
    dev_unlock(vga);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "device %s: cannot attach to PCI slot %u function %u: %s",
                                vga->name, devfn >> 3, devfn & 7, ixvm_strerror(rc));
    return 0;
}

/* ---- saved state -------------------------------------------------------- */

/* VRAM is its own unit ("vga_vram"), written as size + bytes: the field
 * table cannot hold a buffer whose size comes from the config. */
static int vga_vram_save(void *user, struct ssm_handle *h)
{
    struct vga_state *s = user;
    dev_lock(s->ins);
    int rc = ssm_put_u32(h, s->vram_size);
    if (rc >= 0)
        rc = ssm_put_mem(h, s->vram, s->vram_size);
    dev_unlock(s->ins);
    return rc;
}

static int vga_vram_load(void *user, struct ssm_handle *h, uint32_t version)
{
    struct vga_state *s = user;
    uint32_t size;
    int rc = ssm_get_u32(h, &size);
    if (rc < 0)
        return rc;
    if (size != s->vram_size) {
        LOG_REL("%s: saved VRAM is %u bytes, this device has %u", s->ins->name, size, s->vram_size);
        return IXVM_ERR_CONFIG_MISMATCH;
    }
    dev_lock(s->ins);
    rc = ssm_get_mem(h, s->vram, s->vram_size);
    s->full_redraw = true;
    s->font_dirty = true;
    dev_unlock(s->ins);
    return rc;
}

static int vga_post_load(void *state, uint32_t version)
{
    struct vga_state *s = state;
    s->sr_index &= 7;
    s->gr_index &= 15;
    s->ar_index &= 0x3f;
    s->ar_flip &= 1;
    s->dac_sub %= 3;
    if (s->vbe_regs[VBE_BPP] && !vbe_bpp_valid(s->vbe_regs[VBE_BPP]))
        s->vbe_regs[VBE_BPP] = 8;
    s->vbe_regs[VBE_BANK] &= (uint16_t)((s->vram_size >> 16) - 1);
    if (vga_vbe_enabled(s) && !vbe_mode_fits(s))
        s->vbe_regs[VBE_ENABLE] &= (uint16_t)~VBE_EN_ENABLED;
    vbe_update_layout(s);
    vga_display_changed(s);
    return 0;
}

#define VGA_F(t, m) SSM_FIELD(t, struct vga_state, m)
static const struct ssm_field vga_fields[] = {
    VGA_F(U8, misc), VGA_F(U8, fcr), VGA_F(U8, vga_enable),
    VGA_F(U8, sr_index), VGA_F(MEM, sr), VGA_F(U8, gr_index), VGA_F(MEM, gr),
    VGA_F(U8, cr_index), VGA_F(MEM, cr), VGA_F(U8, ar_index), VGA_F(MEM, ar), VGA_F(U8, ar_flip),
    VGA_F(U8, dac_mask), VGA_F(U8, dac_read_index), VGA_F(U8, dac_write_index), VGA_F(U8, dac_sub),
    VGA_F(U8, dac_state), VGA_F(MEM, palette), VGA_F(U32, latch), VGA_F(U16, vbe_index),
    VGA_F(MEM, vbe_regs), VGA_F(U32, st1_reads),
    SSM_FIELD_END,
};

/* ---- info --------------------------------------------------------------- */

static void vga_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct vga_state *s = state;
    static const char *const kinds[] = { "blank", "text", "graphics", "VBE" };
    struct vga_mode_info mi;
    vga_mode_info_locked(s, &mi);
    ixvm_pr(pr, "mode: %s %ux%u", kinds[mi.kind], mi.width, mi.height);
    if (mi.bpp)
        ixvm_pr(pr, "x%u", mi.bpp);
    ixvm_pr(pr, "  vram=%u KiB  pci=%s\n", s->vram_size >> 10, s->pci_attached ? "yes" : "no");
    ixvm_pr(pr, "misc=%02x fcr=%02x ar_index=%02x flip=%u dac_mask=%02x\n", s->misc, s->fcr,
            s->ar_index, s->ar_flip, s->dac_mask);
    ixvm_pr(pr, "sr:");
    for (unsigned i = 0; i < 5; i++)
        ixvm_pr(pr, " %02x", s->sr[i]);
    ixvm_pr(pr, "\ngr:");
    for (unsigned i = 0; i < 9; i++)
        ixvm_pr(pr, " %02x", s->gr[i]);
    ixvm_pr(pr, "\ncr:");
    for (unsigned i = 0; i < VGA_CR_COUNT; i++)
        ixvm_pr(pr, " %02x", s->cr[i]);
    ixvm_pr(pr, "\nar:");
    for (unsigned i = 0; i < VGA_AR_COUNT; i++)
        ixvm_pr(pr, " %02x", s->ar[i]);
    const uint16_t *r = s->vbe_regs;
    ixvm_pr(pr, "\nvbe: id=%04x %ux%ux%u enable=%02x bank=%u virt=%ux%u offset=%u,%u line=%u\n",
            r[VBE_ID], r[VBE_XRES], r[VBE_YRES], r[VBE_BPP], r[VBE_ENABLE], r[VBE_BANK],
            r[VBE_VIRT_WIDTH], r[VBE_VIRT_HEIGHT], r[VBE_X_OFFSET], r[VBE_Y_OFFSET], s->vbe_line_offset);
}

/* ---- lifecycle ---------------------------------------------------------- */

/* The EGA/VGA default 64-colour palette: 6-bit index rgbRGB. */
static void vga_default_palette(struct vga_state *s)
{
    memset(s->palette, 0, sizeof(s->palette));
    for (unsigned i = 0; i < 64; i++) {
        for (unsigned c = 0; c < 3; c++) {
            unsigned hi = (i >> (2 - c)) & 1, lo = (i >> (5 - c)) & 1;
            s->palette[i * 3 + c] = (uint8_t)(hi * 0x2a + lo * 0x15);
        }
    }
}

static void vga_reset(void *state)
{
    struct vga_state *s = state;
    s->misc = 0x67;
    s->fcr = 0;
    s->vga_enable = 1;
    memset(s->sr, 0, sizeof(s->sr));
    memcpy(s->sr, vga_mode3_sr, sizeof(vga_mode3_sr));
    memset(s->gr, 0, sizeof(s->gr));
    memcpy(s->gr, vga_mode3_gr, sizeof(vga_mode3_gr));
    memcpy(s->cr, vga_mode3_cr, sizeof(s->cr));
    memcpy(s->ar, vga_mode3_ar, sizeof(s->ar));
    s->sr_index = s->gr_index = s->cr_index = 0;
    s->ar_index = 0x20;
    s->ar_flip = 0;
    s->dac_mask = 0xff;
    s->dac_read_index = s->dac_write_index = s->dac_sub = s->dac_state = 0;
    vga_default_palette(s);
    s->latch = 0;
    s->vbe_index = 0;
    memset(s->vbe_regs, 0, sizeof(s->vbe_regs));
    s->vbe_regs[VBE_ID] = VBE_ID0;
    s->vbe_regs[VBE_BPP] = 8;
    vbe_update_layout(s);
    memset(s->vram, 0, s->vram_size);
    memset(s->dirty, 0xff, (s->vram_size >> VGA_DIRTY_SHIFT) / 8u);
    s->font_dirty = true;
    vga_display_changed(s);
}

/* Read the VGA BIOS: a missing, empty, oversized or unsigned file is an
 * error naming the file. */
static int vga_load_rom(struct vga_state *s, const char *path, struct ixvm_errinfo *err)
{
    const char *name = s->ins->name;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "device %s: cannot open VGA BIOS '%s': %s",
                                name, path, strerror(errno));
    s->rom = malloc(VGA_ROM_MAX);
    size_t n = s->rom ? fread(s->rom, 1, VGA_ROM_MAX, f) : 0;
    bool too_big = n == VGA_ROM_MAX && fgetc(f) != EOF;
    bool io_err = ferror(f);
    fclose(f);
    if (!s->rom)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "device %s: out of memory for '%s'", name, path);
    if (io_err)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "device %s: cannot read VGA BIOS '%s'", name, path);
    if (too_big)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "device %s: VGA BIOS '%s' is larger than %u KiB",
                                name, path, VGA_ROM_MAX >> 10);
    if (n < 3 || s->rom[0] != 0x55 || s->rom[1] != 0xaa)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT,
                                "device %s: '%s' is not an option ROM (no 55 AA signature)", name, path);
    s->rom_size = (uint32_t)n;
    s->rom_bar_size = vga_pow2_at_least(n < 2048 ? 2048 : (uint32_t)n);
    return 0;
}

static int vga_read_config(struct vga_state *s, const struct dev_cfg *cfg, bool *legacy,
                           uint64_t *slot, struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "vram", "rom", "legacy", "slot", NULL };
    struct dev_ins *ins = s->ins;
    uint64_t vram;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "slot", 2, 1, 31, slot, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "vram", VGA_DEFAULT_VRAM, 1u << 20, 256u << 20, &vram, err);
    if (rc >= 0 && (vram & (vram - 1)))
        rc = ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "device %s: vram = %llu is not a power of two",
                              ins->name, (unsigned long long)vram);
    if (rc >= 0)
        rc = dev_cfg_get_bool(ins, cfg, "legacy", true, legacy, err);
    if (rc < 0)
        return rc;
    s->vram_size = (uint32_t)vram;
    const char *rom = dev_cfg_get_str(cfg, "rom", VGA_DEFAULT_ROM);
    if (rom[0] && strcmp(rom, "none"))
        return vga_load_rom(s, rom, err);
    return 0;
}

static void vga_destroy(void *state)
{
    struct vga_state *s = state;
    if (s->vram_ssm_registered)
        ssm_deregister(s->ins->ctx.ssm, "vga_vram", s->ins->instance);
    free(s->vram);
    free(s->dirty);
    free(s->rom);
    free(s->fb);
    free(s->text_shadow);
}

static int vga_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                    struct ixvm_errinfo *err)
{
    struct vga_state *s = ins->state;
    s->ins = ins;
    s->tm = ctx->tm;
    bool legacy;
    uint64_t slot;
    int rc = vga_read_config(s, cfg, &legacy, &slot, err);
    if (rc < 0)
        return rc;
    s->vram = calloc(1, s->vram_size);
    s->dirty = calloc(1, (s->vram_size >> VGA_DIRTY_SHIFT) / 8u);
    if (!s->vram || !s->dirty)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "device %s: cannot allocate %u bytes of VRAM",
                                ins->name, s->vram_size);
    rc = dev_map_ports(ins, VGA_PORT_BASE, VGA_PORT_COUNT, &vga_port_ops, "vga", err);
    if (rc >= 0)
        rc = dev_map_ports(ins, VBE_PORT_BASE, VBE_PORT_COUNT, &vbe_port_ops, "vbe", err);
    if (rc >= 0 && legacy && ctx->pgm)
        rc = dev_map_mmio(ins, VGA_WINDOW_BASE, VGA_WINDOW_SIZE, &vga_window_ops, "vga-window", err);
    if (rc >= 0 && ctx->ssm) {
        struct ssm_unit_desc d = {
            .name = "vga_vram", .instance = ins->instance, .version = 1, .min_version = 1,
            .save = vga_vram_save, .load = vga_vram_load, .user = s,
        };
        rc = ssm_register(ctx->ssm, &d);
        if (rc < 0)
            return ixvm_errinfo_set(err, rc, "device %s: cannot register the VRAM saved-state unit: %s",
                                    ins->name, ixvm_strerror(rc));
        s->vram_ssm_registered = true;
    }
    if (rc >= 0)
        vga_reset(s);
    /* On the machine's PCI bus when there is one (QEMU puts -vga std at
     * 00:02.0); device tests without a host bridge attach by hand. */
    struct pci_bus *bus = rc >= 0 ? pci_bus_find(ins) : NULL;
    if (bus)
        rc = vga_pci_attach(ins, bus, PCI_DEVFN((unsigned)slot, 0), err);
    return rc;
}

const struct dev_reg dev_vga = {
    .name = "vga",
    .desc = "VGA with Bochs VBE (PCI 1234:1111)",
    .state_size = sizeof(struct vga_state),
    .init = vga_init,
    .reset = vga_reset,
    .destroy = vga_destroy,
    .ssm_fields = vga_fields,
    .ssm_version = 1,
    .post_load = vga_post_load,
    .info = vga_info,
};

/* ---- frontend API ------------------------------------------------------- */

int vga_render(struct dev_ins *vga, struct vga_frame *out)
{
    dev_lock(vga);
    int rc = vga_render_locked(vga->state, out);
    dev_unlock(vga);
    return rc;
}

void vga_invalidate(struct dev_ins *vga)
{
    dev_lock(vga);
    vga_display_changed(vga->state);
    dev_unlock(vga);
}

uint64_t vga_change_count(struct dev_ins *vga)
{
    struct vga_state *s = vga->state;
    return atomic_load_explicit(&s->changes, memory_order_relaxed);
}

int vga_text_snapshot(struct dev_ins *vga, struct vga_text *out)
{
    dev_lock(vga);
    int rc = vga_text_snapshot_locked(vga->state, out);
    dev_unlock(vga);
    return rc;
}

void vga_mode_info(struct dev_ins *vga, struct vga_mode_info *out)
{
    dev_lock(vga);
    vga_mode_info_locked(vga->state, out);
    dev_unlock(vga);
}

size_t vga_text_row_string(const struct vga_text *t, unsigned row, char *buf, size_t len)
{
    if (!len)
        return 0;
    size_t n = 0;
    if (row < t->rows) {
        for (unsigned c = 0; c < t->cols && n + 1 < len; c++) {
            uint8_t ch = (uint8_t)t->cells[row * t->cols + c];
            buf[n++] = ch == 0 ? ' ' : (ch >= 0x20 && ch < 0x7f) ? (char)ch : '.';
        }
    }
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = 0;
    return n;
}
