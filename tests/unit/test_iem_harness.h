/* SPDX-License-Identifier: MIT */
/* The plain IEM harness machine shared by the real-mode instruction tests
 * (test_iem_str.c, test_iem_sys.c, test_iem_misc.c, test_iem_desc.c): one
 * 8 MiB iem_test per test, the state and RAM pointers, and RAM/exception
 * accessors.  IEM_HARNESS_SUITE(name) declares the criterion suite. */
#ifndef TEST_IEM_HARNESS_H
#define TEST_IEM_HARNESS_H

#include <criterion/criterion.h>
#include <string.h>

#include "ixvm/iem.h"

static struct iem_test *t;
static struct cpum_state *s;
static uint8_t *ram;

static void iem_harness_setup(void)
{
    cr_assert_eq(iem_test_create(&t, 8), 0);
    s = iem_test_state(t);
    ram = iem_test_ram(t);
}
static void iem_harness_teardown(void) { iem_test_destroy(t); }

#define IEM_HARNESS_SUITE(name) TestSuite(name, .init = iem_harness_setup, .fini = iem_harness_teardown)

static IXVM_UNUSED void load(uint32_t pa, const uint8_t *code, size_t n) { cr_assert_eq(iem_test_write(t, pa, code, n), 0); }
static IXVM_UNUSED uint32_t rd32(uint32_t pa) { uint32_t v; memcpy(&v, ram + pa, 4); return v; }
static IXVM_UNUSED uint16_t rd16(uint32_t pa) { uint16_t v; memcpy(&v, ram + pa, 2); return v; }
static IXVM_UNUSED void wr32(uint32_t pa, uint32_t v) { memcpy(ram + pa, &v, 4); }
static IXVM_UNUSED void wr16(uint32_t pa, uint16_t v) { memcpy(ram + pa, &v, 2); }

/* The last exception the CPU delivered (vector, error code, CR2). */
static IXVM_UNUSED struct iem_xcpt_info last(void)
{
    struct iem_xcpt_info x;
    iem_last_xcpt(iem_test_cpu(t), &x);
    return x;
}

#endif /* TEST_IEM_HARNESS_H */
