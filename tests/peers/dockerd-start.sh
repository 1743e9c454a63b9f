#!/bin/sh
# dockerd-start.sh DIR [DAEMON_JSON] - start one Docker Engine (Debian docker.io 20.10, with
# its built-in BuildKit) on the private socket DIR/sock, for the tests that
# compare berth with BuildKit. CTest runs it once per run as the fixture
# "dockerd" (CMakeLists.txt: tests with `# needs-peer: dockerd` get it and
# DOCKER_HOST); dockerd-stop.sh DIR stops it. DIR is distinct per build dir,
# so the dev and asan runs of one `make check` never share an engine.
# No network here: no bridge (--bridge=none), builds use --network=none.
set -eu
D=${1:?usage: dockerd-start.sh DIR}
if ! command -v dockerd >/dev/null 2>&1 || [ ! -x /usr/bin/docker ]; then
  echo "dockerd-start: Docker Engine missing: apt-get install docker.io (scripts/deps.sh test)" >&2
  exit 1
fi
# An engine a killed run left behind in this directory is ours: stop it first.
sh "$(dirname "$0")/dockerd-stop.sh" "$D"
mkdir -p "$D"
# An optional second argument: the daemon.json to use (e.g. the brief's, with
# registry-mirrors pointing at a berth mirror); its storage-driver then rules.
SD=--storage-driver=overlay2
if [ -n "${2:-}" ]; then
  cp "$2" "$D/daemon.json"
  if grep -q '"storage-driver"' "$2"; then SD=; fi
else
  echo '{}' > "$D/daemon.json"
fi
setsid dockerd --config-file "$D/daemon.json" --iptables=false --ip6tables=false \
  --bridge=none $SD --data-root "$D/root" --exec-root "$D/exec" \
  --pidfile "$D/pid" -H "unix://$D/sock" > "$D/log" 2>&1 < /dev/null &
i=0
until DOCKER_HOST="unix://$D/sock" /usr/bin/docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -ge 300 ]; then
    echo "dockerd-start: the engine did not answer within 60 s; its log ends:" >&2
    tail -n 20 "$D/log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "dockerd up: DOCKER_HOST=unix://$D/sock"
