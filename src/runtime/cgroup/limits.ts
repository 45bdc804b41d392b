/**
 * Resource limits, pure: which mechanism bounds each limit on a given host (cgroup v2,
 * cgroup v1, RLIMIT_NPROC, none), the one-line refusal when one cannot be enforced, and
 * the cgroup files each limit is written to. The host side (what is mounted and
 * delegated here) is ./detect.ts; creating and removing the cgroups is ./manage.ts.
 */
import type { DeviceLimit, ResourceLimits } from '../../types.js';
import { SandboxError } from '../../errors.js';
import { Flag } from '../protocol.js';

/** The helper's plan word for a resource limit of the command (part limits-ops: `--rlimit NAME SOFT HARD`), when it has it: --pids-limit without a cgroup. */
export const RLIMIT_FLAG: string | undefined = (Flag as Record<string, string>).rlimit;

export type LimitName = keyof ResourceLimits;
/** `ignored`: a v1-only knob on cgroup v2 (--memory-swappiness, --oom-kill-disable), dropped with a warning as Podman drops it. */
export type LimitMechanism = 'cgroup-v2' | 'cgroup-v1' | 'rlimit' | 'ignored' | 'none';
/** The v1 controllers a sandbox's cgroups are made in (each that is delegated); `cpuacct` and `freezer` for stats and pause, `blkio` for the I/O limits. */
export const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset', 'freezer', 'blkio'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/** What ./detect.ts found for this user. */
export interface CgroupHost {
  /** Where the cgroup filesystems are mounted (/sys/fs/cgroup; SANDBOX_CGROUP_FS for tests). */
  fsRoot: string;
  layout: 'unified' | 'hybrid' | 'v1' | 'none';
  uid: number;
  /**
   * cgroup v2: the user's delegated subtree (systemd's user@UID.service), and whether this
   * process is inside it; outside, whether a transient scope of the user's manager gets
   * the sandbox's processes in (`viaScope`, ./scope.ts), or why not (`noScope`).
   */
  v2?: { dir: string; controllers: string[]; inside: boolean; swap: boolean; viaScope?: boolean; noScope?: { why: string; fix: string }; ioWeight?: WeightFile };
  /** cgroup v1: each controller's `<mount>/sandbox/<uid>` the user may create cgroups in. */
  v1?: { dirs: Partial<Record<V1Controller, string>>; memsw: boolean; blkioWeight?: WeightFile };
}

/** The file an I/O weight is written to: the BFQ scheduler's, else the generic one (v2's io.weight: blk-iocost); none: no weight here. */
export type WeightFile = 'io.bfq.weight' | 'io.weight' | 'blkio.bfq.weight' | 'blkio.weight';

/** The cgroup controller a limit needs (the same name on v1 and v2). */
const CONTROLLER: Record<LimitName, 'memory' | 'cpu' | 'cpuset' | 'pids' | 'io'> = {
  memory: 'memory', memorySwap: 'memory', memoryReservation: 'memory',
  cpus: 'cpu', cpuShares: 'cpu', cpuPeriod: 'cpu', cpuQuota: 'cpu', cpusetCpus: 'cpuset', pidsLimit: 'pids',
  memorySwappiness: 'memory', cpusetMems: 'cpuset', oomKillDisable: 'memory',
  blkioWeight: 'io', blkioWeightDevice: 'io', deviceReadBps: 'io', deviceWriteBps: 'io', deviceReadIops: 'io', deviceWriteIops: 'io',
};

/** The I/O limits: the io controller on v2, blkio on v1. */
const IO_LIMITS: readonly LimitName[] = ['blkioWeight', 'blkioWeightDevice', 'deviceReadBps', 'deviceWriteBps', 'deviceReadIops', 'deviceWriteIops'];
/** The limits that need an I/O weight file (the BFQ scheduler's, or v2's blk-iocost io.weight). */
const WEIGHT_LIMITS: readonly LimitName[] = ['blkioWeight', 'blkioWeightDevice'];
/** cgroup v1's knobs that v2 has no counterpart for: Podman ignores them there with a warning. */
const V1_ONLY: readonly LimitName[] = ['memorySwappiness', 'oomKillDisable'];

/** Podman's spelling of each limit, for messages. */
export const LIMIT_OPTION: Record<LimitName, string> = {
  memory: '--memory', memorySwap: '--memory-swap', memoryReservation: '--memory-reservation', cpus: '--cpus',
  cpuShares: '--cpu-shares', cpuPeriod: '--cpu-period', cpuQuota: '--cpu-quota', cpusetCpus: '--cpuset-cpus', pidsLimit: '--pids-limit',
  memorySwappiness: '--memory-swappiness', cpusetMems: '--cpuset-mems', blkioWeight: '--blkio-weight', blkioWeightDevice: '--blkio-weight-device',
  deviceReadBps: '--device-read-bps', deviceWriteBps: '--device-write-bps', deviceReadIops: '--device-read-iops', deviceWriteIops: '--device-write-iops',
  oomKillDisable: '--oom-kill-disable',
};

/** The limits that ask for something (an unlimited value needs no mechanism). */
export function activeLimits(limits: ResourceLimits | undefined): LimitName[] {
  if (!limits) return [];
  return (Object.keys(limits) as LimitName[]).filter((k) => {
    const v = limits[k];
    if (v === undefined || v === false || (Array.isArray(v) && !v.length)) return false;
    if (k === 'pidsLimit' || k === 'memorySwap' || k === 'cpuQuota') return typeof v === 'number' && v > 0;
    return true;
  });
}

/**
 * The mechanism for each limit asked for: cgroup v2 (the user's delegated subtree, when
 * this process is inside it), else v1 (an administrator's delegation), else
 * RLIMIT_NPROC for --pids-limit when the helper has it (`rlimit`), else none.
 */
export function limitMechanisms(limits: ResourceLimits | undefined, host: CgroupHost, rlimitAvailable: boolean): Partial<Record<LimitName, LimitMechanism>> {
  const out: Partial<Record<LimitName, LimitMechanism>> = {};
  for (const name of activeLimits(limits)) out[name] = mechanismOf(name, host, rlimitAvailable);
  return out;
}

export function mechanismOf(name: LimitName, host: CgroupHost, rlimitAvailable: boolean): LimitMechanism {
  const ctl = CONTROLLER[name];
  const v2 = host.v2?.inside || host.v2?.viaScope;
  if (v2 && V1_ONLY.includes(name)) return 'ignored';
  const weightOk = (file: WeightFile | undefined) => !WEIGHT_LIMITS.includes(name) || file !== undefined;
  if (v2 && host.v2!.controllers.includes(ctl) && (name !== 'memorySwap' || host.v2!.swap) && weightOk(host.v2!.ioWeight)) return 'cgroup-v2';
  if (host.v1?.dirs[ctl === 'io' ? 'blkio' : ctl] && (name !== 'memorySwap' || host.v1.memsw) && weightOk(host.v1.blkioWeight)) return 'cgroup-v1';
  if (name === 'pidsLimit' && rlimitAvailable) return 'rlimit';
  return 'none';
}

/** Whether the sandbox gets cgroups (some limit is bounded by one), and which version. */
export function cgroupVersion(mechanisms: Partial<Record<LimitName, LimitMechanism>>): 1 | 2 | undefined {
  const ms = Object.values(mechanisms);
  return ms.includes('cgroup-v2') ? 2 : ms.includes('cgroup-v1') ? 1 : undefined;
}

/** Why nothing bounds limits on this host, and the fix: the refusal's words and doctor's. */
export function whyUnenforced(host: CgroupHost): { why: string; fix: string } {
  if (host.layout === 'unified') {
    if (host.v2 && !host.v2.inside && !host.v2.viaScope) {
      return {
        why: `this process is outside your systemd user session's delegated cgroup (${host.v2.dir})` +
          (host.v2.noScope ? ` and ${host.v2.noScope.why}` : ''),
        fix: host.v2.noScope?.fix ?? 'run sandbox inside it: systemd-run --user --scope --quiet sandbox run ...',
      };
    }
    if (host.v2) return { why: `your delegated cgroup (${host.v2.dir}) lacks the controller`, fix: 'an administrator adds it: Delegate=cpu cpuset io memory pids in /etc/systemd/system/user@.service.d/delegate.conf' };
    return { why: 'cgroup v2 is not delegated to you by systemd', fix: 'an administrator enables it: Delegate=cpu cpuset io memory pids in /etc/systemd/system/user@.service.d/delegate.conf, then log in again' };
  }
  if (host.layout === 'none') return { why: 'no cgroup filesystem is mounted', fix: 'an administrator mounts one (cgroup v2: mount -t cgroup2 none /sys/fs/cgroup)' };
  return {
    why: `this host has cgroup v1 and no cgroup subtree delegated to you (${host.fsRoot}/CONTROLLER/sandbox/${host.uid})`,
    fix: 'an administrator delegates one once: `sandbox doctor` prints the commands',
  };
}

/**
 * The refusal (exit 125, before anything is pulled or recorded) when a limit asked for
 * has no mechanism here; undefined when all are enforced, or the user opted out.
 */
export function unenforcedLimits(mechanisms: Partial<Record<LimitName, LimitMechanism>>): LimitName[] {
  return (Object.keys(mechanisms) as LimitName[]).filter((k) => mechanisms[k] === 'none');
}

/** Why the limit `name` has no mechanism: an I/O weight where the controller is there but no weight file, else the host's reason. */
export function whyLimitUnenforced(name: LimitName, host: CgroupHost): { why: string; fix: string } {
  const v2 = host.v2?.inside || host.v2?.viaScope;
  if (WEIGHT_LIMITS.includes(name) && ((v2 && host.v2!.controllers.includes('io')) || (!v2 && host.v1?.dirs.blkio))) {
    return {
      why: `the kernel offers no I/O weight here (no ${v2 ? 'io.bfq.weight or io.weight' : 'blkio.bfq.weight or blkio.weight'}: the disks' scheduler is not BFQ)`,
      fix: 'an administrator selects BFQ for the disk (echo bfq > /sys/block/DISK/queue/scheduler); the --device-read-bps/--device-write-bps limits work without it',
    };
  }
  if (IO_LIMITS.includes(name) && v2 && !host.v2!.controllers.includes('io')) {
    return { why: `your delegated cgroup (${host.v2!.dir}) lacks the io controller`, fix: 'an administrator adds it: Delegate=cpu cpuset io memory pids in /etc/systemd/system/user@.service.d/delegate.conf' };
  }
  return whyUnenforced(host);
}

export function refusal(names: LimitName[], host: CgroupHost): SandboxError {
  const { why, fix } = whyLimitUnenforced(names[0]!, host);
  const opts = names.map((n) => LIMIT_OPTION[n]).join(', ');
  return new SandboxError(`${opts} cannot be enforced for you: ${why}`, {
    hint: `${fix}; or add --unenforced-limits to run without ${names.length > 1 ? 'them' : 'it'} (with a warning)`,
  });
}

export function unenforcedWarning(names: LimitName[], host: CgroupHost): string {
  return `${names.map((n) => LIMIT_OPTION[n]).join(', ')} not enforced (--unenforced-limits): ${whyLimitUnenforced(names[0]!, host).why}`;
}

/** The limits Podman ignores on this host (cgroup v2 has no such knob), and the warning that says so. */
export function ignoredLimits(mechanisms: Partial<Record<LimitName, LimitMechanism>>): LimitName[] {
  return (Object.keys(mechanisms) as LimitName[]).filter((k) => mechanisms[k] === 'ignored');
}

export function ignoredWarning(names: LimitName[]): string {
  return `${names.map((n) => LIMIT_OPTION[n]).join(', ')} ignored: cgroup v2 has no such setting (as Podman ignores ${names.length > 1 ? 'them' : 'it'} there)`;
}

/** One write to a cgroup file: controller (v1: whose directory), file, value. */
export interface LimitWrite {
  controller: 'memory' | 'cpu' | 'cpuset' | 'pids' | 'io' | 'blkio';
  file: string;
  value: string;
}

/** runc's conversion of --blkio-weight (10..1000) to cgroup v2's io.weight (1..10000). */
export function blkioToIoWeight(weight: number): number {
  return Math.floor(1 + ((weight - 10) * 9999) / 990);
}

/** v2's io.max lines: one per device, its rates together (`MAJ:MIN rbps=N wiops=N`). */
export function ioMaxLines(limits: ResourceLimits): string[] {
  const byDev = new Map<string, string[]>();
  const keys: [LimitName, string][] = [['deviceReadBps', 'rbps'], ['deviceWriteBps', 'wbps'], ['deviceReadIops', 'riops'], ['deviceWriteIops', 'wiops']];
  for (const [k, word] of keys) {
    for (const d of (limits[k] as DeviceLimit[] | undefined) ?? []) {
      const dev = `${d.major}:${d.minor}`;
      byDev.set(dev, [...(byDev.get(dev) ?? []), `${word}=${d.value}`]);
    }
  }
  return [...byDev].map(([dev, words]) => `${dev} ${words.join(' ')}`);
}

/** Podman's conversion of --cpu-shares (2..262144) to cgroup v2's cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((Math.max(2, shares) - 2) * 9999) / 262142);
}

const DEFAULT_PERIOD = 100000;

/** The quota and period for cpu: --cpus, or --cpu-quota/--cpu-period; undefined when none. */
export function cpuQuota(limits: ResourceLimits): { quota: number; period: number } | undefined {
  const period = limits.cpuPeriod ?? DEFAULT_PERIOD;
  if (limits.cpus !== undefined) return { quota: Math.round(limits.cpus * period), period };
  if (limits.cpuQuota !== undefined && limits.cpuQuota > 0) return { quota: limits.cpuQuota, period };
  if (limits.cpuPeriod !== undefined) return { quota: -1, period };
  return undefined;
}

/**
 * The files to write, in order, for `limits` on cgroup `version` (only those whose
 * mechanism is a cgroup). `has` says whether an optional file exists (swap accounting).
 */
export function limitWrites(limits: ResourceLimits, version: 1 | 2, has: { swap: boolean; weight?: WeightFile }): LimitWrite[] {
  const w: LimitWrite[] = [];
  const add = (controller: LimitWrite['controller'], file: string, value: string | number) => w.push({ controller, file, value: String(value) });
  const swapTotal = limits.memorySwap ?? (limits.memory !== undefined ? 2 * limits.memory : undefined); // Podman: twice the memory by default
  if (version === 2) {
    if (limits.memory !== undefined) add('memory', 'memory.max', limits.memory);
    if (swapTotal !== undefined && has.swap && (limits.memory !== undefined || swapTotal < 0)) {
      add('memory', 'memory.swap.max', swapTotal < 0 ? 'max' : Math.max(0, swapTotal - (limits.memory ?? 0)));
    }
    if (limits.memoryReservation !== undefined) add('memory', 'memory.low', limits.memoryReservation);
    const q = cpuQuota(limits);
    if (q) add('cpu', 'cpu.max', `${q.quota < 0 ? 'max' : q.quota} ${q.period}`);
    if (limits.cpuShares !== undefined) add('cpu', 'cpu.weight', sharesToWeight(limits.cpuShares));
    if (limits.cpusetCpus !== undefined) add('cpuset', 'cpuset.cpus', limits.cpusetCpus);
    if (limits.pidsLimit !== undefined && limits.pidsLimit > 0) add('pids', 'pids.max', limits.pidsLimit);
    if (limits.cpusetMems !== undefined) add('cpuset', 'cpuset.mems', limits.cpusetMems);
    // io.bfq.weight takes the blkio weight as it is; io.weight its 1..10000 conversion (runc's choice too).
    const weight = (w: number) => (has.weight === 'io.bfq.weight' ? w : blkioToIoWeight(w));
    if (has.weight && limits.blkioWeight !== undefined) add('io', has.weight, has.weight === 'io.weight' ? `default ${weight(limits.blkioWeight)}` : weight(limits.blkioWeight));
    for (const d of has.weight ? limits.blkioWeightDevice ?? [] : []) add('io', has.weight!, `${d.major}:${d.minor} ${weight(d.value)}`);
    for (const line of ioMaxLines(limits)) add('io', 'io.max', line);
  } else {
    if (limits.memory !== undefined) add('memory', 'memory.limit_in_bytes', limits.memory);
    if (swapTotal !== undefined && has.swap && limits.memory !== undefined) add('memory', 'memory.memsw.limit_in_bytes', swapTotal < 0 ? -1 : swapTotal);
    if (limits.memoryReservation !== undefined) add('memory', 'memory.soft_limit_in_bytes', limits.memoryReservation);
    const q = cpuQuota(limits);
    if (q) { add('cpu', 'cpu.cfs_period_us', q.period); add('cpu', 'cpu.cfs_quota_us', q.quota); }
    if (limits.cpuShares !== undefined) add('cpu', 'cpu.shares', limits.cpuShares);
    if (limits.cpusetCpus !== undefined) add('cpuset', 'cpuset.cpus', limits.cpusetCpus);
    if (limits.pidsLimit !== undefined && limits.pidsLimit > 0) add('pids', 'pids.max', limits.pidsLimit);
    if (limits.memorySwappiness !== undefined) add('memory', 'memory.swappiness', limits.memorySwappiness);
    if (limits.oomKillDisable) add('memory', 'memory.oom_control', 1);
    if (limits.cpusetMems !== undefined) add('cpuset', 'cpuset.mems', limits.cpusetMems);
    if (has.weight && limits.blkioWeight !== undefined) add('blkio', has.weight, limits.blkioWeight);
    for (const d of has.weight ? limits.blkioWeightDevice ?? [] : []) add('blkio', `${has.weight}_device`, `${d.major}:${d.minor} ${d.value}`);
    const throttle: [LimitName, string][] = [['deviceReadBps', 'read_bps'], ['deviceWriteBps', 'write_bps'], ['deviceReadIops', 'read_iops'], ['deviceWriteIops', 'write_iops']];
    for (const [k, file] of throttle) for (const d of (limits[k] as DeviceLimit[] | undefined) ?? []) add('blkio', `blkio.throttle.${file}_device`, `${d.major}:${d.minor} ${d.value}`);
  }
  return w;
}

/** The one-time commands an administrator runs to delegate the v1 subtree to `user` (uid), and how to keep it across reboots. */
export function v1DelegationCommands(fsRoot: string, uid: number, user: string, controllers: readonly string[]): { now: string; boot: string } {
  const ctl = controllers.join(' ');
  const script = `for c in ${ctl}; do mkdir -p ${fsRoot}/$c/sandbox/${uid}; done; ` +
    (controllers.includes('cpuset')
      ? `for d in sandbox sandbox/${uid}; do cat ${fsRoot}/cpuset/cpuset.cpus > ${fsRoot}/cpuset/$d/cpuset.cpus; cat ${fsRoot}/cpuset/cpuset.mems > ${fsRoot}/cpuset/$d/cpuset.mems; done; `
      : '') +
    `for c in ${ctl}; do chown -R ${user} ${fsRoot}/$c/sandbox/${uid}; done`;
  return {
    now: `sudo sh -c '${script}'`,
    boot: `printf '[Unit]\\nDescription=cgroup v1 subtree for sandbox (${user})\\n[Service]\\nType=oneshot\\nExecStart=/bin/sh -c "${script.replace(/\$/g, '$$$$')}"\\n[Install]\\nWantedBy=multi-user.target\\n' | sudo tee /etc/systemd/system/sandbox-cgroup-${user}.service && sudo systemctl enable sandbox-cgroup-${user}.service`,
  };
}
