// @ts-check
// node:test with `sandbox/testing`: every test gets a sandbox of its own (withSandbox), a
// suite can share one (sandboxFixture); each is removed when its test or suite ends, also
// when a test fails or times out. Run: npm test
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { Wait } from 'sandbox';
import { sandboxFixture, withSandbox } from 'sandbox/testing';

/** The host's own directories, read-only, under a private writable layer: no image needed. */
const image = 'host';

describe('a sandbox per test', { concurrency: 4 }, () => {
  for (const n of [1, 2, 3, 4]) {
    it(`test ${n} sees its own writes only`, async (t) => {
      const box = await withSandbox(t, { image, command: ['sleep', 'infinity'], network: 'none' });
      // What another test wrote is not here...
      assert.equal((await box.exec(['ls', '/tmp'])).stdout, '');
      // ...and what this one writes stays in this sandbox.
      await box.writeFile(`/tmp/from-${n}`, `written by test ${n}`);
      const r = await box.exec(['cat', `/tmp/from-${n}`]);
      assert.deepEqual(r, { exitCode: 0, stdout: `written by test ${n}`, stderr: '' });
    });
  }
});

describe('one sandbox for a suite', () => {
  const fixture = sandboxFixture({
    image,
    command: ['sh', '-c', 'echo "warming up"; sleep 0.2; echo "service ready"; exec sleep infinity'],
    env: { GREETING: 'hello' },
    network: 'none',
    waitFor: Wait.forLogMessage(/service ready/),
    startupTimeoutMs: 20_000,
  }, { per: 'suite' });

  it('has started when the tests run', async () => {
    assert.match(await fixture.sandbox.logs(), /warming up\nservice ready\n/);
  });

  it('keeps what an earlier test of the suite did', async () => {
    const box = fixture.sandbox;
    await box.exec(['sh', '-c', 'echo "$GREETING" > /tmp/state']);
    assert.equal((await box.exec(['cat', '/tmp/state'])).stdout, 'hello\n');
  });
});
