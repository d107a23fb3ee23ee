#!/usr/bin/env bash
# Installs Keystone in its own virtualenv for the functional tests
# (tests/functional/services/keystone.py): SQLite database, fernet tokens,
# served by gunicorn. Idempotent: does nothing when already installed.
set -euo pipefail
VENV="${CK_KEYSTONE_VENV:-/opt/ck-keystone}"

installed() {
    [ -x "$VENV/bin/keystone-manage" ] && [ -x "$VENV/bin/gunicorn" ] &&
        "$VENV/bin/python" -c "import keystone.server.wsgi, keystonemiddleware" >/dev/null 2>&1
}

if installed; then
    echo "install-keystone: $VENV already installed"
    exit 0
fi
start=$(date +%s)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -U pip wheel
"$VENV/bin/pip" install -q keystone keystonemiddleware gunicorn
installed || { echo "install-keystone: $VENV is incomplete after install" >&2; exit 1; }
echo "install-keystone: installed in $VENV in $(( $(date +%s) - start )) s"
