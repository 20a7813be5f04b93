/* SPDX-License-Identifier: MIT */
/*
 * VGA + Bochs VBE ("QEMU -vga std", PCI 1234:1111): the frontend-facing API
 * and the board entry points (docs/vga.md).
 *
 * The device (src/devices/vga.c) emulates the standard VGA registers and
 * its four 64 KiB planes behind the 0xA0000-0xBFFFF window, the Bochs
 * "dispi" VBE extension with a linear framebuffer in PCI BAR0, QEMU's
 * std-VGA MMIO BAR2, and an expansion ROM (vgabios-stdvga.bin).  The
 * renderer turns the current mode into an RGBA8888 frame and reports the
 * rectangle that changed since the previous frame.
 *
 * Threads: every function here takes the device's instance lock itself, so
 * it may be called from the libuv loop (SDL redraw, screenshot) while EMTs
 * access the device.  Rendering holds the lock for the duration of the
 * conversion (a few ms at most for 1024x768x32, see docs/vga.md).
 */
#ifndef IXVM_VGA_H
#define IXVM_VGA_H

#include "ixvm/dev.h"
#include "ixvm/types.h"

struct pci_bus;

/*
 * Config keys: vram (bytes; power of two, 1..256 MiB, default 16 MiB),
 * rom (path of the VGA BIOS, default /usr/share/seabios/vgabios-stdvga.bin;
 * "none" or "" for no ROM: a missing or invalid file fails init with a
 * message naming the file), legacy (map the 0xA0000 window; default on),
 * slot (PCI slot, default 2: attached in init when pci_bus_find() finds
 * the machine's bus).
 */
extern const struct dev_reg dev_vga;

#define VGA_DEFAULT_ROM "/usr/share/seabios/vgabios-stdvga.bin"
#define VGA_PCI_VENDOR 0x1234
#define VGA_PCI_DEVICE 0x1111
#define VGA_MMIO_BAR_SIZE 4096u

/*
 * Put the device on a PCI bus at devfn (init does this by itself on the
 * machine's bus; tests and other boards call it): BAR0 = VRAM (prefetchable
 * LFB), BAR2 = 4 KiB MMIO (VGA ports at 0x400, dispi registers at 0x500,
 * QEMU extended registers at 0x600), expansion ROM = the VGA BIOS.
 */
int vga_pci_attach(struct dev_ins *vga, struct pci_bus *bus, uint8_t devfn,
                   struct ixvm_errinfo *err) IXVM_WUR;

/* A rendered frame.  pixels are RGBA8888 (bytes R, G, B, A; A = 255), owned
 * by the device and valid until the next vga_render() call on it.  The
 * dirty rectangle is the part that changed since the previous call (all of
 * it after a resolution change); w == 0 means nothing changed. */
struct vga_rect {
    uint32_t x, y, w, h;
};
struct vga_frame {
    uint32_t width, height;
    uint32_t stride;          /* bytes per row */
    const uint8_t *pixels;
    struct vga_rect dirty;
    uint64_t change_count;    /* vga_change_count() at render time */
};
/* Render the current screen (one renderer at a time per device). */
int vga_render(struct dev_ins *vga, struct vga_frame *out) IXVM_WUR;
/* Force the next render to redraw everything (e.g. a new window). */
void vga_invalidate(struct dev_ins *vga);
/* Bumped on every guest write that may change the picture (VRAM, palette,
 * display registers): a cheap "anything new?" check.  [any, atomic] */
uint64_t vga_change_count(struct dev_ins *vga);

/* Text mode contents.  cells[row * cols + col] = character | attribute << 8. */
#define VGA_TEXT_MAX_COLS 132
#define VGA_TEXT_MAX_ROWS 60
struct vga_text {
    uint16_t cols, rows;
    uint16_t cursor_col, cursor_row;
    bool cursor_visible;      /* enabled and on screen (ignores the blink phase) */
    uint16_t cells[VGA_TEXT_MAX_COLS * VGA_TEXT_MAX_ROWS];
};
/* IXVM_ERR_INVALID_STATE when the screen is not in a text mode. */
int vga_text_snapshot(struct dev_ins *vga, struct vga_text *out) IXVM_WUR;
/* Row `row` of a snapshot as a NUL-terminated string (len >= cols + 1
 * bytes): printable ASCII kept, NUL shown as ' ', everything else as '.';
 * trailing blanks are trimmed.  Returns the string length. */
size_t vga_text_row_string(const struct vga_text *t, unsigned row, char *buf, size_t len);

/* What the screen shows, for status lines and tests. */
enum vga_mode_kind { VGA_MODE_BLANK, VGA_MODE_TEXT, VGA_MODE_GFX, VGA_MODE_VBE };
struct vga_mode_info {
    enum vga_mode_kind kind;
    uint32_t width, height;   /* pixels */
    uint32_t bpp;             /* 4 (planar), 8, 15, 16, 24, 32; 0 for text */
};
void vga_mode_info(struct dev_ins *vga, struct vga_mode_info *out);

#endif
