/**
 * Sandboxes that join another's network namespace: `--network container:NAME` and the
 * members of a pod (whose network is their pod's infra sandbox's). At creation the
 * target is resolved to its id (a pod to its infra), so renames do not matter; at each
 * start the target must run (a pod's infra is started for its member, as Podman does)
 * and its command is the process whose namespaces the helper joins
 * (network/container.ts, helpers/launch/network.c clone_joined).
 */
import { readFileSync } from 'node:fs';
import { SandboxError } from '../errors.js';
import type { RunRequest } from '../types.js';
import type { StorePaths } from '../state/paths.js';
import { findSandbox, readRecord, type SandboxRecord } from '../state/sandboxes.js';
import { commandPid, sandboxDir, sandboxDirs } from '../state/sandbox-dir.js';
import { currentState } from '../state/status.js';
import { hostNameFiles, type HostNameFiles } from '../network/name-files.js';
import type { RunHooks } from './run.js';
import { podOfInfra, podShare } from '../state/pods.js';

/**
 * At creation: `networkContainer` becomes the target's id (a sandbox that itself joins
 * another is followed to the one that owns the namespace, so a chain never hangs on a
 * middle link), and a pod member's network becomes its pod's infra (api/pods.ts); a
 * target on the host's network makes it --network host.
 */
export async function resolveNetworkJoin(paths: StorePaths, request: RunRequest): Promise<RunRequest> {
  if (request.pod !== undefined) {
    const { podMemberRequest } = await import('./pods.js');
    return podMemberRequest(paths, request);
  }
  if (request.network !== 'container') return request;
  if (!request.networkContainer) throw new SandboxError('--network container needs the sandbox whose network to join', { hint: 'use --network container:NAME' });
  let target = findSandbox(paths, request.networkContainer);
  for (let hops = 0; target.request.network === 'container' && target.request.networkContainer && hops < 8; hops++) {
    const next = readRecord(paths, target.request.networkContainer);
    if (!next) break;
    target = next;
  }
  // The host's network namespace belongs to the host's user namespace, which is not ours
  // to enter: joining a --network host sandbox is --network host itself (as with Podman).
  if (target.request.network === 'host') {
    const { networkContainer: _, ...rest } = request;
    return { ...rest, network: 'host' };
  }
  return { ...request, networkContainer: target.id };
}

/** What a start of a joining sandbox needs: the process to join, and the name files it shares. */
export interface JoinedNetwork {
  pid: number;
  /** Its other namespaces joined too: a pod member's uts and ipc (the pod's `--share`). */
  namespaces: string[];
  /** The target's /etc/resolv.conf (and the host's /etc/hosts), as a driver reads the host's. */
  nameFiles: HostNameFiles;
}

/** For each start of `record`: undefined unless it joins another's network. */
export async function joinedNetwork(paths: StorePaths, record: SandboxRecord, hooks: RunHooks = {}): Promise<JoinedNetwork | undefined> {
  if (record.request.network !== 'container') return undefined;
  const targetId = record.request.networkContainer ?? '';
  const target = readRecord(paths, targetId);
  const what = record.request.pod ? `the infra sandbox of its pod` : `the sandbox whose network it joins`;
  if (!target) {
    throw new SandboxError(`${what} (${targetId.slice(0, 12)}) no longer exists`, { hint: `remove this sandbox (sandbox rm ${record.name}) and create it again` });
  }
  if (currentState(paths, target).status !== 'running') {
    if (!record.request.pod) {
      throw new SandboxError(`sandbox ${target.name}, whose network ${record.name} joins, is not running`, { hint: `start it first: sandbox start ${target.name}` });
    }
    const { startSandbox } = await import('./lifecycle.js'); // a member starts its pod's infra
    await startSandbox(paths, target.id, hooks);
  }
  // The infra just started has forked its command (the helper reports the start once it runs).
  let pid: number | undefined;
  for (let i = 0; i < 100 && !(pid = commandPid(paths, target)); i++) await new Promise((r) => setTimeout(r, 20));
  if (!pid) throw new SandboxError(`sandbox ${target.name}, whose network ${record.name} joins, is not running`, { hint: `start it first: sandbox start ${target.name}` });
  const files = sandboxDirs(sandboxDir(paths, target.id));
  const pod = record.request.pod ? podOfInfra(paths, target) : undefined;
  return {
    pid,
    namespaces: pod ? podShare(pod).filter((ns) => ns !== 'net') : [],
    nameFiles: {
      resolvConf: () => { try { return readFileSync(files.resolvConf, 'utf8'); } catch { return ''; } },
      hosts: () => readFileSync('/etc/hosts', 'utf8'),
      address: () => hostNameFiles.address(),
    },
  };
}

/**
 * The sandboxes that join `id`'s network (`container:ID`, a pod's members and its
 * infra): `rm` refuses to remove a sandbox others still join, as Podman does.
 */
export function sandboxesJoining(records: readonly SandboxRecord[], id: string): SandboxRecord[] {
  return records.filter((r) => r.id !== id && r.request.network === 'container' && r.request.networkContainer === id);
}
