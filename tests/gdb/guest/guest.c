/* SPDX-License-Identifier: MIT */
/*
 * The gdb test guest (tests/gdb/run-vm-gdb-test.sh): functions to break on
 * by name, a global to watch, a loop to interrupt with Ctrl-C, and an exit
 * through isa-debug-exit (port 0xf4: exit status (v << 1) | 1).  Built
 * with -O0 -g so gdb sees every line and local.
 */
volatile unsigned counter;        /* the watchpoint target */
volatile unsigned spin_flag;      /* gdb sets it to leave spin() */
volatile unsigned spins;
unsigned initialised = 0x11223344;   /* in .data: copied to RAM by start.asm */

static void outb(unsigned short port, unsigned char v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

unsigned add_numbers(unsigned a, unsigned b)
{
    return a + b;
}

void bump(void)
{
    counter = counter + 1;
}

/* Spins until gdb sets spin_flag (SPIN_LIMIT: or after that many rounds). */
void spin(void)
{
    while (!spin_flag) {
        spins = spins + 1;
#ifdef SPIN_LIMIT
        if (spins >= SPIN_LIMIT)
            break;
#endif
    }
}

void cmain(void)
{
    unsigned x = add_numbers(2, 3);
    bump();
    bump();
    spin();
    outb(0xe9, 'o');
    outb(0xe9, 'k');
    outb(0xe9, '\n');
    outb(0xf4, (unsigned char)(x + counter));   /* 5 + 2: exit status 15 */
}
