#!/bin/sh
# Stand-in for Alpine's busybox `addgroup` in berth's brief base images
# (made by make-brief-bases.sh): the forms the brief uses, on shadow's groupadd.
#   addgroup [-g GID] [-S] GROUP      create GROUP
#   addgroup USER GROUP               add USER to GROUP
set -eu
gid='' sys=''
while getopts g:S o; do
  case $o in
  g) gid=$OPTARG ;;
  S) sys=1 ;;
  *) echo "usage: addgroup [-g GID] [-S] GROUP | addgroup USER GROUP" >&2; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
case $# in
1) exec groupadd ${gid:+-g "$gid"} ${sys:+-r} "$1" ;;
2) exec usermod -a -G "$2" "$1" ;;
*) echo "usage: addgroup [-g GID] [-S] GROUP | addgroup USER GROUP" >&2; exit 1 ;;
esac
