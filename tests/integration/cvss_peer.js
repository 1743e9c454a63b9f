// cvss_peer.js NPM_DIR < vectors: the CVSS v4.0 score of each vector (one a
// line) as ae-cvss-calculator computes it, "invalid" where it throws.
const path = require("path");
const ae = require(path.join(process.argv[2], "node_modules", "ae-cvss-calculator"));
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l.length);
const out = lines.map((v) => {
  try {
    return new ae.Cvss4P0(v).calculateScores().overall.toFixed(1);
  } catch (e) {
    return "invalid";
  }
});
process.stdout.write(out.join("\n") + "\n");
