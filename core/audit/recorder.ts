// A node's audit records: a qumulo-audit node's (every result on the message) and an action
// node's own (its "record each result in the audit trail" option: the result it has just put on
// the message). They go into the shared log of their directory, and the message moves on only
// once they are written. The option gives the same promise as a qumulo-audit node after the
// action node, without the extra hop through Node-RED (which cost more than the record itself).

import { auditFailures, auditRecords, recent } from '../metrics';
import { AuditLog } from './log';
import { auditRecordsOf } from './record';

type RecordedMessage = Parameters<typeof auditRecordsOf>[0];

export class ResultRecorder {
  private writing = 0;
  /** Records written since the node started. */
  recorded = 0;
  /** Messages whose records could not be written since the node started (its status shows them). */
  failures = 0;
  /** The last write's error while writes keep failing; null again once one succeeds. */
  lastFailure: string | null = null;
  private readonly whenIdle: Array<() => void> = [];

  constructor(
    readonly log: AuditLog,
    /** Written into each record as the node that recorded it. */
    private readonly node: string,
    /** The log was taken as found (AuditLog.acquire): released the same way. */
    private readonly asFound = false,
  ) {}

  /**
   * A recorder on the shared log of `dir`, taken as found: its retention and sync are those of
   * the qumulo-audit nodes on the directory, if any (defaults otherwise). Give it back with close().
   */
  static open(dir: string, node: string): ResultRecorder {
    return new ResultRecorder(AuditLog.acquire({ dir }, true), node, true);
  }

  /** Gives the shared log back (the last user closes it); records after this fail. */
  close(): Promise<void> {
    return AuditLog.release(this.log, this.asFound);
  }

  /**
   * Writes the records of the message's results from position `from` on; `then` runs once they
   * are in the file, or with the error. Returns how many there are: with 0 nothing is written and
   * `then` is not called.
   */
  record(msg: RecordedMessage, from: number, then: (err: Error | null) => void): number {
    const records = auditRecordsOf(msg, this.node, new Date(), from);
    if (records.length === 0) return 0;
    this.writing++;
    try {
      this.log.appendThen(records, this.written(then, records.length, records[0].path));
    } catch (err) {
      // Not queued (a record JSON cannot encode): nothing is being written for it.
      this.writing--;
      throw err;
    }
    return records.length;
  }

  /** Writes the record of the message's newest result (the last of msg.results); `then` runs once it is in the file, or with the error. */
  recordNewest(msg: RecordedMessage, then: (err: Error | null) => void): void {
    const from = Array.isArray(msg.results) ? msg.results.length - 1 : 0;
    if (this.record(msg, from, then) === 0) then(null);
  }

  /** The callback of one append: counts it, tells `then`, and wakes a closing node once nothing is being written. */
  private written(then: (err: Error | null) => void, count: number, path: string): (err: Error | null) => void {
    return (err) => {
      this.writing--;
      if (err) {
        auditFailures.inc();
        this.failures++;
        this.lastFailure = err.message;
        // The sidebar's "last errors": a message held back for its record is an error to see there.
        recent.noteError(this.node, `audit record not written (not passed on): ${err.message}`, path);
      } else {
        auditRecords.inc(count);
        this.recorded += count;
        this.lastFailure = null;
      }
      try {
        then(err);
      } finally {
        if (this.writing === 0 && this.whenIdle.length > 0) for (const wake of this.whenIdle.splice(0)) wake();
      }
    };
  }

  /** Resolves once no record is being written (a closing node waits for it). */
  settled(): Promise<void> {
    if (this.writing === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenIdle.push(resolve));
  }
}
