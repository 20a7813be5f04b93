/* SPDX-License-Identifier: MIT */
/*
 * A fake dbgf_target for the debugger tests (unit tests include this
 * header; tests/gdb/fake_target.c serves it to a real gdb).  A 32-bit
 * flat-mode machine with 64 KiB of memory (linear = physical) and up to 4
 * vCPUs.  "Executing" an instruction advances EIP by one; a scripted list
 * of memory accesses (at EIP x, read or write address y) drives the
 * watchpoints, and scripted EIPs trigger a triple fault or an exit.
 * Continue runs vCPU 0 for at most run_limit instructions, then keeps
 * "running" until stop().  Stop events are delivered synchronously.
 * Every hook call is appended to log[] for the monitor tests.
 */
#ifndef IXVM_TESTS_FAKE_TARGET_H
#define IXVM_TESTS_FAKE_TARGET_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ixvm/dbgf_target.h"

#define FAKE_MEM_SIZE 0x10000u
#define FAKE_MAX_CPUS 4
#define FAKE_MAX_BPS 32
#define FAKE_MAX_HW 4

struct fake_access {
    uint32_t eip;       /* executing this EIP ... */
    glin_t addr;        /* ... accesses this address */
    uint32_t val;       /* written value (4 bytes) */
    bool write;
};

struct fake_bp {
    enum dbgf_bp_type type;
    glin_t addr;
    unsigned len;
    bool used;
};

struct fake_target {
    uint32_t ncpus;
    struct cpum_state cpu[FAKE_MAX_CPUS];
    uint8_t mem[FAKE_MEM_SIZE];
    struct fake_bp bps[FAKE_MAX_BPS];
    struct fake_access acc[8];
    unsigned nacc;
    uint32_t triple_fault_eip;   /* 0: none */
    uint32_t exit_eip;           /* 0: none */
    int exit_status;
    uint32_t run_limit;
    bool running;
    bool off;
    unsigned bits;
    dbgf_stop_fn *cb;
    void *cb_user;
    unsigned steps, conts, stops;
    char log[2048];
};

static inline void fake_log(struct fake_target *f, const char *fmt, ...) IXVM_PRINTF(2, 3);
static inline void fake_log(struct fake_target *f, const char *fmt, ...)
{
    size_t o = strlen(f->log);
    va_list ap;
    va_start(ap, fmt);
    if (o < sizeof(f->log))
        vsnprintf(f->log + o, sizeof(f->log) - o, fmt, ap);
    va_end(ap);
}

static inline void fake_report(struct fake_target *f, enum dbgf_stop_reason r, uint32_t cpu,
                               enum dbgf_bp_type t, uint64_t addr)
{
    struct dbgf_stop_event ev = { .reason = r, .cpu = cpu, .bp_type = t, .addr = addr,
                                  .status = f->exit_status };
    f->running = false;
    if (f->cb)
        f->cb(f->cb_user, &ev);
}

static inline struct fake_bp *fake_find_bp(struct fake_target *f, enum dbgf_bp_type t, glin_t a, unsigned len)
{
    for (unsigned i = 0; i < FAKE_MAX_BPS; i++)
        if (f->bps[i].used && f->bps[i].type == t && f->bps[i].addr == a && f->bps[i].len == len)
            return &f->bps[i];
    return NULL;
}

/* A watchpoint of a kind that fires for this access, or NULL. */
static inline struct fake_bp *fake_watch_hit(struct fake_target *f, glin_t a, bool write)
{
    for (unsigned i = 0; i < FAKE_MAX_BPS; i++) {
        struct fake_bp *b = &f->bps[i];
        bool kind = b->type == DBGF_BP_ACCESS || b->type == (write ? DBGF_BP_WRITE : DBGF_BP_READ);
        if (b->used && kind && a < b->addr + b->len && a + 4 > b->addr)
            return b;
    }
    return NULL;
}

/* Execute one instruction on cpu; true when it stopped (event sent). */
static inline bool fake_exec_one(struct fake_target *f, uint32_t cpu)
{
    struct cpum_state *s = &f->cpu[cpu];
    uint32_t eip = s->eip;
    if (f->triple_fault_eip && eip == f->triple_fault_eip) {
        fake_report(f, DBGF_STOP_TRIPLE_FAULT, cpu, DBGF_BP_SW, eip);
        return true;
    }
    if (f->exit_eip && eip == f->exit_eip) {
        f->off = true;
        fake_report(f, DBGF_STOP_EXITED, cpu, DBGF_BP_SW, 0);
        return true;
    }
    s->eip++;
    for (unsigned i = 0; i < f->nacc; i++) {
        struct fake_access *a = &f->acc[i];
        if (a->eip != eip)
            continue;
        if (a->write && a->addr + 4 <= FAKE_MEM_SIZE)
            memcpy(&f->mem[a->addr], &a->val, 4);
        struct fake_bp *w = fake_watch_hit(f, a->addr, a->write);
        if (w) {
            fake_report(f, DBGF_STOP_WATCHPOINT, cpu, w->type, a->addr);
            return true;
        }
    }
    return false;
}

/* Breakpoint at the next EIP of cpu, or NULL. */
static inline struct fake_bp *fake_bp_at(struct fake_target *f, uint32_t cpu)
{
    for (unsigned i = 0; i < FAKE_MAX_BPS; i++) {
        struct fake_bp *b = &f->bps[i];
        if (b->used && (b->type == DBGF_BP_SW || b->type == DBGF_BP_HW_EXEC) && b->addr == f->cpu[cpu].eip)
            return b;
    }
    return NULL;
}

static inline uint32_t fake_cpu_count(void *t)
{
    return ((struct fake_target *)t)->ncpus;
}

static inline int fake_get_regs(void *t, uint32_t cpu, struct cpum_state *out)
{
    struct fake_target *f = t;
    if (cpu >= f->ncpus)
        return IXVM_ERR_INVALID_PARAMETER;
    *out = f->cpu[cpu];
    return 0;
}

static inline int fake_set_regs(void *t, uint32_t cpu, const struct cpum_state *in)
{
    struct fake_target *f = t;
    if (cpu >= f->ncpus)
        return IXVM_ERR_INVALID_PARAMETER;
    f->cpu[cpu] = *in;
    return 0;
}

static inline int fake_read(void *t, gphys_t addr, void *buf, size_t len)
{
    struct fake_target *f = t;
    if (addr >= FAKE_MEM_SIZE)
        return 0;
    size_t n = len < FAKE_MEM_SIZE - addr ? len : FAKE_MEM_SIZE - (size_t)addr;
    memcpy(buf, &f->mem[addr], n);
    return (int)n;
}

static inline int fake_write(void *t, gphys_t addr, const void *buf, size_t len)
{
    struct fake_target *f = t;
    if (addr >= FAKE_MEM_SIZE)
        return 0;
    size_t n = len < FAKE_MEM_SIZE - addr ? len : FAKE_MEM_SIZE - (size_t)addr;
    memcpy(&f->mem[addr], buf, n);
    return (int)n;
}

static inline int fake_read_lin(void *t, uint32_t cpu, glin_t addr, void *buf, size_t len)
{
    return fake_read(t, addr, buf, len);
}

static inline int fake_write_lin(void *t, uint32_t cpu, glin_t addr, const void *buf, size_t len)
{
    return fake_write(t, addr, buf, len);
}

static inline int fake_bp_set(void *t, enum dbgf_bp_type type, glin_t addr, unsigned len)
{
    struct fake_target *f = t;
    fake_log(f, "bp_set %s %#x %u\n", dbgf_bp_type_name(type), addr, len);
    if (fake_find_bp(f, type, addr, len))
        return 0;
    unsigned hw = 0;
    for (unsigned i = 0; i < FAKE_MAX_BPS; i++)
        hw += f->bps[i].used && f->bps[i].type != DBGF_BP_SW;
    if (type != DBGF_BP_SW && hw >= FAKE_MAX_HW)
        return IXVM_ERR_BUSY;
    for (unsigned i = 0; i < FAKE_MAX_BPS; i++)
        if (!f->bps[i].used) {
            f->bps[i] = (struct fake_bp){ type, addr, len, true };
            return 0;
        }
    return IXVM_ERR_BUSY;
}

static inline int fake_bp_clear(void *t, enum dbgf_bp_type type, glin_t addr, unsigned len)
{
    struct fake_target *f = t;
    fake_log(f, "bp_clear %s %#x %u\n", dbgf_bp_type_name(type), addr, len);
    struct fake_bp *b = fake_find_bp(f, type, addr, len);
    if (!b)
        return IXVM_ERR_NOT_FOUND;
    b->used = false;
    return 0;
}

static inline int fake_stop(void *t)
{
    struct fake_target *f = t;
    f->stops++;
    fake_report(f, DBGF_STOP_SIGNAL, 0, DBGF_BP_SW, 0);
    return 0;
}

static inline int fake_cont(void *t)
{
    struct fake_target *f = t;
    f->conts++;
    if (f->off)
        return IXVM_ERR_INVALID_STATE;
    f->running = true;
    /* The first instruction runs even if a breakpoint sits on it (resume). */
    for (uint32_t i = 0; i < f->run_limit; i++) {
        if (i) {
            struct fake_bp *b = fake_bp_at(f, 0);
            if (b) {
                fake_report(f, DBGF_STOP_BREAKPOINT, 0, b->type, b->addr);
                return 0;
            }
        }
        if (fake_exec_one(f, 0))
            return 0;
    }
    return 0;   /* still "running": stop() ends it */
}

static inline int fake_step(void *t, uint32_t cpu)
{
    struct fake_target *f = t;
    if (cpu >= f->ncpus || f->off)
        return IXVM_ERR_INVALID_PARAMETER;
    f->steps++;
    fake_log(f, "step %u\n", cpu);
    if (!fake_exec_one(f, cpu))
        fake_report(f, DBGF_STOP_STEP, cpu, DBGF_BP_SW, 0);
    return 0;
}

static inline void fake_set_stop_cb(void *t, dbgf_stop_fn *fn, void *user)
{
    struct fake_target *f = t;
    f->cb = fn;
    f->cb_user = user;
}

static inline unsigned fake_cpu_bits(void *t, uint32_t cpu)
{
    return ((struct fake_target *)t)->bits;
}

static inline int fake_reset(void *t)
{
    fake_log(t, "reset\n");
    return 0;
}

static inline int fake_power_off(void *t)
{
    struct fake_target *f = t;
    fake_log(f, "power_off\n");
    f->off = true;
    return 0;
}

static inline int fake_screenshot(void *t, const char *file)
{
    fake_log(t, "screenshot %s\n", file);
    return 0;
}

static inline int fake_sendkey(void *t, const char *chord)
{
    fake_log(t, "sendkey %s\n", chord);
    return strcmp(chord, "bogus") == 0 ? IXVM_ERR_NOT_FOUND : 0;
}

static inline int fake_trace_set(void *t, bool on)
{
    fake_log(t, "trace %s\n", on ? "on" : "off");
    return 0;
}

static inline int fake_log_spec(void *t, const char *spec, struct ixvm_errinfo *err)
{
    fake_log(t, "log %s\n", spec);
    if (strstr(spec, "nosuch"))
        return ixvm_errinfo_set(err, IXVM_ERR_UNKNOWN_KEY, "unknown log group 'nosuch'");
    return 0;
}

static const struct dbgf_target_ops fake_target_ops = {
    .cpu_count = fake_cpu_count, .get_regs = fake_get_regs, .set_regs = fake_set_regs,
    .read_lin = fake_read_lin, .write_lin = fake_write_lin, .read_phys = fake_read, .write_phys = fake_write,
    .bp_set = fake_bp_set, .bp_clear = fake_bp_clear, .stop = fake_stop, .cont = fake_cont,
    .step = fake_step, .set_stop_cb = fake_set_stop_cb, .cpu_bits = fake_cpu_bits, .reset = fake_reset,
    .power_off = fake_power_off, .screenshot = fake_screenshot, .sendkey = fake_sendkey,
    .trace_set = fake_trace_set, .log_spec = fake_log_spec,
};

/* Flat 32-bit protected mode, EIP 0x1000, memory bytes = low address byte. */
static inline void fake_init(struct fake_target *f, uint32_t ncpus)
{
    memset(f, 0, sizeof(*f));
    f->ncpus = ncpus;
    f->bits = 32;
    f->run_limit = 0x100;
    for (uint32_t c = 0; c < ncpus; c++) {
        struct cpum_state *s = &f->cpu[c];
        s->cr0 = CPUM_CR0_PE | CPUM_CR0_ET;
        s->eip = 0x1000 + 0x100 * c;
        s->eflags = CPUM_EFL_1;
        s->gpr[CPUM_ESP] = 0x8000;
        for (int r = 0; r < CPUM_SREG_COUNT; r++)
            s->seg[r] = (struct cpum_seg){ 0x10, 0, 0xffffffff, CPUM_SEG_ATTR_D | CPUM_SEG_ATTR_P | 0x13 };
        s->seg[CPUM_CS] = (struct cpum_seg){ 0x08, 0, 0xffffffff, CPUM_SEG_ATTR_D | CPUM_SEG_ATTR_P | 0x1b };
        s->gdtr = (struct cpum_dtr){ 0x500, 0x17 };
        s->cr3 = 0x3000;
    }
    for (uint32_t i = 0; i < FAKE_MEM_SIZE; i++)
        f->mem[i] = (uint8_t)i;
}

static inline struct dbgf_target fake_target(struct fake_target *f)
{
    return (struct dbgf_target){ &fake_target_ops, f };
}

#endif
