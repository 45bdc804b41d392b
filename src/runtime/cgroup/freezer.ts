/**
 * `pause` / `unpause`: the cgroup freezer of a sandbox's cgroup (SandboxCgroup, made by
 * ./manage.ts). v2: `cgroup.freeze` (1/0), done when `cgroup.events` says `frozen 1`;
 * v1: the freezer controller's `freezer.state` (FROZEN/THAWED), done when it reads
 * FROZEN (FREEZING meanwhile; the request is written again while it is, as runc does).
 * `isFrozen` is what `ps` and `inspect` show as paused: one small read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../../errors.js';
import type { SandboxCgroup } from '../../state/sandboxes.js';

/** What the freezer needs of a sandbox's cgroup (the record's). */
export type FreezerCgroup = Pick<SandboxCgroup, 'version' | 'paths'>;

/** The file that freezes the sandbox, or undefined when it has no freezer (no cgroup, or v1 without the freezer controller delegated). */
export function freezerFile(cg: FreezerCgroup | undefined): { version: 1 | 2; file: string } | undefined {
  if (cg?.version === 2 && cg.paths.unified) return { version: 2, file: join(cg.paths.unified, 'cgroup.freeze') };
  if (cg?.version === 1 && cg.paths.freezer) return { version: 1, file: join(cg.paths.freezer, 'freezer.state') };
  return undefined;
}

function read(path: string): string | undefined {
  try { return readFileSync(path, 'utf8').trim(); } catch { return undefined; }
}

/** Whether the sandbox is paused (frozen, or being frozen); false when it has no freezer or its cgroup is gone. */
export function isFrozen(cg: FreezerCgroup | undefined): boolean {
  const f = freezerFile(cg);
  if (!f) return false;
  const v = read(f.file);
  return f.version === 2 ? v === '1' : v === 'FROZEN' || v === 'FREEZING';
}

/** Whether the freeze has taken hold of every process. */
function settled(f: { version: 1 | 2; file: string }): boolean {
  if (f.version === 2) return /^frozen 1$/m.test(read(join(f.file, '..', 'cgroup.events')) ?? '');
  return read(f.file) === 'FROZEN';
}

function write(f: { file: string }, value: string, what: string): void {
  try {
    writeFileSync(f.file, value);
  } catch (err) {
    throw new SandboxError(`cannot ${what} the sandbox: writing ${value} to ${f.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      hint: 'the sandbox\'s cgroup may be gone (it ended), or no longer yours: see `sandbox doctor` (cgroups)',
      cause: err,
    });
  }
}

const FREEZE_WAIT_MS = 5000;

/** Freezes every process of the sandbox; thaws it again and throws when they will not all freeze in time. */
export async function freeze(cg: FreezerCgroup): Promise<void> {
  const f = freezerFile(cg);
  if (!f) throw new Error('internal: freeze without a freezer');
  const value = f.version === 2 ? '1' : 'FROZEN';
  write(f, value, 'pause');
  const deadline = Date.now() + FREEZE_WAIT_MS;
  while (!settled(f)) {
    if (Date.now() > deadline) {
      thawNow(f);
      throw new SandboxError(`cannot pause the sandbox: its processes did not all freeze within ${FREEZE_WAIT_MS / 1000} s`, {
        hint: 'a process may be in an uninterruptible wait (a hung file system); try again',
      });
    }
    await new Promise((r) => setTimeout(r, 10));
    if (f.version === 1) write(f, value, 'pause');
  }
}

function thawNow(f: { version: 1 | 2; file: string }): void {
  write(f, f.version === 2 ? '0' : 'THAWED', 'unpause');
}

/** Lets the sandbox's processes run again. */
export function thaw(cg: FreezerCgroup): void {
  const f = freezerFile(cg);
  if (!f) throw new Error('internal: thaw without a freezer');
  thawNow(f);
}
