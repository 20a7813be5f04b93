; SPDX-License-Identifier: MIT
;
; ixvm's Linux boot option ROM (docs/kernel-boot.md).  Its boot entry
; loads the real-mode setup code, the protected-mode kernel, the initrd
; and the command line from fw_cfg (the host filled in the setup header:
; pc_kernel_fmt.c) and enters the kernel as the Linux x86 boot protocol
; says (Documentation/arch/x86/boot.rst, "Running the kernel"): real
; mode, interrupts off, DS = ES = FS = GS = SS = the setup segment, SP at
; the top of the heap, CS:IP = setup segment + 0x20 : 0.

%define ROM_BLOCKS 2
%define PRODUCT_NAME 'Linux kernel (ixvm -kernel)'
%include "common.inc"

items:
    dw FW_CFG_SETUP_ADDR, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA
    dw FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE, FW_CFG_KERNEL_DATA
    dw FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA
    dw FW_CFG_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE, FW_CFG_CMDLINE_DATA
    dw 0

boot_entry:
    cli
    cld
    mov si, items
    call fw_load_table
    mov si, msg_dma
    jc boot_fail
    mov ax, FW_CFG_SETUP_ADDR
    call fw_read32
    mov ebx, eax                  ; setup (real-mode) address
    mov ax, FW_CFG_CMDLINE_ADDR
    call fw_read32
    sub eax, ebx                  ; the stack ends where the command line starts
    sub eax, 0x10
    mov cx, ax
    shr ebx, 4
    mov ds, bx
    mov es, bx
    mov fs, bx
    mov gs, bx
    mov ss, bx
    mov sp, cx
    add bx, 0x20
    push bx
    push word 0
    retf

msg_dma: db 'ixvm linuxboot: fw_cfg DMA failed', 13, 10, 0

    times ROM_BLOCKS * 512 - ($ - $$) db 0
