/**
 * `exec`: a command in a running sandbox, with the sandbox's root, environment (plus
 * overrides), user, capabilities and no_new_privs, in every one of its namespaces. The
 * helper joins them through the sandbox's command (its init is not dumpable, on purpose),
 * and the exec'd process dies with the sandbox (it is inside its pid namespace).
 * Start-up matters (Makefile lines exec into a dev sandbox): the image's part comes from
 * the record (imageConfig), the liveness check reads one /proc file, and the helper starts
 * with our stdio and its plan in its environment (runPlainHelper), with no monitor process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { containerDir, findContainer, type ContainerRecord } from '../state/containers.js';
import { currentState } from '../state/status.js';
import { appendEvent } from '../state/events.js';
import { buildEnv, type ImageRunConfig } from '../runtime/plan.js';
import { effectiveCapabilities } from '../runtime/capabilities.js';
import { helperPath } from '../runtime/host-tools.js';
import { runPlainHelper, startDetachedHelper } from '../runtime/launch.js';
import { isSameProcess } from '../state/liveness.js';
import { Flag } from '../runtime/protocol.js';

export interface ExecRequest {
  command: string[];
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  /** Set on top of the sandbox's own environment. */
  env: Record<string, string>;
  /** Must exist in the sandbox (no silent fallback). */
  workdir?: string;
  user?: string;
}

/** What exec takes from the sandbox's image. */
export type ExecImageConfig = Pick<ImageRunConfig, 'env' | 'user' | 'workingDir'>;

export interface ExecHooks {
  forwardSignals?: boolean;
  /**
   * The image's part for a sandbox whose record predates `imageConfig` (it reads the image
   * store); without it, exec resolves to undefined for such a sandbox, having done nothing.
   */
  imageOf?: (paths: StorePaths, record: ContainerRecord) => ExecImageConfig;
}

function notRunning(record: ContainerRecord): SandboxError {
  return new SandboxError(`sandbox ${record.name} is not running`, { hint: `start it with \`sandbox start ${record.name}\`` });
}

/** The sandbox's command, by its host pid: the first child of its current init. */
function commandPid(paths: StorePaths, record: ContainerRecord): number {
  let init = record.state.pid;
  try { init = Number(readFileSync(join(containerDir(paths, record.id), 'pid'), 'utf8')) || init; } catch { /* foreground: the record has it */ }
  let children = '';
  try { children = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8'); } catch { /* ended */ }
  const pid = parseInt(children, 10);
  if (!pid) throw notRunning(record);
  return pid;
}

/** The helper's plan for `req` in the sandbox of `record`, whose command is `target`. Pure. */
export function execArgs(record: ContainerRecord, image: ExecImageConfig, req: ExecRequest, target: number): string[] {
  const env = buildEnv(image, { ...record.request, tty: req.tty, env: { ...record.request.env, ...req.env } }, record.hostname);
  const args = [Flag.target, String(target)];
  if (record.request.network === 'host') args.push(Flag.execHostNet);
  if (req.tty) args.push(Flag.tty);
  if (req.tty && req.interactive) args.push(Flag.stdin);
  const workdir = req.workdir ?? record.request.workdir ?? image.workingDir;
  if (workdir) args.push(Flag.chdir, workdir);
  const user = req.user ?? record.request.user ?? image.user;
  if (user) args.push(Flag.user, user);
  for (const e of env) args.push(Flag.env, e);
  args.push(Flag.caps, effectiveCapabilities(record.request.capAdd, record.request.capDrop).join(','));
  if (record.request.noNewPrivileges) args.push(Flag.noNewPrivs);
  args.push('--', ...req.command);
  return args;
}

/**
 * Runs the command in the sandbox; resolves to its exit code (0 at once with `detach`), or
 * to undefined when the record has no imageConfig and there is no `imageOf` (see ExecHooks).
 */
export async function execInSandbox(paths: StorePaths, ref: string, req: ExecRequest, hooks: ExecHooks = {}): Promise<number | undefined> {
  if (req.command.length === 0) throw new SandboxError('exec needs a command', { hint: 'sandbox exec [OPTIONS] NAME COMMAND [ARG...]' });
  const record = findContainer(paths, ref);
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
  const image = record.imageConfig ?? hooks.imageOf?.(paths, record);
  if (!image) return undefined;
  const args = execArgs(record, image, req, commandPid(paths, record));
  const helper = helperPath();
  const event = () => appendEvent(paths, { type: 'container', action: 'exec', id: record.id, name: record.name, attributes: { command: req.command.join(' ') } });
  if (req.detach) {
    event();
    await startDetachedHelper(helper, [Flag.statusFd, '3', ...args]);
    return 0;
  }
  const ended = runPlainHelper(helper, [Flag.dieWithParent, String(process.pid), ...args], {
    stdin: req.interactive ? 'inherit' : 'ignore',
    forwardSignals: !!hooks.forwardSignals,
  });
  // Written while the helper starts (it has started already, or failed to).
  event();
  return ended;
}
