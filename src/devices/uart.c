/* SPDX-License-Identifier: MIT */
/*
 * National 16550A UART (one per instance: COM1 0x3f8/IRQ4 by default,
 * "base" and "irq" config).  Registers per the PC16550D datasheet: RBR/THR
 * and the divisor latch (DLAB), IER, IIR with its priority order (line
 * status > received data > character timeout > THR empty > modem status),
 * FCR with 16-byte receive FIFO and trigger levels 1/4/8/14, LCR, MCR with
 * loopback, LSR, MSR with delta bits, SCR.  On the PC the interrupt reaches
 * the ISA IRQ only while MCR.OUT2 is set.
 *
 * Transmission is immediate: a THR write goes straight to the backend (or,
 * in loopback, into our own receive FIFO), so THRE and TEMT are always 1
 * and a THRE interrupt is pending again right after each write.  Input
 * comes from uart_receive(), which takes only what fits (flow control).
 * The character-timeout interrupt uses a TM timer at four character times.
 */
#define LOG_GROUP LOG_GROUP_DEV_UART
#include <string.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"

#define UART_FIFO 16u
#define UART_CLOCK_HZ 1843200u

enum { UART_RBR, UART_IER, UART_IIR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };

#define IER_RDI   0x01u
#define IER_THRI  0x02u
#define IER_RLSI  0x04u
#define IER_MSI   0x08u
#define IIR_NONE  0x01u
#define IIR_MSI   0x00u
#define IIR_THRI  0x02u
#define IIR_RDI   0x04u
#define IIR_RLSI  0x06u
#define IIR_TOI   0x0cu
#define FCR_ENABLE 0x01u
#define FCR_CLR_RX 0x02u
#define LCR_DLAB  0x80u
#define MCR_DTR   0x01u
#define MCR_RTS   0x02u
#define MCR_OUT1  0x04u
#define MCR_OUT2  0x08u
#define MCR_LOOP  0x10u
#define LSR_DR    0x01u
#define LSR_OE    0x02u
#define LSR_ERRS  0x1eu     /* OE PE FE BI */
#define LSR_THRE  0x20u
#define LSR_TEMT  0x40u
#define MSR_CTS   0x10u
#define MSR_DSR   0x20u
#define MSR_RI    0x40u
#define MSR_DCD   0x80u

struct uart_state {
    struct dev_ins *ins;            /* [init] */
    struct tm_mgr *tm;              /* [init] */
    struct tm_timer *t_timeout;     /* [init] character timeout */
    struct uart_backend be;         /* [lock] */
    uint8_t rx[UART_FIFO];          /* [lock] saved: receive FIFO ring */
    uint8_t rx_head, rx_count;      /* [lock] saved */
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;   /* [lock] saved */
    uint8_t thr_ipending;           /* [lock] saved: THRE interrupt pending */
    uint8_t timeout_ipending;       /* [lock] saved */
    uint8_t msr_inputs;             /* [lock] saved: backend's CTS/DSR/RI/DCD */
    uint8_t irq_level;              /* [lock] saved */
    uint8_t rx_refused;             /* [lock] saved: tell the backend when room frees */
    uint32_t misuse;                /* [lock] */
};

static unsigned uart_capacity(const struct uart_state *s)
{
    return (s->fcr & FCR_ENABLE) ? UART_FIFO : 1;
}

static unsigned uart_trigger(const struct uart_state *s)
{
    static const uint8_t levels[4] = { 1, 4, 8, 14 };
    return (s->fcr & FCR_ENABLE) ? levels[s->fcr >> 6] : 1;
}

/* Interrupt identification in priority order (datasheet table 4). */
static uint8_t uart_iir_id(const struct uart_state *s)
{
    if ((s->ier & IER_RLSI) && (s->lsr & LSR_ERRS))
        return IIR_RLSI;
    if ((s->ier & IER_RDI) && s->rx_count >= uart_trigger(s))
        return IIR_RDI;
    if ((s->ier & IER_RDI) && s->timeout_ipending)
        return IIR_TOI;
    if ((s->ier & IER_THRI) && s->thr_ipending)
        return IIR_THRI;
    if ((s->ier & IER_MSI) && (s->msr & 0x0f))
        return IIR_MSI;
    return IIR_NONE;
}

static void uart_irq_update(struct uart_state *s)
{
    uint8_t level = uart_iir_id(s) != IIR_NONE && (s->mcr & MCR_OUT2);
    if (level != s->irq_level) {
        s->irq_level = level;
        dev_irq_set(s->ins, 0, level);
    }
}

/* Four character times at the programmed rate and frame. */
static uint64_t uart_timeout_ns(const struct uart_state *s)
{
    unsigned div = (unsigned)(s->dlm << 8 | s->dll);
    unsigned bits = 1 + 5 + (s->lcr & 3) + ((s->lcr & 0x08) ? 1 : 0) + ((s->lcr & 0x04) ? 2 : 1);
    return (uint64_t)4 * bits * (div ? div : 65536) * 16 * TM_NS_PER_SEC / UART_CLOCK_HZ;
}

static void uart_timeout_rearm(struct uart_state *s)
{
    if ((s->fcr & FCR_ENABLE) && s->rx_count)
        tm_timer_arm_rel_ns(s->t_timeout, uart_timeout_ns(s));
    else
        tm_timer_stop(s->t_timeout);
}

static void uart_timeout_cb(void *user)
{
    struct uart_state *s = user;
    if ((s->fcr & FCR_ENABLE) && s->rx_count)
        s->timeout_ipending = 1;
    uart_irq_update(s);
}

/* One received character; false when it does not fit (overrun). */
static bool uart_rx_push(struct uart_state *s, uint8_t b)
{
    if (s->rx_count >= uart_capacity(s))
        return false;
    s->rx[(s->rx_head + s->rx_count) % UART_FIFO] = b;
    s->rx_count++;
    s->timeout_ipending = 0;
    return true;
}

static void uart_rx_clear(struct uart_state *s)
{
    s->rx_head = s->rx_count = 0;
    s->timeout_ipending = 0;
}

/* MSR high bits from a new input set, with the delta bits (datasheet 8.6.8). */
static void uart_msr_set(struct uart_state *s, uint8_t in)
{
    uint8_t old = s->msr;
    in &= 0xf0;
    uint8_t d = s->msr & 0x0f;
    if ((old ^ in) & MSR_CTS) d |= 0x01;
    if ((old ^ in) & MSR_DSR) d |= 0x02;
    if ((old & MSR_RI) && !(in & MSR_RI)) d |= 0x04;   /* trailing edge of RI */
    if ((old ^ in) & MSR_DCD) d |= 0x08;
    s->msr = (uint8_t)(in | d);
}

/* The modem inputs as seen now: MCR outputs in loopback, else the backend's. */
static void uart_msr_refresh(struct uart_state *s)
{
    if (s->mcr & MCR_LOOP) {
        uint8_t m = s->mcr;
        uart_msr_set(s, (uint8_t)(((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_DTR) ? MSR_DSR : 0) |
                                  ((m & MCR_OUT1) ? MSR_RI : 0) | ((m & MCR_OUT2) ? MSR_DCD : 0)));
    } else {
        uart_msr_set(s, s->msr_inputs);
    }
}

static void uart_transmit(struct uart_state *s, uint8_t b)
{
    if (s->mcr & MCR_LOOP) {
        if (!uart_rx_push(s, b))
            s->lsr |= LSR_OE;
        uart_timeout_rearm(s);
    } else if (s->be.write) {
        s->be.write(s->be.user, &b, 1);
    }
    s->thr_ipending = 1;    /* THR is empty again at once */
}

static uint8_t uart_read_rbr(struct uart_state *s)
{
    if (!s->rx_count)
        return 0;
    uint8_t b = s->rx[s->rx_head];
    s->rx_head = (uint8_t)((s->rx_head + 1) % UART_FIFO);
    s->rx_count--;
    s->timeout_ipending = 0;
    uart_timeout_rearm(s);
    if (s->rx_refused && s->be.rx_ready) {
        s->rx_refused = 0;
        s->be.rx_ready(s->be.user);
    }
    return b;
}

static int uart_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct uart_state *s = dev;
    bool dlab = s->lcr & LCR_DLAB;
    uint8_t v;
    switch (off) {
    case UART_RBR: v = dlab ? s->dll : uart_read_rbr(s); break;
    case UART_IER: v = dlab ? s->dlm : s->ier; break;
    case UART_IIR:
        v = uart_iir_id(s);
        if (v == IIR_THRI)
            s->thr_ipending = 0;    /* reading IIR with THRE as source clears it */
        v |= (s->fcr & FCR_ENABLE) ? 0xc0 : 0;
        break;
    case UART_LCR: v = s->lcr; break;
    case UART_MCR: v = s->mcr; break;
    case UART_LSR:
        v = (uint8_t)(s->lsr | (s->rx_count ? LSR_DR : 0) | LSR_THRE | LSR_TEMT);
        s->lsr &= (uint8_t)~LSR_ERRS;
        break;
    case UART_MSR:
        v = s->msr;
        s->msr &= 0xf0;
        break;
    default: v = s->scr; break;
    }
    *val = v;
    uart_irq_update(s);
    return 0;
}

static void uart_write_fcr(struct uart_state *s, uint8_t v)
{
    if ((v ^ s->fcr) & FCR_ENABLE)
        uart_rx_clear(s);           /* changing FIFO mode resets the FIFOs */
    if (v & FCR_CLR_RX)
        uart_rx_clear(s);
    s->fcr = v & 0xc1;
    uart_timeout_rearm(s);
}

static int uart_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct uart_state *s = dev;
    bool dlab = s->lcr & LCR_DLAB;
    uint8_t v = (uint8_t)val;
    switch (off) {
    case UART_RBR:
        if (dlab)
            s->dll = v;
        else
            uart_transmit(s, v);
        break;
    case UART_IER:
        if (dlab) {
            s->dlm = v;
        } else {
            if ((v & IER_THRI) && !(s->ier & IER_THRI))
                s->thr_ipending = 1;    /* enabling ETBEI with THR empty interrupts */
            s->ier = v & 0x0f;
        }
        break;
    case UART_IIR: uart_write_fcr(s, v); break;
    case UART_LCR: s->lcr = v; break;
    case UART_MCR:
        s->mcr = v & 0x1f;
        uart_msr_refresh(s);
        break;
    case UART_LSR: DEV_LOG_MISUSE(s->misuse, "UART: write %#x to LSR ignored", v); break;
    case UART_MSR: break;           /* read-only; some drivers write it harmlessly */
    default: s->scr = v; break;
    }
    uart_irq_update(s);
    return 0;
}

static const struct iom_port_ops uart_ops = { uart_read, uart_write, 1 };

/* ---- backend interface -------------------------------------------------- */

void uart_set_backend(struct dev_ins *uart, const struct uart_backend *be)
{
    struct uart_state *s = uart->state;
    dev_lock(uart);
    if (be)
        s->be = *be;
    else
        memset(&s->be, 0, sizeof(s->be));
    dev_unlock(uart);
}

size_t uart_receive(struct dev_ins *uart, const uint8_t *buf, size_t len)
{
    struct uart_state *s = uart->state;
    size_t n = 0;
    dev_lock(uart);
    if (!(s->mcr & MCR_LOOP))       /* loopback disconnects the serial input */
        while (n < len && uart_rx_push(s, buf[n]))
            n++;
    if (n < len)
        s->rx_refused = 1;
    if (n) {
        uart_timeout_rearm(s);
        uart_irq_update(s);
    }
    dev_unlock(uart);
    return n;
}

void uart_set_modem_inputs(struct dev_ins *uart, uint8_t msr_high_bits)
{
    struct uart_state *s = uart->state;
    dev_lock(uart);
    s->msr_inputs = msr_high_bits & 0xf0;
    if (!(s->mcr & MCR_LOOP))
        uart_msr_set(s, s->msr_inputs);
    uart_irq_update(s);
    dev_unlock(uart);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void uart_reset(void *state)
{
    struct uart_state *s = state;
    s->ier = s->lcr = s->mcr = s->fcr = 0;
    s->lsr = 0;
    s->dll = 0x0c;                  /* 9600 baud; the power-on latch is undefined */
    s->dlm = 0;
    s->thr_ipending = 0;
    uart_rx_clear(s);
    s->msr = s->msr_inputs;
    s->rx_refused = 0;
    tm_timer_stop(s->t_timeout);
    uart_irq_update(s);
}

static int uart_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                     struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "base", "irq", NULL };
    struct uart_state *s = ins->state;
    uint64_t base, irq;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "base", 0x3f8, 0, 0xfff8, &base, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "irq", 4, 0, 15, &irq, err);
    if (rc < 0)
        return rc;
    s->ins = ins;
    s->tm = ctx->tm;
    s->msr_inputs = MSR_CTS | MSR_DSR | MSR_DCD;   /* a connected terminal */
    rc = dev_timer_create(ins, uart_timeout_cb, "timeout", &s->t_timeout, err);
    if (rc >= 0)
        rc = dev_map_ports(ins, (uint16_t)base, 8, &uart_ops, ins->name, err);
    if (rc >= 0)
        rc = dev_isa_irq_connect(ins, 0, (unsigned)irq);
    if (rc >= 0)
        uart_reset(s);
    return rc;
}

static int uart_post_load(void *state, uint32_t version)
{
    struct uart_state *s = state;
    s->rx_head %= UART_FIFO;
    if (s->rx_count > UART_FIFO)
        s->rx_count = UART_FIFO;
    s->fcr &= 0xc1;
    dev_irq_set(s->ins, 0, s->irq_level);
    uart_timeout_rearm(s);
    uart_irq_update(s);
    return 0;
}

static void uart_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct uart_state *s = state;
    unsigned div = (unsigned)(s->dlm << 8 | s->dll);
    ixvm_pr(pr, "ier=%02x iir=%02x lcr=%02x mcr=%02x lsr=%02x msr=%02x scr=%02x fcr=%02x divisor=%u (%u baud) rx=%u irq=%u\n",
            s->ier, uart_iir_id(s), s->lcr, s->mcr, s->lsr, s->msr, s->scr, s->fcr, div,
            div ? UART_CLOCK_HZ / 16 / div : 0, s->rx_count, s->irq_level);
}

static const struct ssm_field uart_fields[] = {
    SSM_FIELD(MEM, struct uart_state, rx),
    SSM_FIELD(U8, struct uart_state, rx_head), SSM_FIELD(U8, struct uart_state, rx_count),
    SSM_FIELD(U8, struct uart_state, ier), SSM_FIELD(U8, struct uart_state, lcr),
    SSM_FIELD(U8, struct uart_state, mcr), SSM_FIELD(U8, struct uart_state, lsr),
    SSM_FIELD(U8, struct uart_state, msr), SSM_FIELD(U8, struct uart_state, scr),
    SSM_FIELD(U8, struct uart_state, fcr), SSM_FIELD(U8, struct uart_state, dll),
    SSM_FIELD(U8, struct uart_state, dlm), SSM_FIELD(U8, struct uart_state, thr_ipending),
    SSM_FIELD(U8, struct uart_state, timeout_ipending), SSM_FIELD(U8, struct uart_state, msr_inputs),
    SSM_FIELD(U8, struct uart_state, irq_level), SSM_FIELD(U8, struct uart_state, rx_refused),
    SSM_FIELD_END,
};

const struct dev_reg dev_uart = {
    .name = "uart",
    .desc = "16550A serial port",
    .state_size = sizeof(struct uart_state),
    .init = uart_init,
    .reset = uart_reset,
    .ssm_fields = uart_fields,
    .ssm_version = 1,
    .post_load = uart_post_load,
    .info = uart_info,
};
