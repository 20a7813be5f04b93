/* SPDX-License-Identifier: MIT */
/*
 * ixvm-bench-timer: runs a reference emulator (QEMU, Bochs) on a
 * pseudo-terminal and timestamps every line it prints, so bench/run-bench.sh
 * can time the guest's workloads by host wall clock between its
 * "bench start" / "name checksum" / "bench end" lines, without the
 * emulator's start-up and firmware time.  Terminal escape sequences and
 * carriage returns are dropped (Bochs' curses display shares the tty).
 * The child is killed when a line contains the stop string (-k) or the
 * timeout (-t seconds) passes.
 *
 * Output: "<seconds since start> <line>" per line, then "@exit <seconds> <status>".
 * Usage: ixvm-bench-timer [-t SECONDS] [-k STOP] -- command [args...]
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct timer_line {
    char buf[512];
    size_t len;
    int esc;   /* 0 none, 1 after ESC, 2 inside CSI */
};

static double timer_now(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* Feed one byte; returns true when a complete line is in l->buf. */
static int timer_feed(struct timer_line *l, unsigned char ch)
{
    if (l->esc == 1) {
        l->esc = ch == '[' ? 2 : 0;
        return 0;
    }
    if (l->esc == 2) {
        if (ch >= 0x40 && ch <= 0x7e)
            l->esc = 0;
        return 0;
    }
    if (ch == 0x1b) {
        l->esc = 1;
        return 0;
    }
    if (ch == '\n') {
        l->buf[l->len] = 0;
        return 1;
    }
    if (ch == '\r' || ch < 0x20)
        return 0;
    if (l->len + 1 < sizeof(l->buf))
        l->buf[l->len++] = (char)ch;
    return 0;
}

int main(int argc, char **argv)
{
    double timeout = 600;
    const char *stop = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "t:k:")) != -1) {
        if (opt == 't')
            timeout = atof(optarg);
        else if (opt == 'k')
            stop = optarg;
        else
            break;
    }
    if (optind >= argc || timeout <= 0) {
        fprintf(stderr, "usage: ixvm-bench-timer [-t SECONDS] [-k STOP] -- command [args...]\n");
        return 2;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, NULL);
    if (pid < 0) {
        perror("ixvm-bench-timer: forkpty");
        return 2;
    }
    if (pid == 0) {
        setenv("TERM", "xterm", 1);
        execvp(argv[optind], &argv[optind]);
        fprintf(stderr, "ixvm-bench-timer: cannot run %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    struct timer_line l = { .len = 0 };
    bool killed = false;
    for (;;) {
        double left = timeout - timer_now(&t0);
        if (left <= 0) {
            printf("@timeout %.6f\n", timer_now(&t0));
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        unsigned char buf[4096];
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got <= 0)
            break;   /* EIO: the child closed the pty */
        double now = timer_now(&t0);
        bool hit = false;
        for (ssize_t k = 0; k < got; k++)
            if (timer_feed(&l, buf[k])) {
                printf("%.6f %s\n", now, l.buf);
                if (stop && strstr(l.buf, stop))
                    hit = true;
                l.len = 0;
            }
        fflush(stdout);
        if (hit) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    close(fd);
    int code = killed ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    printf("@exit %.6f %d\n", timer_now(&t0), code);
    return 0;
}
