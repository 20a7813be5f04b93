; SPDX-License-Identifier: MIT
; tasks: hardware task switching.  JMP to a TSS, CALL to a TSS (NT flag,
; previous-task link, IRET back), task gates in the IDT for INT n and for an
; exception with an error code, busy-bit rules, CR0.TS, and a 16-bit TSS.
; References: Intel SDM Vol. 3A chapter 7 "Task Management": 7.2.1 (TSS
; layout), 7.2.2 (busy flag), 7.3 (task switching steps), 7.4 (task
; linking, Table 7-2), 7.6 (16-bit TSS); 6.11/6.12.2 (task gates).

%include "lib/boot.inc"

SEL_TSS_B   equ 0x40                    ; target of JMP
SEL_TSS_C   equ 0x48                    ; target of CALL
SEL_TSS_D   equ 0x50                    ; task gate for INT 0x60
SEL_TSS_E   equ 0x58                    ; task gate for #GP
SEL_TSS_16  equ 0x60                    ; 16-bit TSS
BAD_SEL     equ 0x1230

; INIT_TSS tss, eip, esp, ebx
%macro INIT_TSS 4
        mov edi, %1
        mov ecx, 104 / 4
        xor eax, eax
        rep stosd
        mov eax, cr3
        mov [%1 + 0x1C], eax
        mov dword [%1 + 0x04], STACK0_TOP
        mov dword [%1 + 0x08], SEL_DATA32
        mov dword [%1 + 0x20], %2
        mov dword [%1 + 0x24], 0x2
        mov dword [%1 + 0x38], %3
        mov dword [%1 + 0x34], %4
        mov dword [%1 + 0x4C], SEL_CODE32
        mov dword [%1 + 0x48], SEL_DATA32
        mov dword [%1 + 0x50], SEL_DATA32
        mov dword [%1 + 0x54], SEL_DATA32
        mov dword [%1 + 0x58], SEL_DATA32
        mov dword [%1 + 0x5C], SEL_DATA32
        mov word [%1 + 0x66], 104
%endmacro

%macro DESC_TYPE 2                      ; DESC_TYPE reg32, selector
        movzx %1, byte [gdt + (%2) + 5]
%endmacro

test_main:
        INIT_TSS tss_b, task_b, 0x80000, 0xB0B0
        INIT_TSS tss_c, task_c, 0x81000, 0
        INIT_TSS tss_d, task_d, 0x82000, 0
        INIT_TSS tss_e, task_e, 0x83000, 0
        SET_DESC SEL_TSS_B, tss_b, 103, 0x89, 0
        SET_DESC SEL_TSS_C, tss_c, 103, 0x89, 0
        SET_DESC SEL_TSS_D, tss_d, 103, 0x89, 0
        SET_DESC SEL_TSS_E, tss_e, 103, 0x89, 0

        ; ---- JMP to a TSS (7.3; Table 7-2: busy flag of the old task cleared)
        clts
        mov ebx, 0x5A5A5A5A
        jmp SEL_TSS_B:0
        ; task B jumps back to SEL_TSS: execution resumes here.
        CHECK_EQ ebx, 0x5A5A5A5A, "JMP task switch: EBX restored from the old TSS on return"
        mov eax, cr0
        and eax, 8
        CHECK_EQ eax, 8, "a task switch sets CR0.TS (7.3 step 10)"
        clts
        str ax
        movzx eax, ax
        CHECK_EQ eax, SEL_TSS, "TR is the library TSS again"
        CHECK_EQ [b_tr], SEL_TSS_B, "task B ran with TR = its TSS"
        CHECK_EQ [b_ebx], 0xB0B0, "task B's EBX came from its TSS"
        CHECK_EQ [b_nt], 0, "JMP to a task: NT clear in the new task"
        CHECK_EQ [b_old_type], 0x89, "JMP: the old task's TSS is not busy while task B runs"
        DESC_TYPE eax, SEL_TSS_B
        CHECK_EQ eax, 0x89, "JMP away from task B cleared its busy flag"
        DESC_TYPE eax, SEL_TSS
        CHECK_EQ eax, 0x8B, "the current TSS is busy"
        CHECK_EQ [tss_b + 0x20], task_b_after, "task B's TSS holds the EIP after its JMP"

        ; ---- CALL to a TSS (7.4): NT, link, busy nesting, IRET back
        call SEL_TSS_C:0
        CHECK_EQ [c_tr], SEL_TSS_C, "CALL task switch: task C ran"
        CHECK_EQ [c_nt], 0x4000, "CALL to a task sets NT in the new task"
        CHECK_EQ [c_link], SEL_TSS, "CALL to a task writes the previous-task link"
        CHECK_EQ [c_old_type], 0x8B, "CALL: the calling task stays busy"
        DESC_TYPE eax, SEL_TSS_C
        CHECK_EQ eax, 0x89, "IRET from a nested task clears its busy flag"
        pushfd
        pop eax
        and eax, 0x4000
        CHECK_EQ eax, 0, "the calling task resumes with its own NT (0)"

        ; ---- task gate for INT n (6.11, 7.3)
        SET_IDT 0x60, 0, SEL_TSS_D, 0x85
        int 0x60
        CHECK_EQ [d_tr], SEL_TSS_D, "INT to a task gate switches to its task"
        CHECK_EQ [d_link], SEL_TSS, "task gate: previous-task link written"
        CHECK_EQ [d_nt], 0x4000, "task gate: NT set in the new task"

        ; ---- exception through a task gate: error code on the new stack
        SET_IDT 13, 0, SEL_TSS_E, 0x85
        mov ax, BAD_SEL
        mov ds, ax                      ; #GP -> task E, which skips this MOV
        RESTORE_IDT 13
        CHECK_EQ [e_tr], SEL_TSS_E, "#GP through a task gate runs the handler task"
        CHECK_EQ [e_err], BAD_SEL, "the error code is pushed on the handler task's stack"
        CHECK_EQ [e_esp], 0x83000 - 4, "handler task stack holds only the error code"

        ; ---- busy flag: switching to a busy task is #GP(selector) (7.2.2)
        EXPECT_EXC .b1r
.b1:    jmp SEL_TSS:0
.b1r:   CHECK_EXC 13, SEL_TSS, .b1, "JMP to the busy current TSS: #GP(selector)"
        EXPECT_EXC .b2r
.b2:    call SEL_TSS:0
.b2r:   CHECK_EXC 13, SEL_TSS, .b2, "CALL to a busy TSS: #GP(selector)"
        mov byte [gdt + SEL_TSS_B + 5], 0x8B
        EXPECT_EXC .b3r
.b3:    jmp SEL_TSS_B:0
.b3r:   CHECK_EXC 13, SEL_TSS_B, .b3, "JMP to a TSS marked busy: #GP(selector)"
        mov byte [gdt + SEL_TSS_B + 5], 0x89

        ; ---- 16-bit TSS (7.6)
        mov edi, tss16
        mov ecx, 44
        xor al, al
        rep stosb
        mov word [tss16 + 14], task16           ; IP
        mov word [tss16 + 16], 0x0002           ; FLAGS
        mov word [tss16 + 18], 0x1616           ; AX
        mov word [tss16 + 26], 0x7000           ; SP
        mov word [tss16 + 34], SEL_DATA16       ; ES
        mov word [tss16 + 36], SEL_CODE16       ; CS
        mov word [tss16 + 38], SEL_DATA16       ; SS
        mov word [tss16 + 40], SEL_DATA16       ; DS
        SET_DESC SEL_TSS_16, tss16, 43, 0x81, 0
        jmp SEL_TSS_16:0
        CHECK_EQ [t16_ax], 0x1616, "16-bit TSS: AX loaded from the TSS"
        CHECK_EQ [t16_tr], SEL_TSS_16, "16-bit TSS: TR was the 16-bit TSS"
        CHECK_EQ [t16_sp], 0x7000, "16-bit TSS: SP loaded from the TSS"
        movzx eax, word [tss16 + 14]
        CHECK_EQ eax, task16_after, "16-bit TSS: IP saved in the 16-bit layout"
        DESC_TYPE eax, SEL_TSS_16
        CHECK_EQ eax, 0x81, "16-bit TSS not busy after JMP away"
        ret

task_b:
        str ax
        movzx eax, ax
        mov [b_tr], eax
        mov [b_ebx], ebx
        pushfd
        pop eax
        and eax, 0x4000
        mov [b_nt], eax
        DESC_TYPE eax, SEL_TSS
        mov [b_old_type], eax
        jmp SEL_TSS:0
task_b_after:
        jmp task_b_after

task_c:
        str ax
        movzx eax, ax
        mov [c_tr], eax
        pushfd
        pop eax
        and eax, 0x4000
        mov [c_nt], eax
        movzx eax, word [tss_c]
        mov [c_link], eax
        DESC_TYPE eax, SEL_TSS
        mov [c_old_type], eax
        iretd
        jmp task_c

task_d:
        str ax
        movzx eax, ax
        mov [d_tr], eax
        pushfd
        pop eax
        and eax, 0x4000
        mov [d_nt], eax
        movzx eax, word [tss_d]
        mov [d_link], eax
        iretd
        jmp task_d

task_e:
        str ax
        movzx eax, ax
        mov [e_tr], eax
        mov [e_esp], esp
        pop eax
        mov [e_err], eax
        add dword [tss0 + 0x20], 2      ; skip the faulting 2-byte MOV DS, AX
        iretd
        jmp task_e

        bits 16
task16:                                 ; CS = 16-bit code, base 0
        mov [t16_ax], ax
        mov [t16_sp], sp
        str ax
        mov [t16_tr], ax
        jmp SEL_TSS:0
task16_after:
        jmp task16_after
        bits 32

        align 4
b_tr:        dd 0
b_ebx:       dd 0
b_nt:        dd -1
b_old_type:  dd 0
c_tr:        dd 0
c_nt:        dd 0
c_link:      dd 0
c_old_type:  dd 0
d_tr:        dd 0
d_nt:        dd 0
d_link:      dd 0
e_tr:        dd 0
e_err:       dd 0
e_esp:       dd 0
t16_ax:      dd 0
t16_sp:      dd 0
t16_tr:      dd 0
        align 16
tss_b:       times 104 db 0
tss_c:       times 104 db 0
tss_d:       times 104 db 0
tss_e:       times 104 db 0
tss16:       times 44 db 0

; The 16-bit task addresses its code and data with 16-bit offsets.
[absolute 0]
task16_below_64k: resb 1 / ((t16_tr - boot_start) < 0x10000 - 0x7C00) - 1
[section .text]

%include "lib/lib32.inc"
