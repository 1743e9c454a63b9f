"""Maven order: berth vercmp --type maven against maven-artifact's
ComparableVersion (Debian libmaven3-core-java), all pairs in one java run
(a small program started by the JDK's source launcher)."""
import glob
import os

import verutil as vu

HAND = [
    "1", "1.0", "1.0.0", "1-0", "1.0-0", "1.0.0.0", "1-SNAPSHOT", "1.0-SNAPSHOT", "1.0-alpha-1",
    "1.0-alpha1", "1.0a1", "1.0-a1", "1.0-a", "1.0-beta-2", "1.0-b2", "1.0-milestone-1", "1.0-m1",
    "1.0-rc1", "1.0-RC1", "1.0-cr1", "1.0-CR-1", "1.0-ga", "1.0-GA", "1.0-final", "1.0.Final",
    "1.0-release", "1.0-sp", "1.0-sp1", "1.0.sp", "1.0-1", "1.0-2", "1.0.1", "1.0.1-SNAPSHOT",
    "1.0-xyz", "1.0-abc", "1.0.xyz", "1.0-foo-1", "1.0-1-foo", "1.0alpha", "1.0.0.RELEASE",
    "5.3.30", "5.3.31", "2.15.2", "2.15.0-rc1", "2.17.1", "2.0.0.M1", "2.0.0.RC1", "6.1.0-M5",
    "31.1-jre", "32.1.2-jre", "32.1.2-android", "1.2.3.4.5", "1..1", "1--1", "1-.1", "1.-1",
    "1.0.0.0.0.1", "01.1", "1.01", "0.0", "0", "a", "A", "1a", "1-a", "1.a", "1.0-a.b",
    "999999999", "1000000000", "9999999999999999999", "10000000000000000000",
    "1.2147483648", "1.0-snapshot", "1.0-alpha-1-SNAPSHOT",
]


def gen(rnd):
    parts = []
    for _ in range(rnd.randint(1, 5)):
        parts.append(rnd.choice(["0", "1", "2", "10", "00", "a", "b", "m", "alpha", "beta", "rc",
                                 "cr", "snapshot", "SNAPSHOT", "ga", "final", "release", "sp",
                                 "xyz", "foo", "1a", "a1", "b2", "m3", "", "1234567890123"]))
        parts.append(rnd.choice([".", ".", "-", ""]))
    return "".join(parts[:-1]) or "1"


def mutate(rnd, v):
    i = rnd.randrange(len(v))
    c = rnd.choice("0123456789.-ab")
    return (v[:i] + c + v[i + 1:]) if rnd.random() < 0.5 else (v[:i] + c + v[i:])


JAVA = r"""
import org.apache.maven.artifact.versioning.ComparableVersion;
import java.io.*;
public class Cmp {
  public static void main(String[] args) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    StringBuilder o = new StringBuilder();
    for (String l; (l = r.readLine()) != null; ) {
      String[] p = l.split("\t", 2);
      int c = new ComparableVersion(p[0]).compareTo(new ComparableVersion(p[1]));
      o.append(Integer.signum(c)).append('\n');
    }
    System.out.print(o);
  }
}
"""


def test_maven_order_matches_comparable_version():
    java = vu.need_exe("java", "apt-get install default-jdk-headless")
    jars = glob.glob("/usr/share/java/maven-artifact-3*.jar")
    vu.need(jars, "maven-artifact jar", "apt-get install libmaven3-core-java")
    pairs = vu.pairs_from(HAND, gen, 2500, seed=8, mutate=mutate)
    pairs = [p for p in pairs if p[0] and p[1]]  # berth refuses the empty string
    d = vu.tempdir()
    with open(os.path.join(d, "Cmp.java"), "w") as f:
        f.write(JAVA)
    ours = vu.berth_batch("maven", pairs)
    theirs = vu.run_peer([java, "-cp", jars[0], os.path.join(d, "Cmp.java")], pairs)
    vu.compare(pairs, ours, theirs, "ComparableVersion")
    h = vu.answers_histogram(ours)
    assert h.get("-1", 0) > 1000 and h.get("1", 0) > 1000 and h.get("0", 0) > 200, h
