// HTTP client candidates side by side: the CPU each spends per REST request in this process, against
// the simulator in its own process (+10 ms per answer), N lock PATCHes with 64 in flight. This is
// how the client behind QumuloClient was chosen (issue 19); run it again before changing it.
//   npm run bench:http-clients
// Settings (env): BENCH_REQUESTS (4000), BENCH_CONCURRENCY (64), BENCH_LATENCY_MS (10), BENCH_ROUNDS (3:
// the candidates alternate round by round, so a change in the machine's load hits them all alike).

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent, Pool, type Dispatcher } from 'undici';
import { QumuloClient } from '../core/qumulo/client';
import { ranOn } from './ran-on';
import { startSimProcess } from './sim-process';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FILES = 500;

type Send = (path: string, body: string, token: string) => Promise<{ status: number; text: string }>;

interface Candidate {
  name: string;
  send: Send;
  close(): Promise<void>;
}

function collect(resolve: (v: { status: number; text: string }) => void, reject: (e: Error) => void) {
  let status = 0;
  const chunks: Buffer[] = [];
  return {
    onConnect() {},
    onHeaders(code: number) {
      status = code;
      return true;
    },
    onData(chunk: Buffer) {
      chunks.push(chunk);
      return true;
    },
    onComplete() {
      resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
    },
    onError(err: Error) {
      reject(err);
    },
  };
}

function undiciDispatch(name: string, dispatcher: Dispatcher, origin: string): Candidate {
  return {
    name,
    send: (p, body, token) =>
      new Promise((resolve, reject) => {
        dispatcher.dispatch(
          { origin, path: p, method: 'PATCH', body, headers: { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: 'Bearer ' + token }, headersTimeout: 30_000, bodyTimeout: 30_000 },
          collect(resolve, reject) as unknown as Dispatcher.DispatchHandler,
        );
      }),
    close: () => dispatcher.close(),
  };
}

function undiciRequest(name: string, dispatcher: Dispatcher): Candidate {
  return {
    name,
    send: async (p, body, token) => {
      const res = await dispatcher.request({ path: p, method: 'PATCH', body, headers: { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: 'Bearer ' + token } });
      return { status: res.statusCode, text: await res.body.text() };
    },
    close: () => dispatcher.close(),
  };
}

function nodeHttp(port: number): Candidate {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, scheduling: 'lifo' });
  return {
    name: 'node:http, keep-alive Agent',
    send: (p, body, token) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, path: p, method: 'PATCH', agent, headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: 'Bearer ' + token } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: async () => agent.destroy(),
  };
}

/**
 * Not a client: the floor. One request string per write on 64 raw keep-alive sockets, answers
 * split by Content-Length only (no chunked encoding, no TLS, no errors handled) — what the kernel
 * and the event loop cost per request whatever the HTTP library.
 */
function rawSocketFloor(port: number): Candidate {
  const idle: net.Socket[] = [];
  const waiters: Array<(s: net.Socket) => void> = [];
  const all: net.Socket[] = [];
  const take = (): Promise<net.Socket> => {
    let s = idle.pop();
    while (s && (s.destroyed || !s.writable)) s = idle.pop();
    if (s) return Promise.resolve(s);
    if (all.length < CONCURRENCY) {
      const sock = net.connect(port, '127.0.0.1');
      sock.setNoDelay(true);
      all.push(sock);
      // The server closes idle keep-alive sockets (5 s): forget them.
      sock.once('close', () => {
        all.splice(all.indexOf(sock), 1);
        const at = idle.indexOf(sock);
        if (at >= 0) idle.splice(at, 1);
      });
      return new Promise((resolve) => sock.once('connect', () => resolve(sock)));
    }
    return new Promise((resolve) => waiters.push(resolve));
  };
  const give = (s: net.Socket): void => {
    const w = waiters.shift();
    if (w) w(s);
    else idle.push(s);
  };
  return {
    name: 'raw socket floor (not a client: no chunked/TLS/errors)',
    send: async (p, body, token) => {
      const sock = await take();
      return new Promise((resolve, reject) => {
        let buf = '';
        const onData = (chunk: Buffer): void => {
          buf += chunk.toString('latin1');
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const m = /content-length: *(\d+)/i.exec(buf.slice(0, end));
          const len = m ? Number(m[1]) : 0;
          if (buf.length < end + 4 + len) return;
          sock.off('data', onData);
          sock.off('error', reject);
          give(sock);
          resolve({ status: Number(buf.slice(9, 12)), text: Buffer.from(buf.slice(end + 4, end + 4 + len), 'latin1').toString('utf8') });
        };
        sock.on('data', onData);
        sock.once('error', reject);
        sock.write(`PATCH ${p} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: keep-alive\r\naccept: application/json\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
    },
    close: async () => all.forEach((s) => s.destroy()),
  };
}

async function runCandidate(c: Candidate, token: string): Promise<{ cpuUs: number; seconds: number }> {
  let next = 0;
  const body = JSON.stringify({ retention_period: '2099-01-01T00:00:00Z' });
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const r = await c.send(`/v1/files/${encodeURIComponent(`/f${i % FILES}.dat`)}/file-lock`, body, token);
      if (r.status !== 200) throw new Error(`${c.name}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
      JSON.parse(r.text);
    }
  };
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / REQUESTS, seconds };
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-http-'));
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(root, `f${i}.dat`), 'x');
  const sim = await startSimProcess(root, LATENCY_MS);
  process.once('exit', () => sim.child.kill('SIGTERM'));
  const origin = `http://127.0.0.1:${sim.port}`;
  const qc = new QumuloClient({ host: '127.0.0.1', port: sim.port, protocol: 'http', username: 'admin', password: 'admin', maxConcurrency: CONCURRENCY });
  const token = await qc.getToken();
  const make = (): Candidate[] => [
    {
      name: 'QumuloClient.setFileLock (whole client path)',
      send: async (p, _body, _t) => {
        const ref = decodeURIComponent(p.split('/')[3]);
        await qc.setFileLock(ref, { retention_period: '2099-01-01T00:00:00Z' });
        return { status: 200, text: '{}' };
      },
      close: async () => undefined,
    },
    undiciDispatch('undici Agent.dispatch, minimal handler', new Agent({ keepAliveTimeout: 10_000 }), origin),
    undiciDispatch('undici Pool.dispatch (64 connections)', new Pool(origin, { connections: CONCURRENCY }), origin),
    undiciRequest('undici Pool.request (64 connections)', new Pool(origin, { connections: CONCURRENCY })),
    undiciDispatch('undici Pool.dispatch, 16 connections × pipelining 4', new Pool(origin, { connections: Math.ceil(CONCURRENCY / 4), pipelining: 4 }), origin),
    nodeHttp(sim.port),
    rawSocketFloor(sim.port),
  ];
  const candidates = make();
  const results = new Map<string, Array<{ cpuUs: number; seconds: number }>>();
  for (const c of candidates) await runCandidate(c, token); // warm-up round, not counted
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of round % 2 ? [...candidates].reverse() : candidates) {
      const r = await runCandidate(c, token);
      results.set(c.name, [...(results.get(c.name) ?? []), r]);
    }
  }
  console.log(`HTTP client candidates — ${ranOn()}; ${REQUESTS} PATCHes × ${ROUNDS} rounds, ${CONCURRENCY} in flight, +${LATENCY_MS} ms per answer; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const c of candidates) {
    const rs = results.get(c.name)!;
    const cpu = rs.map((r) => r.cpuUs).sort((a, b) => a - b);
    const rate = rs.map((r) => REQUESTS / r.seconds).sort((a, b) => a - b);
    console.log(`  ${c.name.padEnd(52)} CPU/request median ${cpu[cpu.length >> 1].toFixed(0).padStart(4)} µs (${cpu.map((x) => x.toFixed(0)).join(', ')}); ${rate[rate.length >> 1].toFixed(0)} requests/s`);
  }
  for (const c of candidates) await c.close();
  await qc.close();
  sim.child.kill('SIGTERM');
  fs.rmSync(root, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
