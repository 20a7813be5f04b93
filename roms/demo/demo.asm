; SPDX-License-Identifier: MIT
; The default guest of `make run` (docs/frontend.md): a tiny disk image that
; SeaBIOS boots from --hda.  It draws a Mandelbrot set in VGA mode 13h whose
; palette cycles 18 times a second, shows a prompt on the bottom row that
; echoes typed keys, moves a cursor with the PS/2 mouse (BIOS INT 15h C2xx)
; and mirrors everything on COM1: the banner, the prompt, the echo of keys
; typed on the keyboard or received on COM1, and mouse clicks.
;
; Build: nasm -f bin -o demo.img demo.asm  (a 64 KiB raw disk image).
; The boot sector loads the rest with INT 13h (LBA extension, CHS fallback).

        bits 16
        org 0x7c00

%define COM1       0x3f8
%define SECTORS    ((end - stage2 + 511) / 512)
%define VIEW_H     184          ; Mandelbrot rows; the prompt lives below
%define MAXIT      48
%define CURSOR_CLR 255
%define PROMPT_ROW 24
%define PROMPT_MAX 38

; ---- boot sector -------------------------------------------------------------
boot:   cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        sti
        mov [drive], dl
        mov si, dap                 ; INT 13h AH=42h: extended read
        mov ah, 0x42
        int 0x13
        jnc stage2
        mov ax, 0x0200 | SECTORS    ; CHS fallback: sectors 2.. of track 0
        mov bx, stage2
        mov cx, 2
        xor dh, dh
        mov dl, [drive]
        int 0x13
        jnc stage2
        mov si, msg_diskerr
.err:   lodsb
        test al, al
        jz .halt
        mov ah, 0x0e
        int 0x10
        jmp .err
.halt:  hlt
        jmp .halt

drive:  db 0
dap:    db 16, 0
        dw SECTORS, stage2, 0       ; count, offset, segment
        dq 1                        ; first LBA
msg_diskerr: db "demo: disk read error", 0

        times 510 - ($ - $$) db 0
        dw 0xaa55

; ---- stage 2 ------------------------------------------------------------------
stage2: call serial_init
        mov si, msg_banner
        call sputs
        mov ax, 0x0013              ; 320x200, 256 colours
        int 0x10
        call palette_init
        call mandelbrot
        call mouse_init
        call prompt_reset
        mov si, msg_prompt
        call sputs
        call cursor_save
        call cursor_draw

main:   sti
        hlt                         ; an IRQ (timer 18.2 Hz, keyboard, mouse)
        call palette_cycle
        call mouse_update
.keys:  mov ah, 0x01                ; keyboard buffer
        int 0x16
        jz .serial
        xor ah, ah
        int 0x16
        call key_char
        jmp .keys
.serial: mov dx, COM1 + 5           ; LSR bit 0: a byte from the host
        in al, dx
        test al, 1
        jz main
        mov dx, COM1
        in al, dx
        call key_char
        jmp .serial

; ---- COM1 ------------------------------------------------------------------------
serial_init:
        mov dx, COM1 + 3
        mov al, 0x80                ; DLAB
        out dx, al
        mov dx, COM1
        mov al, 1                   ; 115200 baud
        out dx, al
        inc dx
        xor al, al
        out dx, al
        mov dx, COM1 + 3
        mov al, 0x03                ; 8N1
        out dx, al
        mov dx, COM1 + 2
        mov al, 0x07                ; FIFOs on and cleared
        out dx, al
        mov dx, COM1 + 4
        mov al, 0x03                ; DTR, RTS
        out dx, al
        ret

sputc:  push dx
        push ax
        mov dx, COM1 + 5
.wait:  in al, dx
        test al, 0x20
        jz .wait
        pop ax
        mov dx, COM1
        out dx, al
        pop dx
        ret

sputs:  lodsb
        test al, al
        jz .done
        call sputc
        jmp sputs
.done:  ret

; AX as decimal on COM1
sputdec: push ax
        push bx
        push cx
        push dx
        mov bx, 10
        xor cx, cx
.div:   xor dx, dx
        div bx
        push dx
        inc cx
        test ax, ax
        jnz .div
.out:   pop ax
        add al, '0'
        call sputc
        loop .out
        pop dx
        pop cx
        pop bx
        pop ax
        ret

; ---- keys: echo on screen and COM1 -------------------------------------------------
key_char:
        cmp al, 13
        je .enter
        cmp al, 10
        je .enter
        cmp al, 8
        je .bs
        cmp al, 32
        jb .done
        cmp al, 126
        ja .done
        call sputc
        cmp byte [col], PROMPT_MAX
        jae .done
        call vputc
.done:  ret
.bs:    cmp byte [col], 6
        jbe .done
        mov si, msg_bs
        call sputs
        dec byte [col]
        mov al, ' '
        call vputc
        dec byte [col]
        ret
.enter: mov si, msg_crlf
        call sputs
        call prompt_reset
        mov si, msg_prompt
        jmp sputs

; the prompt row: cleared, "demo> " written
prompt_reset:
        mov byte [col], 0
        mov cx, PROMPT_MAX + 2
.clr:   mov al, ' '
        call vputc
        loop .clr
        mov byte [col], 0
        mov si, msg_prompt_v
.p:     lodsb
        test al, al
        jz .r
        call vputc
        jmp .p
.r:     ret

; AL at (PROMPT_ROW, col) in mode 13h through the VGA BIOS, without scrolling
vputc:  push ax
        push bx
        push cx
        push dx
        push ax
        mov ah, 0x02                ; set cursor
        xor bh, bh
        mov dh, PROMPT_ROW
        mov dl, [col]
        int 0x10
        pop ax
        mov ah, 0x09                ; write char + colour at the cursor
        mov bx, CURSOR_CLR
        mov cx, 1
        int 0x10
        inc byte [col]
        pop dx
        pop cx
        pop bx
        pop ax
        ret

; ---- palette: 0 black, 1..254 a cycling gradient, 255 white -------------------------
palette_init:
        mov di, pal
        xor cx, cx
.l:     mov ax, cx                  ; r = i | 8, g = 2i, b = 64 - i (6-bit, wrapped)
        and al, 63
        or al, 8                    ; never black: black is only colour 0
        stosb
        mov ax, cx
        shl ax, 1
        and al, 63
        stosb
        mov ax, cx
        neg ax
        and al, 63
        stosb
        inc cx
        cmp cx, 254
        jb .l
        ; fall through: show it

palette_load:
        mov dx, 0x3c8
        xor al, al
        out dx, al
        inc dx
        out dx, al                  ; colour 0: black
        out dx, al
        out dx, al
        movzx bx, byte [phase]
        mov cx, 254
.c:     imul si, bx, 3
        mov al, [pal + si]
        out dx, al
        mov al, [pal + si + 1]
        out dx, al
        mov al, [pal + si + 2]
        out dx, al
        inc bx
        cmp bx, 254
        jb .n
        xor bx, bx
.n:     loop .c
        mov al, 63                  ; colour 255: white
        out dx, al
        out dx, al
        out dx, al
        ret

palette_cycle:
        mov ax, [0x46c]             ; BIOS tick count: once per tick
        cmp ax, [last_tick]
        je .r
        mov [last_tick], ax
        inc byte [phase]
        cmp byte [phase], 254
        jb .l
        mov byte [phase], 0
.l:     call palette_load
.r:     ret

; ---- Mandelbrot, fixed point 4.12 in 32-bit registers -----------------------------------
; x in EBX, y in ECX, iterations in SI, pixel offset in DI (ES = A000).
mandelbrot:
        push es
        mov ax, 0xa000
        mov es, ax
        xor di, di
        mov dword [cy0], -4915      ; -1.2
        xor bp, bp                  ; row
.row:   mov dword [cx0], -8602      ; -2.1
        mov word [colx], 0
.col:   xor ebx, ebx
        xor ecx, ecx
        xor si, si
.it:    mov eax, ebx
        imul eax, eax
        sar eax, 12
        mov edx, eax                ; x^2
        mov eax, ecx
        imul eax, eax
        sar eax, 12                 ; y^2
        push edx
        add edx, eax
        cmp edx, 4 << 12            ; |z|^2 > 4: escaped
        pop edx
        jg .out
        sub edx, eax
        add edx, [cx0]              ; x' = x^2 - y^2 + cx
        mov eax, ebx
        imul eax, ecx
        sar eax, 11
        add eax, [cy0]              ; y' = 2xy + cy
        mov ecx, eax
        mov ebx, edx
        inc si
        cmp si, MAXIT
        jb .it
        xor al, al                  ; inside: black
        jmp .put
.out:   imul ax, si, 5
        and al, 127
        inc al
.put:   stosb
        add dword [cx0], 38         ; 3.0 / 320
        inc word [colx]
        cmp word [colx], 320
        jb .col
        add dword [cy0], 53         ; 2.4 / 184
        inc bp
        cmp bp, VIEW_H
        jb .row
        pop es
        ret

; ---- mouse: BIOS PS/2 pointing device services (INT 15h C2xx) ------------------------------
mouse_init:
        mov word [mx], 160
        mov word [my], 92
        mov ax, 0xc205              ; initialize, 3-byte packets
        mov bh, 3
        int 0x15
        jc .none
        mov ax, 0xc207              ; handler
        push cs
        pop es
        mov bx, mouse_handler
        int 0x15
        jc .none
        mov ax, 0xc200              ; enable
        mov bh, 1
        int 0x15
        jc .none
        ret
.none:  mov si, msg_nomouse
        jmp sputs

; Far-called by the BIOS with status, X, Y, Z pushed (in that order).
mouse_handler:
        push bp
        mov bp, sp
        push ax
        push ds
        xor ax, ax
        mov ds, ax
        mov ax, [bp + 12]           ; status: buttons, sign bits
        mov [mbtn], al
        mov ax, [bp + 10]           ; X movement, sign in status bit 4
        test byte [bp + 12], 0x10
        jz .xp
        or ax, 0xff00
.xp:    add [mx], ax
        mov ax, [bp + 8]            ; Y movement (up is positive), sign bit 5
        test byte [bp + 12], 0x20
        jz .yp
        or ax, 0xff00
.yp:    sub [my], ax
        mov byte [mmoved], 1
        pop ds
        pop ax
        pop bp
        retf

mouse_update:
        cmp byte [mmoved], 0
        je .r
        mov byte [mmoved], 0
        call cursor_restore
        mov ax, [mx]                ; clamp to the picture
        call .clamp_x
        mov [mx], ax
        mov ax, [my]
        cmp ax, 0x8000
        jb .yok
        xor ax, ax
.yok:   cmp ax, VIEW_H - 8
        jbe .ys
        mov ax, VIEW_H - 8
.ys:    mov [my], ax
        call cursor_save
        call cursor_draw
        mov al, [mbtn]
        and al, 7
        cmp al, [mlast]
        je .r
        mov [mlast], al
        test al, al
        jz .r
        mov si, msg_click           ; "click X Y" on COM1
        call sputs
        mov ax, [mx]
        call sputdec
        mov al, ' '
        call sputc
        mov ax, [my]
        call sputdec
        mov si, msg_crlf
        call sputs
.r:     ret
.clamp_x:
        cmp ax, 0x8000
        jb .xok
        xor ax, ax
.xok:   cmp ax, 320 - 8
        jbe .xr
        mov ax, 320 - 8
.xr:    ret

; The 8x8 cursor: a white arrow; the pixels under it are saved first.
cursor_addr:                        ; DI = my * 320 + mx
        mov ax, [my]
        mov di, 320
        mul di
        add ax, [mx]
        mov di, ax
        ret

cursor_save:
        push es
        push ds
        call cursor_addr
        mov si, di
        mov ax, 0xa000
        mov ds, ax
        xor ax, ax
        mov es, ax
        mov di, under
        mov dx, 8
.l:     mov cx, 8
        rep movsb
        add si, 320 - 8
        dec dx
        jnz .l
        pop ds
        pop es
        ret

cursor_restore:
        push es
        call cursor_addr
        mov ax, 0xa000
        mov es, ax
        mov si, under
        mov dx, 8
.l:     mov cx, 8
        rep movsb
        add di, 320 - 8
        dec dx
        jnz .l
        pop es
        ret

cursor_draw:
        push es
        call cursor_addr
        mov ax, 0xa000
        mov es, ax
        mov si, arrow
        mov dx, 8
.row:   lodsb
        mov ah, al
        mov cx, 8
.px:    shl ah, 1
        jnc .skip
        mov byte [es:di], CURSOR_CLR
.skip:  inc di
        loop .px
        add di, 320 - 8
        dec dx
        jnz .row
        pop es
        ret

arrow:  db 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xe0, 0xb0, 0x18

msg_banner:   db 13, 10, "ixvm demo: Mandelbrot in VGA mode 13h, PS/2 keyboard and mouse", 13, 10
              db "type here or in the window; keys echo on the screen and on COM1", 13, 10, 0
msg_prompt:   db "demo> ", 0
msg_prompt_v: db "demo> ", 0
msg_crlf:     db 13, 10, 0
msg_bs:       db 8, " ", 8, 0
msg_click:    db "click ", 0
msg_nomouse:  db "demo: no PS/2 mouse (INT 15h C2xx failed)", 13, 10, 0

col:       db 0
phase:     db 0
last_tick: dw 0
mx:        dw 0
my:        dw 0
mbtn:      db 0
mlast:     db 0
mmoved:    db 0
colx:      dw 0
align 4
cx0:       dd 0
cy0:       dd 0
end:
        times 0x10000 - ($ - $$) db 0   ; a 64 KiB disk (128 sectors)

; not in the image: the palette gradient and the pixels under the cursor
absolute end
pal:       resb 254 * 3
under:     resb 64
