// What ioredis says, in words a Node-RED user can act on. Its own texts name internals
// ("Reached the max retries per request limit (which is 20). Refer to "maxRetriesPerRequest"
// option for details.") or bare errno codes; the status dot and node.error show these instead.

const TRANSLATIONS: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/max retries per request limit/i, () => 'Redis is not reachable: the command was given up after several reconnect attempts (is Redis running at the configured URL?)'],
  [/Stream isn't writeable|enableOfflineQueue/i, () => 'not connected to Redis (the command was not sent)'],
  [/connect ECONNREFUSED (\S+)/, (m) => `Redis refused the connection at ${m[1]}: is it running there?`],
  [/getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (\S+)/, (m) => `Redis host "${m[1]}" not found (check the URL in the Redis config node)`],
  [/connect ETIMEDOUT|Connection timeout|ETIMEDOUT/i, () => 'Redis did not answer in time (network, firewall or wrong port?)'],
  [/ECONNRESET|EPIPE/, () => 'the connection to Redis was cut; reconnecting'],
  [/Connection is closed/i, () => 'the connection to Redis is closed; reconnecting'],
  [/^NOAUTH\b/, () => 'Redis asks for a password: set it in the Redis config node'],
  [/^WRONGPASS\b|invalid username-password pair|invalid password/i, () => 'Redis refused the user name or password of the Redis config node'],
  [/^NOPERM\b\s*(.*)/, (m) => `the Redis user may not run this (ACL): ${m[1]}`],
  [/^LOADING\b/, () => 'Redis is still loading its data after a restart; retrying'],
  [/^READONLY\b/, () => 'this Redis is a read-only replica: point the URL at the primary'],
  [/^OOM\b/, () => 'Redis is out of memory (maxmemory reached): the entry was not written'],
  [/^CLUSTERDOWN\b/, () => 'the Redis cluster is down'],
  [/self[- ]signed certificate|unable to verify the first certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_HAS_EXPIRED/i, () => 'the Redis server\'s TLS certificate is not trusted: paste its CA into the Redis config node'],
];

/** A user-facing text for an error from ioredis; unknown texts pass through unchanged. */
export function redisErrorText(err: unknown): string {
  const text = err instanceof Error ? err.message || String(err) : String(err);
  for (const [pattern, say] of TRANSLATIONS) {
    const m = pattern.exec(text);
    if (m) return say(m);
  }
  return text;
}
