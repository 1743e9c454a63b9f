#!/bin/sh
# postgres-start.sh DIR PORT - start one PostgreSQL 15 (Debian postgresql-15) for the
# tests of the `postgres` metadata driver: data in DIR/data, listening on
# 127.0.0.1:PORT and the socket directory DIR, trust authentication, database
# "berth". CTest runs it once per run as the fixture "postgres" (CMakeLists.txt:
# the meta unit tests' @postgres variants and the integration tests marked
# `# needs-peer: postgres` get it, with BERTH_TEST_PG_DSN); postgres-stop.sh DIR
# stops it. DIR and PORT are distinct per build dir, so the dev and asan runs
# never share a server. Made from the recipe of the peers README
# (start-postgres.sh): initdb, pg_ctl start, fsync off (test data only).
set -eu
D=${1:?usage: postgres-start.sh DIR PORT}
PORT=${2:?usage: postgres-start.sh DIR PORT}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || ! command -v psql >/dev/null 2>&1; then
  echo "postgres-start: PostgreSQL missing: apt-get install postgresql (scripts/deps.sh test)" >&2
  exit 1
fi
# A server a killed run left behind in this directory is ours: stop it first.
sh "$(dirname "$0")/postgres-stop.sh" "$D"
rm -rf "$D"
mkdir -p "$D"
# initdb refuses to run as root: the cluster belongs to the postgres user.
AS=""
if [ "$(id -u)" = 0 ]; then
  chown postgres:postgres "$D"
  AS="runuser -u postgres --"
fi
$AS "$PGBIN/initdb" -D "$D/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 > "$D/initdb.log" 2>&1 ||
  { cat "$D/initdb.log" >&2; exit 1; }
$AS "$PGBIN/pg_ctl" -D "$D/data" -l "$D/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $D -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start > "$D/pg_ctl.log" 2>&1 || { cat "$D/pg_ctl.log" "$D/server.log" >&2; exit 1; }
psql -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE berth"
echo "$PORT" > "$D/port"
echo "postgres-start: PostgreSQL on 127.0.0.1:$PORT (database berth)"
