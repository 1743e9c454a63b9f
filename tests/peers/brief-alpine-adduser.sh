#!/bin/sh
# Stand-in for Alpine's busybox `adduser` in berth's brief base images (made
# by make-brief-bases.sh, whose busybox-static lacks it), editing /etc/passwd
# and /etc/group as busybox does. Busybox's meaning:
#   -S system user (uid 100-999, shell /sbin/nologin, group nogroup unless -G)
#   -u UID, -G GROUP, -h HOME, -s SHELL, -g GECOS, -H no home, -D no password
set -eu
usage() { echo "usage: adduser [-SDH] [-u UID] [-G GROUP] [-h HOME] [-s SHELL] [-g GECOS] USER" >&2; exit 1; }
uid='' grp='' home='' shell=/bin/sh gecos='Linux User,,,' nohome='' sys=''
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
    *) usage ;;
    esac
  done
  shift $((OPTIND - 1))
  if [ $# -gt 0 ]; then
    [ -z "$user" ] || usage
    user=$1
    shift
  fi
done
[ -n "$user" ] || usage
if grep -q "^$user:" /etc/passwd; then echo "adduser: user '$user' in use" >&2; exit 1; fi
free_id() { # FILE LO HI
  awk -F: -v lo="$2" -v hi="$3" '{u[$3]=1} END {for (i = lo; i <= hi; i++) if (!(i in u)) {print i; exit}}' "$1"
}
if [ -z "$uid" ]; then
  if [ -n "$sys" ]; then uid=$(free_id /etc/passwd 100 999); else uid=$(free_id /etc/passwd 1000 60000); fi
elif awk -F: -v u="$uid" '$3 == u {f=1} END {exit !f}' /etc/passwd; then
  echo "adduser: uid '$uid' in use" >&2
  exit 1
fi
if [ -z "$grp" ]; then
  if [ -n "$sys" ]; then
    grp=nogroup
  else
    addgroup -g "$uid" "$user" 2>/dev/null || addgroup "$user"
    grp=$user
  fi
fi
gid=$(awk -F: -v g="$grp" '$1 == g {print $3}' /etc/group)
[ -n "$gid" ] || { echo "adduser: unknown group $grp" >&2; exit 1; }
[ -n "$home" ] || home=/home/$user
echo "$user:x:$uid:$gid:$gecos:$home:$shell" >> /etc/passwd
if [ -z "$nohome" ] && [ ! -e "$home" ]; then
  mkdir -p "$home"
  chown "$uid:$gid" "$home"
  chmod 755 "$home"
fi
