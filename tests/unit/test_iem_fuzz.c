/* SPDX-License-Identifier: MIT */
/* Hostile guest: random bytes executed at CPL 0 in real and protected mode.
 * Whatever the guest does (garbage descriptors, paging on with random page
 * tables, self-modifying code, triple faults), the interpreter must neither
 * crash nor hang; every iem_exec returns a valid status. */
#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"

static uint64_t rng_state;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

static void fuzz(bool real_mode, uint64_t seed, uint64_t total)
{
    struct iem_test *t;
    cr_assert_eq(iem_test_create(&t, 2), 0);
    rng_state = seed;
    uint8_t *ram = iem_test_ram(t);
    uint64_t ran = 0;
    unsigned rounds = 0;
    while (ran < total) {
        if (real_mode) {
            iem_test_setup_flat32(t, 0, 0);          /* tables for any mode switch */
            iem_test_setup_real(t, 0x1000, 0, 0x3000, 0xfffe);
        } else {
            iem_test_setup_flat32(t, 0x10000, 0x30000);
        }
        uint8_t code[4096];
        for (size_t k = 0; k < sizeof(code); k++)
            code[k] = (uint8_t)rng();
        cr_assert_eq(iem_test_write(t, 0x10000, code, sizeof(code)), 0);
        struct cpum_state *s = iem_test_state(t);
        for (unsigned r = 0; r < 8; r++)
            s->gpr[r] = rng() & (rng() & 1 ? 0xffffu : 0xffffffffu);
        s->gpr[4] = real_mode ? 0xfff0 : 0x30000;
        uint64_t before = iem_instructions(iem_test_cpu(t));
        for (int slice = 0; slice < 16; slice++) {
            int rc = iem_exec(iem_test_cpu(t), 1000);
            cr_assert(rc == 0 || rc == IXVM_INF_EM_HALT || rc == IXVM_INF_EM_RESET, "rc %d", rc);
            if (rc == IXVM_INF_EM_HALT && (s->eflags & CPUM_EFL_IF) && iem_can_take_interrupt(iem_test_cpu(t)))
                rc = iem_inject_interrupt(iem_test_cpu(t), (uint8_t)rng(), false);
            if (rc != 0)
                break;
        }
        ran += iem_instructions(iem_test_cpu(t)) - before + 1;
        rounds++;
        (void)ram;
    }
    cr_log_info("%s: %u rounds, %llu instructions", real_mode ? "real" : "prot", rounds, (unsigned long long)ran);
    cr_assert_gt(rounds, 1);
    iem_test_destroy(t);
}

#ifdef IXVM_SANITIZED
#define FUZZ_TOTAL 100000u
#else
#define FUZZ_TOTAL 400000u
#endif

Test(iem_fuzz, protected_mode_random_bytes, .timeout = 120) { fuzz(false, 0x1234567887654321ull, FUZZ_TOTAL); }
Test(iem_fuzz, real_mode_random_bytes, .timeout = 120) { fuzz(true, 0x0badc0ffee15900dull, FUZZ_TOTAL); }
