// The "qumulo" sidebar tab of the editor (a Node-RED plugin in this package): its page is
// qumulo-flow-sidebar.html; here only the admin routes it reads (nodes/lib/observability.ts).
import type { NodeAPI } from 'node-red';
import { registerObservability } from '../lib/observability';

export = function register(RED: NodeAPI): void {
  registerObservability(RED);
  (RED as unknown as { plugins: { registerPlugin(id: string, definition: object): void } }).plugins.registerPlugin('qumulo-flow-sidebar', { type: 'qumulo-flow-sidebar' });
};
