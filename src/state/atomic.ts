/** Crash-safe file writes: temp file in the same directory, fsync, rename. */
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, readFileSync } from 'node:fs';
import { randomHex } from './random.js';
import { dirname, basename, join } from 'node:path';

/**
 * `sync: false` skips the fsync (~1 ms on ext4): for a copy kept only in case another
 * file is damaged, which a crash of the machine may leave empty, never half-written.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, sync = true): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomHex(6)}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (sync) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown, sync = true): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', 0o644, sync);
}

/** Reads JSON, or returns undefined when the file does not exist. */
export function readJsonIfExists<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

/** A file streamed under a temporary name beside `path`: `commit` gives it its name only when whole. */
export interface AtomicOutput {
  stream: import('node:fs').WriteStream;
  /** Ends the stream if it is not ended yet, syncs the file and renames it to `path`. */
  commit(): Promise<void>;
  /** Throws the file away (after a failure). */
  discard(): void;
}

/** For `save -o` and `export -o`: a failed or killed write never leaves a half file under the name. */
export function openAtomicOutput(path: string): AtomicOutput {
  const { createWriteStream, rmSync } = require('node:fs') as typeof import('node:fs');
  const temp = join(dirname(path), `.${basename(path)}.${randomHex(6)}.tmp`);
  const stream = createWriteStream(temp, { flags: 'wx', mode: 0o644 });
  // An open or write error is kept for commit (and for the pipe writing into the stream).
  let failure: Error | undefined;
  stream.on('error', (err) => { failure ??= err; });
  return {
    stream,
    async commit() {
      if (!stream.writableFinished && !failure) await new Promise<void>((resolve) => { stream.end(resolve); stream.once('error', () => resolve()); });
      if (failure) throw failure;
      const fd = openSync(temp, 'r');
      try { fsyncSync(fd); } finally { closeSync(fd); }
      renameSync(temp, path);
    },
    discard() {
      stream.destroy();
      rmSync(temp, { force: true });
    },
  };
}
