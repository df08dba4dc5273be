// Node settings as the editor stores them: switches as true/'true', numbers as numbers or text,
// an empty field meaning "the default". Shared by every node adapter, so each setting is read
// the same way and a bad one is refused with the same kind of message.

/** A switch that is on only when set (empty or missing is off). */
export function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

/** A switch with a default for an empty or missing field. */
export function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  return isTrue(value);
}

export interface NumberRule {
  /** The setting's name in error messages, e.g. "batch size". */
  what?: string;
  min?: number;
  max?: number;
  integer?: boolean;
}

function expectation(rule: NumberRule): string {
  const kind = rule.integer ? 'a whole number' : 'a number';
  if (rule.min !== undefined && rule.max !== undefined) return `${kind} from ${rule.min} to ${rule.max}`;
  if (rule.min !== undefined) return `${kind} ≥ ${rule.min}`;
  if (rule.max !== undefined) return `${kind} ≤ ${rule.max}`;
  return kind;
}

/**
 * A number setting: empty or missing gives `fallback`; anything else must be a number within the
 * rule, or this throws a message that names the setting and what it takes.
 */
export function numberSetting(value: unknown, fallback: number, rule: NumberRule = {}): number {
  const text = value === undefined || value === null ? '' : String(value).trim();
  if (text === '') return fallback;
  const n = Number(text);
  const fits = Number.isFinite(n) && (rule.min === undefined || n >= rule.min) && (rule.max === undefined || n <= rule.max) && (!rule.integer || Number.isInteger(n));
  if (!fits) throw new Error(`invalid ${rule.what ?? 'number'} ${JSON.stringify(text)} (${expectation(rule)})`);
  return n;
}

/** A whole number ≥ 1 (counts, ports, sizes). */
export function positiveInt(value: unknown, fallback: number, what: string): number {
  return numberSetting(value, fallback, { what, min: 1, integer: true });
}

/** Lenient: for settings the editor already checks, anything but a number ≥ min gives the fallback. */
export function numberOr(value: unknown, fallback: number, min: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

const ENV_REF = /^\$\{(\w+)\}$/;

/** `${VAR}` → process.env.VAR (what Node-RED does for node properties and credentials). */
export function resolveEnv(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value).trim();
  const match = ENV_REF.exec(text);
  return match ? (process.env[match[1]] ?? '') : text;
}

/** `${VAR}` and nothing else: the value comes from the environment, not from the flow. */
export function isEnvReference(value: unknown): boolean {
  return typeof value === 'string' && /^\$\{\S+\}$/.test(value.trim());
}
