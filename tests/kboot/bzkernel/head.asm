; SPDX-License-Identifier: MIT
;
; 32-bit entry of the tiny bzImage test kernel at code32_start (1 MiB):
; flat segments, clear the BSS (a Linux boot loader loads only the file),
; a stack, then bzmain(boot_params) with ESI from setup.asm.

bits 32
extern bzmain
extern __load_end, __bss_end
global _start

section .head
_start:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov edi, __load_end
    mov ecx, __bss_end
    sub ecx, edi
    xor eax, eax
    cld
    rep stosb
    mov esp, stack_top
    push esi
    call bzmain
.halt:
    cli
    hlt
    jmp .halt

section .bss
align 16
    resb 16384
stack_top:

section .note.GNU-stack noalloc noexec nowrite progbits
