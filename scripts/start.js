#!/usr/bin/env node
// `npm start` (after `npm run build`): Node-RED embedded, with this bundle loaded from the project
// and the starter flow (flows/starter.json: watch / → debug) deployed on first start.
//
// Without QUMULO_HOST it also starts the built-in Qumulo simulator on 127.0.0.1:18000 over
// ./demo-data (admin/admin). With QUMULO_HOST it talks to that cluster instead:
//   QUMULO_HOST, QUMULO_PORT (8000), QUMULO_PROTOCOL (https), QUMULO_USERNAME + QUMULO_PASSWORD
//   or QUMULO_ACCESS_TOKEN, QUMULO_CA_FILE (PEM of the cluster's CA).
// Other knobs: PORT (editor, 1880), HOST (editor listen address, 127.0.0.1),
//   NODE_RED_CREDENTIAL_SECRET, QUMULO_FLOW_USER_DIR (.node-red-user), QUMULO_FLOW_DEMO_DIR
//   (demo-data), QUMULO_SIM_PORT (18000).
// The examples read all of these from the environment (${QUMULO_HOST} …, ${REDIS_URL}); REDIS_URL
// defaults to redis://127.0.0.1:6379 (only the Redis examples need one). Stops cleanly on SIGINT/SIGTERM.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const userDir = path.resolve(root, process.env.QUMULO_FLOW_USER_DIR || '.node-red-user');
const editorPort = process.env.PORT === undefined ? 1880 : Number(process.env.PORT);
const editorHost = process.env.HOST || '127.0.0.1';

function log(line) {
  console.log(`[qumulo-flow] ${line}`);
}

function seedDemoData(dir) {
  if (fs.existsSync(dir)) return false;
  fs.mkdirSync(path.join(dir, 'incoming'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'archive'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'README.txt'),
    'Demo data served by the qumulo-flow simulator.\n' +
      'Create, edit, rename, chmod or delete files here and watch the Node-RED debug sidebar.\n',
  );
  fs.writeFileSync(path.join(dir, 'incoming', 'welcome.txt'), 'hello from qumulo-flow\n');
  fs.writeFileSync(path.join(dir, 'archive', 'report-2024.csv'), 'quarter,revenue\nQ1,100\nQ2,120\n');
  return true;
}

async function startSimulator() {
  if (!fs.existsSync(path.join(dist, 'sim', 'index.js'))) {
    throw new Error('dist/sim is missing: run `npm run build` first (npm start does it for you)');
  }
  const { QumuloSimulator } = require(path.join(dist, 'sim', 'index.js'));
  const demoDir = path.resolve(root, process.env.QUMULO_FLOW_DEMO_DIR || 'demo-data');
  const seeded = seedDemoData(demoDir);
  const port = process.env.QUMULO_SIM_PORT === undefined ? 18000 : Number(process.env.QUMULO_SIM_PORT);
  const sim = new QumuloSimulator({ root: demoDir, host: '127.0.0.1', port, username: 'admin', password: 'admin' });
  try {
    await sim.start();
  } catch (err) {
    if (err && err.code === 'EADDRINUSE') {
      throw new Error(`port ${port} is taken: stop what uses it, or set QUMULO_SIM_PORT (or QUMULO_HOST for a real cluster)`);
    }
    throw err;
  }
  log(`simulator: ${sim.url} over ${demoDir}${seeded ? ' (created with sample files)' : ''}, user admin/admin`);
  Object.assign(process.env, sim.clusterEnv());
  return sim;
}

function useRealCluster() {
  const env = process.env;
  env.QUMULO_PORT = env.QUMULO_PORT || '8000';
  env.QUMULO_PROTOCOL = env.QUMULO_PROTOCOL || 'https';
  env.QUMULO_USERNAME = env.QUMULO_USERNAME || '';
  env.QUMULO_PASSWORD = env.QUMULO_PASSWORD || '';
  env.QUMULO_ACCESS_TOKEN = env.QUMULO_ACCESS_TOKEN || '';
  env.QUMULO_CA = env.QUMULO_CA_FILE ? fs.readFileSync(path.resolve(env.QUMULO_CA_FILE), 'utf8') : env.QUMULO_CA || '';
  const auth = env.QUMULO_ACCESS_TOKEN ? 'an access token' : env.QUMULO_USERNAME ? `user ${env.QUMULO_USERNAME}` : 'NO CREDENTIALS (set QUMULO_USERNAME/QUMULO_PASSWORD or QUMULO_ACCESS_TOKEN)';
  log(`cluster: ${env.QUMULO_PROTOCOL}://${env.QUMULO_HOST}:${env.QUMULO_PORT} as ${auth}${env.QUMULO_CA ? ', CA from ' + env.QUMULO_CA_FILE : ''}`);
}

/**
 * The key that encrypts flows_cred.json: NODE_RED_CREDENTIAL_SECRET, else a random key kept in
 * the user dir (readable by this user only). Set the variable in production and keep it safe.
 */
function credentialSecret() {
  if (process.env.NODE_RED_CREDENTIAL_SECRET) return process.env.NODE_RED_CREDENTIAL_SECRET;
  const file = path.join(userDir, '.credential-secret');
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, require('node:crypto').randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

function post(url, body, headers) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks)}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function main() {
  const sim = process.env.QUMULO_HOST ? (useRealCluster(), null) : await startSimulator();
  // The Redis examples read REDIS_URL (npm start itself needs no Redis: run a redis-server for them).
  process.env.REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

  const RED = require('node-red');
  fs.mkdirSync(userDir, { recursive: true });
  const firstStart = !fs.existsSync(path.join(userDir, 'flows.json'));
  const server = http.createServer((req, res) => {
    if (req.url && req.url.startsWith('/api/')) RED.httpNode(req, res);
    else RED.httpAdmin(req, res);
  });
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    nodesDir: [root],
    credentialSecret: credentialSecret(),
    uiHost: editorHost,
    uiPort: editorPort,
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    editorTheme: { projects: { enabled: false }, tours: false },
    diagnostics: { enabled: false },
    // No consent prompt for Node-RED's update check over the first screen of a demo (the user settings can turn it on).
    telemetry: { enabled: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(editorPort, editorHost, resolve);
  });
  const url = `http://${editorHost === '0.0.0.0' ? '127.0.0.1' : editorHost}:${server.address().port}/`;
  await RED.start();
  if (firstStart) {
    const starter = JSON.parse(fs.readFileSync(path.join(root, 'flows', 'starter.json'), 'utf8'));
    await post(`${url}flows`, { flows: starter }, { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' });
    log(`deployed the starter flow (${path.join('flows', 'starter.json')}) into ${userDir}`);
  }
  log(`Node-RED editor: ${url}`);
  log('press Ctrl+C to stop');

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      await RED.stop();
      // Watches outlive node restarts on purpose (deploy survival); at shutdown close them all.
      require(path.join(dist, 'core', 'watch', 'registry.js')).watchRegistry.closeAll();
      if (sim) await sim.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
      log('stopped');
      process.exit(0);
    } catch (err) {
      console.error(err);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(`[qumulo-flow] cannot start: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
