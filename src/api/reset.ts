/**
 * `system reset`: everything of the user's store goes, as `podman system reset`: every
 * sandbox (running ones are ended first, through their monitors, with all they started),
 * then the data directory (images, layers, sandboxes, volumes, names, events) and the
 * runtime directory. The configuration and cache directories stay (Podman keeps its
 * configuration too). The next command starts from an empty store.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import { sandboxesDir } from '../state/sandbox-dir.js';
import { removeTree } from '../runtime/userns.js';
import { endMonitor } from './lifecycle.js';

export interface ResetReport {
  /** Sandbox directories whose monitors were ended (running or being removed). */
  ended: number;
  removed: string[];
}

export async function resetStore(paths: StorePaths): Promise<ResetReport> {
  let entries: string[] = [];
  try { entries = readdirSync(sandboxesDir(paths)); } catch { /* no sandboxes */ }
  let ended = 0;
  // Every directory, not only well-formed ones: one being removed may still hold a monitor.
  for (const e of entries) {
    const dir = join(sandboxesDir(paths), e);
    if (!(await endMonitor(dir))) throw new SandboxError(`cannot end the processes of sandbox ${e.slice(0, 12)}`, { hint: 'end them (sandbox ps -a; kill), then run `sandbox system reset` again' });
    ended++;
  }
  const removed: string[] = [];
  for (const dir of [paths.data, paths.runtime]) {
    try {
      await removeTree(dir);
    } catch (err) {
      throw new SandboxError(`cannot remove ${dir}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, { hint: 'a mount inside it? unmount it (sandbox unmount, fusermount -u), then run `sandbox system reset` again' });
    }
    removed.push(dir);
  }
  return { ended, removed };
}
