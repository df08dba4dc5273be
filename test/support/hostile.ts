// A hostile Qumulo front on loopback for the hostile-input tests. Change-notify requests are
// answered by the test (events it sends, an endless line, garbage, streams that open and close at
// once); every other request — login, attributes, directory listings for gap healing, moves — is
// passed to a real simulator behind it (or answered 404 when there is none).

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export class HostileFront {
  /** Change-notify connections accepted so far. */
  connections = 0;
  /** Bytes written into endless lines so far. */
  endlessBytes = 0;
  /** Delay before a request is passed to the simulator (slow heals). */
  upstreamDelayMs = 0;
  private readonly server: http.Server;
  private readonly streams = new Set<http.ServerResponse>();
  private openAndCloseLeft = 0;

  private constructor(private readonly upstreamPort: number | null) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(upstreamPort: number | null = null): Promise<HostileFront> {
    const front = new HostileFront(upstreamPort);
    await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    return front;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Open change-notify streams. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** The next `count` change-notify connections are accepted and closed at once. */
  openAndClose(count: number): void {
    this.openAndCloseLeft = count;
  }

  /** Writes raw text to every open stream. */
  write(text: string): void {
    for (const res of this.streams) res.write(text);
  }

  /** Sends one `data:` line with these notifications to every open stream. */
  send(notifications: unknown[]): void {
    this.write(`data: ${JSON.stringify(notifications)}\n\n`);
  }

  /**
   * Starts a `data:` line that never ends on every open stream: 64 KiB chunks of `a` as fast as
   * the socket takes them, until the client goes away or `capBytes` have been written.
   */
  endlessLine(capBytes = 64 * 1024 * 1024): void {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    for (const res of [...this.streams]) {
      this.streams.delete(res);
      res.write('data: [');
      let written = 0;
      const pump = () => {
        while (!res.destroyed && written < capBytes) {
          written += chunk.length;
          this.endlessBytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
    }
  }

  /** Ends every open stream (the client sees the stream end). */
  dropAll(): void {
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  async stop(): Promise<void> {
    for (const res of this.streams) res.destroy();
    this.streams.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (/^\/v1\/files\/[^/]+\/notify(\?|$)/.test(String(req.url))) {
      this.connections++;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      if (this.openAndCloseLeft > 0) {
        this.openAndCloseLeft--;
        res.end(': watching\n\n');
        return;
      }
      res.write(': watching\n\n');
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
      return;
    }
    if (this.upstreamPort === null) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error_class: 'fs_no_such_entry_error', description: 'not here' }));
      return;
    }
    if (this.upstreamDelayMs > 0) {
      req.pause();
      setTimeout(() => this.pass(req, res), this.upstreamDelayMs);
      return;
    }
    this.pass(req, res);
  }

  private pass(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (res.destroyed) return;
    const upstream = http.request({ host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
    req.resume();
  }
}
