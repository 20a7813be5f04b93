/* SPDX-License-Identifier: MIT */
/*
 * DBGF symbols: manual adds, address and name lookups, formatting, a
 * hand-built ELF32 image (with a load bias), this test binary as an ELF64
 * file, error messages for bad files, and corrupted images never crash.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/dbgf_target.h"

/* An ELF32 file: header, .symtab (4 entries), .strtab, 3 section headers. */
struct elf32_img {
    Elf32_Ehdr eh;
    Elf32_Sym sym[4];
    char str[32];
    Elf32_Shdr sh[3];
};

static void build_elf32(struct elf32_img *m)
{
    memset(m, 0, sizeof(*m));
    memcpy(m->eh.e_ident, ELFMAG, SELFMAG);
    m->eh.e_ident[EI_CLASS] = ELFCLASS32;
    m->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    m->eh.e_ident[EI_VERSION] = EV_CURRENT;
    m->eh.e_type = ET_EXEC;
    m->eh.e_machine = EM_386;
    m->eh.e_ehsize = sizeof(Elf32_Ehdr);
    m->eh.e_shentsize = sizeof(Elf32_Shdr);
    m->eh.e_shnum = 3;
    m->eh.e_shoff = offsetof(struct elf32_img, sh);
    memcpy(m->str, "\0start\0data_buf\0undef\0", 23);
    m->sym[1] = (Elf32_Sym){ .st_name = 1, .st_value = 0x7c00, .st_size = 0x40,
                             .st_info = ELF32_ST_INFO(STB_GLOBAL, STT_FUNC), .st_shndx = 1 };
    m->sym[2] = (Elf32_Sym){ .st_name = 7, .st_value = 0x9000, .st_size = 0x100,
                             .st_info = ELF32_ST_INFO(STB_LOCAL, STT_OBJECT), .st_shndx = 1 };
    m->sym[3] = (Elf32_Sym){ .st_name = 16, .st_value = 0, .st_size = 0,
                             .st_info = ELF32_ST_INFO(STB_GLOBAL, STT_FUNC), .st_shndx = SHN_UNDEF };
    m->sh[1] = (Elf32_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = offsetof(struct elf32_img, sym),
                             .sh_size = sizeof(m->sym), .sh_link = 2, .sh_entsize = sizeof(Elf32_Sym) };
    m->sh[2] = (Elf32_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = offsetof(struct elf32_img, str),
                             .sh_size = sizeof(m->str) };
}

Test(dbgf_sym, add_lookup_format)
{
    struct dbgf_sym *s;
    cr_assert_eq(dbgf_sym_create(&s), 0);
    cr_assert_eq(dbgf_sym_add(s, "b", 0x2000, 0), 0);
    cr_assert_eq(dbgf_sym_add(s, "a", 0x1000, 0x10), 0);
    cr_expect_eq(dbgf_sym_add(s, "", 0, 0), IXVM_ERR_INVALID_PARAMETER);
    cr_expect_eq(dbgf_sym_count(s), 2u);
    const char *name;
    uint64_t off, addr;
    cr_assert_eq(dbgf_sym_lookup_addr(s, 0x100f, &name, &off), 0);
    cr_expect_str_eq(name, "a");
    cr_expect_eq(off, 0xf);
    cr_expect_eq(dbgf_sym_lookup_addr(s, 0x1010, &name, &off), IXVM_ERR_NOT_FOUND);  /* past a's size */
    cr_expect_eq(dbgf_sym_lookup_addr(s, 0xfff, &name, &off), IXVM_ERR_NOT_FOUND);
    cr_assert_eq(dbgf_sym_lookup_addr(s, 0x2345, &name, &off), 0);   /* size 0: nearest below */
    cr_expect_str_eq(name, "b");
    cr_expect_eq(off, 0x345);
    cr_assert_eq(dbgf_sym_lookup_name(s, "a", &addr), 0);
    cr_expect_eq(addr, 0x1000);
    cr_expect_eq(dbgf_sym_lookup_name(s, "c", &addr), IXVM_ERR_NOT_FOUND);
    char buf[64];
    cr_assert_eq(dbgf_sym_format(s, 0x1000, buf, sizeof(buf)), 0);
    cr_expect_str_eq(buf, "a");
    cr_assert_eq(dbgf_sym_format(s, 0x1004, buf, sizeof(buf)), 0);
    cr_expect_str_eq(buf, "a+0x4");
    cr_expect_eq(dbgf_sym_format(s, 0x10, buf, sizeof(buf)), IXVM_ERR_NOT_FOUND);
    cr_expect_str_eq(buf, "");
    dbgf_sym_destroy(s);
}

Test(dbgf_sym, elf32_image_with_bias)
{
    struct elf32_img m;
    build_elf32(&m);
    struct dbgf_sym *s;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(dbgf_sym_create(&s), 0);
    cr_assert_eq(dbgf_sym_load_elf_mem(s, &m, sizeof(m), 0x10000, "boot.elf", &err), 0, "%s", err.msg);
    cr_expect_eq(dbgf_sym_count(s), 2u);   /* the undefined one is skipped */
    uint64_t addr;
    cr_assert_eq(dbgf_sym_lookup_name(s, "start", &addr), 0);
    cr_expect_eq(addr, 0x17c00);
    char buf[64];
    cr_assert_eq(dbgf_sym_format(s, 0x19010, buf, sizeof(buf)), 0);
    cr_expect_str_eq(buf, "data_buf+0x10");
    cr_expect_eq(dbgf_sym_lookup_name(s, "undef", &addr), IXVM_ERR_NOT_FOUND);
    dbgf_sym_destroy(s);
}

/* A function whose address this test finds through its own ELF file. */
__attribute__((noinline, used)) int dbgf_sym_test_marker(int x);
__attribute__((noinline, used)) int dbgf_sym_test_marker(int x)
{
    return x * 3 + 1;
}

Test(dbgf_sym, elf64_self)
{
    struct dbgf_sym *s;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(dbgf_sym_create(&s), 0);
    cr_assert_eq(dbgf_sym_load_elf(s, "/proc/self/exe", 0, &err), 0, "%s", err.msg);
    cr_expect_gt(dbgf_sym_count(s), 10u);
    uint64_t addr;
    cr_assert_eq(dbgf_sym_lookup_name(s, "dbgf_sym_test_marker", &addr), 0);
    const char *name;
    uint64_t off;
    cr_assert_eq(dbgf_sym_lookup_addr(s, addr + 2, &name, &off), 0);
    cr_expect_str_eq(name, "dbgf_sym_test_marker");
    cr_expect_eq(off, 2);
    /* With a bias every address moves by it. */
    struct dbgf_sym *s2;
    cr_assert_eq(dbgf_sym_create(&s2), 0);
    cr_assert_eq(dbgf_sym_load_elf(s2, "/proc/self/exe", 0x1000, &err), 0, "%s", err.msg);
    uint64_t addr2;
    cr_assert_eq(dbgf_sym_lookup_name(s2, "dbgf_sym_test_marker", &addr2), 0);
    cr_expect_eq(addr2, addr + 0x1000);
    dbgf_sym_destroy(s2);
    dbgf_sym_destroy(s);
}

Test(dbgf_sym, errors_name_the_file)
{
    struct dbgf_sym *s;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(dbgf_sym_create(&s), 0);
    cr_expect_eq(dbgf_sym_load_elf(s, "/nonexistent/x.elf", 0, &err), IXVM_ERR_IO);
    cr_expect_not_null(strstr(err.msg, "'/nonexistent/x.elf'"), "%s", err.msg);
    cr_expect_not_null(strstr(err.msg, "No such file"), "%s", err.msg);
    cr_expect_eq(dbgf_sym_load_elf_mem(s, "hello", 5, 0, "x.bin", &err), IXVM_ERR_FILE_FORMAT);
    cr_expect_str_eq(err.msg, "x.bin: not an ELF file");
    struct elf32_img m;
    build_elf32(&m);
    m.sh[1].sh_link = 7;
    cr_expect_eq(dbgf_sym_load_elf_mem(s, &m, sizeof(m), 0, "a.elf", &err), IXVM_ERR_FILE_FORMAT);
    cr_expect_not_null(strstr(err.msg, "missing section 7"), "%s", err.msg);
    build_elf32(&m);
    m.sh[1].sh_type = SHT_PROGBITS;   /* stripped */
    cr_expect_eq(dbgf_sym_load_elf_mem(s, &m, sizeof(m), 0, "b.elf", &err), IXVM_ERR_NOT_FOUND);
    cr_expect_str_eq(err.msg, "b.elf: no symbols (stripped?)");
    cr_expect_eq(dbgf_sym_count(s), 0u);
    dbgf_sym_destroy(s);
}

Test(dbgf_sym, corrupted_images_never_crash)
{
    struct elf32_img m;
    uint32_t x = 99;
    for (int i = 0; i < 20000; i++) {
        build_elf32(&m);
        uint8_t *b = (uint8_t *)&m;
        for (int k = 0; k < 1 + i % 6; k++) {
            x = x * 1664525u + 1013904223u;
            b[(x >> 8) % sizeof(m)] = (uint8_t)(x >> 24);
        }
        size_t len = (i % 7 == 0) ? (x >> 4) % sizeof(m) : sizeof(m);
        struct dbgf_sym *s;
        cr_assert_eq(dbgf_sym_create(&s), 0);
        struct ixvm_errinfo err = { 0 };
        int rc = dbgf_sym_load_elf_mem(s, b, len, 0, "fuzz", &err);
        cr_assert(rc == 0 || rc == IXVM_ERR_FILE_FORMAT || rc == IXVM_ERR_NOT_FOUND, "rc %d", rc);
        if (rc)
            cr_assert_neq(err.msg[0], '\0');
        char buf[64];
        (void)dbgf_sym_format(s, 0x7c10, buf, sizeof(buf));
        dbgf_sym_destroy(s);
    }
}
