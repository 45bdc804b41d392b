/**
 * Issue 5, item 5: at run, the image config's Entrypoint, Cmd, Env, WorkingDir, User,
 * Labels and StopSignal apply, and run flags override them as in Docker. The image is
 * made with `import --change` (the same config a pulled or loaded image carries).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { lines, newStore, requireRootless, runSandbox, show } from './harness.js';

const CHANGES = [
  'ENTRYPOINT ["/bin/sh", "-c", "echo \\"$0 $* user=$(id -u) pwd=$(pwd) greeting=$GREETING\\"", "ep"]',
  'CMD ["from-cmd"]',
  'ENV GREETING=hello-from-image',
  'WORKDIR /etc',
  'USER 1000',
  'LABEL team=images tier=base',
  'STOPSIGNAL SIGUSR1',
];

test('image config applies at run; flags override Entrypoint, Cmd, Env, WorkingDir, User, Labels, StopSignal', async (t) => {
  if (!requireRootless(t, 'image config at run')) return;
  const root = await newStore(t);
  const imp = await runSandbox(['import', ...CHANGES.flatMap((c) => ['-c', c]), await busyboxRootfsTar(), 'cfg'], { root });
  assert.equal(imp.code, 0, show(imp));

  const plain = await runSandbox(['run', '--rm', '--network', 'none', 'cfg'], { root });
  assert.equal(plain.stdout, 'ep from-cmd user=1000 pwd=/etc greeting=hello-from-image\n', show(plain));
  // Arguments replace Cmd, not Entrypoint; flags replace user, directory and variables.
  const args = await runSandbox(['run', '--rm', '--network', 'none', '-u', '0', '-w', '/tmp', '-e', 'GREETING=flag', 'cfg', 'a', 'b'], { root });
  assert.equal(args.stdout, 'ep a b user=0 pwd=/tmp greeting=flag\n', show(args));
  // --entrypoint replaces the Entrypoint and drops the image's Cmd.
  const ep = await runSandbox(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/echo', 'cfg', 'just', 'this'], { root });
  assert.equal(ep.stdout, 'just this\n', show(ep));

  // Labels: the image's, with run's --label winning for the same key.
  const made = await runSandbox(['create', '--name', 'labelled', '--label', 'tier=override', 'cfg'], { root });
  assert.equal(made.code, 0, show(made));
  const inspect = await runSandbox(['inspect', 'labelled'], { root });
  assert.match(inspect.stdout, /"team": "images"/, show(inspect));
  assert.match(inspect.stdout, /"tier": "override"/, show(inspect));

  // StopSignal: `stop` sends SIGUSR1 first, which the command traps; --stop-signal wins over it.
  const trap = 'trap "echo got-usr1; exit 0" USR1; trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.1; done';
  for (const [name, flags, expected] of [['img-signal', [], 'got-usr1'], ['flag-signal', ['--stop-signal', 'TERM'], 'got-term']] as const) {
    const d = await runSandbox(['run', '-d', '--name', name, '--network', 'none', ...flags, '--entrypoint', '/bin/sh', 'cfg', '-c', trap], { root });
    assert.equal(d.code, 0, show(d));
    for (let i = 0; i < 100; i++) {
      if ((await runSandbox(['logs', name], { root })).stdout.includes('ready')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stop = await runSandbox(['stop', '-t', '5', name], { root });
    assert.equal(stop.code, 0, show(stop));
    const logs = await runSandbox(['logs', name], { root });
    assert.deepEqual(lines(logs.stdout), ['ready', expected], show(logs));
  }
});
