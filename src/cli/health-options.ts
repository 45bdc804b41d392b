/**
 * `run` / `create` options of a health check (`--health-cmd`, `--health-interval`,
 * `--health-retries`, `--health-timeout`, `--health-start-period`, `--no-healthcheck`),
 * validated as Podman does into a HealthcheckSpec of what was given; the image's
 * HEALTHCHECK fills the rest when the sandbox is created (state/health.ts resolveHealthcheck).
 * Pure.
 */
import { SandboxError } from '../errors.js';
import { parseDurationNs } from '../state/event-query.js';
import type { HealthcheckSpec } from '../types.js';

export interface HealthArgs {
  healthCmd?: string;
  healthInterval?: string;
  healthRetries?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  noHealthcheck?: boolean;
}

/** `--health-cmd`: `none` disables the image's check; a JSON array is the exec form (CMD); else a shell command (CMD-SHELL). */
export function parseHealthCmd(value: string): string[] {
  const v = value.trim();
  if (v === '') throw new SandboxError('--health-cmd is empty', { hint: "give a command, e.g. --health-cmd 'curl -f http://localhost/ || exit 1', or none" });
  if (v.toLowerCase() === 'none') return ['NONE'];
  if (v.startsWith('[')) {
    let parsed: unknown;
    try { parsed = JSON.parse(v); } catch { parsed = undefined; }
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((x) => typeof x === 'string')) {
      const words = parsed as string[];
      // Docker's own forms written out: ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"].
      if (words[0] === 'NONE') return ['NONE'];
      if (words[0] === 'CMD' && words.length > 1) return words;
      if (words[0] === 'CMD-SHELL' && words.length === 2) return words;
      return ['CMD', ...words];
    }
    throw new SandboxError(`invalid --health-cmd ${JSON.stringify(value)}: not a JSON array of strings`, {
      hint: `write the exec form as '["/bin/check", "arg"]', or give a shell command without brackets`,
    });
  }
  return ['CMD-SHELL', value];
}

/** A Go duration (`30s`, `1m30s`, `500ms`) in milliseconds, for `--health-<what>`. */
export function parseHealthDuration(value: string, what: string): number {
  const ns = parseDurationNs(value.trim());
  if (ns === undefined) {
    throw new SandboxError(`invalid healthcheck-${what}: ${JSON.stringify(value)} is not a duration`, { hint: 'give a duration such as 30s, 1m30s or 500ms' });
  }
  return Number(ns / 1_000_000n);
}

/** The health options given, or undefined when none was. */
export function parseHealthArgs(args: HealthArgs): HealthcheckSpec | undefined {
  const spec: HealthcheckSpec = {};
  if (args.healthCmd !== undefined) spec.test = parseHealthCmd(args.healthCmd);
  if (args.noHealthcheck) {
    if (args.healthCmd !== undefined) {
      throw new SandboxError('cannot specify both --no-healthcheck and --health-cmd', { hint: 'drop one of them' });
    }
    spec.test = ['NONE'];
  }
  if (args.healthInterval !== undefined) {
    spec.intervalMs = args.healthInterval.trim() === 'disable' ? 0 : parseHealthDuration(args.healthInterval, 'interval');
    if (spec.intervalMs < 0) throw new SandboxError('healthcheck-interval must not be negative', { hint: 'give e.g. 30s, or disable (no periodic checks)' });
  }
  if (args.healthTimeout !== undefined) {
    spec.timeoutMs = parseHealthDuration(args.healthTimeout, 'timeout');
    if (spec.timeoutMs <= 0) throw new SandboxError('healthcheck-timeout must be at least 1 second', { hint: 'give e.g. --health-timeout 30s' });
  }
  if (args.healthStartPeriod !== undefined) {
    spec.startPeriodMs = parseHealthDuration(args.healthStartPeriod, 'start-period');
    if (spec.startPeriodMs < 0) throw new SandboxError('healthcheck-start-period must be 0 seconds or greater', { hint: 'give e.g. --health-start-period 30s' });
  }
  if (args.healthRetries !== undefined) {
    const r = args.healthRetries.trim();
    if (!/^[0-9]+$/.test(r) || Number(r) < 1 || Number(r) > 2 ** 31) {
      throw new SandboxError(`healthcheck-retries must be greater than 0 (got ${JSON.stringify(args.healthRetries)})`, { hint: 'give e.g. --health-retries 3' });
    }
    spec.retries = Number(r);
  }
  return Object.keys(spec).length ? spec : undefined;
}
