#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the gdb test guest ROMs (tests/gdb/guest) into OUTDIR:
#   guest.elf/guest.rom     spin() waits for gdb to set spin_flag
#   quick.elf/quick.rom     spin() gives up after 1000 rounds (monitor tests)
# Usage: build.sh OUTDIR [CC]   (CC must accept -m32; default gcc)
set -eu
out=$1
cc=${2:-gcc}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
nasm -f elf32 -g -F dwarf -o "$out/start.o" "$src/start.asm"
cflags="-m32 -march=i386 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables -O0 -g"
for v in guest quick; do
    def=
    [ "$v" = quick ] && def=-DSPIN_LIMIT=1000
    # shellcheck disable=SC2086
    "$cc" $cflags $def -c "$src/guest.c" -o "$out/$v.o"
    ld -m elf_i386 -nostdlib -static --build-id=none -T "$src/rom.ld" "$out/start.o" "$out/$v.o" -o "$out/$v.elf"
    objcopy -O binary "$out/$v.elf" "$out/$v.rom"
done
