/**
 * A terminal for e2e tests: the CLI under a real pseudo-terminal made by util-linux
 * `script`, typed into and read from as a person would (tty.test.ts, attach.test.ts).
 */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { underCI } from './harness.js';

export const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

/** A terminal session: what was printed so far, and a cursor past what was already matched. */
export class Session {
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
export function marker(word: string): { cmd: string; re: RegExp } {
  const half = Math.ceil(word.length / 2);
  return { cmd: `echo ${word.slice(0, half)}''${word.slice(half)}`, re: new RegExp(`(?:^|\\n)${word}\\r?\\n`) };
}

export function requireScript(t: TestContext): boolean {
  if (SCRIPT) return true;
  const reason = 'util-linux `script` is missing (apt-get install bsdutils): no pseudo-terminal to test -t with';
  if (underCI()) throw new Error(`CI is set, so this is a failure, not a skip: ${reason}`);
  t.skip(reason);
  return false;
}
