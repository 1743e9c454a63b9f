"""SemVer order and npm ranges: berth vercmp --type semver / npm-range against
npm's `semver` package (semver.compare, semver.satisfies), one node run each."""
import os
import shutil

import verutil as vu

HAND = [
    "1.0.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0-0", "1.0.0-00a", "1.0.0--", "1.0.0-a-b", "1.0.0+build",
    "1.0.0+build.2", "1.0.0-rc.1+build.1", "v1.0.0", " 1.0.0 ", "2.0.0", "1.10.0", "1.9.0",
    "0.0.0", "0.0.1", "0.1.0", "10.20.30", "1.2.3-DEV", "1.2.3-dev", "1.2.3-1", "1.2.3-10",
    "1.2.3-2", "1.2.3-a.1", "1.2.3-a.10", "1.2.3-a.2", "9007199254740991.0.0",
    # invalid
    "", "1", "1.0", "1.0.0.0", "01.0.0", "1.01.0", "1.0.0-01", "1.0.0-", "1.0.0+", "1.0.0-a..b",
    "1.0.0 beta", "v", "=1.0.0", "vv1.0.0", "9007199254740992.0.0", "1.0.0-a_b",
]


def gen(rnd):
    v = ".".join(rnd.choice(["0", "1", "2", "10"]) for _ in range(3))
    if rnd.random() < 0.5:
        v += "-" + ".".join(rnd.choice(["0", "1", "2", "11", "alpha", "beta", "rc", "a-1", "-", "x1",
                                        "Beta", "1a"]) for _ in range(rnd.randint(1, 3)))
    if rnd.random() < 0.2:
        v += "+" + rnd.choice(["b", "1", "sha.5114f85", "001"])
    if rnd.random() < 0.05:
        v = rnd.choice(["v", "", " "]) + v + rnd.choice(["", " ", ".0", "-"])
    return v


def mutate(rnd, v):
    i = rnd.randrange(len(v))
    c = rnd.choice("0123456789.-a")
    return (v[:i] + c + v[i + 1:]) if rnd.random() < 0.5 else (v[:i] + c + v[i:])


def node_env():
    vu.need_exe("node", "apt-get install nodejs npm")
    mod = os.path.join(vu.NPM_DIR, "node_modules", "semver", "package.json")
    vu.need(os.path.exists(mod), "npm package semver (in %s)" % vu.NPM_DIR,
            "run scripts/npm-peers.sh (npm install semver)")
    return dict(os.environ, NODE_PATH=os.path.join(vu.NPM_DIR, "node_modules"))


COMPARE_JS = r"""
const semver = require('semver');
const lines = require('fs').readFileSync(0, 'utf8').split('\n'); lines.pop();
const out = [];
for (const l of lines) {
  const i = l.indexOf('\t'); const a = l.slice(0, i), b = l.slice(i + 1);
  if (semver.valid(a) === null || semver.valid(b) === null) { out.push('invalid'); continue; }
  out.push(String(semver.compare(a, b)));
}
process.stdout.write(out.join('\n') + '\n');
"""

SATISFIES_JS = r"""
const semver = require('semver');
const lines = require('fs').readFileSync(0, 'utf8').split('\n'); lines.pop();
const out = [];
for (const l of lines) {
  const i = l.indexOf('\t'); const v = l.slice(0, i), r = l.slice(i + 1);
  if (semver.valid(v) === null || semver.validRange(r) === null) { out.push('invalid'); continue; }
  out.push(String(semver.satisfies(v, r)));
}
process.stdout.write(out.join('\n') + '\n');
"""


def test_semver_order_matches_npm_semver():
    env = node_env()
    pairs = vu.pairs_from(HAND, gen, 2500, seed=2, mutate=mutate)
    ours = vu.berth_batch("semver", pairs)
    theirs = vu.run_peer(["node", "-e", COMPARE_JS], pairs, env=env)
    vu.compare(pairs, ours, theirs, "npm semver")
    h = vu.answers_histogram(ours)
    assert h.get("-1", 0) > 1000 and h.get("1", 0) > 1000 and h.get("0", 0) > 100, h


RANGES = [
    "*", "", "x", "1.x", "1.2.x", "1.2.*", "1", "1.2", "^1.2.3", "^0.2.3", "^0.0.3", "^1.2", "^0.0",
    "^0.x", "^1.2.3-beta.2", "^0.0.3-beta", "~1.2.3", "~1.2", "~1", "~>1.2", "~1.2.3-beta.2",
    "~0.0.1", ">=1.2.3", ">1.2.3", "<1.2.3", "<=1.2.3", "=1.2.3", "1.2.3", "v1.2.3", ">=1.2",
    ">1", "<1.2", "<=1", ">1.x", "<=1.2.x", ">*", "<*", "=*", ">=*", "1.2.3 - 2.3.4", "1.2 - 2.3.4",
    "1.2.3 - 2.3", "1.2.3 - 2", "* - 2", "1 - *", "1.2.3-beta - 2.0.0-rc.1",
    ">=1.0.0 <2.0.0", ">= 1.0.0 < 2.0.0", "> 1.0.0", "~ 1.2", "^ 1.2", ">=1.2.3-alpha <1.2.4",
    "1.x || >=2.5.0 || 5.0.0 - 7.2.3", "^1 || ^2", "<1 || >=2.0.0-rc.1", "1.2.3 || *",
    ">=0.0.0", ">=0.0.0 || 1.0.0-beta", "* || 1.0.0-beta", "1.0.0-beta || 2", "0.x || 1.0.0-beta",
    ">=1.0.0-beta.1 <1.0.0", "<0.0.0-0", ">=1.2.3 <1.2.3", "1.2.3-beta+build", ">=1.2.3+build",
    # invalid
    ">=1.2.3<2", "1.2.3.4", "^01.2", "~a", "1.2.3 -- 2", ">>1", "1.2-beta", "=>1.2.3", "||1.2.3 ~",
]

VERSIONS = [
    "0.0.0", "0.0.1", "0.0.3", "0.0.3-beta", "0.0.4", "0.1.0", "0.2.3", "0.2.4", "0.3.0",
    "1.0.0", "1.0.0-beta", "1.0.0-beta.1", "1.0.0-rc.1", "1.2.0", "1.2.2", "1.2.3", "1.2.3-alpha",
    "1.2.3-beta", "1.2.3-beta.2", "1.2.3-beta.3", "1.2.4", "1.2.4-beta", "1.3.0", "1.3.0-0",
    "1.9.9", "2.0.0", "2.0.0-rc.1", "2.0.0-alpha", "2.3.4", "2.3.5", "2.4.0", "2.5.0", "3.0.0",
    "5.0.0", "7.2.3", "7.2.4", "v1.2.3", "1.2.3+build",
]


def gen_range(rnd):
    def part():
        return rnd.choice(["0", "1", "2", "x", "*", "X"])

    def ver():
        n = rnd.choice([1, 2, 3, 3, 3])
        v = ".".join(part() for _ in range(n))
        if n == 3 and rnd.random() < 0.2:
            v += "-" + rnd.choice(["beta", "0", "rc.1", "alpha.2"])
        return v

    def comp():
        return rnd.choice(["", "", "^", "~", ">=", ">", "<", "<=", "=", "~>"]) + ver()

    def cset():
        if rnd.random() < 0.15:
            return ver() + " - " + ver()
        return " ".join(comp() for _ in range(rnd.randint(1, 3)))

    return " || ".join(cset() for _ in range(rnd.randint(1, 3)))


def gen_version(rnd):
    v = ".".join(rnd.choice(["0", "1", "2", "3"]) for _ in range(3))
    if rnd.random() < 0.3:
        v += "-" + rnd.choice(["beta", "0", "rc.1", "alpha.2", "1"])
    return v


def test_npm_ranges_match_npm_semver():
    import random
    env = node_env()
    rnd = random.Random(7)
    pairs = [(v, r) for v in VERSIONS for r in RANGES]
    pairs += [(gen_version(rnd), gen_range(rnd)) for _ in range(4000)]
    ours = vu.berth_batch("npm-range", pairs)
    theirs = vu.run_peer(["node", "-e", SATISFIES_JS], pairs, env=env)
    vu.compare(pairs, ours, theirs, "npm semver.satisfies")
    h = vu.answers_histogram(ours)
    assert h.get("true", 0) > 1000 and h.get("false", 0) > 1000 and h.get("invalid", 0) > 100, h
