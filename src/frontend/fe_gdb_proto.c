/* SPDX-License-Identifier: MIT */
/*
 * gdb remote protocol engine for one connection (gdb manual, "Remote
 * Protocol": "Packets", "Stop Reply Packets", "General Query Packets").
 * Bytes come in through fe_gdb_proto_feed, replies go out through
 * ops->send, stop events come in through fe_gdb_proto_stop_event; all on
 * one thread.  Threads are vCPUs (gdb thread id = vCPU index + 1).  Every
 * packet gets exactly one reply, except c/s/vCont whose reply is the stop
 * reply sent when the target reports the stop.  Unknown packets get the
 * empty reply, malformed ones an error reply: nothing the client sends can
 * crash the stub (tests/unit/test_fe_gdb_fuzz.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_gdb.h"

/* Error replies carry an errno value (gdb only shows it). */
#define GDB_E_INVAL "E16"
#define GDB_E_FAULT "E0e"
#define GDB_E_BUSY  "E10"
#define GDB_E_PERM  "E01"

#define GDB_SIGINT  2
#define GDB_SIGTRAP 5

/* Largest memory transfer per m packet: the hex reply must fit. */
#define GDB_MEM_MAX ((FE_GDB_PKT_MAX - 8) / 2)
#define GDB_O_CHUNK 200   /* console bytes per O packet */

struct fe_gdb_bp {
    enum dbgf_bp_type type;
    glin_t addr;
    unsigned len;
};

struct fe_gdb_proto {
    struct dbgf_target tgt;
    struct fe_gdb_proto_ops ops;
    void *user;
    struct fe_gdb_pkt_rx rx;
    bool noack;                    /* QStartNoAckMode done */
    bool swbreak, hwbreak;         /* negotiated in qSupported */
    bool reply_owed;               /* c/s/vCont/? wait for a stop event */
    bool stopping;                 /* stop() asked, its event not seen yet */
    bool have_stop;
    bool closed;                   /* D or k seen: ignore further input */
    struct dbgf_stop_event last;   /* for '?' */
    uint32_t stop_cpu;
    int hg, hc;                    /* Hg/Hc thread ids: 0 any, -1 all, n = vCPU n-1 */
    char *last_pkt;                /* framed, for '-' retransmits (ack mode) */
    size_t last_len;
    struct fe_gdb_bp *bps;         /* breakpoints this client set */
    size_t nbps, capbps;
    char reply[FE_GDB_PKT_MAX + 64];
};

/* ------------------------------------------------------------------------- */
/* Output                                                                    */
/* ------------------------------------------------------------------------- */

static void gdb_send_raw(struct fe_gdb_proto *p, const void *buf, size_t len)
{
    if (p->ops.send)
        p->ops.send(p->user, buf, len);
}

static void gdb_send_bin(struct fe_gdb_proto *p, const void *payload, size_t len)
{
    char *f = malloc(2 * len + 5);
    if (!f)
        return;
    size_t n = fe_gdb_pkt_frame(payload, len, f);
    gdb_send_raw(p, f, n);
    free(p->last_pkt);
    p->last_pkt = f;
    p->last_len = n;
}

static void gdb_reply(struct fe_gdb_proto *p, const char *s)
{
    gdb_send_bin(p, s, strlen(s));
}

static void gdb_replyf(struct fe_gdb_proto *p, const char *fmt, ...) IXVM_PRINTF(2, 3);
static void gdb_replyf(struct fe_gdb_proto *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->reply, sizeof(p->reply), fmt, ap);
    va_end(ap);
    if (n >= 0)
        gdb_reply(p, p->reply);
}

/* Console output for the gdb user: O packets of hex text. */
static void gdb_send_console(struct fe_gdb_proto *p, const char *text)
{
    for (size_t len = strlen(text); len;) {
        size_t n = len < GDB_O_CHUNK ? len : GDB_O_CHUNK;
        char pkt[1 + 2 * GDB_O_CHUNK + 1] = "O";
        fe_gdb_hex_encode(text, n, pkt + 1);
        gdb_reply(p, pkt);
        text += n;
        len -= n;
    }
}

/* ------------------------------------------------------------------------- */
/* Parsing helpers                                                           */
/* ------------------------------------------------------------------------- */

/* Hex number (1..16 digits) at *s; advances *s. */
static bool gdb_parse_hex(const char **s, uint64_t *v)
{
    const char *c = *s;
    uint64_t x = 0;
    int n = 0;
    for (;; c++, n++) {
        int d = (*c >= '0' && *c <= '9') ? *c - '0' : (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10
              : (*c >= 'A' && *c <= 'F') ? *c - 'A' + 10 : -1;
        if (d < 0)
            break;
        if (n == 16)
            return false;
        x = x << 4 | (uint64_t)d;
    }
    if (!n)
        return false;
    *s = c;
    *v = x;
    return true;
}

static bool gdb_expect(const char **s, char c)
{
    if (**s != c)
        return false;
    (*s)++;
    return true;
}

/* "ADDR,LEN" -> addr, len. */
static bool gdb_parse_addr_len(const char **s, uint64_t *addr, uint64_t *len)
{
    return gdb_parse_hex(s, addr) && gdb_expect(s, ',') && gdb_parse_hex(s, len);
}

/* Thread id: "-1", "0" or hex. */
static bool gdb_parse_tid(const char **s, int *tid)
{
    uint64_t v;
    if ((*s)[0] == '-' && (*s)[1] == '1') {
        *s += 2;
        *tid = -1;
        return true;
    }
    if (!gdb_parse_hex(s, &v) || v > IXVM_MAX_CPUS)
        return false;
    *tid = (int)v;
    return true;
}

static uint32_t gdb_ncpus(const struct fe_gdb_proto *p)
{
    return p->tgt.ops->cpu_count ? p->tgt.ops->cpu_count(p->tgt.t) : 1;
}

/* The vCPU a thread id selects (any/all: the one that stopped). */
static uint32_t gdb_tid_cpu(const struct fe_gdb_proto *p, int tid)
{
    if (tid > 0 && (uint32_t)tid <= gdb_ncpus(p))
        return (uint32_t)tid - 1;
    return p->stop_cpu;
}

/* ------------------------------------------------------------------------- */
/* Stop replies                                                              */
/* ------------------------------------------------------------------------- */

static void gdb_send_stop_reply(struct fe_gdb_proto *p, const struct dbgf_stop_event *ev)
{
    static const char *const watch_kind[DBGF_BP_TYPE_COUNT] = {
        [DBGF_BP_WRITE] = "watch", [DBGF_BP_READ] = "rwatch", [DBGF_BP_ACCESS] = "awatch",
    };
    unsigned tid = ev->cpu + 1;
    char msg[128];
    switch (ev->reason) {
    case DBGF_STOP_EXITED:
        gdb_replyf(p, "W%02x", (unsigned)ev->status & 0xff);
        return;
    case DBGF_STOP_SIGNAL:
        gdb_replyf(p, "T%02xthread:%02x;", GDB_SIGINT, tid);
        return;
    case DBGF_STOP_TRIPLE_FAULT:
        snprintf(msg, sizeof(msg), "ixvm: triple fault on vCPU %u; the VM is stopped for inspection\n", ev->cpu);
        gdb_send_console(p, msg);
        gdb_replyf(p, "T%02xthread:%02x;", GDB_SIGTRAP, tid);
        return;
    case DBGF_STOP_WATCHPOINT:
        if ((unsigned)ev->bp_type < DBGF_BP_TYPE_COUNT && watch_kind[ev->bp_type]) {
            gdb_replyf(p, "T%02xthread:%02x;%s:%llx;", GDB_SIGTRAP, tid, watch_kind[ev->bp_type],
                       (unsigned long long)ev->addr);
            return;
        }
        break;
    case DBGF_STOP_BREAKPOINT:
        if (ev->bp_type == DBGF_BP_SW && p->swbreak) {
            gdb_replyf(p, "T%02xthread:%02x;swbreak:;", GDB_SIGTRAP, tid);
            return;
        }
        if (ev->bp_type == DBGF_BP_HW_EXEC && p->hwbreak) {
            gdb_replyf(p, "T%02xthread:%02x;hwbreak:;", GDB_SIGTRAP, tid);
            return;
        }
        break;
    case DBGF_STOP_STEP:
        break;
    }
    gdb_replyf(p, "T%02xthread:%02x;", GDB_SIGTRAP, tid);
}

void fe_gdb_proto_stop_event(struct fe_gdb_proto *p, const struct dbgf_stop_event *ev)
{
    p->last = *ev;
    p->have_stop = true;
    p->stopping = false;
    if (ev->cpu < gdb_ncpus(p))
        p->stop_cpu = ev->cpu;
    if (p->reply_owed && !p->closed) {
        p->reply_owed = false;
        gdb_send_stop_reply(p, ev);
    }
}

/* Ask the target to stop; its event answers whoever waits. */
static void gdb_request_stop(struct fe_gdb_proto *p)
{
    if (p->stopping)
        return;
    p->stopping = true;
    if (!p->tgt.ops->stop || p->tgt.ops->stop(p->tgt.t) < 0) {
        /* Cannot stop: pretend it did, so the client is not left waiting. */
        struct dbgf_stop_event ev = { .reason = DBGF_STOP_SIGNAL, .cpu = p->stop_cpu };
        fe_gdb_proto_stop_event(p, &ev);
    }
}

/* Start the target; the stop reply follows with the stop event. */
static void gdb_resume(struct fe_gdb_proto *p, bool step, uint32_t cpu)
{
    if (p->have_stop && p->last.reason == DBGF_STOP_EXITED) {
        gdb_send_stop_reply(p, &p->last);
        return;
    }
    int (*step_fn)(void *, uint32_t) = p->tgt.ops->step;
    int (*cont_fn)(void *) = p->tgt.ops->cont;
    if (step ? !step_fn : !cont_fn) {
        gdb_reply(p, GDB_E_PERM);
        return;
    }
    p->reply_owed = true;   /* before the call: the event may come from inside it */
    int rc = step ? step_fn(p->tgt.t, cpu) : cont_fn(p->tgt.t);
    if (rc < 0 && p->reply_owed) {
        p->reply_owed = false;
        gdb_reply(p, GDB_E_PERM);
    }
}

/* ------------------------------------------------------------------------- */
/* Packet handlers: p, the text after the command name, its length.          */
/* ------------------------------------------------------------------------- */

typedef void gdb_cmd_fn(struct fe_gdb_proto *p, const char *a, size_t len);

static void gdb_cmd_status(struct fe_gdb_proto *p, const char *a, size_t len)
{
    if (p->have_stop && !p->stopping) {
        gdb_send_stop_reply(p, &p->last);
        return;
    }
    p->reply_owed = true;
    gdb_request_stop(p);
}

static void gdb_cmd_supported(struct fe_gdb_proto *p, const char *a, size_t len)
{
    p->swbreak = strstr(a, "swbreak+") != NULL;
    p->hwbreak = strstr(a, "hwbreak+") != NULL;
    gdb_replyf(p, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;vContSupported+%s%s",
               FE_GDB_PKT_MAX, p->swbreak ? ";swbreak+" : "", p->hwbreak ? ";hwbreak+" : "");
}

static void gdb_cmd_noack(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_reply(p, "OK");
    p->noack = true;
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH (a = "ANNEX:...") */
static void gdb_cmd_xfer_features(struct fe_gdb_proto *p, const char *a, size_t len)
{
    static const char annex[] = "target.xml:";
    uint64_t off, n;
    if (strncmp(a, annex, sizeof(annex) - 1) != 0) {
        gdb_reply(p, "E00");
        return;
    }
    a += sizeof(annex) - 1;
    if (!gdb_parse_addr_len(&a, &off, &n) || *a) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    const char *xml = fe_gdb_tdesc_xml();
    size_t total = strlen(xml);
    if (off >= total) {
        gdb_reply(p, "l");
        return;
    }
    /* Escaping may double the size: keep the framed packet under the limit. */
    size_t max = FE_GDB_PKT_MAX / 2 - 1;
    if (n > max)
        n = max;
    size_t take = total - off < n ? total - off : n;
    p->reply[0] = off + take < total ? 'm' : 'l';
    memcpy(p->reply + 1, xml + off, take);
    gdb_send_bin(p, p->reply, take + 1);
}

static void gdb_cmd_thread_first(struct fe_gdb_proto *p, const char *a, size_t len)
{
    size_t o = 0;
    uint32_t n = gdb_ncpus(p);
    o += (size_t)snprintf(p->reply, sizeof(p->reply), "m");
    for (uint32_t i = 0; i < n && o < sizeof(p->reply) - 8; i++)
        o += (size_t)snprintf(p->reply + o, sizeof(p->reply) - o, i ? ",%x" : "%x", i + 1);
    gdb_reply(p, p->reply);
}

static void gdb_cmd_thread_next(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_reply(p, "l");
}

static void gdb_cmd_current_thread(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_replyf(p, "QC%x", p->stop_cpu + 1);
}

static void gdb_cmd_attached(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_reply(p, "1");   /* attached to a running VM: detach must not kill it */
}

static void gdb_cmd_set_thread(struct fe_gdb_proto *p, const char *a, size_t len)
{
    int tid;
    char which = a[0];
    a += which != '\0';
    if ((which != 'g' && which != 'c') || !gdb_parse_tid(&a, &tid) || *a ||
        (tid > 0 && (uint32_t)tid > gdb_ncpus(p))) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    *(which == 'g' ? &p->hg : &p->hc) = tid;
    gdb_reply(p, "OK");
}

static void gdb_cmd_thread_alive(struct fe_gdb_proto *p, const char *a, size_t len)
{
    int tid;
    bool ok = gdb_parse_tid(&a, &tid) && !*a && tid > 0 && (uint32_t)tid <= gdb_ncpus(p);
    gdb_reply(p, ok ? "OK" : GDB_E_INVAL);
}

static int gdb_get_regs(struct fe_gdb_proto *p, struct cpum_state *s)
{
    memset(s, 0, sizeof(*s));
    if (!p->tgt.ops->get_regs)
        return IXVM_ERR_NOT_SUPPORTED;
    return p->tgt.ops->get_regs(p->tgt.t, gdb_tid_cpu(p, p->hg), s);
}

static int gdb_set_regs(struct fe_gdb_proto *p, const struct cpum_state *s)
{
    if (!p->tgt.ops->set_regs)
        return IXVM_ERR_NOT_SUPPORTED;
    return p->tgt.ops->set_regs(p->tgt.t, gdb_tid_cpu(p, p->hg), s);
}

static void gdb_cmd_read_regs(struct fe_gdb_proto *p, const char *a, size_t len)
{
    struct cpum_state s;
    if (gdb_get_regs(p, &s) < 0) {
        gdb_reply(p, GDB_E_FAULT);
        return;
    }
    size_t o = 0;
    for (unsigned n = 0; n < FE_GDB_NREGS; n++) {
        uint8_t v[16];
        size_t sz = fe_gdb_reg_get(&s, n, v);
        fe_gdb_hex_encode(v, sz, p->reply + o);
        o += 2 * sz;
    }
    gdb_reply(p, p->reply);
}

static void gdb_cmd_write_regs(struct fe_gdb_proto *p, const char *a, size_t len)
{
    struct cpum_state s;
    if (gdb_get_regs(p, &s) < 0) {
        gdb_reply(p, GDB_E_FAULT);
        return;
    }
    for (unsigned n = 0; n < FE_GDB_NREGS && len; n++) {
        uint8_t v[16];
        size_t sz = fe_gdb_reg_size(n);
        if (len < 2 * sz || fe_gdb_hex_decode(a, 2 * sz, v) < 0) {
            gdb_reply(p, GDB_E_INVAL);
            return;
        }
        fe_gdb_reg_set(&s, n, v);
        a += 2 * sz;
        len -= 2 * sz;
    }
    gdb_reply(p, gdb_set_regs(p, &s) < 0 ? GDB_E_FAULT : "OK");
}

static void gdb_cmd_read_reg(struct fe_gdb_proto *p, const char *a, size_t len)
{
    uint64_t n;
    struct cpum_state s;
    uint8_t v[16];
    if (!gdb_parse_hex(&a, &n) || *a || n >= FE_GDB_NREGS) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    if (gdb_get_regs(p, &s) < 0) {
        gdb_reply(p, GDB_E_FAULT);
        return;
    }
    size_t sz = fe_gdb_reg_get(&s, (unsigned)n, v);
    fe_gdb_hex_encode(v, sz, p->reply);
    gdb_reply(p, p->reply);
}

static void gdb_cmd_write_reg(struct fe_gdb_proto *p, const char *a, size_t len)
{
    uint64_t n;
    struct cpum_state s;
    uint8_t v[16];
    if (!gdb_parse_hex(&a, &n) || !gdb_expect(&a, '=') || n >= FE_GDB_NREGS ||
        strlen(a) != 2 * fe_gdb_reg_size((unsigned)n) || fe_gdb_hex_decode(a, strlen(a), v) < 0) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    if (gdb_get_regs(p, &s) < 0) {
        gdb_reply(p, GDB_E_FAULT);
        return;
    }
    fe_gdb_reg_set(&s, (unsigned)n, v);
    gdb_reply(p, gdb_set_regs(p, &s) < 0 ? GDB_E_FAULT : "OK");
}

static void gdb_cmd_read_mem(struct fe_gdb_proto *p, const char *a, size_t len)
{
    uint64_t addr, n;
    uint8_t buf[GDB_MEM_MAX];
    if (!gdb_parse_addr_len(&a, &addr, &n) || *a || addr > UINT32_MAX) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    if (n > sizeof(buf))
        n = sizeof(buf);
    if (n && addr + n - 1 > UINT32_MAX)
        n = (uint64_t)UINT32_MAX - addr + 1;
    int got = p->tgt.ops->read_lin && n
            ? p->tgt.ops->read_lin(p->tgt.t, gdb_tid_cpu(p, p->hg), (glin_t)addr, buf, (size_t)n) : -1;
    if (got <= 0) {
        gdb_reply(p, n ? GDB_E_FAULT : "");
        return;
    }
    fe_gdb_hex_encode(buf, (size_t)got, p->reply);
    gdb_reply(p, p->reply);
}

static void gdb_write_mem(struct fe_gdb_proto *p, uint64_t addr, const uint8_t *data, size_t n)
{
    if (!n) {
        gdb_reply(p, "OK");
        return;
    }
    if (addr > UINT32_MAX || addr + n - 1 > UINT32_MAX || !p->tgt.ops->write_lin) {
        gdb_reply(p, GDB_E_FAULT);
        return;
    }
    int done = p->tgt.ops->write_lin(p->tgt.t, gdb_tid_cpu(p, p->hg), (glin_t)addr, data, n);
    gdb_reply(p, done == (int)n ? "OK" : GDB_E_FAULT);
}

static void gdb_cmd_write_mem_hex(struct fe_gdb_proto *p, const char *a, size_t len)
{
    uint64_t addr, n;
    uint8_t buf[FE_GDB_PKT_MAX / 2];
    if (!gdb_parse_addr_len(&a, &addr, &n) || !gdb_expect(&a, ':') || n > sizeof(buf) ||
        strlen(a) != 2 * n || fe_gdb_hex_decode(a, 2 * n, buf) < 0) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    gdb_write_mem(p, addr, buf, (size_t)n);
}

/* X: binary data after ':' (still escaped in a). */
static void gdb_cmd_write_mem_bin(struct fe_gdb_proto *p, const char *a, size_t len)
{
    const char *start = a;
    uint64_t addr, n;
    if (!gdb_parse_addr_len(&a, &addr, &n) || !gdb_expect(&a, ':')) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    size_t raw = len - (size_t)(a - start);
    char *data = malloc(raw + 1);
    if (!data) {
        gdb_reply(p, GDB_E_FAULT);
        return;
    }
    memcpy(data, a, raw);
    size_t got = fe_gdb_pkt_unescape(data, raw);
    if (got != n)
        gdb_reply(p, GDB_E_INVAL);
    else
        gdb_write_mem(p, addr, (const uint8_t *)data, got);
    free(data);
}

/* c [ADDR] / s [ADDR]: resume at ADDR if given. */
static bool gdb_set_resume_addr(struct fe_gdb_proto *p, const char *a, uint32_t cpu)
{
    uint64_t addr;
    struct cpum_state s;
    if (!*a)
        return true;
    if (!gdb_parse_hex(&a, &addr) || *a || !p->tgt.ops->get_regs || !p->tgt.ops->set_regs ||
        p->tgt.ops->get_regs(p->tgt.t, cpu, &s) < 0)
        return false;
    s.eip = (uint32_t)addr;
    return p->tgt.ops->set_regs(p->tgt.t, cpu, &s) >= 0;
}

static void gdb_cmd_continue(struct fe_gdb_proto *p, const char *a, size_t len)
{
    if (!gdb_set_resume_addr(p, a, gdb_tid_cpu(p, p->hc))) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    gdb_resume(p, false, 0);
}

static void gdb_cmd_step(struct fe_gdb_proto *p, const char *a, size_t len)
{
    uint32_t cpu = gdb_tid_cpu(p, p->hc);
    if (!gdb_set_resume_addr(p, a, cpu)) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    gdb_resume(p, true, cpu);
}

/* C sig[;addr] / S sig[;addr]: signals mean nothing to a VM; drop them. */
static void gdb_cmd_continue_sig(struct fe_gdb_proto *p, const char *a, size_t len)
{
    uint64_t sig;
    if (!gdb_parse_hex(&a, &sig) || (*a && *a != ';')) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    gdb_cmd_continue(p, *a ? a + 1 : a, 0);
}

static void gdb_cmd_step_sig(struct fe_gdb_proto *p, const char *a, size_t len)
{
    uint64_t sig;
    if (!gdb_parse_hex(&a, &sig) || (*a && *a != ';')) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    gdb_cmd_step(p, *a ? a + 1 : a, 0);
}

static void gdb_cmd_vcont_query(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_reply(p, "vCont;c;C;s;S");
}

/*
 * vCont;ACTION[:TID]... (all-stop).  A step action steps its vCPU alone
 * (the others stay stopped, as with scheduler-locking); otherwise any
 * continue action resumes all vCPUs.
 */
static void gdb_cmd_vcont(struct fe_gdb_proto *p, const char *a, size_t len)
{
    bool step = false, cont = false;
    uint32_t step_cpu = gdb_tid_cpu(p, p->hc);
    while (*a == ';') {
        a++;
        char act = *a ? *a++ : '\0';
        uint64_t sig;
        int tid = -1;
        if ((act == 'C' || act == 'S') && !gdb_parse_hex(&a, &sig))
            goto bad;
        if (act != 'c' && act != 's' && act != 'C' && act != 'S')
            goto bad;
        if (*a == ':' && (a++, !gdb_parse_tid(&a, &tid)))
            goto bad;
        if ((act == 's' || act == 'S') && !step) {
            step = true;
            if (tid > 0) {
                if ((uint32_t)tid > gdb_ncpus(p))
                    goto bad;
                step_cpu = (uint32_t)tid - 1;
            }
        }
        cont |= act == 'c' || act == 'C';
    }
    if (*a || (!step && !cont))
        goto bad;
    gdb_resume(p, step, step_cpu);
    return;
bad:
    gdb_reply(p, GDB_E_INVAL);
}

static const enum dbgf_bp_type gdb_z_types[5] = { DBGF_BP_SW, DBGF_BP_HW_EXEC, DBGF_BP_WRITE, DBGF_BP_READ,
                                                  DBGF_BP_ACCESS };

static void gdb_bp_remember(struct fe_gdb_proto *p, const struct fe_gdb_bp *bp, bool add)
{
    for (size_t i = 0; i < p->nbps; i++) {
        struct fe_gdb_bp *b = &p->bps[i];
        if (b->type == bp->type && b->addr == bp->addr && b->len == bp->len) {
            if (!add)
                p->bps[i] = p->bps[--p->nbps];
            return;
        }
    }
    if (!add)
        return;
    if (p->nbps == p->capbps) {
        size_t cap = p->capbps ? 2 * p->capbps : 16;
        struct fe_gdb_bp *v = realloc(p->bps, cap * sizeof(*v));
        if (!v)
            return;   /* only the cleanup at disconnect would miss it */
        p->bps = v;
        p->capbps = cap;
    }
    p->bps[p->nbps++] = *bp;
}

/* Z/z TYPE,ADDR,KIND[;cond...] */
static void gdb_cmd_bp(struct fe_gdb_proto *p, const char *a, size_t len, bool insert)
{
    uint64_t type, addr, kind;
    if (!gdb_parse_hex(&a, &type) || !gdb_expect(&a, ',') || !gdb_parse_addr_len(&a, &addr, &kind) ||
        (*a && *a != ';') || addr > UINT32_MAX) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    int (*fn)(void *, enum dbgf_bp_type, glin_t, unsigned) = insert ? p->tgt.ops->bp_set : p->tgt.ops->bp_clear;
    if (type > 4 || !fn) {
        gdb_reply(p, "");   /* unsupported type: gdb falls back or reports it */
        return;
    }
    struct fe_gdb_bp bp = { gdb_z_types[type], (glin_t)addr, type < 2 ? 1u : (unsigned)kind };
    if (type >= 2 && kind != 1 && kind != 2 && kind != 4 && kind != 8) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    int rc = fn(p->tgt.t, bp.type, bp.addr, bp.len);
    if (rc < 0 && !(rc == IXVM_ERR_NOT_FOUND && !insert)) {
        gdb_reply(p, rc == IXVM_ERR_BUSY ? GDB_E_BUSY : rc == IXVM_ERR_NOT_SUPPORTED ? "" : GDB_E_INVAL);
        return;
    }
    gdb_bp_remember(p, &bp, insert);
    gdb_reply(p, "OK");
}

static void gdb_cmd_bp_insert(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_cmd_bp(p, a, len, true);
}

static void gdb_cmd_bp_remove(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_cmd_bp(p, a, len, false);
}

/* Collects monitor output for qRcmd. */
struct gdb_rcmd_out {
    char *buf;
    size_t len;
};

static void gdb_rcmd_print(void *user, const char *text)
{
    struct gdb_rcmd_out *o = user;
    size_t n = strlen(text);
    char *b = realloc(o->buf, o->len + n + 1);
    if (!b)
        return;
    memcpy(b + o->len, text, n + 1);
    o->buf = b;
    o->len += n;
}

/* qRcmd,HEX: run a monitor command; its output goes back as O packets. */
static void gdb_cmd_rcmd(struct fe_gdb_proto *p, const char *a, size_t len)
{
    if (!p->ops.rcmd) {
        gdb_reply(p, "");
        return;
    }
    size_t digits = strlen(a);
    char cmd[FE_GDB_PKT_MAX / 2 + 1];
    int n = digits / 2 < sizeof(cmd) ? fe_gdb_hex_decode(a, digits, cmd) : -1;
    if (n < 0 || memchr(cmd, '\0', (size_t)n)) {
        gdb_reply(p, GDB_E_INVAL);
        return;
    }
    cmd[n] = '\0';
    struct gdb_rcmd_out out = { NULL, 0 };
    struct ixvm_printer pr = { gdb_rcmd_print, &out };
    (void)p->ops.rcmd(p->user, cmd, &pr);   /* errors are in the output */
    if (out.buf)
        gdb_send_console(p, out.buf);
    free(out.buf);
    gdb_reply(p, "OK");
}

static void gdb_forget_breakpoints(struct fe_gdb_proto *p)
{
    for (size_t i = 0; i < p->nbps && p->tgt.ops->bp_clear; i++)
        (void)p->tgt.ops->bp_clear(p->tgt.t, p->bps[i].type, p->bps[i].addr, p->bps[i].len);
    p->nbps = 0;
}

/* Let the VM run on without us. */
static void gdb_release_target(struct fe_gdb_proto *p)
{
    gdb_forget_breakpoints(p);
    bool exited = p->have_stop && p->last.reason == DBGF_STOP_EXITED;
    if (!exited && p->tgt.ops->cont)
        (void)p->tgt.ops->cont(p->tgt.t);
}

static void gdb_cmd_detach(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_release_target(p);
    gdb_reply(p, "OK");
    p->closed = true;
    if (p->ops.close)
        p->ops.close(p->user);
}

static void gdb_cmd_kill(struct fe_gdb_proto *p, const char *a, size_t len, bool reply)
{
    gdb_forget_breakpoints(p);
    if (p->tgt.ops->power_off)
        (void)p->tgt.ops->power_off(p->tgt.t);
    if (reply)
        gdb_reply(p, "OK");
    p->closed = true;
    if (p->ops.close)
        p->ops.close(p->user);
}

static void gdb_cmd_k(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_cmd_kill(p, a, len, false);   /* 'k' has no reply */
}

static void gdb_cmd_vkill(struct fe_gdb_proto *p, const char *a, size_t len)
{
    gdb_cmd_kill(p, a, len, true);
}

/*
 * The command table.  Multi-letter names (q, Q, v packets) match when the
 * packet starts with the name followed by one of ":,;" or the end; every
 * other entry is one letter matching the first byte.
 */
static const struct {
    const char *name;
    gdb_cmd_fn *fn;
} gdb_cmds[] = {
    { "?", gdb_cmd_status },
    { "qSupported", gdb_cmd_supported },
    { "QStartNoAckMode", gdb_cmd_noack },
    { "qXfer:features:read", gdb_cmd_xfer_features },
    { "qfThreadInfo", gdb_cmd_thread_first },
    { "qsThreadInfo", gdb_cmd_thread_next },
    { "qC", gdb_cmd_current_thread },
    { "qAttached", gdb_cmd_attached },
    { "qRcmd", gdb_cmd_rcmd },
    { "vCont?", gdb_cmd_vcont_query },
    { "vCont", gdb_cmd_vcont },
    { "vKill", gdb_cmd_vkill },
    { "H", gdb_cmd_set_thread },
    { "T", gdb_cmd_thread_alive },
    { "g", gdb_cmd_read_regs },
    { "G", gdb_cmd_write_regs },
    { "p", gdb_cmd_read_reg },
    { "P", gdb_cmd_write_reg },
    { "m", gdb_cmd_read_mem },
    { "M", gdb_cmd_write_mem_hex },
    { "X", gdb_cmd_write_mem_bin },
    { "c", gdb_cmd_continue },
    { "s", gdb_cmd_step },
    { "C", gdb_cmd_continue_sig },
    { "S", gdb_cmd_step_sig },
    { "Z", gdb_cmd_bp_insert },
    { "z", gdb_cmd_bp_remove },
    { "D", gdb_cmd_detach },
    { "k", gdb_cmd_k },
};

static void gdb_dispatch(struct fe_gdb_proto *p, char *pkt, size_t len)
{
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(gdb_cmds); i++) {
        const char *name = gdb_cmds[i].name;
        size_t n = strlen(name);
        if (len < n || memcmp(pkt, name, n) != 0)
            continue;
        if (n > 1 && pkt[n] != '\0' && !strchr(":,;", pkt[n]))
            continue;
        /* Skip the ':' or ',' after a name; vCont keeps its ';'. */
        const char *args = pkt + n + (n > 1 && (pkt[n] == ':' || pkt[n] == ','));
        gdb_cmds[i].fn(p, args, len - (size_t)(args - pkt));
        return;
    }
    gdb_reply(p, "");
}

/* ------------------------------------------------------------------------- */
/* Input                                                                     */
/* ------------------------------------------------------------------------- */

void fe_gdb_proto_feed(struct fe_gdb_proto *p, const void *buf, size_t len)
{
    const uint8_t *b = buf;
    for (size_t i = 0; i < len && !p->closed; i++) {
        switch (fe_gdb_pkt_rx_byte(&p->rx, b[i])) {
        case FE_GDB_PKT_PACKET:
            if (!p->noack)
                gdb_send_raw(p, "+", 1);
            gdb_dispatch(p, p->rx.data, p->rx.len);
            break;
        case FE_GDB_PKT_BAD:
            if (!p->noack)
                gdb_send_raw(p, "-", 1);
            break;
        case FE_GDB_PKT_NAK:
            if (!p->noack && p->last_pkt)
                gdb_send_raw(p, p->last_pkt, p->last_len);
            break;
        case FE_GDB_PKT_INTERRUPT:
            if (p->reply_owed)
                gdb_request_stop(p);
            break;
        case FE_GDB_PKT_ACK:
        case FE_GDB_PKT_NONE:
            break;
        }
    }
}

int fe_gdb_proto_create(const struct dbgf_target *tgt, const struct fe_gdb_proto_ops *ops, void *user,
                        struct fe_gdb_proto **out)
{
    if (!tgt || !tgt->ops || !ops)
        return IXVM_ERR_INVALID_PARAMETER;
    struct fe_gdb_proto *p = calloc(1, sizeof(*p));
    if (!p)
        return IXVM_ERR_NO_MEMORY;
    p->tgt = *tgt;
    p->ops = *ops;
    p->user = user;
    fe_gdb_pkt_rx_init(&p->rx);
    *out = p;
    return 0;
}

void fe_gdb_proto_attach(struct fe_gdb_proto *p)
{
    gdb_request_stop(p);
}

void fe_gdb_proto_destroy(struct fe_gdb_proto *p)
{
    if (!p)
        return;
    if (!p->closed)
        gdb_release_target(p);
    free(p->last_pkt);
    free(p->bps);
    free(p);
}
