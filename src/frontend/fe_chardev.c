/* SPDX-License-Identifier: MIT */
/*
 * The host side of a guest character device (--serial, --debugcon): where
 * its output goes and where its input comes from.
 *
 *   stdio          output to stdout (line-buffered, through the runner's
 *                  shared stdout console); input from stdin into the UART,
 *                  the terminal in raw mode with QEMU's escapes: Ctrl-A x
 *                  quits, Ctrl-A h helps, Ctrl-A Ctrl-A sends Ctrl-A
 *   file:PATH      output to PATH, byte for byte
 *   tcp:HOST:PORT  a TCP server on HOST (loopback normally) that accepts one
 *                  client at a time: guest output goes to it (dropped while
 *                  nobody is connected), its bytes go to the UART
 *   none           output dropped
 *
 * Every output goes through an fe_console (a mutex-protected buffer the
 * EMTs append to) so device callbacks never do I/O; the loop drains it.
 * Input the UART refuses (its FIFO is full) waits in a backlog retried by
 * a short timer, so no byte is lost.
 */
#define LOG_GROUP LOG_GROUP_FE
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_runner.h"
#include "ixvm/dev.h"
#include "ixvm/log.h"
#include "ixvm/vmm.h"

#define FE_CD_BACKLOG_MAX (1u << 20)
#define FE_CD_RETRY_MS 2
#define FE_CD_CTRL_A 0x01

enum fe_cd_kind { FE_CD_NONE, FE_CD_STDIO, FE_CD_FILE, FE_CD_TCP };

struct fe_chardev {
    struct fe_runner *r;               /* [const] */
    enum fe_cd_kind kind;              /* [const] */
    const char *opt;                   /* [const] "--serial" for messages */
    bool to_all;                       /* [const] feeds the runner's console (COM1, debugcon) */
    /* The line being assembled for the runner's console: whole lines go in,
     * so COM1 and debugcon output written at the same time do not mix byte
     * by byte (a partial line goes in when the loop drains). */
    pthread_mutex_t line_lock;
    char line[FE_CONSOLE_STREAM_LINE_MAX];  /* [line_lock] */
    size_t llen;                            /* [line_lock] */
    size_t llen_seen;                       /* [line_lock] llen at the loop's last look */
    struct fe_console *con;            /* [const] own output buffer (file, tcp) or NULL */
    struct dev_ins *uart;              /* [const] input goes here, NULL: output only */
    /* stdin */
    union { uv_tty_t tty; uv_pipe_t pipe; } in;
    bool in_open, raw, esc;
    /* tcp */
    uv_tcp_t server, client;
    bool server_open, client_open;
    /* input backlog the UART has not accepted yet  [loop] */
    uint8_t *backlog;
    size_t blen, bcap;
    uv_timer_t retry;
    bool retry_open;
};

static uv_tty_t *fe_cd_raw_tty;        /* [loop] the terminal in raw mode, if any */

void fe_chardev_restore_tty(void)
{
    if (fe_cd_raw_tty) {
        (void)uv_tty_reset_mode();
        fe_cd_raw_tty = NULL;
    }
}

/* ---- input -------------------------------------------------------------- */

static void fe_cd_push(struct fe_chardev *c);

static void fe_cd_retry_cb(uv_timer_t *t) { fe_cd_push(t->data); }

/* Offer the backlog to the UART; retry later what it refuses. */
static void fe_cd_push(struct fe_chardev *c)
{
    if (!c->uart || !c->blen)
        return;
    size_t n = uart_receive(c->uart, c->backlog, c->blen);
    memmove(c->backlog, c->backlog + n, c->blen - n);
    c->blen -= n;
    if (c->blen && c->retry_open && !uv_is_active((uv_handle_t *)&c->retry))
        (void)uv_timer_start(&c->retry, fe_cd_retry_cb, FE_CD_RETRY_MS, 0);
}

static void fe_cd_input(struct fe_chardev *c, const uint8_t *buf, size_t len)
{
    if (!c->uart || !len)
        return;
    if (c->blen + len > c->bcap) {
        size_t cap = c->bcap ? c->bcap : 4096;
        while (cap < c->blen + len && cap < FE_CD_BACKLOG_MAX)
            cap *= 2;
        uint8_t *nb = cap >= c->blen + len ? realloc(c->backlog, cap) : NULL;
        if (!nb) {
            LOG_REL("%s: input backlog full, %zu bytes dropped", c->opt, len);
            return;
        }
        c->backlog = nb;
        c->bcap = cap;
    }
    memcpy(c->backlog + c->blen, buf, len);
    c->blen += len;
    fe_cd_push(c);
}

static void fe_cd_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char chunk[4096];           /* [loop] one read at a time */
    *buf = uv_buf_init(chunk, sizeof(chunk));
}

/* QEMU's stdio escapes: Ctrl-A x quits, Ctrl-A Ctrl-A is a literal Ctrl-A. */
static size_t fe_cd_escapes(struct fe_chardev *c, const uint8_t *in, size_t n, uint8_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        if (!c->esc && b == FE_CD_CTRL_A) {
            c->esc = true;
            continue;
        }
        if (!c->esc) {
            out[k++] = b;
            continue;
        }
        c->esc = false;
        if (b == 'x' || b == 'X') {
            fe_chardev_restore_tty();
            fprintf(stderr, "\r\nixvm: terminated by Ctrl-A x\n");
            c->r->stopping = true;
            vmm_stop_loop(c->r->vm);
        } else if (b == 'h' || b == 'H' || b == '?') {
            fprintf(stderr, "\r\nixvm: Ctrl-A x quit, Ctrl-A Ctrl-A send Ctrl-A\r\n");
        } else {
            if (b != FE_CD_CTRL_A)
                out[k++] = FE_CD_CTRL_A;
            out[k++] = b;
        }
    }
    return k;
}

static void fe_cd_stdin_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fe_chardev *c = s->data;
    if (n < 0) {
        (void)uv_read_stop(s);         /* EOF or error: no more input */
        return;
    }
    uint8_t out[8192];
    size_t k = c->raw ? fe_cd_escapes(c, (const uint8_t *)buf->base, (size_t)n, out) : (size_t)n;
    fe_cd_input(c, c->raw ? out : (const uint8_t *)buf->base, k);
}

static int fe_cd_open_stdin(struct fe_chardev *c)
{
    uv_handle_type t = uv_guess_handle(STDIN_FILENO);
    int rc = -1;
    if (t == UV_TTY) {
        rc = uv_tty_init(c->r->loop, &c->in.tty, STDIN_FILENO, 1);
        if (rc == 0 && uv_tty_set_mode(&c->in.tty, UV_TTY_MODE_RAW) == 0) {
            c->raw = true;
            fe_cd_raw_tty = &c->in.tty;
        }
    } else if (t == UV_NAMED_PIPE) {
        rc = uv_pipe_init(c->r->loop, &c->in.pipe, 0);
        if (rc == 0 && uv_pipe_open(&c->in.pipe, STDIN_FILENO) != 0) {
            uv_close((uv_handle_t *)&c->in.pipe, NULL);
            return 0;
        }
    } else {
        return 0;                      /* a file or /dev/null: no interactive input */
    }
    if (rc)
        return 0;
    c->in_open = true;
    fe_runner_handle_opened(c->r);
    c->in.tty.data = c;
    (void)uv_read_start((uv_stream_t *)&c->in.tty, fe_cd_alloc, fe_cd_stdin_read);
    return 0;
}

/* ---- tcp ---------------------------------------------------------------- */

struct fe_cd_write {
    uv_write_t req;
    char data[];
};

static void fe_cd_write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void fe_cd_client_closed(uv_handle_t *h)
{
    struct fe_chardev *c = h->data;
    c->client_open = false;
    fe_runner_handle_closed(h);
}

static void fe_cd_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fe_chardev *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, fe_cd_client_closed);
        return;
    }
    fe_cd_input(c, (const uint8_t *)buf->base, (size_t)n);
}

static void fe_cd_reject_closed(uv_handle_t *h) { free(h); }

static void fe_cd_connection(uv_stream_t *server, int status)
{
    struct fe_chardev *c = server->data;
    if (status < 0)
        return;
    if (c->client_open) {              /* one client at a time */
        uv_tcp_t *t = malloc(sizeof(*t));
        if (t && uv_tcp_init(c->r->loop, t) == 0) {
            (void)uv_accept(server, (uv_stream_t *)t);
            uv_close((uv_handle_t *)t, fe_cd_reject_closed);
        } else {
            free(t);
        }
        return;
    }
    if (uv_tcp_init(c->r->loop, &c->client))
        return;
    c->client.data = c;
    c->client_open = true;
    fe_runner_handle_opened(c->r);
    if (uv_accept(server, (uv_stream_t *)&c->client) ||
        uv_read_start((uv_stream_t *)&c->client, fe_cd_alloc, fe_cd_client_read))
        uv_close((uv_handle_t *)&c->client, fe_cd_client_closed);
}

static void fe_cd_tcp_sink(void *user, const char *data, size_t len)
{
    struct fe_chardev *c = user;
    if (!c->client_open || uv_is_closing((uv_handle_t *)&c->client))
        return;                        /* nobody connected: dropped, as QEMU's "nowait" */
    struct fe_cd_write *w = malloc(sizeof(*w) + len);
    if (!w)
        return;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->client, &b, 1, fe_cd_write_done))
        free(w);
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (127.0.0.1) into a socket address. */
static int fe_cd_parse_addr(const char *hp, struct sockaddr_storage *ss, struct ixvm_errinfo *err)
{
    const char *colon = strrchr(hp, ':');
    char host[128];
    if (!colon || (size_t)(colon - hp) >= sizeof(host))
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "'tcp:%s' is not tcp:HOST:PORT", hp);
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 1 || port > 65535)
        return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "port '%s' is not a number in 1..65535",
                                colon + 1);
    if (!host[0] || !strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
        if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
            return 0;
    } else if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) {
        return 0;
    }
    return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER,
                            "host '%s' is not an IP address (use 127.0.0.1, [::1] or localhost)", host);
}

static int fe_cd_open_tcp(struct fe_chardev *c, const char *hp, struct ixvm_errinfo *err)
{
    struct sockaddr_storage ss;
    int rc = fe_cd_parse_addr(hp, &ss, err);
    if (rc < 0)
        return rc;
    if (uv_tcp_init(c->r->loop, &c->server))
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot create a TCP socket");
    c->server.data = c;
    c->server_open = true;
    fe_runner_handle_opened(c->r);
    rc = uv_tcp_bind(&c->server, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&c->server, 1, fe_cd_connection);
    if (rc)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot listen on %s: %s", hp, uv_strerror(rc));
    return 0;
}

/* ---- life cycle ----------------------------------------------------------- */

int fe_dest_check(const char *v, bool allow_tcp, struct ixvm_errinfo *err)
{
    if (!strcmp(v, "stdio") || !strcmp(v, "none") || (!strncmp(v, "file:", 5) && v[5]))
        return 0;
    if (allow_tcp && !strncmp(v, "tcp:", 4)) {
        struct sockaddr_storage ss;
        return fe_cd_parse_addr(v + 4, &ss, err);
    }
    return ixvm_errinfo_set(err, IXVM_ERR_INVALID_PARAMETER, "'%s' is not stdio, file:PATH%s or none", v,
                            allow_tcp ? ", tcp:HOST:PORT" : "");
}

int fe_dest_probe(const char *v, struct ixvm_errinfo *err)
{
    struct sockaddr_storage ss;
    if (strncmp(v, "tcp:", 4))
        return 0;
    int rc = fe_cd_parse_addr(v + 4, &ss, err);
    if (rc < 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
    if (fd < 0)
        return ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot create a TCP socket: %s", strerror(errno));
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        rc = ixvm_errinfo_set(err, IXVM_ERR_IO, "cannot listen on %s: %s", v + 4, strerror(errno));
    close(fd);
    return rc;
}

static void fe_cd_wake(void *user) { uv_async_send(user); }

int fe_chardev_open(struct fe_runner *r, const char *opt, const char *dest, struct dev_ins *uart,
                    bool take_stdin, struct fe_chardev **out, struct ixvm_errinfo *err)
{
    struct fe_chardev *c = calloc(1, sizeof(*c));
    if (!c)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "%s: out of memory", opt);
    *out = c;
    c->r = r;
    c->opt = opt;
    pthread_mutex_init(&c->line_lock, NULL);
    c->uart = uart;
    c->to_all = !strcmp(opt, "--debugcon") || !strcmp(opt, "--serial");
    if (uv_timer_init(r->loop, &c->retry) == 0) {
        c->retry.data = c;
        c->retry_open = true;
        fe_runner_handle_opened(r);
    }
    if (!dest || !strcmp(dest, "none"))
        return 0;
    if (!strcmp(dest, "stdio")) {
        c->kind = FE_CD_STDIO;
        return take_stdin && uart ? fe_cd_open_stdin(c) : 0;
    }
    struct fe_console_opts co = { .wake = fe_cd_wake, .wake_user = &r->wake };
    bool file = !strncmp(dest, "file:", 5);
    c->kind = file ? FE_CD_FILE : FE_CD_TCP;
    co.capture_path = file ? dest + 5 : NULL;
    int rc = fe_console_open(&c->con, &co, err);
    if (rc < 0)
        return rc;
    return file ? 0 : fe_cd_open_tcp(c, dest + 4, err);
}

void fe_chardev_write(void *user, const uint8_t *buf, size_t len)
{
    struct fe_chardev *c = user;
    if (c->to_all) {
        pthread_mutex_lock(&c->line_lock);
        bool was_empty = c->llen == 0;
        for (size_t i = 0; i < len; i++) {
            c->line[c->llen++] = (char)buf[i];
            if (buf[i] == '\n' || c->llen == sizeof(c->line)) {
                fe_console_write(c->r->all, c->line, c->llen);
                c->llen = c->llen_seen = 0;
            }
        }
        pthread_mutex_unlock(&c->line_lock);
        if (was_empty && c->llen)
            uv_async_send(&c->r->wake);  /* the loop hands the partial line on */
    }
    if (c->kind == FE_CD_STDIO)
        fe_console_write(c->r->out, buf, len);
    else if (c->con)
        fe_console_write(c->con, buf, len);
}

bool fe_chardev_flush_line(struct fe_chardev *c, bool force)
{
    if (!c || !c->to_all)
        return false;
    pthread_mutex_lock(&c->line_lock);
    /* Only a line that stopped growing goes in unfinished (a prompt);
     * one still being written waits for its newline or the next look. */
    bool idle = c->llen == c->llen_seen;
    if (c->llen && (idle || force)) {
        fe_console_write(c->r->all, c->line, c->llen);
        c->llen = 0;
    }
    c->llen_seen = c->llen;
    bool left = c->llen != 0;
    pthread_mutex_unlock(&c->line_lock);
    return left;
}

void fe_chardev_drain(struct fe_chardev *c)
{
    if (c && c->con && fe_console_drain(c->con, c->kind == FE_CD_TCP ? fe_cd_tcp_sink : NULL, c) < 0)
        LOG_REL("%s: %s", c->opt, fe_console_error(c->con));
}

void fe_chardev_close(struct fe_chardev *c)
{
    if (!c)
        return;
    if (c->con) {
        struct ixvm_errinfo err = { 0 };
        if (fe_console_close(c->con, c->kind == FE_CD_TCP ? fe_cd_tcp_sink : NULL, c, &err) < 0)
            fprintf(stderr, "ixvm: %s: %s\n", c->opt, err.msg);
        c->con = NULL;
    }
    if (c->in_open && &c->in.tty == fe_cd_raw_tty)
        fe_chardev_restore_tty();
    uv_handle_t *hs[] = {
        c->in_open ? (uv_handle_t *)&c->in.tty : NULL,
        c->client_open ? (uv_handle_t *)&c->client : NULL,
        c->server_open ? (uv_handle_t *)&c->server : NULL,
        c->retry_open ? (uv_handle_t *)&c->retry : NULL,
    };
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(hs); i++)
        if (hs[i] && !uv_is_closing(hs[i]))
            uv_close(hs[i], fe_runner_handle_closed);
}

void fe_chardev_free(struct fe_chardev *c)
{
    if (!c)
        return;
    free(c->backlog);
    pthread_mutex_destroy(&c->line_lock);
    free(c);
}
