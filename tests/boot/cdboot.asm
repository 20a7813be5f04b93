; SPDX-License-Identifier: MIT
; An El Torito no-emulation boot image for the PC board's CD boot test
; (tests/boot/disk_boot.py).  SeaBIOS loads its first 2048 bytes at 0:7C00
; with DL = the CD drive.  It checks the EDD extensions, reads READ_COUNT
; 2048-byte sectors from LBA 16 (the volume descriptors, the path tables,
; the directories and the test's data file follow there) with AH=42h in two
; requests, checks the "CD001" signature of the primary volume descriptor,
; prints the count and a 32-bit sum of the dwords on COM1, and exits through
; isa-debug-exit with 0x10 (status 33), or 0x20 + step on failure.

%define READ_LBA   16
%define READ_COUNT 32
%define BUF_SEG    0x1000          ; 0x10000..0x1FFFF: 32 x 2048 bytes

%include "bootlib.inc"

        org 0x7c00
        bits 16

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        sti
        mov [drive], dl
        mov si, msg_hello
        call puts
        mov al, dl
        call print_hex8
        mov si, msg_crlf
        call puts
        mov ah, 0x41
        mov bx, 0x55aa
        mov dl, [drive]
        int 0x13
        jc fail2
        cmp bx, 0xaa55
        jne fail2
        mov si, msg_ext
        call puts
        ; two reads of 16 sectors (32 KiB each)
        mov word [dap.count], 16
        mov word [dap.seg], BUF_SEG
        mov dword [dap.lba], READ_LBA
        call ext_read
        jc fail3
        mov word [dap.count], READ_COUNT - 16
        mov word [dap.seg], BUF_SEG + 16 * 2048 / 16
        mov dword [dap.lba], READ_LBA + 16
        call ext_read
        jc fail3
        push ds
        mov ax, BUF_SEG
        mov ds, ax
        cmp dword [1], "CD00"
        pop ds
        jne fail4
        ; sum of READ_COUNT * 2048 bytes: 64 KiB, in two 32 KiB halves
        xor ebx, ebx
        mov dx, BUF_SEG
        call sum32k
        mov dx, BUF_SEG + 0x800
        call sum32k
        mov [sum], ebx
        mov si, msg_read
        call puts
        mov ax, READ_COUNT
        call print_dec
        mov si, msg_sum
        call puts
        mov eax, [sum]
        call print_hex32
        mov si, msg_crlf
        call puts
        mov si, msg_done
        call puts
        mov al, 0x10
        jmp exit

fail2:  mov al, 0x22
        jmp failed
fail3:  mov al, 0x23
        jmp failed
fail4:  mov al, 0x24
        jmp failed

; ebx += sum of the 32 KiB at dx:0
sum32k:
        push ds
        mov ds, dx
        xor si, si
        mov cx, 0x8000 / 4
.loop:
        add ebx, [si]
        add si, 4
        loop .loop
        pop ds
        ret

        BOOTLIB_SERIAL
        BOOTLIB_PRINT
        BOOTLIB_EDD
drive:  db 0
msg_hello: db "CD: no-emulation boot image running, drive ", 0
msg_ext:   db "CD: EDD extensions present", 13, 10, 0
msg_read:  db "CD: read ", 0
msg_sum:   db " sectors sum=", 0
msg_done:  db "CD: done", 13, 10, 0
msg_fail:  db "CD: FAILED step ", 0
msg_crlf:  db 13, 10, 0

        times 2048 - ($ - $$) db 0
