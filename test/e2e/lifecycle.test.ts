/**
 * Issue 3 (first part): detached sandboxes and their lifecycle, as the unprivileged
 * test user: run -d, ps, the log, stop, start, rm; stop of a PID 1 that ignores SIGTERM.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { eventually, importImage, newStore, requireRootless, runSandbox, sandboxIdsIn, show } from './harness.js';


function logOf(root: string, id: string): string {
  const file = join(root, 'data', 'containers', id, 'ctr.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

test('run -d, ps, log, stop, start, log again, rm: the whole cycle', async (t) => {
  if (!requireRootless(t, 'detached lifecycle')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');

  const run = await runSandbox(['run', '-d', '--name', 'svc', '--network', 'none', 'bb', 'sh', '-c',
    'echo "start $(cat /proc/uptime | cut -d. -f1)"; echo to-stderr >&2; trap "echo got-term; exit 3" TERM; while true; do sleep 0.05; done'], { root });
  assert.equal(run.code, 0, show(run));
  const id = run.stdout.trim();
  assert.match(id, /^[a-f0-9]{64}$/, 'run -d prints the full id');

  const ps = await runSandbox(['ps'], { root });
  assert.equal(ps.code, 0, show(ps));
  const row = ps.stdout.split('\n').find((l) => l.startsWith(id.slice(0, 12)));
  assert.ok(row, `ps lists the sandbox:\n${ps.stdout}`);
  assert.match(row, /\bUp\b/, row);
  assert.match(row, /\bsvc$/, row);

  const firstLog = await eventually(() => (logOf(root, id).includes('to-stderr') ? '' : `log so far: ${logOf(root, id)}`));
  assert.equal(firstLog, '');
  const log = logOf(root, id);
  assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F start \d+$/m, log);
  assert.match(log, /^\S+ stderr F to-stderr$/m, 'stderr is kept apart');

  const stop = await runSandbox(['stop', '-t', '5', 'svc'], { root });
  assert.equal(stop.code, 0, show(stop));
  assert.equal(stop.stdout, 'svc\n');
  assert.match(logOf(root, id), /stdout F got-term$/m, 'the command got SIGTERM');
  const psA = await runSandbox(['ps', '-a', '--format', 'json'], { root });
  const listed = JSON.parse(psA.stdout) as { Id: string; State: string; ExitCode: number }[];
  assert.deepEqual(listed.map((c) => [c.Id, c.State, c.ExitCode]), [[id, 'exited', 3]]);
  assert.equal((await runSandbox(['ps', '-q'], { root })).stdout, '', 'ps without -a hides exited sandboxes');

  const start = await runSandbox(['start', 'svc'], { root });
  assert.equal(start.code, 0, show(start));
  const again = await eventually(() => ((logOf(root, id).match(/stdout F start/g) ?? []).length === 2 ? '' : logOf(root, id)));
  assert.equal(again, '', 'the second start appends to the same log');
  const inspect = JSON.parse((await runSandbox(['inspect', id.slice(0, 8)], { root })).stdout) as { State: { Running: boolean; Pid: number } }[];
  assert.equal(inspect[0]?.State.Running, true);
  assert.ok((inspect[0]?.State.Pid ?? 0) > 0);

  const rmRunning = await runSandbox(['rm', 'svc'], { root });
  assert.equal(rmRunning.code, 2, 'a running sandbox is not removed without -f (exit 2, as Podman: "container state improper")');
  assert.match(rmRunning.stderr, /^sandbox: .*running.*\nhint: .*rm -f/m, show(rmRunning));
  const rm = await runSandbox(['rm', '-f', 'svc'], { root });
  assert.equal(rm.code, 0, show(rm));
  assert.deepEqual(sandboxIdsIn(root), [], 'rm removes the sandbox directory');
  assert.equal((await runSandbox(['ps', '-a', '-q'], { root })).stdout, '');
});

test('stop of a PID 1 that ignores SIGTERM returns after -t seconds with SIGKILL', async (t) => {
  if (!requireRootless(t, 'stop timeout')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '--name', 'stubborn', '--network', 'none', 'bb', 'sh', '-c', 'trap "" TERM; while true; do sleep 0.05; done'], { root });
  assert.equal(run.code, 0, show(run));
  const began = Date.now();
  const stop = await runSandbox(['stop', '-t', '1', 'stubborn'], { root });
  const took = Date.now() - began;
  assert.equal(stop.code, 0, show(stop));
  // At least the grace period, and not much more (generous for a loaded 2-core machine).
  assert.ok(took >= 1000 && took < 4000, `stop took ${took} ms`);
  const listed = JSON.parse((await runSandbox(['ps', '-a', '--format', 'json'], { root })).stdout) as { State: string; ExitCode: number }[];
  assert.deepEqual(listed.map((c) => [c.State, c.ExitCode]), [['exited', 137]]);
});

test('run -d with a missing command fails at once with 127; --rm -d leaves nothing', async (t) => {
  if (!requireRootless(t, 'detached exec failure')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const r = await runSandbox(['run', '-d', '--rm', '--network', 'none', 'bb', 'no-such-command'], { root });
  assert.equal(r.code, 127, show(r));
  assert.equal(r.stdout, '', 'no id is printed');
  assert.match(r.stderr, /^sandbox: no-such-command: command not found/m, show(r));
  assert.deepEqual(sandboxIdsIn(root), []);
});

test('a kept foreground sandbox shows its output and keeps it for logs; a --rm one leaves no log', async (t) => {
  if (!requireRootless(t, 'foreground logs')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const r = await runSandbox(['run', '--name', 'fg', '--network', 'none', 'bb', 'sh', '-c', 'echo out1; echo err1 >&2; printf unterminated; exit 3'], { root });
  assert.equal(r.code, 3, show(r));
  assert.equal(r.stdout, 'out1\nunterminated', 'the terminal gets the output as it comes, untouched');
  assert.equal(r.stderr, 'err1\n');
  const logs = await runSandbox(['logs', 'fg'], { root });
  assert.equal(logs.code, 0, show(logs));
  assert.equal(logs.stdout, 'out1\nunterminated\n', 'stdout kept, the unterminated last line as a line');
  assert.equal(logs.stderr, 'err1\n', 'stderr kept apart');
  const again = await runSandbox(['start', '-a', 'fg'], { root });
  assert.equal(again.code, 3, show(again));
  assert.equal((await runSandbox(['logs', 'fg'], { root })).stdout, 'out1\nunterminated\nout1\nunterminated\n', 'runs do not run into each other');
});
