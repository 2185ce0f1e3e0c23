#!/usr/bin/env bash
# What linking the stream types costs a test binary: for each set of types,
# a test binary of a one-test package that imports them is built 3 times
# with a warm build cache; prints its size and the median build-and-link
# time. Package streamtest links every built-in type, so the last row is
# what every test binary that uses streamtest pays.
#
#   scripts/bench-link.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work" ./linkcost-tmp-*' EXIT
mod=$(go list -m)
row() {
	local name=$1
	shift
	local dir=$work/$name
	mkdir -p "$dir"
	{
		echo "package linkcost_test"
		echo "import ("
		echo '	"testing"'
		for p in "$@"; do
			if [ "$p" = . ]; then echo "	_ \"$mod\""; else echo "	_ \"$mod/$p\""; fi
		done
		echo ")"
		echo "func TestNothing(t *testing.T) {}"
	} >"$dir/x_test.go"
	cp -r "$dir" "./linkcost-tmp-$name"
	go test -c -o "$work/$name.test" "./linkcost-tmp-$name" >/dev/null # warm the cache
	local times=()
	for _ in 1 2 3; do
		local s e
		s=$(date +%s%N)
		go test -c -o "$work/$name.test" "./linkcost-tmp-$name" >/dev/null
		e=$(date +%s%N)
		times+=($(((e - s) / 1000000)))
	done
	rm -rf "./linkcost-tmp-$name"
	local med
	med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
	printf '| %s | %s | %d | %d ms |\n' "$name" "$*" "$(stat -c %s "$work/$name.test")" "$med"
}
echo "| set | imports | test binary (bytes) | build and link, median of 3 |"
echo "| --- | --- | --- | --- |"
row local stream/local
row local+remote stream/local stream/remote
row local+container stream/local stream/container
row local+sandbox stream/local stream/sandbox
row streamtest .
