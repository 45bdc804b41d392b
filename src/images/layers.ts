/**
 * Unpacked layers: each layer's files once, under <data>/layers/<hex of diff id>/diff,
 * shared by every image and sandbox that uses it (as an overlay lower directory).
 * A layer is unpacked into a staging directory beside its final place and renamed
 * there only when the whole stream was unpacked AND its sha256 matched the diff id the
 * image config names: a layer directory that exists is complete and right.
 */
import { existsSync, lstatSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { mkdirInStore } from '../state/store-dirs.js';
import { ownedName } from '../state/owner.js';
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic.js';
import { removeTree } from '../runtime/userns.js';
import { blobPath, hexOf, openBlob, hasBlob, sha256, type StoreClaim } from './blobs.js';
import { decompressStream, fileCompression, type StreamCompression } from './compression.js';
import { layerCompression, type Descriptor } from './manifest.js';
import { unpackLayerTar } from './unpack.js';


export function layersDir(paths: StorePaths): string {
  return join(paths.data, 'layers');
}

export function layerDir(paths: StorePaths, diffId: string): string {
  return join(layersDir(paths), hexOf(diffId));
}

export function hasLayer(paths: StorePaths, diffId: string): boolean {
  return existsSync(layerDir(paths, diffId));
}

/** What layer.json beside a layer's diff/ says. */
export interface LayerInfo {
  diffId: string;
  /** Bytes of the uncompressed tar stream. */
  size: number;
  /** The blob it was unpacked from, when there was one. */
  blob?: string;
}

/**
 * A short name for a layer's files, relative to layersDir: `l/<first 16 hex digits>`, a
 * symlink to `../<hex>/diff`. The kernel takes one page of mount options: with full
 * paths an overlay holds about 35 layers, with these about 200 (Podman keeps such links
 * for the same reason).
 */
export function layerLinkName(diffId: string): string {
  return `l/${hexOf(diffId).slice(0, 16)}`;
}

/** Makes the layer's short link if it is missing (layers unpacked by older versions have none). */
export function ensureLayerLink(paths: StorePaths, diffId: string): void {
  const link = join(layersDir(paths), layerLinkName(diffId));
  try { lstatSync(link); return; } catch { /* missing: make it */ }
  mkdirInStore(paths, 'data', join(layersDir(paths), 'l'));
  const temp = join(layersDir(paths), 'l', ownedName('.link-'));
  try {
    symlinkSync(`../${hexOf(diffId)}/diff`, temp);
    renameSync(temp, link); // atomic: a parallel run making the same link is harmless
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Bytes of a layer's uncompressed tar, from its layer.json (undefined when unreadable). */
export function layerSize(paths: StorePaths, diffId: string): number | undefined {
  const info = readJsonIfExists<LayerInfo>(join(layerDir(paths, diffId), 'layer.json'));
  return typeof info?.size === 'number' ? info.size : undefined;
}

/** Staging directories start with a dot, so no layer id can collide with them (and carry their owner, state/owner.ts). */
export function isStagingName(name: string): boolean {
  return name.startsWith('.');
}

/**
 * Unpacks the uncompressed tar `input` as the layer `diffId` (when no such layer exists
 * yet), checking that the stream's sha256 is the diff id. Returns the stream's size.
 */
export async function unpackLayer(paths: StorePaths, lease: StoreClaim, input: NodeJS.ReadableStream, diffId: string, blob?: string): Promise<void> {
  const final = layerDir(paths, diffId);
  await lease.claim({ layers: [diffId] });
  if (existsSync(final)) { input.resume?.(); return; }
  mkdirInStore(paths, 'data', layersDir(paths));
  const staging = join(layersDir(paths), ownedName('.unpack-'));
  mkdirSync(join(staging, 'diff'), { recursive: true });
  const hash = sha256();
  let size = 0;
  const abort = new AbortController();
  let inputError: Error | undefined;
  input.on('data', (chunk: Buffer) => { hash.update(chunk); size += chunk.length; });
  input.on('error', (err: Error) => { inputError ??= err; abort.abort(); });
  try {
    await unpackLayerTar(input, join(staging, 'diff'), { signal: abort.signal });
    if (inputError) throw inputError;
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== diffId) {
      throw new SandboxError(`layer content does not match its diff id: expected ${diffId}, got ${got}`, {
        hint: 'the image config and its layers disagree; the image is corrupt or was tampered with',
      });
    }
    writeJsonAtomic(join(staging, 'layer.json'), { diffId, size, ...(blob ? { blob } : {}) } satisfies LayerInfo);
    try {
      renameSync(staging, final);
    } catch (err) {
      if (!existsSync(final)) throw err; // else a parallel unpack of the same layer won: same files
      await removeTree(staging);
    }
    ensureLayerLink(paths, diffId);
  } catch (err) {
    await removeTree(staging).catch(() => {});
    throw inputError ?? err;
  }
}

/** How a stored layer blob is compressed: as its media type says, else as its first bytes say. */
export function blobCompression(paths: StorePaths, blob: Descriptor): StreamCompression {
  return layerCompression(blob.mediaType) ?? fileCompression(blobPath(paths, blob.digest));
}

/** Unpacks a stored layer blob once. */
export async function ensureLayer(paths: StorePaths, lease: StoreClaim, blob: Descriptor, diffId: string): Promise<void> {
  await lease.claim({ blobs: [blob.digest], layers: [diffId] });
  if (hasLayer(paths, diffId)) return;
  if (!hasBlob(paths, blob.digest)) throw new SandboxError(`layer blob ${blob.digest} is missing from the store`, { hint: 'pull or load the image again' });
  await unpackLayer(paths, lease, decompressStream(openBlob(paths, blob.digest), blobCompression(paths, blob)), diffId, blob.digest);
}
