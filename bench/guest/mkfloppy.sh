#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the Bochs floppy image: boot.asm assembled for the size of
# bench.bin, then bench.bin, padded to 1.44 MB.
#   mkfloppy.sh NASM BOOT.asm BENCH.bin OUT.img
set -eu
nasm=$1 boot=$2 bin=$3 out=$4
size=$(wc -c <"$bin")
sectors=$(( (size + 511) / 512 ))
"$nasm" -f bin -DIMAGE_SECTORS=$sectors -o "$out.boot" "$boot"
cat "$out.boot" "$bin" >"$out"
rm -f "$out.boot"
truncate -s 1474560 "$out"
