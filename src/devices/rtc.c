/* SPDX-License-Identifier: MIT */
/*
 * Motorola MC146818 real-time clock and CMOS RAM at 0x70/0x71 (index with
 * the NMI mask in bit 7, data), optionally the extended 128-byte bank at
 * 0x72/0x73.  The clock is "guest seconds at a virtual instant" and runs on
 * TM's virtual clock, so it stops while the VM is paused.  Registers 0-9
 * are refreshed at each one-second update (a TM timer at every boundary)
 * in the format register B selects (BCD/binary, 12/24 h); UIP reads 1 in
 * the 244 us before an update.  Update-ended, alarm and periodic flags in
 * register C drive IRQ8 through an irq wire; reading C clears them.
 *
 * Datasheet behaviour kept: SET stops updates and clears UIE; a divider
 * reset (DV != 010) stops the clock and the first update comes 500 ms after
 * it is released; register D reads VRT=1.  Not modelled: daylight saving
 * (DSE), the square-wave output pin and the 1984 us update duration.
 */
#define LOG_GROUP LOG_GROUP_DEV_RTC
#include <string.h>
#include <time.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"

enum {
    RTC_SEC, RTC_SEC_ALARM, RTC_MIN, RTC_MIN_ALARM, RTC_HOUR, RTC_HOUR_ALARM,
    RTC_DOW, RTC_DAY, RTC_MONTH, RTC_YEAR, RTC_REG_A, RTC_REG_B, RTC_REG_C, RTC_REG_D,
    RTC_CENTURY = 0x32,
};
#define RTC_A_UIP   0x80u
#define RTC_A_DV    0x70u
#define RTC_A_DV_OK 0x20u      /* 32.768 kHz time base, divider running */
#define RTC_B_SET   0x80u
#define RTC_B_PIE   0x40u
#define RTC_B_AIE   0x20u
#define RTC_B_UIE   0x10u
#define RTC_B_SQWE  0x08u
#define RTC_B_DM    0x04u      /* 1: binary */
#define RTC_B_24H   0x02u
#define RTC_C_IRQF  0x80u
#define RTC_C_PF    0x40u
#define RTC_C_AF    0x20u
#define RTC_C_UF    0x10u
#define RTC_UIP_NS  244000u
#define NS          TM_NS_PER_SEC

struct rtc_state {
    struct dev_ins *ins;                  /* [init] */
    struct tm_mgr *tm;                    /* [init] */
    struct tm_timer *t_update;            /* [init] one-second updates */
    struct tm_timer *t_periodic;          /* [init] periodic interrupt (PIE) */
    uint8_t ext;                          /* [init] extended bank present */
    uint8_t cmos[RTC_CMOS_SIZE];          /* [lock] saved */
    uint8_t index, ext_index;             /* [lock] saved */
    uint8_t nmi_disabled;                 /* [lock] saved */
    uint8_t irq_level;                    /* [lock] saved */
    uint64_t base_sec;                    /* [lock] saved: guest epoch seconds at base_ns */
    uint64_t base_ns;                     /* [lock] saved: a second boundary */
    uint64_t shown_sec;                   /* [lock] saved: the second registers 0-9 show */
    uint64_t periodic_next;               /* [lock] saved: next periodic tick */
    uint32_t misuse;                      /* [lock] */
};

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) -------------- */

static int64_t rtc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void rtc_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* ---- register encoding -------------------------------------------------- */

static uint8_t rtc_enc(const struct rtc_state *s, unsigned v)
{
    return (s->cmos[RTC_REG_B] & RTC_B_DM) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static unsigned rtc_dec(const struct rtc_state *s, uint8_t v)
{
    return (s->cmos[RTC_REG_B] & RTC_B_DM) ? v : (unsigned)(v >> 4) * 10 + (v & 15);
}

static uint8_t rtc_enc_hour(const struct rtc_state *s, unsigned h)
{
    if (s->cmos[RTC_REG_B] & RTC_B_24H)
        return rtc_enc(s, h);
    unsigned h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(rtc_enc(s, h12) | (h >= 12 ? 0x80 : 0));
}

static unsigned rtc_dec_hour(const struct rtc_state *s, uint8_t v)
{
    if (s->cmos[RTC_REG_B] & RTC_B_24H)
        return rtc_dec(s, v);
    return rtc_dec(s, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

static void rtc_regs_from_epoch(struct rtc_state *s, uint64_t t)
{
    int64_t days = (int64_t)(t / 86400);
    unsigned sod = (unsigned)(t % 86400), m, d;
    int64_t y;
    rtc_civil_from_days(days, &y, &m, &d);
    s->cmos[RTC_SEC] = rtc_enc(s, sod % 60);
    s->cmos[RTC_MIN] = rtc_enc(s, sod / 60 % 60);
    s->cmos[RTC_HOUR] = rtc_enc_hour(s, sod / 3600);
    s->cmos[RTC_DOW] = rtc_enc(s, (unsigned)((days + 4) % 7) + 1);   /* 1970-01-01: Thursday */
    s->cmos[RTC_DAY] = rtc_enc(s, d);
    s->cmos[RTC_MONTH] = rtc_enc(s, m);
    s->cmos[RTC_YEAR] = rtc_enc(s, (unsigned)(y % 100));
    s->cmos[RTC_CENTURY] = rtc_enc(s, (unsigned)(y / 100));
}

static unsigned rtc_clamp(unsigned v, unsigned lo, unsigned hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Guest seconds the registers hold; out-of-range fields are clamped. */
static uint64_t rtc_epoch_from_regs(const struct rtc_state *s)
{
    unsigned sec = rtc_clamp(rtc_dec(s, s->cmos[RTC_SEC]), 0, 59);
    unsigned min = rtc_clamp(rtc_dec(s, s->cmos[RTC_MIN]), 0, 59);
    unsigned hour = rtc_clamp(rtc_dec_hour(s, s->cmos[RTC_HOUR]), 0, 23);
    unsigned day = rtc_clamp(rtc_dec(s, s->cmos[RTC_DAY]), 1, 31);
    unsigned mon = rtc_clamp(rtc_dec(s, s->cmos[RTC_MONTH]), 1, 12);
    unsigned year = rtc_clamp(rtc_dec(s, s->cmos[RTC_YEAR]), 0, 99);
    unsigned cent = rtc_clamp(rtc_dec(s, s->cmos[RTC_CENTURY]), 19, 99);
    int64_t days = rtc_days_from_civil((int64_t)cent * 100 + year, mon, day);
    int64_t t = days * 86400 + hour * 3600 + min * 60 + sec;
    return t < 0 ? 0 : (uint64_t)t;
}

/* ---- the clock ---------------------------------------------------------- */

static bool rtc_running(const struct rtc_state *s)
{
    return !(s->cmos[RTC_REG_B] & RTC_B_SET) && (s->cmos[RTC_REG_A] & RTC_A_DV) == RTC_A_DV_OK;
}

/* Bring registers 0-9 to the second containing now. */
static void rtc_sync(struct rtc_state *s, uint64_t now)
{
    if (!rtc_running(s) || now < s->base_ns)
        return;
    uint64_t sec = s->base_sec + (now - s->base_ns) / NS;
    if (sec != s->shown_sec) {
        s->shown_sec = sec;
        rtc_regs_from_epoch(s, sec);
    }
}

static uint64_t rtc_next_update(const struct rtc_state *s, uint64_t now)
{
    uint64_t k = now < s->base_ns ? 0 : (now - s->base_ns) / NS;
    return s->base_ns + (k + 1) * NS;
}

/* Restart the clock from the registers; the first update comes first_ns later. */
static void rtc_restart(struct rtc_state *s, uint64_t now, uint64_t first_ns)
{
    s->base_sec = s->shown_sec = rtc_epoch_from_regs(s);
    s->base_ns = now + first_ns >= NS ? now + first_ns - NS : 0;
}

static uint64_t rtc_period_ns(const struct rtc_state *s)
{
    unsigned rs = s->cmos[RTC_REG_A] & 0x0f;
    if (!rs || (s->cmos[RTC_REG_A] & RTC_A_DV) != RTC_A_DV_OK)
        return 0;
    unsigned shift = rs < 3 ? rs + 6 : rs - 1;   /* 32.768 kHz divided (datasheet table) */
    return ((uint64_t)1 << shift) * NS / 32768;
}

/* Set PF for periodic ticks that have passed (lazily while PIE is off). */
static void rtc_periodic_catchup(struct rtc_state *s, uint64_t now)
{
    uint64_t p = rtc_period_ns(s);
    if (!p || now < s->periodic_next)
        return;
    s->cmos[RTC_REG_C] |= RTC_C_PF;
    s->periodic_next += ((now - s->periodic_next) / p + 1) * p;
}

static void rtc_irq_update(struct rtc_state *s)
{
    uint8_t *c = &s->cmos[RTC_REG_C];
    bool irqf = *c & s->cmos[RTC_REG_B] & (RTC_C_PF | RTC_C_AF | RTC_C_UF);
    *c = (uint8_t)((*c & ~RTC_C_IRQF) | (irqf ? RTC_C_IRQF : 0));
    if (irqf != s->irq_level) {
        s->irq_level = irqf;
        dev_irq_set(s->ins, 0, irqf);
    }
}

static void rtc_arm_timers(struct rtc_state *s, uint64_t now)
{
    if (rtc_running(s))
        tm_timer_arm_ns(s->t_update, rtc_next_update(s, now));
    else
        tm_timer_stop(s->t_update);
    if (rtc_period_ns(s) && (s->cmos[RTC_REG_B] & RTC_B_PIE))
        tm_timer_arm_ns(s->t_periodic, s->periodic_next);
    else
        tm_timer_stop(s->t_periodic);
}

static bool rtc_alarm_field(uint8_t alarm, uint8_t cur)
{
    return alarm >= 0xc0 || alarm == cur;   /* 11xxxxxx: don't care */
}

static void rtc_update_cb(void *user)
{
    struct rtc_state *s = user;
    uint64_t now = tm_virtual_now(s->tm);
    rtc_sync(s, now);
    uint8_t *r = s->cmos;
    r[RTC_REG_C] |= RTC_C_UF;
    if (rtc_alarm_field(r[RTC_SEC_ALARM], r[RTC_SEC]) && rtc_alarm_field(r[RTC_MIN_ALARM], r[RTC_MIN]) &&
        rtc_alarm_field(r[RTC_HOUR_ALARM], r[RTC_HOUR]))
        r[RTC_REG_C] |= RTC_C_AF;
    rtc_irq_update(s);
    rtc_arm_timers(s, now);
}

static void rtc_periodic_cb(void *user)
{
    struct rtc_state *s = user;
    uint64_t now = tm_virtual_now(s->tm);
    rtc_periodic_catchup(s, now);
    rtc_irq_update(s);
    rtc_arm_timers(s, now);
}

/* ---- register access ---------------------------------------------------- */

static uint8_t rtc_read_reg(struct rtc_state *s, unsigned idx, uint64_t now)
{
    rtc_sync(s, now);
    switch (idx) {
    case RTC_REG_A: {
        bool uip = rtc_running(s) && rtc_next_update(s, now) - now <= RTC_UIP_NS;
        return (uint8_t)((s->cmos[RTC_REG_A] & 0x7f) | (uip ? RTC_A_UIP : 0));
    }
    case RTC_REG_C: {
        rtc_periodic_catchup(s, now);
        rtc_irq_update(s);
        uint8_t v = s->cmos[RTC_REG_C];
        s->cmos[RTC_REG_C] = 0;
        rtc_irq_update(s);
        return v;
    }
    case RTC_REG_D: return 0x80;    /* VRT: RAM and time valid */
    default: return s->cmos[idx];
    }
}

static bool rtc_is_time_reg(unsigned idx)
{
    return idx <= RTC_YEAR || idx == RTC_CENTURY;
}

static void rtc_write_reg(struct rtc_state *s, unsigned idx, uint8_t v, uint64_t now)
{
    uint8_t *r = s->cmos;
    bool was_running = rtc_running(s);
    rtc_sync(s, now);
    if (idx == RTC_REG_A) {
        bool dv_was_ok = (r[RTC_REG_A] & RTC_A_DV) == RTC_A_DV_OK;
        unsigned old_rs = r[RTC_REG_A] & 0x0f;
        r[RTC_REG_A] = v & 0x7f;
        bool dv_ok = (v & RTC_A_DV) == RTC_A_DV_OK;
        if (dv_ok && !dv_was_ok && !(r[RTC_REG_B] & RTC_B_SET))
            rtc_restart(s, now, NS / 2);   /* first update 500 ms after divider release */
        if ((v & 0x0f) != old_rs || (dv_ok && !dv_was_ok))
            s->periodic_next = now + rtc_period_ns(s);
    } else if (idx == RTC_REG_B) {
        if (v & RTC_B_SET)
            v &= (uint8_t)~RTC_B_UIE;      /* SET clears UIE */
        r[RTC_REG_B] = v;
        if (was_running != rtc_running(s) && !was_running)
            rtc_restart(s, now, NS);       /* SET released: count from the written time */
        rtc_irq_update(s);
    } else if (idx == RTC_REG_C || idx == RTC_REG_D) {
        DEV_LOG_MISUSE(s->misuse, "RTC: write %#x to read-only register %#x ignored", v, idx);
    } else {
        r[idx] = v;
        if (rtc_is_time_reg(idx) && idx != RTC_SEC_ALARM && idx != RTC_MIN_ALARM &&
            idx != RTC_HOUR_ALARM && rtc_running(s)) {
            /* The clock continues from the written value within the same second. */
            uint64_t k = now < s->base_ns ? 0 : (now - s->base_ns) / NS;
            s->shown_sec = rtc_epoch_from_regs(s);
            s->base_sec = s->shown_sec - (s->shown_sec >= k ? k : s->shown_sec);
        }
    }
    rtc_arm_timers(s, now);
}

static int rtc_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct rtc_state *s = dev;
    uint64_t now = tm_virtual_now(s->tm);
    switch (off) {
    case 1: *val = s->index <= RTC_REG_D ? rtc_read_reg(s, s->index, now) : s->cmos[s->index]; break;
    case 3: *val = s->cmos[128 + s->ext_index]; break;
    default: *val = 0xff; break;     /* index ports are write-only */
    }
    return 0;
}

static int rtc_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct rtc_state *s = dev;
    uint8_t v = (uint8_t)val;
    switch (off) {
    case 0:
        s->index = v & 0x7f;
        s->nmi_disabled = v >> 7;
        break;
    case 1:
        if (s->index <= RTC_REG_D || s->index == RTC_CENTURY)
            rtc_write_reg(s, s->index, v, tm_virtual_now(s->tm));
        else
            s->cmos[s->index] = v;
        break;
    case 2: s->ext_index = v & 0x7f; break;
    default: s->cmos[128 + s->ext_index] = v; break;
    }
    return 0;
}

static const struct iom_port_ops rtc_ops = { rtc_read, rtc_write, 1 };

/* ---- board interface ---------------------------------------------------- */

bool rtc_nmi_disabled(struct dev_ins *rtc)
{
    struct rtc_state *s = rtc->state;
    dev_lock(rtc);
    bool v = s->nmi_disabled;
    dev_unlock(rtc);
    return v;
}

int rtc_cmos_write(struct dev_ins *rtc, unsigned index, uint8_t val)
{
    struct rtc_state *s = rtc->state;
    if (index >= RTC_CMOS_SIZE || index <= RTC_REG_D)
        return IXVM_ERR_OUT_OF_RANGE;   /* clock registers: through the ports */
    dev_lock(rtc);
    s->cmos[index] = val;
    dev_unlock(rtc);
    return 0;
}

int rtc_cmos_read(struct dev_ins *rtc, unsigned index, uint8_t *val)
{
    struct rtc_state *s = rtc->state;
    if (index >= RTC_CMOS_SIZE)
        return IXVM_ERR_OUT_OF_RANGE;
    dev_lock(rtc);
    *val = index <= RTC_REG_D ? rtc_read_reg(s, index, tm_virtual_now(s->tm)) : s->cmos[index];
    dev_unlock(rtc);
    return 0;
}

static void rtc_put16(struct rtc_state *s, unsigned idx, uint64_t v)
{
    if (v > 0xffff)
        v = 0xffff;
    s->cmos[idx] = (uint8_t)v;
    s->cmos[idx + 1] = (uint8_t)(v >> 8);
}

/* The AT checksum: sum of 0x10-0x2d, big-endian at 0x2e. */
static void rtc_checksum(struct rtc_state *s)
{
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2d; i++)
        sum += s->cmos[i];
    s->cmos[0x2e] = (uint8_t)(sum >> 8);
    s->cmos[0x2f] = (uint8_t)sum;
}

void rtc_set_mem_size(struct dev_ins *rtc, uint64_t ram_below_4g, uint64_t ram_above_4g)
{
    struct rtc_state *s = rtc->state;
    uint64_t ext_kb = ram_below_4g > (1u << 20) ? (ram_below_4g - (1u << 20)) / 1024 : 0;
    uint64_t above16 = ram_below_4g > (16u << 20) ? (ram_below_4g - (16u << 20)) >> 16 : 0;
    uint64_t above4g = ram_above_4g >> 16;
    dev_lock(rtc);
    rtc_put16(s, 0x15, 640);            /* base memory in KB */
    rtc_put16(s, 0x17, ext_kb);         /* extended memory in KB (max 64 MB) */
    rtc_put16(s, 0x30, ext_kb);
    rtc_put16(s, 0x34, above16);        /* 64 KB units above 16 MB */
    s->cmos[0x5b] = (uint8_t)above4g;   /* 64 KB units above 4 GB (QEMU/SeaBIOS) */
    s->cmos[0x5c] = (uint8_t)(above4g >> 8);
    s->cmos[0x5d] = (uint8_t)(above4g >> 16);
    rtc_checksum(s);
    dev_unlock(rtc);
}

void rtc_set_boot_order(struct dev_ins *rtc, const uint8_t *devs, unsigned count)
{
    struct rtc_state *s = rtc->state;
    uint8_t d[3] = { 0, 0, 0 };
    for (unsigned i = 0; i < count && i < 3; i++)
        d[i] = devs[i] & 0x0f;
    dev_lock(rtc);
    s->cmos[0x3d] = (uint8_t)(d[0] | d[1] << 4);
    s->cmos[0x38] = (uint8_t)((s->cmos[0x38] & 0x0f) | d[2] << 4);
    dev_unlock(rtc);
}

/* ---- lifecycle ---------------------------------------------------------- */

/* Reset (datasheet "RESET"): interrupt enables and flags clear; time and
 * RAM survive. */
static void rtc_reset(void *state)
{
    struct rtc_state *s = state;
    s->cmos[RTC_REG_B] &= (uint8_t)~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
    s->cmos[RTC_REG_C] = 0;
    rtc_irq_update(s);
    rtc_arm_timers(s, tm_virtual_now(s->tm));
}

static int rtc_host_time(struct dev_ins *ins, const struct dev_cfg *cfg, uint64_t *out,
                         struct ixvm_errinfo *err)
{
    const char *clk = dev_cfg_get_str(cfg, "clock", "utc");
    uint64_t base;
    int rc = dev_cfg_get_u64(ins, cfg, "base_time", UINT64_MAX, 0, UINT64_MAX - 1, &base, err);
    if (rc < 0)
        return rc;
    if (base != UINT64_MAX) {
        *out = base;
        return 0;
    }
    time_t t = time(NULL);
    if (!strcmp(clk, "localtime")) {
        struct tm lt;
        if (localtime_r(&t, &lt))
            t += lt.tm_gmtoff;
    } else if (strcmp(clk, "utc")) {
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "device %s: clock = '%s' is neither 'utc' nor 'localtime'", ins->name, clk);
    }
    *out = t < 0 ? 0 : (uint64_t)t;
    return 0;
}

static int rtc_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                    struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "base", "irq", "clock", "base_time", "ext", NULL };
    struct rtc_state *s = ins->state;
    uint64_t base, irq, t0;
    bool ext;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "base", 0x70, 0, 0xfffc, &base, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "irq", 8, 0, 15, &irq, err);
    if (rc >= 0)
        rc = dev_cfg_get_bool(ins, cfg, "ext", true, &ext, err);
    if (rc >= 0)
        rc = rtc_host_time(ins, cfg, &t0, err);
    if (rc < 0)
        return rc;
    s->ins = ins;
    s->tm = ctx->tm;
    s->ext = ext;
    s->cmos[RTC_REG_A] = 0x26;          /* divider running, 1024 Hz periodic rate */
    s->cmos[RTC_REG_B] = RTC_B_24H;     /* BCD, 24 h */
    s->cmos[RTC_REG_D] = 0x80;
    uint64_t now = tm_virtual_now(s->tm);
    s->base_sec = s->shown_sec = t0;
    s->base_ns = now;
    s->periodic_next = now + rtc_period_ns(s);
    rtc_regs_from_epoch(s, t0);
    rc = dev_timer_create(ins, rtc_update_cb, "update", &s->t_update, err);
    if (rc >= 0)
        rc = dev_timer_create(ins, rtc_periodic_cb, "periodic", &s->t_periodic, err);
    if (rc >= 0)
        rc = dev_map_ports(ins, (uint16_t)base, ext ? 4 : 2, &rtc_ops, "rtc", err);
    if (rc >= 0)
        rc = dev_isa_irq_connect(ins, 0, (unsigned)irq);
    if (rc >= 0)
        rtc_arm_timers(s, now);
    return rc;
}

static int rtc_post_load(void *state, uint32_t version)
{
    struct rtc_state *s = state;
    s->index &= 0x7f;
    s->ext_index &= 0x7f;
    dev_irq_set(s->ins, 0, s->irq_level);
    rtc_arm_timers(s, tm_virtual_now(s->tm));
    return 0;
}

static void rtc_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct rtc_state *s = state;
    rtc_sync(s, tm_virtual_now(s->tm));
    const uint8_t *r = s->cmos;
    ixvm_pr(pr, "time %02x:%02x:%02x date %02x-%02x-%02x%02x dow %x  A=%02x B=%02x C=%02x  index=%02x nmi=%s\n",
            r[RTC_HOUR], r[RTC_MIN], r[RTC_SEC], r[RTC_DAY], r[RTC_MONTH], r[RTC_CENTURY], r[RTC_YEAR],
            r[RTC_DOW], r[RTC_REG_A], r[RTC_REG_B], r[RTC_REG_C], s->index,
            s->nmi_disabled ? "off" : "on");
    for (unsigned i = 0; i < RTC_CMOS_SIZE; i += 16) {
        ixvm_pr(pr, "%02x:", i);
        for (unsigned j = 0; j < 16; j++)
            ixvm_pr(pr, " %02x", r[i + j]);
        ixvm_pr(pr, "\n");
    }
}

static const struct ssm_field rtc_fields[] = {
    SSM_FIELD(MEM, struct rtc_state, cmos),
    SSM_FIELD(U8, struct rtc_state, index),
    SSM_FIELD(U8, struct rtc_state, ext_index),
    SSM_FIELD(U8, struct rtc_state, nmi_disabled),
    SSM_FIELD(U8, struct rtc_state, irq_level),
    SSM_FIELD(U64, struct rtc_state, base_sec),
    SSM_FIELD(U64, struct rtc_state, base_ns),
    SSM_FIELD(U64, struct rtc_state, shown_sec),
    SSM_FIELD(U64, struct rtc_state, periodic_next),
    SSM_FIELD_END,
};

const struct dev_reg dev_rtc = {
    .name = "rtc",
    .desc = "MC146818 real-time clock and CMOS RAM",
    .state_size = sizeof(struct rtc_state),
    .max_instances = 1,
    .init = rtc_init,
    .reset = rtc_reset,
    .ssm_fields = rtc_fields,
    .ssm_version = 1,
    .post_load = rtc_post_load,
    .info = rtc_info,
};
