/* SPDX-License-Identifier: MIT */
/*
 * Debug registers and debug exceptions (SDM Vol. 3A chapter 17 "Debug,
 * Branch Profile, TSC...", chapter 18 in recent editions): MOV DRn with the
 * DR4/DR5 aliases and DR7.GD general detect (17.2.4, 17.3.1.5), instruction
 * breakpoints as faults suppressed by EFLAGS.RF (17.3.1.1), data and I/O
 * breakpoints as traps after the instruction (17.3.1.2, 17.3.1.3) and the
 * single-step trap (17.3.1.4).
 *
 * Cost model (IEM-DESIGN.md 9): nothing here runs per instruction unless
 * EFLAGS.TF/RF or a DR7 enable bit is set.  The dispatcher checks TF|RF
 * and c->dbg_armed once per block entry; when set it runs one-instruction
 * blocks bracketed by iem_dbg_before/iem_dbg_after.  Data breakpoints mark
 * their pages slow in the soft TLB (c->dbg_watch), so only accesses to
 * those pages reach iem_dbg_data through the memory slow paths.
 */
#define LOG_GROUP LOG_GROUP_IEM
#include "iem/iem_flags.h"
#include "iem/iem_mem.h"
#include "ixvm/log.h"

#define DR6_BD  0x2000u
#define DR6_BS  0x4000u
#define DR7_GD  0x2000u
#define DR6_FIXED 0xffff0ff0u   /* reserved bits that read as 1 (P6) */

enum { IEM_BP_X = 0, IEM_BP_W = 1, IEM_BP_IO = 2, IEM_BP_RW = 3 };

static unsigned iem_bp_rw(uint32_t dr7, unsigned n) { return (dr7 >> (16 + 4 * n)) & 3u; }
/* LEN: 00 one byte, 01 two, 11 four, 10 eight (undefined on P6; treated as 8). */
static uint32_t iem_bp_len(uint32_t dr7, unsigned n)
{
    static const uint32_t len[4] = { 1, 2, 8, 4 };
    return len[(dr7 >> (18 + 4 * n)) & 3u];
}
/* Breakpoints enabled by L or G. */
static unsigned iem_bp_enabled(uint32_t dr7)
{
    unsigned m = 0;
    for (unsigned n = 0; n < 4; n++)
        if (dr7 & (3u << (2 * n)))
            m |= 1u << n;
    return m;
}

/* Does [a, a + n) overlap the breakpoint range of DRn (address aligned down to LEN)? */
static bool iem_bp_overlaps(const struct iem_cpu *c, unsigned n, uint32_t a, uint32_t size)
{
    uint32_t len = iem_bp_len(c->s->dr[7], n);
    uint32_t start = c->s->dr[n] & ~(len - 1);
    return a < start + len && start < a + size;
}

void iem_dbg_sync(struct iem_cpu *c)
{
    uint32_t dr7 = c->s->dr[7];
    bool armed = (dr7 & 0xffu) != 0;
    bool watch = false;
    for (unsigned n = 0; armed && n < 4; n++) {
        unsigned rw = iem_bp_rw(dr7, n);
        watch |= rw == IEM_BP_W || rw == IEM_BP_RW;
    }
    bool flush = watch || c->dbg_watch;
    /* The debugger's bits (iem_dbgf.c) stay as they are. */
    c->dbg_armed = (uint8_t)((armed ? IEM_DBG_ON_GUEST : 0) | (c->dbg_armed & ~IEM_DBG_ON_GUEST));
    c->dbg_watch = (uint8_t)((watch ? IEM_DBG_ON_GUEST : 0) | (c->dbg_watch & ~IEM_DBG_ON_GUEST));
    if (flush)
        iem_tlb_flush(c, true);   /* refill with (or without) the slow data pages */
}

bool iem_dbg_watched(const struct iem_cpu *c, uint32_t la)
{
    if ((c->dbg_watch & IEM_DBG_ON_DBGF) && iem_dbgf_watched(c, la))
        return true;   /* a debugger watchpoint (iem_dbgf.c) */
    uint32_t dr7 = c->s->dr[7];
    for (unsigned n = 0; n < 4; n++) {
        unsigned rw = iem_bp_rw(dr7, n);
        if ((rw == IEM_BP_W || rw == IEM_BP_RW) && ((c->s->dr[n] ^ la) & 0xfffff000u) == 0)
            return true;
    }
    return false;
}

/* Raise #DB.  GD is cleared on entry to the handler (17.2.4). */
static _Noreturn void iem_dbg_raise(struct iem_cpu *c, const struct iem_ix *i, unsigned flags)
{
    c->s->dr[7] &= ~DR7_GD;
    iem_raise(c, i, IEM_X_DB, 0, flags);
}

/* DR4/DR5 alias DR6/DR7 unless CR4.DE (#UD); DR7.GD: #DB fault with BD. */
static unsigned iem_dr_access(struct iem_cpu *c, const struct iem_ix *i, unsigned n)
{
    if (n == 4 || n == 5) {
        if (c->s->cr4 & CPUM_CR4_DE)
            iem_raise_ud(c, i);
        n += 2;
    }
    if (c->s->dr[7] & DR7_GD) {
        c->s->dr[6] |= DR6_BD;
        iem_dbg_raise(c, i, 0);
    }
    return n;
}

uint32_t iem_dbg_mov_from(struct iem_cpu *c, const struct iem_ix *i, unsigned n)
{
    return c->s->dr[iem_dr_access(c, i, n)];
}

void iem_dbg_mov_to(struct iem_cpu *c, const struct iem_ix *i, unsigned n, uint32_t v)
{
    n = iem_dr_access(c, i, n);
    if (n == 6)
        v = (v & 0x0000e00fu) | DR6_FIXED;
    else if (n == 7)
        v = (v & 0xffff2bffu) | 0x400u;
    c->s->dr[n] = v;
    if (n == 7 || (n < 4 && c->dbg_watch))
        iem_dbg_sync(c);
}

bool iem_dbg_before(struct iem_cpu *c)
{
    struct cpum_state *s = c->s;
    bool tf = (s->eflags & CPUM_EFL_TF) != 0;
    c->dbg_hit = 0;
    if (c->dbg_armed) {
        /* Execute breakpoints match the first byte of the instruction (17.2.5). */
        uint32_t lin = s->seg[CPUM_CS].base + s->eip, dr7 = s->dr[7];
        unsigned hits = 0;
        for (unsigned n = 0; n < 4; n++)
            if (iem_bp_rw(dr7, n) == IEM_BP_X && s->dr[n] == lin)
                hits |= 1u << n;
        if ((hits & iem_bp_enabled(dr7)) && !(s->eflags & CPUM_EFL_RF)) {
            /* Fault before the instruction; B0-B3 also for matching disabled ones. */
            s->dr[6] = (s->dr[6] & ~0xfu) | hits;
            iem_dbg_raise(c, NULL, IEM_XF_NORF);
        }
        /* Disabled matches are reported with a trap of this instruction (17.2.3). */
        c->dbg_hit = (uint8_t)(hits & ~iem_bp_enabled(dr7));
    }
    /* RF is cleared once the breakpoint check passed (17.3.1.1). */
    s->eflags &= ~CPUM_EFL_RF;
    return tf;
}

void iem_dbg_after(struct iem_cpu *c, bool tf)
{
    if (c->halted)
        return;   /* HLT: the trap would be taken only at the wake-up; not modelled */
    unsigned hits = c->dbg_hit & 0xfu;
    if (c->dbg_hit & IEM_DBG_NO_STEP)
        tf = false;
    c->dbg_hit = 0;
    if (!tf && !(hits & iem_bp_enabled(c->s->dr[7])))
        return;
    /* One trap reports every condition: BS and the data/I/O matches. */
    c->s->dr[6] = (c->s->dr[6] & ~0xfu) | hits | (tf ? DR6_BS : 0);
    iem_dbg_raise(c, NULL, IEM_XF_TRAP);
}

void iem_dbg_data(struct iem_cpu *c, uint32_t la, unsigned size, bool write)
{
    if (c->dbg_watch & IEM_DBG_ON_DBGF)
        iem_dbgf_data(c, la, size, write);   /* the debugger's, apart from DR7 */
    uint32_t dr7 = c->s->dr[7];
    for (unsigned n = 0; n < 4; n++) {
        unsigned rw = iem_bp_rw(dr7, n);
        if ((rw == IEM_BP_RW || (rw == IEM_BP_W && write)) && iem_bp_overlaps(c, n, la, size))
            c->dbg_hit |= (uint8_t)(1u << n);
    }
}

void iem_dbg_io(struct iem_cpu *c, uint16_t port, unsigned size)
{
    /* RW=10 means I/O only with CR4.DE (17.2.4). */
    if (!(c->s->cr4 & CPUM_CR4_DE))
        return;
    uint32_t dr7 = c->s->dr[7];
    for (unsigned n = 0; n < 4; n++)
        if (iem_bp_rw(dr7, n) == IEM_BP_IO && iem_bp_overlaps(c, n, port, size))
            c->dbg_hit |= (uint8_t)(1u << n);
}
