#!/bin/sh
# SPDX-License-Identifier: MIT
# --stats-json writes a JSON object with the VMM's per-vCPU samples.
ixvm=$1
out=$(mktemp) && trap 'rm -f "$out"' EXIT
"$ixvm" --selftest --vcpus 2 --stats-json "$out" >/dev/null 2>&1 || { echo "selftest failed"; exit 1; }
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, dict) and d, "empty stats"
cpu1 = [k for k in d if k.startswith("/VMM/CPU1/")]
assert cpu1, "no /VMM/CPU1/ samples in %r" % list(d)[:10]
print("stats-json: %d samples, e.g. %s" % (len(d), cpu1[0]))
' "$out"
