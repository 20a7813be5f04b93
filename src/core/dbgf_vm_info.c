/* SPDX-License-Identifier: MIT */
/*
 * The VM debug target's output side (docs/debugging.md): instruction and
 * interrupt trace lines (called on EMTs by the interpreter's hooks), the
 * flight-recorder dump (triple fault, guru meditation, `info flight`), and
 * the info items `registers`, `mem`, `tlb` and `flight` in the VM's DBGF
 * registry.
 *
 * Threads: the trace hooks on the EMT of the traced vCPU (each vCPU formats
 * with its own disassembler; lines are written under dv->lock); the info
 * items on whichever thread runs them (the monitor: the loop).
 */
#define LOG_GROUP LOG_GROUP_DBGF
#include <stdlib.h>
#include <string.h>

#include "dbgf_vm_int.h"
#include "ixvm/dbgf.h"
#include "ixvm/iem_vmm.h"
#include "ixvm/log.h"
#include "ixvm/pgm.h"

static FILE *dv_trace_file(struct dbgf_vm *dv) { return dv->o.trace_out ? dv->o.trace_out : stderr; }

/* ---- trace ---------------------------------------------------------------------- */

void dv_trace_hook(void *user, unsigned cpu, const struct dbgf_trace_rec *r)
{
    struct dbgf_vm *dv = user;
    struct dv_cpu *p = &dv->cpus[cpu];
    dbgf_flight_record(dv->flight, cpu, r);
    if (!atomic_load_explicit(&dv->trace_on, memory_order_relaxed) ||
        !dbgf_trace_filter_match(&dv->o.filter, cpu, r))
        return;
    if (!p->disas && dbgf_disas_create(dv->o.sym, &p->disas) < 0)
        return;
    char line[512];
    int n = dbgf_trace_format(p->disas, cpu, r, p->have_prev ? &p->prev : NULL, line, sizeof(line));
    p->prev = *r;
    p->have_prev = true;
    if (n < 0)
        return;
    pthread_mutex_lock(&dv->lock);
    FILE *f = dv_trace_file(dv);
    fputs(line, f);
    fputc('\n', f);
    pthread_mutex_unlock(&dv->lock);
}

void dv_intr_hook(void *user, unsigned cpu, unsigned vec, uint32_t err, bool has_err, const char *kind,
                  uint16_t cs, uint32_t eip)
{
    struct dbgf_vm *dv = user;
    char errs[32] = "";
    if (has_err)
        snprintf(errs, sizeof(errs), " err=%#x", err);
    pthread_mutex_lock(&dv->lock);
    fprintf(dv_trace_file(dv), "cpu%u %s vec=%#04x%s at %04x:%08x\n", cpu, kind, vec, errs, cs, eip);
    pthread_mutex_unlock(&dv->lock);
}

/* ---- flight recorder ----------------------------------------------------------- */

static unsigned dv_mode_bits(unsigned mode) { return mode == CPUM_MODE_PROT32 ? 32 : 16; }

/* Disassemble n instructions of a block at lin with the paging of s. */
static void dv_dump_block(struct dbgf_vm *dv, struct dbgf_disas *d, const struct cpum_state *s,
                          const struct iem_flight_ent *e, const struct ixvm_printer *pr)
{
    uint32_t lin = e->lin;
    ixvm_pr(pr, "  block %08x, %u instruction(s), %s\n", e->lin, e->n, dbgf_trace_mode_name(e->mode));
    for (unsigned k = 0; k < e->n && k < 64; k++) {
        uint8_t bytes[16];
        int got = dv_read_lin_state(dv, s, lin, bytes, sizeof(bytes));
        if (got <= 0) {
            ixvm_pr(pr, "    %08x: (not readable now)\n", lin);
            return;
        }
        char line[256];
        int len = dbgf_disas_line(d, dv_mode_bits(e->mode), lin, bytes, (size_t)got, line, sizeof(line));
        ixvm_pr(pr, "    %s\n", line);
        lin += (uint32_t)(len > 0 ? len : 1);
    }
}

/* On the vCPU's EMT (its ring and registers are that thread's). */
static void dv_flight_dump_emt(struct dbgf_vm *dv, uint32_t cpu, const struct ixvm_printer *pr)
{
    struct iem_cpu *c = iem_vmm_cpu(&dv->vm->cpus[cpu]);
    if (!c) {
        ixvm_pr(pr, "no vCPU %u\n", cpu);
        return;
    }
    struct iem_flight_ent ents[IEM_FLIGHT_DEPTH];
    unsigned n = iem_dbgf_flight(c, ents, IEM_FLIGHT_DEPTH);
    struct dbgf_disas *d = NULL;
    struct cpum_state *s = malloc(sizeof(*s));
    if (!s || dbgf_disas_create(dv->o.sym, &d) < 0) {
        free(s);
        ixvm_pr(pr, "flight recorder: out of memory\n");
        return;
    }
    *s = dv->vm->cpus[cpu].cpu;
    ixvm_pr(pr, "flight recorder of cpu%u: the last %u block(s), oldest first (memory as it is now)\n", cpu, n);
    for (unsigned k = 0; k < n; k++)
        dv_dump_block(dv, d, s, &ents[k], pr);
    if (dbgf_flight_count(dv->flight, cpu)) {
        ixvm_pr(pr, "traced instructions of cpu%u, oldest first:\n", cpu);
        dbgf_flight_dump(dv->flight, cpu, d, pr);
    }
    dbgf_disas_destroy(d);
    free(s);
}

struct dv_flight_req {
    struct dbgf_vm *dv;
    const struct ixvm_printer *pr;
};

static int dv_flight_req_fn(struct vm *vm, struct vcpu *vcpu, void *user)
{
    struct dv_flight_req *r = user;
    dv_flight_dump_emt(r->dv, vcpu->id, r->pr);
    return 0;
}

void dbgf_vm_flight_dump(struct dbgf_vm *dv, uint32_t cpu, const struct ixvm_printer *pr)
{
    if (cpu >= dv->vm->ncpus) {
        ixvm_pr(pr, "no vCPU %u\n", cpu);
        return;
    }
    /* A request runs at once on that EMT itself, and is serviced by a
     * running, halted or held one at an instruction boundary. */
    struct dv_flight_req r = { dv, pr };
    int rc = req_call(dv->vm, cpu, REQ_F_WAIT, REQ_INDEFINITE, dv_flight_req_fn, &r);
    if (rc < 0)
        ixvm_pr(pr, "flight recorder of cpu%u: not available (%s)\n", cpu, ixvm_strerror(rc));
}

void dv_dump_cpu(struct dbgf_vm *dv, uint32_t cpu, const char *why)
{
    FILE *f = dv->o.dump_out ? dv->o.dump_out : stderr;
    struct ixvm_printer pr = ixvm_printer_file(f);
    LOG_REL("debugger: %s on vCPU %u; flight recorder dumped", why, cpu);
    ixvm_pr(&pr, "ixvm: %s on cpu%u\n", why, cpu);
    dbgf_vm_flight_dump(dv, cpu, &pr);
    fflush(f);
}

/* ---- info items ---------------------------------------------------------------- */

/* "N" selects a vCPU; empty: all. */
static bool dv_info_cpus(struct dbgf_vm *dv, const char *args, uint32_t *lo, uint32_t *hi,
                         const struct ixvm_printer *pr)
{
    *lo = 0;
    *hi = dv->vm->ncpus;
    if (!args || !*args)
        return true;
    char *end;
    unsigned long n = strtoul(args, &end, 0);
    if (*end || n >= dv->vm->ncpus) {
        ixvm_pr(pr, "error: no vCPU '%s' (0..%u)\n", args, dv->vm->ncpus - 1);
        return false;
    }
    *lo = (uint32_t)n;
    *hi = (uint32_t)n + 1;
    return true;
}

static void dv_print_seg(const struct ixvm_printer *pr, const char *name, const struct cpum_seg *g)
{
    ixvm_pr(pr, "%-3s=%04x %08x %08x %05x\n", name, g->sel, g->base, g->limit, g->attr);
}

static void dv_info_registers(void *user, const struct ixvm_printer *pr, const char *args)
{
    static const char *const sn[CPUM_SREG_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    struct dbgf_vm *dv = user;
    uint32_t lo, hi;
    if (!dv_info_cpus(dv, args, &lo, &hi, pr))
        return;
    for (uint32_t c = lo; c < hi; c++) {
        struct cpum_state s;
        if (dv_get_state(dv, c, &s) < 0) {
            ixvm_pr(pr, "CPU#%u: registers not available now\n", c);
            continue;
        }
        const uint32_t *g = s.gpr;
        bool held = atomic_load(&dv->cpus[c].parked);
        ixvm_pr(pr, "CPU#%u (%s)\n", c, held ? "stopped" : vmm_cpu_state_name(vmm_cpu_get_state(&dv->vm->cpus[c])));
        ixvm_pr(pr, "EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n", g[CPUM_EAX], g[CPUM_EBX], g[CPUM_ECX], g[CPUM_EDX]);
        ixvm_pr(pr, "ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", g[CPUM_ESI], g[CPUM_EDI], g[CPUM_EBP], g[CPUM_ESP]);
        ixvm_pr(pr, "EIP=%08x EFL=%08x CPL=%u mode=%s\n", s.eip, s.eflags, s.cpl, cpum_mode_name(cpum_mode(&s)));
        for (int r = 0; r < CPUM_SREG_COUNT; r++)
            dv_print_seg(pr, sn[r], &s.seg[r]);
        dv_print_seg(pr, "LDT", &s.ldtr);
        dv_print_seg(pr, "TR", &s.tr);
        ixvm_pr(pr, "GDT=     %08x %08x\nIDT=     %08x %08x\n", s.gdtr.base, s.gdtr.limit, s.idtr.base,
                s.idtr.limit);
        ixvm_pr(pr, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", s.cr0, s.cr2, s.cr3, s.cr4);
        ixvm_pr(pr, "DR0=%08x DR1=%08x DR2=%08x DR3=%08x DR6=%08x DR7=%08x\n", s.dr[0], s.dr[1], s.dr[2],
                s.dr[3], s.dr[6], s.dr[7]);
    }
}

/* One mapped page: linear, physical, attributes ("urw" with '-'). */
struct dv_map {
    uint32_t lin;
    uint64_t pa;
    uint64_t size;
    char attr[4];
};

typedef void dv_map_fn(const struct ixvm_printer *pr, const struct dv_map *m, void *acc);

/* Walk the 2-level (non-PAE) tables of s, calling fn per present page or
 * large page (side-effect free: reads only). */
static unsigned dv_walk_2level(struct dbgf_vm *dv, const struct cpum_state *s, const struct ixvm_printer *pr,
                               dv_map_fn *fn, void *acc)
{
    unsigned found = 0;
    for (uint32_t di = 0; di < 1024; di++) {
        uint32_t pde;
        if (pgm_phys_read(dv->pgm, (s->cr3 & 0xfffff000u) + di * 4u, &pde, 4) < 0 || !(pde & 1))
            continue;
        if ((pde & 0x80u) && (s->cr4 & CPUM_CR4_PSE)) {
            struct dv_map m = { di << 22, pde & 0xffc00000u, 0x400000u, "" };
            snprintf(m.attr, sizeof(m.attr), "%c%c%c", pde & 4 ? 'u' : '-', 'r', pde & 2 ? 'w' : '-');
            fn(pr, &m, acc);
            found++;
            continue;
        }
        uint32_t pt[1024];
        if (pgm_phys_read(dv->pgm, pde & 0xfffff000u, pt, sizeof(pt)) < 0)
            continue;
        for (uint32_t ti = 0; ti < 1024; ti++) {
            if (!(pt[ti] & 1))
                continue;
            uint32_t e = pt[ti] & pde;   /* effective U/S and R/W: both levels */
            struct dv_map m = { di << 22 | ti << 12, pt[ti] & 0xfffff000u, 0x1000u, "" };
            snprintf(m.attr, sizeof(m.attr), "%c%c%c", e & 4 ? 'u' : '-', 'r', e & 2 ? 'w' : '-');
            fn(pr, &m, acc);
            found++;
        }
    }
    return found;
}

static bool dv_paging_state(struct dbgf_vm *dv, const char *args, struct cpum_state *s,
                            const struct ixvm_printer *pr)
{
    uint32_t lo, hi;
    if (!dv_info_cpus(dv, args, &lo, &hi, pr) || dv_get_state(dv, lo, s) < 0) {
        ixvm_pr(pr, "error: registers not available\n");
        return false;
    }
    if (!(s->cr0 & CPUM_CR0_PG)) {
        ixvm_pr(pr, "paging is disabled (linear = physical)\n");
        return false;
    }
    if (s->cr4 & CPUM_CR4_PAE) {
        ixvm_pr(pr, "PAE paging: not listed (use xp on the tables at CR3=%08x)\n", s->cr3);
        return false;
    }
    return true;
}

static void dv_tlb_line(const struct ixvm_printer *pr, const struct dv_map *m, void *acc)
{
    ixvm_pr(pr, "%08x: %08llx %s%s\n", m->lin, (unsigned long long)m->pa, m->attr, m->size > 0x1000 ? " 4M" : "");
}

static void dv_info_tlb(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct cpum_state s;
    if (dv_paging_state(user, args, &s, pr))
        (void)dv_walk_2level(user, &s, pr, dv_tlb_line, NULL);
}

/* `info mem`: merge contiguous pages with equal attributes into ranges. */
struct dv_range {
    bool open;
    struct dv_map first;
    uint64_t end;      /* linear end of the range */
    uint64_t pa_end;
};

static void dv_range_flush(const struct ixvm_printer *pr, struct dv_range *r)
{
    if (r->open)
        ixvm_pr(pr, "%08x-%08llx %08llx %08llx %s\n", r->first.lin, (unsigned long long)r->end,
                (unsigned long long)(r->end - r->first.lin), (unsigned long long)r->first.pa, r->first.attr);
    r->open = false;
}

static void dv_mem_line(const struct ixvm_printer *pr, const struct dv_map *m, void *acc)
{
    struct dv_range *r = acc;
    if (r->open && r->end == m->lin && r->pa_end == m->pa && !strcmp(r->first.attr, m->attr)) {
        r->end += m->size;
        r->pa_end += m->size;
        return;
    }
    dv_range_flush(pr, r);
    *r = (struct dv_range){ true, *m, (uint64_t)m->lin + m->size, m->pa + m->size };
}

static void dv_info_mem(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct cpum_state s;
    if (!dv_paging_state(user, args, &s, pr))
        return;
    struct dv_range r = { 0 };
    ixvm_pr(pr, "linear range      size     physical attr\n");
    (void)dv_walk_2level(user, &s, pr, dv_mem_line, &r);
    dv_range_flush(pr, &r);
}

static void dv_info_flight(void *user, const struct ixvm_printer *pr, const char *args)
{
    struct dbgf_vm *dv = user;
    uint32_t lo, hi;
    if (dv_info_cpus(dv, args, &lo, &hi, pr))
        for (uint32_t c = lo; c < hi; c++)
            dbgf_vm_flight_dump(dv, c, pr);
}

static const struct {
    const char *name, *desc;
    dbgf_info_fn *fn;
} dv_infos[] = {
    { "registers", "registers of every vCPU, or of vCPU N", dv_info_registers },
    { "mem", "mapped linear ranges of vCPU N's page tables (default 0)", dv_info_mem },
    { "tlb", "linear -> physical page mappings of vCPU N (default 0)", dv_info_tlb },
    { "flight", "flight recorder: the last blocks executed (all vCPUs or vCPU N)", dv_info_flight },
};

int dv_info_register(struct dbgf_vm *dv)
{
    struct dbgf_info_reg *reg = vmm_info_reg(dv->vm);
    for (size_t i = 0; reg && i < IXVM_ARRAY_SIZE(dv_infos); i++) {
        int rc = dbgf_info_register(reg, dv_infos[i].name, dv_infos[i].desc, dv_infos[i].fn, dv);
        if (rc == IXVM_ERR_ALREADY_EXISTS)
            continue;   /* somebody else's item of that name wins */
        if (rc < 0)
            return rc;
        dv->info_registered |= 1u << i;
    }
    return 0;
}

void dv_info_deregister(struct dbgf_vm *dv)
{
    struct dbgf_info_reg *reg = vmm_info_reg(dv->vm);
    for (size_t i = 0; reg && i < IXVM_ARRAY_SIZE(dv_infos); i++)
        if (dv->info_registered & (1u << i))
            (void)dbgf_info_deregister(reg, dv_infos[i].name);
    dv->info_registered = 0;
}
