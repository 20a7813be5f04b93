; SPDX-License-Identifier: MIT
; exceptions: every architectural exception the interpreter raises from
; ordinary instructions, its error code, and whether the pushed EIP is the
; faulting instruction (faults) or the next one (traps).  References are to
; the Intel SDM Vol. 3A, chapter 6 ("Interrupt and Exception Handling"),
; section 6.15 "Exception and Interrupt Reference" unless stated otherwise.

%include "lib/boot.inc"

SEL_NP_DATA   equ 0x40                  ; data segment, P=0
SEL_NP_STACK  equ 0x48                  ; writable data, P=0
SEL_SS_LIM    equ 0x50                  ; stack segment, limit 0xFFFFF bytes
SEL_DS_LIM    equ 0x58                  ; data segment, limit 0xFFF
SEL_TSS2      equ 0x60                  ; TSS whose FS selector is bad
BAD_SEL       equ 0x1230                ; GDT index 0x246: past the GDT limit

test_main:
        ; --- #DE (6.15 "Interrupt 0"): DIV by zero and quotient overflow.
        xor ecx, ecx
        mov eax, 1
        xor edx, edx
        EXPECT_EXC .de1r
.de1:   div ecx
.de1r:  CHECK_EXC 0, 0, .de1, "#DE on DIV by zero, EIP of the DIV"
        mov edx, 1                      ; 0x1_00000000 / 1 does not fit
        xor eax, eax
        mov ecx, 1
        EXPECT_EXC .de2r
.de2:   div ecx
.de2r:  CHECK_EXC 0, 0, .de2, "#DE on DIV quotient overflow"
        mov eax, 0x80000000             ; INT_MIN / -1
        cdq
        mov ecx, -1
        EXPECT_EXC .de3r
.de3:   idiv ecx
.de3r:  CHECK_EXC 0, 0, .de3, "#DE on IDIV 0x80000000 / -1"
        mov ax, 0x8000                  ; 8-bit: AX / 1 does not fit in AL
        mov cl, 1
        EXPECT_EXC .de4r
.de4:   div cl
.de4r:  CHECK_EXC 0, 0, .de4, "#DE on 8-bit DIV overflow"

        ; --- #UD (6.15 "Interrupt 6").
        EXPECT_EXC .ud1r
.ud1:   ud2
.ud1r:  CHECK_EXC 6, 0, .ud1, "#UD on UD2"
        EXPECT_EXC .ud2r
.ud2:   db 0xFE, 0xF8                   ; FE /7: undefined group-4 encoding
.ud2r:  CHECK_EXC 6, 0, .ud2, "#UD on invalid opcode FE /7"
        EXPECT_EXC .ud3r
.ud3:   db 0xF0, 0x90                   ; LOCK NOP (Vol. 2A "LOCK")
.ud3r:  CHECK_EXC 6, 0, .ud3, "#UD on LOCK NOP"
        EXPECT_EXC .ud4r
.ud4:   db 0xF0, 0x01, 0xD8             ; LOCK ADD EAX, EBX: register dest
.ud4r:  CHECK_EXC 6, 0, .ud4, "#UD on LOCK ADD with a register destination"
        EXPECT_EXC .ud5r
.ud5:   db 0x8D, 0xC0                   ; LEA EAX, EAX: ModRM.mod = 3
.ud5r:  CHECK_EXC 6, 0, .ud5, "#UD on LEA with a register source"

        ; --- #BP (6.15 "Interrupt 3"): a trap, pushed EIP is the next one.
        EXPECT_EXC .bp1r
        int3
.bp1r:  CHECK_EXC 3, 0, .bp1r, "#BP from INT3 pushes the next EIP"
        EXPECT_EXC .bp2r
        int 3                           ; CD 03
.bp2r:  CHECK_EXC 3, 0, .bp2r, "#BP from INT 3 (CD 03) pushes the next EIP"

        ; --- #OF (6.15 "Interrupt 4"): INTO traps only with OF=1.
        mov al, 0x7F
        add al, 1                       ; OF=1
        EXPECT_EXC .of1r
        into
.of1r:  CHECK_EXC 4, 0, .of1r, "#OF from INTO with OF=1, next EIP"
        mov al, 1
        add al, 1                       ; OF=0
        EXPECT_EXC .of2r
        into
.of2r:  CHECK_NOEXC "INTO with OF=0 does nothing"
        EXC_RESET

        ; --- #BR (6.15 "Interrupt 5"): BOUND, a fault.
        mov eax, 20
        EXPECT_EXC .br1r
.br1:   bound eax, [bounds]
.br1r:  CHECK_EXC 5, 0, .br1, "#BR from BOUND above the upper bound"
        mov eax, 10
        EXPECT_EXC .br2r
        bound eax, [bounds]
.br2r:  CHECK_NOEXC "BOUND inside the bounds (upper inclusive) does nothing"
        EXC_RESET

        ; --- #GP with selector error codes (6.13, 6.15 "Interrupt 13").
        mov ax, BAD_SEL
        EXPECT_EXC .gp1r
.gp1:   mov ds, ax
.gp1r:  CHECK_EXC 13, BAD_SEL, .gp1, "#GP(selector) loading DS past the GDT limit"
        mov ax, SEL_CODE32
        EXPECT_EXC .gp2r
.gp2:   mov ss, ax
.gp2r:  CHECK_EXC 13, SEL_CODE32, .gp2, "#GP(selector) loading a code segment into SS"
        mov ax, SEL_TSS
        EXPECT_EXC .gp3r
.gp3:   mov es, ax
.gp3r:  CHECK_EXC 13, SEL_TSS, .gp3, "#GP(selector) loading a TSS selector into ES"
        mov ax, SEL_UDATA32             ; DPL 3 data into SS at CPL 0
        EXPECT_EXC .gp4r
.gp4:   mov ss, ax
.gp4r:  CHECK_EXC 13, SEL_UDATA32 & 0xFFFC, .gp4, "#GP(selector) loading SS with DPL != CPL"
        xor ax, ax                      ; null into DS is fine ...
        EXPECT_EXC .gp5r
        mov ds, ax
.gp5:   mov eax, [0x1000]               ; ... using it is #GP(0)
.gp5r:  mov bx, SEL_DATA32
        mov ds, bx
        CHECK_EXC 13, 0, .gp5, "#GP(0) on a memory access through a null DS"
        SET_DESC SEL_DS_LIM, 0, 0xFFF, 0x92, 0x40
        mov ax, SEL_DS_LIM
        mov fs, ax
        mov eax, [fs:0xFFC]             ; last dword inside the limit
        EXPECT_EXC .gp6r
.gp6:   mov eax, [fs:0xFFD]             ; crosses the limit
.gp6r:  CHECK_EXC 13, 0, .gp6, "#GP(0) on a dword that crosses the DS limit (3.4.5.1)"

        ; --- #NP (6.15 "Interrupt 11").
        SET_DESC SEL_NP_DATA, 0, 0xFFFFF, 0x12, 0xC0    ; P=0
        mov ax, SEL_NP_DATA
        EXPECT_EXC .np1r
.np1:   mov es, ax
.np1r:  CHECK_EXC 11, SEL_NP_DATA, .np1, "#NP(selector) loading a not-present data segment"
        SET_IDT 0x41, isr_ret, SEL_CODE32, 0x0E         ; P=0 gate
        EXPECT_EXC .np2r
.np2:   int 0x41
.np2r:  CHECK_EXC 11, 0x41 * 8 + 2, .np2, "#NP(vector*8+2) on INT n to a not-present gate"
        RESTORE_IDT 0x41

        ; --- #SS (6.15 "Interrupt 12").
        SET_DESC SEL_NP_STACK, 0, 0xFFFFF, 0x12, 0xC0   ; P=0
        mov ax, SEL_NP_STACK
        EXPECT_EXC .ss1r
.ss1:   mov ss, ax
.ss1r:  CHECK_EXC 12, SEL_NP_STACK, .ss1, "#SS(selector) loading a not-present SS"
        SET_DESC SEL_SS_LIM, 0, 0xFFFFF, 0x92, 0x40     ; 1 MiB, byte granular
        mov ax, SEL_SS_LIM
        mov ss, ax                      ; the stack (< 0x90000) stays valid
        EXPECT_EXC .ss2r
.ss2:   mov eax, [ss:0x100000]
.ss2r:  CHECK_EXC 12, 0, .ss2, "#SS(0) on an SS access past the limit"
        EXPECT_EXC .ss3r
        mov ebp, 0xFFFFE
.ss3:   mov eax, [ebp]                  ; EBP base: SS is the default segment
.ss3r:  CHECK_EXC 12, 0, .ss3, "#SS(0) on an [EBP] access crossing the SS limit"
        mov ax, SEL_DATA32
        mov ss, ax

        ; --- #TS (6.15 "Interrupt 10"): the new task's FS selector is bad;
        ; detected after the commit point, so EIP is the new task's first.
        mov dword [tss2 + 0x20], ts_new_task            ; EIP
        mov dword [tss2 + 0x24], 0x2                    ; EFLAGS
        mov dword [tss2 + 0x38], 0x8A000                ; ESP
        mov dword [tss2 + 0x4C], SEL_CODE32             ; CS
        mov dword [tss2 + 0x48], SEL_DATA32             ; ES
        mov dword [tss2 + 0x50], SEL_DATA32             ; SS
        mov dword [tss2 + 0x54], SEL_DATA32             ; DS
        mov dword [tss2 + 0x58], BAD_SEL                ; FS
        mov dword [tss2 + 0x5C], SEL_DATA32             ; GS
        mov eax, cr3
        mov [tss2 + 0x1C], eax
        mov dword [tss2 + 0x04], STACK0_TOP
        mov dword [tss2 + 0x08], SEL_DATA32
        mov word [tss2 + 0x66], 104
        SET_DESC SEL_TSS2, tss2, 103, 0x89, 0x00
        EXPECT_EXC ts_in_new_task
        jmp SEL_TSS2:0
        jmp ts_back                    ; the switch back resumes here
ts_new_task:
        hlt                             ; never executed: #TS comes first
ts_in_new_task:
        mov ax, SEL_DATA32
        mov fs, ax
        CHECK_EXC 10, BAD_SEL, ts_new_task, "#TS(selector) for a bad FS in the new TSS, EIP = new task"
        str ax
        movzx eax, ax
        CHECK_EQ eax, SEL_TSS2, "TR is the new TSS after the #TS"
        jmp SEL_TSS:0                   ; back to the library TSS
ts_back:

        ; --- #DF (6.15 "Interrupt 8", Table 6-5): #GP whose gate is not
        ; present raises #NP; two contributory exceptions give #DF(0).
        SET_IDT 13, isr_ret, SEL_CODE32, 0x0E           ; P=0
        mov ax, BAD_SEL
        EXPECT_EXC .df1r
        mov ds, ax
.df1r:  RESTORE_IDT 13
        CHECK_EXC 8, 0, -1, "#DF(0) on #NP while delivering #GP"

        ; --- Privilege checks from ring 3 (6.12.1.1).
        ENTER_RING3 ring3_part
ring3_done:
        mov eax, [r3_int_vec]
        mov ebx, [r3_int_err]
        mov ecx, [r3_int_eip]
        mov [exc_vector], eax
        mov [exc_err], ebx
        mov [exc_eip], ecx
        mov dword [exc_count], 1
        CHECK_EXC 13, 0x40 * 8 + 2, r3_int, "#GP(vector*8+2) on INT n to a DPL0 gate from ring 3"
        mov eax, [r3_bp_vec]
        mov ebx, [r3_bp_err]
        mov ecx, [r3_bp_eip]
        mov [exc_vector], eax
        mov [exc_err], ebx
        mov [exc_eip], ecx
        mov dword [exc_count], 1
        CHECK_EXC 13, 3 * 8 + 2, r3_bp, "#GP(3*8+2) on INT3 to a DPL0 gate from ring 3"
        mov eax, [r3_hlt_vec]
        mov ebx, [r3_hlt_err]
        mov ecx, [r3_hlt_eip]
        mov [exc_vector], eax
        mov [exc_err], ebx
        mov [exc_eip], ecx
        mov dword [exc_count], 1
        CHECK_EXC 13, 0, r3_hlt, "#GP(0) on HLT at CPL 3"
        CHECK_EQ [r3_hlt_cs], SEL_UCODE32, "ring 3 fault pushed the ring 3 CS"
        ret

; Ring 3: three faults, each resumed in ring 3 by the library handler.
ring3_part:
        EXPECT_EXC r3_a
r3_int: int 0x40
r3_a:   mov eax, [exc_vector]
        mov [r3_int_vec], eax
        mov eax, [exc_err]
        mov [r3_int_err], eax
        mov eax, [exc_eip]
        mov [r3_int_eip], eax
        EXPECT_EXC r3_b
r3_bp:  int3
r3_b:   mov eax, [exc_vector]
        mov [r3_bp_vec], eax
        mov eax, [exc_err]
        mov [r3_bp_err], eax
        mov eax, [exc_eip]
        mov [r3_bp_eip], eax
        EXPECT_EXC r3_c
r3_hlt: hlt
r3_c:   mov eax, [exc_vector]
        mov [r3_hlt_vec], eax
        mov eax, [exc_err]
        mov [r3_hlt_err], eax
        mov eax, [exc_eip]
        mov [r3_hlt_eip], eax
        mov eax, [exc_cs]
        mov [r3_hlt_cs], eax
        LEAVE_RING3 ring3_done

isr_ret:
        iretd

        align 4
bounds:       dd 0, 10
r3_int_vec:   dd 0
r3_int_err:   dd 0
r3_int_eip:   dd 0
r3_bp_vec:    dd 0
r3_bp_err:    dd 0
r3_bp_eip:    dd 0
r3_hlt_vec:   dd 0
r3_hlt_err:   dd 0
r3_hlt_eip:   dd 0
r3_hlt_cs:    dd 0
        align 16
tss2:         times 104 db 0

%include "lib/lib32.inc"
