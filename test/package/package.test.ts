// What ships: the npm tarball and the Docker files.
// - `npm pack` (dry run) lists the compiled nodes with their editor HTML, icons, locales and the
//   examples, and none of the sources, tests, benchmarks or local state.
// - The real tarball (made by scripts/pack-docker.js, exactly what the Dockerfile copies) installs
//   with npm into a clean user directory of the Node-RED under test (4.1 on Node 20 in `npm test`,
//   5.0 on Node 22 in `npm run test:nr5`: the two image layouts); Node-RED started on that directory
//   with docker/settings.js (as the image starts it) loads every node type from there, serves their
//   editor HTML, help, icons and the examples, and encrypts credentials with the secret taken from
//   NODE_RED_CREDENTIAL_SECRET.
// - docker-compose.yml, the Dockerfile and docker/settings.js say what the README promises.
// There is no Docker engine here: the image itself is not built by this spec.

import * as assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createDecipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { NODE_RED_VERSION } from '../support/node-red';
import { freePort } from '../support/redis-server';
import { REPO_ROOT, bundleTypes, readPackage, validate, waitUntil } from '../support/shipping';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const PACKAGE = readPackage();
const RED_JS = require.resolve('node-red/red.js');
const SECRET = 'package-spec-credential-secret';

interface PackFile {
  path: string;
  size: number;
}

async function npm(args: string[], cwd: string, timeoutMs = 180_000): Promise<string> {
  try {
    const { stdout } = await run(NPM, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

describe('shipping: npm package and Docker files', function () {
  this.timeout(240_000);

  describe('npm pack', () => {
    let files: string[] = [];

    before(async () => {
      const out = await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], REPO_ROOT);
      const [info] = JSON.parse(out) as Array<{ files: PackFile[] }>;
      files = info.files.map((f) => f.path);
    });

    it('contains every node: compiled JS, editor HTML, message catalogue and help', () => {
      for (const [set, js] of Object.entries(PACKAGE['node-red'].nodes)) {
        assert.ok(files.includes(js), `${set}: ${js} not packed`);
        const html = js.replace(/\.js$/, '.html');
        assert.ok(files.includes(html), `${set}: ${html} not packed (no palette entry without it)`);
        const dir = path.posix.dirname(js);
        assert.ok(files.includes(`${dir}/locales/en-US/${set}.json`), `${set}: message catalogue not packed`);
        assert.ok(files.includes(`${dir}/locales/en-US/${set}.html`), `${set}: help not packed`);
      }
    });

    it('contains the icon every node names, and the runtime modules the nodes require', () => {
      const { types } = validate.editorDefinitions(REPO_ROOT, 'dist');
      for (const [type, def] of Object.entries(types)) {
        const icon = def.literals.icon;
        if (typeof icon !== 'string' || icon.startsWith('font-awesome/')) continue;
        assert.ok(files.includes(`dist/nodes/icons/${icon}`), `${type}: icon ${icon} not packed`);
      }
      // Every relative require of a packed node module resolves to a packed file.
      const packed = new Set(files);
      for (const file of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) {
        const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
        for (const m of text.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
          const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]));
          const candidates = [target, `${target}.js`, `${target}/index.js`, target.endsWith('.json') ? target : ''];
          assert.ok(candidates.some((c) => c && packed.has(c)), `${file} requires ${m[1]}, which is not packed`);
        }
      }
    });

    it('contains every example flow, the starter flow, the license and package.json', () => {
      for (const example of validate.listExamples(REPO_ROOT)) {
        const rel = path.relative(REPO_ROOT, example.file).split(path.sep).join('/');
        assert.ok(files.includes(rel), `${rel} not packed`);
      }
      for (const required of ['package.json', 'LICENSE', 'flows/starter.json']) assert.ok(files.includes(required), `${required} not packed`);
    });

    it('README: every link and picture is an absolute https link (the Flow Library page has no repo beside it); those into this repository name files that exist', () => {
      const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
      const targets = [...readme.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]);
      assert.ok(targets.some((t) => /\/docs\/images\/[\w-]+\.png$/.test(t)), 'the README shows the pictures the browser test takes');
      assert.deepEqual(targets.filter((t) => !/^https:\/\//.test(t) && !t.startsWith('#')), [], 'relative links in the README');
      const own = /^https:\/\/(?:github\.com\/qumulo-flow\/node-red-qumulo-flow\/(?:blob|tree)\/main|raw\.githubusercontent\.com\/qumulo-flow\/node-red-qumulo-flow\/main)\/([^#?]+)/;
      const missing = targets.map((t) => own.exec(t)?.[1]).filter((rel): rel is string => rel !== undefined && !fs.existsSync(path.join(REPO_ROOT, decodeURIComponent(rel))));
      assert.deepEqual(missing, [], 'README links to files that are not in the repository');
    });

    it('ships no source maps (their .ts sources are not shipped either) and no compiled tests or benchmarks', () => {
      assert.deepEqual(files.filter((f) => f.endsWith('.map')), []);
      assert.deepEqual(files.filter((f) => /(^|\/)(test|bench|test-artifacts)\//.test(f) || /\.test\.js$/.test(f)), []);
    });

    it('declares the simulator as a command (bin qumulo-flow-sim → a packed script with a node shebang)', () => {
      const bin = (PACKAGE as unknown as { bin?: Record<string, string> }).bin ?? {};
      assert.equal(bin['qumulo-flow-sim'], 'dist/sim/cli.js');
      assert.ok(files.includes('dist/sim/cli.js'), 'dist/sim/cli.js not packed');
      assert.match(fs.readFileSync(path.join(REPO_ROOT, 'dist', 'sim', 'cli.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
    });

    it('leaves out sources, tests, benchmarks, Docker files and local state', () => {
      const unwanted = files.filter(
        (f) =>
          /\.ts$/.test(f) ||
          /^(dist\/)?(test|bench)\//.test(f) ||
          /^(core|nodes|sim|scripts|docker|docs|\.ci|demo-data|test-artifacts|node_modules|\.node-red-user)\//.test(f) ||
          /(^|\/)\.(env|npmrc)$/.test(f) ||
          /\.tgz$/.test(f) ||
          /^(Dockerfile|docker-compose\.yml|tsconfig\.json|package-lock\.json)$/.test(f),
      );
      assert.deepEqual(unwanted, []);
    });
  });

  describe(`the tarball in a clean Node-RED ${NODE_RED_VERSION} user directory (Node ${process.version}), started with docker/settings.js`, () => {
    let workDir: string;
    let userDir: string;
    let tarball: string;
    let child: ChildProcess | undefined;
    let port = 0;
    let output = '';
    const url = () => `http://127.0.0.1:${port}`;

    before(async function () {
      this.timeout(300_000);
      workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-package-'));
      userDir = path.join(workDir, 'data');
      fs.mkdirSync(userDir);
      // scripts/pack-docker.js: npm pack, moved to docker/qumulo-flow.tgz — what the Dockerfile COPYs.
      await run(process.execPath, [path.join(REPO_ROOT, 'scripts', 'pack-docker.js')], { cwd: REPO_ROOT, timeout: 120_000 });
      tarball = path.join(workDir, 'qumulo-flow.tgz');
      fs.copyFileSync(path.join(REPO_ROOT, 'docker', 'qumulo-flow.tgz'), tarball);
      fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', description: 'clean user dir', version: '0.0.1', private: true }, null, 2));
      await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tarball], userDir, 240_000);

      port = await freePort();
      child = spawn(
        process.execPath,
        [RED_JS, '--userDir', userDir, '--settings', path.join(REPO_ROOT, 'docker', 'settings.js'), '--port', String(port), '-D', 'uiHost=127.0.0.1'],
        // Local-only: no editor login (the settings refuse to start without one otherwise; see below).
        { cwd: workDir, env: { ...process.env, NODE_RED_CREDENTIAL_SECRET: SECRET, NODE_RED_ENABLE_SAFE_MODE: '', QUMULO_FLOW_LOCAL_ONLY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-50_000)));
      child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-50_000)));
      await waitUntil(
        async () => {
          if (child?.exitCode !== null) throw new Error(`Node-RED exited (${child?.exitCode}):\n${output}`);
          return /\[info\] Started flows/.test(output);
        },
        90_000,
        `Node-RED to start:\n${output}`,
        100,
      );
    });

    after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child?.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    });

    async function get(urlPath: string, accept = 'application/json'): Promise<{ status: number; text: string }> {
      const res = await fetch(url() + urlPath, { headers: { Accept: accept } });
      return { status: res.status, text: await res.text() };
    }

    it('installed the package from the tarball into <userDir>/node_modules with only its runtime dependencies', () => {
      const installed = path.join(userDir, 'node_modules', ...PACKAGE.name.split('/'));
      const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as { version: string };
      assert.equal(pkg.version, PACKAGE.version);
      for (const dep of Object.keys(PACKAGE.dependencies)) assert.ok(fs.existsSync(path.join(userDir, 'node_modules', dep, 'package.json')), `dependency ${dep} not installed`);
      assert.ok(!fs.existsSync(path.join(installed, 'test')), 'tests shipped');
      const userPkg = JSON.parse(fs.readFileSync(path.join(userDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      assert.ok(userPkg.dependencies[PACKAGE.name], 'not recorded in the user dir package.json (palette manager would not list it)');
    });

    it('starts the simulator from the installed package (node_modules/.bin/qumulo-flow-sim) and prints the QUMULO_* settings for the examples', async function () {
      this.timeout(60_000);
      const bin = path.join(userDir, 'node_modules', '.bin', 'qumulo-flow-sim');
      assert.ok(fs.existsSync(bin), 'npm did not link the qumulo-flow-sim command');
      const root = path.join(workDir, 'sim-root');
      const sim = spawn(bin, ['--port', '0', '--root', root], { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      sim.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      sim.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      try {
        await waitUntil(() => /QUMULO_PORT=\d+/.test(out) || sim.exitCode !== null, 30_000, `simulator banner:\n${out}`, 50);
        const port = /QUMULO_PORT=(\d+)/.exec(out)?.[1];
        assert.ok(port, out);
        assert.match(out, /QUMULO_HOST=127\.0\.0\.1 QUMULO_PORT=\d+ QUMULO_PROTOCOL=http QUMULO_USERNAME=admin QUMULO_PASSWORD=admin/);
        const version = await fetch(`http://127.0.0.1:${port}/v1/version`);
        assert.equal(version.status, 200);
      } finally {
        const exited = new Promise((r) => sim.once('exit', r));
        sim.kill('SIGTERM');
        await exited;
      }
    });

    it('loads every node type of package.json from the user directory (GET /nodes)', async () => {
      const res = await get('/nodes');
      assert.equal(res.status, 200);
      const sets = (JSON.parse(res.text) as Array<{ module: string; types: string[]; enabled: boolean; local: boolean; err?: string }>).filter((s) => s.module === PACKAGE.name);
      const types = sets.flatMap((s) => s.types);
      for (const type of bundleTypes()) assert.ok(types.includes(type), `${type} not loaded; loaded: ${types.join(', ')}\n${output}`);
      for (const set of sets) {
        assert.equal(set.err, undefined, `${set.types.join(',')}: ${set.err}`);
        assert.equal(set.enabled, true);
        assert.equal(set.local, true, "not loaded from <userDir>/node_modules");
      }
      assert.doesNotMatch(output, /\[(error|warn)\].*qumulo/i, 'qumulo warnings or errors while loading');
    });

    it('serves each node’s editor definition, help and icon to the editor', async () => {
      const html = await get('/nodes', 'text/html');
      assert.equal(html.status, 200);
      const { types } = validate.editorDefinitions(REPO_ROOT, 'dist');
      for (const type of bundleTypes()) {
        assert.ok(html.text.includes(`registerType('${type}'`) || html.text.includes(`registerType("${type}"`), `${type}: no editor definition served`);
        assert.match(html.text, new RegExp(`data-help-name=["']${type}["']`), `${type}: no help served`);
        const icon = types[type]?.literals.icon;
        if (typeof icon === 'string' && !icon.startsWith('font-awesome/')) {
          const res = await fetch(`${url()}/icons/${PACKAGE.name}/${icon}`);
          assert.equal(res.status, 200, `${type}: icon ${icon}`);
          assert.match(res.headers.get('content-type') ?? '', /svg|png/);
        }
      }
      const catalog = await get(`/locales/${PACKAGE.name}/qumulo-watch?lng=en-US`);
      assert.equal(catalog.status, 200);
      assert.ok(Object.keys(JSON.parse(catalog.text) as object).length > 0, 'empty message catalogue');
    });

    it('lists the examples under Import → Examples and serves each one', async () => {
      const list = await get(`/library/examples/flows/${PACKAGE.name}`);
      assert.equal(list.status, 200);
      const names = (JSON.parse(list.text) as Array<string | { fn: string }>).map((e) => (typeof e === 'string' ? e : e.fn));
      const expected = validate.listExamples(REPO_ROOT).map((e) => e.name.split('/')[0]);
      assert.deepEqual([...new Set(names)].sort(), [...new Set(expected)].sort());
      for (const example of validate.listExamples(REPO_ROOT)) {
        const res = await get(`/library/examples/flows/${PACKAGE.name}/${example.name.split('/').map(encodeURIComponent).join('/')}`);
        assert.equal(res.status, 200, example.name);
        assert.deepEqual(JSON.parse(res.text), example.flow);
      }
    });

    it('encrypts credentials with the secret from NODE_RED_CREDENTIAL_SECRET', async () => {
      const password = 'never-stored-in-clear-' + Date.now();
      const flows = [{ id: 'c1', type: 'qumulo-cluster', name: 'creds', host: '127.0.0.1', port: '9', protocol: 'http', ca: '', skipVerify: false, maxConcurrency: '1', credentials: { username: 'admin', password } }];
      const res = await fetch(`${url()}/flows`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
        body: JSON.stringify({ flows }),
      });
      assert.equal(res.status, 200, await res.text());
      const credFile = path.join(userDir, 'flows_cred.json');
      await waitUntil(() => fs.existsSync(credFile), 10_000, 'flows_cred.json');
      const stored = JSON.parse(fs.readFileSync(credFile, 'utf8')) as { $: string };
      assert.ok(!JSON.stringify(stored).includes(password), 'password in clear');
      // Node-RED's format: AES-256-CTR, key = SHA-256(secret), 16-byte IV as 32 hex chars, then base64.
      const key = createHash('sha256').update(SECRET).digest();
      const iv = Buffer.from(stored.$.slice(0, 32), 'hex');
      const decipher = createDecipheriv('aes-256-ctr', key, iv);
      const plain = JSON.parse(decipher.update(stored.$.slice(32), 'base64', 'utf8') + decipher.final('utf8')) as Record<string, { password: string }>;
      assert.equal(plain.c1.password, password);
      assert.ok(!fs.existsSync(path.join(userDir, '.config.runtime.json')) || !/_credentialSecret/.test(fs.readFileSync(path.join(userDir, '.config.runtime.json'), 'utf8')), 'Node-RED generated its own secret');
    });
  });

  describe('Docker files', () => {
    it('docker-compose.yml: node-red built from . on 127.0.0.1:1880 with the credential secret, the editor login and a /data volume; Redis with AOF, unpublished; both with healthchecks, node-red starting once Redis is healthy', () => {
      type Service = {
        build?: unknown;
        image?: string;
        ports?: string[];
        environment?: Record<string, string> | string[];
        volumes?: string[];
        command?: string | string[];
        depends_on?: unknown;
        healthcheck?: { test?: string | string[]; interval?: string; timeout?: string; retries?: number };
      };
      const doc = yaml.load(fs.readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
      const nr = doc.services['node-red'];
      assert.ok(nr, 'no node-red service');
      const build = typeof nr.build === 'string' ? nr.build : (nr.build as { context?: string } | undefined)?.context;
      assert.equal(build, '.');
      // Published on loopback unless NODE_RED_BIND says otherwise: "${NODE_RED_BIND:-127.0.0.1}:1880:1880".
      const published = (nr.ports ?? []).map((p) => String(p).replace(/\$\{NODE_RED_BIND:-([^}]+)\}/, '$1'));
      assert.deepEqual(published, ['127.0.0.1:1880:1880'], `ports ${JSON.stringify(nr.ports)}`);
      const env = Array.isArray(nr.environment) ? Object.fromEntries(nr.environment.map((e) => e.split('='))) : (nr.environment ?? {});
      assert.ok('NODE_RED_CREDENTIAL_SECRET' in env, 'NODE_RED_CREDENTIAL_SECRET not passed');
      assert.match(String(env.NODE_RED_CREDENTIAL_SECRET), /\$\{NODE_RED_CREDENTIAL_SECRET/, 'the secret must come from the environment, not the file');
      for (const key of ['NODE_RED_ADMIN_USER', 'NODE_RED_ADMIN_PASSWORD_HASH', 'NODE_RED_ADMIN_PASSWORD']) {
        assert.match(String(env[key]), new RegExp(`^\\$\\{${key}`), `${key} must be passed from the environment`);
      }
      for (const key of ['QUMULO_HOST', 'QUMULO_PORT', 'QUMULO_PROTOCOL', 'QUMULO_USERNAME', 'QUMULO_PASSWORD', 'QUMULO_ACCESS_TOKEN', 'REDIS_URL']) assert.ok(key in env, `${key} (read by the examples) not passed`);
      assert.ok((nr.volumes ?? []).some((v) => /:\/data$/.test(String(v))), `volumes ${JSON.stringify(nr.volumes)}`);
      const redis = doc.services.redis;
      assert.ok(redis, 'no redis service');
      assert.match(String(redis.image), /^redis:/);
      assert.equal(redis.ports, undefined, 'Redis is published on the host');
      const command = Array.isArray(redis.command) ? redis.command.join(' ') : String(redis.command ?? '');
      assert.match(command, /--appendonly yes/);
      // Health: Redis answers PING; Node-RED answers its login endpoint (works with adminAuth on).
      assert.deepEqual(redis.healthcheck?.test, ['CMD', 'redis-cli', 'ping']);
      const nrCheck = nr.healthcheck?.test;
      assert.ok(Array.isArray(nrCheck) && nrCheck[0] === 'CMD', `node-red healthcheck ${JSON.stringify(nrCheck)}`);
      assert.match(nrCheck.join(' '), /\/auth\/login/);
      assert.deepEqual(nr.depends_on, { redis: { condition: 'service_healthy' } });
      // Named volumes used by the services are declared.
      for (const v of [...(nr.volumes ?? []), ...(redis.volumes ?? [])]) {
        const source = String(v).split(':')[0];
        if (!source.startsWith('.') && !source.startsWith('/')) assert.ok(doc.volumes && source in doc.volumes, `volume ${source} not declared`);
      }
      // The Dockerfile carries the same check (replacing the base image's, which reads /data/settings.js).
      const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
      assert.match(dockerfile, /^HEALTHCHECK [^\n]*\\\n\s*CMD \["node", "-e", "[^\n]*\/auth\/login/m);
    });

    it('Dockerfile: FROM an official nodered/node-red 5.0.x image by default, 4.1.x on Node 20 as the documented build-arg, installs the packed tarball and the settings file', () => {
      const text = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
      const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
      const args = Object.fromEntries(lines.flatMap((l) => (/^\s*ARG\s+(\w+)=(\S+)/.exec(l) ? [/^\s*ARG\s+(\w+)=(\S+)/.exec(l)!.slice(1, 3)] : [])));
      const from = lines.find((l) => /^\s*FROM\s/i.test(l));
      assert.ok(from, 'no FROM');
      const imageRef = from.replace(/^\s*FROM\s+/i, '').split(/\s+/)[0];
      const argName = /^\$\{(\w+)\}$|^\$(\w+)$/.exec(imageRef)?.slice(1).find(Boolean);
      assert.ok(argName && args[argName], `FROM ${imageRef}: the base must be a build-arg with a default`);
      // Each layout: an official tag <nr>-<node> of a Node-RED series package.json declares
      // (node-red.version), on a Node that series needs (4.1: Node >= 20, 5.0: Node >= 22.9).
      const minimumNode: Record<string, number> = { '4.1': 20, '5.0': 22 };
      const declared = PACKAGE['node-red'].version.split('||').map((r) => r.trim().replace(/\.x$/, ''));
      const layout = (image: string): string => {
        const match = /^nodered\/node-red:(\d+\.\d+)\.\d+-(\d+)$/.exec(image);
        assert.ok(match, `${image} is not an official nodered/node-red:<version>-<node major> tag`);
        const [, series, nodeMajor] = match;
        assert.ok(declared.includes(series), `${image}: Node-RED ${series} is not in node-red.version "${PACKAGE['node-red'].version}"`);
        assert.ok(Number(nodeMajor) >= minimumNode[series], `${image}: Node ${nodeMajor} is below what Node-RED ${series} needs`);
        return series;
      };
      assert.equal(layout(args[argName]), '5.0', `default base ${args[argName]}`);
      // The Node-RED 4.1 / Node 20 variant, as README, docs/shipping.md and the Dockerfile spell it.
      for (const file of ['README.md', 'docs/shipping.md', 'Dockerfile']) {
        const documented: string[] = [...fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').matchAll(new RegExp(`--build-arg ${argName}=(\\S+)`, 'g'))].map((m) => m[1]);
        assert.ok(documented.length > 0, `${file} does not document the --build-arg ${argName} variant`);
        for (const image of documented) {
          assert.equal(layout(image), '4.1', `${file}: --build-arg ${argName}=${image}`);
          assert.match(image, /-20$/, `${file}: the 4.1 variant is the Node 20 one`);
        }
      }
      assert.match(text, /COPY\s+docker\/qumulo-flow\.tgz\s+\S+/);
      assert.match(text, /RUN[^\n]*npm install[^\n]*--omit=dev[^\n]*qumulo-flow\.tgz/);
      const settingsCopy = /COPY\s+docker\/settings\.js\s+(\S+)/.exec(text);
      assert.ok(settingsCopy, 'settings file not copied');
      assert.ok(text.includes(`--settings", "${settingsCopy[1]}"`) || text.includes(`--settings ${settingsCopy[1]}`), 'the copied settings file is not passed to Node-RED');
      // pack-docker.js writes the tarball where the Dockerfile expects it.
      assert.match(fs.readFileSync(path.join(REPO_ROOT, 'scripts', 'pack-docker.js'), 'utf8'), /qumulo-flow\.tgz/);
    });

    it('.dockerignore lets through exactly what the Dockerfile copies (no node_modules, no user dir secrets)', () => {
      const ignoreFile = path.join(REPO_ROOT, '.dockerignore');
      assert.ok(fs.existsSync(ignoreFile), 'no .dockerignore: the whole repo (node_modules, .node-red-user) would be sent as build context');
      const rules = fs
        .readFileSync(ignoreFile, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => ({ negate: l.startsWith('!'), pattern: l.replace(/^!/, '').replace(/^\/+|\/+$/g, '') }));
      // Docker's rule: the last matching line decides; a pattern matches the path or a parent dir of it.
      const toRegex = (p: string) => new RegExp('^' + p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '(/.*)?$');
      const excluded = (file: string) => rules.reduce((ex, r) => (toRegex(r.pattern).test(file) ? !r.negate : ex), false);
      const copies = [...fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8').matchAll(/^\s*COPY\s+(?!--from)(?:--\S+\s+)*(\S+)\s+\S+/gm)].map((m) => m[1]);
      assert.ok(copies.length > 0);
      for (const source of copies) assert.equal(excluded(source), false, `${source} is excluded by .dockerignore but the Dockerfile copies it`);
      for (const secret of ['node_modules/node-red/package.json', '.node-red-user/.credential-secret', 'demo-data/README.txt', 'test-artifacts/pipeline.png', 'dist/nodes/qumulo-watch.js']) {
        assert.equal(excluded(secret), true, `${secret} would be sent to the Docker daemon`);
      }
    });

    describe('docker/settings.js in the image layout (/usr/src/node-red/qumulo-flow-settings.js beside Node-RED\'s node_modules)', () => {
      let imageDir: string;
      let settingsFile: string;
      const BASE_ENV = ['NODE_RED_ADMIN_USER', 'NODE_RED_ADMIN_PASSWORD_HASH', 'NODE_RED_ADMIN_PASSWORD', 'QUMULO_FLOW_LOCAL_ONLY', 'NODE_RED_CREDENTIAL_SECRET'];

      before(() => {
        imageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-image-'));
        settingsFile = path.join(imageDir, 'qumulo-flow-settings.js');
        fs.copyFileSync(path.join(REPO_ROOT, 'docker', 'settings.js'), settingsFile);
        // What the base image has in /usr/src/node-red/node_modules: Node-RED and its dependencies.
        fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(imageDir, 'node_modules'), 'dir');
      });
      after(() => fs.rmSync(imageDir, { recursive: true, force: true }));

      /** Loads the settings in a fresh node process with exactly this environment (as the entrypoint would). */
      async function load(env: Record<string, string>): Promise<{ ok: true; settings: Record<string, unknown> } | { ok: false; error: string }> {
        const childEnv: NodeJS.ProcessEnv = { ...process.env };
        for (const key of BASE_ENV) delete childEnv[key];
        Object.assign(childEnv, env);
        const script = `try { process.stdout.write(JSON.stringify(require(${JSON.stringify(settingsFile)}))); } catch (e) { process.stderr.write(e.message); process.exit(3); }`;
        try {
          const { stdout } = await run(process.execPath, ['-e', script], { cwd: imageDir, env: childEnv, timeout: 30_000 });
          return { ok: true, settings: JSON.parse(stdout) as Record<string, unknown> };
        } catch (err) {
          return { ok: false, error: String((err as { stderr?: string }).stderr ?? err) };
        }
      }

      it('refuses to load without an editor login, and says how to set one', async () => {
        const result = await load({ NODE_RED_CREDENTIAL_SECRET: 'x' });
        assert.equal(result.ok, false);
        assert.match((result as { error: string }).error, /NODE_RED_ADMIN_USER.*NODE_RED_ADMIN_PASSWORD_HASH.*QUMULO_FLOW_LOCAL_ONLY/s);
        const partials: Array<Record<string, string>> = [{ NODE_RED_ADMIN_USER: 'admin' }, { NODE_RED_ADMIN_PASSWORD: 'pw' }, { NODE_RED_ADMIN_USER: 'admin', NODE_RED_ADMIN_PASSWORD_HASH: 'not-a-hash' }];
        for (const partial of partials) {
          assert.equal((await load(partial)).ok, false, JSON.stringify(partial));
        }
      });

      it('takes a bcrypt hash, or hashes a plain password at start, for one admin user; credentialSecret from NODE_RED_CREDENTIAL_SECRET', async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const bcrypt = require('bcryptjs') as { hashSync(p: string, r: number): string; compareSync(p: string, h: string): boolean };
        const hash = bcrypt.hashSync('correct horse', 4);
        const withHash = await load({ NODE_RED_ADMIN_USER: 'ops', NODE_RED_ADMIN_PASSWORD_HASH: hash, NODE_RED_CREDENTIAL_SECRET: 's3cret-from-env' });
        assert.ok(withHash.ok, JSON.stringify(withHash));
        const auth = withHash.settings.adminAuth as { type: string; users: Array<{ username: string; password: string; permissions: string }> };
        assert.deepEqual(auth, { type: 'credentials', users: [{ username: 'ops', password: hash, permissions: '*' }] });
        assert.equal(withHash.settings.credentialSecret, 's3cret-from-env');
        assert.equal(withHash.settings.uiHost, undefined, 'with a login the editor listens on every interface of the container');
        assert.equal(withHash.settings.flowFile, 'flows.json');
        assert.equal(typeof withHash.settings.nodeCloseTimeout, 'number');

        const withPassword = await load({ NODE_RED_ADMIN_USER: 'ops', NODE_RED_ADMIN_PASSWORD: 'correct horse' });
        assert.ok(withPassword.ok, JSON.stringify(withPassword));
        const stored = (withPassword.settings.adminAuth as { users: Array<{ password: string }> }).users[0].password;
        assert.notEqual(stored, 'correct horse');
        assert.ok(bcrypt.compareSync('correct horse', stored), 'the plain password is stored as its bcrypt hash');
      });

      it('QUMULO_FLOW_LOCAL_ONLY=1: no login, and the editor listens on 127.0.0.1 only', async () => {
        const result = await load({ QUMULO_FLOW_LOCAL_ONLY: '1' });
        assert.ok(result.ok, JSON.stringify(result));
        assert.equal(result.settings.adminAuth, undefined);
        assert.equal(result.settings.uiHost, '127.0.0.1');
      });

      it('Node-RED started with it asks for the login, and the compose healthcheck passes', async function () {
        this.timeout(120_000);
        const userDir = path.join(imageDir, 'data');
        fs.mkdirSync(userDir, { recursive: true });
        const port = await freePort();
        const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_RED_ADMIN_USER: 'ops', NODE_RED_ADMIN_PASSWORD: 'correct horse', NODE_RED_CREDENTIAL_SECRET: SECRET, PORT: String(port), NODE_RED_ENABLE_SAFE_MODE: '' };
        delete childEnv.QUMULO_FLOW_LOCAL_ONLY;
        const nr = spawn(process.execPath, [RED_JS, '--userDir', userDir, '--settings', settingsFile, '-D', 'uiHost=127.0.0.1'], { cwd: imageDir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        nr.stdout?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-20_000)));
        nr.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-20_000)));
        try {
          await waitUntil(
            () => {
              if (nr.exitCode !== null) throw new Error(`Node-RED exited (${nr.exitCode}):\n${log}`);
              return /\[info\] (Started flows|Server now running)/.test(log);
            },
            60_000,
            `Node-RED to start:\n${log}`,
            100,
          );
          const login = (await (await fetch(`http://127.0.0.1:${port}/auth/login`)).json()) as { type?: string };
          assert.equal(login.type, 'credentials');
          assert.equal((await fetch(`http://127.0.0.1:${port}/flows`)).status, 401, 'the admin API answers without a login');
          const token = await fetch(`http://127.0.0.1:${port}/auth/token`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'ops', password: 'correct horse' }),
          });
          assert.equal(token.status, 200, 'the plain password does not log in');
          // The healthcheck exactly as docker-compose.yml runs it, with the container's PORT.
          const doc = yaml.load(fs.readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { healthcheck: { test: string[] } }> };
          const [, command, ...args] = doc.services['node-red'].healthcheck.test;
          assert.equal(command, 'node');
          await run(process.execPath, args, { env: { ...process.env, PORT: String(port) }, timeout: 20_000 });
          // …and it fails when nothing answers.
          await assert.rejects(run(process.execPath, args, { env: { ...process.env, PORT: String(await freePort()) }, timeout: 20_000 }));
        } finally {
          const exited = new Promise((r) => nr.once('exit', r));
          nr.kill('SIGTERM');
          const timer = setTimeout(() => nr.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
      });
    });
  });
});
