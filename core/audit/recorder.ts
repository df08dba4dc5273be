// An action node's own audit record (its "record each result in the audit trail" option): the
// record of the result the node has just put on the message goes into the shared log, and the
// message moves on only once it is written. The same promise as a qumulo-audit node after the
// action node, without the extra hop through Node-RED (which cost more than the record itself).

import { auditFailures, auditRecords, recent } from '../metrics';
import { AuditLog } from './log';
import { auditRecordsOf } from './record';

type RecordedMessage = Parameters<typeof auditRecordsOf>[0];

export class ResultRecorder {
  private writing = 0;
  /** Records that could not be written since the node started (its status shows them). */
  failures = 0;
  /** The last write's error while writes keep failing; null again once one succeeds. */
  lastFailure: string | null = null;
  private readonly whenIdle: Array<() => void> = [];

  constructor(
    readonly log: AuditLog,
    /** Written into each record as the node that recorded it. */
    private readonly node: string,
  ) {}

  /**
   * A recorder on the shared log of `dir`, taken as found: its retention and sync are those of
   * the qumulo-audit nodes on the directory, if any (defaults otherwise). Give it back with close().
   */
  static open(dir: string, node: string): ResultRecorder {
    return new ResultRecorder(AuditLog.acquire({ dir }, true), node);
  }

  /** Gives the shared log back (the last user closes it); records after this fail. */
  close(): Promise<void> {
    return AuditLog.release(this.log, true);
  }

  /** Writes the record of the message's newest result (the last of msg.results); `then` runs once it is in the file, or with the error. */
  recordNewest(msg: RecordedMessage, then: (err: Error | null) => void): void {
    const from = Array.isArray(msg.results) ? msg.results.length - 1 : 0;
    const records = auditRecordsOf(msg, this.node, new Date(), from);
    if (records.length === 0) {
      then(null);
      return;
    }
    this.writing++;
    try {
      this.log.appendThen(records, this.written(then, records.length, records[0].path));
    } catch (err) {
      // Not queued (a record JSON cannot encode): nothing is being written for it.
      this.writing--;
      throw err;
    }
  }

  /** The callback of one append: counts it, tells `then`, and wakes a closing node once nothing is being written. */
  private written(then: (err: Error | null) => void, count: number, path: string): (err: Error | null) => void {
    return (err) => {
      this.writing--;
      if (err) {
        auditFailures.inc();
        this.failures++;
        this.lastFailure = err.message;
        // The sidebar's "last errors": a result held back for its record is an error to see there.
        recent.noteError(this.node, `audit record not written (result not passed on): ${err.message}`, path);
      } else {
        auditRecords.inc(count);
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
