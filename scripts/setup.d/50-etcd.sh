#!/usr/bin/env bash
# Installs etcd and etcdctl when missing (Debian's etcd-server and
# etcd-client): examples/replicated ships this machine's binaries to its
# streams with code.Program. The packaged service, which Debian starts on a
# machine with systemd, is not needed: when this hook installed it, it is
# stopped and disabled again.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
install_missing ${need[@]+"${need[@]}"}
case " ${need[*]-} " in *" etcd-server "*)
	if [ -d /run/systemd/system ] && systemctl is-enabled --quiet etcd 2>/dev/null; then
		systemctl disable --now etcd
	fi
	;;
esac
etcd --version | head -1
