/**
 * `update`: new resource limits for a sandbox, kept in its record (so every later start
 * has them) and, when it runs, written into the cgroups it runs in at once
 * (runtime/cgroup/update.ts). The same mechanisms as run (runtime/cgroup/limits.ts): a
 * limit nothing can enforce here is refused with the fix; a running sandbox without a
 * cgroup of its own cannot take one on the fly (its processes cannot be moved into one
 * by an unprivileged user), so it says how: stop, update, start. A --pids-limit held by
 * RLIMIT_NPROC (no pids cgroup) is set on the sandbox's processes (runtime/nproc-update.ts)
 * and kept among its --ulimit words, which later execs and starts get.
 */
import { SandboxError } from '../errors.js';
import type { ResourceLimits } from '../types.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, readRecord, writeRecord, type SandboxRecord } from '../state/sandboxes.js';
import { withSandboxLock } from '../state/sandbox-dir.js';
import { currentState } from '../state/status.js';
import { appendEvent } from '../state/events.js';
import { detectCgroupHost } from '../runtime/cgroup/detect.js';
import { activeLimits, LIMIT_OPTION, limitMechanisms, refusal, unenforcedLimits, type LimitName } from '../runtime/cgroup/limits.js';
import { checkLimits, withNproc } from '../runtime/cgroup/sandbox.js';
import { setSandboxNproc } from '../runtime/nproc-update.js';
import { commandPid } from '../state/sandbox-dir.js';
import { applyLimits } from '../runtime/cgroup/update.js';

/** The limits that `update` changes (given), for the messages. */
function changed(before: ResourceLimits | undefined, after: ResourceLimits): LimitName[] {
  return (Object.keys(after) as LimitName[]).filter((k) => after[k] !== before?.[k]);
}

/**
 * Gives sandbox `ref` the limits `merge` makes of its current ones (the CLI's
 * mergeLimitOptions: run's parser and checks). Returns the record as updated.
 */
export async function updateSandboxLimits(
  paths: StorePaths, ref: string, merge: (current: ResourceLimits | undefined) => ResourceLimits, hooks: { warn?: (m: string) => void } = {},
): Promise<SandboxRecord> {
  const { id } = findSandbox(paths, ref);
  return withSandboxLock(paths, id, () => {
    const record = readRecord(paths, id);
    if (!record) throw new SandboxError(`no such sandbox: ${ref} (it was removed)`, { hint: 'list them with `sandbox ps -a`' });
    const before = record.request.limits;
    const limits = merge(before);
    const touched = changed(before, limits);
    const state = currentState(paths, record);
    if (state.status !== 'running') {
      // Recorded only: the next start makes its cgroups with these limits (startCgroup).
      const decision = checkLimits({ ...record.request, limits, unenforcedLimits: false }, record.id);
      record.request = { ...record.request, limits };
      // RLIMIT_NPROC: the new value among its --ulimit words (none any more when a pids cgroup holds it now).
      const nproc = decision?.limitMechanisms.pidsLimit === 'rlimit';
      if (touched.includes('pidsLimit') && (nproc || record.limitMechanisms?.pidsLimit === 'rlimit')) {
        record.request = withNproc(record.request, nproc ? limits.pidsLimit : undefined);
      }
      if (decision) {
        record.limitMechanisms = decision.limitMechanisms;
        if (decision.cgroup) record.cgroup = decision.cgroup;
      }
    } else {
      const cg = record.cgroup;
      const host = detectCgroupHost();
      // A limit held by RLIMIT_NPROC keeps it (the sandbox's processes have it), whatever this host offers now.
      const mechanisms = { ...limitMechanisms(limits, host, true), ...(record.limitMechanisms?.pidsLimit === 'rlimit' ? { pidsLimit: 'rlimit' as const } : {}) };
      const none = unenforcedLimits(mechanisms).filter((n) => touched.includes(n));
      if (none.length) throw refusal(none, host);
      const want = cg?.version === 2 ? 'cgroup-v2' : 'cgroup-v1';
      for (const n of activeLimits(limits).filter((k) => touched.includes(k))) {
        if (mechanisms[n] === 'ignored') continue; // a v1-only knob on v2: nothing to write (run warned of it)
        if (mechanisms[n] === 'rlimit') continue;
        if (!cg) {
          throw new SandboxError(`sandbox ${record.name} runs without a cgroup of its own: its limits cannot change while it runs`, {
            hint: `stop it, update it and start it again (sandbox stop ${record.name}; sandbox update ... ${record.name}; sandbox start ${record.name}): it then starts in a cgroup with them`,
          });
        }
        if (mechanisms[n] !== want) {
          throw new SandboxError(`${LIMIT_OPTION[n]} of sandbox ${record.name} cannot change while it runs: it runs in cgroup v${cg.version}, the limit would need ${mechanisms[n]}`, {
            hint: `stop it, update it and start it again`,
          });
        }
      }
      const viaRlimit = mechanisms.pidsLimit === 'rlimit' && touched.includes('pidsLimit');
      if (cg) applyLimits(cg, viaRlimit ? { ...limits, pidsLimit: undefined } : limits);
      record.request = { ...record.request, limits };
      if (viaRlimit) {
        const n = limits.pidsLimit !== undefined && limits.pidsLimit > 0 ? limits.pidsLimit : -1;
        const command = commandPid(paths, { id: record.id, state });
        const { kept } = command ? setSandboxNproc(command, n) : { kept: [] };
        record.request = withNproc(record.request, limits.pidsLimit);
        if (kept.length) {
          const was = [...new Set(kept.map((k) => (k.hard < 0 ? 'unlimited' : String(k.hard))))].join(', ');
          hooks.warn?.(`--pids-limit ${n < 0 ? 'unlimited' : n} of sandbox ${record.name} holds for commands exec'd from now on and at its next start; ` +
            `${kept.length} running process${kept.length > 1 ? 'es keep their' : ' keeps its'} RLIMIT_NPROC ${was} (only root on the host may raise a hard limit)`);
        }
      }
      record.limitMechanisms = { ...record.limitMechanisms, ...mechanisms };
    }
    writeRecord(paths, record);
    appendEvent(paths, { type: 'container', action: 'update', id: record.id, name: record.name });
    return record;
  });
}
