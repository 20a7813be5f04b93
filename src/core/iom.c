/* SPDX-License-Identifier: MIT */
/*
 * IOM: port I/O dispatch.  A 64 K-entry table of registration indices (0 =
 * unassigned) over a small registration array; each access goes to the
 * registration owning its first port with a base-relative offset, or is
 * split into byte accesses when the device does not take that size or the
 * access spans registrations.
 */
#define LOG_GROUP LOG_GROUP_IOM
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ixvm/iom.h"
#include "ixvm/log.h"

#define IOM_MAX_REGS 255

struct iom_reg {
    const struct iom_port_ops *ops;
    void *dev;
    pthread_mutex_t *lock;
    uint16_t base;
    uint32_t count;
    char name[32];
};

struct iom {
    uint8_t port[IOM_PORT_COUNT];          /* registration index + 1, 0 = none */
    struct iom_reg regs[IOM_MAX_REGS];
};

int iom_create(struct iom **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : IXVM_ERR_NO_MEMORY;
}

void iom_destroy(struct iom *iom) { free(iom); }

int iom_map_ports_locked(struct iom *iom, uint16_t base, uint32_t count,
                         const struct iom_port_ops *ops, void *dev, const char *name,
                         pthread_mutex_t *lock)
{
    if (!count || base + count > IOM_PORT_COUNT || !ops || !ops->read || !ops->write)
        return IXVM_ERR_INVALID_PARAMETER;
    for (uint32_t p = base; p < base + count; p++)
        if (iom->port[p]) {
            LOG_REL("I/O ports %#x-%#x for '%s' overlap '%s'", base, base + count - 1,
                    name ? name : "?", iom->regs[iom->port[p] - 1].name);
            return IXVM_ERR_ALREADY_EXISTS;
        }
    for (int r = 0; r < IOM_MAX_REGS; r++) {
        struct iom_reg *rg = &iom->regs[r];
        if (rg->ops)
            continue;
        rg->ops = ops;
        rg->dev = dev;
        rg->lock = lock;
        rg->base = base;
        rg->count = count;
        snprintf(rg->name, sizeof(rg->name), "%s", name ? name : "?");
        for (uint32_t p = base; p < base + count; p++)
            iom->port[p] = (uint8_t)(r + 1);
        LOG("ports %#x-%#x -> '%s'", base, base + count - 1, rg->name);
        return 0;
    }
    return IXVM_ERR_NO_MEMORY;
}

int iom_map_ports(struct iom *iom, uint16_t base, uint32_t count, const struct iom_port_ops *ops,
                  void *dev, const char *name)
{
    return iom_map_ports_locked(iom, base, count, ops, dev, name, NULL);
}

int iom_unmap_ports(struct iom *iom, uint16_t base)
{
    unsigned idx = iom->port[base];
    if (!idx || iom->regs[idx - 1].base != base)
        return IXVM_ERR_NOT_FOUND;
    struct iom_reg *rg = &iom->regs[idx - 1];
    memset(&iom->port[base], 0, rg->count);
    memset(rg, 0, sizeof(*rg));
    return 0;
}

const char *iom_port_name(const struct iom *iom, uint16_t port)
{
    return iom->port[port] ? iom->regs[iom->port[port] - 1].name : NULL;
}

/* The registration handling a whole size-byte access at port, or NULL. */
static struct iom_reg *iom_whole(struct iom *iom, uint16_t port, unsigned size)
{
    unsigned idx = iom->port[port];
    if (!idx)
        return NULL;
    struct iom_reg *rg = &iom->regs[idx - 1];
    unsigned sizes = rg->ops->access_sizes ? rg->ops->access_sizes : 7u;
    if (!(sizes & size) || (uint32_t)(port - rg->base) + size > rg->count)
        return NULL;
    return rg;
}

int iom_in(struct iom *iom, uint16_t port, unsigned size, uint32_t *val)
{
    uint32_t ones = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    struct iom_reg *rg = iom_whole(iom, port, size);
    if (rg) {
        uint32_t v = ones;
        if (rg->lock)
            pthread_mutex_lock(rg->lock);
        int rc = rg->ops->read(rg->dev, (uint16_t)(port - rg->base), size, &v);
        if (rg->lock)
            pthread_mutex_unlock(rg->lock);
        *val = rc < 0 ? ones : v & ones;
        if (rc < 0)
            LOG_WARN("IN %#x size %u from '%s' failed: %d", port, size, rg->name, rc);
        return rc < 0 ? rc : 0;
    }
    /* Unassigned, refused size, or spanning registrations: bytes, which
     * read as all ones where no device answers (as on the ISA bus). */
    if (size == 1) {
        *val = 0xff;
        return 0;
    }
    uint32_t v = 0;
    int rc = 0;
    for (unsigned b = 0; b < size; b++) {
        uint32_t byte;
        int r = iom_in(iom, (uint16_t)(port + b), 1, &byte);
        rc = rc ? rc : r;
        v |= (byte & 0xff) << (8 * b);
    }
    *val = v;
    return rc;
}

int iom_out(struct iom *iom, uint16_t port, uint32_t val, unsigned size)
{
    struct iom_reg *rg = iom_whole(iom, port, size);
    if (rg) {
        uint32_t ones = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
        if (rg->lock)
            pthread_mutex_lock(rg->lock);
        int rc = rg->ops->write(rg->dev, (uint16_t)(port - rg->base), val & ones, size);
        if (rg->lock)
            pthread_mutex_unlock(rg->lock);
        if (rc < 0)
            LOG_WARN("OUT %#x size %u to '%s' failed: %d", port, size, rg->name, rc);
        return rc < 0 ? rc : 0;
    }
    if (size == 1)
        return 0;   /* unassigned or refused: dropped */
    int rc = 0;
    for (unsigned b = 0; b < size; b++) {
        int r = iom_out(iom, (uint16_t)(port + b), (val >> (8 * b)) & 0xff, 1);
        rc = rc ? rc : r;
    }
    return rc;
}
