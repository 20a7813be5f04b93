/* SPDX-License-Identifier: MIT */
/*
 * gdb stub robustness: random bytes, and well-framed packets with random
 * or mutated payloads, fed to the protocol engine over the fake target.
 * Nothing may crash (run under ASan/UBSan too) and every good packet gets
 * an ack.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/fe_gdb.h"
#include "gdb/fake_target.h"

static struct fe_gdb_proto *gp;
static size_t sent;

static void count_send(void *user, const void *buf, size_t len)
{
    sent += len;
}

static void on_stop(void *user, const struct dbgf_stop_event *ev)
{
    fe_gdb_proto_stop_event(gp, ev);
}

static uint32_t rnd(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

static struct fake_target *make(void)
{
    struct fake_target *ft = calloc(1, sizeof(*ft));
    fake_init(ft, 2);
    ft->run_limit = 8;
    struct dbgf_target t = fake_target(ft);
    static const struct fe_gdb_proto_ops ops = { count_send, NULL, NULL };
    cr_assert_eq(fe_gdb_proto_create(&t, &ops, NULL, &gp), 0);
    fake_set_stop_cb(ft, on_stop, NULL);
    return ft;
}

Test(fe_gdb_fuzz, random_bytes)
{
    struct fake_target *ft = make();
    uint32_t x = 1;
    uint8_t buf[512];
    for (int i = 0; i < 5000; i++) {
        size_t n = rnd(&x) % sizeof(buf);
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)rnd(&x);
        fe_gdb_proto_feed(gp, buf, n);
    }
    fe_gdb_proto_destroy(gp);
    free(ft);
}

Test(fe_gdb_fuzz, mutated_packets)
{
    static const char *const seeds[] = {
        "g", "G00112233", "p8", "P8=00100000", "m1000,10", "M1000,2:abcd", "X1000,2:ab", "c", "s", "c1000",
        "vCont;s:2;c", "vCont;c", "vCont?", "Z0,1010,1", "z0,1010,1", "Z2,2000,4", "Z4,ffff,8", "Hg1", "Hc-1",
        "qfThreadInfo", "qsThreadInfo", "qC", "qAttached", "qSupported:swbreak+;hwbreak+",
        "qXfer:features:read:target.xml:0,fff", "qRcmd,6869", "T1", "?", "C05", "S05;1000", "mffffffff,ffff",
        "Mffffffff,ffffffff:00", "P7fffffff=00", "Hgffffffffffffffffff", "qXfer:features:read:target.xml:ffffffffffff,1",
    };
    struct fake_target *ft = make();
    uint32_t x = 42;
    char pkt[256], framed[600];
    for (int i = 0; i < 40000; i++) {
        const char *s = seeds[rnd(&x) % IXVM_ARRAY_SIZE(seeds)];
        size_t len = strlen(s);
        memcpy(pkt, s, len);
        for (int k = rnd(&x) % 4; k > 0 && len; k--) {   /* mutate: replace, truncate or extend */
            uint32_t r = rnd(&x);
            if (r % 3 == 0)
                pkt[r % len] = (char)(r >> 8);
            else if (r % 3 == 1)
                len = r % len;
            else if (len < sizeof(pkt) - 1)
                pkt[len++] = "0123456789abcdef,:;=-"[r % 21];
        }
        size_t n = fe_gdb_pkt_frame(pkt, len, framed);
        sent = 0;
        fe_gdb_proto_feed(gp, framed, n);
        if (ft->running && (rnd(&x) & 1))
            fe_gdb_proto_feed(gp, "\x03", 1);
        if (ft->off || (rnd(&x) % 500) == 0) {   /* killed, or a fresh session now and then */
            fe_gdb_proto_destroy(gp);
            free(ft);
            ft = make();
        }
    }
    fe_gdb_proto_destroy(gp);
    free(ft);
}
