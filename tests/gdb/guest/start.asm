; SPDX-License-Identifier: MIT
;
; Start-up of the gdb test guest (tests/gdb/guest): a 128 KiB ROM given to
; `ixvm --bios`.  The reset vector jumps to start16, which loads a flat GDT,
; enters 32-bit protected mode, copies .data to RAM, clears .bss, takes a
; stack and calls cmain() (guest.c).  No BIOS, no interrupts.

bits 16
section .text16
global start16
start16:
    cli
    cld
    ; .text16 is linked at 0xfffff000: CS base 0xffff0000, so offset 0xf000 + x.
    o32 lgdt [cs:0xf000 + (gdt_ptr - start16)]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:pm_entry

bits 32
extern cmain, __data_lma, __data_start, __data_end, __bss_start, __bss_end
global pm_entry
pm_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, 0x90000
    mov esi, __data_lma
    mov edi, __data_start
    mov ecx, __data_end
    sub ecx, edi
    rep movsb
    mov edi, __bss_start
    mov ecx, __bss_end
    sub ecx, edi
    xor eax, eax
    rep stosb
    call cmain
.hang:
    hlt
    jmp .hang

align 8
global gdt
gdt:
    dq 0
    dq 0x00cf9a000000ffff      ; 0x08: code, flat, 32-bit
    dq 0x00cf92000000ffff      ; 0x10: data, flat
gdt_ptr:
    dw 23
    dd gdt

section .note.GNU-stack noalloc noexec nowrite progbits
section .reset
bits 16
global reset_vector
reset_vector:
    ; jmp near start16 (at offset 0xf000 of the reset segment), encoded by
    ; hand: a PC16 relocation between two sections would not link.
    db 0xe9
    dw (0xf000 - 0xfff3) & 0xffff
    times 16 - ($ - $$) db 0xf4
