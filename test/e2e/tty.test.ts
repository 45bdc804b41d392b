/**
 * Issue 2, item 5: `sandbox run -it` gives a usable terminal. The CLI runs under a real
 * pseudo-terminal made by util-linux `script`, as the unprivileged test user; we type into
 * it and read the screen, as a person would.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busyboxRootfsTar } from './fixtures.js';
import {
  SANDBOX_BIN, importImage, killGroup, newStore, requireRootless, spawnAsUser,
} from './harness.js';
import { SCRIPT, Session, marker, requireScript } from './terminal.js';

test('run --rm -it: a usable terminal; Ctrl-C reaches the sandboxed command, not the CLI; the exit code comes back', async (t) => {
  if (!requireRootless(t, 'run -it') || !requireScript(t)) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');

  // The outer terminal gets a known size, which the sandbox's terminal must take over.
  const inner = `stty rows 33 cols 111; exec ${SANDBOX_BIN} run --rm -it --network none bb sh`;
  const child = spawnAsUser(SCRIPT!, ['-qec', inner, '/dev/null'], { root, env: { TERM: 'xterm' } });
  t.after(() => killGroup(child, 'SIGKILL'));
  const s = new Session(child);

  await s.expect(/# /); // the shell's prompt
  const m1 = marker('FIRSTDONE');
  s.type(`tty; stty size; ${m1.cmd}\r`);
  const first = await s.expect(new RegExp(`([\\s\\S]*?)${m1.re.source}`));
  assert.match(first[1] ?? '', /^\/dev\/pts\/0\r?$/m, `tty names the sandbox's own pty:\n${s.screen}`);
  assert.match(first[1] ?? '', /^33 111\r?$/m, `stty size shows the outer terminal's size:\n${s.screen}`);

  // Ctrl-C while `sleep 100` runs: the sleep dies (status 130), the shell and the CLI stay.
  const m2 = marker('SLEEPING');
  s.type(`${m2.cmd}; sleep 100\r`);
  await s.expect(m2.re);
  await new Promise((r) => setTimeout(r, 300)); // let the shell start sleep
  const sentAt = Date.now();
  s.type('\x03');
  const m3 = marker('ALIVE');
  s.type(`echo "status=$?"; ${m3.cmd}\r`);
  const after = await s.expect(new RegExp(`([\\s\\S]*?)${m3.re.source}`), 20_000);
  assert.ok(Date.now() - sentAt < 10_000, 'the sleep was interrupted, not waited out');
  assert.match(after[1] ?? '', /^status=130\r?$/m, `the interrupted sleep's status:\n${s.screen}`);

  s.type('exit 7\r');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 20_000);
  const code = await s.exited;
  clearTimeout(timer);
  assert.equal(code, 7, `exit 7 comes back through sandbox run and script:\n${s.screen}`);
});

test('run --rm without -t: no terminal inside, even when the CLI has one', async (t) => {
  if (!requireRootless(t, 'run without -t') || !requireScript(t)) return;
  const root = await newStore(t);
  await importImage(root, await busyboxRootfsTar(), 'bb');
  const inner = `${SANDBOX_BIN} run --rm --network none bb sh -c 'tty; echo "status=$?"'`;
  const child = spawnAsUser(SCRIPT!, ['-qec', inner, '/dev/null'], { root });
  t.after(() => killGroup(child, 'SIGKILL'));
  const s = new Session(child);
  await s.expect(/status=\d+/);
  const code = await s.exited;
  assert.equal(code, 0, s.screen);
  assert.match(s.screen, /not a tty/, s.screen);
  assert.match(s.screen, /status=1/, s.screen);
});
