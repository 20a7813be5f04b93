#!/bin/sh
# SPDX-License-Identifier: MIT
# gdb against the real VM (ctest gdb_vm): Debian's gdb in batch mode drives
# `ixvm --bios guest.rom --gdb tcp::0` (tests/gdb/guest).  Three sessions:
#  1. --wait-for-gdb: reset-vector state, break on a function by name,
#     arguments and backtrace, stepi, registers and memory read/written,
#     a hardware watchpoint stopping on the storing instruction with old and
#     new values, `monitor`, detach -> the guest runs to its exit (status 15).
#  2. --smp 2: Ctrl-C (SIGINT to gdb) interrupts the spinning guest; two
#     threads; stepping the AP (waiting for SIPI) leaves it where it is,
#     stepping the BSP moves only it; detach -> exit 15.
#  3. kill: `kill` powers the VM off.
# Usage: run-vm-gdb-test.sh IXVM GUEST_DIR [GDB]
set -u
IXVM=$1
G=$2
GDB=${3:-gdb}
command -v "$GDB" >/dev/null 2>&1 || { echo "gdb_vm: '$GDB' not found; run scripts/install-deps.sh" >&2; exit 1; }
tmp=$(mktemp -d)
vm=
cleanup() {
    [ -n "$vm" ] && kill "$vm" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
fail=0

# start_vm NAME ARGS...: ixvm in the background; sets $port and $vm.
start_vm() {
    name=$1
    shift
    (timeout 60 "$IXVM" --bios "$G/guest.rom" --display none --quiet --gdb tcp::0 \
        --debugcon "file:$tmp/$name.con" "$@" 2>"$tmp/$name.err"; echo "exit $?" >"$tmp/$name.rc") &
    vm=$!
    port=
    i=0
    while [ $i -lt 200 ] && [ -z "$port" ]; do
        port=$(sed -n 's/^ixvm: gdb stub listening on port \([0-9]*\).*/\1/p' "$tmp/$name.err" 2>/dev/null)
        [ -n "$port" ] || sleep 0.05
        i=$((i + 1))
    done
    if [ -z "$port" ]; then
        echo "gdb_vm: ixvm did not start:" >&2
        cat "$tmp/$name.err" >&2
        exit 1
    fi
}

wait_vm() {
    i=0
    while [ $i -lt 200 ] && [ ! -s "$tmp/$1.rc" ]; do
        sleep 0.05
        i=$((i + 1))
    done
    vm=
}

expect() {   # expect FILE REGEX
    if ! grep -Eq -- "$2" "$1"; then
        echo "gdb_vm: MISSING in $(basename "$1"): $2" >&2
        fail=1
    fi
}

gdb_batch() {   # gdb_batch OUT ARGS...
    out=$1
    shift
    timeout 60 "$GDB" -nx -batch -ex 'set architecture i386' -ex "file $G/guest.elf" \
        -ex "target remote :$port" "$@" >"$out" 2>&1
}

# ---- 1. breakpoints, registers, memory, watchpoint, detach ----
start_vm s1 --wait-for-gdb
gdb_batch "$tmp/s1.out" \
    -ex 'p/x $eip' -ex 'p/x $cs' \
    -ex 'break add_numbers' -ex 'continue' -ex 'bt' -ex 'p a + b' \
    -ex 'stepi' -ex 'p/x $pc' \
    -ex 'p/x $eax' -ex 'set $eax = 0x1234' -ex 'p/x $eax' \
    -ex 'x/wx &initialised' -ex 'set var initialised = 0x55667788' -ex 'x/wx 0x100000' \
    -ex 'delete' -ex 'watch counter' -ex 'continue' -ex 'x/i $pc' -ex 'p/x $pc' \
    -ex 'continue' -ex 'delete' \
    -ex 'info registers cr0' -ex 'monitor info registers 0' \
    -ex 'set var spin_flag = 1' -ex 'detach'
wait_vm s1
cat "$tmp/s1.out"
o=$tmp/s1.out
expect "$o" '^\$1 = 0xfff0$'
expect "$o" '^\$2 = 0xf000$'
expect "$o" '^Breakpoint 1 at 0x[0-9a-f]+: file .*guest.c, line [0-9]+\.$'
expect "$o" '^Breakpoint 1, add_numbers \(a=2, b=3\) at .*guest.c:[0-9]+$'
expect "$o" '^#1  0x[0-9a-f]+ in cmain \(\) at .*guest.c:[0-9]+$'
expect "$o" '^\$3 = 5$'
expect "$o" '^\$6 = 0x1234$'
expect "$o" '^0x100000 <initialised>:[[:space:]]+0x11223344$'
expect "$o" '^0x100000 <initialised>:[[:space:]]+0x55667788$'
expect "$o" '^Hardware watchpoint 2: counter$'
expect "$o" '^Old value = 0$'
expect "$o" '^New value = 1$'
expect "$o" '^Old value = 1$'
expect "$o" '^New value = 2$'
expect "$o" '^bump \(\) at .*guest.c:[0-9]+$'
expect "$o" '^cr0 +0x60000011 '
expect "$o" '^EIP=[0-9a-f]{8} EFL=[0-9a-f]{8} CPL=0 mode=prot32$'
expect "$o" '^\[Inferior 1 \(Remote target\) detached\]$'
# The watchpoint stops right after the store: the previous instruction wrote counter.
pc=$(sed -n 's/^\$7 = 0x\([0-9a-f]*\)$/\1/p' "$o")
[ -n "$pc" ] || { echo "gdb_vm: no pc after the watchpoint" >&2; fail=1; }
expect "$tmp/s1.rc" '^exit 15$'
expect "$tmp/s1.con" '^ok$'

# The watchpoint's instruction: disassemble backwards from the stop pc with
# the ELF: the store to counter must end exactly there.
if [ -n "$pc" ]; then
    objdump -d --no-show-raw-insn "$G/guest.elf" >"$tmp/dis.txt" 2>/dev/null
    prev=$(awk -v pc="$pc" '/^ *[0-9a-f]+:/ { a = $1; sub(":", "", a); if (a == pc) { print last; exit } last = $0 }' "$tmp/dis.txt")
    case $prev in
    *"mov "*"%eax,0x100004"*) ;;
    *) echo "gdb_vm: watchpoint stopped after '$prev', not after the store to counter" >&2; fail=1 ;;
    esac
fi

# ---- 2. Ctrl-C, threads, per-vCPU stepping ----
start_vm s2 --smp 2
# SIGINT to gdb itself (the shell's $PPID is gdb) while it waits in continue.
gdb_batch "$tmp/s2.out" -ex 'shell (sleep 1.5; kill -INT $PPID) &' -ex 'continue' \
    -ex 'p spins > 100' -ex 'info threads' \
    -ex 'thread 2' -ex 'p/x $eip' -ex 'stepi' -ex 'p/x $eip' \
    -ex 'thread 1' -ex 'p/x $eip' -ex 'stepi' -ex 'p/x $eip' -ex 'p spins' -ex 'p spins' \
    -ex 'set var spin_flag = 1' -ex 'detach'
wait_vm s2
cat "$tmp/s2.out"
o=$tmp/s2.out
expect "$o" '^Thread 1 received signal SIGINT, Interrupt\.$'
expect "$o" '^\$1 = 1$'
expect "$o" '^\* 1 +Thread 1 +spin \(\) at '
expect "$o" '^  2 +Thread 2 +0x0000fff0 in \?\? \(\)$'
expect "$o" '^\$2 = 0xfff0$'
expect "$o" '^\$3 = 0xfff0$'
# The BSP moved by one instruction; the guest did not run meanwhile.
a=$(sed -n 's/^\$4 = 0x\([0-9a-f]*\)$/\1/p' "$o")
b=$(sed -n 's/^\$5 = 0x\([0-9a-f]*\)$/\1/p' "$o")
if [ -z "$a" ] || [ -z "$b" ] || [ "$a" = "$b" ]; then
    echo "gdb_vm: stepi on thread 1 did not move it ($a -> $b)" >&2
    fail=1
fi
s6=$(sed -n 's/^\$6 = //p' "$o")
s7=$(sed -n 's/^\$7 = //p' "$o")
[ -n "$s6" ] && [ "$s6" = "$s7" ] || { echo "gdb_vm: the stopped guest ran ($s6, $s7)" >&2; fail=1; }
expect "$tmp/s2.rc" '^exit 15$'

# ---- 3. kill powers off ----
start_vm s3 --wait-for-gdb
gdb_batch "$tmp/s3.out" -ex 'break bump' -ex 'continue' -ex 'kill'
wait_vm s3
cat "$tmp/s3.out"
expect "$tmp/s3.out" '^Breakpoint 1, bump \(\) at '
expect "$tmp/s3.out" '^\[Inferior 1 \(Remote target\) killed\]$'
if grep -q '^exit 15$' "$tmp/s3.rc"; then
    echo "gdb_vm: the guest ran to its end after kill" >&2
    fail=1
fi

[ $fail -eq 0 ] && echo "gdb_vm: all checks passed"
exit $fail
