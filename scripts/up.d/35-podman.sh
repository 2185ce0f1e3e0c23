#!/usr/bin/env bash
# Starts Podman's Docker-compatible API service on a socket of this checkout's
# own (.podman/podman.sock), removes what container streams of dead test
# processes left in it, builds the streamtest images in it, and tells the
# tests where it is: STREAMTEST_PODMAN (in "$STREAMTEST_TEST_ENV"; printed
# when that is not set). The container tests and the conformance suite then
# run on Podman as well as on the Docker Engine. Without Podman (outside CI)
# it does nothing and the Podman subtests skip; with CI=true it fails.
set -euo pipefail
ci=false
case "${CI:-}" in 1 | true | TRUE | True) ci=true ;; esac
if ! command -v podman >/dev/null; then
	if $ci; then
		echo "CI=true and podman is missing: scripts/setup.d/35-podman.sh installs it" >&2
		exit 1
	fi
	echo "no podman: the Podman subtests of the container tests will skip (apt-get install podman catatonit)" >&2
	exit 0
fi

dir=$PWD/.podman
sock=$dir/podman.sock
url=unix://$sock
mkdir -p "$dir"
# A service an earlier run left (its down hook did not run).
if [ -s "$dir/service.pid" ]; then
	kill "$(cat "$dir/service.pid")" 2>/dev/null || true
fi
rm -f "$sock" "$dir/service.pid"
podman system service --time=0 "$url" </dev/null >"$dir/service.log" 2>&1 &
echo $! >"$dir/service.pid"

up=false
for _ in $(seq 1 100); do
	if podman --remote --url "$url" version >/dev/null 2>&1; then
		up=true
		break
	fi
	sleep 0.1
done
if ! $up; then
	echo "Podman's API service did not answer on $url within 10 s; its log ($dir/service.log):" >&2
	cat "$dir/service.log" >&2
	if $ci; then
		exit 1
	fi
	echo "the Podman subtests will skip" >&2
	exit 0
fi
echo "Podman $(podman --remote --url "$url" version --format '{{.Server.Version}}') on $url"

DOCKER_HOST=$url go run ./cmd/streamtest lab sweep
DOCKER_HOST=$url go run ./cmd/streamtest lab image
if [ -n "${STREAMTEST_TEST_ENV:-}" ]; then
	echo "STREAMTEST_PODMAN=$url" >>"$STREAMTEST_TEST_ENV"
else
	echo "export STREAMTEST_PODMAN=$url"
fi
