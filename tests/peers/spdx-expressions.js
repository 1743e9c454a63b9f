// Parse licence expressions with spdx-expression-parse (the parser npm
// itself uses): reads a JSON array of strings on stdin, prints a JSON array
// with, for each, the licence identifiers it names or {"error": message}.
// NODE_PATH must reach spdx-expression-parse (scripts/npm-peers.sh).
"use strict";
const parse = require("spdx-expression-parse");

function ids(node, out) {
  if (node.license) out.push(node.license + (node.exception ? " WITH " + node.exception : ""));
  if (node.left) ids(node.left, out);
  if (node.right) ids(node.right, out);
  return out;
}

let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const answers = JSON.parse(input).map((expr) => {
    try {
      return ids(parse(expr), []);
    } catch (e) {
      return { error: e.message };
    }
  });
  process.stdout.write(JSON.stringify(answers) + "\n");
});
