/* SPDX-License-Identifier: MIT */
/*
 * ACPI PM function tests on TM's manual clock: the PM block appears only
 * where PMBA says once PMIOSE is set (as SeaBIOS programs it), the 24-bit
 * PM timer counts at 3.579545 MHz and wraps, TMROF_STS and the SCI on
 * IRQ 9, write-1-to-clear status, the power button, S5 power-off through
 * SLP_TYP/SLP_EN, APM ACPI enable/disable, DEVACTB's "SMM done" bit, moving
 * the block, saved state and a fuzz.
 */
#include "test_dev_pci_fix.h"

#define PMB 0xb000u
#define PM_DEVFN PCI_DEVFN(1, 3)

static int offs;
static void count_off(void *user) { offs++; }

static void fix(struct pfx *f)
{
    pfx_init(f, 16 << 20);
    pfx_chipset(f, false);
    offs = 0;
    acpi_pm_set_poweroff_handler(f->pm, count_off, NULL);
}

/* SeaBIOS piix4_pm_config_setup. */
static void enable_block(struct pfx *f, uint16_t base)
{
    pfx_cfg_wr(f, PM_DEVFN, 0x40, base | 1u, 4);
    pfx_cfg_wr(f, PM_DEVFN, 0x80, 0x01, 1);
}

static uint32_t tmr(struct pfx *f) { return th_in(&f->h, PMB + 8, 4); }

Test(dev_acpi, block_mapped_by_config)
{
    struct pfx f;
    fix(&f);
    cr_assert_eq(th_in(&f.h, PMB + 8, 4), 0xffffffffu, "not decoded before PMIOSE");
    pfx_cfg_wr(&f, PM_DEVFN, 0x40, PMB | 1u, 4);
    cr_assert_eq(pfx_cfg_rd(&f, PM_DEVFN, 0x40, 4), PMB | 1u);
    cr_assert_eq(th_in(&f.h, PMB + 8, 4), 0xffffffffu, "PMBA alone does not decode");
    pfx_cfg_wr(&f, PM_DEVFN, 0x80, 0x01, 1);
    cr_assert_lt(tmr(&f), 0x1000000u);
    /* Only bits 15:6 of PMBA are writable (64-byte block). */
    pfx_cfg_wr(&f, PM_DEVFN, 0x40, 0x0000b03fu, 4);
    cr_assert_eq(pfx_cfg_rd(&f, PM_DEVFN, 0x40, 4), 0xb001u);
    /* Move: old block gone, new one decodes. */
    pfx_cfg_wr(&f, PM_DEVFN, 0x40, 0x0601, 4);
    cr_assert_eq(th_in(&f.h, PMB + 8, 4), 0xffffffffu);
    cr_assert_lt(th_in(&f.h, 0x608, 4), 0x1000000u);
    /* PMIOSE off: gone. */
    pfx_cfg_wr(&f, PM_DEVFN, 0x80, 0x00, 1);
    cr_assert_eq(th_in(&f.h, 0x608, 4), 0xffffffffu);
    /* QEMU without SMM: DEVACTB.APMC_EN reads set so SeaBIOS skips SMM setup. */
    cr_assert(pfx_cfg_rd(&f, PM_DEVFN, 0x58, 4) & (1u << 25));
    pfx_fini(&f);
}

Test(dev_acpi, pm_timer_rate)
{
    struct pfx f;
    fix(&f);
    enable_block(&f, PMB);
    uint32_t t0 = tmr(&f);
    th_advance(&f.h, TM_NS_PER_SEC);
    uint32_t t1 = tmr(&f);
    uint32_t d = (t1 - t0) & 0xffffff;
    /* One second is 3579545 ticks (within rounding). */
    cr_assert(d >= 3579544u && d <= 3579546u, "delta %u after 1 s", d);
    /* 24 bits: the upper byte is always 0, and it wraps after 2^24 ticks. */
    th_advance(&f.h, 5 * TM_NS_PER_SEC);
    cr_assert_eq(tmr(&f) >> 24, 0);
    /* Byte and word reads see the same counter. */
    uint32_t lo = th_in(&f.h, PMB + 8, 2), hi = th_in(&f.h, PMB + 10, 1);
    cr_assert_eq((hi << 16 | lo) & 0xffffff, tmr(&f));
    /* Read-only. */
    uint32_t before = tmr(&f);
    th_out(&f.h, PMB + 8, 0, 4);
    cr_assert_eq(tmr(&f), before);
    pfx_fini(&f);
}

Test(dev_acpi, timer_overflow_sci)
{
    struct pfx f;
    fix(&f);
    enable_block(&f, PMB);
    cr_assert_eq(th_in(&f.h, PMB, 2) & 1, 0);
    th_out(&f.h, PMB + 2, 0x0001, 2);            /* TMROF_EN */
    cr_assert_eq(f.level[9], 0);
    /* Bit 23 toggles every 2^23 / 3.579545 MHz = 2.3435 s. */
    th_advance(&f.h, 2300ull * 1000000);
    cr_assert_eq(f.level[9], 0, "too early");
    th_advance(&f.h, 50ull * 1000000);
    cr_assert_eq(th_in(&f.h, PMB, 2) & 1, 1, "TMROF_STS");
    cr_assert_eq(f.level[9], 1, "SCI on IRQ 9");
    /* Write 1 clears; writing 0 does not. */
    th_out(&f.h, PMB, 0x0000, 2);
    cr_assert_eq(f.level[9], 1);
    th_out(&f.h, PMB, 0x0001, 2);
    cr_assert_eq(th_in(&f.h, PMB, 2) & 1, 0);
    cr_assert_eq(f.level[9], 0);
    /* The next overflow fires again; with the enable off only the status. */
    th_out(&f.h, PMB + 2, 0x0000, 2);
    th_advance(&f.h, 2400ull * 1000000);
    cr_assert_eq(th_in(&f.h, PMB, 2) & 1, 1);
    cr_assert_eq(f.level[9], 0);
    pfx_fini(&f);
}

Test(dev_acpi, power_button)
{
    struct pfx f;
    fix(&f);
    enable_block(&f, PMB);
    acpi_pm_power_button(f.pm);
    cr_assert_eq(th_in(&f.h, PMB, 2) & 0x100, 0x100);
    cr_assert_eq(f.level[9], 0, "not enabled");
    th_out(&f.h, PMB + 2, 0x0100, 2);
    cr_assert_eq(f.level[9], 1);
    th_out(&f.h, PMB + 1, 0x01, 1);              /* byte write-1-to-clear of bit 8 */
    cr_assert_eq(f.level[9], 0);
    cr_assert_eq(th_in(&f.h, PMB, 2) & 0x100, 0);
    pfx_fini(&f);
}

Test(dev_acpi, s5_power_off)
{
    struct pfx f;
    fix(&f);
    enable_block(&f, PMB);
    /* SLP_TYP 1 (S3 in QEMU's DSDT) is not supported: nothing happens. */
    th_out(&f.h, PMB + 4, (1u << 10) | (1u << 13), 2);
    cr_assert_eq(offs, 0);
    /* SLP_TYP without SLP_EN: nothing. */
    th_out(&f.h, PMB + 4, 0x0001, 2);
    cr_assert_eq(offs, 0);
    cr_assert_eq(th_in(&f.h, PMB + 4, 2), 0x0001);
    /* S5 (SLP_TYP 0) with SLP_EN: off; SLP_EN reads back 0. */
    th_out(&f.h, PMB + 4, 0x2001, 2);
    cr_assert_eq(offs, 1);
    cr_assert_eq(th_in(&f.h, PMB + 4, 2) & 0x2000, 0);
    /* Byte write to the high byte works the same (Linux writes words). */
    th_out(&f.h, PMB + 5, 0x20, 1);
    cr_assert_eq(offs, 2);
    pfx_fini(&f);
}

Test(dev_acpi, s5_type_from_config)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    f.host = th_create(&f.h, &dev_i440fx, NULL, 0);
    struct dev_cfg_kv kv[] = { { "s5_typ", "5" }, { "sci_irq", "11" } };
    f.pm = th_create(&f.h, &dev_acpi_pm, kv, 2);
    offs = 0;
    acpi_pm_set_poweroff_handler(f.pm, count_off, NULL);
    enable_block(&f, PMB);
    th_out(&f.h, PMB + 4, 0x2000, 2);
    cr_assert_eq(offs, 0);
    th_out(&f.h, PMB + 4, (5u << 10) | 0x2000, 2);
    cr_assert_eq(offs, 1);
    acpi_pm_power_button(f.pm);
    th_out(&f.h, PMB + 2, 0x0100, 2);
    cr_assert_eq(f.level[11], 1, "SCI on the configured IRQ");
    /* Bad config values are refused with the key in the message. */
    struct dev_cfg_kv bad[] = { { "sci_irq", "16" } };
    struct dev_cfg c = { bad, 1 };
    struct dev_ins *ins = NULL;
    cr_assert_lt(pdm_device_create(f.h.pdm, &dev_acpi_pm, &c, &ins, &f.h.err), 0);
    pfx_fini(&f);
}

Test(dev_acpi, apm_acpi_enable)
{
    struct pfx f;
    fix(&f);
    enable_block(&f, PMB);
    cr_assert_eq(th_in(&f.h, PMB + 4, 2) & 1, 0);
    th_outb(&f.h, 0xb2, 0xf1);
    cr_assert_eq(th_in(&f.h, PMB + 4, 2) & 1, 1, "ACPI_ENABLE sets SCI_EN");
    cr_assert_eq(th_inb(&f.h, 0xb2), 0xf1);
    th_outb(&f.h, 0xb2, 0xf0);
    cr_assert_eq(th_in(&f.h, PMB + 4, 2) & 1, 0);
    th_outb(&f.h, 0xb3, 0x5a);
    cr_assert_eq(th_inb(&f.h, 0xb3), 0x5a);
    pfx_fini(&f);
}

static void mutate(struct th *h, void *user)
{
    struct pfx *f = user;
    pfx_cfg_wr(f, PM_DEVFN, 0x80, 0x00, 1);
    th_outb(h, 0xb2, 0xf0);
}

Test(dev_acpi, saved_state_and_reset)
{
    struct pfx f;
    fix(&f);
    enable_block(&f, PMB);
    th_outb(&f.h, 0xb2, 0xf1);
    th_out(&f.h, PMB + 2, 0x0100, 2);
    th_ssm_roundtrip(&f.h, mutate, &f);
    cr_assert_eq(th_in(&f.h, PMB + 4, 2) & 1, 1);
    cr_assert_eq(th_in(&f.h, PMB + 2, 2), 0x0100);
    pdm_reset(f.h.pdm);
    cr_assert_eq(th_in(&f.h, PMB + 8, 4), 0xffffffffu, "reset disables the block");
    cr_assert_eq(pfx_cfg_rd(&f, PM_DEVFN, 0x40, 4), 1u);
    pfx_fini(&f);
}

Test(dev_acpi, fuzz)
{
    struct pfx f;
    fix(&f);
    enable_block(&f, PMB);
    const struct th_range r[] = { { PMB, 64 }, { 0xb2, 2 } };
    th_fuzz(&f.h, r, 2, 0xacb1, 40000, NULL, NULL);
    pfx_fini(&f);
}
