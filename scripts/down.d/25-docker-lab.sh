#!/usr/bin/env bash
# Takes the docker lab in .lab-docker down (idempotent: nothing to remove is
# fine), before 30-docker.sh sweeps what test processes left.
set -euo pipefail
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
	exit 0
fi
go run ./cmd/streamtest lab down --kind docker --dir .lab-docker
