#!/bin/sh
# Stand-in for Alpine's busybox `adduser` in berth's brief base images
# (made by make-brief-bases.sh), on shadow's useradd. Busybox's meaning:
#   -S system user (no password, shell /sbin/nologin, group nogroup unless -G)
#   -u UID, -G GROUP, -h HOME, -s SHELL, -g GECOS, -H no home, -D no password
set -eu
uid='' grp='' home='' shell=/bin/sh gecos='' nohome='' sys=''
user=''
# busybox's getopt permutes: options may follow the name (adduser -S NAME -u UID)
while [ $# -gt 0 ]; do
  OPTIND=1
  while getopts u:G:h:s:g:k:HDS o; do
    case $o in
    u) uid=$OPTARG ;;
    G) grp=$OPTARG ;;
    h) home=$OPTARG ;;
    s) shell=$OPTARG ;;
    g) gecos=$OPTARG ;;
    k) ;;
    H) nohome=1 ;;
    D) ;;
    S) sys=1 shell=/sbin/nologin ;;
    *) echo "usage: adduser [-SDH] [-u UID] [-G GROUP] [-h HOME] [-s SHELL] [-g GECOS] USER" >&2; exit 1 ;;
    esac
  done
  shift $((OPTIND - 1))
  if [ $# -gt 0 ]; then
    [ -z "$user" ] || { echo "usage: adduser [OPTIONS] USER" >&2; exit 1; }
    user=$1
    shift
  fi
done
[ -n "$user" ] || { echo "usage: adduser [OPTIONS] USER" >&2; exit 1; }
if [ -z "$grp" ]; then
  if [ -n "$sys" ]; then
    grp=nogroup
  else
    groupadd ${uid:+-g "$uid"} "$user"
    grp=$user
  fi
fi
[ -n "$home" ] || home=/home/$user
if [ -n "$nohome" ]; then mk=-M; else mk=-m; fi
exec useradd ${sys:+-r} ${uid:+-u "$uid"} -g "$grp" -d "$home" $mk -s "$shell" \
  ${gecos:+-c "$gecos"} "$user"
