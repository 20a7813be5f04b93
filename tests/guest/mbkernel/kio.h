/* SPDX-License-Identifier: MIT */
/*
 * Freestanding helpers of the test kernels (tests/guest/mbkernel,
 * tests/kboot/bzkernel): COM1 output (16550 at 115200 8N1, polling
 * LSR.THRE), numbers, checks that count failures, FNV-1a, and the
 * "exit=N" command-line word that picks the isa-debug-exit status.
 * Included once per kernel (static functions).
 */
#ifndef KIO_H
#define KIO_H

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define COM1 0x3f8
#define EXIT_PORT 0xf4
#define EXIT_FAILED 0x70

static int failures;   /* checks that failed */

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* 16550: 115200 8N1, FIFOs on; transmit polls LSR.THRE. */
static void com_init(void)
{
    outb(COM1 + 1, 0x00);   /* IER: no interrupts */
    outb(COM1 + 3, 0x80);   /* LCR: DLAB */
    outb(COM1 + 0, 0x01);   /* divisor 1: 115200 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);   /* 8N1 */
    outb(COM1 + 2, 0xc7);   /* FIFO on, cleared */
    outb(COM1 + 4, 0x03);   /* DTR, RTS */
}

static void putc(char c)
{
    for (unsigned spin = 0; !(inb(COM1 + 5) & 0x20) && spin < 1000000; spin++)
        ;
    outb(COM1, (u8)c);
}

static void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

static void puthex(u32 v)
{
    puts("0x");
    for (int i = 28; i >= 0; i -= 4)
        putc("0123456789abcdef"[(v >> i) & 15]);
}

static void putdec(u32 v)
{
    char buf[12];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc(buf[--n]);
}

static void check(int ok, const char *what)
{
    puts(ok ? "ok: " : "FAIL: ");
    puts(what);
    putc('\n');
    failures += !ok;
}

/* FNV-1a, 32-bit: the test computes the same over the module file. */
static u32 fnv1a(const u8 *p, u32 n)
{
    u32 h = 2166136261u;
    for (u32 i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The number after "exit=" as a word of the command line, or -1. */
static int exit_arg(const char *cl)
{
    for (const char *p = cl; *p; p++) {
        if ((p == cl || p[-1] == ' ') && p[0] == 'e' && p[1] == 'x' && p[2] == 'i' && p[3] == 't' && p[4] == '=') {
            int v = 0;
            for (p += 5; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (*p - '0');
            return v & 0x7f;
        }
    }
    return -1;
}

#endif
