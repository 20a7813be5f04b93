; SPDX-License-Identifier: MIT
;
; A short known program for the instruction-trace test (expected.txt):
; a 128 KiB ROM (`ixvm --bios trace.rom --trace FILE`) that runs a few
; real-mode instructions, enters 32-bit protected mode, runs a loop and
; leaves through isa-debug-exit (port 0xf4; exit status (0x21 << 1) | 1).
; Everything is deterministic: no BIOS, no interrupts, no timing.

bits 16
org 0
times 0x1f000 db 0xf4               ; ROM up to offset 0x1f000 (linear 0xfffff000)

start16:                            ; CS base 0xffff0000, IP 0xf000
    cli
    mov ax, 0x1234
    mov bx, ax
    add bx, 0x0101
    o32 lgdt [cs:0xf000 + (gdt_ptr - start16)]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:0xfffff000 + (pm32 - start16)

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov ss, ax
    mov esp, 0x8000
    mov ecx, 3
    xor eax, eax
.loop:
    add eax, ecx
    push eax
    pop edx
    loop .loop
    mov dword [0x2000], eax
    mov al, 0x21
    out 0xf4, al
    hlt

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff
    dq 0x00cf92000000ffff
gdt_ptr:
    dw 23
    dd 0xfffff000 + (gdt - start16)

times 0x1fff0 - ($ - $$) db 0xf4
bits 16
    jmp start16                     ; the reset vector (0xfffffff0)
times 0x20000 - ($ - $$) db 0xf4
