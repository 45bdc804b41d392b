/**
 * `exec`: a command in a running sandbox, with the sandbox's root, environment (plus
 * overrides), user, capabilities and no_new_privs, in every one of its namespaces. The
 * helper joins them through the sandbox's command (its init is not dumpable, on purpose),
 * and the exec'd process dies with the sandbox (it is inside its pid namespace).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { containerDir, findContainer, type ContainerRecord } from '../state/containers.js';
import { appendEvent } from '../state/events.js';
import { buildEnv } from '../runtime/plan.js';
import { effectiveCapabilities } from '../runtime/capabilities.js';
import { helperPath } from '../runtime/host-tools.js';
import { runHelper, startDetachedHelper } from '../runtime/launch.js';
import { currentState } from './lifecycle.js';
import { resolveRoot } from './run.js';

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

export interface ExecHooks {
  forwardSignals?: boolean;
}

/** The sandbox's command, by its host pid: the first child of its current init. */
function commandPid(paths: StorePaths, record: ContainerRecord): number {
  let init = record.state.pid;
  try { init = Number(readFileSync(join(containerDir(paths, record.id), 'pid'), 'utf8').trim()) || init; } catch { /* foreground: the record has it */ }
  let children = '';
  try { children = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8'); } catch { /* ended */ }
  const pid = Number(children.trim().split(/\s+/)[0]);
  if (!pid) throw new SandboxError(`sandbox ${record.name} is not running`, { hint: `start it with \`sandbox start ${record.name}\`` });
  return pid;
}

export function execArgs(paths: StorePaths, record: ContainerRecord, req: ExecRequest, target: number): string[] {
  const { image } = resolveRoot(paths, record.imageId ? { ...record.request, image: record.imageId } : record.request);
  const env = buildEnv(image, { ...record.request, tty: req.tty, env: { ...record.request.env, ...req.env } }, record.hostname);
  const args = ['--exec-target', String(target)];
  if (req.tty) args.push('--tty');
  if (req.tty && req.interactive) args.push('--stdin');
  const workdir = req.workdir ?? record.request.workdir ?? image.workingDir;
  if (workdir) args.push('--chdir', workdir);
  const user = req.user ?? record.request.user ?? image.user;
  if (user) args.push('--user', user);
  for (const e of env) args.push('--env', e);
  args.push('--caps', effectiveCapabilities(record.request.capAdd, record.request.capDrop).join(','));
  if (record.request.noNewPrivileges) args.push('--no-new-privs');
  args.push('--', ...req.command);
  return args;
}

/** Runs the command in the sandbox; resolves to its exit code (0 at once with `detach`). */
export async function execInSandbox(paths: StorePaths, ref: string, req: ExecRequest, hooks: ExecHooks = {}): Promise<number> {
  if (req.command.length === 0) throw new SandboxError('exec needs a command', { hint: 'sandbox exec [OPTIONS] NAME COMMAND [ARG...]' });
  const record = findContainer(paths, ref);
  if (currentState(paths, record).status !== 'running') {
    throw new SandboxError(`sandbox ${record.name} is not running`, { hint: `start it with \`sandbox start ${record.name}\`` });
  }
  const args = execArgs(paths, record, req, commandPid(paths, record));
  appendEvent(paths, { type: 'container', action: 'exec', id: record.id, name: record.name, attributes: { command: req.command.join(' ') } });
  const helper = helperPath();
  if (req.detach) {
    await startDetachedHelper(helper, ['--status-fd', '3', ...args]);
    return 0;
  }
  return runHelper(helper, ['--die-with-parent', String(process.pid), ...args], {
    stdin: req.interactive ? 'inherit' : 'ignore',
    forwardSignals: !!hooks.forwardSignals,
  });
}
