; SPDX-License-Identifier: MIT
; v86: virtual-8086 mode.  Entry through IRET with EFLAGS.VM=1, real-mode
; segment arithmetic, IOPL-sensitive instructions (CLI STI PUSHF POPF INT n
; IRET) faulting to the ring 0 monitor with #GP(0) when IOPL < 3 and working
; when IOPL = 3, INT n through the protected-mode IDT (frame with the data
; segment registers, null selectors in the handler), the I/O permission
; bitmap, and VME (virtual interrupt flag, interrupt redirection bitmap).
; References: Intel SDM Vol. 3A chapter 20 "8086 Emulation": 20.2.1
; (entering), 20.2.7 (sensitive instructions), 20.2.8.1 (I/O bitmap),
; 20.3.1 (interrupts to a protected-mode handler, Figure 20-2), 20.4 (VME,
; Table 20-2 methods 3 and 5), 20.4.2 (VIF).

%include "lib/boot.inc"

SEL_TSS_V   equ 0x40                    ; TSS with redirection and I/O bitmaps
V86_SP      equ 0x7000
EFL_VM      equ 1 << 17
EFL_VIF     equ 1 << 19
EFL_IF      equ 1 << 9
IOPL3       equ 3 << 12

; CHECK_SAVED slot, vector, error, eip, "desc": an exception recorded by
; v86 code with SAVE_EXC (three dwords per slot).
%macro CHECK_SAVED 5
        mov eax, [saved + (%1) * 12]
        mov [exc_vector], eax
        mov eax, [saved + (%1) * 12 + 4]
        mov [exc_err], eax
        mov eax, [saved + (%1) * 12 + 8]
        mov [exc_eip], eax
        mov eax, 1
        cmp dword [saved + (%1) * 12], -1
        jne %%c
        xor eax, eax
%%c:    mov [exc_count], eax
        CHECK_EXC %2, %3, %4, %5
%endmacro

; (v86 code) SAVE_EXC slot
%macro SAVE_EXC 1
        mov eax, [exc_vector]
        mov [saved + (%1) * 12], eax
        mov eax, [exc_err]
        mov [saved + (%1) * 12 + 4], eax
        mov eax, [exc_eip]
        mov [saved + (%1) * 12 + 8], eax
%endmacro

test_main:
        mov dword [exc_hook], v86_hook
        SET_IDT 0x52, v86int_handler, SEL_CODE32, 0xEE
        mov edi, saved
        mov ecx, 16 * 3
        mov eax, -1
        rep stosd

        ; ---- IOPL = 3
        mov eax, v86_p1
        mov ebx, EFL_VM | IOPL3 | 2
        call enter_v86
v86_p1_done:
        CHECK_EQ [v_cs], 0, "V86: CS as entered by IRET"
        CHECK_EQ [0x10020], 0xCAFE, "V86: DS=0x1000 addresses linear 0x10000 + offset"
        CHECK_EQ [v_fl_cli], 0, "V86 IOPL=3: CLI clears IF (PUSHF image)"
        CHECK_EQ [v_fl_sti], EFL_IF, "V86 IOPL=3: STI sets IF"
        CHECK_EQ [v_fl_popf], 0x0400, "V86 IOPL=3: POPF loads DF"
        CHECK_EQ [h_ds], 0, "INT from V86: DS is null in the handler"
        CHECK_EQ [h_es], 0, "INT from V86: ES is null in the handler"
        CHECK_EQ [h_frame_es], 0x4321, "INT from V86: the frame holds the V86 ES"
        CHECK_EQ [h_frame_ds], 0, "INT from V86: the frame holds the V86 DS"
        CHECK_EQ [h_frame_vm], EFL_VM, "INT from V86: pushed EFLAGS has VM=1"
        CHECK_EQ [h_frame_ss], 0, "INT from V86: the frame holds the V86 SS"
        CHECK_EQ [h_esp], STACK0_TOP - 36, "INT from V86: 9-dword frame on the TSS.ESP0 stack"
        CHECK_EQ [v_after_int], 1, "IRET from the handler resumed V86 code"
        CHECK_EQ [v_es_after], 0x4321, "IRET to V86 restored ES"

        ; ---- IOPL = 0
        mov eax, v86_p2
        mov ebx, EFL_VM | 2
        call enter_v86
v86_p2_done:
        CHECK_SAVED 0, 13, 0, v2_cli, "V86 IOPL=0: CLI is #GP(0)"
        CHECK_SAVED 1, 13, 0, v2_sti, "V86 IOPL=0: STI is #GP(0)"
        CHECK_SAVED 2, 13, 0, v2_pushf, "V86 IOPL=0: PUSHF is #GP(0)"
        CHECK_SAVED 3, 13, 0, v2_popf, "V86 IOPL=0: POPF is #GP(0)"
        CHECK_SAVED 4, 13, 0, v2_int, "V86 IOPL=0: INT n is #GP(0)"
        CHECK_SAVED 5, 13, 0, v2_iret, "V86 IOPL=0: IRET is #GP(0)"
        CHECK_SAVED 6, 13, 0, v2_in, "V86: IN without an I/O bitmap is #GP(0)"
        CHECK_EQ [v_sp_after], V86_SP, "V86: the faulting PUSHF/POPF left SP alone"

        ; ---- TSS with the interrupt redirection and I/O bitmaps
        mov dword [tss_v + 4], STACK0_TOP
        mov dword [tss_v + 8], SEL_DATA32
        mov word [tss_v + 102], 136     ; I/O map base; redirection at 104
        mov byte [tss_v + 104 + 0x41 / 8], 1 << (0x41 % 8)     ; INT 41h: #GP
        mov edi, tss_v + 136
        mov ecx, 17
        mov al, 0xFF
        rep stosb                       ; ports 0-127 denied, then the 0xFF end
        ; (an access reads two bitmap bytes: both must be inside the limit)
        and byte [tss_v + 136 + 0x7E / 8], ~(1 << (0x7E % 8))   ; port 0x7E allowed
        SET_DESC SEL_TSS_V, tss_v, 136 + 16, 0x89, 0
        mov ax, SEL_TSS_V
        ltr ax
        mov word [0x40 * 4], v86_isr40  ; V86 IVT entry 40h = 0000:v86_isr40
        mov word [0x40 * 4 + 2], 0

        mov eax, v86_p3
        mov ebx, EFL_VM | 2
        call enter_v86
v86_p3_done:
        CHECK_EQ [saved + 7 * 12], -1, "V86 IOPL=0: IN from a port allowed by the bitmap (0x7E)"
        CHECK_SAVED 8, 13, 0, v3_in7f, "V86 IOPL=0: IN from a port denied by the bitmap (0x7F) is #GP(0)"

        mov eax, 1
        cpuid
        test edx, 1 << 1
        jz t_novme
        mov eax, cr4
        or eax, 1                       ; VME
        mov cr4, eax
        mov eax, v86_p4
        mov ebx, EFL_VM | 2
        call enter_v86
v86_p4_done:
        mov eax, cr4
        and eax, ~1
        mov cr4, eax
        CHECK_EQ [v_vme_faults], 0, "VME: CLI/STI/PUSHF/POPF at IOPL=0 do not fault"
        CHECK_EQ [v_fl_vcli], 0, "VME: PUSHF after CLI shows VIF=0 as IF"
        CHECK_EQ [v_fl_vsti], EFL_IF, "VME: PUSHF after STI shows VIF=1 as IF"
        mov eax, [v_exit_eflags]
        and eax, EFL_VIF | EFL_IF
        CHECK_EQ eax, EFL_VIF, "VME: STI set VIF and left the real IF clear"
        CHECK_EQ [v_isr_ran], 0xBEEF, "VME: INT n with a clear redirection bit runs the V86 IVT handler"
        CHECK_EQ [v_isr_flags], 0x3000 | EFL_IF, "VME: the V86 handler's pushed FLAGS has IOPL=3 and IF=VIF"
        CHECK_SAVED 10, 13, 0, v4_int41, "VME: INT n with a set redirection bit is #GP(0)"
        jmp t_vme_done
t_novme:
%rep 7
        SKIP "VME", "no VME in CPUID"
%endrep
t_vme_done:
        ret

; enter_v86: EAX = IP (CS = 0), EBX = EFLAGS.  Does not return: V86 code
; leaves with INT VEC_TO_RING0 (IOPL 3) or v86_exit + HLT (IOPL < 3).
enter_v86:
        add esp, 4
        mov [ring0_esp], esp
        push dword 0                    ; GS
        push dword 0                    ; FS
        push dword 0                    ; DS
        push dword 0                    ; ES
        push dword 0                    ; SS
        push dword V86_SP               ; ESP
        push ebx                        ; EFLAGS
        push dword 0                    ; CS
        push eax                        ; EIP
        iretd

; Exception hook: a #GP with v86_exit set is the V86 code asking to leave.
v86_hook:
        cmp dword [ebx], 13
        jne .r
        mov eax, [v86_exit]
        test eax, eax
        jz .r
        mov dword [v86_exit], 0
        mov ecx, [ebx + 16]
        mov [v_exit_eflags], ecx
        mov cx, SEL_DATA32
        mov ds, cx
        mov es, cx
        mov fs, cx
        mov gs, cx
        mov esp, [ring0_esp]
        jmp eax
.r:     ret

; INT 52h from V86 (IOPL 3): frame EIP CS EFLAGS ESP SS ES DS FS GS.
v86int_handler:
        mov ax, ds
        mov bx, es
        mov cx, SEL_DATA32
        mov ds, cx
        movzx eax, ax
        mov [h_ds], eax
        movzx ebx, bx
        mov [h_es], ebx
        mov [h_esp], esp
        mov eax, [esp + 8]
        and eax, EFL_VM
        mov [h_frame_vm], eax
        mov eax, [esp + 16]
        mov [h_frame_ss], eax
        mov eax, [esp + 20]
        mov [h_frame_es], eax
        mov eax, [esp + 24]
        mov [h_frame_ds], eax
        iretd                           ; reloads ES DS FS GS from the frame

        bits 16
v86_p1:
        mov ax, cs
        movzx eax, ax
        mov [v_cs], eax
        mov ax, 0x1000
        mov ds, ax
        mov word [0x0020], 0xCAFE
        xor ax, ax
        mov ds, ax
        cli
        pushf
        pop ax
        and ax, EFL_IF
        movzx eax, ax
        mov [v_fl_cli], eax
        sti
        pushf
        pop ax
        and ax, EFL_IF
        movzx eax, ax
        mov [v_fl_sti], eax
        cli
        push word 0x0400 | 2            ; DF
        popf
        pushf
        pop ax
        and ax, 0x0400
        movzx eax, ax
        mov [v_fl_popf], eax
        cld
        mov ax, 0x4321
        mov es, ax
        int 0x52
        mov word [v_after_int], 1
        mov ax, es
        movzx eax, ax
        mov [v_es_after], eax
        mov eax, v86_p1_done
        int VEC_TO_RING0

v86_p2:
        EXPECT_EXC l2_a
v2_cli: cli
l2_a:     SAVE_EXC 0
        EXPECT_EXC l2_b
v2_sti: sti
l2_b:     SAVE_EXC 1
        EXPECT_EXC l2_c
v2_pushf:
        pushf
l2_c:     SAVE_EXC 2
        EXPECT_EXC l2_d
v2_popf:
        popf
l2_d:     SAVE_EXC 3
        movzx eax, sp
        mov [v_sp_after], eax
        EXPECT_EXC l2_e
v2_int: int 0x52
l2_e:     SAVE_EXC 4
        EXPECT_EXC l2_f
v2_iret:
        iret
l2_f:     SAVE_EXC 5
        EXPECT_EXC l2_g
v2_in:  in al, 0x80
l2_g:     SAVE_EXC 6
        mov dword [exc_resume], 0
        mov dword [v86_exit], v86_p2_done
        hlt

v86_p3:
        EXPECT_EXC l3_a
        in al, 0x7E
        mov dword [exc_resume], 0
        jmp l3_b
l3_a:     SAVE_EXC 7
l3_b:     EXPECT_EXC l3_c
v3_in7f:
        in al, 0x7F
l3_c:     SAVE_EXC 8
        mov dword [exc_resume], 0
        mov dword [v86_exit], v86_p3_done
        hlt

v86_p4:
        EXPECT_EXC l4_x                 ; a fault skips the rest of the block
        cli
        pushf
        pop ax
        and ax, EFL_IF
        movzx eax, ax
        mov [v_fl_vcli], eax
        push word 2
        popf
        sti
        pushf
        pop ax
        and ax, EFL_IF
        movzx eax, ax
        mov [v_fl_vsti], eax
l4_x:   mov eax, [exc_count]
        mov [v_vme_faults], eax
        int 0x40                        ; redirected to the V86 IVT
        EXPECT_EXC l4_a
v4_int41:
        int 0x41
l4_a:     SAVE_EXC 10
        mov dword [exc_resume], 0
        sti
        mov dword [v86_exit], v86_p4_done
        hlt

v86_isr40:
        mov dword [v_isr_ran], 0xBEEF
        mov bp, sp
        mov ax, [bp + 4]                ; FLAGS pushed by the redirection
        and ax, 0x3000 | EFL_IF
        movzx eax, ax
        mov [v_isr_flags], eax
        iret
        bits 32

        align 4
v_cs:          dd -1
v_fl_cli:      dd -1
v_fl_sti:      dd -1
v_fl_popf:     dd -1
v_after_int:   dd 0
v_es_after:    dd 0
v_sp_after:    dd 0
v_fl_vcli:     dd -1
v_fl_vsti:     dd -1
v_exit_eflags: dd 0
v_isr_ran:     dd 0
v_vme_faults:  dd -1
v_isr_flags:   dd 0
v86_exit:      dd 0
h_ds:          dd -1
h_es:          dd -1
h_esp:         dd 0
h_frame_vm:    dd 0
h_frame_ss:    dd -1
h_frame_es:    dd 0
h_frame_ds:    dd -1
saved:         times 16 * 3 dd -1
        align 16
tss_v:         times 136 + 17 db 0

; V86 code and data use 16-bit offsets with segment 0.
[absolute 0]
v86_below_64k: resb 1 / ((tss_v - boot_start) < 0x10000 - 0x7C00 - 256) - 1
[section .text]

%include "lib/lib32.inc"
