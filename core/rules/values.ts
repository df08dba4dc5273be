// Plain-value helpers the rule validator and the predicate table share: shape checks, the
// wording of "got …" in problems, and the size and mode notations of the rule language.

export type Plain = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text "${value.length > 40 ? value.slice(0, 40) + '…' : value}"`;
  return `${typeof value} ${String(value)}`;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
};

/** `5MB` = 5,000,000 bytes, `5MiB` = 5,242,880 bytes, a plain number = bytes. */
export function parseSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!match) return null;
  const unit = match[2].toLowerCase();
  const factor = unit === '' ? 1 : SIZE_UNITS[unit];
  if (factor === undefined) return null;
  return Math.round(Number(match[1]) * factor);
}

/** `"0644"`, `"644"`, `"0o644"` -> 0o644. Numbers are refused: YAML reads 0644 as decimal 644. */
export function parseMode(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(?:0o|0)?([0-7]{1,4})$/i.exec(value.trim());
  return match ? parseInt(match[1], 8) : null;
}

export function formatMode(mode: number): string {
  return '0' + mode.toString(8).padStart(3, '0');
}

