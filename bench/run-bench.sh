#!/bin/sh
# SPDX-License-Identifier: MIT
# The guest benchmark (`make bench`): boots bench/guest on ixvm (IEM through
# ixvm-bench-iem), QEMU TCG (qemu-system-i386 -kernel, multiboot) and Bochs
# 2.7 (floppy boot), headless, in one run; prints per-workload wall times,
# ixvm's MIPS and the speed ratios, and updates bench/RESULTS.md.
#
#   sh bench/run-bench.sh [BUILD_DIR]      (default: build)
#
# Environment: BENCH_SCALE (default: the image's, 50), BENCH_EMUS (default
# "ixvm qemu bochs"), BENCH_RUNS (best of N per emulator, default 1),
# BENCH_NO_RESULTS=1 (do not touch RESULTS.md), BENCH_TIMEOUT (s, 900).
#
# Method (bench/RESULTS.md): every emulator runs the same image and prints
# "bench start", one "name checksum" line per workload and "bench end" on
# port 0xE9.  Times are host wall-clock between those lines (ixvm: taken in
# the runner; QEMU/Bochs: ixvm-bench-timer timestamps the lines as they
# arrive), so emulator start-up and firmware are excluded.  Instructions
# are counted by ixvm's interpreter; the guest executes the same
# instruction stream everywhere, so "MIPS" for QEMU/Bochs is that count
# divided by their time.  The ratio ixvm/X is X's time over ixvm's time.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
emus=${BENCH_EMUS:-ixvm qemu bochs}
runs=${BENCH_RUNS:-1}
tmo=${BENCH_TIMEOUT:-900}
work=$(mktemp -d /tmp/ixvm-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

die() { echo "run-bench: $*" >&2; exit 2; }

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="${IXVM_CC:-clang}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
targets="ixvm-bench-timer bench_guest"
case " $emus " in *" ixvm "*) targets="$targets ixvm-bench-iem" ;; esac
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $targets >/dev/null ||
    die "build failed (cmake --build $build --target $targets)"
g=$build/bench/guest
timer=$build/bench/ixvm-bench-timer
scale=${BENCH_SCALE:-}
scale_arg=""
[ -n "$scale" ] && scale_arg="--scale $scale"

# Normalised result files: one "name checksum seconds" line per workload,
# then "total - seconds".  $work/<emu>.res
# lines_to_res TIMED_LOG OUT: from "<t> <line>" logs (QEMU, Bochs).
lines_to_res() {
    awk '
        $2 == "bench" && $3 == "start" { t0 = $1; prev = $1; on = 1; next }
        $2 == "bench" && $3 == "end"   { if (on) printf "total - %.6f\n", $1 - t0; on = 0; next }
        $2 == "bench" && $3 == "fault" { print "fault " $0; next }
        on && NF == 3 && $3 ~ /^[0-9a-f]+$/ { printf "%s %s %.6f\n", $2, $3, $1 - prev; prev = $1 }
    ' "$1" >"$2"
    grep -q '^total ' "$2"
}

run_ixvm() { # out
    # shellcheck disable=SC2086
    "$build/bench/ixvm-bench-iem" --check $scale_arg "$g/bench.bin" >"$work/ixvm.log" 2>&1 || {
        cat "$work/ixvm.log" >&2; return 1; }
    awk '$1 == "@ixvm" && $2 == "wl" { print $3, $4, $6, $5 }
         $1 == "@ixvm" && $2 == "total" { print "total -", $4, $3 }' "$work/ixvm.log" >"$1"
}

run_qemu() { # out
    command -v qemu-system-i386 >/dev/null 2>&1 || { echo "qemu-system-i386 not installed" >&2; return 1; }
    [ -n "$scale" ] && { cp "$g/bench.elf" "$work/q.elf"; patch_scale "$work/q.elf" elf; }
    img=$g/bench.elf
    [ -n "$scale" ] && img=$work/q.elf
    "$timer" -t "$tmo" -- qemu-system-i386 -accel tcg -m 32 -no-reboot -display none -serial none \
        -monitor none -parallel none -net none -kernel "$img" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 -debugcon stdio >"$work/qemu.log" 2>&1
    lines_to_res "$work/qemu.log" "$1"
}

run_bochs() { # out
    command -v bochs >/dev/null 2>&1 || { echo "bochs not installed" >&2; return 1; }
    cp "$g/bench.img" "$work/fd.img"
    [ -n "$scale" ] && patch_scale "$work/fd.img" img
    cat >"$work/bochsrc" <<RC
megs: 32
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
floppya: 1_44=$work/fd.img, status=inserted
boot: floppy
display_library: term
port_e9_hack: enabled=1
log: $work/bochs.out
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
speaker: enabled=0
cpu: model=pentium, ips=50000000
clock: sync=none
RC
    # The Debian build has the internal debugger: "c" runs, "quit" ends it
    # if it ever stops.  The guest ends Bochs through the shutdown port 0x8900.
    printf 'c\nquit\n' >"$work/dbgrc"
    "$timer" -t "$tmo" -- bochs -q -f "$work/bochsrc" -rc "$work/dbgrc" >"$work/bochs.log" 2>&1
    lines_to_res "$work/bochs.log" "$1"
}

# patch_scale FILE elf|img: set the scale word (image offset 12) in a copy.
patch_scale() {
    case $2 in
    elf) off=$(readelf_off "$1") ;;
    img) off=$((512 + 12)) ;;
    esac
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((scale & 255)) $(((scale >> 8) & 255)) \
        $(((scale >> 16) & 255)) $(((scale >> 24) & 255)))" |
        dd of="$1" bs=1 seek="$off" conv=notrunc 2>/dev/null
}
# File offset of the first loadable segment (the multiboot header) + 12.
readelf_off() {
    o=$(od -A n -t u4 -j 28 -N 4 "$1" | tr -d ' ')          # e_phoff
    po=$(od -A n -t u4 -j $((o + 4)) -N 4 "$1" | tr -d ' ') # p_offset of phdr 0
    echo $((po + 12))
}

best_of() { # emu
    i=0
    while [ $i -lt "$runs" ]; do
        i=$((i + 1))
        if "run_$1" "$work/$1.try"; then
            if [ ! -f "$work/$1.res" ] || awk -v new="$(awk '$1=="total"{print $3}' "$work/$1.try")" \
                    '$1 == "total" { exit !(new + 0 < $3 + 0) }' "$work/$1.res"; then
                cp "$work/$1.try" "$work/$1.res"
            fi
        else
            echo "run-bench: $1 failed" >&2
            tail -5 "$work/$1.log" 2>/dev/null | sed 's/^/    /' >&2
            return 1
        fi
    done
}

# The reference emulators are Debian packages; `make bench` installs them
# when it can (root or sudo), else that column is left out.
ensure_pkgs() { # command package...
    command -v "$1" >/dev/null 2>&1 && return 0
    shift
    sudo=""
    [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && sudo="sudo -n"; } || return 1
    echo "run-bench: installing $*" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
        { $sudo apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; }
}
case " $emus " in *" qemu "*) ensure_pkgs qemu-system-i386 qemu-system-x86 || true ;; esac
case " $emus " in *" bochs "*) ensure_pkgs bochs bochs bochsbios vgabios bochs-term || true ;; esac

ok=""
for e in $emus; do
    printf 'run-bench: running %s...\n' "$e" >&2
    if best_of "$e"; then ok="$ok $e"; fi
done
case " $ok " in
*" ixvm "*) ;;
*)  # Without ixvm's instruction counts there is no table: show the raw times.
    for e in $ok; do echo "== $e"; cat "$work/$e.res"; done
    die "no ixvm result: no table" ;;
esac

# The table.  Columns per workload: checksum, Minstr (ixvm count), ixvm s,
# ixvm MIPS, qemu s, bochs s, ixvm/bochs, ixvm/qemu (>1: ixvm faster).
host=$(uname -m)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD -- src include bench 2>/dev/null || rev="$rev+changes"
table=$work/table.md
awk -v ok="$ok" -v dir="$work" '
    function load(e,   f, line, a) {
        f = dir "/" e ".res"
        while ((getline line < f) > 0) { split(line, a, " "); sum[e, a[1]] = a[2]; t[e, a[1]] = a[3]
            if (e == "ixvm") { ins[a[1]] = a[4]; if (a[1] != "total") order[++n] = a[1] } }
        close(f)
    }
    function cell(e, w) { return (e, w) in t ? sprintf("%.3f", t[e, w]) : "-" }
    function ratio(e, w) { return ((e, w) in t && t["ixvm", w] > 0) ? sprintf("%.2fx", t[e, w] / t["ixvm", w]) : "-" }
    function mips(e, w) { return ((e, w) in t && t[e, w] > 0) ? sprintf("%.0f", ins[w] / t[e, w] / 1e6) : "-" }
    BEGIN {
        load("ixvm"); if (ok ~ /qemu/) load("qemu"); if (ok ~ /bochs/) load("bochs")
        print "| workload | checksum | Minstr | ixvm s | ixvm MIPS | QEMU s | Bochs s | Bochs MIPS | ixvm/Bochs | ixvm/QEMU |"
        print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        bad = 0
        order[++n] = "total"
        for (k = 1; k <= n; k++) {
            w = order[k]; cs = sum["ixvm", w]
            if (w != "total") {
                if (("qemu", w) in sum && sum["qemu", w] != cs) { cs = cs " (QEMU " sum["qemu", w] "!)"; bad = 1 }
                if (("bochs", w) in sum && sum["bochs", w] != cs) { cs = cs " (Bochs " sum["bochs", w] "!)"; bad = 1 }
            }
            printf "| %s | %s | %.1f | %s | %s | %s | %s | %s | %s | %s |\n", w, cs, ins[w] / 1e6, cell("ixvm", w),
                mips("ixvm", w), cell("qemu", w), cell("bochs", w), mips("bochs", w), ratio("bochs", w), ratio("qemu", w)
        }
        if (bad) print "\nCHECKSUM MISMATCH between emulators" > "/dev/stderr"
        exit bad
    }' >"$table" || mismatch=1
cat "$table"
summary=$(awk -F'|' '$2 ~ /total/ { gsub(/ /, ""); printf "ixvm %s MIPS, ixvm/Bochs %s, ixvm/QEMU %s", $6, $10, $11 }' "$table")
echo "run-bench: $summary"

if [ -z "${BENCH_NO_RESULTS:-}" ]; then
    res=$here/RESULTS.md
    [ -f "$res" ] || printf '# Benchmark results\n\n<!-- run-bench:latest -->\n<!-- /run-bench:latest -->\n\n## History (make bench)\n\n| date | commit | scale | ixvm MIPS | ixvm/Bochs | ixvm/QEMU |\n|---|---|---:|---:|---:|---:|\n<!-- run-bench:history -->\n' >"$res"
    {
        echo "Latest \`make bench\`: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $rev, host $host ($cpu), $(nproc) cores,"
        echo "scale ${scale:-image default}, best of $runs; emulators: $(echo "$ok" | sed 's/^ //')."
        echo
        cat "$table"
    } >"$work/latest.md"
    hist=$(awk -F'|' -v d="$(date -u '+%Y-%m-%d %H:%M')" -v r="$rev" -v s="${scale:-default}" \
        '$2 ~ /total/ { gsub(/ /, ""); printf "| %s | %s | %s | %s | %s | %s |", d, r, s, $6, $10, $11 }' "$table")
    awk -v latest="$work/latest.md" -v hist="$hist" '
        /<!-- run-bench:latest -->/ { print; while ((getline l < latest) > 0) print l; skip = 1; next }
        /<!-- \/run-bench:latest -->/ { skip = 0 }
        /<!-- run-bench:history -->/ { print hist }
        !skip { print }' "$res" >"$work/res.new" && cp "$work/res.new" "$res"
    echo "run-bench: updated $res" >&2
fi
[ -z "${mismatch:-}" ]
