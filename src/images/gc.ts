/**
 * Garbage in the image store, and what keeps work in progress from being taken for it.
 *
 * Garbage is: blobs and unpacked layers that no image in the index names and no live
 * transfer has claimed; temporary blobs (<data>/blobs/tmp), layer staging directories
 * (<data>/layers/.unpack-*), short-link temps (<data>/layers/l/.link-*), leases
 * (<data>/leases) and half-removed garbage (<data>/trash) of processes that are gone;
 * short links whose layer is gone. Names of temporary work carry their owner's pid and
 * start time (state/owner.ts); names of older versions without them count once they
 * are older than a grace period.
 *
 * A transfer (pull, load, import, commit) holds a lease: a file naming the blobs and
 * layers it has claimed. It claims one under the image lock BEFORE it adopts it into the
 * store or relies on finding it there (blobs.ts, layers.ts); the collector decides under
 * the same lock, reading the index and the live leases, and moves what it takes into its
 * own trash directory before releasing the lock. So a claim either comes first (and the
 * collector keeps the thing) or after (and the transfer finds it gone and writes it
 * again): an import that has written its blobs but not yet the index never loses them.
 * A transfer that fails abandons its lease: what it claimed and nobody else uses goes.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { StorePaths } from '../state/paths.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { nameOwnerAlive, ownedName } from '../state/owner.js';
import { removeTree } from '../runtime/userns.js';
import { treeSizes } from '../runtime/tree-size.js';
import { blobTempDir, blobsDir, hexOf, type StoreClaim } from './blobs.js';
import { isStagingName, layersDir } from './layers.js';
import { damagedIndexError, imageFiles, readImageIndex, withImageLock, type IndexDamage } from './store.js';

/** Work without an owner in its name (older versions) older than this is garbage. */
const UNOWNED_GRACE_MS = 60_000;

export function leasesDir(paths: StorePaths): string {
  return join(paths.data, 'leases');
}

function trashDir(paths: StorePaths): string {
  return join(paths.data, 'trash');
}

interface LeaseFile {
  blobs: string[];
  layers: string[];
}

/** The lease of one transfer; `release` when its image is in the index, `abandon` when it failed. */
export class TransferLease implements StoreClaim {
  readonly file: string;
  private readonly blobs = new Set<string>();
  private readonly layers = new Set<string>();

  constructor(private readonly paths: StorePaths) {
    this.file = join(leasesDir(paths), `${ownedName()}.json`);
  }

  async claim(items: { blobs?: string[]; layers?: string[] }): Promise<void> {
    const blobs = (items.blobs ?? []).map(hexOf).filter((h) => !this.blobs.has(h));
    const layers = (items.layers ?? []).map(hexOf).filter((h) => !this.layers.has(h));
    if (!blobs.length && !layers.length) return;
    await withImageLock(this.paths, () => {
      blobs.forEach((h) => this.blobs.add(h));
      layers.forEach((h) => this.layers.add(h));
      mkdirSync(leasesDir(this.paths), { recursive: true, mode: 0o700 });
      // Not synced: a crash that could lose it ends its process too, and with it the lease.
      writeJsonAtomic(this.file, { blobs: [...this.blobs], layers: [...this.layers] } satisfies LeaseFile, { durable: false });
    });
  }

  /** The transfer is done (its image is in the index, which now keeps what it needs). */
  release(): void {
    rmSync(this.file, { force: true });
  }

  /** The transfer failed: the lease goes, and with it what it claimed that nothing else uses. */
  async abandon(): Promise<void> {
    this.release();
    if (!this.blobs.size && !this.layers.size) return;
    await collectImageGarbage(this.paths, { only: { blobs: new Set(this.blobs), layers: new Set(this.layers) } }).catch(() => undefined);
  }
}

/**
 * Runs `work` with a new lease: released when it succeeds, abandoned (its leftovers
 * collected) when it throws. A damaged index fails it before any work: its image could
 * not be named (updateImageIndex refuses until `system check --repair`).
 */
export async function withTransferLease<T>(paths: StorePaths, work: (lease: TransferLease) => Promise<T>): Promise<T> {
  const damage = readImageIndex(paths).damaged;
  if (damage) throw damagedIndexError(damage);
  const lease = new TransferLease(paths);
  try {
    const result = await work(lease);
    lease.release();
    return result;
  } catch (err) {
    await lease.abandon();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Classification (pure)

export type GarbageKind =
  | 'unused-blob' | 'unused-layer' | 'blob-temp' | 'layer-staging' | 'layer-link' | 'stale-lease' | 'gc-trash';

export interface Garbage {
  kind: GarbageKind;
  /** Where it is, relative to the data directory (blobs/sha256/HEX, layers/HEX, ...). */
  rel: string;
}

/** What is in the image store's directories, as names. */
export interface StoreListing {
  /** Names in blobs/sha256. */
  blobs: string[];
  /** Names in blobs/tmp. */
  blobTemps: string[];
  /** Names in layers/ (layer directories, staging directories, `l`). */
  layers: string[];
  /** Names in layers/l, with whether the layer a short link points to exists, and which layer (hex) that is. */
  links: { name: string; dangling: boolean; target?: string }[];
  /** Names in leases/, with the hex digests each claims (undefined: unreadable). */
  leases: { name: string; claims?: LeaseFile }[];
  /** Names in trash/. */
  trash: string[];
}

export interface ClassifyInput {
  listing: StoreListing;
  /** Hex digests of the blobs and layers the index names; undefined when the index is damaged (then none of them is judged). */
  referenced?: { blobs: Set<string>; layers: Set<string> };
  /** Whether a name's owner runs: true/false, undefined for a name without an owner. */
  ownerAlive: (name: string) => boolean | undefined;
  /** For names without an owner: whether the thing at `rel` is older than the grace period. */
  isOld: (rel: string) => boolean;
  /** Judge only these blobs and layers (hex), not every unused one (a failed transfer's own). */
  only?: { blobs: Set<string>; layers: Set<string> };
}

const HEX64 = /^[a-f0-9]{64}$/;

/** Sorts the store's contents into garbage and not; returns the garbage. */
export function classifyGarbage(input: ClassifyInput): Garbage[] {
  const { listing, referenced, ownerAlive, isOld, only } = input;
  const out: Garbage[] = [];
  const dead = (dir: string, name: string): boolean => {
    const alive = ownerAlive(name);
    return alive === undefined ? isOld(`${dir}/${name}`) : !alive;
  };
  const leased = { blobs: new Set<string>(), layers: new Set<string>() };
  for (const l of listing.leases) {
    const rel = `leases/${l.name}`;
    if (ownerAlive(l.name) === true) {
      l.claims?.blobs.forEach((h) => leased.blobs.add(h));
      l.claims?.layers.forEach((h) => leased.layers.add(h));
    } else if (!only && dead('leases', l.name)) {
      out.push({ kind: 'stale-lease', rel });
    }
  }
  if (referenced) {
    for (const hex of listing.blobs) {
      if (!HEX64.test(hex) || referenced.blobs.has(hex) || leased.blobs.has(hex)) continue;
      if (only && !only.blobs.has(hex)) continue;
      out.push({ kind: 'unused-blob', rel: `blobs/sha256/${hex}` });
    }
    for (const hex of listing.layers) {
      if (!HEX64.test(hex) || referenced.layers.has(hex) || leased.layers.has(hex)) continue;
      if (only && !only.layers.has(hex)) continue;
      out.push({ kind: 'unused-layer', rel: `layers/${hex}` });
    }
  }
  if (only) return out;
  for (const n of listing.blobTemps) if (dead('blobs/tmp', n)) out.push({ kind: 'blob-temp', rel: `blobs/tmp/${n}` });
  for (const n of listing.layers) {
    if (isStagingName(n) && dead('layers', n)) out.push({ kind: 'layer-staging', rel: `layers/${n}` });
  }
  const goneLayers = new Set(out.filter((g) => g.kind === 'unused-layer').map((g) => basename(g.rel)));
  for (const l of listing.links) {
    if (l.name.startsWith('.')) {
      if (dead('layers/l', l.name)) out.push({ kind: 'layer-link', rel: `layers/l/${l.name}` });
    } else if (l.dangling || (l.target !== undefined && goneLayers.has(l.target))) {
      out.push({ kind: 'layer-link', rel: `layers/l/${l.name}` });
    }
  }
  for (const n of listing.trash) if (dead('trash', n)) out.push({ kind: 'gc-trash', rel: `trash/${n}` });
  return out;
}

// ---------------------------------------------------------------------------------------
// Collection

function names(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

function readLease(path: string): LeaseFile | undefined {
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as Partial<LeaseFile>;
    if (!Array.isArray(doc.blobs) || !Array.isArray(doc.layers)) return undefined;
    return { blobs: doc.blobs.filter((h) => typeof h === 'string'), layers: doc.layers.filter((h) => typeof h === 'string') };
  } catch {
    return undefined;
  }
}

function listImageStore(paths: StorePaths): StoreListing {
  const linkDir = join(layersDir(paths), 'l');
  return {
    blobs: names(blobsDir(paths)),
    blobTemps: names(blobTempDir(paths)),
    layers: names(layersDir(paths)).filter((n) => n !== 'l'),
    links: names(linkDir).map((name) => {
      if (name.startsWith('.')) return { name, dangling: false };
      let target: string;
      try { target = readlinkSync(join(linkDir, name)); } catch { return { name, dangling: false }; } // not a link: not ours to judge
      let dangling = false;
      try { statSync(join(linkDir, target)); } catch { dangling = true; }
      const hex = /^\.\.\/([a-f0-9]{64})\/diff$/.exec(target)?.[1];
      return hex ? { name, dangling, target: hex } : { name, dangling };
    }),
    leases: names(leasesDir(paths)).filter((n) => n.endsWith('.json')).map((name) => {
      const claims = readLease(join(leasesDir(paths), name));
      return claims ? { name, claims } : { name };
    }),
    trash: names(trashDir(paths)),
  };
}

/** The hex digests of the blobs and layers the images of `index` need. */
function referencedByIndex(paths: StorePaths, index = readImageIndex(paths)): { blobs: Set<string>; layers: Set<string> } {
  const blobs = new Set<string>();
  const layers = new Set<string>();
  for (const r of Object.values(index.images)) {
    const f = imageFiles(paths, r);
    f.blobs.forEach((b) => blobs.add(hexOf(b)));
    f.layers.forEach((l) => layers.add(basename(l)));
  }
  return { blobs, layers };
}

export interface CollectedGarbage extends Garbage {
  path: string;
  /** Bytes it held. */
  size: number;
  removed: boolean;
  error?: string;
}

export interface GarbageReport {
  items: CollectedGarbage[];
  /** Bytes of what was removed (with `dryRun`: of what would be). */
  reclaimed: number;
  /** Set when the index is damaged: then no blob or layer was judged unused. */
  indexDamage?: IndexDamage;
}

export interface CollectOptions {
  /** Only find and measure, remove nothing. */
  dryRun?: boolean;
  /** Judge only these (hex) blobs and layers (TransferLease.abandon). */
  only?: { blobs: Set<string>; layers: Set<string> };
  /** Leave alone what a live process uses (system check's process scan), whatever its name says. */
  inUse?: (path: string) => boolean;
  now?: number;
  graceMs?: number;
}

/**
 * Finds the image store's garbage (under the image lock unless `dryRun`) and, unless `dryRun`, moves it
 * into a trash directory of ours there, then removes that after the lock is released.
 */
export async function collectImageGarbage(paths: StorePaths, options: CollectOptions = {}): Promise<GarbageReport> {
  const now = options.now ?? Date.now();
  const grace = options.graceMs ?? UNOWNED_GRACE_MS;
  const trash = join(trashDir(paths), ownedName());
  let indexDamage: IndexDamage | undefined;
  let inPlace = false;
  // A dry run (system check without --repair) changes nothing, not even the lock file or
  // the store's mode (withImageLock makes and closes the data directory): it only reports.
  const locked = <T>(fn: () => Promise<T>): Promise<T> => (options.dryRun ? fn() : withImageLock(paths, fn));
  const found = await locked(async () => {
    const index = readImageIndex(paths);
    indexDamage = index.damaged;
    const garbage = classifyGarbage({
      listing: listImageStore(paths),
      ...(index.damaged ? {} : { referenced: referencedByIndex(paths, index) }),
      ownerAlive: nameOwnerAlive,
      isOld: (rel) => { try { return now - lstatSync(join(paths.data, rel)).mtimeMs > grace; } catch { return false; } },
      ...(options.only ? { only: options.only } : {}),
    }).filter((g) => !options.inUse?.(join(paths.data, g.rel)));
    const items = garbage.map((g): CollectedGarbage & { moved?: string } => ({ ...g, path: join(paths.data, g.rel), size: 0, removed: false }));
    if (options.dryRun || !items.length) return items;
    try {
      mkdirSync(trash, { recursive: true, mode: 0o700 });
    } catch {
      // No room even for a directory (a full disk): remove it all here, under the lock.
      const sizes = await treeSizes(items.map((i) => i.path));
      for (const item of items) {
        item.size = sizes.get(item.path) ?? 0;
        try {
          await removeTree(item.path);
          item.removed = true;
        } catch (err) {
          item.error = (err as Error).message;
        }
      }
      inPlace = true;
      return items;
    }
    items.forEach((item, i) => {
      const moved = join(trash, `${i}-${basename(item.rel)}`);
      try {
        renameSync(item.path, moved);
        item.moved = moved;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // gone meanwhile (a link with its layer)
        item.error = (err as Error).message;
      }
    });
    return items;
  });
  if (inPlace) {
    const items = found.map(({ moved: _, ...i }) => i);
    return { items, reclaimed: items.reduce((a, i) => a + (i.removed ? i.size : 0), 0), ...(indexDamage ? { indexDamage } : {}) };
  }
  const sizes = await treeSizes(found.map((i) => i.moved ?? i.path));
  let reclaimed = 0;
  for (const item of found) {
    item.size = sizes.get(item.moved ?? item.path) ?? 0;
    if (options.dryRun) { reclaimed += item.size; continue; }
    if (item.moved) {
      item.removed = true;
      reclaimed += item.size;
    }
  }
  if (!options.dryRun && found.length) {
    try {
      await removeTree(trash);
    } catch (err) {
      // Left in trash/ under our name: the next collection finishes it.
      for (const i of found) if (i.removed) i.error = `moved aside but not yet removed: ${(err as Error).message}`;
    }
  }
  return { items: found.map(({ moved: _, ...i }) => i), reclaimed, ...(indexDamage ? { indexDamage } : {}) };
}
