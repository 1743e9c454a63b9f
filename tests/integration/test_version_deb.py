"""Debian version order: berth vercmp --type deb against `dpkg --compare-versions`."""
import os

import verutil as vu

HAND = [
    "0", "1", "1.0", "1.0-1", "1.0-1.1", "1.0-2", "1.0~rc1-1", "1.0~~a", "1.0~", "1.0+b1",
    "1:1.0-1", "2:0.1", "0:1.0-1", "1.2.13.dfsg-1", "1:1.2.13.dfsg-1", "2.36-9+deb12u4",
    "2.36-9+deb12u9", "2.36-9", "3.0.11-1~deb12u2", "3.0.15-1~deb12u1", "3.0.9-1",
    "7.88.1-10+deb12u5", "7.88.1-10+deb12u12", "1.0-1~bpo11+1", "0.0~git20230101.abc-1",
    "1.2.3a", "1.2.3A", "1.2.3-0ubuntu1", "1.2.3-0ubuntu0.22.04.1", "1.10", "1.9", "1.010",
    "10:1", "1.0.0", "1.0.", "1.0+", "1.0.a", "1.0a", "1.0-a", "5.2.15-2+b2", "252.22-1~deb12u1",
    "2.9.14+dfsg-1.3~deb12u1", "1.1.1w-0+deb11u1", "1:9.18.28-1~deb12u2", "20230311",
    "1.0-0", "1.0-00", "a1.0", "1.0:1",
]
# "" is left out: `dpkg --compare-versions` reads an empty argument as the blank
# version (its CLI convention), berth calls it invalid.
INVALID = ["1:", "a:1.0", "1.0-", "1 0", ":1.0", "-1:1.0", "1.0 -1"]


def gen(rnd):
    up = rnd.choice("0123456789")
    for _ in range(rnd.randint(0, 8)):
        up += rnd.choice("0123456789" * 3 + "abcz.+~" + "...")
    v = up
    if rnd.random() < 0.5:
        rev = "".join(rnd.choice("0123456789" * 2 + "abu.+~") for _ in range(rnd.randint(1, 5)))
        v += "-" + rev
    if rnd.random() < 0.2:
        v = "%d:%s" % (rnd.randint(0, 3), v)
    return v


def mutate(rnd, v):
    i = rnd.randrange(len(v))
    c = rnd.choice("0123456789~.+a")
    return (v[:i] + c + v[i + 1:]) if rnd.random() < 0.5 else (v[:i] + c + v[i:])


DPKG_LOOP = r"""
tab="$(printf '\t')"
while IFS= read -r line; do
  a=${line%%"$tab"*}; b=${line#*"$tab"}
  dpkg --compare-versions "$a" lt "$b" 2>/dev/null; r=$?
  if [ $r -eq 0 ]; then echo -1
  elif [ $r -eq 1 ]; then
    if dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo 0; else echo 1; fi
  else echo invalid; fi
done
"""

# dpkg's own Perl module (libdpkg-perl, built from dpkg's source) answers
# thousands of pairs in one process; `dpkg --compare-versions` costs one or
# two processes per pair, so it checks a sample of the same pairs.
PERL_CMP = r"""
use Dpkg::Version;
while (my $l = <STDIN>) {
  chomp $l; my ($a, $b) = split /\t/, $l, 2;
  if (!version_check($a) || !version_check($b)) { print "invalid\n"; next; }
  print version_compare($a, $b), "\n";
}
"""


def all_pairs():
    return vu.pairs_from(HAND + INVALID, gen, 1500, seed=12, mutate=mutate)


def test_deb_order_matches_dpkg_compare_versions():
    vu.need_exe("dpkg", "apt-get install dpkg")
    pairs = all_pairs()
    sample = pairs[::6]
    ours = vu.berth_batch("deb", sample)
    theirs = vu.run_peer(["sh", "-c", DPKG_LOOP], sample)
    vu.compare(sample, ours, theirs, "dpkg --compare-versions")
    h = vu.answers_histogram(ours)
    assert h.get("-1", 0) > 200 and h.get("1", 0) > 200 and h.get("0", 0) > 10, h
    assert h.get("invalid", 0) > 20, h


def _perl_dpkg_ok():
    import subprocess
    return subprocess.run(["perl", "-MDpkg::Version", "-e", "1"], capture_output=True).returncode == 0


def test_deb_order_matches_libdpkg_perl_on_all_pairs():
    vu.need(_perl_dpkg_ok(), "Dpkg::Version", "apt-get install libdpkg-perl")
    pairs = all_pairs()
    ours = vu.berth_batch("deb", pairs)
    theirs = vu.run_peer(["perl", "-e", PERL_CMP], pairs)

    # Validity is dpkg --compare-versions' call (test above): Dpkg::Version's
    # version_check refuses what dpkg only warns about and accepts some of what
    # dpkg refuses ("1:"), so here only the order of pairs both accept counts.
    def validity_differs(p, a, b):
        return "invalid" in (a, b)
    n_ordered = sum(1 for a, b in zip(ours, theirs) if "invalid" not in (a, b))
    assert n_ordered > 4000, n_ordered
    vu.compare(pairs, ours, theirs, "Dpkg::Version", allow=validity_differs)
    assert len(pairs) > 5000
def test_deb_single_pair_cli():
    import subprocess
    r = subprocess.run([vu.BERTH_BIN, "vercmp", "--type", "deb", "1.0~rc1", "1.0"],
                       capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "-1\n")
    r = subprocess.run([vu.BERTH_BIN, "vercmp", "--type", "deb", "1:", "1.0"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("berth vercmp: invalid deb version '1:'"), r.stderr
