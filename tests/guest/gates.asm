; SPDX-License-Identifier: MIT
; gates: privilege transitions.  Ring 0 -> 3 through IRET, call gates with
; parameter copy, interrupt versus trap gates, the stack switch through
; TSS.SS0:ESP0, returns with RETF/IRET, conforming code segments and the
; #GP cases of far calls.  References: Intel SDM Vol. 3A 5.8 "Privilege
; Level Checking When Transferring Program Control Between Code Segments"
; (5.8.5 stack switching, 5.8.6 returning), 6.12 "Exception and Interrupt
; Handling" (6.12.1.2 flag usage), 7.7 (TSS stack pointers); Vol. 2A CALL,
; Vol. 2B RET, IRET.

%include "lib/boot.inc"

SEL_CGATE3   equ 0x40                   ; call gate DPL3 -> ring 0, 2 params
SEL_CGATE0   equ 0x48                   ; call gate DPL0
SEL_CONF     equ 0x50                   ; conforming code, DPL0
ALT_ESP0     equ 0x8B000

test_main:
        SET_GATE gdt + SEL_CGATE3, cg_handler, SEL_CODE32, 0xEC, 2
        SET_GATE gdt + SEL_CGATE0, cg_handler, SEL_CODE32, 0x8C, 0
        SET_DESC SEL_CONF, 0, 0xFFFFF, 0x9E, 0xC0
        SET_IDT 0x50, int_handler, SEL_CODE32, 0x8E    ; interrupt gate
        SET_IDT 0x51, int_handler, SEL_CODE32, 0x8F    ; trap gate
        SET_IDT 0x52, int3_handler, SEL_CODE32, 0xEE   ; DPL3 interrupt gate

        ; --- 6.12.1.2: an interrupt gate clears IF, a trap gate does not.
        sti                             ; PICs are masked: nothing arrives
        int 0x50
        mov eax, [h_eflags]
        and eax, 0x200
        CHECK_EQ eax, 0, "interrupt gate clears IF in the handler"
        mov eax, [h_pushed_eflags]
        and eax, 0x200
        CHECK_EQ eax, 0x200, "the pushed EFLAGS has IF=1"
        int 0x51
        mov eax, [h_eflags]
        and eax, 0x200
        CHECK_EQ eax, 0x200, "trap gate leaves IF set in the handler"
        pushfd
        pop eax
        and eax, 0x200
        CHECK_EQ eax, 0x200, "IRET restored IF=1"
        cli

        ; --- 5.8.5: same-privilege INT does not switch stacks.
        mov [r0_esp], esp
        int 0x50
        mov eax, [r0_esp]
        sub eax, 12
        CHECK_EQ [h_esp], eax, "same-privilege interrupt pushes 3 dwords on the current stack"

        ; --- the ring 3 half
        mov dword [tss0 + 4], ALT_ESP0
        ENTER_RING3 user_part
user_done:
        mov dword [tss0 + 4], STACK0_TOP
        CHECK_EQ [u_cs], SEL_UCODE32, "IRET to ring 3: CS is the ring 3 selector"
        CHECK_EQ [u_ds_after_iret], 0, "IRET to ring 3 nulls DS holding a DPL0 segment"
        CHECK_EQ [u_es_after_iret], SEL_UDATA32, "IRET to ring 3 keeps ES holding a DPL3 segment"
        CHECK_EQ [cg_cpl], 0, "call gate: handler runs at CPL 0"
        CHECK_EQ [cg_ss], SEL_DATA32, "call gate: SS from TSS.SS0"
        CHECK_EQ [cg_esp], ALT_ESP0 - 24, "call gate: ESP from TSS.ESP0 minus CS:EIP, 2 params, SS:ESP"
        CHECK_EQ [cg_p1], 0x2222, "call gate: parameter 1 (last pushed) copied"
        CHECK_EQ [cg_p2], 0x1111, "call gate: parameter 2 copied"
        CHECK_EQ [cg_old_ss], SEL_UDATA32, "call gate: caller SS saved on the new stack"
        mov eax, [u_esp_before]
        sub eax, 8
        CHECK_EQ [cg_old_esp], eax, "call gate: caller ESP (after the pushes) saved"
        CHECK_EQ [u_esp_after], [u_esp_before], "RETF 8 back to ring 3 restores ESP and pops the params"
        CHECK_EQ [u_cs_after_retf], SEL_UCODE32, "RETF returns to ring 3 CS"
        CHECK_EQ [i3_ss], SEL_DATA32, "INT from ring 3: SS from TSS.SS0"
        CHECK_EQ [i3_esp], ALT_ESP0 - 20, "INT from ring 3: ESP from TSS.ESP0 minus 5 dwords"
        CHECK_EQ [i3_frame_ss], SEL_UDATA32, "INT from ring 3: old SS in the frame"
        CHECK_EQ [i3_frame_esp], USTACK_TOP - 4, "INT from ring 3: old ESP in the frame"
        CHECK_EQ [i3_frame_cs], SEL_UCODE32, "INT from ring 3: old CS in the frame"
        CHECK_EQ [u_cs_after_iret], SEL_UCODE32, "IRET from the handler back to ring 3"
        CHECK_EQ [conf_cs], SEL_CONF | 3, "conforming segment: CPL stays 3 (CS.RPL = 3)"
        CHECK_EQ [conf_esp_same], 1, "conforming segment: no stack switch"
        CHECK_EQ [gp_direct], 0x0D00 | SEL_CODE32, "far CALL to DPL0 non-conforming code from ring 3: #GP(selector)"
        CHECK_EQ [gp_gate0], 0x0D00 | SEL_CGATE0, "far CALL through a DPL0 call gate from ring 3: #GP(gate selector)"
        ret

; Ring 3.
user_part:
        mov ax, cs
        movzx eax, ax
        mov [u_cs], eax
        ; IRET to ring 3 with DS = DPL0 data and ES = DPL3 data.
        ; (CPL 3 cannot load a DPL0 selector: set the state up in ring 0.)
        LEAVE_RING3 .r0
.r0:    mov ax, SEL_UDATA32
        mov es, ax
        mov ax, SEL_DATA32
        mov ds, ax
        push dword SEL_UDATA32
        push dword USTACK_TOP
        pushfd
        push dword SEL_UCODE32
        push dword .r3
        iretd
.r3:    mov ax, ds
        mov bx, es
        mov cx, SEL_UDATA32
        mov ds, cx
        movzx eax, ax
        mov [u_ds_after_iret], eax
        movzx ebx, bx
        mov [u_es_after_iret], ebx

        ; Call gate with two parameters, RETF 8 back.
        mov [u_esp_before], esp
        push dword 0x1111
        push dword 0x2222
        call SEL_CGATE3 | 3 : 0
        mov [u_esp_after], esp          ; RETF 8 popped the caller's params
        mov ax, cs
        movzx eax, ax
        mov [u_cs_after_retf], eax

        ; INT through a DPL3 gate, stack switch from the TSS.
        mov esp, USTACK_TOP - 4
        int 0x52
        mov ax, cs
        movzx eax, ax
        mov [u_cs_after_iret], eax

        ; Conforming code: far CALL without a gate keeps CPL 3.
        mov [conf_esp0], esp
        call SEL_CONF | 3 : conf_func

        ; #GP cases.
        EXPECT_EXC .g1
        call SEL_CODE32 : conf_func
.g1:    call u_record
        mov [gp_direct], eax
        EXPECT_EXC .g2
        call SEL_CGATE0 | 3 : 0
.g2:    call u_record
        mov [gp_gate0], eax
        LEAVE_RING3 user_done

u_record:
        mov eax, [exc_vector]
        shl eax, 8
        or eax, [exc_err]
        ret

conf_func:                              ; runs in the conforming segment
        mov ax, cs
        movzx eax, ax
        mov [conf_cs], eax
        lea eax, [esp + 4 + 4]          ; ESP before the CALL pushed CS:EIP
        cmp eax, [conf_esp0]
        sete al
        movzx eax, al
        mov [conf_esp_same], eax
        retf

; Ring 0 call-gate target: [esp] EIP, [esp+4] CS, [esp+8] p1, [esp+12] p2,
; [esp+16] old ESP, [esp+20] old SS.
cg_handler:
        mov ax, cs
        and eax, 3
        mov [cg_cpl], eax
        mov ax, ss
        movzx eax, ax
        mov [cg_ss], eax
        mov [cg_esp], esp
        mov eax, [esp + 8]
        mov [cg_p1], eax
        mov eax, [esp + 12]
        mov [cg_p2], eax
        mov eax, [esp + 16]
        mov [cg_old_esp], eax
        mov eax, [esp + 20]
        mov [cg_old_ss], eax
        retf 8

int_handler:                            ; same privilege: EIP CS EFLAGS
        pushfd
        pop dword [h_eflags]
        mov eax, [esp + 8]
        mov [h_pushed_eflags], eax
        mov [h_esp], esp
        iretd

int3_handler:                           ; from ring 3: EIP CS EFLAGS ESP SS
        mov [i3_esp], esp
        mov ax, ss
        movzx eax, ax
        mov [i3_ss], eax
        mov eax, [esp + 4]
        mov [i3_frame_cs], eax
        mov eax, [esp + 12]
        mov [i3_frame_esp], eax
        mov eax, [esp + 16]
        mov [i3_frame_ss], eax
        iretd

        align 4
h_eflags:         dd 0
h_pushed_eflags:  dd 0
h_esp:            dd 0
r0_esp:           dd 0
u_cs:             dd 0
u_ds_after_iret:  dd -1
u_es_after_iret:  dd -1
u_esp_before:     dd 0
u_esp_after:      dd 0
u_cs_after_retf:  dd 0
u_cs_after_iret:  dd 0
cg_cpl:           dd -1
cg_ss:            dd 0
cg_esp:           dd 0
cg_p1:            dd 0
cg_p2:            dd 0
cg_old_esp:       dd 0
cg_old_ss:        dd 0
i3_esp:           dd 0
i3_ss:            dd 0
i3_frame_cs:      dd 0
i3_frame_esp:     dd 0
i3_frame_ss:      dd 0
conf_cs:          dd 0
conf_esp0:        dd 0
conf_esp_same:    dd 0
gp_direct:        dd 0
gp_gate0:         dd 0

%include "lib/lib32.inc"
