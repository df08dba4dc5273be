// "Test connection" for the qumulo-cluster dialog. The request comes from the editor, so it is
// treated as untrusted input that can name any host:
//   - stored secrets (the password/token the dialog shows as unchanged) are used only for the
//     deployed qumulo-cluster node with that id, and only when the request's host, port and
//     protocol are that node's; no other node's credentials are ever read;
//   - `${VAR}` in a request value is never looked up in the environment: it is accepted only when it
//     is exactly what the deployed node holds (then the deployed node's resolved value is used);
//   - the answer carries parsed, bounded fields and a fixed-vocabulary error, never a value from the
//     request or a raw body from the server.

import type { NodeAPI } from 'node-red';
import { QumuloClient, type QumuloClientOptions } from '../../core/qumulo/client';
import { QumuloApiError, QumuloConnectionError, QumuloTimeoutError, QumuloTlsError } from '../../core/qumulo/errors';
import { type ClusterConfig, type ClusterCredentials, type QumuloClusterNode, CLUSTER_TYPE, clientOptionsFromConfig, literalValue } from './cluster';
import { storedConfig } from './stored-config';

/** Placeholder the editor sends for a password field the user did not touch. */
export const UNCHANGED_PASSWORD = '__PWRD__';
export const TEST_TIMEOUT_MS = 10_000;

/** A deployed qumulo-cluster as this endpoint sees it. */
interface DeployedCluster {
  /** Its properties as stored in the flow (`${VAR}` not resolved). */
  config: ClusterConfig;
  /** Its credentials as stored (`${VAR}` not resolved). */
  credentials: ClusterCredentials;
  /** The resolved options it connects with. */
  options: QumuloClientOptions;
}

export type TestRequest = Partial<ClusterConfig> & ClusterCredentials;

export interface TestResult {
  ok: boolean;
  version?: { revision_id: string; build_id?: string; flavor?: string };
  user?: { id?: string; name?: string };
  privileges?: string[];
  notes?: string[];
  error?: string;
  status?: number;
  errorClass?: string;
}

/** A refusal whose message is safe to show (fixed text, no request values). */
class Refusal extends Error {}

const MAX_TEXT = 200;
const MAX_PRIVILEGES = 200;
const PRIVILEGE = /^PRIVILEGE_[A-Z0-9_]{1,80}$/;
const ERROR_CLASS = /^[a-z0-9_]{1,80}$/;
const ERROR_CODE = /^[A-Z0-9_]{1,40}$/;
const HOST = /^(?:[A-Za-z0-9_.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])$/;

function hasEnvRef(value: string): boolean {
  return value.includes('${');
}

/** A short printable string from a server answer, or undefined. */
function boundedText(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  // eslint-disable-next-line no-control-regex
  const text = String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  return text ? text.slice(0, MAX_TEXT) : undefined;
}

/** The deployed qumulo-cluster with this id (no other node type), or null. */
function deployedCluster(RED: NodeAPI, id: unknown): DeployedCluster | null {
  if (typeof id !== 'string' || id === '') return null;
  const node = RED.nodes.getNode(id) as QumuloClusterNode | null;
  if (!node || node.type !== CLUSTER_TYPE || !node.clientOptions) return null;
  const config = storedConfig(RED, id);
  if (!config || config.type !== CLUSTER_TYPE) return null;
  const credentials = (RED.nodes.getCredentials(id) ?? {}) as ClusterCredentials;
  return { config: config as unknown as ClusterConfig, credentials, options: node.clientOptions };
}

/** The request names the deployed node's endpoint (as stored, or as resolved). */
function sameEndpoint(body: TestRequest, deployed: DeployedCluster): boolean {
  const options = deployed.options;
  const host = literalValue(body.host);
  const port = literalValue(body.port) || '8000';
  const protocol = literalValue(body.protocol) || 'https';
  const stored = deployed.config;
  return (
    (host === literalValue(stored.host) || host === options.host) &&
    (port === (literalValue(stored.port) || '8000') || port === String(options.port)) &&
    (protocol === (literalValue(stored.protocol) || 'https') || protocol === options.protocol)
  );
}

/** Builds the options to test with from the request, following the rules at the top of this file. */
export function testOptionsFromRequest(RED: NodeAPI, body: TestRequest): QumuloClientOptions {
  const candidate = deployedCluster(RED, body.id);
  const deployed = candidate && sameEndpoint(body, candidate) ? candidate : null;
  const resolved = deployed?.options;

  // A value with `${…}` stands for the deployed node's value only when it is exactly what it stores.
  const field = (value: unknown, storedRaw: unknown, storedResolved: unknown): string => {
    const text = literalValue(value);
    if (!hasEnvRef(text)) return text;
    if (deployed && text === literalValue(storedRaw)) return literalValue(storedResolved);
    throw new Refusal('environment references (${…}) are resolved only for the deployed node\'s own settings: deploy the node, then test');
  };
  const secret = (value: unknown, storedRaw: unknown, storedResolved: string | undefined): string => {
    if (value === UNCHANGED_PASSWORD) {
      if (!deployed || storedResolved === undefined) {
        throw new Refusal('the stored password or token is used only for the deployed node with the same host, port and protocol: type it to test other settings');
      }
      return storedResolved;
    }
    return field(value, storedRaw, storedResolved);
  };

  const stored = deployed?.config;
  const config: ClusterConfig = {
    id: '',
    host: field(body.host, stored?.host, resolved?.host),
    port: field(body.port, stored?.port, resolved?.port),
    protocol: field(body.protocol, stored?.protocol, resolved?.protocol),
    ca: field(body.ca, stored?.ca, resolved?.ca),
    maxConcurrency: field(body.maxConcurrency, stored?.maxConcurrency, resolved?.maxConcurrency),
    skipVerify: body.skipVerify === true || String(body.skipVerify) === 'true',
  };
  if (config.host && !HOST.test(config.host)) throw new Refusal('invalid host: give a host name or an IP address');
  const credentials: ClusterCredentials = {};
  const storedCredentials = deployed?.credentials;
  const accessToken = literalValue(body.accessToken);
  if (accessToken !== '') {
    credentials.accessToken = secret(body.accessToken, storedCredentials?.accessToken, resolved?.accessToken);
  } else {
    credentials.username = field(body.username, storedCredentials?.username, resolved?.username);
    credentials.password = secret(body.password, storedCredentials?.password, resolved?.password);
  }
  const usesStoredSecret = body.accessToken === UNCHANGED_PASSWORD || (accessToken === '' && body.password === UNCHANGED_PASSWORD);
  if (usesStoredSecret && config.skipVerify && config.protocol !== 'http' && resolved?.rejectUnauthorized !== false) {
    throw new Refusal('the stored password or token is not sent with TLS verification off unless the deployed node has it off too: type it to test');
  }
  try {
    return clientOptionsFromConfig(config, credentials, literalValue);
  } catch (err) {
    // clientOptionsFromConfig's messages are fixed texts that repeat no value.
    throw new Refusal((err as Error).message);
  }
}

function describeFailure(err: unknown): Pick<TestResult, 'error' | 'status' | 'errorClass'> {
  if (err instanceof Refusal) return { error: err.message };
  if (err instanceof QumuloApiError) {
    const errorClass = ERROR_CLASS.test(err.errorClass) ? err.errorClass : undefined;
    const result = { status: err.status, ...(errorClass ? { errorClass } : {}) };
    if (err.status === 401) return { error: 'login refused (401)', ...result };
    if (err.status === 403) return { error: 'access refused (403)', ...result };
    if (!errorClass) return { error: `not a Qumulo API (HTTP ${err.status})`, ...result };
    return { error: `the cluster answered HTTP ${err.status}`, ...result };
  }
  if (err instanceof QumuloTlsError) {
    const code = ERROR_CODE.test(err.code) ? ` (${err.code})` : '';
    const hint =
      err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || err.code === 'EPROTO'
        ? 'the server did not speak TLS: check the protocol and port'
        : err.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? 'the certificate names another host'
          : "the certificate is not trusted: paste the cluster's CA certificate (PEM) into the CA field";
    return { error: `TLS verification failed${code}: ${hint}` };
  }
  if (err instanceof QumuloTimeoutError) return { error: `timeout: no answer within ${TEST_TIMEOUT_MS / 1000} s` };
  if (err instanceof QumuloConnectionError) {
    if (err.code === 'ECONNREFUSED') return { error: 'connection refused' };
    if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return { error: 'host not found' };
    if (err.code === 'ECONNRESET' || err.code === 'UND_ERR_SOCKET' || err.code === 'UND_ERR_CLOSED') return { error: 'connection closed by the server' };
    return { error: `cannot connect${ERROR_CODE.test(err.code) ? ` (${err.code})` : ''}` };
  }
  return { error: 'not a Qumulo API' };
}

/** Runs the test with a throwaway client (the dialog's values may differ from the deployed ones). */
export async function testConnection(RED: NodeAPI, body: TestRequest): Promise<TestResult> {
  let client: QumuloClient | null = null;
  try {
    const options = testOptionsFromRequest(RED, typeof body === 'object' && body !== null ? body : {});
    try {
      client = new QumuloClient({ ...options, retries: 0, requestTimeoutMs: TEST_TIMEOUT_MS });
    } catch {
      throw new Refusal('these settings cannot make a connection (check host, port, protocol and credentials)');
    }
    const rawVersion = (await client.version()) as unknown;
    if (!rawVersion || typeof rawVersion !== 'object' || typeof (rawVersion as { revision_id?: unknown }).revision_id !== 'string') {
      return { ok: false, error: 'not a Qumulo API' };
    }
    const v = rawVersion as Record<string, unknown>;
    const version = {
      revision_id: boundedText(v.revision_id) ?? '?',
      ...(boundedText(v.build_id) ? { build_id: boundedText(v.build_id) } : {}),
      ...(boundedText(v.flavor) ? { flavor: boundedText(v.flavor) } : {}),
    };
    const who = (await client.whoAmI()) as unknown;
    if (!who || typeof who !== 'object') return { ok: false, error: 'not a Qumulo API' };
    const w = who as { id?: unknown; name?: unknown; privileges?: unknown };
    const privileges = Array.isArray(w.privileges)
      ? [...new Set(w.privileges.filter((p): p is string => typeof p === 'string' && PRIVILEGE.test(p)))].slice(0, MAX_PRIVILEGES)
      : [];
    const notes: string[] = [];
    if (options.rejectUnauthorized === false) notes.push('TLS verification is OFF: the certificate was not checked.');
    if (privileges.length > 0 && !privileges.includes('PRIVILEGE_FS_FILE_LOCK_WRITE')) {
      notes.push('No PRIVILEGE_FS_FILE_LOCK_WRITE: WORM lock actions will be refused.');
    }
    notes.push('Recursive watches need the DATA_ADMINISTRATOR privilege (Data-Administrators or Administrators role).');
    return { ok: true, version, user: { id: boundedText(w.id), name: boundedText(w.name) }, privileges, notes };
  } catch (err) {
    return { ok: false, ...describeFailure(err) };
  } finally {
    await client?.close();
  }
}
