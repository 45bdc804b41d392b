/**
 * Issue 2, item 5: `sandbox run -it` gives a usable terminal. The CLI runs under a real
 * pseudo-terminal made by util-linux `script`, as the unprivileged test user; we type into
 * it and read the screen, as a person would.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { busyboxRootfsTar } from './fixtures.js';
import {
  SANDBOX_BIN, importImage, killGroup, newStore, requireRootless, spawnAsUser, underCI,
} from './harness.js';

const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

/** A terminal session: what was printed so far, and a cursor past what was already matched. */
class Session {
  private out = '';
  private mark = 0;
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(private readonly child: ChildProcess) {
    const onData = (d: Buffer) => {
      this.out += String(d);
      for (const w of this.waiters.splice(0)) w();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.stdin?.on('error', () => { /* the session may be gone */ });
    this.exited = new Promise((resolvePromise) => child.on('close', (code) => {
      for (const w of this.waiters.splice(0)) w();
      resolvePromise(code);
    }));
  }

  type(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Waits until the output after the cursor matches; moves the cursor past the match. */
  async expect(re: RegExp, ms = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.out.slice(this.mark));
      if (m) {
        this.mark += m.index + m[0].length;
        return m;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`terminal: no ${re} within ${ms} ms; screen after the cursor:\n${JSON.stringify(this.out.slice(this.mark))}\nwhole screen:\n${this.out}`);
      }
      await new Promise<void>((resolvePromise) => {
        const timer = setTimeout(resolvePromise, left);
        this.waiters.push(() => { clearTimeout(timer); resolvePromise(); });
      });
    }
  }

  get screen(): string {
    return this.out;
  }
}

/**
 * `echo A''B` prints AB, while the terminal's echo of the typed line shows A''B: a marker
 * that matches only the command's output.
 */
function marker(word: string): { cmd: string; re: RegExp } {
  const half = Math.ceil(word.length / 2);
  return { cmd: `echo ${word.slice(0, half)}''${word.slice(half)}`, re: new RegExp(`(?:^|\\n)${word}\\r?\\n`) };
}

function requireScript(t: TestContext): boolean {
  if (SCRIPT) return true;
  const reason = 'util-linux `script` is missing (apt-get install bsdutils): no pseudo-terminal to test -t with';
  if (underCI()) throw new Error(`CI is set, so this is a failure, not a skip: ${reason}`);
  t.skip(reason);
  return false;
}

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
