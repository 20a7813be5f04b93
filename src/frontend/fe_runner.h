/* SPDX-License-Identifier: MIT */
/*
 * Running the PC (docs/frontend.md): the headless CI runner and the SDL
 * window share one driver.  main.c parses the command line into a
 * struct fe_run_opts (its option table is the only place options are
 * declared) and calls fe_run(), which builds the board, wires the console
 * streams (fe_chardev.c), the expect/send script, the verdict, the status
 * line and the window (fe_sdl.c), runs the libuv loop and writes the
 * reports.
 *
 * Threads: everything here runs on the loop thread except the device
 * callbacks (console bytes from EMTs), which only append to fe_console
 * buffers and wake the loop.
 */
#ifndef IXVM_FE_RUNNER_H
#define IXVM_FE_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "frontend/fe_console.h"
#include "frontend/fe_script.h"
#include "frontend/fe_status.h"
#include "frontend/fe_verdict.h"
#include "ixvm/types.h"

struct cfg;
struct pc;
struct vm;
struct dev_ins;
struct fe_debug;
struct fe_debug_opts;

#define FE_SERIAL_PORTS 4      /* COM1..COM4 */
#define FE_MAX_FAIL_ON 16

enum fe_display { FE_DISPLAY_AUTO, FE_DISPLAY_NONE, FE_DISPLAY_SDL };

/* Everything the command line decides about a run.  Strings point into
 * argv or the config and must outlive fe_run(). */
struct fe_run_opts {
    const char *bios;                        /* NULL: the board's default */
    bool no_reboot;
    const char *serial[FE_SERIAL_PORTS];     /* COM1..4: stdio, file:P, tcp:H:P, none */
    unsigned nserial;                        /* --serial options given */
    const char *debugcon;                    /* NULL: none */
    enum fe_display display;
    bool full_screen, integer_scale;
    double timeout;                          /* seconds; 0: none */
    struct fe_script script;                 /* --expect / --send / --input-script */
    const char *fail_on[FE_MAX_FAIL_ON];
    size_t nfail;
    const char *screenshot, *junit, *console_log, *stats_json;
    const char *name;                        /* JUnit test case name; NULL: "ixvm" */
    const char *screen_text;                 /* --dump-screen-text FILE (pc_dump_screen_text) */
    const struct fe_debug_opts *debug;       /* --gdb, --monitor, --trace...: fe_debug.c; NULL: none */
    bool quiet;
};

void fe_run_opts_init(struct fe_run_opts *o);
void fe_run_opts_fini(struct fe_run_opts *o);

/* Check a --serial / --debugcon destination: stdio, none, file:PATH or
 * (allow_tcp) tcp:HOST:PORT.  The message says what is wrong. */
int fe_dest_check(const char *v, bool allow_tcp, struct ixvm_errinfo *err) IXVM_WUR;
/* tcp:HOST:PORT: check now that the port can be bound (a port in use is
 * bad input, reported before the machine is built); other kinds: 0. */
int fe_dest_probe(const char *v, struct ixvm_errinfo *err) IXVM_WUR;
/* Check that FILE can be created (its directory exists and is writable). */
int fe_path_check_writable(const char *path, struct ixvm_errinfo *err) IXVM_WUR;

/* The display fe_run() will use: AUTO becomes SDL when $DISPLAY or
 * $WAYLAND_DISPLAY is set, else NONE. */
enum fe_display fe_display_resolve(enum fe_display d);

/*
 * Build the machine from cfg and run it until a verdict.  Returns the
 * process exit status (docs/frontend.md): 2 for bad input found before the
 * guest runs (a file that cannot be created, a TCP port in use), with one
 * line on stderr naming the option.
 */
int fe_run(const struct cfg *cfg, const struct fe_run_opts *o);

/* ---- shared between fe_runner*.c, fe_chardev.c and fe_sdl.c ---------------- */

struct fe_chardev;
struct fe_sdl;
struct fe_runner;

/* A serial port's sink user: the runner and the port index (the chardev
 * is created after the board, the board's sink needs a stable pointer). */
struct fe_runner_slot {
    struct fe_runner *r;
    unsigned index;
};

/* Power states the window shows in its title. */
const char *fe_runner_state_text(struct vm *vm);

struct fe_runner {
    const struct fe_run_opts *o;             /* [const] */
    struct pc *pc;                           /* [const after create] */
    struct vm *vm;
    uv_loop_t *loop;
    struct dev_ins *vga, *kbc;               /* NULL when the board has none */
    struct fe_verdict verdict;               /* [loop] */
    struct fe_script_run script;             /* [loop] */
    bool script_on;
    struct fe_console *all;                  /* [any writes] COM1 + debugcon: matchers, log, JUnit */
    struct fe_console *out;                  /* [any writes] what goes to stdout */
    struct fe_chardev *ports[FE_SERIAL_PORTS];  /* [loop writes before power-on] */
    struct fe_runner_slot slot[FE_SERIAL_PORTS];
    struct fe_chardev *debugcon;
    struct fe_status status;                 /* [loop] */
    struct fe_sdl *sdl;                      /* [loop] the window, or NULL */
    uv_async_t wake;
    uv_timer_t timeout_timer, status_timer, script_timer, key_timer, screen_timer, line_timer;
    uv_signal_t sigint, sigterm;
    unsigned handles;                        /* [loop] open handles to close at exit */
    /* Keys queued for the PS/2 keyboard, sent one event at a time while the
     * keyboard's buffer is empty (ps2_kbd_pending).  [loop] */
    struct fe_key_seq keys;
    size_t key_pos;
    /* The console output kept for the JUnit report (first FE_JUNIT_MAX). */
    char *junit_out;
    size_t junit_len, junit_cap;
    uint64_t start_ms;
    uint64_t last_insns, last_insn_ms;       /* for the MIPS figure */
    double mips;
    bool stopping;
    bool no_vga_reported;
    struct fe_debug *dbg;                    /* [loop] the debugger (fe_debug.c), or NULL */
};

#define FE_JUNIT_MAX (4u << 20)

/* Decide the verdict with ev (first event wins) and stop the loop. */
void fe_runner_decide(struct fe_runner *r, enum fe_verdict_event ev, uint64_t value, const char *detail);
/* Queue key events for the keyboard (the script's send, the window). */
int fe_runner_send_keys(void *user, const struct fe_key_event *ev, size_t n);
/* Save the screen to path; prints one line on stderr when there is no VGA
 * or the file cannot be written.  Returns 0 or a negative status. */
int fe_runner_screenshot(struct fe_runner *r, const char *path);
/* Guest MIPS over the last interval (updated by the status timer). */
double fe_runner_mips(struct fe_runner *r);
/* Count an open handle (closed by fe_runner at exit). */
void fe_runner_handle_opened(struct fe_runner *r);
void fe_runner_handle_closed(uv_handle_t *h);

/* fe_chardev.c: one guest character device's host side. */
int fe_chardev_open(struct fe_runner *r, const char *opt, const char *dest, struct dev_ins *uart,
                    bool take_stdin, struct fe_chardev **out, struct ixvm_errinfo *err) IXVM_WUR;
/* The board's sink callback (any thread): bytes the guest wrote. */
void fe_chardev_write(void *user, const uint8_t *buf, size_t len);
/* Loop thread: hand an unfinished line to the runner's console once it
 * stopped growing (force: now).  Returns true when a line is still held. */
bool fe_chardev_flush_line(struct fe_chardev *c, bool force);
/* Loop thread: move buffered output on; close at exit. */
void fe_chardev_drain(struct fe_chardev *c);
void fe_chardev_close(struct fe_chardev *c);
/* After the close callbacks ran (c may be NULL). */
void fe_chardev_free(struct fe_chardev *c);
/* Restore the terminal (stdin raw mode) early, e.g. before printing. */
void fe_chardev_restore_tty(void);

#endif
