/* SPDX-License-Identifier: MIT */
/*
 * Direct kernel boot, the board side (include/ixvm/loader.h,
 * docs/kernel-boot.md): reads the Kernel/... config keys, has the kernel laid
 * out (pc_kernel_fmt.c) and hands it to the firmware: the pieces as fw_cfg
 * items (QEMU's kernel/initrd/cmdline/setup keys), our option ROM as
 * "genroms/<name>" and a "bootorder" that puts the ROM's boot entry first.
 * SeaBIOS runs the ROM's init at POST, adds its PnP boot entry vector to
 * the boot menu, and boots it first; the ROM fetches everything by fw_cfg
 * DMA and enters the kernel.
 */
#define LOG_GROUP LOG_GROUP_DEV
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/cfg.h"
#include "ixvm/loader.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"

#ifndef IXVM_ROM_DIR
#define IXVM_ROM_DIR "roms"   /* set by roms/CMakeLists.txt to the build's roms directory */
#endif

#define ROM_MAX (64u << 10)

/* Read and check an option ROM (PCI Firmware Spec 3.0, 5.1: 0x55 0xAA,
 * size in 512-byte units at 2, bytes sum to 0 modulo 256). */
static int loader_read_rom(const char *dir, const char *name, uint8_t **out, size_t *out_len,
                           struct ixvm_errinfo *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "option ROM '%s': %s (set Kernel/RomDir to the "
                                "directory holding the built roms)", path, strerror(errno));
    uint8_t *buf = malloc(ROM_MAX + 1);
    size_t n = buf ? fread(buf, 1, ROM_MAX + 1, f) : 0;
    fclose(f);
    if (!buf)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "option ROM '%s': out of memory", path);
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + buf[i]);
    const char *why = NULL;
    if (n < 512 || n > ROM_MAX || n % 512)
        why = "size is not a multiple of 512 bytes up to 64 KiB";
    else if (buf[0] != 0x55 || buf[1] != 0xaa)
        why = "no 0x55 0xAA signature";
    else if (buf[2] * 512u != n)
        why = "the size byte does not match the file size";
    else if (sum)
        why = "bad checksum";
    if (why) {
        free(buf);
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "option ROM '%s': %s", path, why);
    }
    *out = buf;
    *out_len = n;
    return 0;
}

/* One piece as three items: address, size, data (a key of 0: none). */
static int loader_add_seg(struct dev_ins *fw, uint16_t k_addr, uint16_t k_size, uint16_t k_data,
                          const struct loader_seg *s)
{
    int rc = fw_cfg_add_u32(fw, k_addr, s->addr);
    rc = rc < 0 ? rc : fw_cfg_add_u32(fw, k_size, s->len);
    rc = rc < 0 ? rc : fw_cfg_add_bytes(fw, k_data, s->data, s->data ? s->len : 0);
    return rc;
}

static int loader_add_items(struct dev_ins *fw, const struct loader_image *img)
{
    int rc = loader_add_seg(fw, FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE, FW_CFG_KERNEL_DATA, &img->kernel);
    rc = rc < 0 ? rc : loader_add_seg(fw, FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA, &img->initrd);
    rc = rc < 0 ? rc : fw_cfg_add_u32(fw, FW_CFG_KERNEL_ENTRY, img->entry);
    if (img->kind == LOADER_LINUX) {
        rc = rc < 0 ? rc : loader_add_seg(fw, FW_CFG_SETUP_ADDR, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA, &img->setup);
        rc = rc < 0 ? rc : loader_add_seg(fw, FW_CFG_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE, FW_CFG_CMDLINE_DATA,
                                          &img->cmdline);
        rc = rc < 0 ? rc : fw_cfg_add_bytes(fw, FW_CFG_KERNEL_CMDLINE, img->cmdline.data, img->cmdline.len);
    }
    return rc;
}

int loader_install(struct dev_ins *fw, const struct loader_image *img, const char *rom_dir, const char *bootorder,
                   struct ixvm_errinfo *err)
{
    uint8_t *rom;
    size_t rom_len;
    int rc = loader_read_rom(rom_dir, img->rom, &rom, &rom_len, err);
    if (rc < 0)
        return rc;
    char file[64], order[1024];
    snprintf(file, sizeof(file), "genroms/%s", img->rom);
    /* SeaBIOS boots what "bootorder" names first: "/rom@<fw_cfg file>". */
    int n = snprintf(order, sizeof(order), "/rom@%s\n%s", file, bootorder ? bootorder : "");
    rc = loader_add_items(fw, img);
    rc = rc < 0 ? rc : fw_cfg_add_file(fw, file, rom, rom_len);
    rc = rc < 0 ? rc : (n > 0 && (size_t)n < sizeof(order)) ? fw_cfg_add_file(fw, "bootorder", order, (size_t)n + 1)
                                                             : IXVM_ERR_BUFFER_OVERFLOW;
    free(rom);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "kernel loader: cannot fill fw_cfg: %s", ixvm_strerror(rc));
    return 0;
}

static const char *loader_cfg_str(const struct cfg *cfg, const char *key)
{
    const char *v = NULL;
    return cfg_get_str(cfg, key, &v) < 0 || !v ? "" : v;
}

int pc_kernel_setup(struct dev_ins *fw, const struct cfg *cfg, uint64_t ram_size, const char *bootorder,
                    struct ixvm_errinfo *err)
{
    const char *path = loader_cfg_str(cfg, "Kernel/Path");
    if (!*path)
        return 0;
    struct loader_args a = { .kernel = path, .initrd = loader_cfg_str(cfg, "Kernel/Initrd"),
                             .cmdline = loader_cfg_str(cfg, "Kernel/Cmdline"), .ram_size = ram_size };
    const char *dir = loader_cfg_str(cfg, "Kernel/RomDir");
    struct loader_image img;
    int rc = loader_prepare(&a, &img, err);
    if (rc >= 0)
        rc = loader_install(fw, &img, *dir ? dir : IXVM_ROM_DIR, bootorder, err);
    if (rc >= 0)
        LOG_REL("kernel: %s '%s': %u bytes at %#x, %u bytes at %#x, entry %#x, %u module(s), ROM %s",
                img.kind == LOADER_LINUX ? "Linux" : "multiboot", path, img.kernel.len, img.kernel.addr,
                img.initrd.len, img.initrd.addr, img.entry, img.nmods, img.rom);
    loader_image_free(&img);
    return rc;
}
