#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SeaBIOS booting disks and CDs on the PC board (tests/boot, docs/board.md).

usage: disk_boot.py CASE IXVM [CASE ...]

Builds its guests in a temporary directory: tests/boot/mbr.asm (nasm) on a
1 MiB disk image whose data sectors are seeded pseudo-random bytes, and an
El Torito no-emulation ISO (xorriso) around tests/boot/cdboot.asm.  The
guests print on COM1 and exit through isa-debug-exit with 0x10 (status 33);
the sums they print are checked against sums computed here from the image.

Cases:
  screen    no bootable disk: the SeaBIOS banner and the boot attempts on the
            VGA text screen (--dump-screen-text) and in the 0x402 log
  mbr       MBR boot: CHS, EDD reads, the checksum, a write read back
  write     without --snapshot the sector the guest wrote is in the file
  snapshot  with --snapshot the image file stays byte-identical
  cdrom     --cdrom X.iso --boot d: the CD boots and reads 32 sectors
  order     disk and CD present: --boot d boots the CD, --boot c the disk
  lock      a second ixvm on an image in use fails with the lock message
  errors    bad drive options: exit 2, one stderr line naming the option(s)
  menu      --boot menu=on with a long timeout: SeaBIOS waits in its menu
            prompt using < IXVM_IDLE_LIMIT_PCT (5) % of a host core
"""
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DISK_SIZE = 1 << 20
DATA_LBA, DATA_COUNT, WRITE_LBA = 100, 24, 200          # as in mbr.asm
CD_LBA, CD_COUNT = 16, 32                                # as in cdboot.asm
EXIT_OK = (0x10 << 1) | 1


def sum32(data):
    return sum(struct.unpack("<%dI" % (len(data) // 4), data)) & 0xffffffff


class Env:
    def __init__(self, ixvm, tmp):
        self.ixvm, self.tmp = ixvm, tmp
        bios = os.environ.get("IXVM_BIOS")
        self.bios = ["--bios", bios] if bios else []
        self.disk = os.path.join(tmp, "disk.img")
        self.blank = os.path.join(tmp, "blank.img")
        self.iso = os.path.join(tmp, "cd.iso")

    def build(self):
        mbr = os.path.join(self.tmp, "mbr.bin")
        subprocess.run(["nasm", "-f", "bin", "-i", HERE + os.sep, "-o", mbr, os.path.join(HERE, "mbr.asm")], check=True)
        img = bytearray(open(mbr, "rb").read())
        rnd = random.Random(20240601)
        img += bytes(rnd.getrandbits(8) for _ in range(DISK_SIZE - len(img)))
        open(self.disk, "wb").write(img)
        open(self.blank, "wb").write(bytes(DISK_SIZE))
        tree = os.path.join(self.tmp, "iso")
        os.mkdir(tree)
        subprocess.run(["nasm", "-f", "bin", "-i", HERE + os.sep, "-o", os.path.join(tree, "cdboot.bin"),
                        os.path.join(HERE, "cdboot.asm")], check=True)
        open(os.path.join(tree, "data.bin"), "wb").write(bytes(rnd.getrandbits(8) for _ in range(40000)))
        subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", self.iso, "-b", "cdboot.bin",
                        "-no-emul-boot", "-boot-load-size", "4", tree], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def run(self, args, timeout=30):
        """Run ixvm to its exit; returns (status, serial text, stderr, seconds)."""
        ser = os.path.join(self.tmp, "serial.txt")
        if os.path.exists(ser):
            os.remove(ser)
        t0 = time.monotonic()
        p = subprocess.run([self.ixvm] + self.bios + ["--serial", "file:" + ser, "--timeout", str(timeout)] + args,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout + 30)
        dt = time.monotonic() - t0
        out = open(ser, errors="replace").read() if os.path.exists(ser) else ""
        return p.returncode, out, p.stderr.decode(errors="replace"), dt


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def check_mbr_output(env, status, out, err):
    img = open(env.disk, "rb").read()
    want = "MBR: read %d sectors sum=%08x" % (DATA_COUNT, sum32(img[DATA_LBA * 512:(DATA_LBA + DATA_COUNT) * 512]))
    expect(status == EXIT_OK, "exit status %d, want %d\n%s%s" % (status, EXIT_OK, out, err))
    for line in ("MBR: stage 2 loaded with CHS", "MBR: EDD extensions present", want,
                 "MBR: CHS read matches", "MBR: write and read-back ok", "MBR: done"):
        expect(line in out, "missing %r in the serial output:\n%s" % (line, out))


def written_sector(env):
    """What mbr.asm writes at WRITE_LBA: tag, the data sum, a byte pattern."""
    img = open(env.disk, "rb").read()
    sec = bytearray((i ^ 0x5a) & 0xff for i in range(512))
    sec[0:16] = b"IXVM-MBR-WRITTEN"
    sec[16:20] = struct.pack("<I", sum32(img[DATA_LBA * 512:(DATA_LBA + DATA_COUNT) * 512]))
    return bytes(sec)


def case_mbr(env):
    status, out, err, dt = env.run(["--hda", env.disk])
    check_mbr_output(env, status, out, err)
    print("mbr: exit %d after %.3f s" % (status, dt))


def case_write(env):
    status, out, err, _ = env.run([env.disk])          # positional image = hda, as QEMU
    check_mbr_output(env, status, out, err)
    got = open(env.disk, "rb").read()[WRITE_LBA * 512:(WRITE_LBA + 1) * 512]
    expect(got == written_sector(env), "sector %d in the file is not what the guest wrote" % WRITE_LBA)


def case_snapshot(env):
    before = hashlib.sha256(open(env.disk, "rb").read()).hexdigest()
    status, out, err, _ = env.run(["--hda", env.disk, "--snapshot"])
    check_mbr_output(env, status, out, err)      # the guest reads its own write back
    after = hashlib.sha256(open(env.disk, "rb").read()).hexdigest()
    expect(before == after, "--snapshot: the image file changed")


def check_cd_output(env, status, out, err):
    iso = open(env.iso, "rb").read()
    want = "CD: read %d sectors sum=%08x" % (CD_COUNT, sum32(iso[CD_LBA * 2048:(CD_LBA + CD_COUNT) * 2048]))
    expect(status == EXIT_OK, "exit status %d, want %d\n%s%s" % (status, EXIT_OK, out, err))
    for line in ("CD: no-emulation boot image running", "CD: EDD extensions present", want, "CD: done"):
        expect(line in out, "missing %r in the serial output:\n%s" % (line, out))


def case_cdrom(env):
    status, out, err, dt = env.run(["--cdrom", env.iso, "--boot", "d"])
    check_cd_output(env, status, out, err)
    print("cdrom: exit %d after %.3f s" % (status, dt))


def case_order(env):
    status, out, err, _ = env.run(["--hda", env.disk, "--cdrom", env.iso, "--boot", "order=dc"])
    check_cd_output(env, status, out, err)
    status, out, err, _ = env.run(["--hda", env.disk, "--cdrom", env.iso, "--boot", "c", "--snapshot"])
    check_mbr_output(env, status, out, err)


class Bg:
    """ixvm in the background with its 0x402/0xE9 log on a pipe."""

    def __init__(self, env, args):
        self.errf = tempfile.TemporaryFile()
        self.p = subprocess.Popen([env.ixvm] + env.bios + ["--debugcon", "stdio", "--timeout", "60"] + args,
                                  stdout=subprocess.PIPE, stderr=self.errf)
        self.out = b""
        self.t0 = time.monotonic()

    def wait_for(self, text, limit=30):
        """Seconds until text appeared in the debug log (None: ixvm ended first)."""
        fd = self.p.stdout.fileno()
        while text not in self.out:
            if time.monotonic() - self.t0 > limit:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.out += chunk
        return time.monotonic() - self.t0

    def stop(self):
        self.p.kill()
        self.p.wait()
        self.errf.seek(0)
        return self.errf.read().decode(errors="replace")


def read_screen(path):
    try:
        return open(path, errors="replace").read()
    except FileNotFoundError:
        return ""


def case_screen(env):
    scr = os.path.join(env.tmp, "screen.txt")
    bg = Bg(env, ["--hda", env.blank, "--dump-screen-text", scr])
    t_banner = t_fail = None
    try:
        while time.monotonic() - bg.t0 < 30 and t_fail is None:
            text = read_screen(scr)
            now = time.monotonic() - bg.t0
            if t_banner is None and "SeaBIOS (version" in text:
                t_banner = now
            if "No bootable device." in text:
                t_fail = now
            time.sleep(0.02)
        log_fail = bg.wait_for(b"No bootable device.", 5)
    finally:
        err = bg.stop()
    text = read_screen(scr)
    expect(t_banner is not None and t_fail is not None,
           "screen text never showed the banner and the failure:\n%s\n%s" % (text, err))
    for line in ("Booting from Hard Disk...", "Boot failed: not a bootable disk", "Booting from DVD/CD...",
                 "No bootable device."):
        expect(line in text, "missing %r on the screen:\n%s" % (line, text))
        expect(line.encode() in bg.out, "missing %r in the 0x402 log" % line)
    expect(text.splitlines()[0].startswith("SeaBIOS (version "), "first row: %r" % text.splitlines()[0])
    expect(log_fail is not None and b"SeaBIOS (version " in bg.out, "0x402 log lacks the banner/failure")
    print("screen: banner on the VGA screen after %.3f s (polled), 'No bootable device.' after %.3f s"
          % (t_banner, t_fail))


def case_lock(env):
    bg = Bg(env, ["--hda", env.blank])
    try:
        expect(bg.wait_for(b"Booting from Hard Disk") is not None, "the first ixvm did not boot")
        for extra in ([], ["--snapshot"]):
            p = subprocess.run([env.ixvm] + env.bios + ["--hda", env.blank, "--timeout", "10"] + extra,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=40)
            err = p.stderr.decode(errors="replace")
            expect(p.returncode != 0 and "is in use by another process" in err and "--hda" in err,
                   "second ixvm %s: status %d, stderr %r" % (extra, p.returncode, err))
            expect(len(err.strip().splitlines()) == 1, "more than one line: %r" % err)
    finally:
        bg.stop()


def case_errors(env):
    small = os.path.join(env.tmp, "small.img")
    odd = os.path.join(env.tmp, "odd.img")
    open(small, "wb").write(bytes(100))
    open(odd, "wb").write(bytes(1000))
    cases = [
        (["--hda", os.path.join(env.tmp, "missing.img")], ["--hda:", "missing.img", "No such file"]),
        (["--hdb", small], ["--hdb:", "small.img", "too small"]),
        (["--hdd", odd], ["--hdd:", "odd.img", "multiple of 512"]),
        (["--cdrom", env.tmp], ["--cdrom:", env.tmp]),
        (["--cdrom", env.iso, "--hdc", env.disk], ["--hdc", "--cdrom"]),
        (["--hdc", env.disk, "--cdrom", env.iso], ["--cdrom", "--hdc"]),
        (["--hda", env.disk, env.blank], ["--hda", env.blank]),
        (["--hda", env.disk, "--hda", env.blank], ["--hda: hda is already used by --hda"]),
        (["--boot", "x"], ["--boot:", "'x'"]),
        (["--boot", "order=cc"], ["--boot:", "twice"]),
        (["--boot", "cdan"], ["--boot:", "1 to 3"]),
        (["--boot", "menu=maybe"], ["--boot:", "menu=maybe"]),
        (["--set", "IDE/Snapshot=perhaps"], ["--set:", "IDE/Snapshot"]),
    ]
    fails = []
    for args, want in cases:
        p = subprocess.run([env.ixvm] + env.bios + ["--timeout", "5"] + args, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=30)
        err = p.stderr.decode(errors="replace")
        if p.returncode != 2 or len(err.splitlines()) != 1 or not all(w in err for w in want):
            fails.append("%s -> status %d, stderr %r (want 2 and %r)" % (args, p.returncode, err, want))
    expect(not fails, "\n".join(fails))
    print("errors: %d bad invocations rejected" % len(cases))


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def case_menu(env):
    limit = float(os.environ.get("IXVM_IDLE_LIMIT_PCT", "5"))
    bg = Bg(env, ["--hda", env.disk, "--snapshot", "--boot", "menu=on,splash-time=60000"])
    try:
        expect(bg.wait_for(b"Press ESC for boot menu") is not None or b"boot menu" in bg.out,
               "no boot menu prompt in the 0x402 log:\n%s" % bg.out.decode(errors="replace")[-2000:])
        time.sleep(0.5)
        c0, w0 = cpu_seconds(bg.p.pid), time.monotonic()
        time.sleep(3.0)
        c1, w1 = cpu_seconds(bg.p.pid), time.monotonic()
        expect(bg.p.poll() is None, "ixvm ended while waiting in the boot menu")
    finally:
        err = bg.stop()
    expect(b"Booting from" not in bg.out, "SeaBIOS did not wait in the menu prompt")
    idle = 100.0 * (c1 - c0) / (w1 - w0)
    print("menu: SeaBIOS waiting in its boot menu prompt uses %.2f%% of a core" % idle)
    expect(idle < limit, "the boot menu wait uses %.2f%% of a host core (limit %.1f%%)\n%s" % (idle, limit, err))


CASES = {"screen": case_screen, "mbr": case_mbr, "write": case_write, "snapshot": case_snapshot,
         "cdrom": case_cdrom, "order": case_order, "lock": case_lock, "errors": case_errors,
         "menu": case_menu}


def main():
    if len(sys.argv) < 3 or any(c not in CASES for c in sys.argv[1:-1]):
        print(__doc__)
        return 2
    names, ixvm = sys.argv[1:-1], sys.argv[-1]
    tmp = tempfile.mkdtemp(prefix="ixvm-disk-boot-")
    rc = 0
    try:
        env = Env(ixvm, tmp)
        env.build()
        for name in names:
            try:
                CASES[name](env)
                print("PASS %s" % name)
            except AssertionError as e:
                print("FAIL %s: %s" % (name, e))
                rc = 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
