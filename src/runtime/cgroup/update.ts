/**
 * `update` of a running sandbox: its new limits written into the cgroup files it runs in
 * (./limits.ts says which files; ./manage.ts made them). What a start writes, plus the
 * two things only a change needs: a limit lifted (pids.max back to `max`), and v1's
 * order between memory.limit_in_bytes and memory.memsw.limit_in_bytes (the kernel
 * refuses a memory limit above memory+swap, and memory+swap below memory).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResourceLimits } from '../../types.js';
import type { SandboxCgroup } from '../../state/sandboxes.js';
import { SandboxError } from '../../errors.js';
import { limitWrites, type LimitWrite } from './limits.js';
import { weightFile } from './detect.js';

/** The directory a write goes to: v2's one cgroup, or the controller's v1 one. */
function dirOf(cg: SandboxCgroup, w: LimitWrite): string | undefined {
  return cg.version === 2 ? cg.paths.unified : w.controller === 'io' ? undefined : cg.paths[w.controller];
}

/** The writes for `limits` in `cg`, in an order the kernel takes from its current values (`current` reads a file). */
export function updateWrites(cg: SandboxCgroup, limits: ResourceLimits, current: (file: string) => string | undefined): LimitWrite[] {
  const memDir = cg.version === 2 ? cg.paths.unified : cg.paths.memory;
  const swapFile = cg.version === 2 ? 'memory.swap.max' : 'memory.memsw.limit_in_bytes';
  const swap = !!memDir && current(join(memDir, swapFile)) !== undefined;
  const ioDir = cg.version === 2 ? cg.paths.unified : cg.paths.blkio;
  const weight = ioDir ? weightFile(ioDir, cg.version === 2 ? 'io' : 'blkio') : undefined;
  const writes = limitWrites(limits, cg.version, { swap, ...(weight ? { weight } : {}) });
  if (limits.pidsLimit !== undefined && limits.pidsLimit <= 0) writes.push({ controller: 'pids', file: 'pids.max', value: 'max' });
  if (cg.version === 1 && memDir) {
    // Raising memory above the memory+swap in force: memory+swap first.
    const mem = writes.find((w) => w.file === 'memory.limit_in_bytes');
    const memsw = writes.find((w) => w.file === 'memory.memsw.limit_in_bytes');
    const inForce = Number(current(join(memDir, 'memory.memsw.limit_in_bytes')) ?? Infinity);
    if (mem && memsw && Number(mem.value) > inForce) {
      writes.splice(writes.indexOf(memsw), 1);
      writes.splice(writes.indexOf(mem), 0, memsw);
    }
  }
  return writes;
}

/** Writes `limits` into the running sandbox's cgroups; one line naming the file on failure. */
export function applyLimits(cg: SandboxCgroup, limits: ResourceLimits): void {
  const read = (f: string) => { try { return readFileSync(f, 'utf8').trim(); } catch { return undefined; } };
  for (const w of updateWrites(cg, limits, read)) {
    const dir = dirOf(cg, w);
    if (!dir || !existsSync(dir)) {
      throw new SandboxError(`cannot update the sandbox's ${w.controller} limit: its cgroup has no ${w.controller} controller`, {
        hint: 'stop it, update it and start it again: it then starts in cgroups with every controller delegated to you (sandbox doctor)',
      });
    }
    try {
      writeFileSync(join(dir, w.file), w.value);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new SandboxError(`cannot update the sandbox's limits: writing ${w.value} to ${join(dir, w.file)} (${code})`, {
        hint: code === 'EBUSY' || code === 'EINVAL'
          ? 'the kernel refused the value for what the sandbox uses now (e.g. a memory limit below its usage, or CPUs it may not have)'
          : 'see `sandbox doctor` (cgroups)',
        cause: err,
      });
    }
  }
}
