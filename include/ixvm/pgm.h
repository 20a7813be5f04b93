/* SPDX-License-Identifier: MIT */
/*
 * PGM: the guest-physical memory map (ARCHITECTURE.md "Memory (PGM) and I/O").
 *
 * The whole 32-bit physical address space plus the RAM above 4 GiB is one
 * host reservation (mmap MAP_NORESERVE), so RAM and ROM are `base + pa` for
 * the interpreter's TLB.  RAM occupies [0, ram_size) and, for boards with
 * more RAM than fits below their PCI hole, [4 GiB, 4 GiB + ram_above_4g)
 * (PAE's 36-bit physical addresses reach it); ROM ranges are read-only to
 * the guest (their contents are set with pgm_map_rom); MMIO ranges dispatch
 * to device callbacks with range-relative offsets; anything else reads as
 * all ones and ignores writes.  ROM/MMIO ranges and page kinds can only be
 * set below 4 GiB; the high RAM is plain RAM.
 *
 * Self-modifying-code tracking (IEM-DESIGN.md section 7): every 4 K page has
 * an atomic `code_mask` (one bit per 128-byte granule holding decoded code)
 * and an atomic `code_gen`.  Every write that does not go through the
 * interpreter's fast path (pgm_phys_write for DMA, the interpreter's slow
 * write path) calls pgm_code_write(), which bumps code_gen and clears the
 * mask when the written bytes hit decoded code.
 *
 * Threads: the map (ROM/MMIO ranges, A20) is changed by the board at init or
 * by an EMT at run time; every change bumps `tlb_epoch`, which every
 * interpreter compares at block boundaries and flushes its TLB on change.
 * Lookups and the code-tracking words are safe from any thread.
 */
#ifndef IXVM_PGM_H
#define IXVM_PGM_H

#include "ixvm/types.h"

#define PGM_PAGE_SHIFT 12
#define PGM_PAGE_SIZE  4096u
#define PGM_ADDR_SPACE (1ull << 32)
#define PGM_PAGE_COUNT (PGM_ADDR_SPACE >> PGM_PAGE_SHIFT)   /* pages below 4 GiB */
#define PGM_HIGH_BASE  (1ull << 32)   /* where RAM above 4 GiB starts */
#define PGM_PHYS_LIMIT (1ull << 36)   /* PAE MAXPHYADDR 36: high RAM ends at or below */
#define PGM_CODE_GRANULE_SHIFT 7    /* 128-byte granules, 32 per page */

enum pgm_page_kind { PGM_PAGE_UNASSIGNED, PGM_PAGE_RAM, PGM_PAGE_ROM, PGM_PAGE_MMIO };

/*
 * MMIO callbacks.  off is relative to the range start; size is 1, 2, 4 or 8
 * and never crosses the range end (the dispatcher splits accesses the device
 * does not accept, see access_sizes).  Return 0, or a negative status that
 * is logged (the guest then reads all ones).
 */
struct pgm_mmio_ops {
    int (*read)(void *dev, uint32_t off, unsigned size, uint64_t *val);
    int (*write)(void *dev, uint32_t off, uint64_t val, unsigned size);
    unsigned access_sizes;  /* bit mask of accepted sizes (1|2|4|8); 0 means 1|2|4 */
};

/* Shared per-page code-tracking words (IEM-DESIGN.md 7). [any, atomic] */
struct pgm_code_page {
    _Atomic uint32_t code_mask;
    _Atomic uint32_t code_gen;
};

/* What the interpreter's TLB fill needs to know about one physical page. */
struct pgm_page_info {
    enum pgm_page_kind kind;
    uint8_t *host;                    /* RAM/ROM: host address of the page; else NULL */
    struct pgm_code_page *code;       /* never NULL below 4 GiB or in high RAM */
};

struct pgm;

/* Create the map with ram_size bytes of RAM at 0 (multiple of 4 K, < 4 GiB). */
int pgm_create(struct pgm **out, uint64_t ram_size, struct ixvm_errinfo *err) IXVM_WUR;
/* Likewise, plus ram_above_4g bytes (multiple of 4 K, 0 for none) at
 * PGM_HIGH_BASE, ending at or below PGM_PHYS_LIMIT. */
int pgm_create_split(struct pgm **out, uint64_t ram_below_4g, uint64_t ram_above_4g,
                     struct ixvm_errinfo *err) IXVM_WUR;
void pgm_destroy(struct pgm *pgm);

/* Bytes of RAM at 0 (below 4 GiB), and at PGM_HIGH_BASE. */
uint64_t pgm_ram_size(const struct pgm *pgm);
uint64_t pgm_ram_above_4g(const struct pgm *pgm);
/* Host address of guest-physical 0 (RAM and ROM are base + pa). */
uint8_t *pgm_host_base(const struct pgm *pgm);

/* Map a ROM range [base, base+size) (4 K aligned) holding a copy of data
 * (data may be NULL: zero-filled; a shorter data_len is zero padded). */
int pgm_map_rom(struct pgm *pgm, gphys_t base, uint64_t size, const void *data, size_t data_len,
                const char *name, struct ixvm_errinfo *err) IXVM_WUR;
/* Map an MMIO range (4 K aligned base and size). */
int pgm_map_mmio(struct pgm *pgm, gphys_t base, uint64_t size, const struct pgm_mmio_ops *ops,
                 void *dev, const char *name, struct ixvm_errinfo *err) IXVM_WUR;
/* Remove the MMIO range starting at base (for PCI BAR moves); the pages
 * revert to RAM below ram_size, else to unassigned. */
int pgm_unmap_mmio(struct pgm *pgm, gphys_t base) IXVM_WUR;

/*
 * Re-type the pages [base, base+size) (4 K aligned, outside every ROM/MMIO
 * range) as PGM_PAGE_RAM, PGM_PAGE_ROM (the host bytes at base + pa are
 * read, guest writes are dropped: read-only RAM) or PGM_PAGE_UNASSIGNED.
 * For the chipset's shadow-RAM control (i440FX PAM) and holes such as the
 * VGA window.  Decoded code on the pages is invalidated and the TLB epoch
 * bumped, so every vCPU refills.  IXVM_ERR_INVALID_PARAMETER for MMIO, a
 * bad range or an overlap with a registered range.
 */
int pgm_set_page_kind(struct pgm *pgm, gphys_t base, uint64_t size, enum pgm_page_kind kind) IXVM_WUR;
/* The kind of the page holding pa (RAM in high RAM, UNASSIGNED beyond it). */
enum pgm_page_kind pgm_page_kind(struct pgm *pgm, gphys_t pa);

/* A20 gate: enabled=false forces bit 20 of every physical address to 0. */
void pgm_set_a20(struct pgm *pgm, bool enabled);
bool pgm_a20_enabled(const struct pgm *pgm);
/* The mask applied to physical addresses (0xffffffff or ~0x100000). */
uint32_t pgm_a20_mask(const struct pgm *pgm);

/* Bumped on every map/A20 change and on every page gaining decoded code;
 * interpreters flush their TLBs when it moves. [any, atomic] */
uint32_t pgm_tlb_epoch(const struct pgm *pgm);
void pgm_bump_tlb_epoch(struct pgm *pgm);
/* The epoch word itself, for a one-load check on the interpreter's hot path. */
const _Atomic uint32_t *pgm_tlb_epoch_ptr(const struct pgm *pgm);

/* Page lookup for the TLB fill (pa is used as given: apply the A20 mask first). */
void pgm_page_lookup(struct pgm *pgm, gphys_t pa, struct pgm_page_info *info);
/* The code-tracking words of the page holding pa (NULL beyond high RAM). */
struct pgm_code_page *pgm_code_page(struct pgm *pgm, gphys_t pa);

/*
 * A write of len bytes at pa happened (or is about to): invalidate decoded
 * code in the touched granules.  Returns true if any decoded code was hit.
 */
bool pgm_code_write(struct pgm *pgm, gphys_t pa, size_t len);

/*
 * Device/DMA access by physical address: RAM, ROM (reads only; writes are
 * dropped), MMIO (dispatched), unassigned (reads all ones).  Writes do the
 * SMC invalidation.  The A20 mask is NOT applied (devices see the bus).
 */
int pgm_phys_read(struct pgm *pgm, gphys_t pa, void *buf, size_t len) IXVM_WUR;
int pgm_phys_write(struct pgm *pgm, gphys_t pa, const void *buf, size_t len) IXVM_WUR;

/* One MMIO/unassigned access of size 1/2/4/8 not crossing a page (used by
 * the interpreter's slow path; RAM/ROM pages are handled too). */
uint64_t pgm_mmio_read(struct pgm *pgm, gphys_t pa, unsigned size);
void pgm_mmio_write(struct pgm *pgm, gphys_t pa, uint64_t val, unsigned size);

#endif
