/* SPDX-License-Identifier: MIT */
/*
 * Debug and diagnostic ports: the Bochs/QEMU 0xE9 console (reads return
 * 0xE9 so guests can detect it), SeaBIOS's debug output at 0x402 (also
 * copied into the log as group "guest", one entry per line), the POST code
 * port 0x80 (logged, last code kept), and QEMU's isa-debug-exit at 0xF4
 * (4 ports, 1/2/4-byte writes): writing v asks the frontend to exit with
 * status (v << 1) | 1.  Every byte written to 0xE9 and 0x402 also goes
 * to a byte sink the runner installs, so console capture is lossless.
 */
#define LOG_GROUP LOG_GROUP_DEV_MISC
#include <string.h>

#include "ixvm/dev.h"
#include "ixvm/log.h"

#define DP_LINE_MAX 240u

struct dp_state {
    struct dev_ins *ins;                              /* [init] */
    debugport_sink_fn *sink[DEBUGPORT_SINK_COUNT];     /* [lock] */
    void *sink_user[DEBUGPORT_SINK_COUNT];            /* [lock] */
    debugport_exit_fn *exit_fn;                       /* [lock] */
    void *exit_user;                                  /* [lock] */
    char line[DP_LINE_MAX + 1];                       /* [lock] firmware log line */
    uint32_t line_len;                                /* [lock] */
    uint8_t post;                                     /* [lock] saved */
};

static void dp_sink(struct dp_state *s, enum debugport_sink which, uint8_t b)
{
    if (s->sink[which])
        s->sink[which](s->sink_user[which], &b, 1);
}

static void dp_flush_line(struct dp_state *s)
{
    if (!s->line_len)
        return;
    s->line[s->line_len] = 0;
    log_printf(LOG_GROUP_GUEST, LOG_LVL_E, "%s", s->line);
    s->line_len = 0;
}

static int dp_readback(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    *val = 0xe9;
    return 0;
}

static int dp_e9_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    dp_sink(dev, DEBUGPORT_SINK_E9, (uint8_t)val);
    return 0;
}

static int dp_fw_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct dp_state *s = dev;
    uint8_t b = (uint8_t)val;
    dp_sink(s, DEBUGPORT_SINK_FW, b);
    if (b == '\n') {
        dp_flush_line(s);
    } else if (b != '\r') {
        s->line[s->line_len++] = (char)(b >= 0x20 && b < 0x7f ? b : '.');
        if (s->line_len == DP_LINE_MAX)
            dp_flush_line(s);
    }
    return 0;
}

static int dp_post_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    *val = ((struct dp_state *)dev)->post;
    return 0;
}

static int dp_post_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct dp_state *s = dev;
    s->post = (uint8_t)val;
    LOG("POST code %02x", s->post);
    return 0;
}

static int dp_exit_read(void *dev, uint16_t off, unsigned size, uint32_t *val)
{
    *val = 0xffffffffu;
    return 0;
}

static int dp_exit_write(void *dev, uint16_t off, uint32_t val, unsigned size)
{
    struct dp_state *s = dev;
    int status = (int)((val << 1) | 1);
    LOG_REL("guest requested exit: value %#x -> status %d", val, status);
    if (s->exit_fn)
        s->exit_fn(s->exit_user, status);
    return 0;
}

static const struct iom_port_ops dp_e9_ops = { dp_readback, dp_e9_write, 1 };
static const struct iom_port_ops dp_fw_ops = { dp_readback, dp_fw_write, 1 };
static const struct iom_port_ops dp_post_ops = { dp_post_read, dp_post_write, 1 };
static const struct iom_port_ops dp_exit_ops = { dp_exit_read, dp_exit_write, 1 | 2 | 4 };

void debugport_set_sink(struct dev_ins *dp, enum debugport_sink which, debugport_sink_fn *fn, void *user)
{
    struct dp_state *s = dp->state;
    if ((unsigned)which >= DEBUGPORT_SINK_COUNT)
        return;
    dev_lock(dp);
    s->sink[which] = fn;
    s->sink_user[which] = user;
    dev_unlock(dp);
}

void debugport_set_exit(struct dev_ins *dp, debugport_exit_fn *fn, void *user)
{
    struct dp_state *s = dp->state;
    dev_lock(dp);
    s->exit_fn = fn;
    s->exit_user = user;
    dev_unlock(dp);
}

uint8_t debugport_post_code(struct dev_ins *dp)
{
    struct dp_state *s = dp->state;
    dev_lock(dp);
    uint8_t v = s->post;
    dev_unlock(dp);
    return v;
}

/* Map one port range from config key `key` (a port number or "off"). */
static int dp_map(struct dev_ins *ins, const struct dev_cfg *cfg, const char *key, uint64_t def,
                  uint32_t count, const struct iom_port_ops *ops, struct ixvm_errinfo *err)
{
    if (!strcmp(dev_cfg_get_str(cfg, key, ""), "off"))
        return 0;
    uint64_t port;
    int rc = dev_cfg_get_u64(ins, cfg, key, def, 0, 0x10000 - count, &port, err);
    if (rc >= 0)
        rc = dev_map_ports(ins, (uint16_t)port, count, ops, key, err);
    return rc;
}

static int dp_init(struct dev_ins *ins, const struct dev_ctx *ctx, const struct dev_cfg *cfg,
                   struct ixvm_errinfo *err)
{
    static const char *const keys[] = { "e9", "fw", "post", "exit", NULL };
    struct dp_state *s = ins->state;
    s->ins = ins;
    int rc = dev_cfg_check_keys(ins, cfg, keys, err);
    if (rc >= 0)
        rc = dp_map(ins, cfg, "e9", 0xe9, 1, &dp_e9_ops, err);
    if (rc >= 0)
        rc = dp_map(ins, cfg, "fw", 0x402, 1, &dp_fw_ops, err);
    if (rc >= 0)
        rc = dp_map(ins, cfg, "post", 0x80, 1, &dp_post_ops, err);
    if (rc >= 0)
        rc = dp_map(ins, cfg, "exit", 0xf4, 4, &dp_exit_ops, err);
    return rc;
}

static void dp_destroy(void *state)
{
    dp_flush_line(state);
}

static void dp_info(void *state, const struct ixvm_printer *pr, const char *args)
{
    struct dp_state *s = state;
    ixvm_pr(pr, "POST code %02x, firmware line buffer %u bytes\n", s->post, s->line_len);
}

static const struct ssm_field dp_fields[] = {
    SSM_FIELD(U8, struct dp_state, post),
    SSM_FIELD_END,
};

const struct dev_reg dev_debugport = {
    .name = "debugport",
    .desc = "0xE9 console, 0x402 firmware log, POST 0x80, debug exit 0xF4",
    .state_size = sizeof(struct dp_state),
    .max_instances = 1,
    .init = dp_init,
    .destroy = dp_destroy,
    .ssm_fields = dp_fields,
    .ssm_version = 1,
    .info = dp_info,
};
