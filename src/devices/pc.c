/* SPDX-License-Identifier: MIT */
/*
 * The PC board (include/ixvm/pc.h, docs/board.md): QEMU's "pc" machine
 * shape so SeaBIOS takes its QEMU paths.  Creates the VM with the
 * interpreter's CPU ops and itself as a VM component whose hooks build
 * (init), start the vCPUs' interpreters (init_completed), run and stop the
 * virtual clock (power on/suspend/resume/off), reset the devices (reset)
 * and tear everything down (term).
 *
 * Memory map: RAM at 0 (Memory/Size, at most 3.5 GiB), the BIOS image at
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

#include "ixvm/cfg.h"
#include "ixvm/iem_vmm.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"
#include "ixvm/pci.h"
#include "ixvm/vmm.h"

#define PC_BIOS_MAX (16u << 20)
#define PC_VGA_BASE 0xa0000u
#define PC_VGA_SIZE 0x20000u

enum pc_action { PC_ACT_NONE, PC_ACT_RESET, PC_ACT_OFF };

struct pc {
    struct pc_options opt;          /* [const] */
    struct vm *vm;                  /* [const after create] */
    struct pgm *pgm;                /* [const after init] */
    struct iom *iom;
    struct tm_mgr *tm;
    struct pdm *pdm;
    struct iem_vmm *glue;
    struct dev_ins *pic, *pit, *rtc, *uart, *dbg, *host, *isa, *pm, *fw;
    struct irq_line isa_lines[PIC_IRQ_COUNT];          /* [const after init] */
    const struct irq_line *isa_ptrs[PIC_IRQ_COUNT];
    uint8_t *bios;                  /* [const after init] the image */
    size_t bios_len;
    uint64_t ram_size;
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
        (rc = pc_add_dev(pc, &dev_rtc, NULL, 0, &pc->rtc, err)) < 0 ||
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
    i440fx_set_reset_handler(pc->host, pc_cf9_reset, pc);
    piix3_set_reset_handler(pc->isa, pc_port92_reset, pc);
    acpi_pm_set_poweroff_handler(pc->pm, pc_acpi_off, pc);
    return 0;
}

/* Memory: RAM, the VGA hole, the BIOS at the top of 4 GiB and its alias. */
static int pc_map_memory(struct pc *pc, struct ixvm_errinfo *err)
{
    int rc = pgm_set_page_kind(pc->pgm, PC_VGA_BASE, PC_VGA_SIZE, PGM_PAGE_UNASSIGNED);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot open the VGA window");
    rc = pgm_map_rom(pc->pgm, PGM_ADDR_SPACE - pc->bios_len, pc->bios_len, pc->bios, pc->bios_len, "bios", err);
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

/* The fw_cfg items SeaBIOS reads on QEMU (src/fw/paravirt.c there). */
static int pc_fill_fw_cfg(struct pc *pc)
{
    struct dev_ins *fw = pc->fw;
    static const uint8_t uuid[16];
    int rc = fw_cfg_add_bytes(fw, FW_CFG_UUID, uuid, sizeof(uuid));
    rc = rc < 0 ? rc : fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, pc->ram_size);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_NOGRAPHIC, 0);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, (uint16_t)pc->ncpus);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, (uint16_t)pc->ncpus);
    rc = rc < 0 ? rc : fw_cfg_add_u32(fw, FW_CFG_MACHINE_ID, 0);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_BOOT_DEVICE, 'c');
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_BOOT_MENU, 0);
    /* NUMA: node count 0, then one u64 per CPU (no nodes). */
    size_t numa_len = 8 * (1 + (size_t)pc->ncpus);
    uint8_t *numa = calloc(1, numa_len);
    rc = rc < 0 ? rc : numa ? fw_cfg_add_bytes(fw, FW_CFG_NUMA, numa, numa_len) : IXVM_ERR_NO_MEMORY;
    free(numa);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_ACPI_TABLES, 0);
    rc = rc < 0 ? rc : fw_cfg_add_u16(fw, FW_CFG_SMBIOS_ENTRIES, 0);
    rc = rc < 0 ? rc : fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
    rc = rc < 0 ? rc : fw_cfg_add_u32(fw, FW_CFG_E820_TABLE, 0);
    /* etc/e820: {le64 address, le64 length, le32 type}, RAM below 4 GiB. */
    uint8_t e820[20];
    pc_le(e820, 0, 8);
    pc_le(e820 + 8, pc->ram_size, 8);
    pc_le(e820 + 16, 1, 4);
    rc = rc < 0 ? rc : fw_cfg_add_file(fw, "etc/e820", e820, sizeof(e820));
    uint8_t wait[4];
    pc_le(wait, (uint32_t)pc->opt.boot_fail_wait_ms, 4);
    rc = rc < 0 ? rc : fw_cfg_add_file(fw, "etc/boot-fail-wait", wait, sizeof(wait));
    if (pc->opt.bootorder && *pc->opt.bootorder)
        rc = rc < 0 ? rc : fw_cfg_add_file(fw, "bootorder", pc->opt.bootorder, strlen(pc->opt.bootorder) + 1);
    return rc;
}

static int pc_fill_cmos(struct pc *pc)
{
    rtc_set_mem_size(pc->rtc, pc->ram_size, 0);
    /* Boot order "cad" as QEMU's default: hard disk, floppy, CD-ROM. */
    static const uint8_t order[] = { 2, 1, 3 };
    rtc_set_boot_order(pc->rtc, order, 3);
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
    if ((rc = pgm_create(&pc->pgm, pc->ram_size, err)) < 0)
        return rc;
    if ((rc = tm_create(vmm_loop(vm), &pc->tm)) < 0 || (rc = tm_ssm_register(pc->tm, vmm_ssm(vm))) < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot create the time manager");
    struct dev_ctx ctx = { .iom = pc->iom, .tm = pc->tm, .pgm = pc->pgm, .ssm = vmm_ssm(vm),
                           .dbgf = vmm_info_reg(vm), .stam = vmm_stam(vm) };
    if ((rc = pdm_create(&ctx, &pc->pdm, err)) < 0 || (rc = pc_create_devices(pc, err)) < 0 ||
        (rc = pc_map_memory(pc, err)) < 0)
        return rc;
    if ((rc = pc_fill_fw_cfg(pc)) < 0 || (rc = pc_fill_cmos(pc)) < 0)
        return ixvm_errinfo_set(err, rc, "board: cannot fill fw_cfg/CMOS: %s", ixvm_strerror(rc));
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

int pc_create(const struct cfg *cfg, const struct pc_options *opt, struct pc **out, struct ixvm_errinfo *err)
{
    *out = NULL;
    int64_t ram = 0, ncpus = 1;
    if (cfg_get_int(cfg, "Memory/Size", &ram) < 0 || cfg_get_int(cfg, "CPU/Count", &ncpus) < 0)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "board: Memory/Size or CPU/Count missing");
    if (ram < (1 << 20) || (uint64_t)ram > PC_RAM_MAX || (ram & 0xfff))
        return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE,
                                "Memory/Size: %lld bytes is not a multiple of 4 KiB between 1 MiB and 3.5 GiB "
                                "(the PCI hole starts at 3.5 GiB)", (long long)ram);
    struct pc *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "board: out of memory");
    if (opt)
        pc->opt = *opt;
    else
        pc->opt.boot_fail_wait_ms = -1;
    pc->ram_size = (uint64_t)ram;
    pc->ncpus = (uint32_t)ncpus;
    atomic_init(&pc->exit_status, -1);
    atomic_init(&pc->action, PC_ACT_NONE);
    int rc = pc_load_bios(pc, err);
    if (rc < 0) {
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
