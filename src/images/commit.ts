/**
 * `commit NAME [IMAGE[:TAG]]`: a sandbox's writable layer becomes a new layer on top of
 * its image. The overlay upper directory is written as an OCI layer tar (whiteouts and
 * opaque directories in OCI form, by sandbox-layer diff), gzip-compressed into a blob
 * while its diff id is hashed, unpacked into the store like any pulled layer, and the
 * image config gets the diff id, a history entry and the `--change` instructions.
 * A running sandbox is committed as its files are at that moment (not paused).
 */
import { PassThrough } from 'node:stream';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox } from '../state/sandboxes.js';
import { sandboxDir, sandboxDirs } from '../state/sandbox-dir.js';
import { putBlob, putBlobBytes, sha256, type StoreClaim } from './blobs.js';
import { withTransferLease } from './gc.js';
import { ensureLayer } from './layers.js';
import { buildManifest, MediaTypes, type Descriptor } from './manifest.js';
import { applyChanges, changeHistory, type OciImageConfig } from './config.js';
import { readImageConfig, readImageIndex, readImageManifest, storeImage, tagKey } from './store.js';
import { layerDiffTar } from './unpack.js';
import { appendEvent } from '../state/events.js';

export interface CommitOptions {
  message?: string;
  author?: string;
  /** Dockerfile instructions, as `commit -c`. */
  changes?: string[];
}

/** Docker's layer media types have OCI twins with the same bytes; an OCI manifest names those. */
function ociLayerType(mediaType: string): string {
  if (mediaType === MediaTypes.dockerLayerGzip || mediaType === MediaTypes.dockerForeignLayerGzip) return MediaTypes.ociLayerGzip;
  return mediaType;
}

/** Writes the upper directory as a gzip layer blob; returns its descriptor and diff id. */
async function writeLayer(paths: StorePaths, lease: StoreClaim, upper: string): Promise<{ blob: Descriptor; diffId: string }> {
  const { createGzip } = require('node:zlib') as typeof import('node:zlib');
  const diff = layerDiffTar(upper);
  const hash = sha256();
  const gzip = createGzip({ level: 6, chunkSize: 1 << 20 });
  const tee = new PassThrough({ highWaterMark: 1 << 20 });
  tee.on('data', (chunk: Buffer) => hash.update(chunk));
  diff.stream.on('error', (err: Error) => gzip.destroy(err));
  diff.stream.pipe(tee).pipe(gzip);
  const [stored] = await Promise.all([putBlob(paths, lease, gzip), diff.done]);
  return { blob: { mediaType: MediaTypes.ociLayerGzip, ...stored }, diffId: `sha256:${hash.digest('hex')}` };
}

/** Commits sandbox `ref` as image `target` (undefined: an untagged image); returns the new image's id. */
export async function commitSandbox(paths: StorePaths, ref: string, target: string | undefined, options: CommitOptions = {}): Promise<string> {
  const name = target === undefined ? undefined : tagKey(target); // a bad name fails before any work
  const record = findSandbox(paths, ref);
  if (!record.imageId) {
    throw new SandboxError(`sandbox ${record.name} was not made from an image (${record.image})`, {
      hint: 'commit works for sandboxes of stored images; for --rootfs or host sandboxes, `sandbox export` them and `sandbox import` the tar',
    });
  }
  const base = readImageIndex(paths).images[record.imageId];
  if (!base) {
    throw new SandboxError(`the image of sandbox ${record.name} (${record.imageId.slice(7, 19)}) is no longer in the store`, {
      hint: 'export the sandbox (`sandbox export`) and import the tar instead',
    });
  }
  const baseManifest = readImageManifest(paths, base);
  const baseConfig = readImageConfig(paths, base.id);
  const upper = sandboxDirs(sandboxDir(paths, record.id)).upper;
  // The new layer's blob and unpacked files are claimed by the commit's lease until the
  // image is in the index; a failed commit removes them again (gc.ts).
  const id = await withTransferLease(paths, async (lease) => {
    await lease.claim({ blobs: baseManifest.layers.map((l) => l.digest), layers: base.layers });
    const layer = await writeLayer(paths, lease, upper);
    await ensureLayer(paths, lease, layer.blob, layer.diffId);

    const now = new Date().toISOString();
    const config: OciImageConfig = {
      ...baseConfig,
      created: now,
      ...(options.author ? { author: options.author } : {}),
      config: applyChanges(baseConfig.config ?? {}, options.changes ?? []),
      rootfs: { type: 'layers', diff_ids: [...(baseConfig.rootfs?.diff_ids ?? []), layer.diffId] },
      history: [
        ...(baseConfig.history ?? []),
        {
          created: now,
          created_by: `sandbox commit ${record.name}`,
          ...(options.message ? { comment: options.message } : {}),
          ...(options.author ? { author: options.author } : {}),
        },
        ...changeHistory(options.changes ?? [], now),
      ],
    };
    const configBlob = await putBlobBytes(paths, lease, Buffer.from(JSON.stringify(config)));
    const manifest = await putBlobBytes(paths, lease, buildManifest(
      { mediaType: MediaTypes.ociConfig, ...configBlob },
      [...baseManifest.layers.map((l) => ({ ...l, mediaType: ociLayerType(l.mediaType) })), layer.blob],
    ));
    return storeImage(paths, { manifestDigest: manifest.digest }, { tags: name ? [name] : [] });
  });
  appendEvent(paths, { type: 'container', action: 'commit', id: record.id, name: record.name, attributes: { ...(name ? { image: name } : {}), imageId: id } });
  return id;
}
