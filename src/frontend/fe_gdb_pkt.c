/* SPDX-License-Identifier: MIT */
/*
 * gdb remote protocol framing (gdb manual, "Overview" of the Remote
 * Protocol): packets are "$payload#cc" with cc the modulo-256 sum of the
 * payload bytes in two hex digits; the receiver answers '+' or '-' (until
 * QStartNoAckMode); 0x03 alone is an interrupt request; '}' escapes the
 * next byte XOR 0x20.  The receive side is a byte-at-a-time state machine
 * so arbitrary input (garbage, partial packets, overlong ones) is safe.
 */
#include <string.h>

#include "frontend/fe_gdb.h"

enum { RX_IDLE, RX_DATA, RX_CSUM1, RX_CSUM2 };

static const char fe_gdb_hexdig[] = "0123456789abcdef";

static int fe_gdb_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void fe_gdb_pkt_rx_init(struct fe_gdb_pkt_rx *rx)
{
    rx->state = RX_IDLE;
    rx->len = 0;
    rx->sum = 0;
    rx->got = 0;
    rx->overflow = false;
    rx->data[0] = '\0';
}

enum fe_gdb_pkt_ev fe_gdb_pkt_rx_byte(struct fe_gdb_pkt_rx *rx, uint8_t c)
{
    int v;
    switch (rx->state) {
    case RX_IDLE:
        if (c == '$') {
            rx->state = RX_DATA;
            rx->len = 0;
            rx->sum = 0;
            rx->overflow = false;
            return FE_GDB_PKT_NONE;
        }
        return c == '+' ? FE_GDB_PKT_ACK : c == '-' ? FE_GDB_PKT_NAK : c == 0x03 ? FE_GDB_PKT_INTERRUPT
                                                                           : FE_GDB_PKT_NONE;
    case RX_DATA:
        if (c == '#') {
            rx->state = RX_CSUM1;
            return FE_GDB_PKT_NONE;
        }
        if (c == '$') {           /* a new start: the previous packet was cut */
            rx->len = 0;
            rx->sum = 0;
            rx->overflow = false;
            return FE_GDB_PKT_NONE;
        }
        rx->sum = (uint8_t)(rx->sum + c);
        if (rx->len < FE_GDB_PKT_MAX)
            rx->data[rx->len++] = (char)c;
        else
            rx->overflow = true;
        return FE_GDB_PKT_NONE;
    case RX_CSUM1:
        v = fe_gdb_hexval(c);
        rx->got = (uint8_t)((v < 0 ? 0 : v) << 4);
        rx->overflow |= v < 0;
        rx->state = RX_CSUM2;
        return FE_GDB_PKT_NONE;
    default:
        v = fe_gdb_hexval(c);
        rx->got = (uint8_t)(rx->got | (v < 0 ? 0 : v));
        rx->state = RX_IDLE;
        rx->data[rx->len] = '\0';
        if (v < 0 || rx->overflow || rx->got != rx->sum)
            return FE_GDB_PKT_BAD;
        return FE_GDB_PKT_PACKET;
    }
}

uint8_t fe_gdb_pkt_checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

size_t fe_gdb_pkt_frame(const void *payload, size_t len, char *out)
{
    const uint8_t *p = payload;
    size_t o = 0;
    out[o++] = '$';
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '$' || p[i] == '#' || p[i] == '}' || p[i] == '*') {
            out[o++] = '}';
            out[o++] = (char)(p[i] ^ 0x20);
        } else {
            out[o++] = (char)p[i];
        }
    }
    uint8_t sum = fe_gdb_pkt_checksum(out + 1, o - 1);
    out[o++] = '#';
    out[o++] = fe_gdb_hexdig[sum >> 4];
    out[o++] = fe_gdb_hexdig[sum & 15];
    out[o] = '\0';
    return o;
}

size_t fe_gdb_pkt_unescape(char *buf, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '}' && i + 1 < len)
            buf[o++] = (char)(buf[++i] ^ 0x20);
        else
            buf[o++] = buf[i];
    }
    return o;
}

void fe_gdb_hex_encode(const void *in, size_t n, char *out)
{
    const uint8_t *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = fe_gdb_hexdig[p[i] >> 4];
        out[2 * i + 1] = fe_gdb_hexdig[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int fe_gdb_hex_decode(const char *in, size_t ndigits, void *out)
{
    uint8_t *o = out;
    if (ndigits & 1)
        return -1;
    for (size_t i = 0; i < ndigits; i += 2) {
        int hi = fe_gdb_hexval((unsigned char)in[i]), lo = fe_gdb_hexval((unsigned char)in[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        o[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(ndigits / 2);
}
