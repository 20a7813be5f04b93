/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 test kernel (tests/kboot, docs/kernel-boot.md).  Checks the
 * machine state and the multiboot information it was started with (magic,
 * memory sizes, the memory map, its command line, each module's bytes)
 * and prints what it found on COM1, one "key: value" line per fact, so
 * the test compares them with what it passed in.  Then it leaves through
 * isa-debug-exit (port 0xF4) with the status N of an "exit=N" word on its
 * command line (ixvm and QEMU exit with (N << 1) | 1), or 0x70 when a
 * check failed.  Freestanding: no library, no SSE/x87.
 */
#include "kio.h"

#define MB_BOOT_MAGIC 0x2badb002u

/* The Multiboot Specification 0.6.96, 3.3. */
struct mb_info {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
    u32 drives_length, drives_addr, config_table, boot_loader_name;
};
struct mb_module {
    u32 start, end, string, reserved;
};
struct mb_mmap {
    u32 size;
    u32 base_lo, base_hi, len_lo, len_hi, type;
} __attribute__((packed));

static void show_mmap(const struct mb_info *mi)
{
    u32 ram_kib = 0;
    int covers_1m = 0, n = 0;
    for (u32 off = 0; off + 4 <= mi->mmap_length; n++) {
        const struct mb_mmap *e = (const struct mb_mmap *)(mi->mmap_addr + off);
        puts("mmap: ");
        puthex(e->base_lo);
        putc(' ');
        puthex(e->len_lo);
        puts(" type ");
        putdec(e->type);
        putc('\n');
        if (e->type == 1 && !e->base_hi) {
            ram_kib += e->len_lo >> 10;
            covers_1m |= e->base_lo <= 0x100000 && e->base_lo + e->len_lo > 0x100000;
        }
        off += e->size + 4;
    }
    puts("mmap-entries: ");
    putdec((u32)n);
    puts("\nmmap-ram-kib: ");
    putdec(ram_kib);
    putc('\n');
    check(n >= 2 && covers_1m, "memory map has RAM at 1 MiB");
}

static void show_modules(const struct mb_info *mi)
{
    const struct mb_module *m = (const struct mb_module *)mi->mods_addr;
    puts("mods: ");
    putdec(mi->mods_count);
    putc('\n');
    for (u32 i = 0; i < mi->mods_count; i++) {
        puts("mod: ");
        putdec(i);
        puts(" size ");
        putdec(m[i].end - m[i].start);
        puts(" fnv ");
        puthex(fnv1a((const u8 *)m[i].start, m[i].end - m[i].start));
        puts(" aligned ");
        putdec(!(m[i].start & 0xfff));
        puts(" string '");
        puts((const char *)m[i].string);
        puts("'\n");
        check(m[i].end >= m[i].start && !(m[i].start & 0xfff), "module bounds and page alignment");
    }
}

void kmain(u32 magic, const struct mb_info *mi);

void kmain(u32 magic, const struct mb_info *mi)
{
    u32 cr0, eflags;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("pushf; pop %0" : "=r"(eflags));
    com_init();
    puts("mbkernel: hello\nmagic: ");
    puthex(magic);
    putc('\n');
    check(magic == MB_BOOT_MAGIC, "boot magic");
    check((cr0 & 0x80000001u) == 1 && !(eflags & 0x20200), "protected mode, paging off, IF=0, VM=0");
    if (magic != MB_BOOT_MAGIC) {
        outb(EXIT_PORT, EXIT_FAILED);
        return;
    }
    puts("flags: ");
    puthex(mi->flags);
    puts("\nmem_lower: ");
    putdec(mi->mem_lower);
    puts("\nmem_upper: ");
    putdec(mi->mem_upper);
    putc('\n');
    check((mi->flags & 1) && mi->mem_upper > 0 && mi->mem_lower > 0 && mi->mem_lower <= 640, "memory sizes");
    const char *cl = (mi->flags & 4) ? (const char *)mi->cmdline : "";
    puts("cmdline: '");
    puts(cl);
    puts("'\n");
    if (mi->flags & 0x200) {
        puts("loader: ");
        puts((const char *)mi->boot_loader_name);
        putc('\n');
    }
    if (mi->flags & 0x40)
        show_mmap(mi);
    else
        check(0, "memory map present");
    if (mi->flags & 8)
        show_modules(mi);
    int status = exit_arg(cl);
    puts(failures ? "RESULT: FAIL\n" : "RESULT: PASS\n");
    outb(EXIT_PORT, (u8)(failures ? EXIT_FAILED : status < 0 ? 0 : status));
}
