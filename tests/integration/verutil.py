"""Helpers for the version-order tests (test_version_*.py).

Each test builds a few thousand version pairs (hand-picked real versions
plus seeded random ones from the ecosystem's grammar), asks
`berth vercmp --type T --batch` once, asks the ecosystem's own
implementation once (one process per peer, fed the same pairs), and
compares the answers line by line. A missing peer fails with the command
that installs it.
"""
import os
import random
import shutil
import subprocess
import tempfile

SOURCE_DIR = os.environ.get(
    "BERTH_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BERTH_BIN = os.environ.get("BERTH_BIN", os.path.join(SOURCE_DIR, "build", "dev", "berth"))
NPM_DIR = os.environ.get("BERTH_NPM_DIR", os.path.join(SOURCE_DIR, "build", "npm"))


class PeerMissing(AssertionError):
    pass


def need(cond, what, hint):
    if not cond:
        raise PeerMissing("%s is missing: %s" % (what, hint))


def need_exe(name, hint):
    need(shutil.which(name), name, hint)
    return shutil.which(name)


def berth_batch(vtype, pairs):
    """Answers of `berth vercmp --type vtype --batch` for pairs, as strings."""
    data = "".join("%s\t%s\n" % p for p in pairs)
    r = subprocess.run([BERTH_BIN, "vercmp", "--type", vtype, "--batch"], input=data.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    out = r.stdout.decode().split("\n")[:-1]
    assert len(out) == len(pairs), (len(out), len(pairs), r.stderr.decode()[-2000:])
    if "invalid" in out:
        assert r.returncode == 2, r.returncode
    else:
        assert r.returncode == 0, r.stderr.decode()[-2000:]
    return out


def run_peer(args, pairs, timeout=600, **kw):
    """Feed A<TAB>B lines on stdin to a peer program; its answers, one per line."""
    data = "".join("%s\t%s\n" % p for p in pairs)
    r = subprocess.run(args, input=data.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, **kw)
    assert r.returncode == 0, "peer %s failed: %s" % (args[0], r.stderr.decode()[-3000:])
    out = r.stdout.decode().split("\n")[:-1]
    assert len(out) == len(pairs), (args[0], len(out), len(pairs), r.stderr.decode()[-2000:])
    return out


def compare(pairs, ours, theirs, peer, allow=None):
    """Assert the answers agree; list the first disagreements. allow(pair, ours, theirs)
    may accept a disagreement that is a documented difference by design."""
    bad = []
    for p, a, b in zip(pairs, ours, theirs):
        if a != b and not (allow and allow(p, a, b)):
            bad.append("%r: berth %s, %s %s" % (p, a, b, peer))
    assert not bad, "%d of %d pairs differ from %s:\n%s" % (
        len(bad), len(pairs), peer, "\n".join(bad[:40]))


def pairs_from(hand, gen, n_random, seed, mutate=None):
    """All pairs of hand-picked versions, plus n_random random pairs, plus pairs
    of a random version and a near neighbour (mutate) so equal and close cases
    come up often."""
    rnd = random.Random(seed)
    pairs = [(a, b) for a in hand for b in hand]
    for _ in range(n_random):
        pairs.append((gen(rnd), gen(rnd)))
    if mutate:
        for _ in range(n_random):
            a = gen(rnd)
            pairs.append((a, mutate(rnd, a)))
    return pairs


def answers_histogram(answers):
    h = {}
    for a in answers:
        h[a] = h.get(a, 0) + 1
    return h


def tempdir():
    return tempfile.mkdtemp(prefix="berth-vertest-")
