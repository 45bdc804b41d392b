/**
 * Reading the event journal (see events.ts): --since/--until times, --filter matching
 * with Docker's rule (values of one key ORed, different keys ANDed), the human line,
 * and an incremental reader that takes only complete lines, so a line still being
 * written (or a writer that died mid-line) is never half-parsed. Pure but for the
 * reader's file access.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import { labelMatches } from '../labels.js';
import type { SandboxEvent } from './events.js';

// ---------- times ----------

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

/** Nine fraction digits from however many were given (more are cut, fewer padded). */
function fractionNs(frac: string | undefined): bigint {
  return BigInt((frac ?? '').slice(0, 9).padEnd(9, '0'));
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/;

function fieldsValid(mo: number, d: number, h: number, mi: number, s: number): boolean {
  return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60;
}

/** An RFC 3339 time (with a zone) in nanoseconds since the epoch; undefined when it is not one. */
export function rfc3339Ns(time: string): bigint | undefined {
  const m = RFC3339.exec(time);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!fieldsValid(mo, d, h, mi, s)) return undefined;
  let ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const zone = m[8] ?? 'Z';
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * NS_PER_MS + fractionNs(m[7]);
}

// µs (micro sign, U+00B5) and μs (Greek mu, U+03BC) as escapes: esbuild copies a regular
// expression as written, and one non-ASCII character in a bundle makes Node read all of it
// as a two-byte string at every start (scripts/build.mjs checks the CLI's bundles for it).
const DURATION = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g;
const UNIT_NS: Record<string, bigint> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: NS_PER_MS, s: NS_PER_S, m: 60n * NS_PER_S, h: 3600n * NS_PER_S,
};

/** A decimal number times `unit`, exactly (below a nanosecond is dropped). */
function decimalTimes(value: string, unit: bigint): bigint {
  const [int = '', frac = ''] = value.split('.');
  const whole = BigInt(int || '0') * unit;
  return frac ? whole + (BigInt(frac) * unit) / 10n ** BigInt(frac.length) : whole;
}

/** A Go duration (`10m`, `1h30m`, `1.5s`, `-5m`) in nanoseconds; undefined when it is not one. */
export function parseDurationNs(value: string): bigint | undefined {
  if (!DURATION.test(value)) return undefined;
  let ns = 0n;
  for (const m of value.matchAll(DURATION_PART)) ns += decimalTimes(m[1] ?? '0', UNIT_NS[m[2] ?? 'ns'] ?? 1n);
  return value.startsWith('-') ? -ns : ns;
}

/**
 * A --since / --until value, as Podman reads it (util.ParseInputTime), in nanoseconds since
 * the epoch: an RFC 3339 time (without a zone, or a bare date, it is local time); Unix
 * seconds with an optional fraction; or a duration (`10m`, `1h30m`): for --since that long
 * before `now`, for --until (`what`) that long after it, as Podman (Docker counts both back).
 */
export function parseTimeArg(value: string, now: number = Date.now(), what = '--since'): bigint {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return decimalTimes(v, NS_PER_S);
  const rfc = rfc3339Ns(v);
  if (rfc !== undefined) return rfc;
  const local = LOCAL.exec(v);
  if (local) {
    const [y, mo, d, h = 0, mi = 0, s = 0] = local.slice(1, 7).map((x) => (x === undefined ? 0 : Number(x))) as number[];
    const ms = new Date(y!, mo! - 1, d!, h, mi, s).getTime();
    if (!Number.isNaN(ms) && fieldsValid(mo!, d!, h, mi, s)) return BigInt(ms) * NS_PER_MS + fractionNs(local[7]);
  }
  const d = parseDurationNs(v);
  if (d !== undefined) return BigInt(Math.floor(now)) * NS_PER_MS + (what === '--until' ? d : -d);
  throw new SandboxError(`invalid time ${JSON.stringify(value)} for ${what}`, {
    hint: 'give an RFC 3339 time (2026-11-23T15:40:21Z), Unix seconds (1700000000), or a duration such as 10m or 1h30m (that long ago)',
  });
}

// ---------- filters ----------

export type FilterKey = 'container' | 'event' | 'type' | 'label';

/** Values per key: ORed within a key, ANDed across keys. */
export type EventFilters = Partial<Record<FilterKey, string[]>>;

const KEY_ALIASES: Record<string, FilterKey> = { container: 'container', event: 'event', action: 'event', type: 'type', label: 'label' };
const TYPES = ['container', 'volume', 'image', 'pod'];

/** Parses repeated `--filter KEY=VALUE`; an unknown key or a bad value is a one-line error. */
export function parseEventFilters(specs: readonly string[]): EventFilters {
  const out: EventFilters = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const rawKey = (eq < 0 ? spec : spec.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : spec.slice(eq + 1);
    const key = KEY_ALIASES[rawKey];
    if (!key) {
      throw new SandboxError(`invalid filter ${JSON.stringify(spec)}`, {
        hint: 'filters are container=NAME|ID, event=ACTION (or action=), type=container|volume|image|pod, label=KEY[=VALUE]',
      });
    }
    if (value === '' || (key === 'label' && value.startsWith('='))) {
      throw new SandboxError(`invalid filter ${JSON.stringify(spec)}: no value`, { hint: `give it as --filter ${rawKey}=VALUE` });
    }
    if (key === 'type' && !TYPES.includes(value)) {
      throw new SandboxError(`invalid filter ${JSON.stringify(spec)}: unknown type`, { hint: `use type=${TYPES.join('|')}` });
    }
    (out[key] ??= []).push(value);
  }
  return out;
}

/** What a label filter needs to know about a sandbox that may still exist. */
export interface SandboxLookup {
  /** The sandbox's labels now, or undefined when it is gone. */
  labels(id: string): Record<string, string> | undefined;
  /** The sandbox's name now (it may have been renamed since the event), if it exists. */
  name?(id: string): string | undefined;
}

/** The labels an event is judged by: the sandbox's current ones, then those the event carries. */
function eventLabels(event: SandboxEvent, lookup: SandboxLookup | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (event.type === 'container') Object.assign(out, lookup?.labels(event.id) ?? {});
  for (const [k, v] of Object.entries(event.attributes ?? {})) out[k] = String(v);
  return out;
}

/** Docker's rule: every key given must match one of its values. */
export function matchEvent(event: SandboxEvent, filters: EventFilters, lookup?: SandboxLookup): boolean {
  if (filters.type && !filters.type.includes(event.type)) return false;
  if (filters.event && !filters.event.includes(event.action)) return false;
  if (filters.container) {
    if (event.type !== 'container') return false;
    const current = lookup?.name?.(event.id);
    const ok = filters.container.some((c) => c === event.name || c === current || (/^[a-f0-9]+$/.test(c) && event.id.startsWith(c)));
    if (!ok) return false;
  }
  if (filters.label) {
    const labels = eventLabels(event, lookup);
    if (!filters.label.some((spec) => labelMatches(labels, spec))) return false;
  }
  return true;
}

/** True when the event's time is within [since, until] (an event with an unreadable time is outside any window). */
export function inWindow(event: SandboxEvent, since: bigint | undefined, until: bigint | undefined): boolean {
  if (since === undefined && until === undefined) return true;
  const t = typeof event.time === 'string' ? rfc3339Ns(event.time) : undefined;
  if (t === undefined) return false;
  return (since === undefined || t >= since) && (until === undefined || t <= until);
}

// ---------- rendering ----------

/** Docker's line: `TIME TYPE ACTION ID (name=NAME, key=value, ...)`. */
export function formatEvent(event: SandboxEvent): string {
  const attrs: string[] = [];
  if (event.name !== undefined) attrs.push(`name=${event.name}`);
  for (const [k, v] of Object.entries(event.attributes ?? {})) {
    if (k !== 'name' || event.name === undefined) attrs.push(`${k}=${v}`);
  }
  return `${event.time} ${event.type} ${event.action} ${event.id}${attrs.length ? ` (${attrs.join(', ')})` : ''}`;
}

// ---------- reading ----------

/** Parses one journal line; undefined for a line that is not an event (garbage, a torn write). */
export function parseEventLine(line: string): SandboxEvent | undefined {
  if (!line.trim()) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Partial<SandboxEvent>;
  if (typeof e.time !== 'string' || typeof e.type !== 'string' || typeof e.action !== 'string' || typeof e.id !== 'string') return undefined;
  return e as SandboxEvent;
}

const CHUNK = 256 * 1024;

/**
 * Reads the journal incrementally: each `read()` returns the events of the complete
 * lines appended since the last one. A last line without its newline is left for the
 * next `read()`. A journal that does not exist yet reads as empty; one that was
 * replaced or truncated is read again from its start.
 */
export class JournalReader {
  offset = 0;
  private ino: number | undefined;
  private pending: Buffer = Buffer.alloc(0);

  constructor(readonly file: string) {}

  read(): SandboxEvent[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const events: SandboxEvent[] = [];
    try {
      const st = fstatSync(fd);
      if ((this.ino !== undefined && st.ino !== this.ino) || st.size < this.offset) {
        this.offset = 0;
        this.pending = Buffer.alloc(0);
      }
      this.ino = st.ino;
      const buf = Buffer.allocUnsafe(CHUNK);
      while (this.offset < st.size) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, st.size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        let data = this.pending.length ? Buffer.concat([this.pending, buf.subarray(0, n)]) : buf.subarray(0, n);
        let start = 0;
        for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
          const e = parseEventLine(data.toString('utf8', start, nl));
          if (e) events.push(e);
          start = nl + 1;
        }
        data = data.subarray(start);
        this.pending = Buffer.from(data); // a copy: buf is reused
      }
    } finally {
      closeSync(fd);
    }
    return events;
  }

  /** True when the journal grew, shrank or was replaced since the last read: a cheap check before `read()`. */
  changed(): boolean {
    try {
      const st = statSync(this.file);
      return st.size !== this.offset || (this.ino !== undefined && st.ino !== this.ino);
    } catch {
      return false;
    }
  }
}
