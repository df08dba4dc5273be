// Starts a real QumuloSimulator (sim/) on a fresh temp directory, loopback, port 0, for one test.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QumuloSimulator, type SimulatorOptions } from '../../sim/index';
import type { QumuloClientOptions } from '../../core/qumulo/client';

export const TLS_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'tls');

export interface TestSim {
  sim: QumuloSimulator;
  /** Backing directory (removed by stop()). */
  root: string;
  host: string;
  port: number;
  /** Client options for admin/admin over the simulator's protocol (add `ca` for TLS). */
  clientOptions(extra?: Partial<QumuloClientOptions>): QumuloClientOptions;
  /** Absolute disk path of a path relative to the root. */
  disk(rel: string): string;
  stop(): Promise<void>;
}

export interface TestSimOptions extends Partial<SimulatorOptions> {
  /** Serve HTTPS with the fixture certificate (CN=localhost, SAN 127.0.0.1). */
  https?: boolean;
  /** Files to create before start: relative path → content (directories end with `/`). */
  files?: Record<string, string>;
}

export function tlsFixture(): { key: string; cert: string } {
  return {
    key: fs.readFileSync(path.join(TLS_FIXTURES, 'key.pem'), 'utf8'),
    cert: fs.readFileSync(path.join(TLS_FIXTURES, 'cert.pem'), 'utf8'),
  };
}

export async function startSim(options: TestSimOptions = {}): Promise<TestSim> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-sim-'));
  for (const [rel, content] of Object.entries(options.files ?? {})) {
    const target = path.join(root, rel);
    if (rel.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
  }
  const { https, files: _files, ...simOptions } = options;
  const host = '127.0.0.1';
  const sim = new QumuloSimulator({ host, port: 0, ...simOptions, root, ...(https ? { tls: tlsFixture() } : {}) });
  await sim.start();
  return {
    sim,
    root,
    host,
    port: sim.port,
    clientOptions: (extra) => ({
      host,
      port: sim.port,
      protocol: https ? 'https' : 'http',
      username: options.username ?? 'admin',
      password: options.password ?? 'admin',
      ...extra,
    }),
    disk: (rel) => path.join(root, rel),
    stop: async () => {
      await sim.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
