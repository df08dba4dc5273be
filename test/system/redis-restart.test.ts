// The Redis nodes in a real Node-RED process when Redis itself goes away: 100,000 events produced
// by qumulo-redis-out inside Node-RED and consumed by qumulo-redis-in in the same process, while
// redis-server (AOF on) is restarted, then killed -9 and restarted: every event reaches the sink.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { NodeRedProcess } from '../support/nr-process';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { countLines, groupProgress, waitFor } from '../support/redis-helpers';

const TOTAL = 100_000;

/** Paced like a busy watch node: 100 events per timer tick. Same shape as makeEvent(). */
const GENERATOR = `
const total = Number(env.get('EVENTS'));
let seq = 0;
function tick() {
  for (let i = 0; i < 100 && seq < total; i++) {
    seq++;
    const name = 'file-' + seq + '.txt';
    node.send({ payload: {
      type: 'child_file_added', path: '/watched/dir/' + name, relativePath: 'dir/' + name, name: name,
      extension: 'txt', parentDir: '/watched/dir', fileId: String(1000000 + seq), spine: ['2', '3', String(1000000 + seq)],
      isDirectory: false, streamName: null, watchId: 'watch-1', watchRoot: '/watched', seq: seq, receivedAt: 1760000000000 + seq,
    } }, false);
  }
  if (seq < total) setTimeout(tick, 1);
}
tick();
return null;
`;

describe('Redis nodes in a Node-RED process while redis-server restarts and crashes', function () {
  this.timeout(180_000);
  let server: RedisServer;
  let raw: Redis;
  let workDir: string;
  const processes: NodeRedProcess[] = [];

  beforeEach(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qf-redis-dur-'));
  });
  afterEach(async () => {
    for (const nr of processes.splice(0)) await nr.stop();
    raw?.disconnect();
    await server?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('out → Redis → in → sink loses nothing while Redis (AOF) is restarted, then killed -9 and restarted', async () => {
    // appendfsync always: an XADD or XACK Redis answered is on disk, even across kill -9.
    server = await startRedisServer({ own: true, appendOnly: true, appendFsync: 'always', dataBase: '/dev/shm' });
    raw = new Redis(server.url, { maxRetriesPerRequest: null });
    raw.on('error', () => undefined); // this checking client sees the outages too
    const sinkFile = path.join(workDir, 'sink.txt');
    const flows = [
      { id: 'tab', type: 'tab', label: 'restart' },
      { id: 'redis', type: 'qumulo-redis', url: server.url, keyPrefix: 'dur:' },
      { id: 'go', type: 'inject', z: 'tab', x: 100, y: 100, once: true, onceDelay: '0.5', props: [{ p: 'payload' }], payloadType: 'date', wires: [['gen']] },
      { id: 'gen', type: 'function', z: 'tab', x: 250, y: 100, outputs: 1, func: GENERATOR, wires: [['out']] },
      { id: 'out', type: 'qumulo-redis-out', z: 'tab', x: 450, y: 100, redis: 'redis', stream: 'events', maxLen: '0', wires: [] },
      // An upstream that retries: a write that failed while Redis was down goes to the out node again.
      { id: 'retry', type: 'catch', z: 'tab', x: 250, y: 160, scope: ['out'], uncaught: false, wires: [['out']] },
      { id: 'in', type: 'qumulo-redis-in', z: 'tab', x: 150, y: 250, redis: 'redis', stream: 'events', group: 'workers', wires: [['sink']] },
      {
        id: 'sink', type: 'function', z: 'tab', x: 400, y: 250, outputs: 0, wires: [],
        func: "global.get('fs').appendFileSync(env.get('SINK_FILE'), msg.payload.seq + '\\n');\nreturn null;",
      },
    ];
    const nr = await NodeRedProcess.start({ flows, env: { SINK_FILE: sinkFile, EVENTS: String(TOTAL) } });
    processes.push(nr);

    await waitFor(() => countLines(sinkFile) >= TOTAL * 0.3, '30% at the sink', 90_000, 50);
    await server.restart();
    await waitFor(() => countLines(sinkFile) >= TOTAL * 0.6, '60% at the sink after the restart', 90_000, 50);
    await server.crashAndRestart();
    await waitFor(() => countLines(sinkFile) >= TOTAL, 'all events at the sink after the crash', 120_000, 100);
    await waitFor(async () => {
      const progress = await groupProgress(raw, 'dur:events', 'workers');
      return progress.pending === 0;
    }, 'all acknowledged');

    const seen = new Uint8Array(TOTAL + 1);
    let lines = 0;
    for (const line of fs.readFileSync(sinkFile, 'utf8').split('\n')) {
      if (line === '') continue;
      lines++;
      seen[Number(line)] = 1;
    }
    const missing: number[] = [];
    for (let seq = 1; seq <= TOTAL; seq++) if (!seen[seq]) missing.push(seq);
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} events lost`);
    assert.ok(nr.output().includes('connected to Redis'), 'the config node logged the reconnect');
    console.log(`      (${lines} sink lines for ${TOTAL} events: ${lines - TOTAL} repeats from the two Redis outages)`);
  });
});
