/* SPDX-License-Identifier: MIT */
/*
 * Test harness (docs/iem.md "Test harness"): a self-contained machine of
 * RAM + empty port space + one vCPU, with helpers to enter flat 32-bit
 * protected mode or real mode and to run until HLT.  Used by unit tests,
 * the differential tester and benchmarks.
 */
#include <stdlib.h>

#include "iem/iem_internal.h"

struct iem_test {
    struct pgm *pgm;
    struct iom *iom;
    struct cpum_state state;
    struct iem_cpu *cpu;
};

int iem_test_create(struct iem_test **out, unsigned ram_mib)
{
    return iem_test_create_split(out, ram_mib, 0);
}

int iem_test_create_split(struct iem_test **out, unsigned ram_mib, uint64_t ram_above_4g)
{
    *out = NULL;
    struct iem_test *t = calloc(1, sizeof(*t));
    if (!t)
        return IXVM_ERR_NO_MEMORY;
    int rc = pgm_create_split(&t->pgm, (uint64_t)(ram_mib ? ram_mib : 1) << 20, ram_above_4g, NULL);
    if (rc == 0)
        rc = iom_create(&t->iom);
    if (rc == 0) {
        memset(&t->state, 0, sizeof(t->state));
        struct iem_config cfg = { .state = &t->state, .pgm = t->pgm, .iom = t->iom };
        rc = iem_create(&t->cpu, &cfg, NULL);
    }
    if (rc) {
        iem_test_destroy(t);
        return rc;
    }
    iem_test_setup_flat32(t, IEM_TEST_FREE, 0);
    *out = t;
    return 0;
}

void iem_test_destroy(struct iem_test *t)
{
    if (!t)
        return;
    iem_destroy(t->cpu);
    iom_destroy(t->iom);
    pgm_destroy(t->pgm);
    free(t);
}

struct cpum_state *iem_test_state(struct iem_test *t) { return &t->state; }
struct iem_cpu *iem_test_cpu(struct iem_test *t) { return t->cpu; }
struct pgm *iem_test_pgm(struct iem_test *t) { return t->pgm; }
struct iom *iem_test_iom(struct iem_test *t) { return t->iom; }
uint8_t *iem_test_ram(struct iem_test *t) { return pgm_host_base(t->pgm); }

int iem_test_write(struct iem_test *t, gphys_t pa, const void *buf, size_t len)
{
    return pgm_phys_write(t->pgm, pa, buf, len);
}
int iem_test_read(struct iem_test *t, gphys_t pa, void *buf, size_t len)
{
    return pgm_phys_read(t->pgm, pa, buf, len);
}

/* Flat descriptor: base 0, limit 4 GiB, G=1, D=1 (or 16-bit with limit 64 KiB). */
static uint64_t iem_test_desc(uint32_t base, uint32_t limit, unsigned type, unsigned dpl, bool big)
{
    uint64_t d = (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) | ((uint64_t)type << 40) |
                 (1ull << 44) | ((uint64_t)dpl << 45) | (1ull << 47) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
                 ((uint64_t)(base >> 24) << 56);
    if (big)
        d |= (1ull << 54) | (1ull << 55);
    return d;
}

static void iem_test_seg(struct cpum_seg *s, uint16_t sel, uint64_t d)
{
    iem_desc_to_seg(s, sel, d | (1ull << 40));
}

void iem_test_setup_flat32(struct iem_test *t, uint32_t eip, uint32_t esp)
{
    struct cpum_state *s = &t->state;
    uint64_t gdt[8] = {
        0,
        iem_test_desc(0, 0xfffff, 0xb, 0, true),          /* 0x08 code32 */
        iem_test_desc(0, 0xfffff, 0x3, 0, true),          /* 0x10 data32 */
        iem_test_desc(0, 0xffff, 0xb, 0, false),          /* 0x18 code16 */
        iem_test_desc(0, 0xffff, 0x3, 0, false),          /* 0x20 data16 */
        iem_test_desc(0, 0xfffff, 0xb, 3, true),          /* 0x28 code32 DPL3 */
        iem_test_desc(0, 0xfffff, 0x3, 3, true),          /* 0x30 data32 DPL3 */
        0,
    };
    /* 0x38: 32-bit TSS at IEM_TEST_TSS (busy), limit 0x67. */
    gdt[7] = (0x67u) | ((uint64_t)IEM_TEST_TSS << 16) | (0xbull << 40) | (1ull << 47);
    uint8_t *ram = iem_test_ram(t);
    memcpy(ram + IEM_TEST_GDT, gdt, sizeof(gdt));
    /* 256 interrupt gates -> CS32:IEM_TEST_XCPT_HLT, DPL 3 so INT n works from ring 3. */
    for (unsigned v = 0; v < 256; v++) {
        uint64_t g = (IEM_TEST_XCPT_HLT & 0xffffu) | ((uint64_t)IEM_TEST_SEL_CS32 << 16) | (0xeull << 40) |
                     (3ull << 45) | (1ull << 47) | ((uint64_t)(IEM_TEST_XCPT_HLT >> 16) << 48);
        memcpy(ram + IEM_TEST_IDT + v * 8, &g, 8);
    }
    ram[IEM_TEST_XCPT_HLT] = 0xf4;
    memset(ram + IEM_TEST_TSS, 0, 0x68);
    uint32_t esp0 = IEM_TEST_FREE - 0x10, ss0 = IEM_TEST_SEL_DS32;
    memcpy(ram + IEM_TEST_TSS + 4, &esp0, 4);
    memcpy(ram + IEM_TEST_TSS + 8, &ss0, 4);
    (void)pgm_code_write(t->pgm, 0, IEM_TEST_FREE);

    memset(s->gpr, 0, sizeof(s->gpr));
    s->gpr[CPUM_ESP] = esp;
    s->eip = eip;
    s->eflags = CPUM_EFL_1;
    s->cr0 = CPUM_CR0_PE | CPUM_CR0_ET;
    s->cr2 = s->cr3 = s->cr4 = 0;
    s->msr.efer = 0;
    s->gdtr.base = IEM_TEST_GDT;
    s->gdtr.limit = sizeof(gdt) - 1;
    s->idtr.base = IEM_TEST_IDT;
    s->idtr.limit = 256 * 8 - 1;
    for (unsigned k = 0; k < CPUM_SREG_COUNT; k++)
        iem_test_seg(&s->seg[k], IEM_TEST_SEL_DS32, gdt[2]);
    iem_test_seg(&s->seg[CPUM_CS], IEM_TEST_SEL_CS32, gdt[1]);
    s->ldtr.sel = 0;
    s->ldtr.attr = CPUM_SEG_ATTR_UNUSABLE;
    s->tr.sel = IEM_TEST_SEL_TSS;
    s->tr.base = IEM_TEST_TSS;
    s->tr.limit = 0x67;
    s->tr.attr = CPUM_SEG_ATTR_P | 0xb;
    s->cpl = 0;
    iem_reset(t->cpu, false);
}

void iem_test_setup_real(struct iem_test *t, uint16_t cs, uint16_t ip, uint16_t ss, uint16_t sp)
{
    struct cpum_state *s = &t->state;
    memset(s->gpr, 0, sizeof(s->gpr));
    s->gpr[CPUM_ESP] = sp;
    s->eip = ip;
    s->eflags = CPUM_EFL_1;
    s->cr0 = CPUM_CR0_ET;
    s->cr2 = s->cr3 = s->cr4 = 0;
    s->gdtr.base = 0;
    s->gdtr.limit = 0xffff;
    s->idtr.base = 0;
    s->idtr.limit = 0x3ff;
    for (unsigned k = 0; k < CPUM_SREG_COUNT; k++) {
        s->seg[k].sel = 0;
        s->seg[k].base = 0;
        s->seg[k].limit = 0xffff;
        s->seg[k].attr = CPUM_SEG_ATTR_P | CPUM_SEG_ATTR_S | 0x3;
    }
    s->seg[CPUM_CS].sel = cs;
    s->seg[CPUM_CS].base = (uint32_t)cs << 4;
    s->seg[CPUM_CS].attr = CPUM_SEG_ATTR_P | CPUM_SEG_ATTR_S | 0xb;
    s->seg[CPUM_SS].sel = ss;
    s->seg[CPUM_SS].base = (uint32_t)ss << 4;
    s->ldtr.attr = CPUM_SEG_ATTR_UNUSABLE;
    s->cpl = 0;
    iem_reset(t->cpu, false);
}

int iem_test_run(struct iem_test *t, int64_t max_instr)
{
    uint64_t start = iem_instructions(t->cpu);
    for (;;) {
        int64_t left = max_instr - (int64_t)(iem_instructions(t->cpu) - start);
        if (left <= 0)
            return 0;
        int rc = iem_exec(t->cpu, left);
        if (rc != 0)
            return rc;
    }
}

int iem_test_step(struct iem_test *t) { return iem_exec(t->cpu, 1); }
