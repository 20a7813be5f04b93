/* SPDX-License-Identifier: MIT */
/*
 * PGM: guest-physical memory.  One host reservation of 4 GiB plus the RAM
 * above 4 GiB backs RAM and ROM (so physical-to-host is base + pa for every
 * backed address; the reservation is MAP_NORESERVE, so the unused PCI hole
 * costs address space only); a page-granular table (kind + MMIO range
 * index) answers the interpreter's TLB fills below 4 GiB, and everything
 * from 4 GiB to the end of high RAM is plain RAM; a small range list holds
 * ROM and MMIO registrations.  Also the per-page SMC tracking words
 * (IEM-DESIGN.md 7) and the device/DMA access functions.
 */
#define LOG_GROUP LOG_GROUP_PGM
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ixvm/log.h"
#include "ixvm/pgm.h"

#define PGM_MAX_RANGES 64
/* Page table entry: kind in bits 0..1, MMIO range index in bits 2..15. */
#define PGM_PTE_KIND(e)  ((enum pgm_page_kind)((e) & 3u))
#define PGM_PTE_RANGE(e) ((unsigned)((e) >> 2))

struct pgm_range {
    gphys_t base;
    uint64_t size;
    enum pgm_page_kind kind;
    const struct pgm_mmio_ops *ops;
    void *dev;
    char name[32];
    bool used;
};

struct pgm {
    uint8_t *host;                       /* [span] reservation; RAM/ROM are host + pa */
    uint64_t ram_size;                   /* RAM at 0 (below 4 GiB) */
    uint64_t ram_above_4g;               /* RAM at PGM_HIGH_BASE */
    uint64_t span;                       /* PGM_ADDR_SPACE + ram_above_4g: end of backed space */
    uint16_t *pte;                       /* [PGM_PAGE_COUNT] kind | range << 2 (below 4 GiB) */
    struct pgm_code_page *code;          /* [span >> PGM_PAGE_SHIFT] [any, atomic] */
    struct pgm_range ranges[PGM_MAX_RANGES];
    pthread_mutex_t lock;                /* serializes map changes */
    _Atomic uint32_t a20_mask;           /* [any, atomic] */
    _Atomic uint32_t tlb_epoch;          /* [any, atomic] */
};

int pgm_create(struct pgm **out, uint64_t ram_size, struct ixvm_errinfo *err)
{
    return pgm_create_split(out, ram_size, 0, err);
}

int pgm_create_split(struct pgm **out, uint64_t ram_below_4g, uint64_t ram_above_4g, struct ixvm_errinfo *err)
{
    *out = NULL;
    if (ram_below_4g == 0 || ram_below_4g >= PGM_ADDR_SPACE || (ram_below_4g & (PGM_PAGE_SIZE - 1)))
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "Memory/Size: %llu bytes is not a non-zero multiple of 4 KiB below 4 GiB",
                                (unsigned long long)ram_below_4g);
    if (ram_above_4g > PGM_PHYS_LIMIT - PGM_HIGH_BASE || (ram_above_4g & (PGM_PAGE_SIZE - 1)))
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "Memory/Size: %llu bytes above 4 GiB is not a multiple of 4 KiB ending at or "
                                "below 64 GiB (36-bit physical addresses)", (unsigned long long)ram_above_4g);
    struct pgm *pgm = calloc(1, sizeof(*pgm));
    if (!pgm)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "PGM: out of memory");
    uint64_t span = PGM_ADDR_SPACE + ram_above_4g;
    /* Large callocs are fresh anonymous mappings: the code words of high
     * pages cost nothing until the guest runs code there. */
    pgm->pte = calloc(PGM_PAGE_COUNT, sizeof(*pgm->pte));
    pgm->code = calloc(span >> PGM_PAGE_SHIFT, sizeof(*pgm->code));
    void *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!pgm->pte || !pgm->code || m == MAP_FAILED) {
        int e = errno;
        if (m != MAP_FAILED)
            munmap(m, span);
        free(pgm->pte);
        free(pgm->code);
        free(pgm);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY,
                                "PGM: cannot reserve %llu MiB of guest-physical space: %s",
                                (unsigned long long)(span >> 20), strerror(e));
    }
    pgm->host = m;
    pgm->ram_size = ram_below_4g;
    pgm->ram_above_4g = ram_above_4g;
    pgm->span = span;
    for (uint64_t p = 0; p < (ram_below_4g >> PGM_PAGE_SHIFT); p++)
        pgm->pte[p] = PGM_PAGE_RAM;
    pthread_mutex_init(&pgm->lock, NULL);
    atomic_init(&pgm->a20_mask, 0xffffffffu);
    atomic_init(&pgm->tlb_epoch, 1);
    *out = pgm;
    return 0;
}

void pgm_destroy(struct pgm *pgm)
{
    if (!pgm)
        return;
    munmap(pgm->host, pgm->span);
    free(pgm->pte);
    free(pgm->code);
    pthread_mutex_destroy(&pgm->lock);
    free(pgm);
}

uint64_t pgm_ram_size(const struct pgm *pgm) { return pgm->ram_size; }
uint64_t pgm_ram_above_4g(const struct pgm *pgm) { return pgm->ram_above_4g; }

/* The kind of the page holding pa: the table below 4 GiB, RAM from 4 GiB to
 * the end of high RAM, unassigned beyond. */
static enum pgm_page_kind pgm_kind_of(const struct pgm *pgm, gphys_t pa)
{
    if (pa < PGM_ADDR_SPACE)
        return PGM_PTE_KIND(pgm->pte[pa >> PGM_PAGE_SHIFT]);
    return pa < pgm->span ? PGM_PAGE_RAM : PGM_PAGE_UNASSIGNED;
}
uint8_t *pgm_host_base(const struct pgm *pgm) { return pgm->host; }

uint32_t pgm_tlb_epoch(const struct pgm *pgm)
{
    return atomic_load_explicit(&((struct pgm *)pgm)->tlb_epoch, memory_order_acquire);
}

const _Atomic uint32_t *pgm_tlb_epoch_ptr(const struct pgm *pgm) { return &pgm->tlb_epoch; }

void pgm_bump_tlb_epoch(struct pgm *pgm)
{
    atomic_fetch_add_explicit(&pgm->tlb_epoch, 1, memory_order_acq_rel);
}

void pgm_set_a20(struct pgm *pgm, bool enabled)
{
    uint32_t m = enabled ? 0xffffffffu : ~(1u << 20);
    if (atomic_exchange_explicit(&pgm->a20_mask, m, memory_order_acq_rel) != m) {
        LOG2("A20 %s", enabled ? "enabled" : "masked");
        pgm_bump_tlb_epoch(pgm);
    }
}

bool pgm_a20_enabled(const struct pgm *pgm) { return pgm_a20_mask(pgm) == 0xffffffffu; }

uint32_t pgm_a20_mask(const struct pgm *pgm)
{
    return atomic_load_explicit(&((struct pgm *)pgm)->a20_mask, memory_order_relaxed);
}

/* Validate a range and find a free slot; called with the lock held. */
static int pgm_range_alloc(struct pgm *pgm, gphys_t base, uint64_t size, const char *name,
                           struct ixvm_errinfo *err)
{
    if (!size || (base & (PGM_PAGE_SIZE - 1)) || (size & (PGM_PAGE_SIZE - 1)) ||
        base >= PGM_ADDR_SPACE || size > PGM_ADDR_SPACE - base)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                                "PGM: range '%s' at %#llx size %#llx is not 4 KiB aligned inside 4 GiB",
                                name, (unsigned long long)base, (unsigned long long)size);
    for (int r = 0; r < PGM_MAX_RANGES; r++) {
        struct pgm_range *o = &pgm->ranges[r];
        if (o->used && base < o->base + o->size && o->base < base + size)
            return ixvm_errinfo_set(err, IXVM_ERR_ALREADY_EXISTS,
                                    "PGM: range '%s' at %#llx overlaps '%s' at %#llx", name,
                                    (unsigned long long)base, o->name, (unsigned long long)o->base);
    }
    for (int r = 0; r < PGM_MAX_RANGES; r++)
        if (!pgm->ranges[r].used)
            return r;
    return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "PGM: too many ranges (max %d) for '%s'",
                            PGM_MAX_RANGES, name);
}

static void pgm_range_set(struct pgm *pgm, int r, gphys_t base, uint64_t size,
                          enum pgm_page_kind kind, const char *name)
{
    struct pgm_range *rg = &pgm->ranges[r];
    rg->base = base;
    rg->size = size;
    rg->kind = kind;
    rg->used = true;
    snprintf(rg->name, sizeof(rg->name), "%s", name ? name : "?");
    for (uint64_t p = base >> PGM_PAGE_SHIFT; p < (base + size) >> PGM_PAGE_SHIFT; p++) {
        pgm->pte[p] = (uint16_t)(kind | ((unsigned)r << 2));
        /* Decoded code on a page that changes kind is stale. */
        atomic_fetch_add_explicit(&pgm->code[p].code_gen, 1, memory_order_acq_rel);
        atomic_store_explicit(&pgm->code[p].code_mask, 0, memory_order_relaxed);
    }
    pgm_bump_tlb_epoch(pgm);
}

int pgm_map_rom(struct pgm *pgm, gphys_t base, uint64_t size, const void *data, size_t data_len,
                const char *name, struct ixvm_errinfo *err)
{
    pthread_mutex_lock(&pgm->lock);
    int r = pgm_range_alloc(pgm, base, size, name, err);
    if (r >= 0) {
        size_t n = data ? (data_len < size ? data_len : (size_t)size) : 0;
        if (n)
            memcpy(pgm->host + base, data, n);
        memset(pgm->host + base + n, 0, (size_t)size - n);
        pgm_range_set(pgm, r, base, size, PGM_PAGE_ROM, name);
        LOG("ROM '%s' at %#llx size %#llx", name, (unsigned long long)base, (unsigned long long)size);
    }
    pthread_mutex_unlock(&pgm->lock);
    return r < 0 ? r : 0;
}

int pgm_map_mmio(struct pgm *pgm, gphys_t base, uint64_t size, const struct pgm_mmio_ops *ops,
                 void *dev, const char *name, struct ixvm_errinfo *err)
{
    if (!ops || !ops->read || !ops->write)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "PGM: MMIO '%s' needs read and write",
                                name ? name : "?");
    pthread_mutex_lock(&pgm->lock);
    int r = pgm_range_alloc(pgm, base, size, name, err);
    if (r >= 0) {
        pgm->ranges[r].ops = ops;
        pgm->ranges[r].dev = dev;
        pgm_range_set(pgm, r, base, size, PGM_PAGE_MMIO, name);
        LOG("MMIO '%s' at %#llx size %#llx", name, (unsigned long long)base, (unsigned long long)size);
    }
    pthread_mutex_unlock(&pgm->lock);
    return r < 0 ? r : 0;
}

int pgm_unmap_mmio(struct pgm *pgm, gphys_t base)
{
    int rc = IXVM_ERR_NOT_FOUND;
    pthread_mutex_lock(&pgm->lock);
    for (int r = 0; r < PGM_MAX_RANGES; r++) {
        struct pgm_range *rg = &pgm->ranges[r];
        if (!rg->used || rg->kind != PGM_PAGE_MMIO || rg->base != base)
            continue;
        for (uint64_t p = base >> PGM_PAGE_SHIFT; p < (base + rg->size) >> PGM_PAGE_SHIFT; p++)
            pgm->pte[p] = (p << PGM_PAGE_SHIFT) < pgm->ram_size ? PGM_PAGE_RAM : PGM_PAGE_UNASSIGNED;
        rg->used = false;
        pgm_bump_tlb_epoch(pgm);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&pgm->lock);
    return rc;
}

int pgm_set_page_kind(struct pgm *pgm, gphys_t base, uint64_t size, enum pgm_page_kind kind)
{
    if (kind == PGM_PAGE_MMIO || !size || (base & (PGM_PAGE_SIZE - 1)) || (size & (PGM_PAGE_SIZE - 1)) ||
        base >= PGM_ADDR_SPACE || size > PGM_ADDR_SPACE - base)
        return IXVM_ERR_INVALID_PARAMETER;
    int rc = 0;
    pthread_mutex_lock(&pgm->lock);
    for (int r = 0; r < PGM_MAX_RANGES; r++) {
        struct pgm_range *o = &pgm->ranges[r];
        if (o->used && base < o->base + o->size && o->base < base + size)
            rc = IXVM_ERR_INVALID_PARAMETER;
    }
    if (rc == 0) {
        for (uint64_t p = base >> PGM_PAGE_SHIFT; p < (base + size) >> PGM_PAGE_SHIFT; p++) {
            pgm->pte[p] = (uint16_t)kind;
            /* The bytes behind the page may have been swapped (shadow RAM). */
            atomic_fetch_add_explicit(&pgm->code[p].code_gen, 1, memory_order_acq_rel);
            atomic_store_explicit(&pgm->code[p].code_mask, 0, memory_order_relaxed);
        }
        pgm_bump_tlb_epoch(pgm);
    }
    pthread_mutex_unlock(&pgm->lock);
    return rc;
}

enum pgm_page_kind pgm_page_kind(struct pgm *pgm, gphys_t pa)
{
    return pgm_kind_of(pgm, pa);
}

void pgm_page_lookup(struct pgm *pgm, gphys_t pa, struct pgm_page_info *info)
{
    if (pa >= pgm->span) {
        info->kind = PGM_PAGE_UNASSIGNED;
        info->host = NULL;
        info->code = NULL;
        return;
    }
    uint64_t p = pa >> PGM_PAGE_SHIFT;
    info->kind = pgm_kind_of(pgm, pa);
    info->host = (info->kind == PGM_PAGE_RAM || info->kind == PGM_PAGE_ROM)
                     ? pgm->host + (p << PGM_PAGE_SHIFT) : NULL;
    info->code = &pgm->code[p];
}

struct pgm_code_page *pgm_code_page(struct pgm *pgm, gphys_t pa)
{
    return pa < pgm->span ? &pgm->code[pa >> PGM_PAGE_SHIFT] : NULL;
}

bool pgm_code_write(struct pgm *pgm, gphys_t pa, size_t len)
{
    bool hit = false;
    while (len && pa < pgm->span) {
        uint32_t off = (uint32_t)(pa & (PGM_PAGE_SIZE - 1));
        size_t n = PGM_PAGE_SIZE - off < len ? PGM_PAGE_SIZE - off : len;
        struct pgm_code_page *cp = &pgm->code[pa >> PGM_PAGE_SHIFT];
        uint32_t mask = atomic_load_explicit(&cp->code_mask, memory_order_acquire);
        if (mask) {
            unsigned first = off >> PGM_CODE_GRANULE_SHIFT;
            unsigned last = (unsigned)((off + n - 1) >> PGM_CODE_GRANULE_SHIFT);
            uint32_t bits = (uint32_t)((2ull << last) - (1ull << first));
            if (mask & bits) {
                atomic_fetch_add_explicit(&cp->code_gen, 1, memory_order_acq_rel);
                atomic_store_explicit(&cp->code_mask, 0, memory_order_release);
                hit = true;
            }
        }
        pa += n;
        len -= n;
    }
    return hit;
}

/* size is one of 1/2/4/8 and accepted by the device. */
static bool pgm_size_ok(unsigned sizes, unsigned size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && (sizes & size);
}

/* One access inside an MMIO range, split into bytes if the device refuses the size. */
static uint64_t pgm_mmio_range_read(struct pgm_range *rg, uint32_t off, unsigned size)
{
    unsigned sizes = rg->ops->access_sizes ? rg->ops->access_sizes : 7u;
    if (pgm_size_ok(sizes, size) && off + size <= rg->size) {
        uint64_t v = ~0ull;
        int rc = rg->ops->read(rg->dev, off, size, &v);
        if (rc < 0) {
            LOG_WARN("MMIO '%s' read off %#x size %u failed: %d", rg->name, off, size, rc);
            v = ~0ull;
        }
        return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
    }
    if (size == 1)
        return 0xff;
    uint64_t v = 0;
    for (unsigned b = 0; b < size; b++)
        v |= (off + b < rg->size ? pgm_mmio_range_read(rg, off + b, 1) : 0xff) << (8 * b);
    return v;
}

static void pgm_mmio_range_write(struct pgm_range *rg, uint32_t off, uint64_t val, unsigned size)
{
    unsigned sizes = rg->ops->access_sizes ? rg->ops->access_sizes : 7u;
    if (pgm_size_ok(sizes, size) && off + size <= rg->size) {
        int rc = rg->ops->write(rg->dev, off, val, size);
        if (rc < 0)
            LOG_WARN("MMIO '%s' write off %#x size %u failed: %d", rg->name, off, size, rc);
        return;
    }
    if (size == 1)
        return;
    for (unsigned b = 0; b < size && off + b < rg->size; b++)
        pgm_mmio_range_write(rg, off + b, (val >> (8 * b)) & 0xff, 1);
}

uint64_t pgm_mmio_read(struct pgm *pgm, gphys_t pa, unsigned size)
{
    enum pgm_page_kind k = pgm_kind_of(pgm, pa);
    uint64_t v = 0;
    switch (k) {
    case PGM_PAGE_RAM:
    case PGM_PAGE_ROM:
        memcpy(&v, pgm->host + pa, size);
        return v;
    case PGM_PAGE_MMIO: {
        struct pgm_range *rg = &pgm->ranges[PGM_PTE_RANGE(pgm->pte[pa >> PGM_PAGE_SHIFT])];
        return pgm_mmio_range_read(rg, (uint32_t)(pa - rg->base), size);
    }
    default:
        return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
    }
}

void pgm_mmio_write(struct pgm *pgm, gphys_t pa, uint64_t val, unsigned size)
{
    switch (pgm_kind_of(pgm, pa)) {
    case PGM_PAGE_RAM:
        memcpy(pgm->host + pa, &val, size);
        atomic_thread_fence(memory_order_seq_cst);
        pgm_code_write(pgm, pa, size);
        break;
    case PGM_PAGE_MMIO: {
        struct pgm_range *rg = &pgm->ranges[PGM_PTE_RANGE(pgm->pte[pa >> PGM_PAGE_SHIFT])];
        pgm_mmio_range_write(rg, (uint32_t)(pa - rg->base), val, size);
        break;
    }
    default:   /* ROM and unassigned: writes are dropped */
        break;
    }
}

/* Largest naturally aligned access size (4, 2, 1) fitting at pa within n bytes. */
static unsigned pgm_chunk(gphys_t pa, size_t n)
{
    if (!(pa & 3) && n >= 4)
        return 4;
    if (!(pa & 1) && n >= 2)
        return 2;
    return 1;
}

int pgm_phys_read(struct pgm *pgm, gphys_t pa, void *buf, size_t len)
{
    uint8_t *d = buf;
    while (len) {
        size_t in_page = PGM_PAGE_SIZE - (pa & (PGM_PAGE_SIZE - 1));
        size_t n = in_page < len ? in_page : len;
        enum pgm_page_kind k = pgm_kind_of(pgm, pa);
        if (k == PGM_PAGE_RAM || k == PGM_PAGE_ROM) {
            memcpy(d, pgm->host + pa, n);
        } else if (k == PGM_PAGE_MMIO) {
            for (size_t o = 0; o < n;) {
                unsigned sz = pgm_chunk(pa + o, n - o);
                uint64_t v = pgm_mmio_read(pgm, pa + o, sz);
                memcpy(d + o, &v, sz);
                o += sz;
            }
        } else {
            memset(d, 0xff, n);
        }
        pa += n;
        d += n;
        len -= n;
    }
    return 0;
}

int pgm_phys_write(struct pgm *pgm, gphys_t pa, const void *buf, size_t len)
{
    const uint8_t *s = buf;
    while (len) {
        size_t in_page = PGM_PAGE_SIZE - (pa & (PGM_PAGE_SIZE - 1));
        size_t n = in_page < len ? in_page : len;
        enum pgm_page_kind k = pgm_kind_of(pgm, pa);
        if (k == PGM_PAGE_RAM) {
            /* Store first, then invalidate: a concurrent block build marks
             * its granules before reading the bytes (IEM-DESIGN.md 7). */
            memcpy(pgm->host + pa, s, n);
            atomic_thread_fence(memory_order_seq_cst);
            pgm_code_write(pgm, pa, n);
        } else if (k == PGM_PAGE_MMIO) {
            for (size_t o = 0; o < n;) {
                unsigned sz = pgm_chunk(pa + o, n - o);
                uint64_t v = 0;
                memcpy(&v, s + o, sz);
                pgm_mmio_write(pgm, pa + o, v, sz);
                o += sz;
            }
        }
        pa += n;
        s += n;
        len -= n;
    }
    return 0;
}
