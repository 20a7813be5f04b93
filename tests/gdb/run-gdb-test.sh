#!/bin/sh
# SPDX-License-Identifier: MIT
# Drive gdb (batch mode) against gdb_fake_target and check what it prints.
# Usage: run-gdb-test.sh FAKE_TARGET [GDB]
set -u
FAKE=$1
GDB=${2:-gdb}
if ! command -v "$GDB" >/dev/null 2>&1; then
    echo "gdb_e2e: '$GDB' not found; run scripts/install-deps.sh" >&2
    exit 1
fi
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

"$FAKE" tcp::0 >"$tmp/port" 2>"$tmp/fake.err" &
pid=$!
port=
i=0
while [ $i -lt 200 ]; do
    port=$(sed -n 's/^port //p' "$tmp/port" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.05
    i=$((i + 1))
done
if [ -z "$port" ]; then
    echo "gdb_e2e: fake target did not start:" >&2
    cat "$tmp/fake.err" >&2
    exit 1
fi

timeout 60 "$GDB" -nx -batch \
    -ex 'set architecture i386' \
    -ex "target remote :$port" \
    -ex 'info registers' \
    -ex 'x/4xw 0x1000' \
    -ex 'set $eax=5' \
    -ex 'p $eax' \
    -ex 'break *0x1010' \
    -ex 'continue' \
    -ex 'stepi' \
    -ex 'p/x $pc' \
    -ex 'watch *(int*)0x2000' \
    -ex 'continue' \
    -ex 'p/x $pc' \
    -ex 'info threads' \
    -ex 'info registers cr0' \
    -ex 'monitor x/2xw 0x1000' \
    -ex 'monitor bogus' \
    -ex 'detach' >"$tmp/out" 2>&1
gdb_rc=$?
cat "$tmp/out"

fail=0
expect() {
    if ! grep -Eq -- "$1" "$tmp/out"; then
        echo "gdb_e2e: MISSING: $1" >&2
        fail=1
    fi
}
expect '^eax +0x0 +0$'
expect '^esp +0x8000 +0x8000$'
expect '^eip +0x1000 +0x1000$'
expect '^cs +0x8 +8$'
expect '^0x1000:[[:space:]]+0x03020100[[:space:]]+0x07060504[[:space:]]+0x0b0a0908[[:space:]]+0x0f0e0d0c$'
expect '^\$1 = 5$'
expect '^Breakpoint 1 at 0x1010$'
expect '^Thread 1 hit Breakpoint 1, 0x00001010 in \?\? \(\)$'
expect '^Thread 1 hit Hardware watchpoint 2: \*\(int\*\)0x2000$'
expect '^\$2 = 0x1011$'
expect '^Hardware watchpoint 2: \*\(int\*\)0x2000$'
expect '^Old value = 50462976$'
expect '^New value = 305419896$'
expect '^\$3 = 0x1021$'
expect '^\* 1 +Thread 1 '
expect '^  2 +Thread 2 '
expect '^cr0 +0x11 +17$'
expect '^00001000: 03020100 07060504$'
expect '^error: unknown command .bogus.; try .help.$'
expect 'Inferior 1 .* detached'
if [ $gdb_rc -ne 0 ]; then
    echo "gdb_e2e: gdb exited with $gdb_rc" >&2
    fail=1
fi
# The fake target exits by itself after the session.
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if kill -0 "$pid" 2>/dev/null; then
    echo "gdb_e2e: fake target still running after detach" >&2
    fail=1
else
    wait "$pid"
    rc=$?
    pid=
    if [ $rc -ne 0 ]; then
        echo "gdb_e2e: fake target exited with $rc" >&2
        cat "$tmp/fake.err" >&2
        fail=1
    fi
fi
exit $fail
