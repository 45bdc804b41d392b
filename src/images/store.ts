/**
 * The image index: which images the store holds and which tags name them, in
 * <data>/images.json, changed only under its lock. An image is its manifest (a blob),
 * which names its config (a blob; its digest is the image id, as Docker and Podman
 * name images) and its layer blobs; each layer is also unpacked once (layers.ts).
 * An image enters the index only after all of that is in the store, so a pull or load
 * that was interrupted leaves at most unreferenced blobs and layers, never an image
 * that cannot run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { writeJsonAtomic, readJsonIfExists } from '../state/atomic.js';
import type { StorePaths } from '../state/paths.js';
import { ensureStoreDir } from '../state/store-dirs.js';
import { parseImageRef, formatImageRef } from './refs.js';
import type { OciImageConfig } from './config.js';
import { blobPath, hasBlob, readBlob } from './blobs.js';
import { ensureLayerLink, hasLayer, layerDir, layerLinkName, layersDir, layerSize } from './layers.js';
import { parseManifest, type ImageManifest } from './manifest.js';


export interface ImageRecord {
  /** sha256:<hex> of the config blob. */
  id: string;
  /** The manifest blob (absent only for images imported before manifests were kept). */
  manifestDigest?: string;
  /** diff ids, lowest layer first (as in the config's rootfs.diff_ids). */
  layers: string[];
  /** When the image was made (the config's `created`), else when it was stored. */
  created: string;
  /** Bytes of the unpacked layers (their uncompressed tars), as `podman images` shows. */
  size: number;
  /** NAME@sha256:... of the manifest in the registries it came from. */
  repoDigests?: string[];
  /** When it entered this store. */
  stored?: string;
}

interface ImageIndex {
  images: Record<string, ImageRecord>;
  /** Canonical NAME:TAG -> image id. */
  tags: Record<string, string>;
}

function indexPath(paths: StorePaths): string {
  return join(paths.data, 'images.json');
}

export function readImageIndex(paths: StorePaths): ImageIndex {
  const index = readJsonIfExists<ImageIndex>(indexPath(paths));
  return { images: index?.images ?? {}, tags: index?.tags ?? {} };
}

/** Runs `change` on the index under the store's image lock and writes it atomically. */
export async function updateImageIndex<T>(paths: StorePaths, change: (index: ImageIndex) => T): Promise<T> {
  ensureStoreDir(paths, 'data');
  // Loaded here, not at start-up: only commands that change images pay for it.
  const { default: lockfile } = await import('proper-lockfile');
  const release = await lockfile.lock(paths.data, {
    lockfilePath: join(paths.data, 'images.lock'),
    retries: { retries: 200, minTimeout: 5, maxTimeout: 50 },
    stale: 10_000,
    realpath: false,
  });
  try {
    const index = readImageIndex(paths);
    const result = change(index);
    writeJsonAtomic(indexPath(paths), index);
    return result;
  } finally {
    await release();
  }
}

/** The canonical key of a tag as users type it (`bb` -> `bb:latest`). */
export function tagKey(reference: string): string {
  return formatImageRef(parseImageRef(reference));
}

/** Tags of an image, sorted. */
export function tagsOf(index: ImageIndex, id: string): string[] {
  return Object.keys(index.tags).filter((t) => index.tags[t] === id).sort();
}

export function readImageConfig(paths: StorePaths, id: string): OciImageConfig {
  return JSON.parse(readBlob(paths, id).toString('utf8')) as OciImageConfig;
}

export function readImageManifest(paths: StorePaths, record: ImageRecord): ImageManifest {
  if (!record.manifestDigest) {
    throw new SandboxError(`image ${record.id.slice(7, 19)} was imported by an older sandbox and has no manifest`, {
      hint: 'import or pull it again to push, save or commit it',
    });
  }
  const parsed = parseManifest(readBlob(paths, record.manifestDigest));
  if (parsed.kind !== 'manifest') throw new SandboxError(`stored manifest ${record.manifestDigest} is an index`);
  return parsed.manifest;
}

/**
 * Registers the image whose manifest blob is stored: checks that its config and layer
 * blobs are stored and its layers unpacked, then points `tags` at it (a tag that named
 * another image moves, leaving that one untagged, as Podman does). Returns the image id.
 */
export async function storeImage(
  paths: StorePaths, input: { manifestDigest: string }, options: { tags: string[]; repoDigest?: string },
): Promise<string> {
  const tags = options.tags.map(tagKey);
  const parsed = parseManifest(readBlob(paths, input.manifestDigest));
  if (parsed.kind !== 'manifest') throw new SandboxError('an image index cannot be stored as an image', { hint: 'store the manifest chosen from it' });
  const { manifest } = parsed;
  const id = manifest.config.digest;
  const config = readImageConfig(paths, id);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) {
    throw new SandboxError(`image config names ${Array.isArray(diffIds) ? diffIds.length : 0} layers but the manifest ${manifest.layers.length}`, {
      hint: 'the image is malformed',
    });
  }
  manifest.layers.forEach((l, i) => {
    if (!hasBlob(paths, l.digest)) throw new SandboxError(`layer blob ${l.digest} is missing`);
    if (!hasLayer(paths, diffIds[i]!)) throw new SandboxError(`layer ${diffIds[i]} is not unpacked`);
  });
  const now = new Date().toISOString();
  const record: ImageRecord = {
    id,
    manifestDigest: input.manifestDigest,
    layers: diffIds,
    created: config.created ?? now,
    size: diffIds.reduce((a, d, i) => a + (layerSize(paths, d) ?? manifest.layers[i]!.size), 0),
    stored: now,
  };
  await updateImageIndex(paths, (index) => {
    const old = index.images[id];
    const repoDigests = new Set([...(old?.repoDigests ?? []), ...(options.repoDigest ? [options.repoDigest] : [])]);
    index.images[id] = { ...record, ...(old?.stored ? { stored: old.stored } : {}), ...(repoDigests.size ? { repoDigests: [...repoDigests].sort() } : {}) };
    for (const t of tags) index.tags[t] = id;
  });
  return id;
}

export interface ResolvedImage {
  record: ImageRecord;
  config: OciImageConfig;
  /** Lower directories for the overlay, topmost first: short links relative to `base`. */
  lowers: string[];
  /** The layers directory the lowers are relative to. */
  base: string;
}

/** The image id `reference` names in `index` (NAME[:TAG], NAME@DIGEST, full id or a unique id prefix), if any. */
export function findImageId(index: ImageIndex, reference: string): string | undefined {
  const bare = reference.replace(/^sha256:/, '');
  if (/^[a-f0-9]{4,64}$/.test(bare)) {
    const matches = Object.keys(index.images).filter((k) => k.slice(7).startsWith(bare));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1 && !reference.includes(':')) {
      throw new SandboxError(`image id prefix "${reference}" is ambiguous (${matches.length} images)`, { hint: 'give more digits of the id' });
    }
  }
  let ref;
  try { ref = parseImageRef(reference); } catch { return undefined; }
  if (ref.digest) {
    // NAME@DIGEST names the image pulled with that manifest digest (or whose id it is).
    const wanted = `${ref.name}@${ref.digest}`;
    return Object.values(index.images).find((r) => r.repoDigests?.includes(wanted) || r.manifestDigest === ref.digest)?.id;
  }
  const exact = index.tags[formatImageRef(ref)];
  if (exact || ref.name.includes('/') && /[.:]|^localhost\//.test(ref.name)) return exact;
  // A short name (no registry) that is not a tag as typed: the same name under localhost/
  // (what Podman calls images it built or imported, and writes into its archives) or
  // Docker Hub's, when exactly one of them exists, as Podman resolves short names locally.
  const candidates = [`localhost/${ref.name}`, `docker.io/${ref.name}`, ...(ref.name.includes('/') ? [] : [`docker.io/library/${ref.name}`])]
    .map((name) => index.tags[formatImageRef({ name, tag: ref.tag })])
    .filter((id): id is string => !!id);
  const unique = [...new Set(candidates)];
  return unique.length === 1 ? unique[0] : undefined;
}

/** The record `reference` names in `index`, or the one-line "not found" every image command gives. */
export function findImageRecord(index: ImageIndex, reference: string): ImageRecord {
  const id = findImageId(index, reference);
  const record = id ? index.images[id] : undefined;
  if (!record) {
    throw new SandboxError(`image "${reference}" not found`, {
      hint: '`sandbox images` lists what there is; pull it (`sandbox pull IMAGE`), load or import it; `run` also takes the built-in `host` image or `--rootfs DIR`',
    });
  }
  return record;
}

/** Finds an image by NAME[:TAG], NAME@DIGEST, full id, or a unique id prefix. */
export function resolveImage(paths: StorePaths, reference: string): ResolvedImage {
  const record = findImageRecord(readImageIndex(paths), reference);
  // Read, not re-hashed, on the run path: blobs were verified when they arrived.
  const config = JSON.parse(readFileSync(blobPath(paths, record.id), 'utf8')) as OciImageConfig;
  const lowers = [...record.layers].reverse().map((d) => { ensureLayerLink(paths, d); return layerLinkName(d); });
  return { record, config, lowers, base: layersDir(paths) };
}

/** Layer directories and blobs that an image needs (for garbage collection). */
export function imageFiles(paths: StorePaths, record: ImageRecord): { blobs: string[]; layers: string[] } {
  const blobs = [record.id];
  if (record.manifestDigest) {
    blobs.push(record.manifestDigest);
    try {
      const m = readImageManifest(paths, record);
      for (const l of m.layers) blobs.push(l.digest);
    } catch { /* a damaged manifest keeps nothing alive */ }
  }
  return { blobs, layers: record.layers.map((d) => layerDir(paths, d)) };
}
