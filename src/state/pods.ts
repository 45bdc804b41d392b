/**
 * Pods: one directory per pod under <data>/pods/<name>, holding `pod.json` (written
 * atomically), as volumes are kept (state/volumes.ts): mkdir of the directory is the
 * exclusive step that takes the name, `pod.json` follows; removal renames the directory
 * to a hidden `.removing-*` name first. A pod's members are not listed in it: they are
 * the sandboxes whose record names the pod (RunRequest.pod), so the two can never
 * disagree. Changes to a pod (its infra's id, set once the infra is recorded) happen
 * under the pod directory's lock.
 */
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { NetworkMode } from '../types.js';
import { readJsonIfExists, writeJsonAtomic } from './atomic.js';
import type { StorePaths } from './paths.js';
import { mkdirInStore } from './store-dirs.js';
import { randomHex } from './random.js';
import { checkName, NAME_PATTERN } from './names.js';
import { withFileLock } from './file-lock.js';

/** What `pod.json` holds. */
export interface PodRecord {
  id: string;
  name: string;
  created: string;
  /** The members' hostname (default: the pod's name, as Podman). */
  hostname: string;
  labels: Record<string, string>;
  /** The infra sandbox holding the pod's network namespace (absent with --infra=false, or before it is recorded). */
  infraId?: string;
  /** The network mode of the infra (the pod's network). */
  network: NetworkMode;
  /** `--share`: the infra's namespaces its members join (default ipc, net, uts, as Podman); absent: all three. */
  share?: PodNamespace[];
}

/** The namespaces a pod's members can share with its infra. */
export type PodNamespace = 'ipc' | 'net' | 'uts';
export const POD_NAMESPACES: readonly PodNamespace[] = ['ipc', 'net', 'uts'];

const REMOVING_PREFIX = '.removing-';
const PAUSE_ROOT = '.pause-root';

export function podsDir(paths: StorePaths): string {
  return join(paths.data, 'pods');
}

function podDir(paths: StorePaths, name: string): string {
  return join(podsDir(paths), name);
}

function podFile(paths: StorePaths, name: string): string {
  return join(podDir(paths, name), 'pod.json');
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** A pod's record by its exact name, or undefined. */
export function readPod(paths: StorePaths, name: string): PodRecord | undefined {
  if (!NAME_PATTERN.test(name)) return undefined;
  return readJsonIfExists<PodRecord>(podFile(paths, name));
}

/** Every pod whose record is complete, oldest first. */
export function listPods(paths: StorePaths): PodRecord[] {
  let names: string[];
  try {
    names = readdirSync(podsDir(paths)).filter((d) => NAME_PATTERN.test(d));
  } catch (err) {
    if (errno(err) === 'ENOENT') return [];
    throw err;
  }
  const pods = names.map((n) => readPod(paths, n)).filter((p): p is PodRecord => !!p);
  return pods.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0));
}

/** The pod named `ref`, or whose id is or starts with `ref`; undefined when none (an ambiguous prefix throws). */
export function lookupPod(paths: StorePaths, ref: string): PodRecord | undefined {
  const byName = readPod(paths, ref);
  if (byName) return byName;
  if (!/^[a-f0-9]+$/.test(ref)) return undefined;
  const hits = listPods(paths).filter((p) => p.id.startsWith(ref));
  if (hits.length > 1) throw new SandboxError(`pod id prefix ${ref} is ambiguous`, { hint: 'give more of the id, or the name' });
  return hits[0];
}

export function findPod(paths: StorePaths, ref: string): PodRecord {
  const pod = lookupPod(paths, ref);
  if (pod) return pod;
  throw new SandboxError(`no such pod: ${ref}`, { hint: 'list them with `sandbox pod ls`', code: 'no-such-pod' });
}

/**
 * Records a new pod: its name is taken by mkdir (one of two racing creators wins; the
 * other gets "already in use"), then `pod.json` is written.
 */
export function createPodRecord(paths: StorePaths, pod: PodRecord): void {
  checkName(pod.name, 'pod');
  mkdirInStore(paths, 'data', podsDir(paths), 0o700);
  try {
    mkdirSync(podDir(paths, pod.name), { mode: 0o700 });
  } catch (err) {
    if (errno(err) === 'EEXIST') throw new SandboxError(`the pod name "${pod.name}" is already in use`, { hint: `remove that pod (sandbox pod rm ${pod.name}) or choose another name` });
    throw err;
  }
  writeJsonAtomic(podFile(paths, pod.name), pod);
}

/** Runs `fn` on the pod's record under its lock and writes what it returns. */
export async function updatePod(paths: StorePaths, name: string, fn: (pod: PodRecord) => PodRecord): Promise<PodRecord> {
  const dir = podDir(paths, name);
  return withFileLock({
    dir, lockPath: join(dir, '.lock'), staleMs: 5000, waitMs: 10000,
    busy: (cause) => new SandboxError(`pod ${name} is busy (another command holds its lock)`, { hint: 'try again in a moment', cause }),
    missing: (cause) => new SandboxError(`no such pod: ${name} (it was removed)`, { hint: 'list them with `sandbox pod ls`', cause }),
  }, () => {
    const pod = readPod(paths, name);
    if (!pod) throw new SandboxError(`no such pod: ${name} (it was removed)`, { hint: 'list them with `sandbox pod ls`' });
    const next = fn(pod);
    writeJsonAtomic(podFile(paths, name), next);
    return next;
  });
}

/** Takes the pod out of the store: a rename to a hidden name, then its removal. False when it was gone. */
export function removePodRecord(paths: StorePaths, name: string): boolean {
  const hidden = join(podsDir(paths), `${REMOVING_PREFIX}${name}-${randomHex(4)}`);
  try {
    renameSync(podDir(paths, name), hidden);
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
  rmSync(hidden, { recursive: true, force: true });
  return true;
}

export function newPodId(): string {
  return randomHex(32);
}

/**
 * The root an infra sandbox runs on: a directory holding only `/pause` (a copy of
 * helpers/build/sandbox-pause, static), made once per store and again when the helper
 * changed (by size and time). Sandboxes mount it as a read-only lower layer.
 */
export function pauseRoot(paths: StorePaths, pauseBinary: string): string {
  const root = join(podsDir(paths), PAUSE_ROOT);
  const dest = join(root, 'pause');
  const src = statSync(pauseBinary);
  let current: { size: number; mtimeMs: number } | undefined;
  try { current = statSync(dest); } catch { current = undefined; }
  if (current && current.size === src.size && current.mtimeMs >= src.mtimeMs) return root;
  mkdirInStore(paths, 'data', root, 0o700);
  const tmp = join(root, `.pause.${randomHex(4)}.tmp`);
  copyFileSync(pauseBinary, tmp);
  renameSync(tmp, dest);
  return root;
}

/** The pod whose infra `record` is, if it is one (`rm` and `container prune` leave an infra to its pod). */
export function podOfInfra(paths: StorePaths, record: { id: string; request: { pod?: string } }): PodRecord | undefined {
  if (!record.request.pod) return undefined;
  const pod = listPods(paths).find((p) => p.id === record.request.pod);
  return pod?.infraId === record.id ? pod : undefined;
}

/** The namespaces the pod's members share with its infra. */
export function podShare(pod: PodRecord): PodNamespace[] {
  return pod.share ?? [...POD_NAMESPACES];
}
