/* SPDX-License-Identifier: MIT */
/*
 * PS/2 mouse behind the i8042 aux port: the standard 3-byte protocol, the
 * IntelliMouse (ID 3, wheel in a 4th byte) and IntelliMouse Explorer (ID 4,
 * wheel nibble + buttons 4/5) extensions selected by the sample-rate
 * "knocks" 200/100/80 and 200/200/80, stream and remote modes, wrap mode,
 * scaling 2:1, and the status request (IBM PS/2 Technical Reference,
 * "Pointing device"; Microsoft IntelliMouse Explorer protocol notes).
 *
 * Movement accumulates in counters; a packet carries at most +-255 per
 * axis (9-bit two's complement with the sign bits in byte 0) and the rest
 * goes out in following packets as the queue drains.  Counters saturate at
 * +-PS2MOUSE_ACC_MAX; movement lost that way sets the axis' overflow bit in
 * the next packet.  Packets are produced as fast as the guest reads them:
 * the sample rate is stored, not enforced.
 */
#include <string.h>

#include "devices/ps2_int.h"
#include "ixvm/ps2.h"

#define MOUSE_STATUS_REMOTE  0x40u
#define MOUSE_STATUS_ENABLED 0x20u
#define MOUSE_STATUS_SCALE21 0x10u

static int32_t ps2mouse_clamp(int64_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

static void ps2mouse_defaults(struct ps2_mouse *m)
{
    m->rate = 100;
    m->resolution = 2;      /* 4 counts/mm */
    m->scale21 = 0;
    m->enabled = 0;
    m->remote = 0;
    m->cmd = 0;
}

void ps2mouse_reset(struct ps2_mouse *m)
{
    memset(m, 0, sizeof(*m));
    ps2mouse_defaults(m);
}

static void ps2mouse_reply(struct ps2_mouse *m, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        (void)ps2_queue_push(&m->resp, b[i]);
}

static void ps2mouse_ack(struct ps2_mouse *m)
{
    static const uint8_t ack = PS2_ACK;
    ps2mouse_reply(m, &ack, 1);
}

static bool ps2mouse_pending(const struct ps2_mouse *m)
{
    return m->dx || m->dy || m->dz || m->buttons != m->sent_buttons || m->ovf_x || m->ovf_y;
}

/* 2:1 scaling (stream mode): 1->1 2->1 3->3 4->6 5->9, then doubled. */
static int32_t ps2mouse_scale(const struct ps2_mouse *m, int32_t v)
{
    static const uint8_t small[6] = { 0, 1, 1, 3, 6, 9 };
    if (!m->scale21 || m->remote)
        return v;
    int32_t a = v < 0 ? -v : v;
    a = a <= 5 ? small[a] : ps2mouse_clamp(2 * (int64_t)a, 0, 255);
    return v < 0 ? -a : a;
}

/* Build one packet from the counters and take what it carries out of them.
 * Returns its length (3, or 4 for the wheel mice). */
static unsigned ps2mouse_packet(struct ps2_mouse *m, uint8_t *p)
{
    int32_t x = ps2mouse_clamp(m->dx, -255, 255);
    int32_t y = ps2mouse_clamp(m->dy, -255, 255);
    m->dx -= x;
    m->dy -= y;
    x = ps2mouse_scale(m, x);
    y = ps2mouse_scale(m, y);
    p[0] = (uint8_t)(0x08 | (m->buttons & 7) | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0) |
                     (m->ovf_x ? 0x40 : 0) | (m->ovf_y ? 0x80 : 0));
    p[1] = (uint8_t)x;
    p[2] = (uint8_t)y;
    unsigned n = 3;
    if (m->type == 3) {
        int32_t z = ps2mouse_clamp(m->dz, -127, 127);
        m->dz -= z;
        p[n++] = (uint8_t)z;
    } else if (m->type == 4) {
        int32_t z = ps2mouse_clamp(m->dz, -7, 7);
        m->dz -= z;
        p[n++] = (uint8_t)((z & 0x0f) | ((m->buttons & 0x18) << 1));
    } else {
        m->dz = 0;
    }
    m->sent_buttons = m->buttons;
    m->ovf_x = m->ovf_y = 0;
    memcpy(m->last_pkt, p, n);
    m->last_len = (uint8_t)n;
    return n;
}

/* Stream mode: turn pending movement into packets while they fit. */
static void ps2mouse_sync(struct ps2_mouse *m)
{
    if (!m->enabled || m->remote || m->wrap)
        return;
    unsigned len = m->type ? 4 : 3;
    while (ps2_queue_room(&m->data) >= len && ps2mouse_pending(m)) {
        uint8_t p[4];
        unsigned n = ps2mouse_packet(m, p);
        for (unsigned i = 0; i < n; i++)
            (void)ps2_queue_push(&m->data, p[i]);
    }
}

static void ps2mouse_acc(int32_t *ctr, int32_t d, uint8_t *ovf)
{
    int64_t v = (int64_t)*ctr + d;
    if (v > PS2MOUSE_ACC_MAX || v < -PS2MOUSE_ACC_MAX) {
        if (ovf)
            *ovf = 1;
        v = v > 0 ? PS2MOUSE_ACC_MAX : -PS2MOUSE_ACC_MAX;
    }
    *ctr = (int32_t)v;
}

void ps2mouse_event(struct ps2_mouse *m, int32_t dx, int32_t dy, int32_t dz, uint8_t buttons)
{
    if (!(m->enabled || m->remote) || m->wrap)
        return;     /* reporting disabled: the mouse drops input (as QEMU) */
    dx = ps2mouse_clamp(dx, -(1 << 24), 1 << 24);
    dy = ps2mouse_clamp(dy, -(1 << 24), 1 << 24);
    dz = ps2mouse_clamp(dz, -(1 << 24), 1 << 24);
    m->buttons = buttons & PS2_BTN_ALL;
    ps2mouse_acc(&m->dx, dx, &m->ovf_x);
    ps2mouse_acc(&m->dy, -dy, &m->ovf_y);   /* PS/2 Y counts up */
    if (m->type)
        ps2mouse_acc(&m->dz, dz, NULL);
    ps2mouse_sync(m);
}

/* ---- commands ----------------------------------------------------------- */

typedef void ps2mouse_cmd_fn(struct ps2_mouse *m, uint8_t cmd);

static void mouse_cmd_scaling(struct ps2_mouse *m, uint8_t cmd)
{
    m->scale21 = cmd == 0xe7;
    ps2mouse_ack(m);
}

static void mouse_cmd_param(struct ps2_mouse *m, uint8_t cmd)
{
    m->cmd = cmd;       /* E8 resolution, F3 sample rate */
    ps2mouse_ack(m);
}

static void mouse_cmd_status(struct ps2_mouse *m, uint8_t cmd)
{
    uint8_t b = m->buttons;
    uint8_t r[4] = {
        PS2_ACK,
        (uint8_t)((m->remote ? MOUSE_STATUS_REMOTE : 0) | (m->enabled ? MOUSE_STATUS_ENABLED : 0) |
                  (m->scale21 ? MOUSE_STATUS_SCALE21 : 0) | ((b & PS2_BTN_LEFT) ? 0x04 : 0) |
                  ((b & PS2_BTN_MIDDLE) ? 0x02 : 0) | ((b & PS2_BTN_RIGHT) ? 0x01 : 0)),
        m->resolution, m->rate,
    };
    ps2mouse_reply(m, r, sizeof(r));
}

static void mouse_cmd_mode(struct ps2_mouse *m, uint8_t cmd)
{
    m->remote = cmd == 0xf0;    /* EA stream, F0 remote */
    ps2mouse_ack(m);
}

/* EB read data: one packet whatever the movement (remote mode polling). */
static void mouse_cmd_read(struct ps2_mouse *m, uint8_t cmd)
{
    uint8_t p[4];
    ps2mouse_ack(m);
    unsigned n = ps2mouse_packet(m, p);
    ps2mouse_reply(m, p, n);
    m->dx = m->dy = m->dz = 0;  /* counters reset once reported */
}

static void mouse_cmd_wrap(struct ps2_mouse *m, uint8_t cmd)
{
    m->wrap = cmd == 0xee;      /* EE set wrap, EC reset wrap */
    ps2mouse_ack(m);
}

static void mouse_cmd_id(struct ps2_mouse *m, uint8_t cmd)
{
    uint8_t r[2] = { PS2_ACK, m->type };
    ps2mouse_reply(m, r, 2);
}

static void mouse_cmd_enable(struct ps2_mouse *m, uint8_t cmd)
{
    m->enabled = cmd == 0xf4;
    ps2mouse_ack(m);
}

/* F6: defaults, reporting disabled; the wheel mode stays (as QEMU). */
static void mouse_cmd_defaults(struct ps2_mouse *m, uint8_t cmd)
{
    ps2mouse_defaults(m);
    ps2mouse_ack(m);
}

static void mouse_cmd_resend(struct ps2_mouse *m, uint8_t cmd)
{
    if (m->last_len)
        ps2mouse_reply(m, m->last_pkt, m->last_len);
    else
        ps2mouse_ack(m);
}

static void mouse_cmd_reset(struct ps2_mouse *m, uint8_t cmd)
{
    static const uint8_t r[] = { PS2_ACK, PS2_BAT_OK, 0x00 };
    ps2mouse_reset(m);
    ps2mouse_reply(m, r, sizeof(r));
}

static ps2mouse_cmd_fn *const ps2mouse_cmds[0x1a] = {
    [0xe6 - 0xe6] = mouse_cmd_scaling,  [0xe7 - 0xe6] = mouse_cmd_scaling,
    [0xe8 - 0xe6] = mouse_cmd_param,    [0xe9 - 0xe6] = mouse_cmd_status,
    [0xea - 0xe6] = mouse_cmd_mode,     [0xeb - 0xe6] = mouse_cmd_read,
    [0xec - 0xe6] = mouse_cmd_wrap,     [0xee - 0xe6] = mouse_cmd_wrap,
    [0xf0 - 0xe6] = mouse_cmd_mode,     [0xf2 - 0xe6] = mouse_cmd_id,
    [0xf3 - 0xe6] = mouse_cmd_param,    [0xf4 - 0xe6] = mouse_cmd_enable,
    [0xf5 - 0xe6] = mouse_cmd_enable,   [0xf6 - 0xe6] = mouse_cmd_defaults,
    [0xfe - 0xe6] = mouse_cmd_resend,   [0xff - 0xe6] = mouse_cmd_reset,
};

/* F3 parameter: the rate, and the IntelliMouse knock detection on the
 * last three rates (200,100,80 -> ID 3; 200,200,80 -> ID 4). */
static void ps2mouse_set_rate(struct ps2_mouse *m, uint8_t rate)
{
    m->rate = rate;
    m->rate_hist[0] = m->rate_hist[1];
    m->rate_hist[1] = m->rate_hist[2];
    m->rate_hist[2] = rate;
    if (m->rate_hist[0] == 200 && m->rate_hist[2] == 80) {
        if (m->rate_hist[1] == 100)
            m->type = 3;
        else if (m->rate_hist[1] == 200)
            m->type = 4;
    }
}

static void ps2mouse_param(struct ps2_mouse *m, uint8_t b)
{
    uint8_t cmd = m->cmd;
    m->cmd = 0;
    if (cmd == 0xe8) {
        if (b > 3) {
            static const uint8_t nak = PS2_RESEND;
            ps2mouse_reply(m, &nak, 1);
            return;
        }
        m->resolution = b;
    } else {
        ps2mouse_set_rate(m, b);
    }
    ps2mouse_ack(m);
}

void ps2mouse_write(struct ps2_mouse *m, uint8_t b)
{
    if (m->wrap && b != 0xec && b != 0xff) {
        ps2mouse_reply(m, &b, 1);   /* wrap mode echoes */
        return;
    }
    if (m->cmd) {
        ps2mouse_param(m, b);
        return;
    }
    if (b != 0xfe && b != 0xeb) {
        /* Any command but Resend (and Read Data, which reports them)
         * drops unsent packets and clears the movement counters. */
        ps2_queue_clear(&m->data);
        m->dx = m->dy = m->dz = 0;
        m->ovf_x = m->ovf_y = 0;
    }
    ps2mouse_cmd_fn *fn = b >= 0xe6 ? ps2mouse_cmds[b - 0xe6] : NULL;
    if (fn) {
        fn(m, b);
    } else {
        static const uint8_t nak = PS2_RESEND;
        ps2mouse_reply(m, &nak, 1);
    }
    ps2mouse_sync(m);
}

bool ps2mouse_read(struct ps2_mouse *m, uint8_t *b)
{
    if (ps2_queue_pop(&m->resp, b))
        return true;
    if (!ps2_queue_pop(&m->data, b))
        return false;
    ps2mouse_sync(m);       /* room for the rest of a large movement */
    return true;
}

bool ps2mouse_has_data(const struct ps2_mouse *m)
{
    return m->resp.count || m->data.count;
}

void ps2mouse_post_load(struct ps2_mouse *m)
{
    ps2_queue_fix(&m->resp);
    ps2_queue_fix(&m->data);
    if (m->type != 3 && m->type != 4)
        m->type = 0;
    if (m->last_len > sizeof(m->last_pkt))
        m->last_len = 0;
    m->resolution &= 3;
    if (m->cmd != 0xe8 && m->cmd != 0xf3)
        m->cmd = 0;
    m->dx = ps2mouse_clamp(m->dx, -PS2MOUSE_ACC_MAX, PS2MOUSE_ACC_MAX);
    m->dy = ps2mouse_clamp(m->dy, -PS2MOUSE_ACC_MAX, PS2MOUSE_ACC_MAX);
    m->dz = ps2mouse_clamp(m->dz, -PS2MOUSE_ACC_MAX, PS2MOUSE_ACC_MAX);
    m->buttons &= PS2_BTN_ALL;
}
