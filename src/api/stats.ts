/**
 * `stats`: CPU, memory, pids, block and network I/O of running sandboxes.
 *
 * Source: /proc, not a cgroup. Rootless sandboxes get no cgroup of their own here (on a
 * cgroup-v1 host an unprivileged user cannot create or be delegated one), so the numbers
 * are sums over the sandbox's processes (see `sandboxProcesses` in top.ts), and say so
 * (`source: 'proc'`). What that means:
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
  /** Where the numbers come from: always /proc for now (no cgroup of ours). */
  source: 'proc';
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
  return {
    id: record.id, name: record.name, atMs, cpu, memoryBytes, pids: processes.length,
    blockReadBytes, blockWriteBytes, netRxBytes: net.rx, netTxBytes: net.tx,
  };
}

/** The stats between two samples of one sandbox (the second gives the levels). Pure. */
export function statsBetween(before: StatsSample | undefined, after: StatsSample): SandboxStats {
  let cpuPercent = 0;
  if (before && after.atMs > before.atMs) {
    let ticks = 0;
    // A process new since the first sample counts whole: it started in the interval.
    for (const [k, t] of after.cpu) ticks += t - (before.cpu.get(k) ?? 0);
    cpuPercent = ((ticks / CLOCK_TICKS) * 1000 / (after.atMs - before.atMs)) * 100;
  }
  return {
    id: after.id, name: after.name, cpuPercent: Math.max(0, cpuPercent), memoryBytes: after.memoryBytes, pids: after.pids,
    netRxBytes: after.netRxBytes, netTxBytes: after.netTxBytes,
    blockReadBytes: after.blockReadBytes, blockWriteBytes: after.blockWriteBytes, source: 'proc',
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
