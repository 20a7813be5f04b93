#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Direct kernel boot tests (docs/kernel-boot.md).

usage: kboot_test.py IXVM GUEST_DIR CASE

GUEST_DIR holds the test kernels built by tests/kboot/CMakeLists.txt:
mbkernel.elf (multiboot ELF), mbkernel.bin (multiboot a.out kludge) and
bzImage (a tiny Linux boot protocol 2.10 kernel).  The kernels print what
they were given on COM1 and exit through isa-debug-exit (port 0xF4) with
the N of "exit=N" on their command line; ixvm then exits (N << 1) | 1.
Each case checks the exit status and the facts printed against what it
passed in (module/initrd sizes and FNV-1a checksums, command lines).

Cases:
  mb-elf      --kernel mbkernel.elf, two modules with arguments -> 11
  mb-aout     --kernel mbkernel.bin (a.out kludge), a module whose string
              has an escaped comma -> 7
  bzimage     --kernel bzImage --initrd X --append ... -> 19
  bzimage-noinitrd                                       -> 1
  bad-files   missing, unreadable, empty, truncated and non-kernel files,
              a missing module: exit 2 and one line naming the file
  grub-iso    grub-mkrescue ISO (grub.cfg: serial console, multiboot
              /boot/mbkernel.elf exit=3) booted from the CD-ROM -> 7
  memtest     memtest86+ (Debian's ia32 image) with --kernel and a serial
              console on 8 MiB: stop once tests #0 to #4 (#2 in sanitizer builds)
              have completed
              with no errors (read from the VGA text screen)
  memtest-pass  (soak) a full pass on 64 MiB; prints the time it took
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

MEMTEST = "/boot/memtest86+ia32.bin"


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


class Fail(Exception):
    pass


def expect(cond, what, out=""):
    if not cond:
        raise Fail(what + ("\n--- serial output ---\n" + out if out else ""))


def run_ixvm(ixvm, args, tmp, timeout=60, mem="32"):
    serial = os.path.join(tmp, "serial.txt")
    cmd = [ixvm, "--display", "none", "-m", mem, "--serial", "file:" + serial,
           "--timeout", str(timeout)] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 30)
    out = open(serial, "rb").read().decode("latin-1") if os.path.exists(serial) else ""
    return p.returncode, out, p.stderr.decode("latin-1")


def write_random(path, size, seed):
    data = random.Random(seed).randbytes(size) if hasattr(random.Random, "randbytes") else \
        bytes(random.Random(seed).getrandbits(8) for _ in range(size))
    open(path, "wb").write(data)
    return data


def fact(out, line):
    return re.search("^" + re.escape(line) + "$", out, re.M) is not None


def case_mb_elf(ixvm, guests, tmp):
    kernel = os.path.join(guests, "mbkernel.elf")
    a = os.path.join(tmp, "a.bin")
    b = os.path.join(tmp, "b.bin")
    da = write_random(a, 12345, 1)
    db = write_random(b, 70000, 2)
    rc, out, err = run_ixvm(ixvm, ["--kernel", kernel, "--append", "exit=5 hello",
                                   "--initrd", f"{a} alpha beta,{b}"], tmp)
    expect(rc == 11, f"exit status {rc}, expected 11 (isa-debug-exit 5)\n{err}", out)
    for line in ["magic: 0x2badb002", "RESULT: PASS", f"cmdline: '{kernel} exit=5 hello'", "loader: ixvm",
                 "mods: 2", f"mod: 0 size {len(da)} fnv {fnv1a(da):#010x} aligned 1 string '{a} alpha beta'",
                 f"mod: 1 size {len(db)} fnv {fnv1a(db):#010x} aligned 1 string '{b}'"]:
        expect(fact(out, line), f"missing line: {line}", out)
    upper = int(re.search(r"^mem_upper: (\d+)$", out, re.M).group(1))
    expect(31 * 1024 - 1024 <= upper < 31 * 1024, f"mem_upper {upper} KiB for 32 MiB of RAM", out)


def case_mb_aout(ixvm, guests, tmp):
    kernel = os.path.join(guests, "mbkernel.bin")
    m = os.path.join(tmp, "m.bin")
    dm = write_random(m, 4097, 3)
    rc, out, err = run_ixvm(ixvm, ["--kernel", kernel, "--append", "aout exit=3", "--initrd", f"{m} x,,y"], tmp)
    expect(rc == 7, f"exit status {rc}, expected 7\n{err}", out)
    for line in ["RESULT: PASS", f"cmdline: '{kernel} aout exit=3'", "mods: 1",
                 f"mod: 0 size {len(dm)} fnv {fnv1a(dm):#010x} aligned 1 string '{m} x,y'"]:
        expect(fact(out, line), f"missing line: {line}", out)


def case_bzimage(ixvm, guests, tmp):
    kernel = os.path.join(guests, "bzImage")
    rd = os.path.join(tmp, "initrd.img")
    drd = write_random(rd, 300001, 4)
    rc, out, err = run_ixvm(ixvm, ["--kernel", kernel, "--initrd", rd, "--append", "console=ttyS0 exit=9"], tmp)
    expect(rc == 19, f"exit status {rc}, expected 19\n{err}", out)
    for line in ["bzkernel: hello", "RESULT: PASS", "cmdline: 'console=ttyS0 exit=9'", "protocol: 0x0000020a",
                 "real-cs: 0x00001020", "real-ds: 0x00001000", "heap_end_ptr: 0x0000fe00",
                 f"initrd: size {len(drd)} fnv {fnv1a(drd):#010x} aligned 1"]:
        expect(fact(out, line), f"missing line: {line}", out)


def case_bzimage_noinitrd(ixvm, guests, tmp):
    kernel = os.path.join(guests, "bzImage")
    rc, out, err = run_ixvm(ixvm, ["--kernel", kernel], tmp)
    expect(rc == 1, f"exit status {rc}, expected 1 (exit=0: no exit= word)\n{err}", out)
    for line in ["RESULT: PASS", "cmdline: ''", "initrd: size 0 fnv 0x00000000 aligned 1"]:
        expect(fact(out, line), f"missing line: {line}", out)


def case_bad_files(ixvm, guests, tmp):
    bz = open(os.path.join(guests, "bzImage"), "rb").read()
    trunc = os.path.join(tmp, "trunc-bz")
    open(trunc, "wb").write(bz[:1000])
    empty = os.path.join(tmp, "empty")
    open(empty, "wb").close()
    text = os.path.join(tmp, "text.txt")
    open(text, "w").write("not a kernel\n" * 100)
    elf = open(os.path.join(guests, "mbkernel.elf"), "rb").read()
    trunc_elf = os.path.join(tmp, "trunc.elf")
    open(trunc_elf, "wb").write(elf[:600])
    unreadable = os.path.join(tmp, "dir.img")
    os.mkdir(unreadable)
    missing = os.path.join(tmp, "missing.img")
    good = os.path.join(guests, "mbkernel.elf")
    cases = [
        (["--kernel", missing], "--kernel", missing, "No such file"),
        (["--kernel", empty], "--kernel", empty, "empty"),
        (["--kernel", text], "--kernel", text, "not a kernel"),
        (["--kernel", trunc], "--kernel", trunc, "truncated"),
        (["--kernel", trunc_elf], "--kernel", trunc_elf, "beyond the file end"),
        (["--kernel", unreadable], "--kernel", unreadable, ""),
        (["--kernel", good, "--initrd", missing + " args"], "--initrd", missing, "No such file"),
    ]
    for args, opt, name, why in cases:
        p = subprocess.run([ixvm, "--display", "none"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        lines = p.stderr.decode().strip().splitlines()
        expect(p.returncode == 2, f"{args}: exit {p.returncode}, expected 2; stderr {lines}")
        expect(len(lines) == 1 and lines[0].startswith(f"ixvm: {opt}: ") and f"'{name}'" in lines[0]
               and why in lines[0], f"{args}: stderr {lines!r} should be one line naming '{name}' ({why})")


def grub_cfg(kernel_args):
    return ("serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n"
            "set timeout=0\nmenuentry 'mbkernel' {\n"
            f"  multiboot /boot/mbkernel.elf {kernel_args}\n  boot\n}}\n")


def case_grub_iso(ixvm, guests, tmp):
    root = os.path.join(tmp, "iso")
    os.makedirs(os.path.join(root, "boot", "grub"))
    shutil.copy(os.path.join(guests, "mbkernel.elf"), os.path.join(root, "boot", "mbkernel.elf"))
    open(os.path.join(root, "boot", "grub", "grub.cfg"), "w").write(grub_cfg("exit=3"))
    iso = os.path.join(tmp, "mb.iso")
    p = subprocess.run(["grub-mkrescue", "-o", iso, root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    expect(p.returncode == 0, "grub-mkrescue failed:\n" + p.stdout.decode("latin-1"))
    rc, out, err = run_ixvm(ixvm, ["--set", f"IDE/Cdrom={iso}", "--set", "Boot/Order=d"], tmp, timeout=120)
    expect(rc == 7, f"exit status {rc}, expected 7 (isa-debug-exit 3)\n{err}", out)
    # GRUB 2 passes the arguments without the file name (QEMU and ixvm: both).
    for pat in [r"^cmdline: 'exit=3'$", r"^loader: GRUB 2", r"^RESULT: PASS$"]:
        expect(re.search(pat, out, re.M), f"no line matching {pat}", out)


MEMTEST_ERR = re.compile(r"Errors: *[1-9]")


def memtest_run(ixvm, tmp, mem, timeout, done):
    """Boot memtest86+ with a serial console and watch its VGA text screen
    (--dump-screen-text): its serial console gets the first full screen, but
    its periodic redraws wait for a run time computed with x87 floating
    point (lib/div64.c), which ixvm's CPU does not have (docs/kernel-boot.md).
    Poll until done(screen) is true (return the seconds it took and the
    screen), an error count appears, or the timeout."""
    serial = os.path.join(tmp, "memtest.txt")
    screen = os.path.join(tmp, "screen.txt")
    cmd = [ixvm, "--display", "none", "-m", mem, "--serial", "file:" + serial, "--kernel", MEMTEST,
           "--append", "console=ttyS0,115200", "--timeout", str(timeout), "--dump-screen-text", screen]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    text = ""
    try:
        while p.poll() is None:
            time.sleep(0.5)
            text = open(screen, encoding="latin-1").read() if os.path.exists(screen) else ""
            if MEMTEST_ERR.search(text):
                raise Fail("memtest86+ reports errors:\n" + text)
            if done(text):
                banner = open(serial, "rb").read() if os.path.exists(serial) else b""
                expect(b"Memtest86+ v" in banner, "no memtest86+ banner on the serial console", "")
                return time.monotonic() - t0, text
        raise Fail(f"memtest86+ ended (exit {p.returncode}) before the expected progress:\n"
                   + p.stderr.read().decode("latin-1")[-2000:] + "\n--- screen ---\n" + text)
    finally:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=30)


def memtest_test_number(text):
    m = re.search(r"Test #(\d+) ", text)
    return int(m.group(1)) if m else -1


def case_memtest(ixvm, guests, tmp):
    # Tests #0 to #N-1 have completed once #N runs (N = 5, or KBOOT_MEMTEST_TESTS:
    # sanitizer builds interpret ~20 times slower); Errors: 0 on the screen.
    n = int(os.environ.get("KBOOT_MEMTEST_TESTS", "5"))
    secs, text = memtest_run(ixvm, tmp, "8", 280, lambda t: memtest_test_number(t) >= n and "Errors: 0" in t)
    print(f"memtest86+ on 8 MiB: test #{memtest_test_number(text)} reached after {secs:.1f} s, no errors\n{text}")


def case_memtest_pass(ixvm, guests, tmp):
    secs, text = memtest_run(ixvm, tmp, "64", 7200, lambda t: re.search(r"Pass: *[1-9]", t) is not None)
    print(f"memtest86+: full pass on 64 MiB in {secs:.0f} s, no errors\n{text}")


CASES = {
    "mb-elf": case_mb_elf, "mb-aout": case_mb_aout, "bzimage": case_bzimage,
    "bzimage-noinitrd": case_bzimage_noinitrd, "bad-files": case_bad_files, "grub-iso": case_grub_iso,
    "memtest": case_memtest, "memtest-pass": case_memtest_pass,
}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        sys.exit(__doc__)
    ixvm, guests, name = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="kboot-") as tmp:
        try:
            CASES[name](ixvm, guests, tmp)
        except Fail as e:
            print(f"FAIL {name}: {e}")
            sys.exit(1)
    print(f"ok {name}")


if __name__ == "__main__":
    main()
