#!/usr/bin/env bash
# Brings up the netns lab (4 hosts, and 2 on a subnet the first cannot reach)
# in .lab and points the tests at it: STREAMTEST_LAB for the remote-stream
# tests, STREAMTEST_PARAMS for every package (a test that wants local streams
# says so with explicit options; every package whose tests use streams then
# needs type remote linked). `lab up` first removes whatever an earlier
# run left behind. Without root the lab is skipped; the remote tests then
# skip, or fail when CI=true.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	echo "not root: no netns lab; the remote-stream tests will skip (fail with CI=true)" >&2
	exit 0
fi
go run ./cmd/streamtest lab up --kind netns --hosts 4 --isolated 2 --dir .lab
echo "STREAMTEST_LAB=$PWD/.lab" >>"${STREAMTEST_TEST_ENV:?}"
# STREAMTEST_LAB_PARAMS=0 keeps STREAMTEST_PARAMS unset: only the tests that
# look for the lab themselves (STREAMTEST_LAB) then use it.
if [ "${STREAMTEST_LAB_PARAMS:-1}" != 0 ]; then
	echo "STREAMTEST_PARAMS=$PWD/.lab/params.yaml" >>"$STREAMTEST_TEST_ENV"
fi
