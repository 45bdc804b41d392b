/**
 * Issue 4: `sandbox exec` into a running sandbox, as the unprivileged test user: the
 * sandbox's environment (and -e over it), user (and -u), working directory (and -w, which
 * must exist), exit codes, the same files and processes as the main command, -i, -d, an
 * exec'd process dying with the sandbox, and exec into a stopped or missing one.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { busyboxRootfsTar } from './fixtures.js';
import {
  SANDBOX_BIN, collect, eventually, importImage, killGroup, lines, newStore, requireNoProblems, requireRootless, runSandbox,
  show, spawnAsUser, spawnSandbox,
} from './harness.js';

const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

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

/** What a child printed so far (stdout and stderr), and a wait for a pattern in it. */
function screen(child: ChildProcess): { text: () => string; expect: (re: RegExp, ms?: number) => Promise<RegExpExecArray> } {
  let out = '';
  let wake: Array<() => void> = [];
  const onData = (d: Buffer) => { out += String(d); for (const w of wake.splice(0)) w(); };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.on('close', () => { for (const w of wake.splice(0)) w(); });
  return {
    text: () => out,
    expect: async (re, ms = 15_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (Date.now() >= deadline || child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`no ${re} within ${ms} ms; the screen:\n${JSON.stringify(out)}`);
        }
        await new Promise<void>((r) => { const t = setTimeout(r, 200); wake.push(() => { clearTimeout(t); r(); }); });
      }
    },
  };
}

async function runningBox(t: TestContext, extra: string[] = []): Promise<string> {
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  t.after(async () => { await runSandbox(['rm', '-f', 'box'], { root }); });
  const run = await runSandbox(['run', '-d', '--name', 'box', '--network', 'none', ...extra, 'bb', 'sleep', '600'], { root });
  assert.equal(run.code, 0, show(run));
  return root;
}

test('exec -it: a terminal of the outer size; Ctrl-C reaches the command; the exit code comes back; -t alone', async (t) => {
  const noScript = SCRIPT ? [] : ['util-linux `script` is missing (apt-get install bsdutils): no pseudo-terminal'];
  if (!requireRootless(t, 'exec -it') || !requireNoProblems(t, 'exec -it', noScript)) return;
  const root = await runningBox(t);
  const inner = `stty rows 21 cols 77; exec ${SANDBOX_BIN} exec -it box sh`;
  const child = spawnAsUser(SCRIPT!, ['-qec', inner, '/dev/null'], { root, env: { TERM: 'xterm' } });
  t.after(() => killGroup(child, 'SIGKILL'));
  const s = screen(child);
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await s.expect(/# /);
  // `echo A''B` prints AB; the terminal's echo of the typed line shows A''B.
  child.stdin?.write("tty; stty size; echo \"term=$TERM\"; echo FIRST''DONE\r");
  const first = await s.expect(/([\s\S]*?)\nFIRSTDONE\r?\n/);
  assert.match(first[1] ?? '', /^\/dev\/pts\/\d+\r?$/m, `tty names a pty of the sandbox:\n${s.text()}`);
  assert.match(first[1] ?? '', /^21 77\r?$/m, `the outer terminal's size:\n${s.text()}`);
  assert.match(first[1] ?? '', /^term=xterm\r?$/m, `TERM is set for -t:\n${s.text()}`);

  child.stdin?.write("echo SLEEP''ING; sleep 100\r");
  await s.expect(/\nSLEEPING\r?\n/);
  await new Promise((r) => setTimeout(r, 300));
  const sentAt = Date.now();
  child.stdin?.write('\x03');
  child.stdin?.write("echo \"status=$?\"; echo ALI''VE\r");
  const after = await s.expect(/\nSLEEPING\r?\n([\s\S]*?)\nALIVE\r?\n/, 20_000);
  assert.ok(Date.now() - sentAt < 10_000, 'the sleep was interrupted, not waited out');
  assert.match(after[1] ?? '', /^status=130\r?$/m, `the interrupted sleep's status:\n${s.text()}`);

  child.stdin?.write('exit 7\r');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 7, `exit 7 comes back through exec and script:\n${s.text()}`);

  // -t without -i: a terminal all the same, and the command's status.
  const tOnly = spawnAsUser(SCRIPT!, ['-qec', `${SANDBOX_BIN} exec -t box sh -c 'tty; exit 3'`, '/dev/null'], { root });
  t.after(() => killGroup(tOnly, 'SIGKILL'));
  const r = await collect(tOnly, { timeoutMs: 30_000, what: 'exec -t' });
  assert.equal(r.code, 3, show(r));
  assert.match(r.stdout, /^\/dev\/pts\/\d+\r?$/m, show(r));
});

test("exec passes the CLI's signals on; when the CLI is killed, its command dies too", async (t) => {
  if (!requireRootless(t, 'exec signals')) return;
  const root = await runningBox(t);
  // SIGTERM to the CLI reaches the command (a shell that reports it), and its status comes back.
  const trap = "trap 'echo got-term; exit 42' TERM; while :; do sleep 0.1; done";
  const term = spawnSandbox(['exec', 'box', 'sh', '-c', trap], { root });
  const termDone = collect(term, { timeoutMs: 30_000, what: 'exec with a TERM trap' });
  const ready = await eventually(() => (hostPids(['sh', '-c', trap]).length ? '' : 'not yet'));
  assert.equal(ready, '', 'the trapping shell runs');
  await new Promise((r) => setTimeout(r, 200)); // past its `trap`
  process.kill(term.pid!, 'SIGTERM');
  const r = await termDone;
  assert.equal(r.code, 42, show(r));
  assert.match(r.stdout, /got-term/, show(r));

  // SIGKILL to the CLI: nothing is left to pass signals on, so the command goes with it.
  const fg = spawnSandbox(['exec', 'box', 'sleep', '4323'], { root });
  const fgDone = collect(fg, { timeoutMs: 30_000, what: 'exec box sleep 4323' });
  const started = await eventually(() => (hostPids(['sleep', '4323']).length ? '' : 'not yet'));
  assert.equal(started, '', "the exec'd sleep runs");
  process.kill(fg.pid!, 'SIGKILL');
  await fgDone;
  const gone = await eventually(() => (hostPids(['sleep', '4323']).length ? 'still running' : ''));
  assert.equal(gone, '', "the exec'd sleep died with the killed CLI");
  const alive = await runSandbox(['exec', 'box', 'true'], { root });
  assert.equal(alive.code, 0, `the sandbox itself goes on: ${show(alive)}`);
});

test('exec into a --network host sandbox, into one recorded before records kept the image config, not into one whose monitor died', async (t) => {
  if (!requireRootless(t, 'exec')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  t.after(async () => { await runSandbox(['rm', '-f', 'hostnet', 'old'], { root }); });

  const host = await runSandbox(['run', '-d', '--name', 'hostnet', '--network', 'host', 'bb', 'sleep', '600'], { root });
  assert.equal(host.code, 0, show(host));
  const h = await runSandbox(['exec', 'hostnet', 'sh', '-c', 'echo "$HOSTNAME"; ls /sys/class/net | grep -c .'], { root });
  assert.equal(h.code, 0, show(h));
  assert.match(h.stdout, /^[0-9a-f]{12}\n/, show(h));

  const imported = await runSandbox(['import', '-c', 'ENV FROM_IMAGE=yes', '-c', 'WORKDIR /tmp', '-c', 'USER app', await busyboxRootfsTar(), 'bbcfg'], { root });
  assert.equal(imported.code, 0, show(imported));
  const old = await runSandbox(['run', '-d', '--name', 'old', '--network', 'none', 'bbcfg', 'sleep', '600'], { root });
  assert.equal(old.code, 0, show(old));
  const file = join(root, 'data', 'containers', old.stdout.trim(), 'container.json');
  const record = JSON.parse(readFileSync(file, 'utf8')) as { imageConfig?: unknown };
  assert.ok(record.imageConfig, 'a new record keeps the image config');
  delete record.imageConfig;
  writeFileSync(file, JSON.stringify(record, null, 2));
  const o = await runSandbox(['exec', 'old', 'sh', '-c', 'echo "$(id -un) $(pwd) $FROM_IMAGE"'], { root });
  assert.equal(o.code, 0, show(o));
  assert.equal(o.stdout, 'app /tmp yes\n', `the user, working directory and environment of the image: ${show(o)}`);

  // A sandbox whose monitor was killed (its record still says running) is not exec'd into.
  const monitorPid = (JSON.parse(readFileSync(file, 'utf8')) as { state: { monitorPid: number } }).state.monitorPid;
  process.kill(monitorPid, 'SIGKILL');
  const dead = await eventually(async () => {
    const r = await runSandbox(['exec', 'old', 'true'], { root });
    return r.code === 125 && /not running/.test(r.stderr) ? '' : show(r);
  });
  assert.equal(dead, '', 'exec into a sandbox whose monitor died fails with 125');
});
