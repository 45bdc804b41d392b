/**
 * Sandbox records and names. A sandbox's directory (its layout, the monitor's files
 * and the per-sandbox lock: state/sandbox-dir.ts) holds `container.json` (written
 * atomically) and `config.json` (the part of the record fixed at creation, rewritten
 * only by rename and label: what a damaged container.json is rebuilt from). Names are reserved by creating <data>/names/<name> exclusively, so two racing `run --name x` can never
 * both win and no store-wide lock is held while a sandbox runs. A sandbox's directory
 * exists before its name is reserved, so a reservation without one is stale; taking
 * a stale one over happens under a short lock, <data>/names/.lock.
 */
import type { SandboxIdMappings } from '../runtime/userns-mode.js';
import { withFileLock } from './file-lock.js';
import { mkdirSync, openSync, writeSync, closeSync, readFileSync, unlinkSync, existsSync, renameSync, rmSync, readdirSync, statSync } from 'node:fs';
import { randomHex } from './random.js';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { writeJsonAtomic, writeFileAtomic } from './atomic.js';
import { isSameProcess } from './liveness.js';
import { configPath, sandboxDir, sandboxesDir, liveMonitor, liveMonitorIn, pidFilePath, recordPath } from './sandbox-dir.js';
import type { StorePaths } from './paths.js';
import { mkdirInStore } from './store-dirs.js';
import type { RunRequest } from '../types.js';
import { checkName, NAME_PATTERN } from './names.js';

export type SandboxStatus = 'created' | 'running' | 'exited';

export interface SandboxState {
  status: SandboxStatus;
  /** The sandbox's init (PID 1 inside), as the host sees it. */
  pid?: number;
  /** The monitor of a detached sandbox, and its start time (so a reused pid is never taken for it). */
  monitorPid?: number;
  monitorStartTime?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  error?: string;
  /**
   * Written by `start` before it starts the monitor (journal first, then act): the record
   * of an exited sandbox is trusted as it is (no monitor looked for) unless this is set.
   */
  starting?: boolean;
  /** Running, with every process frozen (`pause`): read from the sandbox's cgroup freezer by currentState, never stored. */
  paused?: boolean;
  /** `created` by a `run --rm`: that process, so that a sandbox it never started can be told abandoned (see isAbandoned). */
  creator?: { pid: number; startTime: number };
}

/** A sandbox's cgroups: the v2 one (`unified`), or one per v1 controller; absolute cgroupfs directories. */
export interface SandboxCgroup {
  version: 1 | 2;
  paths: Partial<Record<'unified' | 'memory' | 'pids' | 'cpu' | 'cpuacct' | 'cpuset' | 'freezer', string>>;
}

export interface SandboxRecord {
  id: string;
  name: string;
  created: string;
  image: string;
  imageId?: string;
  command: string[];
  hostname: string;
  request: RunRequest;
  state: SandboxState;
  /** What `exec` takes from the image (kept at creation, so that exec reads no image); absent in older records. */
  imageConfig?: { env: string[]; user?: string; workingDir?: string };
  /** The sandbox's cgroups, when a limit is bounded by one (src/runtime/cgroup/): made at each start, removed at its end. */
  cgroup?: SandboxCgroup;
  /** What bounds each limit asked for (inspect, doctor): limit name -> mechanism. */
  limitMechanisms?: Record<string, 'cgroup-v2' | 'cgroup-v1' | 'rlimit' | 'none'>;
  /** Its id mode's maps (--userns, --uidmap), absent for the default (runtime/userns-mode.ts). */
  idMappings?: SandboxIdMappings;
  /**
   * Set (never stored) on a record rebuilt because container.json is damaged: 'config'
   * when it was rebuilt from config.json, 'nothing' when even that is unreadable (then
   * it is only good for finding, stopping and removing the sandbox).
   */
  rebuiltFrom?: 'config' | 'nothing';
}

/** The part of a record that is fixed at creation (rename and label change it): config.json. */
export type SandboxConfig = Omit<SandboxRecord, 'state' | 'rebuiltFrom'>;

function namesDir(paths: StorePaths): string {
  return join(paths.data, 'names');
}

/** The reservation file of `name` (which need not exist). */
export function nameFilePath(paths: StorePaths, name: string): string {
  return join(namesDir(paths), name);
}

export function newSandboxId(): string {
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

/**
 * A reservation is stale when its sandbox directory does not exist (or it holds no id),
 * or its sandbox is abandoned.
 */
function isStale(paths: StorePaths, owner: string): boolean {
  return !owner || !existsSync(sandboxDir(paths, owner)) || isAbandoned(paths, owner);
}

/**
 * A `--rm` sandbox whose `run` was killed before it started it: created, its creator
 * gone, no monitor. Nobody will run it, and `--rm` asked for it to go: its name is
 * free (a take-over removes it), as it is for one whose monitor cleaned up.
 */
/** Removes an abandoned sandbox's directory: renamed away first (so nothing can start it any more), then removed. */
function discardAbandoned(paths: StorePaths, id: string): void {
  const away = join(sandboxesDir(paths), `.removing-${id}`);
  renameSync(sandboxDir(paths, id), away);
  try { rmSync(away, { recursive: true, force: true }); } catch { /* system check --repair finishes it */ }
}

/**
 * An abandoned --rm sandbox (see isAbandoned) that never got its name: its `run` was
 * killed after it wrote the record and before it reserved the name (createSandboxRecord
 * writes the record first, so that a racer never sees a reservation without one). No
 * take-over will ever find it, and another sandbox may hold that name now: the listing
 * that meets it removes it, as a take-over would have. Only a never-started `--rm` record
 * with a creator costs more than a field test here (its name's reservation is read).
 */
export function discardIfNameless(paths: StorePaths, record: SandboxRecord): boolean {
  const { state, request } = record;
  if (!request.remove || state.status !== 'created' || !state.creator) return false;
  if (reservationOwner(join(namesDir(paths), record.name)) === record.id) return false;
  if (!isAbandoned(paths, record.id)) return false;
  try {
    discardAbandoned(paths, record.id);
  } catch { /* gone meanwhile, or not ours to move: left as it is */ }
  return true;
}

export function isAbandoned(paths: StorePaths, id: string): boolean {
  const read = readRecordFile(recordPath(paths, id), id);
  if (typeof read !== 'object') return false;
  const { state, request } = read;
  return !!request.remove && state.status === 'created' && !!state.creator
    && !isSameProcess(state.creator.pid, state.creator.startTime) && !liveMonitor(paths, id);
}

/**
 * Replaces the reservation `file`, seen held by the stale `owner`, with one for `id`:
 * under the names lock, so take-overs are serialised, and only if it still holds that
 * same stale owner (a racer that took it over meanwhile keeps it). The new reservation
 * is renamed over the old one, so the name is never free for an exclusive create to
 * slip in. Returns false when the reservation changed: the caller looks again.
 */
/**
 * Runs `fn` under the short names lock (<data>/names/.lock): only take-overs and repairs take it.
 */
async function withNamesLock<T>(paths: StorePaths, fn: () => T): Promise<T> {
  return withFileLock({
    dir: namesDir(paths),
    // ".lock" is not a valid sandbox name (those start with a letter or digit).
    lockPath: join(namesDir(paths), '.lock'),
    staleMs: 5_000,
    waitMs: 5_000,
    busy: (cause) => new SandboxError('the store\'s names are busy (another command holds their lock)', { hint: 'try again in a moment', cause }),
  }, fn);
}

async function takeOverStale(paths: StorePaths, file: string, owner: string, id: string): Promise<boolean> {
  return withNamesLock(paths, () => {
    const current = reservationOwner(file);
    if (current !== owner || !isStale(paths, current)) return false;
    if (current && existsSync(sandboxDir(paths, current))) discardAbandoned(paths, current);
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
        code: 'name-in-use',
      });
    }
    if (await takeOverStale(paths, file, owner, id)) return;
  }
  throw new SandboxError(`the name "${name}" is already in use`, { hint: 'choose another --name', code: 'name-in-use' });
}

export function releaseName(paths: StorePaths, name: string, id: string): void {
  const file = join(namesDir(paths), name);
  try {
    if (readFileSync(file, 'utf8').trim() === id) unlinkSync(file);
  } catch { /* already released */ }
}

/**
 * Writes container.json. A record rebuilt from nothing (see SandboxRecord.rebuiltFrom)
 * is not written: it would hide the damage behind a record that knows nothing.
 */
export function writeRecord(paths: StorePaths, record: SandboxRecord): void {
  if (record.rebuiltFrom === 'nothing') return;
  const { rebuiltFrom: _, ...rest } = record;
  writeJsonAtomic(recordPath(paths, record.id), rest);
}

/**
 * Writes config.json, the creation-time part of the record (at create, rename and
 * label). Not synced: it is the spare copy, and `run` pays for every write it makes;
 * container.json, synced, holds the same.
 */
export function writeConfig(paths: StorePaths, record: SandboxRecord): void {
  if (record.rebuiltFrom === 'nothing') return;
  const { state: _s, rebuiltFrom: _r, ...config } = record;
  writeJsonAtomic(configPath(paths, record.id), config, { durable: false });
}

/** Writes the record and its creation-time part: for rename and label. */
export function writeRecordAndConfig(paths: StorePaths, record: SandboxRecord): void {
  writeRecord(paths, record);
  writeConfig(paths, record);
}

/**
 * A sandbox's record. One that is unreadable (a full disk, a crash of the machine,
 * garbage written into it) is rebuilt (rebuildRecord; marked `rebuiltFrom`), so that the
 * sandbox can still be listed, stopped and removed; `sandbox system check` reports it
 * and --repair writes it again. Undefined when there is nothing to go on: not (yet, or
 * any more) written and no monitor runs there.
 */
export function readRecord(paths: StorePaths, id: string): SandboxRecord | undefined {
  const read = readRecordFile(recordPath(paths, id), id);
  return typeof read === 'object' ? read : rebuildRecord(paths, id, read);
}

/** 'missing': not (yet, or any more) there; 'damaged': there, but not a record of this sandbox. */
function readRecordFile(file: string, id: string): SandboxRecord | 'missing' | 'damaged' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    // EISDIR, EACCES, EIO: something else stands where it should be.
    return 'damaged';
  }
  let record: SandboxRecord;
  try {
    record = JSON.parse(text) as SandboxRecord;
  } catch {
    return 'damaged';
  }
  return isRecordOf(record, id) ? record : 'damaged';
}

/** Whether `value` looks like the record (or, without `state`, the config) of sandbox `id`. Pure. */
export function isRecordOf(value: unknown, id: string, needState = true): value is SandboxRecord {
  const r = value as Partial<SandboxRecord> | null;
  return !!r && typeof r === 'object' && r.id === id && typeof r.name === 'string' && typeof r.created === 'string'
    && typeof r.request === 'object' && !!r.request && Array.isArray(r.command)
    && (!needState || (typeof r.state === 'object' && !!r.state && typeof r.state.status === 'string'));
}

/** A RunRequest that runs nothing: what a record rebuilt from nothing carries. */
const NO_REQUEST: RunRequest = {
  image: '', command: [], remove: false, detach: true, interactive: false, tty: false, env: {}, volumes: [], tmpfs: [],
  readOnly: false, network: 'none', capAdd: [], capDrop: [], noNewPrivileges: false, labels: {},
};

/**
 * A record for a sandbox whose container.json is damaged (or missing while its monitor
 * lives): the creation-time part from config.json, the state from what the monitor
 * keeps (the pid file says it ran; currentState adds the monitor and the exit file).
 * Without a config, a record that is only good for ps, stop, kill and rm, named after
 * the name reserved for it. Undefined for a directory with neither (being created, or
 * half-removed: `system check` handles those).
 */
export function rebuildRecord(paths: StorePaths, id: string, why: 'missing' | 'damaged'): SandboxRecord | undefined {
  const dir = sandboxDir(paths, id);
  let config: unknown;
  try { config = JSON.parse(readFileSync(configPath(paths, id), 'utf8')); } catch { config = undefined; }
  const ran = existsSync(pidFilePath(paths, id));
  const state: SandboxState = ran
    ? { status: 'exited', exitCode: -1, error: 'its record was damaged: how it ended is not known' }
    : { status: 'created' };
  if (isRecordOf(config, id, false)) return { ...(config as SandboxConfig), state, rebuiltFrom: 'config' };
  if (why === 'missing' && !liveMonitorIn(dir)) return undefined;
  let created: string;
  try { created = statSync(dir).mtime.toISOString(); } catch { return undefined; }
  const name = listReservedNames(paths).find((n) => reservationOwner(join(namesDir(paths), n)) === id) ?? id.slice(0, 12);
  return {
    id, name, created, image: '', command: [], hostname: id.slice(0, 12), request: NO_REQUEST, state, rebuiltFrom: 'nothing',
  };
}

/**
 * Every readable record in the store, in no particular order. `ps -a` with 500
 * sandboxes reads 500 files, so this is the hot loop: one readdir, then one read per
 * record, paths built by concatenation (path.join normalises each time, ~10% of it).
 */
export function listRecords(paths: StorePaths): SandboxRecord[] {
  const dir = sandboxesDir(paths);
  const out: SandboxRecord[] = [];
  for (const id of listSandboxIds(paths)) {
    // recordPath's layout, by concatenation (see above).
    const read = readRecordFile(`${dir}/${id}/container.json`, id);
    const record = typeof read === 'object' ? read : rebuildRecord(paths, id, read);
    // One rebuilt from nothing is listed while it runs (to be found, stopped, removed);
    // otherwise `system check` reports it, and rm by id still finds it.
    if (record && (record.rebuiltFrom !== 'nothing' || liveMonitor(paths, id))) out.push(record);
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
export async function createSandboxRecord(paths: StorePaths, record: SandboxRecord): Promise<string> {
  checkName(record.name, 'sandbox'); // before any work
  const dir = sandboxDir(paths, record.id);
  mkdirInStore(paths, 'data', sandboxesDir(paths));
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SandboxError(`sandbox ${record.id.slice(0, 12)} already exists`);
    throw err;
  }
  try {
    writeRecord(paths, record);
    writeConfig(paths, record);
    await reserveName(paths, record.name, record.id);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** Every sandbox id in the store (directories under <data>/containers). */
export function listSandboxIds(paths: StorePaths): string[] {
  try {
    return readdirSync(sandboxesDir(paths)).filter((d) => /^[a-f0-9]{64}$/.test(d));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Finds a sandbox the way Docker does: by full id, by name, or by a unique id prefix.
 * A name wins over an id prefix that happens to look the same.
 */
export function findSandbox(paths: StorePaths, ref: string): SandboxRecord {
  const record = lookupSandbox(paths, ref);
  if (record) return record;
  throw new SandboxError(`no such sandbox: ${ref}`, { hint: 'list them with `sandbox ps -a`', code: 'no-such-sandbox' });
}

/** findSandbox, but undefined when nothing has that id, name or id prefix (an ambiguous prefix still throws). */
export function lookupSandbox(paths: StorePaths, ref: string): SandboxRecord | undefined {
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
    const matches = listSandboxIds(paths).filter((id) => id.startsWith(ref));
    if (matches.length > 1) {
      throw new SandboxError(`"${ref}" matches ${matches.length} sandboxes`, { hint: 'give more characters of the id, or the name' });
    }
    const r = matches[0] ? readRecord(paths, matches[0]) : undefined;
    if (r) return r;
  }
  return undefined;
}
