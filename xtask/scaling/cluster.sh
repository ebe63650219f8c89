#!/bin/bash
# A private PostgreSQL 15 cluster for the NOTIFY fan-out runs, which need more connections than the
# machine's shared cluster allows (max_connections 100: 100 listeners + 8 pgbench clients do not fit).
# Same settings as Debian's cluster otherwise (shared_buffers 128MB, autovacuum off, fsync and
# synchronous_commit on, TLS with the snakeoil certificate); max_connections 300, and track_wal_io_timing
# on (run.sh then reports how long WAL flushes take).
#
#   xtask/scaling/cluster.sh start     # prints its URL: postgres://postgres@127.0.0.1:5499
#   xtask/scaling/cluster.sh stop      # stops it and deletes its files
set -euo pipefail
DIR=${SCALING_PGDATA:-/tmp/lk-scaling-pg}
PORT=${SCALING_PGPORT:-5499}
BIN=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-}" in
start)
  mkdir -p "$DIR" && chown postgres: "$DIR" 2>/dev/null || true
  as_pg "$BIN/initdb" -D "$DIR" -U postgres --auth=trust >/dev/null
  cat >> "$DIR/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
max_connections = 300
shared_buffers = 128MB
autovacuum = off
track_wal_io_timing = on
ssl = on
ssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil.pem'
ssl_key_file = '/etc/ssl/private/ssl-cert-snakeoil.key'
CONF
  as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/log" -w start >/dev/null
  echo "postgres://postgres@127.0.0.1:$PORT"
  ;;
stop)
  as_pg "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null || true
  rm -rf "$DIR"
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
