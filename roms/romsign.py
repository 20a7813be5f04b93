#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Finish an option ROM built by nasm (roms/CMakeLists.txt): check the size
is a multiple of 512 bytes, write the size byte, the PnP expansion header's
checksum and the last byte so that all bytes sum to 0 modulo 256 (PCI
Firmware Specification 3.0, 5.1; PnP BIOS Specification 1.0A, 3.3)."""
import sys


def main():
    src, dst = sys.argv[1], sys.argv[2]
    rom = bytearray(open(src, "rb").read())
    if len(rom) < 512 or len(rom) % 512 or len(rom) > 255 * 512 or rom[0:2] != b"\x55\xaa":
        sys.exit(f"romsign: {src}: not a ROM image a multiple of 512 bytes ({len(rom)} bytes)")
    rom[2] = len(rom) // 512
    pnp = rom[0x1a] | rom[0x1b] << 8
    if pnp:
        if rom[pnp:pnp + 4] != b"$PnP":
            sys.exit(f"romsign: {src}: no $PnP header at {pnp:#x}")
        size = rom[pnp + 5] * 16
        rom[pnp + 9] = 0
        rom[pnp + 9] = -sum(rom[pnp:pnp + size]) & 0xff
    rom[-1] = 0
    rom[-1] = -sum(rom) & 0xff
    open(dst, "wb").write(rom)


if __name__ == "__main__":
    main()
