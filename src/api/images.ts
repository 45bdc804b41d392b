/**
 * The image commands over the store: `images`, `tag`, `rmi`, `image inspect`,
 * `history`, `image prune`, with Podman's rules: `rmi NAME:TAG` of an image with other
 * tags only untags it; an image a sandbox uses is not removed unless forced (then
 * those sandboxes go first); blobs and layers go when no image names them any more
 * (images/gc.ts collects them, and any other garbage of the image store, after each).
 */
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import {
  damagedIndexError, findImageRecord, readImageConfig, readImageIndex, readImageManifest, tagKey, tagOfImage, tagsOf, updateImageIndex,
  type ImageRecord,
} from '../images/store.js';
import { collectImageGarbage } from '../images/gc.js';
import { layerSize } from '../images/layers.js';
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
    const gone = names.length ? names.map((n) => {
      const key = tagOfImage(index, found, n);
      if (!key) throw new SandboxError(`${tagKey(n)} is not a name of image ${found.slice(7, 19)}`, { hint: `its names: ${own.join(', ') || 'none'}` });
      return key;
    }) : own;
    for (const w of gone) delete index.tags[w];
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
 * Then the image store's garbage is collected (none of `references`: only that).
 */
export async function removeImages(paths: StorePaths, references: string[], options: { force?: boolean; collect?: boolean } = {}): Promise<RemoveImagesReport> {
  const report: RemoveImagesReport = { untagged: [], deleted: [], removedSandboxes: [], reclaimed: 0 };
  const damage = readImageIndex(paths).damaged;
  if (damage) throw damagedIndexError(damage);
  const victims = new Map<string, ImageRecord>();
  for (const reference of references) {
    const index = readImageIndex(paths);
    const record = findImageRecord(index, reference);
    const names = tagsOf(index, record.id);
    const byName = tagOfImage(index, record.id, reference);
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
  }
  // What they left, and any other garbage (a failed import's blob), goes now (unless the
  // caller removes more first: `collect: false`).
  if (options.collect !== false) report.reclaimed = (await collectImageGarbage(paths)).reclaimed;
  return report;
}

export interface PruneImagesReport {
  deleted: string[];
  reclaimed: number;
}

/**
 * `image prune`: untagged images no sandbox uses (with `all`, every image no sandbox
 * uses), then the store's garbage (images/gc.ts): blobs and layers no image names and no
 * transfer in progress claims, and what dead processes left (temporary blobs, staging
 * directories). "Reclaimed" counts all of it. `match` narrows the images (`prune --filter`).
 */
export async function pruneImages(paths: StorePaths, options: { all?: boolean; match?: (image: ImageRecord) => boolean } = {}): Promise<PruneImagesReport> {
  const index = readImageIndex(paths);
  if (index.damaged) throw damagedIndexError(index.damaged);
  const users = sandboxesByImage(paths);
  const victims = Object.values(index.images)
    .filter((r) => !users.has(r.id) && (options.all || tagsOf(index, r.id).length === 0) && (!options.match || options.match(r)))
    .map((r) => r.id);
  if (victims.length) return removeImages(paths, victims);
  const { reclaimed } = await collectImageGarbage(paths);
  return { deleted: [], reclaimed };
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
    RepoDigests: repoDigestsOf(index, record),
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
    Author: config.author ?? '',
    Comment: config.history?.at(-1)?.comment ?? '',
    User: config.config?.User ?? '',
    VirtualSize: record.size,
  };
}

/**
 * RepoDigests as Podman shows them: NAME@DIGEST of the manifest under each of the image's
 * names, and those it was pulled under, sorted, once each.
 */
export function repoDigestsOf(index: { tags: Record<string, string> }, record: Pick<ImageRecord, 'id' | 'manifestDigest' | 'repoDigests'>): string[] {
  const own = record.manifestDigest ? tagsOf({ images: {}, tags: index.tags }, record.id).map((t) => `${parseImageRef(t).name}@${record.manifestDigest}`) : [];
  return [...new Set([...own, ...(record.repoDigests ?? [])])].sort();
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
