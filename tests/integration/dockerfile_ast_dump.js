// dockerfile_ast_dump.js - print what the npm package dockerfile-ast reads
// from each Dockerfile given on the command line, as one JSON object:
// {file: {instructions: [{keyword, start, end, args, flags, heredocs}]}}.
// Lines are 1-based (dockerfile-ast's are 0-based). Used by
// test_dockerfile_ast.py to compare with `berth dockerfile parse`.
'use strict';
const fs = require('fs');
const path = require('path');
const ast = require(path.resolve(process.argv[2], 'node_modules', 'dockerfile-ast'));

const out = {};
for (const file of process.argv.slice(3)) {
  let entry;
  try {
    const df = ast.DockerfileParser.parse(fs.readFileSync(file, 'utf8'));
    entry = {
      instructions: df.getInstructions().map((ins) => {
        const r = ins.getRange();
        const flags = typeof ins.getFlags === 'function'
          ? ins.getFlags().map((f) => f.toString()) : [];
        const hd = typeof ins.getHeredocs === 'function'
          ? ins.getHeredocs().map((h) => h.getName()) : [];
        return {
          keyword: ins.getKeyword(),
          start: r.start.line + 1,
          end: r.end.line + 1,
          args: ins.getArguments().map((a) => a.getValue()),
          raw_args: ins.getRawArgumentsContent(),
          flags,
          heredocs: hd,
        };
      }),
    };
  } catch (e) {
    entry = { error: String(e) };
  }
  out[path.basename(file)] = entry;
}
process.stdout.write(JSON.stringify(out));
