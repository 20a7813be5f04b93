; SPDX-License-Identifier: MIT
;
; Entry of the multiboot v1 test kernel (tests/kboot, docs/kernel-boot.md):
; the multiboot header (first in the image, see link.ld) and _start, which
; takes a stack and calls kmain(magic, info).  Built twice: as an ELF32
; kernel (flags: page-aligned modules, memory info) and with -DAOUT as the
; a.out kludge (flag 16: the loader uses the address fields below, the
; image is a flat binary made with objcopy).

bits 32

MB_MAGIC equ 0x1badb002
%ifdef AOUT
MB_FLAGS equ 0x00010003
%else
MB_FLAGS equ 0x00000003
%endif

extern kmain
extern __load_start, __load_end, __bss_end
global _start

section .multiboot
align 4
mb_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
%ifdef AOUT
    dd mb_header                  ; header_addr
    dd __load_start               ; load_addr
    dd __load_end                 ; load_end_addr
    dd __bss_end                  ; bss_end_addr
    dd _start                     ; entry_addr
%endif

section .text
_start:
    mov esp, stack_top
    push ebx                      ; multiboot info
    push eax                      ; magic
    call kmain
.halt:
    cli
    hlt
    jmp .halt

section .bss
align 16
    resb 16384
stack_top:

section .note.GNU-stack noalloc noexec nowrite progbits
