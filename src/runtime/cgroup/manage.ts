/**
 * A sandbox's cgroups on the host: where they go (`planCgroup`, at create), making them
 * with their limits written (`createCgroup`, before each start; the monitor moves the
 * init in before the command runs: helpers/launch/cgroup.c), removing them
 * (`removeCgroup`: rm, and the monitor at the end), and the strays a crash left
 * (`removeStrayCgroups`). Every sandbox on a delegated cgroup v2 gets here, others only
 * with a limit (./sandbox.ts ownCgroup).
 */
import { mkdirSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ResourceLimits } from '../../types.js';
import type { SandboxCgroup } from '../../state/sandboxes.js';
import { SandboxError } from '../../errors.js';
import { limitWrites, type CgroupHost } from './limits.js';
import { weightFile } from './detect.js';

/** The v2 parent of every sandbox's cgroup, in the user's delegated subtree. */
export const V2_SLICE = 'sandbox.slice';

/**
 * Where the sandbox `id`'s cgroups go on this host (version: what its limits' mechanisms
 * say): under `parent` (--cgroup-parent, relative to the delegated subtree: ./parent.ts)
 * when given, else v2's sandbox.slice or v1's `sandbox/<uid>` itself.
 */
export function planCgroup(host: CgroupHost, version: 1 | 2, id: string, parent?: string): SandboxCgroup {
  if (version === 2) return { version, paths: { unified: join(host.v2!.dir, parent ?? V2_SLICE, id) } };
  const paths: SandboxCgroup['paths'] = {};
  for (const [c, dir] of Object.entries(host.v1?.dirs ?? {})) paths[c as keyof SandboxCgroup['paths']] = join(dir, parent ?? '', id);
  return { version, paths };
}

function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

function failure(what: string, err: unknown): SandboxError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new SandboxError(`cannot set up the sandbox's cgroup: ${what} (${code})`, {
    hint: 'see `sandbox doctor` (cgroups); --unenforced-limits runs without the limits',
    cause: err,
  });
}

function write(path: string, value: string): void {
  try { writeFileSync(path, value); } catch (err) { throw failure(`writing ${value} to ${path}`, err); }
}

function mkdirFresh(dir: string): void {
  try { mkdirSync(dir); } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw failure(`mkdir ${dir}`, err);
  }
}

/** v2: controllers enabled for the children of `dir` (written only when missing: systemd's own cgroups keep theirs). */
function enableControllers(dir: string, wanted: string[]): void {
  const on = (readText(join(dir, 'cgroup.subtree_control')) ?? '').trim().split(/\s+/);
  const missing = wanted.filter((c) => !on.includes(c));
  if (missing.length) write(join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
}

/** The v2 controllers a sandbox's cgroup gets, of those its delegated parent has. */
const V2_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuset', 'io'];

/** The directories from the delegated one down to `dir` (v2: the first `user@UID.service` above it), top first. */
function delegatedChain(dir: string): string[] {
  const chain: string[] = [];
  for (let d = dir; d !== '/' && d !== '.'; d = join(d, '..')) {
    chain.unshift(d);
    if (/^user@\d+\.service$/.test(d.split('/').pop() ?? '')) return chain;
  }
  // Not under a user@UID.service (a test's cgroup root): the sandbox's parent's parent is the delegated one, as before.
  return chain.slice(-3);
}

/**
 * Makes the sandbox's cgroups (a previous run's are reused, their limits written
 * again) and writes the limits into them. Throws one line naming the file on failure.
 * No detection here: where they go was decided at create (planCgroup).
 */
export function createCgroup(cg: SandboxCgroup, limits: ResourceLimits): void {
  if (cg.version === 2) {
    const dir = cg.paths.unified!;
    // The delegated cgroup, the slices below it (sandbox.slice, or --cgroup-parent's), the sandbox's: each parent hands its controllers on.
    const [delegated, ...below] = delegatedChain(dir);
    const available = (readText(join(delegated!, 'cgroup.controllers')) ?? '').trim().split(/\s+/);
    const wanted = V2_CONTROLLERS.filter((c) => available.includes(c));
    enableControllers(delegated!, wanted);
    for (const slice of below.slice(0, -1)) { mkdirFresh(slice); enableControllers(slice, wanted); }
    mkdirFresh(dir);
    const has = { swap: existsSync(join(dir, 'memory.swap.max')), ...optional(weightFile(dir, 'io')) };
    for (const w of limitWrites(limits, 2, has)) write(join(dir, w.file), w.value);
    return;
  }
  for (const [c, dir] of Object.entries(cg.paths)) {
    if (c === 'cpuset') mkdirCpuset(dir!);
    else { try { mkdirSync(dir!, { recursive: true }); } catch (err) { throw failure(`mkdir ${dir}`, err); } }
  }
  const memsw = !!cg.paths.memory && existsSync(join(cg.paths.memory, 'memory.memsw.limit_in_bytes'));
  const blkioWeight = cg.paths.blkio ? weightFile(cg.paths.blkio, 'blkio') : undefined;
  for (const w of limitWrites(limits, 1, { swap: memsw, ...optional(blkioWeight) })) {
    const dir = w.controller === 'io' ? undefined : cg.paths[w.controller];
    if (dir) write(join(dir, w.file), w.value);
  }
}

function optional<T>(weight: T | undefined): { weight?: T } {
  return weight === undefined ? {} : { weight };
}

/**
 * A v1 cpuset cgroup, and those above it a --cgroup-parent asks for: a cpuset takes no
 * process (and no child) before it has memory nodes and CPUs, its parent's (--cpuset-cpus
 * and --cpuset-mems are written after).
 */
function mkdirCpuset(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = join(d, '..')) missing.unshift(d);
  if (!missing.length) missing.push(dir);
  for (const d of missing) {
    mkdirFresh(d);
    for (const f of ['cpuset.mems', 'cpuset.cpus']) write(join(d, f), (readText(join(d, '..', f)) ?? '').trim());
  }
}

/** The processes in a cgroup directory (empty when it is gone). */
function procsOf(dir: string): number[] {
  return (readText(join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
}

/**
 * Removes a sandbox's cgroups; processes still there (a crash left them) are killed
 * first. Waits up to ~1 s for the kernel to let go of the dead (rmdir: EBUSY meanwhile).
 */
export async function removeCgroup(cg: SandboxCgroup): Promise<void> {
  for (const dir of Object.values(cg.paths)) {
    if (!dir) continue;
    for (let i = 0; ; i++) {
      try { rmdirSync(dir); break; } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || i >= 50) throw failure(`rmdir ${dir}`, err);
      }
      for (const pid of procsOf(dir)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** The parents of the sandboxes' cgroups on this host: v2's sandbox.slice, or each v1 `sandbox/<uid>`. */
export function cgroupBases(host: CgroupHost): string[] {
  return host.v2?.inside || host.v2?.viaScope ? [join(host.v2.dir, V2_SLICE)] : Object.values(host.v1?.dirs ?? {});
}

/**
 * The cgroups in `bases` left by sandboxes that no longer run (a SIGKILLed monitor
 * cannot remove its own): those with no process, no live monitor (`running(id)`) and
 * older than `minAgeMs` (one being made for a start right now is young and empty).
 */
export function strayCgroups(bases: readonly string[], running: (id: string) => boolean, minAgeMs: number, now = Date.now()): string[] {
  const out: string[] = [];
  for (const base of bases) {
    let names: string[];
    try { names = readdirSync(base); } catch { continue; }
    for (const id of names) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      const dir = join(base, id);
      try {
        if (now - statSync(dir).ctimeMs < minAgeMs || procsOf(dir).length || running(id)) continue;
        out.push(dir);
      } catch { /* gone */ }
    }
  }
  return out;
}

/** Removes the strays beside the sandbox's own cgroups `cg` (see strayCgroups; 5 s old at least). */
export function removeStrayCgroups(cg: SandboxCgroup, running: (id: string) => boolean): void {
  const own = new Set(Object.values(cg.paths));
  const bases = [...new Set([...own].map((d) => join(d!, '..')))];
  for (const dir of strayCgroups(bases, running, 5000)) {
    if (own.has(dir)) continue;
    try { rmdirSync(dir); } catch { /* busy or gone: the next one */ }
  }
}
