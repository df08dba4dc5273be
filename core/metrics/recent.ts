// What the editor's sidebar shows besides the counters: the last errors, the last guard trips
// with their chain history, and the Redis backlog per stream. Bounded rings, process-wide.

export interface RecentError {
  at: string;
  node: string;
  text: string;
  path?: string;
}

export interface RecentTrip {
  at: string;
  node: string;
  path: string;
  reason: string;
  detail: string;
  /** The file's chain (events and actions), oldest first, as the guard reported it. */
  history: unknown[];
}

/** The part of a loop guard decision the metrics read (core/guard's GuardDecision fits). */
export interface GuardDecisionLike {
  verdict: 'passed' | 'suppressed' | 'tripped';
  reason?: string;
  detail?: string;
  history?: unknown[];
}

const MAX_ERRORS = 50;
const MAX_TRIPS = 50;
/** Steps of a chain kept per trip: the newest ones. */
const MAX_HISTORY = 20;
const MAX_TEXT = 500;

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

class Recent {
  readonly errors: RecentError[] = [];
  readonly trips: RecentTrip[] = [];
  readonly backlog = new Map<string, { stream: string; group: string; pending: number | null; lag: number | null; at: string }>();

  noteError(node: string, text: string, path?: string): void {
    this.errors.push({ at: new Date().toISOString(), node, text: clip(text), ...(path ? { path: clip(path) } : {}) });
    if (this.errors.length > MAX_ERRORS) this.errors.shift();
  }

  noteTrip(node: string, decision: GuardDecisionLike, event: { path?: string }): void {
    const history = Array.isArray(decision.history) ? decision.history.slice(-MAX_HISTORY) : [];
    this.trips.push({ at: new Date().toISOString(), node, path: clip(String(event.path ?? '')), reason: String(decision.reason ?? ''), detail: clip(String(decision.detail ?? '')), history });
    if (this.trips.length > MAX_TRIPS) this.trips.shift();
  }

  noteBacklog(stream: string, group: string, pending: number | undefined, lag: number | null | undefined): void {
    this.backlog.set(`${stream}\u0000${group}`, { stream, group, pending: pending ?? null, lag: lag ?? null, at: new Date().toISOString() });
  }

  clear(): void {
    this.errors.length = 0;
    this.trips.length = 0;
    this.backlog.clear();
  }
}

export const recent = new Recent();
