#!/bin/sh
# swift-s3-stop.sh DIR - stop what swift-s3-start.sh DIR started (proxy
# first; by pid files, never by name) and remove its state.
set -eu
D=${1:?usage: swift-s3-stop.sh DIR}
for s in proxy object container account memcached; do
  f=$D/run/$s.pid
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
rm -rf "$D"
