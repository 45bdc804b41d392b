/**
 * Issue 16, the parts together, as a user combines them: limits (cgroups) with id modes,
 * pods and joined networks; seccomp with id modes, --privileged and --cap-add; the
 * lifecycle (pause, update, stop/start/restart) of a limited, filtered keep-id sandbox;
 * and what a SIGKILLed monitor of such a sandbox leaves behind. Each part has its own
 * tests; these catch what breaks where they meet (monitor.c picks one of clone_joined,
 * clone_nested, clone_in_cgroups).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  asUser, eventually, importImage, newStore, newUserDir, requireRootless, runSandbox, sandboxIdsIn, show, testUser,
} from './harness.js';
import { cgroupDirOf, requireLimits } from './limits-host.js';

type T = Parameters<typeof requireRootless>[0];

async function setup(t: T): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

async function inspect(root: string, id: string): Promise<Record<string, any>> {
  const r = await runSandbox(['inspect', id], { root });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout)[0];
}

async function ok(root: string, args: string[]): Promise<string> {
  const r = await runSandbox(args, { root, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${args.join(' ')}\n${show(r)}`);
  return r.stdout;
}

/** Forks `sleep`s until the kernel refuses, then counts the processes with builtins only (no fork left). */
const FORK_LOOP = '(i=0; while [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n; kill -9 -1';
const procsOf = (out: string): number => Number(/procs=(\d+)/.exec(out)?.[1] ?? NaN);
const ALLOC = 'head -c 300m /dev/zero | tail';
const seccompMode = (out: string): string => /Seccomp:\s*(\d)/.exec(out)?.[1] ?? `no Seccomp line in ${out}`;
/** The cgroup lines of /proc/self/cgroup, inside: `/` is the root of the sandbox's cgroup namespace, its own cgroup. */
const IN_OWN_CGROUP = (kind: 'v1' | 'v2') => kind === 'v2' ? 'grep "^0::" /proc/self/cgroup' : 'grep -E ":(pids|memory):" /proc/self/cgroup';

test('keep-id + --memory + --pids-limit: OOM kill 137 and OOMKilled, a fork loop stops, exec joins the cgroup with keep-id\'s ids', async (t) => {
  const kind = requireLimits(t, 'keep-id with limits');
  if (!kind) return;
  const root = await setup(t);
  const { uid, gid } = testUser();
  const limits = ['--userns=keep-id', '--memory', '64m', '--pids-limit', '50', '--network', 'none'];
  const hog = await runSandbox(['run', '--name', 'hog', ...limits, 'bb', 'sh', '-c', `id -u; ${ALLOC}`], { root, timeoutMs: 60_000 });
  assert.equal(hog.code, 137, show(hog));
  assert.equal(hog.stdout.trim(), String(uid), 'the command ran as the caller');
  const hi = await inspect(root, 'hog');
  assert.equal(hi.State.OOMKilled, true);
  assert.equal(hi.HostConfig.UsernsMode, 'keep-id');
  assert.deepEqual(hi.HostConfig.LimitsEnforcedBy, { Memory: `cgroup-${kind}`, PidsLimit: `cgroup-${kind}` });

  const bomb = await runSandbox(['run', '--rm', ...limits, 'bb', 'sh', '-c', FORK_LOOP], { root, timeoutMs: 60_000 });
  const procs = procsOf(bomb.stdout);
  assert.ok(procs <= 50 && procs >= 30, `at most 50 processes for a non-root keep-id user, and the loop got near: ${procs}\n${show(bomb)}`);

  const id = (await ok(root, ['run', '-d', ...limits, 'bb', 'sleep', '300'])).trim();
  const pid = (await inspect(root, id)).State.Pid as number;
  for (const c of kind === 'v2' ? [''] : ['pids', 'memory']) assert.ok(cgroupDirOf(pid, c).includes(id), `the init is in the sandbox's ${c || 'v2'} cgroup`);
  const ex = await runSandbox(['exec', id, 'sh', '-c', `id -u; id -g; ${IN_OWN_CGROUP(kind)}`], { root });
  assert.equal(ex.code, 0, show(ex));
  const [eu, eg, ...lines] = ex.stdout.trim().split('\n');
  assert.deepEqual([eu, eg], [String(uid), String(gid)], 'exec keeps keep-id\'s ids');
  assert.ok(lines.length > 0 && lines.every((l) => l.endsWith(':/')), `exec'd: in the sandbox's cgroups: ${ex.stdout}`);
  // An exec'd fork loop counts against the same limit as the command's processes.
  const exBomb = await runSandbox(['exec', id, 'sh', '-c', FORK_LOOP.replace('kill -9 -1', 'true')], { root, timeoutMs: 60_000 });
  const exProcs = procsOf(exBomb.stdout);
  assert.ok(exProcs <= 50 && exProcs >= 30, `exec'd processes are held by the same limit: ${exProcs}\n${show(exBomb)}`);
  await ok(root, ['rm', '-f', id]);
});

test('--userns=auto + --pids-limit: the limit holds in a slice of its own; exec joins it', async (t) => {
  const kind = requireLimits(t, 'auto with limits');
  if (!kind) return;
  const root = await setup(t);
  const bomb = await runSandbox(['run', '--rm', '--userns=auto', '--pids-limit', '30', '--network', 'none', 'bb', 'sh', '-c', `cat /proc/self/uid_map; ${FORK_LOOP}`], { root, timeoutMs: 60_000 });
  const procs = procsOf(bomb.stdout);
  assert.ok(procs <= 30 && procs >= 15, `at most 30 processes: ${procs}\n${show(bomb)}`);
  assert.match(bomb.stdout, /^\s*0\s+\d+\s+1024\s*$/m, 'a slice of 1024 ids');
  const id = (await ok(root, ['run', '-d', '--userns=auto', '--pids-limit', '30', '--network', 'none', 'bb', 'sleep', '300'])).trim();
  const info = await inspect(root, id);
  assert.equal(info.HostConfig.UsernsMode, 'auto');
  assert.deepEqual(info.HostConfig.LimitsEnforcedBy, { PidsLimit: `cgroup-${kind}` });
  assert.ok(cgroupDirOf(info.State.Pid, kind === 'v2' ? '' : 'pids').includes(id));
  const ex = await runSandbox(['exec', id, 'sh', '-c', IN_OWN_CGROUP(kind)], { root });
  assert.match(ex.stdout, /:\/$/m, show(ex));
  await ok(root, ['rm', '-f', id]);
});

test('pause/unpause and update of a limited keep-id sandbox', async (t) => {
  const kind = requireLimits(t, 'pause keep-id');
  if (!kind) return;
  const root = await setup(t);
  const id = (await ok(root, ['run', '-d', '--userns=keep-id', '--memory', '64m', '--pids-limit', '50', '--network', 'none', 'bb', 'sleep', '300'])).trim();
  const pid = (await inspect(root, id)).State.Pid as number;
  await ok(root, ['pause', id]);
  assert.equal((await inspect(root, id)).State.Status, 'paused');
  const frozen = await eventually(() => (kind === 'v1'
    ? readFileSync(join(cgroupDirOf(pid, 'freezer'), 'freezer.state'), 'utf8').trim() === 'FROZEN'
    : /^frozen 1$/m.test(readFileSync(join(cgroupDirOf(pid, ''), 'cgroup.events'), 'utf8'))) ? '' : 'the cgroup is not frozen', 5000);
  assert.equal(frozen, '');
  const refused = await runSandbox(['exec', id, 'true'], { root });
  assert.equal(refused.code, 125, show(refused));
  assert.match(refused.stderr, /paused/);
  await ok(root, ['unpause', id]);
  assert.equal((await inspect(root, id)).State.Status, 'running');
  assert.equal((await ok(root, ['exec', id, 'id', '-u'])).trim(), String(testUser().uid));

  await ok(root, ['update', '--memory', '128m', '--pids-limit', '80', id]);
  const info = await inspect(root, id);
  assert.equal(info.HostConfig.Memory, 128 * 1024 * 1024);
  assert.equal(info.HostConfig.PidsLimit, 80);
  if (kind === 'v1') {
    assert.equal(readFileSync(join(cgroupDirOf(pid, 'pids'), 'pids.max'), 'utf8').trim(), '80');
    assert.equal(readFileSync(join(cgroupDirOf(pid, 'memory'), 'memory.limit_in_bytes'), 'utf8').trim(), String(128 * 1024 * 1024));
  } else {
    assert.equal(readFileSync(join(cgroupDirOf(pid, ''), 'pids.max'), 'utf8').trim(), '80');
    assert.equal(readFileSync(join(cgroupDirOf(pid, ''), 'memory.max'), 'utf8').trim(), String(128 * 1024 * 1024));
  }
  const stats = await runSandbox(['stats', '--no-stream', id], { root });
  assert.match(stats.stdout, /\/ 128MiB/, show(stats));
  await ok(root, ['rm', '-f', id]);
});

test('limits in a pod and with --network container:X: each sandbox in a cgroup of its own, exec joins it; --userns there is refused', async (t) => {
  const kind = requireLimits(t, 'limits with pods');
  if (!kind) return;
  const root = await setup(t);
  await ok(root, ['pod', 'create', '--name', 'p']);
  const member = (await ok(root, ['run', '-d', '--pod', 'p', '--memory', '64m', '--pids-limit', '40', 'bb', 'sleep', '300'])).trim();
  const mpid = (await inspect(root, member)).State.Pid as number;
  assert.ok(cgroupDirOf(mpid, kind === 'v2' ? '' : 'memory').includes(member), 'the pod member is in its own cgroup');
  const ex = await runSandbox(['exec', member, 'sh', '-c', IN_OWN_CGROUP(kind)], { root });
  assert.match(ex.stdout, /:\/$/m, show(ex));
  const hog = await runSandbox(['run', '--rm', '--pod', 'p', '--memory', '64m', 'bb', 'sh', '-c', ALLOC], { root, timeoutMs: 60_000 });
  assert.equal(hog.code, 137, show(hog));
  const bomb = await runSandbox(['run', '--rm', '--pod', 'p', '--pids-limit', '30', 'bb', 'sh', '-c', FORK_LOOP], { root, timeoutMs: 60_000 });
  assert.ok(procsOf(bomb.stdout) <= 30, show(bomb));

  const target = (await ok(root, ['run', '-d', '--name', 'net', 'bb', 'sleep', '300'])).trim();
  const joined = (await ok(root, ['run', '-d', '--network', 'container:net', '--memory', '64m', '--pids-limit', '40', 'bb', 'sleep', '300'])).trim();
  const jpid = (await inspect(root, joined)).State.Pid as number;
  const jdir = cgroupDirOf(jpid, kind === 'v2' ? '' : 'pids');
  assert.ok(jdir.includes(joined) && !jdir.includes(target), `its own cgroup, not the joined one's: ${jdir}`);
  const jex = await runSandbox(['exec', joined, 'sh', '-c', IN_OWN_CGROUP(kind)], { root });
  assert.match(jex.stdout, /:\/$/m, show(jex));
  const jhog = await runSandbox(['run', '--rm', '--network', 'container:net', '--memory', '64m', 'bb', 'sh', '-c', ALLOC], { root, timeoutMs: 60_000 });
  assert.equal(jhog.code, 137, show(jhog));

  // The joined sandbox's ids are the other's: an id mode of its own is refused, before anything is made.
  const before = sandboxIdsIn(root).length;
  for (const args of [['--pod', 'p', '--userns=keep-id'], ['--network', 'container:net', '--userns=keep-id'], ['--network', 'container:net', '--userns=auto'], ['--network', 'container:net', '--uidmap', '0:1:100']]) {
    const r = await runSandbox(['run', '--rm', ...args, 'bb', 'true'], { root });
    assert.equal(r.code, 125, show(r));
    const [first, hint, more] = r.stderr.trim().split('\n');
    assert.match(first!, /^sandbox: (--userns=\S+|--uidmap\/--gidmap) cannot be given with (--pod|--network container:net)/, r.stderr);
    assert.match(hint!, /^hint: leave it out/);
    assert.equal(more, undefined);
  }
  assert.equal(sandboxIdsIn(root).length, before, 'nothing recorded');
  await ok(root, ['rm', '-f', joined, target]);
  await ok(root, ['pod', 'rm', '-f', 'p']);
});

test('seccomp with keep-id (a non-root command), exec, exec --privileged; off under --privileged; --cap-add SYS_ADMIN with limits', async (t) => {
  const kind = requireLimits(t, 'seccomp with id modes');
  if (!kind) return;
  const root = await setup(t);
  const status = 'grep -E "^(Seccomp|CapEff):" /proc/self/status';
  const run = await runSandbox(['run', '--rm', '--userns=keep-id', '--network', 'none', 'bb', 'sh', '-c', `id -u; ${status}; unshare -U true 2>/dev/null; echo unshare=$?`], { root });
  assert.equal(run.code, 0, show(run));
  assert.match(run.stdout, new RegExp(`^${testUser().uid}$`, 'm'));
  assert.equal(seccompMode(run.stdout), '2', 'the filter is on for a non-root command');
  assert.match(run.stdout, /unshare=1/, 'the default profile refuses a new user namespace');

  const id = (await ok(root, ['run', '-d', '--userns=keep-id', '--pids-limit', '50', '--network', 'none', 'bb', 'sleep', '300'])).trim();
  assert.equal(seccompMode(await ok(root, ['exec', id, 'sh', '-c', status])), '2', 'exec gets the filter');
  // Podman (runc) keeps the sandbox's filter for `exec --privileged`: only capabilities change.
  assert.equal(seccompMode(await ok(root, ['exec', '--privileged', id, 'sh', '-c', status])), '2', 'exec --privileged keeps it, as Podman');
  await ok(root, ['rm', '-f', id]);

  const priv = await runSandbox(['run', '--rm', '--privileged', '--userns=keep-id', '--network', 'none', 'bb', 'sh', '-c', status], { root });
  assert.equal(priv.code, 0, show(priv));
  assert.equal(seccompMode(priv.stdout), '0', '--privileged: no filter');

  const cap = await runSandbox(['run', '--rm', '--cap-add', 'SYS_ADMIN', '--memory', '64m', '--pids-limit', '40', '--network', 'none', 'bb', 'sh', '-c',
    `${status}; unshare -U true; echo unshare=$?; ${IN_OWN_CGROUP(kind)}`], { root });
  assert.equal(cap.code, 0, show(cap));
  assert.equal(seccompMode(cap.stdout), '2');
  assert.match(cap.stdout, /unshare=0/, 'with CAP_SYS_ADMIN the profile allows a user namespace, as Docker\'s');
  assert.match(cap.stdout, /:\/$/m, 'and the limits hold it');
});

test('--privileged + limits + --device; --ulimit nofile with keep-id, run and exec', async (t) => {
  const kind = requireLimits(t, 'privileged with limits');
  if (!kind) return;
  const root = await setup(t);
  const priv = await runSandbox(['run', '--rm', '--privileged', '--memory', '64m', '--pids-limit', '40', '--device', '/dev/fuse', '--network', 'none', 'bb', 'sh', '-c',
    `grep Seccomp: /proc/self/status; test -c /dev/fuse && echo fuse; ${ALLOC}`], { root, timeoutMs: 60_000 });
  assert.equal(priv.code, 137, `--privileged does not lift the memory limit\n${show(priv)}`);
  assert.equal(seccompMode(priv.stdout), '0');
  assert.match(priv.stdout, /^fuse$/m);
  const bomb = await runSandbox(['run', '--rm', '--privileged', '--pids-limit', '30', '--network', 'none', 'bb', 'sh', '-c', FORK_LOOP], { root, timeoutMs: 60_000 });
  assert.ok(procsOf(bomb.stdout) <= 30, `nor the pids limit: ${show(bomb)}`);

  const id = (await ok(root, ['run', '-d', '--userns=keep-id', '--ulimit', 'nofile=512:1024', '--network', 'none', 'bb', 'sleep', '300'])).trim();
  const cmd = 'id -u; ulimit -n; ulimit -Hn';
  const want = [String(testUser().uid), '512', '1024'];
  assert.deepEqual((await ok(root, ['exec', id, 'sh', '-c', cmd])).trim().split('\n'), want, 'exec gets the ulimit');
  const first = await runSandbox(['run', '--rm', '--userns=keep-id', '--ulimit', 'nofile=512:1024', '--network', 'none', 'bb', 'sh', '-c', cmd], { root });
  assert.deepEqual(first.stdout.trim().split('\n'), want, show(first));
  await ok(root, ['rm', '-f', id]);
});

test('stop/start and restart of a limited, filtered keep-id sandbox keep all of it', async (t) => {
  const kind = requireLimits(t, 'restart keep-id');
  if (!kind) return;
  const root = await setup(t);
  const dir = await newUserDir(t, 'sandbox-e2e-combo-');
  const profile = join(dir, 'no-mkdir.json');
  writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] }), { mode: 0o644 });
  const id = (await ok(root, ['run', '-d', '--name', 'r', '--userns=keep-id', '--memory', '64m', '--pids-limit', '40', '--security-opt', `seccomp=${profile}`, '--network', 'none', 'bb', 'sleep', '300'])).trim();
  const kept = (i: Record<string, any>) => ({
    LimitsEnforcedBy: i.HostConfig.LimitsEnforcedBy, SeccompProfilePath: i.SeccompProfilePath, UsernsMode: i.HostConfig.UsernsMode,
    Memory: i.HostConfig.Memory, PidsLimit: i.HostConfig.PidsLimit, IDMappings: i.HostConfig.IDMappings,
  });
  const before = kept(await inspect(root, id));
  assert.deepEqual(before.LimitsEnforcedBy, { Memory: `cgroup-${kind}`, PidsLimit: `cgroup-${kind}` });
  assert.equal(before.SeccompProfilePath, profile);
  assert.equal(before.UsernsMode, 'keep-id');
  const check = async (when: string) => {
    const info = await inspect(root, id);
    assert.equal(info.State.Status, 'running', when);
    assert.deepEqual(kept(info), before, `inspect ${when}`);
    for (const c of kind === 'v2' ? [''] : ['pids', 'memory']) assert.ok(cgroupDirOf(info.State.Pid, c).includes(id), `${when}: the init is in its ${c || 'v2'} cgroup`);
    const ex = await runSandbox(['exec', id, 'sh', '-c', `id -u; mkdir /tmp/d${Date.now()} 2>/dev/null; echo mkdir=$?; ulimit -u; ${IN_OWN_CGROUP(kind)}`], { root });
    assert.equal(ex.code, 0, show(ex));
    assert.match(ex.stdout, new RegExp(`^${testUser().uid}\\nmkdir=1\\n`), `${when}: keep-id's uid, and the profile refuses mkdir\n${ex.stdout}`);
    assert.match(ex.stdout, /:\/$/m, `${when}: exec joins the cgroups`);
  };
  await check('after run');
  await ok(root, ['stop', '-t', '1', id]);
  const stopped = await inspect(root, id);
  assert.equal(stopped.State.Status, 'exited');
  assert.deepEqual(kept(stopped), before, 'inspect of the stopped sandbox');
  await ok(root, ['start', id]);
  await check('after stop and start');
  await ok(root, ['restart', '-t', '1', id]);
  await check('after restart');
  await ok(root, ['rm', '-f', id]);
});

test('SIGKILL of the monitor of a limited keep-id (and auto) sandbox, rm -f, the next run: no stray cgroup, mount, fuse-overlayfs or slice', async (t) => {
  const kind = requireLimits(t, 'crash safety with limits');
  if (!kind) return;
  const root = await setup(t);
  const uid = testUser().uid;
  const mine = (): string[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try { return [readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ')]; } catch { return []; }
  });
  const firstSlice = async () => {
    const r = await runSandbox(['run', '--rm', '--userns=auto', '--pids-limit', '40', '--network', 'none', 'bb', 'cat', '/proc/self/uid_map'], { root });
    assert.equal(r.code, 0, show(r));
    return r.stdout.trim();
  };
  const freeSlice = await firstSlice();
  for (const mode of ['keep-id', 'auto']) {
    const id = (await ok(root, ['run', '-d', `--userns=${mode}`, '--memory', '64m', '--pids-limit', '40', '--network', 'none', 'bb', 'sleep', '300'])).trim();
    const info = await inspect(root, id);
    const dirs = (kind === 'v2' ? [''] : ['pids', 'memory']).map((c) => cgroupDirOf(info.State.Pid, c));
    assert.ok(mine().some((c) => c.startsWith('fuse-overlayfs') && c.includes(id)), `${mode}: its root is a fuse-overlayfs`);
    const monitor = JSON.parse(readFileSync(join(root, 'data', 'containers', id, 'container.json'), 'utf8')).state.monitorPid as number;
    await asUser('kill', ['-9', String(monitor)]);
    assert.equal(await eventually(() => (existsSync(`/proc/${info.State.Pid}`) ? 'the init still runs' : ''), 10_000), '');
    const rm = await runSandbox(['rm', '-f', id], { root });
    assert.equal(rm.code, 0, show(rm));
    const left = await eventually(() => {
      const wrong: string[] = [];
      for (const d of dirs) if (existsSync(d)) wrong.push(`cgroup ${d}`);
      if (readFileSync('/proc/self/mountinfo', 'utf8').includes(id)) wrong.push('a mount');
      if (mine().some((c) => c.includes(id))) wrong.push('a process (fuse-overlayfs?)');
      return wrong.join(', ');
    }, 10_000);
    assert.equal(left, '', `${mode}: after the killed monitor and rm -f`);
  }
  const next = await runSandbox(['run', '--rm', '--userns=keep-id', '--memory', '64m', '--pids-limit', '40', '--network', 'none', 'bb', 'id', '-u'], { root });
  assert.equal(next.code, 0, show(next));
  assert.equal(next.stdout.trim(), String(uid));
  assert.equal(await firstSlice(), freeSlice, 'the crashed auto sandbox\'s slice is free again');
  assert.deepEqual(sandboxIdsIn(root), []);
});
