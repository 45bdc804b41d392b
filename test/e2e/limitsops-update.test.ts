/**
 * Issue 16, `update` and `stats` from the sandbox's cgroup (v1 here with the subtree .ci/run
 * delegates; v2 in the guest): a running sandbox's limits change at once and hold (a fork
 * loop stops at the new --pids-limit), a restart keeps them, a stopped sandbox without a
 * cgroup gets one at its next start; stats reads memory (a /dev/shm file counts, which no
 * /proc sum sees), its limit and the tasks from the cgroup.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { importImage, newStore, requireNoProblems, requireRootless, runSandbox, show } from './harness.js';
import { limitsDelegation } from './limits-host.js';

/** cgroup v2 delegated (the guest): every sandbox has a cgroup of its own there. */
const delegatedV2 = () => { const d = limitsDelegation(); return 'kind' in d && d.kind === 'v2'; };

async function setup(t: TestContext, what: string): Promise<string | undefined> {
  if (!requireRootless(t, what)) return undefined;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const probe = await runSandbox(['run', '--rm', '--pids-limit', '50', '--memory', '64m', 'bb', 'true'], { root });
  if (!requireNoProblems(t, what, probe.code === 0 ? [] : [`no cgroup of its own for a sandbox here (${probe.stderr.trim().split('\n').join(' / ')})`])) return undefined;
  return root;
}

interface Stats { memoryBytes: number; memoryLimitBytes: number; pids: number; source: string }

async function stats(root: string, name: string): Promise<Stats> {
  const r = await runSandbox(['stats', '--no-stream', '--format', 'json', name], { root });
  assert.equal(r.code, 0, show(r));
  return (JSON.parse(r.stdout) as Stats[])[0]!;
}

/** Forks up to 100 sleeps in the sandbox (as exec: it joins its cgroup; their output away, so that the exec ends) and says how many processes it then has. */
async function forkLoop(root: string, name: string): Promise<number> {
  const r = await runSandbox(['exec', name, 'sh', '-c',
    'sh -c "i=0; while [ \\$i -lt 100 ]; do sleep 60 </dev/null >/dev/null 2>&1 & i=\\$((i+1)); done" 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n'], { root, timeoutMs: 60_000 });
  assert.equal(r.code, 0, show(r));
  return Number(r.stdout.trim());
}

test('update --pids-limit/--memory/--cpus of a running sandbox: at once in its cgroup, kept by the record for a restart; stats reads the cgroup', async (t) => {
  const root = await setup(t, 'update');
  if (!root) return;
  t.after(async () => { await runSandbox(['rm', '-f', 'up'], { root }); });
  assert.equal((await runSandbox(['run', '-d', '--name', 'up', '--pids-limit', '200', 'bb', 'sleep', '600'], { root })).code, 0);

  const upd = await runSandbox(['update', '--pids-limit', '20', '--memory', '96m', '--cpus', '0.5', 'up'], { root });
  assert.equal(upd.code, 0, show(upd));
  assert.match(upd.stdout, /^[0-9a-f]{64}\n$/, 'the id, as Podman');
  const n = await forkLoop(root, 'up');
  assert.ok(n <= 20 && n >= 10, `the new --pids-limit 20 holds at once: ${n} processes`);
  const inspect = await runSandbox(['inspect', 'up', '--format', '{{.HostConfig.PidsLimit}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}'], { root });
  assert.equal(inspect.stdout.trim(), `20 ${96 * 1024 * 1024} 500000000`, show(inspect));
  const s = await stats(root, 'up');
  assert.match(s.source, /^cgroup-v[12]$/);
  assert.equal(s.memoryLimitBytes, 96 * 1024 * 1024);
  assert.ok(s.pids >= 10 && s.pids <= 20, JSON.stringify(s));

  // A restart keeps them: the record has them.
  assert.equal((await runSandbox(['restart', '-t', '0', 'up'], { root })).code, 0);
  const again = await forkLoop(root, 'up');
  assert.ok(again <= 20 && again >= 10, `after a restart: ${again} processes`);
  assert.equal((await stats(root, 'up')).memoryLimitBytes, 96 * 1024 * 1024);

  // Lifted: -1 is unlimited again.
  assert.equal((await runSandbox(['update', '--pids-limit', '-1', 'up'], { root })).code, 0);
  const lifted = await forkLoop(root, 'up');
  assert.ok(lifted > 90, `no limit any more: ${lifted} processes`);

  for (const [args, why] of [
    [['update', 'up'], /^sandbox: update needs at least one option to change\nhint: /],
    [['update', '--memory', '1k', 'up'], /^sandbox: --memory 1k: the minimum memory limit is 6MB\nhint: /],
    [['update', '--memory-swap', '10m', 'up'], /^sandbox: --memory-swap 10m is less than --memory/],
    [['update', '--cpus', 'lots', 'up'], /^sandbox: invalid value 'lots' for --cpus\nhint: /],
  ] as const) {
    const r = await runSandbox([...args], { root });
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, why);
  }
});

test('update of a sandbox without a cgroup: refused while it runs (with the way), recorded when stopped and applied at its next start; stats from its cgroup then', async (t) => {
  const root = await setup(t, 'update');
  if (!root) return;
  t.after(async () => { await runSandbox(['rm', '-f', 'un'], { root }); });
  assert.equal((await runSandbox(['run', '-d', '--name', 'un', 'bb', 'sh', '-c', 'head -c 30000000 /dev/zero > /dev/shm/fill; exec sleep 600'], { root })).code, 0);
  if (delegatedV2()) {
    // cgroup v2 from inside the user's session: every sandbox has a cgroup of its own, limit or not.
    assert.equal((await stats(root, 'un')).source, 'cgroup-v2', 'a cgroup of its own without a limit');
    const running = await runSandbox(['update', '--memory', '100m', 'un'], { root });
    assert.equal(running.code, 0, show(running));
  } else {
    assert.equal((await stats(root, 'un')).source, 'proc', 'no cgroup of its own: /proc, as before');
    const running = await runSandbox(['update', '--memory', '128m', 'un'], { root });
    assert.equal(running.code, 125, show(running));
    assert.match(running.stderr, /^sandbox: sandbox un runs without a cgroup of its own: its limits cannot change while it runs\nhint: stop it, update it and start it again/);
  }

  assert.equal((await runSandbox(['stop', '-t', '0', 'un'], { root })).code, 0);
  const stopped = await runSandbox(['update', '--memory', '128m', 'un'], { root });
  assert.equal(stopped.code, 0, show(stopped));
  assert.equal((await runSandbox(['start', 'un'], { root })).code, 0);
  const inspect = await runSandbox(['inspect', 'un', '--format', '{{.HostConfig.Memory}} {{json .HostConfig.LimitsEnforcedBy}}'], { root });
  assert.match(inspect.stdout.trim(), new RegExp(`^${128 * 1024 * 1024} \\{"Memory":"cgroup-v[12]"\\}$`), show(inspect));
  let s: Stats | undefined;
  for (let i = 0; i < 50; i++) {
    s = await stats(root, 'un');
    if (s.memoryBytes >= 30_000_000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(s!.source, /^cgroup-v[12]$/);
  assert.equal(s!.memoryLimitBytes, 128 * 1024 * 1024);
  assert.ok(s!.memoryBytes >= 30_000_000, `the 30 MB file in /dev/shm is the sandbox's memory, as its cgroup counts it: ${JSON.stringify(s)}`);
  const table = await runSandbox(['stats', '--no-stream', 'un'], { root });
  assert.match(table.stdout, /un\s+\S+%\s+[\d.]+MiB \/ 128MiB\s+\d+\s/, show(table));
});
