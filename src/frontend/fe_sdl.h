/* SPDX-License-Identifier: MIT */
/*
 * The SDL2 window (fe_sdl.c, docs/frontend.md): the guest screen scaled
 * with its aspect kept, keyboard and mouse into the PS/2 devices, hotkeys
 * for pause, reset, screenshot, full screen and a status overlay.  Events
 * are polled from a uv_timer at the refresh rate on the loop thread; the
 * texture is updated only in the rectangle the VGA renderer reports dirty.
 */
#ifndef IXVM_FE_SDL_H
#define IXVM_FE_SDL_H

#include "frontend/fe_runner.h"

/* Open the window for r (r->vga may be NULL: a blank window says so). */
int fe_sdl_open(struct fe_runner *r, struct ixvm_errinfo *err) IXVM_WUR;
/* Close the window and its timer; no-op without a window. */
void fe_sdl_close(struct fe_runner *r);
/* Free it once the loop ran the timer's close callback. */
void fe_sdl_free(struct fe_runner *r);
/* New status figures (4 Hz): the title and the overlay. */
void fe_sdl_status(struct fe_runner *r, const struct fe_status_info *si);

#endif
