/**
 * Content-addressed blobs: manifests, configs and layer blobs as they arrived, under
 * <data>/blobs/sha256/<hex>. A blob is written to a temporary file beside its final
 * place while it is hashed, and renamed into place only when its digest (and size, when
 * known) matched: a blob that exists is whole and right, whatever was interrupted.
 */
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { errorAt, SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { mkdirInStore } from '../state/store-dirs.js';
import { ownedName } from '../state/owner.js';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

/** The 64 hex digits of a `sha256:` digest (or diff id); a one-line error for anything else. */
export function hexOf(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new SandboxError(`invalid digest ${digest}`, { hint: 'digests are sha256: followed by 64 lower-case hex digits' });
  return m[1]!;
}

/** A new sha256 hash (the one algorithm of our digests). */
export function sha256() {
  // Required here, not at the top: node:crypto costs start-up for commands that never hash.
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha256');
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${sha256().update(bytes).digest('hex')}`;
}

export function blobsDir(paths: StorePaths): string {
  return join(paths.data, 'blobs', 'sha256');
}

/** Temporary files of blobs being written, named after their writer (state/owner.ts): a dead one's are garbage. */
export function blobTempDir(paths: StorePaths): string {
  return join(paths.data, 'blobs', 'tmp');
}

export function blobPath(paths: StorePaths, digest: string): string {
  return join(blobsDir(paths), hexOf(digest));
}

export function hasBlob(paths: StorePaths, digest: string): boolean {
  return existsSync(blobPath(paths, digest));
}

export function blobSize(paths: StorePaths, digest: string): number {
  return statSync(blobPath(paths, digest)).size;
}

function mismatch(what: string, expected: string, got: string): SandboxError {
  return new SandboxError(`${what}: expected ${expected}, got ${got}`, {
    hint: 'the data was damaged or changed on the way; try again, and if it persists the source is corrupt',
  });
}

function newTempFile(paths: StorePaths): string {
  mkdirInStore(paths, 'data', blobTempDir(paths));
  mkdirInStore(paths, 'data', blobsDir(paths));
  return join(blobTempDir(paths), ownedName());
}

/**
 * What a transfer (pull, load, import, commit) holds in the store while it works: it
 * claims a blob or layer before it adopts it or relies on finding it there, and the
 * garbage collector never removes what a live transfer claimed (images/gc.ts).
 */
export interface StoreClaim {
  claim(items: { blobs?: string[]; layers?: string[] }): Promise<void>;
}

/** A blob written to a temporary file, hashed, and not yet in the store (see adoptBlob). */
export interface TempBlob {
  temp: string;
  digest: string;
  size: number;
}

/**
 * Streams `source` into a new temporary file beside the blobs (named after this process,
 * so that a pruner knows a killed writer's), hashing and syncing it. `maxSize` stops a
 * source that runs long before it fills the disk; `onChunk` sees every chunk.
 */
export async function writeTempBlob(
  paths: StorePaths,
  source: AsyncIterable<Uint8Array>,
  options: { maxSize?: number; tooLong?: () => Error; onChunk?: (chunk: Uint8Array) => void } = {},
): Promise<TempBlob> {
  const temp = newTempFile(paths);
  const { open } = require('node:fs/promises') as typeof import('node:fs/promises');
  const file = await open(temp, 'wx', 0o644);
  const hash = sha256();
  let size = 0;
  try {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.byteLength;
      if (options.maxSize !== undefined && size > options.maxSize) throw options.tooLong?.() ?? new SandboxError(`more than ${options.maxSize} bytes`);
      await file.write(chunk);
      options.onChunk?.(chunk);
    }
    await file.sync();
  } catch (err) {
    await file.close().catch(() => {});
    rmSync(temp, { force: true });
    throw errorAt(err, dirname(temp));
  }
  await file.close();
  return { temp, digest: `sha256:${hash.digest('hex')}`, size };
}

/** Moves a temporary blob into the store under its digest, claimed first (a parallel writer of the same blob wrote the same bytes). */
export async function adoptBlob(paths: StorePaths, lease: StoreClaim, blob: TempBlob): Promise<void> {
  await lease.claim({ blobs: [blob.digest] });
  renameSync(blob.temp, blobPath(paths, blob.digest));
}

/**
 * Streams `source` into the store, hashing on the way. With `expected`, a wrong digest
 * or size fails and stores nothing. Returns the digest and size of what was stored.
 */
export async function putBlob(
  paths: StorePaths,
  lease: StoreClaim,
  source: AsyncIterable<Uint8Array>,
  expected: { digest?: string; size?: number } = {},
  onData?: (bytes: number) => void,
): Promise<{ digest: string; size: number }> {
  if (expected.digest) hexOf(expected.digest);
  const blob = await writeTempBlob(paths, source, {
    ...(expected.size !== undefined ? { maxSize: expected.size } : {}),
    tooLong: () => mismatch(`blob ${expected.digest ?? ''} is too long`, `${expected.size} bytes`, 'more'),
    ...(onData ? { onChunk: (chunk: Uint8Array) => onData(chunk.byteLength) } : {}),
  });
  const { digest, size } = blob;
  try {
    if (expected.size !== undefined && size !== expected.size) throw mismatch(`blob ${expected.digest ?? digest} has the wrong size`, `${expected.size} bytes`, `${size}`);
    if (expected.digest && digest !== expected.digest) throw mismatch('blob digest mismatch', expected.digest, digest);
    await adoptBlob(paths, lease, blob);
  } catch (err) {
    rmSync(blob.temp, { force: true });
    throw err;
  }
  return { digest, size };
}

/** Stores bytes held in memory (manifests, configs). */
export async function putBlobBytes(paths: StorePaths, lease: StoreClaim, bytes: Buffer, expectedDigest?: string): Promise<{ digest: string; size: number }> {
  const digest = digestOf(bytes);
  if (expectedDigest && digest !== expectedDigest) throw mismatch('blob digest mismatch', expectedDigest, digest);
  await lease.claim({ blobs: [digest] });
  const final = blobPath(paths, digest);
  if (!existsSync(final)) {
    const temp = newTempFile(paths);
    const fd = openSync(temp, 'wx', 0o644);
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(temp, final);
    } catch (err) {
      try { closeSync(fd); } catch { /* closed */ }
      rmSync(temp, { force: true });
      throw err;
    }
  }
  return { digest, size: bytes.length };
}

/** A small blob's bytes, checked against its digest (configs and manifests are read whole). */
export function readBlob(paths: StorePaths, digest: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(blobPath(paths, digest));
  } catch {
    throw new SandboxError(`blob ${digest} is missing from the store`, { hint: 'pull or load the image again' });
  }
  const got = digestOf(bytes);
  if (got !== digest) throw mismatch(`stored blob ${digest} is corrupt`, digest, got);
  return bytes;
}

export function openBlob(paths: StorePaths, digest: string): Readable {
  return createReadStream(blobPath(paths, digest), { highWaterMark: 1 << 20 });
}

/** Re-hashes a stored blob (`image inspect --verify`-style checks, and tests). */
export async function verifyBlob(paths: StorePaths, digest: string): Promise<boolean> {
  const hash = sha256();
  try {
    for await (const chunk of openBlob(paths, digest)) hash.update(chunk as Buffer);
  } catch {
    return false;
  }
  return `sha256:${hash.digest('hex')}` === digest;
}
