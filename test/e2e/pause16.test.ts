/**
 * Issue 16, part pause16: every sandbox has a cgroup of its own where cgroup v2 is
 * delegated (pause, stats and exec without any limit; v1 keeps one only for a sandbox
 * with a limit, and `pause` of one without says the fix); health checks do not run while
 * a sandbox is paused; `update --pids-limit` of a sandbox whose pids limit is
 * RLIMIT_NPROC (no pids cgroup) sets it on its processes and keeps it for later execs.
 * Runs here (v1, .ci/run's delegation) and in the cgroup v2 guest.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { eventually, importImage, newStore, newUserDir, requireRootless, runSandbox, show, testUser } from './harness.js';
import { CGROUP_FS, cgroupDirOf, requireLimits } from './limits-host.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function storeWithBusybox(t: Parameters<typeof newStore>[0]): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

async function inspect(root: string, name: string): Promise<Record<string, any>> {
  const r = await runSandbox(['inspect', name], { root });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout)[0];
}

/** The test user's processes whose command line has `marker`, now. */
function processesWith(marker: string): number {
  const uid = testUser().uid;
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (statSync(`/proc/${e}`).uid !== uid) continue;
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)) n++;
    } catch { /* ended meanwhile */ }
  }
  return n;
}

test('without a limit: on delegated cgroup v2 a sandbox has its own cgroup (pause, stats, exec born in it, gone with it); on v1 pause names the fix', async (t) => {
  const kind = requireLimits(t, 'a cgroup for every sandbox');
  if (!kind) return;
  const root = await storeWithBusybox(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'free'], { root }); });
  const run = await runSandbox(['run', '-d', '--name', 'free', '--network', 'none', 'bb', 'sleep', '600'], { root });
  assert.equal(run.code, 0, show(run));
  const id = run.stdout.trim();
  const info = await inspect(root, 'free');
  assert.deepEqual(info.HostConfig.LimitsEnforcedBy, {});
  const init = info.State.Pid as number;
  if (kind === 'v1') {
    assert.ok(!existsSync(join(CGROUP_FS, 'pids', 'sandbox', String(testUser().uid), id)), 'no cgroup without a limit on v1');
    const pause = await runSandbox(['pause', 'free'], { root });
    assert.equal(pause.code, 125, show(pause));
    const [line, hint, more] = pause.stderr.trim().split('\n');
    assert.equal(line, 'sandbox: sandbox free cannot be paused: it has no cgroup freezer of its own');
    assert.match(hint!, /^hint: .*--pids-limit.*sandbox doctor/);
    assert.equal(more, undefined);
    return;
  }
  const dir = cgroupDirOf(init, '');
  assert.equal(dir, join(dir, '..', id), `the init is in the sandbox's own cgroup: ${dir}`);
  assert.ok(dir.includes(`/user@${testUser().uid}.service/sandbox.slice/`), dir);
  // exec'd commands are born in it (their cgroup namespace is rooted there), the helper stays outside.
  const ex = await runSandbox(['exec', 'free', 'sh', '-c', 'cat /proc/self/cgroup; sleep 2'], { root });
  assert.equal(ex.stdout, '0::/\n', show(ex));
  const detached = await runSandbox(['exec', '-d', 'free', 'sleep', '300'], { root });
  assert.equal(detached.code, 0, show(detached));
  const procs = () => readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').length;
  assert.equal(await eventually(() => (procs() === 3 ? '' : `cgroup.procs: ${procs()}`), 10_000), '', 'init, sleep 600 and the exec\'d sleep');

  const stats = await runSandbox(['stats', '--no-stream', '--format', 'json', 'free'], { root });
  assert.equal(stats.code, 0, show(stats));
  const s = JSON.parse(stats.stdout)[0];
  assert.equal(s.source, 'cgroup-v2', stats.stdout);
  assert.equal(s.pids, 3, stats.stdout);

  assert.equal((await runSandbox(['pause', 'free'], { root })).code, 0);
  assert.equal(readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim(), '1');
  const ps = await runSandbox(['ps', '-a', '--format', '{{.Names}} {{.State}}'], { root });
  assert.match(ps.stdout, /^free paused$/m, show(ps));
  assert.equal((await runSandbox(['unpause', 'free'], { root })).code, 0);
  assert.equal((await runSandbox(['rm', '-f', 'free'], { root })).code, 0);
  assert.equal(await eventually(() => (existsSync(dir) ? `${dir} is still there` : ''), 10_000), '');
});

test('health checks do not run while the sandbox is paused; its health stays as it was, and they run again after unpause', async (t) => {
  if (!requireLimits(t, 'health checks and pause')) return;
  const root = await storeWithBusybox(t);
  const dir = await newUserDir(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'hp'], { root }); });
  // A limit, so that it has a freezer on v1 too.
  const run = await runSandbox(['run', '-d', '--name', 'hp', '--network', 'none', '--pids-limit', '100', '-v', `${dir}:/w`,
    '--health-cmd', 'echo x >> /w/checks', '--health-interval', '1s', 'bb', 'sleep', '600'], { root });
  assert.equal(run.code, 0, show(run));
  const id = run.stdout.trim();
  const checks = () => { try { return readFileSync(join(dir, 'checks'), 'utf8').split('\n').length - 1; } catch { return 0; } };
  assert.equal(await eventually(() => (checks() >= 2 ? '' : `checks ${checks()}`), 20_000), '');

  assert.equal((await runSandbox(['pause', 'hp'], { root })).code, 0);
  const before = (await inspect(root, 'hp')).State.Health;
  const atPause = checks();
  // The monitor would start its runner (`sandbox healthcheck run ID`) every second: none may start.
  let runners = 0;
  for (const end = Date.now() + 4000; Date.now() < end; await sleep(40)) runners += processesWith(`healthcheck run`) && processesWith(id);
  assert.equal(runners, 0, 'no check was started while paused');
  const after = (await inspect(root, 'hp')).State.Health;
  assert.deepEqual(after, before, 'its health stays as it was');
  assert.equal(checks(), atPause, 'no check command ran');

  assert.equal((await runSandbox(['unpause', 'hp'], { root })).code, 0);
  assert.equal(await eventually(() => (checks() >= atPause + 2 ? '' : `checks ${checks()}`), 20_000), '', 'checks again after unpause');
  assert.equal((await inspect(root, 'hp')).State.Health.Status, 'healthy');
});

/** A cgroup v1 root with controllers mounted and nothing delegated, for SANDBOX_CGROUP_FS: --pids-limit becomes RLIMIT_NPROC. */
async function undelegatedCgroupFs(t: Parameters<typeof newUserDir>[0]): Promise<string> {
  const fake = await newUserDir(t, 'sandbox-e2e-cgroupfs-');
  for (const c of ['memory', 'pids', 'cpu', 'cpuset']) { mkdirSync(join(fake, c)); writeFileSync(join(fake, c, 'cgroup.procs'), ''); }
  return fake;
}

/** How many processes the sandbox has after an exec'd loop tried to start 60 more sleeps. */
async function forkLoop(root: string, name: string): Promise<number> {
  const r = await runSandbox(['exec', name, 'sh', '-c',
    'sh -c "i=0; while [ \\$i -lt 60 ]; do sleep 60 </dev/null >/dev/null 2>&1 & i=\\$((i+1)); done" 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n'], { root, timeoutMs: 60_000 });
  assert.equal(r.code, 0, show(r));
  return Number(r.stdout.trim());
}

/** The Max processes (soft hard) of every process in the sandbox, counted. */
async function nprocOfAll(root: string, name: string): Promise<string> {
  const r = await runSandbox(['exec', name, 'sh', '-c', 'for p in /proc/[0-9]*; do [ $p = /proc/1 ] || grep "Max processes" $p/limits; done'], { root });
  assert.equal(r.code, 0, show(r));
  const counts = new Map<string, number>();
  for (const l of r.stdout.trim().split('\n')) {
    const [soft, hard] = l.replace('Max processes', '').trim().split(/\s+/);
    counts.set(`${soft}:${hard}`, (counts.get(`${soft}:${hard}`) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}x${k}`).sort().join(' ');
}

test('update --pids-limit of a sandbox held by RLIMIT_NPROC: lowered on its running processes, kept for later execs; a raise holds for new ones, with a warning', async (t) => {
  if (!requireRootless(t, 'update --pids-limit by rlimit')) return;
  const root = await storeWithBusybox(t);
  const env = { SANDBOX_CGROUP_FS: await undelegatedCgroupFs(t) };
  t.after(async () => { await runSandbox(['rm', '-f', 'np'], { root }); });
  const run = await runSandbox(['run', '-d', '--name', 'np', '--network', 'none', '--pids-limit', '64', 'bb', 'sh', '-c', 'sleep 600 & sleep 600'], { root, env });
  assert.equal(run.code, 0, show(run));
  assert.deepEqual((await inspect(root, 'np')).HostConfig.LimitsEnforcedBy, { PidsLimit: 'rlimit' });
  assert.equal(await nprocOfAll(root, 'np'), '3x64:64', 'two sleeps (sh became the second) and the exec\'d sh');

  const lower = await runSandbox(['update', '--pids-limit', '20', 'np'], { root, env });
  assert.equal(lower.code, 0, show(lower));
  assert.equal(lower.stderr, '');
  assert.equal(await nprocOfAll(root, 'np'), '3x20:20', 'the running ones lowered, the exec\'d one started with it');
  const info = await inspect(root, 'np');
  assert.equal(info.HostConfig.PidsLimit, 20);
  assert.deepEqual(info.HostConfig.Ulimits, [{ Name: 'RLIMIT_NPROC', Soft: 20, Hard: 20 }]);
  const procs = await forkLoop(root, 'np');
  assert.ok(procs <= 20 && procs >= 12, `a fork loop stops at the new limit: ${procs} processes`);
  assert.equal((await runSandbox(['exec', 'np', 'sh', '-c', 'kill $(pidof sleep | tr " " "\\n" | sort -n | tail -n +3) 2>/dev/null; true'], { root })).code, 0);

  const raise = await runSandbox(['update', '--pids-limit', '40', 'np'], { root, env });
  assert.equal(raise.code, 0, show(raise));
  assert.match(raise.stderr, /^sandbox: warning: --pids-limit 40 of sandbox np holds for commands exec'd from now on and at its next start; \d+ running process(es)? keeps? (its|their) RLIMIT_NPROC 20 \(only root on the host may raise a hard limit\)\n$/);
  const ex = await runSandbox(['exec', 'np', 'grep', 'Max processes', '/proc/self/limits'], { root });
  assert.match(ex.stdout, /Max processes\s+40\s+40\s/, show(ex));
  assert.equal((await inspect(root, 'np')).HostConfig.PidsLimit, 40);

  // Stopped: recorded, and the next start has it.
  assert.equal((await runSandbox(['stop', '-t', '1', 'np'], { root })).code, 0);
  const stopped = await runSandbox(['update', '--pids-limit', '30', 'np'], { root, env });
  assert.equal(stopped.code, 0, show(stopped));
  assert.equal((await runSandbox(['start', 'np'], { root, env })).code, 0);
  assert.equal(await nprocOfAll(root, 'np'), '3x30:30');
});
