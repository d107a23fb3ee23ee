#!/usr/bin/env bash
# Installs Gnocchi (API + metricd) in its own virtualenv for the functional
# tests (tests/functional/services/gnocchi.py). Idempotent: does nothing when
# the venv already imports gnocchi and its drivers.
#
# gnocchi[postgresql] would build psycopg2 from source (needs libpq-dev and a
# compiler), so its database drivers are installed by hand as wheels instead.
# The API runs under gunicorn (no uwsgi compile).
set -euo pipefail
VENV="${CK_GNOCCHI_VENV:-/opt/ck-gnocchi}"

installed() {
    [ -x "$VENV/bin/gnocchi-upgrade" ] && [ -x "$VENV/bin/gnocchi-metricd" ] &&
        [ -x "$VENV/bin/gunicorn" ] &&
        "$VENV/bin/python" -c "import gnocchi.rest.app, psycopg2, oslo_db, sqlalchemy_utils, pymysql" \
            >/dev/null 2>&1
}

if installed; then
    echo "install-gnocchi: $VENV already installed"
    exit 0
fi
start=$(date +%s)
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -U pip wheel
"$VENV/bin/pip" install -q gnocchi
"$VENV/bin/pip" install -q psycopg2-binary oslo.db sqlalchemy sqlalchemy-utils alembic pymysql gunicorn
installed || { echo "install-gnocchi: $VENV is incomplete after install" >&2; exit 1; }
echo "install-gnocchi: installed in $VENV in $(( $(date +%s) - start )) s"
