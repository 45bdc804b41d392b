/**
 * Limits on cgroup v2 run from OUTSIDE the user's systemd manager (an ssh login's
 * session-N.scope is not delegated): the sandbox's monitor, and each exec'd command,
 * start in a transient scope of the user's manager (src/runtime/cgroup/scope.ts), from
 * where they can move into user@UID.service/sandbox.slice/<id>. Without the manager,
 * the refusal and its fix.
 *
 * Runs only there: `bash test/guest/run --outside -- node --import tsx --test
 * test/guest/outside/*.test.ts` (.ci/run step 6); anywhere else it says why, which
 * under CI=true is a failure.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from '../../e2e/fixtures.js';
import { importImage, newStore, requireNoProblems, requireRootless, runSandbox, show, testUser } from '../../e2e/harness.js';

const FS = '/sys/fs/cgroup';

/** The v2 path of process `pid` (`0::` line), or undefined. */
function cgroupOf(pid: number | 'self'): string | undefined {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3);
}

/** Why this is not the place (outside user@UID.service, on cgroup v2, the manager running): empty when it is. */
function outsideProblems(): string[] {
  const uid = testUser().uid;
  if (!existsSync(join(FS, 'cgroup.controllers'))) return ['this host is not cgroup v2 (run it in the guest: bash test/guest/run --outside ...)'];
  const own = cgroupOf('self') ?? '';
  if (own.includes(`/user@${uid}.service`)) return [`this process is inside user@${uid}.service (${own}): run it with test/guest/run --outside`];
  const manager = `${FS}/user.slice/user-${uid}.slice/user@${uid}.service`;
  try {
    if (statSync(manager).uid !== uid) return [`${manager} is not delegated to uid ${uid}`];
  } catch { return [`no user manager cgroup ${manager}`]; }
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (!runtime || !existsSync(join(runtime, 'systemd', 'private'))) return [`the user's manager is not reachable (XDG_RUNTIME_DIR=${runtime ?? ''})`];
  return [];
}

function requireOutside(t: TestContext, what: string): boolean {
  return requireRootless(t, what) && requireNoProblems(t, what, outsideProblems());
}

/** What systemd-run --user needs to reach the manager (the harness passes a clean environment). */
function managerEnv(): Record<string, string> {
  const env: Record<string, string> = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '' };
  if (process.env.DBUS_SESSION_BUS_ADDRESS) env.DBUS_SESSION_BUS_ADDRESS = process.env.DBUS_SESSION_BUS_ADDRESS;
  return env;
}

async function inspect(root: string, id: string, env: Record<string, string>): Promise<Record<string, any>> {
  const r = await runSandbox(['inspect', id], { root, env });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout)[0];
}

async function store(t: TestContext): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  return root;
}

test('outside the session: --memory 64m OOM-kills a 256 MiB allocation (137, OOMKilled); doctor names the scope', async (t) => {
  if (!requireOutside(t, '--memory through a scope')) return;
  const root = await store(t);
  const env = managerEnv();
  const r = await runSandbox(['run', '--name', 'hog', '--memory', '64m', '--network', 'none', 'bb', 'sh', '-c', 'head -c 256m /dev/zero | tail'], { root, env, timeoutMs: 60_000 });
  assert.equal(r.code, 137, show(r));
  const info = await inspect(root, 'hog', env);
  assert.equal(info.State.OOMKilled, true);
  assert.deepEqual(info.HostConfig.LimitsEnforcedBy, { Memory: 'cgroup-v2' });
  const small = await runSandbox(['run', '--rm', '--memory', '64m', '--network', 'none', 'bb', 'sh', '-c', 'head -c 10m /dev/zero | tail >/dev/null'], { root, env });
  assert.equal(small.code, 0, show(small));
  const doctor = await runSandbox(['doctor'], { root, env });
  assert.match(doctor.stdout, /cgroup-v2 through a systemd --user scope/, show(doctor));
});

test('outside the session: --pids-limit 64 stops a fork loop', async (t) => {
  if (!requireOutside(t, '--pids-limit through a scope')) return;
  const root = await store(t);
  const env = managerEnv();
  const script = '(i=0; while [ $i -lt 300 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n; kill -9 -1';
  const r = await runSandbox(['run', '--rm', '--pids-limit', '64', '--network', 'none', 'bb', 'sh', '-c', script], { root, env, timeoutMs: 60_000 });
  const m = /procs=(\d+)/.exec(r.stdout);
  assert.ok(m, show(r));
  const procs = Number(m[1]);
  assert.ok(procs <= 64 && procs >= 40, `at most 64 processes inside, and the loop got near: ${procs}`);
});

test('outside the session: the monitor sits in a scope of the manager, the init in the sandbox\'s cgroup; exec joins it', async (t) => {
  if (!requireOutside(t, 'exec through a scope')) return;
  const root = await store(t);
  const env = managerEnv();
  const uid = testUser().uid;
  const d = await runSandbox(['run', '-d', '--name', 'sleeper', '--memory', '64m', '--network', 'none', 'bb', 'sleep', '120'], { root, env });
  assert.equal(d.code, 0, show(d));
  const id = d.stdout.trim();
  t.after(() => runSandbox(['rm', '-f', id], { root, env }));
  const info = await inspect(root, id, env);
  const service = `/user.slice/user-${uid}.slice/user@${uid}.service`;
  assert.equal(cgroupOf(info.State.Pid), `${service}/sandbox.slice/${id}`, 'the init in the sandbox\'s cgroup');
  // The init's parent is the monitor (it is cloned with CLONE_PARENT: helpers/launch/cgroup.c).
  const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${info.State.Pid}/status`, 'utf8'))?.[1]);
  const monitor = cgroupOf(ppid) ?? '';
  assert.match(monitor, new RegExp(`^${service}/app\\.slice/sandbox-run-${id.slice(0, 12)}-[0-9a-f]{8}\\.scope$`), `the monitor in a transient scope: ${monitor}`);
  const ex = await runSandbox(['exec', id, 'sh', '-c', 'cat /proc/self/cgroup; head -c 256m /dev/zero | tail'], { root, env, timeoutMs: 60_000 });
  assert.match(ex.stdout, /^0::\/$/m, `exec'd: in the sandbox's cgroup (its namespace's root): ${show(ex)}`);
  assert.equal(ex.code, 137, `the exec'd command is bounded by --memory too: ${show(ex)}`);
});

test('outside the session, the manager out of reach: the refusal names the fix', async (t) => {
  if (!requireOutside(t, 'refusal without a manager')) return;
  const root = await store(t);
  // No XDG_RUNTIME_DIR: systemd-run --user cannot find the manager.
  const r = await runSandbox(['run', '--rm', '--memory', '64m', 'bb', 'true'], { root });
  assert.equal(r.code, 125, show(r));
  const [first, hint, more] = r.stderr.trim().split('\n');
  assert.match(first!, /^sandbox: --memory cannot be enforced for you: this process is outside your systemd user session's delegated cgroup .* and XDG_RUNTIME_DIR is not set/, r.stderr);
  assert.match(hint!, /^hint: export XDG_RUNTIME_DIR=\/run\/user\/\d+; or add --unenforced-limits/, r.stderr);
  assert.equal(more, undefined, 'one line and its hint');
});
