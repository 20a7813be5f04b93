#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot SeaBIOS headless and check its debug output (tests/boot).

Runs `ixvm --bios BIOS --debugcon stdio --timeout 60`, reads the debug
console until the SeaBIOS banner and the boot-failure text appear, prints
how long each took, and checks that the halted guest then leaves the host
nearly idle (halted vCPUs sleep until a timer or an interrupt).  The guest
waits forever after "No bootable device." (etc/boot-fail-wait = -1), so
the test stops ixvm itself once it has seen what it needs.
"""
import os
import subprocess
import sys
import tempfile
import time

BANNER = b"SeaBIOS (version "
FAIL = b"No bootable device."
STEPS = [b"Running on QEMU (i440fx)", b"Found QEMU fw_cfg", b"QEMU fw_cfg DMA interface supported",
         b"=== PCI device probing ===", b"PCI: init bdf=00:00.0 id=8086:1237", b"PCI: init bdf=00:01.0 id=8086:7000",
         b"PCI: init bdf=00:01.3 id=8086:7113", b"Using pmtimer", b"e820 map has"]


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ixvm, bios = sys.argv[1], sys.argv[2]
    idle_limit = float(os.environ.get("IXVM_IDLE_LIMIT_PCT", "5"))
    t0 = time.monotonic()
    errf = tempfile.TemporaryFile()   # a file, not a pipe: stderr can never block ixvm
    p = subprocess.Popen([ixvm, "--bios", bios, "--debugcon", "stdio", "--timeout", "60"],
                         stdout=subprocess.PIPE, stderr=errf)
    out = b""
    t_banner = t_fail = None
    fd = p.stdout.fileno()
    while t_fail is None:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        out += chunk
        now = time.monotonic() - t0
        if t_banner is None and BANNER in out:
            t_banner = now
        if FAIL in out:
            t_fail = now
    ok = True
    if t_banner is None or t_fail is None:
        p.kill()
        p.wait()
        sys.stdout.write(out.decode(errors="replace"))
        errf.seek(0)
        sys.stdout.write(errf.read().decode(errors="replace"))
        print("FAIL: banner %s, boot failure text %s (exit %s)" % (t_banner is not None, t_fail is not None,
                                                                   p.returncode))
        return 1
    for s in STEPS:
        if s not in out:
            print("FAIL: missing %r in the debug output" % s)
            ok = False
    # Idle: the guest is in its HLT loop now.
    time.sleep(0.5)
    c0, w0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(3.0)
    c1, w1 = cpu_seconds(p.pid), time.monotonic()
    idle = 100.0 * (c1 - c0) / (w1 - w0)
    p.kill()
    p.wait()
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    if "Sanitizer" in err or "runtime error:" in err:
        print(err)
    print("banner after %.3f s, 'No bootable device.' after %.3f s, idle %.2f%% of a core"
          % (t_banner, t_fail, idle))
    if idle >= idle_limit:
        print("FAIL: a halted guest uses %.2f%% of a host core (limit %.1f%%)" % (idle, idle_limit))
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
