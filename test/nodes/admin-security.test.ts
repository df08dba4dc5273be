// Issue 16, admin surface: an embedded Node-RED 4.1 runtime with the bundle, the simulator (with a
// password only the deployed cluster node knows), and a loopback "hostile" HTTP server that records
// everything sent to it. Proves that
//   1. "Test connection" never hands stored credentials to a host the caller picks, never resolves
//      ${…} from request values, never echoes them, and returns only bounded, parsed answers;
//   2. every admin endpoint of the bundle takes JSON only and refuses cross-origin requests;
//   9. a Redis password typed into the URL is refused, and URLs are redacted in errors and logs;
//  10. /qumulo-filter/check reads rule files only under the user directory or the allow-list.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { redactUrls, urlHasPassword } from '../../core/redact';
import { adminGuard } from '../../nodes/lib/admin-guard';
import { type EmbeddedRuntime, type FlowNode, startRuntime } from '../support/runtime';
import { type TestSim, startSim } from '../support/sim';
import { waitUntil as until } from '../support/wait';

const CLUSTER_PW = 'cluster-secret-pw-7f3a';
const REDIS_PW = 'redis-secret-pw-91c2';
const SMTP_PW = 'smtp-secret-pw-44d0';
const MQTT_PW = 'mqtt-secret-pw-0b8e';
const ENV_SECRET = 'env-secret-value-5e61';
const HOSTILE_MARKER = 'HOSTILE-BODY-c0ffee';
const STORED_SECRETS = [CLUSTER_PW, REDIS_PW, SMTP_PW, MQTT_PW];

interface Captured {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type HostileMode = 'refuse-login' | 'error-500' | 'huge-answers';

/** A loopback server that plays a (hostile) Qumulo API and records every request. */
async function startHostileServer(): Promise<{ port: number; requests: Captured[]; mode: HostileMode; stop(): Promise<void> }> {
  const state = { mode: 'refuse-login' as HostileMode, requests: [] as Captured[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/v1/version') {
        if (state.mode === 'huge-answers') json(200, { revision_id: 'R'.repeat(100_000) + HOSTILE_MARKER, build_id: { nested: HOSTILE_MARKER } });
        else json(200, { revision_id: 'Qumulo Core 7.0 (hostile)' });
        return;
      }
      if (state.mode === 'error-500') {
        res.writeHead(500, { 'Content-Type': 'text/html' });
        res.end(`<html>${HOSTILE_MARKER} internal details</html>`);
        return;
      }
      if (state.mode === 'huge-answers') {
        if (req.url === '/v1/session/login') json(200, { bearer_token: 'token' });
        else json(200, { id: 1, name: 'N'.repeat(100_000) + HOSTILE_MARKER, privileges: ['PRIVILEGE_FS_FILE_LOCK_WRITE', `<img src=x onerror=alert(1)>${HOSTILE_MARKER}`, ...Array(10_000).fill('PRIVILEGE_X')] });
        return;
      }
      json(401, { error_class: 'http_unauthorized_error', description: `${HOSTILE_MARKER} please retry` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    requests: state.requests,
    get mode() {
      return state.mode;
    },
    set mode(value: HostileMode) {
      state.mode = value;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An admin API request with any method, headers and raw body (runtime.request always sends JSON). */
function rawRequest(base: string, method: string, urlPath: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + urlPath, { method, headers: { ...headers, ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('admin surface security (issue 16)', function () {
  this.timeout(60_000);
  let sim: TestSim;
  let hostile: Awaited<ReturnType<typeof startHostileServer>>;
  let runtime: EmbeddedRuntime;
  let allowedDir: string;
  let outsideDir: string;

  const flows = (): FlowNode[] => [
    { id: 'tab', type: 'tab', label: 'security' },
    { id: 'c1', type: 'qumulo-cluster', name: 'cluster', host: '127.0.0.1', port: String(sim.port), protocol: 'http' },
    { id: 'c2', type: 'qumulo-cluster', name: 'cluster from env', host: '${QF_SEC_HOST}', port: '${QF_SEC_PORT}', protocol: 'http' },
    { id: 'r1', type: 'qumulo-redis', name: 'redis', url: 'redis://127.0.0.1:6399' },
    { id: 'e1', type: 'qumulo-email', z: 'tab', name: 'mail', host: '127.0.0.1', port: 2525, from: 'a@example.com', to: 'b@example.com', dryRun: true, x: 100, y: 100, wires: [] },
    { id: 'm1', type: 'mqtt-broker', name: 'mqtt', broker: '127.0.0.1', port: '1883', usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true, autoConnect: false },
    { id: 'f1', type: 'qumulo-filter', z: 'tab', name: 'filter', source: 'yaml', yaml: 'rules:\n  - name: any\n    when: { extension: [txt] }\n', x: 100, y: 200, wires: [[]] },
  ];

  before(async () => {
    sim = await startSim({ password: CLUSTER_PW });
    hostile = await startHostileServer();
    allowedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-rules-allowed-'));
    outsideDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-rules-outside-'));
    process.env.QF_SEC_SECRET = ENV_SECRET;
    process.env.QF_SEC_HOST = '127.0.0.1';
    process.env.QF_SEC_PORT = String(sim.port);
    process.env.QF_SEC_CLUSTER_PW = CLUSTER_PW;
    runtime = await startRuntime({ settings: { qumuloFlow: { ruleFileDirs: [allowedDir] } } });
    await runtime.deploy(flows(), 'full', {
      c1: { username: 'admin', password: CLUSTER_PW },
      c2: { username: 'admin', password: '${QF_SEC_CLUSTER_PW}' },
      r1: { password: REDIS_PW },
      e1: { user: 'mailer', password: SMTP_PW },
      m1: { user: 'mqtt-user', password: MQTT_PW },
    });
  });
  after(async () => {
    for (const name of ['QF_SEC_SECRET', 'QF_SEC_HOST', 'QF_SEC_PORT', 'QF_SEC_CLUSTER_PW']) delete process.env[name];
    delete process.env.QF_SEC_REDIS_URL;
    await runtime?.stop();
    await hostile?.stop();
    await sim?.stop();
    for (const dir of [allowedDir, outsideDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const test = (body: Record<string, unknown>) => runtime.request<{ ok: boolean; error?: string; user?: { name?: string } }>('POST', '/qumulo-flow/cluster/test', body);
  const sentToHostile = () => hostile.requests.map((r) => `${r.method} ${r.url} ${JSON.stringify(r.headers)} ${r.body}`).join('\n');

  describe('1. Test connection', () => {
    it("never sends a node's stored credentials to a host the caller picks, whatever node the id names", async () => {
      hostile.requests.length = 0;
      for (const id of ['c1', 'r1', 'e1', 'm1']) {
        for (const creds of [{ username: 'admin', password: '__PWRD__' }, { username: 'admin', accessToken: '__PWRD__' }, {}]) {
          const res = await test({ id, host: '127.0.0.1', port: String(hostile.port), protocol: 'http', ...creds });
          assert.equal(res.status, 200, res.text);
          assert.equal(res.body.ok, false, `${id} ${JSON.stringify(creds)}: ${res.text}`);
          for (const secret of STORED_SECRETS) assert.ok(!res.text.includes(secret), `${id}: answer holds a stored secret`);
        }
      }
      const seen = sentToHostile();
      for (const secret of STORED_SECRETS) assert.ok(!seen.includes(secret), `a stored secret reached the hostile server: ${secret}`);
      // The refusal says what to do instead.
      const refused = await test({ id: 'c1', host: '127.0.0.1', port: String(hostile.port), protocol: 'http', username: 'admin', password: '__PWRD__' });
      assert.match(refused.body.error ?? '', /stored password or token is used only for the deployed node with the same host, port and protocol/);
    });

    it('uses the stored password for the deployed cluster node whose host, port and protocol the request names', async () => {
      const res = await test({ id: 'c1', host: '127.0.0.1', port: String(sim.port), protocol: 'http', username: 'admin', password: '__PWRD__' });
      assert.equal(res.body.ok, true, res.text);
      assert.equal(res.body.user?.name, 'admin');
      // Same node, another protocol: not the deployed endpoint, so no stored password.
      const other = await test({ id: 'c1', host: '127.0.0.1', port: String(sim.port), protocol: 'https', username: 'admin', password: '__PWRD__' });
      assert.equal(other.body.ok, false);
      assert.match(other.body.error ?? '', /stored password/);
    });

    it('tests a deployed node configured from the environment when the dialog sends its stored ${…} values', async () => {
      // What the dialog of a Docker setup sends: the stored references, the password untouched.
      const asStored = await test({ id: 'c2', host: '${QF_SEC_HOST}', port: '${QF_SEC_PORT}', protocol: 'http', username: 'admin', password: '__PWRD__' });
      assert.equal(asStored.body.ok, true, asStored.text);
      const typedReference = await test({ id: 'c2', host: '${QF_SEC_HOST}', port: '${QF_SEC_PORT}', protocol: 'http', username: 'admin', password: '${QF_SEC_CLUSTER_PW}' });
      assert.equal(typedReference.body.ok, true, typedReference.text);
      // The same references under another id are not resolved.
      const otherNode = await test({ id: 'c1', host: '${QF_SEC_HOST}', port: '${QF_SEC_PORT}', protocol: 'http', username: 'admin', password: 'x' });
      assert.equal(otherNode.body.ok, false);
      assert.match(otherNode.body.error ?? '', /environment references/);
    });

    it('never resolves ${…} in request values and never echoes them', async () => {
      hostile.requests.length = 0;
      for (const body of [
        { password: '${QF_SEC_SECRET}' },
        { password: 'x', username: '${QF_SEC_SECRET}' },
        { password: 'x', port: '${QF_SEC_SECRET}' },
        { password: 'x', host: '${QF_SEC_SECRET}' },
        { accessToken: '${QF_SEC_SECRET}' },
      ]) {
        const res = await test({ host: '127.0.0.1', port: String(hostile.port), protocol: 'http', username: 'admin', ...body });
        assert.ok(!sentToHostile().includes(ENV_SECRET), `${JSON.stringify(body)}: an environment value reached the hostile server`);
        assert.ok(!res.text.includes(ENV_SECRET), `env value came back: ${res.text}`);
        assert.equal(res.body.ok, false, res.text);
        assert.match(res.body.error ?? '', /environment references/);
      }
      // A value is not echoed in the error either (the old message was `invalid port "<value>"`).
      const bad = await test({ host: '127.0.0.1', port: 'port-value-echo-check', protocol: 'http', username: 'admin', password: 'x' });
      assert.equal(bad.body.ok, false);
      assert.ok(!bad.text.includes('port-value-echo-check'), bad.text);
    });

    it('answers a hostile server with a short, fixed-vocabulary error and bounded fields, never its body', async () => {
      hostile.mode = 'refuse-login';
      const refused = await test({ host: '127.0.0.1', port: String(hostile.port), protocol: 'http', username: 'admin', password: 'typed' });
      assert.equal(refused.body.error, 'login refused (401)');
      assert.ok(!refused.text.includes(HOSTILE_MARKER), refused.text);

      hostile.mode = 'error-500';
      const failed = await test({ host: '127.0.0.1', port: String(hostile.port), protocol: 'http', username: 'admin', password: 'typed' });
      assert.equal(failed.body.error, 'not a Qumulo API (HTTP 500)');
      assert.ok(!failed.text.includes(HOSTILE_MARKER), failed.text);

      hostile.mode = 'huge-answers';
      const huge = await test({ host: '127.0.0.1', port: String(hostile.port), protocol: 'http', username: 'admin', password: 'typed' });
      assert.equal(huge.body.ok, true, huge.text.slice(0, 300));
      assert.ok(huge.text.length < 8_000, `answer is ${huge.text.length} characters`);
      assert.ok(!huge.text.includes(HOSTILE_MARKER) && !huge.text.includes('<img'), huge.text.slice(0, 300));
      hostile.mode = 'refuse-login';

      const closedPort = await new Promise<number>((resolve) => {
        const probe = http.createServer();
        probe.listen(0, '127.0.0.1', () => {
          const { port } = probe.address() as AddressInfo;
          probe.close(() => resolve(port));
        });
      });
      const unreachable = await test({ host: '127.0.0.1', port: String(closedPort), protocol: 'http', username: 'admin', password: 'typed' });
      assert.equal(unreachable.body.error, 'connection refused');
      const tls = await test({ host: '127.0.0.1', port: String(hostile.port), protocol: 'https', username: 'admin', password: 'typed' });
      assert.match(tls.body.error ?? '', /^TLS verification failed/);
      assert.ok(!tls.text.includes(String(hostile.port)), 'the error repeats the request');
    });
  });

  describe('2. JSON only, same origin only, on every admin endpoint of the bundle', () => {
    const endpoints: Array<[string, string]> = [
      ['POST', '/qumulo-flow/cluster/test'],
      ['POST', '/qumulo-filter/check'],
      ['POST', '/qumulo-flow/check'],
      ['POST', '/qumulo-filter/f1/reload'],
      ['POST', '/qumulo-flow/all-stop/not-deployed/reset'],
      ['GET', '/qumulo-flow/all-stop/not-deployed?probe'],
      ['GET', '/qumulo-flow/metrics'],
      ['GET', '/qumulo-flow/observability'],
      ['POST', '/qumulo-flow/observability/all-stop/reset'],
      ['GET', '/qumulo-flow/audit/export'],
    ];

    it('guards every route the bundle registers (no route without the guard)', () => {
      // Node-RED mounts the nodes' admin app (runtime.adminApp) inside its own: walk every router.
      type Layer = { route?: { path: string; methods: Record<string, boolean>; stack: Array<{ handle: unknown }> }; handle?: { stack?: Layer[]; _router?: { stack: Layer[] } } };
      const routes: NonNullable<Layer['route']>[] = [];
      const walk = (stack: Layer[]) => {
        for (const layer of stack) {
          if (layer.route) routes.push(layer.route);
          else if (layer.handle?.stack) walk(layer.handle.stack);
          else if (layer.handle?._router) walk(layer.handle._router.stack);
        }
      };
      const adminApp = (runtime.RED as unknown as { runtime: { httpAdmin: { _router: { stack: Layer[] } } } }).runtime.httpAdmin;
      walk(adminApp._router.stack);
      const ours = routes.filter((route) => /qumulo/.test(route.path));
      const registered = ours.map((r) => `${Object.keys(r.methods)[0].toUpperCase()} ${r.path}`).sort();
      assert.deepEqual(registered, [
        'GET /qumulo-flow/all-stop/:id',
        'GET /qumulo-flow/audit/export',
        'GET /qumulo-flow/metrics',
        'GET /qumulo-flow/observability',
        'POST /qumulo-filter/:id/reload',
        'POST /qumulo-filter/check',
        'POST /qumulo-flow/all-stop/:id/reset',
        'POST /qumulo-flow/check',
        'POST /qumulo-flow/cluster/test',
        'POST /qumulo-flow/observability/all-stop/reset',
        'POST /qumulo-flow/redis/test',
      ]);
      for (const route of ours) assert.equal(route.stack[0].handle, adminGuard, `${route.path} does not start with adminGuard`);
    });

    it('refuses form-encoded and text bodies with 415 (a cross-site <form> needs no preflight)', async () => {
      for (const [method, urlPath] of endpoints.filter(([m]) => m === 'POST')) {
        for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
          const res = await rawRequest(runtime.url, method, urlPath, { 'Content-Type': type }, 'host=127.0.0.1&port=1&id=c1&password=__PWRD__');
          assert.equal(res.status, 415, `${method} ${urlPath} with ${type}: ${res.status} ${res.text}`);
        }
        const bodiless = await rawRequest(runtime.url, method, urlPath, {});
        assert.equal(bodiless.status, 415, `${method} ${urlPath} without a content type`);
      }
    });

    it('refuses requests from another origin with 403, and serves the editor own origin', async () => {
      for (const [method, urlPath] of endpoints) {
        const json: Record<string, string> = method === 'POST' ? { 'Content-Type': 'application/json' } : {};
        const body = method === 'POST' ? '{}' : undefined;
        for (const headers of <Array<Record<string, string>>>[{ Origin: 'http://evil.example' }, { Origin: 'null' }, { Origin: runtime.url.replace(/:\d+$/, ':1') }, { 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site' }]) {
          const res = await rawRequest(runtime.url, method, urlPath, { ...json, ...headers }, body);
          assert.equal(res.status, 403, `${method} ${urlPath} ${JSON.stringify(headers)}: ${res.status} ${res.text}`);
        }
        const own = await rawRequest(runtime.url, method, urlPath, { ...json, Origin: runtime.url, 'Sec-Fetch-Site': 'same-origin' }, body);
        assert.ok(own.status !== 403 && own.status !== 415, `${method} ${urlPath} from the editor's origin: ${own.status} ${own.text}`);
      }
    });
  });

  describe('9. Redis password in the URL', () => {
    it('redacts the user-info of URLs, also malformed ones', () => {
      assert.equal(redactUrls('not a URL: "redis://u:p@ss/w@rd@host:x"'), 'not a URL: "redis://***@host:x"');
      assert.equal(redactUrls('a rediss://:pw@h:6379/0 and redis://h2'), 'a rediss://***@h:6379/0 and redis://h2');
      assert.equal(urlHasPassword('redis://user:pw@host'), true);
      assert.equal(urlHasPassword('redis://:pw@host'), true);
      assert.equal(urlHasPassword('redis://user@host:6379'), false);
      assert.equal(urlHasPassword('redis://host:6379/0'), false);
    });

    it('refuses a password typed into the URL field with a clear error, and never logs it', async () => {
      runtime.logs.length = 0;
      await runtime.deploy([
        ...flows(),
        { id: 'rbad', type: 'qumulo-redis', name: 'typed', url: 'redis://qf:redis-url-secret@127.0.0.1:6399' },
        { id: 'rout', type: 'qumulo-redis-out', z: 'tab', name: 'out', redis: 'rbad', stream: 'qumulo:events', x: 100, y: 300, wires: [] },
      ], 'full');
      await until(() => runtime.logs.some((l) => l.id === 'rbad'), 'the config node reports the refusal');
      const configError = runtime.logs.find((l) => l.id === 'rbad')!.msg;
      assert.match(configError, /contains a password.*Password field/);
      await until(() => runtime.logs.some((l) => l.id === 'rout'), 'the user node reports it');
      assert.match(runtime.logs.find((l) => l.id === 'rout')!.msg, /contains a password/);
      assert.ok(!runtime.logs.some((l) => l.msg.includes('redis-url-secret')), 'the password is in a log line');
    });

    it('accepts a URL with a password from the environment, and redacts it in errors', async () => {
      runtime.logs.length = 0;
      process.env.QF_SEC_REDIS_URL = 'redis://qf:env-url-secret@127.0.0.1:not-a-port';
      await runtime.deploy([
        ...flows(),
        { id: 'renv', type: 'qumulo-redis', name: 'from env', url: '${QF_SEC_REDIS_URL}' },
        { id: 'rout2', type: 'qumulo-redis-out', z: 'tab', name: 'out', redis: 'renv', stream: 'qumulo:events', x: 100, y: 300, wires: [] },
      ], 'full');
      await until(() => runtime.logs.some((l) => l.id === 'rout2'), 'the user node reports the bad URL');
      const line = runtime.logs.find((l) => l.id === 'rout2')!.msg;
      assert.match(line, /not a URL: "redis:\/\/\*\*\*@127\.0\.0\.1:not-a-port"/);
      assert.doesNotMatch(line, /contains a password/);
      assert.ok(!runtime.logs.some((l) => l.msg.includes('env-url-secret')), 'the password is in a log line');
      await runtime.deploy(flows(), 'full');
    });
  });

  describe('10. /qumulo-filter/check reads only allowed rule files', () => {
    const RULES = 'rules:\n  - name: pdf\n    when: { extension: [pdf] }\n';
    const check = (file: string) => runtime.request<{ ok: boolean; rules?: number; problems: Array<{ message: string }> }>('POST', '/qumulo-filter/check', { source: 'file', file });

    it('refuses files outside the user directory and the allow-list, without reading them', async () => {
      const secretFile = path.join(outsideDir, 'secret.yml');
      fs.writeFileSync(secretFile, 'secret-content-line: 1\nnot: [valid yaml');
      for (const file of [secretFile, '/etc/passwd', path.join(runtime.userDir, '..', path.basename(outsideDir), 'secret.yml'), '../' + path.basename(outsideDir) + '/secret.yml']) {
        const res = await check(file);
        assert.equal(res.body.ok, false, file);
        assert.match(res.body.problems[0].message, /only from the Node-RED user directory or a directory listed in settings\.js \(qumuloFlow\.ruleFileDirs\)/);
        assert.ok(!res.text.includes('secret-content') && !res.text.includes('root:'), `${file}: ${res.text}`);
      }
      // Files in the user directory that are not rule files (credentials, runtime config) neither.
      for (const name of ['flows_cred.json', '.config.runtime.json', 'flows.json']) {
        const res = await check(name);
        assert.equal(res.body.ok, false, name);
        assert.doesNotMatch(res.text, /credentialSecret|"\$"/);
      }
    });

    it('resolves symlinks before deciding', async () => {
      const secretFile = path.join(outsideDir, 'linked.yml');
      fs.writeFileSync(secretFile, RULES);
      fs.symlinkSync(secretFile, path.join(runtime.userDir, 'link-out.yml'));
      const res = await check('link-out.yml');
      assert.equal(res.body.ok, false);
      assert.match(res.body.problems[0].message, /only from the Node-RED user directory/);
    });

    it('reads rule files in the user directory and in an allow-listed directory', async () => {
      fs.writeFileSync(path.join(runtime.userDir, 'rules.yml'), RULES);
      fs.writeFileSync(path.join(allowedDir, 'shared.yaml'), RULES);
      for (const file of ['rules.yml', path.join(runtime.userDir, 'rules.yml'), path.join(allowedDir, 'shared.yaml')]) {
        const res = await check(file);
        assert.equal(res.body.ok, true, `${file}: ${res.text}`);
        assert.equal(res.body.rules, 1);
      }
      const missing = await check('missing.yml');
      assert.match(missing.body.problems[0].message, /does not exist/);
    });
  });
});
