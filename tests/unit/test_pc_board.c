/* SPDX-License-Identifier: MIT */
/*
 * Board wiring tests (docs/board.md): the 8042, VGA and PIIX3 IDE functions
 * on the machine pc.c builds from the IDE/..., Boot/... and VGA/... config
 * keys, without running a CPU: PCI identity at 00:01.1 and 00:02.0, the
 * 8042's A20 and reset lines, the CMOS boot-order bytes and the fw_cfg
 * boot items SeaBIOS reads, configuration errors, the screen-text dump.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ixvm/cfg.h"
#include "ixvm/pc.h"
#include "ixvm/pci.h"
#include "ixvm/pgm.h"
#include "ixvm/vga.h"
#include "ixvm/dbgf.h"
#include "ixvm/vmm.h"

struct bfix {
    char rom[64], disk[64], iso[64];
    struct cfg *cfg;
    struct pc *pc;
    struct ixvm_errinfo err;
};

static void write_file(const char *path, size_t size, uint8_t fill)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    uint8_t buf[4096];
    memset(buf, fill, sizeof(buf));
    for (size_t n = 0; n < size; n += sizeof(buf))
        cr_assert_eq(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
    fclose(f);
}

/* A 64 KiB ROM of HLTs whose reset vector jumps to F000:0000; a 1 MiB disk
 * and a 64 KiB "CD". */
static void fix_files(struct bfix *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->rom, sizeof(f->rom), "/tmp/ixvm-test-pcb-%d.rom", (int)getpid());
    snprintf(f->disk, sizeof(f->disk), "/tmp/ixvm-test-pcb-%d.img", (int)getpid());
    snprintf(f->iso, sizeof(f->iso), "/tmp/ixvm-test-pcb-%d.iso", (int)getpid());
    write_file(f->rom, 0x10000, 0xf4);
    FILE *fp = fopen(f->rom, "r+b");
    const uint8_t jmp[] = { 0xea, 0x00, 0x00, 0x00, 0xf0 };
    cr_assert_eq(fseek(fp, 0xfff0, SEEK_SET), 0);
    cr_assert_eq(fwrite(jmp, 1, sizeof(jmp), fp), sizeof(jmp));
    fclose(fp);
    write_file(f->disk, 1 << 20, 0);
    write_file(f->iso, 1 << 16, 0);
    cr_assert_eq(cfg_create(&f->cfg), 0);
    cr_assert_eq(cfg_set(f->cfg, "Memory/Size", "32M", &f->err), 0);
}

static void fix_set(struct bfix *f, const char *key, const char *val)
{
    cr_assert_eq(cfg_set(f->cfg, key, val, &f->err), 0, "%s: %s", key, f->err.msg);
}

static int fix_build(struct bfix *f, bool no_reboot)
{
    struct pc_options o = { .bios_path = f->rom, .no_reboot = no_reboot, .boot_fail_wait_ms = -1 };
    return pc_create(f->cfg, &o, &f->pc, &f->err);
}

static void fix_destroy(struct bfix *f)
{
    pc_destroy(f->pc);
    cfg_destroy(f->cfg);
    unlink(f->rom);
    unlink(f->disk);
    unlink(f->iso);
}

static uint32_t port_in(struct bfix *f, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    cr_assert_eq(iom_in(pc_iom(f->pc), port, size, &v), 0);
    return v;
}

static void port_out(struct bfix *f, uint16_t port, uint32_t v, unsigned size)
{
    cr_assert_eq(iom_out(pc_iom(f->pc), port, v, size), 0);
}

static uint32_t pci_read32(struct bfix *f, uint8_t devfn, uint8_t off)
{
    port_out(f, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | off, 4);
    return port_in(f, 0xcfc, 4);
}

/* fw_cfg file contents by name (NUL-terminated copy), or -1. */
static int fw_file(struct bfix *f, const char *name, char *buf, size_t len)
{
    port_out(f, 0x510, FW_CFG_FILE_DIR, 2);
    uint32_t n = 0;
    for (unsigned i = 0; i < 4; i++)
        n = n << 8 | port_in(f, 0x511, 1);
    int sel = -1;
    uint32_t size = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint8_t e[64];
        for (unsigned i = 0; i < 64; i++)
            e[i] = (uint8_t)port_in(f, 0x511, 1);
        if (!strcmp((char *)e + 8, name)) {
            sel = e[4] << 8 | e[5];
            size = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 | (uint32_t)e[2] << 8 | e[3];
        }
    }
    if (sel < 0)
        return -1;
    port_out(f, 0x510, (uint32_t)sel, 2);
    memset(buf, 0, len);
    for (uint32_t i = 0; i < size && i + 1 < len; i++)
        buf[i] = (char)port_in(f, 0x511, 1);
    return (int)size;
}

static uint8_t cmos(struct bfix *f, unsigned idx)
{
    uint8_t v = 0;
    cr_assert_eq(rtc_cmos_read(pc_device(f->pc, "rtc"), idx, &v), 0);
    return v;
}

Test(pc_board, pci_functions_and_vga_window)
{
    struct bfix f;
    fix_files(&f);
    fix_set(&f, "VGA/Rom", "none");
    fix_set(&f, "VGA/VRamSize", "4M");
    cr_assert_eq(fix_build(&f, false), 0, "%s", f.err.msg);
    for (const char *const *n = (const char *const[]){ "i8042", "vga", "piix_ide", NULL }; *n; n++)
        cr_assert_not_null(pc_device(f.pc, *n), "%s", *n);
    cr_assert_eq(pci_read32(&f, PCI_DEVFN(1, 1), 0), 0x70108086u, "PIIX3 IDE at 00:01.1");
    cr_assert_eq(pci_read32(&f, PCI_DEVFN(1, 1), 8) >> 8, 0x010180u, "IDE class, compatibility + bus master");
    cr_assert_eq(pci_read32(&f, PCI_DEVFN(2, 0), 0), 0x11111234u, "std VGA at 00:02.0");
    cr_assert_eq(pci_read32(&f, PCI_DEVFN(3, 0), 0), 0xffffffffu, "slot 3 empty");
    /* BAR0 sizes to the configured 4 MiB of VRAM. */
    port_out(&f, 0xcf8, 0x80000000u | PCI_DEVFN(2, 0) << 8 | 0x10, 4);
    port_out(&f, 0xcfc, 0xffffffffu, 4);
    cr_assert_eq(port_in(&f, 0xcfc, 4) & ~0xfu, ~(4u * 1024 * 1024 - 1));
    struct pgm *pgm = pc_pgm(f.pc);
    cr_assert_eq(pgm_page_kind(pgm, 0xa0000), PGM_PAGE_MMIO, "the VGA window");
    cr_assert_eq(pgm_page_kind(pgm, 0xbf000), PGM_PAGE_MMIO);
    cr_assert_eq(pgm_page_kind(pgm, 0x9f000), PGM_PAGE_RAM);
    /* Text mode at power-on: a write to B8000 shows in the screen text. */
    cr_assert_eq(pgm_phys_write(pgm, 0xb8000, "H\x07i\x07", 4), 0);
    struct vga_text *t = malloc(sizeof(*t));
    cr_assert_eq(vga_text_snapshot(pc_device(f.pc, "vga"), t), 0);
    char row[VGA_TEXT_MAX_COLS + 1];
    vga_text_row_string(t, 0, row, sizeof(row));
    cr_assert_str_eq(row, "Hi");
    free(t);
    /* The legacy IDE ports: hda absent -> the empty CD on hdc answers. */
    cr_assert_eq(port_in(&f, 0x1f7, 1), 0, "no drive on the primary channel");
    port_out(&f, 0x176, 0xa0, 1);
    cr_assert_eq(port_in(&f, 0x174, 1), 0x14, "ATAPI signature on hdc");
    cr_assert_eq(port_in(&f, 0x175, 1), 0xeb);
    fix_destroy(&f);
}

Test(pc_board, kbc_a20_and_reset_lines)
{
    struct bfix f;
    fix_files(&f);
    cr_assert_eq(fix_build(&f, true), 0, "%s", f.err.msg);
    struct pgm *pgm = pc_pgm(f.pc);
    cr_assert(pgm_a20_enabled(pgm));
    port_out(&f, 0x92, 0x00, 1);                 /* port 0x92 A20 off: the 8042 line decides */
    cr_assert_not(pgm_a20_enabled(pgm));
    port_out(&f, 0x64, 0xdf, 1);                 /* 8042 A20 on */
    cr_assert(pgm_a20_enabled(pgm));
    port_out(&f, 0x64, 0xd1, 1);                 /* write output port: A20 off, reset high */
    port_out(&f, 0x60, 0x01, 1);
    cr_assert_not(pgm_a20_enabled(pgm));
    port_out(&f, 0x64, 0xd1, 1);
    port_out(&f, 0x60, 0x03, 1);
    cr_assert(pgm_a20_enabled(pgm));
    cr_assert_eq(pc_exit_status(f.pc, NULL), -1);
    port_out(&f, 0x64, 0xfe, 1);                 /* pulse the reset line */
    const char *why = NULL;
    cr_assert_eq(pc_exit_status(f.pc, &why), 1, "--no-reboot turns the reset into an exit");
    cr_assert(why && strstr(why, "keyboard controller"), "%s", why ? why : "(null)");
    fix_destroy(&f);
}

Test(pc_board, default_boot_order)
{
    struct bfix f;
    fix_files(&f);
    cr_assert_eq(fix_build(&f, false), 0, "%s", f.err.msg);
    cr_assert_eq(cmos(&f, 0x3d), 0x12, "c then a");
    cr_assert_eq(cmos(&f, 0x38) >> 4, 3, "then d");
    char buf[256];
    cr_assert_eq(fw_file(&f, "bootorder", buf, sizeof(buf)), -1, "no bootorder file by default (as QEMU)");
    cr_assert_eq(fw_file(&f, "etc/boot-menu-wait", buf, sizeof(buf)), -1);
    port_out(&f, 0x510, FW_CFG_BOOT_MENU, 2);
    cr_assert_eq(port_in(&f, 0x511, 1), 0);
    port_out(&f, 0x510, FW_CFG_BOOT_DEVICE, 2);
    cr_assert_eq(port_in(&f, 0x511, 1), 'c');
    fix_destroy(&f);
}

Test(pc_board, explicit_boot_order_and_menu)
{
    struct bfix f;
    fix_files(&f);
    fix_set(&f, "IDE/Hdb", f.disk);
    fix_set(&f, "IDE/Cdrom", f.iso);
    fix_set(&f, "Boot/Order", "dcn");
    fix_set(&f, "Boot/Menu", "true");
    fix_set(&f, "Boot/MenuTimeout", "12345");
    cr_assert_eq(fix_build(&f, false), 0, "%s", f.err.msg);
    cr_assert_eq(cmos(&f, 0x3d), 0x23, "d then c");
    cr_assert_eq(cmos(&f, 0x38) >> 4, 4, "then n");
    char buf[256];
    int n = fw_file(&f, "bootorder", buf, sizeof(buf));
    cr_assert_gt(n, 0);
    cr_assert_str_eq(buf, "/pci@i0cf8/ide@1,1/drive@1/disk@0\n/pci@i0cf8/ide@1,1/drive@0/disk@1\n",
                     "CD on hdc, then the first disk (hdb)");
    cr_assert_eq(n, (int)strlen(buf) + 1, "NUL-terminated");
    cr_assert_eq(fw_file(&f, "etc/boot-menu-wait", buf, sizeof(buf)), 2);
    cr_assert_eq((uint8_t)buf[0] | (uint8_t)buf[1] << 8, 12345);
    port_out(&f, 0x510, FW_CFG_BOOT_MENU, 2);
    cr_assert_eq(port_in(&f, 0x511, 1), 1);
    port_out(&f, 0x510, FW_CFG_BOOT_DEVICE, 2);
    cr_assert_eq(port_in(&f, 0x511, 1), 'd');
    fix_destroy(&f);
}

Test(pc_board, configuration_errors)
{
    static const struct {
        const char *key, *val, *want;
    } cases[] = {
        { "Boot/Order", "cdan", "Boot/Order" },
        { "Boot/Order", "cc", "twice" },
        { "Boot/Order", "q", "'q'" },
        { "IDE/Hda", "/nonexistent/disk.img", "'/nonexistent/disk.img'" },
        { "VGA/VRamSize", "3M", "power of two" },
        { "VGA/Rom", "/nonexistent/vga.rom", "/nonexistent/vga.rom" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bfix f;
        fix_files(&f);
        fix_set(&f, cases[i].key, cases[i].val);
        cr_assert_lt(fix_build(&f, false), 0, "%s=%s accepted", cases[i].key, cases[i].val);
        cr_assert_null(f.pc);
        cr_assert(strstr(f.err.msg, cases[i].want), "%s=%s: %s", cases[i].key, cases[i].val, f.err.msg);
        fix_destroy(&f);
    }
    struct bfix f;
    fix_files(&f);
    fix_set(&f, "IDE/Hdc", f.disk);
    fix_set(&f, "IDE/Cdrom", f.iso);
    cr_assert_lt(fix_build(&f, false), 0);
    cr_assert(strstr(f.err.msg, "IDE/Cdrom and IDE/Hdc"), "%s", f.err.msg);
    fix_destroy(&f);
}

Test(pc_board, disk_lock_and_check_drive)
{
    struct bfix f;
    fix_files(&f);
    fix_set(&f, "IDE/Hda", f.disk);
    cr_assert_eq(fix_build(&f, false), 0, "%s", f.err.msg);
    struct ixvm_errinfo err = { 0 };
    cr_assert_lt(pc_check_drive(f.disk, false, &err), 0, "the running machine holds the lock");
    cr_assert(strstr(err.msg, "in use by another process"), "%s", err.msg);
    cr_assert_eq(pc_check_drive(f.iso, true, &err), 0, "%s", err.msg);
    cr_assert_lt(pc_check_drive("/nonexistent.img", false, &err), 0);
    cr_assert(strstr(err.msg, "/nonexistent.img"), "%s", err.msg);
    fix_destroy(&f);
}

Test(pc_board, screen_text_dump)
{
    struct bfix f;
    fix_files(&f);
    cr_assert_eq(fix_build(&f, false), 0, "%s", f.err.msg);
    char path[64];
    snprintf(path, sizeof(path), "/tmp/ixvm-test-pcb-%d.txt", (int)getpid());
    cr_assert_eq(pgm_phys_write(pc_pgm(f.pc), 0xb8000 + 160, "O\x07K\x07", 4), 0);
    cr_assert_eq(pc_dump_screen_text(f.pc, path, false, &f.err), 0, "%s", f.err.msg);
    cr_assert_eq(pc_dump_screen_text(f.pc, path, true, &f.err), 1, "unchanged: skipped");
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    char line[256];
    unsigned rows = 0;
    bool ok = false;
    while (fgets(line, sizeof(line), fp)) {
        ok |= rows == 1 && !strcmp(line, "OK\n");
        rows++;
    }
    fclose(fp);
    cr_assert(ok, "row 1 is 'OK'");
    cr_assert_eq(rows, 25);
    cr_assert_lt(pc_dump_screen_text(f.pc, "/nonexistent/dir/screen.txt", false, &f.err), 0);
    cr_assert(strstr(f.err.msg, "/nonexistent/dir/screen.txt"), "%s", f.err.msg);
    unlink(path);
    fix_destroy(&f);
}

static void pr_append(void *user, const char *text)
{
    char *buf = user;
    strncat(buf, text, 4095 - strlen(buf));
}

/* `info pci` (the monitor's QEMU-style item) lists every function the
 * board created, with its BARs, from the host bridge's bus. */
Test(pc_board, info_pci_lists_the_functions)
{
    struct bfix f;
    fix_files(&f);
    cr_assert_eq(fix_build(&f, false), 0, "%s", f.err.msg);
    char out[4096] = "";
    struct ixvm_printer pr = { pr_append, out };
    cr_assert_eq(dbgf_info_call(vmm_info_reg(pc_vm(f.pc)), "pci", NULL, &pr), 0);
    static const char *const want[] = { "00:00.0 8086:1237", "00:01.0 8086:7000", "00:01.1 8086:7010",
                                        "00:01.3 8086:7113", "00:02.0 1234:1111", "PIRQA" };
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
        cr_assert(strstr(out, want[k]), "'%s' missing from:\n%s", want[k], out);
    fix_destroy(&f);
}
