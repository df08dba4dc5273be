// What a bench ran on, printed in its first line by every bench so a figure can say which:
// "Node v20.20.2, Node-RED 4.1.15, 2 CPUs". The Node-RED is the one the benches load (the
// devDependency, or the copy QUMULO_NODE_RED_DIR names: `node scripts/test-target.js bench …`).
import * as os from 'node:os';
import { runtimeVersions } from '../test/support/node-red';

export function ranOn(): string {
  return `${runtimeVersions()}, ${os.cpus().length} CPUs`;
}
