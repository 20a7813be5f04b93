/* SPDX-License-Identifier: MIT */
/*
 * Direct kernel boot (docs/kernel-boot.md): `--kernel FILE [--initrd F]
 * [--append STR]` as QEMU's -kernel.  The host side (src/devices/pc_kernel*.c)
 * reads the kernel, recognises a multiboot v1 kernel (ELF32 or the a.out
 * kludge) or a Linux bzImage/zImage (boot protocol 2.00+), lays the pieces
 * out in guest-physical memory and hands them to the firmware through
 * fw_cfg with one of our option ROMs (roms/linuxboot.asm,
 * roms/multiboot.asm) as "genroms/<name>", first in the boot order.
 * SeaBIOS runs the ROM's boot entry (BEV), which fetches the pieces with
 * fw_cfg DMA and enters the kernel.
 *
 * Config keys: Kernel/Path, Kernel/Initrd, Kernel/Cmdline, Kernel/RomDir.
 */
#ifndef IXVM_LOADER_H
#define IXVM_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ixvm/types.h"

struct cfg;
struct dev_ins;

/* fw_cfg legacy keys of the kernel loader (QEMU's numbering, which the
 * firmware side shares: docs/specs/fw_cfg.txt there). */
#define FW_CFG_KERNEL_ADDR 0x07
#define FW_CFG_KERNEL_SIZE 0x08
#define FW_CFG_KERNEL_CMDLINE 0x09
#define FW_CFG_INITRD_ADDR 0x0a
#define FW_CFG_INITRD_SIZE 0x0b
#define FW_CFG_KERNEL_ENTRY 0x10
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR 0x16
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18

/* ---- Linux boot protocol (Documentation/arch/x86/boot.rst) ----------------- */

#define LOADER_LINUX_HDRS 0x53726448u      /* "HdrS" at 0x202 */
#define LOADER_LINUX_LOADED_HIGH 0x01      /* loadflags: protected-mode part at 1 MiB */
#define LOADER_LINUX_CAN_USE_HEAP 0x80     /* loadflags: heap_end_ptr is valid */
#define LOADER_LINUX_LOADER_ID 0xff        /* type_of_loader: "undefined" boot loader */

/* What the setup header says (all from the file, nothing decided yet). */
struct loader_linux_hdr {
    uint16_t version;        /* boot protocol, 0x0200 or later */
    uint8_t loadflags;
    bool high;               /* LOADED_HIGH: bzImage */
    uint32_t setup_size;     /* bytes of the real-mode part: (setup_sects + 1) * 512 */
    uint32_t kernel_size;    /* bytes of the protected-mode part */
    uint32_t initrd_max;     /* highest address an initrd byte may have */
    uint32_t cmdline_max;    /* longest command line, without its NUL */
    uint32_t init_size;      /* memory the kernel needs from its load address (>= 2.10), else 0 */
};

/* Parse a bzImage/zImage setup header.  Returns 1 when buf is a Linux
 * kernel, 0 when it is not one (no boot sector signature or no "HdrS"),
 * negative with err naming `name` when it is one that cannot be booted
 * (protocol < 2.00, truncated). */
int loader_linux_parse(const uint8_t *buf, size_t len, const char *name, struct loader_linux_hdr *h,
                       struct ixvm_errinfo *err) IXVM_WUR;

/* ---- Multiboot v1 (the Multiboot Specification 0.6.96) ------------------------ */

#define LOADER_MB_MAGIC 0x1badb002u        /* in the kernel's header */
#define LOADER_MB_BOOT_MAGIC 0x2badb002u   /* EAX at the kernel's entry */
#define LOADER_MB_SEARCH 8192              /* the header lies in the first 8 KiB, 4-aligned */
#define LOADER_MB_PAGE_ALIGN 0x00000001u   /* modules on 4 KiB boundaries */
#define LOADER_MB_MEMORY_INFO 0x00000002u  /* mem_* fields required */
#define LOADER_MB_VIDEO_MODE 0x00000004u   /* video mode fields (not offered) */
#define LOADER_MB_AOUT_KLUDGE 0x00010000u  /* address fields are valid */
/* multiboot_info.flags */
#define LOADER_MBI_MEMORY 0x001u
#define LOADER_MBI_CMDLINE 0x004u
#define LOADER_MBI_MODS 0x008u
#define LOADER_MBI_MMAP 0x040u
#define LOADER_MBI_LOADER_NAME 0x200u
/* Where the info block goes (low memory, as QEMU) and its layout: the
 * 88-byte multiboot_info, room for the memory map the ROM fills from
 * INT 15h E820, then the module list and the strings. */
#define LOADER_MB_INFO_ADDR 0x9000u
#define LOADER_MB_INFO_MAX 0x10000u        /* the ROM addresses it through one segment */
#define LOADER_MB_MMAP_OFF 0x80u
#define LOADER_MB_MMAP_MAX 128u            /* entries of 24 bytes (size field + 20) */
#define LOADER_MB_MODS_OFF (LOADER_MB_MMAP_OFF + 24u * LOADER_MB_MMAP_MAX)
#define LOADER_MB_LOW_LIMIT 0x100000u      /* images load at or above 1 MiB */

struct loader_mb_hdr {
    uint32_t offset;                      /* of the header in the file */
    uint32_t flags;
    bool aout;                            /* LOADER_MB_AOUT_KLUDGE */
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Find the multiboot header.  Returns 1 found, 0 none, negative (err names
 * `name`) when the header asks for something we cannot give. */
int loader_mb_find(const uint8_t *buf, size_t len, const char *name, struct loader_mb_hdr *h,
                   struct ixvm_errinfo *err) IXVM_WUR;

/* ---- Laying out a boot ------------------------------------------------------- */

enum loader_kind { LOADER_NONE, LOADER_LINUX, LOADER_MULTIBOOT };

/* One piece of guest memory contents. */
struct loader_seg {
    uint32_t addr;
    uint32_t len;
    uint8_t *data;           /* owned */
};

/*
 * A prepared boot.  Linux: setup (the real-mode part with the header filled
 * in), kernel (the protected-mode part), initrd, cmdline (NUL-terminated).
 * Multiboot: setup unused; kernel = the multiboot info block at
 * LOADER_MB_INFO_ADDR, initrd = the image from its lowest load address
 * (ELF segments or a.out kludge, BSS zeroed) followed by the modules;
 * entry = its entry point.
 */
struct loader_image {
    enum loader_kind kind;
    const char *rom;         /* option ROM file name: "linuxboot.bin" or "multiboot.bin" */
    struct loader_seg setup, kernel, initrd, cmdline;
    uint32_t entry;
    uint32_t nmods;
};

struct loader_args {
    const char *kernel;      /* path */
    const char *initrd;      /* Linux: one file; multiboot: "file args,file args" (",," is a comma) */
    const char *cmdline;     /* NULL: empty */
    uint64_t ram_size;       /* bytes of RAM from 0 */
};

/* Read and lay out a kernel; errors name the file and the reason.  Free
 * the result with loader_image_free (also after a failure). */
int loader_prepare(const struct loader_args *a, struct loader_image *img, struct ixvm_errinfo *err) IXVM_WUR;
void loader_image_free(struct loader_image *img);

/* Command-line checks: the kernel file exists, is readable and is a kernel
 * we can boot; each initrd/module file is readable. */
int loader_check_kernel(const char *path, struct ixvm_errinfo *err) IXVM_WUR;
int loader_check_initrd(const char *spec, struct ixvm_errinfo *err) IXVM_WUR;

/* Give a prepared boot to the firmware: the fw_cfg items, the option ROM
 * (read from rom_dir, checked: signature, size, checksum) as
 * "genroms/<rom>", and "bootorder" with the ROM first, then `bootorder`
 * (may be NULL). */
int loader_install(struct dev_ins *fw, const struct loader_image *img, const char *rom_dir, const char *bootorder,
                   struct ixvm_errinfo *err) IXVM_WUR;

/* The board's one call: nothing when Kernel/Path is empty, else prepare
 * and install (Kernel/RomDir, default the build's roms directory). */
int pc_kernel_setup(struct dev_ins *fw, const struct cfg *cfg, uint64_t ram_size, const char *bootorder,
                    struct ixvm_errinfo *err) IXVM_WUR;

#endif
