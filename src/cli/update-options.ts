/**
 * `sandbox update`'s options: the limit options of run (limit-options.ts, the same
 * spellings, units and checks), applied on top of the sandbox's current limits. Pure.
 */
import { SandboxError } from '../errors.js';
import type { ResourceLimits } from '../types.js';
import { LIMIT_OPTIONS, limitAsArgs, parseLimitOptions, type LimitArgs, type LimitHost } from './limit-options.js';

/**
 * The sandbox's limits after `update`: `given` over `current`, checked as a whole as run
 * checks its options (a --memory-swap below the --memory kept, ...). --cpus replaces a
 * --cpu-period/--cpu-quota pair and the other way round.
 */
export function mergeLimitOptions(current: ResourceLimits | undefined, given: LimitArgs, cpusHere: () => number, here?: LimitHost): ResourceLimits {
  const asked = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as LimitArgs;
  if (!Object.keys(asked).length) {
    throw new SandboxError('update needs at least one option to change', { hint: `e.g. sandbox update --memory 256m NAME (${LIMIT_OPTIONS.filter((o) => !o.notOnUpdate).map((o) => `--${o.name}`).join(', ')})` });
  }
  const kept = limitAsArgs(current ?? {});
  if (asked.cpus !== undefined) { delete kept.cpuPeriod; delete kept.cpuQuota; }
  if (asked.cpuPeriod !== undefined || asked.cpuQuota !== undefined) delete kept.cpus;
  return parseLimitOptions({ ...kept, ...asked }, cpusHere, here) ?? {};
}
