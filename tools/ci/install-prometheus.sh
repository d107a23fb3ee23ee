#!/bin/sh
# Install Prometheus and promtool (Debian package, 2.42 on Debian 12) for the
# functional tests. Idempotent: does nothing when the binaries are present.
# The package's systemd unit is not used: tests start their own server.
set -eu

if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; then
    echo "prometheus already installed: $(/usr/bin/prometheus --version 2>&1 | head -n 1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends prometheus
/usr/bin/prometheus --version 2>&1 | head -n 1
