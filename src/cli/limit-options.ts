/**
 * The resource-limit options of run and create (Podman's spellings and units) into a
 * ResourceLimits: `--memory 64m`, `--memory-swap -1`, `--cpus 0.5`, `--pids-limit 64`...
 * Pure; what enforces them is src/runtime/cgroup/.
 */
import { SandboxError } from '../errors.js';
import type { ResourceLimits } from '../types.js';

/** Podman's RAMInBytes: a number with an optional binary unit (b, k, m, g, t; `64m`, `1.5g`, `512MiB`, `1024`). */
export function parseMemory(value: string, option: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?) ?([kmgtp])?(?:i?b)?$/i.exec(value.trim());
  if (!m) throw new SandboxError(`invalid size: '${value}' for ${option}`, { hint: `e.g. ${option} 512m (b, k, m, g)` });
  const unit = (m[2] ?? '').toLowerCase();
  const bytes = Math.floor(Number(m[1]) * 1024 ** (unit ? 'kmgtp'.indexOf(unit) + 1 : 0));
  return bytes;
}

/** What `parseLimitOptions` reads: the raw option values (the last of each, as given). */
export interface LimitArgs {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
}

/**
 * The limit options, as Podman spells them, by their LimitArgs key: one table for run's
 * and create's options (run-option-table.ts) and update's (update-options.ts).
 */
export const LIMIT_OPTIONS: readonly { key: keyof LimitArgs; name: string; alias?: string; describe: string }[] = [
  { key: 'memory', name: 'memory', alias: 'm', describe: 'Memory limit: 64m, 1g (b, k, m, g)' },
  { key: 'memorySwap', name: 'memory-swap', describe: 'Memory plus swap limit (default twice --memory; -1 unlimited)' },
  { key: 'memoryReservation', name: 'memory-reservation', describe: 'Soft memory limit, reclaimed down to under pressure' },
  { key: 'cpus', name: 'cpus', describe: 'CPU time limit in CPUs: 0.5 = half of one' },
  { key: 'cpuShares', name: 'cpu-shares', alias: 'c', describe: 'Relative CPU weight (default 1024)' },
  { key: 'cpuPeriod', name: 'cpu-period', describe: 'CPU period in µs (with --cpu-quota; default 100000)' },
  { key: 'cpuQuota', name: 'cpu-quota', describe: 'CPU time in µs per period (-1: none)' },
  { key: 'cpusetCpus', name: 'cpuset-cpus', describe: 'CPUs the sandbox may run on: 0-1,3' },
  { key: 'pidsLimit', name: 'pids-limit', describe: 'Most processes at once (-1: unlimited)' },
];

function integer(value: string, option: string, hint: string): number {
  if (!/^-?[0-9]+$/.test(value.trim())) throw new SandboxError(`invalid value '${value}' for ${option}: not an integer`, { hint });
  return Number(value.trim());
}

/** Minimum --memory, as Podman's (the kernel cannot run a process in less). */
const MIN_MEMORY = 6 * 1024 * 1024;

/** The limits asked for, checked as Podman checks them; undefined when none is given. `ncpus`: CPUs here. */
export function parseLimitOptions(a: LimitArgs, cpusHere: () => number): ResourceLimits | undefined {
  const out: ResourceLimits = {};
  if (Object.values(a).every((v) => v === undefined)) return undefined;
  const ncpus = cpusHere();
  if (a.memory !== undefined) {
    out.memory = parseMemory(a.memory, '--memory');
    if (out.memory < MIN_MEMORY) throw new SandboxError(`--memory ${a.memory}: the minimum memory limit is 6MB`, { hint: 'e.g. --memory 64m' });
  }
  if (a.memorySwap !== undefined) {
    out.memorySwap = a.memorySwap.trim() === '-1' ? -1 : parseMemory(a.memorySwap, '--memory-swap');
    if (out.memorySwap !== -1) {
      if (out.memory === undefined) throw new SandboxError('--memory-swap needs --memory', { hint: '--memory-swap is memory plus swap: give --memory too (or --memory-swap -1)' });
      if (out.memorySwap < out.memory) throw new SandboxError(`--memory-swap ${a.memorySwap} is less than --memory ${a.memory}`, { hint: '--memory-swap is memory plus swap: at least --memory (equal: no swap; -1: unlimited)' });
    }
  }
  if (a.memoryReservation !== undefined) {
    out.memoryReservation = parseMemory(a.memoryReservation, '--memory-reservation');
    if (out.memory !== undefined && out.memoryReservation > out.memory) throw new SandboxError('--memory-reservation must be at most --memory', { hint: 'the reservation is a soft limit below the hard one' });
  }
  if (a.cpus !== undefined) {
    const n = Number(a.cpus.trim());
    if (!/^[0-9]*\.?[0-9]+$/.test(a.cpus.trim()) || !(n > 0)) throw new SandboxError(`invalid value '${a.cpus}' for --cpus`, { hint: 'a number of CPUs, e.g. --cpus 0.5 (half of one)' });
    if (n > ncpus) throw new SandboxError(`--cpus ${a.cpus}: the range of CPUs is from 0.01 to ${ncpus}.00, as there are only ${ncpus} CPUs available`, { hint: `at most --cpus ${ncpus}` });
    if (a.cpuPeriod !== undefined || a.cpuQuota !== undefined) throw new SandboxError('--cpus cannot be given with --cpu-period or --cpu-quota', { hint: '--cpus N is --cpu-period 100000 --cpu-quota N*100000: give one form' });
    out.cpus = n;
  }
  if (a.cpuPeriod !== undefined) {
    out.cpuPeriod = integer(a.cpuPeriod, '--cpu-period', 'microseconds, 1000 to 1000000 (default 100000)');
    if (out.cpuPeriod < 1000 || out.cpuPeriod > 1000000) throw new SandboxError(`--cpu-period ${a.cpuPeriod} is out of range`, { hint: 'microseconds, 1000 to 1000000 (default 100000)' });
  }
  if (a.cpuQuota !== undefined) {
    out.cpuQuota = integer(a.cpuQuota, '--cpu-quota', 'microseconds of CPU time per period (at least 1000), or -1');
    if (out.cpuQuota !== -1 && out.cpuQuota < 1000) throw new SandboxError(`--cpu-quota ${a.cpuQuota} is too small`, { hint: 'at least 1000 (µs per period), or -1 for none' });
  }
  if (a.cpuShares !== undefined) {
    out.cpuShares = integer(a.cpuShares, '--cpu-shares', 'a relative weight, 2 to 262144 (default 1024)');
    if (out.cpuShares < 2 || out.cpuShares > 262144) throw new SandboxError(`--cpu-shares ${a.cpuShares} is out of range`, { hint: 'a relative weight, 2 to 262144 (default 1024)' });
  }
  if (a.cpusetCpus !== undefined) {
    const v = a.cpusetCpus.trim();
    const ok = /^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/.test(v) &&
      v.split(',').every((r) => { const [lo = 0, hi = lo] = r.split('-').map(Number); return hi >= lo && hi < ncpus; });
    if (!ok) throw new SandboxError(`invalid value '${a.cpusetCpus}' for --cpuset-cpus`, { hint: `CPUs by number, 0 to ${ncpus - 1}: e.g. 0-1,3` });
    out.cpusetCpus = v;
  }
  if (a.pidsLimit !== undefined) {
    out.pidsLimit = integer(a.pidsLimit, '--pids-limit', 'the most processes at once, e.g. --pids-limit 100 (-1 or 0: unlimited)');
    if (out.pidsLimit < -1) throw new SandboxError(`--pids-limit ${a.pidsLimit} is out of range`, { hint: 'a number of processes, or -1 / 0 for unlimited' });
  }
  return Object.keys(out).length ? out : undefined;
}
