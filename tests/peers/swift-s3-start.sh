#!/bin/sh
# swift-s3-start.sh DIR PORT - OpenStack Swift with its s3api middleware (a
# second, independent S3 implementation) on 127.0.0.1:PORT; its object,
# container and account servers take PORT+1..PORT+3 and memcached PORT+4.
# S3 keys: access "test:tester", secret "testing", region us-east-1.
# CTest runs it once per run as the fixture "swift-s3" (tests marked
# `# needs-peer: swift-s3` get BERTH_TEST_SWIFT_ENDPOINT); swift-s3-stop.sh DIR
# stops it. DIR and PORT are distinct per build dir.
set -eu
D=${1:?usage: swift-s3-start.sh DIR PORT}
P=${2:?port}
for t in swift-ring-builder swift-proxy-server swift-object-server memcached curl; do
  if ! command -v $t >/dev/null 2>&1; then
    echo "swift-s3-start: $t missing: apt-get install swift swift-proxy swift-object swift-container swift-account python3-swift memcached (scripts/deps.sh test)" >&2
    exit 1
  fi
done
sh "$(dirname "$0")/swift-s3-stop.sh" "$D"
mkdir -p $D/etc $D/srv/d1 $D/run $D/log
cd $D/etc
cat > swift.conf <<'CONF'
[swift-hash]
swift_hash_path_prefix = ciprefix
swift_hash_path_suffix = cisuffix

[storage-policy:0]
name = Policy-0
default = yes
CONF
for s in object:$((P + 1)) container:$((P + 2)) account:$((P + 3)); do
  n=${s%%:*}; p=${s##*:}
  cat > $n-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p
workers = 1
user = root
swift_dir = $D/etc
devices = $D/srv
mount_check = false

[pipeline:main]
pipeline = $n-server

[app:$n-server]
use = egg:swift#$n
CONF
  swift-ring-builder $n.builder create 10 1 1 >/dev/null
  swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/d1 100 >/dev/null
  swift-ring-builder $n.builder rebalance >/dev/null
done
cat > proxy-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $P
workers = 1
user = root
swift_dir = $D/etc

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$((P + 4))

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
CONF
cd $D
setsid memcached -u memcache -l 127.0.0.1 -p $((P + 4)) -U 0 > log/memcached.log 2>&1 < /dev/null &
echo $! > run/memcached.pid
for s in account container object proxy; do
  setsid /usr/bin/swift-$s-server etc/$s-server.conf -v > log/$s.log 2>&1 < /dev/null &
  echo $! > run/$s.pid
done
i=0
until curl -fs http://127.0.0.1:$P/healthcheck >/dev/null; do
  i=$((i + 1))
  if [ $i -ge 1200 ]; then
    echo "swift-s3-start: swift did not answer within 240 s; its logs end:" >&2
    tail -n 5 log/*.log >&2
    exit 1
  fi
  sleep 0.2
done
echo "swift up: http://127.0.0.1:$P"
