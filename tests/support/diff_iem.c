/* SPDX-License-Identifier: MIT */
/*
 * Differential tester, interpreter side.  One IEM test machine (RAM from
 * guest-physical 0, flat 32-bit protected mode, CPL 0) holds the same bytes
 * as the host region at the same addresses; each case writes the
 * instruction (followed by HLT so the decoded block ends right after it),
 * copies the data window in, loads the registers and EFLAGS (the host's:
 * status flags and DF from the case, IF=1, bit 1) and steps one instruction
 * at CPL 3 with the harness's flat ring-3 segments, as the host runs it.
 *
 * An exception is delivered through the harness IDT to a ring-0 HLT on the
 * TSS stack, so the guest's own stack (any ESP value) is never written.
 * The vector comes from iem_last_xcpt(); EIP, EFLAGS and ESP at the fault
 * come from the ring-0 frame.
 */
#include "diff_iem.h"

#include <stdlib.h>
#include <string.h>

#include "ixvm/cpum.h"
#include "ixvm/iem.h"

/* The harness implementation is linked once src/iem has it. */
#if __has_include("iem/iem_test.c") || defined(DIFF_HAVE_IEM)
#define DIFF_IEM_LINKED 1
#endif

#ifdef DIFF_IEM_LINKED

/* Ring-3 flat segments of the harness GDT, in cpum attribute encoding:
 * type, S, DPL 3, P, D/B, G (SDM Vol. 3A 3.4.5). */
#define DIFF_ATTR_CODE3 (0xbu | CPUM_SEG_ATTR_S | (3u << CPUM_SEG_ATTR_DPL_SHIFT) | CPUM_SEG_ATTR_P | \
                         CPUM_SEG_ATTR_D | CPUM_SEG_ATTR_G)
#define DIFF_ATTR_DATA3 (0x3u | CPUM_SEG_ATTR_S | (3u << CPUM_SEG_ATTR_DPL_SHIFT) | CPUM_SEG_ATTR_P | \
                         CPUM_SEG_ATTR_D | CPUM_SEG_ATTR_G)

struct diff_iem {
    struct iem_test *t;
    uint8_t *ram;
    uint64_t ram_size;
    uint32_t insn_addr, win_addr;
};

/* CPL 3 with the flat ring-3 selectors, like the host's user mode. */
static void diff_iem_ring3(struct cpum_state *s)
{
    for (unsigned i = 0; i < CPUM_SREG_COUNT; i++) {
        bool cs = i == CPUM_CS;
        s->seg[i] = (struct cpum_seg){ .sel = cs ? IEM_TEST_SEL_CS32_R3 : IEM_TEST_SEL_DS32_R3, .base = 0,
                                       .limit = 0xffffffffu, .attr = cs ? DIFF_ATTR_CODE3 : DIFF_ATTR_DATA3 };
    }
    s->cpl = 3;
}

static int diff_iem_load(struct diff_iem *d, const struct diff_case *c)
{
    uint8_t code[DIFF_INSN_MAX + 1];
    memcpy(code, c->insn, c->len);
    code[c->len] = 0xf4;  /* HLT: ends the decoded block, never executed */
    int rc = iem_test_write(d->t, d->insn_addr, code, c->len + 1u);
    if (rc != 0)
        return rc;
    memcpy(d->ram + d->win_addr, c->win, DIFF_WIN_SIZE);
    struct cpum_state *s = iem_test_state(d->t);
    memcpy(s->gpr, c->in.gpr, sizeof(c->in.gpr));
    s->eflags = (c->in.eflags & DIFF_EFL_LOADED) | DIFF_EFL_FIXED;
    s->eip = d->insn_addr;
    diff_iem_ring3(s);
    return 0;
}

/*
 * The state at the fault, from the ring-0 frame the delivery pushed on the
 * TSS stack: [error code,] EIP, CS, EFLAGS, ESP, SS (SDM Vol. 3A 6.12.1).
 */
static void diff_iem_fault_state(struct diff_iem *d, const struct iem_xcpt_info *x, struct diff_out *out)
{
    struct cpum_state *s = iem_test_state(d->t);
    uint32_t sp = s->gpr[CPUM_ESP] + (x->has_error ? 4u : 0u);
    memcpy(out->regs.gpr, s->gpr, sizeof(out->regs.gpr));
    out->regs.eflags = s->eflags;
    out->regs.eip = s->eip;
    if ((uint64_t)sp + 20 <= d->ram_size) {
        memcpy(&out->regs.eip, d->ram + sp, 4);
        memcpy(&out->regs.eflags, d->ram + sp + 8, 4);
        memcpy(&out->regs.gpr[CPUM_ESP], d->ram + sp + 12, 4);
    }
    out->vector = x->vector;
}

static int diff_iem_run(void *ctx, const struct diff_case *c, struct diff_out *out)
{
    struct diff_iem *d = ctx;
    struct iem_cpu *cpu = iem_test_cpu(d->t);
    struct iem_xcpt_info x0, x1;

    if (iem_is_halted(cpu))
        iem_reset(cpu, true);
    int rc = diff_iem_load(d, c);
    if (rc != 0)
        return rc;
    iem_last_xcpt(cpu, &x0);
    rc = iem_test_step(d->t);
    iem_last_xcpt(cpu, &x1);
    if (rc < 0)
        return rc;
    if (rc == IXVM_INF_EM_RESET) {  /* triple fault: report it, start over */
        out->vector = 8;
        memcpy(&out->regs, &c->in, sizeof(out->regs));
        iem_reset(cpu, false);
        iem_test_setup_flat32(d->t, d->insn_addr, 0);
    } else if (x1.count != x0.count) {
        diff_iem_fault_state(d, &x1, out);
    } else {
        struct cpum_state *s = iem_test_state(d->t);
        memcpy(out->regs.gpr, s->gpr, sizeof(out->regs.gpr));
        out->regs.eflags = s->eflags;
        out->regs.eip = s->eip;
        out->vector = DIFF_VEC_NONE;
    }
    memcpy(out->win, d->ram + d->win_addr, DIFF_WIN_SIZE);
    return 0;
}

int diff_iem_open(struct diff_target *t, const struct diff_host *h, struct ixvm_errinfo *err)
{
    memset(t, 0, sizeof(*t));
    struct diff_iem *d = calloc(1, sizeof(*d));
    if (!d)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "diff iem: out of memory");
    uint32_t end = diff_host_base(h) + DIFF_REGION_SIZE;
    unsigned mib = (end + (1u << 20) - 1) >> 20;
    mib = mib < 16 ? 16 : mib;
    int rc = iem_test_create(&d->t, mib);
    if (rc != 0) {
        free(d);
        return ixvm_errinfo_set(err, rc, "diff iem: iem_test_create(%u MiB) failed: %s", mib, ixvm_strerror(rc));
    }
    d->ram = iem_test_ram(d->t);
    d->ram_size = (uint64_t)mib << 20;
    d->insn_addr = diff_host_insn_addr(h);
    d->win_addr = diff_host_win_addr(h);
    iem_test_setup_flat32(d->t, d->insn_addr, 0);
    t->name = "iem";
    t->ctx = d;
    t->run = diff_iem_run;
    return 0;
}

void diff_iem_close(struct diff_target *t)
{
    struct diff_iem *d = t->ctx;
    if (d) {
        iem_test_destroy(d->t);
        free(d);
    }
    t->ctx = NULL;
}

#else /* !DIFF_IEM_LINKED */

int diff_iem_open(struct diff_target *t, const struct diff_host *h, struct ixvm_errinfo *err)
{
    (void)h;
    memset(t, 0, sizeof(*t));
    return ixvm_errinfo_set(err, IXVM_ERR_NOT_SUPPORTED,
                            "diff iem: the interpreter's test harness (src/iem) is not built yet");
}

void diff_iem_close(struct diff_target *t)
{
    t->ctx = NULL;
}

#endif
