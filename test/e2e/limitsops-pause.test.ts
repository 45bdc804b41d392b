/**
 * Issue 16, pause/unpause through the cgroup freezer of the sandbox's own cgroup (v1 here,
 * with the subtree .ci/run delegates as an administrator would; v2 in the guest): a paused
 * sandbox's processes stop (a counter it writes to a bind mount stands still), ps and
 * inspect say paused, exec/stop/start refuse as Podman's do, kill and rm -f still end it;
 * without a freezer, one line naming the fix.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { eventually, importImage, newStore, newUserDir, requireNoProblems, requireRootless, runSandbox, show } from './harness.js';
import { limitsDelegation } from './limits-host.js';

/** A sandbox with a limit gets its own cgroups here (delegation): else what the refusal says. */
async function cgroupProblems(root: string): Promise<string[]> {
  const r = await runSandbox(['run', '--rm', '--pids-limit', '50', 'bb', 'true'], { root });
  return r.code === 0 ? [] : [`no cgroup of its own for a sandbox here (${r.stderr.trim().split('\n').join(' / ')})`];
}

async function setup(t: TestContext, what: string): Promise<string | undefined> {
  if (!requireRootless(t, what)) return undefined;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  if (!requireNoProblems(t, what, await cgroupProblems(root))) return undefined;
  return root;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('pause freezes every process of the sandbox; ps and inspect say so; exec, stop, start refuse; unpause lets it go on', async (t) => {
  const root = await setup(t, 'pause');
  if (!root) return;
  const dir = await newUserDir(t);
  t.after(async () => { await runSandbox(['rm', '-f', 'pz'], { root }); });
  const run = await runSandbox(['run', '-d', '--name', 'pz', '--pids-limit', '100', '--stop-timeout', '300', '-v', `${dir}:/w`, 'bb', 'sh', '-c',
    'i=0; while :; do i=$((i+1)); echo $i > /w/n.tmp; mv /w/n.tmp /w/n; sleep 0.05; done'], { root });
  assert.equal(run.code, 0, show(run));
  const counter = () => { try { return Number(readFileSync(join(dir, 'n'), 'utf8')); } catch { return 0; } };
  assert.equal(await eventually(() => (counter() > 3 ? '' : `counter ${counter()}`), 10_000), '');

  const pause = await runSandbox(['pause', 'pz'], { root });
  assert.equal(pause.code, 0, show(pause));
  assert.equal(pause.stdout, 'pz\n');
  const frozenAt = counter();
  await sleep(600);
  assert.equal(counter(), frozenAt, 'nothing runs while paused');

  const ps = await runSandbox(['ps', '--format', '{{.Names}}'], { root });
  assert.ok(!ps.stdout.includes('pz'), `ps without -a lists running sandboxes only, as Podman: ${ps.stdout}`);
  const psa = await runSandbox(['ps', '-a', '--format', '{{.Names}} {{.Status}} {{.State}}'], { root });
  assert.match(psa.stdout, /^pz Paused paused$/m, show(psa));
  const filtered = await runSandbox(['ps', '--filter', 'status=paused', '-q'], { root });
  assert.equal(filtered.stdout.trim().length, 12, show(filtered));
  const inspect = await runSandbox(['inspect', 'pz', '--format', '{{.State.Status}} {{.State.Running}} {{.State.Paused}}'], { root });
  assert.equal(inspect.stdout.trim(), 'paused false true', show(inspect));

  for (const [args, why, code] of [
    [['pause', 'pz'], /^sandbox: sandbox pz is already paused\nhint: /, 125],
    [['exec', 'pz', 'true'], /^sandbox: sandbox pz is paused: cannot exec in it\nhint: unpause it first/, 125],
    [['stop', 'pz'], /^sandbox: sandbox pz is paused: cannot stop it\nhint: /, 125],
    [['start', 'pz'], /^sandbox: sandbox pz is paused: cannot start it\nhint: /, 125],
    // 2: Podman's exit status for a container in the wrong state to remove.
    [['rm', 'pz'], /^sandbox: cannot remove sandbox pz: it is paused\nhint: unpause and stop it first/, 2],
  ] as const) {
    const r = await runSandbox([...args], { root });
    assert.equal(r.code, code, show(r));
    assert.match(r.stderr, why);
  }
  assert.equal(counter(), frozenAt, 'still frozen after the refusals');

  const unpause = await runSandbox(['container', 'unpause', 'pz'], { root });
  assert.equal(unpause.code, 0, show(unpause));
  assert.equal(await eventually(() => (counter() > frozenAt + 2 ? '' : `counter ${counter()}`), 10_000), '', 'it runs again');
  const exec = await runSandbox(['exec', 'pz', 'echo', 'in'], { root });
  assert.equal(exec.stdout, 'in\n', show(exec));
  const again = await runSandbox(['unpause', 'pz'], { root });
  assert.equal(again.code, 125);
  assert.match(again.stderr, /^sandbox: sandbox pz is not paused, can't unpause\n/);
  const inspect2 = await runSandbox(['inspect', 'pz', '--format', '{{.State.Status}} {{.State.Paused}}'], { root });
  assert.equal(inspect2.stdout.trim(), 'running false');

  // rm -f of a paused sandbox kills it at once (a frozen process cannot act on the stop
  // signal: waiting for its --stop-timeout 300 would outlast this test's timeout).
  assert.equal((await runSandbox(['pause', 'pz'], { root })).code, 0);
  const rm = await runSandbox(['rm', '-f', 'pz'], { root, timeoutMs: 60_000 });
  assert.equal(rm.code, 0, show(rm));
  const left = await runSandbox(['ps', '-a', '-q'], { root });
  assert.equal(left.stdout, '');
});

test('kill ends a paused sandbox; pause needs a running one; without a cgroup freezer, one line naming the fix', async (t) => {
  const root = await setup(t, 'pause');
  if (!root) return;
  t.after(async () => { await runSandbox(['rm', '-f', 'pk', 'pn'], { root }); });
  assert.equal((await runSandbox(['run', '-d', '--name', 'pk', '--pids-limit', '100', 'bb', 'sleep', '600'], { root })).code, 0);
  assert.equal((await runSandbox(['pause', 'pk'], { root })).code, 0);
  const kill = await runSandbox(['kill', 'pk'], { root });
  assert.equal(kill.code, 0, show(kill));
  const wait = await runSandbox(['wait', 'pk'], { root, timeoutMs: 30_000 });
  assert.equal(wait.stdout.trim(), '137', show(wait));
  const stopped = await runSandbox(['pause', 'pk'], { root });
  assert.equal(stopped.code, 125);
  assert.match(stopped.stderr, /^sandbox: sandbox pk is not running, can't pause\nhint: /);
  // It starts again unfrozen (the freezer let go of the killed run).
  assert.equal((await runSandbox(['start', 'pk'], { root })).code, 0);
  const exec = await runSandbox(['exec', 'pk', 'echo', 'up'], { root });
  assert.equal(exec.stdout, 'up\n', show(exec));

  // No limit: on v1 no cgroup of its own, nothing to freeze (on delegated v2 it has one: pause16.test.ts).
  assert.equal((await runSandbox(['run', '-d', '--name', 'pn', 'bb', 'sleep', '600'], { root })).code, 0);
  const d = limitsDelegation();
  if ('kind' in d && d.kind === 'v2') return;
  const none = await runSandbox(['pause', 'pn'], { root });
  assert.equal(none.code, 125, show(none));
  assert.match(none.stderr, /^sandbox: sandbox pn cannot be paused: it has no cgroup freezer of its own\nhint: .*sandbox doctor/);
  const inspect = await runSandbox(['inspect', 'pn', '--format', '{{.State.Status}}'], { root });
  assert.equal(inspect.stdout.trim(), 'running');
});
