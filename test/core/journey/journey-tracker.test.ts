// The journey tracker (core/journey/tracker.ts) on its own: one test per way a message's journey
// can end. Node instances are plain objects, as the hooks adapter passes the runtime's nodes.
import { strict as assert } from 'node:assert';
import { JourneyTracker, type JourneyEnding } from '../../../core/journey/tracker';

interface FakeNode {
  id: string;
}

function setup(options: { caughtErrorsAreHandled?: boolean } = {}) {
  const tracker = new JourneyTracker<string, FakeNode>();
  const ended: Array<[string, JourneyEnding]> = [];
  const begin = (msgid: string, handle: string) => tracker.begin(msgid, handle, (h, e) => ended.push([h, e]), options);
  /** One wire delivery as the runtime does it: onSend, preDeliver, onReceive. */
  const deliver = (msgid: string, node: FakeNode, running = true) => {
    tracker.routed(msgid);
    tracker.scheduled(msgid, node);
    tracker.received(msgid, node, running, node.id.startsWith('catch'));
  };
  return { tracker, ended, begin, deliver };
}

/** The kind of the first ending (a function: assert.deepEqual narrows `ended` to never[] after an empty check). */
function firstKind(ended: Array<[string, JourneyEnding]>): string | undefined {
  return ended[0]?.[1].kind;
}

const a = { id: 'a' };
const b = { id: 'b' };

describe('journey tracker: how a journey ends', () => {
  it('done: a node that calls done() after sending on; ends when the last node is done', () => {
    const { tracker, ended, begin, deliver } = setup();
    begin('m1', 'entry-1');
    deliver('m1', a);
    deliver('m1', b); // a sends on before its done()
    tracker.completed('m1', a, undefined);
    tracker.check();
    assert.deepEqual(ended, []);
    tracker.completed('m1', b, undefined);
    tracker.check();
    assert.deepEqual(ended, [['entry-1', { kind: 'done' }]]);
    assert.equal(tracker.size, 0);
  });

  it('a one- or two-argument handler (core switch) is finished with a message when it sends it on, even a tick later', () => {
    const { tracker, ended, begin } = setup();
    const sw = { id: 'switch' };
    begin('m1', 'entry-1');
    begin('m2', 'entry-2');
    for (const id of ['m1', 'm2']) {
      tracker.routed(id);
      tracker.scheduled(id, sw);
      tracker.received(id, sw, true, false, false); // never calls done()
    }
    tracker.check();
    assert.deepEqual(ended, [], 'held until the switch sends');
    // The switch handles its queue one message per tick: m1 matched nothing, m2 goes on to b.
    tracker.routed('m2');
    tracker.sent('m2', sw);
    tracker.scheduled('m2', b);
    tracker.received('m2', b, true);
    tracker.check();
    assert.deepEqual(ended, [['entry-1', { kind: 'done' }]], 'm1 arrived before m2: the switch dropped it');
    tracker.completed('m2', b, undefined);
    tracker.check();
    assert.deepEqual(ended, [['entry-1', { kind: 'done' }], ['entry-2', { kind: 'done' }]]);
  });

  it('a legacy handler that sends nothing (switch with no match) is finished once the node has been quiet', () => {
    let now = 0;
    const tracker = new JourneyTracker<string, FakeNode>(() => now);
    const ended: Array<[string, JourneyEnding]> = [];
    tracker.begin('m1', 'entry-1', (h, e) => ended.push([h, e]));
    tracker.routed('m1');
    tracker.scheduled('m1', a);
    tracker.received('m1', a, true, false, false);
    now = 400;
    tracker.releaseQuiet(500, () => true);
    tracker.check();
    assert.deepEqual(ended, []);
    now = 600;
    tracker.releaseQuiet(500, () => true);
    tracker.check();
    assert.deepEqual(ended, [['entry-1', { kind: 'done' }]]);
  });

  it('cut: a send whose target the runtime did not find (removed by a deploy) is cut at the routing check', () => {
    const { tracker, ended, begin, deliver } = setup();
    begin('m1', 'entry-1');
    deliver('m1', a);
    tracker.routed('m1'); // a sends to a node that is gone: no preDeliver follows
    tracker.completed('m1', a, undefined);
    assert.deepEqual(ended, [], 'the open send keeps it from ending done');
    tracker.check();
    assert.equal(ended.length, 1);
    assert.equal(firstKind(ended), 'cut');
    // Late completions of a cut journey change nothing.
    tracker.completed('m1', a, undefined);
    assert.equal(ended.length, 1);
  });

  it('cut: a delivery that reaches a stopped node', () => {
    const { ended, begin, deliver } = setup();
    begin('m1', 'entry-1');
    deliver('m1', a, false);
    assert.equal(firstKind(ended), 'cut');
  });

  it('cut: the sweep after a deploy finds work held by (or queued for) a node that no longer runs', () => {
    const { tracker, ended, begin, deliver } = setup();
    begin('m1', 'entry-1');
    begin('m2', 'entry-2');
    begin('m3', 'entry-3');
    deliver('m1', a); // held by a (a delay node, say)
    tracker.routed('m2');
    tracker.scheduled('m2', a); // queued for a, not received yet
    deliver('m3', b); // held by b, which keeps running
    tracker.check();
    const cut = tracker.sweep((node) => node !== a);
    assert.equal(cut, 2);
    assert.deepEqual(ended.map(([h, e]) => [h, e.kind]).sort(), [['entry-1', 'cut'], ['entry-2', 'cut']]);
    assert.ok(tracker.has('m3'));
  });

  it('failed: a node that calls done(err) fails the journey, after every branch has finished', () => {
    const { tracker, ended, begin, deliver } = setup();
    begin('m1', 'entry-1');
    deliver('m1', a);
    deliver('m1', b);
    const failure = new Error('lock failed');
    tracker.completed('m1', a, failure);
    tracker.check();
    assert.deepEqual(ended, []);
    tracker.completed('m1', b, undefined);
    tracker.check();
    assert.deepEqual(ended, [['entry-1', { kind: 'failed', error: failure, caught: false }]]);
  });

  it('failed even when a Catch node handled it, unless caught errors count as handled', () => {
    for (const caughtErrorsAreHandled of [false, true]) {
      const { tracker, ended, begin, deliver } = setup({ caughtErrorsAreHandled });
      const catchNode = { id: 'catch-1' };
      begin('m1', 'entry-1');
      deliver('m1', a);
      const failure = new Error('chmod failed');
      tracker.completed('m1', a, failure); // done(err) → the runtime hands a copy to the Catch node
      tracker.received('m1', catchNode, true, true);
      deliver('m1', b); // catch → debug
      tracker.completed('m1', catchNode, undefined);
      tracker.completed('m1', b, undefined);
      tracker.check();
      const expected: JourneyEnding = caughtErrorsAreHandled ? { kind: 'done' } : { kind: 'failed', error: failure, caught: true };
      tracker.check();
      assert.deepEqual(ended, [['entry-1', expected]], `caughtErrorsAreHandled=${caughtErrorsAreHandled}`);
    }
  });

  it('a Catch node receiving it (node.error(err, msg) without done(err)) also fails it', () => {
    const { tracker, ended, begin, deliver } = setup();
    const catchNode = { id: 'catch-1' };
    begin('m1', 'entry-1');
    deliver('m1', a);
    tracker.received('m1', catchNode, true, true);
    tracker.completed('m1', { id: 'catch-1' }, undefined); // another node object with the same id: not the holder
    tracker.completed('m1', a, undefined);
    tracker.check();
    assert.deepEqual(ended, [], 'the Catch node still holds it');
    tracker.completed('m1', catchNode, undefined);
    tracker.check();
    assert.equal(firstKind(ended), 'failed');
  });

  it('a message nobody receives ends at once with endIfIdle; abandon() forgets without ending', () => {
    const { tracker, ended, begin, deliver } = setup();
    begin('m1', 'entry-1');
    tracker.endIfIdle('m1');
    begin('m2', 'entry-2');
    deliver('m2', a);
    tracker.abandon('m2');
    tracker.completed('m2', a, undefined);
    tracker.check();
    assert.deepEqual(ended, [['entry-1', { kind: 'done' }]]);
    assert.equal(tracker.size, 0);
  });

  it('startedBefore lists the journeys of one source older than a time (to bound what a source tracks)', () => {
    let now = 1000;
    const tracker = new JourneyTracker<string, FakeNode>(() => now);
    const mine = () => undefined;
    const other = () => undefined;
    tracker.begin('m1', 'e1', mine);
    now = 2000;
    tracker.begin('m2', 'e2', mine);
    tracker.begin('m3', 'e3', other);
    assert.deepEqual(tracker.startedBefore(1500, mine), [['m1', 'e1']]);
    assert.equal(tracker.startedBefore(5000).length, 3);
  });
});
