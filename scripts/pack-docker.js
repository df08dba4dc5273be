#!/usr/bin/env node
// Packs the bundle exactly as npm would publish it and puts the tarball where the Dockerfile
// expects it (docker/qumulo-flow.tgz). No shell: npm is run directly.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'docker');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const output = execFileSync(npm, ['pack', '--json', '--pack-destination', outDir], { cwd: root, encoding: 'utf8' });
const [{ filename }] = JSON.parse(output);
const target = path.join(outDir, 'qumulo-flow.tgz');
fs.renameSync(path.join(outDir, path.basename(filename)), target);
console.log(`packed ${target}`);
