/** SandboxError: the one error type, recognised across the CLI's bundles (src/errors.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxError, errorAt, formatError, helperNoSpace, reportedError } from '../../src/errors.js';

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

describe('a full disk (reportedError, helperNoSpace)', () => {
  const store = () => '/store/data';
  const errno = (code: string, path?: string) => Object.assign(new Error(`${code}: no space left on device, write`), { code, ...(path ? { path } : {}) });

  it('says "no space left on" the path the errno error carries, else the store, for ENOSPC and EDQUOT', () => {
    const withPath = reportedError(errno('ENOSPC', '/store/data/x.json'), store);
    assert.equal(formatError(withPath).split('\n')[0], 'sandbox: no space left on /store/data/x.json');
    assert.match(formatError(withPath), /\nhint: free some space: `sandbox system df`.*`sandbox system prune`/);
    assert.equal((withPath as SandboxError).exitCode, 125);
    assert.equal((reportedError(errno('EDQUOT'), store) as Error).message, 'no space left on /store/data');
  });

  it('finds it under any wrapper (a SandboxError with a cause), never an internal error or "corrupt archive"', () => {
    const wrapped = new SandboxError('cannot load x.tar: the archive is truncated or corrupt (ENOSPC)', { cause: new Error('stream', { cause: errno('ENOSPC') }) });
    assert.equal(formatError(reportedError(wrapped, store)).split('\n')[0], 'sandbox: no space left on /store/data');
    // The nearest path on the way down names the file when the write itself had none.
    const outer = Object.assign(new Error('open'), { path: '/out.tar', cause: errno('ENOSPC') });
    assert.equal((reportedError(outer, store) as Error).message, 'no space left on /out.tar');
  });

  it('leaves every other error alone', () => {
    const other = errno('EACCES', '/x');
    assert.equal(reportedError(other, store), other);
    const ours = new SandboxError('no such image');
    assert.equal(reportedError(ours, store), ours);
  });

  it('reads a helper line (say_write_failed), mapping a path inside a sandbox to the store', () => {
    assert.equal(helperNoSpace('sandbox-layer: no space left on /store/data/layers/l/diff/big')?.message, 'no space left on /store/data/layers/l/diff/big');
    assert.equal(helperNoSpace('sandbox-cp: no space left on /dir/f', (p) => ({ path: '/store/data/containers/c', detail: `copying to box:${p}` }))?.message,
      'no space left on /store/data/containers/c (copying to box:/dir/f)');
    assert.equal(helperNoSpace('layer entry "a": refused'), undefined);
    assert.equal(helperNoSpace(undefined), undefined);
  });

  it('errorAt names the file of a write error that had none, and keeps a path it had', () => {
    assert.equal((errorAt(errno('ENOSPC'), '/f') as NodeJS.ErrnoException).path, '/f');
    assert.equal((errorAt(errno('ENOSPC', '/g'), '/f') as NodeJS.ErrnoException).path, '/g');
  });
});
