// @ts-check
// Jest (CommonJS): `require('sandbox')`, a sandbox per test from beforeEach, disposed in
// afterEach (which Jest runs when a test fails too). Run: npm test
const { afterEach, beforeEach, describe, expect, test } = require('@jest/globals');
const { Sandbox, Wait } = require('sandbox');

describe('a sandbox per test', () => {
  /** @type {Sandbox | undefined} */
  let box;

  beforeEach(async () => {
    box = await Sandbox.start({
      image: 'host', // the host's own directories, read-only, under a private writable layer
      command: ['sleep', 'infinity'],
      env: { STAGE: 'test' },
      network: 'none',
      waitFor: Wait.forExec(['test', '-d', '/tmp']),
    });
  });

  afterEach(async () => {
    await box?.dispose();
    box = undefined;
  });

  test('sees the environment it was given', async () => {
    const b = /** @type {Sandbox} */ (box);
    expect((await b.exec(['sh', '-c', 'echo "$STAGE"'])).stdout).toBe('test\n');
    await b.writeFile('/tmp/left', 'x');
  });

  test('starts clean: the test before left nothing here', async () => {
    const b = /** @type {Sandbox} */ (box);
    expect((await b.exec(['ls', '/tmp'])).stdout).toBe('');
    await b.writeFile('/tmp/left', 'x');
    expect((await b.exec(['ls', '/tmp'])).stdout).toBe('left\n');
  });
});
