/* SPDX-License-Identifier: MIT */
/*
 * DBGF debugger front-end support: the abstract debug target and the
 * target-independent pieces the gdb stub, the monitor and the tracer share.
 *
 *  - struct dbgf_target: what a debugger may ask of a VM (registers, memory,
 *    breakpoints kept in the debugger core, stop/continue/step, stop events,
 *    plus monitor hooks).  The VM implements it with a small adapter; tests
 *    implement it with a fake (tests/gdb/fake_target.h).
 *  - dbgf_disas_*: capstone wrapper, one line per instruction.
 *  - dbgf_sym_*: symbol tables loaded from ELF32/ELF64 files.
 *  - dbgf_trace_* / dbgf_flight_*: instruction-trace lines, filters and the
 *    per-vCPU flight recorder.
 *
 * Every target hook may be NULL: callers then report "not supported".
 * Status conventions: 0 / negative IXVM_ERR_*; memory hooks return the
 * number of bytes done (>= 0, may be short at an unmapped page) or an error.
 */
#ifndef IXVM_DBGF_TARGET_H
#define IXVM_DBGF_TARGET_H

#include "ixvm/cpum.h"
#include "ixvm/types.h"

/* ------------------------------------------------------------------------- */
/* The debug target                                                          */
/* ------------------------------------------------------------------------- */

/* Breakpoint kinds.  SW breakpoints live in the debugger core's list, never
 * as INT3 in guest memory; the others model DR0..DR3 (SDM Vol. 3B 17.2). */
enum dbgf_bp_type {
    DBGF_BP_SW,       /* software breakpoint, any number */
    DBGF_BP_HW_EXEC,  /* hardware instruction breakpoint (len 1) */
    DBGF_BP_WRITE,    /* data write watchpoint */
    DBGF_BP_READ,     /* data read watchpoint (x86 hardware has only RW; the VM may emulate) */
    DBGF_BP_ACCESS,   /* data read or write */
    DBGF_BP_TYPE_COUNT
};

/* Why the target stopped (reported through the stop callback). */
enum dbgf_stop_reason {
    DBGF_STOP_BREAKPOINT,   /* bp_type/addr: which breakpoint (SW or HW_EXEC) */
    DBGF_STOP_WATCHPOINT,   /* bp_type/addr: the data address that triggered */
    DBGF_STOP_STEP,         /* single step of `cpu` done */
    DBGF_STOP_SIGNAL,       /* stopped on request (stop(): Ctrl-C, monitor "stop") */
    DBGF_STOP_TRIPLE_FAULT, /* `cpu` triple-faulted; the VM is held for inspection */
    DBGF_STOP_EXITED,       /* the VM powered off; `status` is its exit status */
};

struct dbgf_stop_event {
    enum dbgf_stop_reason reason;
    uint32_t cpu;                 /* the vCPU that stopped (0-based) */
    enum dbgf_bp_type bp_type;    /* BREAKPOINT / WATCHPOINT */
    uint64_t addr;                /* BREAKPOINT / WATCHPOINT */
    int status;                   /* EXITED */
};

/* Called by the target from any thread (an EMT, typically); receivers must
 * hand the event over to their own thread (the gdb stub uses uv_async). */
typedef void dbgf_stop_fn(void *user, const struct dbgf_stop_event *ev);

struct dbgf_target_ops {
    uint32_t (*cpu_count)(void *t);
    int (*get_regs)(void *t, uint32_t cpu, struct cpum_state *out);
    int (*set_regs)(void *t, uint32_t cpu, const struct cpum_state *in);
    /* Linear address in vCPU cpu's current paging context. */
    int (*read_lin)(void *t, uint32_t cpu, glin_t addr, void *buf, size_t len);
    int (*write_lin)(void *t, uint32_t cpu, glin_t addr, const void *buf, size_t len);
    int (*read_phys)(void *t, gphys_t addr, void *buf, size_t len);
    int (*write_phys)(void *t, gphys_t addr, const void *buf, size_t len);
    /* len: 1 for SW/HW_EXEC, 1/2/4/8 for watchpoints.  Setting an existing
     * one again is not an error; clearing a missing one is NOT_FOUND.
     * Out of hardware slots: IXVM_ERR_BUSY. */
    int (*bp_set)(void *t, enum dbgf_bp_type type, glin_t addr, unsigned len);
    int (*bp_clear)(void *t, enum dbgf_bp_type type, glin_t addr, unsigned len);
    /* Stop all vCPUs; asynchronous: a DBGF_STOP_SIGNAL event follows (or
     * whatever stop happened first).  Stopping a stopped target reports again. */
    int (*stop)(void *t);
    int (*cont)(void *t);                 /* resume all vCPUs */
    int (*step)(void *t, uint32_t cpu);   /* step only that vCPU; DBGF_STOP_STEP follows */
    /* Where stop events go (one receiver; fn NULL disconnects). */
    void (*set_stop_cb)(void *t, dbgf_stop_fn *fn, void *user);
    /* Operand size of the code the vCPU runs now, 16 or 32 (for disassembly). */
    unsigned (*cpu_bits)(void *t, uint32_t cpu);
    /* Monitor hooks. */
    int (*reset)(void *t);
    int (*power_off)(void *t);            /* gdb 'k', monitor "quit" when asked */
    int (*screenshot)(void *t, const char *file);
    int (*sendkey)(void *t, const char *chord);   /* "ctrl-alt-delete", "a", "shift-f1" */
    int (*trace_set)(void *t, bool on);
    int (*log_spec)(void *t, const char *spec, struct ixvm_errinfo *err);
};

struct dbgf_target {
    const struct dbgf_target_ops *ops;
    void *t;                              /* passed to every hook */
};

/* Short printable name of a stop reason ("breakpoint", "triple-fault", ...). */
const char *dbgf_stop_reason_name(enum dbgf_stop_reason r);
const char *dbgf_bp_type_name(enum dbgf_bp_type t);

/* ------------------------------------------------------------------------- */
/* Symbols                                                                   */
/* ------------------------------------------------------------------------- */

struct dbgf_sym;

int dbgf_sym_create(struct dbgf_sym **out) IXVM_WUR;
void dbgf_sym_destroy(struct dbgf_sym *s);
/* Add the function and object symbols of an ELF32/ELF64 file (little
 * endian), each moved by bias.  Errors name the file and the reason. */
int dbgf_sym_load_elf(struct dbgf_sym *s, const char *path, int64_t bias,
                      struct ixvm_errinfo *err) IXVM_WUR;
/* The same from a memory image (tests, embedded symbol blobs). */
int dbgf_sym_load_elf_mem(struct dbgf_sym *s, const void *img, size_t size, int64_t bias,
                          const char *what, struct ixvm_errinfo *err) IXVM_WUR;
int dbgf_sym_add(struct dbgf_sym *s, const char *name, uint64_t addr, uint64_t size) IXVM_WUR;
size_t dbgf_sym_count(const struct dbgf_sym *s);
/* The symbol containing addr (addr in [value, value+size), or the nearest
 * one below when its size is 0 and no other symbol starts in between).
 * NOT_FOUND when none.  *name stays valid until the table changes. */
int dbgf_sym_lookup_addr(const struct dbgf_sym *s, uint64_t addr, const char **name, uint64_t *off);
int dbgf_sym_lookup_name(const struct dbgf_sym *s, const char *name, uint64_t *addr);
/* "name" or "name+0x1c" into buf; returns NOT_FOUND (buf empty) when no symbol. */
int dbgf_sym_format(const struct dbgf_sym *s, uint64_t addr, char *buf, size_t size);

/* ------------------------------------------------------------------------- */
/* Disassembler                                                              */
/* ------------------------------------------------------------------------- */

struct dbgf_disas;

/* One per thread (capstone handles are not shared). sym may be NULL. */
int dbgf_disas_create(const struct dbgf_sym *sym, struct dbgf_disas **out) IXVM_WUR;
void dbgf_disas_destroy(struct dbgf_disas *d);
void dbgf_disas_set_sym(struct dbgf_disas *d, const struct dbgf_sym *sym);
/*
 * Disassemble the instruction at bytes[0..len) (address addr, 16- or 32-bit
 * code) into a line "0000100c <main+0xc>: 89 d8  mov eax, ebx" (the symbol
 * part only with a symbol table).  Returns the instruction length, or
 * IXVM_ERR_SYNTAX for an invalid/truncated encoding ("(bad)" line, length 1
 * written so callers can skip a byte).
 */
int dbgf_disas_line(struct dbgf_disas *d, unsigned bits, uint64_t addr, const uint8_t *bytes,
                    size_t len, char *buf, size_t size);
/* Only "mnemonic operands" (plus " <sym+off>" for direct branch targets). */
int dbgf_disas_insn(struct dbgf_disas *d, unsigned bits, uint64_t addr, const uint8_t *bytes,
                    size_t len, char *buf, size_t size);

/* ------------------------------------------------------------------------- */
/* Instruction trace and flight recorder                                     */
/* ------------------------------------------------------------------------- */

#define DBGF_TRACE_MAX_INSN 15

/* What the interpreter records per instruction (state on entry). 64 bytes. */
struct dbgf_trace_rec {
    uint32_t eip;
    uint32_t cs_base;
    uint32_t gpr[8];          /* CPUM_EAX.. order */
    uint32_t eflags;
    uint16_t cs;
    uint8_t mode;             /* enum cpum_mode */
    uint8_t cpl;
    uint8_t len;              /* bytes valid in bytes[] */
    uint8_t bytes[DBGF_TRACE_MAX_INSN];
};

/* Fill a record from a CPU state (bytes/len left for the caller); the mode
 * comes from CR0.PE, EFLAGS.VM and CS.D. */
void dbgf_trace_rec_from_state(struct dbgf_trace_rec *r, const struct cpum_state *s);
/* 16 or 32: the default operand size of the record's mode. */
unsigned dbgf_trace_rec_bits(const struct dbgf_trace_rec *r);
/* "real", "p16", "p32", "v86". */
const char *dbgf_trace_mode_name(unsigned mode);

/* Filters: a record passes when every set condition holds. */
struct dbgf_trace_filter {
    glin_t lin_lo, lin_hi;    /* inclusive range of linear EIP; lo > hi: none */
    int cpl;                  /* -1: any */
    int mode;                 /* -1: any, else enum cpum_mode */
    uint64_t cpu_mask;        /* 0: any vCPU */
};
void dbgf_trace_filter_init(struct dbgf_trace_filter *f);
bool dbgf_trace_filter_match(const struct dbgf_trace_filter *f, uint32_t cpu,
                             const struct dbgf_trace_rec *r);
/* Parse "range=LO-HI cpl=N mode=real|p16|p32|v86 cpu=N[,N...]" (any subset,
 * space separated; "all" resets).  Numbers: C syntax (0x.. hex). */
int dbgf_trace_filter_parse(struct dbgf_trace_filter *f, const char *spec, struct ixvm_errinfo *err) IXVM_WUR;

/*
 * One trace line (no newline):
 *   "cpu0 p32 0008:00001002 00001002: 89 d8  mov eax, ebx ; eax=00000005"
 * vCPU, mode, CS:EIP, then the disassembly line at the linear address, then
 * after " ; " the registers (and eflags) whose values on entry differ from
 * prev, the previous record of the same vCPU: the effect of the previous
 * instruction.  Nothing after the disassembly when prev is NULL or nothing
 * changed.  Returns the line length or an error.
 */
int dbgf_trace_format(struct dbgf_disas *d, uint32_t cpu, const struct dbgf_trace_rec *r,
                      const struct dbgf_trace_rec *prev, char *buf, size_t size);

struct dbgf_flight;

/* depth: records kept per vCPU, rounded up to a power of two (>= 2). */
int dbgf_flight_create(uint32_t ncpus, uint32_t depth, struct dbgf_flight **out) IXVM_WUR;
void dbgf_flight_destroy(struct dbgf_flight *f);
/* [EMT of cpu] Store one record (a copy; no formatting, no lock). */
void dbgf_flight_record(struct dbgf_flight *f, uint32_t cpu, const struct dbgf_trace_rec *r);
/* Records held for cpu (<= depth). */
uint32_t dbgf_flight_count(const struct dbgf_flight *f, uint32_t cpu);
/* i-th record, 0 = oldest; NULL if out of range. */
const struct dbgf_trace_rec *dbgf_flight_get(const struct dbgf_flight *f, uint32_t cpu, uint32_t i);
/* Print the records of cpu, oldest first, as trace lines.  Call while that
 * vCPU is stopped (debugger stop, triple fault). */
void dbgf_flight_dump(const struct dbgf_flight *f, uint32_t cpu, struct dbgf_disas *d,
                      const struct ixvm_printer *pr);

#endif
