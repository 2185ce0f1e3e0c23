#!/usr/bin/env bash
# Installs what the container-stream tests and `streamtest lab image` need
# when missing: a static busybox (the base image), Debian's python3 (the
# python image), dash and iputils' ping and sshd (the docker lab's image),
# iptables and iproute2 (the netadmin image: network faults); then checks
# that the Docker Engine answers. Outside CI a missing engine only warns
# (the container tests skip); with CI=true it fails.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
need=()
bb=$(command -v busybox || true)
# A dynamic busybox (Debian's busybox package) will not run FROM scratch.
if [ -z "$bb" ] || ldd "$bb" >/dev/null 2>&1; then need+=(busybox-static); fi
[ -x /usr/bin/python3 ] || need+=(python3)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/bin/ping ] || need+=(iputils-ping)
[ -x /usr/bin/dash ] || [ -x /bin/dash ] || need+=(dash)
[ -x /usr/sbin/xtables-nft-multi ] || need+=(iptables)
{ [ -x /sbin/tc ] || [ -x /usr/sbin/tc ]; } && { [ -x /bin/ip ] || [ -x /sbin/ip ]; } || need+=(iproute2)
install_missing ${need[@]+"${need[@]}"}

ci=false
case "${CI:-}" in 1 | true | TRUE | True) ci=true ;; esac
answer=false
for _ in 1 2 3 4 5 6 7 8 9 10; do
	if command -v docker >/dev/null && docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
		answer=true
		break
	fi
	sleep 1
done
if ! $answer; then
	if $ci; then
		echo "CI=true and the Docker Engine does not answer (DOCKER_HOST=${DOCKER_HOST:-unset}); the container tests need it" >&2
		exit 1
	fi
	echo "warning: the Docker Engine does not answer; the container-stream tests will skip" >&2
	exit 0
fi
echo "Docker Engine $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
