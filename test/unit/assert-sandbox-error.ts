import assert from 'node:assert/strict';
import { SandboxError } from '../../src/errors.js';

/** Asserts that fn throws a SandboxError with exactly this message (and hint, when given: exactly, or matching a RegExp). */
export function throwsSandbox(fn: () => unknown, message: string, hint?: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SandboxError, `expected a SandboxError, got ${String(err)}`);
    assert.equal(err.message, message);
    if (hint instanceof RegExp) assert.match(err.hint ?? '', hint);
    else if (hint !== undefined) assert.equal(err.hint, hint);
    assert.equal(err.exitCode, 125);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
}
