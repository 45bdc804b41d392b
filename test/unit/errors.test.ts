/** SandboxError: the one error type, recognised across the CLI's bundles (src/errors.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError, formatError } from '../../src/errors.js';

describe('SandboxError across bundles', () => {
  it('is recognised by its mark, not by the class: a copy of the class from another bundle still counts', () => {
    const foreign = new (class SandboxError extends Error {})('x');
    (foreign as unknown as Record<symbol, boolean>)[Symbol.for('sandbox.SandboxError')] = true;
    assert.ok(foreign instanceof SandboxError);
    assert.ok(!(new Error('plain') instanceof SandboxError));
    assert.ok(new SandboxError('ours') instanceof SandboxError);
  });
});

describe('formatError', () => {
  it('prints ours as one line and a hint, anything else as an internal error', () => {
    assert.equal(formatError(new SandboxError('no such image', { hint: 'pull it' })), 'sandbox: no such image\nhint: pull it\n');
    assert.match(formatError(new TypeError('boom')), /^sandbox: internal error: boom\nhint: run again with SANDBOX_DEBUG=1/);
  });
});
