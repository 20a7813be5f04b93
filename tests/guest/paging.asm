; SPDX-License-Identifier: MIT
; paging: 32-bit 2-level paging with 4 KiB and 4 MiB (PSE) pages, PAE with
; 2 MiB pages and NX, CR0.WP, #PF error codes and CR2, accessed/dirty bits,
; INVLPG, global pages.  References: Intel SDM Vol. 3A chapter 4 ("Paging"):
; 4.3 32-bit paging, 4.4 PAE paging, 4.6 access rights, 4.7 page-fault
; exceptions (error code bits P=1 W/R=2 U/S=4 RSVD=8 I/D=0x10), 4.8
; accessed and dirty flags, 4.10 TLBs (4.10.4 invalidation, 4.10.2.4 global).

%include "lib/boot.inc"

PD32     equ 0x30000                    ; 32-bit page directory
PT_ID    equ 0x31000                    ; identity map of 0-4 MiB, user RW
PT_TEST  equ 0x32000                    ; linear 0x400000-0x7FFFFF
PDPT     equ 0x33000                    ; PAE
PAE_PD   equ 0x34000
PAE_PTID equ 0x35000                    ; identity map of 0-2 MiB
PAE_PT   equ 0x36000                    ; linear 0x200000-0x3FFFFF

; Physical test pages and their marker values.
PG_A     equ 0x44000                    ; 0x11111111
PG_B     equ 0x45000                    ; 0x22222222
PG_G1    equ 0x46000                    ; 0xAAAA0001
PG_G2    equ 0x47000                    ; 0xBBBB0002

; Linear test pages (32-bit paging): PT_TEST index n -> 0x400000 + n*0x1000
LIN_RW   equ 0x400000                   ; supervisor RW -> 0x40000
LIN_NP   equ 0x401000                   ; not present
LIN_RO   equ 0x402000                   ; supervisor read-only -> 0x41000
LIN_UR   equ 0x403000                   ; user RW -> 0x42000
LIN_SUP  equ 0x404000                   ; supervisor RW -> 0x43000
LIN_INV  equ 0x405000                   ; INVLPG test
LIN_URO  equ 0x407000                   ; user read-only -> 0x42000
LIN_GLB  equ 0x408000                   ; global page

PF_P equ 1
PF_W equ 2
PF_U equ 4
PF_R equ 8
PF_I equ 0x10

%macro FLUSH_ALL 0
        mov eax, cr3
        mov cr3, eax
%endmacro

test_main:
        mov dword [PG_A], 0x11111111
        mov dword [PG_B], 0x22222222
        mov dword [PG_G1], 0xAAAA0001
        mov dword [PG_G2], 0xBBBB0002
        mov eax, 1
        cpuid
        mov [cpuid1_edx], edx
        mov eax, 0x80000000
        cpuid
        xor edx, edx
        cmp eax, 0x80000001
        jb .noext
        mov eax, 0x80000001
        cpuid
.noext: mov [cpuidx_edx], edx

        call build_32bit
        mov eax, PD32
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000              ; PG (WP still 0)
        mov cr0, eax
        jmp .pg_on
.pg_on:
        ; ---- 4.7: not-present faults, CR2
        EXPECT_EXC .t1r
.t1:    mov eax, [LIN_NP + 0xABC]
.t1r:   CHECK_EXC 14, 0, .t1, "#PF(0) supervisor read of a not-present page"
        CHECK_EQ [exc_cr2], LIN_NP + 0xABC, "CR2 holds the faulting linear address"
        EXPECT_EXC .t2r
.t2:    mov dword [LIN_NP + 4], 1
.t2r:   CHECK_EXC 14, PF_W, .t2, "#PF(W) supervisor write to a not-present page"
        mov eax, LIN_NP + 0x10
        EXPECT_EXC .t3r
        jmp eax
.t3r:   CHECK_EXC 14, 0, LIN_NP + 0x10, "#PF(0) fetch from a not-present page, EIP = target (no I/D without NXE)"

        ; ---- 4.6: CR0.WP
        EXPECT_EXC .t4r
        mov dword [LIN_RO], 0x1234      ; WP=0: supervisor may write
.t4r:   CHECK_NOEXC "CR0.WP=0: supervisor write to a read-only page succeeds"
        EXC_RESET
        CHECK_EQ [0x41000], 0x1234, "the write reached the physical page"
        mov eax, cr0
        or eax, 0x10000                 ; WP
        mov cr0, eax
        EXPECT_EXC .t5r
.t5:    mov dword [LIN_RO], 0x5678
.t5r:   CHECK_EXC 14, PF_P | PF_W, .t5, "CR0.WP=1: #PF(P|W) supervisor write to a read-only page"
        CHECK_EQ [0x41000], 0x1234, "the faulting write changed nothing"

        ; ---- 4.8: accessed and dirty flags (4 KiB page)
        and dword [PT_TEST + 0 * 4], ~0x60
        and dword [PD32 + 4], ~0x20
        invlpg [LIN_RW]
        mov eax, [LIN_RW]
        mov eax, [PT_TEST + 0 * 4]
        and eax, 0x60
        CHECK_EQ eax, 0x20, "read sets A and not D in the PTE"
        mov eax, [PD32 + 4]
        and eax, 0x20
        CHECK_EQ eax, 0x20, "read sets A in the PDE"
        mov dword [LIN_RW], 7
        mov eax, [PT_TEST + 0 * 4]
        and eax, 0x60
        CHECK_EQ eax, 0x60, "write after a read sets D (TLB entry with D=0 rewalked)"

        ; ---- 4.10.4.1: INVLPG
        mov eax, [LIN_INV]
        CHECK_EQ eax, 0x11111111, "4 KiB mapping reads its physical page"
        mov dword [PT_TEST + 5 * 4], PG_B | 3
        invlpg [LIN_INV]
        mov eax, [LIN_INV]
        CHECK_EQ eax, 0x22222222, "after INVLPG the new PTE is used"
        mov dword [PT_TEST + 5 * 4], 0
        invlpg [LIN_INV]
        EXPECT_EXC .t6r
.t6:    mov eax, [LIN_INV]
.t6r:   CHECK_EXC 14, 0, .t6, "after INVLPG a cleared PTE faults"

        ; ---- 4.10.4.1: MOV CR3 flushes non-global entries
        mov eax, [LIN_RW]
        mov dword [PT_TEST + 0 * 4], PG_A | 3
        FLUSH_ALL
        mov eax, [LIN_RW]
        CHECK_EQ eax, 0x11111111, "after MOV CR3 a changed non-global PTE is used"
        mov dword [PT_TEST + 0 * 4], 0x40000 | 3
        FLUSH_ALL

        ; ---- 4.10.2.4: global pages
        test dword [cpuid1_edx], 1 << 13
        jz .noglobal
        mov eax, cr4
        or eax, 0x80                    ; PGE
        mov cr4, eax
        mov eax, [LIN_GLB]
        mov dword [PT_TEST + 8 * 4], PG_G2 | 0x103
        FLUSH_ALL
        mov eax, [LIN_GLB]
        CHECK_EQ eax, 0xAAAA0001, "CR4.PGE: global TLB entry survives MOV CR3"
        mov eax, cr4
        and eax, ~0x80                  ; clearing PGE flushes everything
        mov cr4, eax
        mov eax, [LIN_GLB]
        CHECK_EQ eax, 0xBBBB0002, "clearing CR4.PGE flushes global entries"
        jmp .global_done
.noglobal:
        SKIP "CR4.PGE: global TLB entry survives MOV CR3", "no PGE in CPUID"
        SKIP "clearing CR4.PGE flushes global entries", "no PGE in CPUID"
.global_done:

        ; ---- 4.6, 4.7: user-mode accesses
        ENTER_RING3 user_part
user_done:
        CHECK_EQ [u_res + 0], 0x0E00 | PF_P | PF_U, "#PF(P|U) user read of a supervisor page (vector<<8|error)"
        CHECK_EQ [u_res + 4], 0x0E00 | PF_P | PF_W | PF_U, "#PF(P|W|U) user write to a read-only user page"
        CHECK_EQ [u_res + 8], 0x0E00 | PF_W | PF_U, "#PF(W|U) user write to a not-present page"
        CHECK_EQ [u_res + 12], LIN_NP, "CR2 of the user write to a not-present page"
        CHECK_EQ [u_res + 16], 0x42, "user read and write of a user page work"

        ; ---- 4.3, Table 4-4: 4 MiB pages (CR4.PSE)
        test dword [cpuid1_edx], 1 << 3
        jz .nopse
        mov eax, cr4
        or eax, 0x10                    ; PSE
        mov cr4, eax
        mov dword [PD32 + 2 * 4], 0x00000083   ; 0x800000 -> phys 0, 4 MiB
        mov dword [PD32 + 4 * 4], 0x00200083   ; bit 21: reserved
        FLUSH_ALL
        mov eax, [0x800000 + PG_A]
        CHECK_EQ eax, 0x11111111, "4 MiB page maps its physical frame"
        and dword [PD32 + 2 * 4], ~0x60
        invlpg [0x800000]
        mov eax, [0x800000 + PG_B]
        mov eax, [PD32 + 2 * 4]
        and eax, 0x60
        CHECK_EQ eax, 0x20, "4 MiB page: read sets A and not D in the PDE"
        mov dword [0x800000 + 0x48000], 0x77
        mov eax, [PD32 + 2 * 4]
        and eax, 0x60
        CHECK_EQ eax, 0x60, "4 MiB page: write sets D in the PDE"
        CHECK_EQ [0x48000], 0x77, "write through the 4 MiB alias reached the frame"
        EXPECT_EXC .t7r
.t7:    mov eax, [0xC00123]
.t7r:   CHECK_EXC 14, 0, .t7, "#PF(0) for a not-present PDE"
        CHECK_EQ [exc_cr2], 0xC00123, "CR2 for the not-present PDE"
        EXPECT_EXC .t8r
.t8:    mov eax, [0x1000010]
.t8r:   CHECK_EXC 14, PF_P | PF_R, .t8, "#PF(P|RSVD) for bit 21 set in a 4 MiB PDE"
        jmp .pse_done
.nopse:
%rep 7
        SKIP "4 MiB pages", "no PSE in CPUID"
%endrep
.pse_done:

        ; ---- leave 32-bit paging
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        mov eax, cr4
        and eax, ~0x10
        mov cr4, eax

        ; ---- 4.4: PAE paging
        test dword [cpuid1_edx], 1 << 6
        jz .nopae
        call build_pae
        mov eax, cr4
        or eax, 0x20                    ; PAE
        mov cr4, eax
        mov eax, PDPT
        mov cr3, eax
        test dword [cpuidx_edx], 1 << 20
        jz .nonxe
        mov ecx, 0xC0000080             ; IA32_EFER.NXE
        rdmsr
        or eax, 1 << 11
        wrmsr
.nonxe: mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .pae_on
.pae_on:
        mov eax, [0x200000]
        CHECK_EQ eax, 0x11111111, "PAE: 4 KiB page maps its physical page"
        mov eax, [0x400000 + PG_B]
        CHECK_EQ eax, 0x22222222, "PAE: 2 MiB page maps its physical frame"
        mov eax, [PAE_PD + 2 * 8]
        and eax, 0x60
        CHECK_EQ eax, 0x20, "PAE: 2 MiB page read sets A and not D in the PDE"
        mov dword [0x400000 + 0x48000], 0x99
        mov eax, [PAE_PD + 2 * 8]
        and eax, 0x60
        CHECK_EQ eax, 0x60, "PAE: 2 MiB page write sets D in the PDE"
        EXPECT_EXC .p1r
.p1:    mov eax, [0x201000]
.p1r:   CHECK_EXC 14, PF_P | PF_R, .p1, "PAE: #PF(P|RSVD) for a reserved PTE bit (bit 62)"
        test dword [cpuidx_edx], 1 << 20
        jz .nonx
        mov eax, [0x202000]             ; NX does not stop reads
        CHECK_EQ eax, 0x000000C3, "PAE+NX: data read of an NX page works"
        mov eax, 0x202000
        EXPECT_EXC .p2r
        jmp eax
.p2r:   CHECK_EXC 14, PF_P | PF_I, 0x202000, "PAE+NX: #PF(P|I/D) fetch from an NX page"
        CHECK_EQ [exc_cr2], 0x202000, "CR2 of the NX fetch fault"
        mov eax, 0x203000
        EXPECT_EXC .p3r
        jmp eax
.p3r:   CHECK_EXC 14, PF_I, 0x203000, "PAE+NXE: #PF(I/D) fetch from a not-present page"
        jmp .pae_off
.nonx:
        SKIP "PAE+NX: data read of an NX page works", "no NX in CPUID"
        SKIP "PAE+NX: #PF(P|I/D) fetch from an NX page", "no NX in CPUID"
        SKIP "CR2 of the NX fetch fault", "no NX in CPUID"
        SKIP "PAE+NXE: #PF(I/D) fetch from a not-present page", "no NX in CPUID"
.pae_off:
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        mov eax, cr4
        and eax, ~0x20
        mov cr4, eax
        jmp .pae_done
.nopae:
%rep 9
        SKIP "PAE paging", "no PAE in CPUID"
%endrep
.pae_done:
        ret

; Ring 3 half: each fault is recorded as vector<<8|error.
user_part:
        EXPECT_EXC .u1
        mov eax, [LIN_SUP]
.u1:    call u_record
        mov [u_res + 0], eax
        EXPECT_EXC .u2
        mov dword [LIN_URO + 8], 1
.u2:    call u_record
        mov [u_res + 4], eax
        EXPECT_EXC .u3
        mov dword [LIN_NP], 1
.u3:    call u_record
        mov [u_res + 8], eax
        mov eax, [exc_cr2]
        mov [u_res + 12], eax
        mov dword [LIN_UR], 0x42
        mov eax, [LIN_UR]
        mov [u_res + 16], eax
        LEAVE_RING3 user_done
u_record:
        mov eax, [exc_vector]
        shl eax, 8
        or eax, [exc_err]
        ret

build_32bit:
        mov edi, PD32                   ; PD32, PT_ID, PT_TEST are contiguous
        mov ecx, 3 * 1024
        xor eax, eax
        rep stosd
        mov edi, PT_ID
        mov eax, 7
        mov ecx, 1024
.id:    stosd
        add eax, 0x1000
        loop .id
        mov dword [PD32 + 0], PT_ID | 7
        mov dword [PD32 + 4], PT_TEST | 7
        mov dword [PT_TEST + 0 * 4], 0x40000 | 3
        mov dword [PT_TEST + 2 * 4], 0x41000 | 1
        mov dword [PT_TEST + 3 * 4], 0x42000 | 7
        mov dword [PT_TEST + 4 * 4], 0x43000 | 3
        mov dword [PT_TEST + 5 * 4], PG_A | 3
        mov dword [PT_TEST + 7 * 4], 0x42000 | 5
        mov dword [PT_TEST + 8 * 4], PG_G1 | 0x103
        ret

build_pae:
        mov edi, PDPT                   ; PDPT .. PAE_PT are contiguous
        mov ecx, 4 * 1024
        xor eax, eax
        rep stosd
        mov dword [PDPT], PAE_PD | 1    ; PDPTE: only P (bits 2:1 reserved)
        mov dword [PAE_PD + 0 * 8], PAE_PTID | 7
        mov dword [PAE_PD + 1 * 8], PAE_PT | 7
        mov dword [PAE_PD + 2 * 8], 0x83        ; 0x400000 -> phys 0, 2 MiB
        mov edi, PAE_PTID
        mov eax, 7
        mov ecx, 512
.id:    mov [edi], eax
        add edi, 8
        add eax, 0x1000
        loop .id
        mov dword [PAE_PT + 0 * 8], PG_A | 3
        mov dword [PAE_PT + 1 * 8], PG_A | 3
        mov dword [PAE_PT + 1 * 8 + 4], 1 << (62 - 32)
        mov dword [PAE_PT + 2 * 8], 0x49000 | 3
        mov dword [PAE_PT + 2 * 8 + 4], 1 << (63 - 32)  ; XD
        mov dword [0x49000], 0x000000C3                 ; RET
        ret

        align 4
cpuid1_edx:  dd 0
cpuidx_edx:  dd 0
u_res:       times 5 dd 0

%include "lib/lib32.inc"
