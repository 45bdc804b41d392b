/**
 * `--pidfile FILE` and `--conmon-pidfile FILE` (run, create): at every start, the pid of
 * the sandbox's command (Podman's is its PID 1, which runs the command; ours is the first
 * child of our init, PID 2 inside) and of its monitor (our conmon), written as
 * Podman writes them: the number without a newline, through a temp file renamed over FILE
 * (an old file from a previous start is replaced).
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SandboxError } from '../errors.js';
import { randomHex } from '../state/random.js';
import type { RunRequest } from '../types.js';

function writePid(path: string, pid: number, flag: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomHex(6)}.tmp`);
  try {
    writeFileSync(tmp, String(pid), { mode: 0o644, flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new SandboxError(`cannot write the pid file ${path} (${flag}): ${code === 'ENOENT' ? 'its directory does not exist' : code ?? String(err)}`, {
      hint: `give a ${flag} in a directory you can write`, cause: err,
    });
  }
}

/** The command: the init's first child (the init itself when the command has ended already). */
function commandOf(initPid: number): number {
  try {
    return parseInt(readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8'), 10) || initPid;
  } catch {
    return initPid;
  }
}

type PidFiles = Pick<RunRequest, 'pidFile' | 'conmonPidFile'>;

/** Before the sandbox is created: each file's directory must exist (a one-line error now, not a warning after the start). */
export function checkPidFiles(request: PidFiles): void {
  for (const [path, flag] of [[request.pidFile, '--pidfile'], [request.conmonPidFile, '--conmon-pidfile']] as const) {
    if (path && !existsSync(dirname(path))) {
      throw new SandboxError(`cannot write the pid file ${path} (${flag}): its directory does not exist`, { hint: `give a ${flag} in a directory you can write` });
    }
  }
}

/**
 * Writes the pid files the request asks for (none: nothing, no work). The sandbox runs
 * already: a file that cannot be written is a warning, not a sandbox left behind.
 */
export function writePidFiles(request: PidFiles, initPid: number | undefined, monitorPid: number | undefined, warn?: (m: string) => void): void {
  try {
    const pid = request.pidFile && initPid ? commandOf(initPid) : undefined;
    if (request.pidFile && pid) writePid(request.pidFile, pid, '--pidfile');
    if (request.conmonPidFile && monitorPid) writePid(request.conmonPidFile, monitorPid, '--conmon-pidfile');
  } catch (err) {
    warn?.((err as Error).message);
  }
}
