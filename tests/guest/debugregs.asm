; SPDX-License-Identifier: MIT
; debugregs: debug exceptions from DR0-DR3/DR7, single-step and DR7.GD.
; Instruction breakpoints are faults (EIP of the instruction, resumed with
; EFLAGS.RF), data and I/O breakpoints traps (EIP of the next instruction),
; TF single-step traps with DR6.BS, DR7 enable bits, DR6 B0-B3, GD -> BD.
; References: Intel SDM Vol. 3A chapter 18 "Debug, Branch Profile, TSC, and
; Intel Resource Director Technology Features": 18.2.3 (DR6), 18.2.4 (DR7),
; 18.2.5 (breakpoint field recognition), 18.3.1 (debug exception
; conditions, Table 18-2), 18.3.1.1 (instruction breakpoints and RF),
; 18.3.1.2 (data breakpoints), 18.3.1.3 (I/O breakpoints), 18.3.1.4
; (single-step), 18.3.1.5 (GD / general-detect).

%include "lib/boot.inc"

DR6_MASK equ 0x600F                     ; BS BD B3 B2 B1 B0
DR7_GD   equ 1 << 13

test_main:
        mov dword [exc_hook], db_hook
        xor eax, eax
        mov dr6, eax

        ; ---- 18.3.1.1 instruction breakpoint (fault), RF to resume
        call db_reset
        mov eax, ib1
        mov dr0, eax
        mov eax, 1                      ; L0, RW0=00 (execute), LEN0=00
        mov dr7, eax
        xor ecx, ecx
ib1:    inc ecx
        xor eax, eax
        mov dr7, eax
        CHECK_EQ [db_count], 1, "DR0 execute breakpoint: one #DB"
        CHECK_EQ [db_eip], ib1, "DR0 execute breakpoint: fault, EIP of the instruction"
        mov eax, [db_dr6]
        and eax, DR6_MASK
        CHECK_EQ eax, 1, "DR0 execute breakpoint: DR6.B0 only"
        CHECK_EQ ecx, 1, "EFLAGS.RF let the instruction run exactly once"

        ; ---- 18.2.4 DR7 enable bits
        call db_reset
        mov eax, ib2
        mov dr0, eax
        xor eax, eax                    ; L0=G0=0
        mov dr7, eax
ib2:    nop
        CHECK_EQ [db_count], 0, "DR7 L0=G0=0: breakpoint disabled"
        call db_reset
        mov eax, ib3
        mov dr1, eax
        mov eax, 1 << 3                 ; G1
        mov dr7, eax
ib3:    nop
        xor eax, eax
        mov dr7, eax
        CHECK_EQ [db_count], 1, "DR7 G1 enables DR1"
        mov eax, [db_dr6]
        and eax, DR6_MASK
        CHECK_EQ eax, 2, "DR1 hit sets DR6.B1"

        ; ---- 18.3.1.2 data write breakpoint (trap)
        call db_reset
        mov eax, var
        mov dr1, eax
        mov eax, (1 << 2) | (1 << 20) | (3 << 22) | (1 << 8)    ; L1 W 4B LE
        mov dr7, eax
        mov eax, [var]                  ; a read does not match RW=01
        mov [var], eax
dw1:    xor eax, eax
        mov dr7, eax
        CHECK_EQ [db_count], 1, "DR1 write breakpoint: only the write traps"
        CHECK_EQ [db_eip], dw1, "data breakpoint: trap, EIP after the write"
        mov eax, [db_dr6]
        and eax, DR6_MASK
        CHECK_EQ eax, 2, "data write breakpoint: DR6.B1"
        call db_reset
        mov eax, (1 << 2) | (1 << 20) | (3 << 22) | (1 << 8)
        mov dr7, eax
        mov word [var + 2], 5           ; overlaps the 4-byte range
dw2:    xor eax, eax
        mov dr7, eax
        CHECK_EQ [db_eip], dw2, "data breakpoint matches a write overlapping the range"

        ; ---- read/write breakpoint (RW=11): a read traps
        call db_reset
        mov eax, var
        mov dr2, eax
        mov eax, (1 << 4) | (3 << 24) | (3 << 26) | (1 << 8)    ; L2 RW 4B
        mov dr7, eax
        mov eax, [var]
rd1:    xor eax, eax
        mov dr7, eax
        CHECK_EQ [db_count], 1, "DR2 read/write breakpoint: a read traps"
        CHECK_EQ [db_eip], rd1, "read breakpoint: EIP after the read"
        mov eax, [db_dr6]
        and eax, DR6_MASK
        CHECK_EQ eax, 4, "read/write breakpoint: DR6.B2"

        ; ---- 18.3.1.3 I/O breakpoint (CR4.DE)
        mov eax, 1
        cpuid
        test edx, 1 << 2
        jz t_node
        mov eax, cr4
        or eax, 8                       ; DE
        mov cr4, eax
        call db_reset
        mov eax, 0x7E
        mov dr3, eax
        mov eax, (1 << 6) | (2 << 28)   ; L3, RW3=10 (I/O), LEN3=00
        mov dr7, eax
        in al, 0x7F                     ; another port: no match
        in al, 0x7E
io1:    xor eax, eax
        mov dr7, eax
        mov eax, cr4
        and eax, ~8
        mov cr4, eax
        CHECK_EQ [db_count], 1, "DR3 I/O breakpoint: only the matching port traps"
        CHECK_EQ [db_eip], io1, "I/O breakpoint: trap, EIP after the IN"
        mov eax, [db_dr6]
        and eax, DR6_MASK
        CHECK_EQ eax, 8, "I/O breakpoint: DR6.B3"
        jmp t_de_done
t_node:
%rep 3
        SKIP "I/O breakpoint", "no DE in CPUID"
%endrep
t_de_done:

        ; ---- 18.3.1.4 single-step
        call db_reset
        pushfd                          ; original flags, TF=0
        pushfd
        or dword [esp], 0x100
        popfd                           ; TF=1 from here: the trap comes
        nop                             ; after the next instruction
ss1:    nop
ss2:    popfd                           ; clears TF; started with TF=1
ss3:    CHECK_EQ [db_count], 3, "single-step: one #DB after each instruction with TF=1"
        CHECK_EQ [db_eip], ss1, "single-step: first trap after the first instruction"
        CHECK_EQ [db_eip + 4], ss2, "single-step: second trap"
        CHECK_EQ [db_eip + 8], ss3, "single-step: trap after the POPF that cleared TF"
        mov eax, [db_dr6]
        and eax, [db_dr6 + 4]
        and eax, [db_dr6 + 8]
        and eax, DR6_MASK
        CHECK_EQ eax, 0x4000, "single-step: DR6.BS in every trap"

        ; ---- 18.3.1.5 general detect
        call db_reset
        mov eax, DR7_GD
        mov dr7, eax
gd1:    mov eax, dr0                    ; faults before executing
        mov eax, dr7
        CHECK_EQ [db_count], 1, "DR7.GD: MOV from a debug register raises #DB"
        CHECK_EQ [db_eip], gd1, "DR7.GD: fault, EIP of the MOV DR"
        mov ebx, [db_dr6]
        and ebx, DR6_MASK
        CHECK_EQ ebx, 0x2000, "DR7.GD: DR6.BD set"
        and eax, DR7_GD
        CHECK_EQ eax, 0, "DR7.GD is cleared on entry to the #DB handler"
        ret

db_reset:
        mov dword [db_count], 0
        mov dword [exc_resume], EXC_CONTINUE
        push eax
        xor eax, eax
        mov dr6, eax
        pop eax
        ret

; #DB hook: log EIP and DR6, clear DR6 (never cleared by the CPU, 18.2.3),
; set RF so a faulting instruction breakpoint is not re-taken (18.3.1.1).
db_hook:
        cmp dword [ebx], 1
        jne .r
        mov ecx, [db_count]
        cmp ecx, 8
        jae .full
        mov eax, [ebx + 8]
        mov [db_eip + ecx * 4], eax
        mov eax, dr6
        mov [db_dr6 + ecx * 4], eax
.full:  inc dword [db_count]
        xor eax, eax
        mov dr6, eax
        or dword [ebx + 16], 1 << 16    ; RF
.r:     ret

        align 4
var:       dd 0x12345678
db_count:  dd 0
db_eip:    times 8 dd 0
db_dr6:    times 8 dd 0

%include "lib/lib32.inc"
