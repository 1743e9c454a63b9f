# shellcheck shell=sh
# stop-pidfiles.sh - sourced by the peers' stop scripts.
# stop_pidfiles DIR NAME... : stop, in order, each process whose pid is in
# DIR/run/NAME.pid (TERM, then KILL after 10 s; never by process name).
stop_pidfiles() {
  d=$1
  shift
  for name in "$@"; do
    f=$d/run/$name.pid
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
}
