/* SPDX-License-Identifier: MIT */
/*
 * wm_close WINDOW_ID: ask a window to close the way a window manager's close
 * button does (ICCCM 4.1.2.7: a WM_PROTOCOLS client message carrying
 * WM_DELETE_WINDOW), for the window test under a bare Xvfb, which has no
 * window manager to do it.
 */
#include <X11/Xlib.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: wm_close WINDOW_ID\n");
        return 2;
    }
    Display *d = XOpenDisplay(NULL);
    if (!d) {
        fprintf(stderr, "wm_close: cannot open the display\n");
        return 1;
    }
    XEvent ev = { 0 };
    ev.xclient.type = ClientMessage;
    ev.xclient.window = (Window)strtoul(argv[1], NULL, 0);
    ev.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
    ev.xclient.format = 32;
    ev.xclient.data.l[0] = (long)XInternAtom(d, "WM_DELETE_WINDOW", False);
    ev.xclient.data.l[1] = CurrentTime;
    int ok = XSendEvent(d, ev.xclient.window, False, NoEventMask, &ev);
    XSync(d, False);
    XCloseDisplay(d);
    return ok ? 0 : 1;
}
