/**
 * `sandbox logs [-f] [--tail N|all] [--since T] [--until T] [-t] NAME`: a detached
 * sandbox's output, from the log its monitor writes (see src/state/logs.ts). stdout
 * records go to stdout, stderr records to stderr, in the order they were written;
 * `-t` puts the timestamp before each line, as Docker does. `-f` follows the file
 * (polling every 100 ms, across rotations) until the sandbox has ended. A sandbox with
 * no log (it ran in the foreground) prints nothing, as Podman.
 */
import type { CommandModule } from 'yargs';
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxError } from '../../errors.js';
import { findSandbox, readRecord } from '../../state/sandboxes.js';
import { currentState } from '../../api/lifecycle.js';
import { logFileOf, sandboxLogRecords } from '../../api/logs.js';
import {
  LineReader, LogMerger, makeTimeFilter, parseLogLine, parseSince, readLogTail, timeMs,
  type LogRecord, type LogStream, type TimeFilter,
} from '../../state/logs.js';
import type { StorePaths } from '../../state/paths.js';
import { storePathsFromArgs, type GlobalArgs } from '../context.js';

interface LogsArgs extends GlobalArgs {
  name: string;
  follow: boolean;
  tail: string;
  since?: string;
  until?: string;
  timestamps: boolean;
}

const POLL_MS = 100;
const BATCH_BYTES = 64 * 1024;
const NL = Buffer.from('\n');

/** `--tail`: a count, or undefined for all (`all`, or a negative number, as Docker). */
export function parseTail(value: string): number | undefined {
  const v = value.trim();
  if (v === 'all' || v === '') return undefined;
  if (/^-\d+$/.test(v)) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  throw new SandboxError(`invalid --tail value "${value}"`, { hint: 'give a number of lines, or all' });
}

/**
 * Writes records to stdout/stderr in batches (one write per 64 KiB or per change of
 * stream, so the interleaving of the two is kept). A closed pipe (`| head`) just ends
 * the output.
 */
class Output {
  private chunks: Buffer[] = [];
  private size = 0;
  private stream: LogStream = 'stdout';
  closed = false;

  constructor(private readonly timestamps: boolean) {
    const onError = (): void => { this.closed = true; };
    process.stdout.on('error', onError);
    process.stderr.on('error', onError);
  }

  async record(r: LogRecord): Promise<void> {
    if (this.closed) return;
    if (r.stream !== this.stream && this.size) await this.flush();
    this.stream = r.stream;
    if (this.timestamps) this.chunks.push(Buffer.from(`${r.time} `));
    this.chunks.push(r.data, NL);
    this.size += r.data.length + 32;
    if (this.size >= BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    const chunks = this.chunks;
    this.chunks = [];
    this.size = 0;
    if (!chunks.length || this.closed) return;
    const target = this.stream === 'stdout' ? process.stdout : process.stderr;
    if (target.write(Buffer.concat(chunks))) return;
    await new Promise<void>((resolve) => {
      const done = (): void => { target.off('drain', done); target.off('error', done); target.off('close', done); resolve(); };
      target.on('drain', done).on('error', done).on('close', done);
    });
  }
}

/**
 * Still running, as the store judges it everywhere else: the record, the exit file and
 * the monitor's liveness (so `-f` goes on across the restarts of a restart policy).
 */
function stillRunning(paths: StorePaths, id: string): boolean {
  const record = readRecord(paths, id);
  return record !== undefined && currentState(paths, record).status === 'running';
}

function tryOpen(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function sameFile(a: { ino: number; dev: number }, b: { ino: number; dev: number }): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

async function follow(paths: StorePaths, id: string, tail: number | undefined, filter: TimeFilter, out: Output): Promise<void> {
  const log = logFileOf(paths, id);
  const old = `${log}.1`;
  const check = makeTimeFilter(filter);
  const untilMs = filter.until !== undefined ? timeMs(filter.until) : undefined;
  const merger = new LogMerger();
  let stop = false;

  const emit = async (r: LogRecord | undefined): Promise<void> => {
    if (!r || stop) return;
    const where = check(r);
    if (where > 0) stop = true;
    else if (where === 0) await out.record(r);
  };
  const pump = async (reader: LineReader): Promise<void> => {
    for (const raw of reader.lines()) {
      const line = parseLogLine(raw);
      if (line) await emit(merger.push(line));
      if (stop || out.closed) return;
    }
  };

  // The descriptor we follow is opened first: whatever is rotated away later is still read through it.
  let fd = tryOpen(log);
  let ident = fd !== undefined ? fstatSync(fd) : undefined;
  const oldStat = statSync(old, { throwIfNoEntry: false });
  if (fd === undefined && !oldStat) return; // no log: a sandbox that ran in the foreground
  const oldFiles = oldStat && !(ident && sameFile(oldStat, ident)) ? [old] : [];
  let reader: LineReader | undefined;
  try {
    if (tail === undefined) {
      for (const file of oldFiles) {
        const ofd = tryOpen(file);
        if (ofd === undefined) continue;
        try {
          const r = new LineReader(ofd);
          await pump(r);
          const rest = r.remainder();
          const line = rest.length ? parseLogLine(rest) : undefined;
          if (line) await emit(merger.push(line));
        } finally { closeSync(ofd); }
      }
      if (fd !== undefined) reader = new LineReader(fd, 0);
    } else {
      const t = readLogTail(fd !== undefined ? [...oldFiles, fd] : oldFiles, tail);
      for (const r of t.records) {
        if (r.partial) merger.restore(r); // its end may still come
        else await emit(r);
      }
      if (fd !== undefined) reader = new LineReader(fd, t.end);
    }

    const poll = async (): Promise<void> => {
      if (fd === undefined || !reader) {
        fd = tryOpen(log);
        if (fd === undefined) return;
        ident = fstatSync(fd);
        reader = new LineReader(fd, 0);
      }
      await pump(reader);
      const st = statSync(log, { throwIfNoEntry: false });
      if (!st || stop) return; // between the monitor's rename and its new file: next time
      if (ident && !sameFile(st, ident)) {
        // Rotated: the old file is complete (read to its end above); go on with the new one.
        const rest = reader.remainder();
        const line = rest.length ? parseLogLine(rest) : undefined;
        if (line) await emit(merger.push(line));
        closeSync(fd);
        fd = undefined;
        reader = undefined;
        await poll();
      } else if (st.size < reader.offset) {
        reader.offset = 0; // truncated
        await pump(reader);
      }
    };

    for (;;) {
      // Decided before the last read: what the sandbox wrote before it ended is read after.
      const ended = !stillRunning(paths, id) || (untilMs !== undefined && Date.now() > untilMs);
      await poll();
      await out.flush();
      if (ended || stop || out.closed) break;
      await sleep(POLL_MS);
    }
    if (!stop) for (const r of merger.flush()) await emit(r);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export const logsCommand: CommandModule<GlobalArgs, LogsArgs> = {
  command: 'logs <name>',
  describe: "Print a sandbox's output (its stdout to stdout, its stderr to stderr)",
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'Sandbox name or id (any unique prefix)' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Keep printing new output until the sandbox ends' })
      .option('tail', { alias: 'n', type: 'string', default: 'all', describe: 'Only the last N lines (or all)' })
      .option('since', { type: 'string', describe: 'Only lines since T: RFC 3339 time, Unix timestamp, or a duration ago (10m, 1h30m)' })
      .option('until', { type: 'string', describe: 'Only lines until T (same forms as --since; a duration is counted from now on, as Podman)' })
      .option('timestamps', { alias: 't', type: 'boolean', default: false, describe: 'Put the time before each line' }),
  handler: async (args) => {
    const tail = parseTail(String(args.tail));
    const now = Date.now();
    const filter: TimeFilter = {
      since: args.since !== undefined ? parseSince(String(args.since), now) : undefined,
      until: args.until !== undefined ? parseSince(String(args.until), now, '--until') : undefined,
    };
    const paths = storePathsFromArgs(args);
    const record = findSandbox(paths, args.name);
    const out = new Output(args.timestamps);
    if (args.follow) {
      await follow(paths, record.id, tail, filter, out);
    } else {
      for (const r of sandboxLogRecords(paths, record.id, tail, filter)) {
        await out.record(r);
        if (out.closed) break;
      }
    }
    await out.flush();
  },
};

/** `start -a`: prints the sandbox's output from `since` on until it ends (the follow of `logs -f`). */
export async function attachOutput(paths: StorePaths, id: string, since: string): Promise<void> {
  const out = new Output(false);
  await follow(paths, id, undefined, { since }, out);
  await out.flush();
}
