#!/bin/sh
# Install shellcheck (Debian package) so the devstack plugin is linted by
# tests/unit/devstack/test_shellcheck.py. Idempotent: does nothing when the
# binary is already on PATH.
set -eu

if command -v shellcheck >/dev/null 2>&1; then
    echo "shellcheck already installed: $(shellcheck --version | sed -n 's/^version: //p')"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends shellcheck
echo "shellcheck installed: $(shellcheck --version | sed -n 's/^version: //p')"
