// The compiled glob shortcuts (prefix/suffix checks) and the linear-time automaton behind them must
// say exactly what picomatch says, for every glob shape, on the normalized paths and names events
// carry (the documented exceptions are in core/rules/glob-nfa.ts).

import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import picomatch from 'picomatch';
import { checkGlob, compileGlob, globBaseDirectory, globExtensions, GLOB_OPTIONS } from '../../../core/rules/glob';
import type { GlobTarget } from '../../../core/rules/glob';
import { splitName } from '../../../core/event';

// Small alphabets so globs and paths collide often.
const nameChar = fc.constantFrom('a', 'b', '.', 'x', ' ', 'é', '-', 'A', '~');
const segmentArb = fc
  .array(nameChar, { minLength: 1, maxLength: 5 })
  .map((chars) => chars.join(''))
  .filter((segment) => segment !== '.' && segment !== '..');
const relativePathArb = fc.array(segmentArb, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const absolutePathArb = fc.oneof(relativePathArb.map((p) => '/' + p), fc.constant('/'));

const globPiece = fc.oneof(
  { weight: 4, arbitrary: nameChar },
  { weight: 3, arbitrary: fc.constant('*') },
  { weight: 1, arbitrary: fc.constant('?') },
  { weight: 1, arbitrary: fc.constant('[ab]') },
  { weight: 1, arbitrary: fc.constant('{a,b.x}') },
);
const globSegmentArb = fc.oneof(
  { weight: 5, arbitrary: fc.array(globPiece, { minLength: 1, maxLength: 4 }).map((pieces) => pieces.join('')) },
  { weight: 2, arbitrary: fc.constant('**') },
  { weight: 2, arbitrary: segmentArb },
);
const relativeGlobArb = fc.array(globSegmentArb, { minLength: 1, maxLength: 4 }).map((segments) => segments.join('/'));
const absoluteGlobArb = relativeGlobArb.map((glob) => (glob.startsWith('**') && glob.length > 2 ? glob : '/' + glob));
const nameGlobArb = fc.array(globPiece, { minLength: 1, maxLength: 5 }).map((pieces) => pieces.join(''));

/** Strings that agree with `glob` on a literal prefix or suffix are the interesting ones. */
function candidates(glob: string, random: string[]): string[] {
  const literal = glob.replace(/\*\*?|\?|\[ab\]|\{a,b\.x\}/g, (m) => (m === '?' ? 'a' : m === '[ab]' ? 'b' : m === '{a,b.x}' ? 'b.x' : 'x'));
  return [...random, literal, literal.replace(/\/x\//g, '/'), literal + '/a', literal.slice(0, literal.lastIndexOf('/'))].filter(Boolean);
}

/**
 * picomatch documents that `**` is a globstar only as a whole path segment and `*` otherwise, but
 * some of its shapes (`**{a,b}`, `**.pdf`) let it cross `/`, and after `***` it leaves a `.`
 * unescaped (`***a.` matches `aa`). Our matcher follows the documented rule (glob-nfa.ts): where
 * it differs from picomatch on such a glob, it must agree with picomatch on the glob written with
 * the `*` it means.
 */
function documentedGlob(glob: string): string {
  return glob
    .split('/')
    .map((segment) => (segment === '**' ? segment : segment.replace(/\*\*+/g, '*')))
    .join('/');
}

function agree(glob: string, target: GlobTarget, values: string[]): void {
  if (checkGlob(glob, target) !== null) return;
  const fast = compileGlob(glob, target);
  const picomatchSays = picomatch(glob, GLOB_OPTIONS);
  const documented = documentedGlob(glob);
  const documentedSays = documented === glob ? picomatchSays : picomatch(documented, GLOB_OPTIONS);
  const reference = (value: string) => {
    const raw = picomatchSays(value);
    return fast(value) !== raw && (value === glob || documentedSays(value)) === fast(value) ? fast(value) : raw;
  };
  for (const value of values) {
    if (value.includes('//') || value.endsWith('/') && value !== '/') continue;
    if (/(^|\/)\.\.?(\/|$)/.test(value)) continue;
    if (target === 'path' && !value.startsWith('/')) continue;
    if (target !== 'path' && value.startsWith('/')) continue;
    if (target === 'name' && value.includes('/')) continue;
    assert.equal(fast(value), reference(value), `${target} glob ${JSON.stringify(glob)} on ${JSON.stringify(value)}`);
  }
}

describe('glob shortcuts agree with picomatch', () => {
  it('absolute path globs', () => {
    fc.assert(fc.property(absoluteGlobArb, fc.array(absolutePathArb, { minLength: 20, maxLength: 20 }), (glob, paths) => agree(glob, 'path', candidates(glob, paths))), { numRuns: 3000 });
  });

  it('relative path globs', () => {
    fc.assert(fc.property(relativeGlobArb, fc.array(relativePathArb, { minLength: 20, maxLength: 20 }), (glob, paths) => agree(glob, 'relativePath', candidates(glob, paths))), { numRuns: 3000 });
  });

  it('name globs', () => {
    fc.assert(fc.property(nameGlobArb, fc.array(segmentArb, { minLength: 20, maxLength: 20 }), (glob, names) => agree(glob, 'name', candidates(glob, names))), { numRuns: 3000 });
  });

  it('the shapes the compiler rewrites, one by one', () => {
    const cases: Array<[string, GlobTarget, string[]]> = [
      ['/projects/**', 'path', ['/projects', '/projects/a', '/projects/a/b', '/projectsx', '/', '/project']],
      ['/**', 'path', ['/', '/a', '/a/b']],
      ['**', 'path', ['/', '/a']],
      ['**/*.pdf', 'path', ['/a.pdf', '/x/.pdf', '/x/a.pdf.txt', '/pdf', '/x/a.PDF']],
      ['**/report.pdf', 'path', ['/report.pdf', '/x/report.pdf', '/x/areport.pdf']],
      ['/a/**/*.pdf', 'path', ['/a/x.pdf', '/a/.pdf', '/a.pdf', '/a/b/c.pdf', '/ab/c.pdf']],
      ['/a/**/x.pdf', 'path', ['/a/x.pdf', '/a/b/x.pdf', '/a/bx.pdf', '/ax.pdf']],
      ['/a/*', 'path', ['/a', '/a/b', '/a/b/c', '/a/.env']],
      ['/a/*.tmp', 'path', ['/a/x.tmp', '/a/.tmp', '/a/b/x.tmp', '/a/tmp']],
      ['incoming/**', 'relativePath', ['incoming', 'incoming/a', 'incomingx/a']],
      ['*.tmp', 'name', ['x.tmp', '.tmp', 'tmp', 'x.tmp.bak']],
      ['~*', 'name', ['~', '~x', 'x~']],
      ['report-*.pdf', 'name', ['report-.pdf', 'report-1.pdf', 'report.pdf']],
      ['*', 'name', ['a', '.a', ' ']],
    ];
    for (const [glob, target, values] of cases) agree(glob, target, values);
  });

  it('derives the base directory and the extensions a glob pins', () => {
    assert.equal(globBaseDirectory('/projects/*/incoming/**'), '/projects');
    assert.equal(globBaseDirectory('/projects/p1/**'), '/projects/p1');
    assert.equal(globBaseDirectory('/a/b.pdf'), '/a/b.pdf');
    assert.equal(globBaseDirectory('/{a,b}/**'), null);
    assert.equal(globBaseDirectory('**/*.pdf'), null);
    assert.deepEqual(globExtensions('**/*.pdf'), ['pdf', '']);
    assert.deepEqual(globExtensions('*.tar.gz'), ['gz']);
    assert.deepEqual(globExtensions('/a/Makefile'), ['']);
    assert.deepEqual(globExtensions('/a/**'), null);
    assert.deepEqual(globExtensions('*.{pdf,doc}'), null);
  });

  it('derived extensions hold for every name the glob matches', () => {
    fc.assert(
      fc.property(nameGlobArb, fc.array(segmentArb, { minLength: 30, maxLength: 30 }), (glob, names) => {
        const extensions = globExtensions(glob);
        if (extensions === null || checkGlob(glob, 'name') !== null) return;
        const matcher = picomatch(glob, GLOB_OPTIONS);
        for (const name of candidates(glob, names)) {
          if (name.includes('/') || !matcher(name)) continue;
          assert.ok(extensions.includes(splitName('/' + name).extension.toLowerCase()), `${glob} matched ${name}`);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
