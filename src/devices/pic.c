/* SPDX-License-Identifier: MIT */
/*
 * Dual 8259A programmable interrupt controller, cascaded through master
 * IR2, with the PIIX-style edge/level control registers (ELCR) at
 * 0x4d0/0x4d1.  Implements the Intel 8259A datasheet: ICW1-ICW4, OCW1-OCW3,
 * fully nested and rotating priority, specific and non-specific EOI,
 * automatic EOI (with rotation), special mask mode, special fully nested
 * mode, the poll command and IRR/ISR/IMR reads; the interrupt-acknowledge
 * cycle (pic_ack) returns IR7/IR15 spurious vectors when the request went
 * away, and then, as on hardware, a spurious IRQ15 leaves master IR2 in
 * service (Linux's i8259.c sends the master an EOI for it).
 *
 * Inputs are irq wires; edge-triggered inputs latch IRR on a rising edge
 * (the bit stays until acknowledged), level-triggered ones (ELCR bit or
 * ICW1.LTIM) follow the line.  The INT output is reported through a
 * callback the board installs.
 */
#define LOG_GROUP LOG_GROUP_DEV_PIC
#include <string.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"

enum { PIC_MASTER, PIC_SLAVE };

#define PIC_ICW1       0x10u   /* command port: bit 4 selects ICW1 */
#define PIC_ICW1_IC4   0x01u
#define PIC_ICW1_SNGL  0x02u
#define PIC_ICW1_LTIM  0x08u
#define PIC_OCW3       0x08u   /* command port with bit 4 clear: bit 3 selects OCW3 */
#define PIC_ICW4_8086  0x01u
#define PIC_ICW4_AEOI  0x02u
#define PIC_ICW4_SFNM  0x10u

/* One 8259A.  Only uint8_t fields: saved as one memory block. */
struct pic_chip {
    uint8_t irr, isr, imr;
    uint8_t lines;          /* input pin levels */
    uint8_t elcr, elcr_mask;
    uint8_t icw1, icw3;
    uint8_t vector_base;    /* ICW2 & 0xf8 */
    uint8_t init_step;      /* 0: operational; 2, 3, 4: the ICW expected next */
    uint8_t auto_eoi, rotate_aeoi, sfnm, special_mask, poll, read_isr;
    uint8_t lowest;         /* IR with the lowest priority (7 after ICW1) */
};

struct pic_state {
    struct dev_ins *ins;                    /* [init] */
    struct irq_line in[PIC_IRQ_COUNT];      /* [init] our input wires */
    pic_output_fn *out_fn;                  /* [lock] */
    void *out_user;                         /* [lock] */
    struct pic_chip chip[2];                /* [lock] saved */
    uint8_t out;                            /* [lock] INT level last reported */
    uint32_t misuse;                        /* [lock] log rate limiter */
};

/* Priority rank of ir on chip c: 0 is the highest. */
static unsigned pic_rank(const struct pic_chip *c, unsigned ir)
{
    return (ir - c->lowest - 1) & 7;
}

/* The highest-priority IR set in bits, or -1. */
static int pic_highest(const struct pic_chip *c, uint8_t bits)
{
    for (unsigned r = 0; r < 8 && bits; r++) {
        unsigned ir = (c->lowest + 1 + r) & 7;
        if (bits & (1u << ir))
            return (int)ir;
    }
    return -1;
}

/* The IR this chip would present on INT now, or -1 (datasheet "priority
 * resolver": an unmasked request above every in-service level). */
static int pic_pending(const struct pic_chip *c, bool master)
{
    int ir = pic_highest(c, c->irr & ~c->imr);
    if (ir < 0)
        return -1;
    uint8_t isr = c->isr;
    if (c->special_mask)
        isr &= ~c->imr;               /* masked in-service levels do not block */
    if (master && c->sfnm && (c->icw3 & (1u << ir)))
        isr &= ~(1u << ir);           /* SFNM: the slave nests on its own */
    int cur = pic_highest(c, isr);
    if (cur >= 0 && pic_rank(c, (unsigned)ir) >= pic_rank(c, (unsigned)cur))
        return -1;
    return ir;
}

static bool pic_is_level(const struct pic_chip *c, unsigned ir)
{
    return (c->icw1 & PIC_ICW1_LTIM) || (c->elcr & (1u << ir));
}

/* Drive input pin ir of chip c. */
static void pic_chip_set_line(struct pic_chip *c, unsigned ir, int level)
{
    uint8_t m = (uint8_t)(1u << ir);
    if (pic_is_level(c, ir)) {
        c->irr = level ? c->irr | m : c->irr & ~m;
    } else if (level && !(c->lines & m)) {
        c->irr |= m;                  /* rising edge latches the request */
    }
    c->lines = level ? c->lines | m : c->lines & ~m;
}

/* Propagate slave INT to master IR2 and report a change of the master INT. */
static void pic_update(struct pic_state *s)
{
    struct pic_chip *m = &s->chip[PIC_MASTER];
    pic_chip_set_line(m, 2, pic_pending(&s->chip[PIC_SLAVE], false) >= 0);
    uint8_t out = pic_pending(m, true) >= 0;
    if (out != s->out) {
        s->out = out;
        LOG3("INT %u", out);
        if (s->out_fn)
            s->out_fn(s->out_user, out);
    }
}

/* INTA on one chip for ir: ISR bit (unless AEOI), edge IRR bit cleared. */
static void pic_chip_ack(struct pic_chip *c, unsigned ir)
{
    uint8_t m = (uint8_t)(1u << ir);
    if (!pic_is_level(c, ir))
        c->irr &= ~m;
    if (c->auto_eoi) {
        if (c->rotate_aeoi)
            c->lowest = (uint8_t)ir;
    } else {
        c->isr |= m;
    }
}

static void pic_input_set(void *user, unsigned pin, int level)
{
    struct pic_state *s = user;
    dev_lock(s->ins);
    if (pin == 2) {
        DEV_LOG_MISUSE(s->misuse, "PIC: IRQ2 is the cascade input; external level %d ignored", level);
    } else {
        pic_chip_set_line(&s->chip[pin >> 3], pin & 7, level);
        pic_update(s);
    }
    dev_unlock(s->ins);
}

/* ---- port writes (datasheet "Programming the 8259A") ------------------- */

static void pic_icw1(struct pic_chip *c, uint8_t v)
{
    c->icw1 = v;
    c->init_step = 2;
    c->imr = 0;
    c->isr = 0;
    /* The edge-sense latches reset: a line that is already high needs a
     * new rising edge; level lines keep requesting. */
    c->irr = 0;
    for (unsigned ir = 0; ir < 8; ir++)
        if (pic_is_level(c, ir) && (c->lines & (1u << ir)))
            c->irr |= (uint8_t)(1u << ir);
    c->lowest = 7;
    c->special_mask = 0;
    c->read_isr = 0;
    c->poll = 0;
    c->auto_eoi = c->rotate_aeoi = c->sfnm = 0;
}

/* OCW2: EOI and rotation commands (R SL EOI in bits 7-5, level in 2-0). */
static void pic_ocw2(struct pic_state *s, struct pic_chip *c, uint8_t v)
{
    unsigned level = v & 7;
    int ir;
    switch (v >> 5) {
    case 0: c->rotate_aeoi = 0; break;                  /* clear rotate in AEOI */
    case 4: c->rotate_aeoi = 1; break;                  /* set rotate in AEOI */
    case 1:                                             /* non-specific EOI */
    case 5:                                             /* rotate on non-specific EOI */
        ir = pic_highest(c, c->isr);
        if (ir < 0)
            break;
        c->isr &= (uint8_t)~(1u << ir);
        if (v >> 5 == 5)
            c->lowest = (uint8_t)ir;
        break;
    case 3: c->isr &= (uint8_t)~(1u << level); break;   /* specific EOI */
    case 7:                                             /* rotate on specific EOI */
        c->isr &= (uint8_t)~(1u << level);
        c->lowest = (uint8_t)level;
        break;
    case 6: c->lowest = (uint8_t)level; break;          /* set priority */
    default: break;                                     /* 2: no operation */
    }
    (void)s;
}

static void pic_ocw3(struct pic_chip *c, uint8_t v)
{
    if (v & 0x04)
        c->poll = 1;
    if (v & 0x02)
        c->read_isr = v & 1;
    if (v & 0x40)
        c->special_mask = (v >> 5) & 1;
}

static void pic_write_data(struct pic_state *s, struct pic_chip *c, uint8_t v)
{
    switch (c->init_step) {
    case 2:
        c->vector_base = v & 0xf8;
        c->init_step = (c->icw1 & PIC_ICW1_SNGL) ? ((c->icw1 & PIC_ICW1_IC4) ? 4 : 0) : 3;
        break;
    case 3:
        c->icw3 = v;
        c->init_step = (c->icw1 & PIC_ICW1_IC4) ? 4 : 0;
        break;
    case 4:
        c->auto_eoi = (v & PIC_ICW4_AEOI) != 0;
        c->sfnm = (v & PIC_ICW4_SFNM) != 0;
        if (!(v & PIC_ICW4_8086))
            DEV_LOG_MISUSE(s->misuse, "PIC: MCS-80/85 mode (ICW4=%#x) not supported; using 8086 mode", v);
        c->init_step = 0;
        break;
    default:
        c->imr = v;                   /* OCW1 */
        break;
    }
}

/* Poll command: the next read of the command port is an INTA. */
static uint8_t pic_poll_read(struct pic_state *s, unsigned which)
{
    struct pic_chip *c = &s->chip[which];
    c->poll = 0;
    int ir = pic_pending(c, which == PIC_MASTER);
    if (ir < 0)
        return 0;
    pic_chip_ack(c, (unsigned)ir);
    return (uint8_t)(0x80 | ir);
}

static int pic_chip_read(struct pic_state *s, unsigned which, uint16_t off, uint32_t *val)
{
    struct pic_chip *c = &s->chip[which];
    if (off & 1)
        *val = c->imr;
    else if (c->poll)
        *val = pic_poll_read(s, which);
    else
        *val = c->read_isr ? c->isr : c->irr;
    pic_update(s);
    return 0;
}

static int pic_chip_write(struct pic_state *s, unsigned which, uint16_t off, uint32_t val)
{
    struct pic_chip *c = &s->chip[which];
    uint8_t v = (uint8_t)val;
    LOG2("%s write %u <- %#x", which ? "slave" : "master", off, v);
    if (off & 1)
        pic_write_data(s, c, v);
    else if (v & PIC_ICW1)
        pic_icw1(c, v);
    else if (v & PIC_OCW3)
        pic_ocw3(c, v);
    else
        pic_ocw2(s, c, v);
    pic_update(s);
    return 0;
}

static int pic_master_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    return pic_chip_read(dev, PIC_MASTER, off, val);
}
static int pic_master_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    return pic_chip_write(dev, PIC_MASTER, off, val);
}
static int pic_slave_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    return pic_chip_read(dev, PIC_SLAVE, off, val);
}
static int pic_slave_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    return pic_chip_write(dev, PIC_SLAVE, off, val);
}

static int pic_elcr_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct pic_state *s = dev;
    *val = s->chip[off & 1].elcr;
    return 0;
}

/* ELCR (PIIX "edge/level control"): bit set = level triggered.  IRQ0-2, 8
 * and 13 are always edge (the mask). */
static int pic_elcr_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct pic_state *s = dev;
    struct pic_chip *c = &s->chip[off & 1];
    c->elcr = (uint8_t)val & c->elcr_mask;
    for (unsigned ir = 0; ir < 8; ir++)
        if (pic_is_level(c, ir))
            pic_chip_set_line(c, ir, (c->lines >> ir) & 1);
    pic_update(s);
    return 0;
}

static const struct iom_port_ops pic_master_ops = { pic_master_read, pic_master_write, 1 };
static const struct iom_port_ops pic_slave_ops = { pic_slave_read, pic_slave_write, 1 };
static const struct iom_port_ops pic_elcr_ops = { pic_elcr_read, pic_elcr_write, 1 };

/* ---- board interface ---------------------------------------------------- */

const struct irq_line *pic_irq_line(struct dev_ins *pic, unsigned irq)
{
    struct pic_state *s = pic->state;
    return irq < PIC_IRQ_COUNT ? &s->in[irq] : NULL;
}

void pic_set_output(struct dev_ins *pic, pic_output_fn *fn, void *user)
{
    struct pic_state *s = pic->state;
    dev_lock(pic);
    s->out_fn = fn;
    s->out_user = user;
    if (fn && s->out)
        fn(user, 1);
    dev_unlock(pic);
}

bool pic_output_level(struct dev_ins *pic)
{
    struct pic_state *s = pic->state;
    dev_lock(pic);
    bool v = s->out;
    dev_unlock(pic);
    return v;
}

uint8_t pic_ack(struct dev_ins *pic)
{
    struct pic_state *s = pic->state;
    struct pic_chip *m = &s->chip[PIC_MASTER], *sl = &s->chip[PIC_SLAVE];
    uint8_t vec;
    dev_lock(pic);
    int ir = pic_pending(m, true);
    if (ir < 0) {
        vec = m->vector_base + 7;             /* spurious IRQ7, ISR untouched */
        LOG2("spurious IRQ7");
    } else if (!(m->icw1 & PIC_ICW1_SNGL) && (m->icw3 & (1u << ir))) {
        pic_chip_ack(m, (unsigned)ir);
        int sir = pic_pending(sl, false);
        if (sir < 0) {
            vec = sl->vector_base + 7;        /* spurious IRQ15; master IR2 stays in service */
            LOG2("spurious IRQ15");
        } else {
            pic_chip_ack(sl, (unsigned)sir);
            vec = sl->vector_base + (uint8_t)sir;
        }
    } else {
        pic_chip_ack(m, (unsigned)ir);
        vec = m->vector_base + (uint8_t)ir;
    }
    pic_update(s);
    dev_unlock(pic);
    return vec;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void pic_reset(void *state)
{
    struct pic_state *s = state;
    for (unsigned i = 0; i < 2; i++) {
        struct pic_chip *c = &s->chip[i];
        uint8_t lines = c->lines, mask = c->elcr_mask;
        memset(c, 0, sizeof(*c));
        c->lines = lines;         /* wires keep their level across reset */
        c->elcr_mask = mask;
        c->lowest = 7;
    }
    pic_update(s);
}

static int pic_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                    struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "master", "slave", "elcr", NULL };
    struct pic_state *s = ins->state;
    uint64_t mb, sb, eb;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "master", 0x20, 0, 0xfffe, &mb, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "slave", 0xa0, 0, 0xfffe, &sb, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "elcr", 0x4d0, 0, 0xfffe, &eb, err);
    if (rc < 0)
        return rc;
    s->ins = ins;
    for (unsigned i = 0; i < PIC_IRQ_COUNT; i++)
        s->in[i] = (struct irq_line){ pic_input_set, s, i };
    s->chip[PIC_MASTER].elcr_mask = 0xf8;
    s->chip[PIC_SLAVE].elcr_mask = 0xde;
    pic_reset(s);
    rc = dev_map_ports(ins, (uint16_t)mb, 2, &pic_master_ops, "pic-master", err);
    if (rc >= 0)
        rc = dev_map_ports(ins, (uint16_t)sb, 2, &pic_slave_ops, "pic-slave", err);
    if (rc >= 0)
        rc = dev_map_ports(ins, (uint16_t)eb, 2, &pic_elcr_ops, "pic-elcr", err);
    return rc;
}

static int pic_post_load(void *state, uint32_t version)
{
    struct pic_state *s = state;
    for (unsigned i = 0; i < 2; i++) {
        struct pic_chip *c = &s->chip[i];
        c->lowest &= 7;
        c->elcr &= c->elcr_mask;
        if (c->init_step != 2 && c->init_step != 3 && c->init_step != 4)
            c->init_step = 0;
    }
    s->out = 0xff;    /* force a report: the board's view predates the load */
    pic_update(s);
    return 0;
}

static void pic_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct pic_state *s = state;
    for (unsigned i = 0; i < 2; i++) {
        const struct pic_chip *c = &s->chip[i];
        ixvm_pr(pr, "%s: irr=%02x imr=%02x isr=%02x lines=%02x elcr=%02x base=%02x lowest=%u%s%s%s%s%s%s\n",
                i ? "slave " : "master", c->irr, c->imr, c->isr, c->lines, c->elcr, c->vector_base,
                c->lowest, c->auto_eoi ? " aeoi" : "", c->rotate_aeoi ? " rotate-aeoi" : "",
                c->special_mask ? " smm" : "", c->sfnm ? " sfnm" : "",
                (c->icw1 & PIC_ICW1_LTIM) ? " ltim" : "", c->init_step ? " (initialising)" : "");
    }
    ixvm_pr(pr, "INT=%u\n", s->out);
}

static const struct ssm_field pic_fields[] = {
    SSM_FIELD(MEM, struct pic_state, chip),
    SSM_FIELD(U8, struct pic_state, out),
    SSM_FIELD_END,
};

const struct dev_reg dev_pic = {
    .name = "pic",
    .desc = "dual 8259A interrupt controller",
    .state_size = sizeof(struct pic_state),
    .max_instances = 1,
    .init = pic_init,
    .reset = pic_reset,
    .ssm_fields = pic_fields,
    .ssm_version = 1,
    .post_load = pic_post_load,
    .info = pic_info,
};
