/**
 * Reading a sandbox's log (written by the monitor in helpers/launch/logs.c, option --log):
 * CRI format, one record per line,
 *   `<RFC 3339 UTC time with ns> <stdout|stderr> <F|P> <text>`
 * where P marks a part of a longer line: the parts of a stream are joined up to its next
 * F record. Past a size limit the monitor renames the file to `ctr.log.1`, so a log is
 * one or two files, oldest first.
 *
 * Bytes stay bytes: a record's `data` is what the sandbox wrote (binary output and UTF-8
 * sequences cut at a part boundary survive the round trip); `text` decodes it.
 *
 * - readLogTail: the last N records, reading 64 KiB blocks backwards from the end, so
 *   `--tail 10` of a 1 GiB log reads a few blocks, not the file.
 * - readLog: every record forward, with --since/--until filters.
 * - LogMerger / LineReader: the pieces `logs -f` uses to follow a growing file.
 * - parseSince: Docker's --since/--until values (RFC 3339, Unix seconds, `10m` ago).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import { parseDurationNs, parseTimeArg } from './event-query.js';

export type LogStream = 'stdout' | 'stderr';

/** One line of the file, parsed. */
export interface LogLine {
  /** The timestamp as written. */
  time: string;
  stream: LogStream;
  /** true for a P record: a part of a longer line. */
  partial: boolean;
  data: Buffer;
  readonly text: string;
}

/** One line of output: its P parts joined. */
export interface LogRecord {
  /** The time of its last part (when the line was complete), as written. */
  time: string;
  stream: LogStream;
  /** true when the line is not finished: only P parts, no F yet (or never: output without a final newline). */
  partial: boolean;
  data: Buffer;
  readonly text: string;
}

/** fs.readSync's shape; injectable so tests can count what is read. */
export type ReadFn = (fd: number, buffer: Buffer, offset: number, length: number, position: number) => number;

/** A log file: a path, or a descriptor already open (not closed here). */
export type LogFile = string | number;

export interface ReadOptions {
  read?: ReadFn;
}

export const BLOCK_SIZE = 64 * 1024;

/** A line or a record: `text` decodes `data` when asked (most output is only copied). */
class Entry implements LogRecord {
  constructor(public time: string, public stream: LogStream, public partial: boolean, public data: Buffer) {}
  get text(): string { return this.data.toString('utf8'); }
}

function makeRecord(time: string, stream: LogStream, partial: boolean, data: Buffer): LogRecord {
  return new Entry(time, stream, partial, data);
}

// ---------- times ----------

/** The monitor's own form: UTC, nine fraction digits. Such strings compare as strings. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

function isCanonical(time: string): boolean {
  // Fast path for parsed lines (already known to be RFC 3339): only the shape is left.
  return time.length === 30 && time.charCodeAt(29) === 90 /* Z */ && time.charCodeAt(19) === 46 /* . */ && CANONICAL.test(time);
}

function formatNs(ns: bigint): string {
  if (ns < 0n) ns = 0n;
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const iso = new Date(Number(sec) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

/** Nine fraction digits from however many were written (more are cut, fewer padded). */
function nanosOf(fraction: string | undefined): bigint {
  return BigInt((fraction ?? '').slice(0, 9).padEnd(9, '0'));
}

/**
 * An RFC 3339 time in canonical form (UTC, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`), which
 * orders correctly as a string, to the nanosecond; undefined when it is not RFC 3339.
 */
export function canonicalTime(time: string): string | undefined {
  if (isCanonical(time)) return time;
  const m = RFC3339.exec(time);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms) || Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return formatNs(BigInt(ms) * 1_000_000n + nanosOf(frac));
}

/** Milliseconds since the epoch (the nanoseconds beyond are dropped); NaN when malformed. */
export function timeMs(time: string): number {
  const c = canonicalTime(time);
  return c === undefined ? NaN : Date.parse(c.slice(0, 23) + 'Z');
}

/**
 * A --since / --until value, as Docker reads it (see parseTimeArg: RFC 3339, local time
 * without a zone, Unix seconds, or a duration that long before `now`), in canonical
 * form (see canonicalTime).
 */
export function parseSince(value: string, now: number | Date = Date.now(), what = '--since'): string {
  return formatNs(parseTimeArg(value, typeof now === 'number' ? now : now.getTime(), what));
}

// ---------- lines ----------

/** `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` at buf[0..30), checked byte by byte (the common case, fast). */
function canonicalAt(buf: Buffer): boolean {
  for (let i = 0; i < 29; i++) {
    const c = buf[i] as number;
    const want = i === 4 || i === 7 ? 45 /* - */ : i === 10 ? 84 /* T */ : i === 13 || i === 16 ? 58 /* : */ : i === 19 ? 46 /* . */ : 0;
    if (want ? c !== want : c < 48 || c > 57) return false;
  }
  return buf[29] === 90; /* Z */
}

const STDOUT = Buffer.from('stdout ');
const STDERR = Buffer.from('stderr ');

function bytesAt(buf: Buffer, at: number, want: Buffer): boolean {
  for (let i = 0; i < want.length; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}

/** Parses one line of the file (a string or its bytes, without the newline); undefined for garbage. */
export function parseLogLine(line: string | Buffer): LogLine | undefined {
  const buf = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
  const sp1 = buf.indexOf(32);
  if (sp1 < 20 || sp1 > 40 || buf.length < sp1 + 9) return undefined;
  // `<time> stdout F ` is 9 bytes after the time; the text may be empty (and the space after F missing).
  let stream: LogStream;
  if (bytesAt(buf, sp1 + 1, STDOUT)) stream = 'stdout';
  else if (bytesAt(buf, sp1 + 1, STDERR)) stream = 'stderr';
  else return undefined;
  const tag = buf[sp1 + 8];
  if (tag !== 70 /* F */ && tag !== 80 /* P */) return undefined;
  if (buf.length > sp1 + 9 && buf[sp1 + 9] !== 32) return undefined;
  const time = buf.toString('latin1', 0, sp1);
  if (!(sp1 === 30 && canonicalAt(buf)) && !RFC3339.test(time)) return undefined;
  return new Entry(time, stream, tag === 80, buf.subarray(Math.min(buf.length, sp1 + 10)));
}

/**
 * Joins P parts into lines, per stream, reading forward. push() returns the record that
 * a line completes; flush() gives up on the unfinished ones (end of the log).
 */
export class LogMerger {
  private readonly pending = new Map<LogStream, { time: string; parts: Buffer[] }>();

  push(line: LogLine): LogRecord | undefined {
    const p = this.pending.get(line.stream);
    if (line.partial) {
      if (p) { p.parts.push(line.data); p.time = line.time; } else this.pending.set(line.stream, { time: line.time, parts: [line.data] });
      return undefined;
    }
    if (!p) return makeRecord(line.time, line.stream, false, line.data);
    this.pending.delete(line.stream);
    p.parts.push(line.data);
    return makeRecord(line.time, line.stream, false, Buffer.concat(p.parts));
  }

  /** Puts back an unfinished record (from readLogTail) so that its F can complete it. */
  restore(record: LogRecord): void {
    this.pending.set(record.stream, { time: record.time, parts: [record.data] });
  }

  /** The unfinished lines, as records marked partial; forgets them. */
  flush(): LogRecord[] {
    const out = [...this.pending].map(([stream, p]) => makeRecord(p.time, stream, true, Buffer.concat(p.parts)));
    this.pending.clear();
    return out;
  }
}

/**
 * Reads complete lines forward from `offset` in 64 KiB blocks. `offset` always points
 * just past the last complete line handed out: a line still being written is left for
 * the next call (which is what following a growing file needs).
 */
export class LineReader {
  constructor(public fd: number, public offset = 0, private readonly read: ReadFn = readSync) {}

  /** Every complete line up to the current end of the file. */
  *lines(): Generator<Buffer> {
    let pos = this.offset;
    let rest: Buffer[] = [];
    for (;;) {
      const buf = Buffer.allocUnsafe(BLOCK_SIZE);
      const n = this.read(this.fd, buf, 0, BLOCK_SIZE, pos);
      if (n <= 0) return;
      const chunk = buf.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl);
        const line = rest.length ? Buffer.concat([...rest, piece]) : piece;
        rest = [];
        this.offset = pos + nl + 1;
        start = nl + 1;
        yield line;
      }
      if (start < n) rest.push(chunk.subarray(start));
      pos += n;
    }
  }

  /** What is left after the last newline (a line without one: the end of an old file). */
  remainder(): Buffer {
    const parts: Buffer[] = [];
    let pos = this.offset;
    for (;;) {
      const buf = Buffer.allocUnsafe(BLOCK_SIZE);
      const n = this.read(this.fd, buf, 0, BLOCK_SIZE, pos);
      if (n <= 0) break;
      parts.push(buf.subarray(0, n));
      pos += n;
    }
    return Buffer.concat(parts);
  }
}

function withFile<T>(file: LogFile, fn: (fd: number) => T): T | undefined {
  let fd: number;
  if (typeof file === 'number') return fn(file);
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try { return fn(fd); } finally { closeSync(fd); }
}

export interface TimeFilter {
  /** Records at or after this time (anything parseSince or canonicalTime accepts, already parsed). */
  since?: string | undefined;
  /** Records at or before this time; reading stops at the first record after it. */
  until?: string | undefined;
}

/** A filter's bounds in canonical form. */
function bounds(filter: TimeFilter): { since?: string; until?: string } {
  const canon = (t: string | undefined, what: string): string | undefined => {
    if (t === undefined) return undefined;
    const c = canonicalTime(t);
    if (c === undefined) throw new SandboxError(`invalid ${what} time "${t}"`);
    return c;
  };
  const since = canon(filter.since, 'since');
  const until = canon(filter.until, 'until');
  return { ...(since !== undefined && { since }), ...(until !== undefined && { until }) };
}

/** canonicalTime for times from parseLogLine (valid RFC 3339): 30 characters ending in Z are canonical. */
function fastCanonical(time: string): string {
  return time.length === 30 && time.charCodeAt(29) === 90 ? time : canonicalTime(time) ?? '';
}

/** A reusable check for many records (bounds parsed once). */
export function makeTimeFilter(filter: TimeFilter): (record: { time: string }) => -1 | 0 | 1 {
  const { since, until } = bounds(filter);
  if (since === undefined && until === undefined) return () => 0;
  return (record) => {
    const t = fastCanonical(record.time);
    if (since !== undefined && t < since) return -1;
    if (until !== undefined && t > until) return 1;
    return 0;
  };
}

/**
 * Every record of the log, oldest first, P parts joined; garbage lines skipped. `files`
 * is oldest first (ctr.log.1, then ctr.log); a missing file is no error. A line still
 * being written at the end of the newest file is left out; unfinished records at the
 * end come out marked partial.
 */
export function* readLog(files: LogFile[], filter: TimeFilter = {}, options: ReadOptions = {}): Generator<LogRecord> {
  const check = makeTimeFilter(filter);
  const merger = new LogMerger();
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as LogFile;
    let fd: number;
    if (typeof file === 'number') fd = file;
    else {
      try { fd = openSync(file, 'r'); } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
    try {
      const reader = new LineReader(fd, 0, options.read);
      for (const raw of reader.lines()) {
        const line = parseLogLine(raw);
        const record = line && merger.push(line);
        if (!record) continue;
        const where = check(record);
        if (where > 0) return;
        if (where === 0) yield record;
      }
      if (i < files.length - 1) {
        // An old file ends where the monitor rotated it: after a whole line, but be lenient.
        const rest = reader.remainder();
        const line = rest.length ? parseLogLine(rest) : undefined;
        const record = line && merger.push(line);
        if (record) {
          const where = check(record);
          if (where > 0) return;
          if (where === 0) yield record;
        }
      }
    } finally {
      if (typeof file !== 'number') closeSync(fd);
    }
  }
  for (const record of merger.flush()) {
    const where = check(record);
    if (where > 0) return;
    if (where === 0) yield record;
  }
}

/**
 * Complete lines of one file from its end backwards, in 64 KiB blocks read with
 * positions. A line without a newline at the very end (being written) is skipped when
 * `skipUnterminated`; `onEnd` learns the offset just past the last newline.
 */
function* linesBackward(fd: number, read: ReadFn, skipUnterminated: boolean, onEnd: (offset: number) => void): Generator<Buffer> {
  const size = fstatSync(fd).size;
  let pos = size;
  let tail: Buffer[] = []; // pieces of the line that continues to the right, in file order
  let first = true; // the piece after the file's last newline
  let endKnown = false;
  while (pos > 0) {
    const len = Math.min(BLOCK_SIZE, pos);
    pos -= len;
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = read(fd, buf, got, len - got, pos + got);
      if (n <= 0) break;
      got += n;
    }
    const block = got < len ? buf.subarray(0, got) : buf; // the file shrank: take what is there
    let end = block.length;
    let nl = end > 0 ? block.lastIndexOf(10, end - 1) : -1;
    while (nl >= 0) {
      if (!endKnown) { onEnd(pos + nl + 1); endKnown = true; }
      const piece = block.subarray(nl + 1, end);
      const line = tail.length ? Buffer.concat([piece, ...tail]) : piece;
      tail = [];
      const skip = first && skipUnterminated;
      first = false;
      if (!skip && line.length) yield line;
      end = nl;
      nl = end > 0 ? block.lastIndexOf(10, end - 1) : -1;
    }
    if (end > 0) tail.unshift(block.subarray(0, end));
  }
  if (!endKnown) onEnd(0);
  if (tail.length && !(first && skipUnterminated)) yield Buffer.concat(tail);
}

export interface TailResult {
  /** The last N records, oldest first; an unfinished last line of a stream is marked partial. */
  records: LogRecord[];
  /** In the newest file: the offset just past its last complete line (where following goes on). */
  end: number;
  /** Bytes read (for the curious, and for tests). */
  bytesRead: number;
}

/**
 * Once the last N lines are found, how far back the P parts of the earliest ones are
 * still looked for while only the other stream's lines go by. The monitor writes a P
 * record when 16 KiB without a newline fill its buffer and the rest of the line follows
 * at its next reads of that pipe, so parts sit close together; the CRI format cannot
 * say that an F record had no parts, so without this bound `--tail 1` of a stdout line
 * would read back to stdout's previous line, maybe a gigabyte of stderr away. A line
 * whose writer paused mid-line while the other stream wrote more than this shows only
 * its end in a tail (readLog has it whole).
 */
const PART_LOOKBACK_BYTES = 64 * 1024;

/**
 * The last `n` records of the log (files oldest first), read from the end: the cost is
 * the size of those records, not of the log. A record's P parts are joined; records
 * are ordered by their last part, as readLog orders them.
 */
export function readLogTail(files: LogFile[], n: number, options: ReadOptions = {}): TailResult {
  const baseRead = options.read ?? readSync;
  let bytesRead = 0;
  const read: ReadFn = (fd, b, o, l, p) => {
    const got = baseRead(fd, b, o, l, p);
    bytesRead += Math.max(0, got);
    return got;
  };
  let end = 0;
  const found: { seq: number; record: LogRecord }[] = [];
  if (n <= 0) {
    // Still say where the newest file ends, for following.
    const last = files[files.length - 1];
    if (last !== undefined) withFile(last, (fd) => { for (const _ of linesBackward(fd, read, true, (o) => { end = o; })) break; });
    return { records: [], end, bytesRead };
  }
  interface Open { seq: number; time: string; partial: boolean; parts: Buffer[]; otherBytes: number }
  const open = new Map<LogStream, Open>();
  const skipUntilF = new Set<LogStream>();
  let count = 0;
  const close = (stream: LogStream): void => {
    const o = open.get(stream);
    if (!o) return;
    open.delete(stream);
    found.push({ seq: o.seq, record: makeRecord(o.time, stream, o.partial, o.parts.length === 1 ? (o.parts[0] as Buffer) : Buffer.concat(o.parts.reverse())) });
  };

  let done = false;
  for (let i = files.length - 1; i >= 0 && !done; i--) {
    const file = files[i] as LogFile;
    const newest = i === files.length - 1;
    withFile(file, (fd) => {
      for (const raw of linesBackward(fd, read, newest, (o) => { if (newest) end = o; })) {
        const line = parseLogLine(raw);
        if (!line) continue;
        const s = line.stream;
        if (count >= n) for (const [other, o] of open) {
          if (other === s) continue;
          o.otherBytes += raw.length + 1;
          if (o.otherBytes > PART_LOOKBACK_BYTES) { close(other); skipUntilF.add(other); }
        }
        const o = open.get(s);
        if (o) {
          if (line.partial) { o.parts.push(line.data); o.otherBytes = 0; continue; }
          close(s); // this F ends the line before: the open one started right after it
        } else if (skipUntilF.has(s)) {
          if (line.partial) continue;
          skipUntilF.delete(s);
        }
        if (count >= n) {
          if (line.partial) skipUntilF.add(s); // a part of a line we do not show
          if (open.size === 0) { done = true; return; }
          continue;
        }
        count++;
        open.set(s, { seq: count, time: line.time, partial: line.partial, parts: [line.data], otherBytes: 0 });
      }
    });
  }
  for (const s of [...open.keys()]) close(s);
  found.sort((a, b) => b.seq - a.seq);
  return { records: found.map((f) => f.record), end, bytesRead };
}

/**
 * A growing log read a piece at a time: each `read()` returns the records completed since
 * the last one (P parts joined), reading only the new bytes, and goes on across the
 * monitor's rotation (the renamed file is read to its end first). For waits on a log
 * line (api/sdk/wait.ts); `logs -f` does the same with its own output and filters.
 */
export class LogFollower {
  private fd: number | undefined;
  private ident: { ino: number; dev: number } | undefined;
  private reader: LineReader | undefined;
  private readonly merger = new LogMerger();

  constructor(private readonly path: string) {}

  read(): LogRecord[] {
    const out: LogRecord[] = [];
    const take = (raw: Buffer): void => {
      const line = parseLogLine(raw);
      const record = line && this.merger.push(line);
      if (record) out.push(record);
    };
    // At most one rotation per call is followed: the monitor rotates at megabytes, we read every few ms.
    for (let pass = 0; pass < 2; pass++) {
      if (this.fd === undefined || !this.reader) {
        try { this.fd = openSync(this.path, 'r'); } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
          throw err;
        }
        this.ident = fstatSync(this.fd);
        this.reader = new LineReader(this.fd, 0);
      }
      for (const raw of this.reader.lines()) take(raw);
      const st = statSync(this.path, { throwIfNoEntry: false });
      if (!st || (this.ident && st.ino === this.ident.ino && st.dev === this.ident.dev)) {
        if (st && st.size < this.reader.offset) this.reader.offset = 0; // truncated
        return out;
      }
      // Rotated: what the old file holds after its last newline ends it; then the new file.
      const rest = this.reader.remainder();
      if (rest.length) take(rest);
      this.close();
    }
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.reader = undefined;
  }
}
