/* SPDX-License-Identifier: MIT */
/*
 * Monitor input: lines from a stream (stdin: libedit line editing and
 * history when it is a terminal, plain line reading otherwise) or from
 * unix-socket clients served on the libuv loop.  Each complete line runs
 * through fe_monitor_exec; socket clients get the output on their
 * connection and a "(ixvm) " prompt after each command.
 */
#define LOG_GROUP LOG_GROUP_FE
#include <histedit.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/fe_monitor.h"
#include "ixvm/log.h"

#define MON_PROMPT "(ixvm) "
#define MON_LINE_MAX 1024

static char *mon_prompt(EditLine *el)
{
    return MON_PROMPT;
}

/* libedit: history and emacs keys on a terminal. */
static int mon_run_edit(struct fe_monitor *m, FILE *in, FILE *out)
{
    EditLine *el = el_init("ixvm", in, out, stderr);
    History *h = history_init();
    if (!el || !h) {
        if (el)
            el_end(el);
        if (h)
            history_end(h);
        return IXVM_ERR_NO_MEMORY;
    }
    HistEvent hev;
    history(h, &hev, H_SETSIZE, 1000);
    history(h, &hev, H_SETUNIQUE, 1);
    el_set(el, EL_PROMPT, mon_prompt);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_HIST, history, h);
    el_source(el, NULL);   /* the user's ~/.editrc */
    struct ixvm_printer pr = ixvm_printer_file(out);
    int rc = 0, count;
    const char *line;
    while (rc != FE_MONITOR_QUIT && (line = el_gets(el, &count)) != NULL && count > 0) {
        if (line[strspn(line, " \t\r\n")])
            history(h, &hev, H_ENTER, line);
        rc = fe_monitor_exec(m, line, &pr);
        fflush(out);
    }
    history_end(h);
    el_end(el);
    return rc == FE_MONITOR_QUIT ? FE_MONITOR_QUIT : 0;
}

int fe_monitor_run_stream(struct fe_monitor *m, FILE *in, FILE *out)
{
    if (isatty(fileno(in)) && isatty(fileno(out)))
        return mon_run_edit(m, in, out);
    struct ixvm_printer pr = ixvm_printer_file(out);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc != FE_MONITOR_QUIT && getline(&line, &cap, in) >= 0) {
        rc = fe_monitor_exec(m, line, &pr);
        fflush(out);
    }
    free(line);
    return rc == FE_MONITOR_QUIT ? FE_MONITOR_QUIT : 0;
}

/* ------------------------------------------------------------------------- */
/* Unix-socket server                                                        */
/* ------------------------------------------------------------------------- */

struct fe_monitor_server {
    uv_pipe_t srv;
    struct fe_monitor *mon;
    int open;                     /* [loop] handles not yet closed (server + clients) */
    bool closing;
    struct mon_client *clients;   /* [loop] open clients */
};

struct mon_client {
    uv_pipe_t h;
    struct fe_monitor_server *s;
    struct mon_client *next, **pprev;   /* [loop] in s->clients */
    char line[MON_LINE_MAX];
    size_t len;
    bool overlong;                /* dropping the rest of a too long line */
    bool closing;
    char rbuf[4096];
};

static void mon_srv_unref(struct fe_monitor_server *s)
{
    if (--s->open == 0 && s->closing)
        free(s);
}

static void mon_write_done(uv_write_t *req, int status)
{
    free(req);
}

static void mon_client_print(void *user, const char *text)
{
    struct mon_client *c = user;
    size_t len = strlen(text);
    if (c->closing || !len)
        return;
    uv_write_t *req = malloc(sizeof(*req) + len);
    if (!req)
        return;
    memcpy(req + 1, text, len);
    uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)len);
    if (uv_write(req, (uv_stream_t *)&c->h, &b, 1, mon_write_done) != 0)
        free(req);
}

static void mon_client_closed(uv_handle_t *h)
{
    struct mon_client *c = h->data;
    struct fe_monitor_server *s = c->s;
    free(c);
    mon_srv_unref(s);
}

static void mon_client_close(struct mon_client *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->pprev) {
        *c->pprev = c->next;
        if (c->next)
            c->next->pprev = c->pprev;
        c->pprev = NULL;
    }
    uv_close((uv_handle_t *)&c->h, mon_client_closed);
}

static void mon_client_shutdown_done(uv_shutdown_t *req, int status)
{
    mon_client_close(req->data);
    free(req);
}

/* Run one complete line; quit ends this client's session. */
static void mon_client_line(struct mon_client *c)
{
    struct ixvm_printer pr = { mon_client_print, c };
    c->line[c->len] = '\0';
    int rc = fe_monitor_exec(c->s->mon, c->line, &pr);
    c->len = 0;
    if (rc != FE_MONITOR_QUIT) {
        mon_client_print(c, MON_PROMPT);
        return;
    }
    uv_read_stop((uv_stream_t *)&c->h);
    uv_shutdown_t *req = malloc(sizeof(*req));
    if (req)
        req->data = c;
    if (!req || uv_shutdown(req, (uv_stream_t *)&c->h, mon_client_shutdown_done) != 0) {
        free(req);
        mon_client_close(c);
    }
}

static void mon_client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct mon_client *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void mon_client_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct mon_client *c = st->data;
    if (n < 0) {
        mon_client_close(c);
        return;
    }
    for (ssize_t i = 0; i < n && !c->closing; i++) {
        char ch = buf->base[i];
        if (ch == '\n') {
            if (c->overlong)
                mon_client_print(c, "error: command line too long\n" MON_PROMPT);
            else
                mon_client_line(c);
            c->overlong = false;
            c->len = 0;
        } else if (c->len < MON_LINE_MAX - 1) {
            c->line[c->len++] = ch;
        } else {
            c->overlong = true;
        }
    }
}

static void mon_on_connect(uv_stream_t *srv, int status)
{
    struct fe_monitor_server *s = srv->data;
    if (status < 0 || s->closing)
        return;
    struct mon_client *c = calloc(1, sizeof(*c));
    if (!c || uv_pipe_init(srv->loop, &c->h, 0) != 0) {
        free(c);
        return;
    }
    c->s = s;
    c->h.data = c;
    s->open++;
    c->next = s->clients;
    if (c->next)
        c->next->pprev = &c->next;
    c->pprev = &s->clients;
    s->clients = c;
    if (uv_accept(srv, (uv_stream_t *)&c->h) != 0 ||
        uv_read_start((uv_stream_t *)&c->h, mon_client_alloc, mon_client_read) != 0) {
        mon_client_close(c);
        return;
    }
    mon_client_print(c, MON_PROMPT);
}

static void mon_srv_closed(uv_handle_t *h)
{
    mon_srv_unref(h->data);
}

int fe_monitor_listen(struct fe_monitor *m, uv_loop_t *loop, const char *spec, struct fe_monitor_server **out,
                      struct ixvm_errinfo *err)
{
    if (!spec || strncmp(spec, "unix:", 5) != 0 || !spec[5])
        return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "monitor: '%s': expected unix:PATH", spec ? spec : "");
    const char *path = spec + 5;
    struct fe_monitor_server *s = calloc(1, sizeof(*s));
    if (!s)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "monitor: out of memory");
    s->mon = m;
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);   /* a stale socket from an earlier run */
    int rc = uv_pipe_init(loop, &s->srv, 0);
    if (rc != 0) {
        free(s);
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "monitor: %s", uv_strerror(rc));
    }
    s->srv.data = s;
    s->open = 1;
    rc = uv_pipe_bind(&s->srv, path);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->srv, 4, mon_on_connect);
    if (rc != 0) {
        fe_monitor_server_close(s);
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "monitor: cannot listen on unix socket '%s': %s", path,
                                uv_strerror(rc));
    }
    *out = s;
    return 0;
}

void fe_monitor_server_close(struct fe_monitor_server *s)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    while (s->clients)
        mon_client_close(s->clients);
    uv_close((uv_handle_t *)&s->srv, mon_srv_closed);
}
