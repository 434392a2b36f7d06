#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the app-database tests (Debian's packages).
#   .ci/postgres.sh start DIR   install PostgreSQL if missing, start a cluster in DIR on a free
#                               loopback port, create database docent_test, print its URL
#   .ci/postgres.sh stop DIR    stop that cluster and remove DIR
set -euo pipefail

dir=${2:?usage: .ci/postgres.sh start|stop DIR}

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# initdb refuses to run as root: as root, the cluster belongs to the `postgres` user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  if [ -z "$(bindir)" ]; then
    (apt-get update && apt-get install -y postgresql) >&2
  fi
  local bin port
  bin=$(bindir)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >&2
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >&2
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres docent_test >&2
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/docent_test"
}

stop() {
  local bin
  bin=$(bindir)
  if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: .ci/postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
