/* SPDX-License-Identifier: MIT */
/*
 * TM: the time manager.  One virtual clock in nanoseconds that runs while
 * the VM runs and stands still while it is paused (tm_resume / tm_pause),
 * derived from CLOCK_MONOTONIC, plus one-shot timers on that clock.
 *
 * Timers fire on the libuv loop thread: TM keeps one uv_timer for the
 * earliest deadline (millisecond granularity, so a timer fires up to ~1 ms
 * late; devices compute their registers from tm_virtual_now(), never from
 * the number of callbacks).  Arming, re-arming and stopping are safe from
 * any thread: the timer queue has a mutex and a uv_async wakes the loop to
 * re-arm its uv_timer.  A timer created with a lock (the owning device's
 * instance lock) runs its callback with that lock held; a timer stopped or
 * re-armed under that lock will not run its old expiry afterwards.
 *
 * Manual mode (tests): tm_set_manual(tm, true) freezes the clock; only
 * tm_advance(tm, ns) moves it, firing every due timer synchronously on the
 * calling thread in deadline order, with the clock set to each deadline.
 * A TM created without a loop is always manual.
 *
 * Lock order: device lock -> TM queue mutex.  TM never holds its mutex
 * while taking a device lock or running a callback.
 */
#ifndef IXVM_TM_H
#define IXVM_TM_H

#include <pthread.h>
#include <uv.h>

#include "ixvm/types.h"

#define TM_NS_PER_SEC   1000000000ull
#define TM_DEADLINE_NONE UINT64_MAX

/* The time manager (not `struct tm`: that name belongs to <time.h>). */
struct tm_mgr;
struct tm_timer;
struct ssm;

/* Runs on the loop thread (or tm_advance's caller) with the timer's lock held. */
typedef void tm_timer_fn(void *user);

/* loop may be NULL: the TM is then manual-only.  The clock starts paused at 0.
 * Call on the loop thread (it initialises uv handles). */
int tm_create(uv_loop_t *loop, struct tm_mgr **out) IXVM_WUR;
/* Destroy (on the loop thread).  With a loop, the memory is freed by the
 * handles' close callbacks: the caller runs the loop once more afterwards
 * (uv_run) before uv_loop_close.  Timers still existing are freed too. */
void tm_destroy(struct tm_mgr *tm);

/* Start / stop the virtual clock (any thread).  No effect in manual mode. */
void tm_resume(struct tm_mgr *tm);
void tm_pause(struct tm_mgr *tm);
bool tm_is_running(const struct tm_mgr *tm);

/* The virtual clock in ns; any thread, lock-free (a seqlock). */
uint64_t tm_virtual_now(const struct tm_mgr *tm);
/* Set the clock to ns (saved-state load; normally while paused).  Armed
 * deadlines are absolute and are not moved. */
void tm_set_virtual(struct tm_mgr *tm, uint64_t ns);

/* Manual mode on/off.  Switching keeps the current clock value.
 * IXVM_ERR_INVALID_STATE when turning it off on a TM without a loop. */
int tm_set_manual(struct tm_mgr *tm, bool manual) IXVM_WUR;
bool tm_is_manual(const struct tm_mgr *tm);
/* Manual mode: move the clock forward by ns, firing due timers.
 * IXVM_ERR_INVALID_STATE if not manual.  Returns the number of callbacks run. */
int tm_advance(struct tm_mgr *tm, uint64_t ns);

/* A timer; lock may be NULL.  name is for logs. */
int tm_timer_create(struct tm_mgr *tm, tm_timer_fn *cb, void *user, pthread_mutex_t *lock,
                    const char *name, struct tm_timer **out) IXVM_WUR;
/* Free a timer.  Call on the loop thread or while the loop is not firing
 * timers (device destruction). */
void tm_timer_destroy(struct tm_timer *t);
/* Arm (or re-arm) to fire when the virtual clock reaches deadline.  A
 * deadline in the past fires as soon as possible.  Any thread. */
void tm_timer_arm_ns(struct tm_timer *t, uint64_t deadline);
/* Arm relative to the current virtual time. */
void tm_timer_arm_rel_ns(struct tm_timer *t, uint64_t delta);
void tm_timer_stop(struct tm_timer *t);
bool tm_timer_is_armed(const struct tm_timer *t);
/* The armed deadline, or TM_DEADLINE_NONE. */
uint64_t tm_timer_deadline(const struct tm_timer *t);
struct tm_mgr *tm_timer_tm(const struct tm_timer *t);

/* Earliest armed deadline (TM_DEADLINE_NONE if none): the bound for a
 * halted vCPU's sleep. */
uint64_t tm_next_deadline(struct tm_mgr *tm);

/* Register the "tm" saved-state unit (the virtual clock). */
int tm_ssm_register(struct tm_mgr *tm, struct ssm *ssm) IXVM_WUR;

#endif
