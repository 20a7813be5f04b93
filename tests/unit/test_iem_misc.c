/* SPDX-License-Identifier: MIT */
/* IEM miscellaneous instructions: ENTER (nesting levels, 16/32-bit operand
 * and stack sizes, all-or-nothing on faults), BOUND (#BR, register form
 * #UD), ARPL (ZF, memory form, #UD in real mode), LDS/LES/LSS/LFS/LGS
 * (checks, register form #UD, real mode), XLAT and INT1. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"
#include "test_iem_harness.h"

IEM_HARNESS_SUITE(iem_misc);

#define CODE 0x10000u

/* Load code + HLT, flat 32-bit, run; returns the status. */
static int run(const uint8_t *code, size_t n, void (*prep)(void))
{
    uint8_t buf[64];
    memcpy(buf, code, n);
    buf[n] = 0xf4;
    load(CODE, buf, n + 1);
    iem_test_setup_flat32(t, CODE, 0x80000);
    if (prep)
        prep();
    return iem_test_run(t, 1000);
}

/* ---- ENTER ---- */
struct enter_case {
    const char *name;
    bool osz16, ss16;
    uint16_t alloc;
    uint8_t level;
    uint32_t esp, ebp;
};
static const struct enter_case enter_cases[] = {
    { "enter 0,0", false, false, 0, 0, 0x80000, 0x90000 },
    { "enter 16,0", false, false, 16, 0, 0x80000, 0x90000 },
    { "enter 8,1", false, false, 8, 1, 0x80000, 0x90000 },
    { "enter 8,2", false, false, 8, 2, 0x80000, 0x90000 },
    { "enter 4,5", false, false, 4, 5, 0x80000, 0x90000 },
    { "enter 0,31", false, false, 0, 31, 0x80000, 0x90000 },
    { "enter 0,33 = level 1", false, false, 0, 33, 0x80000, 0x90000 },
    { "enter 0xffff,3", false, false, 0xffff, 3, 0x80000, 0x90000 },
    { "o16 enter 6,3", true, false, 6, 3, 0x80000, 0x90000 },
    { "ss16 enter 2,3", false, true, 2, 3, 0x12340100, 0xabcd0200 },
    { "o16 ss16 enter 2,4", true, true, 2, 4, 0x12340100, 0xabcd0200 },
    { "ss16 enter wraps bp", true, true, 0, 3, 0x00000100, 0x00000002 },
};

/* The SDM "ENTER" operation, written out independently of the handler. */
static void enter_ref(const struct enter_case *k, uint8_t *mem, uint32_t *esp, uint32_t *ebp, uint32_t ss_base)
{
    unsigned sz = k->osz16 ? 2 : 4, level = k->level & 31;
    uint32_t sm = k->ss16 ? 0xffffu : 0xffffffffu;
    uint32_t sp = *esp, bp = *ebp;
#define PUSH(v) do { sp = (sp & ~sm) | ((sp - sz) & sm); memcpy(mem + ss_base + (sp & sm), &(v), sz); } while (0)
    uint32_t v = bp;
    PUSH(v);
    uint32_t frame = k->osz16 ? (sp & 0xffff) : sp;
    if (level) {
        for (unsigned n = 1; n < level; n++) {
            bp = (bp & ~sm) | ((bp - sz) & sm);
            uint32_t x = 0;
            memcpy(&x, mem + ss_base + (bp & sm), sz);
            PUSH(x);
        }
        PUSH(frame);
    }
#undef PUSH
    sp = (sp & ~sm) | ((sp - k->alloc) & sm);
    *esp = sp;
    *ebp = k->osz16 ? ((*ebp & 0xffff0000u) | frame) : frame;
}

Test(iem_misc, enter_table)
{
    static uint8_t ref[0x100000];
    for (unsigned n = 0; n < sizeof(enter_cases) / sizeof(enter_cases[0]); n++) {
        const struct enter_case *k = &enter_cases[n];
        uint8_t code[8];
        unsigned len = 0;
        if (k->osz16) code[len++] = 0x66;
        code[len++] = 0xc8;
        code[len++] = (uint8_t)k->alloc;
        code[len++] = (uint8_t)(k->alloc >> 8);
        code[len++] = k->level;
        code[len] = 0xf4;
        load(CODE, code, len + 1);
        iem_test_setup_flat32(t, CODE, k->esp);
        uint32_t ss_base = 0;
        if (k->ss16) {
            ss_base = 0x40000;
            s->seg[CPUM_SS].base = ss_base;
            s->seg[CPUM_SS].limit = 0xffff;
            s->seg[CPUM_SS].attr &= ~(CPUM_SEG_ATTR_D | CPUM_SEG_ATTR_G);
        }
        s->gpr[CPUM_EBP] = k->ebp;
        /* Old frame pointers the nested copy reads. */
        for (uint32_t b = 0; b < 0x200; b++) {
            uint32_t a = k->ss16 ? ss_base + ((k->ebp - 0x100 + b) & 0xffff) : k->ebp - 0x100 + b;
            ram[a] = (uint8_t)(b * 13 + n);
        }
        if (k->ss16)
            for (uint32_t b = 0; b < 0x10; b++)
                ram[ss_base + 0xfff0 + b] = (uint8_t)(0xc0 + b);
        memcpy(ref, ram, sizeof(ref));
        uint32_t esp = k->esp, ebp = k->ebp;
        enter_ref(k, ref, &esp, &ebp, ss_base);
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s", k->name);
        cr_assert_eq(s->eip, CODE + len + 1, "%s: eip %#x, exception %u", k->name, s->eip, last().vector);
        cr_assert_eq(s->gpr[CPUM_ESP], esp, "%s: esp %#x want %#x", k->name, s->gpr[CPUM_ESP], esp);
        cr_assert_eq(s->gpr[CPUM_EBP], ebp, "%s: ebp %#x want %#x", k->name, s->gpr[CPUM_EBP], ebp);
        cr_assert_eq(memcmp(ram, ref, sizeof(ref)), 0, "%s: memory", k->name);
    }
}

/* Hand-checked: ENTER 8,2 with 32-bit sizes (SDM "ENTER" example). */
Test(iem_misc, enter_level2_explicit)
{
    static const uint8_t code[] = { 0xc8, 0x08, 0x00, 0x02 };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->gpr[CPUM_EBP] = 0x90000;
    wr32(0x90000 - 4, 0xaaaa5555u);
    cr_assert_eq(iem_test_step(t), 0);
    cr_assert_eq(rd32(0x7fffc), 0x90000, "old EBP");
    cr_assert_eq(rd32(0x7fff8), 0xaaaa5555u, "copied frame pointer");
    cr_assert_eq(rd32(0x7fff4), 0x7fffc, "new frame pointer");
    cr_assert_eq(s->gpr[CPUM_ESP], 0x7fff4 - 8);
    cr_assert_eq(s->gpr[CPUM_EBP], 0x7fffc);
}

/* Faults leave ESP, EBP and memory untouched: the final stack pointer in a
 * not-present page, and a frame-pointer read from a not-present page. */
#define PD 0x100000u
#define PT 0x101000u
static void paging_on(void)
{
    memset(ram + PD, 0, 0x2000);
    wr32(PD, PT | 7);
    for (uint32_t k = 0; k < 1024; k++)
        wr32(PT + k * 4, (k << 12) | 7);
    s->cr3 = PD;
    s->cr0 |= CPUM_CR0_PG | CPUM_CR0_WP;
}
Test(iem_misc, enter_fault_all_or_nothing)
{
    static const uint8_t code[] = { 0xc8, 0x00, 0x20, 0x00, 0xf4 };   /* enter 0x2000, 0 */
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x300010);
    paging_on();
    wr32(PT + (0x2fe000 >> 12) * 4, 0);   /* the final ESP 0x2fe00c is not present */
    s->gpr[CPUM_EBP] = 0x1234;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 14);
    cr_assert_eq(s->cr2, 0x2fe00c);
    cr_assert_eq(s->gpr[CPUM_EBP], 0x1234);
    cr_assert_eq(s->gpr[CPUM_ESP], 0x300010 - 16, "ESP unchanged when the #PF frame was pushed");
    cr_assert_eq(rd32(s->gpr[CPUM_ESP] + 4), CODE);

    static const uint8_t code2[] = { 0xc8, 0x00, 0x00, 0x03, 0xf4 };  /* enter 0, 3 */
    load(CODE, code2, sizeof(code2));
    iem_test_setup_flat32(t, CODE, 0x80000);
    paging_on();
    s->gpr[CPUM_EBP] = 0x201000;            /* reads at 0x200ffc, 0x200ff8 */
    wr32(PT + (0x200000 >> 12) * 4, 0);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 14);
    cr_assert_eq(s->cr2, 0x200ffc);
    cr_assert_eq(s->gpr[CPUM_ESP], 0x80000 - 16, "nothing pushed before the fault");
    cr_assert_eq(rd32(s->gpr[CPUM_ESP] + 4), CODE);
    cr_assert_eq(s->gpr[CPUM_EBP], 0x201000);
}

/* ---- BOUND ---- */
struct bound_case {
    const char *name;
    bool o16;
    uint32_t v, lo, hi;
    bool br;
};
static const struct bound_case bound_cases[] = {
    { "inside", false, 5, 0, 10, false },
    { "at low", false, 0, 0, 10, false },
    { "at high", false, 10, 0, 10, false },
    { "below", false, 0xffffffffu, 0, 10, true },
    { "above", false, 11, 0, 10, true },
    { "signed range", false, 0xfffffff0u, 0xffffff00u, 0x10, false },
    { "signed above", false, 0x80000000u, 0xffffff00u, 0x7fffffffu, true },
    { "16 inside", true, 0x1234ff80u, 0xff00, 0x0100, false },
    { "16 above", true, 0x00000101u, 0xff00, 0x0100, true },
};
Test(iem_misc, bound_table)
{
    for (unsigned n = 0; n < sizeof(bound_cases) / sizeof(bound_cases[0]); n++) {
        const struct bound_case *k = &bound_cases[n];
        uint8_t code[] = { 0x66, 0x62, 0x05, 0x00, 0x90, 0x00, 0x00, 0xf4 };   /* bound eax, [0x9000] */
        const uint8_t *c0 = k->o16 ? code : code + 1;
        size_t len = k->o16 ? 7 : 6;
        load(CODE, c0, len + 1);
        iem_test_setup_flat32(t, CODE, 0x80000);
        if (k->o16) {
            wr16(0x9000, (uint16_t)k->lo);
            wr16(0x9002, (uint16_t)k->hi);
        } else {
            wr32(0x9000, k->lo);
            wr32(0x9004, k->hi);
        }
        s->gpr[CPUM_EAX] = k->v;
        uint64_t x0 = last().count;
        cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT, "%s", k->name);
        if (k->br) {
            cr_assert_eq(last().vector, 5, "%s", k->name);
            cr_assert_eq(rd32(s->gpr[CPUM_ESP]), CODE, "%s: #BR is a fault", k->name);
        } else {
            cr_assert_eq(last().count, x0, "%s: no exception", k->name);
            cr_assert_eq(s->eip, CODE + len + 1, "%s", k->name);
        }
    }
}
Test(iem_misc, bound_register_form_ud)
{
    static const uint8_t code[] = { 0x62, 0xc1 };
    cr_assert_eq(run(code, sizeof(code), NULL), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 6);
}

/* ---- ARPL ---- */
Test(iem_misc, arpl)
{
    static const uint8_t code[] = {
        0x63, 0xc8,                      /* arpl ax, cx */
        0x9f, 0x88, 0xe3,                /* lahf; mov bl, ah */
        0x63, 0x0d, 0x00, 0x90, 0x00, 0x00,  /* arpl [0x9000], cx */
        0x9f, 0x88, 0xe7,                /* lahf; mov bh, ah */
        0x63, 0x15, 0x04, 0x90, 0x00, 0x00,  /* arpl [0x9004], dx */
        0x9f };                          /* lahf */
    load(CODE, code, sizeof(code));
    uint8_t hlt = 0xf4;
    load(CODE + sizeof(code), &hlt, 1);
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->gpr[CPUM_EAX] = 0xabcd0010;   /* RPL 0 */
    s->gpr[CPUM_ECX] = 0x00000023;   /* RPL 3 */
    s->gpr[CPUM_EDX] = 0x00000001;   /* RPL 1 */
    wr16(0x9000, 0x0032);            /* RPL 2 < 3: raised */
    wr16(0x9004, 0x0033);            /* RPL 3 >= 1: unchanged */
    cr_assert_eq(iem_test_run(t, 20), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_EAX] & 0xffff00ffu, 0xabcd0013u & 0xffff00ffu, "eax %#x", s->gpr[CPUM_EAX]);
    cr_assert(s->gpr[CPUM_EBX] & 0x40, "ZF=1 after a raise");
    cr_assert(s->gpr[CPUM_EBX] & 0x4000, "ZF=1 after the memory raise");
    cr_assert_eq(rd16(0x9000), 0x0033);
    cr_assert_eq(rd16(0x9004), 0x0033);
    cr_assert_eq((s->gpr[CPUM_EAX] >> 8) & 0x40, 0, "ZF=0 when unchanged");
}
Test(iem_misc, arpl_real_mode_ud)
{
    static const uint8_t code[] = { 0x63, 0xc8, 0xf4 };
    load(0x7c00, code, sizeof(code));
    iem_test_setup_real(t, 0, 0x7c00, 0, 0x7000);
    wr32(6 * 4, 0x00000500);          /* IVT #UD -> 0000:0500 */
    ram[0x500] = 0xf4;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 6);
    cr_assert_eq(s->eip, 0x501);
}

/* ---- LDS / LES / LSS / LFS / LGS ---- */
struct lxs_case {
    const char *name;
    uint8_t code[4];
    unsigned len;
    unsigned sreg;
    bool o16;
    uint16_t sel;
    unsigned vec;      /* 0: no fault */
    uint32_t err;
};
static const struct lxs_case lxs_cases[] = {
    { "lds eax", { 0xc5, 0x05 }, 2, CPUM_DS, false, 0x10, 0, 0 },
    { "les eax", { 0xc4, 0x05 }, 2, CPUM_ES, false, 0x20, 0, 0 },
    { "lfs eax", { 0x0f, 0xb4, 0x05 }, 3, CPUM_FS, false, 0x10, 0, 0 },
    { "lgs ax", { 0x66, 0x0f, 0xb5, 0x05 }, 4, CPUM_GS, true, 0x10, 0, 0 },
    { "lss eax", { 0x0f, 0xb2, 0x05 }, 3, CPUM_SS, false, 0x10, 0, 0 },
    { "lds null ok", { 0xc5, 0x05 }, 2, CPUM_DS, false, 0x0003, 0, 0 },
    { "lss null #GP(0)", { 0x0f, 0xb2, 0x05 }, 3, CPUM_SS, false, 0x0000, 13, 0 },
    { "lss code #GP(sel)", { 0x0f, 0xb2, 0x05 }, 3, CPUM_SS, false, 0x08, 13, 0x08 },
    { "lds beyond gdt #GP(sel)", { 0xc5, 0x05 }, 2, CPUM_DS, false, 0x80, 13, 0x80 },
    { "les dpl0 from rpl3 #GP", { 0xc4, 0x05 }, 2, CPUM_ES, false, 0x13, 13, 0x10 },
};
Test(iem_misc, lxs_table)
{
    for (unsigned n = 0; n < sizeof(lxs_cases) / sizeof(lxs_cases[0]); n++) {
        const struct lxs_case *k = &lxs_cases[n];
        uint8_t code[16];
        memcpy(code, k->code, k->len);
        uint32_t ea = 0x9000;
        memcpy(code + k->len, &ea, 4);
        code[k->len + 4] = 0xf4;
        load(CODE, code, k->len + 5);
        iem_test_setup_flat32(t, CODE, 0x80000);
        if (k->o16) {
            wr16(0x9000, 0x5678);
            wr16(0x9002, k->sel);
        } else {
            wr32(0x9000, 0x12345678);
            wr16(0x9004, k->sel);
        }
        s->gpr[CPUM_EAX] = 0xeeeeeeee;
        uint16_t old_sel = s->seg[k->sreg].sel;
        int rc = iem_test_run(t, 10);
        cr_assert_eq(rc, IXVM_INF_EM_HALT, "%s", k->name);
        if (k->vec) {
            cr_assert_eq(last().vector, k->vec, "%s: vector %u", k->name, last().vector);
            cr_assert_eq(last().error, k->err, "%s: error %#x", k->name, last().error);
            cr_assert_eq(s->gpr[CPUM_EAX], 0xeeeeeeee, "%s: register untouched", k->name);
            cr_assert_eq(s->seg[k->sreg].sel, old_sel, "%s: segment untouched", k->name);
        } else {
            cr_assert_eq(s->eip, CODE + k->len + 5, "%s: eip %#x vector %u", k->name, s->eip, last().vector);
            cr_assert_eq(s->gpr[CPUM_EAX], k->o16 ? 0xeeee5678u : 0x12345678u, "%s", k->name);
            cr_assert_eq(s->seg[k->sreg].sel, k->sel, "%s", k->name);
        }
    }
}
Test(iem_misc, lxs_register_form_ud)
{
    static const uint8_t code[] = { 0x0f, 0xb2, 0xc0 };   /* lss eax, eax */
    cr_assert_eq(run(code, sizeof(code), NULL), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 6);
}
Test(iem_misc, lds_real_mode)
{
    static const uint8_t code[] = { 0xc5, 0x36, 0x00, 0x06, 0xf4 };   /* lds si, [0x600] */
    load(0x7c00, code, sizeof(code));
    iem_test_setup_real(t, 0, 0x7c00, 0, 0x7000);
    wr16(0x600, 0x0042);
    wr16(0x602, 0x1234);
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_ESI] & 0xffff, 0x42);
    cr_assert_eq(s->seg[CPUM_DS].sel, 0x1234);
    cr_assert_eq(s->seg[CPUM_DS].base, 0x12340);
}

/* ---- XLAT ---- */
Test(iem_misc, xlat)
{
    static const uint8_t code[] = {
        0xd7,                  /* xlat: al = [ebx + al] */
        0x88, 0xc1,            /* mov cl, al */
        0x64, 0xd7,            /* xlat fs: */
        0x88, 0xc2,            /* mov dl, al */
        0x67, 0xd7 };          /* xlat with bx: wraps at 64 K */
    load(CODE, code, sizeof(code));
    uint8_t hlt = 0xf4;
    load(CODE + sizeof(code), &hlt, 1);
    iem_test_setup_flat32(t, CODE, 0x80000);
    s->seg[CPUM_FS].base = 0x40000;
    s->gpr[CPUM_EBX] = 0x0002fff0;
    s->gpr[CPUM_EAX] = 0xffffff20;
    ram[0x2fff0 + 0x20] = 0x31;
    ram[0x40000 + 0x2fff0 + 0x31] = 0xe4;
    ram[(0xfff0 + 0xe4) & 0xffff] = 0x99;
    cr_assert_eq(iem_test_run(t, 20), IXVM_INF_EM_HALT);
    cr_assert_eq(s->gpr[CPUM_ECX] & 0xff, 0x31);
    cr_assert_eq(s->gpr[CPUM_EDX] & 0xff, 0xe4);
    cr_assert_eq(s->gpr[CPUM_EAX], 0xffffff99u, "only AL changes; BX+AL wrapped");
}

/* ---- INT1 (ICEBP): #DB trap without the gate DPL check ---- */
Test(iem_misc, int1_icebp)
{
    static const uint8_t code[] = { 0xf1, 0xeb, 0xfe };
    load(CODE, code, sizeof(code));
    iem_test_setup_flat32(t, CODE, 0x80000);
    /* Gate 1 DPL 0, ring 3: INT 1 would #GP, ICEBP is delivered. */
    ram[IEM_TEST_IDT + 8 + 5] &= (uint8_t)~0x60;
    for (unsigned k = 0; k < CPUM_SREG_COUNT; k++) {
        s->seg[k].sel = IEM_TEST_SEL_DS32_R3;
        s->seg[k].attr |= 3u << CPUM_SEG_ATTR_DPL_SHIFT;
    }
    s->seg[CPUM_CS].sel = IEM_TEST_SEL_CS32_R3;
    s->cpl = 3;
    cr_assert_eq(iem_test_run(t, 10), IXVM_INF_EM_HALT);
    cr_assert_eq(last().vector, 1);
    cr_assert_eq(rd32(s->gpr[CPUM_ESP]), CODE + 1, "trap: EIP after F1");
}
