#!/usr/bin/env bash
# The README's test command (make test) runs this. It installs what the tests
# need (scripts/setup.d), brings up the lab and images (scripts/up.d), runs the
# whole suite with -race, then the example suite on every kind of streams
# (scripts/examples-on.sh), and always takes the labs down (scripts/down.d).
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
status=0
go test -race -count=1 -timeout 30m ./... || status=1

# The example suite once more on every kind of streams, unchanged: only the
# parameters file says where the streams are. A kind whose service is
# missing is skipped with the reason outside CI, and fails the run in CI.
bash scripts/examples-on.sh all || status=1
exit $status
