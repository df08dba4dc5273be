// Text for people — node status, log lines, error messages — built from data a cluster or a file
// name controls. File names may legally hold tabs, newlines, zero-width characters and bidi
// overrides (`evil\u202Egpj.exe` reads as `evilexe.jpg`): shown raw they forge log lines or hide
// what a file really is. Here every control, format (Cf: bidi, zero-width, BOM) and line/paragraph
// separator character becomes a visible `\uXXXX` escape. The data itself (msg.payload, results)
// keeps the real name.

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** `text` with control/format/separator characters shown as `\uXXXX`; cut to `maxLength` if given. */
export function displaySafe(text: unknown, maxLength?: number): string {
  const escaped = String(text ?? '').replace(INVISIBLE, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
  if (maxLength === undefined || escaped.length <= maxLength) return escaped;
  return escaped.slice(0, Math.max(0, maxLength - 1)) + '…';
}
