/**
 * `update`: new resource limits for a sandbox, kept in its record (so every later start
 * has them) and, when it runs, written into the cgroups it runs in at once
 * (runtime/cgroup/update.ts). The same mechanisms as run (runtime/cgroup/limits.ts): a
 * limit nothing can enforce here is refused with the fix; a running sandbox without a
 * cgroup of its own cannot take one on the fly (its processes cannot be moved into one
 * by an unprivileged user), so it says how: stop, update, start.
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
import { checkLimits } from '../runtime/cgroup/sandbox.js';
import { applyLimits } from '../runtime/cgroup/update.js';

/** The limits that `update` changes (given), for the messages. */
function changed(before: ResourceLimits | undefined, after: ResourceLimits): LimitName[] {
  return (Object.keys(after) as LimitName[]).filter((k) => after[k] !== before?.[k]);
}

function rlimitBound(record: SandboxRecord): SandboxError {
  return new SandboxError(`--pids-limit of sandbox ${record.name} is held by RLIMIT_NPROC (no pids cgroup here), which update cannot change`, {
    hint: `remove it and run it again with the new --pids-limit; where cgroups are delegated to you (sandbox doctor) update changes it`,
  });
}

/**
 * Gives sandbox `ref` the limits `merge` makes of its current ones (the CLI's
 * mergeLimitOptions: run's parser and checks). Returns the record as updated.
 */
export async function updateSandboxLimits(paths: StorePaths, ref: string, merge: (current: ResourceLimits | undefined) => ResourceLimits): Promise<SandboxRecord> {
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
      if (touched.includes('pidsLimit') && decision?.limitMechanisms.pidsLimit === 'rlimit') throw rlimitBound(record);
      record.request = { ...record.request, limits };
      if (decision) {
        record.limitMechanisms = decision.limitMechanisms;
        if (decision.cgroup) record.cgroup = decision.cgroup;
      }
    } else {
      const cg = record.cgroup;
      if (!cg) {
        throw new SandboxError(`sandbox ${record.name} runs without a cgroup of its own: its limits cannot change while it runs`, {
          hint: `stop it, update it and start it again (sandbox stop ${record.name}; sandbox update ... ${record.name}; sandbox start ${record.name}): it then starts in a cgroup with them`,
        });
      }
      const host = detectCgroupHost();
      const mechanisms = limitMechanisms(limits, host, true);
      const none = unenforcedLimits(mechanisms).filter((n) => touched.includes(n));
      if (none.length) throw refusal(none, host);
      const want = cg.version === 2 ? 'cgroup-v2' : 'cgroup-v1';
      for (const n of activeLimits(limits).filter((k) => touched.includes(k))) {
        if (mechanisms[n] === 'ignored') continue; // a v1-only knob on v2: nothing to write (run warned of it)
        if (mechanisms[n] === 'rlimit') throw rlimitBound(record);
        if (mechanisms[n] !== want) {
          throw new SandboxError(`${LIMIT_OPTION[n]} of sandbox ${record.name} cannot change while it runs: it runs in cgroup v${cg.version}, the limit would need ${mechanisms[n]}`, {
            hint: `stop it, update it and start it again`,
          });
        }
      }
      applyLimits(cg, limits);
      record.request = { ...record.request, limits };
      record.limitMechanisms = { ...record.limitMechanisms, ...mechanisms };
    }
    writeRecord(paths, record);
    appendEvent(paths, { type: 'container', action: 'update', id: record.id, name: record.name });
    return record;
  });
}
