// Following an election: which lease term this instance works for. A new term (or the end of
// one) means the per-term work stops and, when leading again, starts afresh; the same role
// reported twice changes nothing.

import type { LeaseInfo } from './lease';

export class TermFollower {
  /** The term followed as leader (null: standing by; undefined: not decided yet). */
  private token: string | null | undefined = undefined;

  /** The term being followed now (null standing by), undefined before the first role. */
  get current(): string | null | undefined {
    return this.token;
  }

  /** Follows `info`: the new term's token (null: stand by now) when the role changed, else undefined. */
  follow(info: LeaseInfo): string | null | undefined {
    const token = info.role === 'leader' ? info.token : null;
    if (token === this.token) return undefined;
    this.token = token;
    return token;
  }
}
