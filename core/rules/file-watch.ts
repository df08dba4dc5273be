// Watches one rule file for changes. Watches the *directory* (not the file) so editors that save by
// writing a temporary file and renaming it over the original are seen too, and debounces bursts of
// events (truncate + write + chmod...) into one callback after the file has been quiet for a while.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RuleFileWatchOptions {
  /** Quiet time before `onChange` fires, in ms. */
  debounceMs: number;
  onChange: () => void;
  /** The watcher failed (directory removed, too many watchers…); it falls back to polling. */
  onError?: (err: Error) => void;
  /** Poll interval used when fs.watch is unavailable, in ms. */
  pollIntervalMs?: number;
}

export interface RuleFileWatcher {
  close(): void;
  /** 'watch' (inotify & co) or 'poll' (fs.watchFile fallback). */
  readonly mode: 'watch' | 'poll';
}

export function watchRuleFile(filePath: string, options: RuleFileWatchOptions): RuleFileWatcher {
  const absolute = path.resolve(filePath);
  const directory = path.dirname(absolute);
  const base = path.basename(absolute);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let watcher: fs.FSWatcher | undefined;
  let polling = false;

  const schedule = () => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) options.onChange();
    }, options.debounceMs);
  };

  const startPolling = () => {
    if (polling || closed) return;
    polling = true;
    fs.watchFile(absolute, { interval: options.pollIntervalMs ?? 1000, persistent: false }, (current, previous) => {
      if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) schedule();
    });
  };

  try {
    watcher = fs.watch(directory, { persistent: false }, (_event, filename) => {
      // Some platforms omit the name; then any change in the directory may be ours.
      if (filename === null || filename === undefined || filename.toString() === base) schedule();
    });
    watcher.on('error', (err) => {
      watcher?.close();
      watcher = undefined;
      options.onError?.(err);
      startPolling();
    });
  } catch (err) {
    options.onError?.(err as Error);
    startPolling();
  }

  return {
    get mode() {
      return polling ? 'poll' : 'watch';
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
      if (polling) fs.unwatchFile(absolute);
    },
  };
}
