"""
berth cvss: CVSS v4.0 scores against an independent implementation, the npm
package ae-cvss-calculator ({metaeffekt}; installed by scripts/npm-peers.sh),
which follows FIRST's reference calculator (MacroVector lookup, severity
distance interpolation, half-up rounding after adding 1e-6).

The vectors: a fixed-seed sample of base-only vectors (the whole space is
104,976 vectors: all of them agreed when this test was written, a run too
slow for CI with the peer taking ~1 ms a vector) and vectors with random
threat, environmental and supplemental metrics, which reach every
MacroVector (EQ4=0 needs MSI/MSA:S, EQ5 needs E, EQ6 CR/IR/AR), ten of
each of the 270 at least.
Also: v3 vectors still score as before through the same command, and
invalid vectors answer "invalid" with exit 2 while the others are answered.
"""
import os
import random
import subprocess

import pytest

SRC = os.environ.get("BERTH_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("BERTH_BIN", os.path.join(SRC, "build", "dev", "berth"))
NPM_DIR = os.environ.get("BERTH_NPM_DIR", os.path.join(SRC, "build", "npm"))

BASE = [("AV", "NALP"), ("AC", "LH"), ("AT", "NP"), ("PR", "NLH"), ("UI", "NPA"),
        ("VC", "HLN"), ("VI", "HLN"), ("VA", "HLN"), ("SC", "HLN"), ("SI", "HLN"),
        ("SA", "HLN")]
OPTIONAL = [("E", "XAPU"), ("CR", "XHML"), ("IR", "XHML"), ("AR", "XHML"),
            ("MAV", "XNALP"), ("MAC", "XLH"), ("MAT", "XNP"), ("MPR", "XNLH"),
            ("MUI", "XNPA"), ("MVC", "XHLN"), ("MVI", "XHLN"), ("MVA", "XHLN"),
            ("MSC", "XHLN"), ("MSI", "XSHLN"), ("MSA", "XSHLN"), ("S", "XNP"),
            ("AU", "XNY"), ("R", "XAUI"), ("V", "XDC"), ("RE", "XLMH"),
            ("U", ["X", "Clear", "Green", "Amber", "Red"])]


def vectors(n_base, n_full, seed=20261206):
    rnd = random.Random(seed)
    out = []
    for i in range(n_base + n_full):
        parts = ["CVSS:4.0"] + ["%s:%s" % (k, rnd.choice(v)) for k, v in BASE]
        if i >= n_base:
            parts += ["%s:%s" % (k, rnd.choice(v)) for k, v in OPTIONAL if rnd.random() < 0.5]
        out.append("/".join(parts))
    return out


def macro_vector(vec):
    """The EQ1..EQ6 classes of a vector (FIRST CVSS v4.0 specification, section 8.2)."""
    m = dict(p.split(":") for p in vec.split("/")[1:])

    def eff(k):
        if m.get("M" + k, "X") != "X":
            return m["M" + k]
        v = m.get(k, "X")
        return {"E": "A", "CR": "H", "IR": "H", "AR": "H"}.get(k, v) if v == "X" else v
    av, pr, ui = eff("AV"), eff("PR"), eff("UI")
    vc, vi, va = eff("VC"), eff("VI"), eff("VA")
    eq1 = 0 if av == pr == ui == "N" else 1 if "N" in (av, pr, ui) and av != "P" else 2
    eq2 = 0 if eff("AC") == "L" and eff("AT") == "N" else 1
    eq3 = 0 if vc == vi == "H" else 1 if "H" in (vc, vi, va) else 2
    si, sa = eff("SI"), eff("SA")
    eq4 = 0 if "S" in (si, sa) else 1 if "H" in (eff("SC"), si, sa) else 2
    eq5 = "APU".index(eff("E"))
    eq6 = 0 if ("H", "H") in ((eff("CR"), vc), (eff("IR"), vi), (eff("AR"), va)) else 1
    return (eq1, eq2, eq3, eq4, eq5, eq6)


ORDER = [k for k, _ in BASE + OPTIONAL]


def in_macro_vector(target, rnd):
    """A random vector of the MacroVector `target`, built one EQ at a time."""
    def pick(names, domains, ok):
        while True:
            vals = dict(zip(names, (rnd.choice(d) for d in domains)))
            if ok(vals):
                return vals

    def eq(vals, i):
        full = dict(fixed)
        full.update(vals)
        return macro_vector("CVSS:4.0/" + "/".join("%s:%s" % (k, full[k]) for k in ORDER
                                                   if k in full))[i]
    fixed = {k: v[0] for k, v in BASE}  # the most severe values while the others are picked
    fixed.update(pick(["AV", "PR", "UI"], ["NALP", "NLH", "NPA"],
                      lambda v: eq(v, 0) == target[0]))
    fixed.update(pick(["AC", "AT"], ["LH", "NP"], lambda v: eq(v, 1) == target[1]))
    fixed.update(pick(["VC", "VI", "VA", "CR", "IR", "AR"], ["HLN"] * 3 + ["XHML"] * 3,
                      lambda v: (eq(v, 2), eq(v, 5)) == (target[2], target[5])))
    fixed.update(pick(["SC", "SI", "SA", "MSI", "MSA"], ["HLN"] * 3 + ["XSHLN"] * 2,
                      lambda v: eq(v, 3) == target[3]))
    fixed["E"] = "APU"[target[4]] if rnd.random() < 0.8 or target[4] else "X"
    for k, d in OPTIONAL[-6:]:  # supplemental metrics, which must change nothing
        if rnd.random() < 0.3:
            fixed[k] = rnd.choice(d)
    v = "CVSS:4.0/" + "/".join("%s:%s" % (k, fixed[k]) for k in ORDER if k in fixed)
    assert macro_vector(v) == target
    return v


def every_macro_vector(per, seed=4):
    """`per` random vectors in each of the 270 MacroVectors of the lookup table."""
    rnd = random.Random(seed)
    targets = [(a, b, c, d, e, f) for a in range(3) for b in range(2) for c in range(3)
               for d in range(3) for e in range(3) for f in range(2) if not (c == 2 and f == 0)]
    return [in_macro_vector(t, rnd) for t in targets for _ in range(per)]


def peer_scores(vecs):
    if not os.path.exists(os.path.join(NPM_DIR, "node_modules", "ae-cvss-calculator")):
        pytest.fail("ae-cvss-calculator is not installed: run scripts/npm-peers.sh "
                    "(npm install ae-cvss-calculator@1.0.13 into %s)" % NPM_DIR)
    r = subprocess.run(["node", os.path.join(SRC, "tests/integration/cvss_peer.js"), NPM_DIR],
                       input="\n".join(vecs) + "\n", capture_output=True, text=True, check=True)
    return r.stdout.split("\n")[:len(vecs)]


def berth_batch(vecs):
    r = subprocess.run([BIN, "cvss", "--batch"], input="\n".join(vecs) + "\n",
                       capture_output=True, text=True)
    return r, r.stdout.split("\n")[:len(vecs)]


def test_v4_scores_match_the_peer():
    vecs = vectors(5000, 5000) + every_macro_vector(10)
    want = peer_scores(vecs)
    r, got = berth_batch(vecs)
    assert r.returncode == 0, r.stderr
    diff = [(v, w, g) for v, w, g in zip(vecs, want, got) if g.split(" ")[0] != w]
    assert not diff, "%d of %d differ, first: %s" % (len(diff), len(vecs), diff[:5])
    # the sample reaches every one of the 270 MacroVectors of the lookup table
    assert len({macro_vector(v) for v in vecs}) == 270


def test_ratings_follow_the_score():
    r, got = berth_batch(["CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                          "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                          "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"])
    assert r.returncode == 0, r.stderr
    assert got == ["9.3 CRITICAL", "0.0 NONE", "7.5 HIGH"]


def test_invalid_vectors_answer_invalid_and_exit_2():
    good = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    bad = ["CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
           good + "/E:A/E:A", good[:-5], "CVSS:4.0/" + "E:A/" * 400]
    # FIRST's reference calculator refuses these three too (its
    # validateStringVector: metrics in order, base ones present);
    # ae-cvss-calculator is lenient and scores them, so it is not asked.
    r, got = berth_batch([good] + bad + [good])
    assert r.returncode == 2
    assert got == ["9.3 CRITICAL"] + ["invalid"] * len(bad) + ["9.3 CRITICAL"]
    assert r.stderr.count("berth cvss: line ") == len(bad)
    one = subprocess.run([BIN, "cvss", bad[0]], capture_output=True, text=True)
    assert one.returncode == 2
    assert one.stderr.startswith("berth cvss: invalid CVSS v4.0 vector")
