/* SPDX-License-Identifier: MIT */
/*
 * DBGF symbols: a table of (name, address, size) loaded from ELF32/ELF64
 * files (--symbols FILE.elf[,bias]) for the disassembler, the monitor and
 * the tracer.  The ELF reader is our own and checks every offset against
 * the file size, so a corrupt file is an error message, never a crash
 * (System V gABI, "Sections" and "Symbol Table").  The table keeps one array
 * sorted by address (address -> symbol+offset) and one index sorted by
 * name.  Not thread-safe: load at start-up, then only look up.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dbgf_target.h"

#define DBGF_SYM_FILE_MAX (512u << 20)   /* larger ELF files are refused */

struct dbgf_sym_ent {
    char *name;
    uint64_t addr;
    uint64_t size;
};

struct dbgf_sym {
    struct dbgf_sym_ent *v;     /* sorted by (addr, size) */
    size_t n, cap;
    size_t *by_name;            /* indexes into v, sorted by name */
};

int dbgf_sym_create(struct dbgf_sym **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : IXVM_ERR_NO_MEMORY;
}

void dbgf_sym_destroy(struct dbgf_sym *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].name);
    free(s->v);
    free(s->by_name);
    free(s);
}

size_t dbgf_sym_count(const struct dbgf_sym *s)
{
    return s ? s->n : 0;
}

static int dbgf_sym_cmp_addr(const void *a, const void *b)
{
    const struct dbgf_sym_ent *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* qsort has no user pointer; the name index sorts with this table. */
static _Thread_local const struct dbgf_sym *dbgf_sym_sorting;

static int dbgf_sym_cmp_name(const void *a, const void *b)
{
    const struct dbgf_sym_ent *v = dbgf_sym_sorting->v;
    return strcmp(v[*(const size_t *)a].name, v[*(const size_t *)b].name);
}

/* Re-sort both views after a change. */
static int dbgf_sym_reindex(struct dbgf_sym *s)
{
    qsort(s->v, s->n, sizeof(s->v[0]), dbgf_sym_cmp_addr);
    size_t *idx = realloc(s->by_name, (s->n ? s->n : 1) * sizeof(*idx));
    if (!idx)
        return IXVM_ERR_NO_MEMORY;
    s->by_name = idx;
    for (size_t i = 0; i < s->n; i++)
        idx[i] = i;
    dbgf_sym_sorting = s;
    qsort(idx, s->n, sizeof(*idx), dbgf_sym_cmp_name);
    dbgf_sym_sorting = NULL;
    return 0;
}

/* Append without re-sorting. */
static int dbgf_sym_push(struct dbgf_sym *s, const char *name, size_t name_len, uint64_t addr,
                         uint64_t size)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct dbgf_sym_ent *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return IXVM_ERR_NO_MEMORY;
        s->v = v;
        s->cap = cap;
    }
    char *copy = strndup(name, name_len);
    if (!copy)
        return IXVM_ERR_NO_MEMORY;
    s->v[s->n++] = (struct dbgf_sym_ent){ copy, addr, size };
    return 0;
}

int dbgf_sym_add(struct dbgf_sym *s, const char *name, uint64_t addr, uint64_t size)
{
    if (!s || !name || !*name)
        return IXVM_ERR_INVALID_PARAMETER;
    int rc = dbgf_sym_push(s, name, strlen(name), addr, size);
    return rc ? rc : dbgf_sym_reindex(s);
}

int dbgf_sym_lookup_addr(const struct dbgf_sym *s, uint64_t addr, const char **name, uint64_t *off)
{
    if (!s || !s->n)
        return IXVM_ERR_NOT_FOUND;
    /* Last entry with ent.addr <= addr (the largest one at that address). */
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return IXVM_ERR_NOT_FOUND;
    const struct dbgf_sym_ent *e = &s->v[lo - 1];
    if (e->size && addr - e->addr >= e->size)
        return IXVM_ERR_NOT_FOUND;
    if (name)
        *name = e->name;
    if (off)
        *off = addr - e->addr;
    return 0;
}

int dbgf_sym_lookup_name(const struct dbgf_sym *s, const char *name, uint64_t *addr)
{
    if (!s || !name)
        return IXVM_ERR_NOT_FOUND;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[s->by_name[mid]].name, name);
        if (c == 0) {
            *addr = s->v[s->by_name[mid]].addr;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return IXVM_ERR_NOT_FOUND;
}

int dbgf_sym_format(const struct dbgf_sym *s, uint64_t addr, char *buf, size_t size)
{
    const char *name;
    uint64_t off;
    if (size)
        buf[0] = '\0';
    int rc = dbgf_sym_lookup_addr(s, addr, &name, &off);
    if (rc)
        return rc;
    if (off)
        snprintf(buf, size, "%s+%#llx", name, (unsigned long long)off);
    else
        snprintf(buf, size, "%s", name);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* ELF reader                                                                */
/* ------------------------------------------------------------------------- */

/* One section header or symbol, whichever class the file has. */
struct dbgf_elf {
    const uint8_t *img;
    size_t size;
    bool is64;
    const char *what;
    struct ixvm_errinfo *err;
};

struct dbgf_elf_shdr {
    uint32_t type, link;
    uint64_t off, size, entsize;
};

static bool dbgf_elf_range_ok(const struct dbgf_elf *e, uint64_t off, uint64_t len)
{
    return off <= e->size && len <= e->size - off;
}

static int dbgf_elf_shdr(const struct dbgf_elf *e, uint64_t shoff, uint32_t i, struct dbgf_elf_shdr *sh)
{
    size_t esz = e->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    uint64_t off = shoff + (uint64_t)i * esz;
    if (!dbgf_elf_range_ok(e, off, esz))
        return ixvm_errinfo_set(e->err, IXVM_ERR_FILE_FORMAT, "%s: section header %u out of file",
                                e->what, i);
    if (e->is64) {
        Elf64_Shdr h;
        memcpy(&h, e->img + off, sizeof(h));
        *sh = (struct dbgf_elf_shdr){ h.sh_type, h.sh_link, h.sh_offset, h.sh_size, h.sh_entsize };
    } else {
        Elf32_Shdr h;
        memcpy(&h, e->img + off, sizeof(h));
        *sh = (struct dbgf_elf_shdr){ h.sh_type, h.sh_link, h.sh_offset, h.sh_size, h.sh_entsize };
    }
    return 0;
}

/* Symbol i of a table: name offset, type, section index, value, size. */
static void dbgf_elf_sym(const struct dbgf_elf *e, const uint8_t *p, uint32_t *name, unsigned *type,
                         unsigned *shndx, uint64_t *value, uint64_t *size)
{
    if (e->is64) {
        Elf64_Sym y;
        memcpy(&y, p, sizeof(y));
        *name = y.st_name, *type = ELF64_ST_TYPE(y.st_info), *shndx = y.st_shndx;
        *value = y.st_value, *size = y.st_size;
    } else {
        Elf32_Sym y;
        memcpy(&y, p, sizeof(y));
        *name = y.st_name, *type = ELF32_ST_TYPE(y.st_info), *shndx = y.st_shndx;
        *value = y.st_value, *size = y.st_size;
    }
}

/* Add the usable symbols of one SYMTAB/DYNSYM section. */
static int dbgf_elf_load_table(struct dbgf_sym *s, const struct dbgf_elf *e, uint64_t shoff,
                               uint32_t shnum, const struct dbgf_elf_shdr *tab, int64_t bias)
{
    size_t esz = e->is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
    struct dbgf_elf_shdr str;
    if (tab->link >= shnum)
        return ixvm_errinfo_set(e->err, IXVM_ERR_FILE_FORMAT, "%s: symbol table links to missing section %u",
                                e->what, tab->link);
    int rc = dbgf_elf_shdr(e, shoff, tab->link, &str);
    if (rc)
        return rc;
    if (tab->entsize != esz || !dbgf_elf_range_ok(e, tab->off, tab->size) ||
        !dbgf_elf_range_ok(e, str.off, str.size))
        return ixvm_errinfo_set(e->err, IXVM_ERR_FILE_FORMAT, "%s: symbol or string table out of file",
                                e->what);
    const char *strtab = (const char *)e->img + str.off;
    for (uint64_t i = 1; i < tab->size / esz; i++) {
        uint32_t name;
        unsigned type, shndx;
        uint64_t value, size;
        dbgf_elf_sym(e, e->img + tab->off + i * esz, &name, &type, &shndx, &value, &size);
        if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) || shndx == SHN_UNDEF ||
            name == 0 || name >= str.size)
            continue;
        size_t len = strnlen(strtab + name, str.size - name);
        if (len == 0 || len == str.size - name)   /* empty or not terminated */
            continue;
        rc = dbgf_sym_push(s, strtab + name, len, value + (uint64_t)bias, size);
        if (rc)
            return ixvm_errinfo_set(e->err, rc, "%s: out of memory", e->what);
    }
    return 0;
}

int dbgf_sym_load_elf_mem(struct dbgf_sym *s, const void *img, size_t size, int64_t bias,
                          const char *what, struct ixvm_errinfo *err)
{
    struct dbgf_elf e = { img, size, false, what ? what : "ELF image", err };
    const uint8_t *id = img;
    if (size < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG) != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "%s: not an ELF file", e.what);
    if (id[EI_DATA] != ELFDATA2LSB || (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64))
        return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT,
                                "%s: only little-endian ELF32/ELF64 files are supported", e.what);
    e.is64 = id[EI_CLASS] == ELFCLASS64;
    uint64_t shoff;
    uint32_t shnum;
    if (e.is64) {
        Elf64_Ehdr h;
        if (size < sizeof(h))
            return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "%s: truncated ELF header", e.what);
        memcpy(&h, img, sizeof(h));
        shoff = h.e_shoff, shnum = h.e_shnum;
    } else {
        Elf32_Ehdr h;
        if (size < sizeof(h))
            return ixvm_errinfo_set(err, IXVM_ERR_FILE_FORMAT, "%s: truncated ELF header", e.what);
        memcpy(&h, img, sizeof(h));
        shoff = h.e_shoff, shnum = h.e_shnum;
    }
    /* Prefer the full symbol table; fall back to the dynamic one. */
    size_t before = s->n;
    for (unsigned want = SHT_SYMTAB, pass = 0; pass < 2; pass++, want = SHT_DYNSYM) {
        for (uint32_t i = 0; i < shnum; i++) {
            struct dbgf_elf_shdr sh;
            int rc = dbgf_elf_shdr(&e, shoff, i, &sh);
            if (!rc && sh.type == want)
                rc = dbgf_elf_load_table(s, &e, shoff, shnum, &sh, bias);
            if (rc) {
                while (s->n > before)
                    free(s->v[--s->n].name);
                return rc;
            }
        }
        if (s->n > before)
            break;
    }
    if (s->n == before)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "%s: no symbols (stripped?)", e.what);
    int rc = dbgf_sym_reindex(s);
    return rc ? ixvm_errinfo_set(err, rc, "%s: out of memory", e.what) : 0;
}

int dbgf_sym_load_elf(struct dbgf_sym *s, const char *path, int64_t bias, struct ixvm_errinfo *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot open symbol file '%s': %s", path, strerror(errno));
    int rc = 0;
    uint8_t *img = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0)
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot read symbol file '%s': %s", path, strerror(errno));
    else if ((unsigned long)len > DBGF_SYM_FILE_MAX)
        rc = ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "symbol file '%s' is too large (%ld bytes)", path, len);
    else if (!(img = malloc((size_t)len + 1)))
        rc = ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "symbol file '%s': out of memory", path);
    else if (fread(img, 1, (size_t)len, f) != (size_t)len)
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot read symbol file '%s': short read", path);
    fclose(f);
    if (!rc)
        rc = dbgf_sym_load_elf_mem(s, img, (size_t)len, bias, path, err);
    free(img);
    return rc;
}
