/** The event journal's reader side: times, filters, the human line, incremental reading; label changes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { SandboxError } from '../../src/errors.js';
import type { SandboxEvent } from '../../src/state/events.js';
import { appendEvent, eventsPath } from '../../src/state/events.js';
import {
  formatEvent, inWindow, JournalReader, matchEvent, parseDurationNs, parseEventFilters, parseEventLine, parseTimeArg,
  rfc3339Ns, type SandboxLookup,
} from '../../src/state/event-query.js';
import { applyLabelChanges, parseLabelChanges, updateLabels } from '../../src/api/labels.js';
import { newSandboxId, readRecord, writeRecord, type SandboxRecord } from '../../src/state/sandboxes.js';
import { sandboxDir } from '../../src/state/sandbox-dir.js';
import { tempStores } from './temp-store.js';

/** A fresh, empty store. */
const store = tempStores('sandbox-events-');

const ID = '5a77c22ff950' + 'a'.repeat(52);
const OTHER = 'b'.repeat(64);
function ev(over: Partial<SandboxEvent> = {}): SandboxEvent {
  return { time: '2026-11-23T15:40:21.578950814Z', type: 'container', action: 'die', id: ID, name: 'web', attributes: { exitCode: 3 }, ...over };
}
const sec = (s: number) => BigInt(s) * 1_000_000_000n;

describe('times', () => {
  const NOW = Date.UTC(2026, 10, 23, 16, 0, 0);
  it('reads RFC 3339 with zones and nanoseconds', () => {
    assert.equal(rfc3339Ns('2026-11-23T15:40:21Z'), sec(Date.UTC(2026, 10, 23, 15, 40, 21) / 1000));
    assert.equal(rfc3339Ns('2026-11-23T15:40:21.578950814Z'), sec(Date.UTC(2026, 10, 23, 15, 40, 21) / 1000) + 578950814n);
    assert.equal(rfc3339Ns('2026-11-23T16:40:21.5+01:00'), rfc3339Ns('2026-11-23T15:40:21.500Z'));
    assert.equal(rfc3339Ns('2026-13-01T00:00:00Z'), undefined);
    assert.equal(rfc3339Ns('yesterday'), undefined);
  });
  it('--since: RFC 3339, Unix seconds, durations ago', () => {
    assert.equal(parseTimeArg('2026-11-23T15:40:21Z', NOW), rfc3339Ns('2026-11-23T15:40:21Z'));
    assert.equal(parseTimeArg('1700000000', NOW), sec(1700000000));
    assert.equal(parseTimeArg('1700000000.25', NOW), sec(1700000000) + 250_000_000n);
    assert.equal(parseTimeArg('10m', NOW), BigInt(NOW) * 1_000_000n - sec(600));
    assert.equal(parseTimeArg('1h30m', NOW), BigInt(NOW) * 1_000_000n - sec(5400));
    // --until: a duration from now on, as Podman's ParseInputTime (issue 18).
    assert.equal(parseTimeArg('10m', NOW, '--until'), BigInt(NOW) * 1_000_000n + sec(600));
    assert.equal(parseDurationNs('1.5s'), 1_500_000_000n);
    assert.equal(parseDurationNs('-5m'), -sec(300));
    assert.equal(parseDurationNs('5'), undefined);
    // Go's micro units, both spellings (the micro sign and the Greek mu), as in Podman.
    assert.equal(parseDurationNs('3\u00b5s'), 3_000n);
    assert.equal(parseDurationNs('2\u03bcs1us'), 3_000n);
    const local = new Date(2026, 10, 23, 15, 40, 21).getTime();
    assert.equal(parseTimeArg('2026-11-23T15:40:21', NOW), BigInt(local) * 1_000_000n, 'no zone: local time');
  });
  it('a bad time is a one-line SandboxError with a hint', () => {
    assert.throws(() => parseTimeArg('last tuesday', NOW, '--until'), (e: unknown) =>
      e instanceof SandboxError && /--until/.test(e.message) && !e.message.includes('\n') && !!e.hint);
  });
  it('the window is inclusive, and an unreadable time is outside any window', () => {
    const t = rfc3339Ns(ev().time)!;
    assert.ok(inWindow(ev(), t, t));
    assert.ok(!inWindow(ev(), t + 1n, undefined));
    assert.ok(!inWindow(ev(), undefined, t - 1n));
    assert.ok(inWindow(ev({ time: 'garbage' }), undefined, undefined));
    assert.ok(!inWindow(ev({ time: 'garbage' }), 0n, undefined));
  });
});

describe('filters', () => {
  const lookup: SandboxLookup = {
    labels: (id) => (id === ID ? { tier: 'web', team: 'a' } : undefined),
    name: (id) => (id === ID ? 'web-renamed' : undefined),
  };
  const m = (specs: string[], e = ev()) => matchEvent(e, parseEventFilters(specs), lookup);

  it('no filter matches everything', () => assert.ok(m([])));
  it('container= by name, current name, or id prefix', () => {
    assert.ok(m(['container=web']));
    assert.ok(m(['container=web-renamed']));
    assert.ok(m(['container=5a77c2']));
    assert.ok(m(['container=' + ID]));
    assert.ok(!m(['container=we']), 'names match whole');
    assert.ok(!m(['container=db']));
    assert.ok(!m(['container=web'], ev({ type: 'volume', action: 'volume-create', id: 'web' })), 'only container events');
  });
  it('event= (and action=), type=', () => {
    assert.ok(m(['event=die']));
    assert.ok(m(['action=die']));
    assert.ok(!m(['event=start']));
    assert.ok(m(['type=container']));
    assert.ok(!m(['type=volume']));
  });
  it('one key ORs its values, different keys AND', () => {
    assert.ok(m(['event=start', 'event=die']));
    assert.ok(m(['container=db', 'container=web', 'event=die']));
    assert.ok(!m(['container=web', 'event=start']));
  });
  it('label= from the sandbox record and from the event attributes', () => {
    assert.ok(m(['label=tier']));
    assert.ok(m(['label=tier=web']));
    assert.ok(!m(['label=tier=db']));
    assert.ok(m(['label=team=b', 'label=team=a']));
    assert.ok(!m(['label=tier', 'event=start']));
    const gone = ev({ id: OTHER, attributes: { exitCode: 0, tier: 'db' } });
    assert.ok(m(['label=tier=db'], gone), 'labels the event carries');
    assert.ok(!m(['label=team'], gone), 'a removed sandbox has no labels of its own');
    assert.ok(m(['label=empty='], ev({ attributes: { empty: '' } })));
  });
  it('bad filters are one-line errors with hints', () => {
    for (const spec of ['colour=red', 'event=', 'type=network', 'label=', 'label==x', 'container']) {
      assert.throws(() => parseEventFilters([spec]), (e: unknown) => e instanceof SandboxError && !!e.hint && !e.message.includes('\n'), spec);
    }
  });
});

describe('formatEvent', () => {
  it('Docker\'s line: time, type, action, id, (name, attributes)', () => {
    assert.equal(formatEvent(ev()), `2026-11-23T15:40:21.578950814Z container die ${ID} (name=web, exitCode=3)`);
    assert.equal(formatEvent(ev({ name: undefined, attributes: undefined, action: 'start' })), `2026-11-23T15:40:21.578950814Z container start ${ID}`);
    assert.equal(formatEvent(ev({ action: 'rename', name: 'new', attributes: { oldName: 'old' } })).endsWith('(name=new, oldName=old)'), true);
  });
});

describe('JournalReader', () => {
  it('reads complete lines, keeps a partial last line for later, skips garbage', () => {
    const paths = store();
    const file = eventsPath(paths);
    const reader = new JournalReader(file);
    assert.deepEqual(reader.read(), [], 'no journal yet: nothing');
    assert.equal(reader.changed(), false);
    appendEvent(paths, { type: 'container', action: 'create', id: ID, name: 'web' });
    const die = JSON.stringify(ev());
    appendFileSync(file, 'not json\n{"time":"x"}\n' + die.slice(0, 20));
    assert.ok(reader.changed());
    assert.deepEqual(reader.read().map((e) => e.action), ['create']);
    assert.equal(reader.changed(), false);
    assert.deepEqual(reader.read(), []);
    appendFileSync(file, die.slice(20) + '\n');
    assert.deepEqual(reader.read(), [ev()], 'the line completed');
  });
  it('a line longer than one read, and a journal replaced by a shorter one', () => {
    const paths = store();
    const file = eventsPath(paths);
    mkdirSync(paths.data, { recursive: true });
    const big = ev({ attributes: { blob: 'x'.repeat(600_000) } });
    writeFileSync(file, JSON.stringify(big) + '\n' + JSON.stringify(ev({ action: 'remove' })) + '\n');
    const reader = new JournalReader(file);
    assert.deepEqual(reader.read().map((e) => e.action), ['die', 'remove']);
    unlinkSync(file);
    writeFileSync(file, JSON.stringify(ev({ action: 'start' })) + '\n');
    assert.deepEqual(reader.read().map((e) => e.action), ['start']);
  });
  it('parseEventLine', () => {
    assert.equal(parseEventLine(''), undefined);
    assert.equal(parseEventLine('[1]'), undefined);
    assert.equal(parseEventLine('{"time":"t","type":"container","action":"die"}'), undefined, 'no id');
    assert.deepEqual(parseEventLine(JSON.stringify(ev())), ev());
  });
});

describe('labels', () => {
  it('parses k=v, k=, k- and applies them in order', () => {
    const changes = parseLabelChanges(['a=1', 'b=', 'c-', 'd=x=y', 'e=f-']);
    assert.deepEqual(changes, [{ key: 'a', value: '1' }, { key: 'b', value: '' }, { key: 'c' }, { key: 'd', value: 'x=y' }, { key: 'e', value: 'f-' }]);
    assert.deepEqual(applyLabelChanges({ a: '0', c: 'gone', z: 'kept' }, changes), { a: '1', b: '', z: 'kept', d: 'x=y', e: 'f-' });
    assert.deepEqual(applyLabelChanges({}, parseLabelChanges(['a=1', 'a-'])), {});
  });
  it('rejects empty keys, white space, and words that are neither', () => {
    for (const arg of ['=v', '-', 'a b=c', 'a\tb-', 'plain']) {
      assert.throws(() => parseLabelChanges([arg]), (e: unknown) => e instanceof SandboxError && !!e.hint && !e.message.includes('\n'), arg);
    }
  });
  it('updateLabels rewrites the record under the lock and journals a label event', async () => {
    const paths = store();
    const id = newSandboxId();
    mkdirSync(sandboxDir(paths, id), { recursive: true });
    const record = {
      id, name: 'x', created: new Date().toISOString(), image: 'bb', command: ['true'], hostname: id.slice(0, 12),
      request: { labels: { keep: '1', drop: '2' } }, state: { status: 'exited', exitCode: 0 },
    } as unknown as SandboxRecord;
    writeRecord(paths, record);
    // Concurrent changes serialise on the lock: none is lost.
    await Promise.all([
      updateLabels(paths, id.slice(0, 10), parseLabelChanges(['a=1', 'drop-'])),
      updateLabels(paths, id, parseLabelChanges(['b='])),
    ]);
    assert.deepEqual(readRecord(paths, id)?.request.labels, { keep: '1', a: '1', b: '' });
    assert.equal(readRecord(paths, id)?.state.exitCode, 0, 'the rest of the record is kept');
    const events = new JournalReader(eventsPath(paths)).read();
    assert.deepEqual(events.map((e) => [e.action, e.id, e.name]), [['label', id, 'x'], ['label', id, 'x']]);
    await assert.rejects(updateLabels(paths, 'nope', []), SandboxError);
  });
});
