/**
 * The image commands over the store: `images`, `tag`, `rmi`, `image inspect`,
 * `history`, `image prune`, with Podman's rules: `rmi NAME:TAG` of an image with other
 * tags only untags it; an image a sandbox uses is not removed unless forced (then
 * those sandboxes go first); blobs and layers go when no image names them any more.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { removeTree } from '../runtime/userns.js';
import {
  findImageRecord, imageFiles, readImageConfig, readImageIndex, readImageManifest, tagKey, tagsOf, updateImageIndex,
  type ImageRecord,
} from '../images/store.js';
import { blobPath, blobsDir } from '../images/blobs.js';
import { imageStoreLeftovers } from '../images/leftovers.js';
import { layerDir, layersDir, layerSize, removeLayerDir } from '../images/layers.js';
import type { OciImageConfig } from '../images/config.js';
import { parseImageRef } from '../images/refs.js';
import { listSandboxes, removeSandbox } from './lifecycle.js';
import { appendEvent } from '../state/events.js';

export interface ImageSummary {
  id: string;
  /** NAME (without tag), `<none>` when untagged. */
  repository: string;
  tag: string;
  /** Manifest digest. */
  digest?: string;
  created: string;
  size: number;
  /** Sandboxes (any state) created from it. */
  sandboxes: number;
  dangling: boolean;
  names: string[];
}

function sandboxesByImage(paths: StorePaths): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const v of listSandboxes(paths, { all: true })) {
    if (!v.record.imageId) continue;
    map.set(v.record.imageId, [...(map.get(v.record.imageId) ?? []), v.record.name]);
  }
  return map;
}

/** `images`: a row per tag (an untagged image once, as <none>), newest first. */
export function listImages(paths: StorePaths): ImageSummary[] {
  const index = readImageIndex(paths);
  const users = sandboxesByImage(paths);
  const rows: ImageSummary[] = [];
  for (const record of Object.values(index.images)) {
    const names = tagsOf(index, record.id);
    const base = {
      id: record.id, created: record.created, size: record.size, sandboxes: users.get(record.id)?.length ?? 0,
      dangling: names.length === 0, names, ...(record.manifestDigest ? { digest: record.manifestDigest } : {}),
    };
    if (!names.length) rows.push({ ...base, repository: '<none>', tag: '<none>' });
    for (const n of names) {
      const ref = parseImageRef(n);
      rows.push({ ...base, repository: ref.name, tag: ref.tag });
    }
  }
  return rows.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : a.repository < b.repository ? -1 : 1));
}

/** The record `reference` names, or a one-line error. */
export function findImage(paths: StorePaths, reference: string): ImageRecord {
  return findImageRecord(readImageIndex(paths), reference);
}

/** `tag SOURCE TARGET...`: more names for an image. */
export async function tagImage(paths: StorePaths, source: string, targets: string[]): Promise<string> {
  const keys = targets.map(tagKey); // validates every target before any change
  const id = await updateImageIndex(paths, (index) => {
    const found = findImageRecord(index, source).id;
    for (const k of keys) index.tags[k] = found;
    return found;
  });
  for (const k of keys) appendEvent(paths, { type: 'image', action: 'tag', id, name: k });
  return id;
}

/** `untag IMAGE [NAME...]`: removes names (all of them without NAME); the image stays. */
export async function untagImage(paths: StorePaths, image: string, names: string[] = []): Promise<string[]> {
  const { id, wanted } = await updateImageIndex(paths, (index) => {
    const found = findImageRecord(index, image).id;
    const own = tagsOf(index, found);
    const gone = names.length ? names.map(tagKey) : own;
    for (const w of gone) {
      if (!own.includes(w)) throw new SandboxError(`${w} is not a name of image ${found.slice(7, 19)}`, { hint: `its names: ${own.join(', ') || 'none'}` });
      delete index.tags[w];
    }
    return { id: found, wanted: gone };
  });
  for (const w of wanted) appendEvent(paths, { type: 'image', action: 'untag', id, name: w });
  return wanted;
}

export interface RemoveImagesReport {
  untagged: string[];
  /** Ids of the images removed. */
  deleted: string[];
  /** Sandboxes removed with them (`-f`). */
  removedSandboxes: string[];
  reclaimed: number;
}

/**
 * `rmi IMAGE...`. A NAME:TAG of an image that has other names only loses that name. An
 * image that sandboxes use is refused, unless `force`: then they are removed first.
 */
export async function removeImages(paths: StorePaths, references: string[], options: { force?: boolean } = {}): Promise<RemoveImagesReport> {
  const report: RemoveImagesReport = { untagged: [], deleted: [], removedSandboxes: [], reclaimed: 0 };
  const victims = new Map<string, ImageRecord>();
  for (const reference of references) {
    const index = readImageIndex(paths);
    const record = findImageRecord(index, reference);
    const names = tagsOf(index, record.id);
    let byName: string | undefined;
    try { byName = names.includes(tagKey(reference)) ? tagKey(reference) : undefined; } catch { byName = undefined; }
    if (byName && names.length > 1 && !options.force) {
      await untagImage(paths, record.id, [byName]);
      report.untagged.push(byName);
      continue;
    }
    const users = sandboxesByImage(paths).get(record.id) ?? [];
    if (users.length && !options.force) {
      throw new SandboxError(`image ${reference} is in use by sandbox${users.length > 1 ? 'es' : ''} ${users.join(', ')}`, {
        hint: `remove ${users.length > 1 ? 'them' : 'it'} first (sandbox rm ${users.join(' ')}), or use rmi -f to remove ${users.length > 1 ? 'them' : 'it'} too`,
      });
    }
    for (const name of users) {
      await removeSandbox(paths, name, { force: true });
      report.removedSandboxes.push(name);
    }
    victims.set(record.id, record);
  }
  if (victims.size) {
    await updateImageIndex(paths, (index) => {
      for (const id of victims.keys()) {
        for (const t of tagsOf(index, id)) {
          report.untagged.push(t);
          appendEvent(paths, { type: 'image', action: 'untag', id, name: t });
          delete index.tags[t];
        }
        delete index.images[id];
      }
    });
    // A sandbox made from one of them meanwhile (its `run` checks the index after writing
    // its record, see api/run.ts): that image goes back, untagged, and keeps its files.
    const usedNow = sandboxesByImage(paths);
    const kept = [...victims.values()].filter((r) => usedNow.has(r.id));
    if (kept.length) {
      await updateImageIndex(paths, (index) => { for (const r of kept) index.images[r.id] = r; });
      for (const r of kept) victims.delete(r.id);
    }
    report.deleted.push(...victims.keys());
    for (const id of victims.keys()) appendEvent(paths, { type: 'image', action: 'remove', id });
    report.reclaimed = await collectGarbage(paths, [...victims.values()]);
  }
  return report;
}

function sizeOf(path: string): number {
  try { return statSync(path).size; } catch { return 0; }
}

/** The blobs and layer directories that the images in the index need. */
function referencedFiles(paths: StorePaths): { blobs: Set<string>; layers: Set<string> } {
  const blobs = new Set<string>();
  const layers = new Set<string>();
  for (const r of Object.values(readImageIndex(paths).images)) {
    const f = imageFiles(paths, r);
    f.blobs.forEach((b) => blobs.add(b));
    f.layers.forEach((l) => layers.add(l));
  }
  return { blobs, layers };
}

/**
 * Removes the blobs and layers of `gone` images that no remaining image names. Returns
 * the bytes of blobs removed (layer directories are counted by `system df`, not here).
 */
async function collectGarbage(paths: StorePaths, gone: ImageRecord[]): Promise<number> {
  const { blobs: keepBlobs, layers: keepLayers } = referencedFiles(paths);
  let reclaimed = 0;
  for (const r of gone) {
    const f = imageFiles(paths, r);
    for (const b of f.blobs) {
      if (keepBlobs.has(b)) continue;
      reclaimed += sizeOf(blobPath(paths, b));
      await removeTree(blobPath(paths, b));
    }
    for (const l of f.layers) if (!keepLayers.has(l)) await removeLayerDir(paths, l);
  }
  return reclaimed;
}

export interface PruneImagesReport {
  deleted: string[];
  reclaimed: number;
}

/**
 * `image prune`: untagged images no sandbox uses (with `all`, every image no sandbox
 * uses), blobs and layers no image names (older than `graceMs`, so a pull that is
 * storing them right now keeps them), and the leftovers of killed pulls.
 */
export async function pruneImages(paths: StorePaths, options: { all?: boolean; graceMs?: number } = {}): Promise<PruneImagesReport> {
  const graceMs = options.graceMs ?? 10 * 60_000;
  const users = sandboxesByImage(paths);
  const index = readImageIndex(paths);
  const victims = Object.values(index.images)
    .filter((r) => !users.has(r.id) && (options.all || tagsOf(index, r.id).length === 0))
    .map((r) => r.id);
  const report = victims.length ? await removeImages(paths, victims) : { deleted: [], reclaimed: 0 };
  let reclaimed = report.reclaimed;
  for (const l of imageStoreLeftovers(paths, graceMs)) await removeTree(l.path);
  // Orphans: blobs and layers that no image names (an import killed after its blob was stored).
  const { blobs: keepBlobs, layers: keepLayers } = referencedFiles(paths);
  const old = (p: string) => { try { return Date.now() - statSync(p).mtimeMs > graceMs; } catch { return false; } };
  let blobNames: string[] = [];
  try { blobNames = readdirSync(blobsDir(paths)); } catch { blobNames = []; }
  for (const hex of blobNames) {
    const p = join(blobsDir(paths), hex);
    if (!keepBlobs.has(`sha256:${hex}`) && old(p)) { reclaimed += sizeOf(p); await removeTree(p); }
  }
  let layerNames: string[] = [];
  try { layerNames = readdirSync(layersDir(paths)).filter((n) => /^[a-f0-9]{64}$/.test(n)); } catch { layerNames = []; }
  for (const hex of layerNames) {
    const p = layerDir(paths, `sha256:${hex}`);
    if (!keepLayers.has(p) && old(p)) await removeLayerDir(paths, p);
  }
  return { deleted: report.deleted, reclaimed };
}

/** `image inspect`: Podman's field names for what we hold. */
export function inspectImage(paths: StorePaths, reference: string): Record<string, unknown> {
  const record = findImage(paths, reference);
  const index = readImageIndex(paths);
  const config: OciImageConfig = readImageConfig(paths, record.id);
  let manifestMediaType: string | undefined;
  try { manifestMediaType = record.manifestDigest ? readImageManifest(paths, record).mediaType : undefined; } catch { manifestMediaType = undefined; }
  return {
    Id: record.id.slice(7),
    Digest: record.manifestDigest,
    RepoTags: tagsOf(index, record.id),
    RepoDigests: record.repoDigests ?? [],
    Created: record.created,
    Config: config.config ?? {},
    Architecture: config.architecture,
    Os: config.os,
    ...(config.variant ? { Variant: config.variant } : {}),
    Size: record.size,
    RootFS: { Type: 'layers', Layers: record.layers },
    Labels: config.config?.Labels ?? null,
    History: config.history ?? [],
    ManifestType: manifestMediaType,
    ...(config.author ? { Author: config.author } : {}),
  };
}

export interface HistoryRow {
  /** The layer's diff id, or `<missing>` for history entries without a layer. */
  layer: string;
  /** Bytes of the layer's uncompressed tar (0 for entries without a layer). */
  size: number;
  created?: string;
  createdBy: string;
  comment: string;
  emptyLayer: boolean;
}

/** `history`: the config's history, newest first, each non-empty entry paired with its layer. */
export function imageHistory(paths: StorePaths, reference: string): HistoryRow[] {
  const record = findImage(paths, reference);
  const config = readImageConfig(paths, record.id);
  const layers = [...record.layers];
  const rows: HistoryRow[] = (config.history ?? []).map((h) => {
    const emptyLayer = !!h.empty_layer;
    const layer = emptyLayer ? undefined : layers.shift();
    return {
      layer: layer ?? '<missing>',
      size: layer ? layerSize(paths, layer) ?? 0 : 0,
      ...(h.created ? { created: h.created } : {}),
      createdBy: h.created_by ?? '',
      comment: h.comment ?? '',
      emptyLayer,
    };
  });
  // Layers the history does not mention (hand-made images) still show.
  for (const l of layers) rows.push({ layer: l, size: layerSize(paths, l) ?? 0, createdBy: '', comment: '', emptyLayer: false });
  return rows.reverse();
}
