/* SPDX-License-Identifier: MIT */
/* IEM descriptor instructions: LAR/LSL/VERR/VERW on every descriptor type
 * at CPL 0 and 3 with RPL 0 and 3 (SDM tables), SLDT/STR/LLDT/LTR (busy
 * bit, #GP/#NP), SYSENTER/SYSEXIT round trip and #GP cases, RDPMC, WRMSR
 * reserved-bit checks, CPUID.SEP. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"
#include "test_iem_harness.h"

IEM_HARNESS_SUITE(iem_desc);

#define CODE 0x10000u
#define GDT  0x3000u

static uint64_t mkdesc(uint32_t base, uint32_t limit, unsigned type, bool sbit, unsigned dpl, bool p, bool g)
{
    return (limit & 0xffffu) | ((uint64_t)(base & 0xffffffu) << 16) | ((uint64_t)type << 40) |
           ((uint64_t)sbit << 44) | ((uint64_t)dpl << 45) | ((uint64_t)p << 47) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | (1ull << 52) /* AVL */ | (1ull << 54) /* D */ |
           ((uint64_t)g << 55) | ((uint64_t)(base >> 24) << 56);
}

/* A GDT at GDT: the harness's 8 entries, then index 8 + k for k = 0..63:
 * k = type | S << 4 | DPL3 << 5 (DPL 0 or 3). */
#define NDESC 64
static void big_gdt(void)
{
    memcpy(ram + GDT, ram + IEM_TEST_GDT, 64);
    for (unsigned k = 0; k < NDESC; k++) {
        unsigned type = k & 15, sbit = (k >> 4) & 1, dpl = (k >> 5) ? 3 : 0;
        uint64_t d = mkdesc(0x12345678u, 0xabcde, type, sbit, dpl, (k % 3) != 1, (k & 2) != 0);
        memcpy(ram + GDT + (8 + k) * 8, &d, 8);
    }
    s->gdtr.base = GDT;
    s->gdtr.limit = (8 + NDESC) * 8 - 1;
}
static void ring3(void)
{
    for (unsigned k = 0; k < CPUM_SREG_COUNT; k++) {
        s->seg[k].sel = IEM_TEST_SEL_DS32_R3;
        s->seg[k].attr |= 3u << CPUM_SEG_ATTR_DPL_SHIFT;
    }
    s->seg[CPUM_CS].sel = IEM_TEST_SEL_CS32_R3;
    s->cpl = 3;
}

/* SDM Vol. 2 "LAR" and "LSL": the system types each accepts. */
static const bool lar_sys[16] = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0 };
static const bool lsl_sys[16] = { 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0 };

static bool expect_ok(unsigned k, unsigned cpl, unsigned rpl, const bool *sys)
{
    unsigned type = k & 15, sbit = (k >> 4) & 1, dpl = (k >> 5) ? 3 : 0;
    if (!sbit && !sys[type])
        return false;
    if (sbit && (type & 0xc) == 0xc)
        return true;                       /* conforming code: no privilege check */
    return dpl >= cpl && dpl >= rpl;
}

Test(iem_desc, lar_lsl_every_type)
{
    static const uint8_t code[] = {
        0x0f, 0x02, 0xc1,       /* lar eax, ecx */
        0x0f, 0x94, 0xc2,       /* setz dl */
        0x0f, 0x03, 0xd9,       /* lsl ebx, ecx */
        0x0f, 0x94, 0xc6,       /* setz dh */
        0x66, 0x0f, 0x02, 0xf1, /* lar si, cx */
        0x66, 0x0f, 0x03, 0xf9, /* lsl di, cx */
        0xeb, 0xfe };
    load(CODE, code, sizeof(code));
    for (unsigned cpl = 0; cpl <= 3; cpl += 3)
        for (unsigned rpl = 0; rpl <= 3; rpl += 3)
            for (unsigned k = 0; k < NDESC; k++) {
                iem_test_setup_flat32(t, CODE, 0x80000);
                big_gdt();
                if (cpl)
                    ring3();
                uint16_t sel = (uint16_t)((8 + k) * 8 + rpl);
                s->gpr[CPUM_ECX] = 0xffff0000u | sel;
                s->gpr[CPUM_EAX] = s->gpr[CPUM_EBX] = s->gpr[CPUM_ESI] = s->gpr[CPUM_EDI] = 0x5555aaaau;
                cr_assert_eq(iem_test_run(t, 7), 0);
                cr_assert_eq(s->eip, CODE + sizeof(code) - 2, "k %u: eip %#x vector %u", k, s->eip, last().vector);
                bool lar = expect_ok(k, cpl, rpl, lar_sys), lsl = expect_ok(k, cpl, rpl, lsl_sys);
                uint64_t d;
                memcpy(&d, ram + GDT + (8 + k) * 8, 8);
                uint32_t limit = 0xabcde;
                if (k & 2)
                    limit = (limit << 12) | 0xfff;
                cr_assert_eq((s->gpr[CPUM_EDX] & 0xff) != 0, lar, "LAR ZF: type %#x S %u cpl %u rpl %u", k & 15, (k >> 4) & 1, cpl, rpl);
                cr_assert_eq((s->gpr[CPUM_EDX] >> 8 & 0xff) != 0, lsl, "LSL ZF: type %#x S %u cpl %u rpl %u", k & 15, (k >> 4) & 1, cpl, rpl);
                cr_assert_eq(s->gpr[CPUM_EAX], lar ? (uint32_t)(d >> 32) & 0x00f0ff00u : 0x5555aaaau, "LAR value k %u", k);
                cr_assert_eq(s->gpr[CPUM_EBX], lsl ? limit : 0x5555aaaau, "LSL value k %u", k);
                cr_assert_eq(s->gpr[CPUM_ESI], lar ? 0x55550000u | ((uint32_t)(d >> 32) & 0xff00u) : 0x5555aaaau);
                cr_assert_eq(s->gpr[CPUM_EDI], lsl ? 0x55550000u | (limit & 0xffffu) : 0x5555aaaau);
            }
}

/* Null, beyond the GDT limit, LDT without an LDT: ZF=0 and no fault; the
 * memory form reads a 16-bit selector. */
Test(iem_desc, lar_lsl_bad_selectors_and_memory_form)
{
    static const uint8_t code[] = {
        0x0f, 0x02, 0xc1, 0x0f, 0x94, 0xc2,        /* lar eax, ecx; setz dl */
        0x0f, 0x03, 0x1d, 0x00, 0x90, 0x00, 0x00,  /* lsl ebx, [0x9000] */
        0x0f, 0x94, 0xc6,                          /* setz dh */
        0xf4 };
    static const uint16_t bad[] = { 0x0000, 0x0003, (8 + NDESC) * 8, 0xfff8, 0x0004 + 8 * 9 };
    load(CODE, code, sizeof(code));
    for (unsigned n = 0; n < sizeof(bad) / sizeof(bad[0]); n++) {
        iem_test_setup_flat32(t, CODE, 0x80000);
        big_gdt();
        s->gpr[CPUM_ECX] = bad[n];
        s->gpr[CPUM_EAX] = 0x77;
        s->gpr[CPUM_EDX] = 0xffff;
        uint16_t good = 0x10;   /* flat data, DPL 0 */
        memcpy(ram + 0x9000, &good, 2);
        memset(ram + 0x9002, 0xff, 2);
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
        cr_assert_eq(s->eip, CODE + sizeof(code), "sel %#x: vector %u", bad[n], last().vector);
        cr_assert_eq(s->gpr[CPUM_EDX] & 0xff, 0, "sel %#x: ZF=0", bad[n]);
        cr_assert_eq(s->gpr[CPUM_EAX], 0x77);
        cr_assert_eq((s->gpr[CPUM_EDX] >> 8) & 0xff, 1, "memory form ok");
        cr_assert_eq(s->gpr[CPUM_EBX], 0xffffffffu);
    }
}

Test(iem_desc, lar_real_mode_ud)
{
    static const uint8_t code[] = { 0x0f, 0x02, 0xc1, 0xf4 };
    load(0x7c00, code, sizeof(code));
    iem_test_setup_real(t, 0, 0x7c00, 0, 0x7000);
    uint32_t v = 0x500;
    memcpy(ram + 6 * 4, &v, 4);
    ram[0x500] = 0xf4;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 6);
}

/* VERR: readable (data, readable code; conforming readable code at any
 * privilege); VERW: writable data.  Presence is not checked. */
Test(iem_desc, verr_verw_every_type)
{
    static const uint8_t code[] = {
        0x0f, 0x00, 0xe1, 0x0f, 0x94, 0xc2,   /* verr cx; setz dl */
        0x0f, 0x00, 0xe9, 0x0f, 0x94, 0xc6,   /* verw cx; setz dh */
        0xeb, 0xfe };
    load(CODE, code, sizeof(code));
    for (unsigned cpl = 0; cpl <= 3; cpl += 3)
        for (unsigned rpl = 0; rpl <= 3; rpl += 3)
            for (unsigned k = 0; k < NDESC; k++) {
                iem_test_setup_flat32(t, CODE, 0x80000);
                big_gdt();
                if (cpl)
                    ring3();
                s->gpr[CPUM_ECX] = (8 + k) * 8 + rpl;
                cr_assert_eq(iem_test_run(t, 5), 0);
                unsigned type = k & 15, sbit = (k >> 4) & 1, dpl = (k >> 5) ? 3 : 0;
                bool code_seg = type & 8, conf = code_seg && (type & 4);
                bool priv = conf || (dpl >= cpl && dpl >= rpl);
                bool r = sbit && priv && (!code_seg || (type & 2));
                bool w = sbit && !code_seg && (type & 2) && dpl >= cpl && dpl >= rpl;
                cr_assert_eq((s->gpr[CPUM_EDX] & 0xff) != 0, r, "VERR type %#x S %u dpl %u cpl %u rpl %u", type, sbit, dpl, cpl, rpl);
                cr_assert_eq((s->gpr[CPUM_EDX] >> 8 & 0xff) != 0, w, "VERW type %#x S %u dpl %u cpl %u rpl %u", type, sbit, dpl, cpl, rpl);
            }
}

/* ---- SLDT / STR / LLDT / LTR ---- */
#define SEL_LDT   ((8 + 2) * 8)          /* type 2, S 0, DPL 0, present (k = 2) */
#define SEL_LDT_NP ((8 + 0x22) * 8)      /* k = 0x22: LDT, DPL 3, not present (k % 3 == 1) */
#define SEL_TSS   ((8 + 9) * 8)          /* available 32-bit TSS, present (k = 9) */
#define SEL_TSS16 ((8 + 1) * 8)          /* k = 1: available 16-bit TSS, not present */

Test(iem_desc, lldt_sldt)
{
    static const uint8_t code[] = {
        0x0f, 0x00, 0xd1,         /* lldt cx */
        0x0f, 0x00, 0xc0,         /* sldt eax */
        0x66, 0x0f, 0x00, 0xc3,   /* sldt bx */
        0x0f, 0x00, 0x05, 0x00, 0x90, 0x00, 0x00,   /* sldt [0x9000] */
        0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    big_gdt();
    s->gpr[CPUM_ECX] = SEL_LDT;
    s->gpr[CPUM_EAX] = 0xffffffff;
    s->gpr[CPUM_EBX] = 0xffffffff;
    memset(ram + 0x9000, 0xee, 4);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, CODE + sizeof(code), "vector %u err %#x", last().vector, last().error);
    cr_assert_eq(s->ldtr.sel, SEL_LDT);
    cr_assert_eq(s->ldtr.base, 0x12345678u);
    cr_assert_eq(s->ldtr.limit, 0xabcdefff, "limit scaled by G");
    cr_assert_eq(s->gpr[CPUM_EAX], SEL_LDT, "zero-extended into r32");
    cr_assert_eq(s->gpr[CPUM_EBX], 0xffff0000u | SEL_LDT);
    cr_assert_eq(rd32(0x9000), 0xeeee0000u | SEL_LDT, "16 bits stored");
}

struct ldtr_case {
    const char *name;
    uint8_t ext;        /* 2 = LLDT, 3 = LTR */
    uint16_t sel;
    bool cpl3;
    unsigned vec;
    uint32_t err;
};
static const struct ldtr_case ldtr_cases[] = {
    { "lldt null", 2, 0x0000, false, 0, 0 },
    { "lldt ti=1", 2, SEL_LDT | 4, false, 13, SEL_LDT | 4 },
    { "lldt not ldt", 2, 0x10, false, 13, 0x10 },
    { "lldt not present", 2, SEL_LDT_NP, false, 11, SEL_LDT_NP },
    { "lldt beyond gdt", 2, 0xfff8, false, 13, 0xfff8 },
    { "lldt cpl3", 2, SEL_LDT, true, 13, 0 },
    { "ltr ok", 3, SEL_TSS, false, 0, 0 },
    { "ltr null", 3, 0x0000, false, 13, 0 },
    { "ltr busy", 3, (8 + 11) * 8, false, 13, (8 + 11) * 8 },
    { "ltr 16-bit not present", 3, SEL_TSS16, false, 11, SEL_TSS16 },
    { "ltr ldt type", 3, SEL_LDT, false, 13, SEL_LDT },
    { "ltr ti=1", 3, SEL_TSS | 4, false, 13, SEL_TSS | 4 },
    { "ltr cpl3", 3, SEL_TSS, true, 13, 0 },
};
Test(iem_desc, lldt_ltr_checks)
{
    for (unsigned n = 0; n < sizeof(ldtr_cases) / sizeof(ldtr_cases[0]); n++) {
        const struct ldtr_case *k = &ldtr_cases[n];
        uint8_t code[] = { 0x0f, 0x00, (uint8_t)(0xc1 | k->ext << 3), 0xeb, 0xfe };
        load(CODE, code, sizeof(code));
        iem_test_setup_flat32(t, CODE, 0x80000);
        big_gdt();
        if (k->cpl3)
            ring3();
        s->gpr[CPUM_ECX] = k->sel;
        uint64_t x0 = last().count;
        uint16_t tr0 = s->tr.sel;
        int rc = iem_test_run(t, 5);
        if (k->vec) {
            cr_assert_eq(rc, IXVM_INF_EM_HALT, "%s", k->name);
            cr_assert_eq(last().vector, k->vec, "%s: vector %u", k->name, last().vector);
            cr_assert_eq(last().error, k->err, "%s: error %#x", k->name, last().error);
            cr_assert_eq(s->tr.sel, tr0, "%s", k->name);
        } else {
            cr_assert_eq(rc, 0, "%s", k->name);
            cr_assert_eq(last().count, x0, "%s: exception %u", k->name, last().vector);
        }
    }
}

Test(iem_desc, ltr_marks_busy_and_str)
{
    static const uint8_t code[] = {
        0x0f, 0x00, 0xd9,          /* ltr cx */
        0x0f, 0x00, 0xc8,          /* str eax */
        0x0f, 0x00, 0xd9,          /* ltr cx again: now busy -> #GP */
        0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    big_gdt();
    s->gpr[CPUM_ECX] = SEL_TSS;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->tr.sel, SEL_TSS);
    cr_assert_eq(s->tr.base, 0x12345678u);
    cr_assert_eq(s->tr.attr & 0xf, 0xb, "TR cache holds the busy type");
    cr_assert_eq(ram[GDT + SEL_TSS + 5] & 0xf, 0xb, "GDT descriptor marked busy");
    cr_assert_eq(s->gpr[CPUM_EAX], SEL_TSS);
    cr_assert_eq(last().vector, 13);
    cr_assert_eq(last().error, SEL_TSS);
    cr_assert_eq(rd32(s->gpr[CPUM_ESP] + 4), CODE + 6, "the second LTR faulted");
}

/* ---- SYSENTER / SYSEXIT ---- */
#define KENTRY 0x11000u
#define UENTRY 0x12000u
static void wrmsr_code(uint8_t *p, unsigned *n, uint32_t msr, uint32_t lo)
{
    p[(*n)++] = 0xb9; memcpy(p + *n, &msr, 4); *n += 4;    /* mov ecx, msr */
    p[(*n)++] = 0xb8; memcpy(p + *n, &lo, 4); *n += 4;     /* mov eax, lo */
    p[(*n)++] = 0x31; p[(*n)++] = 0xd2;                    /* xor edx, edx */
    p[(*n)++] = 0x0f; p[(*n)++] = 0x30;                    /* wrmsr */
}
Test(iem_desc, sysenter_sysexit_round_trip)
{
    uint8_t code[96];
    unsigned n = 0;
    wrmsr_code(code, &n, 0x174, IEM_TEST_SEL_CS32);
    wrmsr_code(code, &n, 0x175, 0x70000);
    wrmsr_code(code, &n, 0x176, KENTRY);
    uint32_t uesp = 0x60000, ueip = UENTRY;
    code[n++] = 0xb9; memcpy(code + n, &uesp, 4); n += 4;   /* mov ecx, user esp */
    code[n++] = 0xba; memcpy(code + n, &ueip, 4); n += 4;   /* mov edx, user eip */
    code[n++] = 0x0f; code[n++] = 0x35;                     /* sysexit */
    load(CODE, code, n);
    static const uint8_t user[] = {
        0x8c, 0xcb,         /* mov ebx, cs */
        0x8c, 0xd6,         /* mov esi, ss */
        0x89, 0xe7,         /* mov edi, esp */
        0x0f, 0x34 };       /* sysenter */
    load(UENTRY, user, sizeof(user));
    static const uint8_t kern[] = { 0xf4 };
    load(KENTRY, kern, sizeof(kern));
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->eflags |= CPUM_EFL_IF;
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    cr_assert_eq(s->eip, KENTRY + 1, "eip %#x vector %u", s->eip, last().vector);
    cr_assert_eq(s->gpr[CPUM_EBX] & 0xffff, IEM_TEST_SEL_CS32 + 16 + 3, "ring-3 CS");
    cr_assert_eq(s->gpr[CPUM_ESI] & 0xffff, IEM_TEST_SEL_CS32 + 24 + 3, "ring-3 SS");
    cr_assert_eq(s->gpr[CPUM_EDI], uesp);
    cr_assert_eq(s->cpl, 0);
    cr_assert_eq(s->seg[CPUM_CS].sel, IEM_TEST_SEL_CS32);
    cr_assert_eq(s->seg[CPUM_SS].sel, IEM_TEST_SEL_CS32 + 8);
    cr_assert_eq(s->seg[CPUM_SS].attr & (CPUM_SEG_ATTR_D | CPUM_SEG_ATTR_DPL_MASK | 0xf), CPUM_SEG_ATTR_D | 0x3);
    cr_assert_eq(s->seg[CPUM_CS].limit, 0xffffffffu);
    cr_assert_eq(s->gpr[CPUM_ESP], 0x70000);
    cr_assert_eq(s->eflags & CPUM_EFL_IF, 0, "SYSENTER clears IF");
}

struct fastcall_case {
    const char *name;
    uint8_t op;          /* 0x34 sysenter, 0x35 sysexit */
    uint32_t cs_msr;
    bool cpl3, real;
};
static const struct fastcall_case fc_cases[] = {
    { "sysenter cs 0", 0x34, 0x0000, false, false },
    { "sysenter cs 3 (null)", 0x34, 0x0003, true, false },
    { "sysenter real mode", 0x34, 0x0008, false, true },
    { "sysexit cs 0", 0x35, 0x0000, false, false },
    { "sysexit cpl3", 0x35, 0x0008, true, false },
    { "sysexit real mode", 0x35, 0x0008, false, true },
};
Test(iem_desc, sysenter_sysexit_gp)
{
    for (unsigned n = 0; n < sizeof(fc_cases) / sizeof(fc_cases[0]); n++) {
        const struct fastcall_case *k = &fc_cases[n];
        uint8_t code[] = { 0x0f, k->op, 0xf4 };
        if (k->real) {
            load(0x7c00, code, sizeof(code));
            iem_test_setup_real(t, 0, 0x7c00, 0, 0x7000);
            uint32_t v = 0x500;
            memcpy(ram + 13 * 4, &v, 4);
            ram[0x500] = 0xf4;
        } else {
            load(CODE, code, sizeof(code));
            iem_test_setup_flat32(t, CODE, 0x80000);
            if (k->cpl3)
                ring3();
        }
        s->msr.sysenter_cs = k->cs_msr;
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s", k->name);
        cr_assert_eq(last().vector, 13, "%s: vector %u", k->name, last().vector);
        if (!k->real)
            cr_assert_eq(last().error, 0, "%s", k->name);
    }
}

Test(iem_desc, cpuid_reports_sep)
{
    static const uint8_t code[] = { 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0xf4 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert(s->gpr[CPUM_EDX] & (1u << 11), "SEP");
    /* Family 6 model 3 stepping 3: SEP is real (not the Pentium Pro erratum). */
    cr_assert_eq(s->gpr[CPUM_EAX] & 0xfff, 0x633);
}

/* ---- RDPMC ---- */
struct pmc_case {
    const char *name;
    uint32_t ecx;
    bool cpl3, pce, gp;
};
static const struct pmc_case pmc_cases[] = {
    { "cpl0 ctr0", 0, false, false, false },
    { "cpl0 ctr1", 1, false, false, false },
    { "cpl0 ctr2", 2, false, false, true },
    { "cpl3 no pce", 0, true, false, true },
    { "cpl3 pce", 1, true, true, false },
};
Test(iem_desc, rdpmc)
{
    for (unsigned n = 0; n < sizeof(pmc_cases) / sizeof(pmc_cases[0]); n++) {
        const struct pmc_case *k = &pmc_cases[n];
        static const uint8_t code[] = { 0x0f, 0x33, 0xeb, 0xfe };
        load(CODE, code, sizeof(code));
        iem_test_setup_flat32(t, CODE, 0x80000);
        if (k->cpl3)
            ring3();
        if (k->pce)
            s->cr4 |= CPUM_CR4_PCE;
        s->gpr[CPUM_ECX] = k->ecx;
        s->gpr[CPUM_EAX] = s->gpr[CPUM_EDX] = 0x1234;
        int rc = iem_test_run(t, 5);
        if (k->gp) {
            cr_assert_eq(rc, IXVM_INF_EM_HALT, "%s", k->name);
            cr_assert_eq(last().vector, 13, "%s", k->name);
        } else {
            cr_assert_eq(rc, 0, "%s", k->name);
            cr_assert_eq(s->gpr[CPUM_EAX], 0, "%s", k->name);
            cr_assert_eq(s->gpr[CPUM_EDX], 0, "%s", k->name);
        }
    }
}

/* ---- WRMSR reserved bits and memory types ---- */
struct msr_case {
    const char *name;
    uint32_t msr;
    uint64_t v;
    bool gp;
};
static const struct msr_case msr_cases[] = {
    { "pat default", 0x277, 0x0007040600070406ull, false },
    { "pat type 2", 0x277, 0x0007040600070402ull, true },
    { "pat type 8", 0x277, 0x0807040600070406ull, true },
    { "def type wb enabled", 0x2ff, 0xc06, false },
    { "def type 2", 0x2ff, 0xc02, true },
    { "def type bit 12", 0x2ff, 0x1006, true },
    { "def type uc- (pat only)", 0x2ff, 0x807, true },
    { "physbase0", 0x200, 0xfff00006ull, false },
    { "physbase0 bit 8", 0x200, 0xfff00106ull, true },
    { "physbase7 bit 36", 0x20e, 0x1000000006ull, true },
    { "physbase type 3", 0x202, 0x3, true },
    { "physmask0", 0x201, 0xffff00800ull, false },
    { "physmask0 bit 0", 0x201, 0xffff00801ull, true },
    { "fix64k wb", 0x250, 0x0606060606060606ull, false },
    { "fix4k type 3", 0x26f, 0x0606060606030606ull, true },
    { "fix16k bad", 0x259, 0x0000000000000009ull, true },
    { "apic base", 0x1b, 0xfee00900ull, false },
    { "apic base bit 0", 0x1b, 0xfee00901ull, true },
    { "apic base bit 40", 0x1b, 0x100fee00900ull, true },
    { "misc enable fast strings", 0x1a0, 1, false },
    { "misc enable bit 1", 0x1a0, 2, true },
    { "efer nxe", 0xc0000080u, 1u << 11, false },
    { "efer sce", 0xc0000080u, 1, true },
    { "mtrrcap read-only", 0xfe, 0, true },
    { "unknown", 0x123, 0, true },
    { "sysenter eip", 0x176, 0xc0001000u, false },
    { "bios sign id", 0x8b, 0, false },
};
Test(iem_desc, wrmsr_reserved_bits)
{
    static const uint8_t code[] = { 0x0f, 0x30, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x32, 0xf4 };  /* wrmsr; zero; rdmsr */
    load(CODE, code, sizeof(code));
    for (unsigned n = 0; n < sizeof(msr_cases) / sizeof(msr_cases[0]); n++) {
        const struct msr_case *k = &msr_cases[n];
        iem_test_setup_flat32(t, CODE, 0x80000);
        uint64_t before = s->msr.pat;
        s->gpr[CPUM_ECX] = k->msr;
        s->gpr[CPUM_EAX] = (uint32_t)k->v;
        s->gpr[CPUM_EDX] = (uint32_t)(k->v >> 32);
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s", k->name);
        if (k->gp) {
            cr_assert_eq(last().vector, 13, "%s: vector %u", k->name, last().vector);
            cr_assert_eq(rd32(s->gpr[CPUM_ESP] + 4), CODE, "%s: the WRMSR faulted", k->name);
            cr_assert_eq(s->msr.pat, before, "%s", k->name);
        } else {
            cr_assert_eq(s->eip, CODE + sizeof(code), "%s: vector %u", k->name, last().vector);
            uint64_t got = (uint64_t)s->gpr[CPUM_EDX] << 32 | s->gpr[CPUM_EAX];
            cr_assert_eq(got, k->v, "%s: read back %#llx", k->name, (unsigned long long)got);
        }
    }
}
