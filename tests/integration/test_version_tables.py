"""apk and NuGet orders, which have no implementation installable here:
tables written from their documented rules, checked through
`berth vercmp --batch`. Each chain is strictly increasing, so every pair
(i < j) must answer -1 and (j, i) 1; each group is equal; the invalid
versions must be refused.

apk: apk-tools' version format (N(.N)*[a-z](_suffix[N])*(-rN)), suffixes
alpha < beta < pre < rc < (release) < cvs < svn < git < hg < p, compared as
Gentoo's PMS section 3.3 specifies (leading-zero components as strings).
NuGet: learn.microsoft.com "Package versioning" (1-4 numbers, missing ones
are 0, leading zeros ignored, prerelease labels case-insensitive, numeric
labels below alphanumeric, build metadata ignored).
"""
import verutil as vu

APK_CHAINS = [
    ["1.0_alpha", "1.0_alpha1", "1.0_alpha2", "1.0_beta", "1.0_beta1", "1.0_pre1", "1.0_rc1",
     "1.0_rc2", "1.0", "1.0-r1", "1.0-r2", "1.0_cvs", "1.0_svn", "1.0_git", "1.0_hg", "1.0_p1",
     "1.0_p2", "1.0a", "1.0b", "1.0.0", "1.0.1", "1.1", "1.1.0", "1.2", "2", "10"],
    ["1.01", "1.05", "1.1", "1.5", "1.50"],
    ["1.0_rc1_p1", "1.0_rc1_p2", "1.0_rc2", "1.0", "1.0_p1_rc1",
     "1.0_p1", "1.0_p1_p1"],
    ["1.2.3_rc1-r1", "1.2.3-r0", "1.2.3-r9", "1.2.3-r10", "1.2.4_alpha", "1.2.4"],
    ["2.38-r0", "2.38_git20231005-r0", "2.38_git20231006-r0", "2.39-r0"],
    ["3.1.4-r5", "3.1.4-r6", "3.1.5-r0"],
    ["1.36.1-r2", "1.36.1-r15", "1.36.1-r30"],
    ["3.0.12-r0", "3.0.12-r1", "3.0.13-r0", "3.1.4-r0", "3.1.4-r1"],
    ["0.9.8", "0.9.8z", "1.0.0", "1.0.0a", "1.0.0z", "1.0.1", "1.0.1a"],
]
APK_EQUAL = [["1.0", "1.0-r0", "01.0"], ["1.0_p", "1.0_p0"], ["1.0_rc", "1.0_rc0"],
             ["1.0_alpha01", "1.0_alpha1"]]
APK_INVALID = ["", "a1", "1.0-r", "1.0_foo", "1..0", "1.0.", "1.0-1", "1.0_", "1.0aa", "1.0A",
               ".1", "1.0-r1-r2", "1.0 ", "v1.0"]

NUGET_CHAINS = [
    ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
     "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.0.1", "1.0.1", "1.1", "2.0", "10.0"],
    ["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a", "1.0.0-B", "1.0.0-c"],
    ["6.0.0-preview.7.21377.19", "6.0.0-rc.1.21451.13", "6.0.0", "6.0.1", "6.0.25", "8.0.0"],
    ["13.0.1", "13.0.2", "13.0.3"],
    ["4.7.0-alpha", "4.7.0-Beta", "4.7.0-gamma"],
]
NUGET_EQUAL = [["1.0", "1.0.0", "1.0.0.0", "01.0.0", "1.0.0+build", "1.0.0+other.1", "1"],
               ["1.0.0-Beta", "1.0.0-beta", "1.0.0-BETA+x"], ["1.0.0-01", "1.0.0-1"]]
NUGET_INVALID = ["", "a", "1.0.0.0.0", "1.0.0-", "1.0.0+", "1.0.0-a..b", ".1", "1.", "1.0.0-a_b",
                 "v1.0.0", "1.0.0-a+"]


def table_pairs(chains, equal, invalid):
    pairs, want = [], []
    for c in chains:
        for i in range(len(c)):
            for j in range(len(c)):
                pairs.append((c[i], c[j]))
                want.append(str((i > j) - (i < j)))
    for g in equal:
        for a in g:
            for b in g:
                pairs.append((a, b))
                want.append("0")
    for v in invalid:
        pairs += [(v, "1.0"), ("1.0", v)]
        want += ["invalid", "invalid"]
    return pairs, want


def check(vtype, chains, equal, invalid):
    pairs, want = table_pairs(chains, equal, invalid)
    ours = vu.berth_batch(vtype, pairs)
    vu.compare(pairs, ours, want, "the documented %s rules" % vtype)


def test_apk_order_follows_documented_rules():
    check("apk", APK_CHAINS, APK_EQUAL, APK_INVALID)


def test_nuget_order_follows_documented_rules():
    check("nuget", NUGET_CHAINS, NUGET_EQUAL, NUGET_INVALID)


def test_apk_order_is_a_total_order_on_the_tables():
    # Every pair of all table versions: antisymmetric and transitive (checked
    # on all triples through the pair answers).
    vs = sorted({v for c in APK_CHAINS for v in c})
    pairs = [(a, b) for a in vs for b in vs]
    ans = dict(zip(pairs, map(int, vu.berth_batch("apk", pairs))))
    for a in vs:
        for b in vs:
            assert ans[(a, b)] == -ans[(b, a)], (a, b)
    for a in vs:
        for b in vs:
            if ans[(a, b)] > 0:
                continue
            for c in vs:
                if ans[(b, c)] <= 0:
                    assert ans[(a, c)] <= 0, (a, b, c)
