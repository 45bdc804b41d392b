/**
 * Issue 16, --ulimit: the limits the command and exec'd commands see, the refusals, inspect,
 * and RLIMIT_NPROC counted per user namespace: a fork loop under --ulimit nproc=30 stops at
 * the limit even though the same user has more than 30 processes outside.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { asUser, importImage, killGroup, newStore, requireRootless, runSandbox, show, spawnAsUser } from './harness.js';
import { parseHardLimits } from '../../src/runtime/rlimits.js';

test('--ulimit: the command and exec\'d ones see the limits, inspect shows them, impossible ones are one line', async (t) => {
  if (!requireRootless(t, '--ulimit')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  t.after(async () => { await runSandbox(['rm', '-f', 'ul'], { root }); });

  const once = await runSandbox(['run', '--rm', '--ulimit', 'nofile=100:200', '--ulimit', 'nproc=50', '--ulimit', 'core=0', 'bb', 'sh', '-c',
    'echo $(ulimit -n) $(ulimit -Hn) $(ulimit -u) $(ulimit -Hu) $(ulimit -c)'], { root });
  assert.equal(once.code, 0, show(once));
  assert.equal(once.stdout.trim(), '100 200 50 50 0');

  const run = await runSandbox(['run', '-d', '--name', 'ul', '--ulimit', 'nofile=64:128', 'bb', 'sleep', '600'], { root });
  assert.equal(run.code, 0, show(run));
  const exec = await runSandbox(['exec', 'ul', 'sh', '-c', 'echo $(ulimit -n) $(ulimit -Hn)'], { root });
  assert.equal(exec.code, 0, show(exec));
  assert.equal(exec.stdout.trim(), '64 128', 'an exec\'d command lives under the sandbox\'s limits');
  const asApp = await runSandbox(['exec', '-u', '1000', 'ul', 'sh', '-c', 'echo $(ulimit -n)'], { root });
  assert.equal(asApp.stdout.trim(), '64', show(asApp));
  const inspect = await runSandbox(['inspect', 'ul', '--format', '{{json .HostConfig.Ulimits}}'], { root });
  assert.deepEqual(JSON.parse(inspect.stdout), [{ Name: 'RLIMIT_NOFILE', Soft: 64, Hard: 128 }]);
  // A restart keeps them (the record does).
  assert.equal((await runSandbox(['restart', '-t', '0', 'ul'], { root })).code, 0);
  const again = await runSandbox(['exec', 'ul', 'sh', '-c', 'ulimit -Hn'], { root });
  assert.equal(again.stdout.trim(), '128', show(again));

  // -1: as high as the caller may go, their own hard limit.
  const mine = parseHardLimits((await asUser('cat', ['/proc/self/limits'])).stdout).get('nofile')!;
  const max = await runSandbox(['run', '--rm', '--ulimit', 'nofile=-1', 'bb', 'sh', '-c', 'echo $(ulimit -n) $(ulimit -Hn)'], { root });
  assert.equal(max.stdout.trim(), `${mine} ${mine}`, show(max));

  for (const [spec, why] of [
    [`nofile=10:${mine + 1}`, new RegExp(`^sandbox: --ulimit nofile=10:${mine + 1}: ${mine + 1} is above your own hard limit for nofile \\(${mine}\\)`)],
    ['nofile=20:10', /^sandbox: invalid --ulimit "nofile=20:10": the soft limit 20 is above the hard limit 10/],
    ['files=10', /^sandbox: invalid --ulimit "files=10": unknown limit "files"/],
  ] as const) {
    const r = await runSandbox(['run', '--rm', '--ulimit', spec, 'bb', 'true'], { root });
    assert.equal(r.code, 125, show(r));
    assert.match(r.stderr, why);
    assert.match(r.stderr, /\nhint: /);
    assert.equal(r.stderr.trim().split('\n').length, 2, show(r));
  }
  const ps = await runSandbox(['ps', '-a', '-q'], { root });
  assert.equal(ps.stdout.trim().split('\n').length, 1, 'nothing refused was created');
});

test('--ulimit nproc=30: a fork loop stops at the limit, counted per user namespace (the user has 40 processes outside)', async (t) => {
  if (!requireRootless(t, '--ulimit nproc')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const outside = spawnAsUser('sh', ['-c', 'for i in $(seq 40); do sleep 120 & done; echo started; wait']);
  t.after(() => killGroup(outside));
  await new Promise<void>((resolve) => outside.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('started')) resolve(); }));
  const mine = await asUser('sh', ['-c', 'ps -u "$(id -u)" -o pid= | wc -l']);
  assert.ok(Number(mine.stdout.trim()) > 40, `the user has more than 40 processes outside: ${mine.stdout}`);

  // The inner shell forks (200 at most, should the limit not hold) until fork fails (EAGAIN) and it gives up; the outer one counts with builtins only.
  const r = await runSandbox(['run', '--rm', '--ulimit', 'nproc=30', 'bb', 'sh', '-c',
    'sh -c "i=0; while [ \\$i -lt 200 ]; do sleep 60 & i=\\$((i+1)); done" 2>/dev/null; n=0; all=0; for p in /proc/[0-9]*; do all=$((all+1)); read c < $p/comm && [ "$c" = sleep ] && n=$((n+1)); done; echo $n $all'], { root, timeoutMs: 60_000 });
  assert.equal(r.code, 0, show(r));
  // Counted: the init, the shell, the sleeps (a few may not have reached their exec yet).
  const [sleeps, all] = r.stdout.trim().split(' ').map(Number);
  assert.ok(all! <= 30, `at most 30 processes inside: ${r.stdout}`);
  assert.ok(all! >= 27 && sleeps! > 0, `the loop got up to the limit, not stopped by the user's processes outside: ${r.stdout}`);
});
