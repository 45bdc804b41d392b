/**
 * Issue 4: `sandbox exec` into a running sandbox, as the unprivileged test user: the
 * sandbox's environment (and -e over it), user (and -u), working directory (and -w, which
 * must exist), exit codes, the same files and processes as the main command, -i, -d, an
 * exec'd process dying with the sandbox, and exec into a stopped or missing one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  collect, eventually, importImage, lines, newStore, requireRootless, runSandbox, show, spawnSandbox,
} from './harness.js';

/** Host pids whose command line is exactly `argv` (we run as root, or as their owner). */
function hostPids(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8') === want) out.push(Number(e));
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

/** A one-line error: `sandbox: ...`, optionally followed by one `hint: ...` line. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const l = lines(stderr);
  assert.ok(l.length >= 1 && l.length <= 2, `one line (plus a hint):\n${stderr}`);
  assert.match(l[0]!, /^sandbox: /, stderr);
  assert.match(l[0]!, pattern, stderr);
  if (l[1] !== undefined) assert.match(l[1], /^hint: /, stderr);
}

test('exec into a running sandbox: env, user, cwd, exit codes, files, processes, -i, -d; dies with it', async (t) => {
  if (!requireRootless(t, 'exec')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  t.after(async () => { await runSandbox(['rm', '-f', 'box'], { root }); });

  const run = await runSandbox(['run', '-d', '--name', 'box', '--network', 'none', '-e', 'FOO=from-run', '-e', 'KEEP=kept',
    '-u', 'app', '-w', '/home/app', 'bb', 'sh', '-c', 'echo main-was-here > /tmp/marker; exec sleep 600'], { root });
  assert.equal(run.code, 0, show(run));
  const exec = (args: string[], input?: string) => runSandbox(['exec', ...args], { root, ...(input !== undefined ? { input } : {}) });

  await t.test('the environment set at run, and -e over it', async () => {
    const r = await exec(['box', 'sh', '-c', 'echo "$FOO $KEEP"']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'from-run kept\n');
    const o = await exec(['-e', 'FOO=overridden', '-e', 'NEW=1', 'box', 'sh', '-c', 'echo "$FOO $KEEP $NEW"']);
    assert.equal(o.code, 0, show(o));
    assert.equal(o.stdout, 'overridden kept 1\n');
  });

  await t.test('the user of run -u by default; -u 0 is root', async () => {
    const r = await exec(['box', 'sh', '-c', 'echo "$(id -u) $(id -un)"']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, '1000 app\n');
    const root0 = await exec(['-u', '0', 'box', 'id', '-u']);
    assert.equal(root0.code, 0, show(root0));
    assert.equal(root0.stdout, '0\n');
  });

  await t.test('the working directory of run -w by default; -w DIR; a missing -w is an error', async () => {
    const r = await exec(['box', 'pwd']);
    assert.equal(r.stdout, '/home/app\n', show(r));
    const w = await exec(['-w', '/tmp', 'box', 'pwd']);
    assert.equal(w.stdout, '/tmp\n', show(w));
    const missing = await exec(['-w', '/missing', 'box', 'pwd']);
    assert.equal(missing.code, 125, show(missing));
    assert.equal(missing.stdout, '', 'the command did not run');
    assertOneLineError(missing.stderr, /\/missing/);
    assert.match(missing.stderr, /^hint: /m, 'with a hint');
  });

  await t.test("exit codes: the command's own, 127, 126, 125", async () => {
    assert.equal((await exec(['box', 'sh', '-c', 'exit 7'])).code, 7);
    const notFound = await exec(['box', 'no-such-command']);
    assert.equal(notFound.code, 127, show(notFound));
    assertOneLineError(notFound.stderr, /no-such-command/);
    const notExec = await exec(['box', '/etc/passwd']);
    assert.equal(notExec.code, 126, show(notExec));
    assertOneLineError(notExec.stderr, /\/etc\/passwd/);
    const noBox = await exec(['nosuchbox', 'true']);
    assert.equal(noBox.code, 125, show(noBox));
    assertOneLineError(noBox.stderr, /nosuchbox/);
  });

  await t.test('the same files and processes as the main command', async () => {
    const wrong = await eventually(async () => {
      const r = await exec(['box', 'cat', '/tmp/marker']);
      return r.stdout === 'main-was-here\n' ? '' : show(r);
    });
    assert.equal(wrong, '', 'exec reads the file the main command wrote');
    const w = await exec(['box', 'sh', '-c', 'echo from-exec > /tmp/x']);
    assert.equal(w.code, 0, show(w));
    assert.equal((await exec(['box', 'cat', '/tmp/x'])).stdout, 'from-exec\n', 'and a second exec reads what the first wrote');
    const ps = await exec(['box', 'ps', '-o', 'pid,args']);
    assert.equal(ps.code, 0, show(ps));
    assert.match(ps.stdout, /^\s*2\s+sleep 600$/m, `ps shows the main command as PID 2 (init is 1):\n${ps.stdout}`);
  });

  await t.test('-i passes stdin; without it stdin is empty', async () => {
    const i = await exec(['-i', 'box', 'cat'], 'piped in\n');
    assert.equal(i.code, 0, show(i));
    assert.equal(i.stdout, 'piped in\n');
    const noI = await exec(['box', 'cat'], 'not passed\n');
    assert.equal(noI.code, 0, show(noI));
    assert.equal(noI.stdout, '');
  });

  await t.test('-d returns at once and its command runs', async () => {
    const d = await exec(['-d', 'box', 'sh', '-c', 'sleep 1; echo detached-done > /tmp/d']);
    assert.equal(d.code, 0, show(d));
    assert.ok(d.ms < 1000, `exec -d returned after ${d.ms} ms, before its command ended`);
    const wrong = await eventually(async () => {
      const r = await exec(['box', 'cat', '/tmp/d']);
      return r.stdout === 'detached-done\n' ? '' : show(r);
    }, 10_000, 200);
    assert.equal(wrong, '');
  });

  await t.test("an exec'd process dies when the sandbox is stopped; exec into it then fails with 125", async () => {
    const fg = spawnSandbox(['exec', 'box', 'sleep', '4321'], { root });
    const done = collect(fg, { timeoutMs: 30_000, what: 'exec box sleep 4321' });
    const d = await exec(['-d', 'box', 'sleep', '4322']);
    assert.equal(d.code, 0, show(d));
    const started = await eventually(() => (hostPids(['sleep', '4321']).length && hostPids(['sleep', '4322']).length ? '' : 'not yet'));
    assert.equal(started, '', "both exec'd sleeps run");
    const stop = await runSandbox(['stop', '-t', '1', 'box'], { root });
    assert.equal(stop.code, 0, show(stop));
    const gone = await eventually(() => {
      const left = [...hostPids(['sleep', '4321']), ...hostPids(['sleep', '4322'])];
      return left.length ? `still running: ${left.join(' ')}` : '';
    });
    assert.equal(gone, '', "the exec'd processes died with the sandbox");
    const fgResult = await done;
    assert.notEqual(fgResult.code, 0, `the foreground exec ended with its killed command: ${show(fgResult)}`);

    const after = await exec(['box', 'true']);
    assert.equal(after.code, 125, show(after));
    assertOneLineError(after.stderr, /not running/);
  });
});
