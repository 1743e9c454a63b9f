#!/bin/sh
# swift-s3-stop.sh DIR - stop what swift-s3-start.sh DIR started (proxy
# first; by pid files, never by name) and remove its state.
set -eu
D=${1:?usage: swift-s3-stop.sh DIR}
. "$(dirname "$0")/stop-pidfiles.sh"
stop_pidfiles "$D" proxy object container account memcached
rm -rf "$D"
