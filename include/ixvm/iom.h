/* SPDX-License-Identifier: MIT */
/*
 * IOM: x86 port I/O dispatch.  A 64 K-entry table maps each port to a
 * registration (ops, device, name, optional lock).  Callbacks get the
 * port's offset from the registration base, so devices are relocatable.
 * Accesses are 1, 2 or 4 bytes; one the device does not accept (see
 * access_sizes) or one spanning two registrations is split into bytes and
 * reassembled little-endian.  Unassigned ports read all ones, writes to
 * them are dropped.
 *
 * Threads: registrations happen at init (before EMTs run) or on an EMT inside
 * a rendezvous; dispatch (iom_in/iom_out) may run on any EMT.  If a
 * registration has a lock, the dispatcher holds it around the callback
 * (STYLE.md 10: devices do not lock inside callbacks).
 */
#ifndef IXVM_IOM_H
#define IXVM_IOM_H

#include <pthread.h>

#include "ixvm/types.h"

#define IOM_PORT_COUNT 65536u

struct iom_port_ops {
    /* off = port - base; size 1/2/4; return 0 or a negative status (logged,
     * the guest reads all ones). */
    int (*read)(void *dev, uint16_t off, unsigned size, uint32_t *val);
    int (*write)(void *dev, uint16_t off, uint32_t val, unsigned size);
    unsigned access_sizes;  /* bit mask of accepted sizes (1|2|4); 0 means all */
};

struct iom;

int iom_create(struct iom **out) IXVM_WUR;
void iom_destroy(struct iom *iom);

/* Register ports [base, base+count).  Overlap with an existing registration:
 * IXVM_ERR_ALREADY_EXISTS.  ops must outlive the registration. */
int iom_map_ports(struct iom *iom, uint16_t base, uint32_t count, const struct iom_port_ops *ops,
                  void *dev, const char *name) IXVM_WUR;
/* Same, with a lock taken by the dispatcher around each callback. */
int iom_map_ports_locked(struct iom *iom, uint16_t base, uint32_t count,
                         const struct iom_port_ops *ops, void *dev, const char *name,
                         pthread_mutex_t *lock) IXVM_WUR;
/* Remove the registration that starts at base. */
int iom_unmap_ports(struct iom *iom, uint16_t base) IXVM_WUR;

/* Guest IN/OUT of size 1/2/4.  iom_in always stores a value (all ones for
 * unassigned ports).  Return 0 or a negative status of the device. */
int iom_in(struct iom *iom, uint16_t port, unsigned size, uint32_t *val);
int iom_out(struct iom *iom, uint16_t port, uint32_t val, unsigned size);

/* Name of the registration owning port, or NULL. */
const char *iom_port_name(const struct iom *iom, uint16_t port);

#endif
