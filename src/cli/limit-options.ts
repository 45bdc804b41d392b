/**
 * The resource-limit options of run and create (Podman's spellings and units) into a
 * ResourceLimits: `--memory 64m`, `--memory-swap -1`, `--cpus 0.5`, `--pids-limit 64`...
 * Pure; what enforces them is src/runtime/cgroup/.
 */
import { readFileSync, statSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import type { DeviceLimit, ResourceLimits } from '../types.js';

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
  memorySwappiness?: string;
  cpusetMems?: string;
  blkioWeight?: string;
  blkioWeightDevice?: string[];
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
  oomKillDisable?: string;
}

/** The LimitArgs keys whose option repeats (one device each), and the one that is a switch. */
export const LIST_LIMITS = ['blkioWeightDevice', 'deviceReadBps', 'deviceWriteBps', 'deviceReadIops', 'deviceWriteIops'] as const;
type ListLimit = (typeof LIST_LIMITS)[number];

/**
 * The limit options, as Podman spells them, by their LimitArgs key: one table for run's
 * and create's options (run-option-table.ts) and update's (update-options.ts).
 */
export const LIMIT_OPTIONS: readonly { key: keyof LimitArgs; name: string; alias?: string; describe: string; list?: true; flag?: true; notOnUpdate?: true }[] = [
  { key: 'memory', name: 'memory', alias: 'm', describe: 'Memory limit: 64m, 1g (b, k, m, g)' },
  { key: 'memorySwap', name: 'memory-swap', describe: 'Memory plus swap limit (default twice --memory; -1 unlimited)' },
  { key: 'memoryReservation', name: 'memory-reservation', describe: 'Soft memory limit, reclaimed down to under pressure' },
  { key: 'cpus', name: 'cpus', describe: 'CPU time limit in CPUs: 0.5 = half of one' },
  { key: 'cpuShares', name: 'cpu-shares', alias: 'c', describe: 'Relative CPU weight (default 1024)' },
  { key: 'cpuPeriod', name: 'cpu-period', describe: 'CPU period in µs (with --cpu-quota; default 100000)' },
  { key: 'cpuQuota', name: 'cpu-quota', describe: 'CPU time in µs per period (-1: none)' },
  { key: 'cpusetCpus', name: 'cpuset-cpus', describe: 'CPUs the sandbox may run on: 0-1,3' },
  { key: 'pidsLimit', name: 'pids-limit', describe: 'Most processes at once (-1: unlimited)' },
  { key: 'memorySwappiness', name: 'memory-swappiness', describe: 'Memory swappiness 0 to 100, -1: the system\'s (cgroup v1; ignored on v2, as Podman)' },
  { key: 'cpusetMems', name: 'cpuset-mems', describe: 'Memory nodes (NUMA) the sandbox may allocate on: 0-1' },
  { key: 'blkioWeight', name: 'blkio-weight', describe: 'Block I/O weight, 10 to 1000 (needs the BFQ scheduler or io.weight)' },
  { key: 'blkioWeightDevice', name: 'blkio-weight-device', describe: 'Block I/O weight of one device: /dev/sda:500 (repeat)', list: true },
  { key: 'deviceReadBps', name: 'device-read-bps', describe: 'Read rate from a device: /dev/sda:1mb (repeat)', list: true },
  { key: 'deviceWriteBps', name: 'device-write-bps', describe: 'Write rate to a device: /dev/sda:1mb (repeat)', list: true },
  { key: 'deviceReadIops', name: 'device-read-iops', describe: 'Read I/Os per second from a device: /dev/sda:1000 (repeat)', list: true },
  { key: 'deviceWriteIops', name: 'device-write-iops', describe: 'Write I/Os per second to a device: /dev/sda:1000 (repeat)', list: true },
  { key: 'oomKillDisable', name: 'oom-kill-disable', describe: 'Keep the OOM killer away from the sandbox at its memory limit (cgroup v1; ignored on v2, as Podman)', flag: true, notOnUpdate: true },
];

/** The LimitArgs of parsed options (`get`: an option's value by LimitArgs key; repeated ones give arrays): the last of each, all of a list. */
export function limitArgsFrom(get: (key: keyof LimitArgs) => unknown): LimitArgs {
  const out: LimitArgs = {};
  for (const o of LIMIT_OPTIONS) {
    const v = get(o.key);
    if (v === undefined || v === null) continue;
    const all = (Array.isArray(v) ? v : [v]).map(String);
    if (o.list) { if (all.length) (out as Record<string, string[]>)[o.key] = all; continue; }
    if (o.flag) { if (all[all.length - 1] === 'true') out[o.key as 'oomKillDisable'] = 'true'; continue; }
    if (all.length) (out as Record<string, string>)[o.key] = all[all.length - 1]!;
  }
  return out;
}

/** A block device's numbers (stat(2) of the path as given on the host); throws the one-line error. */
export type BlockDeviceLookup = (path: string, option: string) => { major: number; minor: number };

export const hostBlockDevice: BlockDeviceLookup = (path, option) => {
  let st;
  try { st = statSync(path); } catch (err) {
    throw new SandboxError(`${option}: cannot use ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { hint: 'give a block device of this host: e.g. /dev/sda (lsblk lists them)' });
  }
  if (!st.isBlockDevice()) throw new SandboxError(`${option}: ${path} is not a block device`, { hint: 'give a block device of this host: e.g. /dev/sda (lsblk lists them)' });
  return { major: Math.floor(st.rdev / 256) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) };
};

/** Podman's `DEVICE:VALUE` of the per-device I/O options; `rate`: bytes (1mb, units as --memory), else a plain positive integer. */
export function parseDeviceLimit(spec: string, option: string, kind: 'weight' | 'bps' | 'iops', lookup: BlockDeviceLookup): DeviceLimit {
  const at = spec.lastIndexOf(':');
  const path = at > 0 ? spec.slice(0, at) : '';
  const text = at > 0 ? spec.slice(at + 1) : '';
  const format = kind === 'bps' ? '<device-path>:<number>[<unit>] (unit b, kb, mb or gb)' : '<device-path>:<number>';
  if (!path || !text) throw new SandboxError(`invalid value '${spec}' for ${option}`, { hint: `the format is ${format}, e.g. ${option} /dev/sda:${kind === 'bps' ? '1mb' : kind === 'weight' ? '500' : '1000'}` });
  let value: number;
  if (kind === 'bps') value = parseMemory(text, option);
  else {
    if (!/^[0-9]+$/.test(text)) throw new SandboxError(`invalid ${kind === 'weight' ? 'weight' : 'rate'} for device: ${spec}`, { hint: `the format is ${format}; the number is a positive integer` });
    value = Number(text);
  }
  if (kind === 'weight' && (value < 10 || value > 1000)) throw new SandboxError(`invalid weight for device ${spec}: the range is 10 to 1000`, { hint: `e.g. ${option} ${path}:500` });
  if (kind !== 'weight' && value <= 0) throw new SandboxError(`invalid rate for device: ${spec}: the number must be a positive integer`, { hint: `the format is ${format}` });
  if (!path.startsWith('/')) throw new SandboxError(`${option}: ${path} is not a device path`, { hint: `the format is ${format}, e.g. ${option} /dev/sda:${text}` });
  return { path, ...lookup(path, option), value };
}

const DEVICE_LIMIT_KIND: Record<ListLimit, ['weight' | 'bps' | 'iops', string]> = {
  blkioWeightDevice: ['weight', '--blkio-weight-device'], deviceReadBps: ['bps', '--device-read-bps'], deviceWriteBps: ['bps', '--device-write-bps'],
  deviceReadIops: ['iops', '--device-read-iops'], deviceWriteIops: ['iops', '--device-write-iops'],
};

/** A `0-1,3` list of CPUs or memory nodes, each below `count`. */
function validSet(value: string, count: number): boolean {
  return /^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/.test(value) &&
    value.split(',').every((r) => { const [lo = 0, hi = lo] = r.split('-').map(Number); return hi >= lo && hi < count; });
}

function integer(value: string, option: string, hint: string): number {
  if (!/^-?[0-9]+$/.test(value.trim())) throw new SandboxError(`invalid value '${value}' for ${option}: not an integer`, { hint });
  return Number(value.trim());
}

/** Minimum --memory, as Podman's (the kernel cannot run a process in less). */
const MIN_MEMORY = 6 * 1024 * 1024;

/** What the parse asks of the host: memory nodes (cpuset.mems' range) and block devices. */
export interface LimitHost {
  memNodes: () => number;
  blockDevice: BlockDeviceLookup;
}

/** The number of memory nodes here (/sys/devices/system/node/possible: `0` or `0-3`). */
export function memNodesHere(): number {
  try {
    const text = readFileSync('/sys/devices/system/node/possible', 'utf8').trim();
    return Math.max(...text.split(',').map((r) => Number(r.split('-').pop()))) + 1;
  } catch { return 1; }
}

const HOST_LIMITS: LimitHost = { memNodes: memNodesHere, blockDevice: hostBlockDevice };

/** The limits asked for, checked as Podman checks them; undefined when none is given. `ncpus`: CPUs here. */
export function parseLimitOptions(a: LimitArgs, cpusHere: () => number, here: LimitHost = HOST_LIMITS): ResourceLimits | undefined {
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
    if (!validSet(v, ncpus)) throw new SandboxError(`invalid value '${a.cpusetCpus}' for --cpuset-cpus`, { hint: `CPUs by number, 0 to ${ncpus - 1}: e.g. 0-1,3` });
    out.cpusetCpus = v;
  }
  if (a.pidsLimit !== undefined) {
    out.pidsLimit = integer(a.pidsLimit, '--pids-limit', 'the most processes at once, e.g. --pids-limit 100 (-1 or 0: unlimited)');
    if (out.pidsLimit < -1) throw new SandboxError(`--pids-limit ${a.pidsLimit} is out of range`, { hint: 'a number of processes, or -1 / 0 for unlimited' });
  }
  if (a.memorySwappiness !== undefined) {
    const n = integer(a.memorySwappiness, '--memory-swappiness', 'an integer 0 to 100, or -1 for the system\'s');
    if (n < -1 || n > 100) throw new SandboxError(`invalid value: ${n}, valid memory swappiness range is 0-100`, { hint: 'an integer 0 to 100, or -1 for the system\'s' });
    if (n >= 0) out.memorySwappiness = n;
  }
  if (a.cpusetMems !== undefined) {
    const v = a.cpusetMems.trim();
    const nodes = here.memNodes();
    if (!validSet(v, nodes)) throw new SandboxError(`invalid value '${a.cpusetMems}' for --cpuset-mems`, { hint: `memory nodes by number, 0 to ${nodes - 1}: e.g. 0` });
    out.cpusetMems = v;
  }
  if (a.blkioWeight !== undefined) {
    const n = integer(a.blkioWeight, '--blkio-weight', 'a relative weight, 10 to 1000');
    if (n !== 0 && (n < 10 || n > 1000)) throw new SandboxError(`invalid --blkio-weight ${n}: the range is 10 to 1000`, { hint: 'a relative weight, 10 to 1000 (default 500)' });
    if (n) out.blkioWeight = n;
  }
  for (const key of LIST_LIMITS) {
    const specs = a[key];
    if (!specs?.length) continue;
    const [kind, option] = DEVICE_LIMIT_KIND[key];
    const byDevice = new Map<string, DeviceLimit>();
    for (const spec of specs) { const d = parseDeviceLimit(spec, option, kind, here.blockDevice); byDevice.set(`${d.major}:${d.minor}`, d); } // the last for a device wins
    out[key] = [...byDevice.values()];
  }
  if (a.oomKillDisable === 'true') out.oomKillDisable = true;
  return Object.keys(out).length ? out : undefined;
}

/** A limit back as its option's value(s), for `update` (which parses the kept limits again with the new ones). */
export function limitAsArgs(l: ResourceLimits): LimitArgs {
  const out: LimitArgs = {};
  for (const [k, v] of Object.entries(l)) {
    if (v === undefined || v === false) continue;
    if (Array.isArray(v)) (out as Record<string, string[]>)[k] = (v as DeviceLimit[]).map((d) => `${d.path}:${d.value}`);
    else (out as Record<string, string>)[k] = String(v);
  }
  return out;
}

/** `--cgroup-parent` (checked against the delegated subtree at create: runtime/cgroup/parent.ts) and `--oom-score-adj` (-1000..1000, Podman's range). */
export function parseCgroupOptions(cgroupParent: string | undefined, oomScoreAdj: string | undefined): { cgroupParent?: string; oomScoreAdj?: number } {
  const out: { cgroupParent?: string; oomScoreAdj?: number } = {};
  if (cgroupParent !== undefined) {
    if (!cgroupParent.trim()) throw new SandboxError('--cgroup-parent needs a cgroup path', { hint: 'a path inside the cgroup subtree delegated to you, e.g. --cgroup-parent ci' });
    out.cgroupParent = cgroupParent.trim();
  }
  if (oomScoreAdj !== undefined) {
    const n = integer(oomScoreAdj, '--oom-score-adj', 'an integer -1000 to 1000');
    if (n < -1000 || n > 1000) throw new SandboxError(`--oom-score-adj ${oomScoreAdj} is out of range`, { hint: 'an integer -1000 (never killed) to 1000 (killed first)' });
    out.oomScoreAdj = n;
  }
  return out;
}
