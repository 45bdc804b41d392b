/**
 * Issue 14, item 8: `sandbox attach` (and `start -ai`), as `podman attach`: the input
 * and output of a detached sandbox through its monitor's socket, detach keys that leave
 * it running, several attachers at once, the sandbox's status as ours when it ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  SANDBOX_BIN, collect, eventually, importImage, killGroup, newStore, requireRootless, runSandbox, show,
  spawnAsUser, spawnSandbox, waitForOutput,
} from './harness.js';
import { SCRIPT, Session, marker, requireScript } from './terminal.js';

async function statusOf(root: string, name: string): Promise<string> {
  const r = await runSandbox(['inspect', '--format', '{{.State.Status}}', name], { root });
  return r.stdout.trim();
}

/** `sandbox attach ARGS` under a pseudo-terminal. */
function attachInTerminal(root: string, args: string[]): { s: Session; end: () => Promise<number | null> } {
  const child = spawnAsUser(SCRIPT!, ['-qec', `stty rows 40 cols 100; exec ${SANDBOX_BIN} attach ${args.join(' ')}`, '/dev/null'], { root, env: { TERM: 'xterm' } });
  const s = new Session(child);
  return {
    s,
    end: async () => {
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
      const code = await s.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

test('attach to run -d -it: type, see, detach with ctrl-p ctrl-q (still running), attach again, its exit status is ours', async (t) => {
  if (!requireRootless(t, 'attach') || !requireScript(t)) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '-it', '--name', 'shell', '--network', 'none', 'bb', 'sh'], { root });
  assert.equal(run.code, 0, show(run));

  const first = attachInTerminal(root, ['shell']);
  t.after(() => first.s.exited);
  const m1 = marker('ATTACHEDONE');
  first.s.type(`stty size; ${m1.cmd}\r`);
  const seen = await first.s.expect(new RegExp(`([\\s\\S]*?)${m1.re.source}`));
  assert.match(seen[1] ?? '', /^40 100\r?$/m, `the sandbox's terminal takes the attacher's size:\n${first.s.screen}`);
  first.s.type('\x10');
  await new Promise((r) => setTimeout(r, 200));
  first.s.type('\x11');
  assert.equal(await first.end(), 0, `detaching exits 0:\n${first.s.screen}`);
  assert.equal(await statusOf(root, 'shell'), 'running', 'the sandbox runs on after the detach');

  // The shell kept its state: a variable set before the detach is still there.
  const second = attachInTerminal(root, ['shell']);
  const m2 = marker('SECONDTIME');
  second.s.type(`X=kept; echo "x=$X"; ${m2.cmd}\r`);
  await second.s.expect(/x=kept\r?\n/);
  await second.s.expect(m2.re);
  second.s.type('exit 7\r');
  assert.equal(await second.end(), 7, `the sandbox's exit status comes back through attach:\n${second.s.screen}`);
  assert.equal(await statusOf(root, 'shell'), 'exited');

  const logs = await runSandbox(['logs', 'shell'], { root });
  assert.match(logs.stdout, /ATTACHEDONE/, 'what attachers saw went to the log too');
  assert.match(logs.stdout, /SECONDTIME/);
});

test('attach to run -d -i: piped stdin reaches the command, its end ends the input; stdout and stderr apart; exit status', async (t) => {
  if (!requireRootless(t, 'attach')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '-i', '--name', 'cat', '--network', 'none', 'bb', 'sh', '-c', 'cat; echo to-err >&2; exit 3'], { root });
  assert.equal(run.code, 0, show(run));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await statusOf(root, 'cat'), 'running', 'a -d -i sandbox waits for its input');

  const a = await runSandbox(['attach', 'cat'], { root, input: 'hello\nworld\n' });
  assert.equal(a.code, 3, show(a));
  assert.equal(a.stdout, 'hello\nworld\n', show(a));
  assert.equal(a.stderr, 'to-err\n', show(a));
  assert.equal(await statusOf(root, 'cat'), 'exited');

  const again = await runSandbox(['attach', 'cat'], { root });
  assert.equal(again.code, 125, show(again));
  assert.match(again.stderr, /^sandbox: you can only attach to running sandboxes: cat is exited\nhint: .*start -ai cat/, show(again));
  const none = await runSandbox(['attach', 'nosuch'], { root });
  assert.equal(none.code, 125, show(none));
});

test('two attachers at once both see the output; --no-stdin; --detach-keys detaches a piped attacher', async (t) => {
  if (!requireRootless(t, 'attach')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '-i', '--name', 'echoer', '--network', 'none', 'bb', 'sh', '-c',
    'while read l; do echo "got:$l"; done; exit 4'], { root });
  assert.equal(run.code, 0, show(run));

  const watcher = spawnSandbox(['attach', '--no-stdin', 'echoer'], { root });
  t.after(() => killGroup(watcher));
  const watched = collect(watcher, { what: 'attach --no-stdin' });
  // The watcher is joined once it sees a line; keep sending until it does.
  // Not collect(): that ends the writer's stdin at once.
  const writer = spawnSandbox(['attach', '--detach-keys', 'ctrl-a,d', 'echoer'], { root });
  t.after(() => killGroup(writer));
  let writerOut = '';
  writer.stdout?.on('data', (d: Buffer) => { writerOut += String(d); });
  const writerDone = new Promise<number | null>((r) => writer.on('close', (code) => r(code)));
  writer.stdin?.write('one\n');
  await waitForOutput(watcher, 'got:one', 10_000).catch(() => { /* joined after it: the next line shows it */ });
  writer.stdin?.write('two\n');
  await waitForOutput(watcher, 'got:two', 10_000);
  // Each attacher gets its own copy of the output: the writer's may come after the watcher's.
  assert.equal(await eventually(() => (/got:two\n/.test(writerOut) ? '' : `writer saw: ${writerOut}`), 10_000), '');
  // ctrl-a then d: the writer detaches; the sandbox and the watcher go on.
  writer.stdin?.write('\x01d');
  assert.equal(await writerDone, 0, writerOut);
  assert.match(writerOut, /got:two\n/, writerOut);
  assert.equal(await statusOf(root, 'echoer'), 'running', 'detaching leaves it running');

  // A last attacher ends the input: the loop ends, both attachers get its status.
  const last = await runSandbox(['attach', 'echoer'], { root, input: 'three\n' });
  assert.equal(last.code, 4, show(last));
  assert.match(last.stdout, /got:three\n/, show(last));
  const watcherResult = await watched;
  assert.equal(watcherResult.code, 4, show(watcherResult));
  assert.match(watcherResult.stdout, /got:two\ngot:three\n/, show(watcherResult));
});

test('attach passes signals on (--sig-proxy, the default); --sig-proxy=false keeps them', async (t) => {
  if (!requireRootless(t, 'attach')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const run = await runSandbox(['run', '-d', '--name', 'trapper', '--network', 'none', 'bb', 'sh', '-c',
    'trap "echo got-usr1" USR1; trap "echo got-term; exit 9" TERM; echo ready; while :; do echo tick; sleep 0.1; done'], { root });
  assert.equal(run.code, 0, show(run));

  const kept = spawnSandbox(['attach', '--sig-proxy=false', 'trapper'], { root });
  t.after(() => killGroup(kept));
  const keptDone = collect(kept, { what: 'attach --sig-proxy=false' });
  await waitForOutput(kept, 'tick', 10_000); // joined, its handlers set
  kept.kill('SIGTERM');
  const k = await keptDone;
  assert.notEqual(k.code, 9, show(k));
  assert.equal(await statusOf(root, 'trapper'), 'running', 'without --sig-proxy the signal ended the attacher only');

  const proxy = spawnSandbox(['attach', 'trapper'], { root });
  t.after(() => killGroup(proxy));
  const proxyDone = collect(proxy, { what: 'attach' });
  await waitForOutput(proxy, 'tick', 10_000);
  proxy.kill('SIGUSR1');
  await waitForOutput(proxy, 'got-usr1', 10_000);
  proxy.kill('SIGTERM');
  const p = await proxyDone;
  assert.equal(p.code, 9, show(p));
  assert.match(p.stdout, /got-usr1\n[\s\S]*got-term\n/, show(p));
  const status = await eventually(async () => ((await statusOf(root, 'trapper')) === 'exited' ? '' : 'still running'));
  assert.equal(status, '');
});

test('start -ai: starts a created -i sandbox joined to our stdin and output', async (t) => {
  if (!requireRootless(t, 'start -ai')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const create = await runSandbox(['create', '-i', '--name', 'later', '--network', 'none', 'bb', 'sh', '-c', 'read l; echo "read:$l"; exit 6'], { root });
  assert.equal(create.code, 0, show(create));
  const start = await runSandbox(['start', '-ai', 'later'], { root, input: 'abc\n' });
  assert.equal(start.code, 6, show(start));
  assert.equal(start.stdout, 'read:abc\n', show(start));
});

test('run -it detaches with ctrl-p ctrl-q (the sandbox runs on, attach finds it); --detach-keys "" types them through', async (t) => {
  if (!requireRootless(t, 'run -it detach') || !requireScript(t)) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const child = spawnAsUser(SCRIPT!, ['-qec', `exec ${SANDBOX_BIN} run -it --name fg --network none bb sh`, '/dev/null'], { root, env: { TERM: 'xterm' } });
  t.after(() => killGroup(child, 'SIGKILL'));
  const s = new Session(child);
  await s.expect(/# /);
  const m = marker('BEFOREDETACH');
  s.type(`Y=stays; ${m.cmd}\r`);
  await s.expect(m.re);
  s.type('\x10\x11');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
  const code = await s.exited;
  clearTimeout(timer);
  assert.equal(code, 0, `run exits 0 on detach:\n${s.screen}`);
  assert.equal(await statusOf(root, 'fg'), 'running', 'the detached sandbox runs on');

  const again = attachInTerminal(root, ['fg']);
  again.s.type('echo "y=$Y"\r');
  await again.s.expect(/y=stays\r?\n/);
  again.s.type('exit 5\r');
  assert.equal(await again.end(), 5, again.s.screen);
  const inspect = await runSandbox(['inspect', '--format', '{{.State.ExitCode}}', 'fg'], { root });
  assert.equal(inspect.stdout.trim(), '5', 'the end of a detached foreground run is recorded');

  // With no detach keys, ctrl-p ctrl-q reach the shell (ctrl-p is a key like any other).
  const noKeys = spawnAsUser(SCRIPT!, ['-qec', `exec ${SANDBOX_BIN} run --rm -it --detach-keys "" --network none bb sh`, '/dev/null'], { root, env: { TERM: 'xterm' } });
  t.after(() => killGroup(noKeys, 'SIGKILL'));
  const n = new Session(noKeys);
  await n.expect(/# /);
  n.type('\x10\x11');
  const m2 = marker('STILLHERE');
  n.type(`\x15${m2.cmd}\r`); // ctrl-u: a clean line first
  await n.expect(m2.re);
  n.type('exit 3\r');
  assert.equal(await n.exited, 3, n.screen);
});

test('run --sig-proxy=false: a signal to `sandbox run` detaches it (the sandbox runs on); the default passes it on', async (t) => {
  if (!requireRootless(t, 'run --sig-proxy')) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const script = 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done';
  const kept = spawnSandbox(['run', '--sig-proxy=false', '--name', 'kept', '--network', 'none', 'bb', 'sh', '-c', script], { root });
  t.after(() => killGroup(kept));
  const keptDone = collect(kept, { what: 'run --sig-proxy=false' });
  await waitForOutput(kept, 'ready', 15_000);
  kept.kill('SIGTERM');
  const k = await keptDone;
  assert.equal(k.code, 0, show(k));
  assert.doesNotMatch(k.stdout, /got-term/, show(k));
  assert.equal(await statusOf(root, 'kept'), 'running', 'the signal did not reach the sandbox');
  const stop = await runSandbox(['stop', 'kept'], { root });
  assert.equal(stop.code, 0, show(stop));
  const logs = await runSandbox(['logs', 'kept'], { root });
  assert.match(logs.stdout, /got-term/, 'stop reaches it as usual');

  const proxied = spawnSandbox(['run', '--rm', '--network', 'none', 'bb', 'sh', '-c', script], { root });
  t.after(() => killGroup(proxied));
  const proxiedDone = collect(proxied, { what: 'run' });
  await waitForOutput(proxied, 'ready', 15_000);
  proxied.kill('SIGTERM');
  const p = await proxiedDone;
  assert.equal(p.code, 7, show(p));
  assert.match(p.stdout, /got-term/);
});
