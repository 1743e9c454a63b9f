"""RPM version order: berth vercmp --type rpm against rpm's own rpm.vercmp
(`rpm --eval '%{lua: ...}'`, Debian's rpm 4.18), all pairs in one rpm run."""
import os
import subprocess

import verutil as vu

HAND = [
    "1.0", "1.0-1", "1.0-2", "1:1.0-1", "0:1.0-1", "2:0.1-1", "1.0~rc1", "1.0~rc1-1", "1.0~~",
    "1.0^", "1.0^git1", "1.0^git1~pre", "1.0^^", "1.0~^", "1.0.1", "1.0a", "1.0.a", "1.0_1",
    "1.0+1", "1.00", "1.01", "1.001", "1.10", "1.9", "a", "b", "A", "1.0-1.el8", "1.0-1.el9",
    "1.1.1k-12.el8_9", "3.0.7-25.el9_3", "2.28-225.el9", "2.28-225.el9_3.1", "4.18.0-513.el8",
    "1.0-1.fc39", "1.0-1.fc40", "5.14.0-362.8.1.el9_3", "0.5.0^20230101git1234567-1",
    "1.2.3~beta1-0.1", "1:2.0.1-3", "1.0--1", "1.0-", "1..0", "..", "1.0.", "1e10", "20230101",
    "1.2.3.4.5.6", "0", "00", "~", "^", "1:", ":1",
]


def gen(rnd):
    v = "".join(rnd.choice("0123456789" * 3 + "abAZ" + "..." + "_+~^" + "-")
                for _ in range(rnd.randint(1, 10)))
    if rnd.random() < 0.15:
        v = "%d:%s" % (rnd.randint(0, 2), v)
    return v


def mutate(rnd, v):
    i = rnd.randrange(len(v))
    c = rnd.choice("0123456789~^.a")
    return (v[:i] + c + v[i + 1:]) if rnd.random() < 0.5 else (v[:i] + c + v[i:])


LUA = r"""
for line in io.lines(os.getenv("BERTH_PAIRS")) do
  local a, b = line:match("^(.-)\t(.*)$")
  local ok, r = pcall(rpm.vercmp, a, b)
  if ok then io.write(r, "\n") else io.write("invalid\n") end
end
"""


def test_rpm_order_matches_rpm_vercmp():
    rpm = vu.need_exe("rpm", "apt-get install rpm")
    pairs = vu.pairs_from(HAND, gen, 2000, seed=6, mutate=mutate)
    ours = vu.berth_batch("rpm", pairs)
    d = vu.tempdir()
    with open(os.path.join(d, "pairs.tsv"), "w") as f:
        f.write("".join("%s\t%s\n" % p for p in pairs))
    with open(os.path.join(d, "cmp.lua"), "w") as f:
        f.write(LUA)
    r = subprocess.run([rpm, "--eval", "%%{lua: dofile('%s/cmp.lua')}" % d],
                       env=dict(os.environ, BERTH_PAIRS=os.path.join(d, "pairs.tsv")),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    theirs = r.stdout.split("\n")[:len(pairs)]
    assert len(theirs) == len(pairs), (len(theirs), r.stderr[-2000:])
    vu.compare(pairs, ours, theirs, "rpm.vercmp")
    h = vu.answers_histogram(ours)
    assert h.get("-1", 0) > 1000 and h.get("1", 0) > 1000 and h.get("0", 0) > 100, h
    assert len(pairs) > 5000
