; SPDX-License-Identifier: MIT
; modes: processor mode switches and segment limits.  32-bit protected mode
; (entered by the library from real mode) -> 16-bit protected mode -> real
; mode -> 32-bit protected mode; unreal mode (a 4 GiB limit cached in FS
; survives the return to real mode); real-mode segment arithmetic, IVT
; dispatch and the real-mode #GP on a limit violation; protected-mode limit
; checks: expand-up and expand-down data segments (B=1 and B=0), expand-down
; stack segment (#SS), code segment limit on a far JMP.
; References: Intel SDM Vol. 3A 9.9 "Mode Switching" (9.9.1 switching to
; protected mode, 9.9.2 switching back to real-address mode), 20.1
; "Real-Address Mode" (20.1.1 address translation, 20.1.4 interrupt and
; exception handling), 3.4.5.1 (segment types, expand-down), 5.3 "Limit
; Checking"; Vol. 2 "Real-Address Mode Exceptions" of MOV.

%include "lib/boot.inc"

SEL_ED32    equ 0x40                    ; expand-down data, B=1, limit 0xFFF
SEL_ED16    equ 0x48                    ; expand-down data, B=0, limit 0xFFF
SEL_EDSS    equ 0x50                    ; expand-down stack, B=1, limit 0xFFF
RM_SP       equ 0x7000
UNREAL_ADDR equ 0x00200000              ; above 1 MiB: needs the 4 GiB limit

test_main:
        ; ---- 3.4.5.1 / 5.3: expand-down data segments
        SET_DESC SEL_ED32, 0, 0xFFF, 0x96, 0x40
        SET_DESC SEL_ED16, 0, 0xFFF, 0x96, 0x00
        SET_DESC SEL_EDSS, 0, 0xFFF, 0x96, 0x40
        mov dword [0x1000], 0x600DF00D
        mov dword [0xFFFC], 0x0000FFFC
        mov ax, SEL_ED32
        mov es, ax
        EXPECT_EXC .e1r
        mov eax, [es:0x1000]            ; lowest valid offset: limit + 1
.e1r:   CHECK_NOEXC "expand-down B=1: offset limit+1 is valid"
        EXC_RESET
        CHECK_EQ eax, 0x600DF00D, "expand-down B=1: reads base + offset"
        EXPECT_EXC .e2r
.e2:    mov eax, [es:0x800]
.e2r:   CHECK_EXC 13, 0, .e2, "expand-down B=1: offset <= limit is #GP(0)"
        EXPECT_EXC .e3r
.e3:    mov eax, [es:0xFFE]             ; starts below, ends above the limit
.e3r:   CHECK_EXC 13, 0, .e3, "expand-down B=1: a dword straddling the limit is #GP(0)"
        mov ax, SEL_ED16
        mov es, ax
        EXPECT_EXC .e4r
        mov eax, [es:0xFFFC]            ; ends at the 0xFFFF upper bound
.e4r:   CHECK_NOEXC "expand-down B=0: a dword ending at 0xFFFF is valid"
        EXC_RESET
        EXPECT_EXC .e5r
.e5:    mov eax, [es:0xFFFE]            ; crosses the 0xFFFF upper bound
.e5r:   CHECK_EXC 13, 0, .e5, "expand-down B=0: crossing the 0xFFFF upper bound is #GP(0)"
        mov ax, SEL_DATA32
        mov es, ax
        mov ax, SEL_EDSS
        mov ss, ax                      ; ESP (~0x8Fxxx) is above the limit
        EXPECT_EXC .e6r
.e6:    mov eax, [ss:0x800]
.e6r:   CHECK_EXC 12, 0, .e6, "expand-down SS: offset <= limit is #SS(0)"
        push dword 0x5555               ; the stack itself still works
        pop eax
        mov bx, SEL_DATA32
        mov ss, bx
        CHECK_EQ eax, 0x5555, "expand-down SS: push/pop above the limit work"
        mov ax, SEL_DATA16
        mov fs, ax
        EXPECT_EXC .e7r
.e7:    mov ax, [fs:0xFFFF]             ; word crossing a 0xFFFF limit
.e7r:   CHECK_EXC 13, 0, .e7, "expand-up limit 0xFFFF: a word at 0xFFFF is #GP(0)"
        EXPECT_EXC .e8r
.e8:    jmp SEL_CODE16:0x10010          ; offset beyond the 0xFFFF CS limit
.e8r:   CHECK_EXC 13, 0, .e8, "far JMP beyond the code segment limit is #GP(0), EIP of the JMP"

        ; ---- 9.9.2: 32-bit PM -> 16-bit PM -> real mode -> 32-bit PM
        mov dword [UNREAL_ADDR], 0
        mov dword [0x10030], 0
        mov word [13 * 4], rm_gp_handler        ; real-mode IVT at 0
        mov word [13 * 4 + 2], 0
        mov word [0x40 * 4], rm_int40
        mov word [0x40 * 4 + 2], 0
        mov [saved_esp], esp
        jmp SEL_CODE16:pm16

        bits 16
pm16:
        mov ebx, esp                    ; operand size is 16 here
        push ax
        mov ecx, esp
        pop ax
        sub ebx, ecx
        mov [m_push16], ebx
        mov eax, cr0
        mov [m_cr0_pm16], eax
        mov ax, SEL_DATA16              ; 64 KiB segments for real mode
        mov ds, ax
        mov es, ax
        mov gs, ax
        mov ss, ax
        mov esp, RM_SP
        mov ax, SEL_DATA32              ; FS keeps the 4 GiB limit: unreal
        mov fs, ax
        lidt [rm_idtr]
        mov eax, cr0
        and eax, ~1
        mov cr0, eax
        jmp 0:rm_entry
rm_entry:
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, RM_SP
        mov ax, cs
        movzx eax, ax
        mov [m_rm_cs], eax
        mov eax, cr0
        mov [m_rm_cr0], eax
        mov ax, 0x1000                  ; 20.1.1: linear = segment * 16 + offset
        mov es, ax
        mov dword [es:0x30], 0x1234ABCD
        xor ax, ax
        mov es, ax
        mov esi, UNREAL_ADDR
        mov dword [fs:esi], 0xDEADBEEF  ; unreal: 32-bit offset through FS
        mov word [rm_resume], rm_gp_r
rm_gp_f:
        mov ax, [0xFFFF]                ; word crossing DS limit 0xFFFF
rm_gp_r:
        int 0x40                        ; through the IVT
        mov eax, cr0                    ; back to 32-bit protected mode
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE32:pm32_back

rm_gp_handler:                          ; real mode: IP CS FLAGS, no error
        push bp
        mov bp, sp
        movzx eax, word [bp + 2]
        mov [m_rm_gp_ip], eax
        mov ax, [rm_resume]
        mov [bp + 2], ax
        pop bp
        iret
rm_int40:
        mov dword [m_rm_int40], 0x40
        pushf
        pop ax
        movzx eax, ax
        mov [m_rm_int40_flags], eax
        iret
        bits 32

pm32_back:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, [saved_esp]
        lidt [idt_desc]
        CHECK_EQ [m_push16], 2, "16-bit protected mode: PUSH uses a 16-bit operand"
        mov eax, [m_cr0_pm16]
        and eax, 1
        CHECK_EQ eax, 1, "16-bit protected mode: CR0.PE=1"
        mov eax, [m_rm_cr0]
        and eax, 1
        CHECK_EQ eax, 0, "real mode: CR0.PE=0"
        CHECK_EQ [m_rm_cs], 0, "real mode: CS from the far JMP"
        CHECK_EQ [0x10030], 0x1234ABCD, "real mode: ES=0x1000 addresses 0x10000 + offset"
        CHECK_EQ [UNREAL_ADDR], 0xDEADBEEF, "unreal mode: FS limit from protected mode reaches above 1 MiB"
        CHECK_EQ [m_rm_gp_ip], rm_gp_f, "real mode: #GP through the IVT on a word at DS:0xFFFF, IP of the MOV"
        CHECK_EQ [m_rm_int40], 0x40, "real mode: INT n dispatches through the IVT"
        mov eax, [m_rm_int40_flags]
        and eax, 0x300
        CHECK_EQ eax, 0, "real mode: INT n clears IF and TF"
        str ax                          ; protected-mode state is back
        movzx eax, ax
        CHECK_EQ eax, SEL_TSS, "32-bit protected mode again: TR unchanged"
        ret

        align 4
saved_esp:        dd 0
m_push16:         dd 0
m_cr0_pm16:       dd 0
m_rm_cr0:         dd -1
m_rm_cs:          dd -1
m_rm_gp_ip:       dd 0
m_rm_int40:       dd 0
m_rm_int40_flags: dd -1
rm_resume:        dw 0
rm_idtr:          dw 0x3FF
                  dd 0

; Real-mode code and data use 16-bit offsets with segment 0.
[absolute 0]
rm_below_64k: resb 1 / ((rm_idtr - boot_start) < 0x10000 - 0x7C00 - 16) - 1
[section .text]

%include "lib/lib32.inc"
