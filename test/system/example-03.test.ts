// Example "03 - Full pipeline" as a user runs it: a real Node-RED process, the simulator, a real
// redis-server and SMTP server; suspicious files dropped into /incoming and files moved into
// /archive while it runs. The pipeline has a core switch node (it never calls done()) between the
// guard and the actions: every entry must be acknowledged once — nothing pending, no redelivery,
// no dead letter. (The issue asks for 10 minutes; EXAMPLE03_SECONDS sets the length, 10 s here.)
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { SMTPServer } from 'smtp-server';
import { NodeRedProcess } from '../support/nr-process';
import { REPO_ROOT } from '../support/runtime';
import { startRedisServer, uniquePrefix, type RedisServer } from '../support/redis-server';
import { startSim, type TestSim } from '../support/sim';

const SECONDS = Number(process.env.EXAMPLE03_SECONDS ?? 10);

type FlowNode = Record<string, unknown> & { id: string; type: string; z?: string; wires?: string[][] };

describe('example "03 - Full pipeline" runs with nothing pending, no redelivery, no dead letter', function () {
  this.timeout(120_000 + SECONDS * 1000);
  let sim: TestSim;
  let redis: RedisServer;
  let smtp: SMTPServer;
  let smtpPort = 0;
  let mails = 0;
  let nr: NodeRedProcess | undefined;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-ex03-'));

  before(async () => {
    sim = await startSim({ files: { 'incoming/': '', 'archive/': '', 'quarantine/': '' } });
    redis = await startRedisServer({ own: true });
    smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], onData: (stream, _s, cb) => { stream.resume(); stream.on('end', () => { mails++; cb(); }); } });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpPort = (smtp.server.address() as { port: number }).port;
  });
  after(async () => {
    await nr?.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await redis?.stop();
    await sim?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it(`for ${SECONDS} s with files arriving`, async () => {
    const file = fs.readdirSync(path.join(REPO_ROOT, 'examples')).find((name) => name.startsWith('03 - '));
    assert.ok(file, 'example 03 exists');
    const example = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', file), 'utf8')) as FlowNode[];
    const prefix = uniquePrefix('ex03');
    const tap = path.join(work, 'deliveries.txt');
    // As a user would: point the config nodes at this machine's simulator, Redis and mail server
    // (also through the QUMULO_*/REDIS_URL variables the examples may use); a short digest window.
    const flows = example.map((node) => {
      if (node.type === 'qumulo-cluster') return { ...node, host: sim.host, port: String(sim.port), protocol: 'http' };
      if (node.type === 'qumulo-redis') return { ...node, url: redis.url, keyPrefix: prefix };
      if (node.type === 'qumulo-email') return { ...node, host: '127.0.0.1', port: String(smtpPort), windowSeconds: 3, dryRun: false };
      // The example ships its irreversible actions as a dry run; untick it as its text says.
      if (node.type === 'qumulo-quarantine' || node.type === 'qumulo-lock') return { ...node, dryRun: false };
      return node;
    });
    const inNode = flows.find((node) => node.type === 'qumulo-redis-in')!;
    // A tap on the in node records every delivery count (a redelivery shows as 2 or more).
    inNode.wires = [[...(inNode.wires?.[0] ?? []), 'ex03-tap']];
    flows.push({ id: 'ex03-tap', type: 'function', z: inNode.z, x: 100, y: 900, outputs: 0, wires: [], func: "global.get('fs').appendFileSync(env.get('TAP_FILE'), msg.redis.deliveries + '\\n');\nreturn null;" });
    const credentials: Record<string, Record<string, string>> = {};
    for (const node of flows) {
      if (node.credentials) credentials[node.id] = node.credentials as Record<string, string>;
      delete node.credentials;
    }
    const cluster = flows.find((node) => node.type === 'qumulo-cluster')!;
    credentials[cluster.id] = { username: 'admin', password: 'admin' };
    nr = await NodeRedProcess.start({
      flows,
      credentials,
      env: { TAP_FILE: tap, QUMULO_HOST: sim.host, QUMULO_PORT: String(sim.port), QUMULO_PROTOCOL: 'http', QUMULO_USERNAME: 'admin', QUMULO_PASSWORD: 'admin', REDIS_URL: redis.url },
    });
    const deadline = Date.now() + SECONDS * 1000;
    for (let i = 1; Date.now() < deadline; i++) {
      fs.writeFileSync(sim.disk(`incoming/report-${i}.pdf`), 'fine');
      if (i % 3 === 0) fs.writeFileSync(sim.disk(`incoming/invoice-${i}.exe`), 'suspicious');
      if (i % 2 === 0) fs.renameSync(sim.disk(`incoming/report-${i}.pdf`), sim.disk(`archive/report-${i}.pdf`));
      await new Promise((r) => setTimeout(r, 100));
    }
    // The last digest window closes, then everything is acknowledged.
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      const stream = `${prefix}${String(inNode.stream ?? 'qumulo:events')}`;
      const group = String(inNode.group ?? 'qumulo-flow');
      let pending = -1;
      for (const until = Date.now() + 30_000; Date.now() < until; ) {
        pending = Number(((await client.xpending(stream, group)) as [number])[0]);
        if (pending === 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const deliveries = fs.readFileSync(tap, 'utf8').split('\n').filter(Boolean).map(Number);
      const dead = Number(await client.exists(`${stream}:dead`)) ? Number(await client.xlen(`${stream}:dead`)) : 0;
      console.log(`      ${deliveries.length} entries delivered, ${deliveries.filter((d) => d > 1).length} redelivered, ${pending} pending, ${dead} dead letters, ${mails} digest(s) mailed`);
      assert.ok(deliveries.length > SECONDS * 10, 'the watch fed the stream');
      assert.equal(pending, 0, 'nothing pending');
      assert.deepEqual(deliveries.filter((d) => d > 1), [], 'no redelivery');
      assert.equal(dead, 0, 'no dead letter');
      assert.ok(mails > 0, 'the digest went out');
      const quarantined = fs.readdirSync(sim.disk('quarantine'), { recursive: true }).filter((name) => String(name).endsWith('.exe'));
      assert.ok(quarantined.length > 0, 'suspicious files quarantined');
    } finally {
      client.disconnect();
    }
  });
});
