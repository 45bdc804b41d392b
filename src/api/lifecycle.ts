/**
 * The lifecycle of recorded sandboxes: what state each is really in, and stop, kill,
 * start, rm. The record says what we did; the exit file (written by the monitor) and
 * the liveness of the monitor say what happened since: a sandbox whose monitor died
 * behind our back (kill -9, reboot) shows as exited with an error, never as running.
 */
import { existsSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { readJsonIfExists } from '../state/atomic.js';
import {
  containerDir, exitFilePath, findContainer, listRecords, readRecord, releaseName, reserveName, writeRecord,
  type ContainerRecord, type ContainerState,
} from '../state/containers.js';
import { isSameProcess } from '../state/liveness.js';
import { appendEvent } from '../state/events.js';
import { removeTree } from '../runtime/userns.js';
import { startDetached, type RunHooks } from './run.js';
import { removeAnonymousVolumes } from './volumes.js';

interface ExitFile {
  exitCode: number;
  finishedAt: string;
}

/** The state a record's sandbox is really in now. Pure but for reading /proc and the exit file. */
export function currentState(paths: StorePaths, record: ContainerRecord): ContainerState {
  const s = record.state;
  if (s.status !== 'running') return s;
  const exit = readJsonIfExists<ExitFile>(exitFilePath(paths, record.id));
  if (exit) return { ...s, status: 'exited', exitCode: exit.exitCode, finishedAt: exit.finishedAt };
  if (s.monitorPid === undefined) {
    // A foreground sandbox: its CLI process writes the end; the init's liveness is all we have.
    return existsSync(`/proc/${s.pid}`) ? s : { ...s, status: 'exited', error: 'the sandbox ended without recording how' };
  }
  if (isSameProcess(s.monitorPid, s.monitorStartTime)) return s;
  return { ...s, status: 'exited', exitCode: 255, error: 'the sandbox monitor died (killed, or the machine rebooted)' };
}

export interface SandboxView {
  record: ContainerRecord;
  state: ContainerState;
}

export function listSandboxes(paths: StorePaths, options: { all?: boolean } = {}): SandboxView[] {
  const out: SandboxView[] = [];
  // Records that are missing or unreadable (half-created, being removed) are not listed; `system check` reports them.
  for (const record of listRecords(paths)) {
    const state = currentState(paths, record);
    if (options.all || state.status === 'running') out.push({ record, state });
  }
  // Newest first. ISO 8601 UTC times order as plain strings: no localeCompare (ICU costs
  // ~10 ms on first use, a tenth of `ps -a`'s budget with 500 sandboxes).
  return out.sort((a, b) => (a.record.created < b.record.created ? 1 : a.record.created > b.record.created ? -1 : 0));
}

export function inspectSandbox(paths: StorePaths, ref: string): SandboxView {
  const record = findContainer(paths, ref);
  return { record, state: currentState(paths, record) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitUntilEnded(paths: StorePaths, record: ContainerRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (currentState(paths, record).status !== 'running') return true;
    if (Date.now() >= deadline) return false;
    await sleep(25);
  }
}

/* The monitor's control signals (helpers/launch.c): no more restarts, then the stop
 * signal (or SIGKILL) to the sandbox's current init. */
const SIG_STOP_REQUEST = 40;
const SIG_KILL_REQUEST = 41;

/**
 * Delivers `signal` to a running sandbox. A detached one is signalled through its
 * monitor, which knows the current init across restarts (SIGKILL becomes its kill
 * request, since the monitor itself must live to record the end); a foreground one
 * through its init directly. Returns false when it was not running any more.
 */
function signalSandbox(record: ContainerRecord, state: ContainerState, signal: number): boolean {
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

/** `kill`: sends `signal` (a number; default SIGKILL) to the sandbox's command. */
export function killSandbox(paths: StorePaths, ref: string, signal = 9): ContainerRecord {
  const record = findContainer(paths, ref);
  const state = currentState(paths, record);
  if (state.status !== 'running' || !signalSandbox(record, state, signal)) {
    throw new SandboxError(`sandbox ${record.name} is not running`, { hint: 'start it with `sandbox start`' });
  }
  appendEvent(paths, { type: 'container', action: 'kill', id: record.id, name: record.name, attributes: { signal } });
  return record;
}

/** `stop`: the stop signal, then SIGKILL after `timeoutSec` seconds; resolves once it has ended. */
export async function stopSandbox(paths: StorePaths, ref: string, timeoutSec = 10): Promise<ContainerRecord> {
  const record = findContainer(paths, ref);
  const state = currentState(paths, record);
  if (state.status !== 'running') return record; // Docker: stopping a stopped one is fine
  const viaMonitor = state.monitorPid !== undefined;
  signalSandbox(record, state, viaMonitor ? SIG_STOP_REQUEST : record.request.stopSignal ?? 15);
  if (!(await waitUntilEnded(paths, record, timeoutSec * 1000))) {
    // SIGKILL from outside the sandbox's pid namespace ends its init, and so everything in it.
    signalSandbox(record, state, 9);
    await waitUntilEnded(paths, record, 5000);
  }
  settle(paths, record);
  appendEvent(paths, { type: 'container', action: 'stop', id: record.id, name: record.name });
  return record;
}

/** `restart`: stop (if running), then start again. */
export async function restartSandbox(paths: StorePaths, ref: string, timeoutSec = 10, hooks: RunHooks = {}): Promise<ContainerRecord> {
  await stopSandbox(paths, ref, timeoutSec);
  return startSandbox(paths, ref, hooks);
}

/** `wait`: resolves with the exit code once the sandbox has ended. */
export async function waitSandbox(paths: StorePaths, ref: string): Promise<number> {
  const record = findContainer(paths, ref);
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
export async function renameSandbox(paths: StorePaths, ref: string, newName: string): Promise<ContainerRecord> {
  const record = findContainer(paths, ref);
  const oldName = record.name;
  if (newName === oldName) return record;
  await reserveName(paths, newName, record.id);
  record.name = newName;
  writeRecord(paths, record);
  releaseName(paths, oldName, record.id);
  appendEvent(paths, { type: 'container', action: 'rename', id: record.id, name: newName, attributes: { oldName } });
  return record;
}

/** Writes what the exit file says into the record, so the record alone tells the end. */
function settle(paths: StorePaths, record: ContainerRecord): void {
  const state = currentState(paths, record);
  if (state.status !== record.state.status && existsSync(containerDir(paths, record.id))) {
    record.state = state;
    writeRecord(paths, record);
  }
}

/** `start`: an exited (or created) sandbox runs again, same writable layer, same config. */
export async function startSandbox(paths: StorePaths, ref: string, hooks: RunHooks = {}): Promise<ContainerRecord> {
  const record = findContainer(paths, ref);
  if (currentState(paths, record).status === 'running') return record;
  return startDetached(paths, record, hooks);
}

/** `rm`: removes a sandbox that is not running (with `force`, stops it first with SIGKILL). */
/** With `volumes` (`rm -v`), its anonymous volumes go too; named ones stay. */
export async function removeSandbox(paths: StorePaths, ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<ContainerRecord> {
  const record = findContainer(paths, ref);
  if (currentState(paths, record).status === 'running') {
    if (!options.force) {
      throw new SandboxError(`cannot remove sandbox ${record.name}: it is running`, { hint: `stop it first (sandbox stop ${record.name}) or use rm -f` });
    }
    await stopSandbox(paths, ref, 0);
  }
  // The name goes first: a half-removed sandbox then no longer blocks its name.
  releaseName(paths, record.name, record.id);
  await removeTree(containerDir(paths, record.id));
  if (options.volumes) await removeAnonymousVolumes(paths, record.request);
  appendEvent(paths, { type: 'container', action: 'remove', id: record.id, name: record.name });
  return record;
}
