/**
 * The state a sandbox is really in. The record says what a command did; the monitor's
 * own files say what is: `<dir>/monitor` (written by a live monitor before it starts
 * anything, removed when it ends), `<dir>/pid` (the current init) and `<dir>/exit.json`
 * (how it ended). So a sandbox whose starting command was killed before it recorded
 * the start is running all the same, and one whose monitor died behind our back (kill -9,
 * reboot) shows as exited with an error, never as running.
 *
 * Here, not in api/lifecycle.ts: `exec` (a bundle of its own) needs it too.
 */
import { existsSync, statSync } from 'node:fs';
import type { StorePaths } from './paths.js';
import { type SandboxRecord, type SandboxState } from './sandboxes.js';
import { sandboxDir, liveMonitorIn, pidFilePath, readExitFile, readPidFile, type ExitFile } from './sandbox-dir.js';
import { isSameProcess } from './liveness.js';
import { isFrozen } from '../runtime/cgroup/freezer.js';

/**
 * The state a record's sandbox is really in now. Pure but for reading /proc and the
 * sandbox's files. For a running sandbox whose record knows its monitor: the exit file
 * and the monitor's /proc entry, as before; for an exited one nothing (unless a `start`
 * marked it `starting`); otherwise one more stat (of the monitor file).
 */
export function currentState(paths: StorePaths, record: SandboxRecord): SandboxState {
  // Paused is the freezer's word, read now (one small file, for sandboxes with a cgroup).
  const { paused: _, ...state } = runState(paths, record);
  return state.status === 'running' && isFrozen(record.cgroup) ? { ...state, paused: true } : state;
}

/** The state as Podman names it: `paused` for a running sandbox whose processes are frozen. */
export function statusWord(state: SandboxState): SandboxState['status'] | 'paused' {
  return state.paused ? 'paused' : state.status;
}

function runState(paths: StorePaths, record: SandboxRecord): SandboxState {
  const s = record.state;
  if (s.status === 'running' && s.monitorPid === undefined) {
    // A foreground sandbox of an older version: its init's liveness is all we have.
    return existsSync(`/proc/${s.pid}`) ? s : { ...s, status: 'exited', error: 'the sandbox ended without recording how' };
  }
  let exit: ExitFile | undefined;
  if (s.status === 'running') {
    exit = readExitFile(paths, record.id);
    if (exit) return { ...s, status: 'exited', exitCode: exit.exitCode, finishedAt: exit.finishedAt };
    if (isSameProcess(s.monitorPid, s.monitorStartTime)) return s;
  }
  // An ended sandbox that nobody is starting: no monitor to look for (what `ps -a` asks
  // most; `start` marks the record `starting` before it starts the monitor).
  if (s.status === 'exited' && !s.starting && !record.rebuiltFrom) return s;
  // The record does not say it runs, or its monitor is gone: a monitor it does not know of?
  const monitor = liveMonitorIn(sandboxDir(paths, record.id));
  if (monitor) {
    exit ??= readExitFile(paths, record.id);
    // A monitor that wrote its exit file is on its way out.
    if (!exit) {
      const known = s.status === 'running' && s.monitorPid === monitor.pid;
      return {
        status: 'running',
        pid: readPidFile(paths, record.id) ?? (known ? s.pid : undefined),
        monitorPid: monitor.pid,
        monitorStartTime: monitor.startTime,
        startedAt: known && s.startedAt ? s.startedAt : new Date(monitor.since).toISOString(),
      };
    }
  }
  if (s.status === 'running') {
    return { ...s, status: 'exited', exitCode: 255, error: 'the sandbox monitor died (killed, or the machine rebooted)' };
  }
  if (s.status === 'created' || record.rebuiltFrom) {
    // A `run -d` or `start` killed before it recorded the start, of a sandbox that has ended since.
    exit ??= readExitFile(paths, record.id);
    if (exit) {
      const { error: _, ...rest } = s;
      return { ...rest, status: 'exited', exitCode: exit.exitCode, finishedAt: exit.finishedAt };
    }
  }
  if (s.starting) {
    // A `start` that was killed (or failed) before its monitor ran, or whose monitor has
    // ended since: the exit file has the newer end, if there is one.
    const { starting: _, ...rest } = s;
    exit ??= readExitFile(paths, record.id);
    return exit ? { ...rest, status: 'exited', exitCode: exit.exitCode, finishedAt: exit.finishedAt } : rest;
  }
  return s;
}

/**
 * When the current run of a running sandbox began: a restart policy's monitor starts the
 * command again without any CLI to update the record, but it rewrites the pid file for
 * every run (helpers/launch/monitor.c), so the later of the record's start and that
 * file's mtime is the current run's. One stat; for `ps`' "Up 2 seconds", as Podman.
 */
export function currentRunStartedAt(paths: StorePaths, record: SandboxRecord, state: SandboxState): string | undefined {
  if (state.status !== 'running') return state.startedAt;
  let mtime = 0;
  try { mtime = statSync(pidFilePath(paths, record.id)).mtimeMs; } catch { /* a foreground sandbox of an older version */ }
  const recorded = state.startedAt ? Date.parse(state.startedAt) : 0;
  return mtime > recorded ? new Date(mtime).toISOString() : state.startedAt;
}
