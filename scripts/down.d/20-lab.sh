#!/usr/bin/env bash
# Takes the netns lab down (idempotent: nothing to remove is fine).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	exit 0
fi
go run ./cmd/streamtest lab down --kind netns --dir .lab
