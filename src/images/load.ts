/**
 * `sandbox load`: the images of a docker-archive or oci-archive (as `docker save` and
 * `podman save` write them, plain or compressed as a whole) enter the store. In three
 * steps, so that a bad archive leaves no image and no blob behind: read the whole
 * archive (archive/staging.ts), judge it (every digest, size and diff id that can be
 * checked without unpacking), then store blobs, unpack layers (which checks the diff
 * ids of compressed layers) and only then name the images.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { appendEvent } from '../state/events.js';
import { digestOf, hasBlob } from './blobs.js';
import { detectCompression } from './compression.js';
import { ensureLayer } from './layers.js';
import {
  MediaTypes, buildManifest, choosePlatform, hostPlatform, layerCompression, parseManifest, type Descriptor, type ImageManifest,
} from './manifest.js';
import { storeImage, tagKey } from './store.js';
import { withTransferLease } from './gc.js';
import { detectArchiveFormat, DOCKER_MANIFEST, DOCKER_REPOSITORIES } from './archive/detect.js';
import { claimedDigest, imageTags, parseDockerManifest, parseRepositories } from './archive/docker-archive.js';
import { blobFileName, checkOciLayout, imageNameOf, INDEX_FILE, LAYOUT_FILE } from './archive/oci-archive.js';
import { stageArchive, type StagedArchive, type StagedFile } from './archive/staging.js';

export interface LoadOptions {
  /** Called as each layer is stored (the CLI shows "Loading layer ..." on a terminal). */
  onLayer?: (layer: { diffId: string; size: number }) => void;
}

export interface LoadedImage {
  /** The image id (config digest). */
  id: string;
  /** NAME:TAG references it was stored under (none for an untagged image). */
  tags: string[];
}

/** One image of the archive, judged and ready to be stored. */
interface PlannedLayer {
  descriptor: Descriptor;
  diffId: string;
  /** Undefined when the archive leaves it out because the store has it already. */
  file?: StagedFile;
}

interface PlannedImage {
  config: StagedFile;
  layers: PlannedLayer[];
  /** The manifest as it came (oci-archive), else one is built (docker-archive). */
  manifest?: StagedFile;
  tags: string[];
}

function corrupt(format: string, why: string): SandboxError {
  return new SandboxError(`invalid ${format}: ${why}`, {
    hint: 'the archive is damaged, incomplete or was changed; write it again',
  });
}

function parseJson(format: string, staged: StagedArchive, file: StagedFile): unknown {
  try {
    return JSON.parse(staged.bytes(file).toString('utf8'));
  } catch {
    throw corrupt(format, `${file.path} is not JSON`);
  }
}

/** The diff ids of a config document, checked against the number of layers. */
function diffIdsOf(format: string, config: unknown, path: string, layers: number): string[] {
  const ids = (config as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs?.diff_ids;
  if (!Array.isArray(ids) || !ids.every((d) => typeof d === 'string' && /^sha256:[a-f0-9]{64}$/.test(d))) {
    throw corrupt(format, `config ${path} has no valid rootfs.diff_ids`);
  }
  if (ids.length !== layers) throw corrupt(format, `config ${path} names ${ids.length} layers, the image has ${layers}`);
  return ids as string[];
}

/** The media type for a layer file of a docker-archive, from its magic bytes. */
function dockerLayerMediaType(file: StagedFile): string {
  const c = detectCompression(file.head);
  if (c === 'none') return MediaTypes.ociLayer;
  if (c === 'gzip') return MediaTypes.ociLayerGzip;
  if (c === 'zstd') return MediaTypes.ociLayerZstd;
  throw corrupt('docker-archive', `layer ${file.path} is ${c}-compressed; layers may be plain, gzip or zstd tars`);
}

function planDockerArchive(staged: StagedArchive): PlannedImage[] {
  const F = 'docker-archive';
  const images = parseDockerManifest(staged.bytes(staged.get(DOCKER_MANIFEST)!));
  const repoFile = staged.get(DOCKER_REPOSITORIES);
  const repositories = repoFile ? parseRepositories(staged.bytes(repoFile)) : new Map<string, string[]>();
  return images.map((image) => {
    const config = staged.get(image.config);
    if (!config) throw corrupt(F, `config ${image.config} is missing from the archive`);
    const claimed = claimedDigest(image.config);
    if (claimed && claimed !== config.digest) throw corrupt(F, `config ${image.config} does not match its digest (got ${config.digest})`);
    const diffIds = diffIdsOf(F, parseJson(F, staged, config), image.config, image.layers.length);
    const layers = image.layers.map((path, i): PlannedLayer => {
      const file = staged.get(path);
      if (!file) throw corrupt(F, `layer ${path} is missing from the archive`);
      const mediaType = dockerLayerMediaType(file);
      // A plain layer tar is its own diff: check it now. Compressed ones are checked
      // as they are unpacked.
      if (mediaType === MediaTypes.ociLayer && file.digest !== diffIds[i]) {
        throw corrupt(F, `layer ${path} does not match its diff id ${diffIds[i]} (got ${file.digest})`);
      }
      return { descriptor: { mediaType, digest: file.digest, size: file.size }, diffId: diffIds[i]!, file };
    });
    return { config, layers, tags: imageTags(image, repositories) };
  });
}

const INDEX_TYPES = [MediaTypes.ociIndex, MediaTypes.dockerManifestList] as string[];
const MANIFEST_TYPES = [MediaTypes.ociManifest, MediaTypes.dockerManifest] as string[];

function planOciArchive(staged: StagedArchive, paths: StorePaths): PlannedImage[] {
  const F = 'oci-archive';
  checkOciLayout(staged.bytes(staged.get(LAYOUT_FILE)!));
  const blob = (d: Descriptor, what: string): StagedFile => {
    const file = staged.get(blobFileName(d.digest));
    if (!file) throw corrupt(F, `${what} ${d.digest} is missing from the archive`);
    if (file.size !== d.size) throw corrupt(F, `${what} ${d.digest} has ${file.size} bytes, its descriptor says ${d.size}`);
    return file; // its digest was checked against its name as it was read
  };
  const parse = (file: StagedFile) => {
    try {
      return parseManifest(staged.bytes(file));
    } catch (err) {
      throw corrupt(F, `${file.path}: ${(err as Error).message}`);
    }
  };
  const top = parse(staged.get(INDEX_FILE)!);
  if (top.kind !== 'index') throw corrupt(F, 'index.json is not an image index');

  const planned = new Map<string, PlannedImage>();
  const add = (d: Descriptor, tag: string | undefined, depth: number): void => {
    if (INDEX_TYPES.includes(d.mediaType)) {
      if (depth > 4) throw corrupt(F, 'image indexes nested too deep');
      const nested = parse(blob(d, 'image index'));
      if (nested.kind !== 'index') throw corrupt(F, `${d.digest} is not an image index`);
      // A multi-platform image: the host's platform, as `podman load` picks it.
      const withPlatforms = nested.index.manifests.some((m) => m.platform);
      const chosen = withPlatforms ? choosePlatform(nested.index, hostPlatform())
        : nested.index.manifests.find((m) => MANIFEST_TYPES.includes(m.mediaType) || INDEX_TYPES.includes(m.mediaType));
      if (!chosen) throw corrupt(F, `image index ${d.digest} names no image`);
      add(chosen, tag, depth + 1);
      return;
    }
    if (!MANIFEST_TYPES.includes(d.mediaType)) return; // not an image (an artifact, a signature)
    const known = planned.get(d.digest);
    if (known) {
      if (tag && !known.tags.includes(tag)) known.tags.push(tag);
      return;
    }
    const manifestFile = blob(d, 'manifest');
    const parsed = parse(manifestFile);
    if (parsed.kind !== 'manifest') throw corrupt(F, `${d.digest} is not an image manifest`);
    const manifest: ImageManifest = parsed.manifest;
    const config = blob(manifest.config, 'config');
    const diffIds = diffIdsOf(F, parseJson(F, staged, config), config.path, manifest.layers.length);
    const layers = manifest.layers.map((l, i): PlannedLayer => {
      const present = staged.get(blobFileName(l.digest));
      // Layouts may leave out what the target has (foreign layers, shared bases).
      if (!present && hasBlob(paths, l.digest)) return { descriptor: l, diffId: diffIds[i]! };
      const file = blob(l, 'layer');
      const compression = layerCompression(l.mediaType) ?? detectCompression(file.head);
      if (compression !== 'none' && compression !== 'gzip' && compression !== 'zstd') {
        throw corrupt(F, `layer ${l.digest} has media type ${l.mediaType}, which we cannot unpack`);
      }
      if (compression === 'none' && file.digest !== diffIds[i]) {
        throw corrupt(F, `layer ${l.digest} does not match its diff id ${diffIds[i]}`);
      }
      return { descriptor: l, diffId: diffIds[i]!, file };
    });
    planned.set(d.digest, { config, layers, manifest: manifestFile, tags: tag ? [tag] : [] });
  };
  for (const d of top.index.manifests) {
    let tag: string | undefined;
    try {
      tag = imageNameOf(d);
    } catch (err) {
      throw corrupt(F, (err as Error).message);
    }
    add(d, tag, 0);
  }
  if (planned.size === 0) throw corrupt(F, 'index.json names no image');
  return [...planned.values()];
}

/** Stores the planned images' blobs and layers, then names them. */
async function storePlanned(paths: StorePaths, staged: StagedArchive, plans: PlannedImage[], options: LoadOptions): Promise<LoadedImage[]> {
  // Claimed by the load's lease until the images are in the index; a failed load
  // removes what it stored and no image uses (gc.ts).
  return withTransferLease(paths, async (lease) => {
    await lease.claim({
      blobs: plans.flatMap((p) => p.layers.map((l) => l.descriptor.digest)),
      layers: plans.flatMap((p) => p.layers.map((l) => l.diffId)),
    });
    const manifests: string[] = [];
    for (const plan of plans) {
      for (const layer of plan.layers) {
        if (layer.file) await staged.commit(paths, lease, layer.file);
        options.onLayer?.({ diffId: layer.diffId, size: layer.descriptor.size });
        await ensureLayer(paths, lease, layer.descriptor, layer.diffId);
      }
      const config = await staged.commit(paths, lease, plan.config);
      const manifest = plan.manifest
        ? await staged.commit(paths, lease, plan.manifest)
        : await staged.commit(paths, lease, fileOf(buildManifest({ mediaType: MediaTypes.ociConfig, ...config }, plan.layers.map((l) => l.descriptor))));
      manifests.push(manifest.digest);
    }
    const loaded: LoadedImage[] = [];
    for (const [i, plan] of plans.entries()) {
      const id = await storeImage(paths, { manifestDigest: manifests[i]! }, { tags: plan.tags });
      loaded.push({ id, tags: plan.tags.map(tagKey) }); // as stored (a short name under localhost/)
    }
    return loaded;
  });
}

function fileOf(bytes: Buffer): StagedFile {
  return { path: 'manifest', size: bytes.length, digest: digestOf(bytes), head: bytes.subarray(0, 8), bytes };
}

function openInput(input: string | Readable): { stream: Readable; what: string } {
  if (typeof input !== 'string') return { stream: input, what: 'the archive on stdin' };
  let isDir = false;
  try {
    isDir = statSync(input).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SandboxError(`cannot read ${input}: ${code === 'ENOENT' ? 'no such file' : code ?? String(err)}`, {
      hint: 'give the path of an archive written by `docker save`, `podman save` or `sandbox save`',
    });
  }
  if (isDir) {
    throw new SandboxError(`${input} is a directory, not an archive`, { hint: 'make a tar of it first (oci-dir and docker-dir layouts are not loaded directly)' });
  }
  return { stream: createReadStream(input, { highWaterMark: 1 << 20 }), what: input };
}

/** Loads every image of a docker-archive or oci-archive (a path, or a stream such as stdin). */
export async function loadArchive(paths: StorePaths, input: string | Readable, options: LoadOptions = {}): Promise<LoadedImage[]> {
  const { stream, what } = openInput(input);
  let staged: StagedArchive;
  try {
    staged = await stageArchive(paths, stream);
  } catch (err) {
    if (err instanceof SandboxError) throw err;
    const why = (err as Error).message ?? String(err);
    const empty = (err as NodeJS.ErrnoException).code === 'EMPTY_ARCHIVE';
    throw new SandboxError(`cannot load ${what}: ${empty ? 'it is empty' : `the archive is truncated or corrupt (${why})`}`, {
      hint: 'load takes a whole tar archive written by `docker save`, `podman save` or `sandbox save` (optionally gzip or zstd compressed)',
      cause: err,
    });
  }
  try {
    const format = detectArchiveFormat((p) => staged.has(p));
    const plans = format === 'docker-archive' ? planDockerArchive(staged) : planOciArchive(staged, paths);
    const loaded = await storePlanned(paths, staged, plans, options);
    for (const l of loaded) appendEvent(paths, { type: 'image', action: 'load', id: l.id, ...(l.tags[0] ? { name: l.tags[0] } : {}) });
    return loaded;
  } finally {
    staged.dispose();
  }
}
