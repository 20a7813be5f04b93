/* SPDX-License-Identifier: MIT */
/*
 * gdb remote serial protocol stub (docs/debugging.md).
 *
 *  - fe_gdb_pkt_*: framing ($data#cs), checksums, escaping, the receive
 *    state machine (acks, no-ack mode, Ctrl-C).  Pure functions, no I/O.
 *  - fe_gdb_proto_*: one connection's protocol engine over a dbgf_target:
 *    bytes in (fe_gdb_proto_feed), bytes out (ops->send), stop events in
 *    (fe_gdb_proto_stop_event).  Runs on one thread (the loop).
 *  - fe_gdb_*: the libuv server (tcp::PORT, tcp:HOST:PORT, unix:PATH), one
 *    client at a time; stop events from EMTs are handed to the loop with
 *    uv_async.
 */
#ifndef IXVM_FE_GDB_H
#define IXVM_FE_GDB_H

#include <uv.h>

#include "ixvm/dbgf_target.h"

/* ------------------------------------------------------------------------- */
/* Packets                                                                   */
/* ------------------------------------------------------------------------- */

#define FE_GDB_PKT_MAX 0x4000   /* PacketSize we announce (payload bytes, escaped) */

enum fe_gdb_pkt_ev {
    FE_GDB_PKT_NONE,        /* byte consumed, nothing complete */
    FE_GDB_PKT_PACKET,      /* a packet with a good checksum is in data/len */
    FE_GDB_PKT_BAD,         /* checksum mismatch or overlong: NAK it */
    FE_GDB_PKT_ACK,         /* '+' */
    FE_GDB_PKT_NAK,         /* '-': resend the last packet */
    FE_GDB_PKT_INTERRUPT,   /* 0x03 outside a packet */
};

struct fe_gdb_pkt_rx {
    int state;
    uint8_t sum, got;
    size_t len;
    bool overflow;
    char data[FE_GDB_PKT_MAX + 1];   /* raw (still escaped) payload, NUL-terminated */
};

void fe_gdb_pkt_rx_init(struct fe_gdb_pkt_rx *rx);
enum fe_gdb_pkt_ev fe_gdb_pkt_rx_byte(struct fe_gdb_pkt_rx *rx, uint8_t c);
uint8_t fe_gdb_pkt_checksum(const void *data, size_t len);
/* Frame payload as "$escaped#cs" into out (size >= 2 * len + 4); returns
 * the framed length.  '$', '#', '}' and '*' are escaped as '}' c^0x20. */
size_t fe_gdb_pkt_frame(const void *payload, size_t len, char *out);
/* Undo '}' escapes in place; returns the new length. */
size_t fe_gdb_pkt_unescape(char *buf, size_t len);
/* Hex helpers: encode n bytes as 2n lowercase digits (+NUL); decode 2n
 * digits, returns bytes or -1 on a bad digit. */
void fe_gdb_hex_encode(const void *in, size_t n, char *out);
int fe_gdb_hex_decode(const char *in, size_t ndigits, void *out);

/* ------------------------------------------------------------------------- */
/* Protocol engine                                                           */
/* ------------------------------------------------------------------------- */

struct fe_gdb_proto;

struct fe_gdb_proto_ops {
    void (*send)(void *user, const void *buf, size_t len);
    /* qRcmd ("monitor CMD" in gdb); output to pr.  NULL: not supported. */
    int (*rcmd)(void *user, const char *cmd, const struct ixvm_printer *pr);
    /* The client detached or killed: close the connection after the
     * pending output.  May be NULL. */
    void (*close)(void *user);
};

int fe_gdb_proto_create(const struct dbgf_target *tgt, const struct fe_gdb_proto_ops *ops, void *user,
                        struct fe_gdb_proto **out) IXVM_WUR;
/* Removes the breakpoints this client set and lets the target run on
 * (unless it exited), as after a detach. */
void fe_gdb_proto_destroy(struct fe_gdb_proto *p);
/* A new client: ask the target to stop; the stop reply for '?' waits for it. */
void fe_gdb_proto_attach(struct fe_gdb_proto *p);
void fe_gdb_proto_feed(struct fe_gdb_proto *p, const void *buf, size_t len);
void fe_gdb_proto_stop_event(struct fe_gdb_proto *p, const struct dbgf_stop_event *ev);

/* Register table shared with the target description (fe_gdb_tdesc.c). */
#define FE_GDB_NREGS 40
/* gdb register n of s as little-endian bytes; returns its size (0: none). */
size_t fe_gdb_reg_get(const struct cpum_state *s, unsigned n, uint8_t *out);
/* Store bytes (size fe_gdb_reg_size(n)) into s; unmodelled ones are ignored. */
void fe_gdb_reg_set(struct cpum_state *s, unsigned n, const uint8_t *in);
size_t fe_gdb_reg_size(unsigned n);
const char *fe_gdb_reg_name(unsigned n);
/* The target description XML (static text). */
const char *fe_gdb_tdesc_xml(void);

/* ------------------------------------------------------------------------- */
/* libuv server                                                              */
/* ------------------------------------------------------------------------- */

struct fe_gdb;

typedef int fe_gdb_rcmd_fn(void *user, const char *cmd, const struct ixvm_printer *pr);

int fe_gdb_create(uv_loop_t *loop, const struct dbgf_target *tgt, struct fe_gdb **out) IXVM_WUR;
void fe_gdb_set_rcmd(struct fe_gdb *g, fe_gdb_rcmd_fn *fn, void *user);
/* spec: "tcp::PORT" (127.0.0.1), "tcp:HOST:PORT" (numeric or localhost),
 * "unix:PATH".  PORT 0 picks a free port (fe_gdb_port tells which). */
int fe_gdb_listen(struct fe_gdb *g, const char *spec, struct ixvm_errinfo *err) IXVM_WUR;
int fe_gdb_port(const struct fe_gdb *g);
/* Called on the loop after each client's session ends (may be NULL). */
void fe_gdb_on_session_end(struct fe_gdb *g, void (*fn)(void *user), void *user);
/* Close the listener and any client; the memory is freed once the loop
 * has run the close callbacks. */
void fe_gdb_close(struct fe_gdb *g);

#endif
