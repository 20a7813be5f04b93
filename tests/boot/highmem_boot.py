#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot SeaBIOS with `-m 5G` and check the RAM above 4 GiB (tests/boot).

docs/board.md memory map: 3.5 GiB of RAM at 0 and the remaining 1.5 GiB
at 4 GiB.  SeaBIOS reads the fw_cfg etc/e820 file and prints each entry
("qemu/e820: ...") and its final e820 map on the debug console; both must
hold the RAM at 0x100000000 with the right length, and nothing may claim
the PCI hole.  The guest then waits forever after "No bootable device.",
so the test stops ixvm itself.
"""
import subprocess
import sys
import tempfile

FAIL = b"No bootable device."
EXPECT = [b"qemu/e820: addr 0x0000000000000000 len 0x00000000e0000000 [RAM]",
          b"qemu/e820: addr 0x0000000100000000 len 0x0000000060000000 [RAM]",
          b": 0000000100000000 - 0000000160000000 = 1 RAM"]


def main():
    ixvm, bios = sys.argv[1], sys.argv[2]
    errf = tempfile.TemporaryFile()   # a file, not a pipe: stderr can never block ixvm
    p = subprocess.Popen([ixvm, "-m", "5G", "--bios", bios, "--debugcon", "stdio", "--timeout", "60"],
                         stdout=subprocess.PIPE, stderr=errf)
    out = b""
    while FAIL not in out:
        chunk = p.stdout.read1(65536)
        if not chunk:
            break
        out += chunk
    p.kill()
    p.wait()
    missing = [e.decode() for e in EXPECT if e not in out]
    lines = [l for l in out.split(b"\n") if b"e820" in l or b" = " in l]
    hole = [l for l in lines if b"00000000e0000000 - " in l and b"RAM" in l]
    if FAIL not in out or missing or hole:
        sys.stdout.write(out.decode(errors="replace"))
        errf.seek(0)
        sys.stdout.write(errf.read().decode(errors="replace"))
        print("FAIL: boot end seen %s, missing %s, RAM in the PCI hole %s" % (FAIL in out, missing, hole))
        return 1
    sys.stdout.write(b"\n".join(lines).decode(errors="replace") + "\n")
    print("PASS: RAM above 4 GiB reported to SeaBIOS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
