#!/bin/sh
# SPDX-License-Identifier: MIT
# The monitor, the tracer and the flight recorder against the real VM
# (ctest monitor_vm):
#  1. `--monitor stdio --wait-for-gdb` with commands on stdin: info fflags
#     format, 16-bit disassembly at the reset vector, single steps, memory
#     dumps of known ROM bytes (the GDT), a breakpoint by symbol, 32-bit
#     disassembly of known code, info registers, info flight, quit.
#  2. `--trace FILE` of tests/trace/trace.asm equals tests/trace/expected.txt;
#     with --trace-filter only the filtered lines remain.
#  3. tests/trace/triple.asm triple-faults: the flight recorder is dumped
#     with the last blocks, --trace-interrupts logs the INT3 and the #GPs.
# Usage: run-vm-monitor-test.sh IXVM GUEST_DIR TRACE_SRC_DIR
set -u
IXVM=$1
G=$2
T=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {   # expect FILE REGEX
    if ! grep -Eq -- "$2" "$1"; then
        echo "monitor_vm: MISSING in $(basename "$1"): $2" >&2
        fail=1
    fi
}

# ---- 1. monitor on stdin ----
{
    echo 'info fflags'
    echo 'disas 0xfffffff0 1'
    echo 'step'
    echo 'info registers 0'
    echo 'step 3'
    echo 'x/4xw gdt'
    echo 'xp/8xb 0xfffff058'
    echo 'break cmain'
    echo 'cont'
    sleep 1
    echo 'disas pm_entry 2'
    echo 'info registers 0'
    echo 'x/1xw 0x100000'
    echo 'delete all'
    echo 'info flight 0'
    echo 'quit'
} | timeout 30 "$IXVM" --bios "$G/quick.rom" --display none --quiet --monitor stdio --wait-for-gdb \
    --symbols "$G/quick.elf" >"$tmp/mon.out" 2>"$tmp/mon.err"
echo "monitor: exit $?"
cat "$tmp/mon.out"
o=$tmp/mon.out
expect "$o" '^Global FFs: 0x[0-9a-f]{8}$'
expect "$o" '^CPU 0 FFs: 0x[0-9a-f]{8}$'
expect "$o" '^fffffff0 <reset_vector>: e9 0d f0 +jmp 0xf000$'
expect "$o" '^EIP=0000f000 EFL=00000002 CPL=0 mode=real$'
expect "$o" '^CS =f000 ffff0000 0000ffff 0009b$'
expect "$o" '^fffff058: 00000000 00000000 0000ffff 00cf9a00$'
expect "$o" '^fffff058: 00 00 00 00 00 00 00 00$'
expect "$o" '^breakpoint 1 at 0x[0-9a-f]+ <cmain>$'
expect "$o" '^cpu0 stopped: breakpoint break at 0x[0-9a-f]+$'
expect "$o" '^fffff019 <pm_entry>: 66 b8 10 00 +mov ax, 0x10$'
expect "$o" '^fffff01d <pm_entry\+0x4>: 8e d8 +mov ds, eax$'
expect "$o" '^CPU#0 \(stopped\)$'
expect "$o" '^EIP=[0-9a-f]{8} EFL=[0-9a-f]{8} CPL=0 mode=prot32$'
expect "$o" '^00100000: 11223344$'
expect "$o" '^flight recorder of cpu0: the last [0-9]+ block\(s\), oldest first'
expect "$o" '^    fffff04f <pm_entry\+0x36>: e8 [0-9a-f ]+ call 0x[0-9a-f]+ <cmain>$'

# ---- 2. trace ----
nasm -f bin -o "$tmp/trace.rom" "$T/trace.asm" || exit 1
timeout 30 "$IXVM" --bios "$tmp/trace.rom" --display none --quiet --trace "$tmp/trace.txt" 2>"$tmp/trace.err"
rc=$?
[ $rc -eq 67 ] || { echo "monitor_vm: trace guest exit status $rc, want 67" >&2; fail=1; }
if ! diff -u "$T/expected.txt" "$tmp/trace.txt"; then
    echo "monitor_vm: the trace differs from tests/trace/expected.txt" >&2
    fail=1
fi
timeout 30 "$IXVM" --bios "$tmp/trace.rom" --display none --quiet --trace "$tmp/trace2.txt" \
    --trace-filter 'mode=p32 range=0xfffff035-0xfffff039' 2>/dev/null
grep -E ' fffff03[5-9]: ' "$T/expected.txt" | cut -d';' -f1 | sed 's/ *$//' >"$tmp/want2.txt"
cut -d';' -f1 "$tmp/trace2.txt" | sed 's/ *$//' >"$tmp/got2.txt"
if ! diff -u "$tmp/want2.txt" "$tmp/got2.txt"; then
    echo "monitor_vm: the filtered trace is wrong" >&2
    fail=1
fi

# ---- 3. triple fault: flight recorder ----
nasm -f bin -o "$tmp/triple.rom" "$T/triple.asm" || exit 1
timeout 30 "$IXVM" --bios "$tmp/triple.rom" --display none --quiet --no-reboot --trace-interrupts \
    >"$tmp/triple.out" 2>&1
rc=$?
cat "$tmp/triple.out"
[ $rc -eq 1 ] || { echo "monitor_vm: triple-fault guest exit status $rc, want 1" >&2; fail=1; }
o=$tmp/triple.out
expect "$o" '^cpu0 soft vec=0x03 at f000:0000f011$'
expect "$o" '^cpu0 xcpt vec=0x0d err=0 at f000:0000f010$'
expect "$o" '^ixvm: triple fault on cpu0$'
expect "$o" '^  block fffff007, 2 instruction\(s\), real$'
expect "$o" '^    fffff00a: 2e 0f 01 1e [0-9a-f ]+lidt '
expect "$o" '^    fffff010: cc +int3$'

[ $fail -eq 0 ] && echo "monitor_vm: all checks passed"
exit $fail
