/* SPDX-License-Identifier: MIT */
/*
 * RAM above 4 GiB (docs/board.md memory map): PGM's high range backs
 * 4 GiB .. 4 GiB + ram_above_4g with host memory distinct from low RAM,
 * and a PAE guest reaches it through the interpreter's page walk and TLB.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <string.h>

#include "ixvm/cpum.h"
#include "ixvm/iem.h"
#include "ixvm/pgm.h"

#define HI_PA 0x100001000ull

Test(pc_highmem, pgm_high_range)
{
    struct pgm *pgm = NULL;
    cr_assert_eq(pgm_create_split(&pgm, 16u << 20, 8u << 20, NULL), 0);
    cr_assert_eq(pgm_ram_size(pgm), 16u << 20);
    cr_assert_eq(pgm_ram_above_4g(pgm), 8u << 20);
    cr_assert_eq(pgm_page_kind(pgm, PGM_HIGH_BASE), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(pgm, PGM_HIGH_BASE + (8u << 20) - 1), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(pgm, PGM_HIGH_BASE + (8u << 20)), PGM_PAGE_UNASSIGNED);
    cr_assert_eq(pgm_page_kind(pgm, 0xf0000000u), PGM_PAGE_UNASSIGNED, "the hole below 4 GiB stays");

    uint8_t pat[64], lo[64], back[64];
    for (unsigned k = 0; k < sizeof(pat); k++)
        pat[k] = (uint8_t)(0x5a ^ (k * 7));
    cr_assert_eq(pgm_phys_read(pgm, 0x1000, lo, sizeof(lo)), 0);
    cr_assert_eq(pgm_phys_write(pgm, HI_PA, pat, sizeof(pat)), 0);
    cr_assert_eq(pgm_phys_read(pgm, HI_PA, back, sizeof(back)), 0);
    cr_assert_arr_eq(back, pat, sizeof(pat));
    cr_assert_arr_eq(pgm_host_base(pgm) + HI_PA, pat, sizeof(pat), "host is base + pa");
    cr_assert_eq(pgm_phys_read(pgm, 0x1000, back, sizeof(back)), 0);
    cr_assert_arr_eq(back, lo, sizeof(lo), "low RAM at the same offset is untouched");

    struct pgm_page_info pi;
    pgm_page_lookup(pgm, HI_PA, &pi);
    cr_assert_eq(pi.kind, PGM_PAGE_RAM);
    cr_assert_eq(pi.host, pgm_host_base(pgm) + HI_PA);
    cr_assert_not_null(pi.code);
    cr_assert_neq(pi.code, pgm_code_page(pgm, 0x1000));
    pgm_page_lookup(pgm, PGM_HIGH_BASE + (8u << 20), &pi);
    cr_assert_eq(pi.kind, PGM_PAGE_UNASSIGNED);
    cr_assert_null(pi.host);
    cr_assert_null(pgm_code_page(pgm, PGM_HIGH_BASE + (8u << 20)));

    /* Beyond the end: reads all ones, writes ignored. */
    uint32_t v = 0;
    uint64_t end = PGM_HIGH_BASE + (8u << 20);
    cr_assert_eq(pgm_phys_write(pgm, end, &v, 4), 0);
    cr_assert_eq(pgm_phys_read(pgm, end, &v, 4), 0);
    cr_assert_eq(v, 0xffffffffu);
    cr_assert_eq(pgm_mmio_read(pgm, end + 8, 4), 0xffffffffu);

    /* Code tracking in the high range: a DMA write invalidates decoded code. */
    struct pgm_code_page *cp = pgm_code_page(pgm, HI_PA);
    atomic_store(&cp->code_mask, 1u);
    uint32_t gen = atomic_load(&cp->code_gen);
    cr_assert_eq(pgm_phys_write(pgm, HI_PA + 4, pat, 1), 0);
    cr_assert_eq(atomic_load(&cp->code_mask), 0u);
    cr_assert_eq(atomic_load(&cp->code_gen), gen + 1);

    pgm_mmio_write(pgm, HI_PA + 16, 0x1122334455667788ull, 8);
    cr_assert_eq(pgm_mmio_read(pgm, HI_PA + 16, 8), 0x1122334455667788ull);
    pgm_destroy(pgm);
}

Test(pc_highmem, pgm_limits)
{
    struct pgm *pgm = NULL;
    struct ixvm_errinfo err = { 0 };
    cr_assert_lt(pgm_create_split(&pgm, 1u << 20, PGM_PHYS_LIMIT - PGM_HIGH_BASE + 4096, &err), 0,
                 "high RAM must end at or below 64 GiB");
    cr_assert_null(pgm);
    cr_assert_lt(pgm_create_split(&pgm, 1u << 20, 4096 + 1, &err), 0, "not 4 KiB aligned");
    cr_assert_eq(pgm_create(&pgm, 1u << 20, &err), 0);
    cr_assert_eq(pgm_ram_above_4g(pgm), 0u);
    cr_assert_eq(pgm_page_kind(pgm, PGM_HIGH_BASE), PGM_PAGE_UNASSIGNED);
    cr_assert_null(pgm_code_page(pgm, PGM_HIGH_BASE));
    pgm_destroy(pgm);
    /* The largest: a 60 GiB NORESERVE tail costs address space only. */
    cr_assert_eq(pgm_create_split(&pgm, 1u << 20, PGM_PHYS_LIMIT - PGM_HIGH_BASE, &err), 0);
    cr_assert_eq(pgm_page_kind(pgm, PGM_PHYS_LIMIT - 4096), PGM_PAGE_RAM);
    cr_assert_eq(pgm_page_kind(pgm, PGM_PHYS_LIMIT), PGM_PAGE_UNASSIGNED);
    pgm_destroy(pgm);
}

/*
 * PAE paging: PDPT at 0x3000, PD at 0x4000; PT 0x5000 maps 0..2 MiB
 * identity except linear 0x100000 -> physical HI_PA; PT 0x6000 maps linear
 * 0x200000 -> physical HI_PA + 0x1000.
 */
static struct iem_test *pae_setup(void)
{
    struct iem_test *t = NULL;
    cr_assert_eq(iem_test_create_split(&t, 16, 1u << 20), 0);
    uint64_t pdpte = 0x4000 | 1, pde[2] = { 0x5000 | 3, 0x6000 | 3 }, pte;
    cr_assert_eq(iem_test_write(t, 0x3000, &pdpte, 8), 0);
    cr_assert_eq(iem_test_write(t, 0x4000, pde, sizeof(pde)), 0);
    for (uint64_t p = 0; p < 0x20; p++) {
        pte = (p << 12) | 3;
        cr_assert_eq(iem_test_write(t, 0x5000 + p * 8, &pte, 8), 0);
    }
    pte = HI_PA | 3;
    cr_assert_eq(iem_test_write(t, 0x5000 + 0x100 * 8, &pte, 8), 0);
    pte = (HI_PA + 0x1000) | 3;
    cr_assert_eq(iem_test_write(t, 0x6000, &pte, 8), 0);
    iem_test_setup_flat32(t, IEM_TEST_FREE, 0x9000);
    struct cpum_state *s = iem_test_state(t);
    s->cr3 = 0x3000;
    s->cr4 |= CPUM_CR4_PAE;
    s->cr0 |= CPUM_CR0_PG;
    iem_flush_tlb(iem_test_cpu(t));
    return t;
}

Test(pc_highmem, pae_guest_reads_and_writes_high_page)
{
    struct iem_test *t = pae_setup();
    static const uint8_t code[] = {
        0xc7, 0x05, 0x00, 0x00, 0x10, 0x00, 0x5a, 0x5a, 0xa5, 0xa5,   /* mov dword [0x100000], 0xa5a55a5a */
        0x8b, 0x1d, 0x08, 0x00, 0x10, 0x00,                           /* mov ebx, [0x100008] */
        0xf4,                                                         /* hlt */
    };
    cr_assert_eq(iem_test_write(t, IEM_TEST_FREE, code, sizeof(code)), 0);
    uint32_t seed = 0x13572468;
    cr_assert_eq(iem_test_write(t, HI_PA + 8, &seed, 4), 0);
    uint8_t lo_before[16], lo_after[16];
    cr_assert_eq(iem_test_read(t, 0x1000, lo_before, sizeof(lo_before)), 0);

    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    struct cpum_state *s = iem_test_state(t);
    cr_assert_eq(s->eip, IEM_TEST_FREE + sizeof(code), "halted at the end, not in the exception handler");
    cr_assert_eq(s->gpr[CPUM_EBX], seed, "guest read of the high page");
    uint32_t v = 0;
    cr_assert_eq(pgm_phys_read(iem_test_pgm(t), HI_PA, &v, 4), 0);
    cr_assert_eq(v, 0xa5a55a5au, "guest write landed at 0x100001000");
    cr_assert_eq(iem_test_read(t, 0x1000, lo_after, sizeof(lo_after)), 0);
    cr_assert_arr_eq(lo_after, lo_before, sizeof(lo_before), "physical 0x1000 is not an alias");
    iem_test_destroy(t);
}

Test(pc_highmem, pae_guest_runs_code_from_high_page)
{
    struct iem_test *t = pae_setup();
    static const uint8_t code[] = { 0xb8, 0x00, 0x00, 0x20, 0x00, 0xff, 0xe0 };   /* mov eax, 0x200000; jmp eax */
    static const uint8_t high[] = { 0xb9, 0x34, 0x12, 0x00, 0x00, 0xf4 };         /* mov ecx, 0x1234; hlt */
    cr_assert_eq(iem_test_write(t, IEM_TEST_FREE, code, sizeof(code)), 0);
    cr_assert_eq(iem_test_write(t, HI_PA + 0x1000, high, sizeof(high)), 0);
    cr_assert_eq(iem_test_run(t, 100), IXVM_INF_EM_HALT);
    struct cpum_state *s = iem_test_state(t);
    cr_assert_eq(s->gpr[CPUM_ECX], 0x1234u);
    cr_assert_eq(s->eip, 0x200000u + sizeof(high));

    iem_test_destroy(t);
}
