// chmod arithmetic: octal (`0640`, `640`, `2775`) or symbolic (`go-rwx`, `u+x,g=r`, `a=rX`,
// `g=u`) specs applied to a Qumulo mode string ("0644"). Symbolic specs follow POSIX chmod
// except that there is no umask: an empty "who" means `a`.

export class ModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModeError';
  }
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

type Who = 'u' | 'g' | 'o';
interface Clause {
  who: Who[];
  /** whether `who` was given explicitly (affects `s` and `t`) */
  ops: { op: '+' | '-' | '='; perms: string; copyFrom?: Who }[];
}

export type ModeSpec = { kind: 'octal'; text: string; mode: number } | { kind: 'symbolic'; text: string; clauses: Clause[] };

export function parseModeSpec(text: string): ModeSpec {
  const spec = String(text ?? '').trim();
  if (spec === '') throw new ModeError('empty mode');
  if (/^[0-7]{1,4}$/.test(spec)) return { kind: 'octal', text: spec, mode: parseInt(spec, 8) };
  if (/^[0-9]+$/.test(spec)) throw new ModeError(`"${spec}" is not an octal mode (digits 0-7, at most 4)`);
  const clauses: Clause[] = [];
  for (const raw of spec.split(',')) {
    const m = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/.exec(raw);
    if (!m) throw new ModeError(`cannot read mode clause "${raw}" (e.g. go-rwx, u+x,g=r, a=rX)`);
    const whoText = m[1] === '' || m[1].includes('a') ? 'ugo' : m[1];
    const who = [...new Set(whoText.split(''))] as Who[];
    const ops: Clause['ops'] = [];
    const opRe = /([-+=])([ugo]|[rwxXst]*)/g;
    let om: RegExpExecArray | null;
    while ((om = opRe.exec(m[2])) !== null) {
      const op = om[1] as '+' | '-' | '=';
      if (/^[ugo]$/.test(om[2])) ops.push({ op, perms: '', copyFrom: om[2] as Who });
      else ops.push({ op, perms: om[2] });
    }
    clauses.push({ who, ops });
  }
  return { kind: 'symbolic', text: spec, clauses };
}

const SHIFT: Record<Who, number> = { u: 6, g: 3, o: 0 };

/** Parses a Qumulo mode string ("0644", "644", "04755"); throws on anything else. */
export function parseModeString(mode: string): number {
  if (typeof mode !== 'string' || !/^[0-7]{1,6}$/.test(mode.trim())) throw new ModeError(`unexpected mode "${mode}" from the cluster`);
  return parseInt(mode.trim(), 8) & 0o7777;
}

/** Formats like Qumulo: four octal digits, e.g. "0640". */
export function formatMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The mode that results from applying `spec` to `current` (a number) for a file or directory. */
export function applyModeSpec(spec: ModeSpec, current: number, isDirectory: boolean): number {
  if (spec.kind === 'octal') {
    // Like GNU chmod: a short octal on a directory keeps its setgid bit unless digits name it.
    if (isDirectory && spec.text.length < 4) return (spec.mode & 0o777) | (current & (S_ISUID | S_ISGID));
    return spec.mode;
  }
  let mode = current & 0o7777;
  for (const clause of spec.clauses) {
    for (const { op, perms, copyFrom } of clause.ops) {
      let bits = 0;
      if (copyFrom) {
        const src = (mode >> SHIFT[copyFrom]) & 0o7;
        for (const w of clause.who) bits |= src << SHIFT[w];
      } else {
        for (const p of perms) {
          for (const w of clause.who) {
            const s = SHIFT[w];
            if (p === 'r') bits |= 0o4 << s;
            else if (p === 'w') bits |= 0o2 << s;
            else if (p === 'x') bits |= 0o1 << s;
            // X: execute only for directories or when someone already may execute.
            else if (p === 'X' && (isDirectory || (mode & 0o111) !== 0)) bits |= 0o1 << s;
            else if (p === 's') bits |= w === 'u' ? S_ISUID : w === 'g' ? S_ISGID : 0;
            else if (p === 't') bits |= w === 'o' ? S_ISVTX : 0;
          }
        }
      }
      if (op === '+') mode |= bits;
      else if (op === '-') mode &= ~bits;
      else {
        // `=` clears the who's rwx (and its special bit) before setting.
        let clear = 0;
        for (const w of clause.who) clear |= 0o7 << SHIFT[w];
        if (clause.who.includes('u')) clear |= S_ISUID;
        // POSIX: `=` on a directory leaves setgid alone unless set explicitly.
        if (clause.who.includes('g') && !isDirectory) clear |= S_ISGID;
        if (clause.who.includes('o')) clear |= S_ISVTX;
        mode = (mode & ~clear) | bits;
      }
    }
  }
  return mode & 0o7777;
}

export function describeModeSpec(spec: ModeSpec): string {
  return spec.kind === 'octal' ? formatMode(spec.mode) : spec.text;
}
