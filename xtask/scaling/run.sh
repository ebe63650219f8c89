#!/bin/bash
# What each write (and an auth-check cache miss) costs one PostgreSQL primary: pgbench runs of the
# statements the server sends (see capture-sql.sh), against a scratch database that the release binary
# migrates and seed.sql fills; dropped afterwards. See docs/scaling.md.
#
#   xtask/scaling/run.sh ops                 # auth-check miss, rotation, revocation, login (database part),
#                                            # a "last used" batch of 500 sessions
#   xtask/scaling/run.sh fanout              # revocations with 0, 1, 10, 100 listeners (FANOUT="off 0 1 10 100";
#                                            # off: the session trigger disabled, no NOTIFY at all)
#   PG=$(xtask/scaling/cluster.sh start) xtask/scaling/run.sh fanout   # 100 listeners need > 100 connections
#   CLIENTS=32 xtask/scaling/run.sh ceiling  # the smallest flushed commit without and with a NOTIFY, and
#                                            # a NOTIFY alone
#
# Settings (environment): PG (server URL without a database; postgres://postgres@127.0.0.1:5432),
# DURATION (10 s a run), CLIENTS (8 pgbench clients, -j 2, -M prepared), USERS (50000), PER_USER (4),
# ROUNDS (1; runs interleave when more), SCRIPT (fanout's script, revoke.sql; login.sql notifies too),
# NO_WAIT=1 to skip waiting for a quiet machine.
# Prints one line per run: transactions/s, latency p50/p99 (ms), PostgreSQL's CPU per transaction
# (every backend and auxiliary process of the cluster, from /proc: the run's own backends included;
# run it where nothing else uses that cluster), pgbench's own CPU per transaction, the last COMMIT's
# average latency, WAL flushes (and their time with track_wal_io_timing on), the updates of
# user_sessions and how many were HOT, and with listeners listen.py's report.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
ROOT=$(cd ../.. && pwd)
MODE=${1:-ops}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
USERS=${USERS:-50000}
PER_USER=${PER_USER:-4}
ROUNDS=${ROUNDS:-1}
FANOUT=${FANOUT:-off 0 1 10 100}
DB=lk_scale_$$
URL=$PG/$DB
WORK=$(mktemp -d)
LISTENER=

cleanup() {
  [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER" 2>/dev/null
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The rule of this machine: no measurement while another benchmark or build runs.
wait_quiet() {
  [ -n "${NO_WAIT:-}" ] && return
  local others="wrk |latchkey serve|pgbench|cargo |rustc"
  while pgrep -f "$others" >/dev/null || { sleep 3; pgrep -f "$others" >/dev/null; }; do sleep 20; done
}

# CPU seconds (user + system) of the whole cluster: the postmaster, every process it runs, and what its
# exited children (the run's backends, once pgbench disconnects) left in its cumulative times.
PM=$(psql "$PG/postgres" -qAtc "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'" \
  | xargs -I{} awk '{print $4}' /proc/{}/stat)
pg_cpu() {
  local hz total=0
  hz=$(getconf CLK_TCK)
  for p in $PM $(pgrep -P "$PM"); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk -v pm="$PM" -v p="$p" \
      '{t = $12 + $13; if (p == pm) t += $14 + $15; print t}')))
  done
  echo "$total $hz" | awk '{printf "%.2f", $1 / $2}'
}

psql "$PG/postgres" -qc "CREATE DATABASE $DB"
# A key of its own, so that migrate does not write a development key file into the working directory.
DATABASE_URL=$URL SECRET_KEY=scaling-scaling-scaling-scaling-0123456789 RUST_LOG=warn \
  "$ROOT/target/release/latchkey" migrate >/dev/null
echo "seeding $USERS users, $((USERS * PER_USER)) sessions into $DB …" >&2
psql "$URL" -q -v users="$USERS" -v per_user="$PER_USER" -f seed.sql >/dev/null

# Puts back what the previous run changed (with the triggers off: no one listens to the reset), then
# vacuums, so each run starts from the same tables (autovacuum is off on the measured server).
reset() {
  psql "$URL" -q >/dev/null <<'SQL'
SET session_replication_role = replica;
UPDATE user_sessions SET is_active = true, revoked_at = NULL, revoked_reason = NULL WHERE NOT is_active;
UPDATE user_sessions SET previous_refresh_jti = NULL, rotated_at = NULL,
  refresh_token_jti = '00000000-0000-4000-0000-' || lpad((('x' || right(id::text, 12))::bit(48)::bigint)::text, 12, '0')
  WHERE rotated_at IS NOT NULL;
DELETE FROM user_sessions WHERE id::text NOT LIKE '11111111-%';
DELETE FROM security_events WHERE kind <> 'login_succeeded' OR session_id::text NOT LIKE '11111111-%';
DELETE FROM login_throttle;
SQL
  psql "$URL" -qc "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
}

# Updates of user_sessions so far, and how many of them were HOT (no new index entries).
updates() {
  psql "$URL" -qAtc "SELECT pg_stat_force_next_flush()" -c "SELECT n_tup_upd || ' ' || n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'user_sessions'"
}

# WAL flushes so far and their time in ms (the time only with track_wal_io_timing on, as cluster.sh sets).
wal() {
  psql "$URL" -qAtc "SELECT wal_sync || ' ' || wal_sync_time FROM pg_stat_wal"
}

# run NAME SCRIPT [LISTENERS]: one pgbench run; prints its line.
run() {
  local name=$1 script=$2 listeners=${3:-0} log="$WORK/log" t0 t1 tps p50 p99 n ucpu commit flushes w0 wt0 w1 wt1 u0 h0 u1 h1 listened=""
  reset
  if [ "$listeners" = off ]; then
    # The same revocation with the session trigger off: what the NOTIFY itself costs.
    psql "$URL" -qc "ALTER TABLE user_sessions DISABLE TRIGGER tr_user_sessions_notify_update"
  elif [ "$listeners" -gt 0 ]; then
    python3 "$HERE/listen.py" "$URL" "$listeners" >"$WORK/listen.out" 2>&1 &
    LISTENER=$!
    until grep -q ready "$WORK/listen.out" 2>/dev/null; do
      kill -0 "$LISTENER" 2>/dev/null || { cat "$WORK/listen.out" >&2; exit 1; }
      sleep 0.2
    done
  fi
  wait_quiet
  rm -f "$log".*
  read -r u0 h0 < <(updates | tail -1)
  read -r w0 wt0 < <(wal)
  t0=$(pg_cpu)
  /usr/bin/time -f "%U %S" -o "$WORK/time" pgbench -n -r -M prepared -c "$CLIENTS" -j 2 -T "$DURATION" \
    -D clients="$CLIENTS" -D users="$USERS" -D per_user="$PER_USER" -D i=0 \
    -l --log-prefix="$log" -f "$script" "$URL" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; exit 1; }
  if [ -n "$LISTENER" ]; then
    # The listeners' backends deliver what is still queued: their CPU counts, so read it after.
    kill "$LISTENER"; wait "$LISTENER" || true; LISTENER=
    listened=$(tail -1 "$WORK/listen.out")
  fi
  t1=$(pg_cpu)
  read -r w1 wt1 < <(wal)
  if [ "$listeners" = off ]; then
    psql "$URL" -qc "ALTER TABLE user_sessions ENABLE TRIGGER tr_user_sessions_notify_update"
  fi
  sleep 1
  read -r u1 h1 < <(updates | tail -1)
  grep -q "failed transactions: 0 " "$WORK/out" || { cat "$WORK/out" >&2; exit 1; }
  n=$(awk '/actually processed/ {print $6}' "$WORK/out")
  tps=$(awk '/^tps/ {printf "%.0f", $3}' "$WORK/out")
  read -r p50 p99 < <(cat "$log".* | awk '{print $3}' | sort -n \
    | awk '{a[NR] = $1} END {printf "%.2f %.2f\n", a[int(NR * 0.5)] / 1000, a[int(NR * 0.99)] / 1000}')
  ucpu=$(awk '{print $1 + $2}' "$WORK/time")
  # The last COMMIT's average latency (pgbench -r): where a NOTIFY waits.
  commit=$(awk '$NF == "COMMIT;" {c = $1} END {print c ? "COMMIT " c " ms," : ""}' "$WORK/out")
  flushes=$(echo "$w0 $wt0 $w1 $wt1" | awk '$4 > $2 && $3 > $1 {printf "WAL flushes %d/s, %.3f ms each,", ($3 - $1) / '"$DURATION"', ($4 - $2) / ($3 - $1)}')
  printf '%-18s %3s listeners %6s tx/s  p50 %5s ms  p99 %6s ms  postgres %4.0f µs/tx  pgbench %3.0f µs/tx  %s\n' \
    "$name" "$listeners" "$tps" "$p50" "$p99" "$(echo "$t1 $t0 $n" | awk '{print ($1 - $2) / $3 * 1e6}')" \
    "$(echo "$ucpu $n" | awk '{print $1 / $2 * 1e6}')" "$n tx, $commit $flushes sessions updated $((u1 - u0)), HOT $((h1 - h0)) $listened"
}

echo "$(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); " \
  "$(psql "$PG/postgres" -qAtc 'SHOW server_version'); commit $(git -C "$ROOT" rev-parse --short HEAD)"
for _ in $(seq "$ROUNDS"); do
  case $MODE in
  ops)
    run "auth-check miss" authcheck.sql
    run "rotation" rotate.sql
    run "revocation" revoke.sql
    run "login (database)" login.sql
    run "last used, 500 rows" touch.sql
    ;;
  fanout)
    for n in $FANOUT; do run "${SCRIPT:-revoke.sql}" "${SCRIPT:-revoke.sql}" "$n"; done
    ;;
  ceiling)
    psql "$URL" -qc "CREATE TABLE IF NOT EXISTS lk_tick (id int PRIMARY KEY, n bigint NOT NULL)" \
      -c "INSERT INTO lk_tick SELECT g, 0 FROM generate_series(0, $CLIENTS) AS g ON CONFLICT DO NOTHING"
    run "commit only" commit.sql
    run "commit + NOTIFY" notify.sql
    run "NOTIFY alone" notify-alone.sql
    ;;
  *) echo "usage: $0 ops|fanout|ceiling" >&2; exit 2 ;;
  esac
done
