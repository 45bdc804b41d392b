/**
 * User-defined networks in the store: one file per network, <data>/networks/<name>.json
 * (private, written atomically), holding its settings and its members (the sandboxes on
 * it, each with its address, device and aliases). Every change is made under one lock
 * (<data>/networks/.lock): subnets never clash and an address is never given twice.
 * Members are kept from `create` (or `network connect`) until the sandbox is removed;
 * a member whose sandbox directory is gone (a `--rm` sandbox removes itself, a crash)
 * is dropped by the next change, so its address comes free without any hook.
 * The live half of a network (its switch, a socket) is under the runtime directory,
 * <runtime>/networks/<id12>/ (helpers/netswitch.c).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import type { StorePaths } from './paths.js';
import { readJsonIfExists, writeJsonAtomic } from './atomic.js';
import { ensureStoreDir, mkdirInStore } from './store-dirs.js';
import { withFileLock } from './file-lock.js';
import { sandboxDir } from './sandbox-dir.js';

export interface NetworkMember {
  /** The sandbox's name when it joined (what the others' /etc/hosts call it). */
  name: string;
  ip: string;
  /** Its device inside (eth0, eth1, ...). */
  dev: string;
  aliases: string[];
  /** A `--rm` sandbox: it removes itself (its init does), so its address is freed by the next change to the network, not by `rm`. */
  autoRemove?: boolean;
}

export interface NetworkRecord {
  name: string;
  /** 64 hex digits, as Podman's. */
  id: string;
  driver: 'bridge';
  created: string;
  /** a.b.c.d/len */
  subnet: string;
  gateway: string;
  internal: boolean;
  labels: Record<string, string>;
  /** By sandbox id. */
  members: Record<string, NetworkMember>;
}

export function networksDir(paths: StorePaths): string {
  return join(paths.data, 'networks');
}

function networkPath(paths: StorePaths, name: string): string {
  return join(networksDir(paths), `${name}.json`);
}

/** The network's live directory: its switch's socket and lock (short: a socket path has ~108 bytes). */
export function networkRuntimeDir(paths: StorePaths, network: Pick<NetworkRecord, 'id'>): string {
  return join(ensureStoreDir(paths, 'runtime'), 'networks', network.id.slice(0, 12));
}

export function readNetwork(paths: StorePaths, name: string): NetworkRecord | undefined {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) return undefined;
  return readJsonIfExists<NetworkRecord>(networkPath(paths, name));
}

export function listNetworks(paths: StorePaths): NetworkRecord[] {
  let names: string[];
  try { names = readdirSync(networksDir(paths)); } catch { return []; }
  return names.filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .map((n) => readNetwork(paths, n.slice(0, -5)))
    .filter((n): n is NetworkRecord => n !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A network by name, full id or unique id prefix, as Podman finds them. */
export function findNetwork(paths: StorePaths, ref: string): NetworkRecord {
  const byName = readNetwork(paths, ref);
  if (byName) return byName;
  const byId = /^[0-9a-f]{3,64}$/.test(ref) ? listNetworks(paths).filter((n) => n.id.startsWith(ref)) : [];
  if (byId.length === 1) return byId[0]!;
  throw new SandboxError(`no such network: ${ref}`, { hint: 'list them with `sandbox network ls`; make one with `sandbox network create NAME`', code: 'no-such-network' });
}

export function writeNetwork(paths: StorePaths, network: NetworkRecord): void {
  writeJsonAtomic(networkPath(paths, network.name), network);
}

export function deleteNetworkFile(paths: StorePaths, name: string): void {
  rmSync(networkPath(paths, name), { force: true });
}

/** Members whose sandbox still exists (the others were removed without a word to us). */
export function liveMembers(paths: StorePaths, network: NetworkRecord): Record<string, NetworkMember> {
  return Object.fromEntries(Object.entries(network.members).filter(([id]) => existsSync(sandboxDir(paths, id))));
}

/** Runs `fn` under the networks lock, the store's networks directory made first. */
export async function withNetworksLock<T>(paths: StorePaths, fn: () => T | Promise<T>): Promise<T> {
  const dir = networksDir(paths);
  mkdirInStore(paths, 'data', dir, 0o700);
  return withFileLock({
    dir,
    lockPath: join(dir, '.lock'),
    staleMs: 10_000,
    waitMs: 10_000,
    busy: (cause) => new SandboxError('the store\'s networks are busy (another command holds their lock)', { hint: 'try again in a moment', cause }),
  }, fn);
}
