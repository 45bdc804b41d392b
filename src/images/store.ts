/**
 * The image store, shaped after OCI: configs as blobs by sha256 digest
 * (<data>/blobs/sha256/<hex>), each layer unpacked once under <data>/layers/<hex>/diff
 * (hex of its diff id) and shared by every image and sandbox that uses it, and an
 * index of images and tags in <data>/images.json, changed only under its lock.
 */
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic, readJsonIfExists } from '../state/atomic.js';
import type { StorePaths } from '../state/paths.js';
import { parseImageRef, formatImageRef } from './refs.js';
import type { OciImageConfig } from './config.js';

export interface ImageRecord {
  /** sha256:<hex> of the config blob, as Docker and Podman name images. */
  id: string;
  /** diff ids, lowest layer first (as in the config's rootfs.diff_ids). */
  layers: string[];
  created: string;
  size: number;
}

interface ImageIndex {
  images: Record<string, ImageRecord>;
  tags: Record<string, string>;
}

export function blobPath(paths: StorePaths, digest: string): string {
  return join(paths.data, 'blobs', 'sha256', hexOf(digest));
}

export function layerDir(paths: StorePaths, diffId: string): string {
  return join(paths.data, 'layers', hexOf(diffId));
}

/** The unpacked files of a layer. */
export function layerDiffDir(paths: StorePaths, diffId: string): string {
  return join(layerDir(paths, diffId), 'diff');
}

function hexOf(digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw new SandboxError(`invalid digest ${digest}`);
  return m[1]!;
}

function indexPath(paths: StorePaths): string {
  return join(paths.data, 'images.json');
}

function readIndex(paths: StorePaths): ImageIndex {
  return readJsonIfExists<ImageIndex>(indexPath(paths)) ?? { images: {}, tags: {} };
}

/** Runs `change` on the index under the store's image lock and writes it atomically. */
async function updateIndex<T>(paths: StorePaths, change: (index: ImageIndex) => T): Promise<T> {
  mkdirSync(paths.data, { recursive: true });
  // Loaded here, not at start-up: only commands that change images pay for it.
  const { default: lockfile } = await import('proper-lockfile');
  const release = await lockfile.lock(paths.data, {
    lockfilePath: join(paths.data, 'images.lock'),
    retries: { retries: 100, minTimeout: 5, maxTimeout: 50 },
    stale: 10_000,
    realpath: false,
  });
  try {
    const index = readIndex(paths);
    const result = change(index);
    writeJsonAtomic(indexPath(paths), index);
    return result;
  } finally {
    await release();
  }
}

/** Stores a config blob; returns its digest (the image id). */
export async function writeConfigBlob(paths: StorePaths, config: OciImageConfig): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(config));
  // Required here, not imported at the top: node:crypto costs start-up (see state/random.ts).
  // A plain require, not import(): bin/sandbox runs the bundle through vm.Script.
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const file = blobPath(paths, digest);
  if (!existsSync(file)) {
    mkdirSync(join(paths.data, 'blobs', 'sha256'), { recursive: true });
    writeFileAtomic(file, bytes);
  }
  return digest;
}

export async function addImage(paths: StorePaths, record: ImageRecord, tags: string[]): Promise<void> {
  await updateIndex(paths, (index) => {
    index.images[record.id] = record;
    for (const t of tags) index.tags[formatImageRef(parseImageRef(t))] = record.id;
  });
}

export interface ResolvedImage {
  record: ImageRecord;
  config: OciImageConfig;
  /** Lower directories for the overlay, topmost first. */
  lowers: string[];
}

/** Finds an image by NAME[:TAG], full id, or a unique id prefix. */
export function resolveImage(paths: StorePaths, reference: string): ResolvedImage {
  const index = readIndex(paths);
  let id: string | undefined;
  const bare = reference.replace(/^sha256:/, '');
  if (/^[a-f0-9]{4,64}$/.test(bare)) {
    const matches = Object.keys(index.images).filter((k) => k.slice(7).startsWith(bare));
    if (matches.length === 1) id = matches[0];
  }
  if (!id) {
    let key: string | undefined;
    try { key = formatImageRef(parseImageRef(reference)); } catch { key = undefined; }
    if (key) id = index.tags[key];
  }
  const record = id ? index.images[id] : undefined;
  if (!record) {
    throw new SandboxError(`image "${reference}" not found`, {
      hint: 'use the built-in `host` image, `--rootfs DIR`, or make one with `sandbox import TARBALL NAME`',
    });
  }
  const config = JSON.parse(readFileSync(blobPath(paths, record.id), 'utf8')) as OciImageConfig;
  const lowers = [...record.layers].reverse().map((d) => layerDiffDir(paths, d));
  return { record, config, lowers };
}
