"""Go module version order: berth vercmp --type go against
golang.org/x/mod/semver (Debian golang-golang-x-mod-dev), built offline in
GOPATH mode from Debian's source tree, all pairs in one run."""
import os
import subprocess

import verutil as vu

GOPATH = "/usr/share/gocode"

HAND = [
    "v0.0.0", "v1", "v1.2", "v1.2.3", "v1.2.3-pre", "v1.2.3-pre.1", "v1.2.3-pre.10", "v1.2.3-pre.2",
    "v1.2.3+meta", "v1.2.3-pre+meta", "v2.0.0+incompatible", "v2.0.1+incompatible", "v2.0.0",
    "v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200101000000-000000000000",
    "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3-pre.0.20191109021931-daa7c04131f5",
    "v1.10.0", "v1.9.0", "v0.17.0", "v0.3.8", "v1.21.4", "v1.0.0-rc.1", "v1.0.0-alpha",
    "v1.0.0-alpha.1", "v1.0.0-0", "v1.0.0--", "v1.0.0-x-y", "v99999999999999999999.0.0",
    # invalid
    "", "1.2.3", "v", "v1.2.3.4", "v01.2.3", "v1.02.3", "v1.2.3-01", "v1.2-pre", "v1.2.3-",
    "v1.2.3+", "v1.2.3-a..b", "V1.2.3", "v1.2.3 ", "(devel)", "v1.2.3-a_b",
]


def gen(rnd):
    n = rnd.choice([1, 2, 3, 3, 3, 3])
    v = "v" + ".".join(rnd.choice(["0", "1", "2", "10"]) for _ in range(n))
    if n == 3 and rnd.random() < 0.5:
        if rnd.random() < 0.3:
            v += "-" + rnd.choice(["", "0.", "pre.0."]) + "2019%010d" % rnd.randint(0, 10**9) + "-abcdef123456"
        else:
            v += "-" + ".".join(rnd.choice(["0", "1", "2", "11", "alpha", "beta", "rc", "x-1", "-"])
                                for _ in range(rnd.randint(1, 3)))
    if n == 3 and rnd.random() < 0.2:
        v += "+" + rnd.choice(["incompatible", "meta", "001"])
    if rnd.random() < 0.03:
        v = v.replace("v", rnd.choice(["", "V", "v0"]), 1)
    return v


def mutate(rnd, v):
    i = rnd.randrange(len(v))
    c = rnd.choice("0123456789.-+a")
    return (v[:i] + c + v[i + 1:]) if rnd.random() < 0.5 else (v[:i] + c + v[i:])


GO = r"""package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		p := strings.SplitN(in.Text(), "\t", 2)
		if !semver.IsValid(p[0]) || !semver.IsValid(p[1]) {
			fmt.Fprintln(out, "invalid")
			continue
		}
		fmt.Fprintln(out, semver.Compare(p[0], p[1]))
	}
}
"""


def build_peer(d):
    go = vu.need_exe("go", "apt-get install golang-go")
    vu.need(os.path.exists(os.path.join(GOPATH, "src/golang.org/x/mod/semver/semver.go")),
            "golang.org/x/mod/semver", "apt-get install golang-golang-x-mod-dev")
    src = os.path.join(d, "cmp.go")
    with open(src, "w") as f:
        f.write(GO)
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="", GOPROXY="off",
               GOCACHE=os.path.join(d, "gocache"), CGO_ENABLED="0")
    r = subprocess.run([go, "build", "-o", os.path.join(d, "cmp"), src], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return os.path.join(d, "cmp")


def test_go_order_matches_x_mod_semver():
    peer = build_peer(vu.tempdir())
    pairs = vu.pairs_from(HAND, gen, 2500, seed=5, mutate=mutate)
    ours = vu.berth_batch("go", pairs)
    theirs = vu.run_peer([peer], pairs)
    vu.compare(pairs, ours, theirs, "golang.org/x/mod/semver")
    h = vu.answers_histogram(ours)
    assert h.get("-1", 0) > 1000 and h.get("1", 0) > 1000 and h.get("0", 0) > 200, h
    assert h.get("invalid", 0) > 100, h


def test_go_pseudo_versions_order_by_time():
    old = "v0.0.0-20191109021931-daa7c04131f5"
    new = "v0.0.0-20200101000000-000000000000"
    ours = vu.berth_batch("go", [(old, new), ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3"),
                                 ("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4"),
                                 ("v2.0.0+incompatible", "v2.0.0")])
    assert ours == ["-1", "1", "-1", "0"]
