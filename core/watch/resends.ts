// At-least-once through deploys: a watch node's message that a deploy cut is sent again, with
// `msg.redelivered` saying how often. The counts live here, process-wide, because the node that
// replaces one in a deploy drains (and logs) what the old one re-sent.

import type { QumuloEvent } from '../event';

export class WatchResends {
  /** How often an event object was sent again after a deploy cut its message. */
  private readonly sentBefore = new WeakMap<QumuloEvent, number>();
  /** Messages cut since the last deploy, per watch node id. */
  private readonly cutsByNode = new Map<string, number>();

  /** The message of `event`, sent by node `nodeId`, was cut: it is about to go out again. */
  cut(event: QumuloEvent, nodeId: string): void {
    this.sentBefore.set(event, (this.sentBefore.get(event) ?? 0) + 1);
    this.cutsByNode.set(nodeId, (this.cutsByNode.get(nodeId) ?? 0) + 1);
  }

  /** How often `event` was sent again (undefined: never cut, a first send). */
  timesResent(event: QumuloEvent): number | undefined {
    return this.sentBefore.get(event);
  }

  /** Messages of `nodeId` cut since the last call (0 when none); starts counting afresh. */
  takeCuts(nodeId: string): number {
    const cuts = this.cutsByNode.get(nodeId) ?? 0;
    this.cutsByNode.delete(nodeId);
    return cuts;
  }
}

/** Shared by every watch node of the process. */
export const watchResends = new WatchResends();
