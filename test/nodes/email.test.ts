// qumulo-email in a real Node-RED runtime against a real local SMTP server (smtp-server):
// content, authentication, STARTTLS with certificate verification, digest batching of a burst,
// header-injection attempts, dry-run, and the digest sent on close.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { QumuloEvent } from '../../core/event';
import { fileEvent } from '../support/events';
import { tlsFixture } from '../support/sim';
import { Collector, helper, initHelper, tempDir, type ResultMsg } from '../support/actions';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const emailModule = require('../../nodes/qumulo-email');

interface ReceivedMail {
  from: string;
  rcptTo: string[];
  user: string | undefined;
  secure: boolean;
  headers: Array<[string, string]>;
  subject: string;
  text: string;
}

/** Unfolds headers and decodes RFC 2047 words and quoted-printable bodies (enough for our mails). */
function parseMail(raw: string): { headers: Array<[string, string]>; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  let body = raw.slice(split + 4);
  const headers = head.split('\r\n').map((line) => {
    const i = line.indexOf(':');
    return [line.slice(0, i).trim().toLowerCase(), decodeWords(line.slice(i + 1).trim())] as [string, string];
  });
  const cte = headers.find(([k]) => k === 'content-transfer-encoding')?.[1].toLowerCase();
  if (cte === 'quoted-printable') {
    body = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
  } else if (cte === 'base64') {
    body = Buffer.from(body, 'base64').toString('utf8');
  }
  return { headers, text: body.replace(/\r\n/g, '\n') };
}

function decodeWords(value: string): string {
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_m, enc: string, data: string) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(data, 'base64').toString('utf8')
      : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
  );
}

class TestSmtp {
  readonly mails: ReceivedMail[] = [];
  connections = 0;
  private server!: SMTPServer;
  port = 0;

  async start(options: { tls?: boolean } = {}): Promise<void> {
    const fixture = tlsFixture();
    this.server = new SMTPServer({
      secure: false,
      ...(options.tls ? { key: fixture.key, cert: fixture.cert } : { disabledCommands: ['STARTTLS'] }),
      authOptional: true,
      allowInsecureAuth: !options.tls,
      logger: false,
      disableReverseLookup: true,
      onConnect: (_session, cb) => {
        this.connections++;
        cb();
      },
      onAuth: (auth, _session, cb) => {
        if (auth.username === 'flow' && auth.password === 's3cret') cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
      onData: (stream, session: SMTPServerSession, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const { headers, text } = parseMail(Buffer.concat(chunks).toString('utf8'));
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            user: session.user as string | undefined,
            secure: session.secure,
            headers,
            subject: headers.find(([k]) => k === 'subject')?.[1] ?? '',
            text,
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function event(name: string, i = 0): QumuloEvent {
  const fileId = String(1000 + i);
  return fileEvent(name, { fileId, spine: [fileId], seq: i + 1, receivedAt: Date.UTC(2025, 5, 1, 12, 0, 0) + i });
}

describe('qumulo-email node (real SMTP server, real runtime)', function () {
  this.timeout(40_000);
  let smtp: TestSmtp;
  let userDir: string;
  let lastFlow: Array<Record<string, unknown>> = [];

  before(() => {
    userDir = tempDir('email-userdir');
    initHelper(userDir);
  });
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await smtp.stop();
  });

  async function load(props: Record<string, unknown>, options: { tls?: boolean; credentials?: object } = {}) {
    smtp = new TestSmtp();
    await smtp.start(options);
    await helper.startServer();
    const flow = [
      { id: 'tab', type: 'tab', label: 'email' },
      {
        id: 'mail',
        type: 'qumulo-email',
        z: 'tab',
        name: 'mail under test',
        host: '127.0.0.1',
        port: String(smtp.port),
        security: 'none',
        verifyTls: true,
        from: 'qumulo-flow@example.com',
        to: 'ops@example.com, Security <sec@example.com>',
        windowSeconds: '1',
        maxListed: '100',
        maxHeld: '1000',
        x: 100,
        y: 100,
        wires: [['out']],
        ...props,
      },
      { id: 'out', type: 'helper', z: 'tab', x: 300, y: 100 },
      { id: 'catch', type: 'catch', z: 'tab', scope: null, uncaught: false, x: 100, y: 200, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 200 },
    ];
    lastFlow = flow;
    await helper.load(emailModule, flow, { mail: options.credentials ?? { user: 'flow', password: 's3cret' } });
    return { mail: helper.getNode('mail'), out: new Collector(helper.getNode('out')), caught: new Collector(helper.getNode('caught')) };
  }

  it('mails a digest with the templated subject and body, authenticated, to the configured recipients', async () => {
    const { mail, out } = await load({ subject: '[{count}] {type}: {name}', line: '{type} {path} ({rules})' });
    for (let i = 0; i < 3; i++) mail.receive({ payload: event(`report-${i}.pdf`, i), rules: [{ name: 'pdfs' }] });
    const results = await out.next(3);
    assert.equal(smtp.mails.length, 1);
    const received = smtp.mails[0];
    assert.equal(received.user, 'flow', 'authenticated with the node credentials');
    assert.equal(received.from, 'qumulo-flow@example.com');
    assert.deepEqual(received.rcptTo.sort(), ['ops@example.com', 'sec@example.com']);
    assert.equal(received.subject, '[3] child_file_added: report-0.pdf');
    for (let i = 0; i < 3; i++) assert.match(received.text, new RegExp(`child_file_added /data/report-${i}\\.pdf \\(pdfs\\)`));
    assert.match(received.text, /qumulo-flow saw 3 matching event\(s\) between 20\d\d-/);
    for (const r of results) {
      assert.equal(r.result.action, 'email');
      assert.equal(r.result.outcome, 'done');
      assert.equal(r.result.messageId, results[0].result.messageId);
      assert.deepEqual(r.result.digest, { count: 3, listed: 3, omitted: 0 });
    }
  });

  it('with the audit option, each event\'s result is in the audit trail before the message moves on', async () => {
    const auditDir = path.join(process.env.QUMULO_FLOW_STATE_DIR || userDir, 'qumulo-flow-audit');
    const recordsOnDisk = (): Array<{ id: string; action: string; outcome: string; path: string; node: string }> =>
      fs.existsSync(auditDir)
        ? fs.readdirSync(auditDir).flatMap((name) => fs.readFileSync(path.join(auditDir, name), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)))
        : [];
    const already = recordsOnDisk().length;
    const { mail, out } = await load({ audit: true });
    const onDiskWhenArrived: number[] = [];
    helper.getNode('out').on('input', () => onDiskWhenArrived.push(recordsOnDisk().length - already));
    for (let i = 0; i < 2; i++) mail.receive({ payload: event(`audited-${i}.pdf`, i) });
    const results = await out.next(2);
    assert.deepEqual(results.map((r) => r.result.outcome), ['done', 'done']);
    assert.ok(onDiskWhenArrived.every((count) => count >= 1), `a message arrived before its record was written: ${onDiskWhenArrived.join(', ')}`);
    const records = recordsOnDisk().slice(already);
    assert.deepEqual(records.map((r) => r.path).sort(), ['/data/audited-0.pdf', '/data/audited-1.pdf']);
    assert.ok(records.every((r) => r.action === 'email' && r.outcome === 'done' && r.node === 'mail'));
  });

  it('a burst of 1,000 events becomes a handful of mails listing at most N lines each', async () => {
    const { mail, out } = await load({ windowSeconds: '1', maxListed: '50', maxHeld: '1000' });
    for (let i = 0; i < 1000; i++) {
      mail.receive({ payload: event(`f${i}.dat`, i) });
      if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await out.next(1000, 30_000);
    assert.ok(smtp.mails.length >= 1 && smtp.mails.length <= 5, `${smtp.mails.length} mails`);
    let counted = 0;
    for (const m of smtp.mails) {
      const count = Number(/saw (\d+) matching/.exec(m.text)?.[1]);
      counted += count;
      const lines = m.text.split('\n').filter((l) => l.startsWith('20')).length;
      assert.ok(lines <= 50, `${lines} lines listed`);
      if (count > 50) assert.match(m.text, new RegExp(`… and ${count - 50} more event\\(s\\) not listed\\.`));
    }
    assert.equal(counted, 1000, 'every event is counted in some mail');
    assert.equal(results.filter((r) => r.result.outcome === 'done').length, 1000);
  });

  it('file names cannot inject headers or recipients', async () => {
    const { mail, out } = await load({ subject: 'new file {name}' });
    const evil = ['evil\r\nBcc: attacker@evil.example.pdf', 'x\nX-Injected: yes\n\nbody', 'y\rTo: other@evil.example', 'z\u2028Cc: c@evil.example'];
    evil.forEach((name, i) => mail.receive({ payload: event(name, i) }));
    await out.next(evil.length);
    assert.equal(smtp.mails.length, 1);
    const received = smtp.mails[0];
    assert.deepEqual(received.rcptTo.sort(), ['ops@example.com', 'sec@example.com'], 'no recipient was added');
    const names = received.headers.map(([k]) => k);
    for (const forbidden of ['bcc', 'cc', 'x-injected']) assert.ok(!names.includes(forbidden), `no ${forbidden} header`);
    assert.equal(names.filter((n) => n === 'to').length, 1);
    assert.equal(received.subject, 'new file evil Bcc: attacker@evil.example.pdf');
    assert.match(received.text, /evil\\u000d\\u000aBcc: attacker@evil\.example\.pdf/);
    assert.match(received.text, /x\\u000aX-Injected: yes\\u000a\\u000abody/);
  });

  it('STARTTLS verifies the server certificate: refused without the CA (failed + Catch), delivered with it', async () => {
    const noCa = await load({ security: 'starttls' }, { tls: true });
    noCa.mail.receive({ payload: event('a.txt') });
    const [failed] = await noCa.out.next(1, 20_000);
    assert.equal(failed.result.outcome, 'failed');
    assert.match(failed.result.detail, /certificate|self[- ]signed/i);
    await noCa.caught.next(1);
    assert.equal(smtp.mails.length, 0);
    await helper.unload();
    await helper.stopServer();
    await smtp.stop();

    const withCa = await load({ security: 'starttls', ca: tlsFixture().cert }, { tls: true });
    withCa.mail.receive({ payload: event('b.txt') });
    const [done] = await withCa.out.next(1, 20_000);
    assert.equal(done.result.outcome, 'done', done.result.detail);
    assert.equal(smtp.mails.length, 1);
    assert.equal(smtp.mails[0].secure, true, 'the session was upgraded to TLS');
  });

  it('dry-run composes the mail without connecting', async () => {
    const { mail, out } = await load({ dryRun: true, subject: 'would be {count}' });
    mail.receive({ payload: event('a.txt') });
    const [msg] = await out.next(1);
    assert.equal(msg.result.outcome, 'dry-run');
    assert.equal((msg.result.mail as { subject: string }).subject, 'would be 1');
    assert.equal(smtp.connections, 0);
  });

  it('sends the open digest when a deploy restarts the node, and the results reach the flow', async () => {
    const { mail, out } = await load({ windowSeconds: '3600' });
    mail.receive({ payload: event('late-1.txt') });
    mail.receive({ payload: event('late-2.txt', 1) });
    assert.equal(smtp.mails.length, 0, 'the window is an hour');
    // A "nodes" deploy that changes only the email node: it closes (flushing) while the rest runs on.
    const flow = lastFlow.map((n) => (n.id === 'mail' ? { ...n, name: 'renamed' } : n));
    await helper.setFlows(flow, 'nodes', { mail: { user: 'flow', password: 's3cret' } });
    assert.equal(smtp.mails.length, 1, 'mailed during close');
    assert.match(smtp.mails[0].text, /late-1\.txt[\s\S]*late-2\.txt/);
    const results = await out.next(2);
    assert.ok(results.every((r) => r.result.outcome === 'done'));
  });

  it('wrong SMTP credentials fail every held event, and Catch sees it', async () => {
    const { mail, out, caught } = await load({}, { credentials: { user: 'flow', password: 'wrong' } });
    mail.receive({ payload: event('a.txt') });
    const [msg] = await out.next(1, 20_000);
    assert.equal(msg.result.outcome, 'failed');
    await caught.next(1);
    assert.equal(smtp.mails.length, 0);
  });
});
