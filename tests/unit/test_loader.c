/* SPDX-License-Identifier: MIT */
/*
 * Kernel loader tests (include/ixvm/loader.h): the Linux setup header
 * (protocol versions, setup_sects 0, truncation), the multiboot header
 * search (8 KiB window, checksum, unknown required flags), layouts built
 * from synthetic files (a.out kludge with BSS, ELF32 with a virtual entry
 * point, modules with arguments and ",,", a bzImage's header fields and
 * initrd placement) and the errors for bad files, which name the file and
 * the reason.  loader_install is checked through a real fw_cfg device: the
 * items, the ROM (and its validation) and the boot order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ixvm/loader.h"
#include "test_dev_pci_fix.h"

#define RAM (64ull << 20)

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static char tmpdir[64];

static void setup_dir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_loader.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(loader, .init = setup_dir, .fini = teardown_dir);

static const char *tfile(const char *name, const void *data, size_t len)
{
    static char paths[8][160];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, 160, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return p;
}

/* ---- Linux ------------------------------------------------------------------ */

/* A bzImage: boot sector + `sects` setup sectors + `pm` protected-mode bytes. */
static uint8_t *make_bz(unsigned sects, uint16_t version, uint8_t loadflags, size_t pm, size_t *len)
{
    size_t setup = ((sects ? sects : 4) + 1) * 512;
    *len = setup + pm;
    uint8_t *b = calloc(1, *len);
    b[0x1f1] = (uint8_t)sects;
    put16(b + 0x1fe, 0xaa55);
    memcpy(b + 0x202, "HdrS", 4);
    put16(b + 0x206, version);
    b[0x211] = loadflags;
    put32(b + 0x22c, 0x37ffffff);
    put32(b + 0x238, 2048);
    for (size_t i = setup; i < *len; i++)
        b[i] = (uint8_t)(i * 7);
    return b;
}

Test(loader, linux_header_fields)
{
    size_t len;
    uint8_t *b = make_bz(0, 0x20a, LOADER_LINUX_LOADED_HIGH, 3000, &len);
    put32(b + 0x260, 0x80000);
    struct loader_linux_hdr h;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(loader_linux_parse(b, len, "k", &h, &err), 1);
    cr_assert_eq(h.setup_size, 5 * 512, "setup_sects 0 means 4");
    cr_assert_eq(h.kernel_size, 3000);
    cr_assert_eq(h.version, 0x20a);
    cr_assert(h.high);
    cr_assert_eq(h.initrd_max, 0x37ffffff);
    cr_assert_eq(h.cmdline_max, 2048);
    cr_assert_eq(h.init_size, 0x80000);
    put16(b + 0x206, 0x202);   /* before 2.06: 255-byte command lines, no init_size */
    cr_assert_eq(loader_linux_parse(b, len, "k", &h, &err), 1);
    cr_assert_eq(h.cmdline_max, 255);
    cr_assert_eq(h.init_size, 0);
    free(b);
}

Test(loader, linux_not_and_bad)
{
    size_t len;
    uint8_t *b = make_bz(1, 0x1ff, 0, 100, &len);
    struct loader_linux_hdr h;
    struct ixvm_errinfo err = { 0 };
    cr_assert_lt(loader_linux_parse(b, len, "old.img", &h, &err), 0);
    cr_assert(strstr(err.msg, "old.img") && strstr(err.msg, "older than 2.00"), "%s", err.msg);
    put16(b + 0x206, 0x204);
    cr_assert_lt(loader_linux_parse(b, 1024, "cut.img", &h, &err), 0, "no protected-mode part");
    cr_assert(strstr(err.msg, "cut.img") && strstr(err.msg, "truncated"), "%s", err.msg);
    memcpy(b + 0x202, "HdrX", 4);
    cr_assert_eq(loader_linux_parse(b, len, "x", &h, &err), 0, "not a Linux kernel");
    free(b);
}

Test(loader, linux_layout_and_header)
{
    size_t len;
    uint8_t *b = make_bz(2, 0x20a, LOADER_LINUX_LOADED_HIGH, 50000, &len);
    uint8_t rd[10000];
    for (size_t i = 0; i < sizeof(rd); i++)
        rd[i] = (uint8_t)(i ^ 0x5a);
    struct loader_args a = { tfile("bz", b, len), tfile("rd", rd, sizeof(rd)), "root=/dev/ram quiet", RAM };
    struct loader_image img;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(loader_prepare(&a, &img, &err), 0, "%s", err.msg);
    cr_assert_eq(img.kind, LOADER_LINUX);
    cr_assert_str_eq(img.rom, "linuxboot.bin");
    cr_assert_eq(img.setup.addr, 0x10000);
    cr_assert_eq(img.setup.len, 3 * 512);
    cr_assert_eq(img.kernel.addr, 0x100000);
    cr_assert_eq(img.kernel.len, 50000);
    cr_assert_eq(memcmp(img.kernel.data, b + 3 * 512, 50000), 0);
    cr_assert_eq(img.cmdline.addr, 0x20000);
    cr_assert_str_eq((char *)img.cmdline.data, "root=/dev/ram quiet");
    const uint8_t *s = img.setup.data;
    cr_assert_eq(s[0x210], LOADER_LINUX_LOADER_ID);
    cr_assert_eq(s[0x211], LOADER_LINUX_LOADED_HIGH | LOADER_LINUX_CAN_USE_HEAP);
    cr_assert_eq(s[0x224] | s[0x225] << 8, 0xfe00, "heap_end_ptr: command line - setup - 0x200");
    cr_assert_eq(get32(s + 0x228), 0x20000);
    uint32_t at = get32(s + 0x218);
    cr_assert_eq(get32(s + 0x21c), sizeof(rd));
    cr_assert_eq(at, img.initrd.addr);
    cr_assert_eq(at & 0xfff, 0, "page aligned");
    cr_assert_leq(at + sizeof(rd), RAM - (1 << 20), "below the firmware's top of RAM");
    cr_assert_geq(at, RAM - (1 << 20) - sizeof(rd) - 4096, "as high as it goes");
    cr_assert_eq(memcmp(img.initrd.data, rd, sizeof(rd)), 0);
    loader_image_free(&img);
    /* initrd_addr_max caps the placement. */
    put32(b + 0x22c, 0x01ffffff);
    a.kernel = tfile("bz2", b, len);
    cr_assert_eq(loader_prepare(&a, &img, &err), 0, "%s", err.msg);
    cr_assert_leq(img.initrd.addr + img.initrd.len - 1, 0x01ffffff);
    loader_image_free(&img);
    free(b);
}

Test(loader, linux_old_protocol_and_limits)
{
    size_t len;
    uint8_t *b = make_bz(4, 0x201, LOADER_LINUX_LOADED_HIGH, 4096, &len);
    struct loader_args a = { tfile("old", b, len), NULL, "console=ttyS0", RAM };
    struct loader_image img;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(loader_prepare(&a, &img, &err), 0, "%s", err.msg);
    cr_assert_eq(img.setup.addr, 0x90000, "protocol < 2.02: real-mode part low");
    cr_assert_eq(img.cmdline.addr, 0x9a000);
    const uint8_t *s = img.setup.data;
    cr_assert_eq(s[0x20] | s[0x21] << 8, 0xa33f, "cmd_line_magic");
    cr_assert_eq(s[0x22] | s[0x23] << 8, 0xa000, "cmd_line_offset");
    loader_image_free(&img);
    /* 255 bytes at most before 2.06. */
    char longcl[300];
    memset(longcl, 'x', sizeof(longcl) - 1);
    longcl[sizeof(longcl) - 1] = 0;
    a.cmdline = longcl;
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "command line") && strstr(err.msg, "255"), "%s", err.msg);
    loader_image_free(&img);
    /* An initrd too big for the RAM. */
    a.cmdline = NULL;
    a.ram_size = 4 << 20;
    uint8_t *big = calloc(1, 3 << 20);
    a.initrd = tfile("big", big, 3 << 20);
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "big") && strstr(err.msg, "do not fit"), "%s", err.msg);
    loader_image_free(&img);
    free(big);
    free(b);
}

/* ---- multiboot -------------------------------------------------------------------- */

static void mb_header(uint8_t *p, uint32_t flags)
{
    put32(p, LOADER_MB_MAGIC);
    put32(p + 4, flags);
    put32(p + 8, (uint32_t)-(LOADER_MB_MAGIC + flags));
}

Test(loader, mb_find_window_and_checksum)
{
    uint8_t buf[12288] = { 0 };
    struct loader_mb_hdr h;
    struct ixvm_errinfo err = { 0 };
    mb_header(buf + 8188 - 8, 3);   /* last slot: 8180 + 12 = 8192 */
    cr_assert_eq(loader_mb_find(buf, sizeof(buf), "k", &h, &err), 1);
    cr_assert_eq(h.offset, 8180);
    cr_assert_eq(h.flags, 3);
    cr_assert_not(h.aout);
    memset(buf, 0, sizeof(buf));
    mb_header(buf + 8192, 3);
    cr_assert_eq(loader_mb_find(buf, sizeof(buf), "k", &h, &err), 0, "beyond the first 8 KiB");
    memset(buf, 0, sizeof(buf));
    mb_header(buf + 64, 3);
    put32(buf + 72, 0);   /* bad checksum */
    cr_assert_eq(loader_mb_find(buf, sizeof(buf), "k", &h, &err), 0);
    mb_header(buf + 66, 3);   /* not 4-aligned */
    cr_assert_eq(loader_mb_find(buf, sizeof(buf), "k", &h, &err), 0);
    mb_header(buf + 128, 0x00000010);   /* an unknown required bit */
    cr_assert_lt(loader_mb_find(buf, sizeof(buf), "req.elf", &h, &err), 0);
    cr_assert(strstr(err.msg, "req.elf") && strstr(err.msg, "0x10"), "%s", err.msg);
    memset(buf, 0, sizeof(buf));
    mb_header(buf + 128, 0x00010000 | 0x00100000);   /* optional bits above 15 are fine */
    cr_assert_eq(loader_mb_find(buf, sizeof(buf), "k", &h, &err), 1);
    cr_assert(h.aout);
}

/* An a.out-kludge kernel loading at 2 MiB: header at file offset 32,
 * `body` bytes of image, then `bss` zero bytes. */
static uint8_t *make_aout(uint32_t body, uint32_t bss, size_t *len)
{
    const uint32_t load = 0x200000;
    *len = body;
    uint8_t *b = calloc(1, body);
    for (uint32_t i = 0; i < body; i++)
        b[i] = (uint8_t)(0xa0 + i);
    mb_header(b + 32, LOADER_MB_AOUT_KLUDGE | LOADER_MB_PAGE_ALIGN);
    put32(b + 44, load + 32);                /* header_addr */
    put32(b + 48, load);                     /* load_addr */
    put32(b + 52, load + body);              /* load_end_addr */
    put32(b + 56, load + body + bss);        /* bss_end_addr */
    put32(b + 60, load + 64);                /* entry_addr */
    return b;
}

Test(loader, mb_aout_layout_modules_info)
{
    size_t len;
    uint8_t *k = make_aout(5000, 3000, &len);
    uint8_t m1[100], m2[5000];
    memset(m1, 0x11, sizeof(m1));
    memset(m2, 0x22, sizeof(m2));
    const char *km = tfile("aout", k, len);
    const char *p1 = tfile("m1", m1, sizeof(m1));
    const char *p2 = tfile("m2", m2, sizeof(m2));
    char mods[512];
    snprintf(mods, sizeof(mods), "%s one,,two three,%s", p1, p2);
    struct loader_args a = { km, mods, "exit=5 hello", RAM };
    struct loader_image img;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(loader_prepare(&a, &img, &err), 0, "%s", err.msg);
    cr_assert_eq(img.kind, LOADER_MULTIBOOT);
    cr_assert_str_eq(img.rom, "multiboot.bin");
    cr_assert_eq(img.entry, 0x200040);
    cr_assert_eq(img.nmods, 2);
    cr_assert_eq(img.initrd.addr, 0x200000);
    cr_assert_eq(memcmp(img.initrd.data, k, 5000), 0);
    for (uint32_t i = 5000; i < 8000; i++)
        cr_assert_eq(img.initrd.data[i], 0, "BSS byte %u", i);
    /* The info block at 0x9000. */
    cr_assert_eq(img.kernel.addr, LOADER_MB_INFO_ADDR);
    const uint8_t *mi = img.kernel.data;
    uint32_t flags = get32(mi);
    cr_assert_eq(flags, LOADER_MBI_MEMORY | LOADER_MBI_CMDLINE | LOADER_MBI_MODS | LOADER_MBI_MMAP |
                        LOADER_MBI_LOADER_NAME);
#define AT(addr) ((const char *)mi + ((addr) - LOADER_MB_INFO_ADDR))
    char want[256];
    snprintf(want, sizeof(want), "%s exit=5 hello", km);
    cr_assert_str_eq(AT(get32(mi + 16)), want);
    cr_assert_str_eq(AT(get32(mi + 64)), "ixvm");
    cr_assert_eq(get32(mi + 20), 2);
    cr_assert_eq(get32(mi + 48), LOADER_MB_INFO_ADDR + LOADER_MB_MMAP_OFF);
    const uint8_t *mod = mi + (get32(mi + 24) - LOADER_MB_INFO_ADDR);
    uint32_t s0 = get32(mod), e0 = get32(mod + 4), s1 = get32(mod + 16), e1 = get32(mod + 20);
    cr_assert_eq(s0, 0x200000 + 8192, "after the BSS, page aligned (flag 0)");
    cr_assert_eq(e0 - s0, sizeof(m1));
    cr_assert_eq(s1 & 0xfff, 0);
    cr_assert_geq(s1, e0);
    cr_assert_eq(e1 - s1, sizeof(m2));
    snprintf(want, sizeof(want), "%s one,two three", p1);
    cr_assert_str_eq(AT(get32(mod + 8)), want, "',,' is a comma");
    cr_assert_str_eq(AT(get32(mod + 24)), p2);
    cr_assert_eq(memcmp(img.initrd.data + (s0 - 0x200000), m1, sizeof(m1)), 0);
    cr_assert_eq(memcmp(img.initrd.data + (s1 - 0x200000), m2, sizeof(m2)), 0);
    cr_assert_eq(img.initrd.len, e1 - 0x200000);
#undef AT
    loader_image_free(&img);
    free(k);
}

Test(loader, mb_aout_bad_fields)
{
    size_t len;
    uint8_t *k = make_aout(4096, 0, &len);
    struct loader_args a = { NULL, NULL, NULL, RAM };
    struct loader_image img;
    struct ixvm_errinfo err = { 0 };
    put32(k + 48, 0x200000 + 64);   /* load_addr after header_addr */
    a.kernel = tfile("k1", k, len);
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "k1") && strstr(err.msg, "load_addr"), "%s", err.msg);
    put32(k + 48, 0x200000);
    put32(k + 52, 0x200000 + 9000);   /* load_end beyond the file */
    a.kernel = tfile("k2", k, len);
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "k2") && strstr(err.msg, "truncated"), "%s", err.msg);
    put32(k + 52, 0);                 /* 0: to the end of the file */
    put32(k + 56, 0x200000 + 100);    /* bss_end below the loaded end */
    a.kernel = tfile("k3", k, len);
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "bss_end_addr"), "%s", err.msg);
    put32(k + 56, 0);
    put32(k + 44, 0x8000 + 32);       /* below 1 MiB */
    put32(k + 48, 0x8000);
    put32(k + 60, 0x8040);
    a.kernel = tfile("k4", k, len);
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "k4") && strstr(err.msg, "1 MiB"), "%s", err.msg);
    free(k);
}

/* A minimal ELF32 executable: two PT_LOAD segments, linked at 0xC0100000
 * virtual, 0x100000 physical, entry in the second. */
static uint8_t *make_elf(size_t *len)
{
    *len = 0x3000;
    uint8_t *b = calloc(1, *len);
    memcpy(b, "\x7f" "ELF\x01\x01\x01", 7);
    put16(b + 16, 2);            /* ET_EXEC */
    put16(b + 18, 3);            /* EM_386 */
    put32(b + 20, 1);
    put32(b + 24, 0xc0101010);   /* e_entry (virtual) */
    put32(b + 28, 52);           /* e_phoff */
    put16(b + 40, 52);
    put16(b + 42, 32);
    put16(b + 44, 2);
    uint8_t *ph = b + 52;
    put32(ph, 1);
    put32(ph + 4, 0x1000);
    put32(ph + 8, 0xc0100000);
    put32(ph + 12, 0x100000);
    put32(ph + 16, 0x800);
    put32(ph + 20, 0x800);
    ph += 32;
    put32(ph, 1);
    put32(ph + 4, 0x2000);
    put32(ph + 8, 0xc0101000);
    put32(ph + 12, 0x101000);
    put32(ph + 16, 0x100);
    put32(ph + 20, 0x2000);      /* BSS */
    mb_header(b + 0x1000, LOADER_MB_MEMORY_INFO);
    memset(b + 0x1100, 0xcc, 0x700);
    memset(b + 0x2000, 0x90, 0x100);
    return b;
}

Test(loader, mb_elf_segments_and_entry)
{
    size_t len;
    uint8_t *b = make_elf(&len);
    struct loader_args a = { tfile("k.elf", b, len), NULL, NULL, RAM };
    struct loader_image img;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(loader_prepare(&a, &img, &err), 0, "%s", err.msg);
    cr_assert_eq(img.initrd.addr, 0x100000);
    cr_assert_eq(img.initrd.len, 0x3000);
    cr_assert_eq(img.entry, 0x101010, "entry translated to its physical address");
    cr_assert_eq(img.initrd.data[0x100], 0xcc);
    cr_assert_eq(img.initrd.data[0x900], 0, "gap between segments");
    cr_assert_eq(img.initrd.data[0x1000], 0x90);
    cr_assert_eq(img.initrd.data[0x1100], 0, "BSS");
    cr_assert_eq(img.nmods, 0);
    cr_assert_eq(get32(img.kernel.data) & LOADER_MBI_MODS, 0);
    loader_image_free(&img);
    /* The entry outside every segment, and a segment beyond the file. */
    put32(b + 24, 0xd0000000);
    a.kernel = tfile("e.elf", b, len);
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "e.elf") && strstr(err.msg, "entry"), "%s", err.msg);
    put32(b + 24, 0xc0101010);
    a.kernel = tfile("t.elf", b, 0x2080);
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "t.elf") && strstr(err.msg, "beyond the file end"), "%s", err.msg);
    b[4] = 2;   /* ELFCLASS64 */
    a.kernel = tfile("64.elf", b, len);
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "64.elf") && strstr(err.msg, "32-bit"), "%s", err.msg);
    free(b);
}

/* ---- files ------------------------------------------------------------------------- */

Test(loader, bad_files_named)
{
    struct ixvm_errinfo err = { 0 };
    char path[256];
    snprintf(path, sizeof(path), "%s/none", tmpdir);
    cr_assert_lt(loader_check_kernel(path, &err), 0);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "No such file"), "%s", err.msg);
    cr_assert_lt(loader_check_kernel(tfile("empty", "", 0), &err), 0);
    cr_assert(strstr(err.msg, "empty file"), "%s", err.msg);
    char text[9000];
    memset(text, 'a', sizeof(text));
    cr_assert_lt(loader_check_kernel(tfile("text", text, sizeof(text)), &err), 0);
    cr_assert(strstr(err.msg, "not a kernel"), "%s", err.msg);
    cr_assert_lt(loader_check_kernel(tmpdir, &err), 0, "a directory");
    cr_assert(strstr(err.msg, tmpdir), "%s", err.msg);
    cr_assert_lt(loader_check_initrd(path, &err), 0);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    char spec[600];
    snprintf(spec, sizeof(spec), "%s args,%s", tfile("ok", "x", 1), path);
    cr_assert_lt(loader_check_initrd(spec, &err), 0, "the second module is missing");
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    size_t len;
    uint8_t *k = make_aout(4096, 0, &len);
    cr_assert_eq(loader_check_kernel(tfile("good", k, len), &err), 0, "%s", err.msg);
    struct loader_args a = { tfile("good2", k, len), path, NULL, RAM };
    struct loader_image img;
    cr_assert_lt(loader_prepare(&a, &img, &err), 0);
    cr_assert(strstr(err.msg, "module file") && strstr(err.msg, path), "%s", err.msg);
    free(k);
}

/* ---- installing into fw_cfg ------------------------------------------------------------ */

static uint32_t fw_u32(struct pfx *f, uint16_t key)
{
    th_out(&f->h, 0x510, key, 2);
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = th_inb(&f->h, 0x511);
    return get32(b);
}

/* The contents of fw_cfg file `name` (through the directory), or NULL. */
static char *fw_file(struct pfx *f, const char *name, uint32_t *size)
{
    th_out(&f->h, 0x510, FW_CFG_FILE_DIR, 2);
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        n = n << 8 | th_inb(&f->h, 0x511);
    for (uint32_t e = 0; e < n; e++) {
        uint8_t ent[64];
        for (int i = 0; i < 64; i++)
            ent[i] = th_inb(&f->h, 0x511);
        if (strcmp((char *)ent + 8, name))
            continue;
        *size = (uint32_t)ent[0] << 24 | ent[1] << 16 | ent[2] << 8 | ent[3];
        char *d = calloc(1, *size + 1);
        th_out(&f->h, 0x510, (uint16_t)(ent[4] << 8 | ent[5]), 2);
        for (uint32_t i = 0; i < *size; i++)
            d[i] = (char)th_inb(&f->h, 0x511);
        return d;
    }
    return NULL;
}

static void write_rom(const char *name, bool good)
{
    uint8_t rom[1024] = { 0x55, 0xaa, 2, 0xcb };
    uint8_t sum = 0;
    for (size_t i = 0; i < sizeof(rom); i++)
        sum = (uint8_t)(sum + rom[i]);
    rom[1023] = (uint8_t)(good ? -sum : 1 - sum);
    tfile(name, rom, sizeof(rom));
}

Test(loader, install_items_rom_bootorder)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    f.fw = th_create(&f.h, &dev_fw_cfg, NULL, 0);
    size_t len;
    uint8_t *k = make_aout(4096, 0, &len);
    struct loader_args a = { tfile("k", k, len), NULL, "x", RAM };
    struct loader_image img;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(loader_prepare(&a, &img, &err), 0, "%s", err.msg);
    cr_assert_lt(loader_install(f.fw, &img, tmpdir, NULL, &err), 0, "no ROM yet");
    cr_assert(strstr(err.msg, "multiboot.bin"), "%s", err.msg);
    write_rom("multiboot.bin", false);
    cr_assert_lt(loader_install(f.fw, &img, tmpdir, NULL, &err), 0);
    cr_assert(strstr(err.msg, "checksum"), "%s", err.msg);
    write_rom("multiboot.bin", true);
    cr_assert_eq(loader_install(f.fw, &img, tmpdir, "/pci@i0cf8/ide@1,1/drive@1/disk@0\n", &err), 0, "%s",
                 err.msg);
    cr_assert_eq(fw_u32(&f, FW_CFG_KERNEL_ADDR), LOADER_MB_INFO_ADDR);
    cr_assert_eq(fw_u32(&f, FW_CFG_KERNEL_SIZE), img.kernel.len);
    cr_assert_eq(fw_u32(&f, FW_CFG_INITRD_ADDR), 0x200000);
    cr_assert_eq(fw_u32(&f, FW_CFG_INITRD_SIZE), 4096);
    cr_assert_eq(fw_u32(&f, FW_CFG_KERNEL_ENTRY), 0x200040);
    cr_assert_eq(fw_u32(&f, FW_CFG_INITRD_DATA), get32(k), "the image bytes");
    uint32_t size;
    char *order = fw_file(&f, "bootorder", &size);
    cr_assert_not_null(order);
    cr_assert_str_eq(order, "/rom@genroms/multiboot.bin\n/pci@i0cf8/ide@1,1/drive@1/disk@0\n");
    free(order);
    char *rom = fw_file(&f, "genroms/multiboot.bin", &size);
    cr_assert_not_null(rom);
    cr_assert_eq(size, 1024);
    cr_assert_eq((uint8_t)rom[0], 0x55);
    free(rom);
    loader_image_free(&img);
    free(k);
    pfx_fini(&f);
}
