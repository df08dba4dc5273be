// A cluster error in a few words, for a status dot: "HTTP 401 …", an error code, or the message.

import { QumuloApiError, QumuloError } from './errors';

export function shortError(err: unknown): string {
  if (err instanceof QumuloApiError) return `HTTP ${err.status} ${err.errorClass || ''}`.trim();
  if (err instanceof QumuloError && 'code' in err) return String((err as { code: string }).code);
  return err instanceof Error ? err.message : String(err);
}
