#!/bin/bash
# Prints the SQL the release server sends PostgreSQL for one login, one refresh, one auth check with the
# session cache off (a cache miss) and one DELETE /sessions/{id}: the statements the pgbench scripts in
# this folder reproduce. Run it again after changing those paths and compare.
#
#   xtask/scaling/capture-sql.sh            # PG=postgres://postgres@127.0.0.1:5432 by default
#
# A scratch database with log_statement=all (for that database only) is made and dropped; the statements
# are read from the server's log (Debian's /var/log/postgresql/postgresql-15-main.log, or $PG_LOG).
set -euo pipefail
cd "$(dirname "$0")/../.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PG_LOG=${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}
DB=lk_capture_$$
PORT=${PORT:-18$((RANDOM % 900 + 100))}
psql "$PG/postgres" -qc "CREATE DATABASE $DB" -c "ALTER DATABASE $DB SET log_statement = 'all'"
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
DATABASE_URL=$PG/$DB SECRET_KEY=capture-capture-capture-capture-0123456789 RUST_LOG=warn \
  target/release/latchkey migrate >/dev/null
DATABASE_URL=$PG/$DB HOST=127.0.0.1 PORT=$PORT SECRET_KEY=capture-capture-capture-capture-0123456789 \
  RATE_LIMIT_SCALE=0 RUST_LOG=warn SESSION_CACHE=false NEW_DEVICE_ALERTS=true \
  target/release/latchkey serve & SERVER=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
api=http://127.0.0.1:$PORT/api/v1
body='{"email":"capture@example.com","password":"Capture-Pass-1234!","first_name":"C"}'
curl -sf -XPOST "$api/auth/register" -H 'content-type: application/json' -d "$body" >/dev/null
login() { curl -sf -XPOST "$api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"capture@example.com","password":"Capture-Pass-1234!"}'; }
login >/dev/null                                   # a first session, so the second login is a usual one
json=$(login)   # not shown: its statements are the same as the marked one's
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)" <<<"$json"; }
mark() { psql "$PG/$DB" -qAtc "SELECT '-- MARK $1'" >/dev/null; }
mark login;   json=$(login); access=$(field "['access_token']"); refresh=$(field "['refresh_token']")
mark refresh; json=$(curl -sf -XPOST "$api/auth/refresh" -H 'content-type: application/json' -d "{\"refresh_token\":\"$refresh\"}")
access=$(field "['access_token']")
mark auth_check; curl -sf "$api/users/me" -H "Authorization: Bearer $access" >/dev/null
sid=$(python3 -c "import json,sys,base64; p=sys.argv[1].split('.')[1]; print(json.loads(base64.urlsafe_b64decode(p+'='*(-len(p)%4)))['sid'])" "$access")
other=$(psql "$PG/$DB" -qAtc "SELECT id FROM user_sessions WHERE id <> '$sid' AND is_active LIMIT 1")
mark revoke;  curl -sf -XDELETE "$api/sessions/$other" -H "Authorization: Bearer $access" >/dev/null
mark end
sleep 0.5
# Each entry of this database (with its continuation lines), without the prefix; from the login's mark on.
awk -v db="@$DB " '/^[0-9]{4}-[0-9]{2}-[0-9]{2} / { keep = index($0, db) > 0 } keep' "$PG_LOG" \
  | sed -E 's/^[0-9-]+ [0-9:.]+ UTC \[[0-9]+\] [^ ]+ //' | sed -n '/MARK login/,/MARK end/p'
