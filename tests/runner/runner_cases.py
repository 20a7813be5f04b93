#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The headless runner against tiny guests (tests/runner, docs/frontend.md).

usage: runner_cases.py IXVM ROMDIR DEMO_IMG PNGTOOL

hello.rom says hello on COM1 and 0xE9 and echoes COM1 input; exit.rom
prints "bye" and writes 0x21 to isa-debug-exit; demo.img is the `make run`
guest (SeaBIOS boots it from --hda) that echoes PS/2 keys to COM1.  Every
case checks the exit status and what the runner wrote; runs stop as soon as
the expected output appears, so the whole file takes a few seconds.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

IXVM, ROMS, DEMO, PNGTOOL = sys.argv[1:5]
HELLO = os.path.join(ROMS, "hello.rom")
EXIT = os.path.join(ROMS, "exit.rom")
TMP = tempfile.mkdtemp(prefix="ixvm-runner-")
failures = []


def tmp(name):
    return os.path.join(TMP, name)


def run(args, stdin=subprocess.DEVNULL, timeout=60):
    t0 = time.monotonic()
    p = subprocess.run([IXVM, "--display", "none"] + args, stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), \
        time.monotonic() - t0


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def case(name, args, status, out=None, err=None, max_s=None, **kw):
    rc, so, se, secs = run(args, **kw)
    ok = rc == status and (out is None or out in so) and (err is None or err in se)
    ok = ok and (max_s is None or secs < max_s)
    check(name, ok, "status %d (want %d), %.2f s, stdout %r, stderr %r" % (rc, status, secs, so[-300:], se[-600:]))
    return rc, so, se


# ---- verdicts ------------------------------------------------------------------
case("expect matches -> 0, fast", ["--bios", HELLO, "--timeout", "30", "--expect", "READY>"], 0,
     out="ixvm runner guest: hello", err="matched expect pattern 'READY>'", max_s=10)
case("expect sees debugcon too", ["--bios", HELLO, "--timeout", "30", "--serial", "none",
                                  "--expect", "runner guest: hello"], 0)
case("fail-on -> 1", ["--bios", HELLO, "--timeout", "30", "--fail-on", "gue+st: h", "--expect", "NEVER"], 1,
     err="matched fail-on pattern 'gue+st: h'")
case("timeout -> 124", ["--bios", HELLO, "--timeout", "0.5", "--expect", "NEVER"], 124, err="timeout after 1 s")
case("debug exit passes through (0x21 << 1) | 1", ["--bios", EXIT], 67, out="bye", err="guest exit status 33")
case("expect before debug exit wins", ["--bios", EXIT, "--expect", "bye"], 0)
case("debug exit while expect pending", ["--bios", EXIT, "--expect", "NEVER"], 67)
case("quiet: nothing on stdout", ["--bios", HELLO, "--timeout", "30", "--expect", "READY", "--quiet"], 0)
rc, so, _ = case("quiet output check", ["--bios", HELLO, "--timeout", "30", "--expect", "READY", "--quiet"], 0)
check("quiet stdout empty", so == "", repr(so))

# ---- console log, JUnit -------------------------------------------------------------
log, junit = tmp("console.log"), tmp("junit.xml")
case("console log + junit on pass", ["--bios", HELLO, "--timeout", "30", "--expect", "READY> ",
                                     "--console-log", log, "--junit", junit, "--name", "hello-test"], 0)
data = open(log, "rb").read()
check("console log is serial + debugcon, byte for byte",
      data.count(b"ixvm runner guest: hello\r\n") == 2 and data.endswith(b"READY> "), repr(data))
tc = ET.parse(junit).getroot().find("testsuite/testcase")
check("junit pass case", tc is not None and tc.get("name") == "hello-test" and tc.find("failure") is None
      and "READY&gt;" not in (tc.findtext("system-out") or "") and "READY>" in (tc.findtext("system-out") or ""),
      open(junit).read())
case("junit on timeout", ["--bios", HELLO, "--timeout", "0.3", "--expect", "NEVER", "--junit", junit], 124)
f = ET.parse(junit).getroot().find("testsuite/testcase/failure")
check("junit timeout failure", f is not None and f.get("type") == "timeout" and "timeout" in f.get("message"),
      open(junit).read())

# ---- serial input: stdin pipe and TCP ---------------------------------------------------
p = subprocess.Popen([IXVM, "--display", "none", "--bios", HELLO, "--timeout", "30", "--expect", "ping-42"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(0.2)
p.stdin.write(b"ping-42\r")
p.stdin.flush()
so, se = p.communicate(timeout=60)
check("--serial stdio takes input from stdin", p.returncode == 0 and b"ping-42" in so, repr((so, se[-300:])))

with socket.socket() as s0:
    s0.bind(("127.0.0.1", 0))
    port = s0.getsockname()[1]
p = subprocess.Popen([IXVM, "--display", "none", "--bios", HELLO, "--timeout", "30", "--quiet",
                      "--serial", "tcp:127.0.0.1:%d" % port, "--expect", "tcp-echo-7"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
got = b""
for _ in range(100):
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        break
    except OSError:
        time.sleep(0.05)
c.sendall(b"tcp-echo-7")
c.settimeout(10)
try:
    while b"tcp-echo-7" not in got:
        chunk = c.recv(4096)
        if not chunk:
            break
        got += chunk
except OSError:
    pass
c.close()
so, se = p.communicate(timeout=60)
check("--serial tcp: server echoes through the guest", p.returncode == 0 and b"tcp-echo-7" in got,
      repr((p.returncode, got, se[-300:])))
rc, so, se, _ = run(["--bios", HELLO, "--serial", "tcp:127.0.0.1:%d" % port, "--serial",
                     "tcp:127.0.0.1:%d" % port, "--timeout", "5"])
check("one TCP endpoint for two ports -> 2, one line", rc == 2 and "already used" in se and se.count("\n") == 1,
      repr((rc, se)))
with socket.socket() as busy:
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    rc, so, se, _ = run(["--bios", HELLO, "--serial", "tcp:127.0.0.1:%d" % busy.getsockname()[1], "--timeout", "5"])
check("a TCP port in use -> 2, one line", rc == 2 and "cannot listen" in se and se.count("\n") == 1, repr((rc, se)))

# ---- signals --------------------------------------------------------------------------------
for sig, want in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
    junit2, shot = tmp("sig.xml"), tmp("sig.png")
    for f in (junit2, shot):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.Popen([IXVM, "--display", "none", "--hda", DEMO, "--timeout", "60", "--junit", junit2,
                          "--screenshot", shot, "--expect", "NEVER"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    buf = b""
    t0 = time.monotonic()
    while b"demo> " not in buf and time.monotonic() - t0 < 30:
        buf += os.read(p.stdout.fileno(), 4096)
    p.send_signal(sig)
    so, se = p.communicate(timeout=60)
    e = ET.parse(junit2).getroot().find("testsuite/testcase/error") if os.path.exists(junit2) else None
    check("%s -> %d, JUnit error and screenshot written" % (sig.name, want),
          p.returncode == want and e is not None and os.path.exists(shot), repr((p.returncode, se[-300:])))

# ---- the demo: --send types on the PS/2 keyboard, the guest echoes on COM1 ------------------------
shot = tmp("demo.png")
rc, so, se = case("--send into the demo, echo on COM1", ["--hda", DEMO, "--timeout", "60", "--expect", "demo> ",
                                                         "--send", "Hello ixvm42\\n", "--expect", "ixvm42\r\n",
                                                         "--screenshot", shot], 0, out="demo> Hello ixvm42")
pr = subprocess.run([PNGTOOL, "--info", shot], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
check("demo screenshot is a 320x200 graphics frame with many colours",
      pr.returncode == 0 and pr.stdout.startswith(b"320x200 ") and int(pr.stdout.split()[1]) > 20,
      repr((pr.stdout, pr.stderr)))
script = tmp("demo.script")
open(script, "w").write("# the demo's prompt, then keys\nexpect demo> \nsend abc\nsendkey ret\nexpect abc.$\n")
case("--input-script", ["--hda", DEMO, "--timeout", "60", "--input-script", script], 0, out="demo> abc\r\n")

if failures:
    print("%d failed: %s" % (len(failures), ", ".join(failures)))
    sys.exit(1)
print("all runner cases passed")
