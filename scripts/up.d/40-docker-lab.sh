#!/usr/bin/env bash
# Brings up the docker lab (4 SSH hosts in containers of streamtest/sshd, on
# a network of its own) in .lab-docker, after 30-images.sh built the image,
# and tells the tests where it is: STREAMTEST_DOCKER_LAB. scripts/test.sh
# runs the examples on it (scripts/examples-on.sh docker-lab). `lab up`
# first removes a lab an earlier run left in that directory. Without an
# engine it does nothing; the examples then skip that kind (fail with
# CI=true).
set -euo pipefail
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
	echo "no Docker Engine: no docker lab; the examples will not run on it (fail with CI=true)" >&2
	exit 0
fi
go run ./cmd/streamtest lab up --kind docker --hosts 4 --dir .lab-docker
echo "STREAMTEST_DOCKER_LAB=$PWD/.lab-docker" >>"${STREAMTEST_TEST_ENV:?}"
