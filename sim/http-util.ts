// Small HTTP helpers for the simulator: request bodies, JSON replies, query flags, fs error mapping.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest } from './errors';

const JSON_BODY_LIMIT = 1024 * 1024;
export const DATA_BODY_LIMIT = 512 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new ApiError(413, 'invalid_request_error', 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Reads a JSON body; a body that is not JSON is a 400 `decode_error`. Empty body → undefined. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, JSON_BODY_LIMIT);
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError(400, 'decode_error', 'request body is not valid JSON');
  }
}

export function readJsonObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest('request body must be a JSON object');
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

/** `true/True/1` and `false/False/0` (the SDK sends Python spellings); absent → fallback. */
export function parseFlag(value: string | null, name: string, fallback: boolean): boolean {
  if (value === null || value === '') return fallback;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw badRequest(`${name} must be true or false`);
}

export function parsePositiveInt(value: string | null, name: string, fallback: number): number {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw badRequest(`${name} must be a positive integer`);
  return Number(value);
}

/** Maps a failed fs call onto the Qumulo error it stands for. */
export function fsError(err: unknown, what: string): ApiError {
  if (err instanceof ApiError) return err;
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT': return new ApiError(404, 'fs_no_such_entry_error', `no such entry: ${what}`);
    case 'EEXIST': return new ApiError(409, 'fs_entry_exists_error', `entry exists: ${what}`);
    case 'ENOTEMPTY': return new ApiError(409, 'fs_directory_not_empty_error', `directory not empty: ${what}`);
    case 'ENOTDIR': return new ApiError(400, 'fs_not_a_directory_error', `not a directory: ${what}`);
    case 'EISDIR': return new ApiError(400, 'fs_is_directory_error', `is a directory: ${what}`);
    case 'EACCES':
    case 'EPERM': return new ApiError(403, 'fs_access_denied_error', `access denied: ${what}`);
    case 'ELOOP': return badRequest(`refusing to follow a symlink: ${what}`);
    case 'EINVAL': return badRequest(`invalid operation on ${what}`);
    default: return new ApiError(500, 'internal_error', `${what}: ${(err as Error).message}`);
  }
}
