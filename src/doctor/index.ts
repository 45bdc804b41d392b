/**
 * `sandbox doctor`: what this host lets an unprivileged user do, and the exact command
 * for each thing that is missing. `runDoctor()` makes the full report (with real
 * attempts); `hostProblemHint(kind)` gives `run` the same one-line fix, synchronously.
 */
import {
  buildReport,
  checkCgroup,
  checkCow,
  checkFuse,
  checkNetwork,
  checkSubids,
  checkTun,
  checkUidmap,
  checkUserns,
  fixForCaller,
  type DoctorCheck,
  type DoctorReport,
  type HostFacts,
} from './checks.js';
import { gatherHostFacts, gatherStaticFacts, type ProbeOptions } from './probe.js';

export type { CheckStatus, DoctorCheck, DoctorReport, HostFacts } from './checks.js';
export type { ProbeOptions } from './probe.js';

/** Gathers the facts (trying user namespaces, overlay mounts, newuidmap) and judges them. */
export async function runDoctor(opts: ProbeOptions = {}): Promise<DoctorReport> {
  return buildReport(await gatherHostFacts(opts));
}

export type HostProblemKind = 'userns' | 'newuidmap' | 'subuid' | 'overlay' | 'fuse' | 'network' | 'tun' | 'cgroup';

/** Which checks can explain each problem, in order; the first fix found wins. */
const CHECKS_FOR: Record<HostProblemKind, Array<(f: HostFacts) => DoctorCheck>> = {
  userns: [checkUserns],
  newuidmap: [checkUidmap, checkSubids],
  subuid: [checkSubids],
  overlay: [checkCow, checkFuse],
  fuse: [checkFuse],
  network: [checkNetwork],
  tun: [checkTun],
  cgroup: [checkCgroup],
};

/** When the facts show no known cause: still one line, and where to look. */
const FALLBACK: Record<HostProblemKind, string> = {
  userns: 'this host does not let you create user namespaces; run `sandbox doctor` to see why',
  newuidmap: 'newuidmap/newgidmap could not map your ids; run `sandbox doctor` to see why',
  subuid: 'run `sandbox doctor` to check your /etc/subuid and /etc/subgid ranges',
  overlay: 'neither native overlayfs nor fuse-overlayfs works here; run `sandbox doctor` to see why',
  fuse: 'fuse-overlayfs cannot use /dev/fuse; run `sandbox doctor` to see why',
  network: 'user-mode networking does not work here; `--network none` or `--network host` do; run `sandbox doctor`',
  tun: 'slirp4netns/pasta cannot open /dev/net/tun; run `sandbox doctor` to see why',
  cgroup: 'resource limits need cgroup v2 with delegation; run `sandbox doctor` to see what is missing',
};

/**
 * The one-line fix `sandbox doctor` prints for a problem `run` has just hit, for the
 * `hint` of its SandboxError. Synchronous and cheap: reads a few small files, starts no
 * process. Since `run` saw the problem happen, the matching attempt counts as failed.
 * `facts` is for tests; by default they are read from this machine.
 */
export function hostProblemHint(kind: HostProblemKind, facts?: HostFacts): string {
  let f: HostFacts;
  try {
    f = facts ? structuredClone(facts) : gatherStaticFacts();
  } catch {
    return FALLBACK[kind];
  }
  const failed = { ok: false, error: 'failed in sandbox run' };
  if (kind === 'userns') f.tries.userns = failed;
  if (kind === 'overlay' || kind === 'fuse') {
    f.tries.overlay = failed;
    if (kind === 'overlay') f.tries.fuseOverlay = f.tools['fuse-overlayfs'] ? failed : null;
  }
  if (kind === 'newuidmap') f.tries.idmap = failed;
  for (const check of CHECKS_FOR[kind]) {
    const c = check(f);
    if (c.status !== 'ok' && c.fix) return fixForCaller(f, c.fix);
  }
  return FALLBACK[kind];
}
