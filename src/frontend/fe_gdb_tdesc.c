/* SPDX-License-Identifier: MIT */
/*
 * gdb register map and target description.  One table (below) is the
 * source for the g/G/p/P packet layout and the XML served through
 * qXfer:features:read:target.xml (gdb manual, "Target Descriptions",
 * "i386 Features").  gdb requires the org.gnu.gdb.i386.core feature with
 * the 16 integer registers and the 16 x87 registers in this order; x87
 * data registers are not modelled by the interpreter and read as zero.
 * The system registers are an extra feature (group "system", shown by
 * `info registers system`).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "frontend/fe_gdb.h"

#define CS_OFF(m) offsetof(struct cpum_state, m)
#define CS_SZ(m)  sizeof(((struct cpum_state *)0)->m)

enum { FEAT_CORE, FEAT_SYS };

/* X(name, gdb bits, type, group, feature, cpum offset, cpum field size) */
#define FE_GDB_REGS(X)                                                               \
    X("eax", 32, "int32", "general", FEAT_CORE, CS_OFF(gpr[CPUM_EAX]), 4)            \
    X("ecx", 32, "int32", "general", FEAT_CORE, CS_OFF(gpr[CPUM_ECX]), 4)            \
    X("edx", 32, "int32", "general", FEAT_CORE, CS_OFF(gpr[CPUM_EDX]), 4)            \
    X("ebx", 32, "int32", "general", FEAT_CORE, CS_OFF(gpr[CPUM_EBX]), 4)            \
    X("esp", 32, "data_ptr", "general", FEAT_CORE, CS_OFF(gpr[CPUM_ESP]), 4)         \
    X("ebp", 32, "data_ptr", "general", FEAT_CORE, CS_OFF(gpr[CPUM_EBP]), 4)         \
    X("esi", 32, "int32", "general", FEAT_CORE, CS_OFF(gpr[CPUM_ESI]), 4)            \
    X("edi", 32, "int32", "general", FEAT_CORE, CS_OFF(gpr[CPUM_EDI]), 4)            \
    X("eip", 32, "code_ptr", "general", FEAT_CORE, CS_OFF(eip), 4)                   \
    X("eflags", 32, "i386_eflags", "general", FEAT_CORE, CS_OFF(eflags), 4)          \
    X("cs", 32, "int32", "general", FEAT_CORE, CS_OFF(seg[CPUM_CS].sel), 2)          \
    X("ss", 32, "int32", "general", FEAT_CORE, CS_OFF(seg[CPUM_SS].sel), 2)          \
    X("ds", 32, "int32", "general", FEAT_CORE, CS_OFF(seg[CPUM_DS].sel), 2)          \
    X("es", 32, "int32", "general", FEAT_CORE, CS_OFF(seg[CPUM_ES].sel), 2)          \
    X("fs", 32, "int32", "general", FEAT_CORE, CS_OFF(seg[CPUM_FS].sel), 2)          \
    X("gs", 32, "int32", "general", FEAT_CORE, CS_OFF(seg[CPUM_GS].sel), 2)          \
    X("st0", 80, "i387_ext", "float", FEAT_CORE, SIZE_MAX, 0)                            \
    X("st1", 80, "i387_ext", "float", FEAT_CORE, SIZE_MAX, 0)                            \
    X("st2", 80, "i387_ext", "float", FEAT_CORE, SIZE_MAX, 0)                            \
    X("st3", 80, "i387_ext", "float", FEAT_CORE, SIZE_MAX, 0)                            \
    X("st4", 80, "i387_ext", "float", FEAT_CORE, SIZE_MAX, 0)                            \
    X("st5", 80, "i387_ext", "float", FEAT_CORE, SIZE_MAX, 0)                            \
    X("st6", 80, "i387_ext", "float", FEAT_CORE, SIZE_MAX, 0)                            \
    X("st7", 80, "i387_ext", "float", FEAT_CORE, SIZE_MAX, 0)                            \
    X("fctrl", 32, "int", "float", FEAT_CORE, CS_OFF(fpu_fcw), 2)                    \
    X("fstat", 32, "int", "float", FEAT_CORE, CS_OFF(fpu_fsw), 2)                    \
    X("ftag", 32, "int", "float", FEAT_CORE, CS_OFF(fpu_ftw), 2)                     \
    X("fiseg", 32, "int", "float", FEAT_CORE, SIZE_MAX, 0)                               \
    X("fioff", 32, "int", "float", FEAT_CORE, SIZE_MAX, 0)                               \
    X("foseg", 32, "int", "float", FEAT_CORE, SIZE_MAX, 0)                               \
    X("fooff", 32, "int", "float", FEAT_CORE, SIZE_MAX, 0)                               \
    X("fop", 32, "int", "float", FEAT_CORE, SIZE_MAX, 0)                                 \
    X("cr0", 32, "int32", "system", FEAT_SYS, CS_OFF(cr0), 4)                        \
    X("cr2", 32, "int32", "system", FEAT_SYS, CS_OFF(cr2), 4)                        \
    X("cr3", 32, "int32", "system", FEAT_SYS, CS_OFF(cr3), 4)                        \
    X("cr4", 32, "int32", "system", FEAT_SYS, CS_OFF(cr4), 4)                        \
    X("gdtr_base", 32, "data_ptr", "system", FEAT_SYS, CS_OFF(gdtr.base), 4)         \
    X("gdtr_limit", 32, "int32", "system", FEAT_SYS, CS_OFF(gdtr.limit), 2)          \
    X("idtr_base", 32, "data_ptr", "system", FEAT_SYS, CS_OFF(idtr.base), 4)         \
    X("idtr_limit", 32, "int32", "system", FEAT_SYS, CS_OFF(idtr.limit), 2)

struct fe_gdb_reg {
    const char *name;
    unsigned bits;
    const char *type, *group;
    int feature;
    size_t off, fsize;
};

static const struct fe_gdb_reg fe_gdb_regs[] = {
#define FE_GDB_REG_ENTRY(n, b, t, g, f, o, s) { n, b, t, g, f, o, s },
    FE_GDB_REGS(FE_GDB_REG_ENTRY)
#undef FE_GDB_REG_ENTRY
};

_Static_assert(IXVM_ARRAY_SIZE(fe_gdb_regs) == FE_GDB_NREGS, "FE_GDB_NREGS out of date");

size_t fe_gdb_reg_size(unsigned n)
{
    return n < FE_GDB_NREGS ? fe_gdb_regs[n].bits / 8 : 0;
}

const char *fe_gdb_reg_name(unsigned n)
{
    return n < FE_GDB_NREGS ? fe_gdb_regs[n].name : NULL;
}

size_t fe_gdb_reg_get(const struct cpum_state *s, unsigned n, uint8_t *out)
{
    size_t size = fe_gdb_reg_size(n);
    if (!size)
        return 0;
    memset(out, 0, size);
    const struct fe_gdb_reg *r = &fe_gdb_regs[n];
    /* Host and target are little endian (x86/arm64 hosts; see README). */
    if (r->off != SIZE_MAX)
        memcpy(out, (const uint8_t *)s + r->off, r->fsize);
    return size;
}

void fe_gdb_reg_set(struct cpum_state *s, unsigned n, const uint8_t *in)
{
    if (n >= FE_GDB_NREGS || fe_gdb_regs[n].off == SIZE_MAX)
        return;
    memcpy((uint8_t *)s + fe_gdb_regs[n].off, in, fe_gdb_regs[n].fsize);
}

/* EFLAGS bit names for gdb's flags type (SDM Vol. 1 3.4.3). */
static const struct { const char *name; unsigned bit; } fe_gdb_eflags_bits[] = {
    { "CF", 0 }, { "PF", 2 }, { "AF", 4 }, { "ZF", 6 }, { "SF", 7 }, { "TF", 8 },
    { "IF", 9 }, { "DF", 10 }, { "OF", 11 }, { "NT", 14 }, { "RF", 16 }, { "VM", 17 },
    { "AC", 18 }, { "VIF", 19 }, { "VIP", 20 }, { "ID", 21 },
};

static char fe_gdb_xml[8192];
static pthread_once_t fe_gdb_xml_once = PTHREAD_ONCE_INIT;

static void fe_gdb_xml_build(void)
{
    static const char *const feature_names[] = { "org.gnu.gdb.i386.core", "org.ixvm.i386.system" };
    size_t o = 0, cap = sizeof(fe_gdb_xml);
#define XML_PUT(...) (o += (size_t)snprintf(fe_gdb_xml + o, o < cap ? cap - o : 0, __VA_ARGS__))
    XML_PUT("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
            "<target version=\"1.0\">\n<architecture>i386</architecture>\n");
    for (int f = FEAT_CORE; f <= FEAT_SYS; f++) {
        XML_PUT("<feature name=\"%s\">\n", feature_names[f]);
        if (f == FEAT_CORE) {
            XML_PUT("<flags id=\"i386_eflags\" size=\"4\">\n");
            for (size_t i = 0; i < IXVM_ARRAY_SIZE(fe_gdb_eflags_bits); i++)
                XML_PUT("<field name=\"%s\" start=\"%u\" end=\"%u\"/>\n", fe_gdb_eflags_bits[i].name,
                        fe_gdb_eflags_bits[i].bit, fe_gdb_eflags_bits[i].bit);
            XML_PUT("</flags>\n");
        }
        for (unsigned n = 0; n < FE_GDB_NREGS; n++) {
            const struct fe_gdb_reg *r = &fe_gdb_regs[n];
            if (r->feature == f)
                XML_PUT("<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" group=\"%s\" regnum=\"%u\"/>\n",
                        r->name, r->bits, r->type, r->group, n);
        }
        XML_PUT("</feature>\n");
    }
    XML_PUT("</target>\n");
#undef XML_PUT
}

const char *fe_gdb_tdesc_xml(void)
{
    pthread_once(&fe_gdb_xml_once, fe_gdb_xml_build);
    return fe_gdb_xml;
}
