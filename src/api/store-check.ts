/**
 * `system check [--repair]`: finds (and fixes) what a kill -9 at any moment can leave
 * behind in the store, in phases, each a function below (`checkStore` runs them in
 * order). `system df` is in disk-usage.ts, `container prune` in prune.ts, the scan of
 * processes both check and prune use in runtime/process-scan.ts.
 *
 * What a killed command can leave, and why each is safe to repair:
 * - a name reservation whose sandbox directory is gone (a `run --rm` killed after its
 *   init removed the directory, an `rm` killed between the two steps): removed under
 *   the names lock, exactly as a take-over would;
 * - a reservation for a sandbox whose record holds another name (a `rename` killed
 *   half-way), older than YOUNG_MS;
 * - a sandbox whose container.json is damaged (or missing) but whose config.json is
 *   readable: rebuilt from config.json and the monitor's files, running or not;
 * - one whose config.json is unreadable too while its monitor runs: stopped (monitor,
 *   init, slirp4netns, fuse-overlayfs) and removed, since nothing says what it is;
 * - a sandbox directory with no (or an unreadable) record and no monitor: a `run`
 *   killed between mkdir and the first record. Removed unless a live process uses it;
 *   an empty one younger than YOUNG_MS may be being created right now and is only reported;
 * - a `containers/.removing-ID` directory (an `rm` killed half-way): whatever still
 *   runs from it is ended, then it is removed;
 * - a record without its name (killed between record and reservation, or an `rm`
 *   killed after releasing the name): finished off, i.e. removed;
 * - a record saying `running` whose monitor is dead and left no exit file (kill -9 of
 *   the monitor, a reboot): rewritten as exited with an error;
 * - a record saying `created` or `exited` (or naming another, dead, monitor) while a
 *   monitor runs it, as its `monitor` file says (a `run -d` or `start` killed after the
 *   monitor started, before it recorded so): every command already treats it as
 *   running; the record is adopted (rewritten as running, with the monitor's pid and
 *   start time), not stopped: the user asked for it to run;
 * - a `--rm` sandbox that ended (or never started) and still has its directory;
 * - a top directory of the store (data, runtime, config, cache) that others can enter,
 *   left so by an older version or a chmod: closed (0700), see state/store-dirs.ts. One
 *   that is not ours (another user's, a link where none is followed) is reported and
 *   neither used nor changed;
 * - temp files of atomic writes older than TEMP_AGE_MS, lock directories older than
 *   LOCK_AGE_MS (proper-lockfile refreshes a held one every few seconds), volume
 *   removals killed half-way (`<data>/volumes/.removing-*`);
 * - a damaged image index (rebuilt from its backup and the stored manifests, what
 *   cannot be is reported), a damaged or missing backup of it (written again);
 * - the image store's garbage (images/gc.ts): blobs and layers no image names and no
 *   live transfer claims, temporary blobs and staging directories of dead processes
 *   (or, from older versions, older than TEMP_AGE_MS and used by no live process).
 * - what a crash left of networking (network/helper-files.ts, helpers/README.md "Network
 *   helpers"): a network helper process (slirp4netns, pasta, the port forwarder, a
 *   network's switch) whose owner no longer runs, found by its pid file in
 *   <runtime>/net-helpers/ or by SANDBOX_NET_OWNER in its environment (with this store's
 *   SANDBOX_NET_HELPERS: another store's helpers are not ours to judge): ended (SIGKILL);
 *   the files there of an owner that no longer runs (pid files, sockets, locks): removed.
 *   An owner that runs is not looked at (its helpers come and go with its restarts).
 *
 * "A live process uses it" means: a process of this user has a file or its working
 * directory there, names it on its command line (fuse-overlayfs), or has it mounted in
 * its mount namespace (a sandbox's init): runtime/process-scan.ts. Repairs of a record re-read it under the
 * sandbox's lock and change nothing when it changed meanwhile.
 */
import { listNetworks, networksDir, withNetworksLock, readNetwork, writeNetwork } from '../state/networks.js';
import { existsSync, lstatSync, readFileSync, readdirSync, rmdirSync, rmSync, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import type { StorePaths } from '../state/paths.js';
import { listSandboxIds, listReservedNames, nameOwner, rebuildRecord, removeReservation, reserveName, writeRecord, type SandboxRecord } from '../state/sandboxes.js';
import { sandboxDir, sandboxesDir, liveMonitor, liveMonitorIn, readPidFile, withSandboxLock } from '../state/sandbox-dir.js';
import { inspectStoreDirs, octal, repairStoreDir, storeDirError } from '../state/store-dirs.js';
import { appendEvent } from '../state/events.js';
import { blobPath, blobsDir, hasBlob, verifyBlob } from '../images/blobs.js';
import { collectImageGarbage, leasesDir, type GarbageKind } from '../images/gc.js';
import { imageFiles, imageIndexBackupPath, imageIndexPath, readImageIndex, repairImageIndex, tagsOf } from '../images/store.js';
import { pidsUsing, scanProcesses, type ProcessScan } from '../runtime/process-scan.js';
import { listVolumeNames, leftoverRemovals, volumeDir, volumesDir } from '../state/volumes.js';
import { removeTree } from '../runtime/userns.js';
import { helperRuns, helpersByEnvironment, killHelper, listHelperFiles, NET_OWNER_ENV, ownerLabel, ownerRuns, type HelperFile } from '../network/helper-files.js';
import { processStartTime } from '../state/liveness.js';
import { currentState, destroySandbox, endMonitor, removalsLeft } from './lifecycle.js';
import { ownerGoneMarker, ownerlessLeft, removeOwnerless } from './sdk/lifeline.js';

/** A sandbox directory, record or reservation younger than this may be being created right now. */
export const YOUNG_MS = 10_000;
/** Temp files and staging directories older than this are leftovers. */
const TEMP_AGE_MS = 60_000;
/** Lock directories older than this are stale (held ones are refreshed every few seconds). */
const LOCK_AGE_MS = 30_000;

export type ProblemKind =
  | 'stale-name' | 'orphan-name' | 'no-record' | 'unreadable-record' | 'half-created' | 'half-removed' | 'name-lost'
  | 'dead-monitor' | 'unrecorded-start' | 'ended-rm' | 'temp-file' | 'stale-lock' | 'volume-removal'
  | 'maybe-in-progress' | 'corrupt-blob' | 'broken-image' | 'damaged-index' | 'index-loss' | 'index-backup'
  | 'damaged-record' | 'unrecorded-monitor' | 'open-store-dir' | 'foreign-store-dir' | 'net-helper' | 'net-helper-file' | GarbageKind
  | 'network-leftover' | 'stray-switch' | 'stale-member' | 'stray-cgroup' | 'owner-gone';

export interface StoreProblem {
  kind: ProblemKind;
  /** 'problem': inconsistent; 'notice': maybe only in progress, so left alone and not counted. */
  severity: 'problem' | 'notice';
  /** The file or directory concerned. */
  path: string;
  id?: string;
  name?: string;
  /** What is wrong, in one line. */
  detail: string;
  /** What --repair does about it (or did). */
  action: string;
  repaired: boolean;
  /** Why the repair did not happen (or failed). */
  error?: string;
}

export interface CheckReport {
  /** True when no problem remains (notices do not count). */
  consistent: boolean;
  repair: boolean;
  sandboxes: number;
  names: number;
  problems: StoreProblem[];
}

export interface CheckOptions {
  repair?: boolean;
  /** Re-hash every stored blob (slow on big stores: it reads them all). */
  verify?: boolean;
  /** For tests: the time "now". */
  now?: number;
}

/** What identifies a sandbox's directory in paths, mount tables and command lines (mount tables show /oldroot/... inside). */
export function sandboxNeedle(id: string): string {
  return `containers/${id}`;
}

// ---------------------------------------------------------------------------------------
// check

const GARBAGE_DETAIL: Record<GarbageKind, string> = {
  'unused-blob': 'a blob no image uses (left by a failed or killed pull, load, import or commit)',
  'unused-layer': 'an unpacked layer no image uses',
  'blob-temp': 'a blob whose writing was interrupted (its process is gone)',
  'layer-staging': 'a layer whose unpacking was interrupted (its process is gone)',
  'layer-link': 'a short link of a layer that is gone, or an interrupted one',
  'stale-lease': 'the lease of a transfer whose process is gone',
  'gc-trash': 'garbage whose removal was interrupted',
};

function ageMs(path: string, now: number): number {
  try {
    return now - lstatSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function entries(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

const TEMP_FILE = /\.tmp$/;

/** Reads a record file as it is: undefined when missing, 'unreadable' when not JSON (or not a record). */
function rawRecord(paths: StorePaths, id: string): { text: string; record: SandboxRecord } | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(join(sandboxDir(paths, id), 'container.json'), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreadable';
  }
  try {
    const record = JSON.parse(text) as SandboxRecord;
    if (!record || typeof record !== 'object' || record.id !== id || typeof record.state !== 'object' || !record.state || typeof record.name !== 'string') return 'unreadable';
    return { text, record };
  } catch {
    return 'unreadable';
  }
}

function short(id: string): string {
  return id.slice(0, 12);
}

/**
 * Removes a sandbox's directory (as `rm` does: renamed away, whatever runs from it
 * ended) and (if it holds it) its name; the event journal hears of it.
 */
async function removeSandboxDir(paths: StorePaths, id: string, name: string | undefined, releaseItsName = true): Promise<void> {
  await destroySandbox(paths, id, releaseItsName ? name : undefined);
  appendEvent(paths, { type: 'container', action: 'remove', id, ...(name ? { name } : {}), attributes: { reason: 'system check --repair' } });
}

/**
 * Rewrites a record under the sandbox's lock, but only if it is still exactly what the
 * check read (`text`): another command that changed it meanwhile knows better.
 */
async function rewriteRecord(paths: StorePaths, id: string, text: string, change: (r: SandboxRecord) => void): Promise<boolean> {
  return withSandboxLock(paths, id, () => {
    const now = rawRecord(paths, id);
    if (typeof now !== 'object' || now.text !== text) return false;
    change(now.record);
    writeRecord(paths, now.record);
    return true;
  });
}

function sandboxDirGone(paths: StorePaths, owner: string): boolean {
  try { return !owner || !lstatSync(sandboxDir(paths, owner)).isDirectory(); } catch { return true; }
}

/**
 * Name reservations whose sandbox directory is gone: a `run --rm` killed after its init
 * removed the directory, an `rm` killed between its two steps. (A reservation is only
 * ever made after its directory, see state/sandboxes.ts createSandboxRecord.)
 */
export function staleReservations(paths: StorePaths): { name: string; owner: string }[] {
  const out: { name: string; owner: string }[] = [];
  for (const name of listReservedNames(paths)) {
    const owner = nameOwner(paths, name);
    if (owner !== undefined && sandboxDirGone(paths, owner)) out.push({ name, owner });
  }
  return out;
}

/** Removes a stale reservation under the names lock, if it still is one (as a take-over would). */
export function removeStaleReservation(paths: StorePaths, r: { name: string; owner: string }): Promise<boolean> {
  return removeReservation(paths, r.name, r.owner, (o) => sandboxDirGone(paths, o));
}

/** One run of the check: what every phase reads, and where problems go. */
interface Check {
  paths: StorePaths;
  repair: boolean;
  now: number;
  /** This user's processes, scanned once at the start (repairs scan again before they remove). */
  scan: ProcessScan;
  problems: StoreProblem[];
  /** Records a problem; with --repair runs `fix` (true: repaired; a string: why not). */
  found: (p: Omit<StoreProblem, 'repaired'>, fix?: () => Promise<boolean | string>) => Promise<void>;
}

function newCheck(paths: StorePaths, options: CheckOptions): Check {
  const repair = !!options.repair;
  const problems: StoreProblem[] = [];
  const found = async (p: Omit<StoreProblem, 'repaired'>, fix?: () => Promise<boolean | string>): Promise<void> => {
    const problem: StoreProblem = { ...p, repaired: false };
    problems.push(problem);
    if (!repair || !fix || p.severity === 'notice') return;
    try {
      const r = await fix();
      if (r === true) problem.repaired = true;
      else problem.error = typeof r === 'string' ? r : 'it changed meanwhile; check again';
    } catch (err) {
      problem.error = err instanceof Error ? err.message : String(err);
    }
  };
  return { paths, repair, now: options.now ?? Date.now(), scan: scanProcesses(), problems, found };
}

/**
 * Checks the store and, with `repair`, fixes what it finds, phase by phase (the order
 * matters: the sandboxes' removals release names the last phase would report).
 * Never throws for a problem it finds.
 */
export async function checkStore(paths: StorePaths, options: CheckOptions = {}): Promise<CheckReport> {
  const c = newCheck(paths, options);
  const notOurs = await checkStoreDirs(c);
  // Nothing in a top directory that is not ours is looked at further: a repair there
  // would remove another user's files (or, through a link, files anywhere).
  if (notOurs.has(paths.data)) return { consistent: false, repair: c.repair, sandboxes: 0, names: 0, problems: c.problems };
  await checkTempFilesAndLocks(c, notOurs);
  await checkImageIndex(c);
  await checkImageGarbage(c);
  await checkVolumeRemovals(c);
  await checkImages(c, !!options.verify);
  await checkOwnerless(c);
  const sandboxes = await checkSandboxes(c);
  await checkRemovalsLeft(c);
  if (!notOurs.has(paths.runtime)) await checkNetworkHelpers(c);
  const names = await checkNames(c);
  await checkNetworks(c);
  await checkCgroups(c);
  const consistent = c.problems.every((p) => p.severity === 'notice' || p.repaired);
  return { consistent, repair: c.repair, sandboxes, names, problems: c.problems };
}

/** 0. The store is private: its top directories are ours and closed to others. Returns those that are not ours. */
async function checkStoreDirs(c: Check): Promise<Set<string>> {
  const { paths, found } = c;
  const uid = process.getuid?.() ?? 0;
  const notOurs = new Set<string>();
  for (const dir of inspectStoreDirs(paths)) {
    const { verdict } = dir;
    if (verdict.kind === 'open') {
      await found({ kind: 'open-store-dir', severity: 'problem', path: dir.path,
        detail: `the ${dir.role} directory is mode ${octal(verdict.mode)}: other users can enter it (and run the setuid files of your images as you)`,
        action: `make it private (chmod ${octal(0o700)})` },
      async () => repairStoreDir(dir));
    } else {
      const error = storeDirError(dir.role, dir.path, verdict, uid);
      if (!error) continue;
      notOurs.add(dir.path);
      await found({ kind: 'foreign-store-dir', severity: 'problem', path: dir.path, detail: error.message,
        action: `leave it alone (it is not yours): ${error.hint ?? 'use another store'}` },
      async () => 'it is not yours to change');
    }
  }
  return notOurs;
}

/** 1. Temp files of atomic writes and stale lock directories, wherever the store writes. */
async function checkTempFilesAndLocks(c: Check, notOurs: Set<string>): Promise<void> {
  const { paths, found, now } = c;
  const ids = listSandboxIds(paths);
  const writeDirs = [
    paths.data, join(paths.data, 'names'), join(paths.data, 'blobs', 'sha256'), join(paths.data, 'layers'), leasesDir(paths), volumesDir(paths),
    ...(notOurs.has(paths.runtime) ? [] : [paths.runtime]), ...ids.map((id) => sandboxDir(paths, id)),
    ...listVolumeNames(paths).map((n) => volumeDir(paths, n)),
  ];
  for (const dir of writeDirs) {
    for (const e of entries(dir)) {
      const path = join(dir, e);
      let st: Stats;
      try { st = lstatSync(path); } catch { continue; }
      const age = now - st.mtimeMs;
      if (st.isFile() && TEMP_FILE.test(e) && age > TEMP_AGE_MS) {
        await found({ kind: 'temp-file', severity: 'problem', path, detail: `a temp file of an interrupted write, ${Math.round(age / 1000)} s old`, action: 'remove it' },
          async () => { rmSync(path, { force: true }); return true; });
      } else if (st.isDirectory() && e.endsWith('.lock') && age > LOCK_AGE_MS) {
        await found({ kind: 'stale-lock', severity: 'problem', path, detail: `a lock left by a command that died, ${Math.round(age / 1000)} s old`, action: 'remove it' },
          async () => {
            // Still stale? A lock taken again meanwhile is fresh.
            if (now - lstatSync(path).mtimeMs <= LOCK_AGE_MS) return 'it was taken again meanwhile';
            rmSync(path, { recursive: true, force: true });
            return true;
          });
      }
    }
  }
}

/**
 * 2. The image index: a damaged images.json is rebuilt from its backup and the stored
 * manifests (images/store.ts), what cannot be is reported; a missing or damaged backup
 * is written again. Then the image store's garbage (images/gc.ts): blobs and layers no
 * image names and no transfer in progress claims, and what dead processes left
 * (temporary blobs, staging directories, leases, short links). With --repair both are
 * done first and reported as done.
 */
async function checkImageIndex(c: Check): Promise<void> {
  const { paths, found, repair } = c;
  try {
    const idx = await repairImageIndex(paths, { dryRun: !repair });
    if (idx?.damage) {
      const d = idx.damage;
      await found({ kind: 'damaged-index', severity: 'problem', path: d.path,
        detail: `the image index is damaged (${d.reason}); ${idx.images} image(s) and ${idx.tags} tag(s) can be recovered from ${d.recoveredFrom}`,
        action: 'rewrite it from what can be recovered' }, async () => true);
      for (const lost of d.lost) {
        await found({ kind: 'index-loss', severity: 'problem', path: d.path, detail: `cannot be recovered: ${lost}`,
          action: 'write the index without it (tag the images again: `sandbox tag ID NAME`)' }, async () => true);
      }
    } else if (idx?.backup) {
      await found({ kind: 'index-backup', severity: 'problem', path: imageIndexBackupPath(paths), detail: `the backup of the image index is unusable: ${idx.backup}`,
        action: 'write it again from images.json' }, async () => true);
    }
  } catch (err) {
    await found({ kind: 'damaged-index', severity: 'problem', path: imageIndexPath(paths), detail: 'the image index could not be checked',
      action: 'rewrite it' }, async () => (err instanceof Error ? err.message : String(err)));
  }
}

/** 2b. The image store's garbage (images/gc.ts), see checkImageIndex. */
async function checkImageGarbage(c: Check): Promise<void> {
  const { paths, found, repair, now, scan } = c;
  const garbage = await collectImageGarbage(paths, { dryRun: !repair, now, graceMs: TEMP_AGE_MS, inUse: (p) => pidsUsing(scan, p).length > 0 });
  for (const g of garbage.items) {
    await found({ kind: g.kind, severity: 'problem', path: g.path, detail: `${GARBAGE_DETAIL[g.kind]} (${g.size} bytes)`, action: 'remove it' },
      async () => g.removed || (g.error ?? 'it changed meanwhile'));
  }
}

/** 2c. Volume removals killed half-way. */
async function checkVolumeRemovals(c: Check): Promise<void> {
  const { paths, found, now, scan } = c;
  for (const path of leftoverRemovals(paths)) {
    if (ageMs(path, now) <= TEMP_AGE_MS || pidsUsing(scan, path).length) continue;
    await found({ kind: 'volume-removal', severity: 'problem', path, detail: 'a volume whose removal was interrupted', action: 'finish removing it' },
      async () => { await removeTree(path); return true; });
  }
}

/**
 * 3. Images: every blob and layer an image needs is there (and, with --verify, every
 * blob still has the digest it is stored under). A broken image is reported, not
 * removed: pulling or loading it again repairs it, and its sandboxes keep their data.
 */
async function checkImages(c: Check, verify: boolean): Promise<void> {
  const { paths, found } = c;
  const index = readImageIndex(paths);
  for (const record of Object.values(index.images)) {
    const files = imageFiles(paths, record);
    const missing = [
      ...files.blobs.filter((b) => !hasBlob(paths, b)).map((b) => `blob ${b.slice(7, 19)}`),
      ...files.layers.filter((l) => !existsSync(l)).map((l) => `layer ${basename(l).slice(0, 12)}`),
    ];
    if (missing.length) {
      const names = tagsOf(index, record.id);
      await found({ kind: 'broken-image', severity: 'problem', path: join(paths.data, 'images.json'), id: record.id,
        detail: `image ${names[0] ?? record.id.slice(7, 19)} lacks ${missing.join(', ')}`, action: 'nothing (pull, load or import it again)' });
    }
  }
  if (verify) {
    for (const hex of entries(blobsDir(paths))) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const digest = `sha256:${hex}`;
      if (await verifyBlob(paths, digest)) continue;
      const path = blobPath(paths, digest);
      await found({ kind: 'corrupt-blob', severity: 'problem', path, detail: 'a blob whose content no longer matches its digest', action: 'remove it (then pull or load the images using it again)' },
        async () => { rmSync(path, { force: true }); return true; });
    }
  }
}

/** 4. Sandboxes: every directory under containers/; returns how many are sandboxes (have a record, or can be given one). */
async function checkSandboxes(c: Check): Promise<number> {
  const { paths, scan } = c;
  let sandboxes = 0;
  for (const e of entries(sandboxesDir(paths))) {
    if (!/^[a-f0-9]{64}$/.test(e)) continue;
    const id = e;
    const dir = sandboxDir(paths, id);
    let isDir = false;
    try { isDir = lstatSync(dir).isDirectory(); } catch { continue; }
    if (!isDir) continue;
    const users = pidsUsing(scan, sandboxNeedle(id));
    const raw = rawRecord(paths, id);
    if (typeof raw !== 'object') {
      if (await checkSandboxWithoutRecord(c, id, dir, raw, users)) sandboxes++;
      continue;
    }
    sandboxes++;
    await checkSandboxRecord(c, id, dir, raw, users);
  }
  return sandboxes;
}

/**
 * 4a. A sandbox directory whose record is missing or unreadable: what its directory and
 * its live monitor still tell (state/sandboxes.ts rebuildRecord). True when it can be
 * rebuilt (it counts as a sandbox).
 */
async function checkSandboxWithoutRecord(c: Check, id: string, dir: string, raw: 'missing' | 'unreadable', users: number[]): Promise<boolean> {
  const { paths, found, now } = c;
  const monitor = liveMonitor(paths, id);
  const rebuilt = rebuildRecord(paths, id, raw === 'missing' ? 'missing' : 'damaged');
  const recordPath = join(dir, 'container.json');
  const how = raw === 'missing' ? 'is missing' : 'is damaged';
  if (rebuilt?.rebuiltFrom === 'config') {
    await found({ kind: 'damaged-record', severity: 'problem', path: recordPath, id, name: rebuilt.name,
      detail: `the record of sandbox ${short(id)} (${rebuilt.name}) ${how}${monitor ? ` (it runs, monitor ${monitor.pid})` : ''}`,
      action: 'rebuild it from config.json and the monitor\'s files' },
    async () => withSandboxLock(paths, id, () => {
      if (typeof rawRecord(paths, id) === 'object') return 'it has a record now';
      const again = rebuildRecord(paths, id, 'damaged');
      if (again?.rebuiltFrom !== 'config') return 'its config.json is unreadable now';
      again.state = currentState(paths, again);
      writeRecord(paths, again);
      return true;
    }));
    return true;
  }
  if (monitor) {
    await found({ kind: 'unrecorded-monitor', severity: 'problem', path: recordPath, id, ...(rebuilt ? { name: rebuilt.name } : {}),
      detail: `sandbox ${short(id)} runs (monitor ${monitor.pid}) but its record ${how} and config.json cannot rebuild it`,
      action: 'stop it and remove it' },
    async () => { await removeSandboxDir(paths, id, rebuilt?.name); return true; });
    return false;
  }
  const rest = entries(dir).filter((f) => !TEMP_FILE.test(f) && f !== '.lock' && f !== 'container.json');
  const kind = raw === 'missing' ? 'no-record' : 'unreadable-record';
  const what = raw === 'missing' ? 'a sandbox directory without a record' : 'a sandbox directory whose record is unreadable';
  if (raw === 'missing' && rest.length === 0 && ageMs(dir, now) <= YOUNG_MS) {
    await found({ kind: 'maybe-in-progress', severity: 'notice', path: dir, id, detail: `${what}, made less than ${YOUNG_MS / 1000} s ago: maybe being created right now`, action: 'none (check again later)' });
    return false;
  }
  if (users.length) {
    await found({ kind, severity: 'problem', path: dir, id, detail: `${what}, in use by process ${users.join(', ')}`, action: 'none while it is in use' },
      async () => 'it is in use by a live process');
    return false;
  }
  await found({ kind, severity: 'problem', path: dir, id, detail: `${what} (half-created or half-removed)`, action: 'remove it' },
    async () => {
      if (pidsUsing(scanProcesses(), sandboxNeedle(id)).length) return 'it is in use by a live process';
      if (typeof rawRecord(paths, id) === 'object') return 'it has a record now';
      await removeSandboxDir(paths, id, undefined);
      return true;
    });
  return false;
}

/** 4b. A sandbox with a readable record: does the record still tell the truth? */
async function checkSandboxRecord(c: Check, id: string, dir: string, raw: { text: string; record: SandboxRecord }, users: number[]): Promise<void> {
  const { paths, found, now } = c;
  const { record, text } = raw;
  const owner = nameOwner(paths, record.name);
  const hasName = owner === id;
  const createdAge = now - (Date.parse(record.created) || 0);
  const state = currentState(paths, record);
  const label = `sandbox ${short(id)} (${record.name})`;

  const monitor = liveMonitor(paths, id);
  if (monitor && record.state.monitorPid !== monitor.pid && state.status === 'running') {
    // Its record does not know the monitor that runs it.
    await found({ kind: 'unrecorded-start', severity: 'problem', path: dir, id, name: record.name,
      detail: `${label} runs (monitor ${monitor.pid}) but its record says ${record.state.status}${record.state.monitorPid ? ` with monitor ${record.state.monitorPid}` : ''}: the command that started it was killed`,
      action: 'record it as running' },
    async () => rewriteRecord(paths, id, text, (r) => {
      r.state = {
        status: 'running', pid: readPidFile(paths, id) ?? monitor.pid, monitorPid: monitor.pid, monitorStartTime: monitor.startTime,
        startedAt: new Date(monitor.since).toISOString(),
      };
    }));
    return;
  }
  if (users.length && state.status === 'running') {
    if (!hasName) {
      await found({ kind: 'name-lost', severity: 'problem', path: dir, id, name: record.name,
        detail: `${label} runs but its name is not reserved${owner ? ` (sandbox ${short(owner)} holds it)` : ''}`, action: 'reserve its name again' },
      async () => { await reserveName(paths, record.name, id); return true; });
    }
    return;
  }
  if (users.length) return; // in use (a stop or start at work): not ours to touch now

  if (!hasName) {
    if (record.state.status === 'created' && createdAge <= YOUNG_MS) {
      await found({ kind: 'maybe-in-progress', severity: 'notice', path: dir, id, name: record.name, detail: `${label} has no name reservation yet: maybe being created right now`, action: 'none (check again later)' });
      return;
    }
    const kind = record.state.status === 'created' ? 'half-created' : 'half-removed';
    const detail = kind === 'half-created'
      ? `${label} was never given its name (its \`run\` or \`create\` was killed, or lost the name to another)`
      : `${label} lost its name: its \`rm\` was killed half-way`;
    await found({ kind, severity: 'problem', path: dir, id, name: record.name, detail, action: 'remove it' },
      async () => {
        if (nameOwner(paths, record.name) === id) return 'it has its name now';
        if (pidsUsing(scanProcesses(), sandboxNeedle(id)).length) return 'it is in use by a live process';
        await removeSandboxDir(paths, id, record.name, false);
        return true;
      });
    return;
  }

  if (record.state.status === 'running' && state.status === 'exited' && state.error) {
    // Its monitor (or, for a foreground run, its init) died and left no exit file.
    const removeToo = record.request.remove;
    await found({ kind: 'dead-monitor', severity: 'problem', path: dir, id, name: record.name,
      detail: `${label} is recorded as running but ${record.state.monitorPid ? `its monitor (pid ${record.state.monitorPid}) is gone` : `its process (pid ${record.state.pid}) is gone`} and recorded no exit`,
      action: removeToo ? 'remove it (it was run with --rm)' : 'record it as exited with an error' },
    async () => {
      if (removeToo) {
        await removeSandboxDir(paths, id, record.name);
        return true;
      }
      // No finishedAt: when it died is unknown (the monitor would have recorded it).
      const done = await rewriteRecord(paths, id, text, (r) => { r.state = state; });
      if (done) appendEvent(paths, { type: 'container', action: 'die', id, name: record.name, attributes: { exitCode: state.exitCode ?? 255, error: state.error ?? '' } });
      return done;
    });
    return;
  }

  if (record.request.remove && (state.status === 'exited' || (state.status === 'created' && createdAge > YOUNG_MS))) {
    await found({ kind: 'ended-rm', severity: 'problem', path: dir, id, name: record.name,
      detail: `${label} was run with --rm and ${state.status === 'created' ? 'never started (its command was killed)' : 'has ended'}, but its directory remains`,
      action: 'remove it' },
    async () => {
      if (pidsUsing(scanProcesses(), sandboxNeedle(id)).length) return 'it is in use by a live process';
      await removeSandboxDir(paths, id, record.name);
      return true;
    });
  }
}

/**
 * Sandboxes bound to a process that died (api/sdk/lifeline.ts): their monitors ended
 * them; the records, directories, names and memberships they left go as with `rm -f -v`.
 */
async function checkOwnerless(c: Check): Promise<void> {
  for (const id of ownerlessLeft(c.paths)) {
    await c.found({ kind: 'owner-gone', severity: 'problem', path: ownerGoneMarker(c.paths, id), id,
      detail: `sandbox ${short(id)} ended with the process that started it; its record and files remain`, action: 'remove it (as rm -f -v)' },
    async () => (await removeOwnerless(c.paths, id)) || 'its processes do not end');
  }
}

/**
 * Sandbox removals killed half-way (api/lifecycle.ts destroySandbox): whatever still
 * runs from them is ended, then they go.
 */
async function checkRemovalsLeft(c: Check): Promise<void> {
  const { paths, found, now } = c;
  for (const path of removalsLeft(paths)) {
    const id = basename(path).slice('.removing-'.length);
    const runs = liveMonitorIn(path)?.pid;
    // The rename that made it set its ctime: a young one may be an `rm` at work right now.
    let renamedAgo = 0;
    try { renamedAgo = now - lstatSync(path).ctimeMs; } catch { continue; }
    if (renamedAgo <= YOUNG_MS) {
      await found({ kind: 'maybe-in-progress', severity: 'notice', path, id, detail: `sandbox ${short(id)} is being removed (less than ${YOUNG_MS / 1000} s ago)`, action: 'none (check again later)' });
      continue;
    }
    await found({ kind: 'half-removed', severity: 'problem', path, id,
      detail: `sandbox ${short(id)} was being removed when its \`rm\` was killed${runs ? ` (it still runs, monitor ${runs})` : ''}`,
      action: runs ? 'stop it and finish removing it' : 'finish removing it' },
    async () => {
      if (!(await endMonitor(path))) return 'its processes do not end';
      await removeTree(path);
      appendEvent(paths, { type: 'container', action: 'remove', id, attributes: { reason: 'system check --repair' } });
      return true;
    });
  }
}

/**
 * 4c. Network helpers and their files whose owner no longer runs (after the sandboxes:
 * the removals above end theirs). A helper is ended only when it still is the process
 * recorded (pid and start time) and its owner still does not run.
 */
async function checkNetworkHelpers(c: Check): Promise<void> {
  const { paths, found, scan } = c;
  const files = listHelperFiles(paths);
  const byEnv = helpersByEnvironment(paths, scan.refs.keys());
  const owners = new Set([...files.map((f) => f.owner), ...byEnv.values()]);
  const runs = new Map([...owners].map((o) => [o, ownerRuns(paths, o)] as const));
  const stillDead = (owner: string) => ownerRuns(paths, owner) === false;
  const recorded = new Set<number>();
  for (const f of files) {
    const state = runs.get(f.owner);
    if (state === true) continue;
    const owner = ownerLabel(f.owner);
    if (state === 'unknown') {
      await found({ kind: 'net-helper-file', severity: 'notice', path: f.path,
        detail: f.owner ? `a file of network helper ${f.name} of ${owner}, a kind of owner this version does not know` : 'a file whose name does not say its owner (<owner>.<name>.<what>)',
        action: 'none (a newer version may know it)' });
      continue;
    }
    if (f.pid !== undefined && helperRuns(f)) {
      recorded.add(f.pid);
      const { pid, startTime } = f;
      await found({ kind: 'net-helper', severity: 'problem', path: f.path, ...(f.owner.length === 64 ? { id: f.owner } : {}),
        detail: `network helper ${f.name} (pid ${pid}) of ${owner} still runs, but its owner does not`, action: 'end it (SIGKILL) and remove its files' },
      async () => {
        if (!stillDead(f.owner)) return 'its owner runs again';
        if (!(await killHelper(pid, startTime))) return `process ${pid} does not end`;
        removeIfUnchanged(f);
        return true;
      });
      continue;
    }
    await found({ kind: 'net-helper-file', severity: 'problem', path: f.path, ...(f.owner.length === 64 ? { id: f.owner } : {}),
      detail: f.what === 'pid'
        ? `the pid file of network helper ${f.name} of ${owner}, which no longer runs (a monitor killed before it could remove it)`
        : `a file of network helper ${f.name} of ${owner}, which no longer runs`,
      action: 'remove it' },
    async () => {
      if (!stillDead(f.owner)) return 'its owner runs again';
      removeIfUnchanged(f);
      return true;
    });
  }
  for (const [pid, owner] of byEnv) {
    if (recorded.has(pid) || runs.get(owner) !== false) continue;
    const startTime = processStartTime(pid);
    if (startTime === undefined) continue;
    let comm = '';
    try { comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { continue; }
    await found({ kind: 'net-helper', severity: 'problem', path: `/proc/${pid}`, ...(owner.length === 64 ? { id: owner } : {}),
      detail: `network helper ${comm} (pid ${pid}) of ${ownerLabel(owner)} still runs, but its owner does not (found by ${NET_OWNER_ENV} in its environment)`,
      action: 'end it (SIGKILL)' },
    async () => {
      if (!stillDead(owner)) return 'its owner runs again';
      return (await killHelper(pid, startTime)) || `process ${pid} does not end`;
    });
  }
}

/** Removes a helper file, unless a pid file now names another process (its owner started again meanwhile). */
function removeIfUnchanged(f: HelperFile): void {
  if (f.text !== undefined) {
    let now: string | undefined;
    try { now = readFileSync(f.path, 'utf8'); } catch { return; }
    if (now !== f.text) return;
  }
  rmSync(f.path, { force: true });
}

/** 5. Name reservations (after the sandboxes: their removals above released theirs). Returns how many there are. */
async function checkNames(c: Check): Promise<number> {
  const { paths, found, now } = c;
  const names = listReservedNames(paths);
  for (const name of names) {
    const owner = nameOwner(paths, name);
    if (owner === undefined) continue; // released meanwhile
    const path = join(paths.data, 'names', name);
    if (sandboxDirGone(paths, owner)) {
      await found({ kind: 'stale-name', severity: 'problem', path, name, ...(owner ? { id: owner } : {}),
        detail: `the name "${name}" is reserved for ${owner ? `sandbox ${short(owner)}, which does not exist` : 'no sandbox'}`, action: 'remove the reservation' },
      async () => removeStaleReservation(paths, { name, owner }));
      continue;
    }
    const raw = rawRecord(paths, owner);
    if (typeof raw === 'object' && raw.record.name !== name && ageMs(path, now) > YOUNG_MS) {
      const other = (o: string) => { const r = rawRecord(paths, o); return typeof r === 'object' && r.record.name !== name; };
      await found({ kind: 'orphan-name', severity: 'problem', path, name, id: owner,
        detail: `the name "${name}" is reserved for sandbox ${short(owner)}, which is called "${raw.record.name}" (a rename was killed half-way)`, action: 'remove the reservation' },
      async () => removeReservation(paths, name, owner, other));
    }
  }
  return names.length;
}

/**
 * 7. User-defined networks (api/networks.ts, helpers/netswitch.c). A switch exits with
 * its last member and removes its runtime directory; one that was killed leaves that
 * directory (its socket and lock; the next member's start would replace them). A switch
 * of a network that no longer exists should not run. A member whose sandbox is gone
 * (a crash; a --rm sandbox removes itself without a word to the network) still holds its
 * address until the next change to the network drops it.
 */
async function checkNetworks(c: Check): Promise<void> {
  const { paths, found, now, scan } = c;
  const runtimeDir = join(paths.runtime, 'networks');
  const networks = listNetworks(paths);
  const ids = new Set(networks.map((n) => n.id.slice(0, 12)));
  for (const e of entries(runtimeDir)) {
    const dir = join(runtimeDir, e);
    const users = pidsUsing(scan, dir);
    if (users.length) {
      if (ids.has(e)) continue;
      await found({ kind: 'stray-switch', severity: 'problem', path: dir, detail: `a network switch (pid ${users.join(', ')}) of a network that no longer exists`, action: 'end it and remove its directory' },
        async () => {
          for (const pid of pidsUsing(scanProcesses(), dir)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
          await removeTree(dir);
          return true;
        });
      continue;
    }
    if (ageMs(dir, now) <= TEMP_AGE_MS) continue; // a member may be joining right now
    await found({ kind: 'network-leftover', severity: 'problem', path: dir, detail: 'the runtime directory of a network switch that was killed (no process uses it)', action: 'remove it' },
      async () => {
        if (pidsUsing(scanProcesses(), dir).length) return 'a switch started there meanwhile';
        await removeTree(dir);
        return true;
      });
  }
  for (const n of networks) {
    // A --rm sandbox that removed itself is expected to leave its address to the next change.
    const gone = Object.keys(n.members).filter((id) => !n.members[id]!.autoRemove && !existsSync(join(paths.data, 'containers', id)));
    if (!gone.length) continue;
    await found({ kind: 'stale-member', severity: 'problem', path: join(networksDir(paths), `${n.name}.json`), name: n.name,
      detail: `network ${n.name} keeps the address of ${gone.length} removed sandbox${gone.length > 1 ? 'es' : ''} (${gone.map((id) => n.members[id]!.ip).join(', ')})`, action: 'free the addresses' },
    async () => withNetworksLock(paths, () => {
      const now = readNetwork(paths, n.name);
      if (!now) return true;
      for (const id of gone) if (!existsSync(join(paths.data, 'containers', id))) delete now.members[id];
      writeNetwork(paths, now);
      return true;
    }));
  }
}

/**
 * 8. Resource limits (runtime/cgroup/): a sandbox's cgroups go with its monitor; one
 * killed with SIGKILL leaves them (the next sandbox with a limit removes them, as does
 * `rm`). Empty ones of no running sandbox of this store, older than YOUNG_MS, are
 * reported (the cgroups of another store's sandboxes hold their processes).
 */
async function checkCgroups(c: Check): Promise<void> {
  const { detectCgroupHost } = await import('../runtime/cgroup/detect.js');
  const { cgroupBases, strayCgroups } = await import('../runtime/cgroup/manage.js');
  const { liveMonitor } = await import('../state/sandbox-dir.js');
  const bases = cgroupBases(detectCgroupHost());
  for (const dir of strayCgroups(bases, (id) => liveMonitor(c.paths, id) !== undefined, YOUNG_MS, c.now)) {
    await c.found({ kind: 'stray-cgroup', severity: 'problem', path: dir, detail: 'the cgroup of a sandbox whose monitor was killed (no process in it)', action: 'remove it' },
      async () => { rmdirSync(dir); return true; });
  }
}
