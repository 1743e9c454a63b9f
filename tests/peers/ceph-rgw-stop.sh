#!/bin/sh
# ceph-rgw-stop.sh DIR - stop what ceph-rgw-start.sh DIR started (radosgw,
# then the OSD, then the mon; by their pid files, never by name) and remove
# its state. Succeeds when none runs.
set -eu
C=${1:?usage: ceph-rgw-stop.sh DIR}
. "$(dirname "$0")/stop-pidfiles.sh"
stop_pidfiles "$C" client.rgw.gw osd.0 mon.a
rm -rf "$C"
