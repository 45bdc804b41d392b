/**
 * User-defined networks, as `podman network`: create, ls, inspect, rm, prune, exists,
 * connect, disconnect; and at every start of a member, its part of the launch plan.
 *
 * The design (README "User-defined networks"): each sandbox keeps its own user and
 * network namespaces. A network is one small switch process (helpers/netswitch.c) that
 * passes Ethernet frames between its members' tap devices; the monitor makes each
 * member's device inside the member's namespace and hands it to the switch (started on
 * the first member, gone with the last). The outside and published ports stay each
 * sandbox's own, as in the default mode (none for an --internal network). Names are
 * /etc/hosts entries of every member, rewritten in place as members come and go.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SandboxError } from '../errors.js';
import type { StorePaths } from '../state/paths.js';
import type { RunRequest } from '../types.js';
import { checkName } from '../state/names.js';
import { randomHex } from '../state/random.js';
import {
  deleteNetworkFile, findNetwork, listNetworks, liveMembers, networkRuntimeDir, readNetwork, withNetworksLock,
  writeNetwork, type NetworkMember, type NetworkRecord,
} from '../state/networks.js';
import { sandboxDir, sandboxDirs, commandPid, initPid } from '../state/sandbox-dir.js';
import { findSandbox, listRecords, writeRecordAndConfig, type SandboxRecord } from '../state/sandboxes.js';
import { currentState } from '../state/status.js';
import {
  contains, defaultGateway, ipNumber, nextFreeAddress, nextFreeSubnet, parseSubnet, subnetClash, subnetString,
} from '../network/subnets.js';
import { withNetworkHosts, type HostEntry } from '../network/name-files.js';
import { Flag } from '../runtime/protocol.js';
import { helperPath } from '../runtime/host-tools.js';
import { appendEvent } from '../state/events.js';

export type { NetworkRecord } from '../state/networks.js';

export interface CreateNetworkOptions {
  name?: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  driver?: string;
}

/** `network create`: a network of its own subnet (the next free 10.89.N.0/24 unless given). */
export async function createNetwork(paths: StorePaths, options: CreateNetworkOptions): Promise<NetworkRecord> {
  if (options.driver !== undefined && options.driver !== 'bridge') {
    throw new SandboxError(`network driver ${JSON.stringify(options.driver)} is not supported`, { hint: 'bridge (the default) is the one driver: macvlan and ipvlan need privileges a rootless user has not' });
  }
  if (options.name !== undefined) checkName(options.name, 'network');
  if (options.gateway !== undefined && options.subnet === undefined) {
    throw new SandboxError('--gateway needs --subnet', { hint: 'e.g. --subnet 10.89.5.0/24 --gateway 10.89.5.1' });
  }
  return withNetworksLock(paths, () => {
    const all = listNetworks(paths);
    const name = options.name ?? firstFreeName(all);
    if (readNetwork(paths, name)) {
      throw new SandboxError(`network name ${name} already used: network already exists`, { hint: `use it as it is, or remove it first: sandbox network rm ${name}` });
    }
    const taken = all.map((n) => ({ name: n.name, subnet: parseSubnet(n.subnet) }));
    let subnet;
    if (options.subnet !== undefined) {
      subnet = parseSubnet(options.subnet);
      const clash = subnetClash(subnet, taken);
      if (clash) throw new SandboxError(`subnet ${subnetString(subnet)} cannot be used: ${clash}`, { hint: 'give another --subnet, or none (the next free 10.89.N.0/24 is taken)' });
    } else {
      subnet = nextFreeSubnet(taken);
    }
    let gateway = defaultGateway(subnet);
    if (options.gateway !== undefined) {
      const g = ipNumber(options.gateway);
      const last = subnet.base + 2 ** (32 - subnet.prefix) - 1;
      if (Number.isNaN(g) || !contains(subnet, g) || g === subnet.base || g === last) {
        throw new SandboxError(`invalid gateway ${JSON.stringify(options.gateway)}: not a host address of ${subnetString(subnet)}`, { hint: 'give an address inside the subnet' });
      }
      gateway = options.gateway;
    }
    const network: NetworkRecord = {
      name, id: randomHex(32), driver: 'bridge', created: new Date().toISOString(), subnet: subnetString(subnet), gateway,
      internal: !!options.internal, labels: options.labels ?? {}, members: {},
    };
    writeNetwork(paths, network);
    appendEvent(paths, { type: 'network', action: 'create', id: network.id, name });
    return network;
  });
}

/** As Podman: podman1, podman2, ... for a network created without a name. */
function firstFreeName(all: readonly NetworkRecord[]): string {
  const names = new Set(all.map((n) => n.name));
  for (let i = 1; ; i++) if (!names.has(`podman${i}`)) return `podman${i}`;
}

export { listNetworks, findNetwork } from '../state/networks.js';

/** Sandboxes whose record names the network (created, running or exited): what makes it "in use". */
function usersOf(paths: StorePaths, network: NetworkRecord): SandboxRecord[] {
  return listRecords(paths).filter((r) => r.request.network === 'bridge' && r.request.networks?.some((n) => n.name === network.name));
}

/**
 * `network rm`: refuses a network a sandbox is on (running or not), as Podman; with
 * `force`, those sandboxes are removed first (stopped after `time` seconds), as Podman's -f.
 */
export async function removeNetwork(paths: StorePaths, ref: string, options: { force?: boolean; time?: number } = {}): Promise<NetworkRecord> {
  const network = findNetwork(paths, ref);
  const users = usersOf(paths, network);
  if (users.length && !options.force) {
    const who = users.map((r) => r.name).join(', ');
    throw new SandboxError(`network ${network.name} is in use by sandbox ${who}`, {
      hint: `remove or disconnect ${users.length > 1 ? 'those sandboxes' : 'that sandbox'} first (sandbox network disconnect ${network.name} ${users[0]!.name}), or use network rm -f`,
    });
  }
  if (users.length) {
    const { removeSandbox } = await import('./lifecycle.js');
    for (const r of users) {
      await removeSandbox(paths, r.id, { force: true, ...(options.time !== undefined ? { time: options.time } : {}) }).catch((err: unknown) => {
        if (!(err instanceof SandboxError) || existsSync(sandboxDir(paths, r.id))) throw err;
      });
    }
  }
  await withNetworksLock(paths, () => {
    if (usersOf(paths, network).length) throw new SandboxError(`network ${network.name} is in use: a sandbox joined it meanwhile`, { hint: 'try again' });
    deleteNetworkFile(paths, network.name);
  });
  appendEvent(paths, { type: 'network', action: 'remove', id: network.id, name: network.name });
  return network;
}

/** `network prune`: every network no sandbox is on; `match` narrows them (--filter). */
export async function pruneNetworks(paths: StorePaths, match?: (n: NetworkRecord) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const n of listNetworks(paths)) {
    if (usersOf(paths, n).length || (match && !match(n))) continue;
    await removeNetwork(paths, n.name).then(() => removed.push(n.name), (err: unknown) => {
      if (!(err instanceof SandboxError)) throw err;
    });
  }
  return removed;
}

/** Podman's `network inspect` object (its JSON field names), with the members as Podman 5 lists them. */
export function inspectShape(paths: StorePaths, n: NetworkRecord): Record<string, unknown> {
  const prefix = n.subnet.split('/')[1];
  const containers = Object.fromEntries(Object.entries(liveMembers(paths, n)).map(([id, m]) => [id, {
    name: m.name,
    interfaces: { [m.dev]: { subnets: [{ ipnet: `${m.ip}/${prefix}`, gateway: n.gateway }], mac_address: macOf(m.ip) } },
    aliases: m.aliases,
  }]));
  return {
    name: n.name, id: n.id, driver: n.driver,
    // No device on the host: the switch is a process of ours (helpers/netswitch.c).
    network_interface: '',
    created: n.created,
    subnets: [{ subnet: n.subnet, gateway: n.gateway }],
    ipv6_enabled: false, internal: n.internal, dns_enabled: false,
    labels: n.labels, ipam_options: { driver: 'host-local' },
    containers,
  };
}

/** A member's MAC address: 0a:58 and its IPv4 address (helpers/common/netjoin.c sets it so). */
export function macOf(ip: string): string {
  return ['0a', '58', ...ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

/** The same with the names of Podman's Go fields, for `--format '{{.Name}}'` templates. */
export function templateShape(paths: StorePaths, n: NetworkRecord): Record<string, unknown> {
  return {
    Name: n.name, ID: n.id, Driver: n.driver, NetworkInterface: '', Created: n.created,
    Subnets: [{ Subnet: n.subnet, Gateway: n.gateway }], IPv6Enabled: false, Internal: n.internal,
    DNSEnabled: false, Labels: n.labels, Options: {}, IPAMOptions: { driver: 'host-local' },
    Containers: Object.fromEntries(Object.entries(liveMembers(paths, n)).map(([id, m]) => [id, {
      Name: m.name, Aliases: m.aliases,
      Interfaces: { [m.dev]: { Subnets: [{ IPNet: `${m.ip}/${n.subnet.split('/')[1]}`, Gateway: n.gateway }], MacAddress: macOf(m.ip) } },
    }])),
  };
}

/* ---------- members ---------- */

/** Adds the sandbox to the network (an address, a device), or finds it there; the caller holds the lock. */
function ensureMember(paths: StorePaths, n: NetworkRecord, record: SandboxRecord, aliases: string[], devs: Set<string>): NetworkMember {
  n.members = liveMembers(paths, n);
  const had = n.members[record.id];
  if (had) {
    had.aliases = aliases;
    had.name = record.name;
    devs.add(had.dev);
    return had;
  }
  const subnet = parseSubnet(n.subnet);
  const ip = nextFreeAddress(subnet, n.gateway, Object.values(n.members).map((m) => m.ip));
  let i = 0;
  while (devs.has(`eth${i}`)) i++;
  const member: NetworkMember = { name: record.name, ip, dev: `eth${i}`, aliases, ...(record.request.remove ? { autoRemove: true } : {}) };
  devs.add(member.dev);
  n.members[record.id] = member;
  return member;
}

function devsOf(paths: StorePaths, id: string, except?: string): Set<string> {
  const devs = new Set<string>();
  for (const n of listNetworks(paths)) if (n.name !== except && n.members[id]) devs.add(n.members[id]!.dev);
  return devs;
}

/** The /etc/hosts entries of sandbox `id`: every member of every network it is on (itself too). */
function hostEntriesOf(nets: readonly NetworkRecord[], id: string): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const n of nets) {
    if (!n.members[id]) continue;
    for (const [mid, m] of Object.entries(n.members)) entries.push({ ip: m.ip, names: [...new Set([m.name, ...m.aliases, mid.slice(0, 12)])] });
  }
  return entries;
}

/**
 * Rewrites, in place (the same file: it is bind-mounted into the running sandbox), the
 * network block of /etc/hosts of every member of `touched`. Best effort: a member being
 * removed meanwhile has no file to rewrite.
 */
function refreshHosts(paths: StorePaths, touched: readonly string[]): void {
  const nets = listNetworks(paths).map((n) => ({ ...n, members: liveMembers(paths, n) }));
  const ids = new Set<string>();
  for (const n of nets) if (touched.includes(n.name)) for (const id of Object.keys(n.members)) ids.add(id);
  for (const id of ids) rewriteHosts(sandboxDirs(sandboxDir(paths, id)).hosts, hostEntriesOf(nets, id));
}

function rewriteHosts(file: string, entries: HostEntry[]): void {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return; }
  const next = withNetworkHosts(text, entries);
  if (next !== text) try { writeFileSync(file, next); } catch { /* removed meanwhile */ }
}

/** What a start of a member adds to its launch: the plan's words, whether it reaches the outside, its /etc/hosts entries. */
export interface NetworkJoin {
  words: string[];
  outside: boolean;
  hosts: HostEntry[];
  /** Its address on its first network: what its own /etc/hosts line names it by (as Podman). */
  ownAddress?: string;
}

/**
 * At every start of a sandbox on user-defined networks: its memberships (an address on
 * each, kept while the sandbox exists), the others' /etc/hosts told, and the plan's
 * words (`--net-join DIR ADDR/LEN DEV` per network, the switch program).
 */
export async function joinNetworks(paths: StorePaths, record: SandboxRecord): Promise<NetworkJoin> {
  const wanted = record.request.networks ?? [];
  const join = await withNetworksLock(paths, () => {
    const words: string[] = [];
    let outside = wanted.length === 0;
    const devs = new Set<string>();
    const nets: NetworkRecord[] = [];
    let ownAddress: string | undefined;
    for (const w of wanted) {
      const n = readNetwork(paths, w.name);
      if (!n) throw new SandboxError(`network ${w.name} of sandbox ${record.name} no longer exists`, { hint: `create it again (sandbox network create ${w.name}), or disconnect the sandbox: sandbox network disconnect ${w.name} ${record.name}` });
      const m = ensureMember(paths, n, record, w.aliases, devs);
      ownAddress ??= m.ip;
      writeNetwork(paths, n);
      nets.push(n);
      if (!n.internal) outside = true;
      words.push(Flag.netJoin, networkRuntimeDir(paths, n), `${m.ip}/${n.subnet.split('/')[1]}`, m.dev);
    }
    words.push(Flag.netSwitchCmd, helperPath('sandbox-netswitch'));
    return { words, outside, hosts: hostEntriesOf(nets, record.id), names: nets.map((n) => n.name), ownAddress };
  });
  refreshHosts(paths, join.names);
  return { words: join.words, outside: join.outside, hosts: join.hosts, ...(join.ownAddress ? { ownAddress: join.ownAddress } : {}) };
}

/** Runs sandbox-netswitch with `args`; its one-line error becomes ours. */
function netswitch(args: string[]): void {
  const r = spawnSync(helperPath('sandbox-netswitch'), args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) {
    const line = (r.stderr ?? '').split('\n').find((l) => l.startsWith('sandbox: '))?.slice('sandbox: '.length);
    throw new SandboxError(line ?? `sandbox-netswitch ${args[0]} failed (${r.status ?? r.signal})`, { hint: '`sandbox doctor` checks /dev/net/tun' });
  }
}

/** Modes whose sandbox has a network namespace of its own that a network can be added to. */
function connectable(request: RunRequest): boolean {
  return request.network === 'bridge' || request.network === 'slirp4netns';
}

/** `network connect [--alias A] NET SANDBOX`: now if it runs, and at every start from now on. */
export async function connectNetwork(paths: StorePaths, netRef: string, sandboxRef: string, aliases: string[] = []): Promise<void> {
  const network = findNetwork(paths, netRef);
  const record = findSandbox(paths, sandboxRef);
  if (!connectable(record.request)) {
    throw new SandboxError(`sandbox ${record.name} cannot join a network: its network mode is ${record.request.network}`, { hint: 'networks join sandboxes with a network namespace of their own (the default mode, or --network NAME)' });
  }
  if (record.request.networks?.some((n) => n.name === network.name)) {
    throw new SandboxError(`sandbox ${record.name} is already connected to network ${network.name}`, { hint: `sandbox network disconnect ${network.name} ${record.name} first to change its aliases` });
  }
  // From the default mode: the same outside link, plus the network.
  record.request = { ...record.request, network: 'bridge', networks: [...(record.request.networks ?? []), { name: network.name, aliases }] };
  writeRecordAndConfig(paths, record);
  const state = currentState(paths, record);
  if (state.status !== 'running') return;
  const member = await withNetworksLock(paths, () => {
    const n = readNetwork(paths, network.name);
    if (!n) throw new SandboxError(`no such network: ${network.name} (it was removed)`, { hint: 'list them with `sandbox network ls`' });
    const m = ensureMember(paths, n, record, aliases, devsOf(paths, record.id, n.name));
    writeNetwork(paths, n);
    return { m, n };
  });
  const target = commandPid(paths, { id: record.id, state });
  const init = initPid(paths, { id: record.id, state });
  if (!target || !init) throw new SandboxError(`sandbox ${record.name} is not running any more`, { hint: 'it joins the network at its next start' });
  netswitch(['join', networkRuntimeDir(paths, member.n), helperPath('sandbox-netswitch'), `${member.m.ip}/${member.n.subnet.split('/')[1]}`, member.m.dev, String(target), String(init)]);
  refreshHosts(paths, [network.name]);
}

/** `network disconnect NET SANDBOX`: its device goes now if it runs, and it no longer joins at start. */
export async function disconnectNetwork(paths: StorePaths, netRef: string, sandboxRef: string): Promise<void> {
  const network = findNetwork(paths, netRef);
  const record = findSandbox(paths, sandboxRef);
  if (!record.request.networks?.some((n) => n.name === network.name)) {
    throw new SandboxError(`sandbox ${record.name} is not connected to network ${network.name}`, { hint: `\`sandbox inspect ${record.name}\` shows its networks` });
  }
  record.request = { ...record.request, networks: record.request.networks.filter((n) => n.name !== network.name) };
  writeRecordAndConfig(paths, record);
  const member = await withNetworksLock(paths, () => {
    const n = readNetwork(paths, network.name);
    const m = n?.members[record.id];
    if (n && m) {
      delete n.members[record.id];
      writeNetwork(paths, n);
    }
    return n && m ? { n, m } : undefined;
  });
  if (member) netswitch(['leave', networkRuntimeDir(paths, member.n), member.m.ip]);
  refreshHosts(paths, [network.name]);
  // Its own /etc/hosts: the block of the networks it is still on.
  const nets = listNetworks(paths).map((n) => ({ ...n, members: liveMembers(paths, n) }));
  rewriteHosts(sandboxDirs(sandboxDir(paths, record.id)).hosts, hostEntriesOf(nets, record.id));
}

/** After `rm`: the sandbox's addresses come free and the other members' /etc/hosts forget it. */
export async function leaveNetworksOf(paths: StorePaths, record: Pick<SandboxRecord, 'id' | 'request'>): Promise<void> {
  if (record.request.network !== 'bridge' || !record.request.networks?.length) return;
  const names = await withNetworksLock(paths, () => {
    const touched: string[] = [];
    for (const w of record.request.networks ?? []) {
      const n = readNetwork(paths, w.name);
      if (!n?.members[record.id]) continue;
      delete n.members[record.id];
      writeNetwork(paths, n);
      touched.push(n.name);
    }
    return touched;
  });
  refreshHosts(paths, names);
}

/** A sandbox's place on one of its user-defined networks, for its inspect's NetworkSettings.Networks. */
export interface NetworkEndpoint {
  network: string;
  networkId: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  aliases: string[];
}

/** Where the sandbox is on each of its networks (those it has joined: an address is given at its first start). */
export function sandboxEndpoints(paths: StorePaths, record: Pick<SandboxRecord, 'id' | 'request'>): NetworkEndpoint[] {
  const out: NetworkEndpoint[] = [];
  for (const w of record.request.networks ?? []) {
    const n = readNetwork(paths, w.name);
    const m = n?.members[record.id];
    if (!n || !m) continue;
    out.push({
      network: n.name, networkId: n.id, ip: m.ip, prefixLen: Number(n.subnet.split('/')[1]), gateway: n.gateway,
      mac: macOf(m.ip), aliases: [...m.aliases, record.id.slice(0, 12)],
    });
  }
  return out;
}

/** After `rename`: the other members' /etc/hosts (and its own) call it by its new name. */
export async function renameInNetworks(paths: StorePaths, record: Pick<SandboxRecord, 'id' | 'name' | 'request'>): Promise<void> {
  if (record.request.network !== 'bridge' || !record.request.networks?.length) return;
  const names = await withNetworksLock(paths, () => {
    const touched: string[] = [];
    for (const w of record.request.networks ?? []) {
      const n = readNetwork(paths, w.name);
      const m = n?.members[record.id];
      if (!n || !m) continue;
      m.name = record.name;
      writeNetwork(paths, n);
      touched.push(n.name);
    }
    return touched;
  });
  refreshHosts(paths, names);
}

/** Checks at create that each network named exists. */
export function checkNetworksExist(paths: StorePaths, request: RunRequest): void {
  for (const n of request.networks ?? []) findNetwork(paths, n.name);
}

