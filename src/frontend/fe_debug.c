/* SPDX-License-Identifier: MIT */
/*
 * The debugger on the command line (fe_debug.h, docs/debugging.md): parses
 * --gdb/--wait-for-gdb/--monitor/--trace/--trace-filter/--trace-interrupts/
 * --symbols, and for a run creates the VM debug target (dbgf_vm.c), loads
 * the symbols, opens the trace file, starts the gdb stub and the monitor
 * (stdio or a unix socket), and at the end reports the exit status to gdb.
 *
 * Stop events go to gdb and, with a stdio monitor, are printed there too:
 * the stub is given a copy of the target whose set_stop_cb lands here, and
 * this file's receiver fans events out.  The stdio monitor reads lines on
 * a small thread (stdin may be a terminal, a pipe or a file) and runs each
 * command on the loop thread, like the gdb stub.
 *
 * Threads: everything on the loop thread except the stdin reader and the
 * stop receiver (any thread), which only queue and uv_async_send.
 */
#define LOG_GROUP LOG_GROUP_FE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_debug.h"
#include "frontend/fe_gdb.h"
#include "frontend/fe_keys.h"
#include "frontend/fe_monitor.h"
#include "frontend/fe_runner.h"
#include "ixvm/dbgf_vm.h"
#include "ixvm/log.h"
#include "ixvm/pc.h"
#include "ixvm/vmm.h"

#define FE_DBG_LINES 64   /* stdin lines and stop events queued for the loop */

/* The stdin reader's mailbox.  Static: the thread may still be blocked in
 * fgets when the run ends; it must find valid memory then. */
static struct fe_dbg_stdin {
    pthread_mutex_t lock;
    char *lines[FE_DBG_LINES];              /* [lock] */
    unsigned nlines;                        /* [lock] */
    uv_async_t *async;                      /* [lock] NULL once closed */
    bool started;                           /* [loop] */
} fe_dbg_in = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct fe_debug {
    struct fe_runner *r;
    struct dbgf_vm *dv;
    struct dbgf_sym *sym;
    FILE *trace_f;
    struct fe_gdb *gdb;
    struct fe_monitor *gdb_mon;             /* for "monitor CMD" in gdb */
    struct fe_monitor *mon;                 /* --monitor */
    struct fe_monitor_server *msrv;
    struct dbgf_target gdb_tgt;             /* the target with set_stop_cb below */
    struct dbgf_target_ops gdb_ops;
    pthread_mutex_t lock;
    dbgf_stop_fn *gdb_cb;                   /* [lock] */
    void *gdb_user;                         /* [lock] */
    struct dbgf_stop_event evs[FE_DBG_LINES];   /* [lock] for the stdio monitor */
    unsigned nevs;                          /* [lock] */
    bool stdio_mon;                         /* [const] */
    uv_async_t async;                       /* stdin lines and stop events */
    bool async_open;
};

/* ---- options -------------------------------------------------------------------- */

static int fe_dbg_check_sym(const char *v, struct ixvm_errinfo *err, char *path, size_t size, int64_t *bias)
{
    const char *at = strrchr(v, '@');
    size_t n = at ? (size_t)(at - v) : strlen(v);
    if (n == 0 || n >= size)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "'%s' is not FILE.elf[@BIAS]", v);
    memcpy(path, v, n);
    path[n] = '\0';
    *bias = 0;
    if (at) {
        char *end;
        errno = 0;
        *bias = strtoll(at + 1, &end, 0);
        if (!at[1] || *end || errno)
            return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "bias '%s' is not a number", at + 1);
    }
    return 0;
}

static int fe_dbg_load_sym(struct dbgf_sym *s, const char *v, struct ixvm_errinfo *err)
{
    char path[1024];
    int64_t bias;
    int rc = fe_dbg_check_sym(v, err, path, sizeof(path), &bias);
    return rc < 0 ? rc : dbgf_sym_load_elf(s, path, bias, err);
}

static int fe_dbg_check_spec(const char *v, bool stdio_ok, struct ixvm_errinfo *err)
{
    if ((stdio_ok && !strcmp(v, "stdio")) || (!strncmp(v, "unix:", 5) && v[5]))
        return 0;
    if (!stdio_ok && !strncmp(v, "tcp:", 4) && strchr(v + 4, ':'))
        return 0;
    return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "'%s' is not %s", v,
                            stdio_ok ? "stdio or unix:PATH" : "tcp::PORT, tcp:HOST:PORT or unix:PATH");
}

int fe_debug_option(struct fe_debug_opts *o, const char *opt, const char *v, struct ixvm_errinfo *err)
{
    if (!strcmp(opt, "--wait-for-gdb")) {
        o->wait_for_gdb = true;
        return 0;
    }
    if (!strcmp(opt, "--trace-interrupts")) {
        o->trace_intrs = true;
        return 0;
    }
    if (!v)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "missing value");
    if (!strcmp(opt, "--gdb")) {
        o->gdb = v;
        return fe_dbg_check_spec(v, false, err);
    }
    if (!strcmp(opt, "--monitor")) {
        o->monitor = v;
        return fe_dbg_check_spec(v, true, err);
    }
    if (!strcmp(opt, "--trace")) {
        o->trace = v;
        return strcmp(v, "-") ? fe_path_check_writable(v, err) : 0;
    }
    if (!strcmp(opt, "--trace-filter")) {
        struct dbgf_trace_filter f;
        dbgf_trace_filter_init(&f);
        o->trace_filter = v;
        return dbgf_trace_filter_parse(&f, v, err);
    }
    if (!strcmp(opt, "--symbols")) {
        if (o->nsym >= FE_DEBUG_MAX_SYMS)
            return ixvm_errinfo_set(err, IXVM_ERR_OUT_OF_RANGE, "at most %d symbol files", FE_DEBUG_MAX_SYMS);
        struct dbgf_sym *s;
        if (dbgf_sym_create(&s) < 0)
            return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "out of memory");
        int rc = fe_dbg_load_sym(s, v, err);   /* load once now: bad files fail before the guest runs */
        dbgf_sym_destroy(s);
        if (rc >= 0)
            o->symbols[o->nsym++] = v;
        return rc;
    }
    return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "not a debugger option");
}

int fe_debug_prepare(struct fe_debug_opts *o, struct fe_run_opts *run, struct ixvm_errinfo *err)
{
    if (o->wait_for_gdb && !o->gdb && !o->monitor)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "needs --gdb or --monitor");
    if (o->monitor && !strcmp(o->monitor, "stdio") && run->nserial == 0) {
        run->serial[0] = "none";   /* the terminal's input is the monitor's */
        run->nserial = 1;
    }
    if (o->gdb || o->monitor || o->trace || o->trace_intrs || o->nsym || o->trace_filter)
        run->debug = o;
    return 0;
}

/* ---- machine hooks for the monitor --------------------------------------------- */

static int fe_dbg_power_off(void *user)
{
    struct fe_debug *d = user;
    struct ixvm_errinfo err = { 0 };
    int rc = vmm_power_off(d->r->vm, &err);
    vmm_stop_loop(d->r->vm);
    return rc == IXVM_ERR_INVALID_STATE ? 0 : rc;
}

static int fe_dbg_screenshot(void *user, const char *file)
{
    struct fe_debug *d = user;
    return fe_runner_screenshot(d->r, file);
}

static int fe_dbg_sendkey(void *user, const char *chord)
{
    struct fe_debug *d = user;
    struct fe_key_seq seq;
    struct ixvm_errinfo err = { 0 };
    fe_key_seq_init(&seq);
    int rc = fe_keys_parse_chord(&seq, chord, strlen(chord), &err);
    if (rc >= 0)
        rc = fe_runner_send_keys(d->r, seq.ev, seq.n);
    fe_key_seq_free(&seq);
    return rc < 0 ? rc : 0;
}

static int fe_dbg_log_spec(void *user, const char *spec, struct ixvm_errinfo *err)
{
    return log_set_spec(spec, err);
}

/* ---- stop events: gdb and the stdio monitor --------------------------------------- */

static void fe_dbg_stop_event(void *user, const struct dbgf_stop_event *ev)
{
    struct fe_debug *d = user;
    pthread_mutex_lock(&d->lock);
    if (d->gdb_cb)
        d->gdb_cb(d->gdb_user, ev);
    bool post = d->stdio_mon && d->async_open && d->nevs < FE_DBG_LINES;
    if (post)
        d->evs[d->nevs++] = *ev;
    pthread_mutex_unlock(&d->lock);
    if (post)
        uv_async_send(&d->async);
}

/* set_stop_cb of the stub's copy of the target. */
static void fe_dbg_gdb_set_cb(void *t, dbgf_stop_fn *fn, void *user)
{
    struct fe_debug *d = t;
    pthread_mutex_lock(&d->lock);
    d->gdb_cb = fn;
    d->gdb_user = user;
    pthread_mutex_unlock(&d->lock);
}

/* The stub's copy: every hook forwards to the VM target but set_stop_cb. */
#define FE_DBG_FWD(name, ret, params, args)                                  \
    static ret fe_dbg_fwd_##name params                                      \
    {                                                                        \
        struct fe_debug *d = t;                                              \
        const struct dbgf_target *x = dbgf_vm_target(d->dv);                 \
        return x->ops->name args;                                            \
    }
FE_DBG_FWD(cpu_count, uint32_t, (void *t), (x->t))
FE_DBG_FWD(get_regs, int, (void *t, uint32_t c, struct cpum_state *s), (x->t, c, s))
FE_DBG_FWD(set_regs, int, (void *t, uint32_t c, const struct cpum_state *s), (x->t, c, s))
FE_DBG_FWD(read_lin, int, (void *t, uint32_t c, glin_t a, void *b, size_t n), (x->t, c, a, b, n))
FE_DBG_FWD(write_lin, int, (void *t, uint32_t c, glin_t a, const void *b, size_t n), (x->t, c, a, b, n))
FE_DBG_FWD(read_phys, int, (void *t, gphys_t a, void *b, size_t n), (x->t, a, b, n))
FE_DBG_FWD(write_phys, int, (void *t, gphys_t a, const void *b, size_t n), (x->t, a, b, n))
FE_DBG_FWD(bp_set, int, (void *t, enum dbgf_bp_type y, glin_t a, unsigned n), (x->t, y, a, n))
FE_DBG_FWD(bp_clear, int, (void *t, enum dbgf_bp_type y, glin_t a, unsigned n), (x->t, y, a, n))
FE_DBG_FWD(stop, int, (void *t), (x->t))
FE_DBG_FWD(cont, int, (void *t), (x->t))
FE_DBG_FWD(step, int, (void *t, uint32_t c), (x->t, c))
FE_DBG_FWD(cpu_bits, unsigned, (void *t, uint32_t c), (x->t, c))
FE_DBG_FWD(reset, int, (void *t), (x->t))
FE_DBG_FWD(power_off, int, (void *t), (x->t))
FE_DBG_FWD(screenshot, int, (void *t, const char *f), (x->t, f))
FE_DBG_FWD(sendkey, int, (void *t, const char *k), (x->t, k))
FE_DBG_FWD(trace_set, int, (void *t, bool on), (x->t, on))
FE_DBG_FWD(log_spec, int, (void *t, const char *s, struct ixvm_errinfo *e), (x->t, s, e))

static const struct dbgf_target_ops fe_dbg_gdb_ops = {
    .cpu_count = fe_dbg_fwd_cpu_count, .get_regs = fe_dbg_fwd_get_regs, .set_regs = fe_dbg_fwd_set_regs,
    .read_lin = fe_dbg_fwd_read_lin, .write_lin = fe_dbg_fwd_write_lin, .read_phys = fe_dbg_fwd_read_phys,
    .write_phys = fe_dbg_fwd_write_phys, .bp_set = fe_dbg_fwd_bp_set, .bp_clear = fe_dbg_fwd_bp_clear,
    .stop = fe_dbg_fwd_stop, .cont = fe_dbg_fwd_cont, .step = fe_dbg_fwd_step,
    .set_stop_cb = fe_dbg_gdb_set_cb, .cpu_bits = fe_dbg_fwd_cpu_bits, .reset = fe_dbg_fwd_reset,
    .power_off = fe_dbg_fwd_power_off, .screenshot = fe_dbg_fwd_screenshot, .sendkey = fe_dbg_fwd_sendkey,
    .trace_set = fe_dbg_fwd_trace_set, .log_spec = fe_dbg_fwd_log_spec,
};

/* ---- the stdio monitor -------------------------------------------------------------- */

static void fe_dbg_prompt(void)
{
    if (isatty(STDIN_FILENO)) {
        fputs("(ixvm) ", stdout);
        fflush(stdout);
    }
}

static void *fe_dbg_stdin_thread(void *arg)
{
    char buf[4096];
    while (fgets(buf, sizeof(buf), stdin)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        char *line = strdup(buf);
        pthread_mutex_lock(&fe_dbg_in.lock);
        bool ok = line && fe_dbg_in.async && fe_dbg_in.nlines < FE_DBG_LINES;
        if (ok) {
            fe_dbg_in.lines[fe_dbg_in.nlines++] = line;
            uv_async_send(fe_dbg_in.async);
        }
        pthread_mutex_unlock(&fe_dbg_in.lock);
        if (!ok) {
            free(line);
            pthread_mutex_lock(&fe_dbg_in.lock);
            bool closed = !fe_dbg_in.async;
            pthread_mutex_unlock(&fe_dbg_in.lock);
            if (closed)
                return NULL;
            usleep(10000);   /* the loop is busy: the queue drains soon */
        }
    }
    return NULL;
}

static void fe_dbg_async_cb(uv_async_t *a)
{
    struct fe_debug *d = a->data;
    struct ixvm_printer pr = ixvm_printer_file(stdout);
    pthread_mutex_lock(&d->lock);
    struct dbgf_stop_event evs[FE_DBG_LINES];
    unsigned nev = d->nevs;
    memcpy(evs, d->evs, nev * sizeof(evs[0]));
    d->nevs = 0;
    pthread_mutex_unlock(&d->lock);
    for (unsigned i = 0; i < nev; i++)
        fe_monitor_print_stop(&evs[i], &pr);
    for (;;) {
        pthread_mutex_lock(&fe_dbg_in.lock);
        char *line = NULL;
        if (fe_dbg_in.nlines) {
            line = fe_dbg_in.lines[0];
            memmove(fe_dbg_in.lines, fe_dbg_in.lines + 1, --fe_dbg_in.nlines * sizeof(char *));
        }
        pthread_mutex_unlock(&fe_dbg_in.lock);
        if (!line)
            break;
        int rc = d->mon ? fe_monitor_exec(d->mon, line, &pr) : 0;
        free(line);
        fflush(stdout);
        if (rc == FE_MONITOR_QUIT)
            break;
        fe_dbg_prompt();
    }
    fflush(stdout);
}

static int fe_dbg_start_stdio(struct fe_debug *d)
{
    if (uv_async_init(d->r->loop, &d->async, fe_dbg_async_cb) != 0)
        return IXVM_ERR_GENERAL;
    d->async.data = d;
    d->async_open = true;
    pthread_mutex_lock(&fe_dbg_in.lock);
    fe_dbg_in.async = &d->async;
    pthread_mutex_unlock(&fe_dbg_in.lock);
    if (!fe_dbg_in.started) {
        /* Detached: it may still block in fgets when the run ends. */
        pthread_t th;
        if (pthread_create(&th, NULL, fe_dbg_stdin_thread, NULL) != 0)
            return IXVM_ERR_THREAD;
        pthread_detach(th);
        fe_dbg_in.started = true;
    }
    fe_dbg_prompt();
    return 0;
}

/* ---- start / stop ---------------------------------------------------------------------- */

static int fe_dbg_run_rcmd(void *user, const char *cmd, const struct ixvm_printer *pr)
{
    return fe_monitor_exec(user, cmd, pr);
}

static int fe_dbg_open_tools(struct fe_debug *d, const struct fe_debug_opts *o, struct dbgf_vm_opts *vo,
                             struct ixvm_errinfo *err)
{
    int rc = dbgf_sym_create(&d->sym);
    for (unsigned i = 0; rc >= 0 && i < o->nsym; i++)
        rc = fe_dbg_load_sym(d->sym, o->symbols[i], err);
    if (rc < 0)
        return err->msg[0] ? rc : ixvm_errinfo_set(err, rc, "--symbols: %s", ixvm_strerror(rc));
    dbgf_trace_filter_init(&vo->filter);
    if (o->trace_filter && dbgf_trace_filter_parse(&vo->filter, o->trace_filter, err) < 0)
        return IXVM_ERR_SYNTAX;
    if (o->trace && strcmp(o->trace, "-")) {
        d->trace_f = fopen(o->trace, "w");
        if (!d->trace_f)
            return ixvm_errinfo_set(err, IXVM_ERR_IO, "--trace: cannot create '%s': %s", o->trace, strerror(errno));
    }
    vo->sym = d->sym;
    vo->trace_out = d->trace_f;
    vo->trace_insns = o->trace != NULL;
    vo->trace_intrs = o->trace_intrs;
    vo->hold_at_start = o->wait_for_gdb;
    vo->hold_on_triple = o->gdb != NULL;
    return 0;
}

static int fe_dbg_start_servers(struct fe_debug *d, const struct fe_debug_opts *o, struct ixvm_errinfo *err)
{
    const struct dbgf_target *tgt = dbgf_vm_target(d->dv);
    struct fe_monitor_cfg mc = { .tgt = tgt, .info = vmm_info_reg(d->r->vm), .sym = d->sym,
                                 .flight = dbgf_vm_flight(d->dv) };
    int rc = 0;
    if (o->monitor) {
        rc = fe_monitor_create(&mc, &d->mon);
        d->stdio_mon = rc >= 0 && !strcmp(o->monitor, "stdio");
        if (rc >= 0)
            rc = d->stdio_mon ? fe_dbg_start_stdio(d) : fe_monitor_listen(d->mon, d->r->loop, o->monitor, &d->msrv, err);
        if (rc < 0)
            return err->msg[0] ? rc : ixvm_errinfo_set(err, rc, "--monitor %s: %s", o->monitor, ixvm_strerror(rc));
    }
    if (!o->gdb)
        return 0;
    d->gdb_tgt = (struct dbgf_target){ &fe_dbg_gdb_ops, d };
    mc.tgt = &d->gdb_tgt;
    rc = fe_monitor_create(&mc, &d->gdb_mon);
    if (rc >= 0)
        rc = fe_gdb_create(d->r->loop, &d->gdb_tgt, &d->gdb);
    if (rc < 0)
        return ixvm_errinfo_set(err, rc, "--gdb: %s", ixvm_strerror(rc));
    fe_gdb_set_rcmd(d->gdb, fe_dbg_run_rcmd, d->gdb_mon);
    rc = fe_gdb_listen(d->gdb, o->gdb, err);
    if (rc < 0)
        return rc;
    if (!strncmp(o->gdb, "tcp:", 4))
        fprintf(stderr, "ixvm: gdb stub listening on port %d%s\n", fe_gdb_port(d->gdb),
                o->wait_for_gdb ? " (waiting for gdb)" : "");
    return 0;
}

static void fe_dbg_free(struct fe_debug *d)
{
    if (d->async_open) {
        pthread_mutex_lock(&fe_dbg_in.lock);
        fe_dbg_in.async = NULL;
        for (unsigned i = 0; i < fe_dbg_in.nlines; i++)
            free(fe_dbg_in.lines[i]);
        fe_dbg_in.nlines = 0;
        pthread_mutex_unlock(&fe_dbg_in.lock);
        uv_close((uv_handle_t *)&d->async, NULL);
        d->async_open = false;
    }
    if (d->gdb)
        fe_gdb_close(d->gdb);
    if (d->msrv)
        fe_monitor_server_close(d->msrv);
    /* The close callbacks run on the loop; handles must be gone before free. */
    for (int i = 0; i < 20; i++)
        uv_run(d->r->loop, UV_RUN_NOWAIT);
    dbgf_vm_destroy(d->dv);
    fe_monitor_destroy(d->mon);
    fe_monitor_destroy(d->gdb_mon);
    dbgf_sym_destroy(d->sym);
    if (d->trace_f)
        fclose(d->trace_f);
    else
        fflush(stderr);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int fe_debug_start(struct fe_runner *r, struct ixvm_errinfo *err)
{
    const struct fe_debug_opts *o = r->o->debug;
    if (!o)
        return 0;
    struct fe_debug *d = calloc(1, sizeof(*d));
    if (!d)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "debugger: out of memory");
    d->r = r;
    pthread_mutex_init(&d->lock, NULL);
    struct dbgf_vm_opts vo = { 0 };
    struct dbgf_vm_hooks h = { .power_off = fe_dbg_power_off, .screenshot = fe_dbg_screenshot,
                               .sendkey = fe_dbg_sendkey, .log_spec = fe_dbg_log_spec, .user = d };
    int rc = fe_dbg_open_tools(d, o, &vo, err);
    if (rc >= 0)
        rc = dbgf_vm_create(r->vm, pc_pgm(r->pc), &vo, &h, &d->dv, err);
    if (rc >= 0)
        dbgf_vm_target(d->dv)->ops->set_stop_cb(dbgf_vm_target(d->dv)->t, fe_dbg_stop_event, d);
    if (rc >= 0)
        rc = fe_dbg_start_servers(d, o, err);
    if (rc < 0) {
        fe_dbg_free(d);
        return rc;
    }
    r->dbg = d;
    return 0;
}

void fe_debug_stop(struct fe_runner *r)
{
    struct fe_debug *d = r->dbg;
    if (!d)
        return;
    r->dbg = NULL;
    const char *why = NULL;
    int st = pc_exit_status(r->pc, &why);
    dbgf_vm_exited(d->dv, st < 0 ? 0 : st);
    /* Let the stub send the exit packet before it closes. */
    for (int i = 0; i < 50; i++) {
        uv_run(r->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    fe_dbg_free(d);
}
