/**
 * A sandbox's recorded output (what its monitor wrote to its log, src/state/logs.ts), as
 * `sandbox logs` without -f prints it and Sandbox.logs() returns it: every record, or the
 * last N lines, within a time window.
 */
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, readRecord } from '../state/sandboxes.js';
import { sandboxLogFile } from '../state/sandbox-dir.js';
import { makeTimeFilter, readLog, readLogTail, type LogRecord, type TimeFilter } from '../state/logs.js';

/** The sandbox's log file (--log-opt path= moves it); an error, as Podman's, with --log-driver none. */
export function logFileOf(paths: StorePaths, id: string): string {
  const record = readRecord(paths, id);
  const file = record ? sandboxLogFile(paths, record) : undefined;
  if (record && !file) {
    throw new SandboxError("this sandbox is using the 'none' log driver, cannot read logs: it is not logging output", {
      hint: 'run it with --log-driver k8s-file (the default) to keep its output',
    });
  }
  return file ?? sandboxLogFile(paths, { id, request: {} })!;
}

/** The records of the sandbox `ref`'s log, oldest first: all of them, or the last `tail` lines, within `filter`. */
export function* sandboxLogRecords(paths: StorePaths, ref: string, tail: number | undefined, filter: TimeFilter = {}): Generator<LogRecord> {
  const log = logFileOf(paths, findSandbox(paths, ref).id);
  const files = [`${log}.1`, log];
  if (tail === undefined) {
    yield* readLog(files, filter);
    return;
  }
  const check = makeTimeFilter(filter);
  for (const r of readLogTail(files, tail).records) if (check(r) === 0) yield r;
}
