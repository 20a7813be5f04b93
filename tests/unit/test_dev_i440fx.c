/* SPDX-License-Identifier: MIT */
/*
 * i440FX tests: PAM shadow RAM (82441FX datasheet 3.2.18) driven the way
 * SeaBIOS drives it (power-on ROM alias, read/write enable while copying
 * the BIOS from its 4 GiB alias, read-only afterwards), the write-only
 * mode, the option-ROM segments, reset, TLB epoch bumps, SMRAMC lock
 * semantics, the 0xCF9 reset control and a saved-state round trip.
 */
#include "test_dev_pci_fix.h"

#define IMG_SIZE 0x20000u

static uint8_t img[IMG_SIZE];

static void img_fill(void)
{
    for (unsigned i = 0; i < IMG_SIZE; i++)
        img[i] = (uint8_t)(i * 7 + 3);
    memcpy(img + IMG_SIZE - 16, "RESET-VECTOR-OK!", 16);
}

static void fix(struct pfx *f)
{
    pfx_init(f, 16 << 20);
    pfx_chipset(f, false);
    img_fill();
    cr_assert_eq(pgm_map_rom(f->pgm, PGM_ADDR_SPACE - IMG_SIZE, IMG_SIZE, img, IMG_SIZE, "bios", &f->h.err), 0);
    cr_assert_eq(i440fx_set_bios(f->host, img, IMG_SIZE), 0);
}

static uint8_t rd8(struct pfx *f, gphys_t pa)
{
    uint8_t b;
    cr_assert_eq(pgm_phys_read(f->pgm, pa, &b, 1), 0);
    return b;
}

static void wr8(struct pfx *f, gphys_t pa, uint8_t b)
{
    cr_assert_eq(pgm_phys_write(f->pgm, pa, &b, 1), 0);
}

Test(dev_i440fx, power_on_shows_the_bios)
{
    struct pfx f;
    fix(&f);
    uint8_t v[16];
    cr_assert_eq(pgm_phys_read(f.pgm, 0xffff0, v, 16), 0);
    cr_assert_arr_eq(v, "RESET-VECTOR-OK!", 16);
    cr_assert_eq(rd8(&f, 0xe0000), img[0]);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xf0000), PGM_PAGE_ROM);
    /* Writes go to the PCI side: dropped. */
    wr8(&f, 0xf1234, 0x99);
    cr_assert_eq(rd8(&f, 0xf1234), img[0x11234]);
    /* Option-ROM segments show nothing while disabled. */
    cr_assert_eq(pgm_page_kind(f.pgm, 0xc0000), PGM_PAGE_UNASSIGNED);
    cr_assert_eq(rd8(&f, 0xc8000), 0xff);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x59, 1), 0);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x5c, 4), 0);
    cr_assert_eq(i440fx_pam_mode(f.host, 0xf0000), 0);
    pfx_fini(&f);
}

Test(dev_i440fx, seabios_shadow_sequence)
{
    struct pfx f;
    fix(&f);
    uint32_t epoch = pgm_tlb_epoch(f.pgm);
    /* make_bios_writable: 0x30 for F0000, 0x33 for the rest. */
    pfx_cfg_wr(&f, 0, 0x58, 0x00003000u, 4);   /* byte 0x59 */
    pfx_cfg_wr(&f, 0, 0x5c, 0x33333333u, 4);
    pfx_cfg_wr(&f, 0, 0x5a, 0x3333, 2);
    cr_assert_gt(pgm_tlb_epoch(f.pgm), epoch, "a PAM change must make vCPUs refill their TLBs");
    cr_assert_eq(pgm_page_kind(f.pgm, 0xf0000), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xc0000), PGM_PAGE_RAM);
    cr_assert_eq(i440fx_pam_mode(f.host, 0xe4000), 3);
    /* Shadow RAM starts as the RAM was (zero here). */
    cr_assert_eq(rd8(&f, 0xf1234), 0);
    /* Copy the BIOS from its 4 GiB alias, as SeaBIOS does. */
    uint8_t *buf = malloc(0x20000);
    cr_assert_eq(pgm_phys_read(f.pgm, 0xfffe0000u, buf, 0x20000), 0);
    cr_assert_eq(pgm_phys_write(f.pgm, 0xe0000, buf, 0x20000), 0);
    free(buf);
    wr8(&f, 0xf5000, 0x42);              /* a variable in the shadowed BIOS */
    cr_assert_eq(rd8(&f, 0xf5000), 0x42);
    /* make_bios_readonly: 0x10 for F0000, 0x11 for the ROM segments. */
    pfx_cfg_wr(&f, 0, 0x59, 0x10, 1);
    pfx_cfg_wr(&f, 0, 0x5e, 0x1111, 2);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xf0000), PGM_PAGE_ROM);
    wr8(&f, 0xf5000, 0x77);
    cr_assert_eq(rd8(&f, 0xf5000), 0x42, "read-only shadow must drop writes");
    cr_assert_eq(rd8(&f, 0xfffff), img[IMG_SIZE - 1]);
    /* Segments still read/write stay RAM. */
    wr8(&f, 0xc0010, 0x55);
    cr_assert_eq(rd8(&f, 0xc0010), 0x55);
    /* Back to disabled: the BIOS again; the shadow contents survive. */
    pfx_cfg_wr(&f, 0, 0x59, 0x00, 1);
    cr_assert_eq(rd8(&f, 0xf5000), img[0x15000]);
    pfx_cfg_wr(&f, 0, 0x59, 0x30, 1);
    cr_assert_eq(rd8(&f, 0xf5000), 0x42);
    /* Reserved low nibble of 0x59 is not writable. */
    pfx_cfg_wr(&f, 0, 0x59, 0xff, 1);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x59, 1), 0x30);
    pfx_fini(&f);
}

Test(dev_i440fx, write_only_mode)
{
    struct pfx f;
    fix(&f);
    /* WE only on F0000: reads the ROM, writes the RAM below. */
    pfx_cfg_wr(&f, 0, 0x59, 0x20, 1);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xf0000), PGM_PAGE_MMIO);
    cr_assert_eq(rd8(&f, 0xf0100), img[0x10100]);
    wr8(&f, 0xf0100, 0xa5);
    cr_assert_eq(rd8(&f, 0xf0100), img[0x10100]);
    pfx_cfg_wr(&f, 0, 0x59, 0x30, 1);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xf0000), PGM_PAGE_RAM);
    cr_assert_eq(rd8(&f, 0xf0100), 0xa5, "the write-only window wrote the shadow RAM");
    /* And back through WE to disabled. */
    pfx_cfg_wr(&f, 0, 0x59, 0x20, 1);
    pfx_cfg_wr(&f, 0, 0x59, 0x00, 1);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xf0000), PGM_PAGE_ROM);
    cr_assert_eq(rd8(&f, 0xf0100), img[0x10100]);
    pfx_fini(&f);
}

Test(dev_i440fx, segments_are_independent)
{
    struct pfx f;
    fix(&f);
    /* 0x5A low nibble = C0000-C3FFF, high nibble = C4000-C7FFF. */
    pfx_cfg_wr(&f, 0, 0x5a, 0x30, 1);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xc0000), PGM_PAGE_UNASSIGNED);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xc4000), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xc8000), PGM_PAGE_UNASSIGNED);
    /* 0x5F high nibble = EC000-EFFFF, the last one below F0000. */
    pfx_cfg_wr(&f, 0, 0x5f, 0x10, 1);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xec000), PGM_PAGE_ROM);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xe8000), PGM_PAGE_ROM);   /* disabled: BIOS alias */
    cr_assert_eq(i440fx_pam_mode(f.host, 0xec000), 1);
    cr_assert_eq(i440fx_pam_mode(f.host, 0xe8000), 0);
    /* Outside the PAM area nothing changes. */
    cr_assert_eq(pgm_page_kind(f.pgm, 0xbf000), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(f.pgm, 0x100000), PGM_PAGE_RAM);
    pfx_fini(&f);
}

Test(dev_i440fx, reset_restores_the_rom_view)
{
    struct pfx f;
    fix(&f);
    pfx_cfg_wr(&f, 0, 0x59, 0x30, 1);
    wr8(&f, 0xffff0, 0xea);
    pdm_reset(f.h.pdm);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x59, 1), 0);
    cr_assert_eq(rd8(&f, 0xffff0), 'R');
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0, 4), 0x12378086u);
    pfx_fini(&f);
}

Test(dev_i440fx, smram_lock)
{
    struct pfx f;
    fix(&f);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x72, 1), 0x02);
    /* SeaBIOS opens the window (0x4a), then closes and enables (0x0a). */
    pfx_cfg_wr(&f, 0, 0x72, 0x4a, 1);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x72, 1), 0x4a);
    pfx_cfg_wr(&f, 0, 0x72, 0x0f, 1);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x72, 1), 0x0a, "C_BASE_SEG is fixed at 010b");
    /* D_LCK: D_OPEN cleared, the register read-only until reset. */
    pfx_cfg_wr(&f, 0, 0x72, 0x5a, 1);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x72, 1), 0x1a);
    pfx_cfg_wr(&f, 0, 0x72, 0x42, 1);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x72, 1), 0x1a);
    pdm_reset(f.h.pdm);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x72, 1), 0x02);
    pfx_cfg_wr(&f, 0, 0x72, 0x4a, 1);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x72, 1), 0x4a);
    pfx_fini(&f);
}

static int resets;
static void count_reset(void *user) { resets++; }

Test(dev_i440fx, reset_control_cf9)
{
    struct pfx f;
    fix(&f);
    resets = 0;
    i440fx_set_reset_handler(f.host, count_reset, NULL);
    th_outb(&f.h, 0xcf9, 0x02);   /* SYS_RST alone: no reset yet */
    cr_assert_eq(resets, 0);
    cr_assert_eq(th_inb(&f.h, 0xcf9), 0x02);
    th_outb(&f.h, 0xcf9, 0x06);   /* RST_CPU rising */
    cr_assert_eq(resets, 1);
    /* The dword at 0xCF8 is still CONFIG_ADDRESS. */
    th_out(&f.h, 0xcf8, 0x80000000u, 4);
    cr_assert_eq(th_in(&f.h, 0xcfc, 4), 0x12378086u);
    pfx_fini(&f);
}

static void mutate(struct th *h, void *user)
{
    struct pfx *f = user;
    pfx_cfg_wr(f, 0, 0x59, 0x00, 1);
}

/* The guest RAM (host bytes) is restored by the RAM's own saved state;
 * the unit keeps the parked shadow and which side each segment shows. */
Test(dev_i440fx, saved_state_roundtrip)
{
    struct pfx f;
    fix(&f);
    pfx_cfg_wr(&f, 0, 0x59, 0x30, 1);
    wr8(&f, 0xf0042, 0x24);
    pfx_cfg_wr(&f, 0, 0x59, 0x10, 1);
    pfx_cfg_wr(&f, 0, 0x5f, 0x30, 1);
    wr8(&f, 0xec000, 0x61);
    pfx_cfg_wr(&f, 0, 0x5f, 0x00, 1);   /* parked in the shadow */
    static uint8_t ram[0x40000];
    memcpy(ram, pgm_host_base(f.pgm) + 0xc0000, sizeof(ram));
    th_ssm_roundtrip(&f.h, mutate, &f);
    memcpy(pgm_host_base(f.pgm) + 0xc0000, ram, sizeof(ram));
    cr_assert_eq(rd8(&f, 0xec000), img[0xc000]);
    pfx_cfg_wr(&f, 0, 0x5f, 0x10, 1);
    cr_assert_eq(rd8(&f, 0xec000), 0x61);
    cr_assert_eq(pfx_cfg_rd(&f, 0, 0x59, 1), 0x10);
    cr_assert_eq(pgm_page_kind(f.pgm, 0xf0000), PGM_PAGE_ROM);
    cr_assert_eq(rd8(&f, 0xf0042), 0x24);
    pfx_fini(&f);
}
