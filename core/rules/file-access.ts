// Which rule files a request from the editor may have read (the filter dialog's "Check" and "Copy
// file into visual editor"). The path comes from whoever can call the endpoint, so it is held to:
//   - a .yml/.yaml file (keeps flows_cred.json, .config.*.json and settings.js in the user
//     directory out of reach),
//   - inside one of the allowed directories, both as written and after resolving symlinks,
// and it is refused before the file is touched, so a refusal reveals neither content nor existence.

import * as fs from 'node:fs';
import * as path from 'node:path';

export class RuleFileAccessError extends Error {}

const RULE_FILE_EXTENSION = /\.ya?ml$/i;

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function realpathOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/**
 * The absolute path of a rule file the caller may read, or a RuleFileAccessError. `baseDir` resolves
 * relative names (Node-RED's user directory); `roots` are the allowed directories.
 */
export function allowedRuleFile(file: string, baseDir: string, roots: string[]): string {
  const allowed = roots.filter((root) => root.trim() !== '').map((root) => path.resolve(baseDir, root));
  const refusal = new RuleFileAccessError(
    'rule files are read only from the Node-RED user directory or a directory listed in settings.js (qumuloFlow.ruleFileDirs), and must end in .yml or .yaml',
  );
  const resolved = path.resolve(baseDir, file);
  if (!RULE_FILE_EXTENSION.test(resolved) || !allowed.some((root) => isInside(root, resolved))) throw refusal;
  let real: string;
  try {
    real = fs.realpathSync(resolved);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RuleFileAccessError(`rule file ${file} does not exist`);
    throw refusal;
  }
  if (!RULE_FILE_EXTENSION.test(real) || !allowed.map(realpathOrSelf).some((root) => isInside(root, real))) throw refusal;
  return real;
}
