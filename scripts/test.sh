#!/usr/bin/env bash
# The README's test command (make test) runs this. It installs what the tests
# need (scripts/setup.d), brings up the lab and images (scripts/up.d), runs the
# whole suite with -race, and always takes the lab down (scripts/down.d).
#
# Each hook is a bash script; hooks run in name order. An up.d hook may write
# KEY=value lines to "$STREAMTEST_TEST_ENV"; they are exported to go test.
set -euo pipefail
cd "$(dirname "$0")/.."

export STREAMTEST_TEST_ENV="${STREAMTEST_TEST_ENV:-$PWD/.test-env}"
: >"$STREAMTEST_TEST_ENV"

ci=false
case "${CI:-}" in 1 | true | TRUE | True) ci=true ;; esac

# run_hooks runs every hook of a directory. Outside CI a setup hook that
# fails (a package missing and no root to install it) is a warning: the tests
# that need what it installs skip or fail, saying what is missing. In CI it
# is a failure.
run_hooks() {
	local dir=$1 h
	for h in "$dir"/*.sh; do
		[ -e "$h" ] || continue
		echo "== $h"
		if ! bash "$h"; then
			if [ "$ci" = true ] || [ "$dir" != scripts/setup.d ]; then
				echo "$h failed" >&2
				exit 1
			fi
			echo "warning: $h failed; the tests that need what it installs will skip or fail, saying what is missing" >&2
		fi
	done
}

down() {
	local rc=$?
	for h in scripts/down.d/*.sh; do
		[ -e "$h" ] || continue
		echo "== $h"
		bash "$h" || echo "warning: $h failed" >&2
	done
	exit $rc
}

run_hooks scripts/setup.d
trap down EXIT
run_hooks scripts/up.d

set -a
# shellcheck disable=SC1090
. "$STREAMTEST_TEST_ENV"
set +a

echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 30m ./...

# The examples once more, unchanged, on sandbox streams: only the parameters
# file says where the streams are.
if command -v bwrap >/dev/null; then
	bash scripts/examples-on.sh sandbox
elif [ "$ci" = true ]; then
	echo "CI=true and bubblewrap (bwrap) is missing: the examples cannot run on sandbox streams" >&2
	exit 1
else
	echo "skipping the examples on sandbox streams: bubblewrap (bwrap) is missing (apt-get install bubblewrap)" >&2
fi
