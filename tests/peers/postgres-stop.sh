#!/bin/sh
# postgres-stop.sh DIR - stop the PostgreSQL that postgres-start.sh DIR started (if any).
set -eu
D=${1:?usage: postgres-stop.sh DIR}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -f "$D/data/postmaster.pid" ] || exit 0
AS=""
[ "$(id -u)" = 0 ] && AS="runuser -u postgres --"
$AS "$PGBIN/pg_ctl" -D "$D/data" -m fast -w -t 60 stop > /dev/null 2>&1 || true
