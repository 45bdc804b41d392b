/**
 * Issue 3, item 6: `sandbox events` reading and following the journal
 * (<data>/events.jsonl), and `sandbox label`, as the unprivileged test user. The
 * journal is written here in its fixed format (src/state/events.ts), as the lifecycle
 * code and the monitor write it, so this tests the reader whatever emits the events.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  asUser, collect, eventually, importImage, killGroup, lines, newStore, requireRootless, requireTestUser, runSandbox,
  show, spawnSandbox,
} from './harness.js';

interface Ev {
  time: string;
  type: string;
  action: string;
  id: string;
  name?: string;
  attributes?: Record<string, string | number>;
}

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

/** Appends raw text to the store's journal as the test user (who owns the store). */
async function appendJournal(root: string, text: string): Promise<void> {
  const data = join(root, 'data');
  const r = await asUser('sh', ['-c', 'mkdir -p "$1" && cat >> "$1/events.jsonl"', 'sh', data], { input: text });
  assert.equal(r.code, 0, show(r));
}

const line = (e: Ev) => JSON.stringify(e) + '\n';
const jsonLines = (text: string) => lines(text).map((l) => JSON.parse(l) as Ev);
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().replace(/Z$/, '000000Z');

test('events prints the journal and exits: human lines, --format json, filters, --since/--until', async (t) => {
  if (!requireTestUser(t, 'events')) return;
  const root = await newStore(t);
  const empty = await runSandbox(['events'], { root });
  assert.equal(empty.code, 0, show(empty));
  assert.equal(empty.stdout, '', 'no journal yet: nothing, and no error');

  const old: Ev = { time: '2020-01-01T00:00:00.000000000Z', type: 'container', action: 'create', id: A, name: 'web', attributes: { image: 'bb' } };
  const start: Ev = { time: iso(60_000), type: 'container', action: 'start', id: A, name: 'web' };
  const die: Ev = { time: iso(30_000), type: 'container', action: 'die', id: A, name: 'web', attributes: { exitCode: 3, tier: 'front' } };
  const vol: Ev = { time: iso(20_000), type: 'volume', action: 'volume-create', id: 'data' };
  const other: Ev = { time: iso(10_000), type: 'container', action: 'die', id: B, name: 'db', attributes: { exitCode: 0 } };
  // Garbage and a torn last line (a writer killed mid-write) are skipped.
  await appendJournal(root, line(old) + line(start) + 'garbage\n' + line(die) + line(vol) + line(other) + '{"time":"2026');

  const all = await runSandbox(['events'], { root });
  assert.equal(all.code, 0, show(all));
  assert.deepEqual(lines(all.stdout), [
    `${old.time} container create ${A} (name=web, image=bb)`,
    `${start.time} container start ${A} (name=web)`,
    `${die.time} container die ${A} (name=web, exitCode=3, tier=front)`,
    `${vol.time} volume volume-create data`,
    `${other.time} container die ${B} (name=db, exitCode=0)`,
  ]);

  const json = async (...args: string[]) => {
    const r = await runSandbox(['events', '--format', 'json', ...args], { root });
    assert.equal(r.code, 0, show(r));
    return jsonLines(r.stdout);
  };
  assert.deepEqual(await json('--filter', 'container=web'), [old, start, die]);
  assert.deepEqual(await json('--filter', 'container=bbbb'), [other], 'an id prefix');
  assert.deepEqual(await json('--filter', 'event=die'), [die, other]);
  assert.deepEqual(await json('--filter', 'event=die', '--filter', 'container=db'), [other], 'different keys AND');
  assert.deepEqual(await json('--filter', 'container=db', '--filter', 'container=web', '--filter', 'action=create'), [old], 'one key ORs');
  assert.deepEqual(await json('--filter', 'type=volume'), [vol]);
  assert.deepEqual(await json('--filter', 'label=tier=front'), [die], 'labels an event carries');
  assert.deepEqual(await json('--since', '1h'), [start, die, vol, other]);
  assert.deepEqual(await json('--since', '2019-12-31T23:00:00Z', '--until', '2020-01-01T00:00:00Z'), [old]);
  assert.deepEqual(await json('--until', String(Math.floor(Date.now() / 1000) - 3600)), [old], 'Unix seconds');

  for (const args of [['--since', 'yesterday'], ['--filter', 'colour=red'], ['--filter', 'type=network'], ['--format', 'xml']]) {
    const r = await runSandbox(['events', ...args], { root });
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, /^sandbox: [^\n]+\nhint: [^\n]+\n$/, show(r));
  }
});

test('events -f prints events appended after it started, a torn line only once complete', async (t) => {
  if (!requireTestUser(t, 'events -f')) return;
  const root = await newStore(t);
  const first: Ev = { time: iso(1000), type: 'container', action: 'create', id: A, name: 'web' };
  await appendJournal(root, line(first));
  const child = spawnSandbox(['events', '-f', '--format', 'json', '--filter', 'container=web'], { root });
  t.after(() => killGroup(child));
  const done = collect(child, { timeoutMs: 30_000, what: 'sandbox events -f' });
  let out = '';
  child.stdout?.on('data', (s: string | Buffer) => { out += String(s); });

  assert.equal(await eventually(() => (out.includes('"create"') ? '' : `so far: ${out}`)), '', 'the existing event first');
  const later: Ev = { time: iso(0), type: 'container', action: 'die', id: A, name: 'web', attributes: { exitCode: 0 } };
  const ignored: Ev = { ...later, id: B, name: 'db' };
  const text = line(ignored) + line(later);
  const cut = text.length - 10;
  await appendJournal(root, text.slice(0, cut));
  await new Promise((r) => setTimeout(r, 400)); // several polls see the torn line
  assert.equal(lines(out).length, 1, `nothing new yet: ${out}`);
  await appendJournal(root, text.slice(cut));
  assert.equal(await eventually(() => (lines(out).length >= 2 ? '' : `so far: ${out}`)), '');
  killGroup(child, 'SIGTERM');
  const r = await done;
  assert.deepEqual(jsonLines(r.stdout), [first, later], show(r));
});

test('label sets, empties and removes labels; events and --filter label= see them', async (t) => {
  if (!requireRootless(t, 'label')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '--name', 'x', '--network', 'none', '--label', 'gone=1', '--label', 'keep=yes', 'bb', 'true'], { root });
  assert.equal(run.code, 0, show(run));

  const label = await runSandbox(['label', 'x', 'tier=web', 'note=', 'gone-'], { root });
  assert.equal(label.code, 0, show(label));
  assert.equal(label.stdout, 'x\n');
  const inspect = JSON.parse((await runSandbox(['inspect', 'x'], { root })).stdout) as { Id: string; Config: { Labels: Record<string, string> } }[];
  assert.deepEqual(inspect[0]?.Config.Labels, { keep: 'yes', tier: 'web', note: '' });
  const id = inspect[0]!.Id;

  const ev = await runSandbox(['events', '--format', 'json', '--filter', 'event=label'], { root });
  assert.equal(ev.code, 0, show(ev));
  const labelEvents = jsonLines(ev.stdout);
  assert.equal(labelEvents.length, 1, ev.stdout);
  assert.deepEqual([labelEvents[0]?.id, labelEvents[0]?.name, labelEvents[0]?.attributes], [id, 'x', { keep: 'yes', tier: 'web', note: '' }]);
  assert.match(labelEvents[0]!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);

  // An event that carries no labels is matched by the sandbox's labels in its record
  // (`restart`: one that `run` itself does not write).
  await appendJournal(root, line({ time: iso(0), type: 'container', action: 'restart', id, name: 'x' }));
  const byLabel = await runSandbox(['events', '--format', 'json', '--filter', 'label=tier=web', '--filter', 'event=restart'], { root });
  assert.deepEqual(jsonLines(byLabel.stdout).map((e) => [e.action, e.id]), [['restart', id]], show(byLabel));
  const noMatch = await runSandbox(['events', '--filter', 'label=gone', '--filter', 'event=restart'], { root });
  assert.equal(noMatch.stdout, '', 'a removed label no longer matches');

  for (const [args, why] of [[['x', 'bad key=v'], /white space/], [['x', '=v'], /empty key/], [['x', 'plain'], /neither/], [['nope', 'a=1'], /no such sandbox/]] as const) {
    const r = await runSandbox(['label', ...args], { root });
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, /^sandbox: [^\n]+\nhint: [^\n]+\n$/, show(r));
    assert.match(r.stderr, why, show(r));
  }
  const after = JSON.parse((await runSandbox(['inspect', 'x'], { root })).stdout) as { Config: { Labels: Record<string, string> } }[];
  assert.deepEqual(after[0]?.Config.Labels, { keep: 'yes', tier: 'web', note: '' }, 'failed changes change nothing');
});

test('run -d, stop, rm journal create, start, die, stop, remove in order', async (t) => {
  if (!requireRootless(t, 'lifecycle events')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '--name', 'svc', '--network', 'none', 'bb', 'sh', '-c',
    'trap "exit 3" TERM; while true; do sleep 0.05; done'], { root });
  assert.equal(run.code, 0, show(run));
  const id = run.stdout.trim();
  // Another sandbox's events are filtered out.
  const other = await runSandbox(['run', '--name', 'other', '--network', 'none', 'bb', 'true'], { root });
  assert.equal(other.code, 0, show(other));
  const stop = await runSandbox(['stop', '-t', '5', 'svc'], { root });
  assert.equal(stop.code, 0, show(stop));
  const rm = await runSandbox(['rm', 'svc'], { root });
  assert.equal(rm.code, 0, show(rm));

  const r = await runSandbox(['events', '--format', 'json', '--filter', 'container=svc'], { root });
  assert.equal(r.code, 0, show(r));
  const events = jsonLines(r.stdout);
  assert.deepEqual(events.map((e) => e.action), ['create', 'start', 'die', 'stop', 'remove'], r.stdout);
  assert.ok(events.every((e) => e.id === id && e.name === 'svc' && e.type === 'container'), r.stdout);
  assert.equal(events[2]?.attributes?.exitCode, 3, 'die carries the exit code');
  const times = events.map((e) => e.time);
  assert.deepEqual([...times].sort(), times, 'in time order');
  // The sandbox is gone: its id prefix still selects its events.
  const byId = await runSandbox(['events', '--filter', `container=${id.slice(0, 12)}`, '--filter', 'event=die'], { root });
  assert.match(byId.stdout, new RegExp(`^\\S+Z container die ${id} \\(name=svc, exitCode=3\\)\\n$`), show(byId));
});
