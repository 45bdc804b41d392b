// Vitest: a `box` fixture (test.extend) gives each test a sandbox of its own, started
// before the test and disposed after it, whatever its outcome. Run: npm test
import { describe, expect, test as base } from 'vitest';
import { Sandbox, SandboxError, Wait } from 'sandbox';

const test = base.extend<{ box: Sandbox }>({
  // eslint-disable-next-line no-empty-pattern
  box: async ({}, use) => {
    const box = await Sandbox.start({
      image: 'host', // the host's own directories, read-only, under a private writable layer
      command: ['sh', '-c', 'echo ready; exec sleep infinity'],
      network: 'none',
      waitFor: Wait.forLogMessage('ready'),
    });
    try {
      await use(box);
    } finally {
      await box.dispose();
    }
  },
});

describe.concurrent('a sandbox per test', () => {
  for (const n of [1, 2, 3]) {
    test(`test ${n} writes to its own sandbox`, async ({ box }) => {
      expect((await box.exec(['ls', '/tmp'])).stdout).toBe('');
      await box.writeFile('/tmp/mine', `test ${n}`);
      expect(await box.readFile('/tmp/mine', 'utf8')).toBe(`test ${n}`);
    });
  }
});

test('exec gives the exit code and both streams', async ({ box }) => {
  const r = await box.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  expect(r).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
});

test('a wait that times out says what it waited for and shows the log', async () => {
  const started = Sandbox.start({
    image: 'host',
    command: ['sh', '-c', 'echo "config file missing"; exec sleep infinity'],
    network: 'none',
    waitFor: Wait.forLogMessage('ready'),
    startupTimeoutMs: 1_000,
  });
  const err = await started.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SandboxError);
  expect((err as SandboxError).code).toBe('startup-timeout');
  expect((err as SandboxError).message).toMatch(/log message "ready"[^]*config file missing/);
});
