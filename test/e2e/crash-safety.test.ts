/**
 * Issue 12, items 4 and 6 (records), as the unprivileged test user, written as the
 * attack: kill -9 at random moments of `run -d`, of `run --rm --name`, and of `rm -f`
 * racing `start`. After each kill, every process that runs from the store must belong to
 * a sandbox that `ps` lists as running (whatever its record says); after `rm -f` of
 * everything and `system check --repair`, no process of the store is left and the names
 * are free. Then garbage in a running sandbox's record: `ps -a` lists it, `rm -f`
 * removes it (its processes gone), `system check` reports it with its path and
 * `--repair` rebuilds it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { busyboxRootfsTar } from './fixtures.js';
import {
  asUser, collect, eventually, importImage, killGroup, newStore, requireRootless, runSandbox, show, spawnSandbox, type RunResult, seeded, sandboxIdsIn,
} from './harness.js';

interface PsEntry { Id: string; Names: string[]; State: string; Pid: number }
interface Problem { kind: string; severity: 'problem' | 'notice'; path: string; repaired: boolean; detail: string; error?: string }
interface CheckReport { consistent: boolean; problems: Problem[] }

function tryRead(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

function tryReadlink(path: string): string {
  try { return readlinkSync(path); } catch { return ''; }
}

/**
 * Every process (we run as root: all of them) that runs from the store `root`: its
 * command line, working directory, open files or mount table name a path in it. So a
 * monitor (the sandbox's log and directory are open), its init and command (their
 * mounts), fuse-overlayfs and slirp4netns (their command lines), even from a directory
 * that was deleted. Each with what it names of the store.
 */
function storeProcesses(root: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    if (Number(p) === process.pid) continue;
    const parts = [tryRead(`/proc/${p}/cmdline`).split('\0').join(' '), tryReadlink(`/proc/${p}/cwd`), tryRead(`/proc/${p}/mountinfo`)];
    try { for (const fd of readdirSync(`/proc/${p}/fd`)) parts.push(tryReadlink(`/proc/${p}/fd/${fd}`)); } catch { /* gone */ }
    const text = parts.join('\n');
    if (text.includes(root)) out.set(Number(p), text);
  }
  return out;
}

/** The sandbox ids a process's references name (containers/<id>, or a removal of one). */
function idsNamed(text: string): string[] {
  return [...new Set([...text.matchAll(/containers\/(?:\.removing-)?([a-f0-9]{64})/g)].map((m) => m[1]!))];
}

async function psAll(root: string): Promise<PsEntry[]> {
  const r = await runSandbox(['ps', '-a', '--no-trunc', '--format', 'json'], { root });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout) as PsEntry[];
}

/**
 * The invariant: every process running from the store belongs to a sandbox that `ps`
 * lists as running. Returns what breaks it ('' when nothing). A process that ends while
 * we look is no counter-example: it is looked at twice.
 */
async function unknownProcesses(root: string): Promise<string> {
  const procs = storeProcesses(root);
  const running = new Set((await psAll(root)).filter((e) => e.State === 'running').map((e) => e.Id));
  const bad: string[] = [];
  for (const [pid, text] of procs) {
    const ids = idsNamed(text);
    if (ids.length && ids.every((id) => running.has(id))) continue;
    if (!existsSync(`/proc/${pid}`)) continue; // ended meanwhile
    bad.push(`pid ${pid} (${tryRead(`/proc/${pid}/cmdline`).split('\0').join(' ').trim()}) runs from ${ids.map((i) => i.slice(0, 12)).join(', ') || 'the store'}, not listed as running`);
  }
  return bad.join('\n');
}

/** Waits (a little) for what a kill left to settle, then checks the invariant; monitors still starting get the time to. */
async function assertAllKnown(root: string, what: string): Promise<void> {
  const problem = await eventually(() => unknownProcesses(root), 3000, 200);
  assert.equal(problem, '', `${what}: a process the store does not know`);
}

async function check(root: string, repair = false): Promise<{ result: RunResult; report: CheckReport }> {
  const result = await runSandbox(['system', 'check', ...(repair ? ['--repair'] : []), '--format', 'json'], { root, timeoutMs: 120_000 });
  assert.ok(result.code === 0 || result.code === 1, `system check exits 0 or 1\n${show(result)}`);
  return { result, report: JSON.parse(result.stdout) as CheckReport };
}

/** `rm -f` of everything `ps -a` lists, then `system check --repair`: afterwards nothing of the store may run, and no name is taken. */
async function removeEverything(root: string): Promise<void> {
  const ids = (await runSandbox(['ps', '-a', '-q', '--no-trunc'], { root })).stdout.trim().split('\n').filter(Boolean);
  if (ids.length) {
    const rm = await runSandbox(['rm', '-f', ...ids], { root, timeoutMs: 120_000 });
    assert.equal(rm.code, 0, show(rm));
  }
  await check(root, true);
}

async function assertNothingLeft(root: string, names: string[]): Promise<void> {
  const left = await eventually(() => {
    const procs = storeProcesses(root);
    return procs.size ? `processes still run from the store: ${[...procs.keys()].map((p) => `${p} ${tryRead(`/proc/${p}/cmdline`).split('\0').join(' ')}`).join('; ')}` : '';
  }, 5000);
  assert.equal(left, '');
  // Every name is free: a new sandbox can have it.
  for (const name of names) {
    const r = await runSandbox(['create', '--name', name, '--network', 'none', 'bb', 'true'], { root });
    assert.equal(r.code, 0, `the name ${name} is free: ${show(r)}`);
  }
  const rm = await runSandbox(['rm', ...names], { root });
  assert.equal(rm.code, 0, show(rm));
}

/** Starts `sandbox args` and kills its whole process group with SIGKILL after `delay` ms (if it is still running). */
function killedAfter(root: string, args: string[], delay: number): Promise<RunResult> {
  const child: ChildProcess = spawnSandbox(args, { root, stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), delay);
  return collect(child, { timeoutMs: 60_000, what: args.join(' ') }).finally(() => clearTimeout(timer));
}

const ROUNDS = 20;

test('kill -9 of run -d at random moments: every sandbox left running is listed, stopped and removed', async (t) => {
  if (!requireRootless(t, 'killed run -d')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const rand = seeded(0xd1);
  const names = Array.from({ length: ROUNDS }, (_, i) => `d${i}`);
  const outcomes: string[] = [];
  try {
    for (const [i, name] of names.entries()) {
      // 100-900 ms: the CLI needs ~100 ms to start, the monitor is spawned a little later.
      const delay = 100 + Math.floor(rand() * 800);
      const r = await killedAfter(root, ['run', '-d', '--name', name, '--network', 'none', 'bb', 'sleep', '300'], delay);
      outcomes.push(`${name}: killed at ${delay} ms -> ${r.signal ?? `exit ${r.code}`}`);
      await assertAllKnown(root, `round ${i}`);
      // What runs can be stopped, whatever its record says; stop then leaves nothing running.
      if (i % 2 === 0 && (await psAll(root)).some((e) => e.Names[0] === name && e.State === 'running')) {
        const stop = await runSandbox(['stop', '-t', '1', name], { root });
        assert.equal(stop.code, 0, show(stop));
        const id = reservedId(root, name);
        assert.ok(![...storeProcesses(root).values()].some((text) => id && idsNamed(text).includes(id)), `nothing of ${name} runs after stop`);
      }
    }
    t.diagnostic(outcomes.join('\n'));

    // system check reports each sandbox that runs while its record says otherwise (its
    // run -d was killed before recording the start); --repair records it as running.
    const unrecorded = (await psAll(root)).filter((e) => e.State === 'running' && recordedStatus(root, e.Id) !== 'running').map((e) => e.Id).sort();
    t.diagnostic(`${unrecorded.length} running with a record that says otherwise`);
    const found = await check(root);
    assert.deepEqual(found.report.problems.filter((p) => p.kind === 'unrecorded-start').map((p) => p.path.split('/').pop()).sort(), unrecorded,
      JSON.stringify(found.report.problems));
    await check(root, true);
    for (const id of unrecorded) assert.equal(recordedStatus(root, id), 'running', `the record of ${id.slice(0, 12)} was repaired`);

    await removeEverything(root);
    await assertNothingLeft(root, names);
  } finally {
    await removeEverything(root).catch(() => {});
  }
});

/** What a sandbox's record says of it. */
function recordedStatus(root: string, id: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(root, 'data', 'containers', id, 'container.json'), 'utf8')) as { state: { status: string } }).state.status;
  } catch {
    return undefined;
  }
}

/** The id of the sandbox called `name`, from its reservation. */
function reservedId(root: string, name: string): string | undefined {
  return tryRead(join(root, 'data', 'names', name)).trim() || undefined;
}

test('kill -9 of run --rm --name at random moments: nothing keeps running, the name is free again', async (t) => {
  if (!requireRootless(t, 'killed run --rm')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const rand = seeded(0xf2);
  const names = Array.from({ length: ROUNDS }, (_, i) => `r${i}`);
  const outcomes: string[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const delay = 100 + Math.floor(rand() * 800);
      const r = await killedAfter(root, ['run', '--rm', '--name', name, '--network', 'none', 'bb', 'sleep', '300'], delay);
      await assertAllKnown(root, `round ${i}`);
      // The foreground sandbox dies with its CLI: nothing of it runs a moment later.
      const id = reservedId(root, name);
      const gone = await eventually(() => {
        const left = [...storeProcesses(root).values()].filter((text) => id && idsNamed(text).includes(id));
        return left.length ? `${left.length} processes of ${name} still run` : '';
      }, 5000);
      assert.equal(gone, '', `round ${i}`);
      // The name is free again: a sandbox that started cleaned up after itself (directory
      // and name), one killed before it started is abandoned and gives its name up.
      const listed = (await psAll(root)).filter((e) => e.Names[0] === name);
      assert.ok(listed.every((e) => e.State === 'created'), `round ${i}: only a sandbox killed before it started is left: ${JSON.stringify(listed)}`);
      outcomes.push(`${name}: killed at ${delay} ms -> ${r.signal ?? `exit ${r.code}`}${listed.length ? ', left created (never started)' : ''}`);
      const again = await runSandbox(['create', '--name', name, '--network', 'none', 'bb', 'true'], { root });
      assert.equal(again.code, 0, `round ${i}: a killed run --rm --name leaves the name free: ${show(again)}`);
      const all = (await psAll(root)).filter((e) => e.Names[0] === name);
      if (all.length !== 1) {
        const events = tryRead(join(root, 'data', 'events.jsonl'));
        const recs = all.map((e) => tryRead(join(root, 'data', 'containers', e.Id, 'container.json')));
        t.diagnostic(`DIAG round ${i} delay ${delay} r=${r.signal ?? r.code} stderr=${r.stderr}\nlisted-before=${JSON.stringify(listed)}\nrecords=${recs.join('\n')}\nevents=${events.split('\n').slice(-12).join('\n')}\ndirs=${sandboxIdsIn(root).join(' ')}`);
      }
      assert.deepEqual(all.map((e) => e.Id), [again.stdout.trim()], `round ${i}: the abandoned one is gone`);
      const rm = await runSandbox(['rm', name], { root });
      assert.equal(rm.code, 0, show(rm));
    }
    t.diagnostic(outcomes.join('\n'));
    await removeEverything(root);
    await assertNothingLeft(root, names);
  } finally {
    await removeEverything(root).catch(() => {});
  }
});

test('rm -f racing start, either killed at random moments: no sandbox runs that the store does not list', async (t) => {
  if (!requireRootless(t, 'rm -f racing start')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const rand = seeded(0x5a);
  const names = Array.from({ length: ROUNDS }, (_, i) => `x${i}`);
  const outcomes: string[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const created = await runSandbox(['create', '--name', name, '--network', 'none', 'bb', 'sleep', '300'], { root });
      assert.equal(created.code, 0, show(created));
      const id = created.stdout.trim();
      // start at once, rm -f 0-400 ms later; one of them (or neither) killed at a random moment.
      const rmAfter = Math.floor(rand() * 400);
      const victim = Math.floor(rand() * 3); // 0: start, 1: rm -f, 2: neither
      const killAt = 50 + Math.floor(rand() * 700);
      const start = victim === 0 ? killedAfter(root, ['start', name], killAt) : runSandbox(['start', name], { root });
      await new Promise((r) => setTimeout(r, rmAfter));
      const rm = victim === 1 ? killedAfter(root, ['rm', '-f', name], killAt) : runSandbox(['rm', '-f', name], { root });
      const [s, r] = await Promise.all([start, rm]);
      outcomes.push(`${name}: rm -f after ${rmAfter} ms, ${['start', 'rm -f', 'nothing'][victim]} killed at ${killAt} ms -> start ${s.signal ?? s.code}${!s.signal && s.code ? ` (${s.stderr.split('\n')[0]})` : ''}, rm ${r.signal ?? r.code}`);
      if (victim !== 1) assert.equal(r.code, 0, `round ${i}: rm -f ${show(r)}`);
      await assertAllKnown(root, `round ${i}`);
      if (victim === 1 && (await psAll(root)).some((e) => e.Names[0] === name)) {
        // A killed rm -f may not have done anything yet (on a loaded machine node may not
        // even have started): the sandbox still runs, listed. Doing it again must work.
        const again = await runSandbox(['rm', '-f', name], { root });
        assert.equal(again.code, 0, `round ${i}: rm -f again after a killed one ${show(again)}`);
      }
      // rm -f succeeded: nothing of the sandbox may run, whatever start did. Its processes
      // are found by its id (what they name of the store, its .removing- directory too).
      assert.ok(!(await psAll(root)).some((e) => e.Names[0] === name), `round ${i}: ${name} is gone`);
      const left = [...storeProcesses(root)].filter(([, text]) => idsNamed(text).includes(id))
        .map(([p]) => `${p} ${tryRead(`/proc/${p}/cmdline`).split('\0').join(' ').trim()} (${tryRead(`/proc/${p}/stat`).split(' ')[2] ?? '?'})`);
      assert.deepEqual(left, [], `round ${i}: nothing of ${name} runs after rm -f (${outcomes.at(-1)})`);
    }
    t.diagnostic(outcomes.join('\n'));
    await removeEverything(root);
    await assertNothingLeft(root, names);
  } finally {
    await removeEverything(root).catch(() => {});
  }
});

test('a sandbox whose directory was renamed away (an rm -f killed right after its rename) ends by itself', async (t) => {
  if (!requireRootless(t, 'renamed sandbox directory')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  try {
    const run = await runSandbox(['run', '-d', '--name', 'moved', '--network', 'none', 'bb', 'sleep', '300'], { root });
    assert.equal(run.code, 0, show(run));
    const id = run.stdout.trim();
    const mine = () => [...storeProcesses(root).values()].filter((text) => idsNamed(text).includes(id)).length;
    assert.ok(mine() > 0, 'the sandbox runs');
    // What rm -f does first (after ending the monitor it found, which a racing start may
    // have replaced meanwhile); then it is killed: nobody is left to end what runs there.
    const containers = join(root, 'data', 'containers');
    const mv = await asUser('mv', [join(containers, id), join(containers, `.removing-${id}`)], { root });
    assert.equal(mv.code, 0, show(mv));
    const left = await eventually(() => (mine() ? `${mine()} processes of the renamed sandbox still run` : ''), 5000);
    assert.equal(left, '');
    await assertAllKnown(root, 'after the rename');
    // system check --repair finishes the removal: the name is free again.
    await check(root, true);
    await assertNothingLeft(root, ['moved']);
  } finally {
    await removeEverything(root).catch(() => {});
  }
});

test('rm -f returns once the monitor, init, slirp4netns and fuse-overlayfs are gone, even when the record says created', async (t) => {
  if (!requireRootless(t, 'rm -f waits for every process')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const env = { SANDBOX_COW: 'fuse' }; // fuse-overlayfs for the root, slirp4netns (the default) for the network
  try {
    for (const lie of [false, true]) {
      const run = await runSandbox(['run', '-d', '--name', 'full', 'bb', 'sleep', '300'], { root, env });
      assert.equal(run.code, 0, show(run));
      const id = run.stdout.trim();
      const commands = () => [...storeProcesses(root).keys()].map((p) => tryRead(`/proc/${p}/cmdline`).split('\0')[0] ?? '');
      const seen = commands();
      assert.ok(seen.some((c) => c.endsWith('fuse-overlayfs')) && seen.some((c) => c.endsWith('slirp4netns')), `fuse-overlayfs and slirp4netns run: ${seen.join(', ')}`);
      if (lie) {
        // As a run -d killed before it recorded the start leaves it.
        const file = join(root, 'data', 'containers', id, 'container.json');
        const record = JSON.parse(readFileSync(file, 'utf8')) as { state: unknown };
        record.state = { status: 'created' };
        const w = await asUser('sh', ['-c', 'cat > "$1"', 'sh', file], { root, input: JSON.stringify(record) });
        assert.equal(w.code, 0, show(w));
      }
      const rm = await runSandbox(['rm', '-f', 'full'], { root, env });
      assert.equal(rm.code, 0, show(rm));
      // Not `eventually`: rm -f itself waits. (A zombie has no files to show: not listed.)
      const left = [...storeProcesses(root).keys()];
      assert.deepEqual(left.map((p) => tryRead(`/proc/${p}/cmdline`).split('\0').join(' ')), [], `nothing runs once rm -f returned${lie ? ' (record said created)' : ''}`);
      assert.deepEqual(await psAll(root), []);
    }
  } finally {
    await removeEverything(root).catch(() => {});
  }
});

test('a sandbox lock left by a killed command delays start and stop by seconds at most, rm -f not at all', async (t) => {
  if (!requireRootless(t, 'stale sandbox lock')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  try {
    const created = await runSandbox(['create', '--name', 'locked', '--network', 'none', 'bb', 'sleep', '300'], { root });
    assert.equal(created.code, 0, show(created));
    const lock = join(root, 'data', 'containers', created.stdout.trim(), '.lock');
    const plant = () => asUser('mkdir', [lock], { root });
    for (const args of [['start', 'locked'], ['stop', '-t', '1', 'locked']]) {
      assert.equal((await plant()).code, 0);
      const r = await runSandbox(args, { root, timeoutMs: 30_000 });
      assert.equal(r.code, 0, show(r));
      assert.ok(r.ms < 9000, `${args[0]} waited ${Math.round(r.ms)} ms for a dead command's lock`);
    }
    assert.equal((await plant()).code, 0);
    const rm = await runSandbox(['rm', '-f', 'locked'], { root });
    assert.equal(rm.code, 0, show(rm));
    assert.ok(rm.ms < 3000, `rm -f took ${Math.round(rm.ms)} ms`);
  } finally {
    await removeEverything(root).catch(() => {});
  }
});

test('four starts of one sandbox at once: one monitor, one copy running', async (t) => {
  if (!requireRootless(t, 'concurrent start')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  try {
    const created = await runSandbox(['create', '--name', 'once', '--network', 'none', 'bb', 'sleep', '300'], { root });
    assert.equal(created.code, 0, show(created));
    const id = created.stdout.trim();
    const starts = await Promise.all([0, 1, 2, 3].map(() => runSandbox(['start', 'once'], { root })));
    for (const s of starts) assert.equal(s.code, 0, `each start succeeds (a running one is nothing to do): ${show(s)}`);
    // Monitors are the processes that have the sandbox's log open.
    const log = join(root, 'data', 'containers', id, 'ctr.log');
    const monitors = [...storeProcesses(root)].filter(([, text]) => text.split('\n').includes(log)).map(([pid]) => pid);
    assert.equal(monitors.length, 1, `one monitor: ${monitors.join(', ')}`);
    const inits = [...storeProcesses(root).values()].filter((text) => /(^|\n)sleep 300/.test(text));
    assert.equal(inits.length, 1, 'one copy of the command');
    assert.equal((await psAll(root)).find((e) => e.Id === id)?.State, 'running');
  } finally {
    await removeEverything(root).catch(() => {});
  }
});

test('garbage in a running sandbox\'s record: listed by ps -a, repaired by system check --repair, removed by rm -f', async (t) => {
  if (!requireRootless(t, 'damaged record')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const damage = async (file: string) => {
    const r = await asUser('sh', ['-c', 'printf "\\0garbage{" > "$1"', 'sh', file], { root });
    assert.equal(r.code, 0, show(r));
  };
  try {
    const run = await runSandbox(['run', '-d', '--name', 'dmg', '--label', 'k=v', '--network', 'none', 'bb', 'sleep', '300'], { root });
    assert.equal(run.code, 0, show(run));
    const id = run.stdout.trim();
    const record = join(root, 'data', 'containers', id, 'container.json');
    await damage(record);

    // Listed, running, with its name and labels (from config.json).
    const listed = (await psAll(root)).find((e) => e.Id === id);
    assert.ok(listed, 'ps -a lists it');
    assert.equal(listed.State, 'running');
    assert.deepEqual(listed.Names, ['dmg']);
    const inspect = await runSandbox(['inspect', '--format', '{{.State.Status}} {{index .Config.Labels "k"}}', 'dmg'], { root });
    assert.equal(inspect.stdout.trim(), 'running v', show(inspect));
    const exec = await runSandbox(['exec', 'dmg', 'echo', 'inside'], { root });
    assert.equal(exec.stdout, 'inside\n', show(exec));
    // Its name stays its own.
    const taken = await runSandbox(['run', '-d', '--name', 'dmg', '--network', 'none', 'bb', 'true'], { root });
    assert.equal(taken.code, 125, show(taken));

    // Reported with its path; repaired (rebuilt, still running).
    const found = await check(root);
    const damaged = found.report.problems.filter((p) => p.kind === 'damaged-record');
    assert.deepEqual(damaged.map((p) => p.path), [record], JSON.stringify(found.report.problems));
    const repaired = await check(root, true);
    assert.equal(repaired.result.code, 0, show(repaired.result));
    const rebuilt = JSON.parse(readFileSync(record, 'utf8')) as { name: string; state: { status: string; monitorPid: number } };
    assert.equal(rebuilt.name, 'dmg');
    assert.equal(rebuilt.state.status, 'running');
    assert.ok(rebuilt.state.monitorPid > 0);
    assert.equal((await check(root)).result.code, 0, 'nothing left to repair');

    // Damaged again: rm -f removes it, and all of its processes.
    await damage(record);
    const rm = await runSandbox(['rm', '-f', 'dmg'], { root });
    assert.equal(rm.code, 0, show(rm));
    assert.equal(storeProcesses(root).size, 0, 'nothing of it runs');
    assert.deepEqual(await psAll(root), []);

    // Both the record and its config damaged: still listed (by the name reserved for it) and
    // removed by rm -f; system check --repair stops and removes another such one.
    const ids: string[] = [];
    for (const name of ['lost1', 'lost2']) {
      const r = await runSandbox(['run', '-d', '--name', name, '--network', 'none', 'bb', 'sleep', '300'], { root });
      assert.equal(r.code, 0, show(r));
      ids.push(r.stdout.trim());
      await damage(join(root, 'data', 'containers', r.stdout.trim(), 'container.json'));
      await damage(join(root, 'data', 'containers', r.stdout.trim(), 'config.json'));
    }
    const all = await psAll(root);
    assert.deepEqual(all.map((e) => [e.Names[0], e.State]).sort(), [['lost1', 'running'], ['lost2', 'running']]);
    const start = await runSandbox(['start', 'lost1'], { root });
    assert.equal(start.code, 0, `starting a running one is nothing to do: ${show(start)}`);
    const rm1 = await runSandbox(['rm', '-f', 'lost1'], { root });
    assert.equal(rm1.code, 0, show(rm1));
    const report = await check(root);
    assert.deepEqual(report.report.problems.filter((p) => p.severity === 'problem').map((p) => p.kind), ['unrecorded-monitor'], JSON.stringify(report.report.problems));
    const fix = await check(root, true);
    assert.equal(fix.result.code, 0, show(fix.result));
    assert.equal(storeProcesses(root).size, 0, 'nothing of either runs');
    await assertNothingLeft(root, ['dmg', 'lost1', 'lost2']);
  } finally {
    await removeEverything(root).catch(() => {});
  }
});
