/**
 * Sandbox records: one directory per sandbox under <data>/containers/<id>, holding
 * `container.json` (written atomically) and its writable layer. Names are reserved
 * by creating <data>/names/<name> exclusively, so two racing `run --name x` can never
 * both win and no store-wide lock is held while a sandbox runs. A sandbox's directory
 * exists before its name is reserved, so a reservation without one is stale; taking
 * a stale one over happens under a short lock, <data>/names/.lock.
 */
import { mkdirSync, openSync, writeSync, closeSync, readFileSync, unlinkSync, existsSync, rmSync, readdirSync, statSync } from 'node:fs';
import { randomHex } from './random.js';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { writeJsonAtomic, writeFileAtomic } from './atomic.js';
import type { StorePaths } from './paths.js';
import { mkdirInStore } from './store-dirs.js';
import type { RunRequest } from '../api/types.js';
import { checkName, NAME_PATTERN } from './names.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  status: ContainerStatus;
  /** The sandbox's init (PID 1 inside), as the host sees it. */
  pid?: number;
  /** The monitor of a detached sandbox, and its start time (so a reused pid is never taken for it). */
  monitorPid?: number;
  monitorStartTime?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  error?: string;
}

export interface ContainerRecord {
  id: string;
  name: string;
  created: string;
  image: string;
  imageId?: string;
  command: string[];
  hostname: string;
  request: RunRequest;
  state: ContainerState;
  /** What `exec` takes from the image (kept at creation, so that exec reads no image); absent in older records. */
  imageConfig?: { env: string[]; user?: string; workingDir?: string };
}

export function containersDir(paths: StorePaths): string {
  return join(paths.data, 'containers');
}

export function containerDir(paths: StorePaths, id: string): string {
  return join(containersDir(paths), id);
}

function namesDir(paths: StorePaths): string {
  return join(paths.data, 'names');
}

export function newContainerId(): string {
  return randomHex(32);
}

/** Creates <data>/names/<name> holding `id`, exclusively; false when it exists. */
function createReservation(file: string, id: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try { writeSync(fd, id); } finally { closeSync(fd); }
  return true;
}

/** The id a reservation holds ('' when empty), or undefined when there is none (any more). */
function reservationOwner(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A reservation is stale when its sandbox directory does not exist (or it holds no id). */
function isStale(paths: StorePaths, owner: string): boolean {
  return !owner || !existsSync(containerDir(paths, owner));
}

/**
 * Replaces the reservation `file`, seen held by the stale `owner`, with one for `id`:
 * under the names lock, so take-overs are serialised, and only if it still holds that
 * same stale owner (a racer that took it over meanwhile keeps it). The new reservation
 * is renamed over the old one, so the name is never free for an exclusive create to
 * slip in. Returns false when the reservation changed: the caller looks again.
 */
/**
 * Runs `fn` under the short names lock (<data>/names/.lock). proper-lockfile is loaded
 * here, not at start-up: only take-overs and repairs pay for it.
 */
async function withNamesLock<T>(paths: StorePaths, fn: () => T): Promise<T> {
  const { default: lockfile } = await import('proper-lockfile');
  const release = await lockfile.lock(namesDir(paths), {
    // ".lock" is not a valid sandbox name (those start with a letter or digit).
    lockfilePath: join(namesDir(paths), '.lock'),
    retries: { retries: 100, minTimeout: 5, maxTimeout: 50 },
    stale: 5_000,
    realpath: false,
  });
  try {
    return fn();
  } finally {
    await release();
  }
}

async function takeOverStale(paths: StorePaths, file: string, owner: string, id: string): Promise<boolean> {
  return withNamesLock(paths, () => {
    const current = reservationOwner(file);
    if (current !== owner || !isStale(paths, current)) return false;
    writeFileAtomic(file, id);
    return true;
  });
}

/**
 * Reserves `name` for `id`. A reservation whose sandbox directory does not exist (its
 * command was killed before it could clean up) is stale and taken over.
 */
export async function reserveName(paths: StorePaths, name: string, id: string): Promise<void> {
  checkName(name, 'sandbox');
  mkdirInStore(paths, 'data', namesDir(paths));
  const file = join(namesDir(paths), name);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createReservation(file, id)) return;
    const owner = reservationOwner(file);
    if (owner === undefined) continue; // released meanwhile: try again
    if (!isStale(paths, owner)) {
      throw new SandboxError(`the name "${name}" is already in use by sandbox ${owner.slice(0, 12)}`, {
        hint: `remove that sandbox (sandbox rm ${name}) or choose another --name`,
      });
    }
    if (await takeOverStale(paths, file, owner, id)) return;
  }
  throw new SandboxError(`the name "${name}" is already in use`, { hint: 'choose another --name' });
}

export function releaseName(paths: StorePaths, name: string, id: string): void {
  const file = join(namesDir(paths), name);
  try {
    if (readFileSync(file, 'utf8').trim() === id) unlinkSync(file);
  } catch { /* already released */ }
}

export function writeRecord(paths: StorePaths, record: ContainerRecord): void {
  writeJsonAtomic(join(containerDir(paths, record.id), 'container.json'), record);
}

/**
 * A sandbox's record, or undefined when it has none: not (yet, or any more) written, or
 * unreadable (cut short by a full disk or a crash of the machine). Records are written
 * atomically, so a broken one is rare; it must never break `ps` or `rm` of the others,
 * and `sandbox system check` reports (and with --repair removes) it.
 */
export function readRecord(paths: StorePaths, id: string): ContainerRecord | undefined {
  return readRecordFile(join(containerDir(paths, id), 'container.json'));
}

function readRecordFile(file: string): ContainerRecord | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Not (yet, or any more) there; ENOTDIR/EISDIR: something else stands where it should be.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
  let record: ContainerRecord;
  try {
    record = JSON.parse(text) as ContainerRecord;
  } catch {
    return undefined;
  }
  return record && typeof record === 'object' && typeof record.state === 'object' && record.state ? record : undefined;
}

/**
 * Every readable record in the store, in no particular order. `ps -a` with 500
 * sandboxes reads 500 files, so this is the hot loop: one readdir, then one read per
 * record, paths built by concatenation (path.join normalises each time, ~10% of it).
 */
export function listRecords(paths: StorePaths): ContainerRecord[] {
  const dir = containersDir(paths);
  const out: ContainerRecord[] = [];
  for (const id of listContainerIds(paths)) {
    const record = readRecordFile(`${dir}/${id}/container.json`);
    if (record) out.push(record);
  }
  return out;
}

/** Every name reservation in the store: the file names under <data>/names (not the lock). */
export function listReservedNames(paths: StorePaths): string[] {
  try {
    return readdirSync(namesDir(paths)).filter((n) => NAME_PATTERN.test(n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The id the reservation of `name` holds ('' when empty), or undefined when the name is free. */
export function nameOwner(paths: StorePaths, name: string): string | undefined {
  return reservationOwner(join(namesDir(paths), name));
}

/**
 * Removes the reservation of `name` if it still holds `owner` and `stillStale(owner)`
 * says it may go: under the names lock, as a take-over (so it never races one), and
 * only if the file is still the one that was read (same inode). For `system check`.
 * Returns whether it was removed.
 */
export async function removeReservation(paths: StorePaths, name: string, owner: string, stillStale: (owner: string) => boolean): Promise<boolean> {
  const file = join(namesDir(paths), name);
  return withNamesLock(paths, () => {
    let ino: number;
    try { ino = statSync(file).ino; } catch { return false; }
    if (reservationOwner(file) !== owner || !stillStale(owner)) return false;
    // releaseName (no lock) and then a fresh exclusive create could slip in between: the inode tells.
    if (statSync(file, { throwIfNoEntry: false })?.ino !== ino) return false;
    unlinkSync(file);
    return true;
  });
}

/**
 * Creates the sandbox's directory and first record, then reserves its name: so that
 * a reservation never exists without its directory (it would look stale and be taken
 * over). Removes the directory again when the name cannot be had.
 */
export async function createContainer(paths: StorePaths, record: ContainerRecord): Promise<string> {
  checkName(record.name, 'sandbox'); // before any work
  const dir = containerDir(paths, record.id);
  mkdirInStore(paths, 'data', containersDir(paths));
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SandboxError(`sandbox ${record.id.slice(0, 12)} already exists`);
    throw err;
  }
  try {
    writeRecord(paths, record);
    await reserveName(paths, record.name, record.id);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** Every sandbox id in the store (directories under <data>/containers). */
export function listContainerIds(paths: StorePaths): string[] {
  try {
    return readdirSync(containersDir(paths)).filter((d) => /^[a-f0-9]{64}$/.test(d));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Finds a sandbox the way Docker does: by full id, by name, or by a unique id prefix.
 * A name wins over an id prefix that happens to look the same.
 */
export function findContainer(paths: StorePaths, ref: string): ContainerRecord {
  if (/^[a-f0-9]{64}$/.test(ref)) {
    const r = readRecord(paths, ref);
    if (r) return r;
  }
  if (NAME_PATTERN.test(ref)) {
    const owner = reservationOwner(join(namesDir(paths), ref));
    const r = owner ? readRecord(paths, owner) : undefined;
    if (r) return r;
  }
  if (/^[a-f0-9]{1,63}$/.test(ref)) {
    const matches = listContainerIds(paths).filter((id) => id.startsWith(ref));
    if (matches.length > 1) {
      throw new SandboxError(`"${ref}" matches ${matches.length} sandboxes`, { hint: 'give more characters of the id, or the name' });
    }
    const r = matches[0] ? readRecord(paths, matches[0]) : undefined;
    if (r) return r;
  }
  throw new SandboxError(`no such sandbox: ${ref}`, { hint: 'list them with `sandbox ps -a`' });
}

/** Where a sandbox's output goes (CRI log format, see helpers/launch.c) and how it ended. */
export function logPath(paths: StorePaths, id: string): string {
  return join(containerDir(paths, id), 'ctr.log');
}

export function exitFilePath(paths: StorePaths, id: string): string {
  return join(containerDir(paths, id), 'exit.json');
}
