# Sourced by the setup hooks of scripts/test.sh.

# install_missing installs Debian packages, with one apt-get update, or says
# how to when this is not root (and fails: scripts/test.sh decides whether
# that stops the run). With no arguments it does nothing.
install_missing() {
	[ $# -gt 0 ] || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing: $*; install them (apt-get install $*) or run as root" >&2
		return 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
