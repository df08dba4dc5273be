// The one builder for hand-made file events in specs and benches: a complete QumuloEvent whose
// path fields agree with each other, with any field replaceable.
import type { QumuloEvent } from '../../core/event';

/**
 * A complete `child_file_added` event for the file `relativePath` below `overrides.watchRoot`
 * (default `/data`; watch `w`, no file id, seq 0, receivedAt 0 unless overridden). The path, name,
 * extension and parent are derived from `relativePath`; every field of `overrides` replaces the
 * derived or default one (keys keep the order below, so JSON of the event is stable).
 */
export function fileEvent(relativePath: string, overrides: Partial<QumuloEvent> = {}): QumuloEvent {
  const watchRoot = overrides.watchRoot ?? '/data';
  const path = `${watchRoot.replace(/\/+$/, '')}/${relativePath}`;
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return {
    type: 'child_file_added',
    path,
    relativePath,
    name,
    extension: dot > 0 && dot < name.length - 1 ? name.slice(dot + 1) : '',
    parentDir: path.slice(0, path.lastIndexOf('/')) || '/',
    fileId: null,
    spine: [],
    isDirectory: false,
    streamName: null,
    watchId: 'w',
    watchRoot,
    seq: 0,
    receivedAt: 0,
    ...overrides,
  };
}
