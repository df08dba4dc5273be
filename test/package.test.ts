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
import { NODE_RED_VERSION } from './support/node-red';
import { freePort } from './support/redis-server';
import { REPO_ROOT, bundleTypes, readPackage, validate, waitUntil } from './support/shipping';

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
        { cwd: workDir, env: { ...process.env, NODE_RED_CREDENTIAL_SECRET: SECRET, NODE_RED_ENABLE_SAFE_MODE: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
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
    it('docker-compose.yml: node-red built from . on 1880 with the credential secret and a /data volume, and Redis with AOF', () => {
      const doc = yaml.load(fs.readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
        services: Record<string, { build?: unknown; image?: string; ports?: string[]; environment?: Record<string, string> | string[]; volumes?: string[]; command?: string | string[]; depends_on?: unknown }>;
        volumes?: Record<string, unknown>;
      };
      const nr = doc.services['node-red'];
      assert.ok(nr, 'no node-red service');
      const build = typeof nr.build === 'string' ? nr.build : (nr.build as { context?: string } | undefined)?.context;
      assert.equal(build, '.');
      assert.ok((nr.ports ?? []).some((p) => /(^|:)1880:1880$/.test(String(p))), `ports ${JSON.stringify(nr.ports)}`);
      const env = Array.isArray(nr.environment) ? Object.fromEntries(nr.environment.map((e) => e.split('='))) : (nr.environment ?? {});
      assert.ok('NODE_RED_CREDENTIAL_SECRET' in env, 'NODE_RED_CREDENTIAL_SECRET not passed');
      assert.match(String(env.NODE_RED_CREDENTIAL_SECRET), /\$\{NODE_RED_CREDENTIAL_SECRET/, 'the secret must come from the environment, not the file');
      assert.ok((nr.volumes ?? []).some((v) => /:\/data$/.test(String(v))), `volumes ${JSON.stringify(nr.volumes)}`);
      const redis = doc.services.redis;
      assert.ok(redis, 'no redis service');
      assert.match(String(redis.image), /^redis:/);
      const command = Array.isArray(redis.command) ? redis.command.join(' ') : String(redis.command ?? '');
      assert.match(command, /--appendonly yes/);
      assert.ok(String(JSON.stringify(nr.depends_on ?? '')).includes('redis'), 'node-red does not depend on redis');
      // Named volumes used by the services are declared.
      for (const v of [...(nr.volumes ?? []), ...(redis.volumes ?? [])]) {
        const source = String(v).split(':')[0];
        if (!source.startsWith('.') && !source.startsWith('/')) assert.ok(doc.volumes && source in doc.volumes, `volume ${source} not declared`);
      }
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

    it('docker/settings.js loads with require and reads credentialSecret from NODE_RED_CREDENTIAL_SECRET', () => {
      const file = path.join(REPO_ROOT, 'docker', 'settings.js');
      const load = (secret: string | undefined): Record<string, unknown> => {
        const before = process.env.NODE_RED_CREDENTIAL_SECRET;
        if (secret === undefined) delete process.env.NODE_RED_CREDENTIAL_SECRET;
        else process.env.NODE_RED_CREDENTIAL_SECRET = secret;
        try {
          delete require.cache[require.resolve(file)];
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          return require(file) as Record<string, unknown>;
        } finally {
          if (before === undefined) delete process.env.NODE_RED_CREDENTIAL_SECRET;
          else process.env.NODE_RED_CREDENTIAL_SECRET = before;
          delete require.cache[require.resolve(file)];
        }
      };
      assert.equal(load('s3cret-from-env').credentialSecret, 's3cret-from-env');
      assert.equal(load('another').credentialSecret, 'another');
      const settings = load('x');
      assert.equal(settings.flowFile, 'flows.json');
      assert.equal(typeof settings.nodeCloseTimeout, 'number');
    });
  });
});
