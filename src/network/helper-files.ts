/**
 * Network helpers, found again (the contract: helpers/README.md, "Network helpers:
 * lifetime and identification"; the C half: helpers/launch/net-helpers.c). Every process
 * that serves a sandbox's network from outside its namespaces (slirp4netns, pasta, the
 * port forwarder, a network's switch) dies with the process that started it, and while
 * it runs:
 *   - `<runtime>/net-helpers/<owner>.<name>.pid` holds "PID STARTTIME";
 *   - any other file it keeps at run time (a socket, a lock) is `<owner>.<name>.<what>`
 *     in the same directory;
 *   - its environment holds SANDBOX_NET_OWNER=<owner> and SANDBOX_NET_HELPERS=<that
 *     directory>, which says the store (when it was exec'd: a fork without exec keeps
 *     its parent's environment block).
 * The owner is a sandbox's id, or `KIND-ID` for what serves several sandboxes (a
 * user-defined network's switch, a pod's), whose liveness OWNER_KINDS says. Owners and
 * names have no dot. `system check` (api/store-check.ts) ends and removes what belongs to
 * an owner that no longer runs; `rm` removes a sandbox's (endNetHelpers).
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StorePaths } from '../state/paths.js';
import { isSameProcess } from '../state/liveness.js';
import { liveMonitor, liveMonitorIn, sandboxesDir } from '../state/sandbox-dir.js';
import { ensureStoreDir } from '../state/store-dirs.js';

/** The environment variables every exec'd network helper carries: its owner, and its store's net-helpers directory. */
export const NET_OWNER_ENV = 'SANDBOX_NET_OWNER';
export const NET_HELPERS_ENV = 'SANDBOX_NET_HELPERS';

/** `<runtime>/net-helpers`. */
export function netHelpersDir(paths: StorePaths): string {
  return join(paths.runtime, 'net-helpers');
}

/**
 * The plan's `--net-helpers DIR OWNER` for a sandbox: its parent (the runtime directory)
 * made private first, the monitor makes DIR itself. Undefined when the runtime directory
 * cannot be used (another user's, a link): the helpers still die with the monitor, they
 * are only not recorded (and `system check` reports that directory).
 */
export function netHelpersFor(paths: StorePaths, owner: string): { dir: string; owner: string } | undefined {
  try {
    ensureStoreDir(paths, 'runtime');
  } catch {
    return undefined;
  }
  return { dir: netHelpersDir(paths), owner };
}

/** What a file name of net-helpers/ says. Pure. */
export interface HelperFileName {
  owner: string;
  /** The helper: slirp4netns, pasta, ... */
  name: string;
  /** What follows `<owner>.<name>.`: `pid` for its pid file. */
  what: string;
}

const HELPER_FILE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.(.+)$/;

export function parseHelperFileName(file: string): HelperFileName | undefined {
  const m = HELPER_FILE.exec(file);
  return m ? { owner: m[1]!, name: m[2]!, what: m[3]! } : undefined;
}

/** A pid file's "PID STARTTIME". Pure. */
export function parseHelperPidFile(text: string): { pid: number; startTime: number } | undefined {
  const m = /^(\d+) (\d+)\n?$/.exec(text);
  return m ? { pid: Number(m[1]), startTime: Number(m[2]) } : undefined;
}

/** A file of net-helpers/, and for a pid file the process it names. */
export interface HelperFile extends HelperFileName {
  path: string;
  /** Its content as read (pid files), to tell whether it changed before a repair. */
  text?: string;
  pid?: number;
  startTime?: number;
}

/** Every file of net-helpers/ (names that do not follow the contract too, with owner ''). */
export function listHelperFiles(paths: StorePaths): HelperFile[] {
  const dir = netHelpersDir(paths);
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  return names.map((file) => {
    const path = join(dir, file);
    const parsed = parseHelperFileName(file) ?? { owner: '', name: '', what: file };
    if (parsed.what !== 'pid') return { ...parsed, path };
    let text: string;
    try { text = readFileSync(path, 'utf8'); } catch { return { ...parsed, path }; }
    return { ...parsed, path, text, ...parseHelperPidFile(text) };
  });
}

/** Whether the process a pid file names still runs (the same one: pid and start time). */
export function helperRuns(f: HelperFile): boolean {
  return isSameProcess(f.pid, f.startTime);
}

/**
 * Owners other than a sandbox, by KIND (the part of `KIND-ID` before the dash): whether
 * what they serve still runs ('unknown' leaves their helpers alone). A user-defined
 * network's switch (`network-ID`) or a pod's helper (`pod-ID`) adds its row here.
 */
type OwnerProbe = (paths: StorePaths, id: string) => boolean;
const OWNER_KINDS: Readonly<Record<string, OwnerProbe>> = {};

const SANDBOX_ID = /^[a-f0-9]{64}$/;

/** Does the owner still run: a sandbox with a live monitor (also one being removed right now), or a KIND whose probe says so. */
export function ownerRuns(paths: StorePaths, owner: string): boolean | 'unknown' {
  if (!owner) return 'unknown';
  if (SANDBOX_ID.test(owner)) {
    return !!liveMonitor(paths, owner) || !!liveMonitorIn(join(sandboxesDir(paths), `.removing-${owner}`));
  }
  const dash = owner.indexOf('-');
  const probe = dash > 0 ? OWNER_KINDS[owner.slice(0, dash)] : undefined;
  return probe ? probe(paths, owner.slice(dash + 1)) : 'unknown';
}

/** "sandbox 0123456789ab" or the owner as it is. */
export function ownerLabel(owner: string): string {
  return SANDBOX_ID.test(owner) ? `sandbox ${owner.slice(0, 12)}` : owner;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * The owners of this user's exec'd network helpers of the store `paths`, by pid (their
 * environments; what we may read). A helper's own children (slirp4netns forks one to
 * configure the namespace) inherit the marker: they are their helper's, not listed apart.
 */
export function helpersByEnvironment(paths: StorePaths, pids: Iterable<number>): Map<number, string> {
  const out = new Map<number, string>();
  const owner = `${NET_OWNER_ENV}=`;
  const store = `${NET_HELPERS_ENV}=${netHelpersDir(paths)}`;
  for (const pid of pids) {
    let env: string[];
    try { env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0'); } catch { continue; }
    const v = env.find((e) => e.startsWith(owner));
    if (v && env.includes(store)) out.set(pid, v.slice(owner.length));
  }
  for (const pid of [...out.keys()]) {
    const parent = parentOf(pid);
    if (parent !== undefined && out.get(parent) === out.get(pid)) out.delete(pid);
  }
  return out;
}

/** Ends a helper by SIGKILL and waits (up to 2 s) for it to be gone; true when it is. */
export async function killHelper(pid: number, startTime: number | undefined): Promise<boolean> {
  if (!isSameProcess(pid, startTime)) return true;
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
  for (let i = 0; i < 40; i++) {
    if (!isSameProcess(pid, startTime)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * The owner's helpers and their files, once the owner no longer runs (`rm`: its
 * monitor is gone; they died with it, this ends any that did not and removes the files
 * a killed monitor could not). True when nothing is left.
 */
export async function endNetHelpers(paths: StorePaths, owner: string): Promise<boolean> {
  let clean = true;
  for (const f of listHelperFiles(paths)) {
    if (f.owner !== owner) continue;
    if (f.pid !== undefined && !(await killHelper(f.pid, f.startTime))) { clean = false; continue; }
    rmSync(f.path, { force: true });
  }
  return clean;
}
