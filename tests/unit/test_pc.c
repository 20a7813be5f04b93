/* SPDX-License-Identifier: MIT */
/*
 * Board tests: the machine pc.c builds (memory map, chipset identity,
 * fw_cfg contents SeaBIOS reads, CMOS), errors for a bad BIOS file, and
 * running small ROMs on the interpreter through the VMM: isa-debug-exit,
 * ACPI power-off from the guest, --no-reboot on a triple fault.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ixvm/cfg.h"
#include "ixvm/pc.h"
#include "ixvm/vmm.h"

#define ROM_SIZE 0x10000u

struct pcfix {
    char path[64];
    struct cfg *cfg;
    struct pc *pc;
    struct ixvm_errinfo err;
};

/* A 64 KiB ROM: `code` at F000:0000, the reset vector jumps there. */
static void rom_write(struct pcfix *f, const uint8_t *code, size_t n)
{
    static uint8_t rom[ROM_SIZE];
    memset(rom, 0xf4, sizeof(rom));
    memcpy(rom, code, n);
    memset(rom + 0x100, 0, 6);
    const uint8_t jmp[] = { 0xea, 0x00, 0x00, 0x00, 0xf0 };
    memcpy(rom + 0xfff0, jmp, sizeof(jmp));
    memcpy(rom + 0xfff8, "IXVMROM", 8);
    snprintf(f->path, sizeof(f->path), "/tmp/ixvm-test-pc-%d.rom", (int)getpid());
    FILE *fp = fopen(f->path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(rom, 1, sizeof(rom), fp), sizeof(rom));
    fclose(fp);
}

static void fix_create(struct pcfix *f, const uint8_t *code, size_t n, const char *mem, bool no_reboot)
{
    memset(f, 0, sizeof(*f));
    rom_write(f, code, n);
    cr_assert_eq(cfg_create(&f->cfg), 0);
    char kv[64];
    snprintf(kv, sizeof(kv), "Memory/Size=%s", mem);
    cr_assert_eq(cfg_set_assignment(f->cfg, kv, &f->err), 0);
    struct pc_options o = { .bios_path = f->path, .no_reboot = no_reboot, .boot_fail_wait_ms = -1 };
    int rc = pc_create(f->cfg, &o, &f->pc, &f->err);
    cr_assert_eq(rc, 0, "pc_create: %s", f->err.msg);
}

static void fix_destroy(struct pcfix *f)
{
    pc_destroy(f->pc);
    cfg_destroy(f->cfg);
    unlink(f->path);
}

/* Power on and run the loop until the guest stops the machine. */
static int fix_run(struct pcfix *f)
{
    struct vm *vm = pc_vm(f->pc);
    cr_assert_eq(vmm_power_on(vm, &f->err), 0, "%s", f->err.msg);
    cr_assert_eq(vmm_run_loop(vm), 0);
    return pc_exit_status(f->pc, NULL);
}

static uint8_t fw_byte(struct pcfix *f)
{
    uint32_t v = 0;
    cr_assert_eq(iom_in(pc_iom(f->pc), 0x511, 1, &v), 0);
    return (uint8_t)v;
}

static void fw_select(struct pcfix *f, uint16_t key)
{
    cr_assert_eq(iom_out(pc_iom(f->pc), 0x510, key, 2), 0);
}

static const uint8_t exit_code[] = { 0xb0, 0x21, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd };

Test(pc, memory_map)
{
    struct pcfix f;
    fix_create(&f, exit_code, sizeof(exit_code), "64M", false);
    struct pgm *pgm = pc_pgm(f.pc);
    cr_assert_eq(pgm_ram_size(pgm), 64u << 20);
    cr_assert_eq(pgm_page_kind(pgm, 0x0), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(pgm, 0x9f000), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(pgm, 0xa0000), PGM_PAGE_MMIO, "the VGA device's window");
    cr_assert_eq(pgm_page_kind(pgm, 0xbf000), PGM_PAGE_MMIO);
    cr_assert_eq(pgm_page_kind(pgm, 0xc0000), PGM_PAGE_UNASSIGNED, "option ROM area: PAM disabled");
    cr_assert_eq(pgm_page_kind(pgm, 0xf0000), PGM_PAGE_ROM);
    cr_assert_eq(pgm_page_kind(pgm, 0x100000), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(pgm, 0x4000000), PGM_PAGE_UNASSIGNED, "above RAM");
    cr_assert_eq(pgm_page_kind(pgm, 0xffff0000u), PGM_PAGE_ROM);
    cr_assert_eq(pgm_page_kind(pgm, 0xfffe0000u), PGM_PAGE_UNASSIGNED, "a 64 KiB image maps 64 KiB");
    char sig[8];
    cr_assert_eq(pgm_phys_read(pgm, 0xffff8u, sig, 8), 0);
    cr_assert_str_eq(sig, "IXVMROM");
    cr_assert_eq(pgm_phys_read(pgm, 0xfffffff8u, sig, 8), 0);
    cr_assert_str_eq(sig, "IXVMROM");
    cr_assert(pgm_a20_enabled(pgm));
    fix_destroy(&f);
}

Test(pc, devices_and_firmware_config)
{
    struct pcfix f;
    fix_create(&f, exit_code, sizeof(exit_code), "256M", false);
    const char *names[] = { "pic", "pit", "rtc", "uart", "debugport", "i440fx", "piix3", "acpi_pm", "fw_cfg",
                            "i8042", "vga", "piix_ide" };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cr_assert_not_null(pc_device(f.pc, names[i]), "device %s", names[i]);
    /* fw_cfg: signature, RAM size, CPU count, e820 in the directory. */
    fw_select(&f, FW_CFG_SIGNATURE);
    cr_assert_eq(fw_byte(&f), 'Q');
    fw_select(&f, FW_CFG_RAM_SIZE);
    uint64_t ram = 0;
    for (unsigned i = 0; i < 8; i++)
        ram |= (uint64_t)fw_byte(&f) << (8 * i);
    cr_assert_eq(ram, 256ull << 20);
    fw_select(&f, FW_CFG_NB_CPUS);
    cr_assert_eq(fw_byte(&f), 1);
    fw_select(&f, FW_CFG_FILE_DIR);
    uint32_t n = 0;
    for (unsigned i = 0; i < 4; i++)
        n = n << 8 | fw_byte(&f);
    cr_assert_eq(n, 2, "etc/boot-fail-wait and etc/e820");
    uint16_t e820_sel = 0;
    for (unsigned k = 0; k < n; k++) {
        uint8_t e[64];
        for (unsigned i = 0; i < 64; i++)
            e[i] = fw_byte(&f);
        if (!strcmp((char *)e + 8, "etc/e820"))
            e820_sel = (uint16_t)(e[4] << 8 | e[5]);
    }
    cr_assert_eq(e820_sel, FW_CFG_FILE_FIRST + 1, "sorted: boot-fail-wait < e820");
    fw_select(&f, e820_sel);
    uint8_t e820[20];
    for (unsigned i = 0; i < 20; i++)
        e820[i] = fw_byte(&f);
    uint64_t addr, len;
    uint32_t type;
    memcpy(&addr, e820, 8);
    memcpy(&len, e820 + 8, 8);
    memcpy(&type, e820 + 16, 4);
    cr_assert_eq(addr, 0);
    cr_assert_eq(len, 256ull << 20);
    cr_assert_eq(type, 1);
    /* CMOS memory size for SeaBIOS's fallback (0x34/0x35: 64 KiB units above 16 MiB). */
    uint8_t lo, hi;
    cr_assert_eq(rtc_cmos_read(pc_device(f.pc, "rtc"), 0x34, &lo), 0);
    cr_assert_eq(rtc_cmos_read(pc_device(f.pc, "rtc"), 0x35, &hi), 0);
    cr_assert_eq((unsigned)(hi << 8 | lo), (256u - 16u) * 16u);
    fix_destroy(&f);
}

Test(pc, bad_bios_file)
{
    struct cfg *cfg;
    struct pc *pc = NULL;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(cfg_create(&cfg), 0);
    struct pc_options o = { .bios_path = "/nonexistent/bios.bin", .boot_fail_wait_ms = -1 };
    cr_assert_lt(pc_create(cfg, &o, &pc, &err), 0);
    cr_assert_null(pc);
    cr_assert(strstr(err.msg, "bios file '/nonexistent/bios.bin'"), "%s", err.msg);
    o.bios_path = "/etc/hostname";
    cr_assert_lt(pc_create(cfg, &o, &pc, &err), 0);
    cr_assert(strstr(err.msg, "not a multiple of 64 KiB"), "%s", err.msg);
    cfg_destroy(cfg);
}

Test(pc, debug_exit)
{
    struct pcfix f;
    fix_create(&f, exit_code, sizeof(exit_code), "16M", false);
    cr_assert_eq(fix_run(&f), 67);
    cr_assert_eq(vmm_get_state(pc_vm(f.pc)), VMM_STATE_OFF);
    fix_destroy(&f);
}

Test(pc, acpi_power_off_from_the_guest)
{
    /* PCI config: 00:01.3 reg 0x40 = 0xb001, reg 0x80 = 1; then
     * outw(0xb004, 0x2000): SLP_TYP 0 (S5) + SLP_EN. */
    const uint8_t code[] = {
        0x66, 0xb8, 0x40, 0x0b, 0x00, 0x80,   /* mov eax, 0x80000b40 */
        0xba, 0xf8, 0x0c,                     /* mov dx, 0xcf8 */
        0x66, 0xef,                           /* out dx, eax */
        0x66, 0xb8, 0x01, 0xb0, 0x00, 0x00,   /* mov eax, 0xb001 */
        0xb2, 0xfc,                           /* mov dl, 0xfc */
        0x66, 0xef,                           /* out dx, eax */
        0x66, 0xb8, 0x80, 0x0b, 0x00, 0x80,   /* mov eax, 0x80000b80 */
        0xb2, 0xf8, 0x66, 0xef,               /* out 0xcf8 */
        0xb0, 0x01, 0xb2, 0xfc, 0xee,         /* outb 0xcfc, 1 */
        0xba, 0x04, 0xb0,                     /* mov dx, 0xb004 */
        0xb8, 0x00, 0x20,                     /* mov ax, 0x2000 */
        0xef,                                 /* out dx, ax */
        0xf4, 0xeb, 0xfd,
    };
    struct pcfix f;
    fix_create(&f, code, sizeof(code), "16M", false);
    cr_assert_eq(fix_run(&f), 0);
    fix_destroy(&f);
}

Test(pc, triple_fault_no_reboot)
{
    const uint8_t code[] = { 0x2e, 0x0f, 0x01, 0x1e, 0x00, 0x01, 0xcc, 0xf4 };   /* lidt cs:[0x100] (limit 0); int3 */
    struct pcfix f;
    fix_create(&f, code, sizeof(code), "16M", true);
    cr_assert_eq(fix_run(&f), 1);
    const char *why = NULL;
    cr_assert_eq(pc_exit_status(f.pc, &why), 1);
    cr_assert(why && strstr(why, "triple fault"), "%s", why ? why : "(null)");
    fix_destroy(&f);
}
