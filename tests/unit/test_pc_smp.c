/* SPDX-License-Identifier: MIT */
/*
 * LOCK atomicity across vCPU threads for operands the host cannot update
 * atomically (IEM-DESIGN.md 8): four vCPUs of the PC board, each on its EMT,
 * run LOCK ADD on a dword crossing a page boundary and LOCK XADD on a
 * misaligned dword crossing another one, N times each.  Those run in the
 * exclusive section (iem_vmm.c: a ONE_BY_ONE rendezvous); without it
 * increments get lost.  The BSP waits for the three APs (started with
 * SIPI from the test) and leaves through isa-debug-exit; the test then
 * checks both sums and the section counters.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "ixvm/cfg.h"
#include "ixvm/pc.h"
#include "ixvm/pgm.h"
#include "ixvm/stam.h"
#include "ixvm/vmm.h"

#define SMP_CPUS 4u
#define SMP_N 1000u
#define SMP_BSP_CODE 0x8000u
#define SMP_AP_CODE 0x9000u          /* SIPI vector 0x09 */
#define SMP_CTR_ADD 0x0ffeu          /* crosses 0x1000 */
#define SMP_CTR_XADD 0x1ffdu         /* crosses 0x2000, misaligned */
#define SMP_DONE 0x0900u

/*
 *      cli; xor ax,ax; mov ds,ax; mov ecx,N; mov ebx,1
 * .l:  lock add dword [0x0ffe],1; lock xadd [0x1ffd],ebx; mov ebx,1
 *      dec ecx; jnz .l
 *      lock inc word [0x0900]
 * .w:  cmp word [0x0900],4; jne .w          (APs: hlt; jmp $-1 here)
 *      mov dx,0xf4; xor eax,eax; out dx,eax  (isa-debug-exit 0: status 1)
 * .h:  hlt; jmp .h
 */
static const uint8_t smp_code[] = {
    0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x66, 0xb9, 0xe8, 0x03, 0x00, 0x00, 0x66, 0xbb, 0x01, 0x00, 0x00,
    0x00, 0xf0, 0x66, 0x83, 0x06, 0xfe, 0x0f, 0x01, 0xf0, 0x66, 0x0f, 0xc1, 0x1e, 0xfd, 0x1f, 0x66,
    0xbb, 0x01, 0x00, 0x00, 0x00, 0x66, 0x49, 0x75, 0xe8, 0xf0, 0xff, 0x06, 0x00, 0x09, 0x83, 0x3e,
    0x00, 0x09, 0x04, 0x75, 0xf9, 0xba, 0xf4, 0x00, 0x66, 0x31, 0xc0, 0x66, 0xef, 0xf4, 0xeb, 0xfd,
};
#define SMP_OFF_N 7u
#define SMP_OFF_WAIT 0x2eu

static void smp_timeout_cb(uv_timer_t *t) { pc_request_exit(t->data, 124, "test_pc_smp: timeout"); }

/* A 64 KiB ROM whose reset vector jumps to 0000:8000. */
static void smp_rom(const char *path)
{
    static uint8_t rom[0x10000];
    memset(rom, 0xf4, sizeof(rom));
    const uint8_t jmp[] = { 0xea, 0x00, 0x80, 0x00, 0x00 };
    memcpy(rom + 0xfff0, jmp, sizeof(jmp));
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(rom, 1, sizeof(rom), fp), sizeof(rom));
    fclose(fp);
}

static uint64_t smp_stat(struct vm *vm, const char *fmt, unsigned cpu)
{
    char path[64];
    uint64_t v = 0;
    snprintf(path, sizeof(path), fmt, cpu);
    cr_assert_eq(stam_get_value(vmm_stam(vm), path, &v), 0, "%s", path);
    return v;
}

Test(pc_smp, split_lock_is_atomic_across_vcpus, .timeout = 120)
{
    char rom[64];
    snprintf(rom, sizeof(rom), "/tmp/ixvm-test-pc-smp-%d.rom", (int)getpid());
    smp_rom(rom);
    struct cfg *cfg;
    struct ixvm_errinfo err = { 0 };
    cr_assert_eq(cfg_create(&cfg), 0);
    cr_assert_eq(cfg_set_assignment(cfg, "Memory/Size=16M", &err), 0, "%s", err.msg);
    cr_assert_eq(cfg_set_assignment(cfg, "CPU/Count=4", &err), 0, "%s", err.msg);
    struct pc_options po = { .bios_path = rom, .no_reboot = true, .boot_fail_wait_ms = -1 };
    struct pc *pc;
    cr_assert_eq(pc_create(cfg, &po, &pc, &err), 0, "pc_create: %s", err.msg);
    struct pgm *pgm = pc_pgm(pc);

    uint8_t code[sizeof(smp_code)];
    memcpy(code, smp_code, sizeof(code));
    uint32_t n = SMP_N;
    memcpy(code + SMP_OFF_N, &n, 4);
    cr_assert_eq(pgm_phys_write(pgm, SMP_BSP_CODE, code, sizeof(code)), 0);
    const uint8_t ap_stop[] = { 0xf4, 0xeb, 0xfd };
    memcpy(code + SMP_OFF_WAIT, ap_stop, sizeof(ap_stop));
    cr_assert_eq(pgm_phys_write(pgm, SMP_AP_CODE, code, sizeof(code)), 0);
    const uint32_t zero = 0;
    cr_assert_eq(pgm_phys_write(pgm, SMP_CTR_ADD, &zero, 4), 0);
    cr_assert_eq(pgm_phys_write(pgm, SMP_CTR_XADD, &zero, 4), 0);
    cr_assert_eq(pgm_phys_write(pgm, SMP_DONE, &zero, 2), 0);

    struct vm *vm = pc_vm(pc);
    uv_timer_t timer;
    uv_timer_init(vmm_loop(vm), &timer);
    timer.data = pc;
    uv_timer_start(&timer, smp_timeout_cb, 100000, 0);
    cr_assert_eq(vmm_power_on(vm, &err), 0, "%s", err.msg);
    for (unsigned k = 1; k < SMP_CPUS; k++)
        cr_assert_eq(vmm_send_startup_ipi(vmm_get_cpu_by_id(vm, k), SMP_AP_CODE >> 12), 0);
    cr_assert_eq(vmm_run_loop(vm), 0);
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
    cr_assert_eq(pc_exit_status(pc, NULL), 1, "the BSP saw all four vCPUs finish");

    uint32_t add = 0, xadd = 0;
    cr_assert_eq(pgm_phys_read(pgm, SMP_CTR_ADD, &add, 4), 0);
    cr_assert_eq(pgm_phys_read(pgm, SMP_CTR_XADD, &xadd, 4), 0);
    cr_expect_eq(add, SMP_CPUS * SMP_N, "LOCK ADD across a page: %u, want %u", add, SMP_CPUS * SMP_N);
    cr_expect_eq(xadd, SMP_CPUS * SMP_N, "LOCK XADD misaligned across a page: %u, want %u", xadd,
                 SMP_CPUS * SMP_N);
    for (unsigned k = 0; k < SMP_CPUS; k++)
        cr_expect_geq(smp_stat(vm, "/EM/CPU%u/ExclusiveSections", k), 2 * SMP_N,
                      "vCPU %u ran its split locks in exclusive sections", k);
    pc_destroy(pc);
    cfg_destroy(cfg);
    unlink(rom);
}
