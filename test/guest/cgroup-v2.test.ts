/**
 * The cgroup v2 host with systemd's user delegation, proven from the inside: run in the
 * guest (`bash test/guest/run`), as the unprivileged test user in its user session, this
 * checks what the limits of `bin/sandbox` stand on there: a child of the user's delegated
 * subtree (user@UID.service) takes memory.max and pids.max and the kernel enforces them,
 * and rootless sandboxes (newuidmap) work; every sandbox gets a cgroup of its own there.
 *
 * It lives in test/guest/, outside test/e2e/*.test.ts, so `npm test` on a cgroup v1 host
 * never runs it; `.ci/run` runs it inside the guest. Run anywhere else it skips, saying
 * why; under CI=true that is a failure (the guest must give what it is for).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newStore, requireNoProblems, requireRootless, runSandbox } from '../e2e/harness.js';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** This process's cgroup v2 path, or undefined on a v1 or hybrid host. */
function ownCgroup(): string | undefined {
  if (!existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) return undefined;
  const lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  if (lines.length !== 1 || !lines[0]?.startsWith('0::')) return undefined;
  return lines[0].slice(3);
}

/**
 * The user's delegated subtree (the `user@UID.service` above us), absolute; else the
 * reasons it is not there.
 */
function delegatedSubtree(): { dir?: string; problems: string[] } {
  const own = ownCgroup();
  if (own === undefined) return { problems: ['this host is not cgroup v2 only (run it in the guest: bash test/guest/run ...)'] };
  const parts = own.split('/');
  const at = parts.findIndex((p) => /^user@\d+\.service$/.test(p));
  if (at < 0) {
    return { problems: [`this process (cgroup ${own}) is not in a systemd user manager's subtree (run it through systemd-run --user)`] };
  }
  const dir = join(CGROUP_ROOT, ...parts.slice(0, at + 1));
  try {
    accessSync(join(dir, 'cgroup.subtree_control'), constants.W_OK);
    accessSync(join(dir, 'cgroup.procs'), constants.W_OK);
  } catch {
    return { problems: [`${dir} is not delegated to this user (not writable)`] };
  }
  return { dir, problems: [] };
}

/** A fresh child of the delegated subtree with memory and pids enabled, removed after the test. */
function childCgroup(t: TestContext, delegated: string, name: string): string {
  const controllers = readFileSync(join(delegated, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  for (const c of ['memory', 'pids']) assert.ok(controllers.includes(c), `${c} is not delegated: ${controllers.join(' ')}`);
  // Enabled in the subtree root (which holds no process itself: its manager is in init.scope).
  writeFileSync(join(delegated, 'cgroup.subtree_control'), '+memory +pids');
  const dir = join(delegated, `sandbox-guest-${name}-${process.pid}`);
  mkdirSync(dir);
  t.after(async () => {
    if (!existsSync(dir)) return;
    writeFileSync(join(dir, 'cgroup.kill'), '1');
    for (let i = 0; i < 100 && readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== ''; i++) await sleep(50);
    rmdirSync(dir);
  });
  return dir;
}

/** `key value` lines (memory.events, pids.events) as a map. */
function flatKeyed(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

/** Runs a shell script that first moves itself into `cgroup` (as a user can, within its subtree). */
function inCgroup(cgroup: string, shell: string[], script: string) {
  return spawnSync(shell[0]!, [...shell.slice(1), '-c', `echo $$ > ${cgroup}/cgroup.procs || exit 99\n${script}`], {
    encoding: 'utf8', timeout: 120_000,
  });
}

function show(r: { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }): string {
  return `status ${r.status} signal ${r.signal}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

test('a child of the delegated subtree takes memory.max 64M: a 256 MiB allocation is OOM-killed', (t) => {
  const { dir, problems } = delegatedSubtree();
  if (!requireNoProblems(t, 'cgroup v2 memory.max', problems) || !dir) return;
  const cg = childCgroup(t, dir, 'memory');
  writeFileSync(join(cg, 'memory.max'), '64M');
  writeFileSync(join(cg, 'memory.swap.max'), '0');
  assert.equal(readFileSync(join(cg, 'memory.max'), 'utf8').trim(), String(64 * 1024 * 1024));

  // node fills exactly 256 MiB (on top of its own ~40 MiB): killed under 64M, fine under
  // 512M. Its writes to a pipe are synchronous, so "started" is out before the allocation.
  const alloc = 'console.log("started"); const b = Buffer.alloc(256 * 1024 * 1024, 1); console.log("survived", b.length)';
  const r = inCgroup(cg, ['bash'], `exec "${process.execPath}" -e '${alloc}'`);
  assert.equal(r.signal, 'SIGKILL', show(r));
  assert.match(r.stdout, /started/, show(r));
  assert.doesNotMatch(r.stdout, /survived/, show(r));
  assert.ok((flatKeyed(join(cg, 'memory.events')).get('oom_kill') ?? 0) >= 1, readFileSync(join(cg, 'memory.events'), 'utf8'));
});

test('a child of the delegated subtree takes pids.max 20: a fork loop stops at 19', (t) => {
  const { dir, problems } = delegatedSubtree();
  if (!requireNoProblems(t, 'cgroup v2 pids.max', problems) || !dir) return;
  const cg = childCgroup(t, dir, 'pids');
  writeFileSync(join(cg, 'pids.max'), '20');
  assert.equal(readFileSync(join(cg, 'pids.max'), 'utf8').trim(), '20');

  // busybox sh (builtins for [, echo, arithmetic): only the `sleep`s fork, and the shell
  // stops at the first fork that fails. It counts as one of the 20 itself.
  const r = inCgroup(cg, ['busybox', 'sh'],
    'n=0; while [ $n -lt 40 ]; do sleep 120 >/dev/null 2>&1 </dev/null & n=$((n + 1)); echo $n; done');
  const counts = r.stdout.trim().split('\n');
  assert.equal(counts.at(-1), '19', show(r));
  assert.match(r.stderr, /fork/i, show(r));
  assert.ok((flatKeyed(join(cg, 'pids.events')).get('max') ?? 0) >= 1, readFileSync(join(cg, 'pids.events'), 'utf8'));
  assert.equal(readFileSync(join(cg, 'pids.current'), 'utf8').trim(), '19', 'the 19 sleeps are still there');
});

test('bin/sandbox runs rootless here: run --rm host, mapped by newuidmap', async (t) => {
  const { problems } = delegatedSubtree();
  if (!requireNoProblems(t, 'sandbox in the cgroup v2 guest', problems)) return;
  if (!requireRootless(t, 'run --rm host')) return;
  const r = await runSandbox(['run', '--rm', 'host', 'cat', '/proc/self/uid_map', '/proc/self/cgroup'], { root: await newStore(t) });
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  const map = r.stdout.trim().split('\n').slice(0, 3).map((l) => l.trim().split(/\s+/).map(Number));
  // Root inside is the user; 1.. are the user's subordinate range (only newuidmap writes that).
  assert.ok(map.some(([inside, , count]) => inside === 1 && (count ?? 0) >= 65536), r.stdout);
});

test('every sandbox has a cgroup of its own here, limit or not: its init and exec\'d commands born in it, stats, pause without health checks, gone with it', async (t) => {
  const { dir, problems } = delegatedSubtree();
  if (!requireNoProblems(t, 'a cgroup for every sandbox', problems) || !dir) return;
  if (!requireRootless(t, 'a cgroup for every sandbox')) return;
  const root = await newStore(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'free'], { root }); });
  const run = await runSandbox(['run', '-d', '--name', 'free', '--network', 'none', '--health-cmd', 'true', '--health-interval', '1s', 'host', 'sleep', '600'], { root });
  assert.equal(run.code, 0, show({ ...run, status: run.code, signal: null }));
  const id = run.stdout.trim();
  const cg = join(dir, 'sandbox.slice', id);
  const inspect = async () => JSON.parse((await runSandbox(['inspect', 'free'], { root })).stdout)[0];
  const info = await inspect();
  assert.deepEqual(info.HostConfig.LimitsEnforcedBy, {}, 'no limit');
  assert.match(readFileSync(`/proc/${info.State.Pid}/cgroup`, 'utf8'), new RegExp(`^0::/.*/sandbox\\.slice/${id}$`, 'm'), 'the init is in it');
  // exec'd commands are born in it (clone3 CLONE_INTO_CGROUP), in its cgroup namespace.
  const ex = await runSandbox(['exec', 'free', 'cat', '/proc/self/cgroup'], { root });
  assert.equal(ex.stdout, '0::/\n', `${ex.stdout}${ex.stderr}`);
  assert.equal((await runSandbox(['exec', '-d', 'free', 'sleep', '300'], { root })).code, 0);
  const procs = () => readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim().split('\n').length;
  for (let i = 0; i < 100 && procs() !== 3; i++) await sleep(100);
  assert.equal(procs(), 3, 'init, sleep 600 and the exec\'d sleep');
  const stats = JSON.parse((await runSandbox(['stats', '--no-stream', '--format', 'json', 'free'], { root })).stdout)[0];
  assert.equal(stats.source, 'cgroup-v2');
  assert.ok(stats.pids === 3 || stats.pids === 4, `the three, and maybe a health check's command (born in it too): ${stats.pids}`);

  for (let i = 0; i < 100 && !(await inspect()).State.Health?.Log?.length; i++) await sleep(200);
  assert.equal((await runSandbox(['pause', 'free'], { root })).code, 0);
  assert.equal(readFileSync(join(cg, 'cgroup.freeze'), 'utf8').trim(), '1');
  const before = (await inspect()).State.Health;
  assert.ok(before.Log.length >= 1, JSON.stringify(before));
  await sleep(3000);
  assert.deepEqual((await inspect()).State.Health, before, 'no health check while paused');
  assert.equal((await runSandbox(['unpause', 'free'], { root })).code, 0);
  assert.equal((await runSandbox(['rm', '-f', 'free'], { root })).code, 0);
  for (let i = 0; i < 100 && existsSync(cg); i++) await sleep(100);
  assert.ok(!existsSync(cg), `${cg} is removed with the sandbox`);
});

test('opts16 on cgroup v2: --cgroup-parent places the sandbox\'s cgroup, --memory-swappiness is ignored with a warning as Podman', async (t) => {
  const { dir, problems } = delegatedSubtree();
  if (!requireNoProblems(t, 'opts16 in the cgroup v2 guest', problems) || !dir) return;
  if (!requireRootless(t, 'opts16 cgroup options')) return;
  const root = await newStore(t);
  const r = await runSandbox(['run', '-d', '--name', 'opts16', '--memory', '64m', '--memory-swappiness', '10', '--cgroup-parent', 'opts16.slice', 'host', 'sleep', '60'], { root });
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  t.after(() => runSandbox(['rm', '-f', 'opts16'], { root }));
  assert.match(r.stderr, /--memory-swappiness ignored: cgroup v2 has no such setting/);
  const info = await runSandbox(['inspect', '--format', '{{.State.Pid}} {{.HostConfig.CgroupParent}} {{.HostConfig.LimitsEnforcedBy.MemorySwappiness}}', 'opts16'], { root });
  const [pid, parent, swappiness] = info.stdout.trim().split(' ');
  assert.equal(parent, 'opts16.slice');
  assert.equal(swappiness, 'ignored');
  // As the host sees it (inside, the sandbox's cgroup namespace shows /): the sandbox's cgroup is under --cgroup-parent, and bounded.
  const own = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().slice(3);
  assert.match(own, /\/user@\d+\.service\/opts16\.slice\/[0-9a-f]{64}$/, own);
  assert.equal(readFileSync(join(CGROUP_ROOT, own, 'memory.max'), 'utf8').trim(), String(64 * 1024 * 1024));
});
