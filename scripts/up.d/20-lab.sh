#!/usr/bin/env bash
# Brings up the netns lab (4 hosts, and 2 on a subnet the first cannot reach)
# in .lab and tells the tests where it is: STREAMTEST_LAB. The remote tests and
# examples find the lab's parameters through it. STREAMTEST_PARAMS is left
# alone: the local examples keep their own default streams (the slice example
# needs its streams 3 and 4 cut off, which the lab's numbering does not give).
# `lab up` first removes whatever an earlier run left behind. Without root the
# lab is skipped; the remote tests then skip, or fail when CI=true.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	echo "not root: no netns lab; the remote-stream tests will skip (fail with CI=true)" >&2
	exit 0
fi
go run ./cmd/streamtest lab up --kind netns --hosts 4 --isolated 2 --dir .lab
echo "STREAMTEST_LAB=$PWD/.lab" >>"${STREAMTEST_TEST_ENV:?}"
