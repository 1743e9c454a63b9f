#!/bin/sh
# Fail (exit 1, naming the files) if clang-format would change a C file.
# The formatter is Debian's clang-format 14 (scripts/deps.sh installs it), with
# the tree's .clang-format; another version may lay code out differently.
#   sh scripts/check-format.sh           every *.c and *.h of the tree
#   sh scripts/check-format.sh FILE...   these files
# `make format` fixes what this finds.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cf=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$cf" >/dev/null 2>&1; then
  echo "check-format: $cf is not installed; install it with 'apt-get install clang-format-14' (or run scripts/deps.sh)" >&2
  exit 1
fi
if [ $# -eq 0 ]; then
  cd "$root"
  # shellcheck disable=SC2046
  set -- $(find src include tests fuzz bench -name '*.[ch]' | sort)
fi
# One run over every file; --dry-run --Werror reports "FILE:LINE:COL: error: ..."
# for each place it would change.
out=$("$cf" --style="file:$root/.clang-format" --dry-run --Werror "$@" 2>&1) || {
  bad=$(printf '%s\n' "$out" | sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u | tr '\n' ' ')
  echo "check-format: clang-format would change: ${bad:-$out}" >&2
  echo "check-format: run 'make format' (clang-format-14 -i FILE) and commit the result" >&2
  exit 1
}
echo "check-format: $# files formatted as clang-format-14 lays them out"
