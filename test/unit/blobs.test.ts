/** The blob store: digests verified on arrival, nothing stored on a mismatch (src/images/blobs.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { SandboxError } from '../../src/errors.js';
import { blobTempDir, hasBlob, putBlob, putBlobBytes, readBlob, verifyBlob, blobPath } from '../../src/images/blobs.js';
import type { StorePaths } from '../../src/state/paths.js';
import { TransferLease } from '../../src/images/gc.js';
import { tempStore } from './temp-store.js';

const store = (): StorePaths => tempStore('sandbox-blobs-');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
async function* chunks(...parts: string[]) { for (const p of parts) yield Buffer.from(p); }

describe('blobs', () => {
  it('stores a stream under its digest and reads it back verified', async () => {
    const paths = store();
    const got = await putBlob(paths, new TransferLease(paths), chunks('hello ', 'world'), { digest: sha(Buffer.from('hello world')), size: 11 });
    assert.deepEqual(got, { digest: sha(Buffer.from('hello world')), size: 11 });
    assert.equal(readBlob(paths, got.digest).toString(), 'hello world');
    assert.ok(await verifyBlob(paths, got.digest));
    assert.deepEqual(readdirSync(blobTempDir(paths)), []);
    rmSync(join(paths.data, '..'), { recursive: true });
  });

  it('refuses a wrong digest or size and stores nothing', async () => {
    const paths = store();
    const lease = new TransferLease(paths);
    const wrong = sha(Buffer.from('other'));
    await assert.rejects(putBlob(paths, lease, chunks('hello'), { digest: wrong }), (e: unknown) => e instanceof SandboxError && /digest mismatch/.test(e.message));
    await assert.rejects(putBlob(paths, lease, chunks('hello'), { size: 3 }), (e: unknown) => e instanceof SandboxError && /too long/.test(e.message));
    await assert.rejects(putBlob(paths, lease, chunks('hello'), { size: 9 }), (e: unknown) => e instanceof SandboxError && /wrong size/.test(e.message));
    await assert.rejects(putBlobBytes(paths, lease, Buffer.from('x'), wrong), SandboxError);
    assert.ok(!hasBlob(paths, wrong));
    assert.ok(!hasBlob(paths, sha(Buffer.from('hello'))));
    assert.deepEqual(readdirSync(blobTempDir(paths)), []);
    rmSync(join(paths.data, '..'), { recursive: true });
  });

  it('notices a stored blob that was changed', async () => {
    const paths = store();
    const { digest } = await putBlobBytes(paths, new TransferLease(paths), Buffer.from('{"a":1}'));
    writeFileSync(blobPath(paths, digest), '{"a":2}');
    assert.throws(() => readBlob(paths, digest), /corrupt/);
    assert.equal(await verifyBlob(paths, digest), false);
    rmSync(join(paths.data, '..'), { recursive: true });
  });
});
