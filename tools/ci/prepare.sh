#!/usr/bin/env bash
# Makes the machine ready for the functional tests: Debian packages, and the
# database, cache and broker servers (started only if their port is silent,
# so the same script works where they are pre-started).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    for _ in $(seq 1 300); do port_open "$1" && return 0; sleep 0.2; done
    echo "prepare: nothing answers on port $1" >&2; return 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# PostgreSQL
if ! port_open 5432; then
    apt_install postgresql
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    wait_port 5432
fi
# MariaDB
if ! port_open 3306; then
    apt_install mariadb-server
    as_root mkdir -p /run/mysqld && as_root chown mysql:mysql /run/mysqld
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- \
        --user=mysql --bind-address=127.0.0.1
    wait_port 3306
fi
# Redis
if ! port_open 6379; then
    apt_install redis-server
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
        --dir /tmp --logfile /tmp/ck-redis.log
    wait_port 6379
fi
# RabbitMQ
if ! port_open 5672; then
    apt_install rabbitmq-server
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1 as_root rabbitmq-server -detached
    wait_port 5672
fi

for script in "$here"/install-*.sh; do
    [ -e "$script" ] && bash "$script"
done
echo "prepare: services ready"
