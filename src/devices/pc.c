/* SPDX-License-Identifier: MIT */
/*
 * The PC board (include/ixvm/pc.h, docs/board.md): QEMU's "pc" machine
 * shape so SeaBIOS takes its QEMU paths.  Creates the VM with the
 * interpreter's CPU ops and itself as a VM component whose hooks build
 * (init), start the vCPUs' interpreters (init_completed), run and stop the
 * virtual clock (power on/suspend/resume/off), reset the devices (reset)
 * and tear everything down (term).
 *
 * Memory map: RAM at 0 (Memory/Size up to 3.5 GiB; the rest at 4 GiB as on
 * QEMU's i440FX, reported in etc/e820 and CMOS 0x5B-0x5D), the BIOS image at
 * 4 GiB - size, its last 128 KiB also at 0xE0000 under PAM control
 * (i440fx.c), 0xA0000-0xBFFFF unassigned for the VGA device.
 * Interrupts: the PIC's INT pin is VMCPU_FF_INTERRUPT_PIC of vCPU 0; its
 * 16 inputs are the ISA lines of the device manager and of the PCI bus.
 * Board events (guest reset, power-off, debug exit) are raised as VM forced
 * actions and acted on by the glue on an EMT between instructions.
 */
#define LOG_GROUP LOG_GROUP_DEV
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ixvm/blk.h"
#include "ixvm/cfg.h"
#include "ixvm/iem_vmm.h"
#include "ixvm/loader.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"
#include "ixvm/pci.h"
#include "ixvm/ps2.h"
#include "ixvm/vga.h"
#include "ixvm/vmm.h"

#define PC_BIOS_MAX (16u << 20)
#define PC_VGA_BASE 0xa0000u
#define PC_VGA_SIZE 0x20000u

enum pc_action { PC_ACT_NONE, PC_ACT_RESET, PC_ACT_OFF };

/* Storage, boot and display settings from the config keys (IDE/..., Boot/...,
 * VGA/...), read once by pc_create.  [const after create] */
struct pc_conf {
    char *hd[PC_IDE_DRIVES];        /* IDE/Hda..Hdd image paths, NULL: none */
    char *cdrom;                    /* IDE/Cdrom, NULL: an empty CD drive on hdc (if free) */
    bool snapshot;                  /* IDE/Snapshot */
    char order[PC_BOOT_MAX + 1];    /* Boot/Order letters */
    bool order_set;                 /* Boot/Order given: also the fw_cfg bootorder file */
    bool menu;                      /* Boot/Menu */
    int64_t menu_wait_ms;           /* Boot/MenuTimeout */
    int64_t vram;                   /* VGA/VRamSize */
    char *vga_rom;                  /* VGA/Rom, NULL: the default when present */
    bool rtc_localtime;             /* RTC/Base "localtime" */
    int64_t rtc_epoch;              /* RTC/Base as a date (seconds since 1970, UTC), -1: host clock */
};

struct pc {
    struct pc_options opt;          /* [const] */
    struct vm *vm;                  /* [const after create] */
    struct pgm *pgm;                /* [const after init] */
    struct iom *iom;
    struct tm_mgr *tm;
    struct pdm *pdm;
    struct iem_vmm *glue;
    struct dev_ins *pic, *pit, *rtc, *uart, *dbg, *host, *isa, *pm, *fw;
    struct dev_ins *kbc, *vga, *ide;
    struct pc_conf conf;            /* [const after create] */
    uint64_t screen_changes;        /* [caller of pc_dump_screen_text] last dumped vga_change_count */
    struct dev_ins *uart_more[3];   /* COM2..COM4 or NULL */
    struct irq_line isa_lines[PIC_IRQ_COUNT];          /* [const after init] */
    const struct irq_line *isa_ptrs[PIC_IRQ_COUNT];
    uint8_t *bios;                  /* [const after init] the image */
    size_t bios_len;
    uint64_t ram_size;              /* [const after create] RAM below 4 GiB (at 0) */
    uint64_t ram_above_4g;          /* [const after create] RAM at 4 GiB (PGM_HIGH_BASE) */
    uint32_t ncpus;
    bool attached;
    _Atomic int action;             /* [any] enum pc_action pending for the glue */
    _Atomic int exit_status;        /* [any] -1 until requested */
    char exit_why[128];             /* [written once before exit_status] */
    struct ixvm_errinfo init_err;   /* [loop thread] detail of a failed component init */
};

/* ---- events -------------------------------------------------------------- */

void pc_request_exit(struct pc *pc, int status, const char *why)
{
    int none = -1;
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s", why ? why : "");
    /* Record the reason before publishing the status. */
    if (atomic_load(&pc->exit_status) == -1)
        memcpy(pc->exit_why, tmp, sizeof(tmp));
    if (atomic_compare_exchange_strong(&pc->exit_status, &none, status))
        LOG_REL("board: exit requested (status %d): %s", status, tmp);
    atomic_store(&pc->action, PC_ACT_OFF);
    if (pc->vm)
        vm_ff_set(pc->vm, VM_FF_CHECK_VM_STATE);
}

int pc_exit_status(struct pc *pc, const char **why)
{
    int st = atomic_load(&pc->exit_status);
    if (why)
        *why = st >= 0 ? pc->exit_why : NULL;
    return st;
}

void pc_request_reset(struct pc *pc, const char *why)
{
    if (pc->opt.no_reboot) {
        char msg[128];
        snprintf(msg, sizeof(msg), "guest requested a reset (%s) and --no-reboot is set", why);
        pc_request_exit(pc, 1, msg);
        return;
    }
    LOG_REL("board: reset requested: %s", why);
    int none = PC_ACT_NONE;
    atomic_compare_exchange_strong(&pc->action, &none, PC_ACT_RESET);
    if (pc->vm)
        vm_ff_set(pc->vm, VM_FF_RESET);
}

static void pc_port92_reset(void *user) { pc_request_reset(user, "port 0x92 fast reset"); }
static void pc_cf9_reset(void *user) { pc_request_reset(user, "port 0xCF9 reset control"); }
static void pc_acpi_off(void *user) { pc_request_exit(user, 0, "ACPI S5 power-off"); }

static void pc_debug_exit(void *user, int status)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "isa-debug-exit (status %d)", status);
    pc_request_exit(user, status, msg);
}

/* ---- glue hooks (on an EMT) ---------------------------------------------- */

static uint8_t pc_intr_ack(void *user)
{
    struct pc *pc = user;
    return pic_ack(pc->pic);
}

static bool pc_intr_pending(void *user)
{
    struct pc *pc = user;
    return pic_output_level(pc->pic);
}

static int pc_vm_event(void *user, struct vcpu *vcpu, bool reset)
{
    struct pc *pc = user;
    int act = atomic_exchange(&pc->action, PC_ACT_NONE);
    if (act == PC_ACT_OFF || atomic_load(&pc->exit_status) >= 0) {
        atomic_store(&pc->action, PC_ACT_OFF);   /* every vCPU that looks sees it */
        return IXVM_INF_EM_OFF;
    }
    return act == PC_ACT_RESET || reset ? IXVM_INF_EM_RESET : 0;
}

static int pc_triple_fault(void *user, struct vcpu *vcpu)
{
    struct pc *pc = user;
    if (pc->opt.no_reboot) {
        char msg[128];
        snprintf(msg, sizeof(msg), "triple fault on vCPU %u at %04x:%08x and --no-reboot is set", vcpu->id,
                 vcpu->cpu.seg[CPUM_CS].sel, vcpu->cpu.eip);
        pc_request_exit(pc, 1, msg);
        return IXVM_INF_EM_OFF;
    }
    return IXVM_INF_EM_RESET;
}

/* PIC INT pin -> vCPU 0 (no APIC): called under the PIC lock on change. */
static void pc_pic_output(void *user, int level)
{
    struct pc *pc = user;
    struct vcpu *bsp = vmm_get_cpu_by_id(pc->vm, 0);
    if (level)
        vmcpu_ff_set(bsp, VMCPU_FF_INTERRUPT_PIC);
    else
        vmcpu_ff_clear(bsp, VMCPU_FF_INTERRUPT_PIC);
}

/* ---- building ------------------------------------------------------------- */

/* Read a BIOS image: a multiple of 64 KiB up to 16 MiB (as QEMU). */
static int pc_read_bios(const char *path, bool defaulted, uint8_t **data, size_t *len, struct ixvm_errinfo *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "bios file '%s': %s%s", path, strerror(errno),
                                defaulted ? " (install the Debian package 'seabios' or use --bios)" : "");
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    int rc = 0;
    uint8_t *buf = NULL;
    if (n <= 0 || n % 65536 || n > (long)PC_BIOS_MAX) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                              "bios file '%s': size %ld is not a multiple of 64 KiB up to 16 MiB "
                              "(SeaBIOS images are 128 or 256 KiB)", path, n);
    } else if (!(buf = malloc((size_t)n))) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "bios file '%s': out of memory", path);
    } else if (fseek(f, 0, SEEK_SET) != 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "bios file '%s': read error", path);
    }
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    if (data)
        *data = buf;
    else
        free(buf);
    if (len)
        *len = (size_t)n;
    return 0;
}

int pc_check_bios(const char *path, struct ixvm_errinfo *err)
{
    return pc_read_bios(path ? path : PC_DEFAULT_BIOS, !path, NULL, NULL, err);
}

static int pc_load_bios(struct pc *pc, struct ixvm_errinfo *err)
{
    const char *path = pc->opt.bios_path ? pc->opt.bios_path : PC_DEFAULT_BIOS;
    return pc_read_bios(path, !pc->opt.bios_path, &pc->bios, &pc->bios_len, err);
}

static int pc_add_dev(struct pc *pc, const struct dev_reg *reg, const struct dev_cfg_kv *kv, size_t n,
                      struct dev_ins **out, struct ixvm_errinfo *err)
{
    struct dev_cfg c = { kv, n };
    return pdm_device_create(pc->pdm, reg, &c, out, err);
}

/*
 * RTC/Base, QEMU's -rtc base=: "utc" (the default) or "localtime" start the
 * RTC from the host clock in that zone; a date "YYYY-MM-DD" or
 * "YYYY-MM-DDTHH:MM:SS" starts it at that time.  The RTC then runs with the
 * virtual clock.
 */
int pc_parse_rtc_base(const char *base, bool *localtime, int64_t *epoch, struct ixvm_errinfo *err)
{
    *localtime = false;
    *epoch = -1;
    if (!base || !*base || !strcmp(base, "utc"))
        return 0;
    if (!strcmp(base, "localtime")) {
        *localtime = true;
        return 0;
    }
    struct tm tm = { 0 };
    char tail;
    int n = sscanf(base, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec, &tail);
    if (n != 3 && n != 6)
        goto bad;
    if (n == 3 && strlen(base) != 10)
        goto bad;
    if (tm.tm_year < 1970 || tm.tm_year > 2099 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
        goto bad;
    int mday = tm.tm_mday, mon = tm.tm_mon;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != mday || tm.tm_mon != mon - 1)   /* e.g. 2023-02-30 */
        goto bad;
    *epoch = (int64_t)t;
    return 0;
bad:
    return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                            "RTC/Base: '%s' is not utc, localtime, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (1970-2099)",
                            base);
}

static int pc_add_rtc(struct pc *pc, struct ixvm_errinfo *err)
{
    char epoch[24];
    struct dev_cfg_kv kv[2] = { { "clock", pc->conf.rtc_localtime ? "localtime" : "utc" } };
    size_t n = 1;
    if (pc->conf.rtc_epoch >= 0) {
        snprintf(epoch, sizeof(epoch), "%lld", (long long)pc->conf.rtc_epoch);
        kv[n++] = (struct dev_cfg_kv){ "base_time", epoch };
    }
    return pc_add_dev(pc, &dev_rtc, kv, n, &pc->rtc, err);
}

static void pc_sink_dbg(void *user, const uint8_t *buf, size_t len)
{
    struct pc *pc = user;
    if (pc->opt.debugcon.write)
        pc->opt.debugcon.write(pc->opt.debugcon.user, buf, len);
}

static void pc_uart_write(void *user, const uint8_t *buf, size_t len)
{
    struct pc *pc = user;
    if (pc->opt.serial.write)
        pc->opt.serial.write(pc->opt.serial.user, buf, len);
}

/* COM2..COM4: created only when the frontend connects them. */
static void pc_uart_more_write(void *user, const uint8_t *buf, size_t len)
{
    const struct pc_sink *sink = user;
    sink->write(sink->user, buf, len);
}

static int pc_create_more_uarts(struct pc *pc, struct ixvm_errinfo *err)
{
    static const struct dev_cfg_kv kv[3][2] = {
        { { "base", "0x2f8" }, { "irq", "3" } },
        { { "base", "0x3e8" }, { "irq", "4" } },
        { { "base", "0x2e8" }, { "irq", "3" } },
    };
    for (unsigned i = 0; i < 3; i++) {
        struct dev_ins *u;
        if (!pc->opt.serial_more[i].write)
            continue;
        int rc = pc_add_dev(pc, &dev_uart, kv[i], 2, &u, err);
        if (rc < 0)
            return rc;
        struct uart_backend be = { .write = pc_uart_more_write, .user = &pc->opt.serial_more[i] };
        uart_set_backend(u, &be);
        pc->uart_more[i] = u;
    }
    return 0;
}

/* ---- keyboard controller, VGA, IDE --------------------------------------- */

/* The 8042's A20 output joins port 0x92's in the PIIX3 (A20 = either). */
static void pc_kbc_a20(void *user, bool enabled)
{
    struct pc *pc = user;
    piix3_set_kbc_a20(pc->isa, enabled);
}

static void pc_kbc_reset(void *user) { pc_request_reset(user, "keyboard controller reset line"); }

/* VGA/Rom: empty means the Debian image when it is installed (tiny test
 * ROMs run without it), "none" no ROM, anything else must load. */
static const char *pc_vga_rom(const struct pc *pc)
{
    if (pc->conf.vga_rom)
        return pc->conf.vga_rom;
    FILE *f = fopen(VGA_DEFAULT_ROM, "rb");
    if (!f) {
        LOG_REL("board: %s: %s; VGA without a BIOS", VGA_DEFAULT_ROM, strerror(errno));
        return "none";
    }
    fclose(f);
    return VGA_DEFAULT_ROM;
}

/* PIIX3 IDE at 00:01.1 with the drives of IDE/...: hdc is QEMU's default
 * CD-ROM drive (with IDE/Cdrom or empty) unless IDE/Hdc puts a disk there. */
static int pc_create_ide(struct pc *pc, struct ixvm_errinfo *err)
{
    static const char *const path_keys[PC_IDE_DRIVES] = { "hda", "hdb", "hdc", "hdd" };
    static const char *const media_keys[PC_IDE_DRIVES] = { "hda_media", "hdb_media", "hdc_media", "hdd_media" };
    struct dev_cfg_kv kv[2 * PC_IDE_DRIVES + 1];
    size_t n = 0;
    for (unsigned i = 0; i < PC_IDE_DRIVES; i++) {
        bool cd = i == 2 && !pc->conf.hd[2];
        const char *path = cd ? pc->conf.cdrom : pc->conf.hd[i];
        if (path)
            kv[n++] = (struct dev_cfg_kv){ path_keys[i], path };
        if (cd)
            kv[n++] = (struct dev_cfg_kv){ media_keys[i], "cdrom" };
    }
    kv[n++] = (struct dev_cfg_kv){ "snapshot", pc->conf.snapshot ? "on" : "off" };
    int rc = pc_add_dev(pc, &dev_piix_ide, kv, n, &pc->ide, err);
    if (rc >= 0)
        rc = piix_ide_pci_attach(pc->ide, i440fx_bus(pc->host), PCI_DEVFN(1, 1), err);
    return rc;
}

/* After the chipset: the VGA finds the bus and takes slot 2 (QEMU's
 * 00:02.0), the IDE function goes beside the ISA bridge. */
static int pc_create_pc_devices(struct pc *pc, struct ixvm_errinfo *err)
{
    int rc = pc_add_dev(pc, &dev_i8042, NULL, 0, &pc->kbc, err);
    if (rc < 0)
        return rc;
    i8042_set_a20_handler(pc->kbc, pc_kbc_a20, pc);
    i8042_set_reset_handler(pc->kbc, pc_kbc_reset, pc);
    char vram[24];
    snprintf(vram, sizeof(vram), "%lld", (long long)pc->conf.vram);
    const struct dev_cfg_kv vkv[] = { { "vram", vram }, { "rom", pc_vga_rom(pc) }, { "slot", "2" } };
    if ((rc = pc_add_dev(pc, &dev_vga, vkv, IXVM_ARRAY_SIZE(vkv), &pc->vga, err)) < 0)
        return rc;
    return pc_create_ide(pc, err);
}

static int pc_create_devices(struct pc *pc, struct ixvm_errinfo *err)
{
    int rc = pc_add_dev(pc, &dev_pic, NULL, 0, &pc->pic, err);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < PIC_IRQ_COUNT; i++) {
        pc->isa_lines[i] = *pic_irq_line(pc->pic, i);
        pc->isa_ptrs[i] = &pc->isa_lines[i];
    }
    pdm_set_isa_irqs(pc->pdm, pc->isa_lines, PIC_IRQ_COUNT);
    pic_set_output(pc->pic, pc_pic_output, pc);
    if ((rc = pc_add_dev(pc, &dev_pit, NULL, 0, &pc->pit, err)) < 0 ||
        (rc = pc_add_rtc(pc, err)) < 0 ||
        (rc = pc_add_dev(pc, &dev_uart, NULL, 0, &pc->uart, err)) < 0 ||
        (rc = pc_add_dev(pc, &dev_debugport, NULL, 0, &pc->dbg, err)) < 0 ||
        (rc = pc_add_dev(pc, &dev_i440fx, NULL, 0, &pc->host, err)) < 0 ||
        (rc = pc_add_dev(pc, &dev_piix3, NULL, 0, &pc->isa, err)) < 0 ||
        (rc = pc_add_dev(pc, &dev_acpi_pm, NULL, 0, &pc->pm, err)) < 0 ||
        (rc = pc_add_dev(pc, &dev_fw_cfg, NULL, 0, &pc->fw, err)) < 0)
        return rc;
    pci_bus_set_isa_irqs(i440fx_bus(pc->host), pc->isa_ptrs, PIC_IRQ_COUNT);
    debugport_set_sink(pc->dbg, DEBUGPORT_SINK_E9, pc_sink_dbg, pc);
    debugport_set_sink(pc->dbg, DEBUGPORT_SINK_FW, pc_sink_dbg, pc);
    debugport_set_exit(pc->dbg, pc_debug_exit, pc);
    struct uart_backend be = { .write = pc_uart_write, .user = pc };
    uart_set_backend(pc->uart, &be);
    if ((rc = pc_create_more_uarts(pc, err)) < 0)
        return rc;
    i440fx_set_reset_handler(pc->host, pc_cf9_reset, pc);
    piix3_set_reset_handler(pc->isa, pc_port92_reset, pc);
    acpi_pm_set_poweroff_handler(pc->pm, pc_acpi_off, pc);
    return pc_create_pc_devices(pc, err);
}

/* Memory: RAM, the VGA hole, the BIOS at the top of 4 GiB and its alias. */
static int pc_map_memory(struct pc *pc, struct ixvm_errinfo *err)
{
    int rc = pgm_map_rom(pc->pgm, PGM_ADDR_SPACE - pc->bios_len, pc->bios_len, pc->bios, pc->bios_len, "bios", err);
    if (rc < 0)
        return rc;
    if ((rc = i440fx_set_bios(pc->host, pc->bios, pc->bios_len)) < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot set the BIOS shadow image");
    return 0;
}

static void pc_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- boot order ------------------------------------------------------------ */

/* Pairs: index / 2 + 1 is the CMOS device code (1 floppy, 2 disk, 3 CD, 4 net). */
static const char pc_boot_letters[] = "abc-d-n";

int pc_check_boot_order(const char *order, struct ixvm_errinfo *err)
{
    size_t n = strlen(order);
    if (n < 1 || n > PC_BOOT_MAX)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "boot order '%s': give 1 to %u devices (a, c, d, n)", order, PC_BOOT_MAX);
    for (size_t i = 0; i < n; i++) {
        if (order[i] == '-' || !strchr(pc_boot_letters, order[i]))
            return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                    "boot order '%s': '%c' is not a (floppy), c (disk), d (CD-ROM) or n (network)",
                                    order, order[i]);
        if (memchr(order, order[i], i))
            return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "boot order '%s': '%c' is given twice",
                                    order, order[i]);
    }
    return 0;
}

/* Index 0..3 of the first drive of the wanted kind (hdc is the CD drive
 * unless IDE/Hdc holds a disk), or -1. */
static int pc_first_drive(const struct pc *pc, bool cd)
{
    for (int i = 0; i < PC_IDE_DRIVES; i++) {
        bool is_cd = i == 2 && !pc->conf.hd[2];
        if (is_cd == cd && (is_cd || pc->conf.hd[i]))
            return i;
    }
    return -1;
}

/*
 * The fw_cfg "bootorder" file: one OpenFirmware device path per line, the
 * form QEMU writes for bootindex= (SeaBIOS src/boot.c matches them; unlisted
 * devices follow in the CMOS order).  Written only for an explicit
 * Boot/Order, or as given in pc_options.bootorder.
 */
static int pc_fill_boot(struct pc *pc)
{
    struct dev_ins *fw = pc->fw;
    int rc = 0;
    if (pc->conf.menu) {
        uint8_t wait[2];
        pc_le(wait, (uint64_t)pc->conf.menu_wait_ms, 2);
        rc = fw_cfg_add_file(fw, "etc/boot-menu-wait", wait, sizeof(wait));
    }
    if (rc < 0 || (pc->opt.bootorder && *pc->opt.bootorder))
        return rc < 0 ? rc : fw_cfg_add_file(fw, "bootorder", pc->opt.bootorder, strlen(pc->opt.bootorder) + 1);
    if (!pc->conf.order_set)
        return 0;
    char text[PC_BOOT_MAX * 48 + 1] = "";
    size_t len = 0;
    for (const char *c = pc->conf.order; *c; c++) {
        int d = *c == 'c' || *c == 'd' ? pc_first_drive(pc, *c == 'd') : -1;
        if (d >= 0)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "/pci@i0cf8/ide@1,1/drive@%d/disk@%d\n",
                                    d / 2, d % 2);
    }
    return len ? fw_cfg_add_file(fw, "bootorder", text, len + 1) : 0;
}

/* The fw_cfg items SeaBIOS reads on QEMU (src/fw/paravirt.c there). */
static int pc_fill_fw_cfg(struct pc *pc)
{
    struct dev_ins *fw = pc->fw;
    static const uint8_t uuid[16];
    int rc = fw_cfg_add_bytes(fw, FW_CFG_UUID, uuid, sizeof(uuid));
    /* The whole RAM, as QEMU does; the split is in etc/e820 and the CMOS. */
    rc = rc < 0 ? rc : fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, pc->ram_size + pc->ram_above_4g);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_NOGRAPHIC, 0);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, (uint16_t)pc->ncpus);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, (uint16_t)pc->ncpus);
    rc = rc < 0 ? rc : fw_cfg_add_u32(fw, FW_CFG_MACHINE_ID, 0);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_BOOT_DEVICE, (uint16_t)pc->conf.order[0]);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_BOOT_MENU, pc->conf.menu);
    /* NUMA: node count 0, then one u64 per CPU (no nodes). */
    size_t numa_len = 8 * (1 + (size_t)pc->ncpus);
    uint8_t *numa = calloc(1, numa_len);
    rc = rc < 0 ? rc : numa ? fw_cfg_add_bytes(fw, FW_CFG_NUMA, numa, numa_len) : IXVM_ERR_NO_MEMORY;
    free(numa);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_ACPI_TABLES, 0);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_SMBIOS_ENTRIES, 0);
    rc = rc < 0 ? rc : fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
    rc = rc < 0 ? rc : fw_cfg_add_u32(fw, FW_CFG_E820_TABLE, 0);
    /* etc/e820: {le64 address, le64 length, le32 type 1 = RAM}: the RAM at
     * 0, then the RAM at 4 GiB if any. */
    uint8_t e820[40];
    size_t e820_len = 20;
    pc_le(e820, 0, 8);
    pc_le(e820 + 8, pc->ram_size, 8);
    pc_le(e820 + 16, 1, 4);
    if (pc->ram_above_4g) {
        pc_le(e820 + 20, PGM_HIGH_BASE, 8);
        pc_le(e820 + 28, pc->ram_above_4g, 8);
        pc_le(e820 + 36, 1, 4);
        e820_len = 40;
    }
    rc = rc < 0 ? rc : fw_cfg_add_file(fw, "etc/e820", e820, e820_len);
    uint8_t wait[4];
    pc_le(wait, (uint32_t)pc->opt.boot_fail_wait_ms, 4);
    rc = rc < 0 ? rc : fw_cfg_add_file(fw, "etc/boot-fail-wait", wait, sizeof(wait));
    return rc < 0 ? rc : pc_fill_boot(pc);
}

static int pc_fill_cmos(struct pc *pc)
{
    rtc_set_mem_size(pc->rtc, pc->ram_size, pc->ram_above_4g);
    /* Boot/Order ("cad", QEMU's default: hard disk, floppy, CD-ROM) as the
     * CMOS device codes SeaBIOS reads on QEMU (0x3D, 0x38). */
    uint8_t order[PC_BOOT_MAX];
    unsigned n = 0;
    for (const char *c = pc->conf.order; *c && n < PC_BOOT_MAX; c++)
        order[n++] = (uint8_t)((strchr(pc_boot_letters, *c) - pc_boot_letters) / 2 + 1);
    rtc_set_boot_order(pc->rtc, order, n);
    return rtc_cmos_write(pc->rtc, 0x5f, (uint8_t)(pc->ncpus - 1));   /* CMOS_BIOS_SMP_COUNT */
}

static int pc_comp_init_inner(struct vm *vm, void *user)
{
    struct pc *pc = user;
    struct ixvm_errinfo *err = &pc->init_err;
    pc->vm = vm;
    int rc = iom_create(&pc->iom);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot create the port space");
    if ((rc = pgm_create_split(&pc->pgm, pc->ram_size, pc->ram_above_4g, err)) < 0)
        return rc;
    if ((rc = tm_create(vmm_loop(vm), &pc->tm)) < 0 || (rc = tm_ssm_register(pc->tm, vmm_ssm(vm))) < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot create the time manager");
    struct dev_ctx ctx = { .iom = pc->iom, .tm = pc->tm, .pgm = pc->pgm, .ssm = vmm_ssm(vm),
                           .dbgf = vmm_info_reg(vm), .stam = vmm_stam(vm) };
    /* The VGA window is a hole in RAM before the VGA device maps it. */
    if ((rc = pgm_set_page_kind(pc->pgm, PC_VGA_BASE, PC_VGA_SIZE, PGM_PAGE_UNASSIGNED)) < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot open the VGA window");
    if ((rc = pdm_create(&ctx, &pc->pdm, err)) < 0 || (rc = pc_create_devices(pc, err)) < 0 ||
        (rc = pc_map_memory(pc, err)) < 0)
        return rc;
    if ((rc = pc_fill_fw_cfg(pc)) < 0 || (rc = pc_fill_cmos(pc)) < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot fill fw_cfg/CMOS: %s", ixvm_strerror(rc));
    /* Kernel/Path (--kernel): our option ROM boots it first (pc_kernel.c). */
    if ((rc = pc_kernel_setup(pc->fw, vmm_cfg(vm), pc->ram_size, pc->opt.bootorder, err)) < 0)
        return rc;
    struct iem_vmm_config gc = {
        .pgm = pc->pgm, .iom = pc->iom, .tm = pc->tm,
        .hooks = { pc_intr_ack, pc_intr_pending, pc_vm_event, pc_triple_fault, pc },
    };
    if ((rc = iem_vmm_create(&gc, &pc->glue, err)) < 0)
        return rc;
    LOG_REL("board: pc (i440fx) with %llu MiB RAM, %u vCPU(s), BIOS %zu KiB", (unsigned long long)(pc->ram_size >> 20),
            pc->ncpus, pc->bios_len >> 10);
    return 0;
}

static void pc_comp_term(struct vm *vm, void *user);

/* The VMM calls term only for components whose init succeeded: clean up
 * a partial build here. */
static int pc_comp_init(struct vm *vm, void *user)
{
    int rc = pc_comp_init_inner(vm, user);
    if (rc < 0)
        pc_comp_term(vm, user);
    return rc;
}

static int pc_comp_init_completed(struct vm *vm, void *user, enum vmm_init_phase phase)
{
    struct pc *pc = user;
    if (phase != VMM_INIT_COMPLETED_RING3)
        return 0;
    int rc = iem_vmm_attach(pc->glue, vm, &pc->init_err);
    if (rc >= 0)
        pc->attached = true;
    return rc;
}

static void pc_comp_power_on(struct vm *vm, void *user)
{
    struct pc *pc = user;
    tm_resume(pc->tm);
}

static void pc_comp_reset(struct vm *vm, void *user)
{
    struct pc *pc = user;
    pdm_reset(pc->pdm);
    atomic_store(&pc->action, PC_ACT_NONE);
    vm_ff_clear(vm, VM_FF_RESET);
    LOG_REL("board: machine reset");
}

static void pc_comp_suspend(struct vm *vm, void *user)
{
    struct pc *pc = user;
    tm_pause(pc->tm);
}

static void pc_comp_term(struct vm *vm, void *user)
{
    struct pc *pc = user;
    if (pc->attached)
        iem_vmm_detach(pc->glue, vm);
    pc->attached = false;
    iem_vmm_destroy(pc->glue);
    pc->glue = NULL;
    if (pc->pdm)
        pdm_destroy(pc->pdm);
    pc->pdm = NULL;
    if (pc->tm)
        tm_destroy(pc->tm);
    pc->tm = NULL;
    iom_destroy(pc->iom);
    pc->iom = NULL;
    pgm_destroy(pc->pgm);
    pc->pgm = NULL;
}

/* ---- configuration ---------------------------------------------------------- */

static void pc_conf_free(struct pc_conf *c)
{
    for (unsigned i = 0; i < PC_IDE_DRIVES; i++)
        free(c->hd[i]);
    free(c->cdrom);
    free(c->vga_rom);
    memset(c, 0, sizeof(*c));
}

/* A string key copied, NULL when empty. */
static int pc_conf_str(const struct cfg *cfg, const char *key, char **out)
{
    const char *v = NULL;
    *out = NULL;
    int rc = cfg_get_str(cfg, key, &v);
    if (rc < 0 || !v || !*v)
        return rc < 0 ? rc : 0;
    *out = strdup(v);
    return *out ? 0 : IXVM_ERR_NO_MEMORY;
}

static int pc_read_conf(struct pc_conf *c, const struct cfg *cfg, struct ixvm_errinfo *err)
{
    static const char *const hd_keys[PC_IDE_DRIVES] = { "IDE/Hda", "IDE/Hdb", "IDE/Hdc", "IDE/Hdd" };
    const char *order = NULL;
    int rc = 0;
    for (unsigned i = 0; i < PC_IDE_DRIVES && rc >= 0; i++)
        rc = pc_conf_str(cfg, hd_keys[i], &c->hd[i]);
    rc = rc < 0 ? rc : pc_conf_str(cfg, "IDE/Cdrom", &c->cdrom);
    rc = rc < 0 ? rc : pc_conf_str(cfg, "VGA/Rom", &c->vga_rom);
    rc = rc < 0 ? rc : cfg_get_bool(cfg, "IDE/Snapshot", &c->snapshot);
    rc = rc < 0 ? rc : cfg_get_bool(cfg, "Boot/Menu", &c->menu);
    rc = rc < 0 ? rc : cfg_get_int(cfg, "Boot/MenuTimeout", &c->menu_wait_ms);
    rc = rc < 0 ? rc : cfg_get_int(cfg, "VGA/VRamSize", &c->vram);
    rc = rc < 0 ? rc : cfg_get_str(cfg, "Boot/Order", &order);
    const char *rtc_base = NULL;
    rc = rc < 0 ? rc : cfg_get_str(cfg, "RTC/Base", &rtc_base);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot read the IDE/Boot/VGA configuration: %s", ixvm_strerror(rc));
    if ((rc = pc_parse_rtc_base(rtc_base, &c->rtc_localtime, &c->rtc_epoch, err)) < 0)
        return rc;
    if (c->cdrom && c->hd[2])
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "IDE/Cdrom and IDE/Hdc both use the secondary master (hdc)");
    if (c->vram & (c->vram - 1))
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "VGA/VRamSize: %lld is not a power of two",
                                (long long)c->vram);
    if ((rc = pc_check_boot_order(order, err)) < 0) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        return ixvm_errinfo_set(err, rc, "Boot/Order: %s", msg);
    }
    snprintf(c->order, sizeof(c->order), "%s", order);
    c->order_set = cfg_is_set(cfg, "Boot/Order");
    return 0;
}

int pc_check_drive(const char *path, bool cdrom, struct ixvm_errinfo *err)
{
    struct blk *b = NULL;
    struct blk_opts o = { .path = path, .read_only = cdrom, .what = cdrom ? "cdrom" : "disk" };
    int rc = blk_open(&o, &b, err);
    blk_close(b);
    return rc;
}

int pc_create(const struct cfg *cfg, const struct pc_options *opt, struct pc **out, struct ixvm_errinfo *err)
{
    *out = NULL;
    int64_t ram = 0, ncpus = 1;
    if (cfg_get_int(cfg, "Memory/Size", &ram) < 0 || cfg_get_int(cfg, "CPU/Count", &ncpus) < 0)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "board: Memory/Size or CPU/Count missing");
    if (ram < (1 << 20) || (uint64_t)ram > PC_RAM_TOTAL_MAX || (ram & 0xfff))
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "Memory/Size: %lld bytes is not a multiple of 4 KiB between 1 MiB and 63.5 GiB "
                                "(RAM beyond 3.5 GiB goes above 4 GiB, which ends at 64 GiB with PAE)",
                                (long long)ram);
    struct pc *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "board: out of memory");
    if (opt)
        pc->opt = *opt;
    else
        pc->opt.boot_fail_wait_ms = -1;
    /* As QEMU's i440FX: RAM up to the PCI hole at 0, the rest at 4 GiB. */
    pc->ram_size = (uint64_t)ram < PC_RAM_MAX ? (uint64_t)ram : PC_RAM_MAX;
    pc->ram_above_4g = (uint64_t)ram - pc->ram_size;
    pc->ncpus = (uint32_t)ncpus;
    atomic_init(&pc->exit_status, -1);
    atomic_init(&pc->action, PC_ACT_NONE);
    int rc = pc_read_conf(&pc->conf, cfg, err);
    if (rc < 0 || (rc = pc_load_bios(pc, err)) < 0) {
        pc_conf_free(&pc->conf);
        free(pc);
        return rc;
    }
    struct vmm_component comp = {
        .name = "pc", .init = pc_comp_init, .init_completed = pc_comp_init_completed,
        .power_on = pc_comp_power_on, .reset = pc_comp_reset, .suspend = pc_comp_suspend,
        .resume = pc_comp_power_on, .power_off = pc_comp_suspend, .term = pc_comp_term, .user = pc,
    };
    struct vmm_create_args args = { .components = &comp, .ncomponents = 1, .cpu_ops = &iem_vmm_cpu_ops };
    rc = vmm_create(cfg, &args, &pc->vm, err);
    if (rc < 0) {
        /* The component's own message says more than "init failed". */
        if (pc->init_err.msg[0] && err)
            *err = pc->init_err;
        pc_conf_free(&pc->conf);
        free(pc->bios);
        free(pc);
        return rc;
    }
    *out = pc;
    return 0;
}

void pc_destroy(struct pc *pc)
{
    if (!pc)
        return;
    vmm_destroy(pc->vm);
    pc_conf_free(&pc->conf);
    free(pc->bios);
    free(pc);
}

struct vm *pc_vm(struct pc *pc) { return pc->vm; }
struct pgm *pc_pgm(struct pc *pc) { return pc->pgm; }
struct iom *pc_iom(struct pc *pc) { return pc->iom; }

struct dev_ins *pc_device(struct pc *pc, const char *name)
{
    return pc->pdm ? pdm_find(pc->pdm, name, 0) : NULL;
}

struct dev_ins *pc_serial_port(struct pc *pc, unsigned index)
{
    if (index == 0)
        return pc->uart;
    return index < 4 ? pc->uart_more[index - 1] : NULL;
}

/* ---- screen text ------------------------------------------------------------ */

static int pc_screen_write(struct dev_ins *vga, FILE *f)
{
    struct vga_text *t = malloc(sizeof(*t));
    if (!t)
        return IXVM_ERR_NO_MEMORY;
    int rc = vga_text_snapshot(vga, t);
    if (rc >= 0) {
        char row[VGA_TEXT_MAX_COLS + 1];
        for (unsigned r = 0; r < t->rows; r++) {
            vga_text_row_string(t, r, row, sizeof(row));
            fprintf(f, "%s\n", row);
        }
    } else {
        struct vga_mode_info mi;
        vga_mode_info(vga, &mi);
        if (mi.kind == VGA_MODE_BLANK)
            fprintf(f, "[blank]\n");
        else
            fprintf(f, "[graphics %ux%ux%u]\n", mi.width, mi.height, mi.bpp);
        rc = 0;
    }
    free(t);
    return rc;
}

int pc_dump_screen_text(struct pc *pc, const char *path, bool if_changed, struct ixvm_errinfo *err)
{
    if (!pc->vga)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_STATE, "screen text: the machine has no VGA");
    uint64_t changes = vga_change_count(pc->vga);
    if (if_changed && changes == pc->screen_changes)
        return 1;
    pc->screen_changes = changes;
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "screen text: path '%s' is too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "screen text: cannot write '%s': %s", tmp, strerror(errno));
    int rc = pc_screen_write(pc->vga, f);
    if (fclose(f) != 0 && rc >= 0)
        rc = IXVM_ERR_IO;
    if (rc >= 0 && rename(tmp, path) != 0)
        rc = IXVM_ERR_IO;
    if (rc < 0) {
        remove(tmp);
        return ixvm_errinfo_set(err, rc, "screen text: cannot write '%s': %s", path, ixvm_strerror(rc));
    }
    return 0;
}
