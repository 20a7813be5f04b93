/* SPDX-License-Identifier: MIT */
/*
 * Fixture for the chipset tests (test_dev_pci*.c, test_dev_i440fx*.c,
 * test_dev_fwcfg*.c, test_dev_acpi*.c): the register-level harness plus a
 * PGM memory map, the PIC with its inputs as the device manager's ISA
 * lines, and a recorder on the ISA lines the PCI bus drives.
 */
#ifndef TEST_DEV_PCI_FIX_H
#define TEST_DEV_PCI_FIX_H

#include "ixvm/pc.h"
#include "ixvm/pci.h"
#include "test_dev_harness.h"

struct pfx {
    struct th h;
    struct pgm *pgm;
    struct dev_ins *host, *isa, *pm, *fw;
    struct irq_line rec_lines[16];      /* recorder: level per ISA IRQ */
    const struct irq_line *rec_ptrs[16];
    int level[16];
    int edges[16];
};

static IXVM_UNUSED void pfx_rec(void *user, unsigned pin, int level)
{
    struct pfx *f = user;
    if (level && !f->level[pin])
        f->edges[pin]++;
    f->level[pin] = level;
}

/* Harness with a memory map; ISA lines are the recorder (no PIC). */
static IXVM_UNUSED void pfx_init(struct pfx *f, uint64_t ram)
{
    memset(f, 0, sizeof(*f));
    th_init(&f->h);
    pdm_destroy(f->h.pdm);
    cr_assert_eq(pgm_create(&f->pgm, ram, &f->h.err), 0, "%s", f->h.err.msg);
    struct dev_ctx ctx = { .iom = f->h.iom, .tm = f->h.tm, .pgm = f->pgm, .ssm = f->h.ssm, .dbgf = f->h.dbgf };
    cr_assert_eq(pdm_create(&ctx, &f->h.pdm, &f->h.err), 0, "%s", f->h.err.msg);
    for (unsigned i = 0; i < 16; i++) {
        f->rec_lines[i] = (struct irq_line){ pfx_rec, f, i };
        f->rec_ptrs[i] = &f->rec_lines[i];
    }
    pdm_set_isa_irqs(f->h.pdm, f->rec_lines, 16);
}

/* i440fx + piix3 + acpi_pm (+ fw_cfg). */
static IXVM_UNUSED void pfx_chipset(struct pfx *f, bool fw)
{
    f->host = th_create(&f->h, &dev_i440fx, NULL, 0);
    f->isa = th_create(&f->h, &dev_piix3, NULL, 0);
    f->pm = th_create(&f->h, &dev_acpi_pm, NULL, 0);
    if (fw)
        f->fw = th_create(&f->h, &dev_fw_cfg, NULL, 0);
    pci_bus_set_isa_irqs(i440fx_bus(f->host), f->rec_ptrs, 16);
}

static IXVM_UNUSED void pfx_fini(struct pfx *f)
{
    th_fini(&f->h);
    pgm_destroy(f->pgm);
}

/* Configuration mechanism #1 through the ports, as a guest does it. */
static IXVM_UNUSED uint32_t pfx_cfg_rd(struct pfx *f, uint8_t devfn, unsigned off, unsigned size)
{
    th_out(&f->h, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | (off & 0xfc), 4);
    return th_in(&f->h, (uint16_t)(0xcfc + (off & 3)), size);
}

static IXVM_UNUSED void pfx_cfg_wr(struct pfx *f, uint8_t devfn, unsigned off, uint32_t v, unsigned size)
{
    th_out(&f->h, 0xcf8, 0x80000000u | (uint32_t)devfn << 8 | (off & 0xfc), 4);
    th_out(&f->h, (uint16_t)(0xcfc + (off & 3)), v, size);
}

#endif
