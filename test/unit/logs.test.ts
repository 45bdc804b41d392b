/** The log reader: CRI lines, P parts joined, tail from the end, --since/--until. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxError } from '../../src/errors.js';
import {
  BLOCK_SIZE, canonicalTime, LogMerger, parseLogLine, parseSince, readLog, readLogTail,
  timeMs, type LogRecord, type ReadFn,
} from '../../src/state/logs.js';
import { parseTail } from '../../src/cli/commands/logs.js';
import { parseDurationNs } from '../../src/state/event-query.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'sandbox-logs-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

let n = 0;
function file(content: string | Buffer): string {
  const path = join(dir, `f${n++}.log`);
  writeFileSync(path, content);
  return path;
}

/** A canonical time `i` ns after a fixed second. */
function t(i: number, sec = 21): string {
  return `2026-11-23T15:40:${String(sec).padStart(2, '0')}.${String(i).padStart(9, '0')}Z`;
}
const rec = (i: number, stream: string, tag: string, text: string): string => `${t(i)} ${stream} ${tag} ${text}\n`;
const brief = (r: LogRecord): string => `${r.stream}:${r.text}${r.partial ? '…' : ''}`;

describe('parseLogLine', () => {
  it('reads time, stream, tag and text (spaces in the text kept)', () => {
    const l = parseLogLine('2026-11-23T15:40:21.578950814Z stdout F hello  world ');
    assert.ok(l);
    assert.equal(l.time, '2026-11-23T15:40:21.578950814Z');
    assert.equal(l.stream, 'stdout');
    assert.equal(l.partial, false);
    assert.equal(l.text, 'hello  world ');
    const p = parseLogLine(Buffer.from('2026-11-23T15:40:21.5Z stderr P part'));
    assert.deepEqual(p && [p.time, p.stream, p.partial, p.text], ['2026-11-23T15:40:21.5Z', 'stderr', true, 'part']);
  });

  it('an empty line of output: text "" (with or without the space after the tag)', () => {
    assert.equal(parseLogLine(`${t(1)} stdout F `)?.text, '');
    assert.equal(parseLogLine(`${t(1)} stdout F`)?.text, '');
  });

  it('garbage is undefined', () => {
    for (const g of [
      '', 'hello', `${t(1)}`, `${t(1)} stdin F x`, `${t(1)} stdout X x`, `${t(1)} stdout Fx`,
      '2026-13-23T15:40:21Z-ish stdout F x', 'not-a-time-at-all-here stdout F x', `${t(1)}  stdout F x`,
    ]) assert.equal(parseLogLine(g), undefined, g);
  });
});

describe('times', () => {
  it('canonicalTime normalises zones and fractions, so that canonical times order as strings, to the nanosecond', () => {
    assert.equal(canonicalTime('2026-11-23T16:40:21.5+01:00'), '2026-11-23T15:40:21.500000000Z');
    assert.equal(canonicalTime('2026-11-23T15:40:21Z'), '2026-11-23T15:40:21.000000000Z');
    assert.equal(canonicalTime('2026-11-23T15:40:21.1234567891Z'), '2026-11-23T15:40:21.123456789Z');
    assert.equal(canonicalTime('yesterday'), undefined);
    const c = (t: string) => canonicalTime(t)!;
    assert.ok(c('2026-11-23T15:40:21.578950814Z') < c('2026-11-23T15:40:21.578950815Z'));
    assert.equal(c('2026-11-23T15:40:21.5Z'), c('2026-11-23T10:40:21.500000000-05:00'));
    assert.ok(c('2026-11-23T15:40:22Z') > c('2026-11-23T15:40:21.999999999Z'));
    assert.equal(timeMs('2026-11-23T15:40:21.578950814Z'), Date.UTC(2026, 10, 23, 15, 40, 21, 578));
  });

  it('parseDurationNs reads Go durations', () => {
    assert.equal(parseDurationNs('10m'), 600_000_000_000n);
    assert.equal(parseDurationNs('1h30m'), 5_400_000_000_000n);
    assert.equal(parseDurationNs('1.5s'), 1_500_000_000n);
    assert.equal(parseDurationNs('250ms'), 250_000_000n);
    assert.equal(parseDurationNs('-5s'), -5_000_000_000n);
    assert.equal(parseDurationNs('10'), undefined);
    assert.equal(parseDurationNs('10x'), undefined);
  });

  it('parseSince: RFC 3339, Unix seconds, a duration ago, a local date; else exit 125', () => {
    const now = Date.UTC(2026, 10, 23, 15, 40, 21, 0);
    assert.equal(parseSince('2026-11-23T15:40:21.578950814Z', now), '2026-11-23T15:40:21.578950814Z');
    assert.equal(parseSince('2026-11-23T16:00:00+01:00', now), '2026-11-23T15:00:00.000000000Z');
    assert.equal(parseSince('1700000000', now), '2023-11-14T22:13:20.000000000Z');
    assert.equal(parseSince('1700000000.25', now), '2023-11-14T22:13:20.250000000Z');
    assert.equal(parseSince('0', now), '1970-01-01T00:00:00.000000000Z');
    assert.equal(parseSince('10m', now), '2026-11-23T15:30:21.000000000Z');
    assert.equal(parseSince('1h30m', now), '2026-11-23T14:10:21.000000000Z');
    assert.equal(parseSince('45s', new Date(now)), '2026-11-23T15:39:36.000000000Z');
    const local = new Date(2026, 0, 2, 3, 4, 5).getTime();
    assert.equal(parseSince('2026-01-02T03:04:05', now), parseSince(String(local / 1000), now));
    assert.equal(parseSince('2026-01-02', now), parseSince(String(new Date(2026, 0, 2).getTime() / 1000), now));
    for (const bad of ['yesterday', '10 minutes', '', '1d']) {
      assert.throws(() => parseSince(bad, now), (e: unknown) => e instanceof SandboxError && e.exitCode === 125 && /invalid time/.test(e.message), bad);
    }
  });

  it('parseTail: a count, or all', () => {
    assert.equal(parseTail('10'), 10);
    assert.equal(parseTail('0'), 0);
    assert.equal(parseTail('all'), undefined);
    assert.equal(parseTail('-1'), undefined);
    assert.throws(() => parseTail('ten'), SandboxError);
  });
});

describe('readLog', () => {
  it('joins P parts per stream (the other stream may come between), skips garbage', () => {
    const f = file(
      rec(1, 'stdout', 'P', 'hel') +
      rec(2, 'stderr', 'F', 'oops') +
      'garbage line\n' +
      '\n' +
      rec(3, 'stdout', 'P', 'lo ') +
      rec(4, 'stdout', 'F', 'world') +
      rec(5, 'stdout', 'F', ''),
    );
    const records = [...readLog([f])];
    assert.deepEqual(records.map(brief), ['stderr:oops', 'stdout:hello world', 'stdout:']);
    assert.equal(records[1]?.time, t(4), 'a joined line has the time of its last part');
  });

  it('reads the rotated file first, joins a line across the two, flushes an unfinished one', () => {
    const old = file(rec(1, 'stdout', 'F', 'one') + rec(2, 'stdout', 'P', 'tw'));
    const cur = file(rec(3, 'stdout', 'F', 'o') + rec(4, 'stderr', 'P', 'no newline at the end'));
    assert.deepEqual([...readLog([old, cur])].map(brief), ['stdout:one', 'stdout:two', 'stderr:no newline at the end…']);
  });

  it('a line still being written (no newline yet) at the end is left out; missing files are no error', () => {
    const f = file(rec(1, 'stdout', 'F', 'done') + `${t(2)} stdout F half-writ`);
    assert.deepEqual([...readLog([join(dir, 'missing.1'), f])].map(brief), ['stdout:done']);
    assert.deepEqual([...readLog([join(dir, 'missing')])], []);
  });

  it('keeps bytes: a UTF-8 character cut between two parts, and invalid UTF-8', () => {
    const euro = Buffer.from('€');
    const f = file(Buffer.concat([
      Buffer.from(`${t(1)} stdout P a`), euro.subarray(0, 1), Buffer.from('\n'),
      Buffer.from(`${t(2)} stdout F `), euro.subarray(1), Buffer.from('b\n'),
      Buffer.from(`${t(3)} stdout F `), Buffer.from([0xff, 0x00, 0xfe]), Buffer.from('\n'),
    ]));
    const records = [...readLog([f])];
    assert.equal(records[0]?.text, 'a€b');
    assert.deepEqual(records[1]?.data, Buffer.from([0xff, 0x00, 0xfe]));
  });

  it('--since and --until (inclusive, to the nanosecond, any zone)', () => {
    const f = file([1, 2, 3, 4, 5].map((i) => rec(i, 'stdout', 'F', `l${i}`)).join(''));
    const texts = (since?: string, until?: string) => [...readLog([f], { since, until })].map((r) => r.text);
    assert.deepEqual(texts(t(2)), ['l2', 'l3', 'l4', 'l5']);
    assert.deepEqual(texts(undefined, t(3)), ['l1', 'l2', 'l3']);
    assert.deepEqual(texts(t(2), t(4)), ['l2', 'l3', 'l4']);
    assert.deepEqual(texts('2026-11-23T16:40:21.000000003+01:00'), ['l3', 'l4', 'l5']);
    const now = Date.parse('2026-11-23T15:41:21Z');
    assert.deepEqual(texts(parseSince('1m', now)), ['l1', 'l2', 'l3', 'l4', 'l5']);
    assert.deepEqual(texts(parseSince('59s', now)), []);
    assert.deepEqual(texts('2026-11-23T15:40:22Z'), []);
  });
});

describe('readLogTail', () => {
  it('the last N records of one file', () => {
    const f = file([1, 2, 3, 4, 5].map((i) => rec(i, i % 2 ? 'stdout' : 'stderr', 'F', `l${i}`)).join(''));
    assert.deepEqual(readLogTail([f], 3).records.map(brief), ['stdout:l3', 'stderr:l4', 'stdout:l5']);
    assert.deepEqual(readLogTail([f], 10).records.map((r) => r.text), ['l1', 'l2', 'l3', 'l4', 'l5']);
    assert.deepEqual(readLogTail([f], 0).records, []);
  });

  it('reaches into the rotated file when the tail is longer than the newest one', () => {
    const old = file([1, 2, 3, 4].map((i) => rec(i, 'stdout', 'F', `old${i}`)).join(''));
    const cur = file([5, 6].map((i) => rec(i, 'stdout', 'F', `new${i}`)).join(''));
    assert.deepEqual(readLogTail([old, cur], 4).records.map((r) => r.text), ['old3', 'old4', 'new5', 'new6']);
    assert.deepEqual(readLogTail([join(dir, 'gone.1'), cur], 4).records.map((r) => r.text), ['new5', 'new6']);
  });

  it('joins P parts, also across the rotation, and marks an unfinished last line', () => {
    const old = file(rec(1, 'stdout', 'F', 'zero') + rec(2, 'stdout', 'P', 'a') + rec(3, 'stdout', 'P', 'b'));
    const cur = file(rec(4, 'stderr', 'F', 'err') + rec(5, 'stdout', 'F', 'c') + rec(6, 'stderr', 'P', 'more'));
    assert.deepEqual(readLogTail([old, cur], 3).records.map(brief), ['stderr:err', 'stdout:abc', 'stderr:more…']);
    assert.deepEqual(readLogTail([old, cur], 2).records.map(brief), ['stdout:abc', 'stderr:more…']);
  });

  it('says where the newest file ends (just past its last complete line)', () => {
    const whole = rec(1, 'stdout', 'F', 'a') + rec(2, 'stdout', 'F', 'b');
    const f = file(whole + `${t(3)} stdout F half`);
    const r = readLogTail([f], 1);
    assert.deepEqual(r.records.map((x) => x.text), ['b']);
    assert.equal(r.end, Buffer.byteLength(whole));
    assert.equal(readLogTail([f], 0).end, Buffer.byteLength(whole));
  });

  it('agrees with readLog on a mixed log spanning many blocks, for any N', () => {
    let seed = 7;
    const rnd = (k: number): number => { seed = (seed * 48271) % 2147483647; return seed % k; };
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const stream = rnd(3) ? 'stdout' : 'stderr';
      const tag = rnd(4) ? 'F' : 'P';
      lines.push(rec(i, stream, tag, `${i}:${'x'.repeat(rnd(200))}`));
      if (rnd(50) === 0) lines.push('garbage\n');
    }
    const old = file(lines.slice(0, 1200).join(''));
    const cur = file(lines.slice(1200).join(''));
    const all = [...readLog([old, cur])].map(brief);
    assert.ok(all.length > 1500, String(all.length));
    for (const k of [1, 2, 5, 50, 700, 1500, all.length, all.length + 10]) {
      assert.deepEqual(readLogTail([old, cur], k).records.map(brief), all.slice(-k), `tail ${k}`);
    }
  });

  it('--tail 10 of a 50 MB log reads a few blocks, not the file', () => {
    const path = join(dir, 'big.log');
    const fd = openSync(path, 'w');
    const line = rec(1, 'stdout', 'F', 'y'.repeat(200));
    const mb = Buffer.from(line.repeat(Math.ceil((1 << 20) / line.length)));
    let size = 0;
    for (let i = 0; i < 50; i++) size += writeSync(fd, mb);
    const last = Array.from({ length: 10 }, (_, i) => rec(100 + i, i % 2 ? 'stderr' : 'stdout', 'F', `last ${i}`)).join('');
    size += writeSync(fd, last);
    closeSync(fd);
    assert.ok(size > 50_000_000);

    let bytes = 0;
    let calls = 0;
    const counting: ReadFn = (f, b, o, l, p) => { calls++; const got = readSync(f, b, o, l, p); bytes += got; return got; };
    const r = readLogTail([join(dir, 'big.log.1'), path], 10, { read: counting });
    assert.deepEqual(r.records.map((x) => x.text), Array.from({ length: 10 }, (_, i) => `last ${i}`));
    assert.equal(r.end, size);
    // The last block, and one more: stderr's last line may have had parts before it.
    assert.ok(bytes <= 3 * BLOCK_SIZE, `read ${bytes} bytes`);
    assert.equal(r.bytesRead, bytes);
    assert.ok(calls <= 3);

    bytes = 0;
    const r2 = readLogTail([path], 1000, { read: counting });
    assert.equal(r2.records.length, 1000);
    assert.ok(bytes < 1000 * 260 + 2 * BLOCK_SIZE, `read ${bytes} bytes for 1000 lines`);
  });
});

describe('LogMerger', () => {
  it('joins parts, and takes back an unfinished record so that its F completes it', () => {
    const m = new LogMerger();
    const line = (s: string) => { const l = parseLogLine(s); assert.ok(l); return l; };
    assert.equal(m.push(line(`${t(1)} stdout P ab`)), undefined);
    assert.equal(m.push(line(`${t(2)} stdout F c`))?.text, 'abc');
    const tail = readLogTail([file(rec(3, 'stderr', 'P', 'par'))], 1).records[0];
    assert.ok(tail?.partial);
    m.restore(tail);
    assert.equal(m.push(line(`${t(4)} stderr F t`))?.text, 'part');
    assert.equal(m.push(line(`${t(5)} stdout P rest`)), undefined);
    assert.deepEqual(m.flush().map(brief), ['stdout:rest…']);
    assert.deepEqual(m.flush(), []);
  });
});
