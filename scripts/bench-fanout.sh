#!/usr/bin/env bash
# Fans one command out over every host of a netns lab with `streamtest exec`
# and with the tools people use for that today (pdsh, parallel-ssh, clush,
# ansible), and prints hyperfine's table. Each run makes its connections
# afresh, as each tool does when started; all of them check host keys against
# the lab's known_hosts.
#
#   sudo go run ./cmd/streamtest lab up --hosts 8
#   sudo apt-get install pdsh pssh clustershell ansible-core hyperfine
#   scripts/bench-fanout.sh            # RUNS=20 CMD=uptime scripts/bench-fanout.sh
set -euo pipefail
cd "$(dirname "$0")/.."
lab=${STREAMTEST_LAB:-$PWD/.lab}
runs=${RUNS:-10}
cmd=${CMD:-true}
for tool in hyperfine pdsh parallel-ssh clush ansible; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install pdsh pssh clustershell ansible-core hyperfine" >&2; exit 1; }
done
[ -f "$lab/params.yaml" ] || { echo "no lab in $lab: streamtest lab up --hosts 8" >&2; exit 1; }

hosts=$(grep -o 'host: [0-9.]*' "$lab/params.yaml" | awk '{print $2}' | paste -sd, -)
n=$(echo "$hosts" | tr , '\n' | wc -l)
user=streamtest
ssh_opts="-i $lab/id_ed25519 -o UserKnownHostsFile=$lab/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o ControlMaster=no"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/streamtest" ./cmd/streamtest

echo "fan-out of '$cmd' over $n lab hosts, $runs runs each"
hyperfine --style basic --warmup 2 --runs "$runs" --export-markdown "$tmp/table.md" \
	-n "streamtest exec" "$tmp/streamtest exec -p $lab/params.yaml --on all -- $cmd" \
	-n "pdsh" "PDSH_RCMD_TYPE=ssh PDSH_SSH_ARGS_APPEND='$ssh_opts' pdsh -l $user -w $hosts $cmd" \
	-n "parallel-ssh" "parallel-ssh -l $user -H '${hosts//,/ }' -x '$ssh_opts' $cmd" \
	-n "clush" "clush -l $user -w $hosts -o '$ssh_opts' $cmd" \
	-n "ansible" "ANSIBLE_SSH_ARGS='-o ControlMaster=no -o UserKnownHostsFile=$lab/known_hosts' ansible all -i $hosts, -u $user --private-key $lab/id_ed25519 -f $n -m command -a $cmd"
cat "$tmp/table.md"
