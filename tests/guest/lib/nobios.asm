; SPDX-License-Identifier: MIT
; A 64 KiB "firmware" for QEMU that does what ixvm does without a BIOS: the
; reference run loads the test image at 0x7C00 (-device loader) and this ROM
; only jumps there from the reset vector, leaving the rest of the reset state
; (no IVT, no BIOS data area, PICs unprogrammed) as it is.
;   nasm -f bin nobios.asm -o nobios.bin; qemu-system-i386 -bios nobios.bin
;        -device loader,file=X.img,addr=0x7c00,force-raw=on ...
        bits 16
        org 0
        times 0xFFF0 db 0xF4            ; HLT everywhere else
        jmp 0x0000:0x7C00               ; F000:FFF0, the reset vector
        times 0x10000 - ($ - $$) db 0xF4
