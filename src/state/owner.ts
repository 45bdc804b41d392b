/**
 * Temporary work tied to the process doing it. Temp blobs, layer staging directories,
 * transfer leases and garbage being removed are named `[PREFIX]<pid>.<start time>-<hex>`:
 * the pid and its start time (liveness.ts) say whether their owner still runs, so a
 * collector removes the work of a dead process at once, never that of a live one, and a
 * reused pid is not mistaken for the owner. Names of older versions carry a pid only
 * (`<pid>-<hex>`, `.unpack-<pid>-<hex>`) or nothing (`.import-<hex>`).
 */
import { isSameProcess, processStartTime } from './liveness.js';
import { randomHex } from './random.js';

let self: string | undefined;

/** `<pid>.<start time>` of this process (`<pid>` alone if /proc cannot say). */
export function ownerTag(): string {
  if (self === undefined) {
    const start = processStartTime(process.pid);
    self = start === undefined ? `${process.pid}` : `${process.pid}.${start}`;
  }
  return self;
}

/** A new name for temporary work of this process: PREFIX, the owner tag, random hex. */
export function ownedName(prefix = ''): string {
  return `${prefix}${ownerTag()}-${randomHex(6)}`;
}

export interface Owner {
  pid: number;
  /** Absent in names made by older versions. */
  startTime?: number;
}

const OWNED = /^(?:\.?[a-z]+-)?([0-9]+)(?:\.([0-9]+))?-[0-9a-f]+(?:\.json)?$/;

/** The owner a name carries, if it carries one. */
export function ownerOf(name: string): Owner | undefined {
  const m = OWNED.exec(name);
  if (!m) return undefined;
  const pid = Number(m[1]);
  if (!(pid > 0)) return undefined;
  return m[2] === undefined ? { pid } : { pid, startTime: Number(m[2]) };
}

/** Whether the owner still runs (a zombie does not; with a pid only, any process of that pid does). */
export function ownerAlive(owner: Owner): boolean {
  if (owner.startTime === undefined) return processStartTime(owner.pid) !== undefined;
  return isSameProcess(owner.pid, owner.startTime);
}

/** For a name: true/false when it carries an owner (alive or not), undefined when it carries none. */
export function nameOwnerAlive(name: string): boolean | undefined {
  const owner = ownerOf(name);
  return owner ? ownerAlive(owner) : undefined;
}
