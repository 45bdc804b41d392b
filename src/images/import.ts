/**
 * `sandbox import TARBALL NAME[:TAG]`: a root filesystem tarball becomes a one-layer
 * image, as `podman import`. The tarball is stored decompressed as the layer's blob (so
 * its digest is the diff id), unpacked like any layer, and given a config and an OCI
 * manifest, so the image can be pushed, saved and committed like a pulled one.
 */
import { createReadStream, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { newRootfsConfig } from './config.js';
import { adoptBlob, digestOf, putBlobBytes, writeTempBlob } from './blobs.js';
import { withTransferLease } from './gc.js';
import { decompressStream, fileCompression } from './compression.js';
import { ensureLayer } from './layers.js';
import { buildManifest, MediaTypes } from './manifest.js';
import { storeImage, tagKey } from './store.js';
import { appendEvent } from '../state/events.js';
import { parseImageRef } from './refs.js';

export interface ImportOptions {
  changes?: string[];
  message?: string;
}

/** Imports a rootfs tarball; returns the new image's id. */
export async function importTarball(paths: StorePaths, tarball: string, reference: string, options: ImportOptions = {}): Promise<string> {
  parseImageRef(reference); // validate before any work
  try {
    statSync(tarball);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SandboxError(`cannot read ${tarball}: ${code === 'ENOENT' ? 'no such file' : code ?? String(err)}`, { hint: 'give the path of a tar archive of a root filesystem' });
  }
  // Everything this import stores is claimed by its lease; when it fails (a bad tarball,
  // a full disk) what it stored and no image uses goes again (gc.ts).
  const id = await withTransferLease(paths, async (lease) => {
    let layer: { digest: string; size: number };
    try {
      const blob = await writeTempBlob(paths, decompressStream(createReadStream(tarball), fileCompression(tarball)));
      try {
        await lease.claim({ blobs: [blob.digest], layers: [blob.digest] }); // one claim for both
        await adoptBlob(paths, lease, blob);
      } catch (err) {
        rmSync(blob.temp, { force: true });
        throw err;
      }
      layer = { digest: blob.digest, size: blob.size };
      await ensureLayer(paths, lease, { mediaType: MediaTypes.ociLayer, ...layer }, layer.digest);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new SandboxError(`cannot import ${tarball}: ${why}`, {
        hint: err instanceof SandboxError && err.hint ? err.hint : 'is it a whole, well-formed tar archive (optionally gzip, xz, zstd or bzip2 compressed)?',
        cause: err,
      });
    }
    const config = newRootfsConfig(layer.digest, options.changes ?? [], `sandbox import ${basename(tarball)}`);
    if (options.message) config.history = [{ ...config.history![0], comment: options.message }];
    const configBytes = Buffer.from(JSON.stringify(config));
    const manifestBytes = buildManifest(
      { mediaType: MediaTypes.ociConfig, digest: digestOf(configBytes), size: configBytes.length },
      [{ mediaType: MediaTypes.ociLayer, ...layer }],
    );
    await lease.claim({ blobs: [digestOf(configBytes), digestOf(manifestBytes)] });
    await putBlobBytes(paths, lease, configBytes);
    const manifest = await putBlobBytes(paths, lease, manifestBytes);
    return storeImage(paths, { manifestDigest: manifest.digest }, { tags: [reference] });
  });
  appendEvent(paths, { type: 'image', action: 'import', id, name: tagKey(reference) });
  return id;
}
