#!/bin/sh
# The format check catches what it should: a file of the tree passes, and a
# copy of it with its layout broken (spaces for tabs, a brace moved, two
# statements on a line: the same code) fails, naming the copy.
set -eu

root=${BERTH_SOURCE_DIR:?BERTH_SOURCE_DIR is not set (ctest sets it)}
src="$root/src/cli/main.c"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sh "$root/scripts/check-format.sh" "$src"

cp "$src" "$tmp/good.c"
sh "$root/scripts/check-format.sh" "$tmp/good.c"

# Same tokens, other layout.
sed -e 's/^\t/    /' -e 's/^int main(int argc, char \*\*argv)$/int main(int argc,char**argv) {/' \
    -e '/^int main(int argc,char\*\*argv) {$/{n;d;}' "$src" >"$tmp/bad.c"
if cmp -s "$src" "$tmp/bad.c"; then
  echo "misformatted: the copy is not different; the test itself is broken" >&2
  exit 1
fi
if sh "$root/scripts/check-format.sh" "$tmp/bad.c" 2>"$tmp/err"; then
  echo "misformatted: check-format passed a misformatted file" >&2
  exit 1
fi
grep -q "bad.c" "$tmp/err" || { echo "misformatted: the message does not name the file:" >&2; cat "$tmp/err" >&2; exit 1; }
# and clang-format itself puts it back as it was: only the layout differed
clang-format-14 --style="file:$root/.clang-format" "$tmp/bad.c" >"$tmp/fixed.c"
cmp "$src" "$tmp/fixed.c"
echo "misformatted: ok"
