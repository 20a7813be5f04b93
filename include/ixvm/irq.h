/* SPDX-License-Identifier: MIT */
/*
 * Interrupt wires (STYLE.md 3).  A device drives a struct irq_line with
 * irq_set(line, level); whatever sits at the other end (the PIC's input pin,
 * later the I/O APIC) decides what edge or level means.  A line whose set
 * function is NULL is unconnected and ignores the device.
 *
 * Threads: irq_set may be called from any thread, normally with the calling
 * device's lock held.  The receiving controller takes its own lock, so the
 * lock order is always "source device, then interrupt controller"; a
 * controller never calls back into a source device.
 */
#ifndef IXVM_IRQ_H
#define IXVM_IRQ_H

#include "ixvm/types.h"

/* Receiver of a wire: pin is the receiver's input number, level 0 or 1. */
typedef void irq_set_fn(void *user, unsigned pin, int level);

struct irq_line {
    irq_set_fn *set;   /* NULL: not connected */
    void *user;
    unsigned pin;
};

/* Drive the line to level (0 low, nonzero high). */
static inline void irq_set(const struct irq_line *line, int level)
{
    if (line && line->set)
        line->set(line->user, line->pin, level ? 1 : 0);
}

/* A low-high-low pulse: one edge for an edge-triggered receiver. */
static inline void irq_pulse(const struct irq_line *line)
{
    irq_set(line, 1);
    irq_set(line, 0);
}

static inline bool irq_is_connected(const struct irq_line *line)
{
    return line && line->set;
}

#endif
