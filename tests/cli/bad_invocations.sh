#!/bin/sh
# SPDX-License-Identifier: MIT
# Table-driven test: each line of $2 is "ARGS | expected error text".
# ixvm must exit 2 and print one line on stderr containing the text.
ixvm=$1 table=$2
fails=0 total=0
err=$(mktemp) && trap 'rm -f "$err"' EXIT
while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    args=${line%% | *} want=${line#* | }
    total=$((total + 1))
    # shellcheck disable=SC2086
    "$ixvm" $args >/dev/null 2>"$err" </dev/null
    rc=$?
    lines=$(wc -l <"$err")
    if [ "$rc" -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$want" "$err"; then
        echo "FAIL: ixvm $args -> status $rc, $lines stderr line(s), want 2 and '$want':"
        sed 's/^/    /' "$err"
        fails=$((fails + 1))
    fi
done <"$table"
echo "$((total - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
