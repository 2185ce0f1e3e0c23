#!/usr/bin/env bash
# Installs what the remote-stream tests and the netns lab need when missing:
# sshd (openssh-server), ip (iproute2), ping (iputils-ping).
set -euo pipefail
need=()
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing: ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
