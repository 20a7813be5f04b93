/* SPDX-License-Identifier: MIT */
/*
 * The PC board (src/devices/pc.c, docs/board.md): an i440FX/PIIX3 machine
 * like QEMU's "pc" that runs SeaBIOS unmodified.  The board creates the VM
 * (vmm.h) with the interpreter's CPU ops (iem_vmm.h), the physical memory
 * map (RAM, the BIOS ROM at the top of 4 GiB and, through the i440FX PAM
 * registers, at 0xE0000-0xFFFFF), the devices and their wiring, and the
 * fw_cfg contents.
 *
 * Also the descriptors and board entry points of the chipset devices that
 * live beside it (i440fx.c, piix3.c, acpi_pm.c, fw_cfg.c), in the style of
 * dev.h's per-device blocks.
 */
#ifndef IXVM_PC_H
#define IXVM_PC_H

#include "ixvm/dev.h"
#include "ixvm/types.h"

struct cfg;
struct vm;
struct pci_bus;

/* ======================================================================== */
/* The board                                                                */
/* ======================================================================== */

#define PC_DEFAULT_BIOS "/usr/share/seabios/bios.bin"
#define PC_RAM_MAX 0xe0000000ull     /* 3.5 GiB: most RAM below 4 GiB; the PCI hole starts here */
/* Memory/Size limit: the RAM beyond PC_RAM_MAX sits at 4 GiB and must end
 * at or below 64 GiB (PAE's 36-bit physical addresses). */
#define PC_RAM_TOTAL_MAX (0x1000000000ull - 0x100000000ull + PC_RAM_MAX)   /* 63.5 GiB */
#define PC_PCI_HOLE_START PC_RAM_MAX

/* Byte sink for a console stream (same shape as debugport_sink_fn). */
struct pc_sink {
    void (*write)(void *user, const uint8_t *buf, size_t len);
    void *user;
};

struct pc_options {
    const char *bios_path;       /* NULL: PC_DEFAULT_BIOS */
    struct pc_sink debugcon;     /* ports 0xE9 and 0x402 (firmware debug); write NULL: none */
    struct pc_sink serial;       /* COM1 transmit; write NULL: none */
    /* COM2..COM4 (0x2F8 IRQ 3, 0x3E8 IRQ 4, 0x2E8 IRQ 3, as QEMU): a port
     * exists when its write is set (COM1 always exists). */
    struct pc_sink serial_more[3];
    bool no_reboot;              /* guest reset / triple fault exits (status 1) */
    int32_t boot_fail_wait_ms;   /* fw_cfg etc/boot-fail-wait; -1: wait forever (QEMU default) */
    const char *bootorder;       /* fw_cfg "bootorder" contents, NULL: none */
};

struct pc;

/*
 * Build the machine from cfg (Memory/Size, CPU/Count, ...) and opt.  Runs on
 * the loop thread (it creates the VM).  Errors name the thing and the
 * reason ("bios file '/x/bios.bin': No such file or directory").
 */
int pc_create(const struct cfg *cfg, const struct pc_options *opt, struct pc **out,
              struct ixvm_errinfo *err) IXVM_WUR;
void pc_destroy(struct pc *pc);
/* Check that path (NULL: PC_DEFAULT_BIOS) is a usable BIOS image (readable,
 * a multiple of 64 KiB up to 16 MiB); the message names the file. */
int pc_check_bios(const char *path, struct ixvm_errinfo *err) IXVM_WUR;
struct vm *pc_vm(struct pc *pc);
/* Ask the machine to stop with an exit status (isa-debug-exit, ACPI S5 (0),
 * --no-reboot (1)); any thread.  The first request wins. */
void pc_request_exit(struct pc *pc, int status, const char *why);
/* The requested exit status, or -1; why (may be NULL) gets the reason. */
int pc_exit_status(struct pc *pc, const char **why);
/* A device or the host asks for a machine reset (port 0x92, 0xCF9, 8042). */
void pc_request_reset(struct pc *pc, const char *why);
/* Board devices by name (tests, frontends): "pic", "rtc", "fw_cfg", ... */
struct dev_ins *pc_device(struct pc *pc, const char *name);
/* Serial port index 0..3 (COM1..COM4), or NULL when it does not exist. */
struct dev_ins *pc_serial_port(struct pc *pc, unsigned index);
struct pgm *pc_pgm(struct pc *pc);
struct iom *pc_iom(struct pc *pc);

/* ---- storage, boot, screen (config keys IDE/..., Boot/..., VGA/...) ------------- */

#define PC_IDE_DRIVES 4        /* hda, hdb (primary), hdc, hdd (secondary) */
#define PC_BOOT_MAX 3          /* boot devices the CMOS can hold */
/* Check a Boot/Order value: 1..3 distinct letters of a/b (floppy), c (hard
 * disk), d (CD-ROM), n (network). */
int pc_check_boot_order(const char *order, struct ixvm_errinfo *err) IXVM_WUR;
/* RTC/Base (QEMU -rtc base=): "utc", "localtime", "YYYY-MM-DD[THH:MM:SS]".
 * *epoch is -1 for the host clock, else the start time (UTC seconds). */
int pc_parse_rtc_base(const char *base, bool *localtime, int64_t *epoch, struct ixvm_errinfo *err) IXVM_WUR;
/* Check that a drive image can be opened (exists, readable, sized in
 * 512-byte sectors, not locked by another process); cdrom: read-only.
 * The message names the file and the reason. */
int pc_check_drive(const char *path, bool cdrom, struct ixvm_errinfo *err) IXVM_WUR;
/* Write the VGA text screen to path (through path.tmp and a rename): one
 * line per row (vga_text_row_string), or one line "[graphics WxHxBPP]" /
 * "[blank]" outside text modes.  if_changed: skip (return 1) when the
 * screen did not change since the last dump.  Any thread. */
int pc_dump_screen_text(struct pc *pc, const char *path, bool if_changed, struct ixvm_errinfo *err) IXVM_WUR;

/* ======================================================================== */
/* i440fx.c: host bridge 00.0, config mechanism #1, PAM, SMRAM state.        */
/* ======================================================================== */

extern const struct dev_reg dev_i440fx;
struct pci_bus *i440fx_bus(struct dev_ins *host);
/* The BIOS image whose last 128 KiB the PCI side shows at 0xE0000-0xFFFFF. */
int i440fx_set_bios(struct dev_ins *host, const uint8_t *image, size_t len) IXVM_WUR;
typedef void i440fx_reset_fn(void *user);
/* Port 0xCF9 (reset control): SYS_RST/RST_CPU call fn (under the device lock). */
void i440fx_set_reset_handler(struct dev_ins *host, i440fx_reset_fn *fn, void *user);
/* PAM mode of the segment holding pa: bit 0 read enable, bit 1 write enable
 * (3 outside 0xC0000-0xFFFFF). */
unsigned i440fx_pam_mode(struct dev_ins *host, gphys_t pa);

/* ======================================================================== */
/* piix3.c: ISA bridge 01.0: PIRQ routing 0x60-0x63, port 0x92.               */
/* Config: port92 (bool, default on).                                         */
/* ======================================================================== */

extern const struct dev_reg dev_piix3;
typedef void piix3_reset_fn(void *user);
/* Port 0x92 bit 0 rising: fn (under the device lock). */
void piix3_set_reset_handler(struct dev_ins *isa, piix3_reset_fn *fn, void *user);
/* The keyboard controller's A20 output (A20 = port 0x92 bit 1 OR this). */
void piix3_set_kbc_a20(struct dev_ins *isa, bool enabled);

/* ======================================================================== */
/* acpi_pm.c: PIIX4 PM function 01.3.  Config: sci_irq (9), s5_typ (0),     */
/* apm (ports 0xB2/0xB3, on).                                                 */
/* ======================================================================== */

extern const struct dev_reg dev_acpi_pm;
typedef void acpi_pm_poweroff_fn(void *user);
/* SLP_EN with the S5 sleep type: fn (under the device lock). */
void acpi_pm_set_poweroff_handler(struct dev_ins *pm, acpi_pm_poweroff_fn *fn, void *user);
/* Press the power button: PWRBTN_STS, SCI if enabled. */
void acpi_pm_power_button(struct dev_ins *pm);

/* ======================================================================== */
/* fw_cfg.c: QEMU firmware configuration.  Config: dma (bool, on).           */
/* ======================================================================== */

extern const struct dev_reg dev_fw_cfg;
#define FW_CFG_PORT_SEL 0x510     /* selector (16-bit); data at +1 */
#define FW_CFG_PORT_DMA 0x514     /* DMA address high; low at 0x518 */
#define FW_CFG_SIGNATURE 0x00
#define FW_CFG_ID 0x01
#define FW_CFG_UUID 0x02
#define FW_CFG_RAM_SIZE 0x03
#define FW_CFG_NOGRAPHIC 0x04
#define FW_CFG_NB_CPUS 0x05
#define FW_CFG_MACHINE_ID 0x06
#define FW_CFG_BOOT_DEVICE 0x0c
#define FW_CFG_NUMA 0x0d
#define FW_CFG_BOOT_MENU 0x0e
#define FW_CFG_MAX_CPUS 0x0f
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_FILE_FIRST 0x20
#define FW_CFG_ACPI_TABLES 0x8000
#define FW_CFG_SMBIOS_ENTRIES 0x8001
#define FW_CFG_IRQ0_OVERRIDE 0x8002
#define FW_CFG_E820_TABLE 0x8003
/* Set a legacy (0x02-0x1f except 0x19) or x86 (0x8000-0x800f) item. */
int fw_cfg_add_bytes(struct dev_ins *fw, uint16_t key, const void *data, size_t len) IXVM_WUR;
int fw_cfg_add_u16(struct dev_ins *fw, uint16_t key, uint16_t v) IXVM_WUR;   /* little-endian */
int fw_cfg_add_u32(struct dev_ins *fw, uint16_t key, uint32_t v) IXVM_WUR;
int fw_cfg_add_u64(struct dev_ins *fw, uint16_t key, uint64_t v) IXVM_WUR;
/* Add or replace a named file (name < 56 bytes); the directory stays sorted. */
int fw_cfg_add_file(struct dev_ins *fw, const char *name, const void *data, size_t len) IXVM_WUR;

#endif
