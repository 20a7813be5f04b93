/* SPDX-License-Identifier: MIT */
/*
 * Intel 8042 keyboard controller (PS/2 variant, as in every PC chipset)
 * with a PS/2 keyboard on the first port and a PS/2 mouse on the aux port.
 * Data port 0x60, status/command port 0x64; IRQ1 and IRQ12.  Commands as
 * in the IBM PS/2 Technical Reference "Keyboard/auxiliary device
 * controller" chapter, with QEMU's choices where hardware varies.
 *
 * The output buffer (one byte) is filled when empty, in priority order:
 * a controller reply (command results, D2/D3 writes), then the keyboard
 * (unless its port is disabled), then the mouse (same).  Keyboard bytes
 * are translated to set 1 on the way in when the command byte's XLATE bit
 * is set (F0 is swallowed and sets bit 7 of the next byte).  IRQ1 / IRQ12
 * follow "buffer full from that port and its interrupt enabled": reading
 * port 0x60 lowers the line and, if more data waits, raises it again at
 * once, which gives the edge-triggered PIC one edge per byte.
 *
 * The keyboard and mouse live in this instance's state (ps2_int.h) so one
 * lock covers all three.  Output port bit 1 (A20 gate) and bit 0 (reset)
 * go to board callbacks.  Devices answer at once: IBF never shows busy.
 */
#define LOG_GROUP LOG_GROUP_DEV_KBD
#include <stdio.h>
#include <string.h>

#include "devices/ps2_int.h"
#include "ixvm/log.h"
#include "ixvm/ps2.h"

/* Status register. */
#define STS_OBF     0x01u
#define STS_IBF     0x02u
#define STS_SYS     0x04u
#define STS_A2      0x08u   /* last write was to the command port */
#define STS_INH     0x10u   /* 1: keyboard not inhibited (keylock open) */
#define STS_AUXOBF  0x20u
#define STS_TIMEOUT 0x40u
#define STS_PARITY  0x80u

/* Command byte (controller RAM byte 0). */
#define CTR_KBDINT  0x01u
#define CTR_AUXINT  0x02u
#define CTR_SYS     0x04u
#define CTR_IGNLOCK 0x08u
#define CTR_KBDDIS  0x10u
#define CTR_AUXDIS  0x20u
#define CTR_XLATE   0x40u

/* Output port. */
#define OUT_RESET   0x01u   /* 0: CPU reset asserted */
#define OUT_A20     0x02u
#define OUT_OBF     0x10u
#define OUT_AUXOBF  0x20u
#define OUT_DEFAULT 0xcfu   /* reset high, A20 on, clock/data lines high */

#define INPORT_VALUE 0x80u  /* keyboard not inhibited */

enum { SRC_NONE, SRC_KBD, SRC_AUX };

#define I8042_RAM 32u

struct i8042_state {
    struct dev_ins *ins;            /* [init] */
    bool has_mouse;                 /* [init] config "mouse" */
    i8042_a20_fn *a20_fn;           /* [lock] board */
    void *a20_user;                 /* [lock] */
    i8042_reset_fn *reset_fn;       /* [lock] board */
    void *reset_user;               /* [lock] */
    uint8_t ram[I8042_RAM];         /* [lock] saved: ram[0] is the command byte */
    uint8_t status;                 /* [lock] saved: SYS and A2 (the rest is derived) */
    uint8_t outport;                /* [lock] saved */
    uint8_t ob, ob_src, ob_err;     /* [lock] saved: output buffer, its port, TIMEOUT with it */
    uint8_t ctl, ctl_src, ctl_err;  /* [lock] saved: controller reply waiting for the buffer */
    uint8_t pending_cmd;            /* [lock] saved: command waiting for its data byte */
    uint8_t xlate_f0;               /* [lock] saved: translating, F0 seen */
    uint8_t irq_kbd, irq_aux;       /* [lock] saved: wire levels */
    uint32_t misuse;                /* [lock] */
    struct ps2_kbd kbd;             /* [lock] saved */
    struct ps2_mouse mouse;         /* [lock] saved */
};

static uint8_t i8042_ctr(const struct i8042_state *s)
{
    return s->ram[0];
}

static void i8042_irq_update(struct i8042_state *s)
{
    uint8_t k = s->ob_src == SRC_KBD && (i8042_ctr(s) & CTR_KBDINT);
    uint8_t a = s->ob_src == SRC_AUX && (i8042_ctr(s) & CTR_AUXINT);
    if (k != s->irq_kbd) {
        s->irq_kbd = k;
        dev_irq_set(s->ins, 0, k);
    }
    if (a != s->irq_aux) {
        s->irq_aux = a;
        dev_irq_set(s->ins, 1, a);
    }
}

/* Next keyboard byte as the controller passes it on (XLATE applied). */
static bool i8042_pull_kbd(struct i8042_state *s, uint8_t *out)
{
    uint8_t b;
    while (ps2kbd_read(&s->kbd, &b)) {
        if (!(i8042_ctr(s) & CTR_XLATE)) {
            *out = b;
            return true;
        }
        if (b == 0xf0) {
            s->xlate_f0 = 1;
            continue;
        }
        *out = (uint8_t)(ps2_xlate_table[b] | (s->xlate_f0 ? 0x80 : 0));
        s->xlate_f0 = 0;
        return true;
    }
    return false;
}

/* Fill an empty output buffer (priority: controller, keyboard, mouse). */
static void i8042_refill(struct i8042_state *s)
{
    uint8_t b;
    if (s->ob_src == SRC_NONE) {
        if (s->ctl_src != SRC_NONE) {
            s->ob = s->ctl;
            s->ob_src = s->ctl_src;
            s->ob_err = s->ctl_err;
            s->ctl_src = SRC_NONE;
            s->ctl_err = 0;
        } else if (!(i8042_ctr(s) & CTR_KBDDIS) && i8042_pull_kbd(s, &b)) {
            s->ob = b;
            s->ob_src = SRC_KBD;
        } else if (s->has_mouse && !(i8042_ctr(s) & CTR_AUXDIS) && ps2mouse_read(&s->mouse, &b)) {
            s->ob = b;
            s->ob_src = SRC_AUX;
        }
    }
    i8042_irq_update(s);
}

/* A controller-generated byte, delivered as if from port src.  A second
 * reply before the first was read replaces it (one-byte latch). */
static void i8042_reply(struct i8042_state *s, uint8_t b, uint8_t src, uint8_t err)
{
    s->ctl = b;
    s->ctl_src = src;
    s->ctl_err = err;
}

static uint8_t i8042_outport_value(const struct i8042_state *s)
{
    return (uint8_t)((s->outport & ~(OUT_OBF | OUT_AUXOBF)) | (s->ob_src == SRC_KBD ? OUT_OBF : 0) |
                     (s->ob_src == SRC_AUX ? OUT_AUXOBF : 0));
}

static void i8042_reset_request(struct i8042_state *s)
{
    LOG_REL("i8042: guest requested a system reset");
    if (s->reset_fn)
        s->reset_fn(s->reset_user);
}

static void i8042_set_a20(struct i8042_state *s, bool on)
{
    s->outport = (uint8_t)(on ? s->outport | OUT_A20 : s->outport & ~OUT_A20);
    if (s->a20_fn)
        s->a20_fn(s->a20_user, on);
}

/* D1: the output port.  Bit 1 drives the A20 gate; bit 0 low resets. */
static void i8042_write_outport(struct i8042_state *s, uint8_t v)
{
    s->outport = v;
    i8042_set_a20(s, v & OUT_A20);
    if (!(v & OUT_RESET))
        i8042_reset_request(s);
}

static void i8042_write_ctr(struct i8042_state *s, uint8_t v)
{
    if ((v ^ s->ram[0]) & CTR_XLATE)
        s->xlate_f0 = 0;
    s->ram[0] = v;
    /* The system flag of the command byte shows in status bit 2. */
    s->status = (uint8_t)((s->status & ~STS_SYS) | (v & CTR_SYS ? STS_SYS : 0));
}

/* ---- port 0x64 ---------------------------------------------------------- */

static void i8042_command(struct i8042_state *s, uint8_t cmd)
{
    if (cmd >= 0x20 && cmd < 0x40) {            /* read controller RAM */
        i8042_reply(s, s->ram[cmd & 0x1f], SRC_KBD, 0);
        return;
    }
    if ((cmd >= 0x60 && cmd < 0x80) || (cmd >= 0xd1 && cmd <= 0xd4)) {
        s->pending_cmd = cmd;                   /* data byte follows at 0x60 */
        return;
    }
    if (cmd >= 0xf0) {                          /* pulse output port bits 0-3 low */
        if (!(cmd & 1))
            i8042_reset_request(s);
        return;
    }
    switch (cmd) {
    case 0xa4: i8042_reply(s, 0xf1, SRC_KBD, 0); break;   /* no password installed */
    case 0xa7: s->ram[0] |= CTR_AUXDIS; break;
    case 0xa8: s->ram[0] &= (uint8_t)~CTR_AUXDIS; break;
    case 0xa9: i8042_reply(s, 0x00, SRC_KBD, 0); break;   /* aux interface test: OK */
    case 0xaa:                                            /* self test */
        s->status |= STS_SYS;
        i8042_reply(s, 0x55, SRC_KBD, 0);
        break;
    case 0xab: i8042_reply(s, 0x00, SRC_KBD, 0); break;   /* keyboard interface test: OK */
    case 0xad: s->ram[0] |= CTR_KBDDIS; break;
    case 0xae: s->ram[0] &= (uint8_t)~CTR_KBDDIS; break;
    case 0xc0: i8042_reply(s, INPORT_VALUE, SRC_KBD, 0); break;
    case 0xc1: case 0xc2: break;                          /* poll input port: nothing to show */
    case 0xd0: i8042_reply(s, i8042_outport_value(s), SRC_KBD, 0); break;
    case 0xdd: i8042_set_a20(s, false); break;            /* HP Vectra style A20 control */
    case 0xdf: i8042_set_a20(s, true); break;
    case 0xe0: i8042_reply(s, 0x00, SRC_KBD, 0); break;   /* test inputs T0/T1 */
    default:
        DEV_LOG_MISUSE(s->misuse, "i8042: unknown controller command %#04x ignored", cmd);
        break;
    }
}

static int i8042_cmd_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct i8042_state *s = dev;
    uint8_t v = (uint8_t)((s->status & (STS_SYS | STS_A2)) | STS_INH);
    if (s->ob_src != SRC_NONE)
        v |= (uint8_t)(STS_OBF | (s->ob_src == SRC_AUX ? STS_AUXOBF : 0) | s->ob_err);
    *val = v;
    return 0;
}

static int i8042_cmd_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct i8042_state *s = dev;
    s->status |= STS_A2;
    s->pending_cmd = 0;         /* a new command cancels an expected data byte */
    i8042_command(s, (uint8_t)val);
    i8042_refill(s);
    return 0;
}

/* ---- port 0x60 ---------------------------------------------------------- */

static int i8042_data_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    struct i8042_state *s = dev;
    *val = s->ob;               /* an empty buffer reads its last byte again */
    if (s->ob_src != SRC_NONE) {
        s->ob_src = SRC_NONE;
        s->ob_err = 0;
        i8042_irq_update(s);    /* drop the wire: the next byte is a new edge */
        i8042_refill(s);
    }
    return 0;
}

static void i8042_aux_send(struct i8042_state *s, uint8_t v)
{
    s->ram[0] &= (uint8_t)~CTR_AUXDIS;  /* sending to the mouse enables its port */
    if (s->has_mouse)
        ps2mouse_write(&s->mouse, v);
    else
        i8042_reply(s, PS2_RESEND, SRC_AUX, STS_TIMEOUT);  /* nobody answers */
}

static int i8042_data_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct i8042_state *s = dev;
    uint8_t v = (uint8_t)val;
    uint8_t cmd = s->pending_cmd;
    s->status &= (uint8_t)~STS_A2;
    s->pending_cmd = 0;
    if (cmd == 0x60)
        i8042_write_ctr(s, v);
    else if (cmd > 0x60 && cmd < 0x80)
        s->ram[cmd & 0x1f] = v;
    else if (cmd == 0xd1)
        i8042_write_outport(s, v);
    else if (cmd == 0xd2)
        i8042_reply(s, v, SRC_KBD, 0);
    else if (cmd == 0xd3)
        i8042_reply(s, v, SRC_AUX, 0);
    else if (cmd == 0xd4)
        i8042_aux_send(s, v);
    else {
        s->ram[0] &= (uint8_t)~CTR_KBDDIS;  /* sending to the keyboard enables its port */
        ps2kbd_write(&s->kbd, v);
    }
    i8042_refill(s);
    return 0;
}

static const struct iom_port_ops i8042_data_ops = { i8042_data_read, i8042_data_write, 1 };
static const struct iom_port_ops i8042_cmd_ops = { i8042_cmd_read, i8042_cmd_write, 1 };

/* ---- board and frontend entry points ------------------------------------ */

static struct i8042_state *i8042_state_of(struct dev_ins *kbc)
{
    return kbc && kbc->reg == &dev_i8042 ? kbc->state : NULL;
}

void i8042_set_a20_handler(struct dev_ins *kbc, i8042_a20_fn *fn, void *user)
{
    struct i8042_state *s = i8042_state_of(kbc);
    if (!s)
        return;
    dev_lock(kbc);
    s->a20_fn = fn;
    s->a20_user = user;
    dev_unlock(kbc);
}

void i8042_set_reset_handler(struct dev_ins *kbc, i8042_reset_fn *fn, void *user)
{
    struct i8042_state *s = i8042_state_of(kbc);
    if (!s)
        return;
    dev_lock(kbc);
    s->reset_fn = fn;
    s->reset_user = user;
    dev_unlock(kbc);
}

bool i8042_a20_gate(struct dev_ins *kbc)
{
    struct i8042_state *s = i8042_state_of(kbc);
    if (!s)
        return false;
    dev_lock(kbc);
    bool on = s->outport & OUT_A20;
    dev_unlock(kbc);
    return on;
}

int ps2_kbd_put_scancodes(struct dev_ins *kbc, const uint8_t *set2_bytes, size_t n)
{
    struct i8042_state *s = i8042_state_of(kbc);
    if (!s || (!set2_bytes && n))
        return IXVM_ERR_INVALID_PARAMETER;
    dev_lock(kbc);
    ps2kbd_input(&s->kbd, set2_bytes, n);
    i8042_refill(s);
    dev_unlock(kbc);
    return 0;
}

unsigned ps2_kbd_pending(struct dev_ins *kbc)
{
    struct i8042_state *s = i8042_state_of(kbc);
    if (!s)
        return 0;
    dev_lock(kbc);
    unsigned n = (unsigned)s->kbd.resp.count + s->kbd.data.count;
    dev_unlock(kbc);
    return n;
}

uint8_t ps2_kbd_leds(struct dev_ins *kbc)
{
    struct i8042_state *s = i8042_state_of(kbc);
    if (!s)
        return 0;
    dev_lock(kbc);
    uint8_t leds = s->kbd.leds;
    dev_unlock(kbc);
    return leds;
}

int ps2_mouse_event(struct dev_ins *kbc, int32_t dx, int32_t dy, int32_t dz, uint8_t buttons)
{
    struct i8042_state *s = i8042_state_of(kbc);
    if (!s)
        return IXVM_ERR_INVALID_PARAMETER;
    dev_lock(kbc);
    if (s->has_mouse) {
        ps2mouse_event(&s->mouse, dx, dy, dz, buttons);
        i8042_refill(s);
    }
    dev_unlock(kbc);
    return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void i8042_reset(void *state)
{
    struct i8042_state *s = state;
    memset(s->ram, 0, sizeof(s->ram));
    s->ram[0] = CTR_KBDINT | CTR_AUXINT;    /* as QEMU; firmware writes its own */
    s->status = STS_A2;
    s->outport = OUT_DEFAULT;
    s->ob = 0;
    s->ob_src = s->ob_err = 0;
    s->ctl = s->ctl_src = s->ctl_err = 0;
    s->pending_cmd = 0;
    s->xlate_f0 = 0;
    ps2kbd_reset(&s->kbd);
    ps2mouse_reset(&s->mouse);
    i8042_irq_update(s);
}

static int i8042_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                      struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "data", "cmd", "irq_kbd", "irq_aux", "mouse", NULL };
    struct i8042_state *s = ins->state;
    uint64_t data, cmd, irq_kbd, irq_aux;
    bool mouse = true;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "data", 0x60, 0, 0xffff, &data, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "cmd", 0x64, 0, 0xffff, &cmd, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "irq_kbd", 1, 0, 15, &irq_kbd, err);
    if (rc >= 0)
        rc = dev_cfg_get_u64(ins, cfg, "irq_aux", 12, 0, 15, &irq_aux, err);
    if (rc >= 0)
        rc = dev_cfg_get_bool(ins, cfg, "mouse", true, &mouse, err);
    if (rc < 0)
        return rc;
    s->ins = ins;
    s->has_mouse = mouse;
    char name[sizeof(ins->name) + 8];
    snprintf(name, sizeof(name), "%s-data", ins->name);
    rc = dev_map_ports(ins, (uint16_t)data, 1, &i8042_data_ops, name, err);
    if (rc >= 0) {
        snprintf(name, sizeof(name), "%s-cmd", ins->name);
        rc = dev_map_ports(ins, (uint16_t)cmd, 1, &i8042_cmd_ops, name, err);
    }
    if (rc >= 0)
        rc = dev_isa_irq_connect(ins, 0, (unsigned)irq_kbd);
    if (rc >= 0)
        rc = dev_isa_irq_connect(ins, 1, (unsigned)irq_aux);
    if (rc >= 0)
        i8042_reset(s);
    return rc;
}

static int i8042_post_load(void *state, uint32_t version)
{
    struct i8042_state *s = state;
    ps2kbd_post_load(&s->kbd);
    ps2mouse_post_load(&s->mouse);
    if (s->ob_src > SRC_AUX)
        s->ob_src = SRC_NONE;
    if (s->ctl_src > SRC_AUX)
        s->ctl_src = SRC_NONE;
    s->ob_err &= STS_TIMEOUT;
    s->ctl_err &= STS_TIMEOUT;
    s->status &= STS_SYS | STS_A2;
    /* Re-send the saved wire levels, then settle them from the state. */
    dev_irq_set(s->ins, 0, s->irq_kbd);
    dev_irq_set(s->ins, 1, s->irq_aux);
    i8042_refill(s);
    return 0;
}

static void i8042_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct i8042_state *s = state;
    uint32_t st = 0;
    (void)i8042_cmd_read(s, 0, 1, &st);
    ixvm_pr(pr, "ctr=%02x status=%02x outport=%02x ob=%02x(%s) pending_cmd=%02x irq1=%u irq12=%u\n",
            i8042_ctr(s), st, i8042_outport_value(s), s->ob,
            s->ob_src == SRC_KBD ? "kbd" : s->ob_src == SRC_AUX ? "aux" : "empty", s->pending_cmd,
            s->irq_kbd, s->irq_aux);
    ixvm_pr(pr, "kbd: set=%u scanning=%u leds=%x typematic=%02x queued=%u+%u\n", s->kbd.set,
            s->kbd.scanning, s->kbd.leds, s->kbd.typematic, s->kbd.resp.count, s->kbd.data.count);
    ixvm_pr(pr, "mouse: %s id=%u %s %s rate=%u res=%u scale=%s queued=%u+%u\n",
            s->has_mouse ? "present" : "absent", s->mouse.type,
            s->mouse.enabled ? "enabled" : "disabled", s->mouse.remote ? "remote" : "stream",
            s->mouse.rate, s->mouse.resolution, s->mouse.scale21 ? "2:1" : "1:1",
            s->mouse.resp.count, s->mouse.data.count);
}

#define F(type_, m) SSM_FIELD(type_, struct i8042_state, m)
#define FQ(q) F(MEM, q.buf), F(U8, q.head), F(U8, q.count)
static const struct ssm_field i8042_fields[] = {
    F(MEM, ram), F(U8, status), F(U8, outport), F(U8, ob), F(U8, ob_src), F(U8, ob_err),
    F(U8, ctl), F(U8, ctl_src), F(U8, ctl_err), F(U8, pending_cmd), F(U8, xlate_f0),
    F(U8, irq_kbd), F(U8, irq_aux),
    /* keyboard */
    FQ(kbd.resp), FQ(kbd.data), F(U8, kbd.cmd), F(U8, kbd.set), F(U8, kbd.scanning),
    F(U8, kbd.leds), F(U8, kbd.typematic), F(U8, kbd.last), F(U8, kbd.overrun),
    F(MEM, kbd.unit), F(U8, kbd.unit_len), F(U8, kbd.e1_left),
    /* mouse */
    FQ(mouse.resp), FQ(mouse.data), F(U8, mouse.cmd), F(U8, mouse.enabled), F(U8, mouse.remote),
    F(U8, mouse.wrap), F(U8, mouse.scale21), F(U8, mouse.resolution), F(U8, mouse.rate),
    F(U8, mouse.type), F(MEM, mouse.rate_hist), F(U8, mouse.buttons), F(U8, mouse.sent_buttons),
    F(U8, mouse.ovf_x), F(U8, mouse.ovf_y), F(U32, mouse.dx), F(U32, mouse.dy), F(U32, mouse.dz),
    F(MEM, mouse.last_pkt), F(U8, mouse.last_len),
    SSM_FIELD_END,
};
#undef FQ
#undef F

const struct dev_reg dev_i8042 = {
    .name = "i8042",
    .desc = "8042 keyboard controller, PS/2 keyboard and mouse",
    .state_size = sizeof(struct i8042_state),
    .max_instances = 0,
    .init = i8042_init,
    .reset = i8042_reset,
    .ssm_fields = i8042_fields,
    .ssm_version = 1,
    .ssm_min_version = 1,
    .post_load = i8042_post_load,
    .info = i8042_info,
};
