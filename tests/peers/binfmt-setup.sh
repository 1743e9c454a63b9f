#!/bin/sh
# Make RUN steps for linux/arm64 runnable here: qemu-user-static's aarch64
# emulator registered in binfmt_misc with the F (fix-binary) flag, so it is
# opened now and still found inside a RUN's mount namespace and root.
# Idempotent; needs root and the Debian package qemu-user-static
# (scripts/deps.sh). Usage: binfmt-setup.sh [ARCH...] (qemu names; default aarch64)
set -eu
DIR=/proc/sys/fs/binfmt_misc
[ $# -gt 0 ] || set -- aarch64
if [ ! -e "$DIR/status" ]; then
	mount -t binfmt_misc binfmt_misc "$DIR"
fi
for arch in "$@"; do
	entry="$DIR/qemu-$arch"
	if [ -e "$entry" ] && grep -q '^enabled' "$entry" && grep -q '^flags:.*F' "$entry"; then
		continue
	fi
	conf=/usr/lib/binfmt.d/qemu-$arch.conf
	if [ ! -e "$conf" ]; then
		echo "binfmt-setup: no $conf: apt-get install qemu-user-static" >&2
		exit 1
	fi
	# registered without F (or disabled): replace it
	[ -e "$entry" ] && echo -1 > "$entry"
	# qemu-user-static's line, with F among its flags (Debian's has OPF already)
	line=$(grep -v '^#' "$conf" | head -n 1)
	flags=${line##*:}
	case "$flags" in
	*F*) ;;
	*) line="${line}F" ;;
	esac
	printf '%s' "$line" > "$DIR/register"
	grep -q '^flags:.*F' "$entry"
done
