/* SPDX-License-Identifier: MIT */
/* Dispatch: 10^8 iterations of `inc eax; jmp` on a thread with a 64 KiB
 * stack must not overflow it (tail calls or trampoline, IEM-DESIGN.md 3);
 * fewer iterations in sanitizer builds (they disable tail calls). */
#include <criterion/criterion.h>
#include <pthread.h>

#include "ixvm/iem.h"

#ifdef IXVM_SANITIZED
#define ITERATIONS 2000000ull
#else
#define ITERATIONS 100000000ull
#endif

struct loop_arg {
    int rc;
    uint32_t eax;
};

static void *loop_thread(void *p)
{
    struct loop_arg *a = p;
    struct iem_test *t;
    a->rc = iem_test_create(&t, 1);
    if (a->rc)
        return NULL;
    /* inc eax; jmp -3 -- the loop never ends by itself. */
    static const uint8_t code[] = { 0x40, 0xeb, 0xfd };
    a->rc = iem_test_write(t, 0x10000, code, sizeof(code));
    iem_test_setup_flat32(t, 0x10000, 0x80000);
    if (!a->rc)
        a->rc = iem_test_run(t, (int64_t)(2 * ITERATIONS));
    a->eax = iem_test_state(t)->gpr[0];
    iem_test_destroy(t);
    return NULL;
}

Test(iem_dispatch, long_loop_small_stack, .timeout = 60)
{
    pthread_attr_t attr;
    pthread_t th;
    struct loop_arg a = { -1, 0 };
    cr_assert_eq(pthread_attr_init(&attr), 0);
    cr_assert_eq(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
    cr_assert_eq(pthread_create(&th, &attr, loop_thread, &a), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);
    cr_assert_eq(a.rc, 0);
    cr_assert_eq(a.eax, (uint32_t)ITERATIONS, "eax %u (%s dispatch)", a.eax, iem_dispatch_kind());
}
