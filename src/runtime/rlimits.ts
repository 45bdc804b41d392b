/**
 * `--ulimit NAME=SOFT[:HARD]`: the resource limits (setrlimit) of the sandbox's command
 * and of every command `exec` starts in it. Podman's names and syntax; the values go to
 * the helper as `--rlimit NAME SOFT HARD` (helpers/launch/command.c applies them before
 * the exec). -1 is "as high as allowed": the caller's own hard limit, resolved by the
 * helper when it applies them (an unprivileged user can lower a hard limit, never raise
 * it, not even as root of a user namespace: that takes CAP_SYS_RESOURCE on the host).
 * Pure but for `callerHardLimits`, which reads /proc/self/limits.
 */
import { readFileSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import { Flag } from './protocol.js';

/** One `--ulimit`, as the record keeps it (RunRequest.ulimits). -1: unlimited, as far as the caller may go. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** Podman's (go-units') names, with the row of /proc/PID/limits each is shown on. */
export const ULIMIT_NAMES: Readonly<Record<string, string>> = {
  core: 'Max core file size',
  cpu: 'Max cpu time',
  data: 'Max data size',
  fsize: 'Max file size',
  locks: 'Max file locks',
  memlock: 'Max locked memory',
  msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority',
  nofile: 'Max open files',
  nproc: 'Max processes',
  rss: 'Max resident set',
  rtprio: 'Max realtime priority',
  rttime: 'Max realtime timeout',
  sigpending: 'Max pending signals',
  stack: 'Max stack size',
};

const HINT = 'use --ulimit NAME=SOFT[:HARD], e.g. --ulimit nofile=1024:2048 (-1 or unlimited: as high as you may go)';

function parseValue(text: string, spec: string): number {
  if (text === '-1' || text === 'unlimited') return -1;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new SandboxError(`invalid --ulimit ${JSON.stringify(spec)}: ${JSON.stringify(text)} is not a number`, { hint: HINT });
  }
  return Number(text);
}

/** -1 above everything, for comparisons. */
const rank = (v: number) => (v === -1 ? Infinity : v);

/** `NAME=SOFT[:HARD]` (HARD defaults to SOFT, as Podman). */
export function parseUlimit(spec: string): Ulimit {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new SandboxError(`invalid --ulimit ${JSON.stringify(spec)}: no "="`, { hint: HINT });
  const name = spec.slice(0, eq);
  if (!Object.hasOwn(ULIMIT_NAMES, name)) {
    throw new SandboxError(`invalid --ulimit ${JSON.stringify(spec)}: unknown limit "${name}"`, { hint: `the names are ${Object.keys(ULIMIT_NAMES).join(', ')}` });
  }
  const parts = spec.slice(eq + 1).split(':');
  if (parts.length > 2 || parts[0] === '') throw new SandboxError(`invalid --ulimit ${JSON.stringify(spec)}`, { hint: HINT });
  const soft = parseValue(parts[0]!, spec);
  const hard = parts.length === 2 ? parseValue(parts[1]!, spec) : soft;
  if (rank(soft) > rank(hard)) {
    throw new SandboxError(`invalid --ulimit ${JSON.stringify(spec)}: the soft limit ${soft === -1 ? 'unlimited' : soft} is above the hard limit ${hard}`, { hint: 'the soft limit must be at most the hard one: NAME=SOFT:HARD' });
  }
  return { name, soft, hard };
}

/** Every `--ulimit` (repeatable; a later one for the same name wins, as Podman). `host` alone: the caller's own limits, which a sandbox has anyway. */
export function parseUlimits(specs: readonly string[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const spec of specs) {
    if (spec === 'host') continue;
    const u = parseUlimit(spec);
    byName.set(u.name, u);
  }
  return [...byName.values()];
}

/** The hard limits of /proc/PID/limits' text, by Podman's names (-1: unlimited). */
export function parseHardLimits(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, row] of Object.entries(ULIMIT_NAMES)) {
    const line = text.split('\n').find((l) => l.startsWith(`${row} `));
    const fields = line?.slice(row.length).trim().split(/\s+/);
    const hard = fields?.[1];
    if (hard !== undefined) out.set(name, hard === 'unlimited' ? -1 : Number(hard));
  }
  return out;
}

/** The caller's own hard limits (what the helper, our child, inherits). */
export function callerHardLimits(): Map<string, number> {
  return parseHardLimits(readFileSync('/proc/self/limits', 'utf8'));
}

/** A limit above the caller's own hard limit cannot be set by an unprivileged user: one line, now, rather than the helper's EPERM later. */
export function checkUlimitsAllowed(ulimits: readonly Ulimit[], hardLimits: ReadonlyMap<string, number>): void {
  for (const u of ulimits) {
    const mine = hardLimits.get(u.name);
    if (mine === undefined || mine === -1) continue;
    const value = Math.max(u.soft, u.hard); // -1 is the caller's own hard limit: never above it
    if (value > mine) {
      throw new SandboxError(`--ulimit ${u.name}=${u.soft}:${u.hard}: ${value} is above your own hard limit for ${u.name} (${mine}), which an unprivileged user cannot raise`, {
        hint: `give at most ${mine} (or -1: your hard limit); an administrator raises it in /etc/security/limits.conf`,
      });
    }
  }
}

/** The helper's words: `--rlimit NAME SOFT HARD` per limit. */
export function rlimitArgs(ulimits: readonly Ulimit[] | undefined): string[] {
  return (ulimits ?? []).flatMap((u) => [Flag.rlimit, u.name, String(u.soft), String(u.hard)]);
}

/** inspect's HostConfig.Ulimits, as Podman shows them: `{ Name: 'RLIMIT_NOFILE', Soft, Hard }`. */
export function inspectUlimits(ulimits: readonly Ulimit[] | undefined): { Name: string; Soft: number; Hard: number }[] {
  return (ulimits ?? []).map((u) => ({ Name: `RLIMIT_${u.name.toUpperCase()}`, Soft: u.soft, Hard: u.hard }));
}
