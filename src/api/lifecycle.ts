/**
 * The lifecycle of recorded sandboxes: what state each is really in (state/status.ts),
 * and stop, kill, start, rm. Every one of them finds a sandbox's live monitor through
 * the monitor's own file, whatever the record says; `start` runs under the sandbox's
 * lock (and the monitor itself refuses to be a second one); `rm` renames the directory
 * away first, then ends whatever monitor it holds and waits for its processes, then
 * removes it: so no interleaving of these commands, or a kill -9 of any of them, leaves
 * a process the store does not know.
 */
import { leaveNetworksOf, renameInNetworks } from './networks.js';
import { endNetHelpers } from '../network/helper-files.js';
import { thaw } from '../runtime/cgroup/freezer.js';
import { pausedError } from './pause.js';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { discardIfNameless, findSandbox, listRecords, readRecord, releaseName, reserveName, writeRecord, writeRecordAndConfig, type SandboxRecord, type SandboxState } from '../state/sandboxes.js';
import { sandboxDir, sandboxesDir, liveMonitorIn, recordPath, withSandboxLock, type MonitorInfo } from '../state/sandbox-dir.js';
import { isSameProcess, processStartTime } from '../state/liveness.js';
import { currentState } from '../state/status.js';
import { appendEvent } from '../state/events.js';
import { removeTree } from '../runtime/userns.js';
import { startDetached, type RunHooks } from './run.js';
import { removeAnonymousVolumes } from './volumes.js';
import { sandboxesJoining } from './network-join.js';
import { podOfInfra } from '../state/pods.js';
import { SIG_KILL_REQUEST, SIG_STOP_REQUEST } from '../runtime/protocol.js';
import { currentHealth, type HealthStatus } from '../state/health.js';
import { releaseLifeline } from './sdk/lifeline.js';

export { currentState } from '../state/status.js';

export interface SandboxView {
  record: SandboxRecord;
  state: SandboxState;
  /** A running sandbox's health, when it has a check (`ps` shows it as `Up 5 seconds (healthy)`). */
  health?: HealthStatus;
}

export function listSandboxes(paths: StorePaths, options: { all?: boolean } = {}): SandboxView[] {
  const out: SandboxView[] = [];
  // Records that are missing or unreadable (half-created, being removed) are not listed; `system check` reports them.
  for (const record of listRecords(paths)) {
    if (discardIfNameless(paths, record)) continue;
    const state = currentState(paths, record);
    if (!options.all && state.status !== 'running') continue;
    const health = state.status === 'running' ? currentHealth(paths, record)?.Status : undefined;
    out.push({ record, state, ...(health ? { health } : {}) });
  }
  // Newest first. ISO 8601 UTC times order as plain strings: no localeCompare (ICU costs
  // ~10 ms on first use, a tenth of `ps -a`'s budget with 500 sandboxes).
  return out.sort((a, b) => (a.record.created < b.record.created ? 1 : a.record.created > b.record.created ? -1 : 0));
}

export function inspectSandbox(paths: StorePaths, ref: string): SandboxView {
  const record = findSandbox(paths, ref);
  return { record, state: currentState(paths, record) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitUntilEnded(paths: StorePaths, record: SandboxRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (currentState(paths, record).status !== 'running') return true;
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}


/** A process and its start time: a pid alone may be reused. */
interface Proc {
  pid: number;
  startTime: number;
}

/** The children of `pid` (for a monitor: the init, its network driver's program such as slirp4netns, fuse-overlayfs). */
function childrenOf(pid: number): Proc[] {
  let text = '';
  try { text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8'); } catch { return []; }
  const out: Proc[] = [];
  for (const word of text.split(' ')) {
    const child = Number(word);
    const startTime = child > 0 ? processStartTime(child) : undefined;
    if (startTime !== undefined) out.push({ pid: child, startTime });
  }
  return out;
}

async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}

function signal(pid: number, sig: number | NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* gone already */ }
}

/**
 * Ends the monitor of the sandbox directory `dir` (if one lives) and everything it
 * started, and waits until they are gone: its kill request first (it kills the init,
 * so everything inside, stops fuse-overlayfs and the network driver (slirp4netns) and reaps them), SIGKILL
 * to it and its children if it has not ended in 3 s. For `rm` and `system check --repair`.
 * Returns whether nothing of it is left.
 */
export async function endMonitor(dir: string, known?: MonitorInfo): Promise<boolean> {
  const monitor = known ?? liveMonitorIn(dir);
  if (!monitor) return true;
  const alive = (p: Proc) => isSameProcess(p.pid, p.startTime);
  const procs: Proc[] = [monitor, ...childrenOf(monitor.pid)];
  signal(monitor.pid, SIG_KILL_REQUEST);
  if (!(await until(() => !alive(monitor), 3000))) {
    for (const c of childrenOf(monitor.pid)) if (!procs.some((p) => p.pid === c.pid)) procs.push(c);
    signal(monitor.pid, 'SIGKILL');
    // SIGKILL from outside the sandbox's pid namespace ends its init and all inside.
    for (const p of procs) if (alive(p)) signal(p.pid, 'SIGKILL');
  }
  return until(() => !procs.some(alive), 5000);
}

/**
 * Delivers `signal` to a running sandbox. A detached one is signalled through its
 * monitor, which knows the current init across restarts (SIGKILL becomes its kill
 * request, since the monitor itself must live to record the end); a foreground one
 * through its init directly. Returns false when it was not running any more.
 */
function signalSandbox(record: SandboxRecord, state: SandboxState, signal: number): boolean {
  const viaMonitor = state.monitorPid !== undefined;
  const target = viaMonitor ? state.monitorPid! : state.pid;
  if (!target) return false;
  const sig = viaMonitor && signal === 9 ? SIG_KILL_REQUEST : signal;
  try {
    process.kill(target, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new SandboxError(`cannot signal sandbox ${record.name}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * After a SIGKILL to a paused sandbox: the freezer lets go, so that its processes die
 * (a v1 freezer holds even SIGKILLed tasks until thawed) and a restart policy's next run
 * is not born frozen.
 */
function thawKilled(record: SandboxRecord): void {
  try { thaw(record.cgroup!); } catch { /* its cgroup went with it */ }
}

/** `kill`: sends `signal` (a number; default SIGKILL) to the sandbox's command. */
export function killSandbox(paths: StorePaths, ref: string, signal = 9): SandboxRecord {
  const record = findSandbox(paths, ref);
  const state = currentState(paths, record);
  if (state.status !== 'running' || !signalSandbox(record, state, signal)) {
    throw new SandboxError(`sandbox ${record.name} is not running`, { hint: 'start it with `sandbox start`' });
  }
  if (state.paused && signal === 9) thawKilled(record);
  appendEvent(paths, { type: 'container', action: 'kill', id: record.id, name: record.name, attributes: { signal } });
  return record;
}

/**
 * The stop signal to a running sandbox, SIGKILL after `timeoutSec` (default: its
 * --stop-timeout, else 10), and a wait for its end. Takes no lock (so `rm -f` takes none).
 */
async function endRunning(paths: StorePaths, record: SandboxRecord, state: SandboxState, timeoutSec?: number): Promise<void> {
  if (state.paused) {
    // Frozen, it cannot act on a stop signal: SIGKILL at once, as Podman's rm -f of a paused container.
    signalSandbox(record, state, 9);
    thawKilled(record);
    await waitUntilEnded(paths, record, 5000);
    return;
  }
  timeoutSec ??= record.request.stopTimeout ?? DEFAULT_STOP_TIMEOUT;
  const viaMonitor = state.monitorPid !== undefined;
  signalSandbox(record, state, viaMonitor ? SIG_STOP_REQUEST : record.request.stopSignal ?? 15);
  if (!(await waitUntilEnded(paths, record, timeoutSec * 1000))) {
    // SIGKILL from outside the sandbox's pid namespace ends its init, and so everything in it.
    const now = currentState(paths, record);
    if (now.status === 'running') signalSandbox(record, now, 9);
    await waitUntilEnded(paths, record, 5000);
  }
}

/** What `stop` waits for the stop signal to work when neither `-t` nor `--stop-timeout` says. */
export const DEFAULT_STOP_TIMEOUT = 10;

/**
 * `stop`: the stop signal, then SIGKILL after `timeoutSec` seconds (default: the
 * sandbox's --stop-timeout, else 10); resolves once it has ended.
 */
export async function stopSandbox(paths: StorePaths, ref: string, timeoutSec?: number): Promise<SandboxRecord> {
  const record = findSandbox(paths, ref);
  const state = currentState(paths, record);
  if (state.status !== 'running') return record; // Docker: stopping a stopped one is fine
  if (state.paused) throw pausedError(record, 'stop'); // as Podman: unpause first, or kill / rm -f
  await endRunning(paths, record, state, timeoutSec);
  const settled = await settle(paths, record.id);
  appendEvent(paths, { type: 'container', action: 'stop', id: record.id, name: record.name });
  return settled ?? record;
}

/** `restart`: stop (if running), then start again. */
export async function restartSandbox(paths: StorePaths, ref: string, timeoutSec?: number, hooks: RunHooks = {}): Promise<SandboxRecord> {
  await stopSandbox(paths, ref, timeoutSec);
  return startSandbox(paths, ref, hooks);
}

/** `wait`: resolves with the exit code once the sandbox has ended. */
export async function waitSandbox(paths: StorePaths, ref: string): Promise<number> {
  const record = findSandbox(paths, ref);
  for (;;) {
    const state = currentState(paths, record);
    if (state.status !== 'running') {
      if (state.status === 'created') {
        // Docker waits for a created sandbox to run and end; a record that never ran has no code yet.
        await sleep(100);
        const again = readRecord(paths, record.id);
        if (!again) throw new SandboxError(`sandbox ${record.name} was removed while waiting`);
        Object.assign(record, again);
        continue;
      }
      return state.exitCode ?? -1;
    }
    await sleep(50);
  }
}

/** `rename`: the new name is reserved before the old one is released, so neither is ever free to a racer by mistake. */
export async function renameSandbox(paths: StorePaths, ref: string, newName: string): Promise<SandboxRecord> {
  const { id } = findSandbox(paths, ref);
  return withSandboxLock(paths, id, async () => {
    const record = readRecord(paths, id);
    if (!record) throw new SandboxError(`no such sandbox: ${ref} (it was removed)`, { hint: 'list them with `sandbox ps -a`' });
    const oldName = record.name;
    if (newName === oldName) return record;
    await reserveName(paths, newName, record.id);
    record.name = newName;
    record.state = currentState(paths, record);
    writeRecordAndConfig(paths, record);
    releaseName(paths, oldName, record.id);
    await renameInNetworks(paths, record);
    appendEvent(paths, { type: 'container', action: 'rename', id: record.id, name: newName, attributes: { oldName } });
    return record;
  });
}

/**
 * Writes what the sandbox's files say (the exit file, a monitor the record does not
 * know) into its record, re-read under its lock, so the record alone tells the state; a
 * record rebuilt from config.json is written whole again. Returns the record, or
 * undefined when the sandbox is gone.
 */
async function settle(paths: StorePaths, id: string): Promise<SandboxRecord | undefined> {
  try {
    return await withSandboxLock(paths, id, () => {
      const record = readRecord(paths, id);
      if (!record) return undefined;
      const state = currentState(paths, record);
      if (state.status !== record.state.status || state.monitorPid !== record.state.monitorPid || record.rebuiltFrom) {
        record.state = state;
        writeRecord(paths, record);
      }
      return record;
    });
  } catch (err) {
    if (err instanceof SandboxError && /it was removed/.test(err.message)) return undefined;
    throw err;
  }
}

/** `start`: an exited (or created) sandbox runs again, same writable layer, same config. */
export async function startSandbox(paths: StorePaths, ref: string, hooks: RunHooks = {}): Promise<SandboxRecord> {
  const { id } = findSandbox(paths, ref);
  // Under the lock, so two starts never both start it (its monitor would refuse the second anyway).
  return withSandboxLock(paths, id, async () => {
    const record = readRecord(paths, id);
    if (!record) throw new SandboxError(`no such sandbox: ${ref} (it was removed)`, { hint: 'list them with `sandbox ps -a`' });
    const state = currentState(paths, record);
    if (state.paused) throw pausedError(record, 'start');
    if (state.status === 'running') return { ...record, state };
    if (record.rebuiltFrom === 'nothing') {
      throw new SandboxError(`cannot start sandbox ${record.name}: its record (${recordPath(paths, id)}) is damaged and cannot be rebuilt`, {
        hint: `remove it (sandbox rm ${record.name}); \`sandbox system check\` lists what is damaged`,
      });
    }
    // Journal first, then act: a start killed after its monitor started leaves a record
    // that says to look for one (state/status.ts).
    record.state = { ...record.state, starting: true };
    writeRecord(paths, record);
    try {
      return await startDetached(paths, record, hooks);
    } catch (err) {
      const { starting: _, ...rest } = record.state;
      record.state = rest;
      try { writeRecord(paths, record); } catch { /* removed meanwhile: reported below */ }
      // A racing `rm -f` took it away: its kill request may have ended the command before
      // it started (the helper then exits with the command's 137). That is the news.
      if (!existsSync(sandboxDir(paths, id))) {
        throw new SandboxError(`sandbox ${record.name} was removed while it was being started`, { hint: 'list them with `sandbox ps -a`', cause: err });
      }
      throw err;
    }
  });
}

/**
 * Removes a sandbox's directory and everything running from it. Its monitor, if one
 * lives, is ended and waited for where every command finds it; then the directory is
 * renamed away (to <data>/containers/.removing-<id>), so a monitor that starts from now
 * on finds it gone and gives up, and one that started in between (a racing `start`)
 * is ended too; then the name goes and the directory is removed. A kill -9 at any point
 * leaves the sandbox as it was (listed, maybe ended), or a `.removing-` directory with
 * nothing running in it that `system check --repair` finishes: a monitor that a start
 * slipped in between the two steps ends itself when it sees the rename (monitor.c,
 * moved_fd). For `rm` and `system check --repair`.
 */
export async function destroySandbox(paths: StorePaths, id: string, name: string | undefined, state?: SandboxState): Promise<void> {
  const stuck = () => new SandboxError(`cannot remove sandbox ${name ?? id.slice(0, 12)}: its processes do not end`, { hint: 'run `sandbox system check --repair` in a moment' });
  if (!(await endMonitor(sandboxDir(paths, id)))) throw stuck();
  const away = join(sandboxesDir(paths), `.removing-${id}`);
  try {
    renameSync(sandboxDir(paths, id), away);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SandboxError(`no such sandbox: ${id.slice(0, 12)} (it was removed)`, { hint: 'list them with `sandbox ps -a`' });
    throw err;
  }
  if (!(await endMonitor(away))) throw stuck();
  // A foreground sandbox of an older version has no monitor file: its init, directly.
  if (state?.status === 'running' && state.monitorPid === undefined && state.pid) signal(state.pid, 'SIGKILL');
  // Its network helpers died with its monitor; a monitor that was killed left their files.
  if (!(await endNetHelpers(paths, id))) throw stuck();
  if (name) releaseName(paths, name, id);
  await removeTree(away);
}

/** Sandbox directories whose removal was killed half-way (see destroySandbox). */
export function removalsLeft(paths: StorePaths): string[] {
  try {
    return readdirSync(sandboxesDir(paths)).filter((e) => /^\.removing-[a-f0-9]{64}$/.test(e)).map((e) => join(sandboxesDir(paths), e));
  } catch {
    return [];
  }
}

/**
 * `rm`: removes a sandbox that is not running (with `force`, a running one too: it is
 * stopped first, as `stop` with `time` or its --stop-timeout does, as Podman's rm -f).
 * With `volumes` (`rm -v`), its anonymous volumes go too; named ones stay.
 */
export async function removeSandbox(paths: StorePaths, ref: string, options: { force?: boolean; volumes?: boolean; time?: number; withPod?: boolean } = {}): Promise<SandboxRecord> {
  const record = findSandbox(paths, ref);
  const pod = options.withPod ? undefined : podOfInfra(paths, record);
  if (pod) {
    throw new SandboxError(`sandbox ${record.name} is the infra of pod ${pod.name} and cannot be removed without the pod`, { hint: `remove the pod: sandbox pod rm -f ${pod.name}` });
  }
  const joining = sandboxesJoining(listRecords(paths), record.id);
  if (joining.length) {
    const names = joining.map((r) => r.name).join(', ');
    throw new SandboxError(`cannot remove sandbox ${record.name}: ${names} ${joining.length > 1 ? 'join' : 'joins'} its network`, {
      hint: record.request.pod ? 'remove its pod (sandbox pod rm -f POD), or those sandboxes first' : `remove ${joining.length > 1 ? 'them' : 'it'} first (sandbox rm -f ${joining.map((r) => r.name).join(' ')})`,
    });
  }
  let state = currentState(paths, record);
  if (state.status === 'running' && !options.force) {
    // Exit 2, as Podman's "container state improper" (scripts tell it from "no such container").
    if (state.paused) throw new SandboxError(`cannot remove sandbox ${record.name}: it is paused`, { exitCode: 2, hint: `unpause and stop it first (sandbox unpause ${record.name}; sandbox stop ${record.name}) or use rm -f` });
    throw new SandboxError(`cannot remove sandbox ${record.name}: it is running`, { exitCode: 2, hint: `stop it first (sandbox stop ${record.name}) or use rm -f` });
  }
  // Only one whose start is recorded and over: a sandbox that a racing `start` is starting
  // is ended at once, as before (its monitor, found through its file, gets the kill request).
  if (state.status === 'running' && record.state.status === 'running' && !record.state.starting) {
    await endRunning(paths, record, state, options.time);
    state = currentState(paths, record);
  }
  try {
    await destroySandbox(paths, record.id, record.name, state);
  } catch (err) {
    // A --rm sandbox that the stop ended has removed itself meanwhile: that is the removal.
    if (!(record.request.remove && err instanceof SandboxError && /it was removed/.test(err.message))) throw err;
  }
  if (options.volumes) await removeAnonymousVolumes(paths, record.request);
  await leaveNetworksOf(paths, record);
  if (record.cgroup) await (await import('../runtime/cgroup/sandbox.js')).endCgroup(record); // a killed monitor's
  releaseLifeline(record.id); // a sandbox bound to this process: gone, so its lifeline may close
  appendEvent(paths, { type: 'container', action: 'remove', id: record.id, name: record.name });
  return record;
}
