/* SPDX-License-Identifier: MIT */
/*
 * Test helper: serves the fake target (fake_target.h) through the real gdb
 * stub on a libuv loop, for run-gdb-test.sh to drive Debian's gdb against.
 * Usage: gdb_fake_target [SPEC]   (default tcp::0; prints "port N" once
 * listening).  Exits 0 after the first debugger session ends.  Scripted:
 * the instruction at 0x1020 writes 0x12345678 to 0x2000 (for watchpoints).
 * Monitor commands (gdb "monitor ...") run through the monitor core.
 */
#include <stdio.h>
#include <stdlib.h>

#include "frontend/fe_gdb.h"
#include "frontend/fe_monitor.h"
#include "gdb/fake_target.h"

static struct fe_gdb *srv;

static void session_end(void *user)
{
    fe_gdb_close(srv);
}

static int run_monitor(void *user, const char *cmd, const struct ixvm_printer *pr)
{
    return fe_monitor_exec(user, cmd, pr);
}

int main(int argc, char **argv)
{
    static struct fake_target ft;
    fake_init(&ft, 2);
    ft.acc[0] = (struct fake_access){ 0x1020, 0x2000, 0x12345678, true };
    ft.nacc = 1;
    struct dbgf_target tgt = fake_target(&ft);
    struct fe_monitor *mon;
    struct fe_monitor_cfg mcfg = { .tgt = &tgt };
    if (fe_monitor_create(&mcfg, &mon) != 0)
        return 1;
    uv_loop_t *loop = uv_default_loop();
    struct ixvm_errinfo err = { 0 };
    if (fe_gdb_create(loop, &tgt, &srv) != 0)
        return 1;
    fe_gdb_set_rcmd(srv, run_monitor, mon);
    fe_gdb_on_session_end(srv, session_end, NULL);
    if (fe_gdb_listen(srv, argc > 1 ? argv[1] : "tcp::0", &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("port %d\n", fe_gdb_port(srv));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    fe_monitor_destroy(mon);
    return 0;
}
