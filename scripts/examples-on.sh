#!/usr/bin/env bash
# Runs every example of examples/ unchanged on the streams of one kind: only
# the parameters file changes. Fails if any example fails.
#
#   scripts/examples-on.sh KIND [go test flags...]
#
# KIND is one of:
#   local       each example's own default streams (local processes)
#   sandbox     bubblewrap sandboxes: examples/testdata/sandbox.yaml
#   container   plain container streams on the Docker Engine (images from
#               `go run ./cmd/streamtest lab image`): examples/testdata/container.yaml
#   netns-lab   the hosts of the netns lab in $STREAMTEST_LAB (as root:
#               `go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab`)
#   docker-lab  the hosts of the docker lab in $STREAMTEST_DOCKER_LAB
#               (`go run ./cmd/streamtest lab up --kind docker --dir .lab-docker`)
#
# For an example that needs a layout of its own, examples/<pkg>/<KIND>.yaml
# replaces the kind's file (sandbox, container) or is added after the lab's
# params.yaml (the labs). The slice's streams 3 and 4 must be cut off from
# stream 1: on the netns lab they are its isolated hosts
# (examples/internal/labslice writes them).
#
# Every stream an example uses must be defined (STREAMTEST_STRICT=true): an
# example never falls back to local streams unseen.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/examples-on.sh local|sandbox|container|netns-lab|docker-lab [go test flags...]"
kind=${1:?$usage}
shift

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# lab_params DIR VAR HOWTO: the lab's params.yaml, or a failure saying how
# to get one.
lab_params() {
	if [ -z "$1" ] || [ ! -f "$1/params.yaml" ]; then
		echo "examples-on.sh $kind: no lab: set $2 to the directory of a lab that is up (${1:+$1 has no params.yaml; }bring one up with \`$3\`)" >&2
		exit 1
	fi
	echo "$(cd "$1" && pwd)/params.yaml"
}

case $kind in
local | sandbox | container) ;;
netns-lab)
	lab=$(lab_params "${STREAMTEST_LAB:-}" STREAMTEST_LAB "go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab (as root)")
	go run ./examples/internal/labslice "$(dirname "$lab")" >"$tmp/slice.yaml"
	;;
docker-lab)
	lab=$(lab_params "${STREAMTEST_DOCKER_LAB:-}" STREAMTEST_DOCKER_LAB "go run ./cmd/streamtest lab up --kind docker --dir .lab-docker")
	;;
*)
	echo "$usage" >&2
	exit 2
	;;
esac

# params PKG: the value of STREAMTEST_PARAMS for examples/PKG on this kind
# ("" for the example's own default).
params() {
	local own=$PWD/examples/$1/$kind.yaml
	case $kind in
	local) echo "" ;;
	sandbox | container)
		[ -f "$own" ] || own=$PWD/examples/testdata/$kind.yaml
		echo "$own"
		;;
	netns-lab | docker-lab)
		[ "$kind" = netns-lab ] && [ "$1" = slice ] && own=$tmp/slice.yaml
		[ -f "$own" ] || own=$PWD/examples/testdata/lab.yaml
		echo "$lab:$own"
		;;
	esac
}

status=0
failed=()
start=$SECONDS
for dir in examples/*/; do
	pkg=$(basename "$dir")
	compgen -G "$dir*_test.go" >/dev/null || continue
	p=$(params "$pkg")
	echo "== examples/$pkg on $kind${p:+ (STREAMTEST_PARAMS=$p)}"
	if ! STREAMTEST_PARAMS=$p STREAMTEST_STRICT=true go test -race -count=1 "$@" "./examples/$pkg"; then
		status=1
		failed+=("$pkg")
	fi
done
if [ $status = 0 ]; then
	echo "== examples on $kind: all passed in $((SECONDS - start))s"
else
	echo "== examples on $kind: FAILED in $((SECONDS - start))s: ${failed[*]}" >&2
fi
exit $status
