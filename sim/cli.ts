#!/usr/bin/env node
// `npm run sim`, or `npx qumulo-flow-sim` from an installed package (package.json "bin"): runs the
// Qumulo cluster simulator over a local directory until SIGINT/SIGTERM, and prints the QUMULO_*
// settings that point the examples' cluster node at it.
// Flags win over environment variables (QUMULO_SIM_ROOT, _PORT, _HOST, _USERNAME, _PASSWORD,
// _TLS_KEY, _TLS_CERT, _ACCESS_TOKEN), which win over the defaults.

import * as path from 'node:path';
import { QumuloSimulator, type SimulatorOptions } from './index';

const USAGE = `usage: qumulo-flow-sim [options]   (in this repository: npm run sim -- [options])
  --root DIR            backing directory (default ./demo-data, created if missing)
  --port N              TCP port (default 18000; 0 = any free port)
  --host ADDR           listen address (default 127.0.0.1)
  --tls-key FILE        PEM key  } both given: serve HTTPS
  --tls-cert FILE       PEM cert }
  --username NAME       login user (default admin)
  --password PASS       login password (default admin)
  --access-token TOKEN  also accept this bearer token as-is (repeatable)
  --keep-alive-ms N     SSE keep-alive cadence (default 15000)
  --latency-ms N        added to every REST response (default 0)
  --error-rate X        share of REST requests answered 503, 0..1 (default 0)
  --no-watch-disk       do not report changes made directly in the root directory`;

function parseArgs(argv: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument: ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (name === 'no-watch-disk' || name === 'help') value = 'true';
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new Error(`--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return flags;
}

function numberOf(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

async function main(): Promise<void> {
  const flags = parseArgs(process.argv.slice(2));
  if (flags.has('help')) {
    console.log(USAGE);
    return;
  }
  const known = new Set(['root', 'port', 'host', 'tls-key', 'tls-cert', 'username', 'password', 'access-token', 'keep-alive-ms', 'latency-ms', 'error-rate', 'no-watch-disk']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}\n${USAGE}`);
  const flag = (name: string, env: string): string | undefined => flags.get(name)?.at(-1) ?? process.env[env];

  const tlsKey = flag('tls-key', 'QUMULO_SIM_TLS_KEY');
  const tlsCert = flag('tls-cert', 'QUMULO_SIM_TLS_CERT');
  if ((tlsKey === undefined) !== (tlsCert === undefined)) throw new Error('--tls-key and --tls-cert go together');
  const accessTokens = flags.get('access-token') ?? (process.env.QUMULO_SIM_ACCESS_TOKEN ? [process.env.QUMULO_SIM_ACCESS_TOKEN] : []);
  const options: SimulatorOptions = {
    root: path.resolve(flag('root', 'QUMULO_SIM_ROOT') ?? './demo-data'),
    port: numberOf(flag('port', 'QUMULO_SIM_PORT'), '--port') ?? 18000,
    host: flag('host', 'QUMULO_SIM_HOST') ?? '127.0.0.1',
    tls: tlsKey !== undefined && tlsCert !== undefined ? { key: path.resolve(tlsKey), cert: path.resolve(tlsCert) } : undefined,
    username: flag('username', 'QUMULO_SIM_USERNAME') ?? 'admin',
    password: flag('password', 'QUMULO_SIM_PASSWORD') ?? 'admin',
    accessTokens,
    keepAliveMs: numberOf(flags.get('keep-alive-ms')?.at(-1), '--keep-alive-ms'),
    latencyMs: numberOf(flags.get('latency-ms')?.at(-1), '--latency-ms'),
    errorRate: numberOf(flags.get('error-rate')?.at(-1), '--error-rate'),
    watchDisk: !flags.has('no-watch-disk'),
  };

  const sim = new QumuloSimulator(options);
  await sim.start();
  const banner = [
    `Qumulo simulator listening on ${sim.url}`,
    `  root:        ${options.root}`,
    `  credentials: ${options.username} / ${options.password}`,
    ...accessTokens.map((token) => `  access token: ${token}`),
    `  try:         curl -s ${options.tls ? '-k ' : ''}${sim.url}/v1/version`,
    '  the examples read the cluster from the environment; start Node-RED with:',
    `    ${Object.entries(sim.clusterEnv())
      .filter(([, value]) => value !== '')
      .map(([key, value]) => `${key}=${/^[\w.:/-]+$/.test(value) ? value : JSON.stringify(value)}`)
      .join(' ')} node-red`,
  ];
  process.stdout.write(banner.join('\n') + '\n'); // one write: readers see the banner whole

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping simulator`);
    sim.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`qumulo-sim: ${(err as Error).message}`);
  process.exit(1);
});
