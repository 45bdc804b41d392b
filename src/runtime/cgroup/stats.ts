/**
 * What `stats` reads from a sandbox's own cgroup, when it has one: memory in use (as
 * Docker and Podman count it: usage less the inactive page cache), the memory limit in
 * force, the number of tasks, and the CPU time of the whole cgroup (which keeps the time
 * of processes that have ended, unlike a sum over /proc). v2: memory.current, memory.max,
 * memory.stat, pids.current, cpu.stat; v1: memory.usage_in_bytes, memory.limit_in_bytes,
 * memory.stat, pids.current, cpuacct.usage. A value whose file is missing (a controller
 * not delegated) is undefined: the caller keeps its /proc figure for it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxCgroup } from '../../state/sandboxes.js';

export interface CgroupStats {
  source: 'cgroup-v1' | 'cgroup-v2';
  memoryBytes?: number;
  /** undefined: no limit. */
  memoryLimitBytes?: number;
  pids?: number;
  /** CPU time used by the cgroup, ns. */
  cpuNs?: number;
}

/** v1 reads "no limit" as a huge page-aligned number: anything from 2^62 up. */
const V1_UNLIMITED = 2 ** 62;

/** `KEY VALUE` lines (memory.stat, cpu.stat). Pure. */
export function statLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** The stats of cgroup `cg` from `read` (a file's text, or undefined). Pure but for `read`. */
export function cgroupStats(cg: SandboxCgroup, read: (path: string) => string | undefined): CgroupStats {
  const num = (path: string | undefined): number | undefined => {
    const t = path === undefined ? undefined : read(path)?.trim();
    return t !== undefined && /^\d+$/.test(t) ? Number(t) : undefined;
  };
  const at = (dir: string | undefined, file: string) => (dir ? join(dir, file) : undefined);
  if (cg.version === 2) {
    const dir = cg.paths.unified;
    const mem = num(at(dir, 'memory.current'));
    const stat = statLines((dir && read(join(dir, 'memory.stat'))) || '');
    const usec = statLines((dir && read(join(dir, 'cpu.stat'))) || '').get('usage_usec');
    return {
      source: 'cgroup-v2',
      ...(mem !== undefined ? { memoryBytes: Math.max(0, mem - (stat.get('inactive_file') ?? 0)) } : {}),
      ...(num(at(dir, 'memory.max')) !== undefined ? { memoryLimitBytes: num(at(dir, 'memory.max'))! } : {}),
      ...(num(at(dir, 'pids.current')) !== undefined ? { pids: num(at(dir, 'pids.current'))! } : {}),
      ...(usec !== undefined ? { cpuNs: usec * 1000 } : {}),
    };
  }
  const { memory, pids, cpuacct } = cg.paths;
  const mem = num(at(memory, 'memory.usage_in_bytes'));
  const stat = statLines((memory && read(join(memory, 'memory.stat'))) || '');
  const limit = num(at(memory, 'memory.limit_in_bytes'));
  return {
    source: 'cgroup-v1',
    ...(mem !== undefined ? { memoryBytes: Math.max(0, mem - (stat.get('total_inactive_file') ?? 0)) } : {}),
    ...(limit !== undefined && limit < V1_UNLIMITED ? { memoryLimitBytes: limit } : {}),
    ...(num(at(pids, 'pids.current')) !== undefined ? { pids: num(at(pids, 'pids.current'))! } : {}),
    ...(num(at(cpuacct, 'cpuacct.usage')) !== undefined ? { cpuNs: num(at(cpuacct, 'cpuacct.usage'))! } : {}),
  };
}

/** The stats of the sandbox's cgroup, read now. */
export function readCgroupStats(cg: SandboxCgroup): CgroupStats {
  return cgroupStats(cg, (p) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } });
}
