/* SPDX-License-Identifier: MIT */
/*
 * gdb stub server on the libuv loop: listens on TCP (tcp::PORT binds
 * 127.0.0.1 — the stub can read and write all guest memory, so exposing it
 * needs an explicit host) or a unix socket, serves one client at a time
 * (further connections are closed at once) and runs a fe_gdb_proto engine
 * per client.  Stop events arrive from EMTs on any thread; they are queued
 * under a mutex and handed to the loop with uv_async.
 */
#define LOG_GROUP LOG_GROUP_FE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/fe_gdb.h"
#include "ixvm/log.h"

#define FE_GDB_EVQ 16

struct fe_gdb_conn {
    union {
        uv_stream_t s;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    struct fe_gdb *g;
    struct fe_gdb_proto *proto;
    uv_shutdown_t shut;
    bool closing;
    char rbuf[16384];
};

struct fe_gdb {
    uv_loop_t *loop;
    struct dbgf_target tgt;
    union {
        uv_stream_t s;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } srv;
    bool listening;
    int port;
    uv_async_t async;
    pthread_mutex_t lock;
    struct dbgf_stop_event evq[FE_GDB_EVQ];   /* [lock] */
    unsigned nev;                             /* [lock] */
    struct fe_gdb_conn *conn;                 /* [loop] the client, or NULL */
    fe_gdb_rcmd_fn *rcmd;
    void *rcmd_user;
    void (*on_end)(void *);
    void *on_end_user;
    int open_handles;                         /* [loop] closes still pending at fe_gdb_close */
    bool closing;
};

/* ------------------------------------------------------------------------- */
/* Stop events: any thread -> loop                                           */
/* ------------------------------------------------------------------------- */

static void fe_gdb_stop_cb(void *user, const struct dbgf_stop_event *ev)
{
    struct fe_gdb *g = user;
    pthread_mutex_lock(&g->lock);
    if (g->nev == FE_GDB_EVQ)
        g->nev--;   /* full: the newest stop replaces the last queued one */
    g->evq[g->nev++] = *ev;
    pthread_mutex_unlock(&g->lock);
    uv_async_send(&g->async);
}

static void fe_gdb_async_cb(uv_async_t *a)
{
    struct fe_gdb *g = a->data;
    struct dbgf_stop_event evs[FE_GDB_EVQ];
    pthread_mutex_lock(&g->lock);
    unsigned n = g->nev;
    memcpy(evs, g->evq, n * sizeof(evs[0]));
    g->nev = 0;
    pthread_mutex_unlock(&g->lock);
    for (unsigned i = 0; i < n; i++)
        if (g->conn && !g->conn->closing)
            fe_gdb_proto_stop_event(g->conn->proto, &evs[i]);
}

/* ------------------------------------------------------------------------- */
/* The client connection                                                     */
/* ------------------------------------------------------------------------- */

static void fe_gdb_unref(struct fe_gdb *g)
{
    if (--g->open_handles == 0 && g->closing) {
        pthread_mutex_destroy(&g->lock);
        free(g);
    }
}

static void fe_gdb_handle_closed(uv_handle_t *h)
{
    fe_gdb_unref(h->data);
}

static void fe_gdb_conn_closed(uv_handle_t *h)
{
    struct fe_gdb_conn *c = h->data;
    struct fe_gdb *g = c->g;
    fe_gdb_proto_destroy(c->proto);
    bool was_client = g->conn == c;
    if (was_client)
        g->conn = NULL;
    free(c);
    /* The session-end hook may call fe_gdb_close; our handle still counts. */
    if (was_client && g->on_end && !g->closing)
        g->on_end(g->on_end_user);
    fe_gdb_unref(g);
}

static void fe_gdb_conn_close(struct fe_gdb_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_read_stop(&c->h.s);
    uv_close((uv_handle_t *)&c->h.s, fe_gdb_conn_closed);
}

static void fe_gdb_write_done(uv_write_t *req, int status)
{
    free(req);   /* the data follows the request in the same block */
}

static void fe_gdb_conn_send(void *user, const void *buf, size_t len)
{
    struct fe_gdb_conn *c = user;
    if (c->closing)
        return;
    uv_write_t *req = malloc(sizeof(*req) + len);
    if (!req)
        return;
    memcpy(req + 1, buf, len);
    uv_buf_t b = uv_buf_init((char *)(req + 1), (unsigned)len);
    if (uv_write(req, &c->h.s, &b, 1, fe_gdb_write_done) != 0)
        free(req);
}

static int fe_gdb_conn_rcmd(void *user, const char *cmd, const struct ixvm_printer *pr)
{
    struct fe_gdb_conn *c = user;
    return c->g->rcmd ? c->g->rcmd(c->g->rcmd_user, cmd, pr) : IXVM_ERR_NOT_SUPPORTED;
}

static void fe_gdb_shutdown_done(uv_shutdown_t *req, int status)
{
    fe_gdb_conn_close(req->data);
}

/* After D/k: flush the pending replies, then close. */
static void fe_gdb_conn_end(void *user)
{
    struct fe_gdb_conn *c = user;
    if (c->closing)
        return;
    uv_read_stop(&c->h.s);
    c->shut.data = c;
    if (uv_shutdown(&c->shut, &c->h.s, fe_gdb_shutdown_done) != 0)
        fe_gdb_conn_close(c);
}

static void fe_gdb_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct fe_gdb_conn *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void fe_gdb_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fe_gdb_conn *c = s->data;
    if (n > 0)
        fe_gdb_proto_feed(c->proto, buf->base, (size_t)n);
    else if (n < 0)
        fe_gdb_conn_close(c);
}

static const struct fe_gdb_proto_ops fe_gdb_conn_ops = {
    .send = fe_gdb_conn_send,
    .rcmd = fe_gdb_conn_rcmd,
    .close = fe_gdb_conn_end,
};

static int fe_gdb_stream_init(struct fe_gdb *g, uv_stream_t *s)
{
    if (g->srv.s.type == UV_NAMED_PIPE)
        return uv_pipe_init(g->loop, (uv_pipe_t *)s, 0);
    return uv_tcp_init(g->loop, (uv_tcp_t *)s);
}

static void fe_gdb_on_connect(uv_stream_t *srv, int status)
{
    struct fe_gdb *g = srv->data;
    if (status < 0 || g->closing)
        return;
    struct fe_gdb_conn *c = calloc(1, sizeof(*c));
    if (!c || fe_gdb_stream_init(g, &c->h.s) != 0) {
        free(c);
        return;
    }
    c->g = g;
    c->h.s.data = c;
    g->open_handles++;
    if (uv_accept(srv, &c->h.s) != 0 || g->conn ||
        fe_gdb_proto_create(&g->tgt, &fe_gdb_conn_ops, c, &c->proto) != 0) {
        /* One client at a time: a second one is turned away. */
        if (g->conn)
            LOG_REL("gdb: refusing a second debugger connection");
        c->closing = true;
        uv_close((uv_handle_t *)&c->h.s, fe_gdb_conn_closed);
        return;
    }
    g->conn = c;
    LOG_REL("gdb: debugger connected");
    fe_gdb_proto_attach(c->proto);
    if (uv_read_start(&c->h.s, fe_gdb_alloc, fe_gdb_read) != 0)
        fe_gdb_conn_close(c);
}

/* ------------------------------------------------------------------------- */
/* Server                                                                    */
/* ------------------------------------------------------------------------- */

int fe_gdb_create(uv_loop_t *loop, const struct dbgf_target *tgt, struct fe_gdb **out)
{
    if (!loop || !tgt || !tgt->ops)
        return IXVM_ERR_INVALID_PARAMETER;
    struct fe_gdb *g = calloc(1, sizeof(*g));
    if (!g)
        return IXVM_ERR_NO_MEMORY;
    g->loop = loop;
    g->tgt = *tgt;
    if (pthread_mutex_init(&g->lock, NULL) != 0 || uv_async_init(loop, &g->async, fe_gdb_async_cb) != 0) {
        free(g);
        return IXVM_ERR_GENERAL;
    }
    g->async.data = g;
    g->open_handles = 1;
    if (tgt->ops->set_stop_cb)
        tgt->ops->set_stop_cb(tgt->t, fe_gdb_stop_cb, g);
    *out = g;
    return 0;
}

void fe_gdb_set_rcmd(struct fe_gdb *g, fe_gdb_rcmd_fn *fn, void *user)
{
    g->rcmd = fn;
    g->rcmd_user = user;
}

void fe_gdb_on_session_end(struct fe_gdb *g, void (*fn)(void *user), void *user)
{
    g->on_end = fn;
    g->on_end_user = user;
}

int fe_gdb_port(const struct fe_gdb *g)
{
    return g->port;
}

static int fe_gdb_listen_unix(struct fe_gdb *g, const char *path, struct ixvm_errinfo *err)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);   /* a stale socket from an earlier run */
    int rc = uv_pipe_init(g->loop, &g->srv.pipe, 0);
    if (rc == 0) {
        g->open_handles++;
        g->listening = true;
        rc = uv_pipe_bind(&g->srv.pipe, path);
    }
    if (rc == 0)
        rc = uv_listen(&g->srv.s, 1, fe_gdb_on_connect);
    if (rc != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "gdb: cannot listen on unix socket '%s': %s", path,
                                uv_strerror(rc));
    return 0;
}

static int fe_gdb_listen_tcp(struct fe_gdb *g, const char *spec, const char *host, const char *port,
                             struct ixvm_errinfo *err)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *res = NULL;
    char *end;
    long pn = strtol(port, &end, 10);
    if (!*port || *end || pn < 0 || pn > 65535)
        return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "gdb: '%s': bad port '%s'", spec, port);
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_NOT_FOUND, "gdb: '%s': cannot resolve '%s': %s", spec, host,
                                gai_strerror(gai));
    int rc = uv_tcp_init(g->loop, &g->srv.tcp);
    if (rc == 0) {
        g->open_handles++;
        g->listening = true;
        rc = uv_tcp_bind(&g->srv.tcp, res->ai_addr, 0);
    }
    freeaddrinfo(res);
    if (rc == 0)
        rc = uv_listen(&g->srv.s, 1, fe_gdb_on_connect);
    if (rc != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "gdb: cannot listen on '%s': %s", spec, uv_strerror(rc));
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getsockname(&g->srv.tcp, (struct sockaddr *)&ss, &len) == 0)
        g->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

int fe_gdb_listen(struct fe_gdb *g, const char *spec, struct ixvm_errinfo *err)
{
    if (g->listening)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_STATE, "gdb: already listening");
    if (!spec)
        spec = "";
    g->srv.s.data = g;
    if (strncmp(spec, "unix:", 5) == 0 && spec[5]) {
        int rc = fe_gdb_listen_unix(g, spec + 5, err);
        g->srv.s.data = g;
        return rc;
    }
    const char *colon = strrchr(spec, ':');
    if (strncmp(spec, "tcp:", 4) != 0 || !colon || colon < spec + 4)
        return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX,
                                "gdb: '%s': expected tcp::PORT, tcp:HOST:PORT or unix:PATH", spec);
    char host[256];
    size_t hl = (size_t)(colon - (spec + 4));
    if (hl >= sizeof(host))
        return ixvm_errinfo_set(err, IXVM_ERR_SYNTAX, "gdb: '%s': host name too long", spec);
    memcpy(host, spec + 4, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {   /* [::1] */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    int rc = fe_gdb_listen_tcp(g, spec, host[0] ? host : "127.0.0.1", colon + 1, err);
    g->srv.s.data = g;
    return rc;
}

void fe_gdb_close(struct fe_gdb *g)
{
    if (!g || g->closing)
        return;
    g->closing = true;
    if (g->tgt.ops->set_stop_cb)
        g->tgt.ops->set_stop_cb(g->tgt.t, NULL, NULL);
    if (g->conn)
        fe_gdb_conn_close(g->conn);
    if (g->listening) {
        g->srv.s.data = g;
        uv_close((uv_handle_t *)&g->srv.s, fe_gdb_handle_closed);
    }
    uv_close((uv_handle_t *)&g->async, fe_gdb_handle_closed);
}
