/**
 * Volumes: one directory per volume under <data>/volumes/<name>, holding `_data/` (the
 * directory sandboxes mount) and `volume.json` (written atomically). Creating is race-
 * safe without a lock: mkdir of <data>/volumes/<name> is the exclusive step, then
 * `_data/`, then `volume.json`; so a `volume.json` always has its `_data/`, and a
 * directory without one is a volume whose creator is still at work (or was killed:
 * it is then repaired by the next create). Removal renames the directory to a hidden
 * `.removing-*` name first (the name is free at once, and a removal killed half-way
 * leaves only a hidden directory that prune finishes off). A volume is in use when a
 * sandbox record, running or not, refers to it, as in Docker.
 */
import { lstatSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { BindSpec, RunRequest, VolumeSpec } from '../types.js';
import { readJsonIfExists, writeJsonAtomic } from './atomic.js';
import { listSandboxIds, readRecord, type SandboxRecord } from './sandboxes.js';
import type { StorePaths } from './paths.js';
import { mkdirInStore } from './store-dirs.js';
import { randomHex } from './random.js';
import { checkName, NAME_PATTERN } from './names.js';


/** What `volume.json` holds, and what `volume inspect` shows (Docker's field names). */
export interface VolumeInfo {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  /** Made for `-v /path` (no name given): `rm -v` removes it with its sandbox. */
  Anonymous: boolean;
  /** `volume create -o`: Podman's local driver options as given (type=, device=, o=). */
  Options?: VolumeDriverOptions;
  /** For `type=tmpfs`: the tmpfs mount options (o= checked and completed as --tmpfs's), mounted in each sandbox using it. */
  TmpfsOptions?: string[];
}

/**
 * Podman's `volume create -o` options of its local driver. A rootless user can mount a
 * tmpfs (in the sandbox's mount namespace) and bind a directory; a device needs root.
 */
export interface VolumeDriverOptions {
  type?: string;
  device?: string;
  o?: string;
}

/**
 * A volume mount once resolved: a bind of the volume's `_data`, remembering which
 * volume it is (the plan only looks at the BindSpec fields).
 */
export interface VolumeBindSpec extends BindSpec {
  volume: string;
}

const REMOVING_PREFIX = '.removing-';

export function volumesDir(paths: StorePaths): string {
  return join(paths.data, 'volumes');
}

export function volumeDir(paths: StorePaths, name: string): string {
  return join(volumesDir(paths), name);
}

/** The directory that is mounted: <data>/volumes/<name>/_data. */
export function volumeDataDir(paths: StorePaths, name: string): string {
  return join(volumeDir(paths, name), '_data');
}

function metaPath(paths: StorePaths, name: string): string {
  return join(volumeDir(paths, name), 'volume.json');
}

export function checkVolumeName(name: string): void {
  checkName(name, 'volume');
}

/** A fresh name for an anonymous volume: 64 random hex digits, as Docker. */
export function newAnonymousVolumeName(): string {
  return randomHex(32);
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** The metadata a volume directory without `volume.json` gets (its creator died or is still at work). */
function synthesized(paths: StorePaths, name: string): VolumeInfo {
  let created = new Date();
  try { created = statSync(volumeDir(paths, name)).mtime; } catch { /* gone meanwhile */ }
  return {
    Name: name, Driver: 'local', Mountpoint: volumeDataDir(paths, name), CreatedAt: created.toISOString(), Labels: {}, Anonymous: false,
  };
}

/** A volume's metadata; undefined when there is no such volume. */
export function readVolume(paths: StorePaths, name: string): VolumeInfo | undefined {
  if (!NAME_PATTERN.test(name)) return undefined;
  const meta = readJsonIfExists<VolumeInfo>(metaPath(paths, name));
  if (meta) return meta;
  try {
    if (!statSync(volumeDir(paths, name)).isDirectory()) return undefined;
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
  return synthesized(paths, name);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The metadata of a volume someone else made (mkdir said EEXIST): waits briefly for its
 * creator to write `volume.json`; a creator that died in between leaves a directory that
 * is completed here (`_data/` and `volume.json`, both idempotent). Undefined when the
 * directory went away meanwhile (removed): the caller creates it afresh.
 */
function existingVolume(paths: StorePaths, name: string): VolumeInfo | undefined {
  for (let i = 0; i < 40; i++) {
    const meta = readJsonIfExists<VolumeInfo>(metaPath(paths, name));
    if (meta) return meta;
    try { statSync(volumeDir(paths, name)); } catch { return undefined; }
    sleepSync(25);
  }
  const info = synthesized(paths, name);
  mkdirSync(volumeDataDir(paths, name), { recursive: true, mode: 0o755 });
  writeJsonAtomic(metaPath(paths, name), info);
  return info;
}

export interface CreateVolumeOptions {
  labels?: Record<string, string>;
  anonymous?: boolean;
  options?: VolumeDriverOptions;
  tmpfsOptions?: string[];
}

/**
 * Creates the volume `name`, or returns the one that exists (`created: false`), as
 * `docker volume create` does. Race-safe: of two creators exactly one creates.
 */
export function createVolumeDir(paths: StorePaths, name: string, options: CreateVolumeOptions = {}): { volume: VolumeInfo; created: boolean } {
  checkVolumeName(name);
  mkdirInStore(paths, 'data', volumesDir(paths), 0o700);
  const dir = volumeDir(paths, name);
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dir, { mode: 0o700 });
      break;
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      const volume = existingVolume(paths, name);
      if (volume) return { volume, created: false };
      if (attempt >= 3) throw new SandboxError(`volume ${name} is being created and removed by others at the same time`, { hint: 'try again' });
    }
  }
  const volume: VolumeInfo = {
    Name: name,
    Driver: 'local',
    Mountpoint: volumeDataDir(paths, name),
    CreatedAt: new Date().toISOString(),
    Labels: { ...(options.labels ?? {}) },
    Anonymous: !!options.anonymous,
    ...(options.options && Object.keys(options.options).length ? { Options: { ...options.options } } : {}),
    ...(options.tmpfsOptions ? { TmpfsOptions: [...options.tmpfsOptions] } : {}),
  };
  // Root inside a sandbox is our own uid, so it owns `_data`, as root owns Docker's.
  mkdirSync(volume.Mountpoint, { mode: 0o755 });
  writeJsonAtomic(metaPath(paths, name), volume);
  return { volume, created: true };
}

/** Every volume name in the store, sorted. */
export function listVolumeNames(paths: StorePaths): string[] {
  try {
    return readdirSync(volumesDir(paths)).filter((d) => NAME_PATTERN.test(d)).sort();
  } catch (err) {
    if (errno(err) === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Takes a volume out of the store: renames its directory to a hidden name and returns
 * that path (for the caller to remove), or undefined when there was no such volume.
 */
export function detachVolumeDir(paths: StorePaths, name: string): string | undefined {
  if (!NAME_PATTERN.test(name)) return undefined;
  const hidden = join(volumesDir(paths), `${REMOVING_PREFIX}${name}-${randomHex(4)}`);
  try {
    renameSync(volumeDir(paths, name), hidden);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
  return hidden;
}

/** Directories left by removals that were killed half-way. */
export function leftoverRemovals(paths: StorePaths): string[] {
  try {
    return readdirSync(volumesDir(paths)).filter((d) => d.startsWith(REMOVING_PREFIX)).map((d) => join(volumesDir(paths), d));
  } catch {
    return [];
  }
}

/** The volume names a sandbox's request refers to: unresolved volume specs and resolved volume binds. */
export function volumesOfRequest(paths: StorePaths, request: Pick<RunRequest, 'volumes'>): string[] {
  const names = new Set<string>();
  for (const v of request.volumes as (VolumeSpec & { volume?: unknown })[]) {
    if (v.kind === 'volume') {
      if (v.name) names.add(v.name);
    } else if (typeof v.volume === 'string') {
      names.add(v.volume);
    } else if (basename(v.source) === '_data' && dirname(dirname(v.source)) === volumesDir(paths)) {
      // A bind of a volume's directory given by path is a use of that volume too.
      names.add(basename(dirname(v.source)));
    }
  }
  return [...names];
}

/** For each volume in use, the sandboxes (records, running or not) that refer to it. */
export function volumeUsers(paths: StorePaths): Map<string, SandboxRecord[]> {
  const users = new Map<string, SandboxRecord[]>();
  for (const id of listSandboxIds(paths)) {
    const record = readRecord(paths, id);
    if (!record) continue;
    for (const name of volumesOfRequest(paths, record.request)) {
      const list = users.get(name);
      if (list) list.push(record);
      else users.set(name, [record]);
    }
  }
  return users;
}

/**
 * Bytes of the files under `dir` (apparent sizes, hard links once), as Docker's
 * reclaimed space. Best effort: directories of other ids we cannot read are skipped.
 */
export function treeSize(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (d: string): void => {
    let entries: string[];
    try { entries = readdirSync(d); } catch { return; }
    for (const e of entries) {
      const p = join(d, e);
      let st;
      try { st = lstatSync(p); } catch { continue; }
      if (st.isDirectory()) walk(p);
      else {
        const key = `${st.dev}:${st.ino}`;
        if (st.nlink > 1) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += st.size;
      }
    }
  };
  walk(dir);
  return total;
}
