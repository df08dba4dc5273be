// qumulo-audit: appends every action result of a message (msg.results: each action node it
// passed) to the audit trail (core/audit: JSON-lines day files) and passes the message on only
// once the records are written. Put it after the action nodes and before qumulo-ack: a crash or a
// deploy before the write leaves the Redis entry pending, it is redelivered and recorded then —
// at-least-once, with the same record id for a repeat (the export drops repeats).

import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { AuditLog, auditRecordsOf, parseRetentionDays } from '../core/audit';
import { auditFailures, auditRecords, recent } from '../core/metrics';
import { safeAbsoluteDir } from '../core/actions';
import { auditDirectories, defaultAuditDirectory, registerObservability, rememberAuditDirectory } from './lib/observability';
import { finishAfterSettled } from './lib/lifecycle';
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
    let log: AuditLog | null = null;
    let configError: string | null = null;
    try {
      const dirText = String(config.directory ?? '').trim();
      const dir = dirText ? safeAbsoluteDir(dirText, 'audit directory') : defaultAuditDirectory(RED);
      const retentionDays = parseRetentionDays(String(config.retentionDays ?? ''));
      log = AuditLog.acquire({ dir, retentionDays, fsync: config.fsync === true || config.fsync === 'true' });
      auditDirectories.set(node.id, log.dir);
      rememberAuditDirectory(RED, log.dir);
    } catch (err) {
      configError = (err as Error).message;
      node.status(status.error(configError));
      node.error(`qumulo-audit: ${configError}`);
    }

    let written = 0;
    let failed = 0;
    let inflight = 0;
    const settled: Array<() => void> = [];
    const statusThrottle = new Throttle<null>(STATUS_INTERVAL_MS, () => {
      node.status(failed > 0 ? status.error(`${written} recorded · ${failed} failed`) : status.ok(`${written} recorded`));
    });
    if (log) node.status(status.ok('ready'));

    node.on('input', (msg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      if (!log) {
        done(new Error(`qumulo-audit is not configured: ${configError ?? 'unknown problem'}`));
        return;
      }
      const records = auditRecordsOf(msg as Parameters<typeof auditRecordsOf>[0], node.id);
      if (records.length === 0) {
        done(new Error('no action result on the message (msg.result / msg.results): put qumulo-audit after an action node'));
        return;
      }
      // Passed on (and done) only once the records are in the file; records arriving close
      // together share one write (the log's group commit, at most 4 ms of waiting).
      inflight++;
      log.appendThen(records, (err) => {
        inflight--;
        if (err) {
          failed++;
          auditFailures.inc();
          recent.noteError(node.id, `audit record not written (message not passed on): ${err.message}`, records[0]?.path);
          statusThrottle.push(null);
          // Not passed on: with the Redis queue the entry stays pending and comes back.
          done(err);
        } else {
          written += records.length;
          auditRecords.inc(records.length);
          statusThrottle.push(null);
          send(msg);
          done();
        }
        if (inflight === 0) for (const wake of settled.splice(0)) wake();
      });
    });

    node.on('close', (removed: boolean, done: () => void) => {
      const writes = inflight === 0 ? [] : [new Promise<void>((resolve) => settled.push(resolve))];
      finishAfterSettled(writes, CLOSE_WAIT_MS, () => {
        statusThrottle.cancel();
        auditDirectories.delete(node.id);
        if (removed) node.status({});
        if (log) void AuditLog.release(log).finally(() => done());
        else done();
      });
    });
  }

  RED.nodes.registerType('qumulo-audit', QumuloAuditNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};
