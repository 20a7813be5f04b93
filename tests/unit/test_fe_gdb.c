/* SPDX-License-Identifier: MIT */
/*
 * gdb stub: packet framing, checksums and escapes; the receive state
 * machine; and the protocol engine against the fake target (registers,
 * memory with binary escapes, breakpoints and watchpoints, threads,
 * vCont, Ctrl-C, qRcmd, detach, kill, triple fault, exit, no-ack mode).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_gdb.h"
#include "gdb/fake_target.h"

/* ---- framing ---- */

Test(fe_gdb_pkt, checksum_and_frame)
{
    cr_expect_eq(fe_gdb_pkt_checksum("OK", 2), 0x9a);
    char out[64];
    size_t n = fe_gdb_pkt_frame("OK", 2, out);
    cr_expect_eq(n, 6u);
    cr_expect_str_eq(out, "$OK#9a");
    /* $ # } * are escaped; the checksum covers the escaped bytes. */
    n = fe_gdb_pkt_frame("a$#}*", 5, out);
    cr_expect_str_eq(out, "$a}\x04}\x03}]}\x0a#c3");
    /* 0x61 + 4 * 0x7d + 0x04 + 0x03 + 0x5d + 0x0a = 0x2c3 */
    cr_expect_eq(fe_gdb_pkt_checksum(out + 1, n - 4), 0xc3);
    char esc[] = "a}\x04}\x03}]}\x0a";
    size_t u = fe_gdb_pkt_unescape(esc, strlen(esc));
    cr_expect_eq(u, 5u);
    cr_expect_eq(memcmp(esc, "a$#}*", 5), 0);
}

Test(fe_gdb_pkt, hex)
{
    char h[16];
    fe_gdb_hex_encode("\x01\xab\xff", 3, h);
    cr_expect_str_eq(h, "01abff");
    uint8_t b[4];
    cr_expect_eq(fe_gdb_hex_decode("01AbfF", 6, b), 3);
    cr_expect_eq(memcmp(b, "\x01\xab\xff", 3), 0);
    cr_expect_eq(fe_gdb_hex_decode("0g", 2, b), -1);
    cr_expect_eq(fe_gdb_hex_decode("012", 3, b), -1);
}

static enum fe_gdb_pkt_ev feed_str(struct fe_gdb_pkt_rx *rx, const char *s, size_t len)
{
    enum fe_gdb_pkt_ev last = FE_GDB_PKT_NONE;
    for (size_t i = 0; i < len; i++) {
        enum fe_gdb_pkt_ev e = fe_gdb_pkt_rx_byte(rx, (uint8_t)s[i]);
        if (e != FE_GDB_PKT_NONE)
            last = e;
    }
    return last;
}

Test(fe_gdb_pkt, receive_state_machine)
{
    struct fe_gdb_pkt_rx rx;
    fe_gdb_pkt_rx_init(&rx);
    cr_expect_eq(feed_str(&rx, "$g#67", 5), FE_GDB_PKT_PACKET);
    cr_expect_str_eq(rx.data, "g");
    cr_expect_eq(feed_str(&rx, "$g#68", 5), FE_GDB_PKT_BAD);
    cr_expect_eq(feed_str(&rx, "$g#6x", 5), FE_GDB_PKT_BAD);
    cr_expect_eq(fe_gdb_pkt_rx_byte(&rx, '+'), FE_GDB_PKT_ACK);
    cr_expect_eq(fe_gdb_pkt_rx_byte(&rx, '-'), FE_GDB_PKT_NAK);
    cr_expect_eq(fe_gdb_pkt_rx_byte(&rx, 0x03), FE_GDB_PKT_INTERRUPT);
    /* Garbage before a packet is skipped; a '$' inside restarts it. */
    cr_expect_eq(feed_str(&rx, "xyz$garbage$?#3f", 16), FE_GDB_PKT_PACKET);
    cr_expect_str_eq(rx.data, "?");
    /* 0x03 inside a packet is data, not an interrupt. */
    cr_expect_eq(feed_str(&rx, "$\x03#03", 5), FE_GDB_PKT_PACKET);
    /* Overlong: reported bad, nothing overflows. */
    char *big = malloc(FE_GDB_PKT_MAX + 100);
    memset(big, 'a', FE_GDB_PKT_MAX + 100);
    big[0] = '$';
    cr_expect_eq(feed_str(&rx, big, FE_GDB_PKT_MAX + 100), FE_GDB_PKT_NONE);
    cr_expect_eq(feed_str(&rx, "#00", 3), FE_GDB_PKT_BAD);
    free(big);
    cr_expect_eq(feed_str(&rx, "$OK#9a", 6), FE_GDB_PKT_PACKET);
}

/* ---- protocol engine ---- */

static struct fake_target *ft;
static struct fe_gdb_proto *gp;
static char out[65536];
static size_t out_len;
static int closed;

static void cap_send(void *user, const void *buf, size_t len)
{
    cr_assert_lt(out_len + len, sizeof(out));
    memcpy(out + out_len, buf, len);
    out_len += len;
    out[out_len] = '\0';
}

static int cap_rcmd(void *user, const char *cmd, const struct ixvm_printer *pr)
{
    ixvm_pr(pr, "you said: %s\n", cmd);
    return 0;
}

static void cap_close(void *user)
{
    closed++;
}

static void on_stop(void *user, const struct dbgf_stop_event *ev)
{
    fe_gdb_proto_stop_event(gp, ev);
}

static const struct fe_gdb_proto_ops cap_ops = { cap_send, cap_rcmd, cap_close };

static void setup(void)
{
    ft = calloc(1, sizeof(*ft));
    fake_init(ft, 3);
    struct dbgf_target t = fake_target(ft);
    cr_assert_eq(fe_gdb_proto_create(&t, &cap_ops, NULL, &gp), 0);
    fake_set_stop_cb(ft, on_stop, NULL);
    out_len = 0;
    out[0] = '\0';
    closed = 0;
}

static void teardown(void)
{
    fe_gdb_proto_destroy(gp);
    free(ft);
}

TestSuite(fe_gdb, .init = setup, .fini = teardown);

/* Send one packet; return what came back (acks included). */
static const char *xchg(const char *payload)
{
    char f[2 * 4096 + 8];
    size_t n = fe_gdb_pkt_frame(payload, strlen(payload), f);
    out_len = 0;
    out[0] = '\0';
    fe_gdb_proto_feed(gp, f, n);
    return out;
}

/* Send an already escaped payload as is (binary X data). */
static const char *xchg_raw(const char *payload, size_t len)
{
    char f[256];
    cr_assert_lt(len + 4, sizeof(f));
    uint8_t sum = fe_gdb_pkt_checksum(payload, len);
    f[0] = '$';
    memcpy(f + 1, payload, len);
    snprintf(f + 1 + len, 4, "#%02x", sum);
    out_len = 0;
    out[0] = '\0';
    fe_gdb_proto_feed(gp, f, len + 4);
    return out;
}

/* Expected "+$payload#cs". */
static const char *acked(const char *payload)
{
    static char buf[8192];
    buf[0] = '+';
    fe_gdb_pkt_frame(payload, strlen(payload), buf + 1);
    return buf;
}

Test(fe_gdb, supported_and_noack)
{
    cr_expect_str_eq(xchg("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386"),
                     acked("PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;vContSupported+;swbreak+;hwbreak+"));
    cr_expect_str_eq(xchg("QStartNoAckMode"), acked("OK"));
    /* From now on: no '+' before replies, bad checksums are ignored. */
    cr_expect_str_eq(xchg("qAttached"), "$1#31");
    out_len = 0;
    fe_gdb_proto_feed(gp, "$g#00", 5);
    cr_expect_eq(out_len, 0u);
    cr_expect_str_eq(xchg("vMustReplyEmpty"), "$#00");
}

Test(fe_gdb, ack_mode_nak_and_retransmit)
{
    xchg("qAttached");
    out_len = 0;
    fe_gdb_proto_feed(gp, "$qAttached#00", 13);
    cr_expect_str_eq(out, "-");
    out_len = 0;
    fe_gdb_proto_feed(gp, "-", 1);
    cr_expect_str_eq(out, "$1#31");
}

Test(fe_gdb, target_xml)
{
    const char *r = xchg("qXfer:features:read:target.xml:0,fff");
    cr_assert_eq(r[0], '+');
    cr_expect_eq(r[2], 'l');   /* all of it fits */
    cr_expect_not_null(strstr(r, "<architecture>i386</architecture>"));
    cr_expect_not_null(strstr(r, "org.gnu.gdb.i386.core"));
    cr_expect_not_null(strstr(r, "<reg name=\"eip\" bitsize=\"32\" type=\"code_ptr\" group=\"general\" regnum=\"8\"/>"));
    cr_expect_not_null(strstr(r, "<reg name=\"cr3\""));
    /* Chunks: m while more follows, l at the end, l past it. */
    r = xchg("qXfer:features:read:target.xml:0,10");
    cr_expect_str_eq(r, acked("m<?xml version=\"1"));
    size_t total = strlen(fe_gdb_tdesc_xml());
    char q[64];
    snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,10", total);
    cr_expect_str_eq(xchg(q), acked("l"));
    cr_expect_str_eq(xchg("qXfer:features:read:other.xml:0,10"), acked("E00"));
    cr_expect_str_eq(xchg("qXfer:features:read:target.xml:zz"), acked("E16"));
}

Test(fe_gdb, registers)
{
    ft->cpu[0].gpr[CPUM_EAX] = 0x11223344;
    const char *r = xchg("g");
    /* eax little-endian first; eip (reg 8) at hex offset 64; cs (reg 10) = 8. */
    cr_assert_gt(strlen(r), 2 + 2 * 4 * 10);
    cr_expect_eq(strncmp(r + 2, "44332211", 8), 0, "%s", r);
    cr_expect_eq(strncmp(r + 2 + 64, "00100000", 8), 0);
    cr_expect_eq(strncmp(r + 2 + 80, "08000000", 8), 0);
    /* 16 x 4 + 8 x 10 + 8 x 4 + 8 x 4 bytes. */
    const char *hash = strchr(r, '#');
    cr_expect_eq((size_t)(hash - (r + 2)), 2u * (64 + 80 + 32 + 32));
    cr_expect_str_eq(xchg("p8"), acked("00100000"));
    cr_expect_str_eq(xchg("p20"), acked("11000000"));   /* cr0 = PE|ET */
    cr_expect_str_eq(xchg("P0=05000000"), acked("OK"));
    cr_expect_eq(ft->cpu[0].gpr[CPUM_EAX], 5u);
    cr_expect_str_eq(xchg("p10"), acked("00000000000000000000"));   /* st0: 80 bits of zero */
    cr_expect_str_eq(xchg("P28=ffffffff"), acked("E16"));           /* no such register */
    cr_expect_str_eq(xchg("P0=0500"), acked("E16"));                /* wrong size */
    cr_expect_str_eq(xchg("pzz"), acked("E16"));
    /* G writes back what g gave, with eax changed. */
    r = xchg("g");
    char g[1024] = "G";
    strncat(g, r + 2, (size_t)(strchr(r, '#') - (r + 2)));
    memcpy(g + 1, "78563412", 8);
    cr_expect_str_eq(xchg(g), acked("OK"));
    cr_expect_eq(ft->cpu[0].gpr[CPUM_EAX], 0x12345678u);
    cr_expect_eq(ft->cpu[0].eip, 0x1000u);
}

Test(fe_gdb, memory)
{
    cr_expect_str_eq(xchg("m1000,4"), acked("00010203"));
    cr_expect_str_eq(xchg("mfffe,4"), acked("feff"));        /* short at the end of memory */
    cr_expect_str_eq(xchg("m20000,4"), acked("E0e"));
    cr_expect_str_eq(xchg("m1000"), acked("E16"));
    cr_expect_str_eq(xchg("M2000,2:abcd"), acked("OK"));
    cr_expect_eq(ft->mem[0x2000], 0xab);
    cr_expect_eq(ft->mem[0x2001], 0xcd);
    cr_expect_str_eq(xchg("M2000,2:abc"), acked("E16"));
    /* X with binary bytes: '#' '$' '}' '*' arrive escaped. */
    char x[] = "X3000,4:\x01}\x03}\x04}]";
    cr_expect_str_eq(xchg_raw(x, sizeof(x) - 1), acked("OK"));
    cr_expect_eq(memcmp(&ft->mem[0x3000], "\x01#$}", 4), 0);
    cr_expect_str_eq(xchg("X3000,0:"), acked("OK"));
    cr_expect_str_eq(xchg("X3000,5:ab"), acked("E16"));
}

Test(fe_gdb, breakpoint_continue_and_step)
{
    xchg("qSupported:swbreak+");
    cr_expect_str_eq(xchg("Z0,1010,1"), acked("OK"));
    cr_expect_str_eq(xchg("c"), acked("T05thread:01;swbreak:;"));
    cr_expect_eq(ft->cpu[0].eip, 0x1010u);
    cr_expect_str_eq(xchg("?"), acked("T05thread:01;swbreak:;"));
    cr_expect_str_eq(xchg("z0,1010,1"), acked("OK"));
    cr_expect_str_eq(xchg("s"), acked("T05thread:01;"));
    cr_expect_eq(ft->cpu[0].eip, 0x1011u);
    cr_expect_str_eq(xchg("vCont?"), acked("vCont;c;C;s;S"));
    /* Step thread 2 only; the c for the others does not run them. */
    cr_expect_str_eq(xchg("vCont;s:2;c"), acked("T05thread:02;"));
    cr_expect_eq(ft->cpu[1].eip, 0x1101u);
    cr_expect_eq(ft->cpu[0].eip, 0x1011u);
    cr_expect_str_eq(xchg("vCont;x"), acked("E16"));
    cr_expect_str_eq(xchg("vCont;s:9"), acked("E16"));
    /* Hardware breakpoint reports hwbreak only when negotiated (it was not). */
    cr_expect_str_eq(xchg("Z1,1020,1"), acked("OK"));
    cr_expect_str_eq(xchg("vCont;c"), acked("T05thread:01;"));
    cr_expect_eq(ft->cpu[0].eip, 0x1020u);
    /* c ADDR resumes there. */
    cr_expect_str_eq(xchg("z1,1020,1"), acked("OK"));
    cr_expect_str_eq(xchg("Z0,1050,1"), acked("OK"));
    cr_expect_str_eq(xchg("c1040"), acked("T05thread:01;swbreak:;"));
    cr_expect_eq(ft->cpu[0].eip, 0x1050u);
    cr_expect_str_eq(xchg("Z9,1,1"), acked(""));
    cr_expect_str_eq(xchg("z0,7777,1"), acked("OK"));   /* absent: fine for gdb */
}

Test(fe_gdb, watchpoints)
{
    ft->acc[0] = (struct fake_access){ 0x1005, 0x2000, 0xdeadbeef, true };
    ft->acc[1] = (struct fake_access){ 0x1008, 0x2100, 0, false };
    ft->nacc = 2;
    cr_expect_str_eq(xchg("Z2,2000,4"), acked("OK"));
    cr_expect_str_eq(xchg("Z3,2100,2"), acked("OK"));
    cr_expect_str_eq(xchg("Z2,2000,3"), acked("E16"));
    cr_expect_str_eq(xchg("c"), acked("T05thread:01;watch:2000;"));
    cr_expect_eq(ft->cpu[0].eip, 0x1006u);
    cr_expect_str_eq(xchg("m2000,4"), acked("efbeadde"));
    cr_expect_str_eq(xchg("c"), acked("T05thread:01;rwatch:2100;"));
    cr_expect_str_eq(xchg("z3,2100,2"), acked("OK"));
    cr_expect_str_eq(xchg("Z4,2100,8"), acked("OK"));
    cr_expect_str_eq(xchg("Z4,2200,8"), acked("OK"));
    cr_expect_str_eq(xchg("Z4,2300,8"), acked("OK"));
    cr_expect_str_eq(xchg("Z4,2400,8"), acked("E10"));   /* out of debug registers */
}

Test(fe_gdb, threads)
{
    cr_expect_str_eq(xchg("qfThreadInfo"), acked("m1,2,3"));
    cr_expect_str_eq(xchg("qsThreadInfo"), acked("l"));
    cr_expect_str_eq(xchg("qC"), acked("QC1"));
    cr_expect_str_eq(xchg("Hg2"), acked("OK"));
    cr_expect_str_eq(xchg("p8"), acked("00110000"));   /* vCPU 1's eip */
    cr_expect_str_eq(xchg("Hg4"), acked("E16"));
    cr_expect_str_eq(xchg("Hc-1"), acked("OK"));
    cr_expect_str_eq(xchg("Hx1"), acked("E16"));
    cr_expect_str_eq(xchg("T3"), acked("OK"));
    cr_expect_str_eq(xchg("T4"), acked("E16"));
    cr_expect_str_eq(xchg("Hc3"), acked("OK"));
    cr_expect_str_eq(xchg("s"), acked("T05thread:03;"));
    cr_expect_eq(ft->cpu[2].eip, 0x1201u);
    cr_expect_str_eq(xchg("qC"), acked("QC3"));
}

Test(fe_gdb, attach_and_interrupt)
{
    /* On attach the stub stops the target; '?' answers with that stop. */
    fe_gdb_proto_attach(gp);
    cr_expect_eq(ft->stops, 1u);
    cr_expect_str_eq(xchg("?"), acked("T02thread:01;"));
    /* Continue with nothing to hit: the fake keeps running, no reply yet. */
    cr_expect_str_eq(xchg("c"), "+");
    cr_expect(ft->running);
    out_len = 0;
    fe_gdb_proto_feed(gp, "\x03", 1);
    cr_expect_str_eq(out, acked("T02thread:01;") + 1);
    cr_expect_not(ft->running);
    /* Ctrl-C while stopped does nothing. */
    out_len = 0;
    fe_gdb_proto_feed(gp, "\x03", 1);
    cr_expect_eq(out_len, 0u);
}

Test(fe_gdb, rcmd_output_as_O_packets)
{
    /* "monitor hi" */
    const char *r = xchg("qRcmd,6869");
    char o[128] = "O";
    fe_gdb_hex_encode("you said: hi\n", 13, o + 1);
    char expect[512];
    snprintf(expect, sizeof(expect), "%s", acked(o));
    size_t n = strlen(expect);
    fe_gdb_pkt_frame("OK", 2, expect + n);
    cr_expect_str_eq(r, expect);
    cr_expect_str_eq(xchg("qRcmd,zz"), acked("E16"));
    cr_expect_str_eq(xchg("qRcmd,6800"), acked("E16"));   /* embedded NUL */
}

Test(fe_gdb, triple_fault_and_exit)
{
    ft->triple_fault_eip = 0x1004;
    const char *r = xchg("c");
    char o[256] = "O";
    const char *msg = "ixvm: triple fault on vCPU 0; the VM is stopped for inspection\n";
    fe_gdb_hex_encode(msg, strlen(msg), o + 1);
    char expect[1024];
    snprintf(expect, sizeof(expect), "%s", acked(o));
    fe_gdb_pkt_frame("T05thread:01;", 13, expect + strlen(expect));
    cr_expect_str_eq(r, expect);
    ft->triple_fault_eip = 0;
    ft->exit_eip = 0x1006;
    ft->exit_status = 3;
    cr_expect_str_eq(xchg("c"), acked("W03"));
    cr_expect_str_eq(xchg("?"), acked("W03"));
    cr_expect_str_eq(xchg("c"), acked("W03"));   /* nothing to run any more */
}

Test(fe_gdb, detach_releases_and_continues)
{
    xchg("Z0,1010,1");
    xchg("Z2,2000,4");
    ft->log[0] = '\0';
    cr_expect_str_eq(xchg("D"), acked("OK"));
    cr_expect_eq(closed, 1);
    cr_expect_not_null(strstr(ft->log, "bp_clear break 0x1010 1"));
    cr_expect_not_null(strstr(ft->log, "bp_clear watch 0x2000 4"));
    cr_expect_eq(ft->conts, 1u);
    /* Input after detach is ignored. */
    cr_expect_str_eq(xchg("g"), "");
}

Test(fe_gdb, kill_powers_off)
{
    xchg("Z0,1010,1");
    cr_expect_str_eq(xchg("k"), "+");
    cr_expect(ft->off);
    cr_expect_eq(closed, 1);
}

Test(fe_gdb, disconnect_without_detach_releases)
{
    xchg("Z0,1010,1");
    fe_gdb_proto_destroy(gp);
    gp = NULL;
    cr_expect_not_null(strstr(ft->log, "bp_clear break 0x1010 1"));
    cr_expect_eq(ft->conts, 1u);
    fe_gdb_proto_destroy(NULL);
}
