/**
 * The event journal: one JSON object per line in <data>/events.jsonl, appended with
 * O_APPEND in a single write (lines stay well under PIPE_BUF, so concurrent writers
 * never interleave), readable and followable by any process. The monitor (C) appends
 * `die` events in the same format when a detached sandbox ends.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorePaths } from './paths.js';
import { ensureStoreDir } from './store-dirs.js';

export type EventAction =
  | 'create' | 'start' | 'die' | 'stop' | 'kill' | 'restart' | 'rename' | 'remove' | 'exec' | 'label'
  | 'volume-create' | 'volume-remove' | 'commit' | 'health_status'
  | 'pause' | 'unpause' | 'update'
  // Image events (type image), as Podman names them; `remove` is shared with sandboxes.
  | 'pull' | 'push' | 'load' | 'save' | 'import' | 'tag' | 'untag';

export interface SandboxEvent {
  /** RFC 3339 with nanoseconds, UTC. */
  time: string;
  type: 'container' | 'volume' | 'image' | 'network' | 'pod';
  action: EventAction;
  id: string;
  name?: string;
  /** e.g. exitCode for `die`, signal for `kill`, oldName for `rename`, image for `create`. */
  attributes?: Record<string, string | number>;
}

export function eventsPath(paths: StorePaths): string {
  return join(paths.data, 'events.jsonl');
}

/** Now, as RFC 3339 with nanosecond digits (milliseconds padded), like the monitor writes. */
export function eventTime(now = new Date()): string {
  return now.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Appends one event; a journal that cannot be written never fails the command itself. */
export function appendEvent(paths: StorePaths, event: Omit<SandboxEvent, 'time'> & { time?: string }): void {
  const { time, ...rest } = event;
  const line = JSON.stringify({ time: time ?? eventTime(), ...rest }) + '\n';
  try {
    appendFileSync(eventsPath(paths), line);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
    try {
      ensureStoreDir(paths, 'data');
      appendFileSync(eventsPath(paths), line);
    } catch { /* see above */ }
  }
}
