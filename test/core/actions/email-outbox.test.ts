// What the email node adds around Digest and Mailer (core/email-outbox.ts): settings refused with
// clear messages, one result per input when its digest is mailed (dry-run here: the real SMTP
// path is covered by email.test.ts), and the digest-full answer given at once.

import assert from 'node:assert/strict';
import type { ActionResult } from '../../../core/actions';
import { normalizeNotification } from '../../../core/event';
import { EmailOutbox, type HeldEvent } from '../../../core/actions/email-outbox';

const held = (name: string): HeldEvent & { id: string } => ({
  id: name,
  item: { event: normalizeNotification({ type: 'child_file_added', path: name, spine: ['1', `id-${name}`] }, { watchId: 'w', watchRoot: '/in', seq: 1, receivedAt: 1 }), rules: ['pdf'] },
  receivedAt: Date.now(),
});
const base = { from: 'flow@example.test', to: 'ops@example.test', dryRun: true };

describe('email outbox (core)', () => {
  it('refuses bad settings naming the field', () => {
    const finish = () => assert.fail('nothing to finish');
    assert.throws(() => new EmailOutbox({ ...base, port: '0', dryRun: false, host: 'smtp' }, {}, finish), /invalid port "0"/);
    assert.throws(() => new EmailOutbox({ ...base, windowSeconds: '0' }, {}, finish), /invalid digest window \(seconds\) "0"/);
    assert.throws(() => new EmailOutbox({ ...base, maxHeld: 'many' }, {}, finish), /invalid held events "many"/);
    assert.throws(() => new EmailOutbox({ ...base, to: '' }, {}, finish), /To/);
  });

  it('answers every input of a digest when it is (dry-run) mailed, and a full digest at once', () => {
    const finished: Array<{ id: string; result: ActionResult; error?: Error }> = [];
    const outbox = new EmailOutbox<ReturnType<typeof held>>({ ...base, maxHeld: 2, windowSeconds: 60 }, {}, (h, result, error) => finished.push({ id: h.id, result, error }));
    assert.equal(outbox.add(held('a.pdf')), null);
    assert.equal(outbox.add(held('b.pdf')), null);
    const counted = outbox.add(held('c.pdf'));
    assert.equal(counted?.outcome, 'skipped');
    assert.equal(counted?.detail, 'digest full: this event is counted in the next mail but not listed');
    assert.equal(counted?.dryRun, undefined);
    assert.equal(outbox.pending, 3);
    assert.deepEqual(outbox.status(), { level: 'ok', text: 'dry-run · 3 waiting · 0 mail(s)' });
    assert.equal(finished.length, 0, 'nothing answered before the window ends');
    outbox.flush();
    assert.deepEqual(finished.map((f) => f.id), ['a.pdf', 'b.pdf']);
    const first = finished[0].result;
    assert.equal(first.outcome, 'dry-run');
    assert.equal(first.dryRun, true);
    assert.equal(first.path, '/in/a.pdf');
    assert.equal(first.fileId, 'id-a.pdf');
    assert.deepEqual(first.digest, { count: 3, listed: 2, omitted: 1 });
    assert.match(first.detail, /^would mail ".*" to ops@example.test \(digest of 3\)$/);
    assert.equal(finished[0].error, undefined);
    outbox.close();
  });
});
