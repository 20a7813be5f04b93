; SPDX-License-Identifier: MIT
;
; Triple fault for the flight-recorder test: real mode with an empty IVT
; (limit 0), then INT3.  Delivering vector 3 needs IVT bytes 12-15: #GP;
; #GP cannot be delivered either: #DF; #DF neither: shutdown (SDM Vol. 3A
; 6.15, "Interrupt 8").  Run with --no-reboot: exit status 1.

bits 16
org 0
times 0x1f000 db 0xf4

start16:
    cli
    mov ax, 0x5a5a
    mov cx, 2
.loop:
    inc ax
    loop .loop
    lidt [cs:0xf000 + (idt_ptr - start16)]
    int3
    hlt

idt_ptr:
    dw 0
    dd 0

times 0x1fff0 - ($ - $$) db 0xf4
    jmp start16
times 0x20000 - ($ - $$) db 0xf4
