/* SPDX-License-Identifier: MIT */
/*
 * Differential tester, host side.  A hand-assembled stub on a low RWX page
 * switches the (64-bit) test process into 32-bit compatibility mode with a
 * far return to the 32-bit user code segment, loads EFLAGS and the eight
 * GPRs from a context page, runs the instruction in a 16-byte slot, stores
 * the GPRs and EFLAGS back and far-jumps back to 64-bit mode.  Faults in the
 * slot arrive as signals on an alternate stack; the handler takes the vector
 * and registers from the signal context and siglongjmps out.
 *
 * The 32-bit code segment is the one Linux keeps in its GDT for ia32
 * processes (selector 0x23, AMD64 APM Vol. 2 4.8.1 "compatibility mode");
 * if the kernel was booted with ia32_emulation=0 the probe in
 * diff_host_open() fails with a message saying so.
 */
#define _GNU_SOURCE
#include "diff_host.h"

#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define DIFF_USER32_CS   0x23u
#define DIFF_SLOT_SIZE   16u
#define DIFF_ALTSTACK    (256u * 1024u)

/* Context page layout (offsets from base + DIFF_CTX_OFF). */
#define CTX_IN_GPR     0u
#define CTX_IN_EFL     32u
#define CTX_OUT_GPR    64u
#define CTX_OUT_EFL    96u
#define CTX_SAVED_RSP  128u
#define CTX_SAVED_DS   136u
#define CTX_SAVED_ES   140u
#define CTX_FAR64      144u  /* m16:32 far pointer back to 64-bit code */

static const int diff_signals[] = { SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP };

struct diff_host {
    uint8_t *base;                    /* the low mapping */
    uint32_t slot_off;                /* offset of the instruction slot */
    void (*entry)(void);              /* 64-bit entry of the stub */
    void *altstack;
    stack_t old_ss;
    struct sigaction old_sa[IXVM_ARRAY_SIZE(diff_signals)];
    sigjmp_buf jb;
    volatile sig_atomic_t running;    /* the slot may fault right now */
    struct diff_out *fault_out;       /* where the handler puts the state */
};

static struct diff_host *diff_g_host;  /* the open runner, for the handler */

/* ---- a tiny byte emitter ------------------------------------------------ */

struct diff_emit {
    uint8_t *p;
};

static void emit_bytes(struct diff_emit *e, const uint8_t *bytes, size_t n)
{
    memcpy(e->p, bytes, n);
    e->p += n;
}
#define EMIT(e, ...) do { static const uint8_t b_[] = { __VA_ARGS__ }; emit_bytes((e), b_, sizeof(b_)); } while (0)

static void emit_u32(struct diff_emit *e, uint32_t v)
{
    memcpy(e->p, &v, 4);
    e->p += 4;
}

static uint32_t host_addr32(const void *p)
{
    return (uint32_t)(uintptr_t)p;
}

/*
 * Build the stub.  64-bit part: save callee-saved registers, RSP, DS, ES;
 * move to the low stack; far-return to CS 0x23.  32-bit part: DS=ES=SS,
 * POPFD, load GPRs (ESP last), slot, store GPRs, PUSHFD, far-jump back.
 */
static void diff_build_stub(struct diff_host *h)
{
    uint8_t *code = h->base + DIFF_CODE_OFF;
    uint32_t ctx = host_addr32(h->base + DIFF_CTX_OFF);
    uint32_t stack_top = host_addr32(h->base + DIFF_STACK_OFF + DIFF_STACK_SIZE);
    struct diff_emit e = { code };
    static const uint8_t load_modrm[8] = { 0, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d };

    memset(code, 0xcc, 0x1000);
    EMIT(&e, 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57);  /* push rbx..r15 */
    EMIT(&e, 0x48, 0x89, 0x24, 0x25); emit_u32(&e, ctx + CTX_SAVED_RSP);   /* mov [abs],rsp */
    EMIT(&e, 0x8c, 0xd8, 0x89, 0x04, 0x25); emit_u32(&e, ctx + CTX_SAVED_DS);
    EMIT(&e, 0x8c, 0xc0, 0x89, 0x04, 0x25); emit_u32(&e, ctx + CTX_SAVED_ES);
    EMIT(&e, 0x8c, 0xc8, 0x89, 0x04, 0x25); emit_u32(&e, ctx + CTX_FAR64 + 4);
    EMIT(&e, 0xbc); emit_u32(&e, stack_top);                         /* mov esp,imm */
    EMIT(&e, 0x6a, DIFF_USER32_CS);                                  /* push 0x23 */
    uint8_t *push_entry32 = e.p;
    EMIT(&e, 0x68); emit_u32(&e, 0);                                       /* push entry32 */
    EMIT(&e, 0x48, 0xcb);                                            /* retfq */

    /* 32-bit compatibility-mode code. */
    uint32_t entry32 = host_addr32(e.p);
    memcpy(push_entry32 + 1, &entry32, 4);
    EMIT(&e, 0x8c, 0xd0, 0x8e, 0xd8, 0x8e, 0xc0); /* ds=es=ss */
    EMIT(&e, 0xff, 0x35); emit_u32(&e, ctx + CTX_IN_EFL);            /* push dword [in_efl] */
    EMIT(&e, 0x9d);                                                  /* popfd */
    for (int r = 0; r < 8; r++) {
        int reg = r == 7 ? 4 : (r >= 4 ? r + 1 : r);  /* ESP last */
        if (reg == 0) {
            EMIT(&e, 0xa1);
        } else {
            EMIT(&e, 0x8b); *e.p++ = load_modrm[reg];
        }
        emit_u32(&e, ctx + CTX_IN_GPR + 4u * (uint32_t)reg);
    }
    h->slot_off = (uint32_t)(e.p - code);
    memset(e.p, 0x90, DIFF_SLOT_SIZE);
    e.p += DIFF_SLOT_SIZE;
    for (int reg = 0; reg < 8; reg++) {
        if (reg == 0) {
            EMIT(&e, 0xa3);
        } else {
            EMIT(&e, 0x89); *e.p++ = load_modrm[reg];
        }
        emit_u32(&e, ctx + CTX_OUT_GPR + 4u * (uint32_t)reg);
    }
    EMIT(&e, 0xbc); emit_u32(&e, stack_top);                         /* mov esp,imm */
    EMIT(&e, 0x9c);                                                  /* pushfd */
    EMIT(&e, 0x8f, 0x05); emit_u32(&e, ctx + CTX_OUT_EFL);           /* pop [out_efl] */
    EMIT(&e, 0xff, 0x2d); emit_u32(&e, ctx + CTX_FAR64);             /* jmp far [far64] */

    /* Back in 64-bit mode. */
    uint32_t back64 = host_addr32(e.p);
    memcpy(h->base + DIFF_CTX_OFF + CTX_FAR64, &back64, 4);
    EMIT(&e, 0x48, 0x8b, 0x24, 0x25); emit_u32(&e, ctx + CTX_SAVED_RSP); /* mov rsp,[abs] */
    EMIT(&e, 0x8b, 0x04, 0x25); emit_u32(&e, ctx + CTX_SAVED_DS);
    EMIT(&e, 0x8e, 0xd8);                                      /* mov ds,eax */
    EMIT(&e, 0x8b, 0x04, 0x25); emit_u32(&e, ctx + CTX_SAVED_ES);
    EMIT(&e, 0x8e, 0xc0);                                      /* mov es,eax */
    EMIT(&e, 0xfc);                                                  /* cld */
    EMIT(&e, 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3);
    h->entry = (void (*)(void))(uintptr_t)code;
}

/* ---- signals ------------------------------------------------------------ */

static void diff_restore_handler(int sig)
{
    struct diff_host *h = diff_g_host;
    for (size_t i = 0; h && i < IXVM_ARRAY_SIZE(diff_signals); i++) {
        if (diff_signals[i] == sig)
            sigaction(sig, &h->old_sa[i], NULL);
    }
    if (!h)
        signal(sig, SIG_DFL);
}

/*
 * A fault in the slot (or the stub): record the vector (the kernel's trap
 * number) and the registers at the fault, then jump out.  Anything else is
 * a real crash: put the previous handler back and let the fault re-execute.
 */
static void diff_signal(int sig, siginfo_t *si, void *uc_v)
{
    struct diff_host *h = diff_g_host;
    ucontext_t *uc = uc_v;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    (void)si;
    if (!h || !h->running || rip < (uintptr_t)h->base || rip >= (uintptr_t)h->base + 0x1000) {
        diff_restore_handler(sig);
        return;
    }
    static const int greg_of[8] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI };
    struct diff_out *o = h->fault_out;
    for (int r = 0; r < 8; r++)
        o->regs.gpr[r] = (uint32_t)uc->uc_mcontext.gregs[greg_of[r]];
    o->regs.eflags = (uint32_t)uc->uc_mcontext.gregs[REG_EFL];
    o->regs.eip = (uint32_t)rip;
    o->vector = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
    h->running = 0;
    siglongjmp(h->jb, 1);
}

static int diff_install_signals(struct diff_host *h, struct ixvm_errinfo *err)
{
    h->altstack = mmap(NULL, DIFF_ALTSTACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h->altstack == MAP_FAILED) {
        h->altstack = NULL;
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "diff host: cannot map the signal stack");
    }
    stack_t ss = { .ss_sp = h->altstack, .ss_size = DIFF_ALTSTACK, .ss_flags = 0 };
    if (sigaltstack(&ss, &h->old_ss) != 0)
        return ixvm_errinfo_set(err, IXVM_ERR_GENERAL, "diff host: sigaltstack failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = diff_signal;
    /* NODEFER: we siglongjmp out without restoring the mask. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(diff_signals); i++) {
        if (sigaction(diff_signals[i], &sa, &h->old_sa[i]) != 0)
            return ixvm_errinfo_set(err, IXVM_ERR_GENERAL, "diff host: sigaction(%d) failed", diff_signals[i]);
    }
    return 0;
}

/* ---- public API --------------------------------------------------------- */

/* Low addresses tried for the region: all inside a small guest's RAM. */
static const uintptr_t diff_bases[] = { 0x00100000, 0x00200000, 0x00600000, 0x00a00000, 0x00e00000 };

static uint8_t *diff_map_region(void)
{
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(diff_bases); i++) {
        void *p = mmap((void *)diff_bases[i], DIFF_REGION_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == (void *)diff_bases[i])
            return p;
        if (p != MAP_FAILED)
            munmap(p, DIFF_REGION_SIZE);  /* old kernel ignored NOREPLACE */
    }
    return NULL;
}

static int diff_probe(struct diff_host *h, struct ixvm_errinfo *err)
{
    static const uint8_t nop = 0x90;
    struct diff_regs in = { .gpr = { 1, 2, 3, 4, 5, 6, 7, 8 }, .eflags = 0x8d5 };
    struct diff_out *o = malloc(sizeof(*o));
    uint8_t *win = calloc(1, DIFF_WIN_SIZE);
    int rc = (o && win) ? diff_host_run(h, &nop, 1, &in, win, o) : IXVM_ERR_NO_MEMORY;
    if (rc == 0 && o->vector != DIFF_VEC_NONE)
        rc = ixvm_errinfo_set(err, IXVM_ERR_NOT_SUPPORTED,
                              "diff host: cannot run 32-bit code (vector %d entering CS 0x%x); "
                              "is the kernel booted with ia32_emulation=0?", o->vector, DIFF_USER32_CS);
    else if (rc == 0 && (memcmp(o->regs.gpr, in.gpr, sizeof(in.gpr)) != 0 ||
                         (o->regs.eflags & DIFF_EFL_LOADED) != (in.eflags & DIFF_EFL_LOADED)))
        rc = ixvm_errinfo_set(err, IXVM_ERR_GENERAL, "diff host: stub probe returned a wrong state");
    else if (rc != 0)
        rc = ixvm_errinfo_set(err, rc, "diff host: probe failed");
    free(o);
    free(win);
    return rc;
}

int diff_host_open(struct diff_host **out, struct ixvm_errinfo *err)
{
    *out = NULL;
    if (diff_g_host)
        return ixvm_errinfo_set(err, IXVM_ERR_BUSY, "diff host: a runner is already open in this process");
    struct diff_host *h = calloc(1, sizeof(*h));
    if (!h)
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY, "diff host: out of memory");
    h->base = diff_map_region();
    if (!h->base) {
        free(h);
        return ixvm_errinfo_set(err, IXVM_ERR_NO_MEMORY,
                                "diff host: cannot map an RWX region at a fixed address below 16 MiB");
    }
    diff_build_stub(h);
    diff_g_host = h;
    int rc = diff_install_signals(h, err);
    if (rc == 0)
        rc = diff_probe(h, err);
    if (rc != 0) {
        diff_host_close(h);
        return rc;
    }
    *out = h;
    return 0;
}

void diff_host_close(struct diff_host *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < IXVM_ARRAY_SIZE(diff_signals); i++) {
        if (h->old_sa[i].sa_handler || h->old_sa[i].sa_sigaction)
            sigaction(diff_signals[i], &h->old_sa[i], NULL);
        else
            signal(diff_signals[i], SIG_DFL);
    }
    if (h->altstack) {
        sigaltstack(&h->old_ss, NULL);
        munmap(h->altstack, DIFF_ALTSTACK);
    }
    munmap(h->base, DIFF_REGION_SIZE);
    if (diff_g_host == h)
        diff_g_host = NULL;
    free(h);
}

uint32_t diff_host_base(const struct diff_host *h)
{
    return host_addr32(h->base);
}

uint32_t diff_host_insn_addr(const struct diff_host *h)
{
    return host_addr32(h->base + DIFF_CODE_OFF + h->slot_off);
}

int diff_host_run(struct diff_host *h, const uint8_t *insn, size_t len, const struct diff_regs *in,
                  const uint8_t *win_in, struct diff_out *out)
{
    if (!h || !insn || !in || !win_in || !out || len == 0 || len > DIFF_INSN_MAX)
        return IXVM_ERR_INVALID_PARAMETER;
    uint8_t *slot = h->base + DIFF_CODE_OFF + h->slot_off;
    uint8_t *ctx = h->base + DIFF_CTX_OFF;
    uint32_t efl = (in->eflags & DIFF_EFL_LOADED) | DIFF_EFL_FIXED;
    memcpy(slot, insn, len);
    memset(slot + len, 0x90, DIFF_SLOT_SIZE - len);
    memcpy(ctx + CTX_IN_GPR, in->gpr, sizeof(in->gpr));
    memcpy(ctx + CTX_IN_EFL, &efl, 4);
    memcpy(h->base + DIFF_WIN_OFF, win_in, DIFF_WIN_SIZE);
    h->fault_out = out;
    if (sigsetjmp(h->jb, 0) == 0) {
        h->running = 1;
        h->entry();
        h->running = 0;
        memcpy(out->regs.gpr, ctx + CTX_OUT_GPR, sizeof(out->regs.gpr));
        memcpy(&out->regs.eflags, ctx + CTX_OUT_EFL, 4);
        out->regs.eip = diff_host_insn_addr(h) + (uint32_t)len;
        out->vector = DIFF_VEC_NONE;
    }
    memcpy(out->win, h->base + DIFF_WIN_OFF, DIFF_WIN_SIZE);
    return 0;
}
