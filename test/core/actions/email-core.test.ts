// Email core: header safety, address validation, digest batching on a manual clock, composition.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { QumuloEvent } from '../../../core/event';
import {
  bodySafe,
  composeDigestMail,
  compileMailTemplates,
  Digest,
  headerSafe,
  parseAddressList,
  type DigestBatch,
  type DigestItem,
} from '../../../core/actions';
import { type SettleClock } from '../../../core/settle/settle';
import { fileEvent } from '../../support/events';

class StepClock implements SettleClock {
  time = 0;
  timers = new Map<number, { due: number; fn: () => void }>();
  id = 0;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.timers.set(++this.id, { due: this.time + ms, fn });
    return this.id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(ms: number): void {
    this.time += ms;
    for (const [id, t] of [...this.timers]) {
      if (t.due <= this.time) {
        this.timers.delete(id);
        t.fn();
      }
    }
  }
}

function event(name: string, i = 0): QumuloEvent {
  return fileEvent(name, { fileId: String(100 + i), seq: i, receivedAt: Date.UTC(2025, 0, 1, 0, 0, i % 60) });
}

describe('email core', () => {
  it('header values never contain CR, LF or other controls (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const h = headerSafe(text);
        assert.doesNotMatch(h, /[\r\n\u0000-\u001f\u007f\u0085\u2028\u2029]/);
        assert.ok(Array.from(h).length <= 200);
      }),
      { numRuns: 300 },
    );
    assert.equal(headerSafe('report\r\nBcc: evil@example.com.pdf'), 'report Bcc: evil@example.com.pdf');
  });

  it('body text shows controls escaped so names cannot forge lines', () => {
    assert.equal(bodySafe('a\r\nBcc: x@y'), 'a\\u000d\\u000aBcc: x@y');
    assert.equal(bodySafe('tab\there'), 'tab\there');
  });

  it('accepts only plain configured addresses', () => {
    assert.deepEqual(parseAddressList('ops@example.com, Security <sec@example.com>'), ['ops@example.com', 'Security <sec@example.com>']);
    assert.throws(() => parseAddressList('ops@example.com\r\nBcc: x@y'), /control/);
    assert.throws(() => parseAddressList('not an address'), /not an e-mail/);
    assert.throws(() => parseAddressList(''), /empty/);
  });

  it('a burst of 10,000 events becomes one batch per window, holding at most maxHeld', () => {
    const clock = new StepClock();
    const batches: DigestBatch<number>[] = [];
    const digest = new Digest<number>({ windowMs: 60_000, maxHeld: 1000 }, (b) => batches.push(b), clock);
    const outcomes = { held: 0, counted: 0 };
    for (let i = 0; i < 10_000; i++) {
      outcomes[digest.add(i)]++;
      if (i % 100 === 0) clock.advance(5); // the burst spans 0.5 s
    }
    assert.deepEqual(outcomes, { held: 1000, counted: 9000 });
    assert.equal(batches.length, 0);
    clock.advance(60_000);
    assert.equal(batches.length, 1);
    assert.equal(batches[0].total, 10_000);
    assert.equal(batches[0].items.length, 1000);
    digest.add(1);
    assert.equal(digest.flush()?.total, 1, 'flush ends a window early (close)');
    assert.equal(digest.flush(), null);
  });

  it('composes a mail listing up to maxListed lines and counting the rest', () => {
    const templates = compileMailTemplates('{count} events: {name}', '{type} {path} [{rules}]', '', 3);
    const items: DigestItem[] = ['a.txt', 'evil\r\nBcc: x@y.txt', 'c.txt', 'd.txt'].map((n, i) => ({ event: event(n, i), rules: ['r1'] }));
    const mail = composeDigestMail({ items, counted: 6, total: 10, windowStart: 0, windowEnd: 1000 }, templates);
    assert.equal(mail.subject, '10 events: a.txt');
    assert.equal(mail.listed, 3);
    assert.equal(mail.omitted, 7);
    assert.match(mail.text, /child_file_added \/data\/a\.txt \[r1\]/);
    assert.match(mail.text, /evil\\u000d\\u000aBcc: x@y\.txt/);
    assert.match(mail.text, /… and 7 more event\(s\) not listed\./);
    assert.doesNotMatch(mail.text, /d\.txt/);
    const evilFirst = composeDigestMail({ items: [items[1]], counted: 0, total: 1, windowStart: 0, windowEnd: 1 }, templates);
    assert.equal(evilFirst.subject, '1 events: evil Bcc: x@y.txt');
  });
});
