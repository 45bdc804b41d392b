/**
 * Network helpers live exactly as long as what they serve (issue 15, item 7; the
 * contract: helpers/README.md, "Network helpers: lifetime and identification"), as the
 * unprivileged test user: none is left after `stop`, `kill`, `rm -f` or a SIGKILL of the
 * monitor; a restarting sandbox gets fresh ones, never two at once; `system check` finds
 * and `--repair` ends what a crash left (a helper whose sandbox no longer runs, its files).
 *
 * Helpers are found two independent ways (harness.ts networkHelpersOf: their pid files in
 * <runtime>/net-helpers/, SANDBOX_NET_OWNER in their environment) and, while the sandbox
 * runs, must be children of its monitor: a helper missing from one of them fails.
 *
 * Each mode with a network helper is one `lifetime(...)` line at the bottom: a new one
 * (pasta, published ports, a user-defined network) adds its own.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import {
  eventually, netHelperFilesOf, networkHelpersOf, newStore, newUserDir, requireRootless, runSandbox, runtimeDirOf, sandboxIdsIn, show,
  asUser, spawnAsUser, stillRuns, type NetHelperProcess,
} from './harness.js';

/** How a sandbox of one mode is run (words after `run -d --name NAME`, before the image). */
interface ModeCase {
  label: string;
  runArgs: string[];
  /** The helpers each run of it has, by name. */
  helpers: string[];
  /** Commands run first in each test's store (e.g. creating the network it joins). */
  setup?: string[][];
}

async function newStoreFor(t: Parameters<typeof newStore>[0], m: ModeCase): Promise<string> {
  const root = await newStore(t);
  for (const args of m.setup ?? []) {
    const r = await runSandbox(args, { root });
    assert.equal(r.code, 0, show(r));
  }
  return root;
}

const describe = (hs: NetHelperProcess[]) => hs.map((h) => `${h.name}(${h.pid}${h.pidFile ? ' file' : ''}${h.byEnvironment ? ' env' : ''} ppid ${h.ppid})`).join(', ') || 'none';

async function startSandbox(root: string, name: string, m: ModeCase, extra: string[] = []): Promise<string> {
  const run = await runSandbox(['run', '-d', '--name', name, ...m.runArgs, ...extra, 'host', 'sleep', '600'], { root });
  assert.equal(run.code, 0, show(run));
  return run.stdout.trim();
}

function environReadable(pid: number): boolean {
  try { readFileSync(`/proc/${pid}/environ`); return true; } catch { return false; }
}

function monitorOf(root: string, id: string): number {
  return Number(readFileSync(join(root, 'data', 'containers', id, 'monitor'), 'utf8').split(' ')[0]);
}

/**
 * The sandbox's helpers as it runs, each found both ways and a child of its monitor;
 * exactly `m.helpers`, one of each.
 */
function helpersWhileRunning(root: string, id: string, m: ModeCase): NetHelperProcess[] {
  const monitor = monitorOf(root, id);
  const hs = networkHelpersOf(root, id);
  assert.deepEqual(hs.map((h) => h.name).sort(), [...m.helpers].sort(), `the helpers of ${id.slice(0, 12)}: ${describe(hs)}`);
  const exe = (pid: number) => { try { return readlinkSync(`/proc/${pid}/exe`); } catch { return undefined; } };
  for (const h of hs) {
    assert.ok(h.pidFile, `${h.name} (pid ${h.pid}) has no pid file: ${describe(hs)}`);
    // Only an exec'd helper shows the marker (a fork of the monitor keeps its environment block),
    // and only where its environment is ours to read: pasta, once in the sandbox's user
    // namespace, is not dumpable, so its /proc files are root's (as the user, the pid file tells).
    const execd = exe(h.pid) === undefined || exe(h.pid) !== exe(monitor);
    if (execd && environReadable(h.pid)) assert.ok(h.byEnvironment, `${h.name} (pid ${h.pid}) has no SANDBOX_NET_OWNER: ${describe(hs)}`);
    assert.equal(h.ppid, monitor, `${h.name} (pid ${h.pid}) is not a child of the monitor ${monitor}`);
  }
  return hs;
}

/** Waits until none of `hs` runs, none is found for `id`, and (with `files`) it has no helper file left. */
async function allGone(root: string, id: string, hs: NetHelperProcess[], what: string, files = true): Promise<void> {
  const wrong = await eventually(() => {
    const left = hs.filter(stillRuns);
    if (left.length) return `still running: ${describe(left)}`;
    const found = networkHelpersOf(root, id);
    if (found.length) return `found: ${describe(found)}`;
    const fs = files ? netHelperFilesOf(root, id) : [];
    return fs.length ? `files left: ${fs.join(' ')}` : '';
  }, 10_000);
  assert.equal(wrong, '', `after ${what}: ${wrong}`);
}

function lifetime(m: ModeCase): void {
  for (const how of ['stop', 'kill', 'rm -f'] as const) {
    test(`${m.label}: no network helper after \`${how}\``, async (t) => {
      if (!requireRootless(t, `${m.label} helpers after ${how}`)) return;
      const root = await newStoreFor(t, m);
      const id = await startSandbox(root, 'svc', m);
      const hs = helpersWhileRunning(root, id, m);
      const r = await runSandbox(how === 'stop' ? ['stop', '-t', '1', 'svc'] : how === 'kill' ? ['kill', 'svc'] : ['rm', '-f', 'svc'], { root });
      assert.equal(r.code, 0, show(r));
      await allGone(root, id, hs, how);
      if (how !== 'rm -f') {
        const ps = await runSandbox(['ps', '-a', '--format', '{{.Status}}'], { root });
        assert.match(ps.stdout, /^Exited/, show(ps));
      }
    });
  }

  test(`${m.label}: no network helper after SIGKILL of the monitor; system check --repair removes its files`, async (t) => {
    if (!requireRootless(t, `${m.label} helpers after SIGKILL of the monitor`)) return;
    const root = await newStoreFor(t, m);
    const id = await startSandbox(root, 'svc', m);
    const hs = helpersWhileRunning(root, id, m);
    process.kill(monitorOf(root, id), 'SIGKILL');
    // Its pid files stay (nobody was left to remove them): the check's to find.
    await allGone(root, id, hs, 'SIGKILL of the monitor', false);
    const left = netHelperFilesOf(root, id);
    const check = await runSandbox(['system', 'check', '--format', 'json'], { root });
    assert.equal(check.code, 1, show(check));
    const problems = (JSON.parse(check.stdout) as { problems: { kind: string; path: string }[] }).problems;
    for (const f of left) assert.ok(problems.some((p) => p.kind === 'net-helper-file' && p.path === f), `${f} not reported: ${check.stdout}`);
    const repair = await runSandbox(['system', 'check', '--repair'], { root });
    assert.equal(repair.code, 0, show(repair));
    assert.deepEqual(netHelperFilesOf(root, id), []);
    // It starts again, with fresh helpers.
    const start = await runSandbox(['start', 'svc'], { root });
    assert.equal(start.code, 0, show(start));
    const again = helpersWhileRunning(root, id, m);
    assert.ok(again.every((h) => !hs.some((o) => o.pid === h.pid && o.startTime === h.startTime)), `${describe(hs)} / ${describe(again)}`);
    const rm = await runSandbox(['rm', '-f', 'svc'], { root });
    assert.equal(rm.code, 0, show(rm));
    await allGone(root, id, again, 'rm -f');
  });

  test(`${m.label}: a restarting sandbox gets fresh helpers, never two at once; restart too`, async (t) => {
    if (!requireRootless(t, `${m.label} helpers of a restarting sandbox`)) return;
    const root = await newStoreFor(t, m);
    const run = await runSandbox(['run', '-d', '--name', 'flaky', '--restart', 'always', ...m.runArgs, 'host', 'sh', '-c', 'sleep 0.3; exit 1'], { root });
    assert.equal(run.code, 0, show(run));
    const id = run.stdout.trim();
    const seen = new Map<string, Set<string>>(m.helpers.map((n) => [n, new Set()]));
    const deadline = Date.now() + 30_000;
    while ([...seen.values()].some((s) => s.size < 3) && Date.now() < deadline) {
      const hs = networkHelpersOf(root, id);
      for (const name of m.helpers) {
        const now = hs.filter((h) => h.name === name);
        assert.ok(now.length <= 1, `two ${name} at once: ${describe(hs)}`);
        for (const h of now) seen.get(name)!.add(`${h.pid}/${h.startTime}`);
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    for (const [name, s] of seen) assert.ok(s.size >= 3, `${name}: ${s.size} distinct over the restarts (${[...s].join(' ')})`);
    const rm = await runSandbox(['rm', '-f', 'flaky'], { root });
    assert.equal(rm.code, 0, show(rm));
    await allGone(root, id, [], 'rm -f of a restarting sandbox');

    // `restart`: the old helpers end, new ones come.
    const svc = await startSandbox(root, 'svc', m);
    const before = helpersWhileRunning(root, svc, m);
    const restart = await runSandbox(['restart', '-t', '1', 'svc'], { root });
    assert.equal(restart.code, 0, show(restart));
    assert.equal(before.filter(stillRuns).length, 0, `old helpers still run: ${describe(before.filter(stillRuns))}`);
    const after = helpersWhileRunning(root, svc, m);
    assert.ok(after.every((h) => !before.some((o) => o.pid === h.pid && o.startTime === h.startTime)));
  });
}

lifetime({ label: 'slirp4netns', runArgs: ['--network', 'slirp4netns'], helpers: ['slirp4netns'] });
lifetime({ label: 'pasta', runArgs: ['--network', 'pasta'], helpers: ['pasta'] });
// Published ports (a random host port each run): the C forwarder beside slirp4netns.
lifetime({ label: 'slirp4netns with -p', runArgs: ['--network', 'slirp4netns', '-p', '80'], helpers: ['slirp4netns', 'ports'] });
// pasta forwards published ports itself: no forwarder.
lifetime({ label: 'pasta with -p', runArgs: ['--network', 'pasta', '-p', '80'], helpers: ['pasta'] });
// A member of a user-defined network: its own outside (slirp4netns) and the forwarder;
// the network's switch (owner network-ID) is networks.test.ts's.
lifetime({ label: 'user-defined network with -p', runArgs: ['--network', 'lifenet', '-p', '80'], helpers: ['slirp4netns', 'ports'], setup: [['network', 'create', 'lifenet']] });

test('a helper with no way out of its own (no exit fd) still dies with a SIGKILLed monitor, and one that hangs does not hold up stop', async (t) => {
  if (!requireRootless(t, 'the parent-death signal of network helpers')) return;
  const root = await newStore(t);
  // A stand-in slirp4netns (found first on PATH) that says it is ready and then ignores
  // its exit fd, as a helper without one would: only the contract's parent-death signal
  // (and, at stop, the monitor's SIGKILL after its grace) can end it.
  const bin = await newUserDir(t, 'sandbox-e2e-fake-slirp-');
  const fake = join(bin, 'slirp4netns');
  writeFileSync(fake, '#!/bin/bash\nfor a; do case $a in --ready-fd=*) fd=${a#--ready-fd=};; esac; done\nprintf 1 >&"$fd"\nexec sleep 600\n');
  chmodSync(fake, 0o755);
  const env = { PATH: [bin, dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'].join(':') };
  const m: ModeCase = { label: 'fake', runArgs: ['--network', 'slirp4netns'], helpers: ['slirp4netns'] };
  const start = async (name: string) => {
    const run = await runSandbox(['run', '-d', '--name', name, '--network', 'slirp4netns', 'host', 'sleep', '600'], { root, env });
    assert.equal(run.code, 0, show(run));
    return run.stdout.trim();
  };
  const id = await start('hung');
  const hs = helpersWhileRunning(root, id, m);
  assert.ok(hs.every((h) => readFileSync(`/proc/${h.pid}/cmdline`, 'utf8').startsWith('sleep\0')), 'the stand-in runs');
  process.kill(monitorOf(root, id), 'SIGKILL');
  await allGone(root, id, hs, 'SIGKILL of the monitor', false);

  const id2 = await start('hung2');
  const hs2 = helpersWhileRunning(root, id2, m);
  const stop = await runSandbox(['stop', '-t', '1', 'hung2'], { root, env });
  assert.equal(stop.code, 0, show(stop));
  await allGone(root, id2, hs2, 'stop');
});

test('system check finds a network helper whose sandbox no longer runs, by its pid file or its environment; --repair ends it', async (t) => {
  if (!requireRootless(t, 'system check of network helpers')) return;
  const root = await newStore(t);
  // A crash that left helpers running (none of ours does: stand-ins, as the test user).
  const owner = 'f'.repeat(64);
  const dir = join(runtimeDirOf(root), 'net-helpers');
  const mk = await asUser('mkdir', ['-p', '-m', '0700', dir]);
  assert.equal(mk.code, 0, show(mk));
  const standIn = (env: Record<string, string>) => {
    const c = spawnAsUser('sleep', ['600'], { env, stdio: 'ignore' });
    t.after(() => { try { process.kill(c.pid!, 'SIGKILL'); } catch { /* ended */ } });
    return c.pid!;
  };
  const startTime = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
  const recorded = standIn({});
  const pidFile = join(dir, `${owner}.slirp4netns.pid`);
  const written = await asUser('sh', ['-c', 'cat > "$1"', 'sh', pidFile], { input: `${recorded} ${startTime(recorded)}\n` });
  assert.equal(written.code, 0, show(written));
  const socket = join(dir, `${owner}.pasta.sock`);
  assert.equal((await asUser('touch', [socket])).code, 0);
  const marked = standIn({ SANDBOX_NET_OWNER: owner, SANDBOX_NET_HELPERS: dir });
  // Another store's helper (same owner, another SANDBOX_NET_HELPERS) is not this store's to judge.
  const otherStore = standIn({ SANDBOX_NET_OWNER: owner, SANDBOX_NET_HELPERS: '/tmp/another-store/run/net-helpers' });
  // One of a sandbox that runs is left alone.
  const id = await startSandbox(root, 'alive', { label: '', runArgs: ['--network', 'none'], helpers: [] });
  const alive = standIn({ SANDBOX_NET_OWNER: id, SANDBOX_NET_HELPERS: dir });
  const standIns = [recorded, marked].map((pid) => ({ pid, startTime: startTime(pid) }));
  const spared = [alive, otherStore].map((pid) => ({ pid, startTime: startTime(pid) }));

  const check = await runSandbox(['system', 'check', '--format', 'json'], { root });
  assert.equal(check.code, 1, show(check));
  const problems = (JSON.parse(check.stdout) as { problems: { kind: string; path: string; detail: string }[] }).problems;
  const net = problems.filter((p) => p.kind.startsWith('net-helper')).map((p) => `${p.kind} ${p.path}`).sort();
  assert.deepEqual(net, [`net-helper /proc/${marked}`, `net-helper ${pidFile}`, `net-helper-file ${socket}`].sort(), check.stdout);

  const repair = await runSandbox(['system', 'check', '--repair'], { root });
  assert.equal(repair.code, 0, show(repair));
  const gone = await eventually(() => standIns.filter(stillRuns).map((p) => p.pid).join(' '));
  assert.equal(gone, '', `still running after --repair: ${gone}`);
  assert.deepEqual(netHelperFilesOf(root, owner), []);
  assert.ok(stillRuns(spared[0]!), 'the helper of a running sandbox was ended');
  assert.ok(stillRuns(spared[1]!), "another store's helper was ended");
  const again = await runSandbox(['system', 'check'], { root });
  assert.equal(again.code, 0, show(again));
  assert.ok(sandboxIdsIn(root).includes(id));
});
