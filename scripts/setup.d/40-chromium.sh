#!/usr/bin/env bash
# Installs Chromium when missing: the report.html tests load the report in a
# headless browser (github.com/chromedp/chromedp) to check what it shows.
set -euo pipefail
for b in chromium chromium-browser google-chrome google-chrome-stable headless-shell; do
	if command -v "$b" >/dev/null; then
		exit 0
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "missing: chromium; install it (apt-get install chromium) or run as root" >&2
	exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
