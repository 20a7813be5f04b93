/* SPDX-License-Identifier: MIT */
/*
 * PIIX4-style power management function (82371AB datasheet 3.x, device
 * 01.3, 8086:7113) as QEMU's i440FX machine has it: the PM I/O block is
 * placed by config register 0x40 (PMBA, 64 bytes) and enabled by 0x80
 * bit 0 (PMIOSE).  Inside it (ACPI 1.0 4.7.3): PM1a_STS (0x00, write 1 to
 * clear), PM1a_EN (0x02), PM1a_CNT (0x04: SCI_EN, SLP_TYP, SLP_EN) and the
 * 24-bit PM timer (0x08) at 3.579545 MHz from TM's virtual clock, whose
 * bit-23 transitions set TMROF_STS.  SCI is ISA IRQ `sci_irq` (9), level,
 * while STS & EN has a timer, power-button, global or RTC event.
 * SLP_EN with SLP_TYP = `s5_typ` (0, as QEMU's DSDT) powers the machine
 * off.  The APM control/status ports 0xB2/0xB3 turn ACPI mode on/off
 * (values 0xF1/0xF0) since there is no SMM; DEVACTB.APMC_EN reads as set
 * so SeaBIOS skips SMM relocation, as on QEMU without SMM.
 */
#define LOG_GROUP LOG_GROUP_DEV_PCI
#include <string.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"
#include "ixvm/pci.h"

#define PM_IO_SIZE 64u
#define PM_PMBA 0x40
#define PM_PMREGMISC 0x80
#define PM_SMBBA 0x90
#define PM_SMBHSTCFG 0xd2

#define PM1_TMROF 0x0001u
#define PM1_GBL 0x0020u
#define PM1_PWRBTN 0x0100u
#define PM1_RTC 0x0400u
#define PM1_WAK 0x8000u
#define PM1_EVENTS (PM1_TMROF | PM1_GBL | PM1_PWRBTN | PM1_RTC)
#define PM1_CNT_SCI_EN 0x0001u
#define PM1_CNT_SLP_EN 0x2000u
#define PM_TMR_HZ 3579545ull

struct acpi_pm_state {
    struct dev_ins *ins;            /* [init] */
    struct pci_bus *bus;            /* [init] */
    struct pci_func func;           /* [bus lock] */
    struct tm_timer *timer;         /* [init] TMROF interrupt */
    uint16_t io_base;               /* [bus lock; reset/load: VM stopped] PM block address, 0 if not mapped */
    uint16_t sts;                   /* [lock] PM1a_STS (TMROF computed) */
    uint16_t en;                    /* [lock] PM1a_EN */
    uint16_t cnt;                   /* [lock] PM1a_CNT (SLP_EN never stored) */
    uint64_t tmr_ovf_seen;          /* [lock] (ticks >> 23) at the last TMROF clear */
    uint8_t regs[PM_IO_SIZE];       /* [lock] the other registers, stored as written */
    uint8_t apm_cnt, apm_sts;       /* [lock] ports 0xB2/0xB3 */
    uint8_t s5_typ;                 /* [init] */
    int sci_level;                  /* [lock] */
    acpi_pm_poweroff_fn *off_fn;    /* [lock] */
    void *off_user;                 /* [lock] */
    uint32_t misuse;
};

/* PM timer ticks since the virtual clock started (ACPI 4.7.3.3). */
static uint64_t pm_ticks(const struct acpi_pm_state *s)
{
    uint64_t ns = tm_virtual_now(s->ins->ctx.tm);
    return ns / TM_NS_PER_SEC * PM_TMR_HZ + ns % TM_NS_PER_SEC * PM_TMR_HZ / TM_NS_PER_SEC;
}

static uint16_t pm_sts(const struct acpi_pm_state *s)
{
    return (uint16_t)(s->sts | ((pm_ticks(s) >> 23) != s->tmr_ovf_seen ? PM1_TMROF : 0));
}

/* Virtual time of the next bit-23 transition after the one already seen. */
static uint64_t pm_next_ovf_ns(const struct acpi_pm_state *s)
{
    uint64_t t = (s->tmr_ovf_seen + 1) << 23;
    return (t / PM_TMR_HZ) * TM_NS_PER_SEC + ((t % PM_TMR_HZ) * TM_NS_PER_SEC + PM_TMR_HZ - 1) / PM_TMR_HZ;
}

static void pm_update_sci(struct acpi_pm_state *s)
{
    uint16_t sts = pm_sts(s);
    int level = (sts & s->en & PM1_EVENTS) != 0;
    if (level != s->sci_level) {
        s->sci_level = level;
        dev_irq_set(s->ins, 0, level);
    }
    if ((s->en & PM1_TMROF) && !(sts & PM1_TMROF))
        tm_timer_arm_ns(s->timer, pm_next_ovf_ns(s));
    else
        tm_timer_stop(s->timer);
}

static void pm_timer_cb(void *user)
{
    pm_update_sci(user);
}

static uint8_t pm_read_byte(struct acpi_pm_state *s, unsigned off, uint16_t sts, uint32_t tmr)
{
    switch (off) {
    case 0: case 1: return (uint8_t)(sts >> (8 * off));
    case 2: case 3: return (uint8_t)(s->en >> (8 * (off - 2)));
    case 4: case 5: return (uint8_t)(s->cnt >> (8 * (off - 4)));
    case 8: case 9: case 10: return (uint8_t)(tmr >> (8 * (off - 8)));
    case 11: return 0;
    default: return s->regs[off];
    }
}

static int pm_io_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct acpi_pm_state *s = dev;
    uint16_t sts = pm_sts(s);
    uint32_t tmr = (uint32_t)(pm_ticks(s) & 0xffffff);
    uint32_t v = 0;
    for (unsigned i = 0; i < size && off + i < PM_IO_SIZE; i++)
        v |= (uint32_t)pm_read_byte(s, off + i, sts, tmr) << (8 * i);
    *val = v;
    return 0;
}

static void pm_sleep(struct acpi_pm_state *s, unsigned typ)
{
    if (typ == s->s5_typ) {
        LOG_REL("ACPI: S5 soft-off requested (PM1a_CNT SLP_TYP %u)", typ);
        if (s->off_fn)
            s->off_fn(s->off_user);
    } else {
        DEV_LOG_MISUSE(s->misuse, "ACPI: sleep type %u not supported, ignored", typ);
    }
}

static void pm_write_byte(struct acpi_pm_state *s, unsigned off, uint8_t b)
{
    switch (off) {
    case 0: case 1: {
        uint16_t clr = (uint16_t)(b << (8 * off));
        if (clr & PM1_TMROF)
            s->tmr_ovf_seen = pm_ticks(s) >> 23;
        s->sts &= (uint16_t)~clr;
        break;
    }
    case 2: case 3:
        s->en = (uint16_t)((s->en & ~(0xffu << (8 * (off - 2)))) | ((unsigned)b << (8 * (off - 2))));
        break;
    case 4: case 5:
        s->cnt = (uint16_t)((s->cnt & ~(0xffu << (8 * (off - 4)))) | ((unsigned)b << (8 * (off - 4))));
        if (s->cnt & PM1_CNT_SLP_EN) {
            s->cnt &= (uint16_t)~PM1_CNT_SLP_EN;   /* write-only, reads 0 */
            pm_sleep(s, (s->cnt >> 10) & 7u);
        }
        break;
    case 8: case 9: case 10: case 11:
        break;   /* PM_TMR is read-only */
    default:
        s->regs[off] = b;
        break;
    }
}

static int pm_io_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct acpi_pm_state *s = dev;
    for (unsigned i = 0; i < size && off + i < PM_IO_SIZE; i++)
        pm_write_byte(s, off + i, (uint8_t)(val >> (8 * i)));
    pm_update_sci(s);
    return 0;
}

static const struct iom_port_ops pm_io_ops = { pm_io_read, pm_io_write, 0 };

/* APM (0xB2 control, 0xB3 status). */
static int apm_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct acpi_pm_state *s = dev;
    *val = off == 0 ? s->apm_cnt : s->apm_sts;
    return 0;
}

static int apm_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct acpi_pm_state *s = dev;
    if (off == 1) {
        s->apm_sts = (uint8_t)val;
        return 0;
    }
    s->apm_cnt = (uint8_t)val;
    if (s->apm_cnt == 0xf1)
        s->cnt |= PM1_CNT_SCI_EN;
    else if (s->apm_cnt == 0xf0)
        s->cnt &= (uint16_t)~PM1_CNT_SCI_EN;
    return 0;
}

static const struct iom_port_ops apm_ops = { apm_read, apm_write, 1 };

/* Map the PM block where PMBA says when PMIOSE is on (datasheet 3.1). */
static void pm_remap(struct acpi_pm_state *s)
{
    const uint8_t *c = s->func.config;
    uint16_t want = (c[PM_PMREGMISC] & 1) ? (uint16_t)((c[PM_PMBA] | (c[PM_PMBA + 1] << 8)) & 0xffc0) : 0;
    if (want == s->io_base)
        return;
    if (s->io_base && iom_unmap_ports(s->ins->ctx.iom, s->io_base) < 0)
        LOG_WARN("ACPI PM: cannot unmap %#x", s->io_base);
    s->io_base = 0;
    if (!want)
        return;
    int rc = iom_map_ports_locked(s->ins->ctx.iom, want, PM_IO_SIZE, &pm_io_ops, s, "acpi pm", &s->ins->lock);
    if (rc < 0) {
        DEV_LOG_MISUSE(s->misuse, "ACPI PM: cannot map the PM block at %#x: %s", want, ixvm_strerror(rc));
        return;
    }
    s->io_base = want;
    LOG("ACPI PM block at %#x", want);
}

static void pm_config_written(void *dev, unsigned off, uint32_t val, unsigned size)
{
    struct acpi_pm_state *s = dev;
    if ((off < PM_PMBA + 4 && off + size > PM_PMBA) || (off <= PM_PMREGMISC && off + size > PM_PMREGMISC))
        pm_remap(s);
}

static const struct pci_func_ops pm_pci_ops = { .config_written = pm_config_written };

static void pm_config_defaults(struct acpi_pm_state *s)
{
    uint8_t *c = s->func.config;
    memset(c + 4, 0, PCI_CONFIG_SIZE - 4);
    c[PCI_STATUS + 1] = 0x02;
    c[PCI_REVISION_ID] = 0x03;
    c[PCI_CLASS_DEVICE] = 0x80;   /* other bridge */
    c[PCI_CLASS_DEVICE + 1] = 0x06;
    c[PCI_SUBSYSTEM_VENDOR_ID] = 0xf4;
    c[PCI_SUBSYSTEM_VENDOR_ID + 1] = 0x1a;
    c[PCI_SUBSYSTEM_ID] = 0x00;
    c[PCI_SUBSYSTEM_ID + 1] = 0x11;
    c[PCI_INTERRUPT_PIN] = 0x01;
    c[PM_PMBA] = 0x01;            /* I/O space indicator */
    c[PM_SMBBA] = 0x01;
    c[0x5b] = 0x02;               /* DEVACTB.APMC_EN: "SMM already set up" */
    memset(s->func.wmask + 0x40, 0, PCI_CONFIG_SIZE - 0x40);
    s->func.wmask[PM_PMBA] = 0xc0;
    s->func.wmask[PM_PMBA + 1] = 0xff;
    s->func.wmask[PM_PMREGMISC] = 0x01;
    s->func.wmask[PM_SMBBA] = 0xf0;
    s->func.wmask[PM_SMBBA + 1] = 0xff;
    s->func.wmask[PM_SMBHSTCFG] = 0x0f;
}

static void pm_reset(void *state)
{
    struct acpi_pm_state *s = state;
    pm_config_defaults(s);
    pm_remap(s);
    s->sts = s->en = s->cnt = 0;
    s->tmr_ovf_seen = pm_ticks(s) >> 23;
    memset(s->regs, 0, sizeof(s->regs));
    s->apm_cnt = s->apm_sts = 0;
    pm_update_sci(s);
}

static int pm_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                   struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "sci_irq", "s5_typ", "apm", NULL };
    struct acpi_pm_state *s = ins->state;
    s->ins = ins;
    uint64_t irq = 9, typ = 0;
    bool apm = true;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc < 0 || (rc = dev_cfg_get_u64(ins, cfg, "sci_irq", 9, 0, 15, &irq, err)) < 0 ||
        (rc = dev_cfg_get_u64(ins, cfg, "s5_typ", 0, 0, 7, &typ, err)) < 0 ||
        (rc = dev_cfg_get_bool(ins, cfg, "apm", true, &apm, err)) < 0)
        return rc;
    s->s5_typ = (uint8_t)typ;
    s->bus = pci_bus_find(ins);
    if (!s->bus)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "device %s: no PCI host bridge (create i440fx first)",
                                ins->name);
    if ((rc = dev_timer_create(ins, pm_timer_cb, "tmrof", &s->timer, err)) < 0)
        return rc;
    uint8_t *c = s->func.config;
    c[PCI_VENDOR_ID] = 0x86;
    c[PCI_VENDOR_ID + 1] = 0x80;
    c[PCI_DEVICE_ID] = 0x13;
    c[PCI_DEVICE_ID + 1] = 0x71;
    pm_config_defaults(s);
    if ((rc = pci_register_func(s->bus, PCI_DEVFN(1, 3), &s->func, &pm_pci_ops, ins)) < 0)
        return ixvm_errinfo_set(err, rc, "device %s: cannot register 01.3: %s", ins->name, ixvm_strerror(rc));
    if (apm && (rc = dev_map_ports(ins, 0xb2, 2, &apm_ops, "apm", err)) < 0)
        return rc;
    if ((rc = dev_isa_irq_connect(ins, 0, (unsigned)irq)) < 0)
        return ixvm_errinfo_set(err, rc, "device %s: cannot connect SCI to IRQ %u", ins->name, (unsigned)irq);
    s->tmr_ovf_seen = pm_ticks(s) >> 23;
    return 0;
}

static void pm_destroy(void *state)
{
    struct acpi_pm_state *s = state;
    if (s->io_base)
        (void)iom_unmap_ports(s->ins->ctx.iom, s->io_base);
}

static int pm_post_load(void *state, uint32_t version)
{
    struct acpi_pm_state *s = state;
    uint16_t base = s->io_base;
    s->io_base = 0;
    if (base)
        (void)iom_unmap_ports(s->ins->ctx.iom, base);
    pm_remap(s);
    s->sci_level = -1;
    pm_update_sci(s);
    return 0;
}

static void pm_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct acpi_pm_state *s = state;
    ixvm_pr(pr, "PM block %#x%s, PM1_STS %#06x PM1_EN %#06x PM1_CNT %#06x, PM_TMR %#08x, SCI %d\n", s->io_base,
            s->io_base ? "" : " (disabled)", pm_sts(s), s->en, s->cnt, (unsigned)(pm_ticks(s) & 0xffffff),
            s->sci_level);
}

static const struct ssm_field pm_fields[] = {
    SSM_FIELD(U16, struct acpi_pm_state, io_base),
    SSM_FIELD(U16, struct acpi_pm_state, sts),
    SSM_FIELD(U16, struct acpi_pm_state, en),
    SSM_FIELD(U16, struct acpi_pm_state, cnt),
    SSM_FIELD(U64, struct acpi_pm_state, tmr_ovf_seen),
    SSM_FIELD(MEM, struct acpi_pm_state, regs),
    SSM_FIELD(U8, struct acpi_pm_state, apm_cnt),
    SSM_FIELD(U8, struct acpi_pm_state, apm_sts),
    SSM_FIELD(MEM, struct acpi_pm_state, func.config),
    SSM_FIELD_END,
};

const struct dev_reg dev_acpi_pm = {
    .name = "acpi_pm",
    .desc = "PIIX4 power management: PM timer, PM1 event/control, S5 power-off, SCI",
    .state_size = sizeof(struct acpi_pm_state),
    .max_instances = 1,
    .init = pm_init,
    .reset = pm_reset,
    .destroy = pm_destroy,
    .ssm_fields = pm_fields,
    .ssm_version = 1,
    .ssm_min_version = 1,
    .post_load = pm_post_load,
    .info = pm_info,
};

void acpi_pm_set_poweroff_handler(struct dev_ins *pm, acpi_pm_poweroff_fn *fn, void *user)
{
    struct acpi_pm_state *s = pm->state;
    dev_lock(pm);
    s->off_fn = fn;
    s->off_user = user;
    dev_unlock(pm);
}

void acpi_pm_power_button(struct dev_ins *pm)
{
    struct acpi_pm_state *s = pm->state;
    dev_lock(pm);
    s->sts |= PM1_PWRBTN;
    pm_update_sci(s);
    dev_unlock(pm);
}
