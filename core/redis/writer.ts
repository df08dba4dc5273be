// Appends events to streams with few round trips: appends made in the same event-loop turn
// (a burst from the watch node arrives that way) go out together per stream key, at most
// `maxBatch` at a time, and while one batch is on its way to Redis the next one collects what
// arrives meanwhile (one call in flight): under load the batches grow with the load instead of
// the calls, so redis-server is woken (and answers) once per batch, not once per small burst
// (at 1,000 files/s: 0.1 calls per file instead of ~0.6). Each append resolves with its entry id
// once Redis has answered, so the caller can report "durable" (done()) only then.
//
// A batch goes out as ONE server-side script call that runs the XADDs inside Redis, its entries
// packed into one binary string (see scripts.ts): inside Node-RED the client's CPU is the
// bottleneck, and building, writing and answering hundreds of separate XADD commands costs it
// several times what one call with one packed argument does. The entries stored are exactly what
// plain XADD stores. Where scripts are refused the writer falls back, once and for good, to a
// pipeline of plain XADDs.
//
// An append may carry a fence (the lease token of the watch that produced the event, see
// core/scale/lease.ts): the script then appends only while that token is the lease's current one,
// so a leader that lost its lease cannot write, whatever it believes. Refused appends fail with a
// FencedError.
import type { RedisClient } from './connection';
import { copiedField, encodeEventJson, entryFields, FIELD_PATH, FIELD_TYPE } from './encoding';
import { APPEND_SCRIPT, packAppendBatch, scriptingRefused, unpackAppendReply, type AppendRecord } from './scripts';
import { countRedisAppended } from '../metrics';

export interface StreamWriterOptions {
  /** Approximate cap on stream length (`MAXLEN ~ n`); 0 or undefined = never trim. */
  maxLen?: number;
  /** Most entries per script call / pipeline (default 500). */
  maxBatch?: number;
  /**
   * Calls (script calls or pipelines) on their way at once (default 1): appends that arrive while
   * they are go out together when one is answered.
   */
  maxCallsInFlight?: number;
  /** Send batches as one script call (default true); false = pipelined XADDs only. */
  useScript?: boolean;
  /** Told once when Redis refuses the batch script and the writer falls back to plain XADDs. */
  onFallback?: (reason: string) => void;
}

/** Lease key and token an append must match (core/scale/lease.ts Fence). */
export interface AppendFence {
  key: string;
  token: string;
}

/** The append was refused: its fence token is not the lease's current one. */
export class FencedAppendError extends Error {
  constructor(readonly current: string | null) {
    super(`FENCED: the watch lease moved on (current token ${current ?? 'none'}); a stale leader may not append`);
    this.name = 'FencedError';
  }
}

/** Called once Redis answered: the entry id, or the error. */
export type AppendCallback = (err: Error | null, id?: string) => void;

/** One append waiting for its batch: the encoded entry's parts (see entryFields). */
interface PendingAppend extends AppendRecord {
  stream: string;
  fence: AppendFence | undefined;
  callback: AppendCallback;
}

export class StreamWriter {
  private queue: PendingAppend[] = [];
  private scheduled = false;
  private readonly maxLen: number;
  private readonly maxBatch: number;
  private sentUnanswered = 0;
  private callsInFlight = 0;
  private readonly maxCallsInFlight: number;
  private idleWaiters: Array<() => void> = [];
  private useScript: boolean;
  private readonly onFallback: ((reason: string) => void) | undefined;

  constructor(
    private readonly client: RedisClient,
    options: StreamWriterOptions = {},
  ) {
    this.maxLen = options.maxLen && options.maxLen > 0 ? Math.floor(options.maxLen) : 0;
    this.maxBatch = options.maxBatch && options.maxBatch > 0 ? Math.floor(options.maxBatch) : 500;
    this.maxCallsInFlight = options.maxCallsInFlight && options.maxCallsInFlight > 0 ? Math.floor(options.maxCallsInFlight) : 1;
    this.useScript = options.useScript !== false;
    this.onFallback = options.onFallback;
  }

  /** 'script' while batches go out as one script call, 'pipeline' after a fallback (or when disabled). */
  get mode(): 'script' | 'pipeline' {
    return this.useScript ? 'script' : 'pipeline';
  }

  /** Encodes and appends one event; resolves with the new entry id. */
  append(stream: string, event: unknown, fence?: AppendFence): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.appendWithCallback(stream, event, (err, id) => (err ? reject(err) : resolve(id as string)), fence);
    });
  }

  /**
   * Same as append() without a promise per event (the out node's hot path): `callback` runs once
   * Redis answered, or at once (synchronously) when the event cannot be encoded.
   */
  appendWithCallback(stream: string, event: unknown, callback: AppendCallback, fence?: AppendFence): void {
    let json: string;
    try {
      json = encodeEventJson(event);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.enqueue({ stream, fence, json, type: copiedField(event, FIELD_TYPE), path: copiedField(event, FIELD_PATH), callback });
  }

  private enqueue(item: PendingAppend): void {
    this.queue.push(item);
    if (this.queue.length >= this.maxBatch) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Appends not yet answered by Redis (queued + sent). */
  get pending(): number {
    return this.queue.length + this.sentUnanswered;
  }

  /** Resolves when every append made so far has been answered. */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.sentUnanswered === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private flush(): void {
    this.scheduled = false;
    // The answer to a call in flight flushes what collected meanwhile (see send()).
    while (this.queue.length > 0 && this.callsInFlight < this.maxCallsInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      // One pipeline per stream key (a cluster pipeline must stay within one slot) and fence.
      const first = batch[0];
      if (batch.every((item) => item.stream === first.stream && item.fence?.token === first.fence?.token)) {
        this.send(batch);
        continue;
      }
      const byStream = new Map<string, PendingAppend[]>();
      for (const item of batch) {
        const group = item.fence ? `${item.stream}\u0000${item.fence.key}\u0000${item.fence.token}` : item.stream;
        const list = byStream.get(group);
        if (list) list.push(item);
        else byStream.set(group, [item]);
      }
      for (const items of byStream.values()) this.send(items);
    }
  }

  /** Sends one batch (all for the same stream key). */
  private send(batch: PendingAppend[]): void {
    this.sentUnanswered += batch.length;
    this.callsInFlight++;
    (this.useScript ? this.sendScript(batch) : this.sendPipeline(batch)).then(
      (replies) => {
        // Settle the counters first: a callback may wait for whenIdle().
        this.callAnswered();
        this.settled(batch.length);
        countRedisAppended(batch[0].stream, replies.reduce((n: number, r) => (r instanceof Error || r === undefined || r === null ? n : n + 1), 0));
        for (let i = 0; i < batch.length; i++) {
          const reply = replies[i];
          if (reply instanceof Error) batch[i].callback(reply);
          else if (reply === undefined || reply === null) batch[i].callback(new Error('no reply from Redis'));
          else batch[i].callback(null, String(reply));
        }
      },
      (err: Error) => {
        this.callAnswered();
        this.settled(batch.length);
        for (const item of batch) item.callback(err);
      },
    );
  }

  /** A call was answered: what collected while it was on its way goes out now. */
  private callAnswered(): void {
    this.callsInFlight--;
    if (this.queue.length > 0 && !this.scheduled) this.flush();
  }

  /** One reply per entry, as Redis gave it (an id, an Error, or nothing); send() reads them. */
  private async sendScript(batch: PendingAppend[]): Promise<unknown[]> {
    const args: Array<string | Buffer> = [this.maxLen > 0 ? String(this.maxLen) : '0', packAppendBatch(batch)];
    const fence = batch[0].fence;
    let replies: unknown;
    try {
      if (fence) {
        args.push(fence.token);
        replies = await APPEND_SCRIPT.runKeys(this.client, [batch[0].stream, fence.key], args);
      } else {
        replies = await APPEND_SCRIPT.run(this.client, batch[0].stream, args);
      }
    } catch (err) {
      if (!scriptingRefused(err)) throw err;
      this.useScript = false;
      this.onFallback?.((err as Error).message);
      return this.sendPipeline(batch);
    }
    if (typeof replies === 'string' && replies.startsWith('#FENCED ')) {
      const current = replies.slice('#FENCED '.length);
      const err = new FencedAppendError(current === 'false' ? null : current);
      return batch.map(() => err);
    }
    const list: unknown[] = typeof replies === 'string' ? unpackAppendReply(replies) : [];
    return batch.map((_, i) => list[i]);
  }

  private async sendPipeline(batch: PendingAppend[]): Promise<unknown[]> {
    const fence = batch[0].fence;
    if (fence) {
      // Without scripts the check cannot be atomic with the append: best effort, checked per batch.
      const current = await this.client.hget(fence.key, 'token');
      if (current !== fence.token) {
        const err = new FencedAppendError(current);
        return batch.map(() => err);
      }
    }
    const pipeline = this.client.pipeline();
    for (const item of batch) {
      const fields = entryFields(item.json, item.type, item.path);
      if (this.maxLen > 0) pipeline.xadd(item.stream, 'MAXLEN', '~', this.maxLen, '*', ...fields);
      else pipeline.xadd(item.stream, '*', ...fields);
    }
    const results = await pipeline.exec();
    return batch.map((_, i) => {
      const [err, id] = results?.[i] ?? [null, null];
      return err ?? id;
    });
  }

  private settled(count: number): void {
    this.sentUnanswered -= count;
    if (this.queue.length === 0 && this.sentUnanswered === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
