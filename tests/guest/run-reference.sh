#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the guest test images on the reference emulators and checks their TAP
# output (docs/guest-tests.md).
#
#   run-reference.sh [-e ENGINES] [-o OUTDIR] [IMAGE.img ...]
#
# ENGINES is a comma list of: qemu (SeaBIOS boots the image from an IDE
# disk), qemu-nobios (a 64 KiB stub ROM jumps to 0000:7C00 after QEMU's
# loader put the image there: the way ixvm starts them), bochs (Bochs 2.7,
# floppy boot, port 0xE9 hack).  Default: qemu,qemu-nobios, plus bochs when
# installed.  Without images, every tests/guest/*.asm is assembled into
# OUTDIR (default: a temporary directory).
#
# Pass criteria: the plan line "1..N", N "ok" lines, no "Bail out!", and no
# "not ok" except the reference emulator's known deviations from the SDM
# listed in reference-xfail.txt (the tests assert the SDM behaviour, so they
# must pass on ixvm); for QEMU also the isa-debug-exit status: 1 (guest wrote
# 0) or, when known deviations failed, 3.  Bochs has no isa-debug-exit: its
# TAP output alone counts.  GUEST_VERBOSE=1 shows the "not ok" lines always.
# Prints one line per run and "N passed, N failed" at the end; exit status 0
# only if every run passed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
engines=""
outdir=""
timeout_s=${GUEST_TIMEOUT:-60}
while getopts "e:o:" opt; do
    case $opt in
    e) engines=$OPTARG ;;
    o) outdir=$OPTARG ;;
    *) echo "usage: $0 [-e qemu,qemu-nobios,bochs] [-o outdir] [img...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

if [ -z "$engines" ]; then
    engines="qemu,qemu-nobios"
    command -v bochs >/dev/null 2>&1 && engines="$engines,bochs"
fi
work=$(mktemp -d /tmp/ixvm-guest-ref.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
[ -n "$outdir" ] || outdir=$work/img
mkdir -p "$outdir"

die() { echo "run-reference: $*" >&2; exit 2; }

if [ $# -eq 0 ]; then
    command -v nasm >/dev/null 2>&1 || die "nasm not found (apt-get install nasm)"
    for src in "$here"/*.asm; do
        name=$(basename "$src" .asm)
        nasm -f bin -I"$here/" -o "$outdir/$name.img" "$src" || die "nasm failed on $src"
        set -- "$@" "$outdir/$name.img"
    done
fi

nobios_rom=$work/nobios.bin
case ",$engines," in
*,qemu-nobios,*)
    command -v nasm >/dev/null 2>&1 || die "nasm not found (needed for the stub ROM)"
    nasm -f bin -o "$nobios_rom" "$here/lib/nobios.asm" || die "cannot assemble lib/nobios.asm" ;;
esac

# check_tap LOG ENGINE NAME: 0 when the TAP stream in LOG is complete and
# every "not ok" is a known deviation of ENGINE listed in reference-xfail.txt
# (lines "engine-glob | test | description | reason").  Sets n_xfail.
check_tap() {
    n_xfail=0
    plan=$(grep -a -m1 -E '^1\.\.[0-9]+' "$1" | tr -d '\r' | sed 's/^1\.\.//')
    [ -n "$plan" ] || { echo "no plan line"; return 1; }
    grep -a -q 'Bail out!' "$1" && { echo "bailed out: $(grep -a -m1 'Bail out!' "$1")"; return 1; }
    nok=$(grep -a -c -E '^ok [0-9]+' "$1")
    nbad=0
    grep -a -E '^not ok [0-9]+ - ' "$1" | sed -e 's/^not ok [0-9]* - //' -e 's/ (got .*//' \
        >"$work/notok" || true
    while IFS= read -r desc; do
        if awk -F' [|] ' -v e="$2" -v t="$3" -v d="$desc" '
            /^#/ || NF < 3 { next }
            { pat = $1; gsub(/\*/, ".*", pat) }
            e ~ ("^" pat "$") && $2 == t && $3 == d { found = 1 }
            END { exit !found }' "$here/reference-xfail.txt"; then
            n_xfail=$((n_xfail + 1))
        else
            nbad=$((nbad + 1))
        fi
    done <"$work/notok"
    [ "$nbad" -eq 0 ] || { echo "$nbad unexpected not ok"; return 1; }
    [ $((nok + n_xfail)) -eq "$plan" ] || { echo "$nok ok + $n_xfail known deviations of $plan planned"; return 1; }
    echo "$nok/$plan ok, $n_xfail known deviations"
    return 0
}

run_qemu() { # img log nobios
    if [ "$3" = 1 ]; then
        boot="-bios $nobios_rom -device loader,file=$1,addr=0x7c00,force-raw=on"
    else
        boot="-drive format=raw,file=$1,if=ide"
    fi
    # shellcheck disable=SC2086
    timeout "$timeout_s" qemu-system-i386 -cpu max -m 64 -nographic -no-reboot \
        -display none -serial none -monitor none -parallel none -net none \
        $boot -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -debugcon "file:$2" >/dev/null 2>"$2.stderr"
}

run_bochs() { # img log
    fd=$work/floppy.img
    cp "$1" "$fd" && truncate -s 1474560 "$fd"
    cat >"$work/bochsrc" <<EOF
megs: 64
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
floppya: 1_44=$fd, status=inserted
boot: floppy
display_library: term
port_e9_hack: enabled=1
log: $2.bochslog
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
speaker: enabled=0
cpu: model=corei7_sandy_bridge_2600k, ips=50000000, ignore_bad_msrs=0
clock: sync=none
EOF
    printf 'c\nquit\n' >"$work/dbgrc"
    # The Debian build has the debugger and a terminal GUI: give it a tty.
    TERM=xterm timeout "$timeout_s" script -qfec \
        "bochs -q -f $work/bochsrc -rc $work/dbgrc" /dev/null </dev/null >"$2.raw" 2>&1
    # Port 0xE9 text is interleaved with terminal control sequences.
    sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' "$2.raw" | tr -d '\r' >"$2"
}

pass=0
fail=0
for img in "$@"; do
    name=$(basename "$img" .img)
    [ -f "$img" ] || die "no image $img"
    for eng in $(echo "$engines" | tr ',' ' '); do
        log=$work/$name.$eng.log
        : >"$log"
        case $eng in
        qemu | qemu-nobios)
            nb=0
            [ "$eng" = qemu-nobios ] && nb=1
            run_qemu "$img" "$log" $nb
            st=$?
            res=$(check_tap "$log" "$eng" "$name")
            ok=$?
            # Guest exit value 0 -> status 1; 1 (some not ok) -> status 3.
            want=1
            case $res in *", 0 known"*) ;; *) want=3 ;; esac
            if [ $ok -eq 0 ] && [ $st -ne $want ]; then
                res="$res, exit status $st (want $want)"
                ok=1
            fi ;;
        bochs)
            run_bochs "$img" "$log"
            res=$(check_tap "$log" "$eng" "$name")
            ok=$? ;;
        *) die "unknown engine $eng" ;;
        esac
        if [ $ok -eq 0 ]; then
            pass=$((pass + 1))
            echo "PASS $name on $eng: $res"
        else
            fail=$((fail + 1))
            echo "FAIL $name on $eng: $res"
        fi
        if [ $ok -ne 0 ] || [ -n "${GUEST_VERBOSE:-}" ]; then
            grep -a -E '^not ok|Bail out|^# ' "$log" | sed 's/^/    /'
        fi
        [ -n "${GUEST_KEEP_LOGS:-}" ] && cp "$log" "${GUEST_KEEP_LOGS}/$name.$eng.log"
    done
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
