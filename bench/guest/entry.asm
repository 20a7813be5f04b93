; SPDX-License-Identifier: MIT
; Entry of the benchmark guest (bench/guest): a multiboot kernel linked at
; 1 MiB.  QEMU's -kernel loader enters _start in flat 32-bit protected mode
; with EAX = 0x2BADB002 (Multiboot 0.6.96, 3.2 "Machine state"); so do the
; Bochs boot sector (boot.asm) and ixvm's runner (bench/bench_iem.c).
; _start loads its own GDT and IDT, zeroes .bss, identity-maps the first
; 16 MiB with 4 KiB pages, turns paging on, calls bench_main(scale), and
; leaves through bench_exit (isa-debug-exit, then the Bochs shutdown port,
; then CLI/HLT forever).
;
; Image layout (bench.bin = the ELF's loaded bytes from 0x100000):
;   +0  multiboot header (magic, flags, checksum)
;   +12 bench_scale: the workload scale (a runner may patch it)
;   +16 _start

        bits 32
MB_MAGIC  equ 0x1BADB002
MB_FLAGS  equ 0
PG_TABLES equ 4                         ; 4 page tables = 16 MiB

        section .multiboot progbits alloc noexec nowrite align=4
        global bench_scale
        dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
bench_scale:
        dd 50

        section .text
        global _start, bench_exit, bench_outb
        extern bench_main, bench_fault, __bss_start, __bss_end
_start:
        cli
        lgdt [gdt_desc]
        jmp 0x08:.cs_ok
.cs_ok: mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, stack_top
        ; .bss (a plain loop: no string instructions before we know they work)
        mov edi, __bss_start
        xor eax, eax
.bss:   cmp edi, __bss_end
        jae .bss_done
        mov [edi], eax
        add edi, 4
        jmp .bss
.bss_done:
        call idt_setup
        ; Page directory -> PG_TABLES tables, identity map, 4 KiB pages, RW, supervisor.
        mov edi, page_dir
        mov eax, page_tables + 3
        xor ecx, ecx
.pde:   mov [edi + ecx * 4], eax
        add eax, 4096
        inc ecx
        cmp ecx, PG_TABLES
        jb .pde
        mov edi, page_tables
        mov eax, 3
.pte:   mov [edi], eax
        add edi, 4
        add eax, 4096
        cmp edi, page_tables + PG_TABLES * 4096
        jb .pte
        mov eax, page_dir
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80010000              ; PG | WP
        mov cr0, eax
        jmp .paged
.paged: push dword [bench_scale]
        call bench_main
        add esp, 4
        push eax
        call bench_exit

; void bench_outb(uint16_t port, uint8_t val)
bench_outb:
        mov edx, [esp + 4]
        mov eax, [esp + 8]
        out dx, al
        ret

; void bench_exit(uint32_t code): QEMU isa-debug-exit, then Bochs, then halt.
bench_exit:
        mov eax, [esp + 4]
        out 0xf4, al
        ; Bochs: the string "Shutdown" on port 0x8900 ends the simulation.
        mov dx, 0x8900
        mov esi, shutdown_str
.sd:    mov al, [esi]
        test al, al
        jz .halt
        out dx, al
        inc esi
        jmp .sd
.halt:  cli
        hlt
        jmp .halt

; IDT: 32 exception gates, each pushes its vector and calls bench_fault.
idt_setup:
        mov edi, idt
        mov esi, xstubs
        xor ecx, ecx
.gate:  mov eax, esi
        mov [edi], ax                   ; offset 15:0
        mov word [edi + 2], 0x08
        mov word [edi + 4], 0x8e00      ; present, DPL0, 32-bit interrupt gate
        shr eax, 16
        mov [edi + 6], ax
        add edi, 8
        add esi, XSTUB_SIZE
        inc ecx
        cmp ecx, 32
        jb .gate
        lidt [idt_desc]
        ret

xstubs:
%assign v 0
%rep 32
        push dword 0                    ; keep the frame uniform: error code slot
        push dword v
        jmp xcommon
        align 16, int3
%assign v v + 1
%endrep
XSTUB_SIZE equ 16
xcommon:
        ; [esp] vector, [esp+4] dummy, [esp+8] error code or EIP...
        push esp
        call bench_fault                ; never returns
.h:     cli
        hlt
        jmp .h

        section .rodata
shutdown_str: db "Shutdown", 0
        align 8
gdt:    dq 0
        dq 0x00cf9a000000ffff           ; 0x08 flat code, 32-bit
        dq 0x00cf92000000ffff           ; 0x10 flat data
gdt_end:
gdt_desc:
        dw gdt_end - gdt - 1
        dd gdt
idt_desc:
        dw 32 * 8 - 1
        dd idt

        section .bss nobits alloc noexec write align=4096
page_dir:    resb 4096
page_tables: resb 4096 * PG_TABLES
idt:         resb 32 * 8
        alignb 16
stack:       resb 65536
stack_top:
section .note.GNU-stack noalloc noexec nowrite progbits
