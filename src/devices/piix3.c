/* SPDX-License-Identifier: MIT */
/*
 * PIIX3 PCI-to-ISA bridge, function 01.0 (82371SB datasheet 2.2): the PIRQ
 * route control registers 0x60-0x63 that steer PCI INTA#-INTD# (through the
 * bus's PIRQA-D swizzle) to ISA IRQs; the routed IRQs must be set
 * level-triggered in the ELCR (0x4D0/0x4D1, owned by the PIC device, which
 * the BIOS programs next to the route registers).  Also port 0x92 (System
 * Control Port A: bit 0 fast reset, bit 1 fast A20), which drives the PGM
 * A20 gate together with the keyboard controller's A20 line
 * (A20 = port92.1 OR kbc), as on the PC/AT.
 */
#define LOG_GROUP LOG_GROUP_DEV_PCI
#include <string.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"
#include "ixvm/pci.h"

#define PIIX3_PIRQRC 0x60
#define PORT92_RESET 0x01
#define PORT92_A20 0x02

struct piix3_state {
    struct dev_ins *ins;          /* [init] */
    struct pci_bus *bus;          /* [init] */
    struct pci_func func;         /* [bus lock] */
    uint8_t port92;               /* [lock] saved */
    bool kbc_a20;                 /* [lock] A20 from the 8042 output port */
    piix3_reset_fn *reset_fn;     /* [lock] */
    void *reset_user;             /* [lock] */
    uint32_t misuse;
};

static void piix3_update_a20(struct piix3_state *s)
{
    if (s->ins->ctx.pgm)
        pgm_set_a20(s->ins->ctx.pgm, (s->port92 & PORT92_A20) || s->kbc_a20);
}

static void piix3_push_routes(struct piix3_state *s)
{
    for (unsigned p = 0; p < 4; p++)
        pci_bus_set_pirq_route(s->bus, p, s->func.config[PIIX3_PIRQRC + p]);
}

static void piix3_config_written(void *dev, unsigned off, uint32_t val, unsigned size)
{
    struct piix3_state *s = dev;
    if (off < PIIX3_PIRQRC + 4 && off + size > PIIX3_PIRQRC)
        piix3_push_routes(s);
}

static const struct pci_func_ops piix3_pci_ops = { .config_written = piix3_config_written };

static int port92_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct piix3_state *s = dev;
    *val = s->port92;
    return 0;
}

static int port92_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct piix3_state *s = dev;
    uint8_t old = s->port92;
    s->port92 = (uint8_t)(val & (PORT92_RESET | PORT92_A20));
    piix3_update_a20(s);
    /* A 0 -> 1 transition of bit 0 pulses INIT (reset) of the CPU. */
    if ((s->port92 & PORT92_RESET) && !(old & PORT92_RESET) && s->reset_fn) {
        LOG_REL("PIIX3: fast reset through port 0x92");
        s->reset_fn(s->reset_user);
    }
    return 0;
}

static const struct iom_port_ops port92_ops = { port92_read, port92_write, 1 };

static void piix3_config_defaults(struct piix3_state *s)
{
    uint8_t *c = s->func.config;
    memset(c + 4, 0, PCI_CONFIG_SIZE - 4);
    c[PCI_COMMAND] = 0x07;
    c[PCI_STATUS + 1] = 0x02;
    c[PCI_CLASS_DEVICE] = 0x01;   /* ISA bridge */
    c[PCI_CLASS_DEVICE + 1] = 0x06;
    c[PCI_HEADER_TYPE] = 0x80;    /* multi-function: IDE, USB, PM follow */
    c[PCI_SUBSYSTEM_VENDOR_ID] = 0xf4;
    c[PCI_SUBSYSTEM_VENDOR_ID + 1] = 0x1a;
    c[PCI_SUBSYSTEM_ID] = 0x00;
    c[PCI_SUBSYSTEM_ID + 1] = 0x11;
    /* Power-on values (datasheet 2.2): IORT, XBCS, PIRQ disabled, TOM,
     * MBIRQ disabled, MBDMA disabled, APIC base. */
    c[0x4c] = 0x4d;
    c[0x4e] = 0x03;
    for (unsigned p = 0; p < 4; p++)
        c[PIIX3_PIRQRC + p] = 0x80;
    c[0x69] = 0x02;
    c[0x70] = 0x80;
    c[0x71] = 0x80;
    c[0x76] = 0x0c;
    c[0x77] = 0x0c;
    c[0x78] = 0x02;
    for (unsigned r = 0x40; r < PCI_CONFIG_SIZE; r++)
        s->func.wmask[r] = 0xff;
    for (unsigned p = 0; p < 4; p++)
        s->func.wmask[PIIX3_PIRQRC + p] = 0x8f;
}

static void piix3_reset(void *state)
{
    struct piix3_state *s = state;
    piix3_config_defaults(s);
    piix3_push_routes(s);
    s->port92 = PORT92_A20;   /* the PC starts with A20 on */
    s->kbc_a20 = false;
    piix3_update_a20(s);
}

static int piix3_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                      struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "port92", NULL };
    struct piix3_state *s = ins->state;
    s->ins = ins;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    bool p92 = true;
    if (rc < 0 || (rc = dev_cfg_get_bool(ins, cfg, "port92", true, &p92, err)) < 0)
        return rc;
    s->bus = pci_bus_find(ins);
    if (!s->bus)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "device %s: no PCI host bridge (create i440fx first)",
                                ins->name);
    uint8_t *c = s->func.config;
    c[PCI_VENDOR_ID] = 0x86;
    c[PCI_VENDOR_ID + 1] = 0x80;
    c[PCI_DEVICE_ID] = 0x00;
    c[PCI_DEVICE_ID + 1] = 0x70;
    piix3_config_defaults(s);
    if ((rc = pci_register_func(s->bus, PCI_DEVFN(1, 0), &s->func, &piix3_pci_ops, ins)) < 0)
        return ixvm_errinfo_set(err, rc, "device %s: cannot register 01.0: %s", ins->name, ixvm_strerror(rc));
    if (p92 && (rc = dev_map_ports(ins, 0x92, 1, &port92_ops, "port 92", err)) < 0)
        return rc;
    s->port92 = PORT92_A20;
    piix3_update_a20(s);
    return 0;
}

static int piix3_post_load(void *state, uint32_t version)
{
    struct piix3_state *s = state;
    piix3_push_routes(s);
    piix3_update_a20(s);
    return 0;
}

static void piix3_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct piix3_state *s = state;
    ixvm_pr(pr, "port 0x92 %#04x (A20 %s), PIRQ routes", s->port92,
            (s->port92 & PORT92_A20) || s->kbc_a20 ? "on" : "off");
    for (unsigned p = 0; p < 4; p++)
        ixvm_pr(pr, " %c=%#04x", 'A' + p, s->func.config[PIIX3_PIRQRC + p]);
    ixvm_pr(pr, "\n");
}

static const struct ssm_field piix3_fields[] = {
    SSM_FIELD(U8, struct piix3_state, port92),
    SSM_FIELD(BOOL, struct piix3_state, kbc_a20),
    SSM_FIELD(MEM, struct piix3_state, func.config),
    SSM_FIELD_END,
};

const struct dev_reg dev_piix3 = {
    .name = "piix3",
    .desc = "PIIX3 PCI-ISA bridge: PIRQ routing, port 0x92 fast A20 and reset",
    .state_size = sizeof(struct piix3_state),
    .max_instances = 1,
    .init = piix3_init,
    .reset = piix3_reset,
    .ssm_fields = piix3_fields,
    .ssm_version = 1,
    .ssm_min_version = 1,
    .post_load = piix3_post_load,
    .info = piix3_info,
};

void piix3_set_reset_handler(struct dev_ins *isa, piix3_reset_fn *fn, void *user)
{
    struct piix3_state *s = isa->state;
    dev_lock(isa);
    s->reset_fn = fn;
    s->reset_user = user;
    dev_unlock(isa);
}

void piix3_set_kbc_a20(struct dev_ins *isa, bool enabled)
{
    struct piix3_state *s = isa->state;
    dev_lock(isa);
    s->kbc_a20 = enabled;
    piix3_update_a20(s);
    dev_unlock(isa);
}
