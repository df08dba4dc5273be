// The simulator as its own process (`dist/sim/cli.js`), as a separate cluster would be: in the
// bench's process it would share one event loop with Node-RED and measure the simulator as much as us.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** Starts the simulator over `root` with +latencyMs per answer; resolves once it listens. */
export async function startSimProcess(root: string, latencyMs: number): Promise<{ child: ChildProcess; port: number }> {
  const cli = path.resolve(__dirname, '..', 'sim', 'cli.js');
  const child = spawn(process.execPath, [cli, '--root', root, '--port', '0', '--latency-ms', String(latencyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}) before listening: ${out}`)));
  });
  child.stdout!.resume();
  return { child, port };
}
