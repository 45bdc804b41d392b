/**
 * `pause` / `unpause`: every process of a running sandbox frozen, and let go again,
 * through the cgroup freezer of the sandbox's own cgroup (runtime/cgroup/freezer.ts).
 * Podman's rules: only a running sandbox pauses, only a paused one unpauses; a paused one
 * shows as `paused` (ps, inspect) and refuses exec, stop and start, while kill and rm -f
 * still end it. Without a freezer (no cgroup of its own) there is no pause: one line,
 * naming the fix.
 */
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, type SandboxRecord } from '../state/sandboxes.js';
import { currentState } from '../state/status.js';
import { appendEvent } from '../state/events.js';
import { freeze, freezerFile, thaw } from '../runtime/cgroup/freezer.js';
import { detectCgroupHost } from '../runtime/cgroup/detect.js';
import { whyUnenforced } from '../runtime/cgroup/limits.js';

/**
 * Why a sandbox cannot be paused, and the fix: it has no freezer. On a delegated cgroup
 * v2, run from inside the user's session, every sandbox has one; on v1 (a migration there
 * costs an RCU grace period at every start) and from outside the session (a systemd scope
 * per start), only a sandbox with a limit gets a cgroup (runtime/cgroup/sandbox.ts).
 */
function noFreezer(record: SandboxRecord): SandboxError {
  const cg = record.cgroup;
  const limit = 'run it with a resource limit (e.g. --pids-limit 1000)';
  let hint: string;
  if (cg?.version === 1) {
    hint = 'the freezer controller is not delegated to you: `sandbox doctor` prints the commands an administrator runs once (freezer among the controllers), then run the sandbox again';
  } else {
    const host = detectCgroupHost();
    if (host.v2?.inside || host.v2?.viaScope) {
      hint = host.v2.inside
        ? `it was created where cgroups were not delegated to it; run it again here (every sandbox gets one), or ${limit}`
        : `outside your systemd user session only a sandbox with a limit gets a cgroup: ${limit}, or run it from inside the session (systemd-run --user --scope sandbox run ...)`;
    } else if (host.v1) {
      hint = `on cgroup v1 a sandbox gets cgroups (and so a freezer) only with a limit: ${limit}; \`sandbox doctor\` says which controllers are delegated to you`;
    } else {
      hint = `${whyUnenforced(host).fix}; then ${limit} (\`sandbox doctor\` says what is delegated to you)`;
    }
  }
  return new SandboxError(`sandbox ${record.name} cannot be paused: it has no cgroup freezer of its own`, { hint });
}

/** `pause`: freezes every process of a running sandbox. */
export async function pauseSandbox(paths: StorePaths, ref: string): Promise<SandboxRecord> {
  const record = findSandbox(paths, ref);
  const state = currentState(paths, record);
  if (state.paused) throw new SandboxError(`sandbox ${record.name} is already paused`, { hint: `sandbox unpause ${record.name} lets it run again` });
  if (state.status !== 'running') throw new SandboxError(`sandbox ${record.name} is not running, can't pause`, { hint: `start it with \`sandbox start ${record.name}\`` });
  if (!freezerFile(record.cgroup)) throw noFreezer(record);
  await freeze(record.cgroup!);
  appendEvent(paths, { type: 'container', action: 'pause', id: record.id, name: record.name });
  return record;
}

/** `unpause`: lets a paused sandbox's processes run again. */
export function unpauseSandbox(paths: StorePaths, ref: string): SandboxRecord {
  const record = findSandbox(paths, ref);
  const state = currentState(paths, record);
  if (!state.paused) throw new SandboxError(`sandbox ${record.name} is not paused, can't unpause`, { hint: 'only a paused sandbox (`sandbox ps` says Paused) can be unpaused' });
  thaw(record.cgroup!);
  appendEvent(paths, { type: 'container', action: 'unpause', id: record.id, name: record.name });
  return record;
}

/** The one line for what a paused sandbox refuses (exec, stop, start, restart), as Podman. */
export function pausedError(record: SandboxRecord, what: string): SandboxError {
  return new SandboxError(`sandbox ${record.name} is paused: cannot ${what} it`, { hint: `unpause it first (sandbox unpause ${record.name}); kill and rm -f end it as it is` });
}
