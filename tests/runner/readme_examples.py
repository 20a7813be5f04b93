#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run the example commands of README.md's "Running" section.

usage: readme_examples.py README.md IXVM DEMO_IMG

Every line of a ```sh block in that section that starts with "ixvm " (with
backslash continuations) is run with `ixvm` replaced by the binary and
build/demo.img by the demo image, in a scratch directory, without $DISPLAY
(the window examples run headless).  "# exit N" at the end says the status
it must return; commands without one run until stopped, so they get
"--timeout 3" and must end with 124 (they started and ran).
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

readme, ixvm, demo = sys.argv[1:4]
text = open(readme).read()
m = re.search(r"^## Running\n(.*?)(?=^## )", text, re.S | re.M)
if not m:
    sys.exit("README.md has no '## Running' section")
cmds = []
for block in re.findall(r"```sh\n(.*?)```", m.group(1), re.S):
    joined = re.sub(r"\\\n\s*", " ", block)
    cmds += [line for line in joined.splitlines() if line.startswith("ixvm ")]
if len(cmds) < 4:
    sys.exit("expected at least 4 examples in README.md, found %d" % len(cmds))
env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
work = tempfile.mkdtemp(prefix="ixvm-readme-")
failed = 0
for line in cmds:
    cmd, _, comment = line.partition("#")
    want = re.match(r"\s*exit (\d+)", comment)
    argv = [ixvm] + [demo if a == "build/demo.img" else a for a in shlex.split(cmd)[1:]]
    if not want:
        argv += ["--timeout", "3"]
    status = int(want.group(1)) if want else 124
    p = subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    ok = p.returncode == status
    print("%s %s -> %d (want %d)" % ("ok  " if ok else "FAIL", cmd.strip(), p.returncode, status))
    if not ok:
        print(p.stderr.decode("utf-8", "replace")[-800:])
        failed += 1
sys.exit(1 if failed else 0)
