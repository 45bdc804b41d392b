/**
 * Changing a sandbox's labels after it was created (`sandbox label NAME k=v k2= k3-`).
 * The record (and config.json, its creation-time part) is re-read and rewritten
 * atomically under the sandbox's short lock (state/sandboxes.ts withSandboxLock), so
 * two label changes at once cannot lose one another's work; a `label` event carrying
 * the labels as they now are goes to the journal.
 */
import { SandboxError } from '../errors.js';
import { findSandbox, readRecord, writeRecordAndConfig, type SandboxRecord } from '../state/sandboxes.js';
import { withSandboxLock } from '../state/sandbox-dir.js';
import { appendEvent } from '../state/events.js';
import type { StorePaths } from '../state/paths.js';

/** One change: set `key` to `value`, or remove it (`value` undefined). */
export interface LabelChange {
  key: string;
  value?: string;
}

const HINT = 'give KEY=VALUE to set, KEY= to set it empty, KEY- to remove it (keys have no spaces and no "=")';

function checkKey(key: string, arg: string): void {
  if (key === '') throw new SandboxError(`invalid label ${JSON.stringify(arg)}: empty key`, { hint: HINT });
  if (/\s/.test(key) || key.includes('\0')) {
    throw new SandboxError(`invalid label ${JSON.stringify(arg)}: the key has white space in it`, { hint: HINT });
  }
}

/** Parses `k=v` (set), `k=` (set empty) and `k-` (remove). Pure. */
export function parseLabelChanges(args: readonly string[]): LabelChange[] {
  return args.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      const key = arg.slice(0, eq);
      checkKey(key, arg);
      return { key, value: arg.slice(eq + 1) };
    }
    if (arg.endsWith('-')) {
      const key = arg.slice(0, -1);
      checkKey(key, arg);
      return { key };
    }
    throw new SandboxError(`invalid label ${JSON.stringify(arg)}: neither KEY=VALUE nor KEY-`, { hint: HINT });
  });
}

/** Applies changes in order to a copy of `labels`. Pure. */
export function applyLabelChanges(labels: Readonly<Record<string, string>>, changes: readonly LabelChange[]): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  for (const c of changes) {
    if (c.value === undefined) delete out[c.key];
    else out[c.key] = c.value;
  }
  return out;
}

/**
 * Sets and removes labels of the sandbox `ref` (name, id or id prefix); returns the
 * record as written.
 */
export async function updateLabels(paths: StorePaths, ref: string, changes: readonly LabelChange[]): Promise<SandboxRecord> {
  const { id } = findSandbox(paths, ref);
  const record = await withSandboxLock(paths, id, () => {
    const current = readRecord(paths, id);
    if (!current) throw new SandboxError(`no such sandbox: ${ref} (it was removed)`, { hint: 'list them with `sandbox ps -a`' });
    const labels = applyLabelChanges(current.request.labels ?? {}, changes);
    const next: SandboxRecord = { ...current, request: { ...current.request, labels } };
    try {
      writeRecordAndConfig(paths, next);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new SandboxError(`no such sandbox: ${ref} (it was removed)`, { hint: 'list them with `sandbox ps -a`' });
      }
      throw err;
    }
    return next;
  });
  appendEvent(paths, { type: 'container', action: 'label', id: record.id, name: record.name, attributes: { ...record.request.labels } });
  return record;
}
