#!/bin/sh
# ceph-rgw-stop.sh DIR - stop what ceph-rgw-start.sh DIR started (radosgw,
# then the OSD, then the mon; by their pid files, never by name) and remove
# its state. Succeeds when none runs.
set -eu
C=${1:?usage: ceph-rgw-stop.sh DIR}
for name in client.rgw.gw osd.0 mon.a; do
  f=$C/run/$name.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i + 1))
      if [ $i -ge 100 ]; then kill -9 "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
  fi
done
rm -rf "$C"
