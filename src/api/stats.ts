/**
 * `stats`: CPU, memory, pids, block and network I/O of running sandboxes.
 *
 * Source: the sandbox's own cgroup when it has one (a sandbox with a limit, where cgroups
 * are delegated: runtime/cgroup/stats.ts): memory in use and its limit, tasks, and CPU
 * time, `source: 'cgroup-v1' | 'cgroup-v2'`. Otherwise, and for block and network I/O
 * always, /proc: sums over the sandbox's processes (see `sandboxProcesses` in top.ts),
 * `source: 'proc'`. What that means:
 * - CPU %: the CPU time of its processes between two samples over the wall time between
 *   them (100% = one CPU, as Docker). A process that ended between the samples takes its
 *   last interval's time with it (a cgroup would keep it).
 * - memory: the sum of VmRSS; pages shared between its processes count once per process.
 * - block I/O: the sum of /proc/P/io read_bytes/write_bytes, of the processes we may read.
 * - network I/O: /proc/<command>/net/dev of the sandbox's network namespace, all
 *   interfaces but lo (0 with --network none; the host's with --network host).
 */
import { readFileSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, type SandboxRecord } from '../state/sandboxes.js';
import { CLOCK_TICKS, sandboxProcesses, type ProcStat } from './top.js';
import { listSandboxes } from './lifecycle.js';
import { readCgroupStats } from '../runtime/cgroup/stats.js';

export interface StatsSample {
  id: string;
  name: string;
  /** Monotonic time of the sample, ms. */
  atMs: number;
  /** CPU ticks of each process, by `hostPid:startTicks`. */
  cpu: Map<string, number>;
  memoryBytes: number;
  pids: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  /** From the sandbox's cgroup: its CPU time (ns) and memory limit in force. */
  cgroupCpuNs?: number;
  memoryLimitBytes?: number;
  source: SandboxStats['source'];
}

export interface SandboxStats {
  id: string;
  name: string;
  /** Percent of one CPU (can pass 100 with several busy processes). */
  cpuPercent: number;
  memoryBytes: number;
  pids: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  /** The memory limit in force (the cgroup's), 0 for none. */
  memoryLimitBytes: number;
  /** Where CPU, memory and pids come from: the sandbox's cgroup, or /proc (no cgroup of its own). */
  source: 'proc' | 'cgroup-v1' | 'cgroup-v2';
}

function readOr(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/** rx/tx bytes of every interface but lo, from a /proc/P/net/dev text. Pure. */
function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

/** read_bytes/write_bytes from a /proc/P/io text. Pure. */
function parseIo(text: string): { read: number; write: number } {
  return {
    read: Number(/^read_bytes:\s*(\d+)/m.exec(text)?.[1] ?? 0),
    write: Number(/^write_bytes:\s*(\d+)/m.exec(text)?.[1] ?? 0),
  };
}

const key = (p: ProcStat): string => `${p.hostPid}:${p.startTicks}`;

/** One sample of a running sandbox; throws a SandboxError when it is not running. */
function sampleSandbox(paths: StorePaths, record: SandboxRecord): StatsSample {
  const atMs = performance.now();
  const { command, processes } = sandboxProcesses(paths, record);
  const cpu = new Map<string, number>();
  let memoryBytes = 0;
  let blockReadBytes = 0;
  let blockWriteBytes = 0;
  for (const p of processes) {
    cpu.set(key(p), p.cpuTicks);
    memoryBytes += p.rssBytes;
    const io = readOr(`/proc/${p.hostPid}/io`);
    if (io) {
      const { read, write } = parseIo(io);
      blockReadBytes += read;
      blockWriteBytes += write;
    }
  }
  const net = parseNetDev(readOr(`/proc/${command}/net/dev`) ?? '');
  const sample: StatsSample = {
    id: record.id, name: record.name, atMs, cpu, memoryBytes, pids: processes.length,
    blockReadBytes, blockWriteBytes, netRxBytes: net.rx, netTxBytes: net.tx, source: 'proc',
  };
  if (!record.cgroup) return sample;
  const cg = readCgroupStats(record.cgroup);
  return {
    ...sample, source: cg.source,
    ...(cg.memoryBytes !== undefined ? { memoryBytes: cg.memoryBytes } : {}),
    ...(cg.memoryLimitBytes !== undefined ? { memoryLimitBytes: cg.memoryLimitBytes } : {}),
    ...(cg.pids !== undefined ? { pids: cg.pids } : {}),
    ...(cg.cpuNs !== undefined ? { cgroupCpuNs: cg.cpuNs } : {}),
  };
}

/** The stats between two samples of one sandbox (the second gives the levels). Pure. */
export function statsBetween(before: StatsSample | undefined, after: StatsSample): SandboxStats {
  let cpuPercent = 0;
  if (before?.cgroupCpuNs !== undefined && after.cgroupCpuNs !== undefined && after.atMs > before.atMs) {
    cpuPercent = ((after.cgroupCpuNs - before.cgroupCpuNs) / 1e6 / (after.atMs - before.atMs)) * 100;
  } else if (before && after.atMs > before.atMs) {
    let ticks = 0;
    // A process new since the first sample counts whole: it started in the interval.
    for (const [k, t] of after.cpu) ticks += t - (before.cpu.get(k) ?? 0);
    cpuPercent = ((ticks / CLOCK_TICKS) * 1000 / (after.atMs - before.atMs)) * 100;
  }
  return {
    id: after.id, name: after.name, cpuPercent: Math.max(0, cpuPercent), memoryBytes: after.memoryBytes, pids: after.pids,
    netRxBytes: after.netRxBytes, netTxBytes: after.netTxBytes,
    blockReadBytes: after.blockReadBytes, blockWriteBytes: after.blockWriteBytes,
    memoryLimitBytes: after.memoryLimitBytes ?? 0, source: after.source,
  };
}

/** The records to sample: the named ones (each must be running), else every running sandbox. */
export function statsTargets(paths: StorePaths, refs: string[]): SandboxRecord[] {
  if (refs.length === 0) return listSandboxes(paths).map((v) => v.record);
  return refs.map((r) => findSandbox(paths, r));
}

/** Samples every target; a sandbox that stopped meanwhile is left out unless `strict`. */
export function sampleAll(paths: StorePaths, records: SandboxRecord[], strict: boolean): StatsSample[] {
  const out: StatsSample[] = [];
  for (const r of records) {
    try {
      out.push(sampleSandbox(paths, r));
    } catch (err) {
      if (strict || !(err instanceof SandboxError)) throw err;
    }
  }
  return out;
}

/** One reading, Docker's `--no-stream`: two samples `intervalMs` apart. */
export async function statsOnce(paths: StorePaths, refs: string[], intervalMs = 500): Promise<SandboxStats[]> {
  const records = statsTargets(paths, refs);
  const first = sampleAll(paths, records, refs.length > 0);
  await new Promise((r) => setTimeout(r, intervalMs));
  const second = sampleAll(paths, records, refs.length > 0);
  return second.map((s) => statsBetween(first.find((f) => f.id === s.id), s));
}
