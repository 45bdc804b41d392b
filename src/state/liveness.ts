/**
 * Is a recorded process still the one we started? A pid alone is not enough (pids are
 * reused, and a reboot empties them all): the process start time, in clock ticks since
 * boot (field 22 of /proc/PID/stat), must match too.
 */
import { readFileSync } from 'node:fs';

/** The start time of `pid`, or undefined when there is no such process. */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseStartTime(stat);
}

/** Field 22 of a /proc/PID/stat line; the command name (field 2) may hold spaces and parentheses. */
function parseStartTime(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : undefined;
}

/** Whether the process is alive and a zombie-free instance of the one recorded. */
export function isSameProcess(pid: number | undefined, startTime: number | undefined): boolean {
  if (!pid || startTime === undefined) return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && parseStartTime(stat) === startTime;
}
