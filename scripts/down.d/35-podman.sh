#!/usr/bin/env bash
# Removes what container streams of dead test processes left in the Podman
# service that scripts/up.d/35-podman.sh started (their reapers normally did
# it already), then stops that service. The streamtest images stay.
set -euo pipefail
dir=$PWD/.podman
[ -s "$dir/service.pid" ] || exit 0
pid=$(cat "$dir/service.pid")
if podman --remote --url "unix://$dir/podman.sock" version >/dev/null 2>&1; then
	DOCKER_HOST=unix://$dir/podman.sock go run ./cmd/streamtest lab sweep
fi
kill "$pid" 2>/dev/null || true
for _ in $(seq 1 50); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
rm -f "$dir/podman.sock" "$dir/service.pid"
