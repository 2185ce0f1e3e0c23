#!/usr/bin/env bash
# Installs Podman when missing, with catatonit (the init that container
# streams ask for), and fits the limits of open files and processes that
# Podman gives every container under the limits of Podman's own processes:
# Podman 4.3 gives 1048576 of each, which a sandboxed machine refuses ("error
# setting rlimit type 7: operation not permitted"). Podman's own processes
# have this machine's hard limit of open files (at most 1048576) and of
# processes, at most 32768 (Podman sets that on itself); the containers get
# the same. A containers.conf that sets default_ulimits already is left
# alone. Outside CI a machine without Podman (and no root to install it)
# only warns: the Podman subtests skip; with CI=true it fails.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need=()
command -v podman >/dev/null || need+=(podman)
command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
install_missing ${need[@]+"${need[@]}"}

# limit HARD CAP: the hard limit HARD ("unlimited" or a number), at most CAP.
limit() {
	if [ "$1" = unlimited ] || [ "$1" -gt "$2" ]; then
		echo "$2"
	else
		echo "$1"
	fi
}

conf=/etc/containers/containers.conf
if grep -qsE '^[[:space:]]*default_ulimits[[:space:]]*=' "$conf"; then
	echo "$conf sets default_ulimits already: left alone"
	exit 0
fi
nofile=$(limit "$(ulimit -Hn)" 1048576)
nproc=$(limit "$(ulimit -Hu)" 32768)
line="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
mkdir -p "$(dirname "$conf")"
if grep -qsE '^[[:space:]]*\[containers\][[:space:]]*$' "$conf"; then
	sed -i -E "0,/^[[:space:]]*\[containers\][[:space:]]*$/s//[containers]\n$line/" "$conf"
else
	printf '\n[containers]\n%s\n' "$line" >>"$conf"
fi
echo "$conf: $line"
