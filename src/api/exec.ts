/**
 * `exec`: a command in a running sandbox, with the sandbox's root, environment (plus
 * overrides), user, capabilities and no_new_privs, in every one of its namespaces. The
 * helper joins them through the sandbox's command (its init is not dumpable, on purpose),
 * and the exec'd process dies with the sandbox (it is inside its pid namespace).
 * Start-up matters (Makefile lines exec into a dev sandbox): the image's part comes from
 * the record (imageConfig), the liveness check reads one /proc file, and the helper starts
 * with our stdio and its plan in its environment (runPlainHelper), with no monitor process.
 */
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, type SandboxRecord } from '../state/sandboxes.js';
import { commandPid, sandboxDir } from '../state/sandbox-dir.js';
import { currentState } from '../state/status.js';
import { appendEvent } from '../state/events.js';
import { execArgs, type ExecImageConfig, type ExecPlanRequest } from '../runtime/plan.js';
import { helperPath } from '../runtime/host-tools.js';
import { runPlainHelper, spawnPipedHelper, startDetachedHelper } from '../runtime/launch.js';
import type { ChildProcess } from 'node:child_process';
import { isSameProcess } from '../state/liveness.js';
import { Flag } from '../runtime/protocol.js';
import { seccompExecWords } from '../runtime/seccomp/sandbox-filter.js';
import { isFrozen } from '../runtime/cgroup/freezer.js';
import { scopePrefix } from '../runtime/cgroup/scope.js';
import { pausedError } from './pause.js';

export interface ExecRequest extends ExecPlanRequest {
  detach: boolean;
}

export type { ExecImageConfig } from '../runtime/plan.js';

export interface ExecHooks {
  forwardSignals?: boolean;
  /**
   * The image's part for a sandbox whose record predates `imageConfig` (it reads the image
   * store); without it, exec resolves to undefined for such a sandbox, having done nothing.
   */
  imageOf?: (paths: StorePaths, record: SandboxRecord) => ExecImageConfig;
}

function notRunning(record: SandboxRecord): SandboxError {
  return new SandboxError(`sandbox ${record.name} is not running`, { hint: `start it with \`sandbox start ${record.name}\``, code: 'not-running' });
}

/** What both ways of exec'ing need: the record, the helper and its plan, and the event to append. */
interface PreparedExec {
  record: SandboxRecord;
  helper: string;
  args: string[];
  prefix: string[] | undefined;
  event: () => void;
}

/**
 * The checks and the plan of an exec, shared by the CLI's exec (execInSandbox) and the
 * library's (spawnInSandbox); undefined when the record has no imageConfig and there is no `imageOf`.
 */
function prepareExec(paths: StorePaths, ref: string, req: ExecPlanRequest, hooks: ExecHooks): PreparedExec | undefined {
  if (req.command.length === 0) throw new SandboxError('exec needs a command', { hint: 'sandbox exec [OPTIONS] NAME COMMAND [ARG...]', code: 'invalid-option' });
  const record = findSandbox(paths, ref);
  // Cheaper than currentState (no exit file): a sandbox that has ended has no command left
  // for commandPid to find; the monitor's start time guards against a reused init pid.
  // Only when the record does not say it runs (its start was killed before recording
  // it) does its monitor file tell.
  const { status, monitorPid, monitorStartTime } = record.state;
  if (status !== 'running' || (monitorPid !== undefined && !isSameProcess(monitorPid, monitorStartTime))) {
    const state = currentState(paths, record);
    if (state.status !== 'running') throw notRunning(record);
    record.state = state;
  }
  if (isFrozen(record.cgroup)) throw pausedError(record, 'exec in'); // as Podman: exec needs it running
  const image = record.imageConfig ?? hooks.imageOf?.(paths, record);
  if (!image) return undefined;
  const target = commandPid(paths, record);
  if (!target) throw notRunning(record);
  const args = execArgs(record, image, req, target, seccompExecWords(sandboxDir(paths, record.id), record.request));
  const event = () => appendEvent(paths, { type: 'container', action: 'exec', id: record.id, name: record.name, attributes: { command: req.command.join(' ') } });
  // cgroup v2 from outside user@UID.service: the exec'd command starts in a scope of the user's manager.
  return { record, helper: helperPath(), args, prefix: scopePrefix(record.cgroup, record.id, 'exec'), event };
}

/**
 * Runs the command in the sandbox; resolves to its exit code (0 at once with `detach`), or
 * to undefined when the record has no imageConfig and there is no `imageOf` (see ExecHooks).
 */
export async function execInSandbox(paths: StorePaths, ref: string, req: ExecRequest, hooks: ExecHooks = {}): Promise<number | undefined> {
  const prepared = prepareExec(paths, ref, req, hooks);
  if (!prepared) return undefined;
  const { helper, args, prefix, event } = prepared;
  if (req.detach) {
    event();
    await startDetachedHelper(helper, [Flag.statusFd, '3', ...args], prefix);
    return 0;
  }
  const ended = runPlainHelper(helper, [Flag.dieWithParent, String(process.pid), ...args], {
    stdin: req.interactive ? 'inherit' : 'ignore',
    forwardSignals: !!hooks.forwardSignals,
    ...(prefix ? { prefix } : {}),
  });
  // Written while the helper starts (it has started already, or failed to).
  event();
  return ended;
}

/**
 * The library's exec (Sandbox.exec, Sandbox.spawn): the same checks and plan as the CLI's,
 * the command's stdin, stdout and stderr as pipes of the child returned, which ends
 * with this process. Its exit status is the command's (126/127 when it cannot run,
 * 125 with a `sandbox: ...` line on stderr when the helper could not enter the sandbox).
 */
export function spawnInSandbox(paths: StorePaths, ref: string, req: ExecPlanRequest, hooks: ExecHooks = {}): ChildProcess {
  const prepared = prepareExec(paths, ref, { ...req, interactive: false, tty: false }, hooks);
  if (!prepared) throw new SandboxError(`sandbox ${ref} was made by an older version and has no image configuration recorded`, { hint: 'exec into it with the CLI: sandbox exec' });
  const { helper, args, prefix, event } = prepared;
  const child = spawnPipedHelper(helper, [Flag.dieWithParent, String(process.pid), ...args], prefix);
  event();
  return child;
}
