'use strict';
// tsc never deletes output: a .ts file removed or renamed leaves its old .js behind, and mocha's
// dist/test glob would keep running a test that no longer exists. This drops compiled files whose
// source is gone — not the whole of dist/, which a running Node-RED may be loading from.
const fs = require('node:fs');
const path = require('node:path');

const COMPILED = /\.js(\.map)?$/;

/** Removes every .js / .js.map under outDir whose .ts under sourceRoot (same relative path) is gone. Returns the removed paths. */
function removeStaleOutput(outDir, sourceRoot) {
  const removed = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(full);
      } else if (COMPILED.test(entry.name)) {
        const source = path.join(sourceRoot, path.relative(outDir, full)).replace(COMPILED, '.ts');
        if (!fs.existsSync(source)) {
          fs.rmSync(full);
          removed.push(full);
        }
      }
    }
  };
  if (fs.existsSync(outDir)) walk(outDir);
  return removed;
}

module.exports = { removeStaleOutput };
