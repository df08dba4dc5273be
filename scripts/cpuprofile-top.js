#!/usr/bin/env node
// Reads a .cpuprofile (BENCH_PROFILE=… of bench:actions, or node --cpu-prof) and prints the
// functions with the most self time, per unit of work, leaving out idle time and the inspector's
// own Profiler.stop ('dispatch'); with --lines NAME…, where in those functions the samples fell.
//   node scripts/cpuprofile-top.js file.cpuprofile [--per 5000] [--top 10] [--lines fnName …]
'use strict';
const fs = require('node:fs');

const args = process.argv.slice(2);
const file = args.shift();
if (!file) {
  console.error('usage: node scripts/cpuprofile-top.js file.cpuprofile [--per N] [--top N] [--lines fn…]');
  process.exit(2);
}
let per = 1;
let top = 10;
const lines = [];
while (args.length > 0) {
  const flag = args.shift();
  if (flag === '--per') per = Number(args.shift());
  else if (flag === '--top') top = Number(args.shift());
  else if (flag === '--lines') lines.push(...args.splice(0));
  else throw new Error(`unknown option ${flag}`);
}

const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const selfTime = new Map();
for (let i = 0; i < profile.samples.length; i++) selfTime.set(profile.samples[i], (selfTime.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
const shortUrl = (url) => url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '').replace(/.*\/dist\//, '');
const byFunction = new Map();
let busy = 0;
for (const [id, micros] of selfTime) {
  const frame = nodes.get(id).callFrame;
  if (frame.functionName === '(idle)' || (frame.functionName === 'dispatch' && !frame.url)) continue;
  busy += micros;
  const key = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
}
const unit = per === 1 ? 'ms' : `µs per unit (of ${per})`;
const show = (micros) => (per === 1 ? (micros / 1000).toFixed(1) : (micros / per).toFixed(1));
console.log(`busy ${show(busy)} ${unit} (profiler overhead included)`);
[...byFunction]
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)
  .forEach(([key, micros], i) => console.log(`${String(i + 1).padStart(3)}. ${show(micros).padStart(7)}  ${((100 * micros) / busy).toFixed(1).padStart(5)} %  ${key}`));
for (const name of lines) {
  const ticks = new Map();
  let where = '';
  for (const node of profile.nodes) {
    if (node.callFrame.functionName !== name) continue;
    where = shortUrl(node.callFrame.url);
    for (const t of node.positionTicks ?? []) ticks.set(t.line, (ticks.get(t.line) ?? 0) + t.ticks);
  }
  const list = [...ticks].sort((a, b) => a[0] - b[0]).map(([line, n]) => `${line}:${n}`);
  console.log(`${name} (${where || 'not found'}) samples per line: ${list.join('  ') || '-'}`);
}
