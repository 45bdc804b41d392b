/**
 * Issue 18, item 2: Podman's global options before the verb reach every path of the CLI
 * (run and exec's own parsers, ps's fast path, yargs), with the effect they have: what
 * a one-line podman-lines entry cannot show (which store was used, what --noout hides).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import { importImage, newStore, newUserDir, requireRootless, runSandbox, show } from './harness.js';

test('--root and --runroot before the verb pick the store on run, exec, ps and the yargs verbs', async (t) => {
  if (!requireRootless(t, 'global options')) return;
  const other = await newStore(t); // the store every command gets from SANDBOX_ROOT
  const root = await newStore(t);
  const runroot = await newUserDir(t, 'sandbox-e2e-runroot-');
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const g = ['--log-level', 'debug', '--root', root, '--runroot', runroot];
  const run = await runSandbox([...g, 'run', '-d', '--name', 'gl', 'bb', 'sleep', '1000'], { root: other });
  assert.equal(run.code, 0, show(run));
  try {
    assert.ok(readdirSync(runroot).length > 0, 'the live state is under --runroot');
    const ps = await runSandbox([...g, 'ps', '--format', '{{.Names}} {{.Status}}'], { root: other });
    assert.equal(ps.code, 0, show(ps));
    assert.match(ps.stdout, /^gl Up/m);
    const elsewhere = await runSandbox(['ps', '-a', '-q'], { root: other });
    assert.equal(elsewhere.stdout, '', 'nothing went to the store of SANDBOX_ROOT');
    const exec = await runSandbox([...g, 'exec', 'gl', 'echo', 'in-gl'], { root: other });
    assert.equal(exec.code, 0, show(exec));
    assert.equal(exec.stdout, 'in-gl\n');
    const inspect = await runSandbox(['--debug', '--root', root, '--runroot', runroot, 'inspect', '--format', '{{.State.Status}}', 'gl'], { root: other });
    assert.equal(inspect.stdout, 'running\n', show(inspect));
    // --noout: sandbox's own output is gone, what it did is done.
    const quiet = await runSandbox(['--noout', ...g, 'stop', '-t', '0', 'gl'], { root: other });
    assert.equal(quiet.code, 0, show(quiet));
    assert.equal(quiet.stdout, '');
    const status = await runSandbox([...g, 'ps', '-a', '--format', '{{.Status}}'], { root: other });
    assert.match(status.stdout, /^Exited/m, show(status));
  } finally {
    await runSandbox([...g, 'rm', '-t', '0', '--all', '--force', '--ignore'], { root: other });
  }
  const left = await runSandbox(['--root', root, 'ps', '-a', '-q'], { root: other });
  assert.equal(left.stdout, '', 'rm --all removed it');
});

test('rm --all and stop --all act on every sandbox; one that cannot go does not stop the rest', async (t) => {
  if (!requireRootless(t, 'clean-up idioms')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  for (const n of ['c1', 'c2']) assert.equal((await runSandbox(['run', '-d', '--name', n, 'bb', 'sleep', '1000'], { root })).code, 0);
  assert.equal((await runSandbox(['create', '--name', 'c3', 'bb', 'true'], { root })).code, 0);
  try {
    // Without -f the running ones stay (each reported) and the created one goes.
    const rm = await runSandbox(['rm', '--all'], { root });
    assert.notEqual(rm.code, 0, show(rm));
    const names = (await runSandbox(['ps', '-a', '--format', '{{.Names}}'], { root })).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(names, ['c1', 'c2']);
    const stop = await runSandbox(['stop', '--all', '--timeout', '0'], { root });
    assert.equal(stop.code, 0, show(stop));
    assert.equal(stop.stdout.split('\n').filter(Boolean).length, 2);
    assert.equal((await runSandbox(['ps', '-q'], { root })).stdout, '');
  } finally {
    const rm = await runSandbox(['rm', '-t', '0', '--all', '--force', '--ignore'], { root });
    assert.equal(rm.code, 0, show(rm));
  }
  assert.equal((await runSandbox(['ps', '-a', '-q'], { root })).stdout, '');
});
