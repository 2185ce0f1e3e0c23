#!/usr/bin/env bash
# Runs the RFC's examples unchanged on the streams of another type: only the
# parameters file changes. For each example package, its own
# <package>/<kind>.yaml when there is one (an example that needs a special
# layout of streams), else examples/testdata/<kind>.yaml.
#
#   scripts/examples-on.sh sandbox
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/examples-on.sh KIND}
status=0
for pkg in intercommunication slice synchronized termination pythonmodule; do
	p=examples/$pkg/$kind.yaml
	[ -f "$p" ] || p=examples/testdata/$kind.yaml
	echo "== examples/$pkg on $p"
	STREAMTEST_PARAMS=$PWD/$p go test -race -count=1 "./examples/$pkg" || status=1
done
exit $status
