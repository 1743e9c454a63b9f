#!/bin/sh
# dockerd-stop.sh DIR - stop the Docker Engine dockerd-start.sh DIR started
# (by its pid file, never by name) and remove its state. Succeeds when none
# runs, so CTest's cleanup fixture always passes once the engine is gone.
set -eu
D=${1:?usage: dockerd-stop.sh DIR}
if [ -f "$D/pid" ]; then
  pid=$(cat "$D/pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i + 1))
      if [ $i -ge 150 ]; then
        kill -9 "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  fi
fi
# overlay mounts of a killed engine would keep rm from removing its root
if [ -d "$D/root" ]; then
  grep -F " $D/" /proc/self/mounts | awk '{print $2}' | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
fi
rm -rf "$D"
