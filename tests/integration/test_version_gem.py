"""RubyGems order: berth vercmp --type gem against Ruby's Gem::Version (Debian
ruby), all pairs in one ruby run."""
import verutil as vu

HAND = [
    "0", "1", "1.0", "1.0.0", "1.0.0.0", "1.0.a", "1.0.a1", "1.0.a.1", "1.0.b", "1.0.rc1",
    "1.0.pre", "1.0-pre", "1.0-1", "1.0.0-rc.1", "1.0.A", "1.0.Z", "1.0.z", "1.a", "1.0.a.0",
    "1.0.0.a", "1.2.3", "1.2.10", "1.10", "1.9", "1.01", "1.001", "2", "2.0.0.pre1", "7.0.8",
    "7.0.8.1", "7.1.0.beta1", "7.1.0.rc2", "3.2.2", "1.15.4", "1.16.0.rc1", " 1.0 ", "1.0.0.1a",
    "1.0-a-b", "1.0--1", "1.0.x1y2",
    # invalid
    "a", "1.", "1..0", "1.0-", "1.0.-a", "1_0", "1.0 2", "-1", "1.0+b", "1.0-a..b",
]


def gen(rnd):
    v = rnd.choice(["0", "1", "2", "10", "01"])
    for _ in range(rnd.randint(0, 4)):
        v += "." + rnd.choice(["0", "1", "2", "10", "a", "b", "pre", "rc1", "beta2", "A", "0a", "a0"])
    if rnd.random() < 0.2:
        v += "-" + ".".join(rnd.choice(["1", "a", "pre", "rc-1", "0"]) for _ in range(rnd.randint(1, 2)))
    if rnd.random() < 0.03:
        v += rnd.choice([".", "-", "_", " x"])
    return v


def mutate(rnd, v):
    i = rnd.randrange(len(v))
    c = rnd.choice("0123456789.ab")
    return (v[:i] + c + v[i + 1:]) if rnd.random() < 0.5 else (v[:i] + c + v[i:])


RUBY = r"""
STDOUT.sync = false
STDIN.each_line do |l|
  a, b = l.chomp.split("\t", 2)
  begin
    x = Gem::Version.new(a); y = Gem::Version.new(b)
    puts (x <=> y)
  rescue ArgumentError
    puts "invalid"
  end
end
"""


def test_gem_order_matches_gem_version():
    ruby = vu.need_exe("ruby", "apt-get install ruby")
    pairs = vu.pairs_from(HAND, gen, 2500, seed=3, mutate=mutate)
    ours = vu.berth_batch("gem", pairs)
    theirs = vu.run_peer([ruby, "-e", RUBY], pairs)
    vu.compare(pairs, ours, theirs, "Gem::Version")
    h = vu.answers_histogram(ours)
    assert h.get("-1", 0) > 1000 and h.get("1", 0) > 1000 and h.get("0", 0) > 200, h
    assert h.get("invalid", 0) > 100, h
