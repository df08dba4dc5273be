// A tiny test-only Node-RED node type, `qumulo-test-sink`, written into a temp directory that an
// embedded runtime loads through nodesDir. Every message it receives is recorded in this process
// (the runtime is embedded), keyed by node id.
//
// Its close handler finishes on the next turn of the event loop: Node-RED delivers messages with
// setImmediate, so messages sent just before a deploy stopped this node still reach it. (A node
// that closes synchronously loses such in-flight messages — a Node-RED property, not ours.)

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface RecordedMessage {
  topic?: string;
  payload: unknown;
  [key: string]: unknown;
}

export interface SinkStore {
  messages: Map<string, RecordedMessage[]>;
  /** Number of sink node instances created per node id (a restart creates a new instance). */
  starts: Map<string, number>;
  waiters: Array<() => void>;
}

const GLOBAL_KEY = '__qumuloFlowTestSink';

const SINK_JS = `
module.exports = function (RED) {
  function QumuloTestSink(config) {
    RED.nodes.createNode(this, config);
    const store = globalThis.${GLOBAL_KEY};
    const id = this.id;
    store.starts.set(id, (store.starts.get(id) || 0) + 1);
    this.on('input', (msg, send, done) => {
      let list = store.messages.get(id);
      if (!list) { list = []; store.messages.set(id, list); }
      list.push(msg);
      for (const wake of store.waiters.splice(0)) wake();
      done();
    });
    this.on('close', (removed, done) => { setImmediate(done); });
  }
  RED.nodes.registerType('qumulo-test-sink', QumuloTestSink);
};
`;

const SINK_HTML = `
<script type="text/javascript">
  RED.nodes.registerType('qumulo-test-sink', { category: 'qumulo', defaults: { name: { value: '' } }, inputs: 1, outputs: 0 });
</script>
<script type="text/html" data-template-name="qumulo-test-sink"><div class="form-row"><input type="text" id="node-input-name"></div></script>
`;

export interface SinkNodes {
  /** Directory to add to the runtime's nodesDir. */
  dir: string;
  store: SinkStore;
  messages(nodeId: string): RecordedMessage[];
  /** Resolves when `predicate` holds, re-checked on every recorded message (rejects after timeoutMs). */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void>;
  cleanup(): void;
}

export function createSinkNodes(): SinkNodes {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qumulo-flow-sink-'));
  fs.writeFileSync(path.join(dir, 'qumulo-test-sink.js'), SINK_JS);
  fs.writeFileSync(path.join(dir, 'qumulo-test-sink.html'), SINK_HTML);
  const store: SinkStore = { messages: new Map(), starts: new Map(), waiters: [] };
  (globalThis as Record<string, unknown>)[GLOBAL_KEY] = store;
  return {
    dir,
    store,
    messages: (id) => store.messages.get(id) ?? [],
    waitFor: (predicate, timeoutMs, what) =>
      new Promise<void>((resolve, reject) => {
        if (predicate()) return resolve();
        const timer = setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        // Re-check on each message and now and then (conditions may depend on other state).
        const check = () => {
          if (predicate()) {
            clearTimeout(timer);
            clearInterval(poll);
            resolve();
          } else {
            store.waiters.push(check);
          }
        };
        const poll = setInterval(() => {
          if (predicate()) {
            clearTimeout(timer);
            clearInterval(poll);
            resolve();
          }
        }, 100);
        store.waiters.push(check);
      }),
    cleanup: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      delete (globalThis as Record<string, unknown>)[GLOBAL_KEY];
    },
  };
}
