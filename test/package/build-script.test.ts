// scripts/build.js drops compiled output whose TypeScript source is gone (tsc never does), so a
// removed or renamed test or node cannot keep running from dist/. Exercised on a temp tree.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/runtime';

const { removeStaleOutput } = require(path.join(REPO_ROOT, 'scripts', 'stale-output.js')) as {
  removeStaleOutput: (outDir: string, sourceRoot: string) => string[];
};

describe('build: stale compiled output', function () {
  let root: string;

  beforeEach(function () {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-build-'));
  });
  afterEach(function () {
    fs.rmSync(root, { recursive: true, force: true });
  });

  function write(relative: string): void {
    const file = path.join(root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
  }

  it('removes .js and .js.map whose .ts is gone, keeps live output and copied assets', function () {
    write('test/kept.test.ts');
    write('core/redis/writer.ts');
    for (const output of [
      'dist/test/kept.test.js', 'dist/test/kept.test.js.map',
      'dist/test/renamed-away.test.js', 'dist/test/renamed-away.test.js.map',
      'dist/core/redis/writer.js', 'dist/core/redis/old-reader.js',
      'dist/nodes/qumulo-watch.html', 'dist/nodes/locales/en-US/qumulo-watch.json', 'dist/nodes/icons/qumulo.svg',
    ]) write(output);

    const removed = removeStaleOutput(path.join(root, 'dist'), root).map((file) => path.relative(root, file)).sort();

    assert.deepEqual(removed, [
      'dist/core/redis/old-reader.js',
      'dist/test/renamed-away.test.js',
      'dist/test/renamed-away.test.js.map',
    ]);
    for (const kept of ['dist/test/kept.test.js', 'dist/test/kept.test.js.map', 'dist/core/redis/writer.js',
      'dist/nodes/qumulo-watch.html', 'dist/nodes/locales/en-US/qumulo-watch.json', 'dist/nodes/icons/qumulo.svg']) {
      assert.ok(fs.existsSync(path.join(root, kept)), `${kept} was removed`);
    }
  });

  it('does nothing when there is no output yet', function () {
    assert.deepEqual(removeStaleOutput(path.join(root, 'dist'), root), []);
  });
});
