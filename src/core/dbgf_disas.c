/* SPDX-License-Identifier: MIT */
/*
 * DBGF disassembler: a thin capstone wrapper for the monitor (disas, x/i),
 * the gdb stub's monitor commands and the tracer.  One capstone handle per
 * operand size (16/32), Intel syntax; a line is
 * "ADDR [<sym+off>]: BYTES  MNEMONIC OPERANDS", and direct branch targets get
 * " <sym+off>" appended when a symbol table is attached.  An object belongs
 * to one thread at a time (capstone handles are not shareable).
 */
#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dbgf_target.h"

/* Width of the byte column: 7 bytes "xx " minus the last space. */
#define DBGF_DISAS_BYTES_COL 20

struct dbgf_disas {
    csh h16, h32;
    cs_insn *insn;              /* capstone's scratch instruction */
    const struct dbgf_sym *sym; /* may be NULL */
};

int dbgf_disas_create(const struct dbgf_sym *sym, struct dbgf_disas **out)
{
    struct dbgf_disas *d = calloc(1, sizeof(*d));
    if (!d)
        return IXVM_ERR_NO_MEMORY;
    if (cs_open(CS_ARCH_X86, CS_MODE_16, &d->h16) != CS_ERR_OK) {
        free(d);
        return IXVM_ERR_GENERAL;
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &d->h32) != CS_ERR_OK) {
        cs_close(&d->h16);
        free(d);
        return IXVM_ERR_GENERAL;
    }
    d->insn = cs_malloc(d->h32);
    if (!d->insn) {
        cs_close(&d->h16);
        cs_close(&d->h32);
        free(d);
        return IXVM_ERR_NO_MEMORY;
    }
    d->sym = sym;
    *out = d;
    return 0;
}

void dbgf_disas_destroy(struct dbgf_disas *d)
{
    if (!d)
        return;
    cs_free(d->insn, 1);
    cs_close(&d->h16);
    cs_close(&d->h32);
    free(d);
}

void dbgf_disas_set_sym(struct dbgf_disas *d, const struct dbgf_sym *sym)
{
    d->sym = sym;
}

/* Direct branches (jmp/jcc/call/loop/jcxz rel or ptr16:xx) carry their
 * target as the sole immediate operand text "0x1234". */
static bool dbgf_disas_is_branch(const char *mnem)
{
    return mnem[0] == 'j' || strcmp(mnem, "call") == 0 || strncmp(mnem, "loop", 4) == 0;
}

/* Decode one instruction into d->insn; 0 or SYNTAX. */
static int dbgf_disas_decode(struct dbgf_disas *d, unsigned bits, uint64_t addr, const uint8_t *bytes,
                             size_t len)
{
    csh h = bits == 16 ? d->h16 : d->h32;
    const uint8_t *code = bytes;
    size_t size = len;
    uint64_t a = addr;
    if (!bytes || !len || !cs_disasm_iter(h, &code, &size, &a, d->insn))
        return IXVM_ERR_SYNTAX;
    return 0;
}

/* "mnemonic operands[ <sym>]" of d->insn into buf. */
static void dbgf_disas_text(const struct dbgf_disas *d, char *buf, size_t size)
{
    const cs_insn *in = d->insn;
    int n = snprintf(buf, size, "%s%s%s", in->mnemonic, in->op_str[0] ? " " : "", in->op_str);
    if (n < 0 || (size_t)n >= size || !d->sym || !dbgf_disas_is_branch(in->mnemonic))
        return;
    char *end;
    unsigned long long target = strtoull(in->op_str, &end, 0);
    char sym[128];
    if (strncmp(in->op_str, "0x", 2) == 0 && *end == '\0' &&
        dbgf_sym_format(d->sym, target, sym, sizeof(sym)) == 0)
        snprintf(buf + n, size - (size_t)n, " <%s>", sym);
}

int dbgf_disas_insn(struct dbgf_disas *d, unsigned bits, uint64_t addr, const uint8_t *bytes, size_t len,
                    char *buf, size_t size)
{
    int rc = dbgf_disas_decode(d, bits, addr, bytes, len);
    if (rc) {
        snprintf(buf, size, "(bad)");
        return rc;
    }
    dbgf_disas_text(d, buf, size);
    return d->insn->size;
}

int dbgf_disas_line(struct dbgf_disas *d, unsigned bits, uint64_t addr, const uint8_t *bytes, size_t len,
                    char *buf, size_t size)
{
    int rc = dbgf_disas_decode(d, bits, addr, bytes, len);
    size_t ilen = rc ? (len ? 1 : 0) : d->insn->size;
    char hex[3 * 16 + 1] = "", sym[128] = "", text[256] = "(bad)";
    for (size_t i = 0, o = 0; i < ilen && i < 16; i++)
        o += (size_t)snprintf(hex + o, sizeof(hex) - o, i ? " %02x" : "%02x", bytes[i]);
    if (!rc)
        dbgf_disas_text(d, text, sizeof(text));
    char symcol[136] = "";
    if (d->sym && dbgf_sym_format(d->sym, addr, sym, sizeof(sym)) == 0)
        snprintf(symcol, sizeof(symcol), " <%s>", sym);
    snprintf(buf, size, "%08llx%s: %-*s  %s", (unsigned long long)addr, symcol, DBGF_DISAS_BYTES_COL,
             hex, text);
    return rc ? rc : (int)ilen;
}
