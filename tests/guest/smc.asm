; SPDX-License-Identifier: MIT
; smc: self-modifying code.  Stores into the very next instruction, into a
; loop body on every iteration, into an opcode, through a second linear
; mapping of the same physical page, and REP STOSB over the code that
; follows the REP itself.  Each check proves the new bytes are what ran.
; References: Intel SDM Vol. 3A 11.6 "Self-Modifying Code" (a write to an
; instruction already prefetched invalidates it, by physical address) and
; 8.1.3 "Handling Self- and Cross-Modifying Code"; Vol. 3A 4.3 for the
; alias mappings.

%include "lib/boot.inc"

PD32     equ 0x30000
PT_ID    equ 0x31000
PT_ALIAS equ 0x32000
PG_CODE  equ 0x50000                    ; physical page mapped twice
LIN_X    equ 0x400000                   ; execute alias
LIN_W    equ 0x401000                   ; write alias

test_main:
        ; ---- store into the immediate of the next instruction
        mov dword [n1 + 1], 0x22222222
n1:     mov eax, 0x11111111
        CHECK_EQ eax, 0x22222222, "store into the next instruction's immediate takes effect"

        ; ---- store into the opcode of the next instruction
        mov eax, 10
        mov byte [n2], 0x48             ; INC EAX (40) -> DEC EAX (48)
n2:     inc eax
        CHECK_EQ eax, 9, "store into the next instruction's opcode takes effect"

        ; ---- a loop body rewritten on every iteration (after it has run)
        xor eax, eax
        xor ecx, ecx
smc_loop:
        mov [n3 + 2], cl                ; ADD EAX, imm8 (83 C0 ib)
n3:     add eax, 0x7F
        inc ecx
        cmp ecx, 100
        jb smc_loop
        CHECK_EQ eax, 4950, "loop body immediate rewritten each iteration (sum 0..99)"
        mov byte [n3 + 2], 0x7F

        ; ---- code that is run, then changed, then run again
        mov byte [fn_imm], 1
        call fn_a
        mov ebx, eax
        mov byte [fn_imm], 2
        call fn_a
        shl ebx, 8
        or eax, ebx
        CHECK_EQ eax, 0x0102, "a function patched between calls returns the new value"

        ; ---- REP STOSB over the code right after the REP
        mov edi, n4
        mov ecx, 8
        mov al, 0x41                    ; INC ECX
        rep stosb                       ; leaves ECX = 0
n4:     times 8 db 0x49                 ; DEC ECX, replaced before it runs
        CHECK_EQ ecx, 8, "REP STOSB over the following code: the stored bytes execute"

        ; ---- REP MOVSB copying a routine over code ahead, then running it
        mov esi, tmpl
        mov edi, n5
        mov ecx, tmpl_end - tmpl
        rep movsb
n5:     mov eax, 0xBAD0BAD0
        nop
        nop
        CHECK_EQ eax, 0x5EC0DE00, "REP MOVSB over the following code: the copied code executes"

        ; ---- two linear mappings of one physical page (4.3)
        call build_paging
        mov eax, PD32
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .pg
.pg:    mov esi, alias_fn               ; copy the routine through LIN_W
        mov edi, LIN_W
        mov ecx, alias_fn_end - alias_fn
        rep movsb
        call LIN_X
        CHECK_EQ eax, 0x11111111, "code copied through a write alias runs at the execute alias"
        mov dword [LIN_W + (alias_imm - alias_fn)], 0x33333333
        call LIN_X
        CHECK_EQ eax, 0x33333333, "store through the write alias changes code already run"
        mov dword [LIN_W + (alias_self - alias_fn) + 1], 1    ; arm the self-patch
        call LIN_X
        CHECK_EQ eax, 0x77777777, "code patching its next instruction through the other alias"
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        ret

fn_a:   db 0xB8                         ; MOV EAX, imm32
fn_imm: dd 0
        ret

tmpl:   mov eax, 0x5EC0DE00             ; 5 bytes, as long as the MOV it
tmpl_end:                               ; replaces

; Position independent: runs at LIN_X, patched through LIN_W.
alias_fn:
alias_self:
        mov eax, 0                      ; becomes 1: enables the self-patch
        test eax, eax
        jz .plain
        mov dword [LIN_W + (alias_imm - alias_fn)], 0x77777777
.plain: db 0xB8                         ; MOV EAX, imm32
alias_imm:
        dd 0x11111111
        ret
alias_fn_end:

build_paging:
        mov edi, PD32
        mov ecx, 3 * 1024
        xor eax, eax
        rep stosd
        mov edi, PT_ID
        mov eax, 3
        mov ecx, 1024
.id:    stosd
        add eax, 0x1000
        loop .id
        mov dword [PD32 + 0], PT_ID | 3
        mov dword [PD32 + 4], PT_ALIAS | 3
        mov dword [PT_ALIAS + 0], PG_CODE | 3   ; LIN_X
        mov dword [PT_ALIAS + 4], PG_CODE | 3   ; LIN_W
        ret

%include "lib/lib32.inc"
