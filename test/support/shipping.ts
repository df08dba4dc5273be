// Shared by the shipping specs (examples, package, browser): what the package declares, the
// example flows, the scorecard parser (scripts/validate.js), a real loopback SMTP server, and the
// rewriting of an example's service addresses (simulator, Redis, SMTP) to servers a test started.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface PackageJson {
  name: string;
  version: string;
  files: string[];
  dependencies: Record<string, string>;
  'node-red': { version: string; nodes: Record<string, string> };
  [key: string]: unknown;
}

export function readPackage(root = REPO_ROOT): PackageJson {
  return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageJson;
}

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  x?: number;
  y?: number;
  wires?: string[][];
  [key: string]: unknown;
}

export interface Example {
  /** Menu path under Import → Examples → <package>, without `.json`. */
  name: string;
  file: string;
  flow?: FlowNode[];
  error?: string;
}

export interface EditorDefinition {
  set: string;
  htmlFile: string;
  defaults: Record<string, Record<string, unknown>>;
  credentials: string[];
  functions: string[];
  literals: Record<string, unknown>;
}

export interface Finding {
  type: string;
  message: string;
}

interface ValidateModule {
  listExamples(root?: string): Example[];
  editorDefinitions(root?: string, htmlFrom?: 'dist' | 'source'): { types: Record<string, EditorDefinition>; problems: Array<{ set: string; message: string }> };
  exampleCoverage(root?: string, htmlFrom?: 'dist' | 'source'): { nonConfig: string[]; missing: string[] };
  editorChecks(root?: string, htmlFrom?: 'dist' | 'source'): { types: Record<string, EditorDefinition>; findings: Finding[] };
}

/** scripts/validate.js: the scorecard's own parsing (acorn over the editor HTML) and our editor checks. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const validate = require(path.join(REPO_ROOT, 'scripts', 'validate.js')) as ValidateModule;

/** Node type names of the bundle, as package.json's `node-red.nodes` lists them (set name = type here). */
export function bundleTypes(): string[] {
  return Object.keys(readPackage()['node-red'].nodes);
}

/** Config node types: category 'config' in their editor HTML. */
export function configTypes(): Set<string> {
  const { types } = validate.editorDefinitions(REPO_ROOT, 'dist');
  return new Set(Object.keys(types).filter((t) => types[t].literals.category === 'config'));
}

/** A node of a flow is a config node when it has no position (the runtime's own rule). */
export function isConfigNode(node: FlowNode): boolean {
  return node.type !== 'tab' && node.type !== 'subflow' && node.type !== 'group' && (node.x === undefined || node.y === undefined);
}

export interface LocalServices {
  smtp?: { host: string; port: number };
  /** Untick Dry run on the action nodes, as the examples tell a user to once the results look right. */
  live?: boolean;
}

/** Node types whose examples ship as a dry run (what they do cannot be undone on a real cluster). */
export const IRREVERSIBLE_ACTIONS = ['qumulo-lock', 'qumulo-chmod', 'qumulo-rename', 'qumulo-quarantine'];

/**
 * A copy of an example as a test deploys it. The cluster and Redis need nothing: the examples read
 * them from QUMULO_* and REDIS_URL, which the specs set for their own simulator and redis-server
 * (exampleEnv). Email nodes are pointed at the test's SMTP server (plain SMTP on loopback), and
 * with `live` the action nodes' dry run is switched off. Everything else stays as the user gets it.
 */
export function pointAtLocalServices(flow: FlowNode[], services: LocalServices): FlowNode[] {
  return flow.map((original) => {
    const node: FlowNode = JSON.parse(JSON.stringify(original)) as FlowNode;
    if (node.type === 'qumulo-email' && services.smtp) {
      node.host = services.smtp.host;
      node.port = String(services.smtp.port);
      node.security = 'none';
    }
    if (services.live && IRREVERSIBLE_ACTIONS.includes(node.type)) node.dryRun = false;
    return node;
  });
}

/**
 * Sets environment variables the way `npm start` does for the examples (QUMULO_* from
 * QumuloSimulator.clusterEnv(), REDIS_URL); returns a function that restores the old values.
 */
export function exampleEnv(values: Record<string, string>): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(values)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/** Every directory a qumulo-watch of the flow watches (paths, not ids or ${ENV}). */
export function watchedDirectories(flow: FlowNode[]): string[] {
  return flow
    .filter((n) => n.type === 'qumulo-watch' && typeof n.path === 'string' && (n.path as string).startsWith('/'))
    .map((n) => n.path as string);
}

export interface TestSmtp {
  host: string;
  port: number;
  /** Raw messages received (RFC 5322 text). */
  messages: string[];
  stop(): Promise<void>;
}

/** A real SMTP server (smtp-server) on 127.0.0.1, any port, no TLS, no auth required. */
export async function startSmtp(): Promise<TestSmtp> {
  const messages: string[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    messages,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls `check` until it is true; fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
