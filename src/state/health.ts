/**
 * A sandbox's health: its check (resolved once, at creation, from the flags over the
 * image's HEALTHCHECK), and the results, `<dir>/health.json` (sandbox-dir.ts), in
 * Podman's shape: `{ Status: starting|healthy|unhealthy, FailingStreak, Log: [{ Start,
 * End, ExitCode, Output }] }`, the last five checks. Written atomically by whoever ran
 * a check (api/healthcheck.ts, under the sandbox's lock), reset to `starting` at every
 * start. The rules of a result are Podman's (libpod/healthcheck.go): a success is
 * healthy and ends the streak; a failure outside the start period adds to the streak,
 * and `retries` of them in a row make it unhealthy.
 */
import { readFileSync } from 'node:fs';
import type { HealthcheckSpec } from '../types.js';
import { writeJsonAtomic } from './atomic.js';
import { healthFilePath } from './sandbox-dir.js';
import type { StorePaths } from './paths.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  /** 0 passed, 1 failed, -1 timed out (Podman's values, not the command's own status). */
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

/** A complete check, as the record keeps it. */
export type Healthcheck = Required<HealthcheckSpec>;

export const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 } as const;
/** Podman keeps this many results, and this much of each one's output. */
export const HEALTH_LOG_ENTRIES = 5;
export const HEALTH_OUTPUT_MAX = 500;

/**
 * The check a sandbox gets: the flags' over the image's, Podman's defaults for the rest;
 * undefined when there is no command, or it is `NONE` (`--no-healthcheck`, `--health-cmd none`).
 */
export function resolveHealthcheck(flags: HealthcheckSpec | undefined, image: HealthcheckSpec | undefined): Healthcheck | undefined {
  const test = flags?.test ?? image?.test;
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  if (test[0] !== 'CMD' && test[0] !== 'CMD-SHELL') return undefined; // not a form we know: as no check
  const pick = <K extends keyof typeof HEALTH_DEFAULTS>(k: K): number => flags?.[k] ?? image?.[k] ?? HEALTH_DEFAULTS[k];
  return { test, intervalMs: pick('intervalMs'), timeoutMs: pick('timeoutMs'), startPeriodMs: pick('startPeriodMs'), retries: pick('retries') };
}

/** The check's command inside the sandbox: CMD-SHELL runs through /bin/sh -c. */
export function healthCommand(check: Healthcheck): string[] {
  return check.test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', check.test.slice(1).join(' ')] : check.test.slice(1);
}

/** What a sandbox's health is before any check of this start has run. */
export function startingHealth(previous?: HealthState): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: previous?.Log ?? [] };
}

/** Applies one result (Podman's rules, see the top). Pure. */
export function applyHealthResult(previous: HealthState | undefined, entry: HealthLogEntry, retries: number, inStartPeriod: boolean): HealthState {
  const prev = previous ?? startingHealth();
  const Log = [...prev.Log, entry].slice(-HEALTH_LOG_ENTRIES);
  if (entry.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  if (inStartPeriod) return { Status: prev.Status, FailingStreak: prev.FailingStreak, Log };
  const FailingStreak = prev.FailingStreak + 1;
  return { Status: FailingStreak >= retries ? 'unhealthy' : prev.Status, FailingStreak, Log };
}

/** A check's output as Podman keeps it: one final newline dropped, at most HEALTH_OUTPUT_MAX characters. */
export function healthOutput(raw: string): string {
  const text = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
  return text.length > HEALTH_OUTPUT_MAX ? text.slice(0, HEALTH_OUTPUT_MAX) : text;
}

function isHealthState(v: unknown): v is HealthState {
  const h = v as HealthState;
  return !!h && typeof h === 'object' && typeof h.Status === 'string' && typeof h.FailingStreak === 'number' && Array.isArray(h.Log);
}

/** The sandbox's health file, or undefined (none yet, or unreadable: then nothing is known). */
export function readHealth(paths: StorePaths, id: string): HealthState | undefined {
  let text: string;
  try { text = readFileSync(healthFilePath(paths, id), 'utf8'); } catch { return undefined; }
  try {
    const v: unknown = JSON.parse(text);
    return isHealthState(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function writeHealth(paths: StorePaths, id: string, health: HealthState): void {
  writeJsonAtomic(healthFilePath(paths, id), health);
}

/** The health a running sandbox shows (`ps`, inspect): its file's status, `starting` before the first result. */
export function currentHealth(paths: StorePaths, record: { id: string; request: { healthcheck?: HealthcheckSpec } }): HealthState | undefined {
  if (!record.request.healthcheck) return undefined;
  return readHealth(paths, record.id) ?? startingHealth();
}

/** inspect's State.Health, as Podman 4 shows it (empty without a check). */
export function inspectHealth(health: HealthState | undefined): { Status: string; FailingStreak: number; Log: HealthLogEntry[] | null } {
  if (!health) return { Status: '', FailingStreak: 0, Log: null };
  return { Status: health.Status, FailingStreak: health.FailingStreak, Log: health.Log.length ? health.Log : null };
}

/** inspect's Config.Healthcheck, Docker's shape: durations in nanoseconds, StartPeriod only when set. */
export function inspectHealthcheck(check: HealthcheckSpec | undefined): Record<string, unknown> | undefined {
  const c = resolveHealthcheck(check, undefined);
  if (!c) return undefined;
  const ns = (ms: number) => ms * 1_000_000;
  return { Test: c.test, ...(c.startPeriodMs ? { StartPeriod: ns(c.startPeriodMs) } : {}), Interval: ns(c.intervalMs), Timeout: ns(c.timeoutMs), Retries: c.retries };
}
