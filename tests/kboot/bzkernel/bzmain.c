/* SPDX-License-Identifier: MIT */
/*
 * The tiny bzImage test kernel's C part (tests/kboot, docs/kernel-boot.md):
 * prints on COM1 what the boot loader gave it through the boot protocol
 * (Documentation/arch/x86/boot.rst): the real-mode segments and stack its
 * setup code started with, the header fields a loader writes
 * (type_of_loader, loadflags, heap_end_ptr), the command line at
 * cmd_line_ptr and the initrd at ramdisk_image/ramdisk_size with its
 * FNV-1a checksum; checks them, then exits through isa-debug-exit with
 * the "exit=N" status of its command line (0x70 when a check failed).
 */
#include "kio.h"

static u32 rd32(const u8 *p, u32 off) { return *(const u32 *)(p + off); }
static u16 rd16(const u8 *p, u32 off) { return *(const u16 *)(p + off); }

static void show(const char *key, u32 v)
{
    puts(key);
    puts(": ");
    puthex(v);
    putc('\n');
}

/* Real-mode entry (boot.rst "Running the kernel"): CS = DS + 0x20,
 * DS = ES = SS = the real-mode area's segment, interrupts off. */
static void check_real_mode(const u8 *bp)
{
    u16 cs = rd16(bp, 0), ds = rd16(bp, 2), es = rd16(bp, 4), ss = rd16(bp, 6), sp = rd16(bp, 8);
    show("real-cs", cs);
    show("real-ds", ds);
    show("real-sp", sp);
    check(cs == ds + 0x20 && es == ds && ss == ds && (u32)ds * 16 == (u32)bp, "real-mode segments");
    check(!(rd16(bp, 10) & 0x200), "interrupts off at entry");
    check(sp > rd16(bp, 0x224) && sp != 0, "stack above the heap");
}

static void show_initrd(const u8 *bp)
{
    u32 at = rd32(bp, 0x218), len = rd32(bp, 0x21c);
    puts("initrd: size ");
    putdec(len);
    puts(" fnv ");
    puthex(len ? fnv1a((const u8 *)at, len) : 0);
    puts(" aligned ");
    putdec(!(at & 0xfff));
    putc('\n');
    check(!len || (at >= 0x100000 + rd32(bp, 0x260) && at + len - 1 <= rd32(bp, 0x22c)),
          "initrd above the kernel and below initrd_addr_max");
}

void bzmain(const u8 *bp);

void bzmain(const u8 *bp)
{
    com_init();
    puts("bzkernel: hello\n");
    check_real_mode(bp);
    show("protocol", rd16(bp, 0x206));
    show("type_of_loader", bp[0x210]);
    show("loadflags", bp[0x211]);
    show("heap_end_ptr", rd16(bp, 0x224));
    check(bp[0x210] != 0, "type_of_loader set");
    check((bp[0x211] & 0x81) == 0x81, "LOADED_HIGH and CAN_USE_HEAP");
    const char *cl = (const char *)rd32(bp, 0x228);
    puts("cmdline: '");
    puts(cl ? cl : "");
    puts("'\n");
    show_initrd(bp);
    int status = cl ? exit_arg(cl) : -1;
    puts(failures ? "RESULT: FAIL\n" : "RESULT: PASS\n");
    outb(EXIT_PORT, (u8)(failures ? EXIT_FAILED : status < 0 ? 0 : status));
}
