/* SPDX-License-Identifier: MIT */
/*
 * The run driver (fe_runner.h, docs/frontend.md): builds the PC, connects
 * its consoles, plays the expect/send script, keeps the status line and the
 * window, turns events into the verdict (fe_verdict.c) and at the end writes
 * the screenshot, the JUnit report and the statistics.
 *
 * Order at the end matters: the consoles are drained before the board's
 * exit status is looked at (output printed just before a debug exit is
 * matched first), and the VM is powered off before the console buffers are
 * closed (EMTs write into them until then).
 */
#define LOG_GROUP LOG_GROUP_FE
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/fe_junit.h"
#include "frontend/fe_png.h"
#include "frontend/fe_debug.h"
#include "frontend/fe_runner.h"
#include "frontend/fe_sdl.h"
#include "ixvm/cfg.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"
#include "ixvm/ps2.h"
#include "ixvm/stam.h"
#include "ixvm/vga.h"
#include "ixvm/vmm.h"

#define FE_STATUS_MS 250
#define FE_KEY_MS 4

static unsigned fe_open_handles;       /* [loop] handles whose close callback is pending */

void fe_runner_handle_opened(struct fe_runner *r) { (void)r; fe_open_handles++; }
void fe_runner_handle_closed(uv_handle_t *h) { (void)h; fe_open_handles--; }

/* ---- options ---------------------------------------------------------------- */

void fe_run_opts_init(struct fe_run_opts *o)
{
    memset(o, 0, sizeof(*o));
    fe_script_init(&o->script);
}

void fe_run_opts_fini(struct fe_run_opts *o) { fe_script_free(&o->script); }

int fe_path_check_writable(const char *path, struct ixvm_errinfo *err)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    const char *dir = dirname(buf);
    if (access(dir, W_OK) != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    return 0;
}

enum fe_display fe_display_resolve(enum fe_display d)
{
    if (d != FE_DISPLAY_AUTO)
        return d;
    const char *x = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
    return (x && *x) || (w && *w) ? FE_DISPLAY_SDL : FE_DISPLAY_NONE;
}

/* ---- time and numbers ---------------------------------------------------------- */

static uint64_t fe_now_ms(struct fe_runner *r) { return uv_now(r->loop); }

double fe_runner_mips(struct fe_runner *r)
{
    uint64_t total = 0, v;
    char path[64];
    for (uint32_t i = 0; i < r->vm->ncpus; i++) {
        snprintf(path, sizeof(path), "/IEM/CPU%u/Instructions", i);
        if (stam_get_value(vmm_stam(r->vm), path, &v) == 0)
            total += v;
    }
    uint64_t now = uv_hrtime() / 1000000u;
    if (r->last_insn_ms && now > r->last_insn_ms)
        r->mips = (double)(total - r->last_insns) / (double)(now - r->last_insn_ms) / 1000.0;
    r->last_insns = total;
    r->last_insn_ms = now;
    return r->mips;
}

const char *fe_runner_state_text(struct vm *vm)
{
    switch (vmm_get_state(vm)) {
    case VMM_STATE_RUNNING: return "running";
    case VMM_STATE_SUSPENDED: return "paused";
    case VMM_STATE_GURU_MEDITATION: return "stopped (guru meditation)";
    case VMM_STATE_OFF: return "off";
    default: return vmm_state_name(vmm_get_state(vm));
    }
}

/* ---- verdict ----------------------------------------------------------------------- */

void fe_runner_decide(struct fe_runner *r, enum fe_verdict_event ev, uint64_t value, const char *detail)
{
    if (fe_verdict_event(&r->verdict, ev, value, detail) == 1) {
        r->stopping = true;
        vmm_stop_loop(r->vm);
    }
}

static void fe_script_timer_cb(uv_timer_t *t);

/* Re-arm the script's timer for its next sleep deadline. */
static void fe_script_schedule(struct fe_runner *r, enum fe_run_event ev, uint64_t next)
{
    if (ev == FE_RUN_PASSED)
        fe_runner_decide(r, FE_VERDICT_EXPECT_MATCHED, 0, r->script.pattern);
    else if (ev == FE_RUN_FAILED)
        fe_runner_decide(r, FE_VERDICT_FAIL_ON_MATCHED, 0, r->script.pattern);
    uint64_t now = fe_now_ms(r);
    if (next != UINT64_MAX && !r->stopping)
        (void)uv_timer_start(&r->script_timer, fe_script_timer_cb, next > now ? next - now : 0, 0);
}

static void fe_script_timer_cb(uv_timer_t *t)
{
    struct fe_runner *r = t->data;
    uint64_t next = UINT64_MAX;
    enum fe_run_event ev = fe_script_run_poll(&r->script, fe_now_ms(r), &next);
    fe_script_schedule(r, ev, next);
}

/* Sink of the runner's console: JUnit copy and the matchers. */
static void fe_all_sink(void *user, const char *data, size_t len)
{
    struct fe_runner *r = user;
    size_t keep = len;
    if (r->junit_len + keep > FE_JUNIT_MAX)
        keep = FE_JUNIT_MAX - r->junit_len;
    if (keep && r->o->junit) {
        if (r->junit_len + keep > r->junit_cap) {
            size_t cap = r->junit_cap ? r->junit_cap : 4096;
            while (cap < r->junit_len + keep)
                cap *= 2;
            char *nb = realloc(r->junit_out, cap);
            if (nb) {
                r->junit_out = nb;
                r->junit_cap = cap;
            }
        }
        if (r->junit_len + keep <= r->junit_cap) {
            memcpy(r->junit_out + r->junit_len, data, keep);
            r->junit_len += keep;
        }
    }
    if (!r->script_on)
        return;
    enum fe_run_event ev = fe_script_run_feed(&r->script, data, len, fe_now_ms(r));
    uint64_t next = UINT64_MAX;
    if (ev == FE_RUN_NONE)
        ev = fe_script_run_poll(&r->script, fe_now_ms(r), &next);
    fe_script_schedule(r, ev, next);
}

static void fe_drain_all(struct fe_runner *r);

static void fe_line_timer_cb(uv_timer_t *t) { fe_drain_all(t->data); }

static void fe_drain_lines(struct fe_runner *r, bool force)
{
    bool held = fe_chardev_flush_line(r->debugcon, force);
    for (unsigned i = 0; i < FE_SERIAL_PORTS; i++)
        held |= fe_chardev_flush_line(r->ports[i], force);
    /* Look again soon: an unfinished line (a prompt) goes on once it stops growing. */
    if (held && r->line_timer.data == r && !r->stopping && !uv_is_active((uv_handle_t *)&r->line_timer))
        (void)uv_timer_start(&r->line_timer, fe_line_timer_cb, 10, 0);
}

static void fe_drain_all(struct fe_runner *r)
{
    fe_drain_lines(r, r->stopping);
    if (fe_console_drain(r->all, fe_all_sink, r) < 0 && !r->stopping)
        fprintf(stderr, "ixvm: --console-log: %s\n", fe_console_error(r->all));
    (void)fe_console_drain(r->out, NULL, NULL);
    for (unsigned i = 0; i < FE_SERIAL_PORTS; i++)
        fe_chardev_drain(r->ports[i]);
    fe_chardev_drain(r->debugcon);
}

static void fe_wake_cb(uv_async_t *a) { fe_drain_all(a->data); }

/* ---- keys -------------------------------------------------------------------------- */

static void fe_key_timer_cb(uv_timer_t *t)
{
    struct fe_runner *r = t->data;
    if (r->key_pos >= r->keys.n) {
        r->keys.n = r->key_pos = 0;
        (void)uv_timer_stop(t);
        return;
    }
    /* One event at a time, and only while the guest has read everything:
     * the keyboard's 16-byte buffer never overruns (docs/ps2.md). */
    if (ps2_kbd_pending(r->kbc))
        return;
    const struct fe_key_event *ev = &r->keys.ev[r->key_pos++];
    uint8_t buf[FE_KEY_MAX_BYTES];
    int n = fe_key_scancode(ev->key, ev->down, FE_KBD_SET2, buf);
    if (n > 0 && ps2_kbd_put_scancodes(r->kbc, buf, (size_t)n) < 0)
        LOG_REL("keyboard refused a key event");
}

int fe_runner_send_keys(void *user, const struct fe_key_event *ev, size_t n)
{
    struct fe_runner *r = user;
    if (!r->kbc) {
        fprintf(stderr, "ixvm: --send: the machine has no PS/2 keyboard; keys dropped\n");
        return IXVM_ERR_NOT_SUPPORTED;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = fe_key_seq_push(&r->keys, ev[i].key, ev[i].down);
        if (rc < 0)
            return rc;
    }
    if (!uv_is_active((uv_handle_t *)&r->key_timer))
        (void)uv_timer_start(&r->key_timer, fe_key_timer_cb, 0, FE_KEY_MS);
    return 0;
}

/* ---- status, timeout, signals -------------------------------------------------------- */

static void fe_status_cb(uv_timer_t *t)
{
    struct fe_runner *r = t->data;
    fe_drain_all(r);
    struct fe_status_info si = {
        .uptime_ms = fe_now_ms(r) - r->start_ms,
        .mips = fe_runner_mips(r),
        .state = fe_runner_state_text(r->vm),
        .last_line = fe_console_status_text(r->all),
    };
    if (r->status.enabled)
        fe_status_render(&r->status, &si);
    else
        fe_console_flush_partial(r->out);   /* a prompt without newline shows up */
    fe_sdl_status(r, &si);
}

/* --dump-screen-text: rewrite the file whenever the screen changed. */
static void fe_screen_text_cb(uv_timer_t *t)
{
    struct fe_runner *r = t->data;
    struct ixvm_errinfo err = { 0 };
    if (pc_dump_screen_text(r->pc, r->o->screen_text, true, &err) < 0) {
        fprintf(stderr, "ixvm: --dump-screen-text: %s\n", err.msg);
        (void)uv_timer_stop(t);
    }
}

static void fe_timeout_cb(uv_timer_t *t)
{
    struct fe_runner *r = t->data;
    fe_drain_all(r);                        /* output that arrived in time still counts */
    fe_runner_decide(r, FE_VERDICT_TIMEOUT, (uint64_t)(r->o->timeout + 0.999), NULL);
}

static void fe_signal_cb(uv_signal_t *s, int signum)
{
    struct fe_runner *r = s->data;
    fe_drain_all(r);
    fe_runner_decide(r, signum == SIGINT ? FE_VERDICT_SIGINT : FE_VERDICT_SIGTERM, 0, NULL);
}

/* Board sinks (any thread, an EMT under the device lock): only buffer. */
static void fe_runner_sink_com(void *user, const uint8_t *buf, size_t len)
{
    const struct fe_runner_slot *s = user;
    struct fe_chardev *c = s->r->ports[s->index];
    if (c)
        fe_chardev_write(c, buf, len);
}

static void fe_runner_sink_debugcon(void *user, const uint8_t *buf, size_t len)
{
    struct fe_runner *r = user;
    if (r->debugcon)
        fe_chardev_write(r->debugcon, buf, len);
}

static void fe_clear_status(void *user) { fe_status_clear(user); }
static void fe_async_wake(void *user) { uv_async_send(user); }

/* ---- screenshot and reports ------------------------------------------------------------ */

int fe_runner_screenshot(struct fe_runner *r, const char *path)
{
    if (!r->vga) {
        if (!r->no_vga_reported)
            fprintf(stderr, "ixvm: --screenshot: the machine has no VGA; '%s' not written\n", path);
        r->no_vga_reported = true;
        return IXVM_ERR_NOT_SUPPORTED;
    }
    struct vga_frame f;
    struct ixvm_errinfo err = { 0 };
    int rc = vga_render(r->vga, &f);
    /* The window renders too: make its next frame a full one. */
    vga_invalidate(r->vga);
    if (rc >= 0)
        rc = fe_png_write(path, f.pixels, f.width, f.height, f.stride, FE_PIX_RGBA8888, &err);
    else
        ixvm_errinfo_set(&err, rc, "cannot render the screen");
    if (rc < 0)
        fprintf(stderr, "ixvm: --screenshot: %s\n", err.msg);
    return rc;
}

static int fe_write_junit(struct fe_runner *r, double secs, const char *stamp)
{
    struct fe_junit_case jc = {
        .name = r->o->name ? r->o->name : "ixvm",
        .time_s = secs,
        .timestamp = stamp,
        .kind = r->verdict.kind,
        .message = r->verdict.reason,
        .type = fe_verdict_event_name(r->verdict.event),
        .output = r->junit_out ? r->junit_out : "",
        .output_len = r->junit_len,
    };
    struct ixvm_errinfo err = { 0 };
    int rc = fe_junit_write(r->o->junit, &jc, &err);
    if (rc < 0)
        fprintf(stderr, "ixvm: --junit: %s\n", err.msg);
    return rc;
}

static int fe_write_stats(struct vm *vm, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ixvm: --stats-json: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    int rc = stam_dump_json(vmm_stam(vm), NULL, f);
    if (fclose(f) != 0 && rc >= 0)
        rc = -1;
    return rc;
}

/* The board's exit request, a guru meditation, or nothing decisive. */
static void fe_final_event(struct fe_runner *r)
{
    const char *why = NULL;
    int st = pc_exit_status(r->pc, &why);
    if (st >= 0 && why && !strncmp(why, "isa-debug-exit", 14))
        fe_runner_decide(r, FE_VERDICT_DEBUG_EXIT, (uint64_t)st >> 1, NULL);
    else if (st == 0)
        fe_runner_decide(r, FE_VERDICT_POWER_OFF, 0, why);
    else if (st > 0)
        fe_runner_decide(r, FE_VERDICT_TRIPLE_FAULT, 0, why);
    if (vmm_get_state(r->vm) == VMM_STATE_GURU_MEDITATION) {
        const char *m1, *m2;
        vmm_get_assertion(r->vm, &m1, &m2);
        fe_runner_decide(r, FE_VERDICT_GURU, 0, *m1 ? m1 : "the VM stopped");
    }
    (void)fe_verdict_finish(&r->verdict);
}

/* ---- set-up and tear-down ---------------------------------------------------------------- */

static int fe_open_consoles(struct fe_runner *r, struct ixvm_errinfo *err)
{
    const struct fe_run_opts *o = r->o;
    struct fe_console_opts all = { .capture_path = o->console_log, .wake = fe_async_wake, .wake_user = &r->wake };
    int rc = fe_console_open(&r->all, &all, err);
    if (rc < 0)
        return rc;
    struct fe_console_opts out = {
        .stream = o->quiet ? NULL : stdout, .wake = fe_async_wake, .wake_user = &r->wake,
        .before_stream = fe_clear_status, .stream_user = &r->status,
    };
    return fe_console_open(&r->out, &out, err);
}

/* COM1's destination when --serial was not given: the terminal when
 * headless (as QEMU's -nographic), nothing with a window. */
static const char *fe_serial_dest(const struct fe_run_opts *o, unsigned i, enum fe_display d)
{
    if (i < o->nserial)
        return o->serial[i];
    return i == 0 && d == FE_DISPLAY_NONE ? "stdio" : NULL;
}

static int fe_start_chardevs(struct fe_runner *r, enum fe_display d, struct ixvm_errinfo *err)
{
    bool stdin_taken = false;
    for (unsigned i = 0; i < FE_SERIAL_PORTS; i++) {
        struct dev_ins *u = pc_serial_port(r->pc, i);
        const char *dest = fe_serial_dest(r->o, i, d);
        if (!u && !dest)
            continue;
        bool take = dest && !strcmp(dest, "stdio") && !stdin_taken;
        stdin_taken |= take;
        int rc = fe_chardev_open(r, i ? "--serial (COM2-4)" : "--serial", dest, u, take, &r->ports[i], err);
        if (rc < 0)
            return rc;
    }
    return fe_chardev_open(r, "--debugcon", r->o->debugcon, NULL, false, &r->debugcon, err);
}

static void fe_init_handle(struct fe_runner *r, uv_handle_t *h, int rc)
{
    if (rc == 0) {
        h->data = r;
        fe_open_handles++;
    }
}

static void fe_start_loop_handles(struct fe_runner *r)
{
    uv_loop_t *l = r->loop;
    fe_init_handle(r, (uv_handle_t *)&r->wake, uv_async_init(l, &r->wake, fe_wake_cb));
    fe_init_handle(r, (uv_handle_t *)&r->timeout_timer, uv_timer_init(l, &r->timeout_timer));
    fe_init_handle(r, (uv_handle_t *)&r->status_timer, uv_timer_init(l, &r->status_timer));
    fe_init_handle(r, (uv_handle_t *)&r->script_timer, uv_timer_init(l, &r->script_timer));
    fe_init_handle(r, (uv_handle_t *)&r->key_timer, uv_timer_init(l, &r->key_timer));
    fe_init_handle(r, (uv_handle_t *)&r->screen_timer, uv_timer_init(l, &r->screen_timer));
    fe_init_handle(r, (uv_handle_t *)&r->line_timer, uv_timer_init(l, &r->line_timer));
    fe_init_handle(r, (uv_handle_t *)&r->sigint, uv_signal_init(l, &r->sigint));
    fe_init_handle(r, (uv_handle_t *)&r->sigterm, uv_signal_init(l, &r->sigterm));
}

static void fe_close_loop_handles(struct fe_runner *r)
{
    uv_handle_t *hs[] = {
        (uv_handle_t *)&r->wake, (uv_handle_t *)&r->timeout_timer, (uv_handle_t *)&r->status_timer,
        (uv_handle_t *)&r->script_timer, (uv_handle_t *)&r->key_timer, (uv_handle_t *)&r->screen_timer,
        (uv_handle_t *)&r->line_timer, (uv_handle_t *)&r->sigint,
        (uv_handle_t *)&r->sigterm,
    };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(hs); i++)
        if (hs[i]->data == r && !uv_is_closing(hs[i]))
            uv_close(hs[i], fe_runner_handle_closed);
    for (unsigned i = 0; i < FE_SERIAL_PORTS; i++)
        fe_chardev_close(r->ports[i]);
    fe_chardev_close(r->debugcon);
    /* Let the close callbacks run; the VM's own handles keep the loop alive,
     * so never block here. */
    for (int spins = 0; fe_open_handles && spins < 1000; spins++)
        uv_run(r->loop, UV_RUN_NOWAIT);
    for (unsigned i = 0; i < FE_SERIAL_PORTS; i++)
        fe_chardev_free(r->ports[i]);
    fe_chardev_free(r->debugcon);
}

static void fe_print_reason(struct fe_runner *r)
{
    const struct fe_run_opts *o = r->o;
    bool runner = o->script.n || o->nfail || o->timeout > 0 || o->junit;
    if (r->verdict.status != 0 || (runner && !o->quiet))
        fprintf(stderr, "ixvm: %s (exit status %d)\n", r->verdict.reason, r->verdict.status);
}

/* Start the guest and the loop; returns when a verdict stops it. */
static void fe_run_guest(struct fe_runner *r)
{
    struct ixvm_errinfo err = { 0 };
    const struct fe_run_opts *o = r->o;
    (void)uv_signal_start(&r->sigint, fe_signal_cb, SIGINT);
    (void)uv_signal_start(&r->sigterm, fe_signal_cb, SIGTERM);
    r->start_ms = fe_now_ms(r);
    if (vmm_power_on(r->vm, &err) < 0) {
        fprintf(stderr, "ixvm: %s\n", err.msg);
        fe_runner_decide(r, FE_VERDICT_GURU, 0, err.msg);
        return;
    }
    if (o->timeout > 0)
        (void)uv_timer_start(&r->timeout_timer, fe_timeout_cb, (uint64_t)(o->timeout * 1000.0 + 0.5), 0);
    (void)uv_timer_start(&r->status_timer, fe_status_cb, FE_STATUS_MS, FE_STATUS_MS);
    if (o->screen_text)
        (void)uv_timer_start(&r->screen_timer, fe_screen_text_cb, 100, 100);
    if (r->script_on)
        fe_script_schedule(r, fe_script_run_start(&r->script, fe_now_ms(r)), 0);
    if (!r->stopping)
        (void)vmm_run_loop(r->vm);
}

static int fe_run_machine(struct fe_runner *r, enum fe_display d)
{
    const struct fe_run_opts *o = r->o;
    struct ixvm_errinfo err = { 0 };
    r->vga = pc_device(r->pc, "vga");
    r->kbc = pc_device(r->pc, "i8042");
    fe_start_loop_handles(r);
    int rc = fe_start_chardevs(r, d, &err);
    if (rc < 0) {
        fprintf(stderr, "ixvm: %s\n", err.msg);
        return FE_EXIT_USAGE;
    }
    if ((o->script.n || o->nfail) &&
        fe_script_run_init(&r->script, &o->script, o->fail_on, o->nfail, 0, fe_runner_send_keys, r, &err) < 0) {
        fprintf(stderr, "ixvm: %s\n", err.msg);
        return FE_EXIT_USAGE;
    }
    r->script_on = o->script.n || o->nfail;
    fe_status_init(&r->status, stderr, isatty(STDERR_FILENO), o->quiet, fe_status_term_width(STDERR_FILENO));
    if (d == FE_DISPLAY_SDL && fe_sdl_open(r, &err) < 0) {
        fprintf(stderr, "ixvm: --display sdl: %s\n", err.msg);
        return FE_EXIT_FAIL;
    }
    /* The debugger attaches before the first guest instruction (fe_debug.c). */
    if (fe_debug_start(r, &err) < 0) {
        fprintf(stderr, "ixvm: %s\n", err.msg);
        return FE_EXIT_USAGE;
    }
    fe_run_guest(r);
    fe_debug_stop(r);
    r->stopping = true;                     /* the last drain takes unfinished lines too */
    fe_drain_all(r);
    fe_final_event(r);
    fe_status_clear(&r->status);
    fe_chardev_restore_tty();
    if (o->screenshot)
        (void)fe_runner_screenshot(r, o->screenshot);
    if (o->screen_text && pc_dump_screen_text(r->pc, o->screen_text, false, &err) < 0) {
        fprintf(stderr, "ixvm: --dump-screen-text: %s\n", err.msg);
        if (r->verdict.status == 0)
            r->verdict.status = FE_EXIT_FAIL;
    }
    return -1;
}

static int fe_create_pc(struct fe_runner *r, const struct cfg *cfg, enum fe_display d)
{
    const struct fe_run_opts *o = r->o;
    /* The chardevs are allocated on first use by fe_start_chardevs; the
     * board's sinks go through these stable slots. */
    struct pc_options po = {
        .bios_path = o->bios,
        .debugcon = { fe_runner_sink_debugcon, r },   /* matchers see it even without --debugcon */
        .serial = { fe_runner_sink_com, &r->slot[0] },
        .no_reboot = o->no_reboot,
        .boot_fail_wait_ms = -1,
    };
    for (unsigned i = 1; i < FE_SERIAL_PORTS; i++)
        if (fe_serial_dest(o, i, d))
            po.serial_more[i - 1] = (struct pc_sink){ fe_runner_sink_com, &r->slot[i] };
    struct ixvm_errinfo err = { 0 };
    if (pc_create(cfg, &po, &r->pc, &err) < 0) {
        fprintf(stderr, "ixvm: %s\n", err.msg);
        return FE_EXIT_FAIL;
    }
    r->vm = pc_vm(r->pc);
    r->loop = vmm_loop(r->vm);
    return 0;
}

int fe_run(const struct cfg *cfg, const struct fe_run_opts *o)
{
    struct fe_runner *r = calloc(1, sizeof(*r));
    if (!r) {
        fprintf(stderr, "ixvm: out of memory\n");
        return FE_EXIT_FAIL;
    }
    signal(SIGPIPE, SIG_IGN);              /* a closed stdout pipe is an EPIPE, not a kill */
    r->o = o;
    fe_key_seq_init(&r->keys);
    fe_verdict_init(&r->verdict, fe_script_has_expect(&o->script));
    for (unsigned i = 0; i < FE_SERIAL_PORTS; i++)
        r->slot[i] = (struct fe_runner_slot){ r, i };
    enum fe_display d = fe_display_resolve(o->display);
    struct ixvm_errinfo err = { 0 };
    time_t t0 = time(NULL);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime(&t0));
    uint64_t t0_ns = uv_hrtime();
    int status = fe_open_consoles(r, &err) < 0 ? (fprintf(stderr, "ixvm: --console-log: %s\n", err.msg), FE_EXIT_USAGE)
                                               : fe_create_pc(r, cfg, d);
    if (status == 0)
        status = fe_run_machine(r, d);
    if (r->vm) {
        enum vmm_state s = vmm_get_state(r->vm);
        if (s == VMM_STATE_RUNNING || s == VMM_STATE_SUSPENDED)
            (void)vmm_power_off(r->vm, &err);   /* EMTs stop writing; disks are flushed */
        fe_drain_all(r);
    }
    if (status < 0) {                      /* the guest ran: the verdict decides */
        status = r->verdict.status;
        fe_print_reason(r);
        if (o->junit && fe_write_junit(r, (double)(uv_hrtime() - t0_ns) / 1e9, stamp) < 0 && status == 0)
            status = FE_EXIT_FAIL;
        if (o->stats_json && fe_write_stats(r->vm, o->stats_json) < 0 && status == 0)
            status = FE_EXIT_FAIL;
    }
    fe_sdl_close(r);
    if (r->loop)
        fe_close_loop_handles(r);
    fe_sdl_free(r);
    if (fe_console_close(r->all, fe_all_sink, r, &err) < 0 && status == 0) {
        fprintf(stderr, "ixvm: --console-log: %s\n", err.msg);
        status = FE_EXIT_FAIL;
    }
    (void)fe_console_close(r->out, NULL, NULL, &err);
    if (r->script_on)
        fe_script_run_fini(&r->script);
    pc_destroy(r->pc);
    fe_key_seq_free(&r->keys);
    free(r->junit_out);
    free(r);
    return status;
}
