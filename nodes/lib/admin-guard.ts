// The one guard every admin endpoint of the bundle puts before Node-RED's permission check. It
// stops cross-site requests from a web page the operator happens to have open: Node-RED's admin
// app parses form-encoded bodies too, and a cross-site <form> post (or a body-less no-cors fetch)
// needs no CORS preflight. So:
//   - a request that a browser marks as coming from another origin (an `Origin` that is not this
//     host, or `Sec-Fetch-Site: cross-site|same-site`) is refused with 403;
//   - a POST/PUT/PATCH/DELETE must say `Content-Type: application/json` (even with an empty body,
//     since a form always sends a form type): anything else is refused with 415. A page can only
//     send that type cross-site after a preflight, which Node-RED does not grant.
// Requests without `Origin` (curl, node-red-admin, scripts) are judged by permissions alone.

import type { NextFunction, Request, Response } from 'express';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The media type of a Content-Type header, lower case, without parameters ('' when absent). */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/** `host[:port]` of an Origin header, or null when it is not an http(s) origin (e.g. `null`). */
function originHost(origin: string): string | null {
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.host.toLowerCase();
  } catch {
    return null;
  }
}

/** The hosts this request may legitimately come from: Host, and X-Forwarded-Host behind a proxy. */
function ownHosts(req: Request): string[] {
  const hosts: string[] = [];
  for (const value of [req.headers.host, req.headers['x-forwarded-host']]) {
    const text = Array.isArray(value) ? value.join(',') : value;
    if (!text) continue;
    for (const part of text.split(',')) if (part.trim()) hosts.push(part.trim().toLowerCase());
  }
  return hosts;
}

/** Why a request is refused, or null when it may go on to the permission check. */
export function adminRequestRefusal(req: Request): { status: 403 | 415; error: string } | null {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    return { status: 403, error: 'cross-origin requests to this endpoint are refused' };
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const host = originHost(String(origin));
    // An origin with a default port is sent without it; Host carries it only when not default.
    if (host === null || !ownHosts(req).includes(host)) {
      return { status: 403, error: 'cross-origin requests to this endpoint are refused' };
    }
  }
  if (METHODS_WITH_BODY.has(req.method.toUpperCase()) && mediaType(req.headers['content-type']) !== 'application/json') {
    return { status: 415, error: 'this endpoint accepts Content-Type: application/json only' };
  }
  return null;
}

/** Express middleware: use as the first handler of every admin route the bundle registers. */
export function adminGuard(req: Request, res: Response, next: NextFunction): void {
  const refusal = adminRequestRefusal(req);
  if (refusal) {
    res.status(refusal.status).json({ error: refusal.error });
    return;
  }
  next();
}
