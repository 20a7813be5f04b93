/* SPDX-License-Identifier: MIT */
/*
 * Monitor core against the fake target: x/xp formats, disas, regs,
 * expressions ($reg, symbols), breakpoints, step/cont/stop, cpu, hooks
 * (trace, log, screenshot, sendkey, reset, quit), info passthrough to the
 * dbgf registry, errors as messages, the stream reader, and a parser fuzz.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frontend/fe_monitor.h"
#include "gdb/fake_target.h"

static struct fake_target *ft;
static struct fe_monitor *mon;
static struct dbgf_info_reg *info;
static struct dbgf_sym *sym;
static char out[65536];
static size_t out_len;

static void cap_print(void *user, const char *text)
{
    size_t n = strlen(text);
    cr_assert_lt(out_len + n, sizeof(out));
    memcpy(out + out_len, text, n + 1);
    out_len += n;
}

static const struct ixvm_printer cap = { cap_print, NULL };

static void fflags_handler(void *user, const struct ixvm_printer *pr, const char *args)
{
    ixvm_pr(pr, "VM_FF: REQUEST args=[%s]\n", args ? args : "(null)");
}

static void setup(void)
{
    ft = calloc(1, sizeof(*ft));
    fake_init(ft, 2);
    cr_assert_eq(dbgf_info_create(&info), 0);
    cr_assert_eq(dbgf_info_register(info, "fflags", "forced-action flags", fflags_handler, NULL), 0);
    cr_assert_eq(dbgf_sym_create(&sym), 0);
    cr_assert_eq(dbgf_sym_add(sym, "start", 0x1000, 0x10), 0);
    struct dbgf_target t = fake_target(ft);
    struct fe_monitor_cfg cfg = { .tgt = &t, .info = info, .sym = sym };
    cr_assert_eq(fe_monitor_create(&cfg, &mon), 0);
}

static void teardown(void)
{
    fe_monitor_destroy(mon);
    dbgf_sym_destroy(sym);
    dbgf_info_destroy(info);
    free(ft);
}

TestSuite(fe_monitor, .init = setup, .fini = teardown);

static const char *run(const char *line, int expect_rc)
{
    out_len = 0;
    out[0] = '\0';
    int rc = fe_monitor_exec(mon, line, &cap);
    cr_expect_eq(rc, expect_rc, "'%s': rc %d, output: %s", line, rc, out);
    return out;
}

Test(fe_monitor, x_formats)
{
    cr_expect_str_eq(run("x/4xw 0x1000", 0), "00001000: 03020100 07060504 0b0a0908 0f0e0d0c\n");
    cr_expect_str_eq(run("x/3xb 0x10fe", 0), "000010fe: fe ff 00\n");
    cr_expect_str_eq(run("x/2xh 0x1002", 0), "00001002: 0302 0504\n");
    cr_expect_str_eq(run("x/1xg 0x1000", 0), "00001000: 0706050403020100\n");
    cr_expect_str_eq(run("x/5xw 0x1000", 0),
                     "00001000: 03020100 07060504 0b0a0908 0f0e0d0c\n00001010: 13121110\n");
    cr_expect_str_eq(run("x /2db 0x10fe", 0), "000010fe: -2 -1\n");
    cr_expect_str_eq(run("x/2ub 0x10fe", 0), "000010fe: 254 255\n");
    cr_expect_str_eq(run("x/1ob 0x1008", 0), "00001008: 10\n");
    cr_expect_str_eq(run("x/6c 0x1041", 0), "00001041: ABCDEF\n");
    cr_expect_str_eq(run("x/2c 0x100a", 0), "0000100a: ..\n");
    /* Sticky format and size: "x ADDR" reuses the last ones. */
    run("x/1xh 0x1000", 0);
    cr_expect_str_eq(run("x 0x1004", 0), "00001004: 0504\n");
    /* Expressions: symbols, registers, + and -. */
    cr_expect_str_eq(run("x/1xb start+4", 0), "00001004: 04\n");
    cr_expect_str_eq(run("x/1xb $eip-1", 0), "00000fff: ff\n");
    cr_expect_str_eq(run("xp/1xw 0x2000", 0), "00002000: 03020100\n");
}

Test(fe_monitor, x_instructions_and_disas)
{
    memcpy(&ft->mem[0x1000], "\x89\xd8\xb8\x05\x00\x00\x00\xc3", 8);
    cr_expect_str_eq(run("x/3i 0x1000", 0),
                     "00001000 <start>: 89 d8                 mov eax, ebx\n"
                     "00001002 <start+0x2>: b8 05 00 00 00        mov eax, 5\n"
                     "00001007 <start+0x7>: c3                    ret\n");
    cr_expect_str_eq(run("disas 0x1007 1", 0), "00001007 <start+0x7>: c3                    ret\n");
    /* Default: at CS:EIP, 10 lines; 16-bit when the vCPU runs 16-bit code. */
    const char *r = run("disas", 0);
    cr_expect_eq(strncmp(r, "00001000 <start>: 89 d8", 23), 0, "%s", r);
    int lines = 0;
    for (const char *p = r; (p = strchr(p, '\n')); p++)
        lines++;
    cr_expect_eq(lines, 10);
    ft->bits = 16;
    cr_expect_str_eq(run("disas 0x1002 1", 0), "00001002 <start+0x2>: b8 05 00              mov ax, 5\n");
}

Test(fe_monitor, x_errors)
{
    cr_expect_str_eq(run("x/4xw 0x20000", IXVM_ERR_IO), "error: cannot read memory at 0x20000\n");
    cr_expect_str_eq(run("x/8xw 0xfff8", IXVM_ERR_IO),
                     "0000fff8: fbfaf9f8 fffefdfc\nerror: cannot read memory at 0x10000\n");
    cr_expect_str_eq(run("x/4q 0x1000", IXVM_ERR_SYNTAX),
                     "error: x/4q: unknown format letter 'q' (use x d u o c i, b h w g)\n");
    cr_expect_str_eq(run("x/0x 0x1000", IXVM_ERR_OUT_OF_RANGE), "error: x/0x: count must be 1..4096\n");
    cr_expect_str_eq(run("x/4xw nosuch", IXVM_ERR_NOT_FOUND), "error: unknown symbol 'nosuch'\n");
    cr_expect_str_eq(run("x/4xw $foo", IXVM_ERR_NOT_FOUND), "error: unknown register '$foo'\n");
    cr_expect_str_eq(run("x/4xw 12zz", IXVM_ERR_SYNTAX), "error: bad number '12zz'\n");
    cr_expect_str_eq(run("x/4xw 1+", IXVM_ERR_SYNTAX), "error: bad expression: empty or too long term\n");
    cr_expect_str_eq(run("x", IXVM_ERR_SYNTAX), "error: usage: x /FMT ADDR\n");
    cr_expect_str_eq(run("regs/x", IXVM_ERR_SYNTAX), "error: regs: takes no /FMT\n");
}

Test(fe_monitor, regs_and_cpu)
{
    ft->cpu[1].gpr[CPUM_EBX] = 0xcafe;
    cr_expect_str_eq(run("cpu", 0), "cpu 0 of 2\n");
    run("cpu 1", 0);
    const char *r = run("regs", 0);
    cr_expect_not_null(strstr(r, "cpu1 p32 cpl=0\n"), "%s", r);
    cr_expect_not_null(strstr(r, "eax=00000000 ebx=0000cafe ecx=00000000 edx=00000000\n"), "%s", r);
    cr_expect_not_null(strstr(r, "eip=00001100 eflags=00000002\n"), "%s", r);
    cr_expect_not_null(strstr(r, "cs=0008 base=00000000 limit=ffffffff attr=0409b\n"), "%s", r);
    cr_expect_not_null(strstr(r, "cr0=00000011 cr2=00000000 cr3=00003000 cr4=00000000\n"), "%s", r);
    cr_expect_str_eq(run("cpu 2", IXVM_ERR_OUT_OF_RANGE), "error: cpu: '2' is not a vCPU (0..1)\n");
    cr_expect_str_eq(run("cpu x", IXVM_ERR_OUT_OF_RANGE), "error: cpu: 'x' is not a vCPU (0..1)\n");
}

Test(fe_monitor, breakpoints_step_cont)
{
    cr_expect_str_eq(run("break start+0x10", 0), "breakpoint 1 at 0x1010\n");
    cr_expect_str_eq(run("watch 0x2000 4", 0), "watchpoint 2 at 0x2000\n");
    cr_expect_str_eq(run("watch 0x2000 3", IXVM_ERR_OUT_OF_RANGE), "error: watch: length must be 1, 2, 4 or 8\n");
    cr_expect_str_eq(run("break 1 2", IXVM_ERR_SYNTAX), "error: usage: break [ADDR]\n");
    cr_expect_str_eq(run("hbreak 0x1500", 0), "breakpoint 3 at 0x1500\n");
    run("awatch 0x3000 8", 0);
    run("rwatch 0x3100 8", 0);
    cr_expect_str_eq(run("rwatch 0x3200 8", IXVM_ERR_BUSY), "error: rwatch 0x3200: no free debug register\n");
    cr_expect_str_eq(run("break", 0),
                     "1: break 0x1010 len 1\n2: watch 0x2000 len 4\n3: hbreak 0x1500 len 1\n"
                     "4: awatch 0x3000 len 8\n5: rwatch 0x3100 len 8\n");
    run("cont", 0);
    cr_expect_eq(ft->cpu[0].eip, 0x1010u);
    cr_expect_str_eq(run("step 2", 0), "00001012: 12 13                 adc dl, byte ptr [ebx]\n");   /* past start's size */
    cr_expect_eq(ft->steps, 2u);
    run("delete 1", 0);
    cr_expect_not_null(strstr(ft->log, "bp_clear break 0x1010 1"));
    cr_expect_str_eq(run("delete 1", IXVM_ERR_NOT_FOUND), "error: delete: no breakpoint 1\n");
    run("delete all", 0);
    cr_expect_str_eq(run("break", 0), "");
    run("stop", 0);
    cr_expect_eq(ft->stops, 1u);
    cr_expect_str_eq(run("step 0", IXVM_ERR_OUT_OF_RANGE), "error: count '0' must be 1..1000000\n");
}

Test(fe_monitor, hooks)
{
    run("trace on", 0);
    run("trace off", 0);
    cr_expect_str_eq(run("trace maybe", IXVM_ERR_SYNTAX), "error: trace: expected on or off, not 'maybe'\n");
    run("log +iem.e.l2 -dev_vga", 0);
    cr_expect_str_eq(run("log nosuch", IXVM_ERR_UNKNOWN_KEY), "error: log: unknown log group 'nosuch'\n");
    run("screenshot /tmp/x.png", 0);
    run("sendkey ctrl-alt-delete", 0);
    cr_expect_str_eq(run("sendkey bogus", IXVM_ERR_NOT_FOUND), "error: sendkey 'bogus': not found\n");
    run("system_reset", 0);
    cr_expect_str_eq(ft->log, "trace on\ntrace off\nlog +iem.e.l2 -dev_vga\nlog nosuch\nscreenshot /tmp/x.png\n"
                              "sendkey ctrl-alt-delete\nsendkey bogus\nreset\n");
    run("quit", FE_MONITOR_QUIT);
    cr_expect(ft->off);
    cr_expect_str_eq(run("flight", IXVM_ERR_NOT_SUPPORTED),
                     "error: flight: the flight recorder is off (--trace flight=N)\n");
}

Test(fe_monitor, missing_hooks_are_errors)
{
    static const struct dbgf_target_ops bare = { 0 };
    struct dbgf_target t = { &bare, NULL };
    struct fe_monitor *m2;
    struct fe_monitor_cfg cfg = { .tgt = &t };
    cr_assert_eq(fe_monitor_create(&cfg, &m2), 0);
    static const char *const cmds[] = { "x/4xw 0", "regs", "break 1", "step", "cont", "stop", "trace on",
                                        "log x", "screenshot a", "sendkey a", "system_reset", "disas", "info" };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(cmds); i++) {
        out_len = 0;
        out[0] = '\0';
        int rc = fe_monitor_exec(m2, cmds[i], &cap);
        cr_expect_lt(rc, 0, "%s", cmds[i]);
        cr_expect_eq(strncmp(out, "error: ", 7), 0, "%s: %s", cmds[i], out);
    }
    fe_monitor_destroy(m2);
}

Test(fe_monitor, info_passthrough_and_help)
{
    cr_expect_str_eq(run("info fflags", 0), "VM_FF: REQUEST args=[]\n");
    cr_expect_str_eq(run("info fflags  all  cpus", 0), "VM_FF: REQUEST args=[all  cpus]\n");
    cr_expect_not_null(strstr(run("info", 0), "fflags"));
    cr_expect_not_null(strstr(run("info nosuch", IXVM_ERR_NOT_FOUND), "unknown info item 'nosuch'"));
    const char *h = run("help", 0);
    cr_expect_not_null(strstr(h, "x /FMT ADDR"));
    cr_expect_not_null(strstr(h, "system_reset"));
    cr_expect_str_eq(run("help cont", 0), "cont                       resume all vCPUs\n");
    cr_expect_str_eq(run("help nope", IXVM_ERR_NOT_FOUND), "error: help: unknown command 'nope'\n");
    cr_expect_str_eq(run("frobnicate", IXVM_ERR_NOT_FOUND), "error: unknown command 'frobnicate'; try 'help'\n");
    cr_expect_str_eq(run("   ", 0), "");
    cr_expect_str_eq(run("# comment", 0), "");
    cr_expect_str_eq(run("x 1 2 3 4 5 6 7 8", IXVM_ERR_SYNTAX), "error: too many arguments (at most 7)\n");
}

Test(fe_monitor, stream_reader)
{
    char in_text[] = "x/1xb 0x1001\nbogus\nquit\nx/1xb 0x1002\n";
    FILE *in = fmemopen(in_text, strlen(in_text), "r");
    char *obuf = NULL;
    size_t olen = 0;
    FILE *o = open_memstream(&obuf, &olen);
    cr_assert(in && o);
    cr_expect_eq(fe_monitor_run_stream(mon, in, o), FE_MONITOR_QUIT);
    fclose(o);
    fclose(in);
    cr_expect_str_eq(obuf, "00001001: 01\nerror: unknown command 'bogus'; try 'help'\n");
    free(obuf);
}

Test(fe_monitor, stop_event_text)
{
    struct dbgf_stop_event ev = { .reason = DBGF_STOP_WATCHPOINT, .cpu = 1, .bp_type = DBGF_BP_WRITE, .addr = 0x2000 };
    out_len = 0;
    fe_monitor_print_stop(&ev, &cap);
    cr_expect_str_eq(out, "cpu1 stopped: watchpoint watch at 0x2000\n");
    ev = (struct dbgf_stop_event){ .reason = DBGF_STOP_EXITED, .status = 3 };
    out_len = 0;
    fe_monitor_print_stop(&ev, &cap);
    cr_expect_str_eq(out, "VM exited with status 3\n");
}

Test(fe_monitor, parser_fuzz)
{
    static const char *const words[] = { "x", "x/", "x/4xw", "xp/9999i", "disas", "regs", "break", "watch", "delete",
                                         "step", "cpu", "info", "help", "trace", "log", "sendkey", "$eax", "$",
                                         "start", "+", "-", "0x", "0xffffffffffffffff", "/", "//", "-1", "99999",
                                         "all", "on", "\t", "ÿ", "%s%n", "1+2-3", "$pc+", "fflags" };
    uint32_t x = 7;
    char line[256];
    for (int i = 0; i < 20000; i++) {
        size_t o = 0;
        int n = 1 + i % 6;
        for (int k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            const char *w = words[(x >> 16) % IXVM_ARRAY_SIZE(words)];
            o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s", k ? ((x & 1) ? " " : "") : "", w);
            if (o >= sizeof(line) - 1)
                break;
        }
        if (strstr(line, "quit"))
            continue;
        out_len = 0;
        int rc = fe_monitor_exec(mon, line, &cap);
        cr_assert(rc <= 0, "%s -> %d", line, rc);
        if (rc < 0)
            cr_assert_not_null(strstr(out, "error") ? out : strstr(out, "unknown"), "%s: no message", line);
        if (out_len > sizeof(out) / 2)
            out_len = 0;
    }
    /* Random bytes, including very long lines. */
    char *big = malloc(4096);
    for (int i = 0; i < 2000; i++) {
        size_t len = (size_t)(x % 4095);
        for (size_t k = 0; k < len; k++) {
            x = x * 1664525u + 1013904223u;
            big[k] = (char)(1 + (x >> 24) % 255);
        }
        big[len] = '\0';
        out_len = 0;
        (void)fe_monitor_exec(mon, big, &cap);
    }
    free(big);
}

/* ---- unix-socket monitor on a libuv loop ---- */

struct sock_client {
    char path[108];
    char reply[4096];
    size_t len;
    _Atomic int done;
};

static void *sock_client_main(void *arg)
{
    struct sock_client *c = arg;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        static const char cmds[] = "x/2xb 0x1001\nnope\nquit\n";
        if (write(fd, cmds, sizeof(cmds) - 1) == (ssize_t)sizeof(cmds) - 1) {
            ssize_t n;
            while (c->len < sizeof(c->reply) - 1 && (n = read(fd, c->reply + c->len, sizeof(c->reply) - 1 - c->len)) > 0)
                c->len += (size_t)n;
        }
    }
    if (fd >= 0)
        close(fd);
    c->done = 1;
    return NULL;
}

static struct fe_monitor_server *sock_srv;

static void sock_poll(uv_timer_t *t)
{
    struct sock_client *c = t->data;
    if (!c->done)
        return;
    fe_monitor_server_close(sock_srv);
    uv_close((uv_handle_t *)t, NULL);
}

Test(fe_monitor, unix_socket_server)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    struct sock_client c = { .len = 0 };
    snprintf(c.path, sizeof(c.path), "/tmp/ixvm-mon-test-%d.sock", (int)getpid());
    char spec[128];
    snprintf(spec, sizeof(spec), "unix:%s", c.path);
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(fe_monitor_listen(mon, &loop, spec, &sock_srv, &err), 0, "%s", err.msg);
    cr_expect_eq(fe_monitor_listen(mon, &loop, "tcp::5", &sock_srv, &err), IXVM_ERR_SYNTAX);
    cr_expect_str_eq(err.msg, "monitor: 'tcp::5': expected unix:PATH");
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, sock_client_main, &c), 0);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &c;
    uv_timer_start(&t, sock_poll, 5, 5);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    cr_expect_eq(uv_loop_close(&loop), 0);
    unlink(c.path);
    c.reply[c.len] = '\0';
    cr_expect_str_eq(c.reply, "(ixvm) 00001001: 01 02\n(ixvm) error: unknown command 'nope'; try 'help'\n(ixvm) ");
    cr_expect(ft->off);   /* quit powered the target off */
}
