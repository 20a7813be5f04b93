; SPDX-License-Identifier: MIT
;
; Real-mode part of the tiny bzImage test kernel (tests/kboot,
; docs/kernel-boot.md): a boot sector with the Linux setup header
; (boot protocol 2.10, Documentation/arch/x86/boot.rst) and one setup
; sector.  The setup code records the real-mode state the boot loader
; gave it (CS, DS, ES, SS, SP, FLAGS) at offset 0 of the real-mode area,
; switches to 32-bit protected mode as Linux's setup does and jumps to
; code32_start (1 MiB: head.asm, bzmain.c) with ESI = the boot_params
; (real-mode area) address.

bits 16
org 0

INIT_SIZE equ 0x40000             ; memory the kernel needs at 1 MiB (image + BSS)

    times 0x1f1 - ($ - $$) db 0
    db 1                          ; 0x1f1 setup_sects
    dw 0                          ; 0x1f2 root_flags
    dd 0                          ; 0x1f4 syssize
    dw 0                          ; 0x1f8 ram_size
    dw 0xffff                     ; 0x1fa vid_mode: normal
    dw 0                          ; 0x1fc root_dev
    dw 0xaa55                     ; 0x1fe boot_flag
    jmp short setup_start         ; 0x200 jump
    db 'HdrS'                     ; 0x202 header
    dw 0x020a                     ; 0x206 version
    dd 0                          ; 0x208 realmode_swtch
    dw 0                          ; 0x20c start_sys_seg
    dw 0                          ; 0x20e kernel_version
    db 0                          ; 0x210 type_of_loader (the loader writes it)
    db 0x01                       ; 0x211 loadflags: LOADED_HIGH
    dw 0                          ; 0x212 setup_move_size
    dd 0x100000                   ; 0x214 code32_start
    dd 0                          ; 0x218 ramdisk_image
    dd 0                          ; 0x21c ramdisk_size
    dd 0                          ; 0x220 bootsect_kludge
    dw 0                          ; 0x224 heap_end_ptr
    db 0                          ; 0x226 ext_loader_ver
    db 0                          ; 0x227 ext_loader_type
    dd 0                          ; 0x228 cmd_line_ptr
    dd 0x37ffffff                 ; 0x22c initrd_addr_max
    dd 0                          ; 0x230 kernel_alignment
    db 0                          ; 0x234 relocatable_kernel
    db 0                          ; 0x235 min_alignment
    dw 0                          ; 0x236 xloadflags
    dd 255                        ; 0x238 cmdline_size
    dd 0                          ; 0x23c hardware_subarch
    dq 0                          ; 0x240 hardware_subarch_data
    dd 0                          ; 0x248 payload_offset
    dd 0                          ; 0x24c payload_length
    dq 0                          ; 0x250 setup_data
    dq 0x100000                   ; 0x258 pref_address
    dd INIT_SIZE                  ; 0x260 init_size
    dd 0                          ; 0x264 handover_offset

setup_start:
    mov [0], cs
    mov [2], ds
    mov [4], es
    mov [6], ss
    mov [8], sp
    pushf
    pop word [10]
    cli
    xor eax, eax
    mov ax, ds
    shl eax, 4
    mov esi, eax                  ; boot_params
    add eax, gdt
    mov [gdtr + 2], eax
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    jmp dword 0x08:0x100000

    align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff         ; flat code
    dq 0x00cf92000000ffff         ; flat data
gdtr:
    dw 23
    dd 0

    times 1024 - ($ - $$) db 0
