#!/bin/sh
# Stand-in for Alpine's busybox `addgroup` in berth's brief base images
# (made by make-brief-bases.sh, whose busybox-static lacks it): the forms the
# brief uses, editing /etc/group as busybox does.
#   addgroup [-g GID] [-S] GROUP      create GROUP (-S: a system gid, 100-999)
#   addgroup USER GROUP               add USER to GROUP
set -eu
usage() { echo "usage: addgroup [-g GID] [-S] GROUP | addgroup USER GROUP" >&2; exit 1; }
gid='' sys=''
while getopts g:S o; do
  case $o in
  g) gid=$OPTARG ;;
  S) sys=1 ;;
  *) usage ;;
  esac
done
shift $((OPTIND - 1))
case $# in
1)
  if grep -q "^$1:" /etc/group; then echo "addgroup: group '$1' in use" >&2; exit 1; fi
  if [ -z "$gid" ]; then
    lo=1000 hi=60000
    [ -z "$sys" ] || { lo=100 hi=999; }
    gid=$(awk -F: -v lo="$lo" -v hi="$hi" '{u[$3]=1} END {for (g = lo; g <= hi; g++) if (!(g in u)) {print g; exit}}' /etc/group)
  elif awk -F: -v g="$gid" '$3 == g {f=1} END {exit !f}' /etc/group; then
    echo "addgroup: gid '$gid' in use" >&2
    exit 1
  fi
  echo "$1:x:$gid:" >> /etc/group
  ;;
2)
  grep -q "^$1:" /etc/passwd || { echo "addgroup: unknown user $1" >&2; exit 1; }
  grep -q "^$2:" /etc/group || { echo "addgroup: unknown group $2" >&2; exit 1; }
  sed -i "/^$2:/{s/:\$/:$1/;t;s/\$/,$1/}" /etc/group
  ;;
*) usage ;;
esac
