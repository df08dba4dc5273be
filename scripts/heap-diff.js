#!/usr/bin/env node
// node scripts/heap-diff.js <before.heapsnapshot> <after.heapsnapshot> [top]
// What grew between two V8 heap snapshots (e.g. bench:soak's BENCH_HEAP_SNAPSHOTS): objects grouped
// by constructor, and arrays, strings and other internals grouped by what holds them (the first
// strong retainer's constructor and edge name, e.g. "(array) ← Map.table ← ChainTracker.byFileId"), with count and self
// size in each, the largest growth first. Self sizes, not retained: the holder names the owner.
'use strict';
const fs = require('node:fs');

function load(file) {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields;
  const ef = meta.edge_fields;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const N = nf.length;
  const E = ef.length;
  const iType = nf.indexOf('type');
  const iName = nf.indexOf('name');
  const iSize = nf.indexOf('self_size');
  const iEdges = nf.indexOf('edge_count');
  const eType = ef.indexOf('type');
  const eName = ef.indexOf('name_or_index');
  const eTo = ef.indexOf('to_node');
  const { nodes, edges, strings } = snap;
  const count = nodes.length / N;
  // First strong retainer of every node: (holder node index, edge name).
  const holder = new Int32Array(count).fill(-1);
  const holderEdge = new Array(count);
  for (let n = 0, e = 0; n < count; n++) {
    const edgeCount = nodes[n * N + iEdges];
    for (let k = 0; k < edgeCount; k++, e += E) {
      const type = edgeTypes[edges[e + eType]];
      if (type === 'weak' || type === 'shortcut') continue;
      const to = edges[e + eTo] / N;
      if (holder[to] !== -1) continue;
      holder[to] = n;
      holderEdge[to] = type === 'element' || type === 'hidden' ? `[${type}]` : String(strings[edges[e + eName]]);
    }
  }
  const describe = (n) => {
    const type = nodeTypes[nodes[n * N + iType]];
    const name = strings[nodes[n * N + iName]];
    return type === 'object' || type === 'closure' ? `${type === 'closure' ? 'closure ' : ''}${name}` : `(${type})`;
  };
  // "Map", "Array" and plain objects say little by themselves: name them by their holders, two
  // levels up (e.g. "(array) ← Map.table ← ChainTracker.byFileId").
  const generic = new Set(['Object', 'Array', 'Map', 'Set', '(object properties)', '(object elements)', '']);
  const via = (n) => {
    const h = holder[n];
    return h === -1 ? ' ← (none)' : ` ← ${describe(h)}.${holderEdge[n]}`;
  };
  const groups = new Map();
  for (let n = 0; n < count; n++) {
    const type = nodeTypes[nodes[n * N + iType]];
    const name = String(strings[nodes[n * N + iName]]);
    let key = describe(n);
    if (type === 'hidden' || type === 'array' || type === 'code') key += ` [${name.slice(0, 40)}]`;
    if (type !== 'object' && type !== 'closure') {
      key += via(n);
      const h = holder[n];
      if (h !== -1 && generic.has(String(strings[nodes[h * N + iName]]))) key += via(h);
    } else if (type === 'object' && generic.has(name)) {
      key += via(n);
      const h = holder[n];
      if (h !== -1 && generic.has(String(strings[nodes[h * N + iName]]))) key += via(h);
    }
    const g = groups.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += nodes[n * N + iSize];
    groups.set(key, g);
  }
  let total = 0;
  for (const g of groups.values()) total += g.size;
  return { groups, total, count };
}

const [beforeFile, afterFile, topText] = process.argv.slice(2);
if (!beforeFile || !afterFile) {
  console.error('usage: node scripts/heap-diff.js <before.heapsnapshot> <after.heapsnapshot> [top]');
  process.exit(2);
}
const top = Number(topText ?? 40);
const before = load(beforeFile);
const after = load(afterFile);
const keys = new Set([...before.groups.keys(), ...after.groups.keys()]);
const rows = [...keys].map((key) => {
  const b = before.groups.get(key) ?? { count: 0, size: 0 };
  const a = after.groups.get(key) ?? { count: 0, size: 0 };
  return { key, count: a.count - b.count, size: a.size - b.size, after: a.size };
});
rows.sort((x, y) => y.size - x.size);
const mb = (bytes) => (bytes / 1e6).toFixed(2).padStart(8);
console.log(`self size ${mb(before.total)} → ${mb(after.total)} MB (${before.count} → ${after.count} nodes); largest growth by group:`);
console.log(`${'Δ MB'.padStart(8)} ${'Δ count'.padStart(9)} ${'after MB'.padStart(8)}  group`);
for (const r of rows.slice(0, top)) console.log(`${mb(r.size)} ${String(r.count).padStart(9)} ${mb(r.after)}  ${r.key}`);
console.log('largest groups in the second snapshot:');
for (const r of [...rows].sort((x, y) => y.after - x.after).slice(0, Math.ceil(top / 2))) console.log(`${mb(r.size)} ${String(r.count).padStart(9)} ${mb(r.after)}  ${r.key}`);
console.log('largest shrink:');
for (const r of rows.slice(-5).reverse()) console.log(`${mb(r.size)} ${String(r.count).padStart(9)} ${mb(r.after)}  ${r.key}`);
