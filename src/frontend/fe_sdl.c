/* SPDX-License-Identifier: MIT */
/*
 * The SDL2 window (fe_sdl.h).  Runs on the loop thread only: a uv_timer at
 * 60 Hz polls SDL's events (SDL_PollEvent, never SDL_WaitEvent, so the loop
 * keeps serving timers and I/O) and redraws.  vga_render() reports the
 * rectangle that changed; only that part of the texture is uploaded
 * (SDL_UpdateTexture), and nothing is presented when nothing changed.  The
 * renderer takes the VGA lock only for the conversion, so an EMT is never
 * blocked by the window.
 *
 * Scaling: SDL_RenderSetLogicalSize keeps the guest's aspect ratio with
 * black bars, in output pixels (HiDPI: SDL_WINDOW_ALLOW_HIGHDPI); integer
 * scaling is an option.  Input: SDL scancodes -> fe_keys -> set-2 bytes for
 * the PS/2 keyboard; the mouse is grabbed on a click (relative mode) and
 * released with Ctrl+Alt.  Host hotkeys are Ctrl+Alt+key (not sent to the
 * guest): F full screen, P pause/resume, R reset, S screenshot, I status
 * overlay, Q quit (power off), G grab.
 */
#define LOG_GROUP LOG_GROUP_FE
#include <SDL.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/fe_keys.h"
#include "frontend/fe_sdl.h"
#include "ixvm/log.h"
#include "ixvm/ps2.h"
#include "ixvm/vga.h"
#include "ixvm/vmm.h"

#define FE_SDL_FRAME_MS 16            /* ~60 Hz */
#define FE_SDL_FORCE_MS 250           /* re-render at least this often (cursor blink) */
#define FE_SDL_MIN_W 640

struct fe_sdl {
    struct fe_runner *r;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    uint32_t tw, th;                  /* texture (guest screen) size */
    uv_timer_t timer;
    uint64_t last_count, last_render_ms;
    uint8_t buttons;
    bool grabbed, overlay, present, user_sized;
    char status[160];                 /* overlay text */
};

/* ---- the status overlay: a 3x5 font for the characters it shows ------------ */

/* Rows top to bottom, 3 bits each (bit 2 = left column). */
static const struct { char c; uint16_t rows; } fe_sdl_font[] = {
#define G(c, a, b, d, e, f) { c, (uint16_t)((a) << 12 | (b) << 9 | (d) << 6 | (e) << 3 | (f)) }
    G('0', 7, 5, 5, 5, 7), G('1', 2, 6, 2, 2, 7), G('2', 7, 1, 7, 4, 7), G('3', 7, 1, 7, 1, 7),
    G('4', 5, 5, 7, 1, 1), G('5', 7, 4, 7, 1, 7), G('6', 7, 4, 7, 5, 7), G('7', 7, 1, 1, 1, 1),
    G('8', 7, 5, 7, 5, 7), G('9', 7, 5, 7, 1, 7), G('.', 0, 0, 0, 0, 2), G(':', 0, 2, 0, 2, 0),
    G('|', 2, 2, 2, 2, 2), G('-', 0, 0, 7, 0, 0), G('A', 2, 5, 7, 5, 5), G('B', 6, 5, 6, 5, 6),
    G('C', 3, 4, 4, 4, 3), G('D', 6, 5, 5, 5, 6), G('E', 7, 4, 6, 4, 7), G('F', 7, 4, 6, 4, 4),
    G('G', 3, 4, 5, 5, 3), G('H', 5, 5, 7, 5, 5), G('I', 7, 2, 2, 2, 7), G('J', 1, 1, 1, 5, 2),
    G('K', 5, 5, 6, 5, 5), G('L', 4, 4, 4, 4, 7), G('M', 5, 7, 7, 5, 5), G('N', 6, 5, 5, 5, 5),
    G('O', 2, 5, 5, 5, 2), G('P', 6, 5, 6, 4, 4), G('Q', 2, 5, 5, 6, 3), G('R', 6, 5, 6, 5, 5),
    G('S', 3, 4, 2, 1, 6), G('T', 7, 2, 2, 2, 2), G('U', 5, 5, 5, 5, 7), G('V', 5, 5, 5, 5, 2),
    G('W', 5, 5, 7, 7, 5), G('X', 5, 5, 2, 5, 5), G('Y', 5, 5, 2, 2, 2), G('Z', 7, 1, 2, 4, 7),
    G('/', 1, 1, 2, 4, 4), G('(', 1, 2, 2, 2, 1), G(')', 4, 2, 2, 2, 4), G('?', 7, 1, 3, 0, 2),
#undef G
};

static uint16_t fe_sdl_glyph(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(fe_sdl_font); i++)
        if (fe_sdl_font[i].c == c)
            return fe_sdl_font[i].rows;
    return 0;                          /* blank for anything else */
}

/* Draw the overlay text in logical (guest) pixels at scale s. */
static void fe_sdl_draw_overlay(struct fe_sdl *w)
{
    int s = w->tw >= 640 ? 2 : 1;
    int len = (int)strlen(w->status);
    SDL_Rect bar = { 0, 0, (int)w->tw, 7 * s };
    SDL_SetRenderDrawBlendMode(w->ren, SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(w->ren, 0, 0, 0, 192);
    SDL_RenderFillRect(w->ren, &bar);
    SDL_SetRenderDrawColor(w->ren, 255, 255, 160, 255);
    for (int i = 0; i < len && (i + 1) * 4 * s < (int)w->tw; i++) {
        uint16_t g = fe_sdl_glyph(w->status[i]);
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 3; x++)
                if (g & (1u << ((4 - y) * 3 + (2 - x)))) {
                    SDL_Rect px = { (1 + i * 4 + x) * s, (1 + y) * s, s, s };
                    SDL_RenderFillRect(w->ren, &px);
                }
    }
}

/* ---- title, grab --------------------------------------------------------------- */

static void fe_sdl_title(struct fe_sdl *w, double mips)
{
    char t[256];
    const char *state = fe_runner_state_text(w->r->vm);
    snprintf(t, sizeof(t), "ixvm - %s - %.1f MIPS - %s", state, mips < 0 ? 0.0 : mips,
             w->grabbed ? "Ctrl+Alt releases the mouse" : "click to grab the mouse");
    SDL_SetWindowTitle(w->win, t);
}

static void fe_sdl_grab(struct fe_sdl *w, bool on)
{
    if (w->grabbed == on)
        return;
    w->grabbed = on && SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE) == 0;
    if (!on)
        (void)SDL_SetRelativeMouseMode(SDL_FALSE);
    w->buttons = 0;
    fe_sdl_title(w, w->r->mips);
}

/* ---- drawing --------------------------------------------------------------------- */

static int fe_sdl_resize_texture(struct fe_sdl *w, uint32_t width, uint32_t height)
{
    if (w->tex)
        SDL_DestroyTexture(w->tex);
    w->tex = SDL_CreateTexture(w->ren, SDL_PIXELFORMAT_RGBA32, SDL_TEXTUREACCESS_STREAMING, (int)width,
                               (int)height);
    if (!w->tex)
        return IXVM_ERR_NO_MEMORY;
    w->tw = width;
    w->th = height;
    (void)SDL_RenderSetLogicalSize(w->ren, (int)width, (int)height);
    bool full = SDL_GetWindowFlags(w->win) & SDL_WINDOW_FULLSCREEN_DESKTOP;
    if (!full && !w->user_sized) {
        /* Follow the guest's resolution, at least FE_SDL_MIN_W wide. */
        uint32_t s = width < FE_SDL_MIN_W ? (FE_SDL_MIN_W + width - 1) / width : 1;
        SDL_SetWindowSize(w->win, (int)(width * s), (int)(height * s));
    }
    return 0;
}

/* Upload what changed since the last frame; true when something did. */
static bool fe_sdl_update(struct fe_sdl *w, uint64_t now)
{
    struct dev_ins *vga = w->r->vga;
    if (!vga)
        return false;
    uint64_t cc = vga_change_count(vga);
    if (cc == w->last_count && now - w->last_render_ms < FE_SDL_FORCE_MS && w->tex)
        return false;
    struct vga_frame f;
    if (vga_render(vga, &f) < 0 || !f.width || !f.height)
        return false;
    w->last_count = f.change_count;
    w->last_render_ms = now;
    if ((f.width != w->tw || f.height != w->th || !w->tex) && fe_sdl_resize_texture(w, f.width, f.height) < 0)
        return false;
    if (!f.dirty.w || !f.dirty.h)
        return false;
    SDL_Rect rc = { (int)f.dirty.x, (int)f.dirty.y, (int)f.dirty.w, (int)f.dirty.h };
    const uint8_t *p = f.pixels + (size_t)f.dirty.y * f.stride + (size_t)f.dirty.x * 4;
    return SDL_UpdateTexture(w->tex, &rc, p, (int)f.stride) == 0;
}

static void fe_sdl_present(struct fe_sdl *w)
{
    SDL_SetRenderDrawColor(w->ren, 0, 0, 0, 255);
    SDL_RenderClear(w->ren);
    if (w->tex)
        SDL_RenderCopy(w->ren, w->tex, NULL, NULL);
    if (w->overlay && w->tw)
        fe_sdl_draw_overlay(w);
    SDL_RenderPresent(w->ren);
    w->present = false;
}

/* ---- input ----------------------------------------------------------------------- */

static void fe_sdl_key_to_guest(struct fe_sdl *w, SDL_Scancode sc, bool down)
{
    enum fe_key k = fe_key_from_sdl((int)sc);
    uint8_t buf[FE_KEY_MAX_BYTES];
    int n = k ? fe_key_scancode(k, down, FE_KBD_SET2, buf) : 0;
    if (n > 0 && w->r->kbc && ps2_kbd_put_scancodes(w->r->kbc, buf, (size_t)n) < 0)
        LOG_REL("keyboard refused a key event");
}

static void fe_sdl_screenshot(struct fe_sdl *w)
{
    char path[64];
    time_t t = time(NULL);
    strftime(path, sizeof(path), "ixvm-%Y%m%d-%H%M%S.png", localtime(&t));
    if (fe_runner_screenshot(w->r, path) == 0)
        fprintf(stderr, "ixvm: screenshot saved to %s\n", path);
}

static void fe_sdl_toggle_pause(struct fe_sdl *w)
{
    struct ixvm_errinfo err = { 0 };
    struct vm *vm = w->r->vm;
    int rc = vmm_get_state(vm) == VMM_STATE_SUSPENDED ? vmm_resume(vm, &err) : vmm_suspend(vm, &err);
    if (rc < 0)
        fprintf(stderr, "ixvm: %s\n", err.msg);
    fe_sdl_title(w, 0);
}

/* Ctrl+Alt+key: the window's own commands.  True when key was one. */
static bool fe_sdl_hotkey(struct fe_sdl *w, SDL_Keycode key)
{
    struct ixvm_errinfo err = { 0 };
    switch (key) {
    case SDLK_f: {
        bool full = SDL_GetWindowFlags(w->win) & SDL_WINDOW_FULLSCREEN_DESKTOP;
        (void)SDL_SetWindowFullscreen(w->win, full ? 0 : SDL_WINDOW_FULLSCREEN_DESKTOP);
        break;
    }
    case SDLK_p: fe_sdl_toggle_pause(w); break;
    case SDLK_r:
        if (vmm_reset(w->r->vm, &err) < 0)
            fprintf(stderr, "ixvm: %s\n", err.msg);
        break;
    case SDLK_s: fe_sdl_screenshot(w); break;
    case SDLK_i: w->overlay = !w->overlay; break;
    case SDLK_g: fe_sdl_grab(w, !w->grabbed); break;
    case SDLK_q: fe_runner_decide(w->r, FE_VERDICT_POWER_OFF, 0, "window closed"); break;
    default: return false;
    }
    w->present = true;
    return true;
}

static void fe_sdl_key(struct fe_sdl *w, const SDL_KeyboardEvent *ev)
{
    bool down = ev->type == SDL_KEYDOWN;
    /* The modifiers as they were at this event (SDL_GetModState() is the
     * state after the whole batch, wrong for quick synthetic chords). */
    uint16_t m = ev->keysym.mod;
    bool ctrl_alt = (m & KMOD_CTRL) && (m & KMOD_ALT);
    if (down && ctrl_alt && fe_sdl_hotkey(w, ev->keysym.sym))
        return;
    SDL_Keycode sym = ev->keysym.sym;
    bool mod_key = sym == SDLK_LCTRL || sym == SDLK_RCTRL || sym == SDLK_LALT || sym == SDLK_RALT;
    if (down && ctrl_alt && mod_key && w->grabbed)
        fe_sdl_grab(w, false);         /* Ctrl+Alt releases the mouse */
    fe_sdl_key_to_guest(w, ev->keysym.scancode, down);
}

static uint8_t fe_sdl_button_bit(uint8_t b)
{
    switch (b) {
    case SDL_BUTTON_LEFT: return PS2_BTN_LEFT;
    case SDL_BUTTON_RIGHT: return PS2_BTN_RIGHT;
    case SDL_BUTTON_MIDDLE: return PS2_BTN_MIDDLE;
    case SDL_BUTTON_X1: return PS2_BTN_4;
    case SDL_BUTTON_X2: return PS2_BTN_5;
    default: return 0;
    }
}

static void fe_sdl_mouse(struct fe_sdl *w, int dx, int dy, int dz)
{
    if (w->r->kbc && ps2_mouse_event(w->r->kbc, dx, dy, dz, w->buttons) < 0)
        LOG_REL("mouse refused an event");
}

static void fe_sdl_event(struct fe_sdl *w, const SDL_Event *e)
{
    switch (e->type) {
    case SDL_QUIT:
        fe_runner_decide(w->r, FE_VERDICT_POWER_OFF, 0, "window closed");
        break;
    case SDL_WINDOWEVENT:
        if (e->window.event == SDL_WINDOWEVENT_CLOSE)
            fe_runner_decide(w->r, FE_VERDICT_POWER_OFF, 0, "window closed");
        else if (e->window.event == SDL_WINDOWEVENT_FOCUS_LOST)
            fe_sdl_grab(w, false);
        else if (e->window.event == SDL_WINDOWEVENT_RESIZED)
            w->user_sized = true;
        w->present = true;
        break;
    case SDL_KEYDOWN:
    case SDL_KEYUP:
        fe_sdl_key(w, &e->key);
        break;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        if (!w->grabbed) {
            if (e->type == SDL_MOUSEBUTTONDOWN && e->button.button == SDL_BUTTON_LEFT)
                fe_sdl_grab(w, true);  /* the grabbing click is not the guest's */
            break;
        }
        if (e->type == SDL_MOUSEBUTTONDOWN)
            w->buttons |= fe_sdl_button_bit(e->button.button);
        else
            w->buttons &= (uint8_t)~fe_sdl_button_bit(e->button.button);
        fe_sdl_mouse(w, 0, 0, 0);
        break;
    case SDL_MOUSEMOTION:
        if (w->grabbed)
            fe_sdl_mouse(w, e->motion.xrel, e->motion.yrel, 0);
        break;
    case SDL_MOUSEWHEEL:
        if (w->grabbed)
            fe_sdl_mouse(w, 0, 0, e->wheel.direction == SDL_MOUSEWHEEL_FLIPPED ? e->wheel.y : -e->wheel.y);
        break;
    default:
        break;
    }
}

static void fe_sdl_tick(uv_timer_t *t)
{
    struct fe_sdl *w = t->data;
    SDL_Event e;
    while (SDL_PollEvent(&e))
        fe_sdl_event(w, &e);
    if (fe_sdl_update(w, uv_now(t->loop)) || w->present)
        fe_sdl_present(w);
}

/* ---- life cycle -------------------------------------------------------------------- */

int fe_sdl_open(struct fe_runner *r, struct ixvm_errinfo *err)
{
    /* The runner handles SIGINT/SIGTERM through libuv. */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot open a window: %s", SDL_GetError());
    struct fe_sdl *w = calloc(1, sizeof(*w));
    if (!w)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "out of memory");
    w->r = r;
    r->sdl = w;
    uint32_t flags = SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI |
                     (r->o->full_screen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
    w->win = SDL_CreateWindow("ixvm", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, 720, 400, flags);
    w->ren = w->win ? SDL_CreateRenderer(w->win, -1, 0) : NULL;
    if (!w->ren) {
        ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot open a window: %s", SDL_GetError());
        fe_sdl_close(r);
        return err ? err->rc : IXVM_ERR_IO;
    }
    (void)SDL_RenderSetIntegerScale(w->ren, r->o->integer_scale ? SDL_TRUE : SDL_FALSE);
    if (!r->vga)
        fprintf(stderr, "ixvm: --display sdl: the machine has no VGA; the window stays black\n");
    fe_sdl_title(w, 0);
    if (uv_timer_init(r->loop, &w->timer) == 0) {
        w->timer.data = w;
        fe_runner_handle_opened(r);
        (void)uv_timer_start(&w->timer, fe_sdl_tick, 0, FE_SDL_FRAME_MS);
    }
    w->present = true;
    return 0;
}

void fe_sdl_status(struct fe_runner *r, const struct fe_status_info *si)
{
    struct fe_sdl *w = r->sdl;
    if (!w)
        return;
    fe_sdl_title(w, si->mips);
    unsigned secs = (unsigned)(si->uptime_ms / 1000);
    snprintf(w->status, sizeof(w->status), "%02u:%02u:%02u | %.1f MIPS | %s", secs / 3600, secs / 60 % 60,
             secs % 60, si->mips < 0 ? 0.0 : si->mips, si->state ? si->state : "");
    if (w->overlay)
        w->present = true;
}

void fe_sdl_close(struct fe_runner *r)
{
    struct fe_sdl *w = r->sdl;
    if (!w)
        return;
    if (w->timer.data == w && !uv_is_closing((uv_handle_t *)&w->timer))
        uv_close((uv_handle_t *)&w->timer, fe_runner_handle_closed);
    /* The timer's memory is freed after its close callback ran. */
    if (w->tex)
        SDL_DestroyTexture(w->tex);
    if (w->ren)
        SDL_DestroyRenderer(w->ren);
    if (w->win)
        SDL_DestroyWindow(w->win);
    w->tex = NULL;
    w->ren = NULL;
    w->win = NULL;
    /* The video subsystem stays up until the process exits (fe_sdl_close
     * runs at the very end): quitting it unloads the X11/Wayland libraries,
     * and LeakSanitizer reports their exit-time allocations from modules it
     * can no longer name. */
}

/* Free the window state once the loop has closed its timer. */
void fe_sdl_free(struct fe_runner *r)
{
    free(r->sdl);
    r->sdl = NULL;
}
