/* SPDX-License-Identifier: MIT */
/*
 * VGA renderer: the current mode as an RGBA8888 frame plus the rectangle
 * that changed.  Text modes (8/9-dot cells, font from plane 2 per SR03,
 * blink and intensity per AR10, cursor per CR0A/0B/0E/0F with blink) are
 * drawn per cell against a shadow of what is on screen; VGA graphics
 * (16-colour planar, CGA 2-bpp interleaved, 256-colour chained or
 * unchained) and VBE 8/15/16/24/32 bpp are drawn per scanline, only where
 * the 4 KiB VRAM pages a line reads were written since the last frame (or
 * after a register change).  CRTC addressing (IBM VGA Technical Reference,
 * CRTC registers 09, 0C/0D, 13, 14, 17): start address, offset, byte /
 * word / dword mode, maximum scan line with double scanning, MA13/MA14
 * row-scan substitution for the CGA modes.  Lines that the CRTC repeats
 * (double scanning, 13h's two scans per row) are drawn once, so mode 13h
 * is a 320x200 frame and text mode 3 is 720x400.
 *
 * Not drawn: line compare (split screen), horizontal pel panning, the
 * underline attribute.  Runs under the device lock (vga_render).
 */
#define LOG_GROUP LOG_GROUP_DEV_VGA
#include <stdlib.h>
#include <string.h>

#include "ixvm/log.h"
#include "devices/vga_int.h"

#define VGA_FRAME_NS 14286000ull    /* ~70 Hz, as the status-1 retrace */
#define VGA_BLANK_W 640u
#define VGA_BLANK_H 480u

static inline uint32_t vga_rgba(unsigned r, unsigned g, unsigned b)
{
    return (uint32_t)r | (uint32_t)g << 8 | (uint32_t)b << 16 | 0xff000000u;
}

/* What the CRTC shows, decoded once per frame. */
struct vga_geom {
    struct vga_mode_info mi;
    /* text */
    unsigned cols, rows, char_w, char_h;
    /* VGA text and graphics */
    uint32_t start;             /* CRTC start address (counter units) */
    uint32_t row_step;          /* counter units per character row */
    unsigned msl;               /* maximum scan line + 1 */
    bool collapse;              /* the rows' scan lines are identical */
};

static unsigned vga_vde(const struct vga_state *s)
{
    return (s->cr[0x12] | (s->cr[7] & 0x02) << 7 | (s->cr[7] & 0x40) << 3) + 1u;
}

static void vga_geom_decode(const struct vga_state *s, struct vga_geom *g)
{
    memset(g, 0, sizeof(*g));
    if (vga_vbe_enabled(s)) {
        g->mi = (struct vga_mode_info){ VGA_MODE_VBE, s->vbe_regs[VBE_XRES], s->vbe_regs[VBE_YRES],
                                        s->vbe_regs[VBE_BPP] };
        return;
    }
    g->start = (uint32_t)s->cr[0x0c] << 8 | s->cr[0x0d];
    g->row_step = (uint32_t)s->cr[0x13] * 2u;
    g->msl = (s->cr[9] & 0x1fu) + 1u;
    unsigned lines = vga_vde(s) >> ((s->cr[9] & 0x80) ? 1 : 0);
    unsigned clocks = s->cr[1] + 1u;
    if (!(s->ar_index & 0x20) || (s->sr[1] & 0x20)) {
        g->mi = (struct vga_mode_info){ VGA_MODE_BLANK, VGA_BLANK_W, VGA_BLANK_H, 0 };
        return;
    }
    if (!(s->ar[0x10] & 0x01)) {
        g->char_w = (s->sr[1] & 1) ? 8 : 9;
        g->char_h = g->msl;
        g->cols = clocks > VGA_TEXT_MAX_COLS ? VGA_TEXT_MAX_COLS : clocks;
        g->rows = lines / g->char_h;
        if (g->rows > VGA_TEXT_MAX_ROWS)
            g->rows = VGA_TEXT_MAX_ROWS;
        g->mi = (struct vga_mode_info){ VGA_MODE_TEXT, g->cols * g->char_w, g->rows * g->char_h, 0 };
    } else {
        g->collapse = (s->cr[0x17] & 3) == 3;
        unsigned h = g->collapse ? lines / g->msl : lines;
        unsigned w = clocks * 8u;
        unsigned bpp = 4;
        if (s->gr[5] & 0x40) {
            w /= 2;
            bpp = 8;
        } else if (s->gr[5] & 0x20) {
            bpp = 2;
        }
        g->mi = (struct vga_mode_info){ VGA_MODE_GFX, w, h, bpp };
    }
    if (!g->mi.width || !g->mi.height)
        g->mi = (struct vga_mode_info){ VGA_MODE_BLANK, VGA_BLANK_W, VGA_BLANK_H, 0 };
}

void vga_mode_info_locked(struct vga_state *s, struct vga_mode_info *out)
{
    struct vga_geom g;
    vga_geom_decode(s, &g);
    *out = g.mi;
}

/* Memory address (plane offset) of CRTC counter value c: dword, word
 * (MA0 from MA13 or MA15 per CR17 bit 5) or byte mode. */
static inline uint32_t vga_crtc_addr(const struct vga_state *s, uint32_t c)
{
    if (s->cr[0x14] & 0x40)
        return (c << 2) & 0xffff;
    if (!(s->cr[0x17] & 0x40))
        return ((c << 1) | ((c >> ((s->cr[0x17] & 0x20) ? 15 : 13)) & 1)) & 0xffff;
    return c & 0xffff;
}

/* ---- palettes ------------------------------------------------------------ */

static void vga_build_dac(struct vga_state *s)
{
    bool dac8 = s->vbe_regs[VBE_ENABLE] & VBE_EN_8BIT_DAC;
    for (unsigned i = 0; i < 256; i++) {
        const uint8_t *p = &s->palette[(i & s->dac_mask) * 3u];
        if (dac8)
            s->pal_rgba[i] = vga_rgba(p[0], p[1], p[2]);
        else
            s->pal_rgba[i] = vga_rgba((p[0] & 0x3fu) << 2 | (p[0] & 0x3fu) >> 4,
                                      (p[1] & 0x3fu) << 2 | (p[1] & 0x3fu) >> 4,
                                      (p[2] & 0x3fu) << 2 | (p[2] & 0x3fu) >> 4);
    }
}

/* The 16 attribute-controller colours (AR00-0F, AR10 bit 7, AR14). */
static void vga_build_pal16(const struct vga_state *s, uint32_t pal16[16])
{
    for (unsigned v = 0; v < 16; v++) {
        unsigned idx = s->ar[v & 0x0f];
        if (s->ar[0x10] & 0x80)
            idx = (idx & 0x0f) | (s->ar[0x14] & 0x03u) << 4;
        idx = (idx & 0x3f) | (s->ar[0x14] & 0x0cu) << 4;
        pal16[v] = s->pal_rgba[idx];
    }
}

static bool vga_range_dirty(const struct vga_state *s, uint32_t lo, uint32_t hi)
{
    if (hi > s->vram_size)
        hi = s->vram_size;
    if (lo >= hi)
        return false;
    for (uint32_t pg = lo >> VGA_DIRTY_SHIFT; pg <= (hi - 1) >> VGA_DIRTY_SHIFT; pg++)
        if (s->dirty[pg >> 3] & (1u << (pg & 7)))
            return true;
    return false;
}

/* ---- text ---------------------------------------------------------------- */

static uint32_t vga_font_offset(unsigned map)
{
    return (map & 3) * 0x4000u + (map >> 2) * 0x2000u;
}

struct vga_text_ctx {
    uint32_t font_a, font_b;        /* plane-2 offsets of the two maps */
    uint32_t pal16[16];
    bool blink_on, cursor_on;       /* phases */
    int cursor_idx;                 /* cell index or -1 */
    unsigned cur_start, cur_end;
};

static void vga_text_cell(const struct vga_state *s, const struct vga_geom *g, unsigned row,
                          unsigned col, uint8_t *ch, uint8_t *attr)
{
    uint32_t a = vga_crtc_addr(s, g->start + row * g->row_step + col);
    *ch = s->vram[a * 4u];
    *attr = s->vram[a * 4u + 1];
}

static int vga_cursor_cell(const struct vga_state *s, const struct vga_geom *g)
{
    uint32_t cur = (uint32_t)s->cr[0x0e] << 8 | s->cr[0x0f];
    if ((s->cr[0x0a] & 0x20) || cur < g->start || !g->row_step)
        return -1;
    uint32_t d = cur - g->start;
    uint32_t row = d / g->row_step, col = d % g->row_step;
    if (row >= g->rows || col >= g->cols)
        return -1;
    return (int)(row * g->cols + col);
}

static void vga_draw_cell(struct vga_state *s, const struct vga_geom *g, const struct vga_text_ctx *t,
                          unsigned row, unsigned col, uint8_t ch, uint8_t attr, bool cursor)
{
    unsigned fg = attr & 0x0f, bg = attr >> 4;
    if (s->ar[0x10] & 0x08) {       /* blink enable: bit 7 blinks instead of bright bg */
        bg &= 7;
        if ((attr & 0x80) && !t->blink_on)
            fg = bg;
    }
    uint32_t cfg = t->pal16[fg], cbg = t->pal16[bg];
    uint32_t font = (attr & 0x08) ? t->font_a : t->font_b;
    bool dup9 = g->char_w == 9 && (s->ar[0x10] & 0x04) && ch >= 0xc0 && ch <= 0xdf;
    uint32_t *dst = (uint32_t *)(s->fb + ((size_t)row * g->char_h * s->fb_w + col * g->char_w) * 4u);
    for (unsigned y = 0; y < g->char_h; y++, dst += s->fb_w) {
        uint32_t glyph = s->vram[((font + ch * 32u + y) & 0xffff) * 4u + 2];
        if (cursor && y >= t->cur_start && y <= t->cur_end)
            glyph = 0x1ff;
        else if (g->char_w == 9)
            glyph = glyph << 1 | (dup9 ? glyph & 1 : 0);
        else
            glyph <<= 1;
        for (unsigned x = 0; x < g->char_w; x++)
            dst[x] = (glyph >> (8 - x)) & 1 ? cfg : cbg;
    }
}

static void vga_text_ctx_init(struct vga_state *s, const struct vga_geom *g, struct vga_text_ctx *t)
{
    uint8_t sr3 = s->sr[3];
    t->font_a = vga_font_offset(((sr3 >> 2) & 3) | ((sr3 >> 3) & 4));
    t->font_b = vga_font_offset((sr3 & 3) | ((sr3 >> 2) & 4));
    vga_build_pal16(s, t->pal16);
    uint64_t frame = tm_virtual_now(s->tm) / VGA_FRAME_NS;
    t->cursor_on = !((frame >> 4) & 1);
    t->blink_on = !((frame >> 5) & 1);
    t->cursor_idx = vga_cursor_cell(s, g);
    t->cur_start = s->cr[0x0a] & 0x1f;
    t->cur_end = s->cr[0x0b] & 0x1f;
}

/* Draw the cells whose (char, attr, cursor, blink) changed; returns the
 * bounding box of what was drawn in *r (w = 0: nothing). */
static void vga_render_text(struct vga_state *s, const struct vga_geom *g, bool full, struct vga_rect *r)
{
    struct vga_text_ctx t;
    vga_text_ctx_init(s, g, &t);
    unsigned cells = g->cols * g->rows;
    if (s->shadow_cells != cells || s->font_dirty)
        full = true;
    if (!s->text_shadow) {
        s->text_shadow = calloc(VGA_TEXT_MAX_COLS * VGA_TEXT_MAX_ROWS, sizeof(uint32_t));
        if (!s->text_shadow)
            return;
    }
    s->shadow_cells = cells;
    unsigned x0 = g->cols, y0 = g->rows, x1 = 0, y1 = 0;
    for (unsigned row = 0; row < g->rows; row++) {
        for (unsigned col = 0; col < g->cols; col++) {
            uint8_t ch, attr;
            vga_text_cell(s, g, row, col, &ch, &attr);
            unsigned i = row * g->cols + col;
            bool cursor = (int)i == t.cursor_idx && t.cursor_on;
            bool blinking = (s->ar[0x10] & 0x08) && (attr & 0x80) && !t.blink_on;
            uint32_t key = ch | (uint32_t)attr << 8 | (uint32_t)cursor << 16 | (uint32_t)blinking << 17 |
                           1u << 18;   /* never 0: a zeroed shadow is "unknown" */
            if (!full && s->text_shadow[i] == key)
                continue;
            s->text_shadow[i] = key;
            vga_draw_cell(s, g, &t, row, col, ch, attr, cursor);
            x0 = col < x0 ? col : x0;
            x1 = col + 1 > x1 ? col + 1 : x1;
            y0 = row < y0 ? row : y0;
            y1 = row + 1;
        }
    }
    if (x1 > x0)
        *r = (struct vga_rect){ x0 * g->char_w, y0 * g->char_h, (x1 - x0) * g->char_w, (y1 - y0) * g->char_h };
}

int vga_text_snapshot_locked(struct vga_state *s, struct vga_text *out)
{
    struct vga_geom g;
    vga_geom_decode(s, &g);
    if (g.mi.kind != VGA_MODE_TEXT)
        return IXVM_ERR_INVALID_STATE;
    out->cols = (uint16_t)g.cols;
    out->rows = (uint16_t)g.rows;
    for (unsigned row = 0; row < g.rows; row++) {
        for (unsigned col = 0; col < g.cols; col++) {
            uint8_t ch, attr;
            vga_text_cell(s, &g, row, col, &ch, &attr);
            out->cells[row * g.cols + col] = (uint16_t)(ch | attr << 8);
        }
    }
    int cur = vga_cursor_cell(s, &g);
    out->cursor_visible = cur >= 0 && (s->cr[0x0a] & 0x1f) <= (s->cr[0x0b] & 0x1f);
    out->cursor_col = cur >= 0 ? (uint16_t)(cur % g.cols) : 0;
    out->cursor_row = cur >= 0 ? (uint16_t)(cur / g.cols) : 0;
    return 0;
}

/* ---- VGA graphics --------------------------------------------------------- */

/* Plane offset of the first byte of output line y (row scan substitution
 * for the CGA modes: CR17 bits 0/1 put row-scan bits 0/1 on MA13/MA14). */
static uint32_t vga_gfx_line_counter(const struct vga_geom *g, unsigned y, unsigned *rs)
{
    unsigned row = g->collapse ? y : y / g->msl;
    *rs = g->collapse ? 0 : y % g->msl;
    return g->start + row * g->row_step;
}

static inline uint32_t vga_gfx_addr(const struct vga_state *s, uint32_t c, unsigned rs)
{
    uint32_t a = vga_crtc_addr(s, c);
    if (!(s->cr[0x17] & 1))
        a = (a & ~0x2000u) | (rs & 1u) << 13;
    if (!(s->cr[0x17] & 2))
        a = (a & ~0x4000u) | (rs & 2u) << 13;
    return a;
}

static bool vga_gfx_line_dirty(const struct vga_state *s, const struct vga_geom *g, uint32_t c,
                               unsigned rs, unsigned clocks)
{
    uint32_t a0 = vga_gfx_addr(s, c, rs), a1 = vga_gfx_addr(s, c + clocks - 1, rs);
    if (a1 < a0)                    /* wrapped at 64 KiB: check everything */
        return vga_range_dirty(s, 0, VGA_PLANAR_SIZE);
    return vga_range_dirty(s, a0 * 4u, a1 * 4u + 4u);
}

static void vga_draw_gfx_line(const struct vga_state *s, const struct vga_geom *g, const uint32_t pal16[16],
                              uint32_t *dst, uint32_t c, unsigned rs)
{
    unsigned w = g->mi.width;
    uint8_t plane_en = s->ar[0x12] & 0x0f;
    if (g->mi.bpp == 8) {
        for (unsigned x = 0; x < w; x += 4) {
            const uint8_t *p = &s->vram[vga_gfx_addr(s, c++, rs) * 4u];
            for (unsigned k = 0; k < 4 && x + k < w; k++)
                dst[x + k] = s->pal_rgba[p[k]];
        }
        return;
    }
    for (unsigned x = 0; x < w; x += 8) {
        const uint8_t *p = &s->vram[vga_gfx_addr(s, c++, rs) * 4u];
        for (unsigned k = 0; k < 8 && x + k < w; k++) {
            unsigned v;
            if (g->mi.bpp == 2) {           /* CGA: plane 0 then plane 1, 2 bits each */
                uint8_t b = p[k < 4 ? 0 : 1];
                unsigned sh = 6 - 2 * (k & 3);
                v = (b >> sh) & 3;
            } else {
                unsigned bit = 7 - k;
                v = ((p[0] >> bit) & 1) | ((p[1] >> bit) & 1) << 1 | ((p[2] >> bit) & 1) << 2 |
                    ((p[3] >> bit) & 1) << 3;
                v &= plane_en;
            }
            dst[x + k] = pal16[v];
        }
    }
}

static void vga_render_gfx(struct vga_state *s, const struct vga_geom *g, bool full, struct vga_rect *r)
{
    uint32_t pal16[16];
    vga_build_pal16(s, pal16);
    unsigned clocks = g->mi.bpp == 8 ? (g->mi.width + 3) / 4 : (g->mi.width + 7) / 8;
    int y0 = -1, y1 = -1;
    for (unsigned y = 0; y < g->mi.height; y++) {
        unsigned rs;
        uint32_t c = vga_gfx_line_counter(g, y, &rs);
        if (!full && !vga_gfx_line_dirty(s, g, c, rs, clocks))
            continue;
        vga_draw_gfx_line(s, g, pal16, (uint32_t *)(s->fb + (size_t)y * s->fb_w * 4u), c, rs);
        if (y0 < 0)
            y0 = (int)y;
        y1 = (int)y + 1;
    }
    if (y0 >= 0)
        *r = (struct vga_rect){ 0, (uint32_t)y0, g->mi.width, (uint32_t)(y1 - y0) };
}

/* ---- VBE -------------------------------------------------------------------- */

static void vbe_line_8(const struct vga_state *s, const uint8_t *src, uint32_t *dst, unsigned w)
{
    for (unsigned x = 0; x < w; x++)
        dst[x] = s->pal_rgba[src[x]];
}

static void vbe_line_15(const struct vga_state *s, const uint8_t *src, uint32_t *dst, unsigned w)
{
    for (unsigned x = 0; x < w; x++) {
        unsigned v = src[2 * x] | src[2 * x + 1] << 8;
        unsigned r = (v >> 10) & 31, g = (v >> 5) & 31, b = v & 31;
        dst[x] = vga_rgba(r << 3 | r >> 2, g << 3 | g >> 2, b << 3 | b >> 2);
    }
}

static void vbe_line_16(const struct vga_state *s, const uint8_t *src, uint32_t *dst, unsigned w)
{
    for (unsigned x = 0; x < w; x++) {
        unsigned v = src[2 * x] | src[2 * x + 1] << 8;
        unsigned r = v >> 11, g = (v >> 5) & 63, b = v & 31;
        dst[x] = vga_rgba(r << 3 | r >> 2, g << 2 | g >> 4, b << 3 | b >> 2);
    }
}

static void vbe_line_24(const struct vga_state *s, const uint8_t *src, uint32_t *dst, unsigned w)
{
    for (unsigned x = 0; x < w; x++)
        dst[x] = vga_rgba(src[3 * x + 2], src[3 * x + 1], src[3 * x]);
}

/* 0xXXRRGGBB in VRAM (bytes B, G, R, X) to bytes R, G, B, 0xff. */
static void vbe_line_32(const struct vga_state *s, const uint8_t *src, uint32_t *dst, unsigned w)
{
    for (unsigned x = 0; x < w; x++) {
        uint32_t v;
        memcpy(&v, src + 4 * x, 4);
        dst[x] = ((v >> 16) & 0xffu) | (v & 0xff00u) | (v & 0xffu) << 16 | 0xff000000u;
    }
}

typedef void vbe_line_fn(const struct vga_state *s, const uint8_t *src, uint32_t *dst, unsigned w);

static vbe_line_fn *vbe_line_for(unsigned bpp)
{
    switch (bpp) {
    case 15: return vbe_line_15;
    case 16: return vbe_line_16;
    case 24: return vbe_line_24;
    case 32: return vbe_line_32;
    default: return vbe_line_8;
    }
}

/* 4 bpp: 16-colour planar pixels (interleaved planes) through the
 * attribute controller, as the VGA planar modes. */
static void vbe_line_4(const struct vga_state *s, const uint8_t *src, uint32_t *dst, unsigned w)
{
    uint32_t pal16[16];
    vga_build_pal16(s, pal16);
    for (unsigned x = 0; x + 8 <= w; x += 8, src += 4) {
        for (unsigned k = 0; k < 8; k++) {
            unsigned bit = 7 - k;
            unsigned v = ((src[0] >> bit) & 1) | ((src[1] >> bit) & 1) << 1 | ((src[2] >> bit) & 1) << 2 |
                         ((src[3] >> bit) & 1) << 3;
            dst[x + k] = pal16[v & s->ar[0x12] & 0x0f];
        }
    }
}

static void vga_render_vbe(struct vga_state *s, const struct vga_geom *g, bool full, struct vga_rect *r)
{
    vbe_line_fn *fn = g->mi.bpp == 4 ? vbe_line_4 : vbe_line_for(g->mi.bpp);
    unsigned w = g->mi.width;
    uint32_t bytes = vga_vbe_line_bytes(s, w);
    int y0 = -1, y1 = -1;
    for (unsigned y = 0; y < g->mi.height; y++) {
        uint64_t off = s->vbe_start + (uint64_t)y * s->vbe_line_offset;
        uint32_t *dst = (uint32_t *)(s->fb + (size_t)y * s->fb_w * 4u);
        if (off + bytes > s->vram_size) {   /* panned past the end: black */
            if (!full)
                continue;
            memset(dst, 0, (size_t)w * 4u);
        } else {
            if (!full && !vga_range_dirty(s, (uint32_t)off, (uint32_t)(off + bytes)))
                continue;
            fn(s, s->vram + off, dst, w);
        }
        if (y0 < 0)
            y0 = (int)y;
        y1 = (int)y + 1;
    }
    if (y0 >= 0)
        *r = (struct vga_rect){ 0, (uint32_t)y0, w, (uint32_t)(y1 - y0) };
}

/* ---- the frame ---------------------------------------------------------------- */

static int vga_fb_resize(struct vga_state *s, uint32_t w, uint32_t h)
{
    size_t need = (size_t)w * h * 4u;
    if (need > s->fb_cap) {
        uint8_t *fb = realloc(s->fb, need);
        if (!fb)
            return IXVM_ERR_NO_MEMORY;
        s->fb = fb;
        s->fb_cap = need;
    }
    s->fb_w = w;
    s->fb_h = h;
    return 0;
}

int vga_render_locked(struct vga_state *s, struct vga_frame *out)
{
    struct vga_geom g;
    vga_geom_decode(s, &g);
    bool full = s->full_redraw;
    if (g.mi.width != s->fb_w || g.mi.height != s->fb_h || !s->fb) {
        int rc = vga_fb_resize(s, g.mi.width, g.mi.height);
        if (rc < 0)
            return rc;
        full = true;
    }
    struct vga_rect r = { 0, 0, 0, 0 };
    vga_build_dac(s);
    switch (g.mi.kind) {
    case VGA_MODE_TEXT: vga_render_text(s, &g, full, &r); break;
    case VGA_MODE_GFX: vga_render_gfx(s, &g, full, &r); break;
    case VGA_MODE_VBE: vga_render_vbe(s, &g, full, &r); break;
    default:
        if (full) {
            memset(s->fb, 0, (size_t)s->fb_w * s->fb_h * 4u);
            for (size_t i = 3; i < (size_t)s->fb_w * s->fb_h * 4u; i += 4)
                s->fb[i] = 0xff;
            r = (struct vga_rect){ 0, 0, s->fb_w, s->fb_h };
        }
        break;
    }
    if (full && g.mi.kind != VGA_MODE_BLANK)
        r = (struct vga_rect){ 0, 0, g.mi.width, g.mi.height };
    if (g.mi.kind != VGA_MODE_TEXT)
        s->shadow_cells = 0;        /* back to text later: redraw every cell */
    memset(s->dirty, 0, (s->vram_size >> VGA_DIRTY_SHIFT) / 8u);
    s->full_redraw = false;
    s->font_dirty = false;
    out->width = s->fb_w;
    out->height = s->fb_h;
    out->stride = s->fb_w * 4u;
    out->pixels = s->fb;
    out->dirty = r;
    out->change_count = atomic_load_explicit(&s->changes, memory_order_relaxed);
    return 0;
}
