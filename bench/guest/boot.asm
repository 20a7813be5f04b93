; SPDX-License-Identifier: MIT
; Floppy boot sector for the benchmark guest on a BIOS machine (Bochs):
; loads IMAGE_SECTORS sectors following it (bench.bin) to 0x10000 with
; INT 13h AH=02h one sector at a time (geometry from AH=08h), enables A20
; through port 0x92, enters flat 32-bit protected mode, copies the image
; to its link address 1 MiB and enters _start (+16) the way a multiboot
; loader does (EAX = 0x2BADB002, EBX = 0: no info structure).
; Assemble with -DIMAGE_SECTORS=n.

%ifndef IMAGE_SECTORS
%error "IMAGE_SECTORS must be defined"
%endif
LOAD_SEG  equ 0x1000                    ; 0x10000
KERNEL    equ 0x100000

        org 0x7c00
        bits 16
start:  jmp 0:.norm
.norm:  cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        cld
        mov [drive], dl
        mov ah, 0x08
        xor di, di
        int 0x13
        jc fail
        and cx, 0x3f
        mov [spt], cx
        movzx ax, dh
        inc ax
        mov [heads], ax
        mov word [lba], 1
        mov word [dseg], LOAD_SEG
.next:  cmp word [lba], IMAGE_SECTORS + 1
        jae loaded
        mov ax, [lba]                   ; LBA -> CHS
        xor dx, dx
        div word [spt]
        mov cl, dl
        inc cl
        xor dx, dx
        div word [heads]
        mov ch, al
        shl ah, 6
        or cl, ah
        mov dh, dl
        mov dl, [drive]
        mov es, [dseg]
        xor bx, bx
        mov ax, 0x0201
        int 0x13
        jc fail
        inc word [lba]
        add word [dseg], 512 / 16
        jmp .next

fail:   mov si, failmsg
.p:     lodsb
        test al, al
        jz .h
        out 0xe9, al
        jmp .p
.h:     hlt
        jmp .h

loaded: in al, 0x92
        or al, 2
        and al, 0xfe
        out 0x92, al
        lgdt [gdt_desc]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword 0x08:pm

        bits 32
pm:     mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x7c00
        mov esi, LOAD_SEG * 16
        mov edi, KERNEL
        mov ecx, IMAGE_SECTORS * 512 / 4
        rep movsd
        mov eax, 0x2badb002
        xor ebx, ebx
        jmp KERNEL + 16

failmsg: db "boot: disk read failed", 10, 0
        align 8
gdt:    dq 0
        dq 0x00cf9a000000ffff
        dq 0x00cf92000000ffff
gdt_desc:
        dw 23
        dd gdt
drive:  db 0
spt:    dw 0
heads:  dw 0
lba:    dw 0
dseg:   dw 0
        times 510 - ($ - $$) db 0
        dw 0xaa55
