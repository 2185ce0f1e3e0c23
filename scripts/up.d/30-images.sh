#!/usr/bin/env bash
# Builds the streamtest images (base, python, sshd, netadmin) FROM scratch
# with this machine's own binaries: there is no registry to pull from.
# Removes first what container streams of dead test processes left behind.
# Without an engine (outside CI) it does nothing: the container tests then
# skip.
set -euo pipefail
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
	echo "no Docker Engine: no images; the container-stream tests will skip (fail with CI=true)" >&2
	exit 0
fi
go run ./cmd/streamtest lab sweep
go run ./cmd/streamtest lab image
