#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Board behaviour with tiny hand-assembled 64 KiB ROMs (tests/boot).

Each case builds a ROM whose reset vector jumps to F000:0000 (the BIOS
alias below 1 MiB that the i440FX PAM registers show at power-on), runs
`ixvm --bios ROM` and checks the exit status and stderr:
  exit        isa-debug-exit: OUT 0xF4 of 0x21 -> status (0x21 << 1) | 1 = 67
  triple      a real-mode triple fault (IDT limit 0, INT3) with --no-reboot -> 1
  reboot      triple fault without --no-reboot resets the machine; CMOS byte
              0x40 (kept across resets) tells the second boot to exit 67
  port92      port 0x92 bit 0 resets the machine the same way
  port92-nr   port 0x92 reset with --no-reboot -> 1
  cf9         port 0xCF9 reset control (0x02 then 0x06) resets the machine
  hang        a guest that never exits: --timeout 1 -> 124
  irq         50 PIT interrupts through the PIC wake `sti; hlt`, then exit 67
"""
import os
import subprocess
import sys
import tempfile


def rom_with(code):
    rom = bytearray(b"\xf4" * 65536)
    rom[0:len(code)] = code
    rom[0x100:0x106] = bytes(6)                               # IDT descriptor: limit 0, base 0
    rom[0xfff0:0xfff5] = bytes([0xea, 0x00, 0x00, 0x00, 0xf0])  # jmp far f000:0000
    return bytes(rom)


EXIT67 = bytes([0xb0, 0x21, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd])   # mov al,0x21; out 0xf4,al; hlt; jmp
TRIPLE = bytes([0x2e, 0x0f, 0x01, 0x1e, 0x00, 0x01, 0xcc])   # lidt cs:[0x100]; int3
PORT92 = bytes([0xb0, 0x01, 0xe6, 0x92, 0xf4])               # mov al,1; out 0x92,al; hlt
CF9 = bytes([0xba, 0xf9, 0x0c, 0xb0, 0x02, 0xee, 0xb0, 0x06, 0xee, 0xf4])  # dx=0xcf9; out 2; out 6; hlt


def irq_program(ticks):
    """PIT channel 0 at 1 kHz -> IRQ0 -> IVT 8; `sti; hlt` until the handler
    counted `ticks` interrupts, then exit 67: interrupt delivery through the
    PIC, INTA, and halted vCPUs woken by interrupts."""
    def w16(v):
        return bytes([v & 0xff, v >> 8])
    pre = bytes([0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x70])   # cli; ds=ss=0; sp=0x7000
    init = bytes([0xb0, 0x11, 0xe6, 0x20, 0xb0, 0x08, 0xe6, 0x21,             # ICW1, ICW2 = 8
                  0xb0, 0x04, 0xe6, 0x21, 0xb0, 0x01, 0xe6, 0x21,             # ICW3, ICW4
                  0xb0, 0xfe, 0xe6, 0x21,                                     # mask all but IRQ0
                  0xb0, 0x34, 0xe6, 0x43, 0xb0, 0xa9, 0xe6, 0x40, 0xb0, 0x04, 0xe6, 0x40,  # 1193: 1 kHz
                  0xc6, 0x06, 0x00, 0x05, 0x00])                              # [0x500] = 0
    loop = bytes([0xfb, 0xf4, 0x80, 0x3e, 0x00, 0x05, ticks])               # sti; hlt; cmp byte [0x500],n
    loop += bytes([0x72, (-(len(loop) + 2)) & 0xff])                          # jb loop
    handler = bytes([0xfe, 0x06, 0x00, 0x05, 0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf])  # inc; EOI; iret
    ivt_len = 12
    h_off = len(pre) + ivt_len + len(init) + len(loop) + len(EXIT67)
    ivt = bytes([0xc7, 0x06, 0x20, 0x00]) + w16(h_off) + bytes([0xc7, 0x06, 0x22, 0x00]) + w16(0xf000)
    return pre + ivt + init + loop + EXIT67 + handler


def second_boot(reset_code):
    """CMOS[0x40] == 1 ? exit 67 : (CMOS[0x40] = 1; reset_code)."""
    head = bytes([0xb0, 0x40, 0xe6, 0x70, 0xe4, 0x71, 0x3c, 0x01])   # mov al,0x40; out 0x70; in al,0x71; cmp al,1
    mark = bytes([0xb0, 0x40, 0xe6, 0x70, 0xb0, 0x01, 0xe6, 0x71])   # CMOS[0x40] = 1
    body = mark + reset_code
    return head + bytes([0x74, len(body)]) + body + EXIT67       # je over body


CASES = {
    "exit": (EXIT67, [], 67, None),
    "triple": (TRIPLE + b"\xf4", ["--no-reboot"], 1, "blocks before the triple fault"),
    "reboot": (second_boot(TRIPLE), [], 67, None),
    "port92": (second_boot(PORT92), [], 67, None),
    "port92-nr": (PORT92, ["--no-reboot"], 1, "reset"),
    "cf9": (second_boot(CF9), [], 67, None),
    "hang": (bytes([0xeb, 0xfe]), ["--timeout", "1"], 124, None),
    "irq": (irq_program(50), [], 67, None),
}


def main():
    ixvm = sys.argv[1]
    names = sys.argv[2:] or list(CASES)
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for name in names:
            code, args, want, err_text = CASES[name]
            path = os.path.join(d, name + ".rom")
            with open(path, "wb") as f:
                f.write(rom_with(code))
            r = subprocess.run([ixvm, "--bios", path, "--timeout", "20"] + args, capture_output=True, timeout=60)
            err = r.stderr.decode(errors="replace")
            ok = r.returncode == want and (err_text is None or err_text in err)
            print("%-10s exit %3d (want %3d) %s" % (name, r.returncode, want, "ok" if ok else "FAIL"))
            if not ok or "Sanitizer" in err or "runtime error:" in err:
                print(err)
            if not ok:
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
