/**
 * `container prune`: removes the sandboxes that are not running (and names reserved for
 * ones that are gone), leaving alone any that a live process uses (runtime/process-scan.ts).
 */
import type { StorePaths } from '../state/paths.js';
import { readRecord } from '../state/sandboxes.js';
import { sandboxDir } from '../state/sandbox-dir.js';
import { pidsUsing, scanProcesses } from '../runtime/process-scan.js';
import { treeSizes } from '../runtime/tree-size.js';
import { currentState, listSandboxes, removeSandbox, type SandboxView } from './lifecycle.js';
import { podOfInfra } from '../state/pods.js';
import { YOUNG_MS, removeStaleReservation, sandboxNeedle, staleReservations } from './store-check.js';

export interface PruneReport {
  /** Full ids of the sandboxes removed. */
  removed: string[];
  /** Names whose reservation outlived its sandbox, released. */
  releasedNames: string[];
  /** Bytes their directories held. */
  reclaimed: number;
  failed: { id: string; error: string }[];
}

/**
 * Removes every sandbox that is not running: exited ones and created ones (as Docker),
 * but none that a live process still uses (a foreground `run --rm` records no start)
 * and no `created` one younger than YOUNG_MS (its `run` may be starting it right now);
 * then name reservations whose sandbox is gone (staleReservations). `match` narrows the
 * victims (`prune --filter`).
 */
export async function pruneSandboxes(paths: StorePaths, options: { now?: number; match?: (v: SandboxView) => boolean } = {}): Promise<PruneReport> {
  const now = options.now ?? Date.now();
  const scan = scanProcesses();
  const victims = listSandboxes(paths, { all: true }).filter((v) => v.state.status !== 'running'
    && (!options.match || options.match(v))
    && !podOfInfra(paths, v.record) // a pod's infra goes with its pod (pod rm, pod prune), as Podman's
    && !(v.state.status === 'created' && now - (Date.parse(v.record.created) || 0) <= YOUNG_MS)
    && pidsUsing(scan, sandboxNeedle(v.record.id)).length === 0);
  const sizes = await treeSizes(victims.map((v) => sandboxDir(paths, v.record.id)));
  const report: PruneReport = { removed: [], releasedNames: [], reclaimed: 0, failed: [] };
  for (const v of victims) {
    try {
      await removeSandbox(paths, v.record.id);
      report.removed.push(v.record.id);
      report.reclaimed += sizes.get(sandboxDir(paths, v.record.id)) ?? 0;
    } catch (err) {
      // Removed by someone else, or started again meanwhile: not an error of prune's.
      const still = readRecord(paths, v.record.id);
      if (!still || currentState(paths, still).status === 'running') continue;
      report.failed.push({ id: v.record.id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  // Names a killed `run --rm` (or `rm`) left reserved for a sandbox that is gone.
  for (const r of staleReservations(paths)) if (await removeStaleReservation(paths, r)) report.releasedNames.push(r.name);
  return report;
}
