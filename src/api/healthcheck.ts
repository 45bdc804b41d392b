/**
 * Health checks: `healthcheck run` runs a sandbox's check once, through the exec path
 * (the helper joins the sandbox as `exec` does, with the sandbox's user, environment and
 * capabilities), and records the result (state/health.ts). The periodic checks are the
 * same command, started by the sandbox's monitor every interval (helpers/launch/health.c;
 * `healthRunner` is the command line it is given), where Podman has systemd timers.
 */
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, type SandboxRecord } from '../state/sandboxes.js';
import { commandPid, withSandboxLock } from '../state/sandbox-dir.js';
import { currentState } from '../state/status.js';
import { appendEvent } from '../state/events.js';
import {
  applyHealthResult, healthCommand, resolveHealthcheck, healthOutput, readHealth, startingHealth, writeHealth, HEALTH_OUTPUT_MAX,
  type HealthLogEntry, type HealthState,
} from '../state/health.js';
import { execArgs } from '../runtime/plan.js';
import { helperPath, packageRoot } from '../runtime/host-tools.js';
import { runCapturedHelper } from '../runtime/launch.js';
import { Flag, SIG_END_EXEC } from '../runtime/protocol.js';
import { pausedError } from './pause.js';

export interface HealthcheckOutcome {
  /** The check passed (exit status 0 within the timeout). */
  passed: boolean;
  /** The sandbox's health after it. */
  health: HealthState;
}

function notRunning(record: SandboxRecord): SandboxError {
  return new SandboxError(`sandbox ${record.name} is not running`, { hint: `start it with \`sandbox start ${record.name}\`` });
}

/** Runs the sandbox's health check once and records the result. */
export async function runHealthcheck(paths: StorePaths, ref: string): Promise<HealthcheckOutcome> {
  const record = findSandbox(paths, ref);
  // Resolved when it was created (run.ts); resolving again only fills what a hand-edited record lacks.
  const check = resolveHealthcheck(record.request.healthcheck, undefined);
  if (!check) {
    throw new SandboxError(`sandbox ${record.name} has no defined healthcheck`, { hint: 'give it one at run or create: --health-cmd CMD' });
  }
  const state = currentState(paths, record);
  if (state.paused) throw pausedError(record, 'check the health of'); // nothing recorded: its health stays as it was, as Podman's stopped timer
  const target = state.status === 'running' ? commandPid(paths, { id: record.id, state }) : undefined;
  if (!target) throw notRunning(record);
  const args = execArgs(record, record.imageConfig ?? { env: [] }, { command: healthCommand(check), interactive: false, tty: false, env: {} }, target);
  const start = new Date();
  const run = await runCapturedHelper(helperPath(), [Flag.dieWithParent, String(process.pid), ...args], {
    timeoutMs: check.timeoutMs, endSignal: SIG_END_EXEC, maxOutput: HEALTH_OUTPUT_MAX * 4 + 1,
  });
  const end = new Date();
  // 125 from the helper without a check having run: the sandbox ended meanwhile.
  const after = currentState(paths, record);
  if (run.code === 125 && after.status !== 'running') throw notRunning(record);
  // Paused while it ran (its command froze, maybe past its timeout): not a result.
  if (after.paused) throw pausedError(record, 'check the health of');
  const entry: HealthLogEntry = {
    Start: start.toISOString(), End: end.toISOString(),
    ExitCode: run.timedOut ? -1 : run.code === 0 ? 0 : 1,
    Output: healthOutput(run.output),
  };
  const startedAt = Date.parse(state.startedAt ?? '');
  const inStartPeriod = check.startPeriodMs > 0 && Number.isFinite(startedAt) && start.getTime() < startedAt + check.startPeriodMs;
  const health = await withSandboxLock(paths, record.id, () => {
    const next = applyHealthResult(readHealth(paths, record.id), entry, check.retries, inStartPeriod);
    writeHealth(paths, record.id, next);
    return next;
  });
  appendEvent(paths, { type: 'container', action: 'health_status', id: record.id, name: record.name, attributes: { health_status: health.Status } });
  return { passed: entry.ExitCode === 0, health };
}

/** At every start of a sandbox that has a check: its health is `starting` again (the log stays). */
export function resetHealth(paths: StorePaths, record: SandboxRecord): void {
  if (record.request.healthcheck) writeHealth(paths, record.id, startingHealth(readHealth(paths, record.id)));
}

/**
 * The root a store was made from with `--root` (or SANDBOX_ROOT): its directories are
 * ROOT/data and ROOT/run (state/paths.ts); undefined for an XDG store, which the
 * runner finds again from the environment it inherits.
 */
export function storeRootOf(paths: StorePaths): string | undefined {
  const root = join(paths.data, '..');
  return paths.data === join(root, 'data') && paths.config === join(root, 'config') ? root : undefined;
}

/**
 * What the monitor starts at every interval (`--health-check`): this installation's
 * `sandbox [--root R [--runroot D]] healthcheck run ID`, by this Node (--runroot when the
 * sandbox was started with one elsewhere than R/run).
 */
export function healthRunner(paths: StorePaths, id: string): string[] {
  const root = storeRootOf(paths);
  const globals = root ? ['--root', root, ...(paths.runtime !== join(root, 'run') ? ['--runroot', paths.runtime] : [])] : [];
  return [process.execPath, join(packageRoot(), 'bin', 'sandbox'), ...globals, 'healthcheck', 'run', id];
}
