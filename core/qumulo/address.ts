// Where the cluster is: the host and port fields of the cluster config node. The host is a bare
// name or IP address; the scheme and the port have their own fields, so `https://x:8000/` is a
// mistake to point out, not something to guess at. The editor's validators mirror these checks
// (test/editor/editor-validators.test.ts feeds both the same cases).

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}(?:%[\w.-]{1,32})?$/;

/** Why `text` is not a bare host name or IP address, or null when it is one. */
export function clusterHostProblem(text: string): string | null {
  const host = String(text ?? '').trim();
  if (host === '') return 'no host';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) return 'write the host name only, without http:// or https:// (the protocol has its own field)';
  if (host.includes('/')) return 'write the host name only, without a path';
  if (/\s/.test(host)) return 'a host name has no spaces';
  const bracketed = /^\[(.*)\]$/.exec(host);
  if (bracketed || (host.match(/:/g) ?? []).length >= 2) {
    const address = bracketed ? bracketed[1] : host;
    return IPV6.test(address) && address.includes(':') ? null : 'not an IPv6 address';
  }
  if (host.includes(':')) return 'write the host name only, without :port (the port has its own field)';
  if (host.length > 253) return 'host name longer than 253 characters';
  const labels = host.replace(/\.$/, '').split('.');
  if (!labels.every((label) => LABEL.test(label))) return 'not a host name or IP address (letters, digits, "-" and "." only)';
  return null;
}

/** The host without surrounding blanks; throws with the reason when it is not a bare host. */
export function parseClusterHost(text: string): string {
  const problem = clusterHostProblem(text);
  if (problem) throw new Error(`invalid host: ${problem}`);
  const host = String(text).trim();
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** A TCP port 1–65535 written in decimal digits; empty means `fallback`. */
export function parseClusterPort(text: string, fallback = 8000): number {
  const value = String(text ?? '').trim();
  if (value === '') return fallback;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('invalid port: a whole number from 1 to 65535');
  return port;
}
