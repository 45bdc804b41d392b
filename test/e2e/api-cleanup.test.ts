/**
 * Clean-up without a reaper (issue 17, items 3 and 5), as the unprivileged test user,
 * through the library in one node process (test/e2e/api-cleanup-driver.ts):
 *
 * - a process that started sandboxes (not detached), each with a published port and a
 *   network helper, is SIGKILLed: then, seen from outside, nothing of them is left at
 *   once: no process in their namespaces, no network helper, no mount (their mount
 *   namespaces are gone), their ports free; and the next `ps -a` removes the records
 *   such a death left (none listed, no directory, no name, no marker);
 * - one process drives 32 sandboxes at once, start + exec true + rm -f in a loop: no
 *   error (no lock time-out, no name or port clash), nothing left, no descriptor leaked.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import {
  REPO_ROOT, collect, eventually, killGroup, lines, networkHelpersOf, newStore, requireRootless, runSandbox, sandboxIdsIn, show,
  spawnAsUser, testUser, waitForOutput,
} from './harness.js';

const DRIVER = join(REPO_ROOT, 'test', 'e2e', 'api-cleanup-driver.ts');

function driver(root: string, args: string[]): ChildProcess {
  return spawnAsUser(process.execPath, ['--import', 'tsx', DRIVER, ...args], { root, cwd: REPO_ROOT });
}

interface Started {
  id: string;
  name: string;
  monitorPid: number;
  pid: number;
  hostPort: number;
}

const NAMESPACES = ['pid', 'mnt', 'net', 'user'] as const;

/**
 * The namespaces of sandbox init `pid` ("pid:[4026532...]" and so on). The init is not
 * dumpable, so only root may read its links: anyone else reads those of its children
 * (the command, exec'd in the sandbox's user namespace, whose owner may look at it).
 */
function namespacesOf(pid: number): string[] {
  const read = (p: number) => NAMESPACES.map((ns) => readlinkSync(`/proc/${p}/ns/${ns}`));
  try {
    return read(pid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
  }
  const children = readdirSync('/proc').filter((e) => /^[0-9]+$/.test(e)).filter((e) => {
    try { return new RegExp(`^PPid:\\s+${pid}$`, 'm').test(readFileSync(`/proc/${e}/status`, 'utf8')); } catch { return false; }
  });
  for (const c of children) {
    try { return read(Number(c)); } catch { /* gone, or not ours to read either */ }
  }
  throw new Error(`cannot read the namespaces of sandbox init ${pid} nor of a child of it (${children.join(', ') || 'none'})`);
}

/** Live processes of `uid` in any of `namespaces`, and those whose environment names the store `root` (monitors, helpers). */
function processesLeft(uid: number, namespaces: Set<string>, root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const status = readFileSync(`/proc/${e}/status`, 'utf8');
      if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status) || /^State:\s+Z/m.test(status)) continue;
      const comm = readFileSync(`/proc/${e}/comm`, 'utf8').trim();
      const inNs = NAMESPACES.some((ns) => { try { return namespaces.has(readlinkSync(`/proc/${e}/ns/${ns}`)); } catch { return false; } });
      const env = readFileSync(`/proc/${e}/environ`, 'utf8');
      if (inNs || (env.includes(root) && comm !== 'node' && comm !== 'esbuild')) out.push(`${e} ${comm}${inNs ? ' (in its namespaces)' : ''}`);
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** Whether a TCP port of 127.0.0.1 can be bound (nothing holds it). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** What is left in the store's sandboxes directory: sandbox directories, removals, and markers of dead starters (in .owner-gone/). */
function leftInStore(root: string): string[] {
  const markers = join(root, 'data', 'containers', '.owner-gone');
  const inMarkers = existsSync(markers) ? readdirSync(markers).map((m) => `.owner-gone/${m}`) : [];
  return [...sandboxIdsIn(root).filter((e) => e !== '.owner-gone'), ...inMarkers];
}

/** Host mounts that reach into the store (fuse-overlayfs roots would show here). */
function mountsInto(root: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(root));
}

/** How the records left are removed: the next `ps -a` (which lists none of them), the library's Sandbox.list, or `system check`, which reports them first. */
const cases = [
  { network: 'slirp4netns', next: 'ps' },
  { network: 'pasta', next: 'system check' },
  { network: 'slirp4netns', next: 'Sandbox.list' },
] as const;

for (const { network, next } of cases) {
  test(`a SIGKILLed starter leaves nothing of its sandboxes (${network}, a published port; then ${next})`, { timeout: 180_000 }, async (t) => {
    if (!requireRootless(t, 'sandboxes bound to their starter')) return;
    const root = await newStore(t);
    const child = driver(root, ['owner', '2', network]);
    t.after(() => killGroup(child));
    let out = '';
    child.stdout?.on('data', (d: Buffer) => { out += String(d); });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => { err += String(d); });
    await waitForOutput(child, 'ready', 120_000).catch((e: Error) => { throw new Error(`${e.message}\n${err}`); });
    const started = lines(out).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Started);
    assert.equal(started.length, 2, out);

    const namespaces = new Set<string>();
    const helpers = started.flatMap((s) => networkHelpersOf(root, s.id));
    for (const s of started) {
      for (const ns of namespacesOf(s.pid)) namespaces.add(ns);
      assert.ok(networkHelpersOf(root, s.id).length > 0, `no ${network} runs for ${s.name}`);
      assert.equal(await portFree(s.hostPort), false, `port ${s.hostPort} of ${s.name} is not held while it runs`);
    }
    const uid = testUser().uid;
    assert.ok(processesLeft(uid, namespaces, root).length >= 2, 'the sandboxes\' processes are not seen from outside');

    // The runner dies: SIGKILL to the node process alone (its sandboxes' monitors run in sessions of their own).
    process.kill(child.pid!, 'SIGKILL');
    await collect(child, { timeoutMs: 10_000 }).catch(() => undefined);

    // At once: a few seconds on a loaded machine, never a reaper's time-out.
    const left = await eventually(async () => {
      const wrong: string[] = [];
      const procs = processesLeft(uid, namespaces, root);
      if (procs.length) wrong.push(`processes: ${procs.join(', ')}`);
      const alive = helpers.filter((h) => { try { return readFileSync(`/proc/${h.pid}/stat`, 'utf8').split(' ')[21] === String(h.startTime); } catch { return false; } });
      if (alive.length) wrong.push(`helpers: ${alive.map((h) => `${h.name} ${h.pid}`).join(', ')}`);
      for (const s of started) if (!(await portFree(s.hostPort))) wrong.push(`port ${s.hostPort} still held`);
      const mounts = mountsInto(root);
      if (mounts.length) wrong.push(`mounts: ${mounts.join('; ')}`);
      return wrong.join('\n');
    }, 5000);
    assert.equal(left, '', 'what the starter\'s death left');

    if (next === 'Sandbox.list') {
      const list = await collect(driver(root, ['list']), { what: 'Sandbox.list' });
      assert.equal(list.code, 0, show(list));
      assert.deepEqual(JSON.parse(list.stdout), [], 'Sandbox.list gave sandboxes whose starter died');
      assert.deepEqual(leftInStore(root), [], 'Sandbox.list left their records');
    }
    if (next === 'system check') {
      const check = await runSandbox(['system', 'check'], { root });
      for (const s of started) assert.match(check.stdout, new RegExp(`owner-gone: sandbox ${s.id.slice(0, 12)}`), show(check));
      assert.equal(leftInStore(root).length, 4, `a check without --repair removed something: ${leftInStore(root).join(' ')}`);
      const repair = await runSandbox(['system', 'check', '--repair'], { root });
      assert.equal(repair.code, 0, show(repair));
    }
    // The next command removes the records: ps -a lists none of them, and nothing of them stays in the store.
    const ps = await runSandbox(['ps', '-a', '--no-trunc', '--format', '{{.ID}}'], { root });
    assert.equal(ps.code, 0, show(ps));
    for (const s of started) assert.ok(!ps.stdout.includes(s.id), `ps -a still lists ${s.name}\n${show(ps)}`);
    assert.deepEqual(leftInStore(root), [], 'sandbox directories or markers left');
    assert.deepEqual(readdirSync(join(root, 'data', 'names')).filter((n) => !n.startsWith('.')), [], 'names still reserved');
  });
}

test('one process drives 32 sandboxes at once: start + exec + rm -f, nothing left, no descriptor leaked', { timeout: 600_000 }, async (t) => {
  if (!requireRootless(t, 'many sandboxes from one process')) return;
  const root = await newStore(t);
  const child = driver(root, ['loop', '32', '2', 'slirp4netns']);
  t.after(() => killGroup(child));
  const r = await collect(child, { timeoutMs: 540_000, what: 'the 32-sandbox loop' });
  assert.equal(r.code, 0, show(r));
  const report = JSON.parse(lines(r.stdout).at(-1)!) as { done: number; fdsBefore: number; fdsAfter: number; lifelines: number; errors: string[] };
  assert.deepEqual(report.errors, []);
  assert.equal(report.done, 1 + 32 * 2);
  assert.equal(report.fdsAfter, report.fdsBefore, 'descriptors leaked');
  assert.equal(report.lifelines, 0, 'lifelines still held after the removals');
  assert.deepEqual(leftInStore(root), [], 'sandbox directories left');
  assert.deepEqual(processesLeft(testUser().uid, new Set(), root), [], 'processes of the store left');
  const ps = await runSandbox(['ps', '-a', '-q'], { root });
  assert.equal(ps.stdout.trim(), '', show(ps));
});
