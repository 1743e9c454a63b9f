"""PEP 440 order: berth vercmp --type pep440 against Debian's python3-packaging
(packaging.version.Version), in this process (ctest runs /usr/bin/python3)."""
import verutil as vu

HAND = [
    "1.0", "1.0.0", "1", "1.0.post1", "1.0-1", "1.0.rev1", "1.0r1", "1.0post", "1.0.dev0",
    "1.0.dev1", "1.0dev", "1.0a1", "1.0alpha1", "1.0A1", "1.0a", "1.0a.1", "1.0-a-1", "1.0b2",
    "1.0beta2", "1.0c1", "1.0rc1", "1.0pre1", "1.0preview1", "1.0rc1.post1", "1.0rc1.dev1",
    "1.0a1.post1.dev1", "1.0.post1.dev1", "1!0.5", "0!1.0", "v1.0", "V1.0", " 1.0 ", "1.0+local",
    "1.0+Local.1", "1.0+local.2", "1.0+1", "1.0+01", "1.0+abc.1", "1.0+abc-2", "1.0+abc_1.x",
    "2.0", "2.0.0.0.0", "1.10", "1.9", "01.0", "1.0.01", "2023.10.1", "3.11.4", "23.0",
    "1.0.0rc1", "0.9.9.dev20230101", "2.31.0", "2.28.1", "1.26.18", "1.26.5", "42.0.5",
    "1.0_post_1", "1.0.post_1", "1.0-dev", "1.0-rc-1",
    # invalid
    "", "a", "1.0+", "1.0+-", "1.0.", "1..0", "1.0a1a", "1.0-", "1.0 2", "1.0post1post2",
    "1.0+lo cal", "!1.0", "1.0.x",
]


def gen(rnd):
    v = ""
    if rnd.random() < 0.1:
        v += rnd.choice(["v", "V", " ", ""])
    if rnd.random() < 0.1:
        v += "%d!" % rnd.randint(0, 2)
    v += ".".join(rnd.choice(["0", "1", "2", "10", "01", "00"]) for _ in range(rnd.randint(1, 4)))
    sep = lambda: rnd.choice(["", "", ".", "-", "_"])
    if rnd.random() < 0.4:
        v += sep() + rnd.choice(["a", "b", "rc", "c", "alpha", "beta", "pre", "preview", "RC", "A"])
        v += sep() + rnd.choice(["", "0", "1", "2", "10"])
    if rnd.random() < 0.3:
        if rnd.random() < 0.3:
            v += "-" + rnd.choice(["0", "1", "2"])
        else:
            v += sep() + rnd.choice(["post", "rev", "r", "POST"]) + sep() + rnd.choice(["", "0", "1", "3"])
    if rnd.random() < 0.3:
        v += sep() + rnd.choice(["dev", "DEV"]) + sep() + rnd.choice(["", "0", "1", "5"])
    if rnd.random() < 0.2:
        v += "+" + rnd.choice(["", "a", "1", "abc", "x.1", "1.x", "ubuntu-1", "A_2", "01"])
    if rnd.random() < 0.03:
        v += rnd.choice([".", "-", "x", " ", "+"])
    return v


def mutate(rnd, v):
    i = rnd.randrange(len(v)) if v else 0
    c = rnd.choice("0123456789.-_abr+")
    return (v[:i] + c + v[i + 1:]) if rnd.random() < 0.5 else (v[:i] + c + v[i:])


def peer(pairs):
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:
        raise vu.PeerMissing("python3-packaging is missing: apt-get install python3-packaging")
    out = []
    for a, b in pairs:
        try:
            x, y = Version(a), Version(b)
        except InvalidVersion:
            out.append("invalid")
            continue
        out.append(str((x > y) - (x < y)))
    return out


def test_pep440_order_matches_packaging():
    pairs = vu.pairs_from(HAND, gen, 2500, seed=440, mutate=mutate)
    ours = vu.berth_batch("pep440", pairs)
    theirs = peer(pairs)
    vu.compare(pairs, ours, theirs, "packaging")
    h = vu.answers_histogram(ours)
    assert h.get("-1", 0) > 1000 and h.get("1", 0) > 1000 and h.get("0", 0) > 200, h
    assert h.get("invalid", 0) > 300, h
