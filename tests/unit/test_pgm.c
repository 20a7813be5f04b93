/* SPDX-License-Identifier: MIT */
/* PGM + IOM: RAM/ROM/MMIO/unassigned semantics, A20, SMC tracking, ports. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>

#include "ixvm/iom.h"
#include "ixvm/pgm.h"

struct mdev {
    uint32_t last_off;
    unsigned last_size, reads, writes;
    uint64_t last_val;
};
static int mread(void *d, uint32_t off, unsigned size, uint64_t *val)
{
    struct mdev *m = d;
    m->last_off = off;
    m->last_size = size;
    m->reads++;
    *val = 0xa0u + off;
    return 0;
}
static int mwrite(void *d, uint32_t off, uint64_t val, unsigned size)
{
    struct mdev *m = d;
    m->last_off = off;
    m->last_size = size;
    m->last_val = val;
    m->writes++;
    return 0;
}

Test(pgm, ram_rom_mmio_unassigned)
{
    struct pgm *p;
    struct ixvm_errinfo err;
    cr_assert_eq(pgm_create(&p, 1 << 20, &err), 0);
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8];
    cr_assert_eq(pgm_phys_write(p, 0x1000, buf, 8), 0);
    cr_assert_eq(pgm_phys_read(p, 0x1000, out, 8), 0);
    cr_assert_arr_eq(out, buf, 8);
    /* Unassigned: all ones, writes dropped. */
    cr_assert_eq(pgm_phys_read(p, 0x200000, out, 4), 0);
    cr_assert_eq(out[0] & out[1] & out[2] & out[3], 0xff);
    /* ROM: contents readable, guest writes ignored. */
    static const uint8_t rom[4] = { 0xea, 0x5b, 0xe0, 0x00 };
    cr_assert_eq(pgm_map_rom(p, 0xfffff000u, 0x1000, rom, sizeof(rom), "bios", &err), 0);
    cr_assert_eq(pgm_phys_write(p, 0xfffff000u, buf, 4), 0);
    cr_assert_eq(pgm_phys_read(p, 0xfffff000u, out, 4), 0);
    cr_assert_arr_eq(out, rom, 4);
    struct pgm_page_info pi;
    pgm_page_lookup(p, 0xfffff000u, &pi);
    cr_assert_eq(pi.kind, PGM_PAGE_ROM);
    cr_assert_not_null(pi.host);
    /* MMIO: range-relative offsets, byte-only device gets split accesses. */
    static struct pgm_mmio_ops ops = { mread, mwrite, 1 };
    struct mdev m = { 0 };
    cr_assert_eq(pgm_map_mmio(p, 0xfee00000u, 0x1000, &ops, &m, "dev", &err), 0);
    cr_assert_eq(pgm_mmio_read(p, 0xfee00010u, 2), 0xb1b0u);
    cr_assert_eq(m.reads, 2);
    cr_assert_eq(m.last_size, 1);
    pgm_mmio_write(p, 0xfee00020u, 0x1234, 2);
    cr_assert_eq(m.writes, 2);
    cr_assert_eq(m.last_off, 0x21);
    cr_assert_eq(m.last_val, 0x12);
    cr_assert_neq(pgm_map_mmio(p, 0xfee00000u, 0x1000, &ops, &m, "dup", &err), 0);
    cr_assert_eq(pgm_unmap_mmio(p, 0xfee00000u), 0);
    cr_assert_eq(pgm_mmio_read(p, 0xfee00010u, 4), 0xffffffffu);
    pgm_destroy(p);
}

Test(pgm, a20_and_smc_tracking)
{
    struct pgm *p;
    cr_assert_eq(pgm_create(&p, 2 << 20, NULL), 0);
    uint32_t e0 = pgm_tlb_epoch(p);
    pgm_set_a20(p, false);
    cr_assert_eq(pgm_a20_mask(p), ~(1u << 20));
    cr_assert_neq(pgm_tlb_epoch(p), e0);
    pgm_set_a20(p, true);
    cr_assert(pgm_a20_enabled(p));

    struct pgm_code_page *cp = pgm_code_page(p, 0x3000);
    atomic_store(&cp->code_mask, 1u << 2);   /* granule 0x100-0x17f holds code */
    uint32_t g0 = atomic_load(&cp->code_gen);
    uint8_t b = 0x90;
    cr_assert_eq(pgm_phys_write(p, 0x3080, &b, 1), 0);   /* other granule: no hit */
    cr_assert_eq(atomic_load(&cp->code_gen), g0);
    cr_assert_eq(pgm_phys_write(p, 0x3100, &b, 1), 0);   /* hit */
    cr_assert_eq(atomic_load(&cp->code_gen), g0 + 1);
    cr_assert_eq(atomic_load(&cp->code_mask), 0);
    cr_assert(!pgm_code_write(p, 0x3100, 1));
    pgm_destroy(p);
}

Test(pgm, bad_parameters)
{
    struct pgm *p;
    struct ixvm_errinfo err;
    cr_assert_eq(pgm_create(&p, 12345, &err), IXVM_ERR_INVALID_PARAMETER);
    cr_assert(strstr(err.msg, "Memory/Size") != NULL);
    cr_assert_eq(pgm_create(&p, 1 << 20, &err), 0);
    cr_assert_eq(pgm_map_rom(p, 0x1001, 0x1000, NULL, 0, "x", &err), IXVM_ERR_INVALID_PARAMETER);
    pgm_destroy(p);
}

static int pread(void *d, uint16_t off, unsigned size, uint32_t *val)
{
    struct mdev *m = d;
    m->reads++;
    m->last_off = off;
    m->last_size = size;
    *val = 0x10u + off;
    return 0;
}
static int pwrite(void *d, uint16_t off, uint32_t val, unsigned size)
{
    struct mdev *m = d;
    m->writes++;
    m->last_off = off;
    m->last_size = size;
    m->last_val = val;
    return 0;
}

Test(iom, ports_split_unassigned_lock)
{
    struct iom *io;
    cr_assert_eq(iom_create(&io), 0);
    static const struct iom_port_ops bytes = { pread, pwrite, 1 };
    static const struct iom_port_ops any = { pread, pwrite, 0 };
    struct mdev a = { 0 }, b = { 0 };
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    cr_assert_eq(iom_map_ports(io, 0x60, 2, &bytes, &a, "kbd"), 0);
    cr_assert_eq(iom_map_ports_locked(io, 0x3f8, 8, &any, &b, "uart", &lock), 0);
    cr_assert_eq(iom_map_ports(io, 0x61, 1, &any, &b, "dup"), IXVM_ERR_ALREADY_EXISTS);
    uint32_t v;
    cr_assert_eq(iom_in(io, 0x60, 2, &v), 0);        /* split into two byte reads */
    cr_assert_eq(v, 0x1110u);
    cr_assert_eq(a.reads, 2);
    cr_assert_eq(iom_in(io, 0x3f9, 4, &v), 0);       /* one 4-byte read, offset 1 */
    cr_assert_eq(b.last_off, 1);
    cr_assert_eq(b.last_size, 4);
    cr_assert_eq(iom_in(io, 0x80, 1, &v), 0);
    cr_assert_eq(v, 0xffu);
    cr_assert_eq(iom_in(io, 0x1234, 4, &v), 0);
    cr_assert_eq(v, 0xffffffffu);
    cr_assert_eq(iom_in(io, 0x61, 2, &v), 0);        /* 0x61 device, 0x62 unassigned */
    cr_assert_eq(v, 0xff11u);
    cr_assert_eq(iom_out(io, 0x3fa, 0xabcd, 2), 0);
    cr_assert_eq(b.last_val, 0xabcdu);
    cr_assert_str_eq(iom_port_name(io, 0x3fc), "uart");
    cr_assert_eq(iom_unmap_ports(io, 0x3f8), 0);
    cr_assert_null(iom_port_name(io, 0x3fc));
    iom_destroy(io);
}
