// `nameRegex` runs on RE2JS (a pure-JS port of RE2): matching time is linear in the name's length
// for every pattern, so `^(a+)+$` on a name anyone can choose cannot freeze Node-RED the way a
// backtracking JavaScript RegExp does. Patterns are written in JavaScript syntax; RE2JS translates
// the few spellings that differ (`\u00e9`). Features that need backtracking (look-ahead and
// look-behind, back-references) are refused at validation with a message that says so.

import { RE2JS } from 're2js';

export type NamePredicate = (name: string) => boolean;

/** Patterns longer than this are refused (a name is at most 255 bytes; a rule needs far less). */
export const MAX_REGEX_LENGTH = 2000;

function flagBits(flags: string): number {
  let bits = 0;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  // `u`: RE2JS always reads text as Unicode code points, so the flag needs no bit.
  return bits;
}

function compile(pattern: string, flags: string): RE2JS {
  return RE2JS.compile(RE2JS.translateRegExp(pattern), flagBits(flags));
}

/**
 * Null when `pattern` can be used, otherwise a readable reason. A pattern must be valid both as a
 * JavaScript RegExp (what the docs promise) and for the linear-time engine.
 */
export function checkNameRegex(pattern: string, flags: string): string | null {
  if (pattern.length > MAX_REGEX_LENGTH) return `the regular expression is longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    return `invalid regular expression: ${err instanceof Error ? err.message : String(err)}`;
  }
  try {
    compile(pattern, flags);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return (
      `regular expression not supported by the linear-time matcher (${reason}): file names are chosen by anyone who can write to the cluster, ` +
      'so nameRegex refuses look-ahead/look-behind ((?=…), (?!…), (?<=…), (?<!…)) and back-references (\\1); ' +
      'use not: {nameRegex: …} or several conditions instead'
    );
  }
  return null;
}

/** A predicate that tests whether the pattern matches anywhere in the name (like RegExp#test). */
export function compileNameRegex(pattern: string, flags: string): NamePredicate {
  const re = compile(pattern, flags);
  return (name) => re.test(name);
}
