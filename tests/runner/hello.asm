; SPDX-License-Identifier: MIT
; Says hello on COM1 and 0xE9, then echoes COM1 input back forever (the
; runner tests: expect, fail-on, timeout, signals, serial input over stdin
; and TCP, console log, JUnit).
%include "rom.inc"
start:  cli
        mov si, hello
        PUTS 1
        mov si, ready
        PUTS 0
echo:   mov dx, COM1 + 5
        in al, dx
        test al, 1              ; LSR data ready
        jz echo
        mov dx, COM1
        in al, dx
        SERIAL_PUTC
        jmp echo
hello:  db "ixvm runner guest: hello", 13, 10, 0
ready:  db "READY> ", 0
        ROM_END
