/**
 * `sandbox pull REF`: an image from a registry into the store, over the distribution
 * API. The manifest (through an index or manifest list: the host's platform, or
 * --platform) and the config come first; then every layer blob the store lacks is
 * fetched, several at once, streamed to disk while hashed (blobs.ts) and unpacked from
 * the same bytes as they arrive (a blob stored before, or of a type that does not say
 * its compression, is unpacked from the store once complete). Layers the store
 * has are shared, never fetched again. The image is registered last (store.ts), so an
 * interrupted pull leaves no image; what it stored is claimed by its lease meanwhile
 * (gc.ts), a pull that fails removes it again, and what a killed one left is garbage
 * that prune and `system check --repair` collect.
 */
import { availableParallelism } from 'node:os';
import { PassThrough } from 'node:stream';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { hasBlob, putBlob, putBlobBytes, readBlob, type StoreClaim } from './blobs.js';
import { withTransferLease } from './gc.js';
import type { OciImageConfig } from './config.js';
import { decompressStream } from './compression.js';
import { ensureLayer, hasLayer, unpackLayer } from './layers.js';
import {
  MediaTypes, choosePlatform, layerCompression, formatPlatform, hostPlatform, parseManifest, parsePlatform,
  type Descriptor, type ImageManifest,
} from './manifest.js';
import { storeImage } from './store.js';
import { appendEvent } from '../state/events.js';
import type { RegistryClient } from './registry/client.js';
import { readBody } from './registry/http.js';
import { limiter } from './registry/limit.js';
import { silentProgress, type ProgressSink } from './registry/progress.js';
import { displayRef } from './registry/reference.js';
import { openRepository } from './registry/session.js';

export interface PullOptions {
  /** OS/ARCH[/VARIANT]; default the host's. */
  platform?: string | undefined;
  /** false: accept any certificate, and plain HTTP (see registry/tls.ts). */
  tlsVerify?: boolean | undefined;
  quiet?: boolean | undefined;
  progress?: ProgressSink | undefined;
  authFile?: string | undefined;
}

/** Layer downloads at once (Podman's default too) and layer unpacks at once (one per core). */
const PARALLEL_DOWNLOADS = 6;

const ACCEPT = [MediaTypes.ociIndex, MediaTypes.dockerManifestList, MediaTypes.ociManifest, MediaTypes.dockerManifest];

/** The image manifest for the wanted platform, following one index level. */
async function resolveManifest(client: RegistryClient, reference: string, platform: string | undefined, progress: ProgressSink): Promise<{ topDigest: string; manifestBytes: Buffer; manifestDigest: string; manifest: ImageManifest }> {
  const top = await client.getManifest(reference, ACCEPT);
  const parsed = parseManifest(top.bytes, top.contentType);
  if (parsed.kind === 'manifest') {
    return { topDigest: top.digest, manifestBytes: top.bytes, manifestDigest: top.digest, manifest: parsed.manifest };
  }
  const chosen = choosePlatform(parsed.index, platform ? parsePlatform(platform) : hostPlatform());
  progress.note(`Chose ${formatPlatform(chosen.platform!)} from the manifest list`);
  const inner = await client.getManifest(chosen.digest, ACCEPT);
  const parsedInner = parseManifest(inner.bytes, inner.contentType);
  if (parsedInner.kind !== 'manifest') {
    throw new SandboxError(`the manifest list of ${reference} nests another list`, { hint: 'pull the inner image by its digest' });
  }
  return { topDigest: top.digest, manifestBytes: inner.bytes, manifestDigest: inner.digest, manifest: parsedInner.manifest };
}

async function fetchConfig(paths: StorePaths, lease: StoreClaim, client: RegistryClient, desc: Descriptor, progress: ProgressSink): Promise<OciImageConfig> {
  await lease.claim({ blobs: [desc.digest] });
  if (!hasBlob(paths, desc.digest)) {
    progress.start(desc.digest, 'config', desc.size);
    const res = await client.getBlob(desc.digest);
    await putBlobBytes(paths, lease, await readBody(res), desc.digest);
    progress.advance(desc.digest, desc.size);
    progress.status(desc.digest, 'done');
  }
  return JSON.parse(readBlob(paths, desc.digest).toString('utf8')) as OciImageConfig;
}

/**
 * Downloads a layer blob into the store and, when `unpackTo` gives its diff id (and the
 * media type says how it is compressed), unpacks it from the same bytes as they arrive:
 * the blob is hashed against its digest, the unpacked stream against the diff id, and
 * both must match. One retry after a broken connection.
 */
async function fetchLayer(paths: StorePaths, lease: StoreClaim, client: RegistryClient, desc: Descriptor, unpackTo: string | undefined, progress: ProgressSink): Promise<void> {
  const compression = layerCompression(desc.mediaType);
  for (let attempt = 1; ; attempt++) {
    let moved = 0;
    const onData = (n: number) => { moved += n; progress.advance(desc.digest, n); };
    try {
      const res = await client.getBlob(desc.digest);
      if (!unpackTo || !compression) {
        await putBlob(paths, lease, res.body, { digest: desc.digest, size: desc.size }, onData);
        return;
      }
      // One download, two readers; the slower one sets the pace (pipe's backpressure).
      const toStore = new PassThrough({ highWaterMark: 1 << 20 });
      const toUnpack = new PassThrough({ highWaterMark: 1 << 20 });
      res.body.on('error', (err) => { toStore.destroy(err); toUnpack.destroy(err); });
      res.body.pipe(toStore);
      res.body.pipe(toUnpack);
      progress.status(desc.digest, 'unpacking');
      // The stored blob's digest is the verdict: when storing fails, so does the pull, with
      // its reason; when only unpacking failed, the layer is unpacked again from the whole,
      // verified blob, which fails (or not) with the unpacker's own reason.
      const storing = putBlob(paths, lease, toStore, { digest: desc.digest, size: desc.size }, onData).catch((err: unknown) => {
        res.body.destroy();
        toUnpack.destroy(err as Error);
        throw err;
      });
      const unpacking = unpackLayer(paths, lease, decompressStream(toUnpack, compression), unpackTo, desc.digest).then(() => true, () => {
        res.body.unpipe(toUnpack); // the download goes on for the store alone
        toUnpack.destroy();
        return false;
      });
      const [stored, unpacked] = await Promise.allSettled([storing, unpacking]);
      if (stored.status === 'rejected') throw stored.reason;
      if (unpacked.status === 'fulfilled' && !unpacked.value) await ensureLayer(paths, lease, desc, unpackTo);
      return;
    } catch (err) {
      progress.advance(desc.digest, -moved);
      if (attempt >= 2 || err instanceof SandboxError) {
        if (err instanceof SandboxError) throw err;
        throw new SandboxError(`download of layer ${desc.digest} from ${client.registry} failed: ${(err as Error).message}`, { hint: 'try again', cause: err });
      }
    }
  }
}

/** Pulls `reference` into the store; returns the image id (its config digest). */
export async function pullImage(paths: StorePaths, reference: string, options: PullOptions = {}): Promise<string> {
  const progress = options.quiet ? silentProgress : options.progress ?? silentProgress;
  try {
    const { ref, client } = openRepository(reference, ['pull'], options);
    progress.note(`Pulling ${displayRef(ref)} from ${ref.registry}`);
    const { topDigest, manifestBytes, manifestDigest, manifest } = await resolveManifest(client, ref.digest ?? ref.tag, options.platform, progress);
    // What the pull stores is claimed by its lease (before it looks for what the store
    // has, so a prune meanwhile cannot take that); a failed pull removes what it stored.
    return await withTransferLease(paths, async (lease) => {
      const config = await fetchConfig(paths, lease, client, manifest.config, progress);
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== manifest.layers.length) {
        throw new SandboxError(`image ${displayRef(ref)} is malformed: its config names ${diffIds.length} layers, its manifest ${manifest.layers.length}`, { hint: 'push the image again' });
      }
      await lease.claim({ blobs: [manifestDigest, ...manifest.layers.map((l) => l.digest)], layers: diffIds });
      if (options.platform) {
        const wanted = parsePlatform(options.platform);
        if (config.os !== wanted.os || config.architecture !== wanted.architecture) {
          progress.note(`Warning: the image is for ${config.os}/${config.architecture}, not ${formatPlatform(wanted)}`);
        }
      }
      const download = limiter(PARALLEL_DOWNLOADS);
      const unpack = limiter(Math.max(1, availableParallelism()));
      // A blob used twice in one image (empty layers) is fetched once.
      const blobs = new Map<string, Promise<void>>();
      let failed = false;
      const results = await Promise.allSettled(manifest.layers.map(async (layer, i) => {
        let fetched = blobs.get(layer.digest);
        const existed = hasBlob(paths, layer.digest) && hasLayer(paths, diffIds[i]!);
        if (!fetched) {
          if (hasBlob(paths, layer.digest)) {
            progress.start(layer.digest, 'layer', layer.size);
            progress.status(layer.digest, 'exists');
            fetched = Promise.resolve();
          } else {
            fetched = download(async () => {
              if (failed) throw new Error('another layer failed');
              progress.start(layer.digest, 'layer', layer.size);
              await fetchLayer(paths, lease, client, layer, hasLayer(paths, diffIds[i]!) ? undefined : diffIds[i], progress);
              progress.status(layer.digest, 'done');
            });
          }
          blobs.set(layer.digest, fetched);
        }
        await fetched.catch((err: unknown) => { failed = true; throw err; });
        if (hasLayer(paths, diffIds[i]!)) {
          if (!existed) progress.status(layer.digest, 'unpacked');
          return;
        }
        await unpack(async () => {
          if (failed) throw new Error('another layer failed');
          progress.status(layer.digest, 'unpacking');
          await ensureLayer(paths, lease, layer, diffIds[i]!);
          progress.status(layer.digest, 'unpacked');
        }).catch((err: unknown) => { failed = true; throw err; });
      }));
      // Every download and unpack has ended (none outlives the command); the first failure tells.
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof SandboxError)
        ?? results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      await putBlobBytes(paths, lease, manifestBytes, manifestDigest);
      const id = await storeImage(paths, { manifestDigest }, {
        // Named as Podman names what it pulled: registry and repository in full (docker.io/library/busybox).
        tags: ref.tag ? [`${ref.registry}/${ref.repository}:${ref.tag}`] : [],
        repoDigest: `${ref.registry}/${ref.repository}@${topDigest}`,
    });
    progress.note(`Stored image ${id.slice(7, 19)}`);
    appendEvent(paths, { type: 'image', action: 'pull', id, name: displayRef(ref) });
    return id;
    });
  } finally {
    progress.end();
  }
}
