/* SPDX-License-Identifier: MIT */
/*
 * PCI: the bus that PCI functions (devices' PCI personalities) plug into.
 * The host bridge (i440FX) owns the bus and its configuration mechanism #1
 * (ports 0xCF8/0xCFC); a function owns a 256-byte configuration space whose
 * standard header the bus maintains: writable-bit masks, BAR sizing (the
 * guest writes all ones and reads the size mask back), and BAR mapping —
 * when the guest (SeaBIOS, Linux) programs a BAR and enables I/O or memory
 * decoding in the command register, the bus maps the BAR's ops at that
 * address through IOM/PGM, and unmaps it when the BAR moves or decoding is
 * turned off.  Nothing is mapped at a hard-coded address.
 *
 * Interrupts: a function raises INTx with pci_set_irq(); the bus routes
 * INTA#..INTD# of slot s to PIRQ[(s + pin) & 3] and the PIIX3 PIRQ route
 * registers (0x60-0x63) pick the ISA IRQ (set by the PIIX3 function through
 * pci_bus_set_pirq_route()).
 *
 * Threads: config accesses come from EMTs through the host bridge's ports,
 * serialized by the bus lock; BAR ops are dispatched with the owning
 * device's lock (dev_map_ports/dev_map_mmio semantics).
 */
#ifndef IXVM_PCI_H
#define IXVM_PCI_H

#include "ixvm/iom.h"
#include "ixvm/pgm.h"
#include "ixvm/types.h"

struct dev_ins;
struct irq_line;
struct pci_bus;

#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | (fn)))
#define PCI_CONFIG_SIZE 256
#define PCI_NUM_BARS 6   /* BAR 0..5; the expansion ROM BAR is PCI_ROM_BAR */
#define PCI_ROM_BAR 6

/* Standard configuration header offsets (PCI Local Bus Spec 3.0, 6.1). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09
#define PCI_CLASS_DEVICE   0x0a
#define PCI_HEADER_TYPE    0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID   0x2e
#define PCI_ROM_ADDRESS    0x30
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d
#define PCI_COMMAND_IO     0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4

enum pci_bar_type {
    PCI_BAR_IO,          /* I/O space; size a power of two >= 4 */
    PCI_BAR_MEM32,       /* 32-bit memory; size a power of two >= 16 */
    PCI_BAR_MEM32_PREFETCH,
};

/* Optional per-function hooks; any may be NULL. */
struct pci_func_ops {
    /* After the bus applied a config write (e.g. to react to register 0x40+). */
    void (*config_written)(void *dev, unsigned off, uint32_t val, unsigned size);
    /* Before a config read of device-specific registers: may refresh config[]. */
    void (*config_read)(void *dev, unsigned off, unsigned size);
};

struct pci_func {
    uint8_t config[PCI_CONFIG_SIZE];   /* [bus lock] the configuration space */
    uint8_t wmask[PCI_CONFIG_SIZE];    /* writable bits; the bus sets the header's */
    uint8_t w1cmask[PCI_CONFIG_SIZE];  /* write-1-to-clear bits (status register) */
    /* Owned by the bus: */
    struct pci_bus *bus;
    uint8_t devfn;
    void *priv;
};

/* Create the bus (the host bridge device does this) over iom and pgm. */
int pci_bus_create(struct iom *iom, struct pgm *pgm, struct pci_bus **out) IXVM_WUR;
void pci_bus_destroy(struct pci_bus *bus);

/*
 * Add a function at devfn.  The caller fills config[] (IDs, class, header
 * type, interrupt pin) before; the bus sets the standard wmask bits.
 * Occupied devfn: IXVM_ERR_ALREADY_EXISTS.
 */
int pci_register_func(struct pci_bus *bus, uint8_t devfn, struct pci_func *f,
                      const struct pci_func_ops *ops, struct dev_ins *ins) IXVM_WUR;

/* Declare BAR bar (0..5, or PCI_ROM_BAR with type PCI_BAR_MEM32) with its
 * size and the ops to map when decoding is enabled. */
int pci_register_bar_io(struct pci_func *f, unsigned bar, uint32_t size,
                        const struct iom_port_ops *ops, void *opaque) IXVM_WUR;
int pci_register_bar_mem(struct pci_func *f, unsigned bar, uint32_t size, enum pci_bar_type type,
                         const struct pgm_mmio_ops *ops, void *opaque) IXVM_WUR;
/* Current guest address of a BAR, or 0 when unmapped. */
uint32_t pci_bar_address(const struct pci_func *f, unsigned bar);

/* Level of the function's INTx pin (config[PCI_INTERRUPT_PIN] 1..4). */
void pci_set_irq(struct pci_func *f, int level);
/* PIIX3: PIRQ n (0..3) routed to ISA irq (0x80 = disabled). */
void pci_bus_set_pirq_route(struct pci_bus *bus, unsigned pirq, uint8_t route);
/* The ISA IRQ lines PIRQs can be routed to (index = IRQ number). */
void pci_bus_set_isa_irqs(struct pci_bus *bus, const struct irq_line *const *lines, unsigned count);

/* Configuration mechanism #1 (the host bridge's 0xCF8/0xCFC ports call these). */
uint32_t pci_config_read(struct pci_bus *bus, uint8_t busno, uint8_t devfn, unsigned off, unsigned size);
void pci_config_write(struct pci_bus *bus, uint8_t busno, uint8_t devfn, unsigned off, uint32_t val,
                      unsigned size);

/* DMA by a bus master (bus-master IDE, etc.): through pgm_phys_*, so code
 * pages are invalidated; fails with IXVM_ERR_INVALID_STATE unless the
 * function's command register has bus mastering enabled. */
int pci_dma_read(struct pci_func *f, gphys_t addr, void *buf, size_t len) IXVM_WUR;
int pci_dma_write(struct pci_func *f, gphys_t addr, const void *buf, size_t len) IXVM_WUR;

/*
 * The machine's PCI bus as seen from any device instance: the bus of the
 * host bridge (i440fx instance 0) in the same device manager, or NULL when
 * there is none (device tests without a bridge).  PCI devices call this in
 * init and then pci_register_func().
 */
struct pci_bus *pci_bus_find(struct dev_ins *ins);
/* The function registered at devfn, or NULL. */
struct pci_func *pci_bus_func(struct pci_bus *bus, uint8_t devfn);
/* Current level of ISA IRQ irq as driven by the PCI PIRQ lines (tests, info). */
int pci_bus_isa_irq_level(struct pci_bus *bus, unsigned irq);

/* `info pci` text. */
void pci_bus_info(struct pci_bus *bus, const struct ixvm_printer *pr);

#endif
