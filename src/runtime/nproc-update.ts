/**
 * `update --pids-limit N` of a running sandbox whose pids limit is RLIMIT_NPROC (no pids
 * cgroup here: cgroup/sandbox.ts withPidsRlimit): the new limit set on each of its
 * processes with prlimit(2) (util-linux `prlimit --pid`). We may: they are in a user
 * namespace we own (root inside is us; another id inside is under our namespace, where
 * we hold every capability). The kernel lets only a process with CAP_SYS_RESOURCE on
 * the host raise a hard limit, so a lower limit reaches every running process, and a
 * higher one only what starts from now on (exec'd commands, the next start): the caller
 * says so.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import { parseHardLimits } from './rlimits.js';

/**
 * The processes in the pid namespace of `member` (the sandbox's command: with it, exec'd
 * commands and what they all started; not its init, whose /proc entries are closed to
 * us: it is not dumpable, and it forks nothing of the user's).
 */
export function pidNamespaceMembers(member: number): number[] {
  let ns: string;
  try { ns = readlinkSync(`/proc/${member}/ns/pid`); } catch { return []; }
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (readlinkSync(`/proc/${e}/ns/pid`) === ns) out.push(Number(e)); } catch { /* gone, or not ours */ }
  }
  return out;
}

/** A process's hard RLIMIT_NPROC (-1: unlimited), or undefined when it is gone. */
function hardNproc(pid: number): number | undefined {
  try { return parseHardLimits(readFileSync(`/proc/${pid}/limits`, 'utf8')).get('nproc'); } catch { return undefined; }
}

const above = (hard: number, n: number) => hard === -1 || hard > n;

export interface NprocUpdate {
  /** Processes that now run under `n`. */
  lowered: number;
  /** Processes whose hard limit is below `n` (-1: unlimited) and stays so: the kernel lets only host root raise it. */
  kept: { pid: number; hard: number }[];
}

/**
 * Sets RLIMIT_NPROC `n` (soft and hard; -1 unlimited) on every process of the sandbox
 * whose command is `command` that has more; those with less keep theirs (NprocUpdate.kept).
 * Passes again while a pass found some, for processes forked meanwhile by one not yet
 * lowered (a few passes at most: the new ones inherit the lowered limit).
 */
export function setSandboxNproc(command: number, n: number): NprocUpdate {
  const value = n < 0 ? 'unlimited' : String(n);
  const done = new Set<number>();
  let kept: NprocUpdate['kept'] = [];
  for (let pass = 0; pass < 5; pass++) {
    kept = [];
    const todo: number[] = [];
    for (const pid of pidNamespaceMembers(command)) {
      const hard = hardNproc(pid);
      if (hard === undefined) continue;
      if (n >= 0 && above(hard, n)) todo.push(pid);
      else if (hard !== n) kept.push({ pid, hard });
    }
    if (!todo.length) break;
    for (const pid of todo) {
      const r = spawnSync('prlimit', ['--pid', String(pid), `--nproc=${value}:${value}`], { encoding: 'utf8' });
      if (r.error) {
        throw new SandboxError(`cannot change the sandbox's RLIMIT_NPROC: prlimit: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`, {
          hint: 'install util-linux\'s prlimit (Debian: util-linux)',
        });
      }
      if (r.status !== 0 && hardNproc(pid) !== undefined) {
        throw new SandboxError(`cannot set RLIMIT_NPROC ${value} on the sandbox's process ${pid}: ${r.stderr.trim().replace(/^prlimit: /, '')}`, {
          hint: 'the sandbox may be ending; see `sandbox ps -a`',
        });
      }
      done.add(pid);
    }
  }
  return { lowered: done.size, kept };
}
