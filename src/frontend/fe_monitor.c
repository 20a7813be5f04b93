/* SPDX-License-Identifier: MIT */
/*
 * Monitor core: one command table (name, argument help, description,
 * handler), a tokenizer, address expressions (numbers, $registers,
 * symbols, + and -), and the commands themselves, all against the abstract
 * dbgf_target so they are tested with a fake.  Memory dumps follow the
 * x/FMT convention (count, format x d u c i, size b h w g).  Every error
 * is a printed message naming the thing and the reason; no input crashes
 * (tests/unit/test_fe_monitor.c fuzzes the parser).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_monitor.h"

#define MON_MAX_ARGS 8
#define MON_MAX_BPS 64
#define MON_X_MAX_COUNT 4096     /* items per x command */
#define MON_DISAS_MAX 1000

struct mon_bp {
    unsigned id;                  /* 0: free slot */
    enum dbgf_bp_type type;
    glin_t addr;
    unsigned len;
};

struct fe_monitor {
    struct dbgf_target tgt;
    struct dbgf_info_reg *info;
    const struct dbgf_sym *sym;
    const struct dbgf_flight *flight;
    struct dbgf_disas *disas;
    uint32_t cpu;                 /* selected vCPU */
    char last_fmt, last_size;     /* x defaults, sticky as in other monitors */
    unsigned next_bp_id;
    struct mon_bp bps[MON_MAX_BPS];
};

struct mon_args {
    int argc;
    char *argv[MON_MAX_ARGS];
    const char *fmt;              /* text after '/' in "x/4xw", or NULL */
    const char *rest;             /* the line after the command name (info, log, sendkey) */
};

typedef int mon_cmd_fn(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr);

struct mon_cmd {
    const char *name, *args, *help;
    mon_cmd_fn *fn;
    int min_args, max_args;
};

static int mon_err(const struct ixvm_printer *pr, int rc, const char *fmt, ...) IXVM_PRINTF(3, 4);
static int mon_err(const struct ixvm_printer *pr, int rc, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ixvm_pr(pr, "error: %s\n", buf);
    return rc;
}

/* A hook the target lacks. */
#define MON_NEED(m, pr, hook, what)                                                          \
    do {                                                                                     \
        if (!(m)->tgt.ops->hook)                                                             \
            return mon_err(pr, IXVM_ERR_NOT_SUPPORTED, "%s: not supported by this target", what); \
    } while (0)

static int mon_status(const struct ixvm_printer *pr, int rc, const char *what)
{
    if (rc < 0)
        return mon_err(pr, rc, "%s: %s", what, ixvm_strerror(rc));
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Expressions                                                               */
/* ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    size_t off, size;
} mon_regs[] = {
#define MON_REG(n, field) { n, offsetof(struct cpum_state, field), sizeof(((struct cpum_state *)0)->field) }
    MON_REG("eax", gpr[CPUM_EAX]), MON_REG("ecx", gpr[CPUM_ECX]), MON_REG("edx", gpr[CPUM_EDX]),
    MON_REG("ebx", gpr[CPUM_EBX]), MON_REG("esp", gpr[CPUM_ESP]), MON_REG("ebp", gpr[CPUM_EBP]),
    MON_REG("esi", gpr[CPUM_ESI]), MON_REG("edi", gpr[CPUM_EDI]), MON_REG("eip", eip),
    MON_REG("eflags", eflags), MON_REG("cr0", cr0), MON_REG("cr2", cr2), MON_REG("cr3", cr3),
    MON_REG("cr4", cr4), MON_REG("cs", seg[CPUM_CS].sel), MON_REG("ds", seg[CPUM_DS].sel),
    MON_REG("es", seg[CPUM_ES].sel), MON_REG("ss", seg[CPUM_SS].sel), MON_REG("fs", seg[CPUM_FS].sel),
    MON_REG("gs", seg[CPUM_GS].sel),
#undef MON_REG
};

static int mon_get_regs(struct fe_monitor *m, struct cpum_state *s, const struct ixvm_printer *pr)
{
    MON_NEED(m, pr, get_regs, "registers");
    int rc = m->tgt.ops->get_regs(m->tgt.t, m->cpu, s);
    return rc < 0 ? mon_err(pr, rc, "cannot read the registers of cpu %u: %s", m->cpu, ixvm_strerror(rc)) : 0;
}

/* One term: number, $reg, $pc, or a symbol. */
static int mon_term(struct fe_monitor *m, const char *t, size_t len, uint64_t *v, const struct ixvm_printer *pr)
{
    char buf[128];
    if (!len || len >= sizeof(buf))
        return mon_err(pr, IXVM_ERR_SYNTAX, "bad expression: empty or too long term");
    memcpy(buf, t, len);
    buf[len] = '\0';
    if (isdigit((unsigned char)buf[0])) {
        char *end;
        unsigned long long x = strtoull(buf, &end, 0);
        if (*end)
            return mon_err(pr, IXVM_ERR_SYNTAX, "bad number '%s'", buf);
        *v = x;
        return 0;
    }
    if (buf[0] == '$') {
        struct cpum_state s;
        const char *name = strcmp(buf + 1, "pc") == 0 ? "eip" : buf + 1;
        for (size_t i = 0; i < IXVM_ARRAY_SIZE(mon_regs); i++) {
            if (strcmp(name, mon_regs[i].name) != 0)
                continue;
            int rc = mon_get_regs(m, &s, pr);
            if (rc)
                return rc;
            uint32_t x = 0;
            memcpy(&x, (const uint8_t *)&s + mon_regs[i].off, mon_regs[i].size);
            *v = x;
            return 0;
        }
        return mon_err(pr, IXVM_ERR_NOT_FOUND, "unknown register '%s'", buf);
    }
    if (dbgf_sym_lookup_name(m->sym, buf, v) == 0)
        return 0;
    return mon_err(pr, IXVM_ERR_NOT_FOUND, "unknown symbol '%s'%s", buf, m->sym ? "" : " (no symbols loaded)");
}

/* term {(+|-) term} */
static int mon_expr(struct fe_monitor *m, const char *e, uint64_t *v, const struct ixvm_printer *pr)
{
    uint64_t acc = 0;
    int sign = 1;
    for (const char *p = e;;) {
        size_t len = strcspn(p, "+-");
        uint64_t t;
        int rc = mon_term(m, p, len, &t, pr);
        if (rc)
            return rc;
        acc = sign > 0 ? acc + t : acc - t;
        p += len;
        if (!*p)
            break;
        sign = *p++ == '+' ? 1 : -1;
    }
    *v = acc;
    return 0;
}

static int mon_expr_u32(struct fe_monitor *m, const char *e, uint32_t *v, const struct ixvm_printer *pr)
{
    uint64_t x;
    int rc = mon_expr(m, e, &x, pr);
    if (rc)
        return rc;
    if (x > UINT32_MAX)
        return mon_err(pr, IXVM_ERR_OUT_OF_RANGE, "'%s' = %#llx does not fit in 32 bits", e, (unsigned long long)x);
    *v = (uint32_t)x;
    return 0;
}

static int mon_count(const char *s, unsigned max, unsigned *out, const struct ixvm_printer *pr)
{
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (!isdigit((unsigned char)s[0]) || *end || v == 0 || v > max)
        return mon_err(pr, IXVM_ERR_OUT_OF_RANGE, "count '%s' must be 1..%u", s, max);
    *out = (unsigned)v;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Memory                                                                    */
/* ------------------------------------------------------------------------- */

/* Read from linear (current vCPU) or physical memory; bytes read or error. */
static int mon_read(struct fe_monitor *m, bool phys, uint64_t addr, void *buf, size_t len)
{
    if (phys)
        return m->tgt.ops->read_phys ? m->tgt.ops->read_phys(m->tgt.t, addr, buf, len) : IXVM_ERR_NOT_SUPPORTED;
    if (addr > UINT32_MAX)
        return 0;
    return m->tgt.ops->read_lin ? m->tgt.ops->read_lin(m->tgt.t, m->cpu, (glin_t)addr, buf, len)
                                : IXVM_ERR_NOT_SUPPORTED;
}

static unsigned mon_bits(struct fe_monitor *m)
{
    unsigned b = m->tgt.ops->cpu_bits ? m->tgt.ops->cpu_bits(m->tgt.t, m->cpu) : 32;
    return b == 16 ? 16 : 32;
}

/* count instructions from addr, one line each. */
static int mon_disas_range(struct fe_monitor *m, bool phys, uint64_t addr, unsigned count,
                           const struct ixvm_printer *pr)
{
    unsigned bits = mon_bits(m);
    for (unsigned i = 0; i < count; i++) {
        uint8_t b[DBGF_TRACE_MAX_INSN];
        int n = mon_read(m, phys, addr, b, sizeof(b));
        if (n <= 0)
            return mon_err(pr, n < 0 ? n : IXVM_ERR_IO, "cannot read memory at %#llx", (unsigned long long)addr);
        char line[384];
        int len = dbgf_disas_line(m->disas, bits, addr, b, (size_t)n, line, sizeof(line));
        ixvm_pr(pr, "%s\n", line);
        addr += len > 0 ? (unsigned)len : 1u;
    }
    return 0;
}

/* Parse "/[N][fmt][size]" into count/fmt/size (sticky defaults). */
static int mon_parse_fmt(struct fe_monitor *m, const char *f, unsigned *count, char *fmt, char *size,
                         const struct ixvm_printer *pr)
{
    *count = 1;
    *fmt = m->last_fmt;
    *size = m->last_size;
    if (!f)
        return 0;
    const char *p = f;
    if (isdigit((unsigned char)*p)) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (v == 0 || v > MON_X_MAX_COUNT)
            return mon_err(pr, IXVM_ERR_OUT_OF_RANGE, "x/%s: count must be 1..%u", f, MON_X_MAX_COUNT);
        *count = (unsigned)v;
        p = end;
    }
    for (; *p; p++) {
        if (strchr("xduoci", *p))
            *fmt = *p;
        else if (strchr("bhwg", *p))
            *size = *p;
        else
            return mon_err(pr, IXVM_ERR_SYNTAX, "x/%s: unknown format letter '%c' (use x d u o c i, b h w g)",
                           f, *p);
    }
    m->last_fmt = *fmt == 'i' ? m->last_fmt : *fmt;
    m->last_size = *size;
    return 0;
}

static void mon_print_item(char fmt, unsigned size, uint64_t v, char *out, size_t cap)
{
    static const int hexw[9] = { 0, 2, 4, 0, 8, 0, 0, 0, 16 };
    int64_t sv = size == 1 ? (int8_t)v : size == 2 ? (int16_t)v : size == 4 ? (int32_t)v : (int64_t)v;
    if (fmt == 'd')
        snprintf(out, cap, "%lld", (long long)sv);
    else if (fmt == 'u')
        snprintf(out, cap, "%llu", (unsigned long long)v);
    else if (fmt == 'o')
        snprintf(out, cap, "%llo", (unsigned long long)v);
    else
        snprintf(out, cap, "%0*llx", hexw[size], (unsigned long long)v);
}

/* x/xp: dump count items of size bytes, 16 bytes per line. */
static int mon_dump(struct fe_monitor *m, bool phys, const struct mon_args *a, const struct ixvm_printer *pr)
{
    unsigned count;
    char fmt, size;
    uint64_t addr;
    int rc = mon_parse_fmt(m, a->fmt, &count, &fmt, &size, pr);
    if (!rc)
        rc = mon_expr(m, a->argv[1], &addr, pr);
    if (rc)
        return rc;
    if (fmt == 'i')
        return mon_disas_range(m, phys, addr, count, pr);
    unsigned isz = fmt == 'c' ? 1 : size == 'b' ? 1 : size == 'h' ? 2 : size == 'w' ? 4 : 8;
    unsigned per_line = fmt == 'c' ? 16 : 16 / isz;
    for (unsigned i = 0; i < count; i += per_line) {
        uint8_t buf[16];
        unsigned n = count - i < per_line ? count - i : per_line;
        uint64_t at = addr + (uint64_t)i * isz;
        int got = mon_read(m, phys, at, buf, n * isz);
        if (got < (int)isz)
            return mon_err(pr, got < 0 ? got : IXVM_ERR_IO, "cannot read memory at %#llx", (unsigned long long)at);
        n = (unsigned)got / isz;
        char line[256];
        size_t o = (size_t)snprintf(line, sizeof(line), "%08llx:", (unsigned long long)at);
        for (unsigned k = 0; k < n; k++) {
            if (fmt == 'c') {
                if (k == 0)
                    line[o++] = ' ';
                line[o++] = isprint(buf[k]) ? (char)buf[k] : '.';
                line[o] = '\0';
                continue;
            }
            uint64_t v = 0;
            memcpy(&v, buf + k * isz, isz);
            char item[32];
            mon_print_item(fmt, isz, v, item, sizeof(item));
            o += (size_t)snprintf(line + o, sizeof(line) - o, " %s", item);
        }
        ixvm_pr(pr, "%s\n", line);
        if (n < (count - i < per_line ? count - i : per_line))
            return mon_err(pr, IXVM_ERR_IO, "cannot read memory at %#llx",
                           (unsigned long long)(at + (uint64_t)n * isz));
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Commands                                                                  */
/* ------------------------------------------------------------------------- */

static int mon_cmd_help(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr);

static int mon_cmd_info(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    if (!m->info)
        return mon_err(pr, IXVM_ERR_NOT_SUPPORTED, "info: no info items in this session");
    if (a->argc < 2) {
        dbgf_info_list(m->info, pr);
        return 0;
    }
    /* The item's own arguments: the rest of the line after its name. */
    const char *args = a->rest + strspn(a->rest, " \t");
    args += strcspn(args, " \t");
    args += strspn(args, " \t");
    int rc = dbgf_info_call(m->info, a->argv[1], *args ? args : NULL, pr);
    return rc < 0 ? rc : 0;   /* unknown items print their own message */
}

static int mon_cmd_x(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    return mon_dump(m, false, a, pr);
}

static int mon_cmd_xp(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    return mon_dump(m, true, a, pr);
}

static int mon_cmd_disas(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    uint64_t addr;
    unsigned count = 10;
    int rc;
    if (a->argc > 1) {
        rc = mon_expr(m, a->argv[1], &addr, pr);
    } else {
        struct cpum_state s;
        rc = mon_get_regs(m, &s, pr);
        addr = (uint32_t)(s.seg[CPUM_CS].base + s.eip);
    }
    if (!rc && a->argc > 2)
        rc = mon_count(a->argv[2], MON_DISAS_MAX, &count, pr);
    return rc ? rc : mon_disas_range(m, false, addr, count, pr);
}

static int mon_cmd_regs(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    static const char *const sn[CPUM_SREG_COUNT] = { "es", "cs", "ss", "ds", "fs", "gs" };
    static const unsigned order[CPUM_SREG_COUNT] = { CPUM_CS, CPUM_SS, CPUM_DS, CPUM_ES, CPUM_FS, CPUM_GS };
    struct cpum_state s;
    int rc = mon_get_regs(m, &s, pr);
    if (rc)
        return rc;
    struct dbgf_trace_rec r;
    dbgf_trace_rec_from_state(&r, &s);
    const uint32_t *g = s.gpr;
    ixvm_pr(pr, "cpu%u %s cpl=%u\n", m->cpu, dbgf_trace_mode_name(r.mode), s.cpl);
    ixvm_pr(pr, "eax=%08x ebx=%08x ecx=%08x edx=%08x\nesi=%08x edi=%08x ebp=%08x esp=%08x\n",
            g[CPUM_EAX], g[CPUM_EBX], g[CPUM_ECX], g[CPUM_EDX], g[CPUM_ESI], g[CPUM_EDI], g[CPUM_EBP], g[CPUM_ESP]);
    ixvm_pr(pr, "eip=%08x eflags=%08x\n", s.eip, s.eflags);
    for (unsigned i = 0; i < CPUM_SREG_COUNT; i++) {
        const struct cpum_seg *sg = &s.seg[order[i]];
        ixvm_pr(pr, "%s=%04x base=%08x limit=%08x attr=%05x\n", sn[order[i]], sg->sel, sg->base, sg->limit,
                sg->attr);
    }
    ixvm_pr(pr, "cr0=%08x cr2=%08x cr3=%08x cr4=%08x\n", s.cr0, s.cr2, s.cr3, s.cr4);
    ixvm_pr(pr, "gdtr=%08x/%04x idtr=%08x/%04x\n", s.gdtr.base, s.gdtr.limit, s.idtr.base, s.idtr.limit);
    return 0;
}

static struct mon_bp *mon_bp_slot(struct fe_monitor *m)
{
    for (unsigned i = 0; i < MON_MAX_BPS; i++)
        if (!m->bps[i].id)
            return &m->bps[i];
    return NULL;
}

static int mon_add_bp(struct fe_monitor *m, enum dbgf_bp_type type, const struct mon_args *a,
                      const struct ixvm_printer *pr)
{
    MON_NEED(m, pr, bp_set, a->argv[0]);
    if (a->argc < 2) {
        for (unsigned i = 0; i < MON_MAX_BPS; i++)
            if (m->bps[i].id)
                ixvm_pr(pr, "%u: %s %#x len %u\n", m->bps[i].id, dbgf_bp_type_name(m->bps[i].type),
                        m->bps[i].addr, m->bps[i].len);
        return 0;
    }
    uint32_t addr;
    unsigned len = 1;
    int rc = mon_expr_u32(m, a->argv[1], &addr, pr);
    if (rc)
        return rc;
    if (a->argc > 2 && (type == DBGF_BP_SW || type == DBGF_BP_HW_EXEC))
        return mon_err(pr, IXVM_ERR_SYNTAX, "%s: takes only an address", a->argv[0]);
    if (a->argc > 2 && (mon_count(a->argv[2], 8, &len, pr) || (len & (len - 1))))
        return mon_err(pr, IXVM_ERR_OUT_OF_RANGE, "%s: length must be 1, 2, 4 or 8", a->argv[0]);
    struct mon_bp *b = mon_bp_slot(m);
    if (!b)
        return mon_err(pr, IXVM_ERR_BUSY, "%s: too many breakpoints (%u)", a->argv[0], MON_MAX_BPS);
    rc = m->tgt.ops->bp_set(m->tgt.t, type, addr, len);
    if (rc < 0)
        return mon_err(pr, rc, "%s %#x: %s", a->argv[0], addr,
                       rc == IXVM_ERR_BUSY ? "no free debug register" : ixvm_strerror(rc));
    *b = (struct mon_bp){ ++m->next_bp_id, type, addr, len };
    char sym[128];
    bool has_sym = dbgf_sym_format(m->sym, addr, sym, sizeof(sym)) == 0;
    ixvm_pr(pr, "%s %u at %#x%s%s%s\n", type == DBGF_BP_SW || type == DBGF_BP_HW_EXEC ? "breakpoint" : "watchpoint",
            b->id, addr, has_sym ? " <" : "", has_sym ? sym : "", has_sym ? ">" : "");
    return 0;
}

static int mon_cmd_break(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    static const struct { const char *name; enum dbgf_bp_type type; } kinds[] = {
        { "break", DBGF_BP_SW }, { "hbreak", DBGF_BP_HW_EXEC }, { "watch", DBGF_BP_WRITE },
        { "rwatch", DBGF_BP_READ }, { "awatch", DBGF_BP_ACCESS },
    };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(kinds); i++)
        if (strcmp(a->argv[0], kinds[i].name) == 0)
            return mon_add_bp(m, kinds[i].type, a, pr);
    return IXVM_ERR_NOT_FOUND;
}

static int mon_cmd_delete(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    bool all = strcmp(a->argv[1], "all") == 0;
    unsigned id = 0;
    if (!all && mon_count(a->argv[1], UINT32_MAX, &id, pr))
        return IXVM_ERR_OUT_OF_RANGE;
    bool found = false;
    for (unsigned i = 0; i < MON_MAX_BPS; i++) {
        struct mon_bp *b = &m->bps[i];
        if (!b->id || (!all && b->id != id))
            continue;
        if (m->tgt.ops->bp_clear)
            (void)m->tgt.ops->bp_clear(m->tgt.t, b->type, b->addr, b->len);
        b->id = 0;
        found = true;
    }
    if (!found && !all)
        return mon_err(pr, IXVM_ERR_NOT_FOUND, "delete: no breakpoint %u", id);
    return 0;
}

static int mon_cmd_step(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    unsigned n = 1;
    MON_NEED(m, pr, step, "step");
    if (a->argc > 1 && mon_count(a->argv[1], 1000000, &n, pr))
        return IXVM_ERR_OUT_OF_RANGE;
    for (unsigned i = 0; i < n; i++) {
        int rc = m->tgt.ops->step(m->tgt.t, m->cpu);
        if (rc < 0)
            return mon_err(pr, rc, "step: cpu %u: %s", m->cpu, ixvm_strerror(rc));
    }
    struct cpum_state s;
    if (mon_get_regs(m, &s, pr))
        return 0;
    return mon_disas_range(m, false, (uint32_t)(s.seg[CPUM_CS].base + s.eip), 1, pr);
}

static int mon_cmd_cont(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    MON_NEED(m, pr, cont, "cont");
    return mon_status(pr, m->tgt.ops->cont(m->tgt.t), "cont");
}

static int mon_cmd_stop(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    MON_NEED(m, pr, stop, "stop");
    return mon_status(pr, m->tgt.ops->stop(m->tgt.t), "stop");
}

static int mon_cmd_cpu(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    uint32_t n = m->tgt.ops->cpu_count ? m->tgt.ops->cpu_count(m->tgt.t) : 1;
    if (a->argc < 2) {
        ixvm_pr(pr, "cpu %u of %u\n", m->cpu, n);
        return 0;
    }
    char *end;
    unsigned long v = strtoul(a->argv[1], &end, 0);
    if (!isdigit((unsigned char)a->argv[1][0]) || *end || v >= n)
        return mon_err(pr, IXVM_ERR_OUT_OF_RANGE, "cpu: '%s' is not a vCPU (0..%u)", a->argv[1], n - 1);
    m->cpu = (uint32_t)v;
    return 0;
}

static int mon_cmd_trace(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    bool on = strcmp(a->argv[1], "on") == 0;
    if (!on && strcmp(a->argv[1], "off") != 0)
        return mon_err(pr, IXVM_ERR_SYNTAX, "trace: expected on or off, not '%s'", a->argv[1]);
    MON_NEED(m, pr, trace_set, "trace");
    return mon_status(pr, m->tgt.ops->trace_set(m->tgt.t, on), "trace");
}

static int mon_cmd_log(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    MON_NEED(m, pr, log_spec, "log");
    struct ixvm_errinfo err = { 0 };
    const char *spec = a->rest + strspn(a->rest, " \t");
    int rc = m->tgt.ops->log_spec(m->tgt.t, spec, &err);
    if (rc < 0)
        return mon_err(pr, rc, "log: %s", err.msg[0] ? err.msg : ixvm_strerror(rc));
    return 0;
}

static int mon_cmd_screenshot(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    MON_NEED(m, pr, screenshot, "screenshot");
    int rc = m->tgt.ops->screenshot(m->tgt.t, a->argv[1]);
    return rc < 0 ? mon_err(pr, rc, "screenshot '%s': %s", a->argv[1], ixvm_strerror(rc)) : 0;
}

static int mon_cmd_sendkey(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    MON_NEED(m, pr, sendkey, "sendkey");
    int rc = m->tgt.ops->sendkey(m->tgt.t, a->argv[1]);
    return rc < 0 ? mon_err(pr, rc, "sendkey '%s': %s", a->argv[1], ixvm_strerror(rc)) : 0;
}

static int mon_cmd_reset(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    MON_NEED(m, pr, reset, "system_reset");
    return mon_status(pr, m->tgt.ops->reset(m->tgt.t), "system_reset");
}

static int mon_cmd_flight(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    if (!m->flight)
        return mon_err(pr, IXVM_ERR_NOT_SUPPORTED, "flight: the flight recorder is off (--trace flight=N)");
    dbgf_flight_dump(m->flight, m->cpu, m->disas, pr);
    return 0;
}

static int mon_cmd_quit(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    if (m->tgt.ops->power_off) {
        int rc = m->tgt.ops->power_off(m->tgt.t);
        if (rc < 0)
            return mon_err(pr, rc, "quit: cannot power off: %s", ixvm_strerror(rc));
    }
    return FE_MONITOR_QUIT;
}

static const struct mon_cmd mon_cmds[] = {
    { "help", "[CMD]", "list commands, or describe one", mon_cmd_help, 0, 1 },
    { "info", "[ITEM [ARGS]]", "show an info item (no ITEM: list them)", mon_cmd_info, 0, MON_MAX_ARGS - 1 },
    { "x", "/FMT ADDR", "dump linear memory: FMT = [count][x|d|u|o|c|i][b|h|w|g]", mon_cmd_x, 1, 1 },
    { "xp", "/FMT ADDR", "dump physical memory (as x)", mon_cmd_xp, 1, 1 },
    { "disas", "[ADDR [COUNT]]", "disassemble (default: 10 at CS:EIP)", mon_cmd_disas, 0, 2 },
    { "regs", "", "registers of the selected vCPU", mon_cmd_regs, 0, 0 },
    { "break", "[ADDR]", "software breakpoint (no ADDR: list)", mon_cmd_break, 0, 1 },
    { "hbreak", "ADDR", "hardware breakpoint", mon_cmd_break, 1, 1 },
    { "watch", "ADDR [LEN]", "write watchpoint, LEN 1/2/4/8", mon_cmd_break, 1, 2 },
    { "rwatch", "ADDR [LEN]", "read watchpoint", mon_cmd_break, 1, 2 },
    { "awatch", "ADDR [LEN]", "access watchpoint", mon_cmd_break, 1, 2 },
    { "delete", "ID|all", "remove a breakpoint or watchpoint", mon_cmd_delete, 1, 1 },
    { "step", "[N]", "single-step the selected vCPU N times", mon_cmd_step, 0, 1 },
    { "cont", "", "resume all vCPUs", mon_cmd_cont, 0, 0 },
    { "stop", "", "stop all vCPUs", mon_cmd_stop, 0, 0 },
    { "cpu", "[N]", "select vCPU N (no N: show)", mon_cmd_cpu, 0, 1 },
    { "trace", "on|off", "instruction trace", mon_cmd_trace, 1, 1 },
    { "flight", "", "dump the flight recorder of the selected vCPU", mon_cmd_flight, 0, 0 },
    { "log", "SPEC", "change the debug log groups (as --log)", mon_cmd_log, 1, MON_MAX_ARGS - 1 },
    { "screenshot", "FILE", "save the screen as PNG", mon_cmd_screenshot, 1, 1 },
    { "sendkey", "CHORD", "press and release keys, e.g. ctrl-alt-delete", mon_cmd_sendkey, 1, 1 },
    { "system_reset", "", "reset the machine", mon_cmd_reset, 0, 0 },
    { "quit", "", "power off and leave", mon_cmd_quit, 0, 0 },
};
static const size_t mon_ncmds = IXVM_ARRAY_SIZE(mon_cmds);

static int mon_cmd_help(struct fe_monitor *m, const struct mon_args *a, const struct ixvm_printer *pr)
{
    for (size_t i = 0; i < mon_ncmds; i++) {
        const struct mon_cmd *c = &mon_cmds[i];
        if (a->argc > 1 && strcmp(a->argv[1], c->name) != 0)
            continue;
        char head[64];
        snprintf(head, sizeof(head), "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
        ixvm_pr(pr, "%-26s %s\n", head, c->help);
        if (a->argc > 1)
            return 0;
    }
    if (a->argc > 1)
        return mon_err(pr, IXVM_ERR_NOT_FOUND, "help: unknown command '%s'", a->argv[1]);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Parsing and dispatch                                                      */
/* ------------------------------------------------------------------------- */

int fe_monitor_exec(struct fe_monitor *m, const char *line, const struct ixvm_printer *pr)
{
    char buf[1024];
    if (!line)
        return 0;
    size_t len = strlen(line);
    if (len >= sizeof(buf))
        return mon_err(pr, IXVM_ERR_BUFFER_OVERFLOW, "command line too long (at most %zu characters)",
                       sizeof(buf) - 1);
    memcpy(buf, line, len + 1);
    struct mon_args a = { 0 };
    const char *first = line + strspn(line, " \t\r\n");
    a.rest = first + strcspn(first, " \t\r\n");
    for (char *save = NULL, *tok = strtok_r(buf, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (a.argc == MON_MAX_ARGS)
            return mon_err(pr, IXVM_ERR_SYNTAX, "too many arguments (at most %d)", MON_MAX_ARGS - 1);
        a.argv[a.argc++] = tok;
    }
    if (!a.argc || a.argv[0][0] == '#')
        return 0;
    char *slash = strchr(a.argv[0], '/');
    if (slash) {                       /* x/4xw */
        *slash = '\0';
        a.fmt = slash + 1;
    } else if (a.argc > 1 && a.argv[1][0] == '/' &&
               (strcmp(a.argv[0], "x") == 0 || strcmp(a.argv[0], "xp") == 0)) {   /* x /4xw */
        a.fmt = a.argv[1] + 1;
        memmove(&a.argv[1], &a.argv[2], (size_t)(a.argc - 2) * sizeof(a.argv[0]));
        a.argc--;
    }
    for (size_t i = 0; i < mon_ncmds; i++) {
        const struct mon_cmd *c = &mon_cmds[i];
        if (strcmp(c->name, a.argv[0]) != 0)
            continue;
        if (a.fmt && c->fn != mon_cmd_x && c->fn != mon_cmd_xp)
            return mon_err(pr, IXVM_ERR_SYNTAX, "%s: takes no /FMT", c->name);
        if (a.argc - 1 < c->min_args || a.argc - 1 > c->max_args)
            return mon_err(pr, IXVM_ERR_SYNTAX, "usage: %s %s", c->name, c->args);
        return c->fn(m, &a, pr);
    }
    return mon_err(pr, IXVM_ERR_NOT_FOUND, "unknown command '%s'; try 'help'", a.argv[0]);
}

void fe_monitor_print_stop(const struct dbgf_stop_event *ev, const struct ixvm_printer *pr)
{
    switch (ev->reason) {
    case DBGF_STOP_BREAKPOINT:
    case DBGF_STOP_WATCHPOINT:
        ixvm_pr(pr, "cpu%u stopped: %s %s at %#llx\n", ev->cpu, dbgf_stop_reason_name(ev->reason),
                dbgf_bp_type_name(ev->bp_type), (unsigned long long)ev->addr);
        break;
    case DBGF_STOP_EXITED:
        ixvm_pr(pr, "VM exited with status %d\n", ev->status);
        break;
    default:
        ixvm_pr(pr, "cpu%u stopped: %s\n", ev->cpu, dbgf_stop_reason_name(ev->reason));
        break;
    }
}

int fe_monitor_create(const struct fe_monitor_cfg *cfg, struct fe_monitor **out)
{
    if (!cfg || !cfg->tgt || !cfg->tgt->ops)
        return IXVM_ERR_INVALID_PARAMETER;
    struct fe_monitor *m = calloc(1, sizeof(*m));
    if (!m)
        return IXVM_ERR_NO_MEMORY;
    int rc = dbgf_disas_create(cfg->sym, &m->disas);
    if (rc) {
        free(m);
        return rc;
    }
    m->tgt = *cfg->tgt;
    m->info = cfg->info;
    m->sym = cfg->sym;
    m->flight = cfg->flight;
    m->last_fmt = 'x';
    m->last_size = 'w';
    *out = m;
    return 0;
}

void fe_monitor_destroy(struct fe_monitor *m)
{
    if (!m)
        return;
    dbgf_disas_destroy(m->disas);
    free(m);
}
