/**
 * The image index: which images the store holds and which tags name them, in
 * <data>/images.json, changed only under its lock. An image is its manifest (a blob),
 * which names its config (a blob; its digest is the image id, as Docker and Podman
 * name images) and its layer blobs; each layer is also unpacked once (layers.ts).
 * An image enters the index only after all of that is in the store, so a pull or load
 * that was interrupted leaves at most unreferenced blobs and layers (gc.ts collects
 * them), never an image that cannot run. A second copy of the index (its backup) keeps
 * what the blobs cannot give back, the tags: a damaged images.json is rebuilt from the
 * two (readImageIndex, repairImageIndex), never a reason for "internal error".
 */
import { withFileLock } from '../state/file-lock.js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { writeJsonAtomic } from '../state/atomic.js';
import type { StorePaths } from '../state/paths.js';
import { ensureStoreDir } from '../state/store-dirs.js';
import { parseImageRef, formatImageRef, hasDomain, qualifiedName } from './refs.js';
import type { OciImageConfig } from './config.js';
import { blobPath, blobsDir, hasBlob, readBlob } from './blobs.js';
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

export interface ImageIndex {
  images: Record<string, ImageRecord>;
  /** Canonical NAME:TAG -> image id. */
  tags: Record<string, string>;
  /** Set (never written) when images.json could not be read and this view was rebuilt. */
  damaged?: IndexDamage;
}

/** What was wrong with images.json, and what of it the rebuilt view could not recover. */
export interface IndexDamage {
  path: string;
  reason: string;
  /** Where the images and tags of the rebuilt view came from. */
  recoveredFrom: string;
  /** What could not be recovered, one line each. */
  lost: string[];
}

export function imageIndexPath(paths: StorePaths): string {
  return join(paths.data, 'images.json');
}

/**
 * The second copy of the index, written (atomically, after images.json) with every
 * change: the one thing the blobs cannot give back is which tag names which image (and
 * where an image was pulled from), so that is kept twice; a damaged images.json is
 * rebuilt from this copy plus the manifests in the blob store (rebuildImageIndex).
 */
export function imageIndexBackupPath(paths: StorePaths): string {
  return join(paths.data, 'images.backup.json');
}

const DIGEST_KEY = /^sha256:[a-f0-9]{64}$/;

/** Parses and checks the shape of an index document; a string says why it is not one. */
export function parseImageIndex(text: string): ImageIndex | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `it is not JSON (${(err as Error).message.replace(/\s+/g, ' ').slice(0, 120)})`;
  }
  const d = doc as Partial<ImageIndex> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d)) return 'it is not a JSON object';
  const images = d.images ?? {};
  const tags = d.tags ?? {};
  if (typeof images !== 'object' || Array.isArray(images) || !images) return '"images" is not an object';
  if (typeof tags !== 'object' || Array.isArray(tags) || !tags) return '"tags" is not an object';
  for (const [id, r] of Object.entries(images)) {
    const rec = r as Partial<ImageRecord> | null;
    if (!DIGEST_KEY.test(id) || !rec || typeof rec !== 'object' || rec.id !== id) return `image entry ${JSON.stringify(id).slice(0, 80)} is malformed`;
    if (!Array.isArray(rec.layers) || !rec.layers.every((l) => typeof l === 'string' && DIGEST_KEY.test(l))) return `image ${id.slice(7, 19)} has no valid layer list`;
    if (typeof rec.created !== 'string' || typeof rec.size !== 'number') return `image ${id.slice(7, 19)} lacks its creation time or size`;
    if (rec.manifestDigest !== undefined && (typeof rec.manifestDigest !== 'string' || !DIGEST_KEY.test(rec.manifestDigest))) return `image ${id.slice(7, 19)} has a malformed manifest digest`;
  }
  for (const [t, id] of Object.entries(tags)) if (typeof id !== 'string') return `tag ${JSON.stringify(t).slice(0, 80)} is malformed`;
  return { images: images as Record<string, ImageRecord>, tags: qualifyLegacyTags(tags as Record<string, string>, images as Record<string, ImageRecord>) };
}

/**
 * Stores written before names were qualified keyed short names as typed (`bb:latest`).
 * They read as Podman names them: `docker.io/library/NAME` when the image was pulled
 * under that name (a repo digest NAME@... says so: our pulls of a short name went to
 * Docker Hub), else `localhost/NAME`. The next write of the index keeps the new keys.
 * A legacy key whose new form is already taken stays as it is (still found by lookups).
 */
export function qualifyLegacyTags(tags: Record<string, string>, images: Record<string, ImageRecord>): Record<string, string> {
  if (Object.keys(tags).every((t) => hasDomain(t))) return tags; // the common case: nothing to do
  const out: Record<string, string> = {};
  const legacy: [string, string][] = [];
  for (const [t, id] of Object.entries(tags)) {
    if (hasDomain(t)) out[t] = id;
    else legacy.push([t, id]);
  }
  for (const [t, id] of legacy) {
    let ref;
    try { ref = parseImageRef(t); } catch { out[t] = id; continue; }
    const pulled = images[id]?.repoDigests?.some((d) => d.startsWith(`${ref.name}@`));
    const name = pulled ? dockerHubName(ref.name) : qualifiedName(ref.name);
    const key = formatImageRef({ ...ref, name });
    if (out[key] === undefined) out[key] = id;
    else out[t] = id;
  }
  return out;
}

/** Docker Hub's full name of a short one: `busybox` -> `docker.io/library/busybox`, `team/app` -> `docker.io/team/app`. */
function dockerHubName(name: string): string {
  return name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
}

/** An index file: its content, `undefined` when it does not exist, or why it cannot be read. */
function readIndexFile(path: string): ImageIndex | undefined | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return { error: `it cannot be read (${code ?? String(err)})` };
  }
  const parsed = parseImageIndex(text);
  return typeof parsed === 'string' ? { error: parsed } : parsed;
}

/**
 * The index. When images.json is damaged (or gone while its backup is not), the view is
 * rebuilt from the backup and the stored manifests, with `damaged` saying so: reading
 * commands work from it, changing ones refuse (updateImageIndex) until `system check
 * --repair` writes it back (repairImageIndex).
 */
export function readImageIndex(paths: StorePaths): ImageIndex {
  const main = readIndexFile(imageIndexPath(paths));
  if (main && !('error' in main)) return main;
  const backupFile = readIndexFile(imageIndexBackupPath(paths));
  if (main === undefined && backupFile === undefined) return { images: {}, tags: {} };
  const reason = main === undefined ? 'it is missing, but its backup exists' : main.error;
  const backup = backupFile && !('error' in backupFile) ? backupFile : undefined;
  const rebuilt = rebuildImageIndex(paths, backup);
  const lost = [...rebuilt.lost];
  if (!backup) {
    lost.unshift(backupFile === undefined
      ? `the tags (and registry digests) of the images: there is no backup (${imageIndexBackupPath(paths)})`
      : `the tags (and registry digests) of the images: the backup ${imageIndexBackupPath(paths)} is damaged too (${(backupFile as { error: string }).error})`);
  }
  return {
    images: rebuilt.index.images, tags: rebuilt.index.tags,
    damaged: {
      path: imageIndexPath(paths), reason,
      recoveredFrom: backup ? `its backup ${imageIndexBackupPath(paths)} and the stored manifests` : 'the stored manifests (images whose config and layers are present)',
      lost,
    },
  };
}

/** The one-line error of a command that would change a damaged index. */
export function damagedIndexError(d: IndexDamage): SandboxError {
  return new SandboxError(`the image index ${d.path} is damaged: ${d.reason}`, {
    hint: 'run `sandbox system check --repair` to rebuild it from its backup and the stored manifests',
  });
}

/** Manifests are small: blobs larger than this are layers, not read when rebuilding. */
const MANIFEST_MAX = 4 << 20;

/**
 * An index rebuilt from the store: every image whose manifest, config and layer blobs are
 * stored and whose layers are unpacked, plus what `backup` (the second copy of the
 * index) says about them (tags, registry digests, when stored). Images of the backup
 * that are not whole any more are kept too (as the index would keep them: `system
 * check` reports them). Returns what could not be recovered.
 */
export function rebuildImageIndex(paths: StorePaths, backup?: ImageIndex): { index: ImageIndex; lost: string[] } {
  const images: Record<string, ImageRecord> = { ...(backup?.images ?? {}) };
  const found = new Map<string, { record: ImageRecord; mtime: number }>();
  let names: string[] = [];
  try { names = readdirSync(blobsDir(paths)).filter((n) => /^[a-f0-9]{64}$/.test(n)); } catch { names = []; }
  for (const hex of names) {
    const digest = `sha256:${hex}`;
    let st;
    try { st = statSync(blobPath(paths, digest)); } catch { continue; }
    if (!st.isFile() || st.size > MANIFEST_MAX) continue;
    let record: ImageRecord;
    try {
      const bytes = readBlob(paths, digest);
      if (bytes[0] !== 0x7b) continue; // '{': not a JSON document
      const parsed = parseManifest(bytes);
      if (parsed.kind !== 'manifest') continue;
      const { manifest } = parsed;
      const config = readImageConfig(paths, manifest.config.digest);
      const diffIds = config.rootfs?.diff_ids;
      if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) continue;
      if (!manifest.layers.every((l, i) => hasBlob(paths, l.digest) && hasLayer(paths, diffIds[i]!))) continue;
      record = {
        id: manifest.config.digest, manifestDigest: digest, layers: diffIds,
        created: typeof config.created === 'string' ? config.created : st.mtime.toISOString(),
        size: diffIds.reduce((a, d, i) => a + (layerSize(paths, d) ?? manifest.layers[i]!.size), 0),
        stored: st.mtime.toISOString(),
      };
    } catch {
      continue; // not a manifest, or one whose image is not whole
    }
    const known = found.get(record.id);
    // Two manifests of one config (a docker and an OCI one): the backup's choice, else the newer.
    if (known && (backup?.images[record.id]?.manifestDigest === known.record.manifestDigest || known.mtime >= st.mtimeMs)) continue;
    found.set(record.id, { record, mtime: st.mtimeMs });
  }
  for (const [id, { record }] of found) if (!images[id]) images[id] = record;
  const tags: Record<string, string> = {};
  const lost: string[] = [];
  for (const [t, id] of Object.entries(backup?.tags ?? {})) {
    if (images[id]) tags[t] = id;
    else lost.push(`tag ${t}: its image ${id.slice(7, 19)} is not in the store`);
  }
  return { index: { images, tags }, lost };
}

/** Writes the index and its backup (the backup second: a crash between leaves images.json whole). */
function writeImageIndex(paths: StorePaths, index: ImageIndex): void {
  const { damaged: _, ...doc } = index;
  writeJsonAtomic(imageIndexPath(paths), doc);
  writeJsonAtomic(imageIndexBackupPath(paths), doc);
}

/**
 * Runs `fn` under the store's image lock: every change of the index, every claim of a
 * transfer (gc.ts) and every decision of the garbage collector is made under it.
 */
export async function withImageLock<T>(paths: StorePaths, fn: () => T | Promise<T>): Promise<T> {
  ensureStoreDir(paths, 'data');
  return withFileLock({
    dir: paths.data,
    lockPath: join(paths.data, 'images.lock'),
    staleMs: 10_000,
    waitMs: 10_000,
    busy: (cause) => new SandboxError('the image store is busy (another command holds its lock)', { hint: 'try again in a moment', cause }),
  }, fn);
}

/** Runs `change` on the index under the store's image lock and writes it atomically. */
export async function updateImageIndex<T>(paths: StorePaths, change: (index: ImageIndex) => T): Promise<T> {
  return withImageLock(paths, () => {
    const index = readImageIndex(paths);
    if (index.damaged) throw damagedIndexError(index.damaged);
    const result = change(index);
    writeImageIndex(paths, index);
    return result;
  });
}

/**
 * `system check --repair` of the index: a damaged images.json is written back from the
 * rebuilt view; a missing or damaged backup is written from images.json. Returns what
 * was wrong (undefined when nothing was).
 */
export async function repairImageIndex(paths: StorePaths, options: { dryRun?: boolean } = {}): Promise<{ damage?: IndexDamage; backup?: string; images: number; tags: number } | undefined> {
  const run = () => {
    const index = readImageIndex(paths);
    const result = { images: Object.keys(index.images).length, tags: Object.keys(index.tags).length };
    if (index.damaged) {
      if (!options.dryRun) writeImageIndex(paths, index);
      return { damage: index.damaged, ...result };
    }
    if (!existsSync(imageIndexPath(paths))) return undefined; // a store without images
    const backup = readIndexFile(imageIndexBackupPath(paths));
    if (backup === undefined || 'error' in backup) {
      if (!options.dryRun) writeJsonAtomic(imageIndexBackupPath(paths), index);
      return { backup: backup === undefined ? 'it is missing' : backup.error, ...result };
    }
    return undefined;
  };
  return options.dryRun ? run() : withImageLock(paths, run);
}

/** The canonical key of a tag as users type it, as Podman names it (`bb` -> `localhost/bb:latest`). */
export function tagKey(reference: string): string {
  const ref = parseImageRef(reference);
  return formatImageRef({ ...ref, name: qualifiedName(ref.name) });
}

/** Which of the image's names `reference` is (see tagNamed), if it is one. */
export function tagOfImage(index: ImageIndex, id: string, reference: string): string | undefined {
  const key = tagNamed(index, reference);
  return key !== undefined && index.tags[key] === id ? key : undefined;
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
  const whole = () => manifest.layers.forEach((l, i) => {
    if (!hasBlob(paths, l.digest)) throw new SandboxError(`layer blob ${l.digest} is missing`);
    if (!hasLayer(paths, diffIds[i]!)) throw new SandboxError(`layer ${diffIds[i]} is not unpacked`);
  });
  whole();
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
    // Checked again under the lock, where the garbage collector decides: what the index
    // names from now on is never collected.
    whole();
    if (!hasBlob(paths, input.manifestDigest) || !hasBlob(paths, id)) throw new SandboxError(`the manifest or config of image ${id.slice(7, 19)} is missing`);
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
  const key = tagNamed(index, reference);
  return key === undefined ? undefined : index.tags[key];
}

/**
 * The name (a key of `index.tags`) that NAME[:TAG] `reference` resolves to: the name as
 * typed; for localhost/NAME also a legacy key NAME; for a short name the same name under
 * localhost/ or Docker Hub's, when exactly one image has one of them (as Podman resolves
 * short names locally).
 */
export function tagNamed(index: ImageIndex, reference: string): string | undefined {
  let ref;
  try { ref = parseImageRef(reference); } catch { return undefined; }
  if (ref.digest) return undefined;
  const exact = formatImageRef(ref);
  if (index.tags[exact]) return exact;
  if (ref.name.startsWith('localhost/')) {
    const legacy = formatImageRef({ ...ref, name: ref.name.slice('localhost/'.length) });
    return index.tags[legacy] ? legacy : undefined;
  }
  if (hasDomain(ref.name)) return undefined;
  const candidates = [`localhost/${ref.name}`, `docker.io/${ref.name}`, ...(ref.name.includes('/') ? [] : [`docker.io/library/${ref.name}`])]
    .map((name) => formatImageRef({ name, tag: ref.tag }))
    .filter((k) => index.tags[k]);
  return new Set(candidates.map((k) => index.tags[k])).size === 1 ? candidates[0] : undefined;
}

/** The record `reference` names in `index`, or the one-line "not found" every image command gives. */
export function findImageRecord(index: ImageIndex, reference: string): ImageRecord {
  const id = findImageId(index, reference);
  const record = id ? index.images[id] : undefined;
  if (!record) {
    throw new SandboxError(`image "${reference}" not found`, {
      hint: '`sandbox images` lists what there is; pull it (`sandbox pull IMAGE`), load or import it; `run` also takes the built-in `host` image or `--rootfs DIR`',
      code: 'no-such-image',
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

/**
 * A sandbox's image as `inspect` shows it, as Podman's: Image (the id, hex), ImageName
 * (the name it was made from, as the store names it: `bb` -> localhost/bb:latest, if that
 * still names the image), ImageDigest (its manifest's digest). Sandboxes of the host image
 * or a --rootfs have no image id: ImageName is what they were given.
 */
export function sandboxImageFields(paths: StorePaths, record: { image: string; imageId?: string }): { Image: string; ImageName: string; ImageDigest: string } {
  if (!record.imageId) return { Image: '', ImageName: record.image, ImageDigest: '' };
  const index = readImageIndex(paths);
  let name = tagOfImage(index, record.imageId, record.image);
  if (!name) { try { name = tagKey(record.image); } catch { name = record.image; } }
  return { Image: record.imageId.slice(7), ImageName: name, ImageDigest: index.images[record.imageId]?.manifestDigest ?? '' };
}
