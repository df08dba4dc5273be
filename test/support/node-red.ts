// Which Node-RED the tests (and benches) load. By default: the devDependency (Node-RED 4.1). With
// QUMULO_NODE_RED_DIR set to another node-red package folder (the Node-RED 5 target,
// scripts/test-target.js), every `node-red`, `node-red/…` and `@node-red/…` request from outside
// that copy resolves inside it, the way it would for a bundle installed next to that Node-RED:
// node-red-node-test-helper's own lookup, require.resolve('node-red/red.js'), scripts/start.js and
// the bundle's @node-red/util fallback all get the same copy, so no test names a path.
//
// Loaded first through NODE_OPTIONS=--require (scripts/test-target.js sets it), so child processes
// (Node-RED processes, scripts/start.js) redirect the same way.
import * as fs from 'node:fs';
import Module = require('node:module');
import * as path from 'node:path';

const targetDir = process.env.QUMULO_NODE_RED_DIR;

if (targetDir) redirectNodeRed(path.resolve(targetDir));

function redirectNodeRed(nodeRedDir: string): void {
  if (!fs.existsSync(path.join(nodeRedDir, 'package.json'))) {
    throw new Error(`QUMULO_NODE_RED_DIR=${nodeRedDir} is not a node-red package folder (no package.json)`);
  }
  // <prefix>/node_modules/node-red -> <prefix>: resolving from there finds <prefix>/node_modules first.
  const prefix = path.dirname(path.dirname(nodeRedDir));
  const inside = prefix + path.sep;
  type Resolve = (request: string, parent: { filename?: string | null } | undefined, isMain: boolean, options?: unknown) => string;
  const loader = Module as unknown as { _resolveFilename: Resolve };
  const resolve = loader._resolveFilename;
  loader._resolveFilename = function (request, parent, isMain, options) {
    const fromOutside = !parent?.filename?.startsWith(inside);
    if (fromOutside && (request === 'node-red' || request.startsWith('node-red/') || request.startsWith('@node-red/'))) {
      return resolve.call(this, request, parent, isMain, { paths: [prefix] });
    }
    return resolve.call(this, request, parent, isMain, options);
  };
}

/** The node-red package folder in use. */
export const NODE_RED_DIR = path.dirname(require.resolve('node-red/package.json'));

/** Its version, e.g. "4.1.15" or "5.0.7". */
export const NODE_RED_VERSION = (JSON.parse(fs.readFileSync(path.join(NODE_RED_DIR, 'package.json'), 'utf8')) as { version: string }).version;

/** "Node v22.23.5, Node-RED 5.0.7": what a test run or bench ran on. */
export function runtimeVersions(): string {
  return `Node ${process.version}, Node-RED ${NODE_RED_VERSION}`;
}
