/* SPDX-License-Identifier: MIT */
/*
 * i440FX host bridge (PMC, device 00.0): owner of the PCI bus and of
 * configuration mechanism #1 (CONFIG_ADDRESS at 0xCF8, CONFIG_DATA at
 * 0xCFC-0xCFF; PCI 3.0 3.2.2.3.2), the PAM registers 0x59-0x5F that decide
 * for each segment of 0xC0000-0xFFFFF whether reads and writes go to DRAM
 * (shadow RAM) or to the PCI side (the BIOS ROM alias at 0xE0000-0xFFFFF,
 * nothing at 0xC0000-0xDFFFF), and SMRAMC (0x72) kept as state only, as
 * there is no SMM.  82441FX datasheet 3.2.18 (PAM) and 3.2.20 (SMRAMC).
 * Port 0xCF9 (a byte inside the CONFIG_ADDRESS dword) is the PIIX reset
 * control register: SYS_RST + RST_CPU ask the board for a reset.
 *
 * Shadowing: guest-physical bytes live at one host address (PGM), so when a
 * segment shows the ROM the RAM contents are parked in `shadow` and the ROM
 * bytes copied in; PGM page kinds give the access rights: RW -> RAM,
 * RE only -> ROM (read-only RAM), disabled -> ROM alias / unassigned,
 * WE only -> an MMIO window that reads the ROM and writes the RAM.
 */
#define LOG_GROUP LOG_GROUP_DEV_PCI
#include <stdlib.h>
#include <string.h>

#include "ixvm/dbgf.h"
#include "ixvm/dev.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"
#include "ixvm/pci.h"

#define PAM_BASE 0xc0000u
#define PAM_SIZE 0x40000u
#define PAM_SEGS 13
#define I440_PAM0 0x59
#define I440_SMRAM 0x72
#define SMRAM_D_OPEN 0x40
#define SMRAM_D_CLS 0x20
#define SMRAM_D_LCK 0x10
#define SMRAM_G_SMRAME 0x08
#define SMRAM_C_BASE_SEG 0x02   /* 010b: SMRAM at 0xA0000 (read-only) */

enum { PAM_OFF = 0, PAM_RE = 1, PAM_WE = 2, PAM_RW = 3 };

struct i440_state;
struct pam_we_ctx {
    struct i440_state *s;
    unsigned seg;
};

struct i440_state {
    struct dev_ins *ins;                  /* [init] */
    struct pci_bus *bus;                  /* [init] */
    bool pci_info;                        /* [init] `info pci` registered */
    struct pci_func func;                 /* [bus lock] */
    uint32_t cf8;                         /* [lock] CONFIG_ADDRESS, saved */
    uint8_t rcr;                          /* [lock] reset control register 0xCF9 */
    uint8_t pam_cur[PAM_SEGS];            /* [lock] mode applied to PGM; 0xff = none yet */
    bool ram_in_host[PAM_SEGS];           /* [lock] host bytes hold the RAM (else the ROM) */
    struct pam_we_ctx we[PAM_SEGS];       /* [init] */
    i440fx_reset_fn *reset_fn;            /* [lock] */
    void *reset_user;                     /* [lock] */
    uint32_t misuse;
    uint8_t rom[PAM_SIZE];                /* [lock] what the PCI side shows */
    uint8_t shadow[PAM_SIZE];             /* [lock] parked RAM of segments showing the ROM */
};

/* Segment k: base, size, register, nibble shift. */
struct pam_seg {
    uint32_t base, size;
    uint8_t reg, shift;
};
static struct pam_seg pam_seg(unsigned k)
{
    if (k == 0)
        return (struct pam_seg){ 0xf0000, 0x10000, I440_PAM0, 4 };
    unsigned j = k - 1;
    return (struct pam_seg){ PAM_BASE + j * 0x4000u, 0x4000, (uint8_t)(I440_PAM0 + 1 + j / 2),
                             (uint8_t)((j & 1) ? 4 : 0) };
}

/* ---- PAM ------------------------------------------------------------------ */

static int pam_we_read(void *dev, uint32_t off, unsigned size, uint64_t *val)
{
    struct pam_we_ctx *c = dev;
    struct pam_seg g = pam_seg(c->seg);
    uint64_t v = 0;
    memcpy(&v, c->s->rom + (g.base - PAM_BASE) + off, size);
    *val = v;
    return 0;
}

static int pam_we_write(void *dev, uint32_t off, uint64_t val, unsigned size)
{
    struct pam_we_ctx *c = dev;
    struct pam_seg g = pam_seg(c->seg);
    struct pgm *pgm = c->s->ins->ctx.pgm;
    memcpy(pgm_host_base(pgm) + g.base + off, &val, size);
    return 0;
}

static const struct pgm_mmio_ops pam_we_ops = { pam_we_read, pam_we_write, 1 | 2 | 4 | 8 };

/* Put the host bytes of segment k on the RAM side (ram=true) or the ROM side. */
static void pam_swap(struct i440_state *s, unsigned k, bool ram)
{
    if (s->ram_in_host[k] == ram)
        return;
    struct pam_seg g = pam_seg(k);
    uint8_t *host = pgm_host_base(s->ins->ctx.pgm) + g.base;
    uint32_t off = g.base - PAM_BASE;
    if (ram) {
        memcpy(host, s->shadow + off, g.size);
    } else {
        memcpy(s->shadow + off, host, g.size);
        memcpy(host, s->rom + off, g.size);
    }
    s->ram_in_host[k] = ram;
}

static void pam_apply(struct i440_state *s, unsigned k, unsigned mode)
{
    struct pgm *pgm = s->ins->ctx.pgm;
    if (!pgm || s->pam_cur[k] == mode)
        return;
    struct pam_seg g = pam_seg(k);
    if (s->pam_cur[k] == PAM_WE && pgm_unmap_mmio(pgm, g.base) < 0)
        LOG_WARN("PAM: cannot unmap the write-only window at %#x", g.base);
    bool bios_side = g.base >= 0xe0000;
    pam_swap(s, k, !(mode == PAM_OFF && bios_side));
    int rc = 0;
    switch (mode) {
    case PAM_RW:
        rc = pgm_set_page_kind(pgm, g.base, g.size, PGM_PAGE_RAM);
        break;
    case PAM_RE:
        rc = pgm_set_page_kind(pgm, g.base, g.size, PGM_PAGE_ROM);
        break;
    case PAM_OFF:
        rc = pgm_set_page_kind(pgm, g.base, g.size, bios_side ? PGM_PAGE_ROM : PGM_PAGE_UNASSIGNED);
        break;
    default:
        rc = pgm_map_mmio(pgm, g.base, g.size, &pam_we_ops, &s->we[k], "pam write-only", NULL);
        break;
    }
    if (rc < 0)
        LOG_WARN("PAM: segment %#x mode %u: %s", g.base, mode, ixvm_strerror(rc));
    s->pam_cur[k] = (uint8_t)mode;
    LOG2("PAM segment %#x -> %c%c", g.base, (mode & PAM_RE) ? 'R' : '-', (mode & PAM_WE) ? 'W' : '-');
}

static unsigned pam_mode_of(const struct i440_state *s, unsigned k)
{
    struct pam_seg g = pam_seg(k);
    return (s->func.config[g.reg] >> g.shift) & 3u;
}

static void pam_apply_all(struct i440_state *s)
{
    for (unsigned k = 0; k < PAM_SEGS; k++)
        pam_apply(s, k, pam_mode_of(s, k));
}

/* ---- configuration space hooks -------------------------------------------- */

/* SMRAMC: D_LCK makes the register read-only and closes D_OPEN (3.2.20). */
static void i440_smram_written(struct i440_state *s)
{
    uint8_t *r = &s->func.config[I440_SMRAM];
    *r = (uint8_t)((*r & ~7u) | SMRAM_C_BASE_SEG);
    if (*r & SMRAM_D_LCK) {
        *r &= (uint8_t)~SMRAM_D_OPEN;
        s->func.wmask[I440_SMRAM] = 0;
    }
}

static void i440_config_written(void *dev, unsigned off, uint32_t val, unsigned size)
{
    struct i440_state *s = dev;
    if (off <= I440_PAM0 + 6 && off + size > I440_PAM0)
        pam_apply_all(s);
    if (off <= I440_SMRAM && off + size > I440_SMRAM)
        i440_smram_written(s);
}

static const struct pci_func_ops i440_pci_ops = { .config_written = i440_config_written };

/* ---- ports 0xCF8-0xCFF ------------------------------------------------------ */

static int i440_addr_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct i440_state *s = dev;
    if (off == 0 && size == 4)
        *val = s->cf8;
    else if (off == 1 && size == 1)
        *val = s->rcr;
    else
        *val = 0xffffffffu;
    return 0;
}

static int i440_addr_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct i440_state *s = dev;
    if (off == 0 && size == 4) {
        s->cf8 = val & 0x80fffffcu;
    } else if (off == 1 && size == 1) {
        /* Reset control (PIIX3 2.7.1): RST_CPU (bit 2) rising with SYS_RST. */
        bool go = (val & 4) && !(s->rcr & 4);
        s->rcr = (uint8_t)(val & 0x0a);
        if (go && s->reset_fn)
            s->reset_fn(s->reset_user);
    } else {
        DEV_LOG_MISUSE(s->misuse, "i440fx: %u-byte write to port %#x ignored", size, 0xcf8 + off);
    }
    return 0;
}

static int i440_data_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct i440_state *s = dev;
    if (!(s->cf8 & 0x80000000u)) {
        *val = 0xffffffffu;
        return 0;
    }
    *val = pci_config_read(s->bus, (uint8_t)(s->cf8 >> 16), (uint8_t)(s->cf8 >> 8), (s->cf8 & 0xfc) + off, size);
    return 0;
}

static int i440_data_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct i440_state *s = dev;
    if (s->cf8 & 0x80000000u)
        pci_config_write(s->bus, (uint8_t)(s->cf8 >> 16), (uint8_t)(s->cf8 >> 8), (s->cf8 & 0xfc) + off, val, size);
    return 0;
}

static const struct iom_port_ops i440_addr_ops = { i440_addr_read, i440_addr_write, 0 };
static const struct iom_port_ops i440_data_ops = { i440_data_read, i440_data_write, 0 };

/* ---- descriptor ---------------------------------------------------------- */

static void i440_config_defaults(struct i440_state *s)
{
    uint8_t *c = s->func.config;
    memset(c + 4, 0, PCI_CONFIG_SIZE - 4);
    c[PCI_COMMAND] = 0x06;               /* memory + bus master, as at power-on */
    c[PCI_STATUS + 1] = 0x02;            /* DEVSEL medium */
    c[PCI_REVISION_ID] = 0x02;
    c[PCI_CLASS_DEVICE] = 0x00;          /* host bridge */
    c[PCI_CLASS_DEVICE + 1] = 0x06;
    /* Subsystem 1af4:1100 ("QEMU virtual machine"): SeaBIOS looks for it to
     * take its QEMU paths (fw_cfg, shadowing through PAM). */
    c[PCI_SUBSYSTEM_VENDOR_ID] = 0xf4;
    c[PCI_SUBSYSTEM_VENDOR_ID + 1] = 0x1a;
    c[PCI_SUBSYSTEM_ID] = 0x00;
    c[PCI_SUBSYSTEM_ID + 1] = 0x11;
    c[I440_SMRAM] = SMRAM_C_BASE_SEG;
    s->func.wmask[I440_PAM0] = 0x30;
    for (unsigned r = I440_PAM0 + 1; r <= I440_PAM0 + 6; r++)
        s->func.wmask[r] = 0x33;
    s->func.wmask[I440_SMRAM] = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;
}

static void i440_reset(void *state)
{
    struct i440_state *s = state;
    s->cf8 = 0;
    s->rcr = 0;
    i440_config_defaults(s);
    pam_apply_all(s);
}

static void i440_info_pci(void *user, const struct ixvm_printer *pr, const char *args)
{
    (void)args;
    struct i440_state *s = user;
    pci_bus_info(s->bus, pr);
}

static int i440_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                     struct ixvm_errinfo *err)
{
    static const char *const keys[] = { NULL };
    struct i440_state *s = ins->state;
    s->ins = ins;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc < 0)
        return rc;
    if ((rc = pci_bus_create(ctx->iom, ctx->pgm, &s->bus)) < 0)
        return ixvm_errinfo_set(err, rc, "device %s: cannot create the PCI bus", ins->name);
    memset(s->rom, 0xff, sizeof(s->rom));
    for (unsigned k = 0; k < PAM_SEGS; k++) {
        s->pam_cur[k] = 0xff;
        s->ram_in_host[k] = true;
        s->we[k] = (struct pam_we_ctx){ s, k };
    }
    uint8_t *c = s->func.config;
    c[PCI_VENDOR_ID] = 0x86;
    c[PCI_VENDOR_ID + 1] = 0x80;
    c[PCI_DEVICE_ID] = 0x37;
    c[PCI_DEVICE_ID + 1] = 0x12;
    i440_config_defaults(s);
    if ((rc = pci_register_func(s->bus, PCI_DEVFN(0, 0), &s->func, &i440_pci_ops, ins)) < 0)
        return ixvm_errinfo_set(err, rc, "device %s: cannot register 00.0", ins->name);
    if ((rc = dev_map_ports(ins, 0xcf8, 4, &i440_addr_ops, "pci config address", err)) < 0 ||
        (rc = dev_map_ports(ins, 0xcfc, 4, &i440_data_ops, "pci config data", err)) < 0)
        return rc;
    pam_apply_all(s);
    /* `info pci`: the bus the host bridge owns (the monitor's QEMU-style item). */
    if (ctx->dbgf) {
        if ((rc = dbgf_info_register(ctx->dbgf, "pci", "PCI functions: IDs, class, BARs, interrupt pins",
                                     i440_info_pci, s)) < 0)
            return ixvm_errinfo_set(err, rc, "device %s: cannot register 'info pci'", ins->name);
        s->pci_info = true;
    }
    return 0;
}

static void i440_destroy(void *state)
{
    struct i440_state *s = state;
    if (s->pci_info)
        dbgf_info_deregister(s->ins->ctx.dbgf, "pci");
    for (unsigned k = 0; k < PAM_SEGS; k++)
        if (s->pam_cur[k] == PAM_WE && s->ins->ctx.pgm)
            (void)pgm_unmap_mmio(s->ins->ctx.pgm, pam_seg(k).base);
    pci_bus_destroy(s->bus);
}

static int i440_post_load(void *state, uint32_t version)
{
    struct i440_state *s = state;
    /* The saved host bytes of the PAM area are the guest RAM's business;
     * re-derive the PGM view from the registers. */
    for (unsigned k = 0; k < PAM_SEGS; k++)
        if (s->pam_cur[k] != 0xff)
            s->pam_cur[k] = 0xfe;
    pam_apply_all(s);
    return 0;
}

static void i440_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct i440_state *s = state;
    ixvm_pr(pr, "CONFIG_ADDRESS %#010x, SMRAMC %#04x\nPAM:", s->cf8, s->func.config[I440_SMRAM]);
    for (unsigned k = 1; k <= PAM_SEGS; k++) {
        unsigned j = k % PAM_SEGS;   /* C0000 first, F0000 last */
        unsigned m = pam_mode_of(s, j);
        ixvm_pr(pr, " %05x:%c%c", pam_seg(j).base, (m & PAM_RE) ? 'R' : '-', (m & PAM_WE) ? 'W' : '-');
    }
    ixvm_pr(pr, "\n");
    pci_bus_info(s->bus, pr);
}

static const struct ssm_field i440_fields[] = {
    SSM_FIELD(U32, struct i440_state, cf8),
    SSM_FIELD(U8, struct i440_state, rcr),
    SSM_FIELD(MEM, struct i440_state, func.config),
    SSM_FIELD(MEM, struct i440_state, func.wmask),
    SSM_FIELD(MEM, struct i440_state, ram_in_host),
    SSM_FIELD(MEM, struct i440_state, shadow),
    SSM_FIELD_END,
};

const struct dev_reg dev_i440fx = {
    .name = "i440fx",
    .desc = "i440FX host bridge: PCI config mechanism #1, PAM shadow RAM, SMRAM state",
    .state_size = sizeof(struct i440_state),
    .max_instances = 1,
    .init = i440_init,
    .reset = i440_reset,
    .destroy = i440_destroy,
    .ssm_fields = i440_fields,
    .ssm_version = 1,
    .ssm_min_version = 1,
    .post_load = i440_post_load,
    .info = i440_info,
};

/* ---- board entry points ---------------------------------------------------- */

struct pci_bus *i440fx_bus(struct dev_ins *host)
{
    return host ? ((struct i440_state *)host->state)->bus : NULL;
}

struct pci_bus *pci_bus_find(struct dev_ins *ins)
{
    return ins && ins->pdm ? i440fx_bus(pdm_find(ins->pdm, dev_i440fx.name, 0)) : NULL;
}

int i440fx_set_bios(struct dev_ins *host, const uint8_t *image, size_t len)
{
    if (!host || !image || !len)
        return IXVM_ERR_INVALID_PARAMETER;
    struct i440_state *s = host->state;
    size_t n = len < 0x20000 ? len : 0x20000;
    dev_lock(host);
    memset(s->rom + 0x20000, 0xff, 0x20000);
    memcpy(s->rom + PAM_SIZE - n, image + len - n, n);
    /* Segments showing the ROM now get the new bytes. */
    for (unsigned k = 0; k < PAM_SEGS; k++) {
        if (!s->ram_in_host[k]) {
            struct pam_seg g = pam_seg(k);
            memcpy(pgm_host_base(host->ctx.pgm) + g.base, s->rom + (g.base - PAM_BASE), g.size);
            if (pgm_set_page_kind(host->ctx.pgm, g.base, g.size, PGM_PAGE_ROM) < 0)
                LOG_WARN("PAM: cannot refresh segment %#x", g.base);
        }
    }
    dev_unlock(host);
    return 0;
}

void i440fx_set_reset_handler(struct dev_ins *host, i440fx_reset_fn *fn, void *user)
{
    struct i440_state *s = host->state;
    dev_lock(host);
    s->reset_fn = fn;
    s->reset_user = user;
    dev_unlock(host);
}

unsigned i440fx_pam_mode(struct dev_ins *host, gphys_t pa)
{
    struct i440_state *s = host->state;
    if (pa < PAM_BASE || pa >= PAM_BASE + PAM_SIZE)
        return PAM_RW;
    unsigned k = pa >= 0xf0000 ? 0 : 1 + (unsigned)((pa - PAM_BASE) >> 14);
    dev_lock(host);
    unsigned m = pam_mode_of(s, k);
    dev_unlock(host);
    return m;
}
