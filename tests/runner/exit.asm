; SPDX-License-Identifier: MIT
; Prints "bye" on COM1 and exits through isa-debug-exit with value 0x21:
; ixvm passes (0x21 << 1) | 1 = 67 through as its exit status.
%include "rom.inc"
start:  cli
        mov si, bye
        PUTS 0
        mov al, 0x21
        out 0xf4, al
        hlt
        jmp $
bye:    db "bye", 13, 10, 0
        ROM_END
