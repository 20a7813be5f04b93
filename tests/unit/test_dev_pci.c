/* SPDX-License-Identifier: MIT */
/*
 * PCI bus tests through the i440FX ports (QEMU qtest style): configuration
 * mechanism #1, the chipset's identity as SeaBIOS probes it, writable and
 * write-1-to-clear masks, BAR sizing and mapping by the guest (I/O and
 * memory, move, decode off), INTx -> PIRQ -> ISA routing through the PIIX3
 * route registers, bus-master DMA gating, port 0x92, saved state and a fuzz.
 */
#include "test_dev_pci_fix.h"

/* A test function at 00:03.0 with an I/O BAR 0 (16 ports), a memory BAR 1
 * (4 KiB) and INTA#. */
struct tfn {
    struct pci_func f;
    uint32_t io_last_off, io_writes;
    uint64_t mem_last_val;
    uint32_t mem_last_off;
};

static int tfn_io_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    *val = 0xab00u | off;
    return 0;
}
static int tfn_io_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct tfn *t = dev;
    t->io_last_off = off;
    t->io_writes++;
    return 0;
}
static int tfn_mem_read(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    *val = 0x5a000000u | off;
    return 0;
}
static int tfn_mem_write(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    struct tfn *t = dev;
    t->mem_last_off = off;
    t->mem_last_val = val;
    return 0;
}
static const struct iom_port_ops tfn_io = { tfn_io_read, tfn_io_write, 0 };
static const struct pgm_mmio_ops tfn_mem = { tfn_mem_read, tfn_mem_write, 0 };

static void tfn_add(struct pfx *f, struct tfn *t, uint8_t devfn)
{
    memset(t, 0, sizeof(*t));
    t->f.config[0] = 0x34;
    t->f.config[1] = 0x12;
    t->f.config[2] = 0x78;
    t->f.config[3] = 0x56;
    t->f.config[PCI_INTERRUPT_PIN] = 1;
    struct pci_bus *bus = i440fx_bus(f->host);
    cr_assert_eq(pci_register_func(bus, devfn, &t->f, NULL, NULL), 0);
    cr_assert_eq(pci_register_bar_io(&t->f, 0, 16, &tfn_io, t), 0);
    cr_assert_eq(pci_register_bar_mem(&t->f, 1, 0x1000, PCI_BAR_MEM32, &tfn_mem, t), 0);
}

Test(dev_pci, config_mechanism_1)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    th_out(&f.h, 0xcf8, 0x80000000u, 4);
    cr_assert_eq(th_in(&f.h, 0xcf8, 4), 0x80000000u);
    cr_assert_eq(th_in(&f.h, 0xcfc, 4), 0x12378086u);
    cr_assert_eq(th_in(&f.h, 0xcfe, 2), 0x1237u);
    cr_assert_eq(th_in(&f.h, 0xcfd, 1), 0x80u);
    /* Low address bits and reserved bits are not stored. */
    th_out(&f.h, 0xcf8, 0xff000003u, 4);
    cr_assert_eq(th_in(&f.h, 0xcf8, 4), 0x80000000u);
    /* Enable bit clear: nothing answers. */
    th_out(&f.h, 0xcf8, 0x00000000u, 4);
    cr_assert_eq(th_in(&f.h, 0xcfc, 4), 0xffffffffu);
    /* Absent device, other bus. */
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(5, 0), 0, 4), 0xffffffffu);
    th_out(&f.h, 0xcf8, 0x80010000u, 4);
    cr_assert_eq(th_in(&f.h, 0xcfc, 4), 0xffffffffu);
    /* What SeaBIOS looks at. */
    cr_assert_eq(pfx_cfg_rd(&f, 0, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4u);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x08, 4), 0x06000002u);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 0), 0, 4), 0x70008086u);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1), 0x80u);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 0), 0x08, 4) >> 8, 0x060100u);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 3), 0, 4), 0x71138086u);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 3), 0x08, 4), 0x06800003u);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 3), PCI_INTERRUPT_PIN, 1), 1);
    pfx_fini(&f);
}

Test(dev_pci, write_masks_and_w1c)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    struct tfn t;
    tfn_add(&f, &t, PCI_DEVFN(3, 0));
    /* IDs are read-only. */
    pfx_cfg_wr(&f, PCI_DEVFN(3, 0), 0, 0xffffffffu, 4);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(3, 0), 0, 4), 0x56781234u);
    /* Interrupt line is writable, the pin is not. */
    pfx_cfg_wr(&f, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 0x0b0b, 2);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(3, 0), PCI_INTERRUPT_LINE, 2), 0x010b);
    /* Status error bits: write 1 to clear, 0 leaves them. */
    t.f.config[PCI_STATUS + 1] = 0xf9;
    pfx_cfg_wr(&f, PCI_DEVFN(3, 0), PCI_STATUS, 0x0000, 2);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(3, 0), PCI_STATUS, 2), 0xf900);
    pfx_cfg_wr(&f, PCI_DEVFN(3, 0), PCI_STATUS, 0x2000, 2);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(3, 0), PCI_STATUS, 2), 0xd900);
    /* Occupied devfn. */
    struct pci_func other = { 0 };
    cr_assert_eq(pci_register_func(i440fx_bus(f.host), PCI_DEVFN(3, 0), &other, NULL, NULL),
                 IXVM_ERR_ALREADY_EXISTS);
    pfx_fini(&f);
}

Test(dev_pci, bar_sizing_and_mapping)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    struct tfn t;
    uint8_t d = PCI_DEVFN(3, 0);
    tfn_add(&f, &t, d);
    /* Sizing: all ones in, size mask and type bits out. */
    cr_assert_eq(pfx_cfg_rd(&f, d, PCI_BASE_ADDRESS_0, 4), 0x1u);
    pfx_cfg_wr(&f, d, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
    cr_assert_eq(pfx_cfg_rd(&f, d, PCI_BASE_ADDRESS_0, 4), 0xfffffff1u);
    pfx_cfg_wr(&f, d, PCI_BASE_ADDRESS_0 + 4, 0xffffffffu, 4);
    cr_assert_eq(pfx_cfg_rd(&f, d, PCI_BASE_ADDRESS_0 + 4, 4), 0xfffff000u);
    /* Unimplemented BARs read 0 and stay 0. */
    pfx_cfg_wr(&f, d, PCI_BASE_ADDRESS_0 + 8, 0xffffffffu, 4);
    cr_assert_eq(pfx_cfg_rd(&f, d, PCI_BASE_ADDRESS_0 + 8, 4), 0u);
    /* Programmed but decoding off: not mapped. */
    pfx_cfg_wr(&f, d, PCI_BASE_ADDRESS_0, 0xc000, 4);
    pfx_cfg_wr(&f, d, PCI_BASE_ADDRESS_0 + 4, 0xfebf0000u, 4);
    cr_assert_eq(th_in(&f.h, 0xc004, 2), 0xffff);
    cr_assert_eq(pci_bar_address(&t.f, 0), 0);
    /* I/O decode on. */
    pfx_cfg_wr(&f, d, PCI_COMMAND, PCI_COMMAND_IO, 2);
    cr_assert_eq(pci_bar_address(&t.f, 0), 0xc000);
    cr_assert_eq(th_in(&f.h, 0xc004, 2), 0xab04);
    th_out(&f.h, 0xc00f, 1, 1);
    cr_assert_eq(t.io_last_off, 15);
    cr_assert_eq(pgm_mmio_read(f.pgm, 0xfebf0010u, 4), 0xffffffffu);
    /* Memory decode on. */
    pfx_cfg_wr(&f, d, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    cr_assert_eq(pci_bar_address(&t.f, 1), 0xfebf0000u);
    cr_assert_eq(pgm_mmio_read(f.pgm, 0xfebf0010u, 4), 0x5a000010u);
    pgm_mmio_write(f.pgm, 0xfebf0024u, 0x77, 4);
    cr_assert_eq(t.mem_last_off, 0x24);
    cr_assert_eq(t.mem_last_val, 0x77);
    /* Move the I/O BAR: old ports free, new ports decode. */
    pfx_cfg_wr(&f, d, PCI_BASE_ADDRESS_0, 0xc100, 4);
    cr_assert_eq(th_in(&f.h, 0xc004, 2), 0xffff);
    cr_assert_eq(th_in(&f.h, 0xc102, 2), 0xab02);
    /* The sizing pattern is not an address: unmapped while sizing. */
    pfx_cfg_wr(&f, d, PCI_BASE_ADDRESS_0 + 4, 0xffffffffu, 4);
    cr_assert_eq(pci_bar_address(&t.f, 1), 0);
    pfx_cfg_wr(&f, d, PCI_BASE_ADDRESS_0 + 4, 0xfebf0000u, 4);
    cr_assert_eq(pci_bar_address(&t.f, 1), 0xfebf0000u);
    /* Decoding off unmaps both. */
    pfx_cfg_wr(&f, d, PCI_COMMAND, 0, 2);
    cr_assert_eq(pci_bar_address(&t.f, 0), 0);
    cr_assert_eq(pci_bar_address(&t.f, 1), 0);
    cr_assert_eq(th_in(&f.h, 0xc102, 2), 0xffff);
    cr_assert_eq(pgm_mmio_read(f.pgm, 0xfebf0010u, 4), 0xffffffffu);
    /* Bad declarations. */
    cr_assert_eq(pci_register_bar_io(&t.f, 2, 12, &tfn_io, &t), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(pci_register_bar_mem(&t.f, 7, 4096, PCI_BAR_MEM32, &tfn_mem, &t), IXVM_ERR_INVALID_PARAMETER);
    pfx_fini(&f);
}

Test(dev_pci, rom_bar_enable_bit)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    struct tfn t;
    uint8_t d = PCI_DEVFN(4, 0);
    tfn_add(&f, &t, d);
    cr_assert_eq(pci_register_bar_mem(&t.f, PCI_ROM_BAR, 0x10000, PCI_BAR_MEM32, &tfn_mem, &t), 0);
    pfx_cfg_wr(&f, d, PCI_ROM_ADDRESS, 0xfffffffeu, 4);
    cr_assert_eq(pfx_cfg_rd(&f, d, PCI_ROM_ADDRESS, 4), 0xffff0000u);
    pfx_cfg_wr(&f, d, PCI_ROM_ADDRESS, 0xfeb00000u, 4);
    pfx_cfg_wr(&f, d, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    cr_assert_eq(pci_bar_address(&t.f, PCI_ROM_BAR), 0, "ROM decodes only with its enable bit");
    pfx_cfg_wr(&f, d, PCI_ROM_ADDRESS, 0xfeb00001u, 4);
    cr_assert_eq(pci_bar_address(&t.f, PCI_ROM_BAR), 0xfeb00000u);
    cr_assert_eq(pgm_mmio_read(f.pgm, 0xfeb00100u, 4), 0x5a000100u);
    pfx_fini(&f);
}

Test(dev_pci, pirq_routing)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    struct tfn a, b;
    tfn_add(&f, &a, PCI_DEVFN(3, 0));   /* INTA# of slot 3 -> PIRQD */
    tfn_add(&f, &b, PCI_DEVFN(7, 0));   /* INTA# of slot 7 -> PIRQD too */
    struct pci_bus *bus = i440fx_bus(f.host);
    /* Power-on: routing disabled. */
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 0), 0x60, 4), 0x80808080u);
    pci_set_irq(&a.f, 1);
    for (unsigned i = 0; i < 16; i++)
        cr_assert_eq(f.level[i], 0, "IRQ %u raised while routing is off", i);
    /* PIRQD -> IRQ 11 (SeaBIOS writes 10, 10, 11, 11). */
    pfx_cfg_wr(&f, PCI_DEVFN(1, 0), 0x60, 0x0b0b0a0au, 4);
    cr_assert_eq(f.level[11], 1);
    cr_assert_eq(pci_bus_isa_irq_level(bus, 11), 1);
    /* Shared line: OR of the sources. */
    pci_set_irq(&b.f, 1);
    pci_set_irq(&a.f, 0);
    cr_assert_eq(f.level[11], 1);
    pci_set_irq(&b.f, 0);
    cr_assert_eq(f.level[11], 0);
    /* Re-routing an asserted PIRQ moves the level. */
    pci_set_irq(&a.f, 1);
    pfx_cfg_wr(&f, PCI_DEVFN(1, 0), 0x63, 0x05, 1);
    cr_assert_eq(f.level[11], 0);
    cr_assert_eq(f.level[5], 1);
    /* Reserved IRQ values and bit 7 disable. */
    pfx_cfg_wr(&f, PCI_DEVFN(1, 0), 0x63, 0x02, 1);
    cr_assert_eq(f.level[5], 0);
    cr_assert_eq(f.level[2], 0);
    pfx_cfg_wr(&f, PCI_DEVFN(1, 0), 0x63, 0x8b, 1);
    cr_assert_eq(f.level[11], 0);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 0), 0x63, 1), 0x8b);
    /* Only the low nibble and bit 7 are writable. */
    pfx_cfg_wr(&f, PCI_DEVFN(1, 0), 0x62, 0x7a, 1);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 0), 0x62, 1), 0x0a);
    /* Other pins swizzle: INTB# of slot 3 -> PIRQA. */
    a.f.config[PCI_INTERRUPT_PIN] = 2;
    pci_set_irq(&a.f, 0);
    pfx_cfg_wr(&f, PCI_DEVFN(1, 0), 0x60, 0x09, 1);
    pci_set_irq(&a.f, 1);
    cr_assert_eq(f.level[9], 1);
    /* Machine reset disables routing again. */
    pdm_reset(f.h.pdm);
    cr_assert_eq(f.level[9], 0);
    cr_assert_eq(pfx_cfg_rd(&f, PCI_DEVFN(1, 0), 0x60, 4), 0x80808080u);
    pfx_fini(&f);
}

Test(dev_pci, dma_needs_bus_master)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    struct tfn t;
    tfn_add(&f, &t, PCI_DEVFN(3, 0));
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8] = { 0 };
    cr_assert_eq(pci_dma_write(&t.f, 0x2000, buf, sizeof(buf)), IXVM_ERR_INVALID_STATE);
    pfx_cfg_wr(&f, PCI_DEVFN(3, 0), PCI_COMMAND, PCI_COMMAND_MASTER, 2);
    cr_assert_eq(pci_dma_write(&t.f, 0x2000, buf, sizeof(buf)), 0);
    cr_assert_eq(pci_dma_read(&t.f, 0x2000, back, sizeof(back)), 0);
    cr_assert_arr_eq(back, buf, sizeof(buf));
    cr_assert_eq(pgm_host_base(f.pgm)[0x2003], 4);
    pfx_fini(&f);
}

static int resets;
static void count_reset(void *user) { resets++; }

Test(dev_pci, port92_a20_and_fast_reset)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    resets = 0;
    piix3_set_reset_handler(f.isa, count_reset, NULL);
    cr_assert(pgm_a20_enabled(f.pgm), "A20 is on after power-on");
    cr_assert_eq(th_inb(&f.h, 0x92), 0x02);
    th_outb(&f.h, 0x92, 0x00);
    cr_assert(!pgm_a20_enabled(f.pgm));
    cr_assert_eq(pgm_a20_mask(f.pgm), ~(1u << 20));
    /* The keyboard controller's line ORs in. */
    piix3_set_kbc_a20(f.isa, true);
    cr_assert(pgm_a20_enabled(f.pgm));
    piix3_set_kbc_a20(f.isa, false);
    cr_assert(!pgm_a20_enabled(f.pgm));
    th_outb(&f.h, 0x92, 0x02);
    cr_assert(pgm_a20_enabled(f.pgm));
    /* Bit 0: a reset on each 0 -> 1 edge only. */
    th_outb(&f.h, 0x92, 0x03);
    th_outb(&f.h, 0x92, 0x03);
    cr_assert_eq(resets, 1);
    th_outb(&f.h, 0x92, 0x02);
    th_outb(&f.h, 0x92, 0x03);
    cr_assert_eq(resets, 2);
    pfx_fini(&f);
}

static void mutate_routes(struct th *h, void *user)
{
    struct pfx *f = user;
    pfx_cfg_wr(f, PCI_DEVFN(1, 0), 0x60, 0x80808080u, 4);
    th_outb(h, 0x92, 0x00);
}

Test(dev_pci, saved_state_roundtrip)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    pfx_cfg_wr(&f, PCI_DEVFN(1, 0), 0x60, 0x0b0b0a0au, 4);
    th_outb(&f.h, 0x92, 0x02);
    th_out(&f.h, 0xcf8, 0x80000860u, 4);
    th_ssm_roundtrip(&f.h, mutate_routes, &f);
    cr_assert_eq(th_in(&f.h, 0xcf8, 4), 0x80000860u);
    cr_assert_eq(th_in(&f.h, 0xcfc, 4), 0x0b0b0a0au);
    cr_assert(pgm_a20_enabled(f.pgm));
    pfx_fini(&f);
}

Test(dev_pci, info_lists_functions)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, false);
    struct th_text t = { .len = 0 };
    struct ixvm_printer pr = { th_text_print, &t };
    pci_bus_info(i440fx_bus(f.host), &pr);
    cr_assert(strstr(t.buf, "00:00.0 8086:1237 class 0600"), "%s", t.buf);
    cr_assert(strstr(t.buf, "00:01.0 8086:7000 class 0601"), "%s", t.buf);
    cr_assert(strstr(t.buf, "00:01.3 8086:7113 class 0680"), "%s", t.buf);
    cr_assert(strstr(t.buf, "PIRQA -> disabled"), "%s", t.buf);
    pfx_fini(&f);
}

Test(dev_pci, fuzz_config_ports)
{
    struct pfx f;
    pfx_init(&f, 16 << 20);
    pfx_chipset(&f, true);
    const struct th_range r[] = { { 0xcf8, 8 }, { 0x92, 1 }, { 0x510, 2 }, { 0xb2, 2 } };
    th_fuzz(&f.h, r, IXVM_ARRAY_SIZE(r), 0x9c1, 40000, NULL, NULL);
    /* Still answering afterwards. */
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0, 4), 0x12378086u);
    pfx_fini(&f);
}
