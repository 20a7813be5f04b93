#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The SDL window under Xvfb (tests/window).

usage: window_cases.py IXVM DEMO_IMG PNGTOOL WM_CLOSE

Starts a private Xvfb, runs `ixvm DEMO_IMG --serial stdio` (a window, since
DISPLAY is set) and checks: the window appears with the title the runner
sets; its contents (xwd) are the guest's 320x200 frame scaled 2x (the
black pixels of the Mandelbrot, which the palette cycling never changes,
match the runner's own screenshot pixel for pixel); keys typed with xdotool
reach the guest (it echoes them on COM1 = stdout); a resize to 1000x400
keeps the aspect ratio (black bars left and right); Ctrl+Alt+Q powers the VM
off and the process exits 0.
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

IXVM, DEMO, PNGTOOL, WM_CLOSE = sys.argv[1:5]
TMP = tempfile.mkdtemp(prefix="ixvm-window-")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
    if not cond:
        failures.append(name)


def start_xvfb():
    r, w = os.pipe()
    x = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                         pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    num = b""
    while not num.endswith(b"\n"):
        c = os.read(r, 1)
        if not c:
            sys.exit("Xvfb did not start")
        num += c
    os.close(r)
    return x, ":" + num.decode().strip()


def xdo(env, *args):
    return subprocess.run(["xdotool"] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30).stdout.decode().strip()


def xwd(env, wid):
    """The window's pixels as (width, height, rows of (r, g, b))."""
    data = subprocess.run(["xwd", "-id", wid, "-silent"], env=env, stdout=subprocess.PIPE, timeout=30).stdout
    hdr = struct.unpack(">25I", data[:100])
    hsize, w, h, bo, bpp, bpl, ncolors = hdr[0], hdr[4], hdr[5], hdr[7], hdr[11], hdr[12], hdr[19]
    off = hsize + ncolors * 12
    rows = []
    for y in range(h):
        line = data[off + y * bpl: off + y * bpl + w * 4]
        fmt = "<" if bo == 0 else ">"
        px = struct.unpack(fmt + "%dI" % w, line) if bpp == 32 else []
        rows.append([((p >> 16) & 255, (p >> 8) & 255, p & 255) for p in px])
    return w, h, rows


class Guest:
    def __init__(self, env):
        self.p = subprocess.Popen([IXVM, DEMO, "--serial", "stdio", "--timeout", "120", "--screenshot",
                                   os.path.join(TMP, "end.png")], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""

    def wait_for(self, text, secs=30):
        os.set_blocking(self.p.stdout.fileno(), False)
        t0 = time.monotonic()
        while text not in self.out and time.monotonic() - t0 < secs:
            try:
                chunk = os.read(self.p.stdout.fileno(), 4096)
            except BlockingIOError:
                chunk = None
            if chunk:
                self.out += chunk
            else:
                time.sleep(0.02)
        return text in self.out


def main():
    xvfb, disp = start_xvfb()
    # The software renderer: no GL driver in the way of xwd captures, and no
    # dlopen'ed DRI driver whose exit-time allocations LSan could not name.
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
    lsan = (os.environ.get("LSAN_OPTIONS", "") + ":suppressions=" + supp).lstrip(":")
    env = dict(os.environ, DISPLAY=disp, SDL_RENDER_DRIVER="software", LSAN_OPTIONS=lsan)
    env.pop("WAYLAND_DISPLAY", None)
    g = Guest(env)
    try:
        check("the demo prompt on COM1", g.wait_for(b"demo> "), g.out[-200:])
        wid = xdo(env, "search", "--sync", "--name", "^ixvm")
        wid = wid.splitlines()[0] if wid else ""
        check("a window titled ixvm", wid != "", "xdotool search found nothing")
        if not wid:
            return
        title = xdo(env, "getwindowname", wid)
        check("title shows state, MIPS and the grab hint", "running" in title and "MIPS" in title
              and "grab" in title, title)
        time.sleep(0.3)
        w, h, rows = xwd(env, wid)
        check("window is the 320x200 frame scaled 2x", (w, h) == (640, 400), (w, h))
        # The runner's own frame of the same screen (Ctrl+Alt+S would also do;
        # the PNG tool reads the screenshot written at exit below).
        xdo(env, "windowfocus", "--sync", wid)
        xdo(env, "type", "--delay", "30", "win42")
        xdo(env, "key", "Return")
        check("typed keys reach the guest (echo on COM1)", g.wait_for(b"win42\r\n"), g.out[-200:])
        xdo(env, "windowsize", "--sync", wid, "1000", "400")
        time.sleep(0.5)
        w2, h2, rows2 = xwd(env, wid)
        left_black = all(rows2[y][x] == (0, 0, 0) for y in range(0, h2, 7) for x in range(0, 170, 5))
        lit = sum(1 for y in range(0, h2, 7) for x in range(200, 800, 5) if rows2[y][x] != (0, 0, 0))
        check("a resize keeps the aspect (black bars, picture in the middle)",
              (w2, h2) == (1000, 400) and left_black and lit > 1000, (w2, h2, left_black, lit))
        xdo(env, "windowfocus", "--sync", wid)
        xdo(env, "key", "ctrl+alt+q")
        try:
            g.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            g.p.kill()
            g.p.wait()
        err = g.p.stderr.read().decode("utf-8", "replace")
        check("Ctrl+Alt+Q powers off, exit status 0", g.p.returncode == 0, (g.p.returncode, err[-500:]))
        # The interior of the Mandelbrot (colour 0) never cycles: the window's
        # black pixels there must be the screenshot's black pixels.
        pr = subprocess.run([PNGTOOL, "--mask", os.path.join(TMP, "end.png")], stdout=subprocess.PIPE)
        mask = pr.stdout.decode().split()
        if pr.returncode == 0 and len(mask) == 200 and h == 400:
            diff = 0
            for y in range(0, 184, 2):
                for x in range(0, 320, 2):
                    if 150 <= x < 180 and 80 <= y < 110:
                        continue           # the mouse cursor's neighbourhood
                    win_black = rows[2 * y][2 * x] == (0, 0, 0)
                    diff += win_black != (mask[y][x] == "0")
            check("window pixels = the guest frame scaled 2x (black mask)", diff == 0, "%d differ" % diff)
        else:
            check("screenshot mask", False, pr.returncode)
        # Closing the window (what a window manager's close button sends)
        # powers the VM off: exit status 0.
        g = Guest(env)
        check("second run: the demo prompt", g.wait_for(b"demo> "), g.out[-200:])
        wid = xdo(env, "search", "--sync", "--name", "^ixvm")
        wid = wid.splitlines()[0] if wid else ""
        subprocess.run([WM_CLOSE, wid], env=env, timeout=30)
        try:
            g.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            g.p.kill()
            g.p.wait()
        check("closing the window powers off, exit status 0", g.p.returncode == 0, g.p.returncode)
    finally:
        if g.p.poll() is None:
            g.p.kill()
        xvfb.terminate()
        xvfb.wait()
    if failures:
        sys.exit("%d failed: %s" % (len(failures), ", ".join(failures)))
    print("all window cases passed")


main()
