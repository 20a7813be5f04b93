; SPDX-License-Identifier: MIT
; cpuinfo: CPUID leaves 0 and 1, RDTSC, RDMSR/WRMSR (SYSENTER_CS round
; trip, #GP on an unknown MSR), CMPXCHG8B and the x87
; presence probe checked against CPUID.1:EDX.FPU.
; References: Intel SDM Vol. 2A CPUID (Table 3-8 leaf 0, 3-10/3-11 leaf 1),
; CMPXCHG8B; Vol. 2B RDMSR, RDTSC, WRMSR; Vol. 4 (IA32_SYSENTER_CS 174H);
; Vol. 3A 9.2.2 (x87 FPU initialization,
; presence detection with FNINIT/FNSTSW).

%include "lib/boot.inc"

test_main:
        ; ---- CPUID leaf 0
        xor eax, eax
        cpuid
        mov [vendor], ebx
        mov [vendor + 4], edx
        mov [vendor + 8], ecx
        mov [max_leaf], eax
        PRINT "# CPUID vendor: "
        mov esi, vendor
        call puts
        call newline
        mov eax, [max_leaf]
        cmp eax, 1
        setae al
        movzx eax, al
        CHECK_EQ eax, 1, "CPUID.0: maximum basic leaf >= 1"
        mov esi, vendor                 ; 12 printable ASCII bytes
        mov ecx, 12
        xor edx, edx
.v:     lodsb
        cmp al, 0x20
        jb .bad
        cmp al, 0x7E
        ja .bad
        jmp .n
.bad:   inc edx
.n:     loop .v
        CHECK_EQ edx, 0, "CPUID.0: vendor string is 12 printable characters"

        ; ---- CPUID leaf 1
        mov eax, 1
        cpuid
        mov [c1_eax], eax
        mov [c1_edx], edx
        mov ebx, eax
        shr ebx, 8
        and ebx, 0xF                    ; family
        cmp ebx, 0xF
        jne .fam
        mov ecx, eax
        shr ecx, 20
        and ecx, 0xFF
        add ebx, ecx                    ; + extended family
.fam:   PRINT "# CPUID family: "
        mov eax, ebx
        call putdec
        call newline
        cmp ebx, 6
        setae al
        movzx eax, al
        CHECK_EQ eax, 1, "CPUID.1: display family >= 6"

        ; ---- RDTSC (CPUID.1:EDX.TSC[4])
        test dword [c1_edx], 1 << 4
        jz .notsc
        rdtsc
        mov esi, eax
        mov edi, edx
        mov ecx, 1000
.spin:  loop .spin
        rdtsc
        sub eax, esi
        sbb edx, edi                    ; second - first, 64-bit
        setnc bl                        ; no borrow ...
        or eax, edx
        setnz bh                        ; ... and not equal
        and bl, bh
        movzx eax, bl
        CHECK_EQ eax, 1, "RDTSC: a later read is larger"
        jmp .tsc_done
.notsc: SKIP "RDTSC: a later read is larger", "no TSC in CPUID"
.tsc_done:

        ; ---- MSRs (CPUID.1:EDX.MSR[5], SEP[11])
        test dword [c1_edx], 1 << 5
        jz .nomsr
        mov ecx, 0x174                  ; IA32_SYSENTER_CS
        rdmsr
        mov [saved_msr], eax
        mov [saved_msr + 4], edx
        mov eax, 0x1234
        xor edx, edx
        wrmsr
        xor eax, eax
        rdmsr
        CHECK_EQ eax, 0x1234, "WRMSR/RDMSR IA32_SYSENTER_CS round trip"
        mov eax, [saved_msr]
        mov edx, [saved_msr + 4]
        wrmsr
        mov ecx, 0x12345678
        EXPECT_EXC .m1r
.m1:    rdmsr
.m1r:   CHECK_EXC 13, 0, .m1, "RDMSR of an unknown MSR is #GP(0)"
        xor eax, eax
        xor edx, edx
        EXPECT_EXC .m2r
.m2:    wrmsr
.m2r:   CHECK_EXC 13, 0, .m2, "WRMSR of an unknown MSR is #GP(0)"
        jmp .msr_done
.nomsr:
%rep 3
        SKIP "MSR", "no MSR in CPUID"
%endrep
.msr_done:

        ; ---- RDMSR at CPL 3 is #GP(0) (privileged)
        ENTER_RING3 user_part
user_done:
        CHECK_EQ [u_rdmsr], 0x0D00, "RDMSR at CPL 3 is #GP(0) (vector<<8|error)"

        ; ---- CMPXCHG8B (CPUID.1:EDX.CX8[8])
        test dword [c1_edx], 1 << 8
        jz .nocx8
        mov dword [q], 0x11111111
        mov dword [q + 4], 0x22222222
        mov eax, 0x11111111
        mov edx, 0x22222222
        mov ebx, 0x33333333
        mov ecx, 0x44444444
        lock cmpxchg8b [q]
        CHECK_CC z, "CMPXCHG8B equal: ZF=1"
        CHECK_EQ [q], 0x33333333, "CMPXCHG8B equal: low dword stored"
        CHECK_EQ [q + 4], 0x44444444, "CMPXCHG8B equal: high dword stored"
        xor eax, eax
        xor edx, edx
        cmpxchg8b [q]
        CHECK_CC nz, "CMPXCHG8B not equal: ZF=0"
        CHECK_EQ eax, 0x33333333, "CMPXCHG8B not equal: EAX loaded"
        CHECK_EQ edx, 0x44444444, "CMPXCHG8B not equal: EDX loaded"
        EXPECT_EXC .c1r
.c1:    db 0x0F, 0xC7, 0xC8             ; CMPXCHG8B with a register operand
.c1r:   CHECK_EXC 6, 0, .c1, "CMPXCHG8B with a register operand is #UD"
        jmp .cx8_done
.nocx8:
%rep 7
        SKIP "CMPXCHG8B", "no CX8 in CPUID"
%endrep
.cx8_done:

        ; ---- x87 presence (9.2.2)
        mov eax, cr0
        and eax, ~(1 << 2 | 1 << 3)     ; EM=0, TS=0
        or eax, 1 << 1                  ; MP
        mov cr0, eax
        mov word [fsw], 0x5A5A
        mov word [fcw], 0x5A5A
        fninit
        fnstsw [fsw]
        fnstcw [fcw]
        movzx eax, word [fsw]
        test eax, eax
        setz al                         ; FPU answered
        movzx eax, al
        mov ebx, [c1_edx]
        and ebx, 1                      ; CPUID.1:EDX.FPU
        CHECK_EQ eax, ebx, "FNINIT/FNSTSW presence probe agrees with CPUID.1:EDX.FPU"
        test ebx, ebx
        jz .nofpu
        movzx eax, word [fcw]
        CHECK_EQ eax, 0x037F, "FNINIT sets the control word to 0x037F"
        jmp .fpu_done
.nofpu: SKIP "FNINIT sets the control word to 0x037F", "no FPU in CPUID"
.fpu_done:
        ret

user_part:
        mov ecx, 0x174
        EXPECT_EXC .r
        rdmsr
.r:     mov eax, [exc_vector]
        shl eax, 8
        or eax, [exc_err]
        mov [u_rdmsr], eax
        LEAVE_RING3 user_done

        align 8
q:          dq 0
saved_msr:  dq 0
max_leaf:   dd 0
c1_eax:     dd 0
c1_edx:     dd 0
u_rdmsr:    dd 0
fsw:        dw 0
fcw:        dw 0
vendor:     times 13 db 0

%include "lib/lib32.inc"
