/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg tests: selector/data ports, signature and ID (DMA bit), the file
 * directory (big-endian, sorted by name, selectors 0x20 + position as QEMU
 * assigns them), reads past the end and of unknown keys, the DMA interface
 * (select + read, skip, write refused, zero fill past the end, the
 * signature on the DMA port), the board's e820 layout, reset, saved state
 * and a fuzz.
 */
#include "test_dev_pci_fix.h"

static void fix(struct pfx *f, bool dma)
{
    pfx_init(f, 16 << 20);
    struct dev_cfg_kv kv[] = { { "dma", dma ? "on" : "off" } };
    f->fw = th_create(&f->h, &dev_fw_cfg, kv, 1);
}

static void sel(struct pfx *f, uint16_t key) { th_out(&f->h, 0x510, key, 2); }

static void rd(struct pfx *f, void *buf, size_t n)
{
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++)
        b[i] = th_inb(&f->h, 0x511);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

Test(dev_fwcfg, signature_and_id)
{
    struct pfx f;
    fix(&f, true);
    char sig[5] = { 0 };
    sel(&f, FW_CFG_SIGNATURE);
    rd(&f, sig, 4);
    cr_assert_str_eq(sig, "QEMU");
    cr_assert_eq(th_inb(&f.h, 0x511), 0, "past the end reads 0");
    uint8_t id[4];
    sel(&f, FW_CFG_ID);
    rd(&f, id, 4);
    cr_assert_eq(id[0], 3, "traditional interface + DMA");
    /* Re-selecting restarts at offset 0. */
    sel(&f, FW_CFG_SIGNATURE);
    cr_assert_eq(th_inb(&f.h, 0x511), 'Q');
    /* Unknown keys read zeros. */
    sel(&f, 0x1234);
    cr_assert_eq(th_inb(&f.h, 0x511), 0);
    /* A wide read of the data port returns successive bytes. */
    sel(&f, FW_CFG_SIGNATURE);
    cr_assert_eq(th_in(&f.h, 0x511, 1) | th_in(&f.h, 0x511, 1) << 8, 'Q' | 'E' << 8);
    pfx_fini(&f);
}

Test(dev_fwcfg, no_dma)
{
    struct pfx f;
    fix(&f, false);
    uint8_t id[4];
    sel(&f, FW_CFG_ID);
    rd(&f, id, 4);
    cr_assert_eq(id[0], 1);
    cr_assert_eq(th_in(&f.h, 0x514, 4), 0xffffffffu, "no DMA port");
    pfx_fini(&f);
}

Test(dev_fwcfg, legacy_items)
{
    struct pfx f;
    fix(&f, true);
    cr_assert_eq(fw_cfg_add_u64(f.fw, FW_CFG_RAM_SIZE, 0x8000000ull), 0);
    cr_assert_eq(fw_cfg_add_u16(f.fw, FW_CFG_NB_CPUS, 4), 0);
    cr_assert_eq(fw_cfg_add_u32(f.fw, FW_CFG_IRQ0_OVERRIDE, 1), 0);
    uint8_t b[8];
    sel(&f, FW_CFG_RAM_SIZE);
    rd(&f, b, 8);
    cr_assert_eq(b[3], 0x08);
    cr_assert_eq(b[0] | b[1] | b[2] | b[4] | b[5] | b[6] | b[7], 0);
    sel(&f, FW_CFG_NB_CPUS);
    rd(&f, b, 2);
    cr_assert_eq(b[0], 4);
    sel(&f, FW_CFG_IRQ0_OVERRIDE);
    cr_assert_eq(th_inb(&f.h, 0x511), 1);
    /* Reserved keys and out-of-range keys are refused. */
    cr_assert_eq(fw_cfg_add_u16(f.fw, FW_CFG_FILE_DIR, 0), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(fw_cfg_add_u16(f.fw, FW_CFG_SIGNATURE, 0), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(fw_cfg_add_u16(f.fw, 0x30, 0), IXVM_ERR_INVALID_PARAMETER);
    cr_assert_eq(fw_cfg_add_u16(f.fw, 0x8010, 0), IXVM_ERR_INVALID_PARAMETER);
    pfx_fini(&f);
}

Test(dev_fwcfg, file_directory_sorted)
{
    struct pfx f;
    fix(&f, true);
    const char *names[] = { "etc/e820", "bootorder", "zz/last", "etc/boot-fail-wait", "aa/first" };
    for (unsigned i = 0; i < 5; i++)
        cr_assert_eq(fw_cfg_add_file(f.fw, names[i], names[i], strlen(names[i])), 0);
    /* Replacing keeps the count. */
    cr_assert_eq(fw_cfg_add_file(f.fw, "bootorder", "/pci@i0cf8/ide@1,1\n", 20), 0);
    cr_assert_eq(fw_cfg_add_file(f.fw, "", "x", 1), IXVM_ERR_INVALID_PARAMETER);
    sel(&f, FW_CFG_FILE_DIR);
    uint8_t cnt[4];
    rd(&f, cnt, 4);
    cr_assert_eq(be32(cnt), 5);
    const char *sorted[] = { "aa/first", "bootorder", "etc/boot-fail-wait", "etc/e820", "zz/last" };
    uint16_t selectors[5];
    uint32_t sizes[5];
    for (unsigned i = 0; i < 5; i++) {
        uint8_t e[64];
        rd(&f, e, 64);
        sizes[i] = be32(e);
        selectors[i] = (uint16_t)(e[4] << 8 | e[5]);
        cr_assert_str_eq((char *)e + 8, sorted[i]);
        cr_assert_eq(selectors[i], FW_CFG_FILE_FIRST + i, "selectors follow the sorted order");
    }
    cr_assert_eq(sizes[1], 20);
    cr_assert_eq(sizes[3], strlen("etc/e820"));
    /* Each selector reads its file. */
    char buf[32] = { 0 };
    sel(&f, selectors[4]);
    rd(&f, buf, sizes[4]);
    cr_assert_str_eq(buf, "zz/last");
    pfx_fini(&f);
}

/* DMA descriptor at `at`: control, length, address (big-endian). */
static void dma_put(struct pfx *f, gphys_t at, uint32_t ctl, uint32_t len, uint64_t addr)
{
    uint8_t d[16];
    for (unsigned i = 0; i < 4; i++) {
        d[i] = (uint8_t)(ctl >> (24 - 8 * i));
        d[4 + i] = (uint8_t)(len >> (24 - 8 * i));
    }
    for (unsigned i = 0; i < 8; i++)
        d[8 + i] = (uint8_t)(addr >> (56 - 8 * i));
    cr_assert_eq(pgm_phys_write(f->pgm, at, d, 16), 0);
}

/* The guest does outl(cpu_to_be32(at), 0x518). */
static uint32_t dma_go(struct pfx *f, gphys_t at)
{
    th_out(&f->h, 0x514, 0, 4);
    th_out(&f->h, 0x518, __builtin_bswap32((uint32_t)at), 4);
    uint8_t c[4];
    cr_assert_eq(pgm_phys_read(f->pgm, at, c, 4), 0);
    return be32(c);
}

Test(dev_fwcfg, dma_interface)
{
    struct pfx f;
    fix(&f, true);
    uint8_t *ram = pgm_host_base(f.pgm);
    cr_assert_eq(fw_cfg_add_file(f.fw, "etc/test", "0123456789", 10), 0);
    /* The DMA port identifies itself. */
    uint32_t lo = th_in(&f.h, 0x514, 4), hi = th_in(&f.h, 0x518, 4);
    cr_assert_eq(lo, 'Q' | 'E' << 8 | 'M' << 16 | (uint32_t)'U' << 24);
    cr_assert_eq(hi, ' ' | 'C' << 8 | 'F' << 16 | (uint32_t)'G' << 24);
    /* SELECT + READ of the signature. */
    memset(ram + 0x3000, 0xee, 16);
    dma_put(&f, 0x1000, (FW_CFG_SIGNATURE << 16) | 0x08 | 0x02, 4, 0x3000);
    cr_assert_eq(dma_go(&f, 0x1000), 0);
    cr_assert_arr_eq(ram + 0x3000, "QEMU", 4);
    cr_assert_eq(ram[0x3004], 0xee, "no more than length bytes");
    /* SELECT the file, SKIP 3, READ 4, then READ past the end: zeros. */
    dma_put(&f, 0x1000, (FW_CFG_FILE_FIRST << 16) | 0x08 | 0x04, 3, 0);
    cr_assert_eq(dma_go(&f, 0x1000), 0);
    dma_put(&f, 0x1000, 0x02, 4, 0x3100);
    cr_assert_eq(dma_go(&f, 0x1000), 0);
    cr_assert_arr_eq(ram + 0x3100, "3456", 4);
    memset(ram + 0x3200, 0xee, 8);
    dma_put(&f, 0x1000, 0x02, 8, 0x3200);
    cr_assert_eq(dma_go(&f, 0x1000), 0);
    cr_assert_arr_eq(ram + 0x3200, "789\0\0\0\0\0", 8);
    /* The port interface continues from the DMA offset. */
    cr_assert_eq(th_inb(&f.h, 0x511), 0);
    /* WRITE: nothing is writable. */
    dma_put(&f, 0x1000, (FW_CFG_FILE_FIRST << 16) | 0x08 | 0x10, 2, 0x3000);
    cr_assert_eq(dma_go(&f, 0x1000), 1, "write sets the error bit");
    pfx_fini(&f);
}

Test(dev_fwcfg, reset_and_saved_state)
{
    struct pfx f;
    fix(&f, true);
    sel(&f, FW_CFG_SIGNATURE);
    cr_assert_eq(th_inb(&f.h, 0x511), 'Q');
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(ssm_save_mem(f.h.ssm, 0, &buf, &len, &f.h.err), 0);
    sel(&f, FW_CFG_ID);
    cr_assert_eq(ssm_load_mem(f.h.ssm, buf, len, 0, &f.h.err), 0, "%s", f.h.err.msg);
    free(buf);
    cr_assert_eq(th_inb(&f.h, 0x511), 'E', "selector and offset restored");
    pdm_reset(f.h.pdm);
    cr_assert_eq(th_inb(&f.h, 0x511), 'Q', "reset selects the signature at offset 0");
    pfx_fini(&f);
}

Test(dev_fwcfg, fuzz)
{
    struct pfx f;
    fix(&f, true);
    cr_assert_eq(fw_cfg_add_file(f.fw, "etc/e820", "abcdefghijklmnopqrst", 20), 0);
    const struct th_range r[] = { { 0x510, 2 }, { 0x514, 8 } };
    th_fuzz(&f.h, r, 2, 0xf00d, 40000, NULL, NULL);
    sel(&f, FW_CFG_SIGNATURE);
    cr_assert_eq(th_inb(&f.h, 0x511), 'Q');
    pfx_fini(&f);
}
