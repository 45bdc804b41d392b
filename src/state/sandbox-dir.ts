/**
 * A sandbox's directory, <data>/containers/<id>, and the files in it (the on-disk names keep
 * Docker's word, containers/ and container.json, so that stores written before stay readable): the one place
 * that knows its layout. Records and names are state/sandboxes.ts's; what the monitor
 * (helpers/launch/monitor.c) keeps here, and the per-sandbox lock, are this module's:
 *
 *   container.json  the record (state/sandboxes.ts)
 *   config.json     its creation-time part, what a damaged record is rebuilt from
 *   monitor         "PID STARTTIME" of a live monitor (written before it starts anything, removed when it ends)
 *   pid             the current init's pid and the restarts before it ("PID\nRESTARTS\n"), rewritten by the monitor at every (re)start
 *   exit.json       how the sandbox ended (detached sandboxes)
 *   ctr.log         its output (CRI log format; elsewhere with --log-opt path=, none with --log-driver none)
 *   health.json     its health check's results (state/health.ts)
 *   attach          the monitor's socket for `sandbox attach` while a run lasts (helpers/launch/attach.c)
 *   upper/ work/ merged/  the root's writable layer, overlay work dir, fuse mount point
 *   host/<name>/{upper,work}  the `host` image's per-directory writable layers
 *   hosts hostname resolv.conf  bound over /etc inside
 *   containerenv    bound as /run/.containerenv inside (runtime/containerenv.ts)
 *   .lock           the sandbox's short lock (withSandboxLock)
 */
import { withFileLock } from './file-lock.js';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { isSameProcess } from './liveness.js';
import type { StorePaths } from './paths.js';
import type { SandboxState } from './sandboxes.js';
import type { RunRequest } from '../types.js';

export function sandboxesDir(paths: StorePaths): string {
  return join(paths.data, 'containers');
}

export function sandboxDir(paths: StorePaths, id: string): string {
  return join(sandboxesDir(paths), id);
}

/** Where a sandbox's own files live on the host (what a launch plan mounts from). */
export interface SandboxDirs {
  /** The sandbox's directory; removed as a whole by --rm. */
  dir: string;
  /** Writable layer and overlay work dir of the root. */
  upper: string;
  work: string;
  /** Where fuse-overlayfs mounts the root (fuse mode only), and where `cp` mounts a stopped sandbox's root. */
  merged: string;
  /** Per-directory writable layers of the `host` image: <hostDirs>/<name>/{upper,work}. */
  hostDirs: string;
  hosts: string;
  hostname: string;
  resolvConf: string;
  /** /run/.containerenv inside. */
  containerEnv: string;
}

/** The layout of the sandbox directory `dir`. */
export function sandboxDirs(dir: string): SandboxDirs {
  return {
    dir,
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    merged: join(dir, 'merged'),
    hostDirs: join(dir, 'host'),
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
    resolvConf: join(dir, 'resolv.conf'),
    containerEnv: join(dir, 'containerenv'),
  };
}

/** `<dir>/container.json`: the record (read and written by state/sandboxes.ts). */
export function recordPath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'container.json');
}

export function configPath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'config.json');
}

/** `<dir>/monitor`: "PID STARTTIME" of the sandbox's monitor (helpers/launch/monitor.c claim_monitor). */
export function monitorFilePath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'monitor');
}

/** `<dir>/attach`: the unix socket attachers connect to while the sandbox runs (helpers/launch/attach.c). */
export function attachSocketPath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'attach');
}

/** `<dir>/pid`: the current init's pid, rewritten by the monitor at every (re)start. */
export function pidFilePath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'pid');
}

/** Where a sandbox's output goes (CRI log format, see helpers/launch/logs.c) and how it ended. */
export function logPath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'ctr.log');
}

/**
 * The sandbox's log file as its options say: `--log-opt path=` or ctr.log; undefined with
 * `--log-driver none` (nothing is kept).
 */
export function sandboxLogFile(paths: StorePaths, record: { id: string; request: Pick<RunRequest, 'logDriver' | 'logPath'> }): string | undefined {
  if (record.request.logDriver === 'none') return undefined;
  return record.request.logPath ?? logPath(paths, record.id);
}

/** `<dir>/health.json`: the results of its health check (state/health.ts). */
export function healthFilePath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'health.json');
}

/** `<dir>/oom-killed`: made by the monitor when the OOM killer struck in the sandbox's last run (State.OOMKilled). */
export function oomFilePath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'oom-killed');
}

export function exitFilePath(paths: StorePaths, id: string): string {
  return join(sandboxDir(paths, id), 'exit.json');
}

export interface MonitorInfo {
  pid: number;
  startTime: number;
  /** When it wrote its file (ms since the epoch): when this run of the sandbox began. */
  since: number;
}

/** Parses a monitor file ("PID STARTTIME"). Pure. */
export function parseMonitorFile(text: string): { pid: number; startTime: number } | undefined {
  const m = /^(\d+) (\d+)\n?$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  const startTime = Number(m[2]);
  return pid > 0 && Number.isSafeInteger(startTime) ? { pid, startTime } : undefined;
}

/**
 * The live monitor of the sandbox in `dir`, whatever its record says, or undefined.
 * One failed open when there is none (a monitor removes its file when it ends).
 */
export function liveMonitorIn(dir: string): MonitorInfo | undefined {
  const file = `${dir}/monitor`;
  // `ps -a` asks this of every sandbox that is not running: a stat that does not throw
  // when there is no file (a thrown ENOENT costs Node tens of microseconds).
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return undefined;
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
  const m = parseMonitorFile(text);
  if (!m || !isSameProcess(m.pid, m.startTime)) return undefined;
  return { ...m, since: st.mtimeMs };
}

export function liveMonitor(paths: StorePaths, id: string): MonitorInfo | undefined {
  return liveMonitorIn(sandboxDir(paths, id));
}

function pidFileFields(paths: StorePaths, id: string): number[] {
  try {
    return readFileSync(pidFilePath(paths, id), 'utf8').split('\n').map((l) => Number(l.trim()));
  } catch {
    return [];
  }
}

/** The init's pid from the pid file, or undefined. */
export function readPidFile(paths: StorePaths, id: string): number | undefined {
  const pid = pidFileFields(paths, id)[0];
  return pid !== undefined && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Restarts by the restart policy since the sandbox was last started (inspect's RestartCount); 0 when unknown. */
export function readRestartCount(paths: StorePaths, id: string): number {
  const n = pidFileFields(paths, id)[1];
  return n !== undefined && Number.isInteger(n) && n >= 0 ? n : 0;
}

/** What initPid and commandPid need of a record. */
export interface SandboxRef {
  id: string;
  state: Pick<SandboxState, 'pid'>;
}

/** The init's host pid (PID 1 inside): the pid file (a detached sandbox's current init), else the record. */
export function initPid(paths: StorePaths, record: SandboxRef): number | undefined {
  return readPidFile(paths, record.id) ?? record.state.pid;
}

/**
 * The sandbox's command, by its host pid: the first child of its current init
 * (what exec, cp and top enter or start from; the init is not dumpable, on purpose).
 * Undefined when there is none (not running, starting or ending).
 */
export function commandPid(paths: StorePaths, record: SandboxRef): number | undefined {
  const init = initPid(paths, record);
  if (!init) return undefined;
  let children: string;
  try { children = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8'); } catch { return undefined; }
  return parseInt(children, 10) || undefined;
}

export interface ExitFile {
  exitCode: number;
  finishedAt: string;
}

/** The exit file of a sandbox, or undefined when there is none or it is unreadable (then nothing is known of the end). */
export function readExitFile(paths: StorePaths, id: string): ExitFile | undefined {
  let text: string;
  try { text = readFileSync(exitFilePath(paths, id), 'utf8'); } catch { return undefined; }
  try {
    const e = JSON.parse(text) as Partial<ExitFile>;
    return e && typeof e.exitCode === 'number' && typeof e.finishedAt === 'string' ? { exitCode: e.exitCode, finishedAt: e.finishedAt } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn` holding the sandbox's lock, <sandbox dir>/.lock: for the commands that
 * read, change and write a sandbox's record or start it (start, the end of stop,
 * rename, label, `system check --repair`), never for a sandbox's life, never on the
 * path of `run` or `exec`. A lock left by a killed command is stale after 5 s. `rm`
 * takes none: it renames the directory away (see api/lifecycle.ts destroySandbox),
 * which a holder survives (its lock goes with the directory). What keeps a sandbox
 * from running twice is its monitor's own lock (helpers/launch/monitor.c claim_monitor).
 */
export async function withSandboxLock<T>(paths: StorePaths, id: string, fn: () => T | Promise<T>, waitMs = 30_000): Promise<T> {
  const dir = sandboxDir(paths, id);
  return withFileLock({
    dir,
    lockPath: join(dir, '.lock'),
    staleMs: 5_000,
    waitMs,
    busy: (cause) => new SandboxError(`sandbox ${id.slice(0, 12)} is busy (another command holds its lock)`, { hint: 'try again in a moment', cause }),
    missing: () => new SandboxError(`no such sandbox: ${id.slice(0, 12)} (it was removed)`, { hint: 'list them with `sandbox ps -a`' }),
    // `rm` may rename the directory away while we hold it.
    mayVanish: true,
  }, fn);
}
