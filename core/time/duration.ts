// Retention specs for file locks and snapshot expirations: relative durations (`30d`, `7y`,
// `1y6mo`, ISO 8601 `P30D`) or absolute dates (`2030-01-01`, `2030-01-01T12:00:00Z`).
// Qumulo takes an absolute UTC timestamp (docs/qumulo-api.md §4.1); relative specs are turned into one
// the way `qq fs_file_set_lock --days N` and Qumulo/filelock do: now + N, second precision.

export type RetentionSpec =
  | { kind: 'relative'; text: string; parts: DurationParts }
  | { kind: 'absolute'; text: string; at: Date };

export interface DurationParts {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

const EMPTY_PARTS: DurationParts = { years: 0, months: 0, weeks: 0, days: 0, hours: 0, minutes: 0, seconds: 0 };

// `m` alone is refused on purpose: half the people who write `6m` mean months, half minutes.
const UNIT_TO_PART: Readonly<Record<string, keyof DurationParts>> = {
  y: 'years',
  yr: 'years',
  yrs: 'years',
  year: 'years',
  years: 'years',
  mo: 'months',
  month: 'months',
  months: 'months',
  w: 'weeks',
  week: 'weeks',
  weeks: 'weeks',
  d: 'days',
  day: 'days',
  days: 'days',
  h: 'hours',
  hr: 'hours',
  hrs: 'hours',
  hour: 'hours',
  hours: 'hours',
  min: 'minutes',
  mins: 'minutes',
  minute: 'minutes',
  minutes: 'minutes',
  s: 'seconds',
  sec: 'seconds',
  secs: 'seconds',
  second: 'seconds',
  seconds: 'seconds',
};

// Upper bound keeps Date arithmetic finite and catches typos such as `70000y`.
const MAX_YEARS = 200;

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Parses `30d`, `7y`, `1y 6mo`, `12h30min`, `P7Y`, `P1Y2M10DT2H30M`, `PT45S`. */
export function parseDuration(text: string): DurationParts {
  const trimmed = text.trim();
  if (trimmed === '') throw new DurationError('empty duration');
  const parts = /^P/i.test(trimmed) ? parseIsoDuration(trimmed) : parseShortDuration(trimmed);
  if (durationIsZero(parts)) throw new DurationError(`duration "${text}" is zero`);
  if (parts.years + parts.months / 12 + parts.weeks / 52 + parts.days / 365 > MAX_YEARS) {
    throw new DurationError(`duration "${text}" is longer than ${MAX_YEARS} years`);
  }
  return parts;
}

function parseShortDuration(text: string): DurationParts {
  const parts: DurationParts = { ...EMPTY_PARTS };
  const token = /(\d+)\s*([a-zA-Z]+)\s*/y;
  let index = 0;
  let matched = 0;
  while (index < text.length) {
    token.lastIndex = index;
    const m = token.exec(text);
    if (!m) throw new DurationError(`cannot read duration "${text}" (use e.g. 30d, 7y, 1y6mo, 12h, 90min)`);
    const unit = m[2].toLowerCase();
    if (unit === 'm') throw new DurationError(`"${m[0].trim()}" is ambiguous: write "mo" for months or "min" for minutes`);
    const part = UNIT_TO_PART[unit];
    if (!part) throw new DurationError(`unknown unit "${m[2]}" in "${text}" (units: y, mo, w, d, h, min, s)`);
    parts[part] += Number(m[1]);
    index = token.lastIndex;
    matched++;
  }
  if (matched === 0) throw new DurationError(`cannot read duration "${text}"`);
  return parts;
}

function parseIsoDuration(text: string): DurationParts {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(text);
  if (!m || text.toUpperCase() === 'P' || /T$/i.test(text)) throw new DurationError(`cannot read ISO 8601 duration "${text}"`);
  const n = (s: string | undefined): number => (s === undefined ? 0 : Number(s));
  return { years: n(m[1]), months: n(m[2]), weeks: n(m[3]), days: n(m[4]), hours: n(m[5]), minutes: n(m[6]), seconds: n(m[7]) };
}

function durationIsZero(p: DurationParts): boolean {
  return Object.values(p).every((v) => v === 0);
}

/** Adds a duration in UTC calendar terms (years and months follow the calendar, like `date -d`). */
export function addDuration(start: Date, p: DurationParts): Date {
  const d = new Date(start.getTime());
  if (p.years || p.months) d.setUTCMonth(d.getUTCMonth() + p.months + 12 * p.years);
  const ms = ((((p.weeks * 7 + p.days) * 24 + p.hours) * 60 + p.minutes) * 60 + p.seconds) * 1000;
  return new Date(d.getTime() + ms);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// A zone is required for date-times: a lock date must not depend on the server's local time zone.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** Reads a retention spec: a duration, a date (`2030-01-01` = midnight UTC) or a date-time with zone. */
export function parseRetentionSpec(text: string): RetentionSpec {
  const trimmed = String(text ?? '').trim();
  if (trimmed === '') throw new DurationError('empty retention');
  const dateOnly = ISO_DATE.exec(trimmed);
  if (dateOnly) {
    const at = new Date(Date.UTC(Number(dateOnly[1]), Number(dateOnly[2]) - 1, Number(dateOnly[3])));
    if (at.getUTCDate() !== Number(dateOnly[3]) || at.getUTCMonth() !== Number(dateOnly[2]) - 1) {
      throw new DurationError(`"${trimmed}" is not a calendar date`);
    }
    return { kind: 'absolute', text: trimmed, at };
  }
  if (/^\d{4}-\d{2}-\d{2}[T ]/.test(trimmed)) {
    if (!ISO_DATE_TIME.test(trimmed)) {
      throw new DurationError(`date-time "${trimmed}" needs a time zone (e.g. 2030-01-01T00:00:00Z)`);
    }
    const at = new Date(trimmed.replace(' ', 'T'));
    if (Number.isNaN(at.getTime())) throw new DurationError(`"${trimmed}" is not a valid date-time`);
    return { kind: 'absolute', text: trimmed, at };
  }
  return { kind: 'relative', text: trimmed, parts: parseDuration(trimmed) };
}

/** The absolute instant a spec means at `now`. */
export function resolveRetention(spec: RetentionSpec, now: Date): Date {
  return spec.kind === 'absolute' ? spec.at : addDuration(now, spec.parts);
}

/**
 * Formats a retention timestamp the way Qumulo documents it: `YYYY-MM-DDTHH:MM:SSZ`. Sub-second
 * parts are rounded *up* so a lock never ends earlier than asked.
 */
export function formatRetention(at: Date): string {
  const ms = at.getTime();
  const rounded = new Date(Math.ceil(ms / 1000) * 1000);
  return rounded.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses a timestamp as returned by Qumulo (may carry nanoseconds); null when absent/invalid. */
export function parseQumuloTimestamp(text: string | null | undefined): Date | null {
  if (!text) return null;
  // Date only understands milliseconds: cut the fraction to 3 digits, keep the zone.
  const normalized = text.replace(/(\.\d{3})\d+/, '$1');
  const d = new Date(normalized);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Milliseconds of a duration measured from `from` (calendar aware). */
export function durationMs(parts: DurationParts, from: Date): number {
  return addDuration(from, parts).getTime() - from.getTime();
}

/** A duration field in ms ("15min", "2d"); empty gives `fallback`; throws naming the field. */
export function durationSetting(value: unknown, fallback: string, what: string): number {
  const text = String(value ?? '').trim() || fallback;
  try {
    return durationMs(parseDuration(text), new Date());
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}
