#!/usr/bin/env bash
# Installs what the remote-stream tests and the netns lab need when missing:
# sshd (openssh-server), ip and tc (iproute2), ping (iputils-ping), and
# iptables and sudo, with which the lab's user makes network faults.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need=()
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v iptables >/dev/null || [ -x /usr/sbin/iptables ] || need+=(iptables)
command -v sudo >/dev/null || need+=(sudo)
install_missing ${need[@]+"${need[@]}"}
