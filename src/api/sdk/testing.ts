/**
 * `sandbox/testing`: sandboxes for node:test, one per test or one per suite, removed when
 * the test (or suite) ends, whether it passed, failed, timed out or was cancelled.
 *
 *   import { test } from 'node:test';
 *   import { withSandbox } from 'sandbox/testing';
 *
 *   test('sees its own files only', async (t) => {
 *     const box = await withSandbox(t, { image: 'host', command: ['sleep', 'infinity'] });
 *     await box.writeFile('/tmp/x', 'mine');
 *   });
 *
 *   describe('a database', () => {
 *     const db = sandboxFixture({ image: 'db', ports: [5432], waitFor: Wait.forListeningPort(5432) });
 *     it('answers', async () => { db.sandbox.mappedPort(5432); ... });
 *   });
 *
 * node:test runs `t.after` hooks when a test fails or times out, but a timed-out test's
 * body goes on running: a `Sandbox.start` still under way then finishes after the hooks
 * ran. So the fixture remembers that its test ended and removes such a late sandbox at
 * once. A SIGKILLed runner is the lifeline's business (sandboxes die with their starter).
 *
 * Its own entry point (dist/testing.cjs), so the library's main bundle never loads node:test.
 */
import { after, afterEach, before, beforeEach, type TestContext } from 'node:test';
import { SandboxError } from '../../errors.js';
import { Sandbox, type SandboxStartOptions } from './sandbox.js';

/** The part of a node:test context withSandbox uses (a TestContext, or anything shaped so). */
export type SandboxTestContext = Pick<TestContext, 'after'> & { readonly signal?: AbortSignal; readonly name?: string };

/** Labels every sandbox of the helper gets, so a leftover can be traced to its test. */
function testLabels(name: string | undefined): Record<string, string> {
  return name ? { 'sandbox.test': name.slice(0, 200) } : {};
}

/**
 * One owner of sandboxes that come and go with a test or a suite: `start` makes one,
 * `end` removes all it made; one started after `end` is removed as soon as it exists.
 */
class Lifetime {
  private readonly boxes = new Set<Sandbox>();
  private ended = false;

  async start(options: SandboxStartOptions, name: string | undefined): Promise<Sandbox> {
    if (this.ended) throw new SandboxError('the test has already ended: no sandbox is started for it', { code: 'invalid-option' });
    const box = await Sandbox.start({ ...options, labels: { ...testLabels(name), ...options.labels } });
    if (this.ended) {
      await box.dispose();
      throw new SandboxError(`the test ended while its sandbox ${box.name} was starting: removed it`, { code: 'invalid-option' });
    }
    this.boxes.add(box);
    return box;
  }

  /** Removes every sandbox; the first error is thrown after all were tried. */
  async end(): Promise<void> {
    this.ended = true;
    const results = await Promise.allSettled([...this.boxes].map((b) => b.dispose()));
    this.boxes.clear();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** For fixtures reused by the next test: open again. */
  reopen(): void {
    this.ended = false;
  }
}

const lifetimes = new WeakMap<object, Lifetime>();

/**
 * Starts a sandbox for the test `t` (`Sandbox.start(options)`) and removes it when the test
 * ends: after it, whatever its outcome; at once when the test is cancelled or times out
 * (its `signal`). Several calls in one test give several sandboxes, all removed at its end.
 */
export async function withSandbox(t: SandboxTestContext, options: SandboxStartOptions): Promise<Sandbox> {
  let life = lifetimes.get(t);
  if (!life) {
    const l = new Lifetime();
    life = l;
    lifetimes.set(t, l);
    t.after(() => l.end());
    // A timed-out or cancelled test: its `after` hooks run too, but only when the test's
    // body lets go; its signal says so at once.
    t.signal?.addEventListener('abort', () => { l.end().catch(() => { /* the after hook reports it */ }); }, { once: true });
  }
  return life.start(options, t.name);
}

/** What sandboxFixture gives: the sandbox of the running test or suite. */
export interface SandboxFixture {
  /** The sandbox; an error outside the tests of the suite that made the fixture. */
  readonly sandbox: Sandbox;
}

/**
 * A sandbox for each test of the suite (describe block) it is called in, or one for the
 * whole suite with `{ per: 'suite' }`: started in a `beforeEach` (`before`), removed in
 * an `afterEach` (`after`), through node:test's hooks, which also run when a test fails.
 */
export function sandboxFixture(options: SandboxStartOptions, fixture: { per?: 'test' | 'suite' } = {}): SandboxFixture {
  const life = new Lifetime();
  let current: Sandbox | undefined;
  const up = async (): Promise<void> => {
    life.reopen();
    current = await life.start(options, undefined);
  };
  const down = async (): Promise<void> => {
    current = undefined;
    await life.end();
  };
  if (fixture.per === 'suite') {
    before(up);
    after(down);
  } else {
    beforeEach(up);
    afterEach(down);
  }
  return {
    get sandbox(): Sandbox {
      if (!current) {
        throw new SandboxError('no sandbox here: sandboxFixture gives one inside the tests of the suite it was called in', {
          code: 'invalid-option',
          hint: 'call sandboxFixture() inside describe(), and use .sandbox inside its tests',
        });
      }
      return current;
    },
  };
}

export { Sandbox, type SandboxStartOptions } from './sandbox.js';
export { Wait } from './wait.js';
