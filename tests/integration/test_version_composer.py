"""Composer order: berth vercmp --type composer against composer/semver's
VersionParser::normalize + PHP version_compare (Debian composer, php-cli),
all pairs in one php run."""
import os

import verutil as vu

HAND = [
    "1.0.0", "1.0", "1", "v1.0.0", "1.0.0.0", "1.0.0-beta", "1.0.0-beta2", "1.0.0-beta.2",
    "1.0.0-b2", "1.0.0-BETA2", "1.0.0-alpha", "1.0.0-a1", "1.0.0-RC1", "1.0.0-rc1", "1.0.0rc1",
    "1.0.0-patch1", "1.0.0-pl1", "1.0.0-p1", "1.0.0-p", "1.0.0-stable", "1.0.0-dev", "1.0.0.x-dev",
    "1.0.x-dev", "1.x-dev", "2.x-dev", "1.0.*-dev", "dev-1.0", "1.0.0-beta2-dev", "1.0.0-RC1.2",
    "1.0.0-beta.1.2", "1.0.0+build", "1.0.0@beta", "1.0.0 as 2.0", "2023.01.01", "20230101",
    "2023-01-01-beta", "123456", "12345", "1.2.3.4", "1.2.3.4.5", "99999.0", "10.4.15",
    "7.4.33", "3.3.2", "5.4.1", "2.0.0-alpha3", "v2.0.0-RC4", "1.0.0-", "1.0-dev", "1.0_dev",
    "1.0.0.dev", "1.2.3-STABLE",
    # invalid
    "", "abc", "1.0.0-gamma", "1.0.0-beta-gamma", "1.2.3.4.5.6", "1.0.0 beta", "v", "1.0.0-dev2",
]


def gen(rnd):
    v = rnd.choice(["", "", "", "v", "V"])
    if rnd.random() < 0.1:
        v += rnd.choice(["2023", "2024"]) + "".join(rnd.choice([".", "-", "", ":"]) + rnd.choice(["01", "12", "31"])
                                                    for _ in range(rnd.randint(1, 3)))
    else:
        v += ".".join(rnd.choice(["0", "1", "2", "10", "01"]) for _ in range(rnd.randint(1, 4)))
    if rnd.random() < 0.5:
        v += rnd.choice(["", "-", ".", "_"]) + rnd.choice(
            ["beta", "b", "RC", "rc", "alpha", "a", "patch", "pl", "p", "stable", "BETA", "Alpha"])
        if rnd.random() < 0.6:
            v += rnd.choice(["", ".", "-"]) + rnd.choice(["1", "2", "10"])
            if rnd.random() < 0.2:
                v += "." + rnd.choice(["1", "3"])
    if rnd.random() < 0.15:
        v += rnd.choice(["-dev", ".dev", "dev"])
    if rnd.random() < 0.05:
        v += "+" + rnd.choice(["b1", "sha"])
    if rnd.random() < 0.05:
        v += "@" + rnd.choice(["dev", "beta", "stable", "RC"])
    return v


def gen_branch(rnd):
    return rnd.choice(["", "v"]) + ".".join(
        rnd.choice(["1", "2", "x", "*", "X", "0"]) for _ in range(rnd.randint(1, 4))) + rnd.choice(["-dev", ".dev", "dev"])


def mutate(rnd, v):
    i = rnd.randrange(len(v)) if v else 0
    c = rnd.choice("0123456789.-a")
    return (v[:i] + c + v[i + 1:]) if rnd.random() < 0.5 else (v[:i] + c + v[i:])


PHP = r"""<?php
require '/usr/share/php/Composer/Semver/autoload.php';
$p = new Composer\Semver\VersionParser();
$n = function ($v) use ($p) {
    try { $x = $p->normalize($v); } catch (UnexpectedValueException $e) { return null; }
    return strncmp($x, 'dev-', 4) === 0 ? null : $x;   // named branches have no order
};
$out = '';
while (($l = fgets(STDIN)) !== false) {
    [$a, $b] = explode("\t", rtrim($l, "\n"), 2);
    $x = $n($a); $y = $n($b);
    $out .= ($x === null || $y === null) ? "invalid\n" : version_compare($x, $y) . "\n";
}
echo $out;
"""


def test_composer_order_matches_composer_semver():
    php = vu.need_exe("php", "apt-get install php-cli composer")
    vu.need(os.path.exists("/usr/share/php/Composer/Semver/VersionParser.php"),
            "composer/semver", "apt-get install composer (php-composer-semver)")
    import random
    rnd = random.Random(99)
    pairs = vu.pairs_from(HAND, gen, 2500, seed=9, mutate=mutate)
    pairs += [(gen_branch(rnd), gen(rnd)) for _ in range(500)]
    d = vu.tempdir()
    with open(os.path.join(d, "cmp.php"), "w") as f:
        f.write(PHP)
    ours = vu.berth_batch("composer", pairs)
    theirs = vu.run_peer([php, os.path.join(d, "cmp.php")], pairs)
    vu.compare(pairs, ours, theirs, "composer/semver")
    h = vu.answers_histogram(ours)
    assert h.get("-1", 0) > 1000 and h.get("1", 0) > 1000 and h.get("0", 0) > 200, h
    assert h.get("invalid", 0) > 100, h
