// qumulo-audit: appends every action result of a message (msg.results: each action node it
// passed) to the audit trail (core/audit: JSON-lines day files) and passes the message on only
// once the records are written. Put it after the action nodes and before qumulo-ack: a crash or a
// deploy before the write leaves the Redis entry pending, it is redelivered and recorded then —
// at-least-once, with the same record id for a repeat (the export drops repeats).

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import * as path from 'node:path';
import { AuditLog, ResultRecorder, parseRetentionDays } from '../core/audit';
import { safeAbsoluteDir } from '../core/actions';
import { auditDirectories, defaultAuditDirectory, registerObservability, rememberAuditDirectory } from './lib/observability';
import { closeAfterRecorded } from './lib/action-node';
import { Throttle, status } from './lib/status';

interface AuditConfig extends NodeDef {
  directory?: string;
  retentionDays?: string | number;
  fsync?: boolean | string;
}

const STATUS_INTERVAL_MS = 500;
/** Close waits this long for writes in flight, so a deploy does not cut a record in half. */
const CLOSE_WAIT_MS = 10_000;

export = function register(RED: NodeAPI): void {
  registerObservability(RED);

  function QumuloAuditNode(this: Node, config: AuditConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let recorder: ResultRecorder | null = null;
    let configError: string | null = null;
    try {
      const dirText = String(config.directory ?? '').trim();
      const dir = path.resolve(dirText ? safeAbsoluteDir(dirText, 'audit directory') : defaultAuditDirectory(RED));
      const retentionDays = parseRetentionDays(String(config.retentionDays ?? ''));
      rememberAuditDirectory(RED, dir);
      recorder = new ResultRecorder(AuditLog.acquire({ dir, retentionDays, fsync: config.fsync === true || config.fsync === 'true' }), node.id);
      auditDirectories.set(node.id, recorder.log.dir);
    } catch (err) {
      configError = (err as Error).message;
      node.status(status.error(configError));
      node.error(`qumulo-audit: ${configError}`);
    }

    const statusThrottle = new Throttle<null>(STATUS_INTERVAL_MS, () => {
      if (!recorder) return;
      const recorded = `${recorder.recorded} recorded`;
      node.status(recorder.failures > 0 ? status.error(`${recorded} · ${recorder.failures} failed`) : status.ok(recorded));
    });
    if (recorder) node.status(status.ok('ready'));

    node.on('input', (msg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      if (!recorder) {
        done(new Error(`qumulo-audit is not configured: ${configError ?? 'unknown problem'}`));
        return;
      }
      // Passed on (and done) only once the records are in the file; records arriving close
      // together share one write (the log's group commit, at most 4 ms of waiting).
      const count = recorder.record(msg as Parameters<ResultRecorder['record']>[0], 0, (err) => {
        statusThrottle.push(null);
        // Not passed on when it failed: with the Redis queue the entry stays pending and comes back.
        if (err) return done(err);
        send(msg);
        done();
      });
      if (count === 0) done(new Error('no action result on the message (msg.result / msg.results): put qumulo-audit after an action node'));
    });

    node.on('close', (removed: boolean, done: () => void) => {
      closeAfterRecorded([], recorder, CLOSE_WAIT_MS, () => {
        statusThrottle.cancel();
        auditDirectories.delete(node.id);
        if (removed) node.status({});
      }, done);
    });
  }

  RED.nodes.registerType('qumulo-audit', QumuloAuditNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
