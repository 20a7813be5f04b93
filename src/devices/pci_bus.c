/* SPDX-License-Identifier: MIT */
/*
 * The PCI bus (include/ixvm/pci.h): up to 256 functions on bus 0, their
 * configuration spaces with writable and write-1-to-clear masks, BAR sizing
 * and decoding (a BAR is mapped through IOM/PGM only while its decode bit in
 * the command register is on and it holds a real address), INTx routing of
 * slot s pin p to PIRQ[(s + p - 1) & 3] and from there, through the PIIX3
 * route registers, to an ISA interrupt line (PCI Local Bus Spec 3.0 ch. 6;
 * PIIX3 datasheet 2.2.11), and bus-master DMA.
 *
 * Locks: `cfg_lock` (recursive) serializes configuration accesses, function
 * registration and BAR (un)mapping.  Order: device -> cfg_lock (devices
 * register and look up BARs under their own lock; the host bridge's ports
 * reach the bus under the bridge's lock).  So a function's config hooks run
 * under cfg_lock only, never under its device lock: they may touch the
 * configuration space and state the device marks [bus lock].  `irq_lock`
 * is a leaf taken by pci_set_irq under the calling device's lock and by route
 * changes; it is held while driving the ISA wire (order: device -> irq_lock
 * -> interrupt controller), so it never waits for a device lock.
 */
#define LOG_GROUP LOG_GROUP_DEV_PCI
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"
#include "ixvm/pci.h"

#define PCI_BAR_SLOTS (PCI_NUM_BARS + 1)
#define PCI_ISA_IRQS 16
#define PCI_PIRQS 4
#define PCI_ROUTE_DISABLED 0x80

/* One BAR of one function. */
struct pci_bar {
    uint32_t size;                     /* 0: not implemented */
    enum pci_bar_type type;
    const struct iom_port_ops *io_ops;
    const struct pgm_mmio_ops *mem_ops;
    void *opaque;
    struct pgm_mmio_ops tramp;         /* MMIO dispatch with the device lock */
    pthread_mutex_t *lock;             /* the owning device's lock, or NULL */
    uint32_t mapped;                   /* [cfg_lock] address it is mapped at, 0 when not */
};

struct pci_slot {
    struct pci_func *f;
    const struct pci_func_ops *ops;
    struct dev_ins *ins;
    struct pci_bar bar[PCI_BAR_SLOTS];
    int irq_level;                     /* [irq_lock] */
    unsigned irq_pirq;                 /* [irq_lock] PIRQ counted while asserted */
};

struct pci_bus {
    struct iom *iom;
    struct pgm *pgm;
    pthread_mutex_t cfg_lock;
    pthread_mutex_t irq_lock;
    struct pci_slot *slot[256];                 /* [cfg_lock] */
    uint8_t route[PCI_PIRQS];                   /* [irq_lock] PIRQ -> ISA IRQ | 0x80 */
    unsigned pirq_count[PCI_PIRQS];             /* [irq_lock] asserted INTx per PIRQ */
    int isa_level[PCI_ISA_IRQS];                /* [irq_lock] what we drive */
    const struct irq_line *isa[PCI_ISA_IRQS];   /* [irq_lock] */
    uint32_t misuse;
};

int pci_bus_create(struct iom *iom, struct pgm *pgm, struct pci_bus **out)
{
    struct pci_bus *bus = calloc(1, sizeof(*bus));
    if (!bus)
        return IXVM_ERR_NO_MEMORY;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&bus->cfg_lock, &a);
    pthread_mutexattr_destroy(&a);
    pthread_mutex_init(&bus->irq_lock, NULL);
    bus->iom = iom;
    bus->pgm = pgm;
    memset(bus->route, PCI_ROUTE_DISABLED, sizeof(bus->route));
    *out = bus;
    return 0;
}

static void pci_bar_unmap(struct pci_bus *bus, struct pci_bar *b)
{
    if (!b->mapped)
        return;
    int rc = b->type == PCI_BAR_IO ? iom_unmap_ports(bus->iom, (uint16_t)b->mapped)
                                   : (bus->pgm ? pgm_unmap_mmio(bus->pgm, b->mapped) : 0);
    if (rc < 0)
        LOG_WARN("cannot unmap BAR at %#x: %d", b->mapped, rc);
    b->mapped = 0;
}

void pci_bus_destroy(struct pci_bus *bus)
{
    if (!bus)
        return;
    for (unsigned d = 0; d < 256; d++) {
        struct pci_slot *s = bus->slot[d];
        if (!s)
            continue;
        for (unsigned b = 0; b < PCI_BAR_SLOTS; b++)
            pci_bar_unmap(bus, &s->bar[b]);
        free(s);
    }
    pthread_mutex_destroy(&bus->cfg_lock);
    pthread_mutex_destroy(&bus->irq_lock);
    free(bus);
}

static uint32_t pci_get(const uint8_t *c, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)c[off + i] << (8 * i);
    return v;
}

static void pci_put(uint8_t *c, unsigned off, uint32_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        c[off + i] = (uint8_t)(v >> (8 * i));
}

int pci_register_func(struct pci_bus *bus, uint8_t devfn, struct pci_func *f,
                      const struct pci_func_ops *ops, struct dev_ins *ins)
{
    if (!bus || !f)
        return IXVM_ERR_INVALID_PARAMETER;
    struct pci_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return IXVM_ERR_NO_MEMORY;
    pthread_mutex_lock(&bus->cfg_lock);
    if (bus->slot[devfn]) {
        pthread_mutex_unlock(&bus->cfg_lock);
        free(s);
        return IXVM_ERR_ALREADY_EXISTS;
    }
    s->f = f;
    s->ops = ops;
    s->ins = ins;
    f->bus = bus;
    f->devfn = devfn;
    f->priv = s;
    /* Standard header masks (PCI 3.0 6.2): command IO/MEM/MASTER/PERR/SERR/
     * INTx-disable, cache line size, latency timer, interrupt line; status
     * error bits are write-1-to-clear. */
    pci_put(f->wmask, PCI_COMMAND, 0x0547, 2);
    f->wmask[0x0c] = 0xff;
    f->wmask[0x0d] = 0xff;
    f->wmask[PCI_INTERRUPT_LINE] = 0xff;
    pci_put(f->w1cmask, PCI_STATUS, 0xf900, 2);
    bus->slot[devfn] = s;
    pthread_mutex_unlock(&bus->cfg_lock);
    LOG("function %02x.%x registered: %04x:%04x", devfn >> 3, devfn & 7, pci_get(f->config, 0, 2),
        pci_get(f->config, 2, 2));
    return 0;
}

struct pci_func *pci_bus_func(struct pci_bus *bus, uint8_t devfn)
{
    pthread_mutex_lock(&bus->cfg_lock);
    struct pci_func *f = bus->slot[devfn] ? bus->slot[devfn]->f : NULL;
    pthread_mutex_unlock(&bus->cfg_lock);
    return f;
}

static unsigned pci_bar_off(unsigned bar)
{
    return bar == PCI_ROM_BAR ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * bar;
}

static bool pci_pow2(uint32_t v) { return v && !(v & (v - 1)); }

static int pci_mmio_tramp_read(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    struct pci_bar *b = dev;
    if (b->lock)
        pthread_mutex_lock(b->lock);
    int rc = off < b->size ? b->mem_ops->read(b->opaque, off, size, val) : (*val = ~0ull, 0);
    if (b->lock)
        pthread_mutex_unlock(b->lock);
    return rc;
}

static int pci_mmio_tramp_write(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    struct pci_bar *b = dev;
    if (b->lock)
        pthread_mutex_lock(b->lock);
    int rc = off < b->size ? b->mem_ops->write(b->opaque, off, val, size) : 0;
    if (b->lock)
        pthread_mutex_unlock(b->lock);
    return rc;
}

static int pci_bar_declare(struct pci_func *f, unsigned bar, uint32_t size, enum pci_bar_type type,
                           const struct iom_port_ops *io, const struct pgm_mmio_ops *mem, void *opaque)
{
    struct pci_slot *s = f ? f->priv : NULL;
    if (!s || bar >= PCI_BAR_SLOTS || !pci_pow2(size) || (type == PCI_BAR_IO && (size < 4 || bar == PCI_ROM_BAR)) ||
        (type != PCI_BAR_IO && size < 16) || (bar == PCI_ROM_BAR && size < 2048))
        return IXVM_ERR_INVALID_PARAMETER;
    struct pci_bus *bus = f->bus;
    pthread_mutex_lock(&bus->cfg_lock);
    struct pci_bar *b = &s->bar[bar];
    pci_bar_unmap(bus, b);
    b->size = size;
    b->type = type;
    b->io_ops = io;
    b->mem_ops = mem;
    b->opaque = opaque;
    b->lock = s->ins ? &s->ins->lock : NULL;
    if (mem) {
        b->tramp.read = pci_mmio_tramp_read;
        b->tramp.write = pci_mmio_tramp_write;
        b->tramp.access_sizes = mem->access_sizes;
    }
    unsigned off = pci_bar_off(bar);
    uint32_t low = type == PCI_BAR_IO ? 1u : type == PCI_BAR_MEM32_PREFETCH ? 8u : 0u;
    uint32_t wm = bar == PCI_ROM_BAR ? (~(size - 1) & 0xfffff800u) | 1u
                                     : ~(size - 1) & (type == PCI_BAR_IO ? 0xfffffffcu : 0xfffffff0u);
    pci_put(f->wmask, off, wm, 4);
    pci_put(f->config, off, bar == PCI_ROM_BAR ? 0 : low, 4);
    pthread_mutex_unlock(&bus->cfg_lock);
    return 0;
}

int pci_register_bar_io(struct pci_func *f, unsigned bar, uint32_t size, const struct iom_port_ops *ops,
                        void *opaque)
{
    if (!ops)
        return IXVM_ERR_INVALID_PARAMETER;
    return pci_bar_declare(f, bar, size, PCI_BAR_IO, ops, NULL, opaque);
}

int pci_register_bar_mem(struct pci_func *f, unsigned bar, uint32_t size, enum pci_bar_type type,
                         const struct pgm_mmio_ops *ops, void *opaque)
{
    if (!ops || !ops->read || !ops->write || type == PCI_BAR_IO)
        return IXVM_ERR_INVALID_PARAMETER;
    return pci_bar_declare(f, bar, size, type, NULL, ops, opaque);
}

/* Where the BAR should be mapped now, or 0 (decoding off, unprogrammed, or
 * still holding the sizing pattern). */
static uint32_t pci_bar_target(const struct pci_func *f, unsigned bar, const struct pci_bar *b)
{
    uint16_t cmd = (uint16_t)pci_get(f->config, PCI_COMMAND, 2);
    uint32_t reg = pci_get(f->config, pci_bar_off(bar), 4);
    if (b->type == PCI_BAR_IO) {
        uint32_t a = reg & ~3u & ~(b->size - 1);
        if (!(cmd & PCI_COMMAND_IO) || !a || a + b->size > 0x10000u)
            return 0;
        return a;
    }
    if (bar == PCI_ROM_BAR && !(reg & 1))
        return 0;
    uint32_t a = reg & (bar == PCI_ROM_BAR ? 0xfffff800u : 0xfffffff0u) & ~(b->size - 1);
    uint32_t sizing = 0xfffffff0u & ~(b->size - 1);
    if (!(cmd & PCI_COMMAND_MEMORY) || !a || a == (sizing & 0xfffff800u) || a == sizing ||
        (uint64_t)a + b->size > PGM_ADDR_SPACE)
        return 0;
    return a;
}

static void pci_bar_update(struct pci_bus *bus, struct pci_slot *s, unsigned bar)
{
    struct pci_bar *b = &s->bar[bar];
    if (!b->size)
        return;
    uint32_t want = pci_bar_target(s->f, bar, b);
    if (want == b->mapped)
        return;
    pci_bar_unmap(bus, b);
    if (!want)
        return;
    char name[32];
    snprintf(name, sizeof(name), "pci %02x.%x bar%u", s->f->devfn >> 3, s->f->devfn & 7, bar);
    int rc;
    if (b->type == PCI_BAR_IO) {
        rc = b->lock ? iom_map_ports_locked(bus->iom, (uint16_t)want, b->size, b->io_ops, b->opaque, name, b->lock)
                     : iom_map_ports(bus->iom, (uint16_t)want, b->size, b->io_ops, b->opaque, name);
    } else if (!bus->pgm || (want & (PGM_PAGE_SIZE - 1))) {
        rc = IXVM_ERR_INVALID_PARAMETER;   /* PGM maps whole pages only */
    } else {
        uint64_t len = (b->size + PGM_PAGE_SIZE - 1) & ~(uint64_t)(PGM_PAGE_SIZE - 1);
        rc = pgm_map_mmio(bus->pgm, want, len, &b->tramp, b, name, NULL);
    }
    if (rc < 0) {
        DEV_LOG_MISUSE(bus->misuse, "PCI: cannot map %s at %#x size %#x: %s", name, want, b->size,
                       ixvm_strerror(rc));
        return;
    }
    b->mapped = want;
    LOG("%s mapped at %#x size %#x", name, want, b->size);
}

uint32_t pci_bar_address(const struct pci_func *f, unsigned bar)
{
    const struct pci_slot *s = f ? f->priv : NULL;
    if (!s || bar >= PCI_BAR_SLOTS)
        return 0;
    pthread_mutex_lock(&f->bus->cfg_lock);
    uint32_t a = s->bar[bar].mapped;
    pthread_mutex_unlock(&f->bus->cfg_lock);
    return a;
}

/* ---- interrupts ---------------------------------------------------------- */

/* Drive ISA irq to the OR of the PIRQs routed to it (irq_lock held). */
static void pci_isa_refresh(struct pci_bus *bus, unsigned irq)
{
    if (irq >= PCI_ISA_IRQS)
        return;
    int level = 0;
    for (unsigned p = 0; p < PCI_PIRQS; p++)
        if (bus->route[p] == irq && bus->pirq_count[p])
            level = 1;
    if (level != bus->isa_level[irq]) {
        bus->isa_level[irq] = level;
        irq_set(bus->isa[irq], level);
    }
}

void pci_set_irq(struct pci_func *f, int level)
{
    struct pci_slot *s = f ? f->priv : NULL;
    if (!s)
        return;
    unsigned pin = f->config[PCI_INTERRUPT_PIN];
    if (pin < 1 || pin > 4)
        return;
    struct pci_bus *bus = f->bus;
    unsigned pirq = ((f->devfn >> 3) + pin - 1) & 3;
    level = level ? 1 : 0;
    pthread_mutex_lock(&bus->irq_lock);
    if (level != s->irq_level) {
        s->irq_level = level;
        if (level) {
            s->irq_pirq = pirq;
            bus->pirq_count[pirq]++;
        } else {
            pirq = s->irq_pirq;   /* the PIRQ it was counted on */
            bus->pirq_count[pirq]--;
        }
        pci_isa_refresh(bus, bus->route[pirq]);
    }
    pthread_mutex_unlock(&bus->irq_lock);
}

void pci_bus_set_pirq_route(struct pci_bus *bus, unsigned pirq, uint8_t route)
{
    if (!bus || pirq >= PCI_PIRQS)
        return;
    /* Bit 7 disables routing; IRQ 0-2, 8 and 13 are reserved values. */
    uint8_t r = (route & 0x80) || (route & 0x0f) < 3 || (route & 0x0f) == 8 || (route & 0x0f) == 13
                    ? PCI_ROUTE_DISABLED : (route & 0x0f);
    pthread_mutex_lock(&bus->irq_lock);
    uint8_t old = bus->route[pirq];
    bus->route[pirq] = r;
    pci_isa_refresh(bus, old);
    pci_isa_refresh(bus, r);
    pthread_mutex_unlock(&bus->irq_lock);
}

void pci_bus_set_isa_irqs(struct pci_bus *bus, const struct irq_line *const *lines, unsigned count)
{
    pthread_mutex_lock(&bus->irq_lock);
    for (unsigned i = 0; i < PCI_ISA_IRQS; i++)
        bus->isa[i] = i < count ? lines[i] : NULL;
    pthread_mutex_unlock(&bus->irq_lock);
}

int pci_bus_isa_irq_level(struct pci_bus *bus, unsigned irq)
{
    if (irq >= PCI_ISA_IRQS)
        return 0;
    pthread_mutex_lock(&bus->irq_lock);
    int l = bus->isa_level[irq];
    pthread_mutex_unlock(&bus->irq_lock);
    return l;
}

/* ---- configuration mechanism --------------------------------------------- */

static void *pci_hook_dev(const struct pci_slot *s) { return s->ins ? s->ins->state : NULL; }

uint32_t pci_config_read(struct pci_bus *bus, uint8_t busno, uint8_t devfn, unsigned off, unsigned size)
{
    uint32_t ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    if (busno != 0 || off >= PCI_CONFIG_SIZE || (size != 1 && size != 2 && size != 4))
        return ones;
    if (off + size > PCI_CONFIG_SIZE)
        size = PCI_CONFIG_SIZE - off;
    pthread_mutex_lock(&bus->cfg_lock);
    struct pci_slot *s = bus->slot[devfn];
    uint32_t v = ones;
    if (s) {
        if (off + size > 0x40 && s->ops && s->ops->config_read)
            s->ops->config_read(pci_hook_dev(s), off, size);
        v = pci_get(s->f->config, off, size);
    }
    pthread_mutex_unlock(&bus->cfg_lock);
    return v;
}

void pci_config_write(struct pci_bus *bus, uint8_t busno, uint8_t devfn, unsigned off, uint32_t val,
                      unsigned size)
{
    if (busno != 0 || off >= PCI_CONFIG_SIZE || (size != 1 && size != 2 && size != 4))
        return;
    if (off + size > PCI_CONFIG_SIZE)
        size = PCI_CONFIG_SIZE - off;
    pthread_mutex_lock(&bus->cfg_lock);
    struct pci_slot *s = bus->slot[devfn];
    if (s) {
        struct pci_func *f = s->f;
        for (unsigned i = 0; i < size; i++) {
            unsigned o = off + i;
            uint8_t b = (uint8_t)(val >> (8 * i));
            uint8_t nv = (uint8_t)((f->config[o] & ~f->wmask[o]) | (b & f->wmask[o]));
            f->config[o] = (uint8_t)(nv & ~(b & f->w1cmask[o]));
        }
        /* Decoding or an address changed: remap what moved. */
        if (off < PCI_COMMAND + 2 && off + size > PCI_COMMAND) {
            for (unsigned b = 0; b < PCI_BAR_SLOTS; b++)
                pci_bar_update(bus, s, b);
        } else {
            for (unsigned b = 0; b < PCI_BAR_SLOTS; b++) {
                unsigned bo = pci_bar_off(b);
                if (off < bo + 4 && off + size > bo)
                    pci_bar_update(bus, s, b);
            }
        }
        if (s->ops && s->ops->config_written)
            s->ops->config_written(pci_hook_dev(s), off, val, size);
    }
    pthread_mutex_unlock(&bus->cfg_lock);
}

/* ---- bus-master DMA ------------------------------------------------------ */

static bool pci_master_enabled(struct pci_func *f)
{
    return (pci_get(f->config, PCI_COMMAND, 2) & PCI_COMMAND_MASTER) != 0;
}

int pci_dma_read(struct pci_func *f, gphys_t addr, void *buf, size_t len)
{
    if (!f || !f->bus || !f->bus->pgm)
        return IXVM_ERR_INVALID_PARAMETER;
    if (!pci_master_enabled(f))
        return IXVM_ERR_INVALID_STATE;
    return pgm_phys_read(f->bus->pgm, addr, buf, len);
}

int pci_dma_write(struct pci_func *f, gphys_t addr, const void *buf, size_t len)
{
    if (!f || !f->bus || !f->bus->pgm)
        return IXVM_ERR_INVALID_PARAMETER;
    if (!pci_master_enabled(f))
        return IXVM_ERR_INVALID_STATE;
    return pgm_phys_write(f->bus->pgm, addr, buf, len);
}

/* ---- info ---------------------------------------------------------------- */

void pci_bus_info(struct pci_bus *bus, const struct ixvm_printer *pr)
{
    static const char *const kinds[] = { "io", "mem32", "mem32-pf" };
    pthread_mutex_lock(&bus->cfg_lock);
    for (unsigned d = 0; d < 256; d++) {
        struct pci_slot *s = bus->slot[d];
        if (!s)
            continue;
        const uint8_t *c = s->f->config;
        ixvm_pr(pr, "00:%02x.%x %04x:%04x class %02x%02x rev %02x cmd %04x", d >> 3, d & 7, pci_get(c, 0, 2),
                pci_get(c, 2, 2), c[0x0b], c[0x0a], c[PCI_REVISION_ID], pci_get(c, PCI_COMMAND, 2));
        if (c[PCI_INTERRUPT_PIN])
            ixvm_pr(pr, " INT%c# line %u", 'A' + c[PCI_INTERRUPT_PIN] - 1, c[PCI_INTERRUPT_LINE]);
        ixvm_pr(pr, "\n");
        for (unsigned b = 0; b < PCI_BAR_SLOTS; b++) {
            const struct pci_bar *bar = &s->bar[b];
            if (bar->size)
                ixvm_pr(pr, "  %s %s size %#x %s %#x\n", b == PCI_ROM_BAR ? "ROM " : "BAR", kinds[bar->type],
                        bar->size, bar->mapped ? "at" : "unmapped, reg", bar->mapped ? bar->mapped
                        : pci_get(c, pci_bar_off(b), 4));
        }
    }
    pthread_mutex_lock(&bus->irq_lock);
    for (unsigned p = 0; p < PCI_PIRQS; p++)
        ixvm_pr(pr, "PIRQ%c -> %s%u (%u asserted)\n", 'A' + p, bus->route[p] & 0x80 ? "disabled " : "IRQ",
                bus->route[p] & 0x0f, bus->pirq_count[p]);
    pthread_mutex_unlock(&bus->irq_lock);
    pthread_mutex_unlock(&bus->cfg_lock);
}
