#!/usr/bin/env bash
# Installs the Debian packages the local-stream tests need when missing:
# ping (tests ping between streams), python3 (Python blocks) and
# bubblewrap (sandbox streams).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need=()
command -v ping >/dev/null || need+=(iputils-ping)
command -v python3 >/dev/null || need+=(python3)
command -v unshare >/dev/null || need+=(util-linux)
command -v bwrap >/dev/null || need+=(bubblewrap)
install_missing ${need[@]+"${need[@]}"}
