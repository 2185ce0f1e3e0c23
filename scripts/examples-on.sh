#!/usr/bin/env bash
# Runs every example of examples/ unchanged on the streams of one kind: only
# the parameters file changes. Fails if any example fails.
#
#   scripts/examples-on.sh KIND [go test flags...]
#
# KIND is one of:
#   local       each example's own default streams (local processes)
#   sandbox     bubblewrap sandboxes: examples/testdata/sandbox.yaml
#   container   plain container streams on the Docker Engine (images from
#               `go run ./cmd/streamtest lab image`): examples/testdata/container.yaml
#   netns-lab   the hosts of the netns lab in $STREAMTEST_LAB (as root:
#               `go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab`)
#   docker-lab  the hosts of the docker lab in $STREAMTEST_DOCKER_LAB
#               (`go run ./cmd/streamtest lab up --kind docker --hosts 4 --dir .lab-docker`)
#   all         each of these in turn, then a table of the results (make
#               test runs this); a kind whose service is missing is skipped
#               with the reason, or fails when CI=true
#
# For an example that needs a layout of its own, examples/<pkg>/<KIND>.yaml
# replaces the kind's file (sandbox, container) or is added after the lab's
# params.yaml (the labs; otherwise examples/testdata/lab.yaml, the examples'
# test parameters, is). The slice's streams 3 and 4 must be cut off from
# stream 1: on the netns lab they are its isolated hosts, which
# examples/internal/labslice writes.
#
# An example that can run on some kinds only has a file examples/<pkg>/kinds
# listing them (words; # starts a comment): examples/replicated partitions
# its streams' networks, which local and sandbox streams do not have of
# their own. On any other kind the script says that it does not run it and
# why, in its log and in the table of `all`; it is never skipped unseen.
#
# Every stream an example uses must be defined (STREAMTEST_STRICT=true): an
# example never falls back to local streams unseen.
set -euo pipefail
cd "$(dirname "$0")/.."
kinds="local sandbox container netns-lab docker-lab"
usage="usage: scripts/examples-on.sh ${kinds// /|}|all [go test flags...]"
kind=${1:?$usage}
shift
case " $kinds all " in *" $kind "*) ;; *)
	echo "$usage" >&2
	exit 2
	;;
esac

ci=false
case "${CI:-}" in 1 | true | TRUE | True) ci=true ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# missing KIND: why the examples cannot run on KIND here, with the command
# that would let them, or nothing.
missing() {
	case $1 in
	sandbox)
		command -v bwrap >/dev/null ||
			echo "bubblewrap is missing: apt-get install bubblewrap"
		;;
	container)
		# The engine answers and has the images (docker is the CLI of the
		# engine, when there is one).
		docker image inspect streamtest/base:latest streamtest/python:latest >/dev/null 2>&1 ||
			echo "no Docker Engine with the streamtest images: start dockerd, then go run ./cmd/streamtest lab image"
		;;
	netns-lab)
		[ -n "${STREAMTEST_LAB:-}" ] && [ -f "$STREAMTEST_LAB/params.yaml" ] ||
			echo "no netns lab (STREAMTEST_LAB): as root, go run ./cmd/streamtest lab up --hosts 4 --isolated 2 --dir .lab, then set STREAMTEST_LAB=\$PWD/.lab"
		;;
	docker-lab)
		[ -n "${STREAMTEST_DOCKER_LAB:-}" ] && [ -f "$STREAMTEST_DOCKER_LAB/params.yaml" ] ||
			echo "no docker lab (STREAMTEST_DOCKER_LAB): go run ./cmd/streamtest lab image && go run ./cmd/streamtest lab up --kind docker --hosts 4 --dir .lab-docker, then set STREAMTEST_DOCKER_LAB=\$PWD/.lab-docker"
		;;
	esac
}

# params KIND PKG: the value of STREAMTEST_PARAMS for examples/PKG on KIND
# ("" for the example's own default).
params() {
	local own=$PWD/examples/$2/$1.yaml lab
	case $1 in
	local) echo "" ;;
	sandbox | container)
		[ -f "$own" ] || own=$PWD/examples/testdata/$1.yaml
		echo "$own"
		;;
	netns-lab | docker-lab)
		if [ "$1" = netns-lab ]; then
			lab=$(cd "$STREAMTEST_LAB" && pwd)
			[ "$2" = slice ] && own=$tmp/slice.yaml
		else
			lab=$(cd "$STREAMTEST_DOCKER_LAB" && pwd)
		fi
		[ -f "$own" ] || own=$PWD/examples/testdata/lab.yaml
		echo "$lab/params.yaml:$own"
		;;
	esac
}

# kinds_of PKG: the kinds examples/PKG runs on, from its kinds file; ""
# when it has none (it runs on every kind).
kinds_of() {
	local f=examples/$1/kinds
	[ -f "$f" ] || return 0
	sed 's/#.*//' "$f" | tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//'
}

# run KIND [go test flags...]: every example on KIND, but those whose kinds
# file leaves KIND out, which it names. The examples that share a parameters
# value run in one go test. The examples it did not run are written to
# $tmp/notrun.KIND, for the table of all.
run() {
	local k=$1 dir pkg pkgs p only w status=0 failed=() notrun=() start=$SECONDS
	local -A groups=()
	shift
	if [ "$k" = netns-lab ]; then
		go run ./examples/internal/labslice "$STREAMTEST_LAB" >"$tmp/slice.yaml" || return 1
	fi
	for dir in examples/*/; do
		pkg=$(basename "$dir")
		compgen -G "$dir*_test.go" >/dev/null || continue
		only=$(kinds_of "$pkg")
		for w in $only; do
			case " $kinds " in *" $w "*) ;; *)
				echo "examples/$pkg/kinds: unknown kind \"$w\"; the kinds are $kinds" >&2
				return 1
				;;
			esac
		done
		if [ -n "$only" ]; then
			case " $only " in *" $k "*) ;; *)
				echo "== on $k: not ./examples/$pkg: it runs only on $only (examples/$pkg/kinds)"
				notrun+=("$pkg")
				continue
				;;
			esac
		fi
		p=$(params "$k" "$pkg")
		groups[${p:--}]+=" ./examples/$pkg" # - for the examples' own defaults
	done
	for p in "${!groups[@]}"; do
		pkgs=${groups[$p]}
		[ "$p" = - ] && p=
		echo "== on $k:$pkgs${p:+ (STREAMTEST_PARAMS=$p)}"
		# shellcheck disable=SC2086 # the group is a list of packages
		if ! STREAMTEST_PARAMS=$p STREAMTEST_STRICT=true go test -race -count=1 "$@" $pkgs; then
			status=1
			failed+=("$pkgs")
		fi
	done
	local also=""
	if [ ${#notrun[@]} -gt 0 ]; then
		also=" (not run on $k, by their kinds files: ${notrun[*]})"
		echo "${notrun[*]}" >"$tmp/notrun.$k"
	fi
	if [ $status = 0 ]; then
		echo "== examples on $k: all passed in $((SECONDS - start))s$also"
	else
		echo "== examples on $k: FAILED in $((SECONDS - start))s: among${failed[*]}$also" >&2
	fi
	return $status
}

# notrun KIND: what the table of all says of the examples run left out.
notrun() {
	[ -f "$tmp/notrun.$1" ] && echo "not run here (kinds files): $(cat "$tmp/notrun.$1")"
	return 0
}

if [ "$kind" != all ]; then
	why=$(missing "$kind")
	if [ -n "$why" ]; then
		echo "examples-on.sh: cannot run the examples on $kind streams: $why" >&2
		exit 1
	fi
	run "$kind" "$@"
	exit
fi

status=0
results=()
for k in $kinds; do
	why=$(missing "$k")
	if [ -n "$why" ]; then
		if [ "$ci" = true ]; then
			echo "CI=true and the examples cannot run on $k streams: $why" >&2
			results+=("$k|FAILED|-|not run: $why")
			status=1
		else
			echo "warning: skipping the examples on $k streams: $why" >&2
			results+=("$k|skipped|-|$why")
		fi
		continue
	fi
	start=$SECONDS
	if run "$k" "$@"; then
		results+=("$k|passed|$((SECONDS - start))s|$(notrun "$k")")
	else
		results+=("$k|FAILED|$((SECONDS - start))s|$(notrun "$k")")
		status=1
	fi
done
echo "== the examples on every kind of streams"
for r in "KIND|RESULT|TIME|WHY" "${results[@]}"; do
	IFS='|' read -r k res t why <<<"$r"
	printf '  %-11s %-8s %-6s %s\n' "$k" "$res" "$t" "$why"
done
exit $status
