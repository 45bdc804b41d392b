/**
 * Limits for one sandbox, from the request to the helper: `checkLimits` (at create,
 * before anything is pulled or recorded: the mechanism of each limit, or the one-line
 * refusal), `startCgroup` (before each start: the cgroups made, the limits written, the
 * words for the plan), `endCgroup` (rm: what the monitor could not remove).
 */
import type { RunRequest } from '../../types.js';
import type { SandboxCgroup, SandboxRecord } from '../../state/sandboxes.js';
import type { StorePaths } from '../../state/paths.js';
import { liveMonitor, oomFilePath } from '../../state/sandbox-dir.js';
import { delegatedV2Host, detectCgroupHost } from './detect.js';
import { RLIMIT_FLAG, cgroupVersion, ignoredLimits, ignoredWarning, limitMechanisms, refusal, unenforcedLimits, unenforcedWarning, whyUnenforced, type LimitMechanism } from './limits.js';
import { resolveCgroupParent } from './parent.js';
import { SandboxError } from '../../errors.js';
import { createCgroup, planCgroup, removeCgroup, removeStrayCgroups } from './manage.js';

export interface LimitsDecision {
  limitMechanisms: Record<string, LimitMechanism>;
  /** Where the sandbox's cgroups go, when a limit is bounded by one. */
  cgroup?: SandboxCgroup;
}

/**
 * What bounds each limit of `request` for this user, or the refusal (exit 125) naming
 * the fix; with --unenforced-limits a warning instead. A sandbox whose limits need no
 * cgroup (or that has none) still gets one where that is cheap (ownCgroup).
 */
export function checkLimits(request: RunRequest, id: string, warn?: (m: string) => void): LimitsDecision | undefined {
  if (!request.limits && request.cgroupParent === undefined) return ownCgroup(id);
  const host = detectCgroupHost();
  const mechanisms = limitMechanisms(request.limits, host, RLIMIT_FLAG !== undefined);
  const missing = unenforcedLimits(mechanisms);
  if (missing.length) {
    if (!request.unenforcedLimits) throw refusal(missing, host);
    warn?.(unenforcedWarning(missing, host));
  }
  const ignored = ignoredLimits(mechanisms);
  if (ignored.length) warn?.(ignoredWarning(ignored));
  let version = cgroupVersion(mechanisms);
  let parent: string | undefined;
  if (request.cgroupParent !== undefined) {
    // A sandbox with --cgroup-parent gets a cgroup there, limits or not (the parent's own limits then bound it).
    version ??= host.v2?.inside || host.v2?.viaScope ? 2 : host.v1 ? 1 : undefined;
    if (!version) {
      const { why, fix } = whyUnenforced(host);
      throw new SandboxError(`--cgroup-parent ${request.cgroupParent} needs a cgroup subtree delegated to you: ${why}`, { hint: fix });
    }
    parent = resolveCgroupParent(request.cgroupParent, host, version);
  }
  const cgroup = version ? planCgroup(host, version, id, parent) : ownCgroup(id)?.cgroup;
  return { limitMechanisms: mechanisms as Record<string, LimitMechanism>, ...(cgroup ? { cgroup } : {}) };
}

/**
 * A cgroup for a sandbox without a limit that needs one, on cgroup v2 from inside the
 * user's delegated subtree (detect.ts delegatedV2Host says why only there): pause,
 * stats and OOM kills then work for every sandbox. Undefined elsewhere.
 */
function ownCgroup(id: string): LimitsDecision | undefined {
  const host = delegatedV2Host();
  return host ? { limitMechanisms: {}, cgroup: planCgroup(host, 2, id) } : undefined;
}

/**
 * --pids-limit without a pids cgroup: RLIMIT_NPROC, soft and hard (counted per user
 * namespace, so per sandbox; root inside cannot raise a hard limit), among the
 * request's --ulimit words, which the command and every exec'd one get (the lower wins
 * over a --ulimit nproc given too).
 */
export function withPidsRlimit(request: RunRequest, decision: LimitsDecision | undefined): RunRequest {
  const n = request.limits?.pidsLimit;
  if (decision?.limitMechanisms.pidsLimit !== 'rlimit' || !n || n <= 0) return request;
  const given = request.ulimits?.find((u) => u.name === 'nproc');
  const low = (v: number) => (v < 0 ? n : Math.min(v, n));
  const nproc = { name: 'nproc', soft: given ? low(given.soft) : n, hard: given ? low(given.hard) : n };
  return { ...request, ulimits: [...(request.ulimits ?? []).filter((u) => u.name !== 'nproc'), nproc] };
}

/**
 * `update --pids-limit` of a sandbox it holds by RLIMIT_NPROC: the nproc word becomes
 * the new limit (`n` <= 0: none, as `--pids-limit -1` lifts it), for later execs and starts.
 */
export function withNproc(request: RunRequest, n: number | undefined): RunRequest {
  const others = (request.ulimits ?? []).filter((u) => u.name !== 'nproc');
  return { ...request, ulimits: n && n > 0 ? [...others, { name: 'nproc', soft: n, hard: n }] : others };
}

/**
 * Before a start: this sandbox's cgroups made with its limits (if any); the plan's part
 * (LaunchInput.cgroup). Undefined for a sandbox without.
 */
export function startCgroup(paths: StorePaths, record: SandboxRecord): { dirs: string[]; oomFile: string } | undefined {
  if (!record.cgroup) return undefined;
  createCgroup(record.cgroup, record.request.limits ?? {});
  return { dirs: Object.values(record.cgroup.paths).filter((d): d is string => !!d), oomFile: oomFilePath(paths, record.id) };
}

/**
 * Once the sandbox runs (off its start's path): the cgroups crashed sandboxes left
 * beside its own removed.
 */
export function sweepStrayCgroups(paths: StorePaths, record: SandboxRecord): void {
  if (record.cgroup) removeStrayCgroups(record.cgroup, (id) => liveMonitor(paths, id) !== undefined);
}

/** `rm`: the sandbox's cgroups, if its monitor could not remove them (killed). */
export async function endCgroup(record: Pick<SandboxRecord, 'cgroup'>): Promise<void> {
  if (record.cgroup) await removeCgroup(record.cgroup);
}
