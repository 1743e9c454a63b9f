#!/bin/sh
# ceph-rgw-start.sh DIR MON_PORT RGW_PORT - a one-node Ceph 16 (mon + memstore
# OSD, no mgr) and radosgw on 127.0.0.1:RGW_PORT, the S3 server the s3 store
# tests run against (CI's peer). Keys: ciaccess / cisecret, region us-east-1.
# CTest runs it once per run as the fixture "ceph-rgw" (CMakeLists.txt: tests
# with `# needs-peer: ceph-rgw` get BERTH_TEST_S3_ENDPOINT); ceph-rgw-stop.sh
# DIR stops it. DIR and the ports are distinct per build dir. Data lives in RAM
# ($BERTH_RGW_MEMSTORE_BYTES, default 2 GiB; bench/scale asks for more).
set -eu
C=${1:?usage: ceph-rgw-start.sh DIR MON_PORT RGW_PORT}
MON=${2:?mon port}
RGW=${3:?rgw port}
for t in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool curl; do
  if ! command -v $t >/dev/null 2>&1; then
    echo "ceph-rgw-start: $t missing: apt-get install ceph radosgw curl (scripts/deps.sh test)" >&2
    exit 1
  fi
done
# Daemons a killed run left behind in this directory are ours: stop them first.
sh "$(dirname "$0")/ceph-rgw-stop.sh" "$C"
mkdir -p $C/run $C/log $C/mon/ceph-a
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > $C/ceph.conf <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
keyring = $C/keyring
run dir = $C/run
pid file = $C/run/\$name.pid
admin socket = $C/run/\$name.asok
log file = $C/log/\$name.log
mon data = $C/mon/\$cluster-\$id
osd data = $C/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = ${BERTH_RGW_MEMSTORE_BYTES:-2147483648}
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
# The monitor batches proposals for 1 s by default: radosgw's start (a dozen
# pool commands, one after another) took 9-12 s idle and over 60 s on a loaded
# 2-core CI machine. One node needs no batching.
paxos propose interval = 0.02
paxos min wait = 0.005

[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:$RGW
ms mon client mode = crc
auth client required = none
client mount timeout = 20
CONF
ceph-authtool --create-keyring $C/keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool $C/keyring --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' >/dev/null
monmaptool --create --fsid $FSID --addv a "[v2:127.0.0.1:$MON]" $C/monmap >/dev/null
ceph-mon -c $C/ceph.conf --mkfs -i a --monmap $C/monmap --keyring $C/keyring
ceph-mon -c $C/ceph.conf -i a
U=$(cat /proc/sys/kernel/random/uuid)
ID=$(ceph -c $C/ceph.conf osd new $U)
mkdir -p $C/osd/ceph-$ID
ceph-osd -c $C/ceph.conf -i $ID --mkfs --osd-uuid $U 2>/dev/null
ceph-osd -c $C/ceph.conf -i $ID 2>/dev/null
i=0
until ceph -c $C/ceph.conf osd stat 2>/dev/null | grep -q '1 up'; do
  i=$((i + 1)); [ $i -lt 300 ] || { echo "ceph-rgw-start: the OSD did not come up" >&2; exit 1; }
  sleep 0.3
done
radosgw -c $C/ceph.conf -n client.rgw.gw
i=0
until curl -fs -o /dev/null http://127.0.0.1:$RGW/; do
  i=$((i + 1))
  if [ $i -ge 600 ]; then
    echo "ceph-rgw-start: radosgw did not answer within 120 s; its logs end:" >&2
    tail -n 20 $C/log/*.log >&2
    exit 1
  fi
  sleep 0.2
done
radosgw-admin -c $C/ceph.conf user create --uid=ci --display-name=ci \
  --access-key=ciaccess --secret=cisecret >/dev/null
echo "ceph rgw up: http://127.0.0.1:$RGW"
