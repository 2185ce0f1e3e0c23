#!/usr/bin/env bash
# Installs Chromium when missing: the report.html tests load the report in a
# headless browser (github.com/chromedp/chromedp) to check what it shows.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
for b in chromium chromium-browser google-chrome google-chrome-stable headless-shell; do
	if command -v "$b" >/dev/null; then
		exit 0
	fi
done
install_missing chromium
