; SPDX-License-Identifier: MIT
;
; ixvm's multiboot v1 option ROM (docs/kernel-boot.md).  Its boot entry
; loads the multiboot info block (KERNEL_* items, at 0x9000: info, room
; for the memory map, module list, strings) and the kernel image with its
; modules (INITRD_* items) from fw_cfg, fills mem_lower (INT 12h),
; mem_upper and the memory map (INT 15h E820) into the info, switches to
; 32-bit protected mode with flat segments and jumps to the entry point
; (KERNEL_ENTRY) with EAX = 0x2BADB002 and EBX = the info's address, the
; machine state of the Multiboot Specification 0.6.96, 3.2.

%define ROM_BLOCKS 2
%define PRODUCT_NAME 'Multiboot kernel (ixvm -kernel)'
%include "common.inc"

MMAP_OFF equ 0x80                 ; LOADER_MB_MMAP_OFF in include/ixvm/loader.h
MMAP_MAX equ 128                  ; LOADER_MB_MMAP_MAX
SMAP     equ 0x534d4150

items:
    dw FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE, FW_CFG_KERNEL_DATA
    dw FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA
    dw 0

boot_entry:
    cli
    cld
    mov si, items
    call fw_load_table
    mov si, msg_dma
    jc boot_fail
    mov ax, FW_CFG_KERNEL_ENTRY
    call fw_read32
    push eax                      ; entry point
    mov ax, FW_CFG_KERNEL_ADDR
    call fw_read32
    push eax                      ; info address (16-byte aligned, < 1 MiB)
    shr eax, 4
    mov es, ax
    int 0x12
    movzx eax, ax
    mov [es:4], eax               ; mem_lower, KiB
    call fill_mmap
    pop esi                       ; info
    pop edi                       ; entry
    jmp enter_pm

; The BIOS memory map into es:MMAP_OFF as multiboot entries (a size word
; of 20, then the 20-byte E820 entry); mem_upper = KiB of RAM from 1 MiB
; up to the first hole, from the entry that covers 1 MiB.
fill_mmap:
    mov di, MMAP_OFF + 4
    xor ebx, ebx
    xor bp, bp
.next:
    mov eax, 0xe820
    mov edx, SMAP
    mov ecx, 20
    int 0x15
    jc .done
    cmp eax, SMAP
    jne .done
    mov dword [es:di - 4], 20
    cmp dword [es:di + 16], 1     ; type 1: RAM
    jne .stored
    cmp dword [es:di + 4], 0      ; base below 4 GiB
    jne .stored
    mov eax, [es:di]
    cmp eax, 0x100000
    ja .stored
    add eax, [es:di + 8]          ; end (lengths of low RAM fit 32 bits)
    cmp eax, 0x100000
    jbe .stored
    sub eax, 0x100000
    shr eax, 10
    mov [es:8], eax               ; mem_upper, KiB
.stored:
    add di, 24
    inc bp
    cmp bp, MMAP_MAX
    jae .done
    test ebx, ebx
    jnz .next
.done:
    mov ax, 24
    mul bp
    movzx eax, ax
    mov [es:44], eax              ; mmap_length
    ret

; Protected mode with the flat GDT below, then the kernel (esi = info,
; edi = entry).
enter_pm:
    xor eax, eax
    mov ax, cs
    shl eax, 4
    mov ebp, eax                  ; our linear base
    add eax, gdt
    push eax                      ; GDTR base
    push word gdt_end - gdt - 1   ; GDTR limit
    mov bx, sp
    o32 lgdt [ss:bx]
    add sp, 6
    mov eax, cr0
    or al, 1
    mov cr0, eax
    lea eax, [ebp + pm32]
    push dword 0x08
    push eax
    o32 retf

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x7000               ; undefined for the kernel; ours until the jump
    mov ebx, esi
    mov eax, 0x2badb002
    jmp edi
bits 16

; Flat 4 GiB code (0x08) and data (0x10); accessed bits preset so the CPU
; never writes to this (read-only shadowed) ROM.
    align 8
gdt:
    dq 0
    dq 0x00cf9b000000ffff
    dq 0x00cf93000000ffff
gdt_end:

msg_dma: db 'ixvm multiboot: fw_cfg DMA failed', 13, 10, 0

    times ROM_BLOCKS * 512 - ($ - $$) db 0
