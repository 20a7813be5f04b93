/* SPDX-License-Identifier: MIT */
/*
 * STAM under concurrency (also run under TSan by `make test-tsan`): one
 * writer thread updates a counter, a profile and a U64 with the lock-free
 * inline updates while the main thread prints, dumps JSON, reads values,
 * resets other samples and registers/deregisters around them.  Takes about
 * a second.  At the end every update must be accounted for.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ixvm/stam.h"

#define RUN_NS 800000000ll

struct shared {
    struct stam_counter instr;
    struct stam_profile prof;
    uint64_t u64;
    struct stam_counter resettable;
    bool stop;                  /* [any, atomic] */
    uint64_t done;              /* written by the writer before it exits */
};

static void *writer(void *arg)
{
    struct shared *sh = arg;
    uint64_t n = 0;
    while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
        for (int i = 0; i < 256; i++) {
            n++;
            stam_counter_inc(&sh->instr);
            stam_profile_add(&sh->prof, n % 1000);
            __atomic_store_n(&sh->u64, n, __ATOMIC_RELAXED);
            stam_counter_inc(&sh->resettable);
        }
    }
    sh->done = n;
    return NULL;
}

static void discard(void *user, const char *text)
{
    (*(size_t *)user) += strlen(text);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

Test(stam_stress, update_while_printing)
{
    struct stam *st = NULL;
    cr_assert_eq(stam_create(&st), 0);
    static struct shared sh;
    memset(&sh, 0, sizeof(sh));
    int rc = stam_register(st, &sh.instr, STAM_TYPE_COUNTER, STAM_UNIT_INSTR, "i", "/CPU0/Instr");
    cr_assert_eq(rc, 0, "rc %d", rc);
    rc = stam_register(st, &sh.prof, STAM_TYPE_PROFILE, STAM_UNIT_TICKS, "p", "/CPU0/Prof");
    cr_assert_eq(rc, 0, "rc %d", rc);
    rc = stam_register(st, &sh.u64, STAM_TYPE_U64, STAM_UNIT_COUNT, "u", "/CPU0/U64");
    cr_assert_eq(rc, 0, "rc %d", rc);
    rc = stam_register(st, &sh.resettable, STAM_TYPE_COUNTER, STAM_UNIT_COUNT, "r", "/Reset/R");
    cr_assert_eq(rc, 0, "rc %d", rc);

    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, writer, &sh), 0);
    size_t printed = 0;
    struct ixvm_printer pr = { discard, &printed };
    FILE *devnull = fopen("/dev/null", "w");
    cr_assert_neq(devnull, NULL);
    uint64_t last = 0, rounds = 0;
    struct stam_counter temp[8];
    memset(temp, 0, sizeof(temp));
    int64_t end = now_ns() + RUN_NS;
    while (now_ns() < end) {
        cr_assert_eq(stam_print(st, NULL, &pr), 4);
        cr_assert_eq(stam_dump_json(st, "/CPU0/*", devnull), 0);
        uint64_t v;
        cr_assert_eq(stam_get_value(st, "/CPU0/Instr", &v), 0);
        cr_assert(v >= last, "counter went backwards: %llu < %llu", (unsigned long long)v,
              (unsigned long long)last);
        last = v;
        cr_assert_eq(stam_reset(st, "/Reset/*"), 1);
        /* Registry changes around the live samples. */
        for (int i = 0; i < 8; i++)
            cr_assert_eq(stam_register(st, &temp[i], STAM_TYPE_COUNTER, STAM_UNIT_COUNT, "t",
                                       "/Temp/%d", i), 0);
        cr_assert_eq(stam_deregister(st, "/Temp/*"), 8);
        rounds++;
    }
    __atomic_store_n(&sh.stop, true, __ATOMIC_RELAXED);
    cr_assert_eq(pthread_join(th, NULL), 0);
    fclose(devnull);

    uint64_t v;
    cr_assert_gt(sh.done, 0);
    cr_assert_eq(stam_get_value(st, "/CPU0/Instr", &v), 0);
    cr_assert_eq(v, sh.done);
    cr_assert_eq(stam_get_value(st, "/CPU0/U64", &v), 0);
    cr_assert_eq(v, sh.done);
    cr_assert_eq(sh.prof.count, sh.done);
    /* The writer added n % 1000 for n = 1..done. */
    uint64_t rest = sh.done % 1000;
    cr_assert(sh.prof.total == (sh.done / 1000 * 499500 + rest * (rest + 1) / 2));
    cr_assert_eq(sh.prof.min, (sh.done >= 1000 ? 0 : 1));
    cr_assert_eq(sh.prof.max, (sh.done >= 999 ? 999 : sh.done));
    cr_assert_gt(rounds, 10);
    cr_assert_gt(printed, 0);
    cr_log_info("%llu updates, %llu print rounds", (unsigned long long)sh.done,
                (unsigned long long)rounds);
    stam_destroy(st);
}

