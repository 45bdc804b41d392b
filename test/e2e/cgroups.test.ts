/**
 * Issue 16, part cgroups: resource limits enforced through cgroups, as the unprivileged
 * test user. On this project's CI machine (cgroup v1) `.ci/run` delegates the v1 subtree
 * as `sandbox doctor` says an administrator would; in the cgroup v2 guest (test/guest/)
 * the tests run inside the user's systemd session, whose cgroup is delegated. The same
 * tests run on both: they find out which one they are on. Without delegation (a cgroup
 * root with nothing delegated, SANDBOX_CGROUP_FS) the refusal and its hint.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { cgroupDirOf, requireLimits } from './limits-host.js';
import {
  asUser, eventually, importImage, newStore, newUserDir, requireRootless, runSandbox, sandboxIdsIn, show,
} from './harness.js';

async function inspect(root: string, id: string): Promise<Record<string, any>> {
  const r = await runSandbox(['inspect', id], { root });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout)[0];
}

test('without a delegated cgroup: a limit is refused with the fix, before anything is recorded; --unenforced-limits runs with a warning', async (t) => {
  if (!requireRootless(t, 'limits refused')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  // A cgroup v1 host as this machine is without .ci/run's delegation: controllers mounted, nothing delegated.
  const env = { SANDBOX_CGROUP_FS: await undelegatedCgroupFs(t) };
  for (const args of [['--memory', '64m'], ['--cpus', '0.5'], ['--cpu-shares', '512'], ['--cpuset-cpus', '0']]) {
    const r = await runSandbox(['run', '--rm', ...args, 'bb', 'true'], { root, env });
    assert.equal(r.code, 125, show(r));
    const [first, hint, more] = r.stderr.trim().split('\n');
    assert.match(first!, new RegExp(`^sandbox: ${args[0]} cannot be enforced for you: this host has cgroup v1 and no cgroup subtree delegated to you`), r.stderr);
    assert.match(hint!, /^hint: .*sandbox doctor.*--unenforced-limits/, r.stderr);
    assert.equal(more, undefined, 'one line and its hint');
  }
  const nothing = await runSandbox(['run', '--name', 'kept', '--memory', '64m', 'bb', 'true'], { root, env });
  assert.equal(nothing.code, 125, show(nothing));
  assert.deepEqual(sandboxIdsIn(root), [], 'nothing recorded');

  const doctor = await runSandbox(['doctor'], { root, env });
  assert.match(doctor.stdout, /cgroup/, show(doctor));
  assert.match(doctor.stdout, /mkdir -p .*sandbox\/\d+.*chown -R/, 'doctor prints the administrator\'s commands');

  const opt = await runSandbox(['run', '-d', '--memory', '64m', '--unenforced-limits', 'bb', 'true'], { root, env });
  assert.equal(opt.code, 0, show(opt));
  assert.match(opt.stderr, /warning: --memory not enforced \(--unenforced-limits\)/);
  const info = await inspect(root, opt.stdout.trim());
  assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
  assert.deepEqual(info.HostConfig.LimitsEnforcedBy, { Memory: 'none' });
});

/** A cgroup v1 root with controllers mounted and nothing delegated (as this machine before .ci/run), for SANDBOX_CGROUP_FS. */
async function undelegatedCgroupFs(t: Parameters<typeof newUserDir>[0]): Promise<string> {
  const fake = await newUserDir(t, 'sandbox-e2e-cgroupfs-');
  for (const c of ['memory', 'pids', 'cpu', 'cpuset']) { mkdirSync(join(fake, c)); writeFileSync(join(fake, c, 'cgroup.procs'), ''); }
  return fake;
}

/** Runs a fork bomb under --pids-limit 64 (-d, to inspect it); how many processes it reached inside, and the record. */
async function forkBomb(root: string, env: Record<string, string> = {}): Promise<{ procs: number; info: Record<string, any> }> {
  // The spawner forks until the kernel refuses; then the processes are counted with builtins only (no fork left).
  const script = '(i=0; while [ $i -lt 300 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n; kill -9 -1';
  const r = await runSandbox(['run', '--name', 'bomb', '--pids-limit', '64', '--network', 'none', 'bb', 'sh', '-c', script], { root, env, timeoutMs: 60_000 });
  const m = /procs=(\d+)/.exec(r.stdout);
  assert.ok(m, show(r));
  const info = await inspect(root, 'bomb');
  assert.equal((await runSandbox(['rm', 'bomb'], { root })).code, 0);
  return { procs: Number(m[1]), info };
}

test('--pids-limit 64: a fork bomb stops at the limit inside, and the host is fine', async (t) => {
  const kind = requireLimits(t, '--pids-limit');
  if (!kind) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const { procs, info } = await forkBomb(root);
  assert.ok(procs <= 64 && procs >= 40, `at most 64 processes inside, and the bomb got near: ${procs}`);
  assert.deepEqual(info.HostConfig.LimitsEnforcedBy, { PidsLimit: `cgroup-${kind}` });
  const host = await asUser('sh', ['-c', 'echo fine']);
  assert.equal(host.stdout.trim(), 'fine', 'the user can still start processes on the host');
});

test('--pids-limit without a pids cgroup: RLIMIT_NPROC, counted in the sandbox\'s user namespace, for exec too', async (t) => {
  if (!requireRootless(t, '--pids-limit by rlimit')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const env = { SANDBOX_CGROUP_FS: await undelegatedCgroupFs(t) };
  const { procs, info } = await forkBomb(root, env);
  assert.ok(procs <= 64 && procs >= 40, `at most 64 processes inside, and the bomb got near: ${procs}`);
  assert.deepEqual(info.HostConfig.LimitsEnforcedBy, { PidsLimit: 'rlimit' });
  const d = await runSandbox(['run', '-d', '--pids-limit', '64', '--network', 'none', 'bb', 'sleep', '60'], { root, env });
  assert.equal(d.code, 0, show(d));
  const ex = await runSandbox(['exec', d.stdout.trim(), 'grep', 'Max processes', '/proc/self/limits'], { root });
  assert.match(ex.stdout, /Max processes\s+64\s+64\s/, show(ex));
});

test('--memory 64m: a 300 MiB allocation is OOM-killed, exit 137, inspect says OOMKilled', async (t) => {
  const kind = requireLimits(t, '--memory');
  if (!kind) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const r = await runSandbox(['run', '--name', 'hog', '--memory', '64m', '--network', 'none', 'bb', 'sh', '-c', 'head -c 300m /dev/zero | tail'], { root, timeoutMs: 60_000 });
  assert.equal(r.code, 137, show(r));
  const info = await inspect(root, 'hog');
  assert.equal(info.State.OOMKilled, true);
  assert.equal(info.State.ExitCode, 137);
  assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
  assert.equal(info.HostConfig.MemorySwap, 128 * 1024 * 1024, 'twice the memory, as Podman');
  assert.deepEqual(info.HostConfig.LimitsEnforcedBy, { Memory: `cgroup-${kind}` });
  // The same sandbox under the limit: no OOM kill this time, and the mark is gone.
  const ok = await runSandbox(['run', '--name', 'small', '--memory', '64m', '--network', 'none', 'bb', 'sh', '-c', 'head -c 10m /dev/zero | tail >/dev/null'], { root });
  assert.equal(ok.code, 0, show(ok));
  assert.equal((await inspect(root, 'small')).State.OOMKilled, false);
});

test('--cpus 0.5 holds a busy loop near half a core; exec joins the cgroup; no cgroup left after rm, nor after a SIGKILLed monitor', async (t) => {
  const kind = requireLimits(t, '--cpus');
  if (!kind) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '--cpus', '0.5', '--pids-limit', '64', '--network', 'none', 'bb', 'sh', '-c', 'while :; do :; done'], { root });
  assert.equal(run.code, 0, show(run));
  const id = run.stdout.trim();
  const info = await inspect(root, id);
  assert.equal(info.HostConfig.NanoCpus, 500_000_000);
  assert.equal(info.HostConfig.CpuQuota, 50_000);
  assert.equal(info.HostConfig.PidsLimit, 64);
  const pid = info.State.Pid as number;
  const cpuDir = cgroupDirOf(pid, kind === 'v2' ? '' : 'cpu');
  const usageDir = kind === 'v2' ? cpuDir : cgroupDirOf(pid, 'cpuacct');
  assert.ok(cpuDir.includes(id), `the init is in the sandbox's cgroup: ${cpuDir}`);
  const usage = () => kind === 'v2'
    ? Number(/usage_usec (\d+)/.exec(readFileSync(join(usageDir, 'cpu.stat'), 'utf8'))![1]) * 1000
    : Number(readFileSync(join(usageDir, 'cpuacct.usage'), 'utf8'));
  const u0 = usage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 2000));
  const cores = (usage() - u0) / Number(process.hrtime.bigint() - t0);
  assert.ok(cores > 0.15 && cores < 0.7, `a busy loop under --cpus 0.5 used ${cores.toFixed(2)} cores`);
  const quota = kind === 'v2' ? readFileSync(join(cpuDir, 'cpu.max'), 'utf8').trim() : readFileSync(join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim();
  assert.equal(quota, kind === 'v2' ? '50000 100000' : '50000');
  // On a busy machine the loop may not even get half a core; when it got near, the kernel held it there.
  const throttled = Number(/nr_throttled (\d+)/.exec(readFileSync(join(cpuDir, 'cpu.stat'), 'utf8'))![1]);
  if (cores > 0.4) assert.ok(throttled > 0, `the kernel throttled it (${cores.toFixed(2)} cores)`);

  const ex = await runSandbox(['exec', id, 'cat', '/proc/self/cgroup'], { root });
  assert.equal(ex.code, 0, show(ex));
  const inside = ex.stdout.split('\n').find((l) => kind === 'v2' ? l.startsWith('0::') : /:cpu(,|:)/.test(l));
  assert.match(inside ?? '', /:\/$/, `exec'd: in the sandbox's cgroup (its namespace's root): ${ex.stdout}`);

  const rm = await runSandbox(['rm', '-f', id], { root });
  assert.equal(rm.code, 0, show(rm));
  assert.equal(existsSync(cpuDir), false, `rm removed ${cpuDir}`);

  // A monitor killed with SIGKILL cannot remove its cgroup: the next run with a limit does (rm would too).
  const crash = await runSandbox(['run', '-d', '--pids-limit', '64', '--network', 'none', 'bb', 'sleep', '300'], { root });
  assert.equal(crash.code, 0, show(crash));
  const cid = crash.stdout.trim();
  const cinfo = await inspect(root, cid);
  const pidsDir = cgroupDirOf(cinfo.State.Pid, kind === 'v2' ? '' : 'pids');
  const monitor = JSON.parse(readFileSync(join(root, 'data', 'containers', cid, 'container.json'), 'utf8')).state.monitorPid as number;
  await asUser('kill', ['-9', String(monitor)]);
  assert.equal(await eventually(() => (existsSync(`/proc/${cinfo.State.Pid}`) ? 'the init still runs' : ''), 10_000), '');
  assert.ok(existsSync(pidsDir), 'the killed monitor left its cgroup');
  await new Promise((r) => setTimeout(r, 5500)); // strays younger than 5 s may be a start in progress
  const next = await runSandbox(['run', '--rm', '--pids-limit', '64', '--network', 'none', 'bb', 'true'], { root });
  assert.equal(next.code, 0, show(next));
  assert.equal(existsSync(pidsDir), false, `the next run removed the stray ${pidsDir}`);
});
