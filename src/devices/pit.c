/* SPDX-License-Identifier: MIT */
/*
 * Intel 8254 programmable interval timer (three channels at 0x40-0x43) and
 * the PC's port 0x61 (channel 2 gate, speaker enable, OUT2 and the refresh
 * toggle).  Counters are not ticked: each channel remembers when it started
 * counting and computes count and OUT from TM's virtual clock at 1.193182
 * MHz (8254 datasheet, "Modes of operation").  Channel 0's OUT drives an irq
 * wire (ISA IRQ0): a TM timer fires at each OUT transition; when callbacks
 * run late, missed rising edges are replayed as one pulse.
 *
 * Supported: modes 0-5 (6/7 alias 2/3), binary and BCD, LSB/MSB/word
 * access, counter latch and read-back (count and status) commands, gate
 * semantics per mode for channel 2.  Simplifications (docs/devices.md): a
 * new count in modes 2/3 restarts the period at once instead of at the end
 * of the current one; the one-clock load delay is not modelled.
 */
#define LOG_GROUP LOG_GROUP_DEV_PIT
#include <string.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"

#define PIT_CHANNELS        3
#define PIT_REFRESH_NS      15085u     /* DRAM refresh request period (port 0x61 bit 4) */
#define PIT_MIN_TIMER_NS    10000u     /* at most 100 k OUT callbacks per second */

enum { PIT_RW_LATCH, PIT_RW_LSB, PIT_RW_MSB, PIT_RW_WORD };

struct pit_channel {
    uint64_t start_ns;        /* virtual time when counting last (re)started */
    uint64_t offset;          /* ticks counted before start_ns */
    uint64_t irq_edges;       /* rising edges already sent on the irq wire */
    uint32_t reload;          /* N as a binary value: 1..65536 (BCD 1..10000) */
    uint16_t count_reg;       /* count as written */
    uint16_t latch;           /* latched count */
    uint8_t mode, rw, bcd;
    uint8_t loaded;           /* a full count was written since the control word */
    uint8_t counting;         /* the counter decrements now */
    uint8_t triggered;        /* modes 1/5: a gate edge started the count */
    uint8_t gate;
    uint8_t write_msb;        /* word access: the MSB comes next */
    uint8_t write_lo;         /* the LSB written first */
    uint8_t read_msb;         /* word access: the next live read returns the MSB */
    uint8_t latched;          /* 0 none, else bytes of the latched count left */
    uint8_t latch_msb;        /* word latch: the MSB comes next */
    uint8_t status_latched, status;
    uint8_t null_count;
    uint8_t irq_level;        /* level on the irq wire */
};

struct pit_state {
    struct dev_ins *ins;                  /* [init] */
    struct tm_mgr *tm;                    /* [init] */
    struct tm_timer *timer;               /* [init] channel 0 OUT transitions */
    struct pit_channel ch[PIT_CHANNELS];  /* [lock] saved */
    uint8_t port61;                       /* [lock] saved: bits 0-3 as written */
    uint32_t misuse;                      /* [lock] */
};

static uint64_t pit_ticks(uint64_t ns)
{
    return (uint64_t)(((unsigned __int128)ns * PIT_FREQ_HZ) / TM_NS_PER_SEC);
}

/* ns after start_ns at which `ticks` ticks have elapsed (rounded up). */
static uint64_t pit_ns_of(uint64_t ticks)
{
    return (uint64_t)(((unsigned __int128)ticks * TM_NS_PER_SEC + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ);
}

static uint32_t pit_modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000u : 65536u;
}

/* Ticks counted since the count was loaded (or the trigger). */
static uint64_t pit_elapsed(const struct pit_channel *c, uint64_t now)
{
    return c->offset + (c->counting && now > c->start_ns ? pit_ticks(now - c->start_ns) : 0);
}

/* Period for modes 2/3, where N=1 is illegal (datasheet): treated as 2. */
static uint32_t pit_period(const struct pit_channel *c)
{
    return c->reload < 2 ? 2 : c->reload;
}

static bool pit_started(const struct pit_channel *c)
{
    return c->loaded && ((c->mode != 1 && c->mode != 5) || c->triggered);
}

/* OUT pin at elapsed e (datasheet waveforms). */
static bool pit_out_at(const struct pit_channel *c, uint64_t e)
{
    if (!pit_started(c))
        return c->mode != 0;          /* control word: mode 0 low, others high */
    uint32_t n = c->reload, p;
    switch (c->mode) {
    case 0:
    case 1: return e >= n;
    case 2:
        if (!c->gate)
            return true;
        p = pit_period(c);
        return e % p != p - 1;
    case 3:
        if (!c->gate)
            return true;
        p = pit_period(c);
        return e % p < (p + 1) / 2;
    default: return e != n;          /* 4, 5: one low clock at terminal count */
    }
}

/* Rising edges of OUT since the start, up to elapsed e. */
static uint64_t pit_edges_at(const struct pit_channel *c, uint64_t e)
{
    if (!pit_started(c))
        return 0;
    switch (c->mode) {
    case 0:
    case 1: return e >= c->reload;
    case 2:
    case 3: return e / pit_period(c);
    default: return e >= (uint64_t)c->reload + 1;
    }
}

/* Next elapsed value > e at which the irq wire must be updated, or
 * UINT64_MAX.  Modes 2/4/5 have one-clock low pulses: only the rising edge
 * is scheduled and sent as a pulse. */
static uint64_t pit_next_event(const struct pit_channel *c, uint64_t e)
{
    if (!pit_started(c) || !c->counting)
        return UINT64_MAX;
    uint32_t n = c->reload, p;
    switch (c->mode) {
    case 0:
    case 1: return e < n ? n : UINT64_MAX;
    case 2:
        p = pit_period(c);
        return e - e % p + p;
    case 3: {
        p = pit_period(c);
        uint64_t ph = e % p, hi = (p + 1) / 2;
        return ph < hi ? e - ph + hi : e - ph + p;
    }
    default: return e <= n ? (uint64_t)n + 1 : UINT64_MAX;
    }
}

/* The counting element's value at elapsed e. */
static uint32_t pit_count_at(const struct pit_channel *c, uint64_t e)
{
    if (!pit_started(c))
        return c->count_reg;
    uint32_t m = pit_modulus(c), n = c->reload, p;
    switch (c->mode) {
    case 2:
        p = pit_period(c);
        return (uint32_t)(p - e % p) % m;
    case 3: {
        p = pit_period(c);
        uint64_t ph = e % p, hi = (p + 1) / 2;
        uint64_t v = ph < hi ? p - 2 * ph : p - 2 * (ph - hi);
        return (uint32_t)(v & ~1ull) % m;
    }
    default:
        return (uint32_t)(((uint64_t)n + m - e % m) % m);
    }
}

static uint16_t pit_to_bcd(uint32_t v)
{
    return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10));
}

static uint32_t pit_from_bcd(uint16_t v)
{
    uint32_t d = (v >> 12 & 15) * 1000u + (v >> 8 & 15) * 100u + (v >> 4 & 15) * 10u + (v & 15);
    return d == 0 || d > 10000 ? 10000 : d;
}

/* Drive channel 0's irq wire for time now and arm the next transition. */
static void pit_irq_update(struct pit_state *s, uint64_t now)
{
    struct pit_channel *c = &s->ch[0];
    uint64_t e = pit_elapsed(c, now);
    bool out = pit_out_at(c, e);
    uint64_t edges = pit_edges_at(c, e);
    if (edges != c->irq_edges) {
        if (c->irq_level)
            dev_irq_set(s->ins, 0, 0);
        dev_irq_set(s->ins, 0, 1);
        c->irq_edges = edges;
        c->irq_level = 1;
    }
    if (out != c->irq_level) {
        dev_irq_set(s->ins, 0, out);
        c->irq_level = out;
    }
    uint64_t next = pit_next_event(c, e);
    if (next == UINT64_MAX) {
        tm_timer_stop(s->timer);
        return;
    }
    uint64_t at = c->start_ns + pit_ns_of(next - c->offset);
    /* Very short periods would flood the loop: pace them; the edge count
     * above replays what was skipped.  One-shot modes stay exact. */
    if ((c->mode == 2 || c->mode == 3) && pit_ns_of(pit_period(c)) < PIT_MIN_TIMER_NS &&
        at < now + PIT_MIN_TIMER_NS)
        at = now + PIT_MIN_TIMER_NS;
    tm_timer_arm_ns(s->timer, at);
}

static void pit_timer_cb(void *user)
{
    struct pit_state *s = user;
    pit_irq_update(s, tm_virtual_now(s->tm));
}

/* Start or stop the counting element at now, keeping the elapsed count. */
static void pit_set_counting(struct pit_channel *c, bool on, uint64_t now)
{
    if (on == (bool)c->counting)
        return;
    c->offset = pit_elapsed(c, now);
    c->start_ns = now;
    c->counting = on;
}

/* (Re)start counting from the initial count at now. */
static void pit_restart(struct pit_channel *c, uint64_t now)
{
    c->offset = 0;
    c->start_ns = now;
    c->irq_edges = 0;
    c->counting = c->gate || c->mode == 1 || c->mode == 5;
}

static void pit_load_count(struct pit_state *s, struct pit_channel *c, uint16_t v, uint64_t now)
{
    c->count_reg = v;
    c->reload = c->bcd ? pit_from_bcd(v) : (v ? v : 65536u);
    c->loaded = 1;
    c->null_count = 0;
    if (c->mode == 1 || c->mode == 5) {
        c->counting = 0;              /* waits for a gate trigger */
        return;
    }
    pit_restart(c, now);
}

static void pit_write_count(struct pit_state *s, unsigned idx, uint8_t v, uint64_t now)
{
    struct pit_channel *c = &s->ch[idx];
    switch (c->rw) {
    case PIT_RW_LSB: pit_load_count(s, c, v, now); break;
    case PIT_RW_MSB: pit_load_count(s, c, (uint16_t)(v << 8), now); break;
    default:
        if (!c->write_msb) {
            c->write_lo = v;
            c->write_msb = 1;
            if (c->mode == 0)
                pit_set_counting(c, false, now);   /* first byte stops mode 0 */
        } else {
            c->write_msb = 0;
            pit_load_count(s, c, (uint16_t)(v << 8 | c->write_lo), now);
        }
        break;
    }
}

static uint16_t pit_count_now(const struct pit_channel *c, uint64_t now)
{
    uint32_t v = pit_count_at(c, pit_elapsed(c, now));
    return c->bcd ? pit_to_bcd(v) : (uint16_t)v;
}

static uint8_t pit_status(const struct pit_channel *c, uint64_t now)
{
    return (uint8_t)(pit_out_at(c, pit_elapsed(c, now)) << 7 | c->null_count << 6 | c->rw << 4 |
                     c->mode << 1 | c->bcd);
}

static uint8_t pit_read_count(struct pit_channel *c, uint64_t now)
{
    if (c->status_latched) {
        c->status_latched = 0;
        return c->status;
    }
    if (c->latched) {
        uint8_t v;
        if (c->rw == PIT_RW_WORD) {
            v = c->latch_msb ? (uint8_t)(c->latch >> 8) : (uint8_t)c->latch;
            c->latch_msb ^= 1;
            c->latched--;
        } else {
            v = c->rw == PIT_RW_MSB ? (uint8_t)(c->latch >> 8) : (uint8_t)c->latch;
            c->latched = 0;
        }
        return v;
    }
    uint16_t cnt = pit_count_now(c, now);
    switch (c->rw) {
    case PIT_RW_MSB: return (uint8_t)(cnt >> 8);
    case PIT_RW_WORD:
        c->read_msb ^= 1;
        return c->read_msb ? (uint8_t)cnt : (uint8_t)(cnt >> 8);
    default: return (uint8_t)cnt;
    }
}

static void pit_latch_count(struct pit_channel *c, uint64_t now)
{
    if (c->latched)
        return;                       /* a second latch is ignored until read */
    c->latch = pit_count_now(c, now);
    c->latched = c->rw == PIT_RW_WORD ? 2 : 1;
    c->latch_msb = 0;
}

/* Read-back command (8254 only): bits 5/4 clear select count/status latch,
 * bits 3-1 select the counters. */
static void pit_read_back(struct pit_state *s, uint8_t v, uint64_t now)
{
    for (unsigned i = 0; i < PIT_CHANNELS; i++) {
        struct pit_channel *c = &s->ch[i];
        if (!(v & (2u << i)))
            continue;
        if (!(v & 0x20))
            pit_latch_count(c, now);
        if (!(v & 0x10) && !c->status_latched) {
            c->status = pit_status(c, now);
            c->status_latched = 1;
        }
    }
}

static void pit_control(struct pit_state *s, uint8_t v, uint64_t now)
{
    unsigned sc = v >> 6;
    if (sc == 3) {
        pit_read_back(s, v, now);
        return;
    }
    struct pit_channel *c = &s->ch[sc];
    unsigned rw = (v >> 4) & 3;
    if (rw == PIT_RW_LATCH) {
        pit_latch_count(c, now);
        return;
    }
    c->rw = (uint8_t)rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;                 /* 6, 7 are 2, 3 */
    c->bcd = v & 1;
    c->loaded = c->counting = c->triggered = 0;
    c->offset = 0;
    c->write_msb = c->read_msb = 0;
    c->latched = c->status_latched = 0;
    c->null_count = 1;
    c->irq_edges = 0;
    LOG2("channel %u: mode %u rw %u%s", sc, c->mode, rw, c->bcd ? " bcd" : "");
}

/* Gate input (channel 2 from port 0x61; channels 0/1 are tied high). */
static void pit_set_gate(struct pit_channel *c, bool gate, uint64_t now)
{
    if (gate == (bool)c->gate)
        return;
    c->gate = gate;
    if (!c->loaded)
        return;
    switch (c->mode) {
    case 1:
    case 5:
        if (gate) {                   /* rising edge triggers */
            c->triggered = 1;
            pit_restart(c, now);
        }
        break;
    case 2:
    case 3:
        if (gate)
            pit_restart(c, now);      /* rising edge reloads */
        else
            pit_set_counting(c, false, now);
        break;
    default:
        pit_set_counting(c, gate, now);   /* 0, 4: gate low suspends */
        break;
    }
}

static int pit_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct pit_state *s = dev;
    uint64_t now = tm_virtual_now(s->tm);
    *val = off < PIT_CHANNELS ? pit_read_count(&s->ch[off], now) : 0xff;  /* control: write-only */
    return 0;
}

static int pit_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct pit_state *s = dev;
    uint64_t now = tm_virtual_now(s->tm);
    if (off < PIT_CHANNELS)
        pit_write_count(s, off, (uint8_t)val, now);
    else
        pit_control(s, (uint8_t)val, now);
    pit_irq_update(s, now);
    return 0;
}

/* Port 0x61 (PC/AT system control port B). */
static int pit_p61_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct pit_state *s = dev;
    uint64_t now = tm_virtual_now(s->tm);
    struct pit_channel *c2 = &s->ch[2];
    bool out2 = pit_out_at(c2, pit_elapsed(c2, now));
    *val = (s->port61 & 0x0f) | (uint32_t)((now / PIT_REFRESH_NS) & 1) << 4 | (uint32_t)out2 << 5;
    return 0;
}

static int pit_p61_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct pit_state *s = dev;
    s->port61 = val & 0x0f;
    pit_set_gate(&s->ch[2], val & 1, tm_virtual_now(s->tm));
    LOG3("port 0x61 <- %#x", val & 0xff);
    return 0;
}

static const struct iom_port_ops pit_ops = { pit_read, pit_write, 1 };
static const struct iom_port_ops pit_p61_ops = { pit_p61_read, pit_p61_write, 1 };

bool pit_channel_out(struct dev_ins *pit, unsigned ch)
{
    struct pit_state *s = pit->state;
    if (ch >= PIT_CHANNELS)
        return false;
    dev_lock(pit);
    struct pit_channel *c = &s->ch[ch];
    bool v = pit_out_at(c, pit_elapsed(c, tm_virtual_now(s->tm)));
    dev_unlock(pit);
    return v;
}

/* Power-on: every channel in mode 0 without a count (undefined on real
 * parts; BIOSes program all they use), gates of 0/1 high. */
static void pit_reset(void *state)
{
    struct pit_state *s = state;
    memset(s->ch, 0, sizeof(s->ch));
    s->ch[0].gate = s->ch[1].gate = 1;
    s->port61 = 0;
    tm_timer_stop(s->timer);
    dev_irq_set(s->ins, 0, 0);
}

static int pit_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                    struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "base", "port61", "irq", NULL };
    struct pit_state *s = ins->state;
    uint64_t base, p61, irq;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "base", 0x40, 0, 0xfffc, &base, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "port61", 0x61, 0, 0xffff, &p61, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "irq", 0, 0, 15, &irq, err);
    if (rc < 0)
        return rc;
    s->ins = ins;
    s->tm = ctx->tm;
    rc = dev_timer_create(ins, pit_timer_cb, "out0", &s->timer, err);
    if (rc >= 0)
        rc = dev_map_ports(ins, (uint16_t)base, 4, &pit_ops, "pit", err);
    if (rc >= 0)
        rc = dev_map_ports(ins, (uint16_t)p61, 1, &pit_p61_ops, "pit-port61", err);
    if (rc >= 0)
        rc = dev_isa_irq_connect(ins, 0, (unsigned)irq);
    if (rc < 0)
        return rc;
    pit_reset(s);
    return 0;
}

static int pit_post_load(void *state, uint32_t version)
{
    struct pit_state *s = state;
    for (unsigned i = 0; i < PIT_CHANNELS; i++) {
        struct pit_channel *c = &s->ch[i];
        c->mode = c->mode > 5 ? c->mode - 4 : c->mode;
        c->rw &= 3;
        if (c->reload == 0 || c->reload > 65536)
            c->reload = 65536;
        if (c->latched > 2)
            c->latched = 2;
    }
    /* Re-send the wire level and re-arm at the saved timeline. */
    struct pit_channel *c0 = &s->ch[0];
    dev_irq_set(s->ins, 0, c0->irq_level);
    pit_irq_update(s, tm_virtual_now(s->tm));
    return 0;
}

static void pit_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct pit_state *s = state;
    uint64_t now = tm_virtual_now(s->tm);
    for (unsigned i = 0; i < PIT_CHANNELS; i++) {
        const struct pit_channel *c = &s->ch[i];
        uint64_t e = pit_elapsed(c, now);
        ixvm_pr(pr, "ch%u: mode %u rw %u%s N=%u count=%u out=%u gate=%u%s\n", i, c->mode, c->rw,
                c->bcd ? " bcd" : "", c->reload, pit_count_at(c, e), pit_out_at(c, e), c->gate,
                c->loaded ? "" : " (no count)");
    }
    ixvm_pr(pr, "port61=%02x\n", s->port61);
}

#define PIT_CH_FIELDS(i)                                                                  \
    SSM_FIELD(U64, struct pit_state, ch[i].start_ns), SSM_FIELD(U64, struct pit_state, ch[i].offset), \
    SSM_FIELD(U64, struct pit_state, ch[i].irq_edges), SSM_FIELD(U32, struct pit_state, ch[i].reload), \
    SSM_FIELD(U16, struct pit_state, ch[i].count_reg), SSM_FIELD(U16, struct pit_state, ch[i].latch), \
    SSM_FIELD(U8, struct pit_state, ch[i].mode), SSM_FIELD(U8, struct pit_state, ch[i].rw),          \
    SSM_FIELD(U8, struct pit_state, ch[i].bcd), SSM_FIELD(U8, struct pit_state, ch[i].loaded),       \
    SSM_FIELD(U8, struct pit_state, ch[i].counting), SSM_FIELD(U8, struct pit_state, ch[i].triggered), \
    SSM_FIELD(U8, struct pit_state, ch[i].gate), SSM_FIELD(U8, struct pit_state, ch[i].write_msb),   \
    SSM_FIELD(U8, struct pit_state, ch[i].write_lo), SSM_FIELD(U8, struct pit_state, ch[i].read_msb), \
    SSM_FIELD(U8, struct pit_state, ch[i].latched), SSM_FIELD(U8, struct pit_state, ch[i].latch_msb), \
    SSM_FIELD(U8, struct pit_state, ch[i].status_latched), SSM_FIELD(U8, struct pit_state, ch[i].status), \
    SSM_FIELD(U8, struct pit_state, ch[i].null_count), SSM_FIELD(U8, struct pit_state, ch[i].irq_level)

static const struct ssm_field pit_fields[] = {
    PIT_CH_FIELDS(0), PIT_CH_FIELDS(1), PIT_CH_FIELDS(2),
    SSM_FIELD(U8, struct pit_state, port61),
    SSM_FIELD_END,
};

const struct dev_reg dev_pit = {
    .name = "pit",
    .desc = "8254 interval timer",
    .state_size = sizeof(struct pit_state),
    .init = pit_init,
    .reset = pit_reset,
    .ssm_fields = pit_fields,
    .ssm_version = 1,
    .post_load = pit_post_load,
    .info = pit_info,
};
