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
  containerDir, exitFilePath, findContainer, listContainerIds, readRecord, releaseName, writeRecord,
  type ContainerRecord, type ContainerState,
} from '../state/containers.js';
import { isSameProcess } from '../state/liveness.js';
import { removeTree } from '../runtime/userns.js';
import { startDetached, type RunHooks } from './run.js';

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
  for (const id of listContainerIds(paths)) {
    const record = readRecord(paths, id);
    if (!record) continue; // half-created or being removed
    const state = currentState(paths, record);
    if (options.all || state.status === 'running') out.push({ record, state });
  }
  return out.sort((a, b) => b.record.created.localeCompare(a.record.created));
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

/** Sends `signal` to the sandbox's command (its init passes it on). */
export function killSandbox(paths: StorePaths, ref: string, signal: NodeJS.Signals | number = 'SIGKILL'): ContainerRecord {
  const record = findContainer(paths, ref);
  const state = currentState(paths, record);
  if (state.status !== 'running' || !state.pid) {
    throw new SandboxError(`sandbox ${record.name} is not running`, { hint: 'start it with `sandbox start`' });
  }
  try {
    process.kill(state.pid, signal);
  } catch (err) {
    throw new SandboxError(`cannot signal sandbox ${record.name}: ${(err as Error).message}`, { cause: err });
  }
  return record;
}

/** Stop signal, then SIGKILL after `timeoutSec` seconds; resolves once it has ended. */
export async function stopSandbox(paths: StorePaths, ref: string, timeoutSec = 10): Promise<ContainerRecord> {
  const record = findContainer(paths, ref);
  if (currentState(paths, record).status !== 'running') return record; // Docker: stopping a stopped one is fine
  const pid = record.state.pid!;
  try { process.kill(pid, 'SIGTERM'); } catch { /* ended meanwhile */ }
  if (!(await waitUntilEnded(paths, record, timeoutSec * 1000))) {
    // SIGKILL from outside the sandbox's pid namespace ends its init, and so everything in it.
    try { process.kill(pid, 'SIGKILL'); } catch { /* ended meanwhile */ }
    await waitUntilEnded(paths, record, 5000);
  }
  settle(paths, record);
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
export async function removeSandbox(paths: StorePaths, ref: string, options: { force?: boolean } = {}): Promise<ContainerRecord> {
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
  return record;
}
