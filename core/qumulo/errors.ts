// Typed errors of the Qumulo client. Qumulo error bodies (docs/qumulo-api.md §8) become QumuloApiError
// with the HTTP status and Qumulo's error class; transport problems become QumuloConnectionError
// (retryable) or QumuloTlsError (not retryable: a certificate does not fix itself).

import type { WireError } from './types';

export class QumuloError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface QumuloApiErrorInit {
  status: number;
  method: string;
  /** Request path (no origin, no query secrets: the API carries none in the query). */
  path: string;
  body?: WireError | null;
  /** Raw body text when it was not a JSON error object. */
  text?: string;
  /** Privilege the call needs, named in the message on a 403 (e.g. PRIVILEGE_FS_FILE_LOCK_WRITE). */
  privilegeHint?: string;
}

/** The cluster answered with a non-2xx status. */
export class QumuloApiError extends QumuloError {
  readonly status: number;
  /** Qumulo's `error_class`, e.g. `fs_no_such_entry_error`; `''` when the body had none. */
  readonly errorClass: string;
  readonly description: string;
  readonly module: string;
  readonly method: string;
  readonly path: string;
  readonly privilegeHint: string | undefined;
  readonly body: WireError | null;

  constructor(init: QumuloApiErrorInit) {
    const body = init.body ?? null;
    const errorClass = body?.error_class ?? '';
    const description = body?.description ?? (init.text ? init.text.slice(0, 500) : '');
    let message = `Qumulo ${init.method} ${init.path} failed: HTTP ${init.status}`;
    if (errorClass) message += ` ${errorClass}`;
    if (description) message += `: ${description}`;
    // A locked file (fs_read_only_error) is not a missing privilege: do not send people hunting.
    if (init.status === 403 && init.privilegeHint && errorClass !== 'fs_read_only_error') {
      message += ` (this call needs ${init.privilegeHint})`;
    }
    super(message);
    this.status = init.status;
    this.errorClass = errorClass;
    this.description = description;
    this.module = body?.module ?? '';
    this.method = init.method;
    this.path = init.path;
    this.privilegeHint = init.privilegeHint;
    this.body = body;
  }
}

/**
 * 401: the token was rejected and could not be renewed (access token expired/disabled, or the
 * username/password login itself failed).
 */
export class QumuloAuthError extends QumuloApiError {}

/** The cluster could not be reached or the connection broke (retryable). */
export class QumuloConnectionError extends QumuloError {
  /** Node/undici error code, e.g. ECONNREFUSED, UND_ERR_SOCKET, ETIMEDOUT. */
  readonly code: string;
  constructor(message: string, code: string, cause?: unknown) {
    super(message, { cause });
    this.code = code;
  }
}

/** No answer within requestTimeoutMs. */
export class QumuloTimeoutError extends QumuloConnectionError {}

/** The TLS handshake failed: the certificate is not trusted, expired, or names another host. */
export class QumuloTlsError extends QumuloError {
  readonly code: string;
  constructor(message: string, code: string, cause?: unknown) {
    super(message, { cause });
    this.code = code;
  }
}

/** A ref or path the client refuses to send (relative, `..`, control characters). */
export class QumuloPathError extends QumuloError {}

export function isApiError(err: unknown): err is QumuloApiError {
  return err instanceof QumuloApiError;
}

function hasClass(err: unknown, ...classes: string[]): boolean {
  return err instanceof QumuloApiError && classes.includes(err.errorClass);
}

export function isNotFound(err: unknown): boolean {
  return (
    (err instanceof QumuloApiError && err.status === 404) ||
    hasClass(err, 'fs_no_such_entry_error', 'fs_no_such_path_error')
  );
}

export function isAlreadyExists(err: unknown): boolean {
  return hasClass(err, 'fs_entry_exists_error') || (err instanceof QumuloApiError && err.status === 409 && err.errorClass === '');
}

/** The file is locked (WORM retention / legal hold) or otherwise read-only. */
export function isReadOnly(err: unknown): boolean {
  return hasClass(err, 'fs_read_only_error');
}

export function isAccessDenied(err: unknown): boolean {
  return (
    (err instanceof QumuloApiError && err.status === 403 && !isReadOnly(err)) ||
    hasClass(err, 'fs_access_denied_error', 'fs_access_perm_not_owner_error')
  );
}

export function isDirectoryNotEmpty(err: unknown): boolean {
  return hasClass(err, 'fs_directory_not_empty_error');
}

export function isAuthError(err: unknown): boolean {
  return err instanceof QumuloAuthError || (err instanceof QumuloApiError && err.status === 401);
}

export function isTlsError(err: unknown): boolean {
  return err instanceof QumuloTlsError;
}

/** Worth retrying later: transport failures, timeouts, 5xx, 429. */
export function isTransient(err: unknown): boolean {
  if (err instanceof QumuloConnectionError) return true;
  if (err instanceof QumuloApiError) return err.status >= 500 || err.status === 429;
  return false;
}

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

function findCode(err: unknown, depth = 0): string {
  if (!err || typeof err !== 'object' || depth > 5) return '';
  const code = (err as { code?: unknown }).code;
  const inner = findCode((err as { cause?: unknown }).cause, depth + 1);
  // Prefer the innermost specific code (undici wraps socket errors in UND_ERR_* / "fetch failed").
  if (inner && (TLS_CODES.has(inner) || !code || String(code).startsWith('UND_ERR'))) return inner;
  return typeof code === 'string' ? code : inner;
}

/** Turns a transport failure (undici / node net / tls error) into a typed, explanatory error. */
export function toTransportError(err: unknown, origin: string, timeoutMs?: number): QumuloError {
  if (err instanceof QumuloError) return err;
  const code = findCode(err) || (err instanceof Error && err.name === 'TimeoutError' ? 'ETIMEDOUT' : 'ECONNERROR');
  if (TLS_CODES.has(code)) {
    const hint =
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? 'the certificate does not name this host: connect by the name in the certificate, or add it to the certificate'
        : code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO'
          ? 'the server did not speak TLS: check the protocol (https/http) and port'
          : "the cluster's certificate is not trusted: paste the cluster's CA certificate (PEM) into the CA field, or, for testing only, enable 'skip TLS verification'";
    return new QumuloTlsError(`TLS verification failed for ${origin} (${code}): ${hint}`, code, err);
  }
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ABORT_ERR_TIMEOUT') {
    return new QumuloTimeoutError(`No answer from ${origin} within ${timeoutMs ?? '?'} ms`, 'ETIMEDOUT', err);
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new QumuloConnectionError(`Cannot reach ${origin} (${code}): ${detail}`, code, err);
}
