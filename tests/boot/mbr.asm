; SPDX-License-Identifier: MIT
; A hard-disk boot test for the PC board (tests/boot/disk_boot.py).
;
; Sector 0 is an MBR boot sector: SeaBIOS loads it at 0:7C00 with DL = the
; drive.  It loads the second stage (sectors 1..STAGE2_SECTORS) with the
; classic CHS read (INT 13h AH=02h) and jumps there.  The second stage:
;   1. checks the EDD extensions (AH=41h),
;   2. reads DATA_COUNT sectors from DATA_LBA with extended reads (AH=42h,
;      two requests) and prints their count and a 32-bit sum of their dwords,
;   3. reads 4 of them again with CHS (AH=08h geometry, AH=02h) and compares,
;   4. writes one sector at WRITE_LBA (AH=43h) and reads it back,
; printing each step on COM1, then exits through isa-debug-exit (port 0xF4)
; with 0x10 on success (ixvm/QEMU status 33) or 0x20 + step on failure.
; The test computes the expected sum from the image it built.

%define STAGE2_SECTORS 3
%define DATA_LBA       100
%define DATA_COUNT     24
%define WRITE_LBA      200
%define BUF_SEG        0x1000      ; 0x10000: the DATA_COUNT sectors
%define CHS_SEG        0x2000      ; 0x20000: the CHS copy
%define WR_SEG         0x3000      ; 0x30000: the sector written / read back

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
        ; stage 2: cylinder 0, head 0, sectors 2..
        mov ax, 0x0200 + STAGE2_SECTORS
        mov bx, stage2
        mov cx, 0x0002
        xor dh, dh
        mov dl, [drive]
        int 0x13
        jc fail_load
        jmp stage2
fail_load:
        mov al, 0x21
        jmp exit

        BOOTLIB_SERIAL

drive:      db 0
msg_hello:  db "MBR: boot sector running", 13, 10, 0

        times 446 - ($ - $$) db 0
        ; one partition entry so tools see a partitioned disk (type 0x7f, LBA 1..)
        db 0x80, 0, 2, 0, 0x7f, 0, 0, 0
        dd 1, 2047
        times 510 - ($ - $$) db 0
        dw 0xaa55

; ---- second stage (sector 1..) ----------------------------------------------

stage2:
        mov si, msg_stage2
        call puts
        ; 1. EDD present?
        mov ah, 0x41
        mov bx, 0x55aa
        mov dl, [drive]
        int 0x13
        jc fail2
        cmp bx, 0xaa55
        jne fail2
        test cl, 1                  ; fixed disk access subset (42h-44h, 47h, 48h)
        jz fail2
        mov si, msg_ext
        call puts
        ; 2. extended reads: 16 sectors, then the rest
        mov word [dap.count], 16
        mov word [dap.seg], BUF_SEG
        mov word [dap.off], 0
        mov dword [dap.lba], DATA_LBA
        call ext_read
        jc fail3
        mov word [dap.count], DATA_COUNT - 16
        mov word [dap.seg], BUF_SEG + 16 * 512 / 16
        mov dword [dap.lba], DATA_LBA + 16
        call ext_read
        jc fail3
        call checksum
        mov si, msg_read
        call puts
        mov ax, DATA_COUNT
        call print_dec
        mov si, msg_sum
        call puts
        mov eax, [sum]
        call print_hex32
        mov si, msg_crlf
        call puts
        ; 3. CHS: geometry, then 4 sectors at DATA_LBA + 5
        mov ah, 0x08
        mov dl, [drive]
        push es
        int 0x13
        pop es
        jc fail4
        mov al, cl
        and ax, 0x3f                ; sectors per track
        mov [spt], ax
        movzx ax, dh
        inc ax
        mov [heads], ax
        mov ax, DATA_LBA + 5        ; LBA -> C/H/S
        xor dx, dx
        div word [spt]              ; ax = track, dx = sector - 1
        inc dx
        mov cl, dl                  ; sector (cylinder < 256 here)
        xor dx, dx
        div word [heads]            ; ax = cylinder, dx = head
        mov ch, al
        shl ah, 6
        or cl, ah
        mov dh, dl
        mov dl, [drive]
        mov ax, CHS_SEG
        mov es, ax
        xor bx, bx
        mov ax, 0x0204
        int 0x13
        jc fail4
        mov ax, BUF_SEG
        mov ds, ax
        mov si, 5 * 512
        mov di, 0
        mov cx, 4 * 512 / 4
        cld
        repe cmpsd
        mov ax, 0
        mov ds, ax
        mov es, ax
        jne fail4
        mov si, msg_chs
        call puts
        ; 4. write one sector (pattern + the sum), read it back, compare
        mov ax, WR_SEG
        mov es, ax
        xor di, di
        mov cx, 512
        xor bx, bx
.fill:
        mov al, bl
        xor al, 0x5a
        stosb
        inc bx
        loop .fill
        mov di, 0
        mov si, wr_tag
        mov cx, 16
        rep movsb
        mov eax, [sum]
        mov [es:16], eax
        xor ax, ax
        mov es, ax
        mov word [dap.count], 1
        mov word [dap.seg], WR_SEG
        mov word [dap.off], 0
        mov dword [dap.lba], WRITE_LBA
        mov ah, 0x43
        mov al, 0
        mov dl, [drive]
        mov si, dap
        int 0x13
        jc fail5
        mov word [dap.seg], WR_SEG + 512 / 16
        call ext_read
        jc fail5
        mov ax, WR_SEG
        mov ds, ax
        mov es, ax
        xor si, si
        mov di, 512
        mov cx, 512 / 4
        repe cmpsd
        mov ax, 0
        mov ds, ax
        mov es, ax
        jne fail5
        mov si, msg_write
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
fail5:  mov al, 0x25
        jmp failed

; sum = 32-bit sum of the DATA_COUNT sectors' dwords at BUF_SEG:0
checksum:
        push ds
        mov ax, BUF_SEG
        mov ds, ax
        xor si, si
        xor ebx, ebx
        mov cx, DATA_COUNT * 512 / 4
.loop:
        add ebx, [si]
        add si, 4
        loop .loop
        pop ds
        mov [sum], ebx
        ret

        BOOTLIB_PRINT
        BOOTLIB_EDD
spt:    dw 0
heads:  dw 0
wr_tag: db "IXVM-MBR-WRITTEN"
msg_stage2: db "MBR: stage 2 loaded with CHS", 13, 10, 0
msg_ext:    db "MBR: EDD extensions present", 13, 10, 0
msg_read:   db "MBR: read ", 0
msg_sum:    db " sectors sum=", 0
msg_chs:    db "MBR: CHS read matches", 13, 10, 0
msg_write:  db "MBR: write and read-back ok", 13, 10, 0
msg_done:   db "MBR: done", 13, 10, 0
msg_fail:   db "MBR: FAILED step ", 0
msg_crlf:   db 13, 10, 0

        times 512 * (1 + STAGE2_SECTORS) - ($ - $$) db 0
