/* SPDX-License-Identifier: MIT */
/*
 * Kernel formats for direct kernel boot (include/ixvm/loader.h,
 * docs/kernel-boot.md): the Linux x86 boot protocol setup header
 * (Documentation/arch/x86/boot.rst, protocol 2.00 and later) and the
 * multiboot v1 header with its two ways of loading (ELF32 program headers
 * or the a.out kludge address fields, Multiboot Specification 0.6.96
 * section 3.1), and the memory layout of a boot built from them.  Only
 * host-side work: reading files and computing bytes; the option ROMs do
 * the guest side.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/loader.h"

/* Setup header offsets (boot.rst "The real-mode kernel header"). */
#define LH_SETUP_SECTS 0x1f1
#define LH_BOOT_FLAG 0x1fe
#define LH_HEADER 0x202
#define LH_VERSION 0x206
#define LH_TYPE_OF_LOADER 0x210
#define LH_LOADFLAGS 0x211
#define LH_RAMDISK_IMAGE 0x218
#define LH_RAMDISK_SIZE 0x21c
#define LH_HEAP_END_PTR 0x224
#define LH_CMD_LINE_PTR 0x228
#define LH_INITRD_ADDR_MAX 0x22c
#define LH_CMDLINE_SIZE 0x238
#define LH_INIT_SIZE 0x260
#define LH_OLD_CL_MAGIC 0x20      /* protocol < 2.02: cmd_line_magic/offset */
#define LH_OLD_CL_OFFSET 0x22
#define LH_MIN_LEN 0x264

/* Our layout (the same places QEMU uses, so kernels see familiar values). */
#define LX_REAL_HIGH 0x10000u     /* real-mode part of a >= 2.02 bzImage */
#define LX_CMDLINE_HIGH 0x20000u
#define LX_REAL_LOW 0x90000u      /* zImage or protocol < 2.02 */
#define LX_CMDLINE_LOW 0x9a000u
#define LX_PROT_HIGH 0x100000u
#define LX_PROT_LOW 0x10000u
/* SeaBIOS keeps its ACPI/SMBIOS tables and runtime data at the top of RAM
 * (reserved in its E820 map): nothing of ours may go there. */
#define LOADER_TOP_RESERVE 0x100000u
#define LOADER_MAX_FILE (1u << 30)

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }

static uint32_t align_up(uint32_t v, uint32_t a) { return (v + a - 1) & ~(a - 1); }

/* ---- files ------------------------------------------------------------------- */

/* Read a whole file (at most 1 GiB); what: "kernel", "initrd", "module". */
static int loader_read_file(const char *path, const char *what, uint8_t **data, size_t *len,
                            struct ixvm_errinfo *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "%s file '%s': %s", what, path, strerror(errno));
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    int rc = 0;
    uint8_t *buf = NULL;
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s file '%s': cannot seek (not a regular file?)", what, path);
    } else if ((unsigned long)n > LOADER_MAX_FILE) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "%s file '%s': %ld bytes is more than 1 GiB", what,
                              path, n);
    } else if (!(buf = malloc(n ? (size_t)n : 1))) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s file '%s': out of memory", what, path);
    } else if (n && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "%s file '%s': read error (%s)", what, path,
                              ferror(f) ? strerror(errno) : "file shrank");
    }
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = (size_t)n;
    return 0;
}

static int seg_alloc(struct loader_seg *s, uint32_t addr, uint32_t len, struct ixvm_errinfo *err)
{
    s->addr = addr;
    s->len = len;
    s->data = calloc(1, len ? len : 1);
    return s->data ? 0 : ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "kernel loader: out of memory (%u bytes)", len);
}

void loader_image_free(struct loader_image *img)
{
    if (!img)
        return;
    free(img->setup.data);
    free(img->kernel.data);
    free(img->initrd.data);
    free(img->cmdline.data);
    memset(img, 0, sizeof(*img));
}

/* ---- Linux ---------------------------------------------------------------------- */

int loader_linux_parse(const uint8_t *buf, size_t len, const char *name, struct loader_linux_hdr *h,
                       struct ixvm_errinfo *err)
{
    memset(h, 0, sizeof(*h));
    if (len < LH_VERSION + 2 || rd16(buf + LH_BOOT_FLAG) != 0xaa55 || rd32(buf + LH_HEADER) != LOADER_LINUX_HDRS)
        return 0;
    h->version = rd16(buf + LH_VERSION);
    if (h->version < 0x200)
        return ixvm_errinfo_set(err, IXVM_ERR_UNSUPPORTED_VERSION,
                                "kernel file '%s': Linux boot protocol %u.%02u is older than 2.00", name,
                                h->version >> 8, h->version & 0xff);
    if (len < LH_MIN_LEN)
        return ixvm_errinfo_set(err, IXVM_ERR_TRUNCATED, "kernel file '%s': truncated setup header (%zu bytes)",
                                name, len);
    unsigned sects = buf[LH_SETUP_SECTS] ? buf[LH_SETUP_SECTS] : 4;   /* 0 means 4 (boot.rst) */
    h->setup_size = (sects + 1) * 512u;
    if (len <= h->setup_size)
        return ixvm_errinfo_set(err, IXVM_ERR_TRUNCATED,
                                "kernel file '%s': truncated: %zu bytes, the setup code alone is %u", name, len,
                                h->setup_size);
    h->kernel_size = (uint32_t)(len - h->setup_size);
    h->loadflags = buf[LH_LOADFLAGS];
    h->high = h->loadflags & LOADER_LINUX_LOADED_HIGH;
    h->initrd_max = h->version >= 0x203 ? rd32(buf + LH_INITRD_ADDR_MAX) : 0x37ffffffu;
    h->cmdline_max = h->version >= 0x206 ? rd32(buf + LH_CMDLINE_SIZE) : 255;
    h->init_size = h->version >= 0x20a ? rd32(buf + LH_INIT_SIZE) : 0;
    return 1;
}

/* Where the pieces go: QEMU's places (see LX_*). */
struct linux_layout {
    uint32_t real, cmdline, prot;
};

static int linux_place_initrd(const struct loader_args *a, const struct loader_linux_hdr *h, uint32_t kernel_end,
                              struct loader_image *img, struct ixvm_errinfo *err)
{
    uint8_t *data;
    size_t len;
    int rc = loader_read_file(a->initrd, "initrd", &data, &len, err);
    if (rc < 0)
        return rc;
    uint64_t top = a->ram_size > LOADER_TOP_RESERVE ? a->ram_size - LOADER_TOP_RESERVE : 0;
    if (top > (uint64_t)h->initrd_max + 1)
        top = (uint64_t)h->initrd_max + 1;
    uint64_t at = top >= len ? (top - len) & ~0xfffull : 0;
    if (top < len || at < kernel_end) {
        free(data);
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "initrd file '%s': %zu bytes do not fit between the kernel (ends at %#x) and "
                                "%#llx (RAM size, less 1 MiB for the firmware, or the kernel's initrd_addr_max): "
                                "give more memory (-m)", a->initrd, len, kernel_end, (unsigned long long)top);
    }
    img->initrd = (struct loader_seg){ (uint32_t)at, (uint32_t)len, data };
    return 0;
}

/* Fill the header fields a boot loader writes (boot.rst "Details of header
 * fields", the "write" ones). */
static void linux_fill_header(uint8_t *s, const struct loader_linux_hdr *h, const struct linux_layout *l,
                              const struct loader_image *img)
{
    s[LH_TYPE_OF_LOADER] = LOADER_LINUX_LOADER_ID;
    if (h->version >= 0x201) {
        wr16(s + LH_HEAP_END_PTR, (uint16_t)(l->cmdline - l->real - 0x200));
        s[LH_LOADFLAGS] |= LOADER_LINUX_CAN_USE_HEAP;
    }
    if (h->version >= 0x202) {
        wr32(s + LH_CMD_LINE_PTR, l->cmdline);
    } else {
        wr16(s + LH_OLD_CL_MAGIC, 0xa33f);
        wr16(s + LH_OLD_CL_OFFSET, (uint16_t)(l->cmdline - l->real));
    }
    if (img->initrd.len) {
        wr32(s + LH_RAMDISK_IMAGE, img->initrd.addr);
        wr32(s + LH_RAMDISK_SIZE, img->initrd.len);
    }
}

static int linux_prepare(const struct loader_args *a, const uint8_t *buf, size_t len,
                         const struct loader_linux_hdr *h, struct loader_image *img, struct ixvm_errinfo *err)
{
    bool low_real = h->version < 0x202 || !h->high;
    struct linux_layout l = { low_real ? LX_REAL_LOW : LX_REAL_HIGH, low_real ? LX_CMDLINE_LOW : LX_CMDLINE_HIGH,
                              h->high ? LX_PROT_HIGH : LX_PROT_LOW };
    const char *cl = a->cmdline ? a->cmdline : "";
    size_t cl_len = strlen(cl);
    if (cl_len > h->cmdline_max)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "kernel command line: %zu bytes, kernel '%s' takes at most %u", cl_len, a->kernel,
                                h->cmdline_max);
    uint32_t need = h->init_size > h->kernel_size ? h->init_size : h->kernel_size;
    uint64_t kernel_end = (uint64_t)l.prot + need;
    if (a->ram_size < LX_PROT_HIGH + LOADER_TOP_RESERVE)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "kernel file '%s': needs more than 2 MiB of RAM",
                                a->kernel);
    uint64_t limit = h->high ? a->ram_size - LOADER_TOP_RESERVE : LX_REAL_LOW;
    if (kernel_end > limit)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "kernel file '%s': needs memory up to %#llx, more than %s", a->kernel,
                                (unsigned long long)kernel_end,
                                h->high ? "RAM less 1 MiB for the firmware" : "the 576 KiB of a zImage");
    int rc;
    if (a->initrd && *a->initrd && (rc = linux_place_initrd(a, h, (uint32_t)kernel_end, img, err)) < 0)
        return rc;
    if ((rc = seg_alloc(&img->setup, l.real, h->setup_size, err)) < 0 ||
        (rc = seg_alloc(&img->kernel, l.prot, h->kernel_size, err)) < 0 ||
        (rc = seg_alloc(&img->cmdline, l.cmdline, (uint32_t)cl_len + 1, err)) < 0)
        return rc;
    memcpy(img->setup.data, buf, h->setup_size);
    memcpy(img->kernel.data, buf + h->setup_size, h->kernel_size);
    memcpy(img->cmdline.data, cl, cl_len + 1);
    linux_fill_header(img->setup.data, h, &l, img);
    img->kind = LOADER_LINUX;
    img->rom = "linuxboot.bin";
    (void)len;
    return 0;
}

/* ---- multiboot --------------------------------------------------------------------- */

int loader_mb_find(const uint8_t *buf, size_t len, const char *name, struct loader_mb_hdr *h,
                   struct ixvm_errinfo *err)
{
    memset(h, 0, sizeof(*h));
    size_t end = len < LOADER_MB_SEARCH ? len : LOADER_MB_SEARCH;
    for (size_t off = 0; off + 12 <= end; off += 4) {
        const uint8_t *p = buf + off;
        if (rd32(p) != LOADER_MB_MAGIC || (uint32_t)(rd32(p) + rd32(p + 4) + rd32(p + 8)) != 0)
            continue;
        h->offset = (uint32_t)off;
        h->flags = rd32(p + 4);
        /* Bits 0-15 are requirements: refuse the ones we do not know
         * (spec 3.1.2); bit 2 (video mode) we cannot set, but the kernel
         * must cope with no framebuffer info anyway, as on QEMU. */
        uint32_t unknown = h->flags & 0xffffu & ~(LOADER_MB_PAGE_ALIGN | LOADER_MB_MEMORY_INFO | LOADER_MB_VIDEO_MODE);
        if (unknown)
            return ixvm_errinfo_set(err, IXVM_ERR_NOT_SUPPORTED,
                                    "kernel file '%s': multiboot header requires unknown features (flags %#x)",
                                    name, unknown);
        h->aout = h->flags & LOADER_MB_AOUT_KLUDGE;
        if (h->aout) {
            if (off + 32 > len)
                return ixvm_errinfo_set(err, IXVM_ERR_TRUNCATED,
                                        "kernel file '%s': multiboot header address fields cut off", name);
            h->header_addr = rd32(p + 12);
            h->load_addr = rd32(p + 16);
            h->load_end_addr = rd32(p + 20);
            h->bss_end_addr = rd32(p + 24);
            h->entry_addr = rd32(p + 28);
        }
        return 1;
    }
    return 0;
}

/* The kernel's memory image [lo, hi): bytes from the file, zeros after. */
struct mb_image {
    uint32_t lo, hi, entry;
    uint8_t *data;
};

static int mb_check_range(const char *name, uint64_t lo, uint64_t hi, uint64_t ram, struct ixvm_errinfo *err)
{
    if (lo < LOADER_MB_LOW_LIMIT || hi < lo || hi > ram)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "kernel file '%s': loads at %#llx-%#llx, outside RAM from 1 MiB to %#llx", name,
                                (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)ram);
    return 0;
}

static int mb_load_aout(const char *name, const uint8_t *buf, size_t len, const struct loader_mb_hdr *h,
                        uint64_t ram, struct mb_image *m, struct ixvm_errinfo *err)
{
    if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > h->offset)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT,
                                "kernel file '%s': multiboot load_addr %#x is after header_addr %#x or before "
                                "the file start", name, h->load_addr, h->header_addr);
    uint64_t file_off = h->offset - (h->header_addr - h->load_addr);
    uint64_t load_len = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr : len - file_off;
    if (h->load_end_addr && h->load_end_addr < h->load_addr)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "kernel file '%s': multiboot load_end_addr %#x < load_addr %#x",
                                name, h->load_end_addr, h->load_addr);
    if (file_off + load_len > len)
        return ixvm_errinfo_set(err, IXVM_ERR_TRUNCATED, "kernel file '%s': truncated: load_end_addr needs %llu bytes, "
                                "the file has %zu", name, (unsigned long long)(file_off + load_len), len);
    uint64_t hi = h->load_addr + load_len;
    if (h->bss_end_addr) {
        if (h->bss_end_addr < hi)
            return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "kernel file '%s': bss_end_addr %#x is below the "
                                    "loaded end %#llx", name, h->bss_end_addr, (unsigned long long)hi);
        hi = h->bss_end_addr;
    }
    int rc = mb_check_range(name, h->load_addr, hi, ram, err);
    if (rc < 0)
        return rc;
    if (h->entry_addr < h->load_addr || h->entry_addr >= hi)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "kernel file '%s': entry %#x is outside the image %#x-%#llx",
                                name, h->entry_addr, h->load_addr, (unsigned long long)hi);
    m->lo = h->load_addr;
    m->hi = (uint32_t)hi;
    m->entry = h->entry_addr;
    if (!(m->data = calloc(1, m->hi - m->lo + 1)))
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "kernel file '%s': out of memory", name);
    memcpy(m->data, buf + file_off, load_len);
    return 0;
}

/* ELF32 (System V ABI, i386 supplement): the PT_LOAD program headers at
 * their physical addresses, as GRUB does; the entry point is translated
 * from virtual to physical through the segment holding it. */
#define ELF_PHDR_SIZE 32
#define ELF_PT_LOAD 1

static int elf_fail(const char *name, const char *why, struct ixvm_errinfo *err)
{
    return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "kernel file '%s': %s", name, why);
}

static int mb_elf_bounds(const char *name, const uint8_t *buf, size_t len, uint32_t phoff, unsigned phnum,
                         uint64_t ram, struct mb_image *m, struct ixvm_errinfo *err)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    uint32_t entry = rd32(buf + 24);
    m->entry = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = buf + phoff + (size_t)i * ELF_PHDR_SIZE;
        if (rd32(ph) != ELF_PT_LOAD || !rd32(ph + 20))
            continue;
        uint32_t off = rd32(ph + 4), vaddr = rd32(ph + 8), paddr = rd32(ph + 12);
        uint32_t filesz = rd32(ph + 16), memsz = rd32(ph + 20);
        if (filesz > memsz || (uint64_t)off + filesz > len)
            return elf_fail(name, "truncated or bad ELF program header (segment beyond the file end)", err);
        lo = paddr < lo ? paddr : lo;
        hi = (uint64_t)paddr + memsz > hi ? (uint64_t)paddr + memsz : hi;
        if (entry >= vaddr && entry - vaddr < memsz)
            m->entry = paddr + (entry - vaddr);
    }
    if (lo == UINT64_MAX)
        return elf_fail(name, "ELF file has no loadable segment", err);
    if (!m->entry)
        return elf_fail(name, "ELF entry point is in no loadable segment", err);
    int rc = mb_check_range(name, lo, hi, ram, err);
    if (rc < 0)
        return rc;
    m->lo = (uint32_t)lo;
    m->hi = (uint32_t)hi;
    return 0;
}

static int mb_load_elf(const char *name, const uint8_t *buf, size_t len, uint64_t ram, struct mb_image *m,
                       struct ixvm_errinfo *err)
{
    static const uint8_t ident[] = { 0x7f, 'E', 'L', 'F', 1 /* 32-bit */, 1 /* LSB */ };
    if (len < 52 || memcmp(buf, ident, 4))
        return elf_fail(name, "multiboot header without address fields (flag 16), and not an ELF file", err);
    if (memcmp(buf, ident, sizeof(ident)) || rd16(buf + 18) != 3 /* EM_386 */ || rd16(buf + 16) != 2 /* ET_EXEC */)
        return elf_fail(name, "not a 32-bit little-endian i386 executable ELF file", err);
    uint32_t phoff = rd32(buf + 28);
    unsigned phentsize = rd16(buf + 42), phnum = rd16(buf + 44);
    if (phentsize != ELF_PHDR_SIZE || phoff > len || (uint64_t)phnum * ELF_PHDR_SIZE > len - phoff)
        return elf_fail(name, "truncated or bad ELF program header table", err);
    int rc = mb_elf_bounds(name, buf, len, phoff, phnum, ram, m, err);
    if (rc < 0)
        return rc;
    if (!(m->data = calloc(1, m->hi - m->lo + 1)))
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "kernel file '%s': out of memory", name);
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = buf + phoff + (size_t)i * ELF_PHDR_SIZE;
        if (rd32(ph) == ELF_PT_LOAD && rd32(ph + 20))
            memcpy(m->data + (rd32(ph + 12) - m->lo), buf + rd32(ph + 4), rd32(ph + 16));
    }
    return 0;
}

/* The info block (at LOADER_MB_INFO_ADDR): multiboot_info, the memory map
 * area, the module list, then strings. */
struct mb_info {
    uint8_t buf[LOADER_MB_INFO_MAX];
    uint32_t used;
};

static uint32_t mbi_str(struct mb_info *mi, const char *s, size_t n)
{
    if (mi->used + n + 1 > sizeof(mi->buf))
        return 0;
    uint32_t at = mi->used;
    memcpy(mi->buf + at, s, n);
    mi->buf[at + n] = 0;
    mi->used += (uint32_t)n + 1;
    return LOADER_MB_INFO_ADDR + at;
}

/* One module spec from "file args,file args" with ",," for a comma. */
static const char *mb_next_module(const char *p, char *out, size_t outsz)
{
    size_t n = 0;
    for (; *p; p++) {
        if (*p == ',' && p[1] != ',')
            break;
        if (*p == ',')
            p++;
        if (n + 1 < outsz)
            out[n++] = *p;
    }
    out[n] = 0;
    return *p ? p + 1 : p;
}

struct mb_mods {
    uint8_t *data;     /* the image, growing */
    uint32_t lo, end;  /* guest addresses: data[0] is lo, end is one past the last byte */
};

/* Load one module after the others; *start and *str get its address and
 * its string's address. */
static int mb_add_module(struct mb_mods *mm, struct mb_info *mi, const char *spec, uint64_t ram, bool page_align,
                         uint32_t *start, uint32_t *str, struct ixvm_errinfo *err)
{
    char path[4096];
    size_t plen = strcspn(spec, " \t");
    if (plen == 0 || plen >= sizeof(path))
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "module '%s': no file name", spec);
    memcpy(path, spec, plen);
    path[plen] = 0;
    uint8_t *data;
    size_t len;
    int rc = loader_read_file(path, "module", &data, &len, err);
    if (rc < 0)
        return rc;
    uint32_t at = page_align ? align_up(mm->end, 4096) : align_up(mm->end, 16);
    if ((uint64_t)at + len > ram) {
        free(data);
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "module file '%s': %zu bytes at %#x do not fit in RAM (less 1 MiB for the "
                                "firmware): give more memory (-m)", path, len, at);
    }
    uint8_t *grown = realloc(mm->data, at - mm->lo + len + 1);
    if (!grown) {
        free(data);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "module file '%s': out of memory", path);
    }
    mm->data = grown;
    memset(grown + (mm->end - mm->lo), 0, at - mm->end);
    if (len)
        memcpy(grown + (at - mm->lo), data, len);
    free(data);
    mm->end = at + (uint32_t)len;
    *start = at;
    *str = mbi_str(mi, spec, strlen(spec));
    if (!*str)
        return ixvm_errinfo_set(err, IXVM_ERR_BUFFER_OVERFLOW, "module '%s': the module strings exceed the info block",
                                spec);
    return 0;
}

static int mb_modules(const struct loader_args *a, const struct loader_mb_hdr *h, uint64_t ram, struct mb_mods *mm,
                      struct mb_info *mi, uint32_t *count, struct ixvm_errinfo *err)
{
    *count = 0;
    mi->used = LOADER_MB_MODS_OFF;
    if (!a->initrd || !*a->initrd)
        return 0;
    /* Count first: the module list precedes the strings in the block. */
    uint32_t n = 1;
    for (const char *p = a->initrd; *p; p++) {
        if (*p == ',' && p[1] == ',')
            p++;
        else if (*p == ',')
            n++;
    }
    if (LOADER_MB_MODS_OFF + 16u * n > sizeof(mi->buf) / 2)
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "--initrd: %u modules are too many", n);
    mi->used = LOADER_MB_MODS_OFF + 16 * n;
    const char *p = a->initrd;
    char spec[4096];
    for (uint32_t i = 0; i < n; i++) {
        p = mb_next_module(p, spec, sizeof(spec));
        uint32_t start, str;
        int rc = mb_add_module(mm, mi, spec, ram, h->flags & LOADER_MB_PAGE_ALIGN, &start, &str, err);
        if (rc < 0)
            return rc;
        uint8_t *e = mi->buf + LOADER_MB_MODS_OFF + 16 * i;   /* multiboot_module: start, end, string, 0 */
        wr32(e, start);
        wr32(e + 4, mm->end);
        wr32(e + 8, str);
        wr32(e + 12, 0);
        *count = i + 1;
    }
    return 0;
}

/* The multiboot_info fields the host knows; the ROM fills mem_lower,
 * mem_upper and the memory map from the BIOS (INT 12h, INT 15h E820). */
static int mb_fill_info(const struct loader_args *a, struct mb_info *mi, uint32_t nmods, struct ixvm_errinfo *err)
{
    uint8_t *b = mi->buf;
    /* The command line starts with the kernel's name, as GRUB and QEMU pass it. */
    size_t cl_len = strlen(a->kernel) + 1 + (a->cmdline ? strlen(a->cmdline) : 0);
    char *cl = malloc(cl_len + 1);
    if (!cl)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "kernel loader: out of memory");
    snprintf(cl, cl_len + 1, "%s%s%s", a->kernel, a->cmdline && *a->cmdline ? " " : "", a->cmdline ? a->cmdline : "");
    uint32_t cmdline = mbi_str(mi, cl, strlen(cl));
    free(cl);
    uint32_t name = mbi_str(mi, "ixvm", 4);
    if (!cmdline || !name)
        return ixvm_errinfo_set(err, IXVM_ERR_BUFFER_OVERFLOW, "kernel command line: longer than the info block");
    uint32_t flags = LOADER_MBI_MEMORY | LOADER_MBI_CMDLINE | LOADER_MBI_MMAP | LOADER_MBI_LOADER_NAME;
    wr32(b + 0, flags | (nmods ? LOADER_MBI_MODS : 0));
    wr32(b + 4, 640);                                                     /* mem_lower: the ROM refines */
    wr32(b + 8, (uint32_t)((a->ram_size - LOADER_MB_LOW_LIMIT) >> 10));   /* mem_upper: likewise */
    wr32(b + 16, cmdline);
    wr32(b + 20, nmods);
    wr32(b + 24, nmods ? LOADER_MB_INFO_ADDR + LOADER_MB_MODS_OFF : 0);
    wr32(b + 44, 0);                                                      /* mmap_length: the ROM */
    wr32(b + 48, LOADER_MB_INFO_ADDR + LOADER_MB_MMAP_OFF);
    wr32(b + 64, name);
    return 0;
}

static int mb_prepare(const struct loader_args *a, const uint8_t *buf, size_t len, const struct loader_mb_hdr *h,
                      struct loader_image *img, struct ixvm_errinfo *err)
{
    uint64_t ram = a->ram_size > LOADER_TOP_RESERVE ? a->ram_size - LOADER_TOP_RESERVE : 0;
    struct mb_image m = { 0 };
    int rc = h->aout ? mb_load_aout(a->kernel, buf, len, h, ram, &m, err) : mb_load_elf(a->kernel, buf, len, ram, &m, err);
    if (rc < 0)
        return rc;
    struct mb_info *mi = calloc(1, sizeof(*mi));
    struct mb_mods mm = { m.data, m.lo, m.hi };
    uint32_t nmods = 0;
    if (!mi)
        rc = ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "kernel loader: out of memory");
    if (rc >= 0)
        rc = mb_modules(a, h, ram, &mm, mi, &nmods, err);
    if (rc >= 0)
        rc = mb_fill_info(a, mi, nmods, err);
    if (rc >= 0)
        rc = seg_alloc(&img->kernel, LOADER_MB_INFO_ADDR, align_up(mi->used, 16), err);
    if (rc >= 0) {
        memcpy(img->kernel.data, mi->buf, img->kernel.len);
        img->initrd = (struct loader_seg){ mm.lo, mm.end - mm.lo, mm.data };
        mm.data = NULL;
        img->entry = m.entry;
        img->nmods = nmods;
        img->kind = LOADER_MULTIBOOT;
        img->rom = "multiboot.bin";
    }
    free(mm.data);
    free(mi);
    return rc;
}

/* ---- entry points --------------------------------------------------------------------- */

/* Recognise buf: 1 multiboot, 2 Linux, negative error (not a kernel, or
 * one we cannot boot). */
static int loader_identify(const char *name, const uint8_t *buf, size_t len, struct loader_mb_hdr *mh,
                           struct loader_linux_hdr *lh, struct ixvm_errinfo *err)
{
    if (len == 0)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "kernel file '%s': empty file", name);
    int rc = loader_mb_find(buf, len, name, mh, err);
    if (rc != 0)
        return rc;
    rc = loader_linux_parse(buf, len, name, lh, err);
    if (rc != 0)
        return rc < 0 ? rc : 2;
    if (len >= 4 && !memcmp(buf, "\x7f" "ELF", 4))
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT,
                                "kernel file '%s': an ELF file without a multiboot header in its first 8 KiB", name);
    return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT,
                            "kernel file '%s': not a kernel (no multiboot header in the first 8 KiB, no Linux "
                            "\"HdrS\" setup header)", name);
}

int loader_prepare(const struct loader_args *a, struct loader_image *img, struct ixvm_errinfo *err)
{
    memset(img, 0, sizeof(*img));
    uint8_t *buf;
    size_t len;
    int rc = loader_read_file(a->kernel, "kernel", &buf, &len, err);
    if (rc < 0)
        return rc;
    struct loader_mb_hdr mh;
    struct loader_linux_hdr lh;
    rc = loader_identify(a->kernel, buf, len, &mh, &lh, err);
    if (rc == 1)
        rc = mb_prepare(a, buf, len, &mh, img, err);
    else if (rc == 2)
        rc = linux_prepare(a, buf, len, &lh, img, err);
    free(buf);
    if (rc < 0)
        loader_image_free(img);
    return rc < 0 ? rc : 0;
}

int loader_check_kernel(const char *path, struct ixvm_errinfo *err)
{
    /* The whole layout with the most RAM a PC has: only the file's own
     * faults can fail it. */
    struct loader_args a = { .kernel = path, .ram_size = 0xe0000000ull };
    struct loader_image img;
    int rc = loader_prepare(&a, &img, err);
    loader_image_free(&img);
    return rc;
}

int loader_check_initrd(const char *spec, struct ixvm_errinfo *err)
{
    /* A Linux initrd is one file whose name may hold commas or spaces. */
    FILE *whole = fopen(spec, "rb");
    if (whole) {
        fclose(whole);
        return 0;
    }
    char one[4096];
    for (const char *p = spec; *p;) {
        p = mb_next_module(p, one, sizeof(one));
        one[strcspn(one, " \t")] = 0;
        FILE *f = fopen(one, "rb");
        if (!f)
            return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "initrd/module file '%s': %s", one, strerror(errno));
        fclose(f);
    }
    return 0;
}
