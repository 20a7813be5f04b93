/* SPDX-License-Identifier: MIT */
/*
 * Device framework (PDM in the reference VMM; docs/devices.md).
 *
 * A device is one file in src/devices/ exporting one `const struct dev_reg
 * dev_<name>` (STYLE.md 1).  The device manager (struct pdm) creates
 * instances from a descriptor and a key/value config: it allocates the
 * zeroed state struct, gives the instance a lock, calls init, and registers
 * the saved-state unit (the descriptor's field table) and the `info`
 * handler.  Devices register their ports, MMIO ranges and timers through
 * the dev_* helpers so the framework can attach the instance lock and undo
 * everything at destroy.
 *
 * Threads and locks: every callback of a device (port/MMIO access from an
 * EMT, timer callback on the loop, saved state, info, reset) runs with the
 * instance lock held, taken by the dispatcher, never inside the callback
 * (STYLE.md 10).  The lock is recursive, so a device's public entry points
 * (which take it) may be reached from board callbacks the device invokes.
 * Lock order: device -> interrupt controller -> TM queue.
 *
 * Needs only an iom, a tm (and optionally pgm, ssm, dbgf, stam): nothing
 * from vmm.h.
 */
#ifndef IXVM_DEV_H
#define IXVM_DEV_H

#include <pthread.h>

#include "ixvm/dbgf.h"
#include "ixvm/iom.h"
#include "ixvm/irq.h"
#include "ixvm/pgm.h"
#include "ixvm/ssm.h"
#include "ixvm/tm.h"
#include "ixvm/types.h"

struct stam;
struct pdm;
struct dev_ins;

/* What devices are plugged into.  iom and tm are required. */
struct dev_ctx {
    struct iom *iom;
    struct tm_mgr *tm;
    struct pgm *pgm;              /* optional (MMIO devices) */
    struct ssm *ssm;              /* optional: saved-state units */
    struct dbgf_info_reg *dbgf;   /* optional: info handlers */
    struct stam *stam;            /* optional: statistics */
};

/* ---- configuration: a tiny key/value list ------------------------------- */

struct dev_cfg_kv {
    const char *key;
    const char *value;
};
struct dev_cfg {
    const struct dev_cfg_kv *kv;
    size_t count;
};

/* Unsigned integer (decimal, 0x hex, 0 octal) in [min, max]; def when absent.
 * Errors name the key and the value. */
int dev_cfg_get_u64(const struct dev_ins *ins, const struct dev_cfg *cfg, const char *key,
                    uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
                    struct ixvm_errinfo *err) IXVM_WUR;
/* "1/0, true/false, yes/no, on/off". */
int dev_cfg_get_bool(const struct dev_ins *ins, const struct dev_cfg *cfg, const char *key,
                     bool def, bool *out, struct ixvm_errinfo *err) IXVM_WUR;
/* The string, or def when absent (never copies). */
const char *dev_cfg_get_str(const struct dev_cfg *cfg, const char *key, const char *def);
/* IXVM_ERR_UNKNOWN_KEY naming the first key not in the NULL-terminated list. */
int dev_cfg_check_keys(const struct dev_ins *ins, const struct dev_cfg *cfg,
                       const char *const *known, struct ixvm_errinfo *err) IXVM_WUR;

/* ---- the descriptor ----------------------------------------------------- */

struct dev_reg {
    const char *name;             /* [a-z0-9_]+; also the ssm unit and info name */
    const char *desc;
    size_t state_size;            /* zeroed before init */
    unsigned max_instances;       /* 0: unlimited */
    /* Read config, register ports/timers/irqs.  On failure the framework
     * undoes the registrations and calls destroy if set. */
    int (*init)(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                struct ixvm_errinfo *err);
    void (*reset)(void *state);   /* machine reset: power-on register values */
    void (*destroy)(void *state); /* free what init allocated beyond the state */
    /* Saved state: the field table is written at ssm_version; load accepts
     * ssm_min_version..ssm_version, then post_load recomputes derived state
     * (timers, irq levels).  NULL fields: no unit. */
    const struct ssm_field *ssm_fields;
    uint32_t ssm_version;
    uint32_t ssm_min_version;
    int (*post_load)(void *state, uint32_t version);
    /* `info <name>` text, NULL for none. */
    void (*info)(void *state, const struct ixvm_printer *pr, const char *args);
};

#define DEV_MAX_IRQ_OUT 4
#define DEV_MAX_PORT_REGS 8
#define DEV_MAX_MMIO_REGS 4
#define DEV_MAX_TIMERS 8

struct dev_mmio_reg {
    const struct pgm_mmio_ops *ops;
    struct dev_ins *ins;
    gphys_t base;
};

/* One instance.  Fields are written by the framework at create/destroy and
 * are read-only afterwards except where noted. */
struct dev_ins {
    const struct dev_reg *reg;
    char name[40];                /* "uart1": reg name + instance number if > 0 */
    uint32_t instance;            /* 0, 1, ... per descriptor */
    void *state;                  /* reg->state_size bytes */
    pthread_mutex_t lock;         /* recursive; taken by every dispatcher */
    struct dev_ctx ctx;
    struct pdm *pdm;
    /* Outputs (interrupt wires); connected by the board.  [init, then read-only] */
    struct irq_line irq_out[DEV_MAX_IRQ_OUT];
    uint16_t port_base[DEV_MAX_PORT_REGS];
    unsigned port_regs;
    struct dev_mmio_reg *mmio[DEV_MAX_MMIO_REGS];
    unsigned mmio_regs;
    struct tm_timer *timers[DEV_MAX_TIMERS];
    unsigned timer_count;
    bool ssm_registered, info_registered;
    struct dev_ins *next;         /* pdm list, creation order */
};

/* ---- helpers for init --------------------------------------------------- */

/* Ports [base, base+count) dispatched with the instance lock; dev = state. */
int dev_map_ports(struct dev_ins *ins, uint16_t base, uint32_t count,
                  const struct iom_port_ops *ops, const char *name, struct ixvm_errinfo *err) IXVM_WUR;
/* An MMIO range dispatched with the instance lock; dev = state. */
int dev_map_mmio(struct dev_ins *ins, gphys_t base, uint64_t size, const struct pgm_mmio_ops *ops,
                 const char *name, struct ixvm_errinfo *err) IXVM_WUR;
/* A TM timer whose callback gets the state and runs under the instance lock. */
int dev_timer_create(struct dev_ins *ins, tm_timer_fn *cb, const char *name,
                     struct tm_timer **out, struct ixvm_errinfo *err) IXVM_WUR;
/* Connect output wire idx (board or tests).  line NULL disconnects. */
int dev_irq_connect(struct dev_ins *ins, unsigned idx, const struct irq_line *line) IXVM_WUR;
/* Drive output wire idx (called by the device under its lock). */
void dev_irq_set(struct dev_ins *ins, unsigned idx, int level);
/* If the pdm has ISA interrupt lines (pdm_set_isa_irqs), connect output idx
 * to ISA IRQ irq; otherwise leave it for the board.  */
int dev_isa_irq_connect(struct dev_ins *ins, unsigned idx, unsigned irq) IXVM_WUR;

/*
 * Guest misuse goes to the release log, rate-limited per device and kind:
 * the first DEV_MISUSE_BURST reports, then one in DEV_MISUSE_EVERY.  The
 * counter lives in the device state (not saved).  Needs ixvm/log.h.
 */
#define DEV_MISUSE_BURST 8u
#define DEV_MISUSE_EVERY 4096u
#define DEV_LOG_MISUSE(counter, fmt, ...)                                          \
    do {                                                                          \
        uint32_t n_ = ++(counter);                                                \
        if (n_ <= DEV_MISUSE_BURST || n_ % DEV_MISUSE_EVERY == 0)                 \
            LOG_REL(fmt " (report %u)", __VA_ARGS__, n_);                          \
    } while (0)

void dev_lock(struct dev_ins *ins);
void dev_unlock(struct dev_ins *ins);

/* ---- the device manager ------------------------------------------------- */

int pdm_create(const struct dev_ctx *ctx, struct pdm **out, struct ixvm_errinfo *err) IXVM_WUR;
/* Destroy every instance in reverse creation order, then the pdm. */
void pdm_destroy(struct pdm *pdm);
/* Create an instance (cfg may be NULL). */
int pdm_device_create(struct pdm *pdm, const struct dev_reg *reg, const struct dev_cfg *cfg,
                      struct dev_ins **out, struct ixvm_errinfo *err) IXVM_WUR;
/* Reset every instance in creation order, each under its lock. */
void pdm_reset(struct pdm *pdm);
/* Lookup by descriptor name and instance number. */
struct dev_ins *pdm_find(struct pdm *pdm, const char *name, uint32_t instance);
/* 16 ISA interrupt lines (normally the PIC's inputs) for dev_isa_irq_connect. */
void pdm_set_isa_irqs(struct pdm *pdm, const struct irq_line *lines, unsigned count);
const struct dev_ctx *pdm_ctx(const struct pdm *pdm);

/* ======================================================================== */
/* Device-specific entry points for the board (one block per device).       */
/* Each takes the device's instance and its lock itself.                     */
/* ======================================================================== */

/* ---- pic.c: dual 8259A.  Config: master (0x20), slave (0xa0), elcr (0x4d0). */
extern const struct dev_reg dev_pic;
#define PIC_IRQ_COUNT 16
/* The input wire of ISA IRQ irq (0..15); the pointer lives as long as pic. */
const struct irq_line *pic_irq_line(struct dev_ins *pic, unsigned irq);
/* Output INT pin: fn(user, level) on every change, called with the PIC lock
 * held (board: raise INTERRUPT_PIC on vCPU 0 and wake it). */
typedef void pic_output_fn(void *user, int level);
void pic_set_output(struct dev_ins *pic, pic_output_fn *fn, void *user);
/* Current INT level (an unmasked request above the in-service priority). */
bool pic_output_level(struct dev_ins *pic);
/* Interrupt acknowledge cycle: returns the vector (spurious IRQ7/15 vector
 * if the request went away) and updates IRR/ISR. */
uint8_t pic_ack(struct dev_ins *pic);

/* ---- pit.c: 8254.  Config: base (0x40), port61 (0x61), irq (0). */
extern const struct dev_reg dev_pit;
#define PIT_FREQ_HZ 1193182u
/* OUT pin of channel ch at the current virtual time. */
bool pit_channel_out(struct dev_ins *pit, unsigned ch);

/* ---- rtc.c: MC146818 + CMOS.  Config: base (0x70), irq (8),
 * clock ("utc" | "localtime"), base_time (epoch seconds, overrides clock),
 * ext (1: extended bank at base+2). */
extern const struct dev_reg dev_rtc;
#define RTC_CMOS_SIZE 256
/* NMI mask bit (bit 7 of the index port): true when NMIs are disabled. */
bool rtc_nmi_disabled(struct dev_ins *rtc);
/* Raw CMOS bytes (board: boot order, equipment, CPU count, ...). */
int rtc_cmos_write(struct dev_ins *rtc, unsigned index, uint8_t val) IXVM_WUR;
int rtc_cmos_read(struct dev_ins *rtc, unsigned index, uint8_t *val) IXVM_WUR;
/* Memory-size fields (0x15-0x18, 0x30/0x31, 0x34/0x35, 0x5b-0x5d) and the
 * standard checksum at 0x2e/0x2f. */
void rtc_set_mem_size(struct dev_ins *rtc, uint64_t ram_below_4g, uint64_t ram_above_4g);
/* Boot-device fields as SeaBIOS reads them (0x3d, 0x38): up to 3 devices,
 * 1 floppy, 2 hard disk, 3 CD-ROM, 4 network. */
void rtc_set_boot_order(struct dev_ins *rtc, const uint8_t *devs, unsigned count);

/* ---- uart.c: 16550A.  Config: base (0x3f8), irq (4). */
extern const struct dev_reg dev_uart;
/* Host side of the wire.  write: bytes the guest transmitted.  rx_ready:
 * optional, called (under the device lock: do not call uart_receive from
 * inside) when the receive FIFO has room again after a refusal. */
struct uart_backend {
    void (*write)(void *user, const uint8_t *buf, size_t len);
    void (*rx_ready)(void *user);
    void *user;
};
void uart_set_backend(struct dev_ins *uart, const struct uart_backend *be);
/* Feed received bytes; returns how many were accepted (flow control:
 * the rest is for later). */
size_t uart_receive(struct dev_ins *uart, const uint8_t *buf, size_t len);
/* Modem-status inputs from the backend: MSR bits 4-7 (CTS DSR RI DCD). */
void uart_set_modem_inputs(struct dev_ins *uart, uint8_t msr_high_bits);

/* ---- debugport.c: 0xE9 console, 0x402 firmware log, POST 0x80, debug exit
 * 0xF4.  Config: e9, fw, post, exit (port numbers; "off" disables each). */
extern const struct dev_reg dev_debugport;
enum debugport_sink { DEBUGPORT_SINK_E9, DEBUGPORT_SINK_FW, DEBUGPORT_SINK_COUNT };
typedef void debugport_sink_fn(void *user, const uint8_t *buf, size_t len);
void debugport_set_sink(struct dev_ins *dp, enum debugport_sink which, debugport_sink_fn *fn, void *user);
/* Exit request: status = (value << 1) | 1, as QEMU's isa-debug-exit. */
typedef void debugport_exit_fn(void *user, int status);
void debugport_set_exit(struct dev_ins *dp, debugport_exit_fn *fn, void *user);
/* Last POST code written to port 0x80. */
uint8_t debugport_post_code(struct dev_ins *dp);

/* ---- piix_ide.c: PIIX3 IDE (8086:7010), compatibility mode: 0x1f0/0x3f6
 * IRQ14 and 0x170/0x376 IRQ15; bus-master DMA at BAR4 (docs/ide.md).
 * Config: hda..hdd (image paths), hda_media..hdd_media ("disk" | "cdrom"),
 * snapshot (disk writes kept in memory). */
extern const struct dev_reg dev_piix_ide;
struct pci_bus;
/* Register the PCI function (devfn 1.1 on i440FX) and its BAR4.  Without
 * it the legacy ports work and DMA commands wait forever. */
int piix_ide_pci_attach(struct dev_ins *ide, struct pci_bus *bus, uint8_t devfn,
                        struct ixvm_errinfo *err) IXVM_WUR;
/* Insert (path) or remove (NULL) the medium of CD drive 0..3 (hda..hdd);
 * the guest sees NOT READY, then UNIT ATTENTION, then the new medium. */
int piix_ide_change_medium(struct dev_ins *ide, unsigned drive, const char *path,
                           struct ixvm_errinfo *err) IXVM_WUR;

#endif
