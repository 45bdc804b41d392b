/**
 * Pods, as Podman's: sandboxes that share one network namespace (localhost between
 * them, the same published ports) held by an infra sandbox that runs only a pause of our
 * own (helpers/pause.c, on a root holding nothing else: state/pods.ts pauseRoot). The
 * infra is an ordinary sandbox with the pod's network mode and ports; members join it
 * (`--network container:INFRA`, api/network-join.ts) and get the pod's hostname.
 * Starting a member starts the infra; `pod stop` stops the members, then the infra;
 * `pod rm -f` removes them all, then the pod. The pod's records: state/pods.ts.
 */
import { SandboxError } from '../errors.js';
import type { RunRequest } from '../types.js';
import type { StorePaths } from '../state/paths.js';
import { listRecords, readRecord, type SandboxRecord } from '../state/sandboxes.js';
import { currentState } from '../state/status.js';
import { commandPid } from '../state/sandbox-dir.js';
import { readlinkSync } from 'node:fs';
import {
  createPodRecord, findPod, listPods, lookupPod, newPodId, pauseRoot, podShare, removePodRecord, updatePod, POD_NAMESPACES, type PodNamespace, type PodRecord,
} from '../state/pods.js';
import { appendEvent } from '../state/events.js';
import { helperPath } from '../runtime/host-tools.js';
import { DEFAULT_NETWORK } from '../network/driver.js';
import { checkName } from '../state/names.js';
import type { RunHooks } from './run.js';
import { checkCidFile, writeCidFile } from './cidfile.js';

export type { PodRecord } from '../state/pods.js';

/** The parts of a RunRequest that make a network: the infra takes them from `pod create`. */
export type PodNetwork = Partial<RunRequest>;

export interface PodCreateOptions {
  name?: string;
  hostname?: string;
  labels?: Record<string, string>;
  /** `--infra=false`: no infra sandbox, so no shared network (as Podman). */
  infra?: boolean;
  /** The infra's network: mode, ports, name options, as `run` parsed them (cli/commands/pod.ts). */
  network?: PodNetwork;
  /** `--share` (parseShare): what members join of the infra; default ipc, net, uts. */
  share?: PodNamespace[];
  /** `--infra-name` (default: infraName). */
  infraName?: string;
  /** `--pod-id-file FILE`: the pod's id is written there (it must not exist), as `--cidfile`. */
  podIdFile?: string;
}

const POD_ID_FILE = { flag: '--pod-id-file', of: 'pod' };

/**
 * `pod create --share ipc,net,uts` (Podman's default; `none` or '' for nothing). pid and
 * cgroup are refused: each sandbox here has a pid namespace and cgroup of its own. A
 * shared uts or ipc needs the shared net (its user namespace comes with it). Pure.
 */
export function parseShare(value: string): PodNamespace[] {
  const words = value.split(',').map((w) => w.trim()).filter((w) => w !== '' && w !== 'none');
  const out: PodNamespace[] = [];
  for (const w of words) {
    if ((POD_NAMESPACES as readonly string[]).includes(w)) { if (!out.includes(w as PodNamespace)) out.push(w as PodNamespace); continue; }
    if (w === 'pid' || w === 'cgroup' || w === 'user' || w === 'mnt') {
      throw new SandboxError(`--share ${w} is not supported`, { hint: 'a pod shares ipc, net and uts (the default, as Podman\'s); each sandbox keeps its own pid, mount and cgroup namespaces' });
    }
    throw new SandboxError(`invalid --share ${JSON.stringify(w)}`, { hint: 'a comma-separated list of ipc, net, uts (or none)' });
  }
  if (!out.includes('net') && out.length) {
    throw new SandboxError(`--share ${out.join(',')} without net is not supported`, { hint: 'share net too (--share ipc,net,uts, the default), or none' });
  }
  return out;
}

/** The network fields of a request that the infra carries (the shared shapes of issue 15). */
const NETWORK_FIELDS = ['network', 'networkOptions', 'ports', 'publishAll', 'addHosts', 'dns', 'dnsSearch', 'dnsOptions', 'noHosts', 'networks'] as const;

/** Podman's infra name: the pod id's first 12 digits and `-infra`. */
export function infraName(podId: string): string {
  return `${podId.slice(0, 12)}-infra`;
}

/** `pod create`: the pod's record, then its infra sandbox (created, not started), whose id the pod keeps. */
export async function createPod(paths: StorePaths, options: PodCreateOptions, hooks: RunHooks = {}): Promise<PodRecord> {
  const id = newPodId();
  const name = options.name ?? `pod-${id.slice(0, 12)}`;
  checkName(name, 'pod');
  const network = options.network?.network ?? DEFAULT_NETWORK;
  if (network === 'container') throw new SandboxError('a pod cannot join another sandbox\'s network', { hint: 'give the pod its own network: --network slirp4netns (the default), pasta, host, none or a network\'s name' });
  const pod: PodRecord = {
    id, name, created: new Date().toISOString(), hostname: options.hostname ?? name, labels: { ...(options.labels ?? {}) }, network,
    share: options.share ?? [...POD_NAMESPACES],
  };
  if (options.podIdFile) checkCidFile(options.podIdFile, POD_ID_FILE);
  createPodRecord(paths, pod);
  appendEvent(paths, { type: 'pod', action: 'create', id, name });
  let done = pod;
  try {
    if (options.infra !== false) done = await createInfra(paths, pod, options, hooks);
    if (options.podIdFile) writeCidFile(options.podIdFile, id, POD_ID_FILE);
    return done;
  } catch (err) {
    if (done.infraId) {
      const { removeSandbox } = await import('./lifecycle.js');
      await removeSandbox(paths, done.infraId, { force: true, withPod: true }).catch(() => {});
    }
    removePodRecord(paths, name);
    throw err;
  }
}

/** The pod's infra sandbox (created, not started); the pod keeps its id. */
async function createInfra(paths: StorePaths, pod: PodRecord, options: PodCreateOptions, hooks: RunHooks): Promise<PodRecord> {
  const { id, name, network } = pod;
  const given = (options.network ?? {}) as Record<string, unknown>;
  const netFields: Record<string, unknown> = {};
  for (const key of NETWORK_FIELDS) if (given[key] !== undefined) netFields[key] = given[key];
  const request: RunRequest = {
    image: '', rootfs: pauseRoot(paths, helperPath('sandbox-pause')), command: ['/pause'],
    // `pod`: the infra belongs to the pod (ps --pod); the pod has no infra yet, so it joins nothing (podMemberRequest).
    name: options.infraName ?? infraName(id), hostname: pod.hostname, pod: id, remove: false, detach: true, interactive: false, tty: false,
    env: {}, volumes: [], tmpfs: [], readOnly: false, network, capAdd: [], capDrop: [], noNewPrivileges: false, labels: {},
    logDriver: 'none',
    ...netFields,
  };
  const { createSandbox } = await import('./run.js');
  const infra = await createSandbox(paths, request, hooks);
  return await updatePod(paths, name, (p) => ({ ...p, infraId: infra.id }));
}

/**
 * `run --pod NAME` (or `new:NAME`, which creates the pod first): the request joins the
 * pod's infra's network and takes the pod's hostname. Called when the sandbox is created.
 */
export async function podMemberRequest(paths: StorePaths, request: RunRequest): Promise<RunRequest> {
  const ref = request.pod ?? '';
  const pod = ref.startsWith('new:') ? await createPod(paths, { name: ref.slice(4) }) : findPod(paths, ref);
  const share = podShare(pod);
  if (!pod.infraId || !share.includes('net')) return { ...request, pod: pod.id };
  // The host's network is not joined through the infra (its namespace is the host's user namespace's): it is --network host.
  if (pod.network === 'host') return { ...request, pod: pod.id, network: 'host', hostname: request.hostname ?? pod.hostname };
  if (share.includes('uts') && request.hostname !== undefined && request.hostname !== pod.hostname) {
    throw new SandboxError(`--hostname cannot be given to a member of pod ${pod.name}: it shares the pod's uts namespace`, { hint: 'the pod\'s hostname is set by `sandbox pod create --hostname`' });
  }
  return { ...request, pod: pod.id, network: 'container', networkContainer: pod.infraId, hostname: request.hostname ?? pod.hostname };
}

export interface PodMember {
  record: SandboxRecord;
  status: string;
  infra: boolean;
}

/** The pod's sandboxes (the infra first), with their states now. */
export function podMembers(paths: StorePaths, pod: PodRecord, records: SandboxRecord[] = listRecords(paths)): PodMember[] {
  const out: PodMember[] = [];
  const infra = pod.infraId ? readRecord(paths, pod.infraId) : undefined;
  if (infra) out.push({ record: infra, status: currentState(paths, infra).status, infra: true });
  for (const r of records) if (r.request.pod === pod.id && r.id !== pod.infraId) out.push({ record: r, status: currentState(paths, r).status, infra: false });
  return out;
}

/** Podman's pod states from its sandboxes': Created, Running, Degraded (some run), Exited. Pure. */
export function podStatus(states: readonly string[]): 'Created' | 'Running' | 'Degraded' | 'Exited' {
  if (states.length === 0 || states.every((s) => s === 'created')) return 'Created';
  const running = states.filter((s) => s === 'running').length;
  if (running === states.length) return 'Running';
  if (running > 0) return 'Degraded';
  return 'Exited';
}

export interface PodView {
  pod: PodRecord;
  members: PodMember[];
  status: ReturnType<typeof podStatus>;
}

export function podView(paths: StorePaths, pod: PodRecord, records?: SandboxRecord[]): PodView {
  const members = podMembers(paths, pod, records);
  return { pod, members, status: podStatus(members.map((m) => m.status)) };
}

export function listPodViews(paths: StorePaths): PodView[] {
  const records = listRecords(paths);
  return listPods(paths).map((p) => podView(paths, p, records));
}

export function inspectPod(paths: StorePaths, ref: string): PodView {
  return podView(paths, findPod(paths, ref));
}

/** The pod a sandbox belongs to, as `ps --pod` shows it (an infra belongs to its pod too). */
export function podOfSandbox(pods: readonly PodRecord[], record: SandboxRecord): PodRecord | undefined {
  return record.request.pod ? pods.find((p) => p.id === record.request.pod) : undefined;
}

export function podExists(paths: StorePaths, ref: string): boolean {
  try { return !!lookupPod(paths, ref); } catch { return false; }
}

/** The network namespace a running sandbox's command is in (`net:[N]`), or undefined. */
function netNamespace(paths: StorePaths, record: SandboxRecord): string | undefined {
  const pid = commandPid(paths, record);
  if (!pid) return undefined;
  try { return readlinkSync(`/proc/${pid}/ns/net`); } catch { return undefined; }
}

/**
 * `pod start`: the infra, then every member (an error of one is reported after the
 * others started). A member still running in the namespace of an infra that ended (its
 * monitor was killed, say) has lost its network with it: it is restarted into the new one.
 */
export async function startPod(paths: StorePaths, ref: string, hooks: RunHooks = {}): Promise<PodRecord> {
  const pod = findPod(paths, ref);
  const { startSandbox, restartSandbox } = await import('./lifecycle.js');
  const members = podMembers(paths, pod);
  let failed: unknown;
  for (const m of members) {
    if (m.status === 'running') continue;
    try { await startSandbox(paths, m.record.id, hooks); } catch (err) { failed ??= err; }
  }
  const infra = members.find((m) => m.infra);
  const shared = infra ? netNamespace(paths, infra.record) : undefined;
  if (shared) {
    for (const m of members) {
      if (m.infra || m.status !== 'running' || m.record.request.network !== 'container') continue;
      const own = netNamespace(paths, m.record);
      if (own && own !== shared) {
        try { await restartSandbox(paths, m.record.id, undefined, hooks); } catch (err) { failed ??= err; }
      }
    }
  }
  appendEvent(paths, { type: 'pod', action: 'start', id: pod.id, name: pod.name });
  if (failed) throw failed;
  return pod;
}

/** `pod stop`: the members (all at once), then the infra, each as `stop` does. */
export async function stopPod(paths: StorePaths, ref: string, timeoutSec?: number): Promise<PodRecord> {
  const pod = findPod(paths, ref);
  const { stopSandbox } = await import('./lifecycle.js');
  const members = podMembers(paths, pod);
  await Promise.all(members.filter((m) => !m.infra && m.status === 'running').map((m) => stopSandbox(paths, m.record.id, timeoutSec)));
  for (const m of members) if (m.infra && m.status === 'running') await stopSandbox(paths, m.record.id, timeoutSec);
  appendEvent(paths, { type: 'pod', action: 'stop', id: pod.id, name: pod.name });
  return pod;
}

export async function restartPod(paths: StorePaths, ref: string, hooks: RunHooks = {}): Promise<PodRecord> {
  await stopPod(paths, ref);
  return startPod(paths, ref, hooks);
}

/** `pod kill`: the signal to every running sandbox of the pod, the infra last. */
export async function killPod(paths: StorePaths, ref: string, signal = 9): Promise<PodRecord> {
  const pod = findPod(paths, ref);
  const { killSandbox } = await import('./lifecycle.js');
  const members = podMembers(paths, pod).filter((m) => m.status === 'running');
  if (!members.length) throw new SandboxError(`pod ${pod.name} is not running`, { hint: `start it with \`sandbox pod start ${pod.name}\`` });
  for (const m of [...members.filter((x) => !x.infra), ...members.filter((x) => x.infra)]) {
    try { killSandbox(paths, m.record.id, signal); } catch { /* ended meanwhile */ }
  }
  appendEvent(paths, { type: 'pod', action: 'kill', id: pod.id, name: pod.name });
  return pod;
}

/**
 * `pod rm`: a pod with running members needs `force` (they are stopped first); its
 * sandboxes go (members, then the infra), then the pod.
 */
export async function removePod(paths: StorePaths, ref: string, options: { force?: boolean; time?: number } = {}): Promise<PodRecord> {
  const pod = findPod(paths, ref);
  const members = podMembers(paths, pod);
  // As Podman: a running infra alone does not hold the pod back; a running member does.
  if (!options.force && members.some((m) => !m.infra && m.status === 'running')) {
    throw new SandboxError(`cannot remove pod ${pod.name}: it has running sandboxes`, { hint: `stop it first (sandbox pod stop ${pod.name}) or use pod rm -f` });
  }
  const { removeSandbox } = await import('./lifecycle.js');
  const rmOne = async (m: PodMember) => {
    try {
      await removeSandbox(paths, m.record.id, { force: true, withPod: true, ...(options.time !== undefined ? { time: options.time } : {}) });
    } catch (err) {
      if (!(err instanceof SandboxError && /^no such sandbox/.test(err.message))) throw err;
    }
  };
  await Promise.all(members.filter((m) => !m.infra).map(rmOne));
  for (const m of members) if (m.infra) await rmOne(m);
  removePodRecord(paths, pod.name);
  appendEvent(paths, { type: 'pod', action: 'remove', id: pod.id, name: pod.name });
  return pod;
}

/** `pod prune`: every pod with nothing running is removed. */
export async function prunePods(paths: StorePaths): Promise<PodRecord[]> {
  const removed: PodRecord[] = [];
  for (const v of listPodViews(paths)) {
    if (v.members.some((m) => m.status === 'running')) continue;
    try { removed.push(await removePod(paths, v.pod.id)); } catch (err) { if (!(err instanceof SandboxError)) throw err; }
  }
  return removed;
}
